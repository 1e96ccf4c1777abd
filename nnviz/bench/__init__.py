"""nnviz's benchmark against its peers: `python -m nnviz.bench [--json OUT] [--browser]`.

Every figure is a ratio or a count measured side by side in one run: nnviz and the tool a
lecturer or researcher would use instead (captum, Hugging Face transformers, torch's fused
nn.LSTM, bertviz) do the same work, their calls interleaved (A B A B ..., so drift and other
processes on these shared CPUs hit both alike), and the figure is the ratio of the medians.
Absolute times on a busy 2-core machine are noise; the ratios are what to compare.

The JSON holds one entry per figure, `{"name": {"value": v, "target": "<= 1.1", "ok": true}}`
(plus a short "note"), so comparing two commits is one diff. A peer that is not installed is
reported with value None, ok None and note "absent: ...", never a crash.

Modules: `peers` (the races), `appbench` (AppTest reruns, cold start in Chromium), `own`
(the older self-benchmarks, `--own`).
"""
from __future__ import annotations

import math
import operator
import statistics
import time
from typing import Callable

import numpy as np

_OPS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq, "<": operator.lt, ">": operator.gt}


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 1, calls: int = 1) -> dict[str, float]:
    """Median seconds per call of each candidate, called in turn A B C A B C ... so that load
    from other processes lands on all of them alike. calls: calls timed together per sample
    (sub-millisecond work: one call alone would time the clock's jitter)."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(warmup):
        for f in fns.values():
            f()
    for _ in range(repeats):
        for k, f in fns.items():
            t = time.perf_counter()
            for _ in range(calls):
                f()
            times[k].append((time.perf_counter() - t) / calls)
    return {k: statistics.median(v) for k, v in times.items()}


def parse_target(target: str | None) -> tuple[Callable[[float, float], bool], float] | None:
    """'<= 1.1' -> (operator.le, 1.1); None -> None (a figure reported for information)."""
    if target is None:
        return None
    op, num = target.split()
    return _OPS[op], float(num)


def figure(value: float | int | None, target: str | None, note: str = "") -> dict:
    """One JSON entry. ok is None when there is no value (peer absent) or no target."""
    parsed = parse_target(target)
    if value is None or parsed is None or (isinstance(value, float) and math.isnan(value)):
        ok = None
    else:
        op, num = parsed
        ok = bool(op(value, num))
    if isinstance(value, (float, np.floating)):
        value = round(float(value), 4)
    return {"value": value, "target": target, "ok": ok, "note": note}


def absent(what: str, target: str | None = None) -> dict:
    return figure(None, target, f"absent: {what}")


def fit_exponent(sizes, seconds) -> float:
    """Slope of log(time) against log(size): time ~ size^k. 1 = linear, 2 = quadratic."""
    k, _ = np.polyfit(np.log(np.asarray(sizes, float)), np.log(np.asarray(seconds, float)), 1)
    return float(k)


def run(quick: bool = False, browser: bool = False, apptest: bool = True, progress=print) -> dict[str, dict]:
    """Every figure. quick: tiny sizes and few repeats (the test of the machinery)."""
    from . import appbench, peers

    results: dict[str, dict] = {}
    sections = [peers.capture_race, peers.attention_race, peers.recurrent_race, peers.browser_bytes, peers.growth]
    if apptest:
        sections += [appbench.reruns]
    if browser:
        sections += [appbench.cold_start, appbench.view_changes]
    for section in sections:
        t = time.perf_counter()
        try:
            got = section(quick=quick)
        except Exception as e:  # one broken section (a page being edited, say) must not sink the rest
            got = {section.__name__: figure(None, None, f"error: {type(e).__name__}: {e}"[:300])}
        results.update(got)
        progress(f"# {section.__name__}: {len(got)} figures in {time.perf_counter() - t:.0f} s")
    return results


def table(results: dict[str, dict]) -> str:
    """The figures as a Markdown table (what BENCHMARKS.md shows)."""
    rows = ["| figure | value | target | ok | note |", "|---|---:|---|---|---|"]
    for name, f in results.items():
        v = f["value"]
        shown = "—" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v))
        ok = {True: "yes", False: "**no**", None: ""}[f["ok"]]
        rows.append(f"| {name} | {shown} | {f['target'] or ''} | {ok} | {f.get('note', '')} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    import argparse
    import json

    import torch

    ap = argparse.ArgumentParser(prog="python -m nnviz.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", metavar="OUT", help="write the figures as JSON to OUT")
    ap.add_argument("--browser", action="store_true", help="also time a cold start in headless Chromium")
    ap.add_argument("--no-apptest", action="store_true", help="skip the AppTest page reruns")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, few repeats (checks the machinery)")
    # 1 by default: with other processes on the two cores, a 2-thread op waits for a descheduled
    # sibling thread and single timings swing 10x, which no interleaving evens out. On a quiet
    # machine, --threads 2 measures the app's own setting.
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1; the app uses 2)")
    ap.add_argument("--own", action="store_true", help="run the older self-benchmark (nnviz.bench.own) instead")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from ..memory import keep_freed_memory

    keep_freed_memory()  # what the app's server does (nnviz.ui.app_started): measure that process
    if args.own:
        from . import own

        own.main()
        return
    results = run(quick=args.quick, browser=args.browser, apptest=not args.no_apptest)
    print(table(results))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)
