"""The attention page under AppTest: every view runs, view changes never re-run a model, bad text
gets one sentence."""
import base64
import json
import uuid
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nnviz.models import bert, gpt, seq2seq

TIMEOUT = 120
ROOT = Path(__file__).resolve().parents[2]
VIEWS = ["head", "model", "rollout", "bank", "steps", "positions", "masked", "cross"]  # shown as labels


@pytest.fixture
def runs(monkeypatch):
    """Count model runs: MiniLM.run, CharGPT.run, DateTranslator.translate."""
    counts = {"minilm": 0, "gpt": 0, "dates": 0}

    def counting(cls, name, key):
        orig = getattr(cls, name)

        def wrapper(self, *a, **k):
            counts[key] += 1
            return orig(self, *a, **k)

        monkeypatch.setattr(cls, name, wrapper)

    counting(bert.MiniLM, "run", "minilm")
    counting(gpt.CharGPT, "run", "gpt")
    counting(seq2seq.DateTranslator, "translate", "dates")
    return counts


def open_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    at.switch_page("pages/attention.py")
    at.run()
    assert not at.exception, at.exception
    return at


def array(z) -> np.ndarray:
    """A Plotly JSON array: a list, or {"dtype", "bdata", "shape"} (typed array, base64)."""
    if isinstance(z, dict) and "bdata" in z:
        a = np.frombuffer(base64.b64decode(z["bdata"]), dtype=np.dtype(z["dtype"]))
        shape = z.get("shape")
        if isinstance(shape, str):
            shape = [int(x) for x in shape.split(",")]
        return a.reshape(shape) if shape else a
    return np.array(z, dtype=float)


