"""Train the character-level GPT (`char_gpt`) on the char LSTM's corpus, seeded.

    python -m nnviz.training.transformer_lm [--steps 700] [--lr 4e-3] [--seed 0] [--out nnviz/weights]

Same corpus, vocabulary and held-out files as `nnviz.training.char_lm` (imported from there, so
the two models' bits per character compare fairly). The GPT sees at most 128 characters of
context, so bits/char is measured on 128-character chunks, each predicted from its own start.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..models.charvocab import VOCAB, encode_text
from ..models.gpt import CharGPT, GPTConfig
from . import common
from .char_lm import TRAIN_FILES, VAL_FILES, read_corpus

SEED = 0
STEPS = 700
BATCH = 32
LR = 4e-3
WARMUP = 100
DROPOUT = 0.0  # dropout costs ~20% of a CPU step (bernoulli) and 2 epochs barely overfit
TRAIN_EVAL_CHARS = 200_000  # as char_lm: bits/char on the training text uses its first 200k chars


def bits_per_char(model: CharGPT, ids: np.ndarray, batch: int = 64) -> float:
    """Mean -log2 P(next char) over `ids`, in block_size chunks each starting from an empty context."""
    return common.bits_per_char(model, ids, model.config.block_size, batch)


def lr_at(step: int, steps: int, lr: float = LR) -> float:
    """Linear warmup, then cosine decay to lr / 10 (nanoGPT's schedule)."""
    warm = min(WARMUP, max(1, steps // 10))
    if step < warm:
        return lr * (step + 1) / warm
    t = (step - warm) / max(1, steps - warm)
    return lr / 10 + 0.5 * (lr - lr / 10) * (1 + math.cos(math.pi * t))


def train(steps: int = STEPS, seed: int = SEED, out: Path | None = None, batch: int = BATCH,
          lr: float = LR, eval_chars: int | None = None, log=print) -> dict:
    """Train char_gpt; returns the recorded result (and saves <out>/char_gpt.safetensors)."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    train_ids = encode_text(read_corpus(TRAIN_FILES), VOCAB).ids  # (N,)
    val_ids = encode_text(read_corpus(VAL_FILES), VOCAB).ids
    data = torch.from_numpy(train_ids)

    cfg = GPTConfig()
    model = CharGPT(replace(cfg, dropout=DROPOUT))
    seq = cfg.block_size
    # AdamW with weight decay on matrices only (nanoGPT): biases, LayerNorm gains are not shrunk.
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.99))
    losses = []
    t0 = time.time()
    model.train()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, steps, lr)
        starts = torch.randint(0, len(data) - seq - 1, (batch,), generator=g)
        win = torch.stack([data[s : s + seq + 1] for s in starts.tolist()])  # (B, seq+1)
        logits = model(win[:, :-1])  # (B, seq, V)
        loss = F.cross_entropy(logits.flatten(0, 1), win[:, 1:].flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item() / math.log(2))
        if step % 100 == 99 or step == steps - 1:
            log(f"char_gpt step {step + 1}/{steps}: batch bits/char {np.mean(losses[-50:]):.3f} ({time.time() - t0:.0f} s)")
    seconds = time.time() - t0

    n_train = TRAIN_EVAL_CHARS if eval_chars is None else eval_chars
    n_val = len(val_ids) if eval_chars is None else eval_chars
    n_params = sum(p.numel() for p in model.parameters())
    result = {
        "model": "char_gpt", "seed": seed, "steps": steps, "batch": batch, "seq": seq, "lr": lr,
        "dropout": DROPOUT, "config": asdict(cfg), "parameters": n_params,
        "train_chars": len(train_ids), "val_chars": len(val_ids),
        "train_bpc": round(bits_per_char(model, train_ids[: n_train + 1]), 4),
        "val_bpc": round(bits_per_char(model, val_ids[: n_val + 1]), 4),
        "first_batch_bpc": round(losses[0], 4), "last_batch_bpc": round(losses[-1], 4),
        "seconds": round(seconds, 1), "torch": torch.__version__,
        "train_files": list(TRAIN_FILES), "val_files": list(VAL_FILES),
        "command": f"python -m nnviz.training.transformer_lm --steps {steps} --seed {seed} --batch {batch} --lr {lr}",
    }
    log(f"char_gpt: train {result['train_bpc']} bits/char, held-out {result['val_bpc']} bits/char, {seconds:.0f} s")
    result["losses"] = losses
    if out is not None:
        common.save_weights(model, out / "char_gpt.safetensors", result)
    return result


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--batch", type=int, default=BATCH)
    ap.add_argument("--lr", type=float, default=LR)
    ap.add_argument("--eval-chars", type=int, default=None, help="evaluate on fewer characters (quick runs)")
    ap.add_argument("--out", type=Path, default=common.WEIGHTS_DIR)
    a = ap.parse_args(argv)
    r = train(a.steps, a.seed, a.out, a.batch, a.lr, a.eval_chars)
    print(json.dumps({k: v for k, v in r.items() if k not in ("losses", "train_files", "val_files")}, indent=2))
    return r


if __name__ == "__main__":
    main()
