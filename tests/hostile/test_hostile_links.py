"""Hostile links: URL parameters a student could paste or a page could forge. The page must not
raise (open_page asserts no exception), must fall back to a valid view, and must never render
text from the URL as HTML."""
from __future__ import annotations

import re

import pytest

from tests.app.conftest import open_page, titles

SCRIPT = "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>"


def raw_html(at) -> list[str]:
    """Everything the page sends for the browser to render as HTML: st.html bodies and markdown
    that allows HTML."""
    bodies = [h.proto.body for h in at.get("html")]
    return bodies + [m.proto.body for m in at.get("markdown") if m.proto.allow_html]


def assert_not_rendered(at) -> None:
    html = raw_html(at)
    assert html  # the text was rendered somewhere
    for body in html:
        assert not re.search(r"<\s*(script|img)\b", body, re.IGNORECASE), body[:200]
    assert any("&lt;" in b for b in html)  # it is there, escaped


# --- CNN explorer ---------------------------------------------------------------------------------

CNN = "pages/cnn.py"


def cnn_view(at) -> tuple[str, str, int]:
    return at.selectbox(key="model").value, at.selectbox(key="layer").value, at.number_input(key="channel").value


@pytest.mark.parametrize("link", [
    {"model": "nope"},
    {"model": "../../etc/passwd"},
    {"layer": "features.99"},
    {"layer": "x" * 100_000},
    {"channel": "99999"},
    {"channel": "-5"},
    {"channel": "abc"},
    {"channel": "nan"},
    {"page": "999", "pool_ch": "999", "sort": "nope", "scale": "nope"},
], ids=["unknown model", "path as model", "layer out of range", "100 kB layer", "channel too large",
        "negative channel", "channel not a number", "channel NaN", "every view parameter out of range"])
def test_cnn_link_out_of_range_falls_back_to_the_default_view(link):
    at = open_page(CNN, link)
    assert cnn_view(at) == ("lenet5", "features.0", 0)
    assert "features.0, channel 0 (28×28)" in titles(at) and not at.error
    assert at.selectbox(key="sort").value == "index" and at.radio(key="scale").value == "per channel"
    assert at.slider(key="pool_ch").value == 0


# Streamlit 1.67 raises OverflowError seeding an integer number_input from "inf" (it catches only
# ValueError); nnviz.ui.scene drops non-finite values of number inputs from the URL first.
@pytest.mark.parametrize("value", ["inf", "-inf", "1e309"])
def test_cnn_link_with_an_infinite_channel_falls_back(value):
    at = open_page(CNN, {"channel": value})
    assert cnn_view(at) == ("lenet5", "features.0", 0)


def test_cnn_link_in_range_is_followed():
    """The control: the same parameters, valid, do change the view."""
    at = open_page(CNN, {"layer": "features.3", "channel": "5"})
    assert cnn_view(at) == ("lenet5", "features.3", 5)
    assert "features.3, channel 5 (10×10)" in titles(at)


def test_cnn_link_to_a_sample_outside_the_samples_folder_uses_a_sample():
    at = open_page(CNN, {"img_sample": "../../../etc/passwd"})
    assert at.selectbox(key="img_sample").value == "digit_2.png" and not at.error


def test_cnn_link_with_a_block_of_another_model_picks_the_first_block():
    at = open_page(CNN, {"model": "resnet18", "layer": "layer1.0", "block": "features.99"})
    assert at.selectbox(key="model").value == "resnet18" and at.selectbox(key="block").value == "layer1.0"


# --- RNN & LSTM explorer --------------------------------------------------------------------------

RNN = "pages/recurrent.py"


def test_script_in_the_text_parameter_is_shown_as_text():
    at = open_page(RNN, {"rnn_text": SCRIPT})
    assert at.text_area(key="rnn_text").value == SCRIPT
    assert any(f"of {len(SCRIPT)}" in t for t in titles(at))  # the model read the text as characters
    assert_not_rendered(at)


def test_100_kb_text_parameter_is_cut_with_a_note():
    at = open_page(RNN, {"rnn_text": "def f(x):\n    return [x]\n" * 4000})
    assert any(c.value == "ℹ️ the text has 100,000 characters; only the first 2,000 are used" for c in at.caption)
    assert any(t.endswith("of 2000") for t in titles(at))


def test_recurrent_link_out_of_range_falls_back():
    at = open_page(RNN, {"rnn_view": "nope", "rnn_unit": "100000", "rnn_pos": "-1", "rnn_width": "1e9"})
    assert at.radio(key="rnn_view").value == "Text"
    assert at.number_input(key="rnn_unit").value == 0 and at.slider(key="rnn_width").value == 80
    length = int(next(re.search(r"of (\d+)$", t).group(1) for t in titles(at) if re.search(r"of \d+$", t)))
    assert at.slider(key="rnn_pos").value == length - 1  # predict after the last character, the default


# --- attention and convolution --------------------------------------------------------------------

def test_script_in_the_attention_text_parameter_is_shown_as_text():
    at = open_page("pages/attention.py", {"att_text": SCRIPT})
    assert at.text_area(key="att_text").value == SCRIPT
    assert_not_rendered(at)


def test_convolution_link_out_of_range_falls_back():
    page = "pages/convolution.py"
    keys = {"slider": ["conv_stride", "conv_top", "conv_left"], "select_slider": ["conv_pad"],
            "radio": ["conv_channel"], "number_input": ["conv_bias"]}

    def view(at):
        return {k: getattr(at, kind)(key=k).value for kind, ks in keys.items() for k in ks}

    default = view(open_page(page))
    assert default["conv_stride"] == 1 and default["conv_bias"] == 0.0 and default["conv_pad"] == "0"
    at = open_page(page, {"conv_stride": "999", "conv_bias": "inf", "conv_pad": "<b>x</b>", "conv_channel": "nope",
                          "conv_top": "-4", "conv_left": "1e9"})
    assert view(at) == default and not at.error


@pytest.mark.parametrize("page,key", [("pages/recurrent.py", "rnn_unit"), ("pages/recurrent.py", "rnn_seed"),
                                      ("pages/attention.py", "pe_seed")])
def test_other_integer_inputs_survive_an_infinite_link(page, key):
    at = open_page(page, {key: "inf", **({"att_view": "Positions"} if key == "pe_seed" else {})})
    assert not at.exception
    assert at.number_input(key=key).value == 0  # the widget's own default
    assert key not in at.query_params
