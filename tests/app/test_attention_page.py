"""The attention page under AppTest: every view runs; view changes never re-run a model (the model
classes' run calls and nnviz.runner.runs() are counted); every view widget is in the scene, so a
link rebuilds the same picture; bad text gets one sentence."""
import uuid

import numpy as np
import pytest

from nnviz.models import bert, gpt, seq2seq
from tests.app.conftest import WIDGETS, array, figures, open_link, scene_link, titles
from tests.app.conftest import open_page as open_app
from tests.app.conftest import unbound as shared_unbound

PAGE = "pages/attention.py"
VIEWS = ["One head", "All heads", "Average & rollout", "Word in context", "Step by step", "Positions",
         "Masked (GPT)", "Cross-attention"]
SCENE_KINDS = WIDGETS + ("multiselect", "button_group")  # button_group: st.segmented_control


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


def zero(runs) -> None:
    """Count from here: opening a page runs its default text once, unless an earlier test cached it."""
    runs.update(dict.fromkeys(runs, 0))


def open_page(link: dict | None = None):
    return open_app(PAGE, link)


def link_of(at) -> dict:
    """`scene_link` plus the bound widgets it does not read: the view (a segmented control) and
    multiselects (repeated parameters in the URL); values equal to the widget's default are left
    out, as the browser does."""
    link = scene_link(at)
    for w in at.get("button_group"):
        p = w.proto
        if p.query_param_key and [p.options[i].content for i in p.default] != [str(w.value)]:
            link[p.query_param_key] = str(w.value)
    for w in at.get("multiselect"):
        p = w.proto
        if p.query_param_key and [p.options[i] for i in p.default] != [str(v) for v in w.value]:
            link[p.query_param_key] = [str(v) for v in w.value]
    return link


def bound(at) -> set[str]:
    return {w.proto.query_param_key for kind in SCENE_KINDS for w in at.get(kind)} - {""}


def unbound(at) -> list[str]:
    return shared_unbound(at, SCENE_KINDS)


def fresh(text: str) -> str:
    """A text no earlier test ran (traces are cached across AppTest runs in one process)."""
    return f"{text} {uuid.uuid4().hex[:6]}"


def set_text(at, text, key="att_text"):
    at.text_area(key=key).input(text).run()
    assert not at.exception, at.exception


def set_view(at, view):
    at.segmented_control(key="att_view").set_value(view).run()
    assert not at.exception, (view, at.exception)


def test_every_view_runs_and_draws(runs):
    at = open_page()
    for view in VIEWS:
        set_view(at, view)
        assert not at.error, (view, [e.value for e in at.error])
        assert at.get("plotly_chart"), view


def test_default_view_opens_on_the_it_animal_head():
    at = open_page()
    assert at.segmented_control(key="att_view").value == "One head"
    assert at.slider(key="att_layer").value == 4 and at.slider(key="att_head").value == 2
    assert any(t.startswith("Layer 4, head 2") for t in titles(at))
    heat = next(f for f in figures(at) if f["data"][0].get("type") == "heatmap")
    labels = heat["layout"]["yaxis"]["ticktext"]
    z = array(heat["data"][0]["z"])
    assert len(labels) == 16
    it = labels.index("it")
    assert labels[int(np.argmax(z[it]))] == "animal"  # the lecture's point: 'it' looks at 'animal'


def test_layer_head_query_and_view_switches_never_rerun_the_model(runs, model_runs):
    at = open_page()
    zero(runs)
    set_text(at, fresh("The animal didn't cross the street because it was too tired."))
    assert runs["minilm"] == 1
    with model_runs() as n:
        at.slider(key="att_layer").set_value(2).run()
        at.slider(key="att_head").set_value(7).run()
        assert any(t.startswith("Layer 2, head 7") for t in titles(at))
        at.toggle(key="att_scale_head").set_value(True).run()
        at.selectbox(key="head_lineq").set_value(3).run()
        for view in ("All heads", "Average & rollout", "Step by step", "One head"):
            set_view(at, view)
        set_view(at, "Step by step")
        at.selectbox(key="att_sq").set_value(3).run()
        at.slider(key="att_head").set_value(1).run()
        set_view(at, "Average & rollout")
        at.selectbox(key="att_rq").set_value(2).run()
        at.toggle(key="att_scale_roll").set_value(True).run()
        assert not at.exception
        assert n() == 0  # counted, not timed: no run for a view change
    assert runs["minilm"] == 1  # one run for one text


def test_step_by_step_checks_every_step_against_the_model():
    at = open_page()
    set_view(at, "Step by step")
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
    body = at.get("html")[0].proto.body
    assert "nnv-tok u" in body and "[UNK] 🙂" in body  # the unknown token is marked with the text it replaced


