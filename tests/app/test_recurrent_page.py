"""/recurrent under AppTest: the text, time-series and Why-LSTMs views; view changes never re-run
a model (CharLM.run / SeriesLSTM.run calls and nnviz.runner.runs() are counted); every view
widget is in the scene, so a link rebuilds the same picture; bad text and CSVs get one sentence."""
import json
import re

import numpy as np
import pytest

from nnviz import plots
from nnviz.models import recurrent as rec
from tests.app.conftest import (
    bound_widgets,
    figures,
    open_link,
    scene_link,
    titles,
    unbound,
)
from tests.app.conftest import open_page as open_app

PAGE = "pages/recurrent.py"
Q = {k: v[0] for k, v in plots.QUANTITIES.items()}  # quantity -> the option the pickers show (and links carry)


@pytest.fixture
def runs(monkeypatch):
    """Count model runs (the cached traces are shared across tests, so tests use fresh inputs)."""
    counts = {"text": [], "series": 0}
    text_run, series_run = rec.CharLM.run, rec.SeriesLSTM.run

    def count_text(self, text):
        counts["text"].append((self.cell, text))
        return text_run(self, text)

    def count_series(self, values):
        counts["series"] += 1
        return series_run(self, values)

    monkeypatch.setattr(rec.CharLM, "run", count_text)
    monkeypatch.setattr(rec.SeriesLSTM, "run", count_series)
    return counts


def open_page(view: str | None = None, link: dict[str, str] | None = None):
    at = open_app(PAGE, link)
    if view:
        at.radio(key="rnn_view").set_value(view).run()
    assert not at.exception, at.exception
    return at


def html_bodies(at) -> list[str]:
    return [h.proto.body for h in at.get("html")]


def test_text_view_defaults_to_the_lstm_on_the_code_preset():
    at = open_page()
    assert at.text_area(key="rnn_text").value.startswith("def format_row(")
    assert not at.error and not at.warning  # shipped weights: no untrained banner
    assert any("char_lstm.safetensors" in c.value for c in at.caption)
    t = titles(at)
    assert any(x.startswith("LSTM: cell state c, characters 0-79 of") for x in t)
    assert any(x.startswith("Does unit") for x in t) and any(x.startswith("Best 10 units") for x in t)
    assert any(x.startswith("LSTM: after") for x in t)
    assert "bits/char" in at.metric[0].value
    bodies = html_bodies(at)
    assert len(bodies) == 3 and "background:#" in bodies[0]  # coloured text, context, continuation


def test_unit_gate_window_position_and_pattern_changes_never_rerun_the_model(runs, model_runs):
    at = open_page()
    at.text_area(key="rnn_text").input("x = [a, (b, 'c')]\nfor i in range(len(x)):\n    print(x[i])\n").run()
    assert len(runs["text"]) == 1 and runs["text"][0][0] == "lstm"
    with model_runs() as n:
        at.selectbox(key="rnn_kind").set_value(Q["forget"]).run()
        assert any(x.startswith("LSTM: forget gate f") for x in titles(at))
        before = html_bodies(at)[0]
        at.number_input(key="rnn_unit").set_value(17).run()
        assert html_bodies(at)[0] != before and "unit 17" in html_bodies(at)[0]
        at.slider(key="rnn_width").set_value(20).run()
        at.slider(key="rnn_start").set_value(10).run()
        assert any(", characters 10-29 of" in x for x in titles(at))
        at.slider(key="rnn_pos").set_value(5).run()
        assert any(x.startswith("LSTM: after 'a' (character 5)") for x in titles(at))
        at.radio(key="rnn_pattern").set_value("inside quotes").run()
        at.radio(key="rnn_rows").set_value("16 best for the Find-units pattern").run()
        assert any(x.endswith("the 16 units that best track 'inside quotes'") for x in titles(at))
        at.slider(key="rnn_temp").set_value(1.5).run()
        at.slider(key="rnn_len").set_value(50).run()
        at.number_input(key="rnn_seed").set_value(4).run()
        at.selectbox(key="rnn_kind").set_value(Q["c"]).run()
        at.radio(key="rnn_view").set_value("Why LSTMs").run()  # gradients are not a run
        at.radio(key="rnn_view").set_value("Text").run()
        assert not at.exception and not at.error
        assert n() == 0  # a dozen view changes, zero runs of nnviz.run
    assert len(runs["text"]) == 1


