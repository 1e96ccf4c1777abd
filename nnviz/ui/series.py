"""The time-series view of the RNN & LSTM explorer (pages/recurrent.py): where a series comes from
(a shipped series with its trained forecaster: sunspots, a stock price, Seattle's weather; or an
uploaded CSV with a small LSTM trained in the app and kept in the session), the cached forecasts,
the scores against baselines with the sentence they earn, and the view itself.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np
import streamlit as st

from .. import analysis, plots
from .. import forecast as fc
from ..inputs import InputError, read_series_csv, series_from_column
from . import (
    UPLOAD_NOT_IN_LINK,
    digest,
    get_trace,
    input_key,
    load_or_report,
    scene,
    weights_badge,
)
from .export import chart
from .recurrent import HERO_PX, notes_caption, quantities, quantity_picker

TRAIN_SECONDS = 20
TRAIN_STEPS = 300
Q = plots.QUANTITIES


@st.cache_data(show_spinner=False, max_entries=32)
def forecast(name: str, weights_key: str, input_key: str, steps: int, _model, _values: np.ndarray) -> np.ndarray:
    """(steps,) values after the end of `_values` (named by input_key), predictions fed back."""
    return _model.forecast(_values, steps)


def _fmt(x: float, d: int, unit: str = "") -> str:
    return f"{x:.{d}g}{unit}"


def forecast_metrics(values, predictions, backtest, n_train: int, steps: int, shipped: fc.ShippedSeries | None = None,
                     where=None) -> None:
    """The model against the naive last value (and the value a season earlier: the shipped series'
    calendar season, else one the training part shows), one step ahead and `steps` ahead
    (analysis.series.forecast_scores). Then, for a shipped series, the sentence its walk-forward
    numbers earn (analysis.series.verdict); for an upload, what analysis.series.explain_forecast
    says about it. Every number is shown with the digits that tell the compared ones apart."""
    where = where or st
    unit = shipped.unit if shipped else ""
    sc = analysis.series.forecast_scores(values, predictions, backtest, n_train,
                                         season=shipped.season if shipped else None)
    d = analysis.series.shown_digits(*(x for x in (sc.one_step, sc.naive, sc.seasonal_naive) if x is not None))
    db = analysis.series.shown_digits(sc.backtest, sc.backtest_naive)
    season = (shipped.season_name if shipped and shipped.season_name else
              f"{sc.season} {shipped.step if shipped else 'step'}s") if sc.season is not None else None
    row = where.container(horizontal=True, gap="large")  # wraps; fixed columns cut labels off at 1280 px
    row.metric("LSTM, one step ahead (RMSE)", _fmt(sc.one_step, d, unit), f"{sc.one_step - sc.naive:+.{d}g} vs naive",
               delta_color="inverse", help=f"Root-mean-square error over the {sc.held_out} held-out steps, "
                                           "each predicted after reading all earlier ones.", width="content")
    row.metric("Naive: repeat the last value", _fmt(sc.naive, d, unit), width="content")
    if sc.season is not None:
        row.metric(f"Seasonal naive: {season} ago", _fmt(sc.seasonal_naive, d, unit),
                   help=f"One step ahead: predict each value as the one {season} earlier.", width="content")
    capped = f" (the held-out part has only {sc.held_out} steps)" if sc.steps < steps else ""
    row.metric(f"LSTM, {sc.steps} steps ahead (RMSE)", _fmt(sc.backtest, db, unit),
               f"{sc.backtest - sc.backtest_naive:+.{db}g} vs naive", delta_color="inverse",
               help="Forecast made at the start of the held-out part, feeding its own predictions back." + capped,
               width="content")
    row.metric(f"Naive, {sc.steps} steps ahead", _fmt(sc.backtest_naive, db, unit), width="content")
    if shipped is not None:
        wf = analysis.series.walk_forward(values, predictions, n_train, sc.season)
        names = {"model": "LSTM", "naive": "naive", "seasonal_naive": "seasonal naive"}
        dm = analysis.series.shown_digits(*(x.mae for x in wf.scores.values()))
        where.info(analysis.series.verdict(values, n_train, wf, shipped.subject, shipped.next_value, unit,
                                           season_name=season))
        where.caption(f"Walk-forward over the {wf.held_out} held-out {shipped.step}s, one step ahead: mean absolute "
                      "error " + ", ".join(f"{names[k]} {_fmt(x.mae, dm, unit)}" for k, x in wf.scores.items()) + ".")
        return
    notes = analysis.series.explain_forecast(values, n_train, sc, fc.WINDOW)
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
    shipped: fc.ShippedSeries | None = None  # a series shipped with its own trained model


UPLOAD = "Upload a CSV"
SOURCES = [s.label for s in fc.SHIPPED.values()] + [UPLOAD]  # index 0, the radio's default: sunspots


@st.cache_data(show_spinner=False)
def _load(key: str) -> tuple[list, np.ndarray, int]:
    return fc.load_series(fc.SHIPPED[key])


def shipped_series(s: fc.ShippedSeries) -> SeriesInput | None:
    """A shipped series and the forecaster trained on its earlier part."""
    model = load_or_report(s.model, "default", "default")
    if model is None:
        return None
    weights_badge(model)
    index, values, n_train = _load(s.key)
    st.caption(f"{s.caption} The LSTM learned from {index[0]} to {index[n_train - 1]} ({n_train:,} {s.step}s); "
               f"the {len(values) - n_train:,} {s.step}s from {index[n_train]} to {index[-1]} are held out.")
    return SeriesInput(values, index, s.y_title, n_train, model, s.model, "default", s.horizon, s)


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


ZOOM_STEPS = 60  # a daily series' lag is visible over two months, not over thirteen years
RANGES = ["whole series", "held-out part", f"first {ZOOM_STEPS} held-out steps"]


def window(shown: str, n_train: int, n: int) -> tuple[int, int] | None:
    """The indices `series_figure` shows for a "Time shown" choice (None: everything)."""
    if shown == RANGES[1] and 0 < n_train < n:
        return n_train - 1, n - 1  # from the last value learned from
    if shown == RANGES[2] and 0 < n_train < n:
        return n_train - 1, min(n - 1, n_train + ZOOM_STEPS - 1)
    return None


def view(present: bool) -> None:
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium") if present else st
    src = scene(row.radio, "Series", SOURCES, horizontal=True, key="ts_src")
    shipped = next((s for s in fc.SHIPPED.values() if s.label == src), None)
    hero = st.container() if present else None  # presenting: the forecast under its controls, the data folded
    zoom_box = st.container(horizontal=True) if present else None  # presenting: the row is full; under the figure
    with st.expander("Data and model", expanded=shipped is None) if present else st.container():
        s = shipped_series(shipped) if shipped else uploaded_series()
    if s is None:
        return
    key = input_key("series", s.values)
    with st.spinner("Running the LSTM over the series..."):
        tr = get_trace(s.name, s.weights_key, key, s.model, s.values)
    a, b, c = (row, row, zoom_box) if present else st.columns([1, 1, 1])
    steps = scene(a.slider, "Forecast steps ahead", 1, 60, s.steps, key="ts_steps")
    kind = quantity_picker(b.selectbox, quantities(tr), "ts_kind", "States under the series")
    shown = scene(c.selectbox, "Time shown", RANGES, key="ts_range", width=260 if present else "stretch",
                  help="Zoomed in, a one-step forecast that only repeats the last value shows as a one-step lag "
                       "behind the series (yesterday's value is drawn dotted).")
    with st.spinner("Forecasting..."):
        future = forecast(s.name, s.weights_key, key, steps, s.model, s.values)
        past = s.values[: s.n_train]
        backtest = forecast(s.name, s.weights_key, input_key("series", past), steps, s.model, past)
    forecast_metrics(s.values, tr.output, backtest, s.n_train, steps, s.shipped)  # presenting: under the figure
    hero = hero or st.container()
    fig = plots.series_figure(s.index, s.values, tr.states(kind), kind, tr.output, s.n_train,
                              analysis.extend_index(s.index, steps), future, backtest,
                              f"{s.y_title}: forecast and the LSTM's {Q[kind][0]} underneath", s.y_title,
                              height=HERO_PX if present else None, window=window(shown, s.n_train, len(s.values)))
    chart(fig, width="stretch", key="ts_fig", where=hero)
    hero.caption("Top: the series, the one-step-ahead predictions on the held-out part (red), a forecast made at the "
                 "start of the held-out part without seeing it (green dashes) against the naive last value (grey "
                 "dots), and the forecast past the end (red dashes). Bottom: each row is one LSTM unit over time."
                 + (" Zoomed in, yesterday's value (grey dots) runs under the one-step predictions: where the red "
                    "line is the black one moved one step right, the model is repeating the last value."
                    if shown != RANGES[0] else ""))
