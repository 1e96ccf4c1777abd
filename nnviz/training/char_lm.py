"""Train the character-level LSTM and plain RNN on Python standard-library source, seeded.

    python -m nnviz.training.char_lm [--model lstm|rnn|both] [--steps 2000] [--out nnviz/weights] [--check]

Corpus: a fixed, sorted list of ~1 MB of stdlib modules (no tests, no site-packages) from
`sysconfig.get_paths()["stdlib"]`, and a disjoint list of modules held out for validation. Both
models see the same batches (same seed) so their bits per character compare fairly.

Training uses PyTorch's fused nn.LSTM / nn.RNN as `.rnn` (about 20x faster than the step loop);
the hand-written layers in nnviz.models.recurrent use the same parameter names, so the saved
state_dict loads into them strictly.
"""
from __future__ import annotations

import math
import sysconfig
import time
from pathlib import Path

import numpy as np
import torch

from ..models.recurrent import CHAR_CONFIG, TORCH_CELLS, VOCAB, CharLM, encode_text
from . import common

SEED = 0
STEPS = 2000
BATCH = 64
SEQ = 128  # characters per training window (backprop through 128 steps)
LR = 3e-3
EVAL_SEQ = 256  # evaluation chunks: each starts from a zero state
TRAIN_EVAL_CHARS = 200_000  # bits/char on the training text is measured on its first 200k chars

# Sorted and fixed: the corpus is the same on every machine with this Python (3.11 here).
TRAIN_FILES = (
    "argparse.py", "calendar.py", "collections/__init__.py", "configparser.py", "contextlib.py",
    "copy.py", "csv.py", "dataclasses.py", "enum.py", "fractions.py", "functools.py", "heapq.py",
    "json/__init__.py", "json/decoder.py", "json/encoder.py", "logging/__init__.py", "os.py",
    "pathlib.py", "pprint.py", "random.py", "shutil.py", "statistics.py", "string.py",
    "textwrap.py", "threading.py", "tokenize.py", "traceback.py", "warnings.py", "weakref.py",
)
VAL_FILES = ("abc.py", "bisect.py", "fnmatch.py", "getopt.py", "glob.py", "queue.py", "sched.py", "shlex.py", "tempfile.py")


def stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def read_corpus(files: tuple[str, ...]) -> str:
    """The files' text joined by a blank line; a missing file is an error (the corpus is fixed)."""
    root = stdlib_dir()
    texts = []
    for name in files:
        path = root / name
        if not path.is_file():
            raise FileNotFoundError(f"stdlib file {path} is missing; the corpus list assumes Python 3.11")
        texts.append(path.read_text(encoding="utf-8"))
    return "\n\n".join(texts)


def fast_twin(model: CharLM) -> CharLM:
    """`model` with its step-loop layer swapped for PyTorch's fused one (same parameter names)."""
    rnn = model.rnn
    model.rnn = TORCH_CELLS[model.cell](rnn.input_size, rnn.hidden_size, rnn.num_layers, batch_first=True)
    return model


def bits_per_char(model: CharLM, ids: np.ndarray, seq: int = EVAL_SEQ, batch: int = 64) -> float:
    """Mean -log2 P(next char) over `ids`, in chunks of `seq` predictions each from a zero state."""
    return common.bits_per_char(model, ids, seq, batch)


def train(cell: str = "lstm", steps: int = STEPS, seed: int = SEED, out: Path | None = None,
          batch: int = BATCH, seq: int = SEQ, eval_chars: int | None = None, log=print,
          argv: list[str] | None = None) -> dict:
    """Train one model; returns the recorded result (and saves <out>/char_<cell>.safetensors)."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    train_ids = encode_text(read_corpus(TRAIN_FILES), VOCAB).ids  # (N,)
    val_ids = encode_text(read_corpus(VAL_FILES), VOCAB).ids
    data = torch.from_numpy(train_ids)

    model = fast_twin(CharLM(cell, VOCAB, **CHAR_CONFIG))
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))

    def report(step: int, losses: list[float], elapsed: float) -> None:
        if step % 200 == 199 or step == steps - 1:
            log(f"{cell} step {step + 1}/{steps}: batch bits/char {np.mean(losses[-50:]) / math.log(2):.3f} ({elapsed:.0f} s)")

    t0 = time.time()
    losses = common.fit(model, lambda _: common.random_windows(data, batch, seq + 1, g),  # (B, seq+1)
                        common.next_char_loss, opt, steps, sched=sched, clip=1.0, on_step=report)
    losses = [x / math.log(2) for x in losses]  # bits per character
    seconds = time.time() - t0

    n_train = TRAIN_EVAL_CHARS if eval_chars is None else eval_chars
    n_val = len(val_ids) if eval_chars is None else eval_chars
    result = {
        "model": f"char_{cell}", "cell": cell, "seed": seed, "steps": steps, "batch": batch, "seq": seq,
        "lr": LR, **CHAR_CONFIG,
        "train_chars": len(train_ids), "val_chars": len(val_ids),
        "train_bpc": round(bits_per_char(model, train_ids[: n_train + 1]), 4),
        "val_bpc": round(bits_per_char(model, val_ids[: n_val + 1]), 4),
        "first_batch_bpc": round(losses[0], 4), "last_batch_bpc": round(losses[-1], 4),
        "seconds": round(seconds, 1), **common.run_record(argv, read_corpus(TRAIN_FILES)),
        "train_files": list(TRAIN_FILES), "val_files": list(VAL_FILES), "vocab": VOCAB,
        "command": f"python -m nnviz.training.char_lm --model {cell} --steps {steps} --seed {seed} --batch {batch} --seq {seq}",
    }
    log(f"{cell}: train {result['train_bpc']} bits/char, held-out {result['val_bpc']} bits/char, {seconds:.0f} s")
    result["losses"] = losses
    if out is not None:
        common.save_weights(model, out / f"char_{cell}.safetensors", result)
    return result


def main(argv: list[str] | None = None) -> list[dict]:
    ap = common.script_parser(__doc__, SEED)
    ap.add_argument("--model", choices=("lstm", "rnn", "both"), default="both")
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--batch", type=int, default=BATCH)
    ap.add_argument("--seq", type=int, default=SEQ)
    ap.add_argument("--eval-chars", type=int, default=None, help="evaluate on fewer characters (quick runs)")
    a = ap.parse_args(argv)
    results, ok = [], True
    with common.output_dir(a.out, a.check) as out:
        for cell in (("lstm", "rnn") if a.model == "both" else (a.model,)):
            r = train(cell, a.steps, a.seed, out, a.batch, a.seq, a.eval_chars, argv=argv)
            results.append(r)
            hide = ("losses", "train_files", "val_files", "vocab")
            ok = common.report(r, out, a.check, f"char_{cell}.safetensors", hide=hide) and ok
    if not ok:
        raise SystemExit(1)
    return results


if __name__ == "__main__":
    main()
