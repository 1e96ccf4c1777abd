"""Train the date translator (`date_translator`): written dates -> ISO 8601, seeded.

    python -m nnviz.training.translation [--steps 3000] [--seed 0] [--out nnviz/weights]

The data is synthetic and generated on the fly by a seeded generator: a random date between
1900-01-01 and 2099-12-31 written in one of FORMATS ("march 3rd, 1999", "3 mar 1999",
"wednesday, march 3, 1999", "mar 3 99", "1999/3/3", ...), target "1999-03-03".
Two-digit years mean 1950-2049, so those formats only draw dates in that range.

Held out: every date whose ordinal (days since 0001-01-01) is divisible by 10 never appears in
training; exact-match accuracy is measured on HELDOUT_N of those, in all formats.
"""
from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F

from ..models.seq2seq import (
    SRC_PAD,
    SRC_VOCAB,
    TGT_BOS,
    TGT_EOS,
    TGT_PAD,
    TGT_VOCAB,
    DateTranslator,
    Seq2SeqConfig,
)
from . import common

SEED = 0
STEPS = 3000
BATCH = 64
LR = 2e-3
MIN_LR = 1e-4
WARMUP = 100
HELDOUT_N = 2000
HELDOUT_SEED = 12345

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
MONTH_ABBR = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
FIRST, LAST = dt.date(1900, 1, 1).toordinal(), dt.date(2099, 12, 31).toordinal()
FIRST_YY, LAST_YY = dt.date(1950, 1, 1).toordinal(), dt.date(2049, 12, 31).toordinal()


def ordinal_suffix(d: int) -> str:
    if 11 <= d % 100 <= 13:
        return f"{d}th"
    return f"{d}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(d % 10, 'th') }"


def _fields(x: dt.date) -> dict:
    return {
        "d": x.day, "dd": f"{x.day:02d}", "dth": ordinal_suffix(x.day), "m": x.month, "mm": f"{x.month:02d}",
        "month": MONTHS[x.month - 1], "mon": MONTH_ABBR[x.month - 1], "y": x.year, "yy": f"{x.year % 100:02d}",
        "weekday": WEEKDAYS[x.weekday()], "wd": WEEKDAYS[x.weekday()][:3],
    }


# (template, uses a two-digit year)
FORMATS: tuple[tuple[str, bool], ...] = (
    ("{month} {d}, {y}", False),
    ("{month} {dth}, {y}", False),
    ("{d} {month} {y}", False),
    ("{dth} of {month} {y}", False),
    ("the {dth} of {month}, {y}", False),
    ("{mon} {d}, {y}", False),
    ("{mon}. {d}, {y}", False),
    ("{d} {mon} {y}", False),
    ("{mon} {d} {yy}", True),
    ("{dd}-{mon}-{yy}", True),
    ("{d} {month} '{yy}", True),
    ("{weekday}, {month} {d}, {y}", False),
    ("{wd} {d} {mon} {y}", False),
    ("{y}/{m}/{d}", False),
    ("{y}.{mm}.{dd}", False),
    ("{y}-{m}-{d}", False),
)


def is_heldout(x: dt.date) -> bool:
    return x.toordinal() % 10 == 0


def sample(rng: random.Random, heldout: bool = False) -> tuple[str, str]:
    """One (written date, ISO date) pair from the training dates, or from the held-out ones."""
    fmt, two_digit = FORMATS[rng.randrange(len(FORMATS))]
    lo, hi = (FIRST_YY, LAST_YY) if two_digit else (FIRST, LAST)
    while True:
        x = dt.date.fromordinal(rng.randint(lo, hi))
        if is_heldout(x) == heldout:
            return fmt.format(**_fields(x)), x.isoformat()


def heldout_set(n: int = HELDOUT_N, seed: int = HELDOUT_SEED) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [sample(rng, heldout=True) for _ in range(n)]


SRC_INDEX = {c: i for i, c in enumerate(SRC_VOCAB)}
TGT_INDEX = {c: i for i, c in enumerate(TGT_VOCAB)}


