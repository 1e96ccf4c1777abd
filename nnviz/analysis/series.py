"""Evaluating a forecast: errors, the naive baselines, the scores a view shows, and x-axis labels
past the end. Numpy only."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def rmse(pred: np.ndarray, target: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(pred, np.float64) - np.asarray(target, np.float64)) ** 2)))


def naive_rmse(values, start: int) -> float:
    """RMSE of the last-value baseline (predict x_{t+1} = x_t) on targets values[start:]."""
    v = np.asarray(values, dtype=np.float64)
    return float(np.sqrt(np.mean((v[start:] - v[start - 1 : -1]) ** 2)))


def extend_index(index: list, steps: int) -> list:
    """`steps` more x-axis labels after `index`: whole numbers continue with the usual step,
    ISO dates with the median spacing (months and years stay on the calendar)."""
    if steps <= 0:
        return []
    if not index:
        return list(range(steps))
    last = index[-1]
    if isinstance(last, (int, np.integer, float, np.floating)):
        step = (index[-1] - index[0]) / (len(index) - 1) if len(index) > 1 else 1
        step = int(step) if float(step).is_integer() else step
        return [last + step * (k + 1) for k in range(steps)]
    d = np.array(index[-200:], dtype="datetime64[s]")
    gap = np.median(np.diff(d).astype(np.int64)) if len(d) > 1 else 86_400
    if 27 * 86_400 <= gap <= 32 * 86_400 or 360 * 86_400 <= gap <= 370 * 86_400:  # monthly or yearly
        months = 1 if gap < 40 * 86_400 else 12
        m = np.datetime64(str(last)[:7], "M")
        out = [m + months * (k + 1) for k in range(steps)]
        return [str(np.datetime64(o, "D")) for o in out]
    out = d[-1] + (np.arange(1, steps + 1) * gap).astype("timedelta64[s]")
    return [str(o).replace("T00:00:00", "").replace("T", " ") for o in out]


@dataclass
class ForecastScores:
    """A forecaster against the last-value baseline on the held-out part values[n_train:]."""

    held_out: int  # values after n_train
    one_step: float  # RMSE of the one-step-ahead predictions over the held-out part
    naive: float  # RMSE of "the next value is the last one" over the same targets
    steps: int  # backtest steps compared (capped by the held-out length)
    backtest: float  # RMSE of a forecast made at n_train without seeing the held-out values
    backtest_naive: float  # RMSE of repeating values[n_train - 1] for those steps


def forecast_scores(values, predictions, backtest, n_train: int) -> ForecastScores:
    """values (T,); predictions (T,) with predictions[t] the forecast of values[t+1]; backtest
    (N,) the forecast of values[n_train:n_train+N] made after reading values[:n_train]."""
    v = np.asarray(values, np.float64)
    held = v[n_train:]
    n = min(len(backtest), len(held))
    return ForecastScores(
        held_out=len(held),
        one_step=rmse(np.asarray(predictions)[n_train - 1 : -1], held),
        naive=naive_rmse(v, n_train),
        steps=n,
        backtest=rmse(np.asarray(backtest)[:n], held[:n]),
        backtest_naive=rmse(np.full(n, v[n_train - 1]), held[:n]),
    )
