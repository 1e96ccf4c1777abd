"""Train LeNet-5 on scikit-learn's bundled handwritten digits (offline), seeded.

    python -m nnviz.training.lenet_digits [--epochs 40] [--out nnviz/weights] [--check]

Digits (8x8, 1,797 images) go through the same `digit_to_28` framing the app applies to user
input, so a drawn or uploaded digit looks to the model like its training data. A stratified
20% is held back for the test accuracy recorded in the weights' metadata.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..inputs import digit_to_28
from ..models.cnn import DIGITS_PRE, LeNet5
from . import common

SEED = 0
BATCH = 64


def digits_dataset(seed: int = SEED):
    """(x_train, y_train, x_test, y_test) as (N, 1, 28, 28) float tensors normalised as the app does."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    imgs = np.stack([digit_to_28(im / 16.0, scan=False) for im in d.images])  # already 8x8 scans  # (N, 28, 28) in [0, 1]
    x = (imgs[:, None] - DIGITS_PRE.mean[0]) / DIGITS_PRE.std[0]
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=0.2, random_state=seed, stratify=d.target)
    t = lambda a, dt: torch.tensor(np.asarray(a), dtype=dt)
    return t(xtr, torch.float32), t(ytr, torch.long), t(xte, torch.float32), t(yte, torch.long)


def augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random rotation, shear, independent x/y scale, shift and stroke thickness: the digits
    people draw on a canvas are narrower, thinner and more slanted than the 1990s scans."""
    b = x.shape[0]
    u = lambda *s: torch.rand(*s, generator=g) * 2 - 1
    ang = u(b) * (15 * np.pi / 180)
    shear = u(b) * 0.25
    sx, sy = 1 + u(b) * 0.25, 1 + u(b) * 0.15
    sh = u(b, 2) * 0.12
    cos, sin = torch.cos(ang), torch.sin(ang)
    # inverse map output -> input coordinates: rotation @ shear @ scale^-1
    theta = torch.stack([
        torch.stack([cos / sx, (cos * shear - sin) / sy, sh[:, 0]], 1),
        torch.stack([sin / sx, (sin * shear + cos) / sy, sh[:, 1]], 1),
    ], 1)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (B, 28, 28, 2)
    bg = -DIGITS_PRE.mean[0] / DIGITS_PRE.std[0]  # value of a black pixel after normalisation
    out = F.grid_sample(x - bg, grid, align_corners=False)  # background 0, ink > 0
    pick = torch.rand(b, generator=g)
    thick = F.max_pool2d(out, 3, stride=1, padding=1)  # dilate: a fatter pen
    thin = -F.max_pool2d(-out, 3, stride=1, padding=1)  # erode: a thinner pen
    out = torch.where((pick < 0.2)[:, None, None, None], thick, out)
    out = torch.where((pick > 0.85)[:, None, None, None], thin, out)
    return out + bg


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.inference_mode():
        return float((model(x).argmax(1) == y).float().mean())


def train(epochs: int = 40, seed: int = SEED, out: Path | None = None, log=print, argv: list[str] | None = None) -> dict:
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(seed)
    xtr, ytr, xte, yte = digits_dataset(seed)
    model = LeNet5()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))  # stepped once an epoch
    per_epoch = -(-len(xtr) // BATCH)
    perm = torch.empty(0, dtype=torch.long)

    def next_batch(step: int):
        nonlocal perm
        if step % per_epoch == 0:  # a new epoch: a new order of the training digits
            perm = torch.randperm(len(xtr), generator=g)
        idx = perm[step % per_epoch * BATCH : (step % per_epoch + 1) * BATCH]
        return augment(xtr[idx], g), ytr[idx]

    def end_of_epoch(step: int, losses: list[float], _elapsed: float) -> None:
        ep, i = divmod(step, per_epoch)
        if i == per_epoch - 1:
            sched.step()
            if ep % 10 == 9 or ep == epochs - 1:
                log(f"epoch {ep + 1}: loss {losses[-1]:.4f}, test accuracy {accuracy(model, xte, yte):.4f}")

    t0 = time.time()
    losses = common.fit(model, next_batch, lambda m, b: F.cross_entropy(m(b[0]), b[1]), opt, epochs * per_epoch,
                        clip=None, on_step=end_of_epoch)
    result = {
        "seed": seed, "epochs": epochs, "train_size": len(xtr), "test_size": len(xte),
        "test_accuracy": round(accuracy(model, xte, yte), 4), "seconds": round(time.time() - t0, 1),
        "final_loss": round(losses[-1], 4), **common.run_record(argv),
    }
    if out is not None:
        common.save_weights(model, out / "lenet5.safetensors", result)
    return result


def main(argv: list[str] | None = None) -> dict:
    ap = common.script_parser(__doc__, SEED)
    ap.add_argument("--epochs", type=int, default=40)
    a = ap.parse_args(argv)
    with common.output_dir(a.out, a.check) as out:
        r = train(a.epochs, a.seed, out, argv=argv)
        ok = common.report(r, out, a.check, "lenet5.safetensors", hide=())
    if not ok:
        raise SystemExit(1)
    return r


if __name__ == "__main__":
    main()