def test_over_512_tokens_is_truncated_with_a_message_and_stays_paged(runs, model_runs):
    at = open_page()
    zero(runs)
    set_text(at, fresh("word " * 700))
    assert not at.exception and not at.error
    assert any("at most 512 tokens" in i.value for i in at.info)
    figs = figures(at)
    assert any(f["data"][0].get("type") == "image" for f in figs)  # the whole head as one image
    heat = next(f for f in figs if f["data"][0].get("type") == "heatmap")
    assert len(heat["layout"]["yaxis"]["ticktext"]) == 24  # a readable window
    total = sum(len(c.proto.spec) for c in at.get("plotly_chart"))
    assert total < 600_000, total
    with model_runs() as n:
        at.slider(key="head_start").set_value(200).run()
        at.radio(key="head_cols").set_value("each query's strongest keys (top-k)").run()
        assert not at.exception
        assert any("rows 200-223" in t for t in titles(at))
        at.select_slider(key="head_win").set_value(40).run()
        assert any("rows 200-239" in t for t in titles(at))
        assert n() == 0
    assert runs["minilm"] == 1


def test_word_in_context_pair_and_bad_word():
    at = open_page()
    set_view(at, "Word in context")
    cos = next(f for f in figures(at) if f["layout"].get("xaxis", {}).get("ticktext", [None])[0] == "embeddings")
    ab, bc = (array(d["y"]) for d in cos["data"])
    assert len(ab) == 7 and ab[0] > 0.95  # the same token going in
    assert ab[-1] < bc[-1]  # river bank vs money bank drift further apart than two money banks
    at.text_input(key="bank_word").input("zebra").run()
    assert not at.exception
    assert "not a single MiniLM token" in at.error[0].value


def test_shuffle_the_words_runs_the_model_on_ids_once_per_shuffle(runs, model_runs):
    at = open_page()
    opened = runs["minilm"]  # the default text: 1 when no earlier test has cached its trace
    set_text(at, fresh("the cat sat on the warm mat"))
    set_view(at, "Positions")
    n = runs["minilm"]
    assert n - opened == 2  # the text, then its shuffled words
    with model_runs() as views:
        at.slider(key="att_head").set_value(5).run()
        at.select_slider(key="pe_d").set_value(32).run()  # the dimensions picked before stay if they fit
        assert at.multiselect(key="pe_dims").value == [0, 1, 8]
        assert views() == 0
    assert runs["minilm"] == n
    at.number_input(key="pe_seed").set_value(3).run()
    assert runs["minilm"] == n + 1
    assert any("Sentence vectors" in m.label for m in at.metric)


def test_masked_view_shows_the_mask_and_predictions(runs, model_runs):
    at = open_page()
    set_view(at, "Masked (GPT)")
    zero(runs)
    set_text(at, fresh("def f(x):\n    return"), key="gpt_text")
    assert runs["gpt"] == 1
    heat = next(f for f in figures(at) if f["data"][0].get("type") == "heatmap")
    z = array(heat["data"][0]["z"])
    assert heat["layout"]["plot_bgcolor"] == "#c8c8c8"
    assert np.isnan(z[np.triu_indices(len(z), 1)]).all() and not np.isnan(z[np.tril_indices(len(z))]).any()
    with model_runs() as n:
        at.slider(key="gpt_layer").set_value(3).run()
        at.radio(key="gpt_show").set_value("before the mask (scores q·k/√d)").run()
        at.slider(key="gpt_pos").set_value(2).run()
        assert not at.exception
        assert n() == 0
    assert runs["gpt"] == 1
    set_text(at, "   ", key="gpt_text")
    assert at.error and "empty" in at.error[0].value


def test_cross_attention_translates_and_flags_bad_dates(runs, model_runs):
    at = open_page()
    set_view(at, "Cross-attention")
    assert "1999-03-03" in " ".join(m.value for m in at.markdown)
    at.text_input(key="date_text").input("31 february 2001").run()
    assert not at.exception
    assert any("not a real date" in i.value for i in at.info)
    n = runs["dates"]
    with model_runs() as views:
        at.slider(key="date_layer").set_value(2).run()
        at.radio(key="date_head").set_value("head 3").run()
        assert any(t.startswith("Decoder layer 2, head 3") for t in titles(at))
        assert views() == 0
    assert runs["dates"] == n
    at.text_input(key="date_text").input("   ").run()
    assert at.error and "Type a date" in at.error[0].value


