"""The Sentiment view of the RNN & LSTM explorer (pages/recurrent.py): an LSTM reads a sentence
word by word; after every word its classifier says how positive the sentence is so far.

One cached run (ui.get_trace) gives every figure: the running prediction, the change at each
word, and the gates at the words where the prediction turned. Picking a gate or the rows only
redraws. Every widget is in the scene (URL + session), so a link shows the same sentence.
"""
from __future__ import annotations

import re

import streamlit as st

from .. import weights as W
from ..models import get_spec, list_models
from ..plots import sentiment as splots
from ..types import InputError
from . import get_trace, input_key, load_or_report, scene, scene_text, weights_badge
from .export import chart, html
from .recurrent import HERO_PX, MAIN_PX, PRESENT_PX, notes_caption

PRESETS = {
    "Turns at \"but\"": "The acting is not good, but the story is wonderful.",
    "Turns the other way": "The performances are wonderful, but the film is a mess.",
    "Negation at the end": "I expected to hate it, and I did not.",
    "Plainly negative": "A dull, lifeless film with a script that goes nowhere.",
    "Plainly positive": "A warm, funny and beautifully acted film.",
    # The same turn in the past tense: the model gets it wrong (see MISTAKE).
    "A mistake it makes (past tense)": "The acting was not good, but the story was wonderful.",
}
MISTAKE = ("Why it goes wrong: in the movie snippets it learned from, most sentences with \"was\" are negative "
           "(about 7 in 10), so \"was\" itself pulls the prediction down, and \"wonderful\" cannot pull it "
           "back up. Change both \"was\" to \"is\" and compare.")
TOP_UNITS = 24  # heatmap rows when showing only the units that moved most at the turning words


def model_name() -> str | None:
    """The registry's sentiment model (a recurrent text model whose extra "task" is sentiment)."""
    names = [n for n in list_models("recurrent", input_kind="text") if get_spec(n).extra.get("task") == "sentiment"]
    return names[0] if names else None


def held_out_accuracy(model) -> float | None:
    """The accuracy the training script recorded on the held-out sentences, for the shipped file only."""
    kind, _, filename = (model.spec.default_weights or "").partition(":")
    if not model.weights_info.trained or kind != "shipped" or filename not in model.weights_info.source:
        return None
    acc = W.shipped_values(filename).get("test_accuracy")
    return float(acc) if isinstance(acc, (int, float)) else None


