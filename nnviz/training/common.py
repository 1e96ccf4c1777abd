"""What every training script shares: the loop, schedule and batching (from nnviz.loop, which the
in-app forecaster uses too), the run record saved next to the weights, saving, and `--check`
against the shipped file."""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from ..loop import fit, random_windows, warmup_cosine  # noqa: F401  (the scripts' one loop, re-exported)
from ..weights import HERE

WEIGHTS_DIR = HERE  # training writes where the app loads shipped files from


def next_char_loss(model: torch.nn.Module, win: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of predicting win[:, 1:] from win[:, :-1] (a (B, T+1) window of ids), in nats."""
    logits = model(win[:, :-1])  # (B, T, V)
    return F.cross_entropy(logits.flatten(0, 1), win[:, 1:].flatten())


def run_record(argv: list[str] | None = None, corpus: str | bytes | None = None) -> dict:
    """How this run was made: the command line, Python/torch/numpy versions and the corpus' sha256."""
    record = {
        "argv": " ".join(sys.argv[:1] + list(argv if argv is not None else sys.argv[1:])),
        "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
    }
    if corpus is not None:
        data = corpus.encode("utf-8") if isinstance(corpus, str) else corpus
        record["corpus_sha256"] = hashlib.sha256(data).hexdigest()
    return record


def save_weights(model: torch.nn.Module, path: Path, result: dict) -> None:
    """The state dict as safetensors, with the run's record (minus the loss curve) as metadata,
    so a shipped file says how it was made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    meta = {k: json.dumps(v) for k, v in result.items() if k != "losses"}
    save_file(sd, str(path), metadata=meta)


def same_tensors(made: Path, shipped: Path) -> list[str]:
    """Keys whose tensors differ (or exist in only one file) between a re-made and a shipped file."""
    a, b = load_file(str(made)), load_file(str(shipped))
    return sorted(k for k in set(a) | set(b) if k not in a or k not in b or not torch.equal(a[k], b[k]))


@contextlib.contextmanager
def output_dir(out: Path, check: bool):
    """Where a run writes its weights: `out`, or with `--check` a temporary folder (so the check
    never overwrites the shipped file)."""
    if not check:
        yield out
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def script_parser(doc: str, seed: int, verb: str = "train") -> argparse.ArgumentParser:
    """The options every training script shares (--seed, --out, --check); a script adds its own."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--seed", type=int, default=seed)
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    ap.add_argument("--check", action="store_true", help=f"{verb} into a temporary folder and compare with the shipped file")
    return ap


def report(result: dict, made_dir: Path, checking: bool, filename: str, hide: tuple[str, ...] = ("losses",)) -> bool:
    """Print a run's record (without the long entries in `hide`); with --check, say whether it
    reproduced the shipped `filename`. False only when a check failed."""
    print(json.dumps({k: v for k, v in result.items() if k not in hide}, indent=2))
    return not checking or check(filename, made_dir)


def check(filename: str, made_dir: Path, log=print) -> bool:
    """`--check`: did this run reproduce the shipped file's tensors exactly?"""
    diff = same_tensors(made_dir / filename, WEIGHTS_DIR / filename)
    log(f"{filename}: " + ("every tensor equals the shipped file" if not diff else f"differs from the shipped file in {diff}"))
    return not diff


def bits_per_char(model: torch.nn.Module, ids: np.ndarray, seq: int, batch: int = 64) -> float:
    """Mean -log2 P(next char) over `ids`, in chunks of `seq` predictions each starting afresh
    (zero state / empty context). `model(x)` maps (B, T) ids to (B, T, V) logits."""
    n = (len(ids) - 1) // seq * seq
    x = torch.from_numpy(ids[:n]).view(-1, seq)  # (N, seq)
    y = torch.from_numpy(ids[1 : n + 1]).view(-1, seq)
    total = 0.0
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            logits = model(x[i : i + batch])  # (b, seq, V)
            total += float(F.cross_entropy(logits.flatten(0, 1), y[i : i + batch].flatten(), reduction="sum"))
    return total / n / math.log(2)