def test_an_example_fills_the_text_box():
    at = open_page()
    at.selectbox(key="att_preset").set_value("river bank").run()
    assert at.text_area(key="att_text").value.startswith("I sat on the river bank")
    set_view(at, "Cross-attention")
    at.selectbox(key="date_preset").set_value("25-dec-84").run()
    assert at.text_input(key="date_text").value == "25-dec-84"
    assert "1984-12-25" in " ".join(m.value for m in at.markdown)


# --- the scene: every view widget is in the link, and a link rebuilds the view ----------------------

def test_every_view_widget_is_in_the_scene():
    at = open_page()
    for view in VIEWS:
        set_view(at, view)
        assert unbound(at) == [], view
    set_view(at, "One head")
    set_text(at, "word " * 700)  # a long text: its window widgets too; the text itself is too long for a link
    assert {"head_win", "head_start", "head_cols"} <= bound(at)
    assert unbound(at) == ["att_text"]


@pytest.mark.parametrize("view, changes", [
    ("Step by step", [("text_area", "att_text", "The cat sat on the mat because it was warm."),
                      ("slider", "att_layer", 2), ("slider", "att_head", 5), ("selectbox", "att_sq", 3)]),
    ("One head", [("slider", "att_layer", 1), ("slider", "att_head", 1), ("toggle", "att_scale_head", True),
                  ("selectbox", "head_lineq", 4)]),  # 1 and 1 are the widgets' own defaults
    ("Average & rollout", [("slider", "att_layer", 6), ("selectbox", "att_rq", 0), ("toggle", "att_scale_roll", True)]),
    ("Positions", [("select_slider", "pe_n", 32), ("select_slider", "pe_d", 64), ("multiselect", "pe_dims", [2, 3]),
                   ("select_slider", "pe_sim_n", 64), ("number_input", "pe_seed", 4), ("slider", "att_head", 9)]),
    ("Word in context", [("text_input", "bank_2", "A bank of fog hid the coast."), ("slider", "bank_layer", 3)]),
    ("Masked (GPT)", [("selectbox", "gpt_preset", "English"), ("slider", "gpt_layer", 2), ("slider", "gpt_head", 3),
                      ("radio", "gpt_show", "before the mask (scores q·k/√d)"), ("slider", "gpt_pos", 0),
                      ("slider", "gpt_temp", 0.0), ("slider", "gpt_n", 40), ("button", "gpt_go", None)]),
    ("Cross-attention", [("selectbox", "date_preset", "Mar 3 99"), ("slider", "date_layer", 2),
                         ("radio", "date_head", "head 2")]),
])
def test_view_is_shared_as_a_link_and_restored_from_one(view, changes):
    at = open_page()
    set_view(at, view)
    for kind, key, value in changes:
        w = getattr(at, kind)(key=key)
        (w.click() if kind == "button" else w.input(value) if kind.startswith("text") else w.set_value(value)).run()
        assert not at.exception, (key, at.exception)
    link = link_of(at)
    for kind, key, value in changes:
        if kind != "button":
            assert key in link, key
    student = open_link(PAGE, link)
    assert link_of(student) == link
    assert titles(student) == titles(at)  # the same pictures
    assert [c.value for c in student.code] == [c.value for c in at.code]  # the same continuation, if any


def test_a_long_example_text_comes_back_from_its_example():
    at = open_page()
    at.selectbox(key="att_preset").set_value("long text (over 512 tokens)").run()
    at.slider(key="head_start").set_value(100).run()
    link = link_of(at)
    assert "att_text" not in link and link["att_preset"] == "long text (over 512 tokens)"
    student = open_link(PAGE, link)
    assert student.text_area(key="att_text").value == at.text_area(key="att_text").value
    assert titles(student) == titles(at)


def test_the_scene_survives_a_visit_to_another_page():
    at = open_page()
    set_view(at, "Step by step")
    set_text(at, "The dog chased the ball because it was fast.")
    at.slider(key="att_layer").set_value(3).run()
    at.selectbox(key="att_sq").set_value(2).run()
    shown = titles(at)
    at.switch_page("pages/cnn.py")
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception
    assert at.segmented_control(key="att_view").value == "Step by step"
    assert (at.slider(key="att_layer").value, at.selectbox(key="att_sq").value) == (3, 2)
    assert titles(at) == shown


# --- lecture screens (issue 9) ---------------------------------------------------------------------

def open_presenting(link: dict | None = None):
    at = open_page({"present": "1", **(link or {})})
    at.run()  # AppTest's switch_page drops the query string for one run; a browser opening the link keeps it
    assert not at.exception, at.exception
    assert at.toggle(key="present_mode").value is True and at.query_params["present"] == "1"
    return at


