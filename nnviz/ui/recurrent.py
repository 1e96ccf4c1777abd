"""Streamlit pieces of the RNN & LSTM explorer (pages/recurrent.py).

Cached model calls that are not a run (sampling, gradients, forecasts; the run itself is
ui.get_trace), the quantity picker, and where a series comes from: the shipped sunspots model or
an uploaded CSV with a model trained in the app (kept in the session).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np
import streamlit as st

from .. import analysis, plots
from .. import forecast as fc
from ..inputs import InputError, read_series_csv, series_from_column
from ..models import get_spec, list_models
from . import (
    UPLOAD_NOT_IN_LINK,
    clamp_state,
    digest,
    load_or_report,
    scene,
    weights_badge,
)
from .export import chart, html

TRAIN_SECONDS = 20
TRAIN_STEPS = 300
COLOURS = {"LSTM": plots.recurrent.LSTM_COLOUR, "RNN": plots.recurrent.RNN_COLOUR}
# Chart widths on a 1280 px screen (what character labels are thinned for): the main area with
# the sidebar open, and in presentation mode (sidebar closed).
MAIN_PX, PRESENT_PX = 790, 1110


def text_models() -> dict[str, str]:
    """The registry's character models by cell type: {"LSTM": "char_lstm", "RNN": "char_rnn"}."""
    return {get_spec(n).config["cell"].upper(): n for n in list_models("recurrent", input_kind="text")}


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


# --- cached model calls that are not a run --------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=64)
def sample_text(name: str, prompt: str, length: int, temperature: float, seed: int, _model) -> str:
    return _model.sample(prompt, length, temperature, seed)


@st.cache_data(show_spinner=False, max_entries=16)
def gradients(name: str, text: str, _model) -> tuple[np.ndarray, list[str]]:
    """(T,) gradient norms of the last prediction w.r.t. each character, and the characters read."""
    return _model.gradient_norms(text), _model.encode(text).chars


@st.cache_data(show_spinner=False, max_entries=32)
def forecast(name: str, weights_key: str, input_key: str, steps: int, _model, _values: np.ndarray) -> np.ndarray:
    """(steps,) values after the end of `_values` (named by input_key), predictions fed back."""
    return _model.forecast(_values, steps)


def forecast_metrics(values, predictions, backtest, n_train: int, steps: int) -> None:
    """The model against the naive last value (and the seasonal-naive value when the series has a
    season), one step ahead and `steps` ahead (analysis.series.forecast_scores), then what
    analysis.series.explain_forecast says about this series."""
    sc = analysis.series.forecast_scores(values, predictions, backtest, n_train)
    notes = analysis.series.explain_forecast(values, n_train, sc, fc.WINDOW)
    row = st.container(horizontal=True, gap="large")  # wraps; fixed columns cut labels off at 1280 px
    row.metric("LSTM, one step ahead (RMSE)", f"{sc.one_step:.3g}", f"{sc.one_step - sc.naive:+.3g} vs naive",
               delta_color="inverse", help=f"Root-mean-square error over the {sc.held_out} held-out steps, "
                                           "each predicted after reading all earlier ones.", width="content")
    row.metric("Naive: repeat the last value", f"{sc.naive:.3g}", width="content")
    capped = f" (the held-out part has only {sc.held_out} steps)" if sc.steps < steps else ""
    row.metric(f"LSTM, {sc.steps} steps ahead (RMSE)", f"{sc.backtest:.3g}",
               f"{sc.backtest - sc.backtest_naive:+.3g} vs naive", delta_color="inverse",
               help="Forecast made at the start of the held-out part, feeding its own predictions back." + capped,
               width="content")
    row.metric(f"Naive, {sc.steps} steps ahead", f"{sc.backtest_naive:.3g}", width="content")
    if sc.season is not None:
        row.metric(f"Seasonal naive: {sc.season} steps ago", f"{sc.seasonal_naive:.3g}",
                   help="One step ahead: predict each value as the one a season earlier.", width="content")
    if notes:
        (st.info if sc.one_step >= sc.naive else st.caption)(" ".join(notes))


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


