"""Streamlit pieces of the RNN & LSTM explorer (pages/recurrent.py).

Cached model calls that are not a run (sampling, gradients; the run itself is ui.get_trace), the
quantity picker and the text view's pieces. The time-series view is nnviz/ui/series.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from .. import analysis, plots
from ..models import get_spec, list_models
from ..inputs import TEXT_CAP, InputError, clean_text
from . import clamp_state, get_trace, input_key, scene, scene_text
from .export import chart, html
from .nextword import sampled_words

COLOURS = {"LSTM": plots.recurrent.LSTM_COLOUR, "RNN": plots.recurrent.RNN_COLOUR}
# Chart widths on a 1280 px screen (what character labels are thinned for): the main area with
# the sidebar open, and in presentation mode (sidebar closed).
MAIN_PX, PRESENT_PX = 790, 1110
HERO_PX = 500  # presentation mode: the key figure's height, to fit under its controls on a 720 px screen


def text_models() -> dict[str, str]:
    """The registry's next-character models by cell type: {"LSTM": "char_lstm", "RNN": "char_rnn"}
    (a spec's extra "task" says what a text model predicts; next character unless it says otherwise)."""
    names = [n for n in list_models("recurrent", input_kind="text")
             if get_spec(n).extra.get("task", "next_char") == "next_char"]
    return {get_spec(n).config["cell"].upper(): n for n in names}


def notes_caption(notes: list[str], where=st) -> None:
    for n in notes:
        where.caption(f"ℹ️ {n}")


def quantities(trace) -> list[str]:
    """What a trace recorded, as QUANTITIES keys: c (LSTM only), h, then the gates."""
    return (["c"] if trace.layers[0].c is not None else []) + ["h", *trace.gate_names]


def quantity_picker(widget, kinds: list[str], key: str, label: str = "Show") -> str:
    """A bound choice among recorded quantities. The options are their names (what the URL
    carries); returns the QUANTITIES key."""
    names = {plots.QUANTITIES[k][0]: k for k in kinds}
    return names[scene(widget, label, list(names), key=key)]


# --- the Text view's scene and its smaller sections -----------------------------------------------

@dataclass
class TextScene:
    """The Text view's choices, filled in as its widgets are drawn."""

    labels: list[str]  # the networks shown: ["LSTM"], ["RNN"] or both
    traces: dict  # label -> RecurrentTrace
    present: bool = False  # presentation mode: wider charts, the heatmap sized to the screen
    kind: str = "c"
    best_rows: bool = False
    start: int = 0
    stop: int = 0
    unit: int = 0
    pattern: str = "bracket depth"
    pos: int = 0
    models: dict | None = None  # label -> the model (for what is not in the trace: next words, samples)
    second: object = None  # the first network's trace of a second text, to compare (or None)
    vrange: tuple | None = None  # one colour scale for both texts when comparing

    @property
    def main(self):
        return self.traces[self.labels[0]]

    @property
    def states(self):  # (T, H)
        return self.main.states(self.kind)

    @property
    def width_px(self) -> int:
        return PRESENT_PX if self.present else MAIN_PX


def one_unit(s: TextScene) -> None:
    st.subheader("One unit, on the text itself")
    H = s.states.shape[1]
    u1, u2 = st.columns([1, 4])
    clamp_state("rnn_unit", 0, H - 1, 0)
    s.unit = scene(u1.number_input, f"Unit (0-{H - 1})", 0, H - 1, key="rnn_unit")
    u1.caption(f"Colour: {plots.QUANTITIES[s.kind][0]} of unit {s.unit}. Hover a character for its value.")
    vals = s.states[:, s.unit]
    lo, hi, scale = plots.quantity_range(s.kind, vals)
    html(plots.text_html(s.main.tokens, vals, lo, hi, scale, mark=None, label=f"{s.labels[0]} unit {s.unit}, {s.kind}"), where=u2)


def continuation(s: TextScene, text: str, models: dict, names: dict[str, str]) -> None:
    """Sampled text after the prediction position; `names` maps "LSTM"/"RNN" to registry names."""
    st.subheader("Let it write: a sampled continuation")
    s1, s2, s3 = st.columns(3)
    temperature = scene(s1.slider, "Temperature", 0.0, 2.0, 0.8, 0.1, key="rnn_temp",
                        help="0: always the likeliest character. 1: the model's own probabilities. "
                             "Above 1: more surprising (and more broken) text.")
    length = scene(s2.slider, "Characters to write", 50, 400, 200, 50, key="rnn_len")
    seed = int(scene(s3.number_input, "Random seed", 0, 10_000, key="rnn_seed"))
    prompt = text[: s.pos + 1]
    for col, lab in zip(st.columns(len(s.labels)), s.labels):
        new = sample_text(names[lab], prompt, length, float(temperature), seed, models[lab])
        col.markdown(f"**{lab}** continues after character {s.pos} (temperature {temperature:.1f}):")
        html(plots.recurrent.continuation_html(prompt[-160:], new, COLOURS[lab]), where=col)
        sampled_words(names[lab], "default", models[lab], prompt, float(temperature), seed, where=col)


# --- cached model calls that are not a run --------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=64)
def sample_text(name: str, prompt: str, length: int, temperature: float, seed: int, _model) -> str:
    return _model.sample(prompt, length, temperature, seed)


@st.cache_data(show_spinner=False, max_entries=16)
def gradients(name: str, text: str, _model) -> tuple[np.ndarray, list[str]]:
    """(T,) gradient norms of the last prediction w.r.t. each character, and the characters read."""
    return _model.gradient_norms(text), _model.encode(text).chars


def gradient_summary(norms: dict[str, np.ndarray]) -> None:
    """Each model's gradient 10, 50, 100 and 200 steps back (relative to the last character), and
    how many gradients were exactly 0."""
    back = {lab: analysis.text.steps_back(g) for lab, g in norms.items()}
    ks = next(iter(back.values()), {})
    facts = [f"**{k} steps back**: " + ", ".join(f"{lab} {b[k]:.1e}" if b[k] > 0 else f"{lab} 0 (below 1e-45)"
                                                 for lab, b in back.items()) for k in ks]
    if facts:
        st.markdown("Relative to the last character: " + "; ".join(facts) + ".")
    zeros = {lab: int((g == 0).sum()) for lab, g in norms.items()}
    if any(zeros.values()):
        st.caption("Exact zeros: " + ", ".join(f"{lab} {z}" for lab, z in zeros.items())
                   + " characters whose gradient fell below float32's smallest number; drawn on the dotted floor.")


SECOND_TEXT = "The professor said: \"An RNN reads one character at a time.\" Then she wrote (a, b) = (b, a)."


def second_text(s: TextScene, name: str, model, where=st) -> None:
    """Compare: the first network on a second text, both heatmaps on one colour scale and the same
    unit rows (sets s.second and s.vrange; the Text view draws it under the first)."""
    if not scene(where.toggle, "Compare with a second text (same units, one colour scale)", key="rnn_cmp"):
        return
    raw = scene_text(where.text_area, "Second text", key="rnn_text2", default=SECOND_TEXT, height=100)
    try:
        text, _ = clean_text(raw, TEXT_CAP)
    except InputError as e:
        where.error(f"Second text: {e}")
        return
    s.second = get_trace(name, "default", input_key("text", text), model, text)
    s.vrange = plots.quantity_range(s.kind, np.concatenate([s.states, s.second.states(s.kind)]))


def second_heatmap(s: TextScene, units: list[int] | None) -> None:
    """The second text's heatmap: the first one's quantity, rows, window length and colour scale."""
    tr = s.second
    T2 = len(tr.tokens)
    start = min(s.start, max(T2 - 1, 0))
    stop = min(T2, start + (s.stop - s.start))
    chart(plots.state_heatmap(tr.states(s.kind), tr.tokens, start, stop, units, s.kind,
                              f"Second text: {plots.QUANTITIES[s.kind][0]}, characters {start}-{stop - 1} of {T2}",
                              s.vrange, width_px=s.width_px), width="stretch", key="rnn_heat_2")