def _md(text: str) -> str:
    """User text inside Markdown: a typed "*" or "_" must show as itself, not start emphasis."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$])", r"\\\1", text)


def _set_preset() -> None:
    st.session_state["sent_text"] = PRESETS[st.session_state["sent_preset"]]


def view(present: bool) -> None:
    name = model_name()
    if name is None:
        st.error("No sentiment model is registered.")
        return
    if present:  # one row of controls, the running prediction filling the screen, the rest below
        row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
        preset_at, text_at = row, row
    else:
        st.markdown("An LSTM reads a movie-review sentence **one word at a time**. After every word, its "
                    "classifier looks at the hidden state and says how positive the sentence is *so far*. "
                    "Watch the prediction turn at words like *not* and *but*.")
        preset_at, text_at = st.columns([1, 2], gap="medium")
    scene(preset_at.selectbox, "Load a preset", list(PRESETS), key="sent_preset", on_change=_set_preset)
    raw = scene_text(text_at.text_input, "Sentence (English; the model read movie reviews)", key="sent_text",
                     default=PRESETS[next(iter(PRESETS))], max_chars=2000, width=700 if present else "stretch")
    model = load_or_report(name, "default", "default")
    if model is None:
        return
    try:
        with st.spinner(f"Running {name}..."):
            trace = get_trace(name, "default", input_key("text", raw), model, raw)
    except InputError as e:
        st.error(str(e))
        return
    tokens = trace.tokens
    p = splots.positive_prob(trace.output)  # (T,) P(positive) after each word
    marks = splots.turning_points(p)
    width = PRESENT_PX if present else MAIN_PX

    label, sure = verdict(p)
    chart(splots.running_prediction(tokens, p, f"P(positive) after each word → final prediction: {label} ({sure})",
                                    marks, height=HERO_PX if present else 460, width_px=width),
          width="stretch", key="sent_running")
    st.caption("Each point is the model's own output after reading the words up to it (nothing is re-run on "
               "shorter texts). Ringed: the words where the prediction turned (crossed 50%, or moved most).")
    if raw.strip() == PRESETS["A mistake it makes (past tense)"]:
        st.info(MISTAKE)
    final(p, held_out_accuracy(model))
    notes_caption(trace.notes)
    weights_badge(model)

    st.subheader("Which words moved it")
    html(splots.words_html(tokens, p))
    chart(splots.word_changes(tokens, p, "Change of P(positive) at each word", marks, width_px=width),
          width="stretch", key="sent_changes")
    st.caption("A bar is P(positive) after the word minus P(positive) before it; the first word's is "
               "measured from 50% (undecided), so the bars add up to the final prediction minus 50%.")

    gates_section(trace, tokens, p, marks, width)


def verdict(p) -> tuple[str, str]:
    """The label after the last word and its probability as shown, e.g. ("negative", "68%"): the
    chart prints P(positive) rounded, so a negative verdict shows 100 minus that printed number
    (32% on the chart, 68% here: they add up as shown). Exactly 50% reads as positive."""
    shown = int(f"{p[-1]:.0%}".rstrip("%"))  # the last point's label on the chart
    return ("positive", f"{shown}%") if p[-1] >= 0.5 else ("negative", f"{100 - shown}%")


def final(p, acc: float | None) -> None:
    label, sure = verdict(p)
    left, right = st.columns([2, 3], gap="medium", vertical_alignment="center")  # room for "negative (100%)" at 36 px
    left.metric("Final prediction", f"{label} ({sure})",
                help="The classifier's output after the last word: the sentence's label.")
    if acc is not None:
        right.markdown(f"This model is right on **{acc:.0%}** of held-out sentences (2,113 movie-review "
                       "snippets it never saw in training): wrong on about one sentence in "
                       f"{1 / max(1 - acc, 1e-9):.0f}.")


def gates_section(trace, tokens, p, marks, width: int) -> None:
    st.subheader("The gates at the words that turned it")
    turned = ", ".join(
        f"**{_md(tokens[t])}** (word {t + 1}: {(p[t - 1] if t else 0.5):.0%} → {p[t]:.0%})" for t in marks)
    st.markdown(f"Turning words: {turned}. Their columns are outlined in the heatmap and shaded below.")
    c1, c2 = st.columns([1, 1])
    gate = scene(c1.radio, "Gate", list(splots.GATES), index=1, key="sent_gate", horizontal=True,
                 help="\n\n".join(splots.GATE_MEANING.values()))
    values = trace.states(gate)  # (T, H)
    H = values.shape[1]
    rows = scene(c2.radio, "Units", [f"{TOP_UNITS} that changed most at the turning words", f"all {H}"],
                 key="sent_units", horizontal=True)
    units = splots.moved_units(values, marks, TOP_UNITS) if rows.startswith(str(TOP_UNITS)) else None
    shown = f"the {TOP_UNITS} units (of {H}) that changed most at the turning words" if units else f"all {H} units"
    chart(splots.gate_heatmap(values, tokens, gate, marks, f"{gate.capitalize()} gate at each word: {shown}",
                              width_px=width, units=units),
          width="stretch", key="sent_gate_map")
    st.caption(f"{splots.GATE_MEANING[gate].capitalize()}. Each column is one word, each row one unit of the LSTM's "
               "memory; yellow = open (near 1), dark purple = closed (near 0).")
    chart(splots.gate_means(trace.layers[0].gates, tokens, marks, "Gates at each word, averaged over all units",
                            width_px=width),
          width="stretch", key="sent_gate_means")
    st.caption("An average hides the few units that do the work: the heatmap above shows them one by one.")
