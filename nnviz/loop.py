"""The one training loop, its learning-rate schedule and its batching: used by the training scripts
(nnviz/training) and by the in-app forecaster (nnviz/forecast.py).

The loop's order of operations (batch, loss, zero_grad, backward, clip, step, scheduler) is the
one every shipped file was trained with; changing it changes the weights (`--check` would say so).
"""
from __future__ import annotations

import math
import time
from typing import Callable

import torch


def fit(
    model: torch.nn.Module,
    next_batch: Callable[[int], object],
    loss_fn: Callable[[torch.nn.Module, object], torch.Tensor],
    opt: torch.optim.Optimizer,
    steps: int,
    *,
    lr_at: Callable[[int], float] | None = None,
    sched=None,
    clip: float | None = 1.0,
    seconds: float | None = None,
    on_step: Callable[[int, list[float], float], None] | None = None,
) -> list[float]:
    """The one training loop. Each step: set the learning rate (`lr_at(step)`, if given), take
    `next_batch(step)`, compute `loss_fn(model, batch)`, backpropagate, clip the gradient norm to
    `clip` (None: no clipping; it keeps a plain RNN's occasional exploding gradient from wrecking a
    step), update, step `sched` (if given), then `on_step(step, losses, elapsed)`. Stops after
    `steps` steps or once `seconds` have passed. Returns the loss of every step."""
    losses: list[float] = []
    t0 = time.time()
    for step in range(steps):
        model.train()  # on_step may have evaluated the model
        if lr_at is not None:
            for group in opt.param_groups:
                group["lr"] = lr_at(step)
        loss = loss_fn(model, next_batch(step))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if sched is not None:
            sched.step()
        losses.append(loss.item())
        if on_step is not None:
            on_step(step, losses, time.time() - t0)
        if seconds is not None and time.time() - t0 > seconds:
            break
    return losses


def warmup_cosine(step: int, steps: int, lr: float, min_lr: float, warmup: int) -> float:
    """Linear warmup over min(warmup, steps // 10) steps, then cosine decay to min_lr (nanoGPT's)."""
    warm = min(warmup, max(1, steps // 10))
    if step < warm:
        return lr * (step + 1) / warm
    t = (step - warm) / max(1, steps - warm)
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * t))


def random_windows(data: torch.Tensor, batch: int, length: int, g: torch.Generator, last: bool = False) -> torch.Tensor:
    """(batch, length, ...) windows of `data` at random starts: inputs are [:, :-1], targets [:, 1:].
    `last`: a window may end at the very end of `data` (the character models' scripts never let it,
    and their shipped weights depend on that draw, so it stays their default)."""
    starts = torch.randint(0, len(data) - length + int(last), (batch,), generator=g)
    return torch.stack([data[s : s + length] for s in starts.tolist()])