def test_compare_runs_each_model_once_and_shows_both(runs):
    at = open_page()
    at.text_area(key="rnn_text").input("def compare(a, b):\n    return (a > b) - (a < b)\n").run()
    at.radio(key="rnn_net").set_value("Compare both").run()
    assert sorted(c for c, _ in runs["text"]) == ["lstm", "rnn"]
    t = titles(at)
    assert any(x.startswith("RNN: hidden state h") for x in t)
    assert any(x.startswith("LSTM: after") for x in t) and any(x.startswith("RNN: after") for x in t)
    assert [m.label for m in at.metric] == ["LSTM: surprise on this text", "RNN: surprise on this text"]
    assert len(html_bodies(at)) == 4  # coloured text, context, two continuations
    at.radio(key="rnn_net").set_value("RNN").run()
    assert at.selectbox(key="rnn_kind").options == [Q["h"]]  # a plain RNN has no c or gates
    assert len(runs["text"]) == 2


def test_find_units_button_colours_the_text_by_the_best_unit():
    at = open_page()
    label = at.button(key="rnn_use_best").label
    best = int(label.rsplit(" ", 1)[1])
    at.button(key="rnn_use_best").click().run()
    assert at.number_input(key="rnn_unit").value == best
    assert f"unit {best}" in html_bodies(at)[0]
    assert scene_link(at)["rnn_unit"] == str(best)  # a unit set by the button is in the link too


def test_presets_and_sampling():
    at = open_page()
    at.selectbox(key="rnn_preset").set_value("English sentence").run()
    assert at.text_area(key="rnn_text").value.startswith("The lecture began")
    first = html_bodies(at)[-1]
    at.slider(key="rnn_temp").set_value(0.0).run()
    greedy = html_bodies(at)[-1]
    assert greedy != first
    at.number_input(key="rnn_seed").set_value(3).run()
    assert html_bodies(at)[-1] == greedy  # temperature 0 is greedy: the seed does not matter


@pytest.mark.parametrize("text,kind,msg", [
    ("   \n ", "error", "The text is empty"),
    ("na\u00efve caf\u00e9 \u2603", "caption", "the model never saw"),
    ("abc " * 700, "caption", "only the first 2,000 are used"),
])
def test_bad_text_gets_a_sentence_and_the_page_survives(text, kind, msg):
    at = open_page()
    at.text_area(key="rnn_text").input(text).run()
    assert not at.exception
    assert any(msg in e.value for e in getattr(at, kind))


def test_text_survives_a_trip_to_another_view_and_to_another_page():
    at = open_page()
    at.text_area(key="rnn_text").input("while True:\n    pass\n").run()
    at.number_input(key="rnn_unit").set_value(9).run()
    at.radio(key="rnn_view").set_value("Why LSTMs").run()
    assert any("(21 characters)" in t for t in titles(at))  # the Why view uses the same text
    assert at.text_area(key="rnn_text").value == "while True:\n    pass\n"  # and can edit it
    at.radio(key="rnn_view").set_value("Text").run()
    assert at.text_area(key="rnn_text").value == "while True:\n    pass\n"
    at.switch_page("pages/cnn.py")
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception
    assert at.text_area(key="rnn_text").value == "while True:\n    pass\n" and at.number_input(key="rnn_unit").value == 9


