"""Hostile input through the pages (AppTest): the page shows exactly one st.error with the
sentence, raises nothing, and the user's next action works."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from tests.app.conftest import figures, open_page
from tests.conftest import png_bytes
from tests.hostile.conftest import SVG, Payload


def one_error(at) -> str:
    assert not at.exception, at.exception
    assert len(at.error) == 1, [e.value for e in at.error]
    return at.error[0].value


def top5(at) -> list[str]:
    bar = next(f for f in figures(at) if f["data"][0].get("type") == "bar" and f["data"][0].get("orientation") == "h")
    return bar["data"][0]["y"]


def weights_option(at, word: str) -> str:
    """LeNet's sidebar weights choice whose label holds `word` (labels are the UI's, not the test's)."""
    return next(o for o in at.radio(key="weights_src_lenet5").options if word.lower() in o.lower())


def test_cnn_svg_upload_gets_one_sentence_then_a_sample_works():
    at = open_page("pages/cnn.py")
    at.radio(key="img_src").set_value("Upload").run()
    at.file_uploader(key="img_upload").upload("drawing.png", SVG, "image/png").run()
    assert one_error(at) == "drawing.png is not an image nnviz can read (PNG, JPEG, WebP, BMP or GIF)."
    assert not figures(at)  # nothing drawn from the bad file
    at.radio(key="img_src").set_value("Sample").run()
    assert not at.exception and not at.error
    assert top5(at)[-1] == "2"  # the default sample, digit_2.png, recognised


def test_cnn_code_running_checkpoint_gets_one_sentence_runs_nothing_then_untrained_weights_work(tmp_path):
    marker = tmp_path / "ran"
    buf = io.BytesIO()
    torch.save({"features.0.weight": Payload(marker)}, buf)
    at = open_page("pages/cnn.py")
    at.radio(key="weights_src_lenet5").set_value(weights_option(at, "upload")).run()
    at.file_uploader(key="ckpt_lenet5").upload("evil.pth", buf.getvalue(), "application/octet-stream").run()
    assert "the uploaded file is not a PyTorch checkpoint that loads safely" in one_error(at)
    assert not marker.exists()
    at.radio(key="weights_src_lenet5").set_value(weights_option(at, "untrained")).run()
    assert not at.exception and not at.error
    assert at.warning[0].value.startswith("**Untrained model**")
    assert len(top5(at)) == 5


def test_cnn_wrong_models_checkpoint_gets_one_sentence_then_the_trained_weights_work():
    from safetensors.torch import save as st_save

    import nnviz

    at = open_page("pages/cnn.py")
    default = at.radio(key="weights_src_lenet5").value  # LeNet's shipped, trained weights
    at.radio(key="weights_src_lenet5").set_value(weights_option(at, "upload")).run()
    data = st_save(nnviz.get_spec("resnet18").build().state_dict())
    at.file_uploader(key="ckpt_lenet5").upload("resnet18.safetensors", data, "application/octet-stream").run()
    assert one_error(at) == "The file does not fit lenet5: key 'features.0.weight' is missing."
    at.radio(key="weights_src_lenet5").set_value(default).run()
    assert not at.exception and not at.error and top5(at)[-1] == "2"


def series_page():
    at = open_page("pages/recurrent.py")
    at.radio(key="rnn_view").set_value("Time series").run()
    at.radio(key="ts_src").set_value("Upload a CSV").run()
    return at


def good_csv() -> bytes:
    return ("date,close\n" + "".join(f"2024-01-{1 + i % 28:02d},{100 + np.sin(i):.3f}\n" for i in range(28))
            + "".join(f"2024-02-{1 + i:02d},{100 + np.cos(i):.3f}\n" for i in range(20))).encode()


def test_series_header_only_csv_gets_one_sentence_then_a_good_csv_works():
    at = series_page()
    at.file_uploader(key="ts_upload").upload("prices.csv", b"date,close\n", "text/csv").run()
    assert one_error(at) == "prices.csv has a header but no data rows."
    at.file_uploader(key="ts_upload").upload("prices.csv", good_csv(), "text/csv").run()
    assert not at.exception and not at.error
    assert at.selectbox(key="ts_col").value == "close"
    assert any(c.value == "48 values of 'close', time axis 'date'." for c in at.caption)


def test_series_csv_with_one_huge_row_gets_one_sentence():
    at = series_page()
    at.file_uploader(key="ts_upload").upload("row.csv", ",".join(map(str, range(30_000))).encode(), "text/csv").run()
    assert "row.csv" in one_error(at)


def test_recurrent_empty_text_gets_one_sentence_then_typed_text_runs():
    at = open_page("pages/recurrent.py")
    at.text_area(key="rnn_text").input("   \n\t ").run()
    assert one_error(at) == "The text is empty: type or paste a few words or lines of code."
    text = "def f(x):\n    return (x + 1)\n"
    at.text_area(key="rnn_text").input(text).run()
    assert not at.exception and not at.error
    assert at.slider(key="rnn_pos").value == len(text) - 1  # predicts after its last character


def test_attention_text_of_control_characters_gets_one_sentence_then_a_sentence_runs():
    at = open_page("pages/attention.py")
    at.text_area(key="att_text").input("\x00\x07\u200b").run()
    assert one_error(at) == "Nothing is left to read after removing control characters: type some words."
    at.text_area(key="att_text").input("The bank of the river.").run()
    assert not at.exception and not at.error and figures(at)


def test_cnn_digit_model_on_a_blank_upload_gets_one_sentence_then_a_digit_works():
    at = open_page("pages/cnn.py")
    at.radio(key="img_src").set_value("Upload").run()
    at.file_uploader(key="img_upload").upload("blank.png", png_bytes(np.full((64, 64, 3), 255, np.uint8)),
                                              "image/png").run()
    assert one_error(at) == "No digit found: draw or upload a digit on a plain background."
    img = np.full((64, 64, 3), 255, np.uint8)
    img[12:52, 28:36] = 0  # a dark vertical stroke: a "1"
    at.file_uploader(key="img_upload").upload("one.png", png_bytes(img), "image/png").run()
    assert not at.exception and not at.error and top5(at)[-1] == "1"
