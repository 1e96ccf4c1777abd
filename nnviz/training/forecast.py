"""Train the LSTM forecaster on yearly sunspot numbers (samples/sunspots.csv), seeded.

    python -m nnviz.training.forecast [--steps 100] [--out nnviz/weights]
    python -m nnviz.training.forecast --validate   # how STEPS was chosen, test years untouched

The model predicts next year's number from the years read so far. Years up to TEST_START - 1
train it; the years from TEST_START on are only predicted (one step ahead, the model having read
every earlier year), and their RMSE is recorded next to the naive last-value baseline.

`fit_series` is the same loop for any series, with a time budget and a progress callback, for
training a small model in the app on an uploaded series.
"""
from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..models.recurrent import (
    SERIES_CONFIG,
    SUNSPOTS_CSV,
    TORCH_CELLS,
    SeriesLSTM,
    naive_rmse,
)
from . import common

SEED = 0
STEPS = 100  # chosen by `--validate` (train 1700-1899, validate 1900-1949): more steps overfit
VALIDATE_START = 1900
VALIDATE_STEPS = (100, 200, 300, 400)
TEST_START = 1950  # 1950-2008: 59 held-out years, about five solar cycles
WINDOW = 64  # training windows of 64 years (several 11-year cycles of context)
BATCH = 32
LR = 1e-2
REPO = Path(__file__).resolve().parents[2]


def load_sunspots(path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(years, values) from the shipped CSV (columns YEAR, SUNACTIVITY)."""
    with open(path or REPO / SUNSPOTS_CSV, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    years = np.array([int(r["YEAR"]) for r in rows])
    values = np.array([float(r["SUNACTIVITY"]) for r in rows], dtype=np.float32)
    return years, values


def rmse(pred: np.ndarray, target: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(pred, np.float64) - np.asarray(target, np.float64)) ** 2)))


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
) -> tuple[SeriesLSTM, dict]:
    """Train a one-step-ahead LSTM on values[:n_train] (default: the first 80%) and test it on the
    rest. Stops after `steps` steps or `seconds` seconds, whichever comes first.

    progress(step, steps, batch_loss) is called every 10 steps (e.g. to move a progress bar).
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
    train = fast.normalise(v[:n_train])  # (n_train,)
    window = min(WINDOW, n_train - 1)
    opt = torch.optim.Adam(fast.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))
    t0 = time.time()
    losses = []
    fast.train()
    for step in range(steps):
        starts = torch.randint(0, n_train - window, (BATCH,), generator=g)
        win = torch.stack([train[s : s + window + 1] for s in starts.tolist()])[..., None]  # (B, W+1, 1)
        loss = F.mse_loss(fast(win[:, :-1]), win[:, 1:])  # predict every next value in the window
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(fast.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if progress is not None and (step % 10 == 9 or step == steps - 1):
            progress(step + 1, steps, losses[-1])
        if seconds is not None and time.time() - t0 > seconds:
            break

    model = _to_step_loop(fast, hidden, num_layers)
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


def train(steps: int = STEPS, seed: int = SEED, out: Path | None = None, log=print) -> dict:
    torch.set_num_threads(1)
    years, values = load_sunspots()
    n_train = int(np.searchsorted(years, TEST_START))
    model, rep = fit_series(values, n_train, steps=steps, seed=seed)
    result = {
        "model": "sunspots_lstm", "data": SUNSPOTS_CSV, "train_years": f"{years[0]}-{years[n_train - 1]}",
        "test_years": f"{years[n_train]}-{years[-1]}", **SERIES_CONFIG, "window": WINDOW, "batch": BATCH,
        "lr": LR, **{k: v for k, v in rep.items() if k != "losses"}, "torch": torch.__version__,
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
    ap.add_argument("--validate", action="store_true", help="print the step-count validation table and exit")
    a = ap.parse_args(argv)
    if a.validate:
        return validate()
    r = train(a.steps, a.seed, a.out)
    print(json.dumps({k: v for k, v in r.items() if k != "losses"}, indent=2))
    return r


if __name__ == "__main__":
    main()
