"""The time-series view of the RNN & LSTM explorer (pages/recurrent.py): where a series comes from
(the shipped sunspots model, or an uploaded CSV with a small LSTM trained in the app and kept in
the session), the cached forecasts, the scores against baselines, and the view itself.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np
import streamlit as st

from .. import analysis, plots
from .. import forecast as fc
from ..inputs import InputError, read_series_csv, series_from_column
from ..models import list_models
from . import UPLOAD_NOT_IN_LINK, digest, get_trace, input_key, load_or_report, scene, weights_badge
from .export import chart
from .recurrent import HERO_PX, notes_caption, quantities, quantity_picker

TRAIN_SECONDS = 20
TRAIN_STEPS = 300
Q = plots.QUANTITIES


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


def view(present: bool) -> None:
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium") if present else st
    src = scene(row.radio, "Series", ["Sunspots (shipped)", "Upload a CSV"], horizontal=True, key="ts_src")
    sunspots = src.startswith("Sunspots")
    hero = st.container() if present else None  # presenting: the forecast under its controls, the data folded
    with st.expander("Data and model", expanded=not sunspots) if present else st.container():
        s = shipped_series() if sunspots else uploaded_series()
    if s is None:
        return
    key = input_key("series", s.values)
    with st.spinner("Running the LSTM over the series..."):
        tr = get_trace(s.name, s.weights_key, key, s.model, s.values)
    a, b = (row, row) if present else st.columns([1, 1])
    steps = scene(a.slider, "Forecast steps ahead", 1, 60, s.steps, key="ts_steps")
    kind = quantity_picker(b.selectbox, quantities(tr), "ts_kind", "States under the series")
    with st.spinner("Forecasting..."):
        future = forecast(s.name, s.weights_key, key, steps, s.model, s.values)
        past = s.values[: s.n_train]
        backtest = forecast(s.name, s.weights_key, input_key("series", past), steps, s.model, past)
    forecast_metrics(s.values, tr.output, backtest, s.n_train, steps)  # presenting: under the figure
    hero = hero or st.container()
    fig = plots.series_figure(s.index, s.values, tr.states(kind), kind, tr.output, s.n_train,
                              analysis.extend_index(s.index, steps), future, backtest,
                              f"{s.y_title}: forecast and the LSTM's {Q[kind][0]} underneath", s.y_title,
                              height=HERO_PX if present else None)
    chart(fig, width="stretch", key="ts_fig", where=hero)
    hero.caption("Top: the series, the one-step-ahead predictions on the held-out part (red), a forecast made at the "
                 "start of the held-out part without seeing it (green dashes) against the naive last value (grey "
                 "dots), and the forecast past the end (red dashes). Bottom: each row is one LSTM unit over time.")
