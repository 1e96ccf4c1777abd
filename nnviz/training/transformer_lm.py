"""Train the character-level GPT (`char_gpt`) on the char LSTM's corpus, seeded.

    python -m nnviz.training.transformer_lm [--steps 700] [--lr 4e-3] [--seed 0] [--out nnviz/weights]

Same corpus, vocabulary and held-out files as `nnviz.training.char_lm` (imported from there, so
the two models' bits per character compare fairly). The GPT sees at most 128 characters of
context, so bits/char is measured on 128-character chunks, each predicted from its own start.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

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
    return common.warmup_cosine(step, steps, lr, lr / 10, WARMUP)


def train(steps: int = STEPS, seed: int = SEED, out: Path | None = None, batch: int = BATCH,
          lr: float = LR, eval_chars: int | None = None, log=print, argv: list[str] | None = None) -> dict:
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

    def report(step: int, losses: list[float], elapsed: float) -> None:
        if step % 100 == 99 or step == steps - 1:
            log(f"char_gpt step {step + 1}/{steps}: batch bits/char {np.mean(losses[-50:]) / math.log(2):.3f} ({elapsed:.0f} s)")

    t0 = time.time()
    losses = common.fit(model, lambda _: common.random_windows(data, batch, seq + 1, g),  # (B, seq+1)
                        common.next_char_loss, opt, steps, lr_at=lambda step: lr_at(step, steps, lr), clip=1.0,
                        on_step=report)
    losses = [x / math.log(2) for x in losses]  # bits per character
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
        "seconds": round(seconds, 1), **common.run_record(argv, read_corpus(TRAIN_FILES)),
        "train_files": list(TRAIN_FILES), "val_files": list(VAL_FILES),
        "command": f"python -m nnviz.training.transformer_lm --steps {steps} --seed {seed} --batch {batch} --lr {lr}",
    }
    log(f"char_gpt: train {result['train_bpc']} bits/char, held-out {result['val_bpc']} bits/char, {seconds:.0f} s")
    result["losses"] = losses
    if out is not None:
        common.save_weights(model, out / "char_gpt.safetensors", result)
    return result


def main(argv: list[str] | None = None) -> dict:
    ap = common.script_parser(__doc__, SEED)
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--batch", type=int, default=BATCH)
    ap.add_argument("--lr", type=float, default=LR)
    ap.add_argument("--eval-chars", type=int, default=None, help="evaluate on fewer characters (quick runs)")
    a = ap.parse_args(argv)
    with common.output_dir(a.out, a.check) as out:
        r = train(a.steps, a.seed, out, a.batch, a.lr, a.eval_chars, argv=argv)
        ok = common.report(r, out, a.check, "char_gpt.safetensors", hide=("losses", "train_files", "val_files"))
    if not ok:
        raise SystemExit(1)
    return r


if __name__ == "__main__":
    main()
