"""The Sentiment view of /recurrent under AppTest: it shows the shipped LSTM's running prediction
for the URL's sentence, a link round trip brings the same picture back, a new sentence changes the
prediction, a gate change re-runs nothing, presentation mode puts the running prediction first,
and text without words gets one sentence."""
import numpy as np

import nnviz
from nnviz.plots import sentiment as sp
from nnviz.ui import sentiment as sui
from nnviz.ui.recurrent import HERO_PX
from tests.app.conftest import array, figures, open_link, scene_link, titles, unbound
from tests.app.conftest import open_page as open_app

PAGE = "pages/recurrent.py"
VIEW = {"rnn_view": "Sentiment"}


def open_view(link: dict[str, str] | None = None):
    at = open_app(PAGE, {**VIEW, **(link or {})})
    assert not at.exception, at.exception
    return at


def running(at) -> np.ndarray:
    """The y values of the running-prediction figure (the first line of the figure titled so)."""
    fig = next(f for f, t in zip(figures(at), titles(at)) if t.startswith("P(positive) after each word"))
    return array(fig["data"][0]["y"])


def expected(text: str) -> np.ndarray:
    return sp.positive_prob(nnviz.run("sentiment_lstm", text).output)


def test_view_shows_the_running_prediction_of_the_first_preset():
    at = open_view()
    text = at.text_input(key="sent_text").value
    assert text == next(iter(sui.PRESETS.values()))
    p = expected(text)
    np.testing.assert_allclose(running(at), p, rtol=1e-6)
    label = "positive" if p[-1] >= 0.5 else "negative"
    final = at.metric[0]
    assert final.label == "Final prediction" and label in final.value
    on_chart = round(float(p[-1]) * 100)  # the last point's label
    sure = f"{on_chart if label == 'positive' else 100 - on_chart}%"  # adds up with the chart's number
    assert final.value == f"{label} ({sure})"
    assert titles(at)[0].endswith(f"final prediction: {label} ({sure})")  # on the first screen too
    body = " ".join(m.value for m in at.markdown)
    acc = nnviz.weights.shipped_values("sentiment_lstm.safetensors")["test_accuracy"]
    assert f"right on **{acc:.0%}** of held-out sentences" in body
    assert not at.error and not at.warning  # shipped weights: no untrained banner
    assert len(figures(at)) == 4  # running prediction, changes, gate heatmap, gate means
    assert not unbound(at)  # every view widget is in the link


def test_link_round_trip_and_a_new_sentence_changes_the_prediction():
    at = open_view()
    before = running(at)
    new = "The performances are wonderful, but the film is a mess."
    at.text_input(key="sent_text").input(new).run()
    assert not at.exception
    after = running(at)
    np.testing.assert_allclose(after, expected(new), rtol=1e-6)
    assert len(after) != len(before) or not np.allclose(after, before)
    at.radio(key="sent_gate").set_value("input").run()
    link = scene_link(at)
    assert link["sent_text"] == new and link["sent_gate"] == "input"
    again = open_link(PAGE, link)
    assert not again.exception
    np.testing.assert_allclose(running(again), after, rtol=1e-6)
    assert again.radio(key="sent_gate").value == "input"
    assert any(t.startswith("Input gate at each word") for t in titles(again))


def test_a_preset_sets_the_sentence():
    at = open_view()
    name = "Plainly negative"
    at.selectbox(key="sent_preset").set_value(name).run()
    assert at.text_input(key="sent_text").value == sui.PRESETS[name]
    p = running(at)
    np.testing.assert_allclose(p, expected(sui.PRESETS[name]), rtol=1e-6)


def test_changing_the_gate_runs_nothing(model_runs):
    at = open_view({"sent_text": "A sentence only this test reads, and it is fine."})
    with model_runs() as n:
        at.radio(key="sent_gate").set_value("output").run()
        at.radio(key="sent_units").set_value(at.radio(key="sent_units").options[1]).run()
    assert n() == 0
    heat = next(f for f, t in zip(figures(at), titles(at)) if t.startswith("Output gate"))
    assert array(heat["data"][0]["z"]).shape[0] == nnviz.load_model("sentiment_lstm").rnn.hidden_size


def test_presentation_mode_puts_the_running_prediction_first():
    at = open_view({"present": "1"})
    at.run()  # AppTest's switch_page drops the query string for one run; a browser keeps it
    assert at.toggle(key="present_mode").value is True and not at.exception
    first = figures(at)[0]
    assert titles(at)[0].startswith("P(positive) after each word")
    assert first["layout"]["height"] == HERO_PX  # sized to fit under one row of controls on 720 px
    # the main area: (title,) view picker, one horizontal row with the two controls, then the chart
    top = [ch for ch in at.main.children.values() if ch.type not in ("title", "html")]
    assert getattr(top[0], "key", None) == "rnn_view"
    row = top[1]
    assert row.proto.flex_container.direction == row.proto.flex_container.HORIZONTAL
    assert [getattr(w, "key", None) for w in row.children.values()] == ["sent_preset", "sent_text"]
    assert top[2].type == "plotly_chart"
    normal = open_view()
    assert normal.toggle(key="present_mode").value is False
    kinds = [ch.type for ch in normal.main.children.values() if ch.type not in ("title", "html")]
    assert kinds[1] == "markdown" and kinds.index("plotly_chart") == 3  # a sentence of explanation, controls, chart
    assert figures(normal)[0]["layout"]["height"] != HERO_PX


def test_text_without_words_gets_one_sentence():
    at = open_view({"sent_text": "?!..."})
    assert not at.exception
    assert [e.value for e in at.error] == ['The text has no words: type a sentence such as "The story was wonderful".']
    assert not figures(at)


def test_the_mistake_preset_explains_itself_and_user_text_stays_text():
    at = open_view()
    at.selectbox(key="sent_preset").set_value("A mistake it makes (past tense)").run()
    p = running(at)
    assert p[-1] < 0.5  # the view's claim: the model gets this positive sentence wrong
    assert any("was" in i.value for i in at.info)
    at = open_view({"sent_text": "<script>alert(1)</script> *bad* film"})
    assert not at.exception
    bodies = [h.proto.body for h in at.get("html")]
    assert not any("<script>" in b for b in bodies) and any("&lt;" in b for b in bodies)
