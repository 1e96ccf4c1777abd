"""Train the LSTM forecaster on yearly sunspot numbers (samples/sunspots.csv), seeded.

    python -m nnviz.training.forecast [--steps 100] [--out nnviz/weights] [--check]
    python -m nnviz.training.forecast --validate   # how STEPS was chosen, test years untouched

The model predicts next year's number from the years read so far. Years up to TEST_START - 1
train it; the years from TEST_START on are only predicted (one step ahead, the model having read
every earlier year), and their RMSE is recorded next to the naive last-value baseline.

The loop itself is `nnviz.forecast.fit_series`, which the app also runs on an uploaded series.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from ..analysis.series import naive_rmse
from ..forecast import BATCH, LR, SEED, STEPS, SUNSPOTS_CSV, TEST_START, WINDOW, fit_series, load_sunspots
from ..models.recurrent import SERIES_CONFIG
from . import common

VALIDATE_START = 1900
VALIDATE_STEPS = (100, 200, 300, 400)

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


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", type=Path, default=common.WEIGHTS_DIR)
    ap.add_argument("--check", action="store_true", help="train into a temporary folder and compare with the shipped file")
    ap.add_argument("--validate", action="store_true", help="print the step-count validation table and exit")
    a = ap.parse_args(argv)
    if a.validate:
        return validate()
    with common.output_dir(a.out, a.check) as out:
        r = train(a.steps, a.seed, out, argv=argv)
        print(json.dumps({k: v for k, v in r.items() if k != "losses"}, indent=2))
        if a.check and not common.check("sunspots_lstm.safetensors", out):
            raise SystemExit(1)
    return r


if __name__ == "__main__":
    main()