def test_series_view_sunspots_forecast_and_states(runs, model_runs):
    at = open_page("Time series")
    assert not at.error
    m = {x.label: x.value for x in at.metric}
    assert float(m["LSTM, one step ahead (RMSE)"]) == pytest.approx(19.6, abs=0.1)  # README: 19.642
    assert float(m["Naive: repeat the last value"]) == pytest.approx(33.2, abs=0.1)  # README: 33.175
    # the solar cycle (found in the training years): the seasonal-naive baseline, and a sentence computed from
    # the scores
    assert float(m["Seasonal naive: 11 years ago"]) == pytest.approx(37.4, abs=0.1)
    notes = " ".join(i.value for i in at.info)
    assert "beats repeating last year's number and the value 11 years earlier" in notes and "random walk" not in notes
    assert "Yearly mean sunspot number" in " ".join(c.value for c in at.caption)
    fig = next(f for f in figures(at) if "forecast and the LSTM" in f["layout"]["title"]["text"])
    kinds = [d["type"] for d in fig["data"]]
    assert kinds.count("heatmap") == 1 and "held out" in json.dumps(fig["layout"].get("annotations", []))
    fore = next(d for d in fig["data"] if d.get("name") == "forecast")
    assert fore["x"][0] == 2008 and fore["x"][-1] == 2008 + 22
    n = runs["series"]
    with model_runs() as new_runs:
        at.slider(key="ts_steps").set_value(5).run()
        at.selectbox(key="ts_kind").set_value(Q["forget"]).run()
        assert new_runs() == 0
    assert not at.exception and runs["series"] == n  # forecast length and gate: no new run of the states
    assert "forget gate" in titles(at)[0]


def _csv(n=120) -> bytes:
    lines = ["Date;Price;Note"]
    for i in range(n):
        v = 1000 + 200 * np.sin(i / 6) + i
        cell = "" if i == 40 else f"{v:,.2f}".replace(",", " ").replace(".", ",")
        lines.append(f"2020-{1 + i // 28:02d}-{1 + i % 28:02d};{cell};x")
    return ("\n".join(lines) + "\n").encode()


def test_uploaded_csv_trains_in_the_app_and_forecasts(runs):
    at = open_page("Time series")
    at.radio(key="ts_src").set_value("Upload a CSV").run()
    assert any("Upload a CSV" in i.value for i in at.info)
    at.file_uploader(key="ts_upload").upload("prices.csv", _csv(), "text/csv").run()
    assert not at.exception and not at.error
    captions = " ".join(c.value for c in at.caption)
    assert "decimal comma" in captions and "1 missing value" in captions
    assert at.selectbox(key="ts_col").value == "Price" and unbound(at) == []
    assert at.button(key="ts_train")
    at.button(key="ts_train").click().run()
    assert not at.exception and not at.error
    # 300 steps, or fewer when the 20 s budget runs out first on a busy machine (it says how many)
    done = re.match(r"Trained in the app: (\d+) steps in ([\d.]+) s", at.success[0].value if at.success else "")
    assert done and (int(done[1]) == 300 or float(done[2]) >= 20) and int(done[1]) >= 10
    labels = [x.label for x in at.metric]
    assert "LSTM, one step ahead (RMSE)" in labels
    assert any(t.startswith("Price: forecast and the LSTM") for t in titles(at))
    n = runs["series"]
    at.slider(key="ts_steps").set_value(3).run()  # the trained model stays in the session
    at.selectbox(key="ts_kind").set_value(Q["output"]).run()
    assert not at.exception and at.success and not at.get("button")
    assert runs["series"] == n and unbound(at) == []  # the in-app model's trace is cached like any other


@pytest.mark.parametrize("data,msg", [
    (b"", "empty"),
    (b"name,city\nann,paris\nbob,rome\n", "no column of numbers"),
    (b"v\n1\n2\n3\n", "at least 30"),
])
def test_bad_csv_gets_a_sentence(data, msg):
    at = open_page("Time series")
    at.radio(key="ts_src").set_value("Upload a CSV").run()
    at.file_uploader(key="ts_upload").upload("bad.csv", data, "text/csv").run()
    assert not at.exception
    assert at.error and msg in at.error[0].value


def test_why_lstms_view_compares_gradients_on_a_log_scale():
    at = open_page("Why LSTMs")
    fig = next(f for f in figures(at) if f["layout"]["title"]["text"].startswith("Gradient of the last prediction"))
    assert fig["layout"]["yaxis"]["type"] == "log"
    names = [d.get("name") for d in fig["data"] if d.get("name")]
    assert names == ["LSTM", "RNN"]
    assert any("steps back" in m.value for m in at.markdown)
    at.radio(key="why_src").set_value("English sentence").run()
    at.toggle(key="why_rel").set_value(False).run()
    assert not at.exception
    assert "÷" not in json.dumps(figures(at)[0]["layout"]["yaxis"]["title"], ensure_ascii=False)


# --- the scene: every view widget in the URL, a link rebuilds the picture ----------------------------

