"""The convolution playground under AppTest: widgets change what is shown, bad input is a sentence."""
import json
import re

import numpy as np
from streamlit.testing.v1 import AppTest

from tests.app.conftest import open_link, open_page, scene_link, titles, unbound
from tests.conftest import png_bytes

PAGE = "pages/convolution.py"


def run_page() -> AppTest:
    return open_page(PAGE)


def io_titles(at: AppTest) -> list[str]:
    for c in at.get("plotly_chart"):
        f = json.loads(c.proto.spec)
        texts = [a.get("text", "") for a in f["layout"].get("annotations", [])]
        if texts and texts[0].startswith("input:"):
            return texts
    raise AssertionError("no input/output figure")


def formula(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("<div") and "height:" in m.value
                and "pooled" not in m.value)


def test_default_page_shows_input_output_and_a_formula_that_matches():
    at = run_page()
    assert at.selectbox(key="conv_preset").value == "Horizontal edge"
    t = io_titles(at)
    assert t[0] == "input: grayscale<br>427×640 (height × width)"
    assert t[1] == "output: Horizontal edge<br>425×638 (height × width)"
    assert "= 425<br>" in formula(at) and formula(at).endswith("= 638</div>")
    assert not at.error


def test_stride_padding_dilation_and_kernel_change_the_output_shape():
    at = run_page()
    at.slider(key="conv_stride").set_value(2).run()
    assert io_titles(at)[1].endswith("213×319 (height × width)")
    at.select_slider(key="conv_pad").set_value("same").run()
    assert io_titles(at)[1].endswith("214×320 (height × width)")
    assert "= 214<br>" in formula(at)
    at.slider(key="conv_dilation").set_value(3).run()
    at.select_slider(key="conv_pad").set_value("0").run()
    assert io_titles(at)[1].endswith("211×317 (height × width)")  # floor((427 - 6 - 1) / 2) + 1
    at.selectbox(key="conv_preset").set_value("Gaussian blur").run()
    assert io_titles(at)[1].startswith("output: Gaussian blur")
    assert any("trusts the centre" in c.value for c in at.caption)
    at.radio(key="conv_ksrc").set_value("Your own grid").run()
    at.radio(key="conv_ksize").set_value(5).run()
    assert io_titles(at)[1].endswith("208×314 (height × width)")  # 5x5 kernel, dilation 3: span 13
    assert not at.exception and not at.error


