"""Train the LSTM forecasters on the shipped series (sunspots, a stock, Seattle's weather), seeded.

    python -m nnviz.training.forecast [--series sunspots|stock|weather|all] [--steps N] [--out nnviz/weights] [--check]
    python -m nnviz.training.forecast --validate [--series ...]   # how the step counts were chosen, test part untouched

Each series is described by `nnviz.forecast.SHIPPED` (file, column, first held-out date, steps,
window). The sunspots run (the default) is the original script, unchanged, so `--check` still
reproduces sunspots_lstm.safetensors.

Each model predicts the next value from the values read so far. The part before the first held-out
date (sunspots: TEST_START) trains it; the held-out part is only predicted (one step ahead, the
model having read every earlier value), and its RMSE is recorded next to the naive last-value
baseline (and, for the stock and the weather, their walk-forward RMSE and MAE next to every
baseline's: `nnviz.analysis.series.walk_forward`). `--steps` overrides every chosen series' count.

The loop itself is `nnviz.forecast.fit_series`, which the app also runs on an uploaded series.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from ..analysis.series import naive_rmse, walk_forward
from ..forecast import (
    BATCH,
    LR,
    REPO,
    SEED,
    SHIPPED,
    STEPS,
    SUNSPOTS_CSV,
    TEST_START,
    WINDOW,
    fit_series,
    load_series,
    load_sunspots,
)
from ..models.recurrent import SERIES_CONFIG
from . import common

VALIDATE_START = 1900
VALIDATE_STEPS = (100, 200, 300, 400)
DAILY_VALIDATE_STEPS = (100, 300, 600, 1000)

def train(steps: int = STEPS, seed: int = SEED, out: Path | None = None, log=print, argv: list[str] | None = None) -> dict:
    torch.set_num_threads(1)
    years, values = load_sunspots()
    n_train = int(np.searchsorted(years, TEST_START))
    model, rep = fit_series(values, n_train, steps=steps, seed=seed)
    result = {
        "model": "sunspots_lstm", "data": SUNSPOTS_CSV, "train_years": f"{years[0]}-{years[n_train - 1]}",
        "test_years": f"{years[n_train]}-{years[-1]}", **SERIES_CONFIG, "window": WINDOW, "batch": BATCH,
        "lr": LR, **{k: v for k, v in rep.items() if k != "losses"}, **common.run_record(argv),
        "command": f"python -m nnviz.training.forecast --steps {steps} --seed {seed}",
    }
    log(f"sunspots: test RMSE {result['test_rmse']} vs last-value baseline {result['naive_test_rmse']} "
        f"({result['test_years']}), {result['seconds']} s")
    if out is not None:
        common.save_weights(model, out / "sunspots_lstm.safetensors", result)
    result["losses"] = rep["losses"]
    return result


def validate(seeds: tuple[int, ...] = (0, 1, 2), log=print) -> dict[int, list[float]]:
    """Choose the number of steps without touching the test years: train on the years before
    VALIDATE_START, score one-step RMSE on VALIDATE_START..TEST_START-1."""
    torch.set_num_threads(1)
    years, values = load_sunspots()
    v = values[: int(np.searchsorted(years, TEST_START))]
    n_fit = int(np.searchsorted(years, VALIDATE_START))
    table = {}
    for steps in VALIDATE_STEPS:
        table[steps] = [fit_series(v, n_fit, steps=steps, seed=s)[1]["test_rmse"] for s in seeds]
        log(f"{steps} steps: validation RMSE {table[steps]} (mean {np.mean(table[steps]):.2f}); "
            f"last-value baseline {naive_rmse(v, n_fit):.2f}")
    return table


def train_shipped(key: str, steps: int | None = None, seed: int = SEED, out: Path | None = None, log=print,
                  argv: list[str] | None = None) -> dict:
    """Train the forecaster of SHIPPED[key] on its part before `test_start`; record its walk-forward
    scores on the held-out part (one step ahead, having read everything before) next to the
    baselines', in the file's metadata."""
    torch.set_num_threads(1)
    s = SHIPPED[key]
    steps = s.steps if steps is None else steps
    index, values, n_train = load_series(s)
    model, rep = fit_series(values, n_train, steps=steps, seed=seed, window=s.window)
    wf = walk_forward(values, model.run(values).output, n_train, s.season)
    scores = {f"{name}_test_{k}": round(getattr(sc, k), 4) for name, sc in wf.scores.items() for k in ("rmse", "mae")}
    result = {
        "model": s.model, "data": s.csv, "column": s.column,
        "data_sha256": hashlib.sha256((REPO / s.csv).read_bytes()).hexdigest(),
        "train_dates": f"{index[0]}..{index[n_train - 1]}", "test_dates": f"{index[n_train]}..{index[-1]}",
        **SERIES_CONFIG, "window": s.window, "batch": BATCH, "lr": LR, "season": s.season,
        **{k: v for k, v in rep.items() if k != "losses"}, **scores, **common.run_record(argv),
        "command": f"python -m nnviz.training.forecast --series {key} --steps {steps} --seed {seed}",
    }
    base = ", ".join(f"{n} {result[f'{n}_test_rmse']}" for n in wf.scores if n != "model")
    log(f"{key}: held-out RMSE {result['model_test_rmse']} vs {base} ({result['test_dates']}), {result['seconds']} s")
    if out is not None:
        common.save_weights(model, out / f"{s.model}.safetensors", result)
    result["losses"] = rep["losses"]
    return result


def validate_shipped(key: str, seeds: tuple[int, ...] = (0, 1, 2), log=print) -> dict[int, list[float]]:
    """Choose the number of steps without touching the held-out part: train on the training part
    minus its last year, score one-step RMSE on that year."""
    torch.set_num_threads(1)
    s = SHIPPED[key]
    index, values, n_train = load_series(s)
    v = values[:n_train]
    n_fit = int(np.searchsorted(np.array(index[:n_train]), str(int(str(s.test_start)[:4]) - 1)))
    table = {}
    for steps in DAILY_VALIDATE_STEPS:
        table[steps] = [fit_series(v, n_fit, steps=steps, seed=k, window=s.window)[1]["test_rmse"] for k in seeds]
        log(f"{key}, {steps} steps: validation RMSE {table[steps]} (mean {np.mean(table[steps]):.3f}); "
            f"last-value baseline {naive_rmse(v, n_fit):.3f}")
    return table


def main(argv: list[str] | None = None) -> dict:
    ap = common.script_parser(__doc__, SEED)
    ap.add_argument("--series", choices=[*SHIPPED, "all"], default="sunspots")
    ap.add_argument("--steps", type=int, default=None, help="default: the series' own (sunspots: 100)")
    ap.add_argument("--validate", action="store_true", help="print the step-count validation table and exit")
    a = ap.parse_args(argv)
    keys = list(SHIPPED) if a.series == "all" else [a.series]
    if a.validate:
        return {k: validate() if k == "sunspots" else validate_shipped(k) for k in keys}
    ok = True
    with common.output_dir(a.out, a.check) as out:
        for key in keys:
            if key == "sunspots":
                r = train(STEPS if a.steps is None else a.steps, a.seed, out, argv=argv)
            else:
                r = train_shipped(key, a.steps, a.seed, out, argv=argv)
            ok = common.report(r, out, a.check, f"{SHIPPED[key].model}.safetensors") and ok
    if not ok:
        raise SystemExit(1)
    return r


if __name__ == "__main__":
    main()
