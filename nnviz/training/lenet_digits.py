"""Train LeNet-5 on scikit-learn's bundled handwritten digits (offline), seeded.

    python -m nnviz.training.lenet_digits [--epochs 40] [--out nnviz/weights]

Digits (8x8, 1,797 images) go through the same `digit_to_28` framing the app applies to user
input, so a drawn or uploaded digit looks to the model like its training data. A stratified
20% is held back for the test accuracy recorded in the weights' metadata.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from ..inputs import digit_to_28
from ..models.cnn import DIGITS_PRE, LeNet5

SEED = 0


def digits_dataset(seed: int = SEED):
    """(x_train, y_train, x_test, y_test) as (N, 1, 28, 28) float tensors normalised as the app does."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    imgs = np.stack([digit_to_28(im / 16.0) for im in d.images])  # (N, 28, 28) in [0, 1]
    x = (imgs[:, None] - DIGITS_PRE.mean[0]) / DIGITS_PRE.std[0]
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=0.2, random_state=seed, stratify=d.target)
    t = lambda a, dt: torch.tensor(np.asarray(a), dtype=dt)  # noqa: E731
    return t(xtr, torch.float32), t(ytr, torch.long), t(xte, torch.float32), t(yte, torch.long)


def augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Small random rotations, scalings and shifts, like a hand drawing a digit again."""
    b = x.shape[0]
    ang = (torch.rand(b, generator=g) - 0.5) * (2 * 12 * np.pi / 180)
    sc = 1 + (torch.rand(b, generator=g) - 0.5) * 0.2
    sh = (torch.rand(b, 2, generator=g) - 0.5) * 0.2
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos, -sin, sh[:, 0]], 1), torch.stack([sin, cos, sh[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (B, 28, 28, 2)
    bg = -DIGITS_PRE.mean[0] / DIGITS_PRE.std[0]  # value of a black pixel after normalisation
    return F.grid_sample(x - bg, grid, align_corners=False) + bg


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.inference_mode():
        return float((model(x).argmax(1) == y).float().mean())


def train(epochs: int = 40, seed: int = SEED, out: Path | None = None, log=print) -> dict:
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(seed)
    xtr, ytr, xte, yte = digits_dataset(seed)
    model = LeNet5()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(xtr), 64):
            idx = perm[i : i + 64]
            loss = F.cross_entropy(model(augment(xtr[idx], g)), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        if ep % 10 == 9 or ep == epochs - 1:
            log(f"epoch {ep + 1}: loss {loss.item():.4f}, test accuracy {accuracy(model, xte, yte):.4f}")
    result = {
        "seed": seed, "epochs": epochs, "train_size": len(xtr), "test_size": len(xte),
        "test_accuracy": round(accuracy(model, xte, yte), 4), "seconds": round(time.time() - t0, 1),
        "final_loss": round(loss.item(), 4),
    }
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        sd = {k: v.contiguous() for k, v in model.state_dict().items()}
        save_file(sd, str(out / "lenet5.safetensors"), metadata={k: json.dumps(v) for k, v in result.items()})
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "weights")
    a = ap.parse_args()
    print(json.dumps(train(a.epochs, a.seed, a.out), indent=2))


if __name__ == "__main__":
    main()
