"""The in-app forecaster: train a small LSTM on a series, seeded, within a time budget.

One loop for the app (an uploaded CSV, trained while the lecturer waits) and for
`nnviz/training/forecast.py` (the shipped sunspots model), so both are trained the same way.
The trained model is the hand-written, inspectable LSTM, ready for `nnviz.run`.
"""
from __future__ import annotations

import csv
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .analysis.series import naive_rmse, rmse
from .loop import fit, random_windows
from .models import get_spec
from .models.recurrent import SERIES_CONFIG, TORCH_CELLS, SeriesLSTM
from .types import WeightsInfo

SUNSPOTS_CSV = "samples/sunspots.csv"
SEED = 0
STEPS = 100  # chosen by `--validate` (train 1700-1899, validate 1900-1949): more steps overfit
TEST_START = 1950  # 1950-2008: 59 held-out years, about five solar cycles
WINDOW = 64  # training windows of 64 years (several 11-year cycles of context)
BATCH = 32
LR = 1e-2
REPO = Path(__file__).resolve().parents[1]


def load_sunspots(path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(years, values) from the shipped CSV (columns YEAR, SUNACTIVITY)."""
    with open(path or REPO / SUNSPOTS_CSV, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    years = np.array([int(r["YEAR"]) for r in rows])
    values = np.array([float(r["SUNACTIVITY"]) for r in rows], dtype=np.float32)
    return years, values


@dataclass(frozen=True)
class ShippedSeries:
    """A real series shipped in samples/ with a forecaster trained on its earlier part: where it
    comes from, how it is split, how its model was trained, and how the view names it."""

    key: str  # short name: the training script's --series and the view's lookup
    model: str  # registry name of its forecaster
    csv: str  # file under the repository root
    time_column: str  # a column of ISO dates or of years
    column: str  # the column forecast
    test_start: str | int  # the first held-out date (or year): everything before it trains the model
    label: str  # what the view's "Series" radio shows
    y_title: str  # the y axis, with its unit
    unit: str  # after a number in a sentence ("" for none)
    caption: str  # source and licence, one sentence
    next_value: str  # what the naive forecast repeats, in a sentence ("yesterday's price")
    subject: str  # the series in a sentence ("this stock")
    season: int | None = None  # a calendar season for the seasonal-naive baseline (None: detect one)
    season_name: str | None = None  # that season in words ("a year")
    step: str = "step"  # one step of the series in words ("trading day")
    steps: int = STEPS  # training steps (each chosen by `python -m nnviz.training.forecast --validate`)
    window: int = WINDOW  # training window length
    horizon: int = 20  # the view's default forecast length


SHIPPED = {s.key: s for s in (
    ShippedSeries(
        "sunspots", "sunspots_lstm", SUNSPOTS_CSV, "YEAR", "SUNACTIVITY", TEST_START, "Sunspots (yearly)",
        "sunspot number", "", "Yearly mean sunspot number 1700-2008 (SIDC / NOAA, public domain).",
        "last year's number", "the sunspot numbers", step="year", horizon=22,
    ),
    # Microsoft, not IBM or Apple: its held-out prices (2011-2013, 19-28 $) lie inside the range
    # it trained on (2000-2010, 12-37 $), so a model fed prices normalised on the training part is
    # not asked to extrapolate; IBM (102-181 $ held out, 41-109 $ trained) and Apple would lose
    # for that reason, which is a different lesson.
    ShippedSeries(
        "stock", "stock_lstm", "samples/stock_msft.csv", "date", "adj_close", "2011-01-01",
        "Microsoft stock price (daily)", "adjusted close (USD)", " USD",
        "Microsoft's daily closing price (MSFT, adjusted for splits and dividends), trading days "
        "2000-03-01 to 2013-03-01 (Quandl WIKI prices via bokeh-sampledata, public domain).",
        "yesterday's price", "this stock", step="trading day", steps=300, window=64, horizon=20,
    ),
    # Held out: all of 2015, so every season is tested once and the value a year earlier (2014)
    # exists for every held-out day.
    ShippedSeries(
        "weather", "weather_lstm", "samples/seattle_weather.csv", "date", "temp_max", "2015-01-01",
        "Seattle max temperature (daily)", "max temperature (°C)", " °C",
        "Daily maximum temperature at Seattle, 2012-2015 (NOAA via vega-datasets, public domain).",
        "yesterday's maximum", "Seattle's weather", season=365, season_name="a year", step="day", steps=300, window=64,
        horizon=14,
    ),
)}


def load_series(s: ShippedSeries, root: Path | None = None) -> tuple[list, np.ndarray, int]:
    """(index, values, n_train) of a shipped series: x-axis labels (ISO dates or years), the
    float32 values, and how many of them precede the held-out part."""
    with open((root or REPO) / s.csv, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    index = [r[s.time_column] for r in rows]
    if isinstance(s.test_start, int):
        index = [int(i) for i in index]
    values = np.array([float(r[s.column]) for r in rows], dtype=np.float32)
    n_train = int(np.searchsorted(np.array(index), s.test_start))  # ISO dates sort as text
    return index, values, n_train


def _to_step_loop(fast: SeriesLSTM, hidden: int, num_layers: int) -> SeriesLSTM:
    """Copy a model trained with PyTorch's fused LSTM into the hand-written, inspectable one."""
    model = SeriesLSTM(hidden, num_layers)
    model.load_state_dict(fast.state_dict(), strict=True)
    return model.eval()


def fit_series(
    values,
    n_train: int | None = None,
    steps: int = STEPS,
    seconds: float | None = None,
    seed: int = SEED,
    hidden: int = SERIES_CONFIG["hidden"],
    num_layers: int = SERIES_CONFIG["num_layers"],
    progress: Callable[[int, int, float], None] | None = None,
    window: int = WINDOW,
) -> tuple[SeriesLSTM, dict]:
    """Train a one-step-ahead LSTM on values[:n_train] (default: the first 80%) and test it on the
    rest. Stops after `steps` steps or `seconds` seconds, whichever comes first.

    progress(step, steps, batch_loss) is called every 10 steps (e.g. to move a progress bar).
    `window`: length of the training windows (the longest stretch of the past a gradient reaches).
    Returns the hand-written model (normalisation in its buffers) and a report with the test
    RMSE of the model and of the last-value baseline, both in the series' units.
    """
    v = np.asarray(values, dtype=np.float32).reshape(-1)
    n_train = int(len(v) * 0.8) if n_train is None else n_train
    if n_train < 8 or len(v) - n_train < 1:
        raise ValueError("need at least 8 training values and 1 test value")
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)

    fast = SeriesLSTM(hidden, num_layers)
    fast.rnn = TORCH_CELLS["lstm"](1, hidden, num_layers, batch_first=True)  # same names, fused and fast
    mean, std = float(v[:n_train].mean()), float(v[:n_train].std()) or 1.0  # training part only: no peeking
    fast.mean.fill_(mean)
    fast.std.fill_(std)
    train = fast.normalise(v[:n_train])[:, None]  # (n_train, 1)
    window = min(window, n_train - 1)
    opt = torch.optim.Adam(fast.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))

    def on_step(step: int, losses: list[float], _elapsed: float) -> None:
        if progress is not None and (step % 10 == 9 or step == steps - 1):
            progress(step + 1, steps, losses[-1])

    t0 = time.time()
    losses = fit(
        fast,
        lambda _: random_windows(train, BATCH, window + 1, g, last=True),  # (B, W+1, 1)
        lambda m, win: F.mse_loss(m(win[:, :-1]), win[:, 1:]),  # predict every next value in the window
        opt, steps, sched=sched, clip=1.0, seconds=seconds, on_step=on_step,
    )

    model = _to_step_loop(fast, hidden, num_layers)
    model.spec = IN_APP_SPEC
    model.weights_info = WeightsInfo(f"trained in the app on your series ({len(losses)} steps, seed {seed})", trained=True)
    pred = model.run(v).output  # (T,): pred[t] forecasts v[t+1]
    report = {
        "steps": len(losses), "seconds": round(time.time() - t0, 1), "seed": seed,
        "n_train": n_train, "n_test": int(len(v) - n_train), "mean": mean, "std": std,
        "train_rmse": round(rmse(pred[: n_train - 1], v[1:n_train]), 3),
        "test_rmse": round(rmse(pred[n_train - 1 : -1], v[n_train:]), 3),
        "naive_test_rmse": round(naive_rmse(v, n_train), 3),
        "first_loss": round(losses[0], 5), "last_loss": round(losses[-1], 5),
    }
    report["losses"] = losses
    return model, report


# A model trained in the app is a sunspots_lstm-shaped forecaster with the user's own weights.
IN_APP_SPEC = dataclasses.replace(
    get_spec("sunspots_lstm"), name="series_lstm", default_weights=None,
    description="LSTM (32 units) trained in the app on an uploaded series",
)
