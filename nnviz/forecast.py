"""The in-app forecaster: train a small LSTM on a series, seeded, within a time budget.

One loop for the app (an uploaded CSV, trained while the lecturer waits) and for
`nnviz/training/forecast.py` (the shipped sunspots model), so both are trained the same way.
The trained model is the hand-written, inspectable LSTM, ready for `nnviz.run`.
"""
from __future__ import annotations

import csv
import dataclasses
import time
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
    train = fast.normalise(v[:n_train])[:, None]  # (n_train, 1)
    window = min(WINDOW, n_train - 1)
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