def figures(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def titles(at):
    out = []
    for f in figures(at):
        t = f.get("layout", {}).get("title", {})
        out.append(t.get("text", "") if isinstance(t, dict) else str(t))
    return out


def fresh(text: str) -> str:
    """A text no earlier test ran (traces are cached across AppTest runs in one process)."""
    return f"{text} {uuid.uuid4().hex[:6]}"


def set_text(at, text):
    at.text_area(key="att_text").input(text).run()
    assert not at.exception, at.exception


def test_every_view_runs_and_draws(runs):
    at = open_page()
    for view in VIEWS:
        at.segmented_control(key="att_view").set_value(view).run()
        assert not at.exception, (view, at.exception)
        assert not at.error, (view, [e.value for e in at.error])
        assert at.get("plotly_chart"), view


def test_default_view_opens_on_the_it_animal_head():
    at = open_page()
    assert at.slider(key="att_layer").value == 4 and at.slider(key="att_head").value == 2
    assert any(t.startswith("Layer 4, head 2") for t in titles(at))
    heat = next(f for f in figures(at) if f["data"][0].get("type") == "heatmap")
    labels = heat["layout"]["yaxis"]["ticktext"]
    z = array(heat["data"][0]["z"])
    assert len(labels) == 16
    it = labels.index("it")
    assert labels[int(np.argmax(z[it]))] == "animal"  # the lecture's point: 'it' looks at 'animal'


def test_layer_head_query_and_view_switches_never_rerun_the_model(runs):
    at = open_page()
    set_text(at, fresh("The animal didn't cross the street because it was too tired."))
    assert runs["minilm"] == 1
    at.slider(key="att_layer").set_value(2).run()
    at.slider(key="att_head").set_value(7).run()
    assert any(t.startswith("Layer 2, head 7") for t in titles(at))
    for view in ("model", "rollout", "steps", "head"):
        at.segmented_control(key="att_view").set_value(view).run()
        assert not at.exception
    at.segmented_control(key="att_view").set_value("steps").run()
    at.selectbox(key="att_sq").set_value(3).run()
    at.slider(key="att_head").set_value(1).run()
    assert not at.exception
    assert runs["minilm"] == 1  # counted, not timed: one run for one text


def test_step_by_step_checks_every_step_against_the_model():
    at = open_page()
    at.segmented_control(key="att_view").set_value("steps").run()
    table = next(m.value for m in at.markdown if m.value.startswith("| step |"))
    assert table.count("✓ equal") == 7 and "✗" not in table


@pytest.mark.parametrize("text, needle", [
    ("", "empty"),
    ("     \n  ", "empty"),
    ("\x00\x07\x1b", "Nothing is left"),
])
def test_bad_text_gets_one_sentence(text, needle):
    at = open_page()
    set_text(at, text)
    assert not at.exception
    assert len(at.error) == 1 and needle in at.error[0].value


def test_emoji_non_latin_and_control_characters_are_explained_not_fatal():
    at = open_page()
    set_text(at, fresh("I love 🙂 and Здравствуйте \x07 friends"))
    assert not at.error
    infos = " ".join(i.value for i in at.info)
    assert "[UNK]" in infos and "Control characters" in infos and "English" in infos
    assert "nnv-tok u" in at.get("html")[0].proto.body  # the unknown token is marked in the token strip


def test_over_512_tokens_is_truncated_with_a_message_and_stays_paged(runs):
    at = open_page()
    set_text(at, fresh("word " * 700))
    assert not at.exception and not at.error
    assert any("at most 512 tokens" in i.value for i in at.info)
    figs = figures(at)
    assert any(f["data"][0].get("type") == "image" for f in figs)  # the whole head as one image
    heat = next(f for f in figs if f["data"][0].get("type") == "heatmap")
    assert len(heat["layout"]["yaxis"]["ticktext"]) == 24  # a readable window
    total = sum(len(c.proto.spec) for c in at.get("plotly_chart"))
    assert total < 600_000, total
    at.slider(key="head_start").set_value(200).run()
    at.radio(key="head_cols").set_value("each query's strongest keys (top-k)").run()
    assert not at.exception
    assert any("rows 200-223" in t for t in titles(at))
    assert runs["minilm"] == 1


def test_word_in_context_pair_and_bad_word():
    at = open_page()
    at.segmented_control(key="att_view").set_value("bank").run()
    cos = next(f for f in figures(at) if f["layout"].get("xaxis", {}).get("ticktext", [None])[0] == "embeddings")
    ab, bc = (array(d["y"]) for d in cos["data"])
    assert len(ab) == 7 and ab[0] > 0.95  # the same token going in
    assert ab[-1] < bc[-1]  # river bank vs money bank drift further apart than two money banks
    at.text_input(key="bank_word").input("zebra").run()
    assert not at.exception
    assert "not a single MiniLM token" in at.error[0].value


def test_shuffle_the_words_runs_the_model_on_ids_once_per_shuffle(runs):
    at = open_page()
    set_text(at, fresh("the cat sat on the warm mat"))
    at.segmented_control(key="att_view").set_value("positions").run()
    assert not at.exception
    n = runs["minilm"]
    assert n == 2  # the text, then its shuffled words
    at.slider(key="att_head").set_value(5).run()
    assert runs["minilm"] == n
    at.number_input(key="pe_seed").set_value(3).run()
    assert runs["minilm"] == n + 1
    assert any("Sentence vectors" in m.label for m in at.metric)


def test_masked_view_shows_the_mask_and_predictions(runs):
    at = open_page()
    at.segmented_control(key="att_view").set_value("masked").run()
    at.text_area(key="gpt_text").input(fresh("def f(x):\n    return")).run()
    assert not at.exception
    assert runs["gpt"] == 1
    heat = next(f for f in figures(at) if f["data"][0].get("type") == "heatmap")
    z = array(heat["data"][0]["z"])
    assert heat["layout"]["plot_bgcolor"] == "#c8c8c8"
    assert np.isnan(z[np.triu_indices(len(z), 1)]).all() and not np.isnan(z[np.tril_indices(len(z))]).any()
    at.slider(key="gpt_layer").set_value(3).run()
    at.radio(key="gpt_show").set_value("before the mask (scores q·k/√d)").run()
    at.slider(key="gpt_pos").set_value(2).run()
    assert not at.exception
    assert runs["gpt"] == 1
    at.text_area(key="gpt_text").input("   ").run()
    assert at.error and "empty" in at.error[0].value


def test_cross_attention_translates_and_flags_bad_dates(runs):
    at = open_page()
    at.segmented_control(key="att_view").set_value("cross").run()
    assert "1999-03-03" in " ".join(m.value for m in at.markdown)
    at.text_input(key="date_text").input("31 february 2001").run()
    assert not at.exception
    assert any("not a real date" in i.value for i in at.info)
    n = runs["dates"]
    at.slider(key="date_layer").set_value(2).run()
    at.radio(key="date_head").set_value("head 3").run()
    assert runs["dates"] == n
    at.text_input(key="date_text").input("   ").run()
    assert at.error and "Type a date" in at.error[0].value
