"""Does the server's memory stay flat while a class keeps giving it new inputs?

`python -m nnviz.bench.memory [--warmup 60] [--inputs 500]` runs the server's code path in one
process (the malloc settings of `nnviz.memory`, the app's trace cache with its bounds, the
default models): LeNet-5 on random 28x28 images, MiniLM on 12-word texts with every tenth ~400
words, the char LSTM on 2,000 random characters, in turn, every input new. It prints the resident
memory after the warm-up and every quarter of the inputs (BENCHMARKS_load.md; target: < +10 %).
"""
from __future__ import annotations

import argparse
import io

import numpy as np

WORDS = ("the cat sat on a warm mat while bank river money water light dark story film good bad "
         "and it was not very").split()


def _inputs(rng: np.random.Generator):
    """An endless stream of (model name, new input), the three models in turn."""
    from PIL import Image

    i = 0
    while True:
        kind = i % 3
        if kind == 0:
            buf = io.BytesIO()
            Image.fromarray((rng.random((28, 28)) * 255).astype(np.uint8)).save(buf, "PNG")
            yield "lenet5", buf.getvalue()
        elif kind == 1:
            yield "minilm", " ".join(rng.choice(WORDS, 400 if (i // 3) % 10 == 0 else 12))
        else:
            yield "char_lstm", "".join(rng.choice(list("abcdef ghij(){}:=\n"), 2000))
        i += 1


def run(warmup: int = 60, inputs: int = 500, seed: int = 0, report=print) -> list[tuple[int, float]]:
    """[(new inputs after the warm-up, RSS in MiB)], starting with (0, RSS after the warm-up)."""
    import psutil
    import torch

    from .. import runner
    from ..memory import keep_freed_memory
    from ..models import load_model

    keep_freed_memory()  # what the app's server does (nnviz.ui.app_started)
    torch.set_num_threads(2)
    cache = runner.TraceCache(max_bytes=640 * 2**20, max_entries=32)  # nnviz.ui.TRACES' bounds
    models = {n: load_model(n) for n in ("lenet5", "minilm", "char_lstm")}
    stream, proc, rows = _inputs(np.random.default_rng(seed)), psutil.Process(), []
    for i in range(warmup + inputs):
        name, raw = next(stream)
        cache.get((name, i), lambda: runner.run(models[name], raw))
        done = i + 1 - warmup
        if done == 0 or (done > 0 and (done % max(1, inputs // 4) == 0 or done == inputs)):
            rss = proc.memory_info().rss / 2**20
            rows.append((done, rss))
            change = f" ({(rss / rows[0][1] - 1) * 100:+.1f} %)" if done else ""
            report(f"{'after the warm-up' if not done else f'+{done} new inputs'}: RSS {rss:,.0f} MiB{change}, "
                   f"trace cache {cache.nbytes / 2**20:,.0f} MiB")
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m nnviz.bench.memory", description=__doc__.split("\n\n")[0])
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--inputs", type=int, default=500)
    a = ap.parse_args(argv)
    run(a.warmup, a.inputs)


if __name__ == "__main__":
    main()