def test_presentation_mode_puts_the_head_heatmap_first_and_folds_the_text():
    at = open_presenting()
    first = figures(at)[0]
    assert first["data"][0]["type"] == "heatmap" and "animal" in first["layout"]["yaxis"]["ticktext"]
    assert first["layout"]["height"] == 560  # a projector's first screen, under the row of controls
    assert [e.label for e in at.expander] == ["Head view (lines)", "Text and tokens"]  # under the map, then the rest
    assert at.selectbox(key="att_view").value == "One head"  # a narrow menu, so layer and head fit beside it
    normal = open_page()
    assert not normal.expander and figures(normal)[0]["layout"]["height"] != 560
    at.toggle(key="present_mode").set_value(False).run()
    assert "present" not in at.query_params


def test_presentation_mode_puts_each_views_key_figure_first():
    normal = open_page({"att_view": "Step by step"})
    normal.run()
    assert titles(normal)[0] != titles(open_presenting({"att_view": "Step by step"}))[0]
    firsts = {}
    for view, key in [("Step by step", "st_row"), ("Positions", "pe_sim_pair"), ("Cross-attention", "date_cross"),
                      ("Word in context", "bank_cos"), ("Average & rollout", "roll_pair")]:
        at = open_presenting({"att_view": view})
        firsts[view] = at.get("plotly_chart")[0].proto.id
        assert key in firsts[view], (view, firsts[view])
    # both maps of a pair in one figure, filling the first screen (one figure per lesson picture)
    for view, n_maps in [("Average & rollout", 2), ("Positions", 2)]:
        first = figures(open_presenting({"att_view": view}))[0]
        assert first["layout"]["height"] == 560
        assert sum(t["type"] in ("heatmap", "image") for t in first["data"]) == n_maps


def bank_figure(at) -> dict:
    return next(f for f in figures(at) if f["layout"].get("xaxis", {}).get("ticktext", [None])[0] == "embeddings")


def test_word_in_context_lets_the_user_pick_which_occurrence():
    at = open_page()
    set_view(at, "Word in context")
    assert not [s for s in at.selectbox if s.key and s.key.startswith("bank_occ")]  # one 'bank' each: no choice
    at.text_input(key="bank_1").input("The bank by the river bank was closed for the day.").run()
    pick = at.selectbox(key="bank_occ_1")
    assert pick.options == ["1st of 2 (token 2)", "2nd of 2 (token 6)"] and pick.value == 0
    first = array(bank_figure(at)["data"][0]["y"])
    assert any("token 2 of B" in c.value for c in at.caption)
    pick.set_value(1).run()
    assert not at.exception
    second = array(bank_figure(at)["data"][0]["y"])
    assert abs(first[-1] - second[-1]) > 1e-3  # another vector, another cosine
    assert any("token 6 of B" in c.value for c in at.caption)
    assert "bank_occ_1" in link_of(at)


def test_word_in_context_says_when_the_lessons_order_inverts():
    at = open_page()
    set_view(at, "Word in context")
    assert not at.info  # the shipped sentences keep the lesson's order
    at.text_input(key="bank_0").input("I went to the bank to deposit my salary.").run()  # A = B: cosine 1
    ab, bc = (array(d["y"])[-1] for d in bank_figure(at)["data"])
    assert ab > bc
    note = at.info[0].value
    assert "other way round" in note and f"{ab:.2f}" in note and f"{bc:.2f}" in note


def test_special_token_scale_is_off_by_default_and_marks_clipped_columns_when_on():
    at = open_page()
    fig = next(f for f in figures(at) if f["data"][0]["type"] == "heatmap")
    z = array(fig["data"][0]["z"])
    assert at.toggle(key="att_scale_head").value is False
    assert fig["data"][0]["zmax"] == pytest.approx(float(z.max()), rel=1e-5) and not fig["layout"].get("shapes")
    at.toggle(key="att_scale_head").set_value(True).run()
    fig = next(f for f in figures(at) if f["data"][0]["type"] == "heatmap")
    zmax = fig["data"][0]["zmax"]
    assert zmax == pytest.approx(float(z[:, 1:-1].max()), rel=1e-5) and zmax < z.max()
    marked = sorted(round(s["x0"] + 0.5) for s in fig["layout"]["shapes"] if s.get("name") == "clipped column")
    assert marked == [j for j in range(z.shape[1]) if z[:, j].max() > zmax]
    assert 0 in marked  # [CLS] soaks up this head's idle attention
    note = next(a["text"] for a in fig["layout"]["annotations"] if a.get("name") == "clipped note")
    assert "[CLS]" in note
    assert any(f"{zmax:.2f} or more" in c.value for c in at.caption)