@pytest.mark.parametrize("view", ["Text", "Time series", "Why LSTMs"])
def test_every_view_widget_is_in_the_scene(view):
    at = open_page()
    at.text_area(key="rnn_text").input("short = (1, [2, 'x'])\n").run()  # long texts stay out of the URL
    at.radio(key="rnn_view").set_value(view).run()
    at.run()
    assert unbound(at) == []
    assert set(bound_widgets(at)) >= {"Text": {"rnn_view", "rnn_preset", "rnn_net", "rnn_text", "rnn_kind", "rnn_rows",
                                            "rnn_width", "rnn_unit", "rnn_pattern", "rnn_pos", "rnn_temp", "rnn_len",
                                            "rnn_seed"},
                                   "Time series": {"rnn_view", "ts_src", "ts_steps", "ts_kind", "ts_range"},
                                   "Why LSTMs": {"rnn_view", "why_src", "why_rel", "rnn_text"}}[view]


def test_a_long_text_stays_out_of_the_link_but_in_the_session():
    at = open_page()
    assert len(at.text_area(key="rnn_text").value) > 400
    assert "rnn_text" not in scene_link(at) and "rnn_text" not in bound_widgets(at) and "rnn_preset" in bound_widgets(at)


def test_text_view_is_shared_as_a_link_and_restored_from_one():
    at = open_page()
    at.text_area(key="rnn_text").input("def g(a):\n    return {'k': [a, (a, 1)]}\n" * 2).run()
    at.selectbox(key="rnn_kind").set_value(Q["output"]).run()
    at.number_input(key="rnn_unit").set_value(42).run()
    at.slider(key="rnn_width").set_value(30).run()
    at.slider(key="rnn_start").set_value(12).run()
    at.slider(key="rnn_pos").set_value(20).run()
    at.radio(key="rnn_pattern").set_value("inside quotes").run()
    at.radio(key="rnn_rows").set_value("16 best for the Find-units pattern").run()
    at.slider(key="rnn_temp").set_value(1.2).run()
    at.number_input(key="rnn_seed").set_value(7).run()
    link = scene_link(at)
    assert link["rnn_unit"] == "42" and link["rnn_kind"] == Q["output"] and link["rnn_text"].startswith("def g(a)")
    student = open_link(PAGE, link)
    assert scene_link(student) == link
    assert titles(student) == titles(at)
    assert any(t.startswith("LSTM: output gate o (how much to show), characters 12-41 of 80, the 16 units that best "
                            "track 'inside quotes'") for t in titles(student))
    assert figures(student) == figures(at) and html_bodies(student) == html_bodies(at)  # outlines and colours too


def test_series_and_why_views_are_shared_as_links():
    at = open_page("Time series")
    at.slider(key="ts_steps").set_value(9).run()
    at.selectbox(key="ts_kind").set_value(Q["input"]).run()
    link = scene_link(at)
    assert link["rnn_view"] == "Time series"
    student = open_link(PAGE, link)
    assert scene_link(student) == link and titles(student) == titles(at)
    assert "LSTM, 9 steps ahead (RMSE)" in [m.label for m in student.metric]

    at = open_page()
    at.text_area(key="rnn_text").input("if (a and (b or c)):\n    d = 'e'\n").run()
    at.radio(key="rnn_view").set_value("Why LSTMs").run()
    at.toggle(key="why_rel").set_value(False).run()
    link = scene_link(at)
    student = open_link(PAGE, link)
    assert student.radio(key="rnn_view").value == "Why LSTMs" and scene_link(student) == link
    assert titles(student) == titles(at) and any("(33 characters)" in t for t in titles(student))


def test_a_link_keeps_a_lowest_value_or_a_first_option():
    at = open_page()
    at.slider(key="rnn_width").set_value(20).run()  # the slider's lowest value: still in the link
    at.radio(key="rnn_pattern").set_value("inside quotes").run()  # the first option
    link = scene_link(at)
    student = open_link(PAGE, link)
    assert student.slider(key="rnn_width").value == 20 and student.radio(key="rnn_pattern").value == "inside quotes"
    assert titles(student) == titles(at)