# --- where a series comes from ------------------------------------------------------------------------

@dataclass
class SeriesInput:
    values: np.ndarray  # (T,) float32
    index: list  # x-axis label of each value
    y_title: str
    n_train: int  # the model learned from values[:n_train]; the rest is held out
    model: object
    name: str  # registry name, for get_trace
    weights_key: str  # names the weights for the caches ("default", or one fit in the app)
    steps: int  # default forecast length


def shipped_series() -> SeriesInput | None:
    """The registry's series model on the shipped sunspots."""
    name = list_models("recurrent", input_kind="series")[0]
    model = load_or_report(name, "default", "default")
    if model is None:
        return None
    weights_badge(model)
    years, values = fc.load_sunspots()
    st.caption("Yearly mean sunspot number 1700-2008 (SIDC / NOAA, public domain). The LSTM learned from "
               f"1700-{fc.TEST_START - 1}; the years from {fc.TEST_START} on are held out.")
    return SeriesInput(values, [int(y) for y in years], "sunspot number", int(np.searchsorted(years, fc.TEST_START)),
                       model, name, "default", 22)


def uploaded_series() -> SeriesInput | None:
    """Upload -> column -> clean series -> a small LSTM trained in the app (kept in the session),
    or None after a message."""
    up = st.file_uploader("CSV file (a column of numbers, optionally dates; ',' or ';' separated)",
                          type=["csv", "txt", "tsv"], key="ts_upload")
    st.caption(UPLOAD_NOT_IN_LINK)
    if up is None:
        st.info("Upload a CSV, for example a stock's daily prices exported from a finance site. "
                "nnviz trains a small LSTM on its first 80% and tests it on the rest.")
        return None
    data = up.getvalue()
    try:
        table = read_series_csv(data, up.name)
        cols = table.value_columns
        default = table.default_column()
        column = scene(st.selectbox, "Column to forecast", cols, index=cols.index(default) if default in cols else 0,
                       key="ts_col")
        series = series_from_column(table, column)
    except InputError as e:
        st.error(str(e))
        return None
    notes_caption(series.notes)
    st.caption(f"{len(series.values):,} values of {column!r}"
               + (f", time axis {series.index_name!r}" if series.index_name != "row" else "") + ".")
    fit = _fitted(series, column, f"{digest(data)}:{column}")
    if fit is None:
        return None
    model, report, weights_key = fit
    st.success(f"Trained in the app: {report['steps']} steps in {report['seconds']} s on the first {report['n_train']} "
               f"values (seed {report['seed']}); loss {report['first_loss']:.3f} → {report['last_loss']:.3f}.")
    return SeriesInput(series.values, series.index, column, report["n_train"], model, model.spec.name, weights_key, 20)


def _fitted(series, column: str, fit_key: str):
    """(model, report, weights_key) of this series' model trained in the app, or None while the
    train button waits (the raw series is shown meanwhile)."""
    fits = st.session_state.setdefault("ts_fits", {})
    if fit_key not in fits:
        chart(plots.series_figure(series.index, series.values, title=f"{column} (not modelled yet)",
                                  y_title=column), width="stretch", key="ts_raw")
        # A callback, not the button's return value: it survives a rerun that happens before this line.
        st.button(f"Train a small LSTM on {column!r} (at most {TRAIN_SECONDS} s)", type="primary", key="ts_train",
                  on_click=lambda k=fit_key: st.session_state.update(ts_train_request=k))
        if st.session_state.get("ts_train_request") != fit_key:
            return None
        st.session_state.ts_train_request = None
        bar = st.progress(0.0, text="Training...")
        model, report = fc.fit_series(
            series.values, steps=TRAIN_STEPS, seconds=TRAIN_SECONDS,
            progress=lambda k, n, loss: bar.progress(k / n, text=f"Training: step {k}/{n}, loss {loss:.3f}"),
        )
        bar.empty()
        fits[fit_key] = (model, report, f"fit:{fit_key}:{uuid.uuid4().hex[:8]}")  # a new fit: new cache entries
        st.rerun()
    return fits[fit_key]
