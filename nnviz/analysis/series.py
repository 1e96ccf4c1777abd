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
    days = d.astype("datetime64[D]")
    if gap == 86_400 and len(d) >= 20 and (days == d).all() and np.is_busday(days).all():
        # daily dates with no Saturday or Sunday among them (trading days): continue on weekdays
        out = np.busday_offset(days[-1], np.arange(1, steps + 1), roll="forward")
        return [str(o) for o in out]
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
    season: int | None = None  # the training part's dominant period (season_length), if any
    seasonal_naive: float | None = None  # RMSE of "the value one season ago" on the held-out part


def forecast_scores(values, predictions, backtest, n_train: int, season: int | None = None) -> ForecastScores:
    """values (T,); predictions (T,) with predictions[t] the forecast of values[t+1]; backtest
    (N,) the forecast of values[n_train:n_train+N] made after reading values[:n_train].
    `season`: a known (calendar) season for the seasonal-naive baseline; None looks for one in
    the training part (season_length)."""
    v = np.asarray(values, np.float64)
    held = v[n_train:]
    n = min(len(backtest), len(held))
    m = season_length(v[:n_train]) if season is None else season
    return ForecastScores(
        held_out=len(held),
        one_step=rmse(np.asarray(predictions)[n_train - 1 : -1], held),
        naive=naive_rmse(v, n_train),
        steps=n,
        backtest=rmse(np.asarray(backtest)[:n], held[:n]),
        backtest_naive=rmse(np.full(n, v[n_train - 1]), held[:n]),
        season=m,
        seasonal_naive=None if m is None else seasonal_naive_rmse(v, n_train, m),
    )


def autocorrelation(x: np.ndarray, max_lag: int) -> np.ndarray:
    """(max_lag + 1,) sample autocorrelation of x at lags 0..max_lag (1.0 at lag 0; 0 for a constant)."""
    x = np.asarray(x, np.float64) - np.mean(x)
    denom = float(x @ x)
    if denom == 0:
        return np.r_[1.0, np.zeros(max_lag)]
    return np.array([1.0] + [float(x[:-k] @ x[k:]) / denom for k in range(1, max_lag + 1)])


SEASON_MIN_R = 0.3  # autocorrelation a repeating pattern needs before a view calls it a season