def batch_tensors(pairs: list[tuple[str, str]], cfg: Seq2SeqConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """src (B, S) padded with SRC_PAD; decoder input <s> + iso (B, 11); target iso + </s> (B, 11)."""
    S = max(len(s) for s, _ in pairs)
    assert S <= cfg.max_src, S
    src = torch.full((len(pairs), S), SRC_PAD, dtype=torch.long)
    tgt = torch.full((len(pairs), 12), TGT_PAD, dtype=torch.long)
    for b, (s, iso) in enumerate(pairs):
        src[b, : len(s)] = torch.tensor([SRC_INDEX[c] for c in s])
        tgt[b] = torch.tensor([TGT_BOS] + [TGT_INDEX[c] for c in iso] + [TGT_EOS])
    return src, tgt[:, :-1], tgt[:, 1:]


@torch.inference_mode()
def exact_match(model: DateTranslator, pairs: list[tuple[str, str]], batch: int = 500) -> float:
    """Fraction of pairs whose greedy output (batched, 11 steps) is exactly the ISO date + </s>."""
    model.eval()
    right = 0
    for i in range(0, len(pairs), batch):
        chunk = pairs[i : i + batch]
        src, _, tgt_out = batch_tensors(chunk, model.config)
        memory, src_mask, _ = model.encode(src)
        out = torch.full((len(chunk), 1), TGT_BOS, dtype=torch.long)
        for _ in range(tgt_out.size(1)):
            logits = model.decode(out, memory, src_mask)[0]  # (B, t, V)
            out = torch.cat([out, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
        right += int((out[:, 1:] == tgt_out).all(dim=1).sum())
    return right / len(pairs)


def lr_at(step: int, steps: int) -> float:
    return common.warmup_cosine(step, steps, LR, MIN_LR, WARMUP)


def train(steps: int = STEPS, seed: int = SEED, out: Path | None = None, batch: int = BATCH,
          heldout_n: int = HELDOUT_N, log=print, argv: list[str] | None = None) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    cfg = Seq2SeqConfig()
    model = DateTranslator(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    heldout = heldout_set(heldout_n)

    def loss_fn(m: DateTranslator, b) -> torch.Tensor:
        src, tgt_in, tgt_out = b
        logits = m(src, tgt_in)  # (B, 11, V_tgt)
        return F.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=TGT_PAD)

    def report(step: int, losses: list[float], elapsed: float) -> None:
        if step % 250 == 249 or step == steps - 1:
            log(f"date_translator step {step + 1}/{steps}: loss {sum(losses[-50:]) / len(losses[-50:]):.4f} ({elapsed:.0f} s)")

    t0 = time.time()
    losses = common.fit(model, lambda _: batch_tensors([sample(rng) for _ in range(batch)], cfg), loss_fn, opt, steps,
                        lr_at=lambda step: lr_at(step, steps), clip=1.0, on_step=report)
    seconds = time.time() - t0
    rng_check = random.Random(seed + 1)  # fresh draws from the training dates, for comparison
    train_check = [sample(rng_check) for _ in range(heldout_n)]
    result = {
        "model": "date_translator", "seed": seed, "steps": steps, "batch": batch, "lr": LR,
        "config": asdict(cfg), "parameters": sum(p.numel() for p in model.parameters()),
        "heldout_exact_match": round(exact_match(model, heldout), 4),
        "train_dates_exact_match": round(exact_match(model, train_check), 4),
        "heldout_n": heldout_n, "heldout_seed": HELDOUT_SEED, "formats": [f for f, _ in FORMATS],
        "first_loss": round(losses[0], 4), "last_loss": round(losses[-1], 4),
        "seconds": round(seconds, 1), **common.run_record(argv),
        "command": f"python -m nnviz.training.translation --steps {steps} --seed {seed} --batch {batch}",
    }
    log(f"date_translator: held-out exact match {result['heldout_exact_match']:.4f} "
        f"(training dates {result['train_dates_exact_match']:.4f}), {seconds:.0f} s")
    result["losses"] = losses
    if out is not None:
        common.save_weights(model, out / "date_translator.safetensors", result)
    return result


def main(argv: list[str] | None = None) -> dict:
    ap = common.script_parser(__doc__, SEED)
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--batch", type=int, default=BATCH)
    ap.add_argument("--heldout-n", type=int, default=HELDOUT_N, help="held-out pairs to score (fewer: quicker)")
    a = ap.parse_args(argv)
    with common.output_dir(a.out, a.check) as out:
        r = train(a.steps, a.seed, out, a.batch, a.heldout_n, argv=argv)
        ok = common.report(r, out, a.check, "date_translator.safetensors", hide=("losses", "formats"))
    if not ok:
        raise SystemExit(1)
    return r


if __name__ == "__main__":
    main()