def test_bad_grid_cell_shows_one_sentence_and_no_output():
    at = run_page()
    at.radio(key="conv_ksrc").set_value("Your own grid").run()
    key = "conv_grid_3_Horizontal edge"
    at.session_state[key] = {"edited_rows": {1: {"c2": "abc"}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["The kernel cell at row 2, column 2 holds 'abc', which is not a number."]
    at.session_state[key] = {"edited_rows": {0: {"c1": "0", "c2": "0", "c3": "0"}, 2: {"c1": "0", "c2": "0", "c3": "0"}},
                             "added_rows": [], "deleted_rows": []}
    at.run()
    assert "all-zero kernel" in at.error[0].value
    at.session_state[key] = {"edited_rows": {1: {"c2": "1/9"}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.error and io_titles(at)[1].startswith("output: your kernel")


def _step_title(at) -> str:
    return next(json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")
                if "output cell" in json.dumps(json.loads(c.proto.spec)["layout"].get("title", {})))


def test_step_through_moves_with_next_and_reads_the_real_neighbours():
    at = run_page()
    assert at.slider(key="conv_pos").value == 0
    r0, c0 = map(int, re.search(r"output cell \((\d+), (\d+)\)", _step_title(at)).groups())
    at.button(key="conv_pos_next").click().run()
    at.button(key="conv_pos_next").click().run()
    assert at.slider(key="conv_pos").value == 2
    assert _step_title(at).endswith(f"output cell ({r0}, {c0 + 2})")  # numbered as in the whole output
    # a 5x5 kernel with dilation 3 covers 13 pixels: more than a 6x6 crop, so the step-through reads
    # the image around the crop (13 rows and columns of real pixels), not zeros
    at.radio(key="conv_ksrc").set_value("Your own grid").run()
    at.radio(key="conv_ksize").set_value(5).run()
    at.slider(key="conv_crop").set_value(6).run()
    at.slider(key="conv_dilation").set_value(3).run()
    assert not at.exception and not at.info
    rows = re.search(r"Input rows (-?\d+)–(-?\d+)", _step_title(at)).groups()
    assert int(rows[1]) - int(rows[0]) + 1 >= 13


def test_a_kernel_larger_than_the_image_says_it_does_not_fit():
    at = run_page()
    at.radio(key="conv_img_src").set_value("Upload").run()
    at.file_uploader(key="conv_img_upload").upload("tiny.png", png_bytes(np.full((8, 8, 3), 128, np.uint8)),
                                                  "image/png").run()
    at.radio(key="conv_ksrc").set_value("Your own grid").run()
    at.radio(key="conv_ksize").set_value(5).run()
    at.slider(key="conv_dilation").set_value(3).run()
    assert not at.exception
    assert any("does not fit" in e.value for e in at.error)


def test_0_to_255_shows_whole_pixel_values():
    at = run_page()
    at.radio(key="conv_scale").set_value("0 to 255").run()
    step = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if "output cell" in json.dumps(json.loads(c.proto.spec)["layout"].get("title", {})))
    eq = next(a["text"] for a in step["layout"]["annotations"] if a["text"].startswith("Σ"))
    # the default kernel has whole weights, so whole pixels give whole products and a whole sum
    assert at.selectbox(key="conv_preset").value == "Horizontal edge"
    assert re.fullmatch(r"Σ [-\d() +]+ = -?\d+", eq), eq


def test_learned_lenet_filter_and_untrained_label(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # no cached ImageNet weights
    at = run_page()
    at.radio(key="conv_ksrc").set_value("Learned filter").run()
    assert at.selectbox(key="conv_model").value == "lenet5"
    assert any("Learned weights" in c.value for c in at.caption) and not at.warning
    assert io_titles(at)[1] == "output: lenet5 filter 0 (5×5)<br>423×636 (height × width)"
    at.selectbox(key="conv_model").set_value("resnet18").run()
    assert not at.exception
    assert any("Untrained" in w.value for w in at.warning)
    assert io_titles(at)[1].startswith("output: resnet18 filter 0 (7×7)")


def test_lecture_pooling_example_and_pooling_the_conv_output():
    at = run_page()
    assert at.radio(key="pool_src").value.startswith("Lecture example")
    pool = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if "pooling, stride" in json.dumps(json.loads(c.proto.spec)["layout"].get("title", {})))
    heat = [t for t in pool["data"] if t["type"] == "heatmap"]
    assert heat[1]["text"] == [["6", "8"], ["3", "4"]]
    at.radio(key="pool_src").set_value("The convolution output").run()
    at.slider(key="pool_window").set_value(3).run()
    at.slider(key="pool_stride").set_value(3).run()
    assert not at.exception and not at.error
    assert any("⌊(425 − 3) / 3⌋ + 1 = 141" in m.value for m in at.markdown)


def test_upload_and_colour_channel():
    at = run_page()
    at.radio(key="conv_img_src").set_value("Upload").run()
    img = np.zeros((48, 64, 3), np.uint8)
    img[:24, :, 0] = 255  # red top half
    at.file_uploader(key="conv_img_upload").upload("red.png", png_bytes(img), "image/png").run()
    at.radio(key="conv_channel").set_value("Red").run()
    assert not at.exception and not at.error
    assert io_titles(at)[0] == "input: red channel<br>48×64 (height × width)"
    at.file_uploader(key="conv_img_upload").upload("bad.png", b"not an image", "image/png").run()
    assert not at.exception and "bad.png" in at.error[0].value


def test_a_link_reproduces_the_convolution_and_pooling_view():
    at = run_page()
    at.radio(key="conv_channel").set_value("Red").run()
    at.selectbox(key="conv_preset").set_value("Gaussian blur").run()
    at.slider(key="conv_stride").set_value(2).run()
    at.select_slider(key="conv_pad").set_value("same").run()
    at.toggle(key="conv_relu").set_value(True).run()
    at.button(key="conv_pos_next").click().run()
    at.radio(key="pool_src").set_value("The image").run()
    at.slider(key="pool_window").set_value(3).run()
    link = scene_link(at)
    assert link["conv_stride"] == "2" and link["conv_pad"] == "same" and link["conv_pos"] == "1"
    student = open_link(PAGE, link)
    assert scene_link(student) == link
    assert titles(student) == titles(at) and formula(student) == formula(at)


def test_every_setting_widget_is_in_the_scene():
    at = run_page()
    assert unbound(at) == []


def test_a_setting_equal_to_the_widgets_own_default_survives_a_link():
    # Streamlit leaves a widget's default out of the URL; the page's default must be that same value
    at = run_page()
    first = at.selectbox(key="conv_preset").options[0]
    at.selectbox(key="conv_preset").set_value(first).run()
    link = scene_link(at)
    student = open_link(PAGE, link)
    assert student.selectbox(key="conv_preset").value == first
    assert titles(student) == titles(at)


def test_presentation_mode_puts_the_input_output_figure_first():
    at = open_page(PAGE, {"present": "1"})
    at.run()  # AppTest's switch_page drops the query string for one run; a browser opening the link keeps it
    assert at.toggle(key="present_mode").value is True and at.query_params["present"] == "1"
    first = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [a["text"].split("<br>")[0] for a in first["layout"]["annotations"][:2]] == ["input: grayscale",
                                                                                       "output: Horizontal edge"]
    assert [e.label for e in at.expander] == ["Kernel", "Input image and channel"]  # folded away
    normal = run_page()
    assert normal.toggle(key="present_mode").value is False and not normal.expander
    at.toggle(key="present_mode").set_value(False).run()
    assert "present" not in at.query_params