def season_length(values, max_lag: int | None = None) -> int | None:
    """The dominant period of a series, or None: the lag (2 or more) of the highest local peak of
    the autocorrelation of its changes, if that peak reaches SEASON_MIN_R. Changes, not levels:
    a trend or a random walk correlates with itself at every lag without repeating anything."""
    d = np.diff(np.asarray(values, np.float64))
    max_lag = min(max_lag or 400, len(d) // 3)
    if max_lag < 3:
        return None
    r = autocorrelation(d, max_lag)
    peaks = [k for k in range(2, max_lag) if r[k] >= r[k - 1] and r[k] >= r[k + 1] and r[k] >= SEASON_MIN_R]
    return max(peaks, key=lambda k: r[k]) if peaks else None


def seasonal_naive_rmse(values, start: int, m: int) -> float:
    """RMSE of the seasonal-naive baseline (predict x_t = x_{t-m}) on targets values[start:]."""
    v = np.asarray(values, dtype=np.float64)
    return float(np.sqrt(np.mean((v[start:] - v[start - m : len(v) - m]) ** 2)))


def explain_forecast(values, n_train: int, sc: ForecastScores, window: int) -> list[str]:
    """Sentences about why the model does as well as it does, computed from this series: a
    random walk (changes that do not depend on the past), a season, a season longer than the
    model's training windows, or a model that beats both baselines."""
    v = np.asarray(values, np.float64)[:n_train]
    r1 = float(autocorrelation(np.diff(v), 1)[1]) if len(v) > 3 else 0.0
    out = []
    if sc.season is not None:
        out.append(f"The series repeats about every {sc.season} steps (its changes correlate at lag {sc.season}). "
                   f"Repeating the value from {sc.season} steps earlier scores {sc.seasonal_naive:.3g}.")
        if sc.season >= window:
            out.append(f"The LSTM learned from windows of {window} steps, shorter than that season, so it "
                       "cannot have learned the repeat.")
    elif abs(r1) < 0.1:
        out.append(f"The changes from one step to the next hardly depend on the previous change (lag-1 "
                   f"autocorrelation {r1:+.2f}): like a random walk, the best guess is about where it was, "
                   "which is what the naive forecast says.")
    best_baseline = min(sc.naive, sc.seasonal_naive if sc.seasonal_naive is not None else np.inf)
    if sc.one_step < best_baseline:
        out.append(f"The LSTM beats {'both baselines' if sc.season is not None else 'the naive forecast'} one step "
                   f"ahead ({sc.one_step:.3g} vs {best_baseline:.3g}): it found structure in the past values.")
    return out


# --- walk-forward evaluation of a shipped forecaster, and the sentence it earns -------------------

@dataclass
class Score:
    rmse: float
    mae: float


@dataclass
class WalkForward:
    """One-step-ahead errors over the held-out part values[n_train:]: each held-out value is
    predicted from everything before it (the model having read values[:t], the baselines looking
    back one step or one season), never from the value itself or anything later."""

    held_out: int  # number of held-out values scored
    scores: dict[str, Score]  # "model", "naive" (the last value), "seasonal_naive" (a season earlier; if given)
    season: int | None = None

    @property
    def baselines(self) -> dict[str, Score]:
        return {k: v for k, v in self.scores.items() if k != "model"}

    @property
    def best_baseline(self) -> str:
        return min(self.baselines, key=lambda k: self.baselines[k].rmse)


def _score(pred: np.ndarray, target: np.ndarray) -> Score:
    err = np.asarray(pred, np.float64) - np.asarray(target, np.float64)
    return Score(float(np.sqrt(np.mean(err**2))), float(np.mean(np.abs(err))))


def walk_forward(values, predictions, n_train: int, season: int | None = None) -> WalkForward:
    """Score a one-step-ahead forecaster and its baselines on values[n_train:].

    predictions (T,): predictions[t] is the model's forecast of values[t+1] made after reading
    values[0..t] (a recurrent model run once over the whole series gives exactly this: its output
    at t depends on values[0..t] only, as if it re-read the series up to t for every forecast).
    Baselines: the last value (x_t = x_{t-1}) and, with `season` m, the value a season earlier
    (x_t = x_{t-m}; needs n_train >= m so every held-out value has one)."""
    v = np.asarray(values, np.float64)
    p = np.asarray(predictions, np.float64)
    if not 1 <= n_train < len(v) or len(p) != len(v):
        raise ValueError("need 1 <= n_train < len(values) and one prediction per value")
    held = v[n_train:]
    scores = {"model": _score(p[n_train - 1 : -1], held), "naive": _score(v[n_train - 1 : -1], held)}
    if season is not None:
        if not 1 <= season <= n_train:
            raise ValueError(f"a season of {season} steps needs at least {season} values before the held-out part")
        scores["seasonal_naive"] = _score(v[n_train - season : len(v) - season], held)
    return WalkForward(len(held), scores, season)


def shown_digits(*numbers: float, least: int = 3, most: int = 6) -> int:
    """Significant digits that tell `numbers` apart on screen (at least `least`): two different
    errors must not look equal next to a sentence saying one is smaller."""
    for d in range(least, most + 1):
        shown = [f"{x:.{d}g}" for x in numbers]
        if all(shown[i] != shown[j] for i in range(len(shown)) for j in range(i) if numbers[i] != numbers[j]):
            return d
    return most


RANDOM_WALK_R = 0.1  # |lag-1 autocorrelation of the changes| below which the changes look unpredictable


def verdict(values, n_train: int, wf: WalkForward, subject: str, next_value: str, unit: str = "",
            season_name: str | None = None) -> str:
    """Plain sentences about this evaluation, every claim computed from its numbers: whether the
    model beats each baseline (RMSE, one step ahead, on the held-out part), and why, as far as the
    training part's own statistics say (a random walk's changes do not depend on the last change;
    a season earlier versus one step earlier)."""
    sc = wf.scores
    d = shown_digits(*(s.rmse for s in sc.values()))
    f = {k: f"{s.rmse:.{d}g}{unit}" for k, s in sc.items()}
    season = f"the value {season_name or f'{wf.season} steps'} earlier"
    model, naive = sc["model"].rmse, sc["naive"].rmse
    seasonal = sc["seasonal_naive"].rmse if "seasonal_naive" in sc else None
    beats_naive = model < naive
    if beats_naive and (seasonal is None or model < seasonal):
        out = [f"On {subject} the LSTM beats repeating {next_value}"
               + (f" and {season}" if seasonal is not None else "")
               + f" one step ahead (RMSE {f['model']} vs {f['naive']}"
               + (f" and {f['seasonal_naive']}" if seasonal is not None else "")
               + "): it found structure in the past values that the baselines miss."]
    elif beats_naive:
        out = [(f"On {subject} the LSTM beats repeating {next_value} (RMSE {f['model']} vs {f['naive']}) but not "
                f"{season} ({f['seasonal_naive']}).")]
    else:
        out = [f"On {subject} the LSTM does not beat repeating {next_value} (RMSE {f['model']} vs {f['naive']})."]
        v = np.asarray(values, np.float64)[:n_train]
        r1 = float(autocorrelation(np.diff(v), 1)[1]) if len(v) > 3 else 0.0
        if abs(r1) < RANDOM_WALK_R:
            out.append(f"Its changes from one step to the next hardly depend on the previous change (lag-1 "
                       f"autocorrelation {r1:+.2f}): it moves like a random walk, so the best guess for the next "
                       f"value is the last one. That is the lesson: no model can learn what the past does not hold.")
    if seasonal is not None:
        if seasonal == naive:
            out.append(f"Repeating {season} scores the same as repeating {next_value} ({f['naive']}).")
        else:
            better = seasonal < naive
            out.append(f"Repeating {season} scores {f['seasonal_naive']}, {'better' if better else 'worse'} than "
                       f"repeating {next_value} ({f['naive']})"
                       + (": one season back says more about the next value than one step back." if better else
                          ": one step back says more about the next value than one season back."))
    return " ".join(out)