def test_find_units_says_which_rules_fit_the_text():
    at = open_page()
    assert any("read as Python code" in c.value for c in at.caption)
    at.selectbox(key="rnn_preset").set_value("English sentence").run()
    assert any("read as prose" in c.value and "apostrophes do not" in c.value for c in at.caption)


# --- presentation mode: each view's key figure first, under one row of its controls ----------------

def _top_blocks(at) -> list[tuple[str, list[str]]]:
    """The main area's first-level elements as (kind, keys inside): kind "row" for a horizontal
    container, "block" for any other container, else the element's type."""
    out = []
    for ch in at.main.children.values():
        proto = getattr(ch, "proto", None)
        flex = getattr(proto, "flex_container", None) if proto is not None else None
        if ch.type == "flex_container" and flex is not None:
            kind = "row" if flex.direction == flex.HORIZONTAL and ch.children.get(0, ch).type != "column" else "block"
            keys = [getattr(g, "key", None) or g.type for g in ch.children.values()]
            out.append((kind, keys))
        else:
            out.append((ch.type, [getattr(ch, "key", None) or getattr(ch, "label", "")]))
    return out


def _present(view: str):
    at = open_app(PAGE, {"present": "1", **({"rnn_view": view} if view != "Text" else {})})
    at.run()  # AppTest's switch_page drops the query string for one run; a browser opening the link keeps it
    assert not at.exception, at.exception
    assert at.toggle(key="present_mode").value is True and at.query_params["present"] == "1"
    return at


@pytest.mark.parametrize("view,row,hero,title,folded", [
    ("Text", ["rnn_net", "rnn_kind", "rnn_width", "rnn_start"], "rnn_heat", "LSTM: cell state c, characters 0-79 of",
     ["Text and preset", "Heatmap rows"]),
    ("Time series", ["ts_src", "ts_steps", "ts_kind"], "ts_fig", "sunspot number: forecast and the LSTM",
     ["Data and model"]),
    ("Why LSTMs", ["why_src", "why_rel"], "why_fig", "Gradient of the last prediction", ["What this chart shows"]),
])
def test_presentation_mode_puts_each_views_key_figure_first(view, row, hero, title, folded):
    at = _present(view)
    blocks = [b for b in _top_blocks(at) if b[0] not in ("title", "html")]  # the title is hidden by CSS
    # the view picker, one row of the figure's controls, then the figure
    assert [k for k, _ in blocks[1:3]] == ["row", "block"] and blocks[0][1] == ["rnn_view"], blocks[:4]
    assert blocks[1][1] == row and blocks[2][1][0] == hero
    first = figures(at)[0]
    assert first["layout"]["title"]["text"].startswith(title)
    assert first["layout"]["height"] <= 520  # with the row above it, it fits a 720 px screen
    assert [e.label for e in at.expander][: len(folded)] == folded and not any(e.proto.expanded for e in at.expander)
    normal = open_page(view if view != "Text" else None)
    assert normal.toggle(key="present_mode").value is False
    assert hero not in [k for _, keys in _top_blocks(normal)[:4] for k in keys]  # the normal page explains first
    assert figures(normal)[0]["layout"]["height"] > 520  # the normal page's figures are taller


def test_presentation_mode_folds_the_text_and_keeps_present_in_the_url():
    at = _present("Text")
    text_box = at.expander[0]
    assert text_box.label == "Text and preset" and text_box.text_area(key="rnn_text").value.startswith("def format_row(")
    assert [m.label for m in text_box.metric] == ["LSTM: surprise on this text"]  # scores fold with the text
    assert at.expander[1].radio(key="rnn_rows")  # the rows choice is folded too
    at.radio(key="rnn_net").set_value("Compare both").run()
    at.selectbox(key="rnn_kind").set_value(Q["forget"]).run()
    assert at.query_params["present"] == "1" and not at.exception
    assert titles(at)[0].startswith("LSTM: forget gate f") and titles(at)[1].startswith("RNN: hidden state h")
    at.radio(key="rnn_view").set_value("Time series").run()
    assert at.query_params["present"] == "1" and titles(at)[0].startswith("sunspot number: forecast")
    assert "LSTM, one step ahead (RMSE)" in [m.label for m in at.metric]  # the scores, below the figure
    at.toggle(key="present_mode").set_value(False).run()
    assert "present" not in at.query_params and not at.expander
