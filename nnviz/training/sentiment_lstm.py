"""Train the word-level sentiment LSTM on movie-review snippets, seeded.

    python -m nnviz.training.sentiment_lstm [--epochs 16] [--out nnviz/weights] [--check]

Data: `sentiment_data.split()` (8,455 training / 2,113 held-out sentences, label = sign of the
human rating). The held-out 20% is only scored, once, at the end. Early stopping picks the epoch
with the best accuracy on a validation slice carved out of the TRAINING split (10%, stratified,
seeded); the model never trains on that slice. The vocabulary comes from the training split
(tokens seen at least twice).

Loss: cross-entropy of the prediction after the LAST word (the sentence's label), plus AUX times
the mean cross-entropy of the predictions after every earlier word. Why the auxiliary part: the
view shows the running prediction after each word as the model's own output. Trained on the last
word only, the outputs at earlier words are never asked to mean anything (they can sit at 90%
for a sentence that is still neutral); a small weight on every word makes each of them "P(positive)
given the words so far", and being small it leaves the final prediction to the last-word loss.

Training uses PyTorch's fused nn.LSTM as `.rnn` (same parameter names as the step-by-step LSTM
the app shows), dropout on the embeddings and on the LSTM output (the model class has none: it is
applied in the loss here, so the app's model is exactly what was evaluated).
"""
from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..models.sentiment import (
    CONFIG,
    LABELS,
    SHIPPED_FILE,
    SentimentLSTM,
    build_vocab,
    encode_words,
    tokenize,
)
from . import common, sentiment_data

SEED = 0
EPOCHS = 16
BATCH = 32
LR = 2e-3
WEIGHT_DECAY = 0.0
DROPOUT = 0.5
AUX = 0.2  # weight of the mean loss at the words before the last (see the module docstring)
MIN_COUNT = 2
VAL_SHARE = 0.1  # of the training split, for early stopping only


def fast_twin(model: SentimentLSTM) -> SentimentLSTM:
    """`model` with its step-loop LSTM swapped for PyTorch's fused one (same parameter names)."""
    rnn = model.rnn
    model.rnn = torch.nn.LSTM(rnn.input_size, rnn.hidden_size, rnn.num_layers, batch_first=True)
    return model


def validation_slice(labels: np.ndarray, share: float = VAL_SHARE, seed: int = SEED) -> np.ndarray:
    """A boolean mask over the training split: a seeded, label-stratified `share` for early stopping."""
    rng = np.random.default_rng(seed + 1)  # not the held-out split's seed: a different draw
    mask = np.zeros(len(labels), bool)
    for label in (0, 1):
        idx = np.flatnonzero(labels == label)
        mask[rng.permutation(idx)[: round(len(idx) * share)]] = True
    return mask


def pad(seqs: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) right-padded ids (0 = <pad>) and (B,) lengths."""
    lengths = torch.tensor([len(s) for s in seqs])
    ids = torch.zeros(len(seqs), int(lengths.max()), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.from_numpy(s)
    return ids, lengths


def last_logits(logits: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(B, T, 2) -> (B, 2): the logits after each sentence's own last word."""
    return logits[torch.arange(len(lengths)), lengths - 1]


def sentence_loss(model: SentimentLSTM, batch, dropout: float = DROPOUT, aux: float = AUX) -> torch.Tensor:
    ids, lengths, y = batch  # (B, T), (B,), (B,)
    x = F.dropout(model.embed(ids), dropout, training=True)  # (B, T, E)
    out, _ = model.rnn(x)  # (B, T, H)
    logits = model.head(F.dropout(out, dropout, training=True))  # (B, T, 2)
    loss = F.cross_entropy(last_logits(logits, lengths), y)
    if aux:
        T = ids.shape[1]
        before_last = torch.arange(T)[None] < (lengths - 1)[:, None]  # (B, T): words before the last
        every = F.cross_entropy(logits.flatten(0, 1), y.repeat_interleave(T), reduction="none").view_as(ids)
        loss = loss + aux * (every * before_last).sum() / before_last.sum().clamp(min=1)
    return loss


def accuracy(model: SentimentLSTM, seqs: list[np.ndarray], labels: np.ndarray, batch: int = 256) -> float:
    """Share of sentences whose prediction after the last word is their label."""
    model.eval()
    right = 0
    with torch.inference_mode():
        for i in range(0, len(seqs), batch):
            ids, lengths = pad(seqs[i : i + batch])
            pred = last_logits(model(ids), lengths).argmax(1).numpy()  # (b,)
            right += int((pred == labels[i : i + batch]).sum())
    return right / len(seqs)


def encoded(texts: list[str], vocab: tuple[str, ...]) -> list[np.ndarray]:
    """Each sentence as ids; a sentence with no tokens becomes one <unk> (none in this data)."""
    index = {w: i for i, w in enumerate(vocab)}
    return [encode_words(t, index).ids if tokenize(t) else np.array([1]) for t in texts]


def train(epochs: int = EPOCHS, seed: int = SEED, out: Path | None = None, embed_dim: int = CONFIG["embed_dim"],
          hidden: int = CONFIG["hidden"], aux: float = AUX, lr: float = LR, dropout: float = DROPOUT,
          batch: int = BATCH, limit: int | None = None, log=print, argv: list[str] | None = None) -> dict:
    """Train, early-stop on the validation slice, score the held-out split once; returns the
    recorded result and saves <out>/sentiment_lstm.safetensors. `limit` trains on the first
    `limit` training sentences only (quick runs in tests)."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    data = sentiment_data.load()
    train_idx, test_idx = sentiment_data.split(data)
    if limit is not None:
        train_idx = train_idx[:limit]
    texts = [data.texts[i] for i in train_idx]
    vocab = build_vocab((tokenize(t) for t in texts), MIN_COUNT)
    seqs, y = encoded(texts, vocab), data.labels[train_idx]
    is_val = validation_slice(y, seed=seed)
    fit_seqs = [s for s, v in zip(seqs, is_val) if not v]
    fit_y = torch.from_numpy(y[~is_val])
    val_seqs, val_y = [s for s, v in zip(seqs, is_val) if v], y[is_val]

    config = {"embed_dim": embed_dim, "hidden": hidden, "num_layers": 1}
    model = fast_twin(SentimentLSTM(vocab, **config))
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=WEIGHT_DECAY)
    per_epoch = (len(fit_seqs) + batch - 1) // batch
    order: list[int] = []

    def next_batch(step: int):
        nonlocal order
        if step % per_epoch == 0:  # a fresh shuffle at the start of every epoch
            order = torch.randperm(len(fit_seqs), generator=g).tolist()
        pick = order[(step % per_epoch) * batch : (step % per_epoch + 1) * batch]
        ids, lengths = pad([fit_seqs[i] for i in pick])
        return ids, lengths, fit_y[pick]

    history: list[dict] = []
    best = {"val_accuracy": -1.0}

    def on_epoch_end(step: int, losses: list[float], elapsed: float) -> None:
        if (step + 1) % per_epoch:
            return
        epoch = (step + 1) // per_epoch
        acc = accuracy(model, val_seqs, val_y)
        history.append({"epoch": epoch, "loss": round(float(np.mean(losses[-per_epoch:])), 4), "val_accuracy": round(acc, 4)})
        log(f"epoch {epoch}/{epochs}: loss {history[-1]['loss']:.3f}, validation accuracy {acc:.3f} ({elapsed:.0f} s)")
        if acc > best["val_accuracy"]:  # strictly better: ties keep the earlier (less fitted) epoch
            best.update(val_accuracy=acc, epoch=epoch, state=copy.deepcopy(model.state_dict()))

    t0 = time.time()
    lr_at = lambda step: common.warmup_cosine(step, epochs * per_epoch, lr, lr / 20, per_epoch)
    losses = common.fit(model, next_batch, lambda m, b: sentence_loss(m, b, dropout, aux), opt, epochs * per_epoch,
                        lr_at=lr_at, clip=1.0, on_step=on_epoch_end)
    seconds = time.time() - t0
    model.load_state_dict(best["state"])

    test_seqs = encoded([data.texts[i] for i in test_idx], vocab)
    test_acc = accuracy(model, test_seqs, data.labels[test_idx])
    train_acc = accuracy(model, fit_seqs, y[~is_val])
    unk = sum(int((s == 1).sum()) for s in test_seqs) / sum(len(s) for s in test_seqs)
    result = {
        "model": "sentiment_lstm", "seed": seed, "epochs": epochs, "best_epoch": best["epoch"], "batch": batch,
        "lr": lr, "dropout": dropout, "aux": aux, "min_count": MIN_COUNT,
        "config": {"vocab": list(vocab), **config},
        "labels": list(LABELS),
        "train_sentences": int((~is_val).sum()), "val_sentences": int(is_val.sum()), "test_sentences": len(test_idx),
        "train_accuracy": round(train_acc, 4), "val_accuracy": round(best["val_accuracy"], 4),
        "test_accuracy": round(test_acc, 4), "test_unknown_token_share": round(unk, 4),
        "history": history, "seconds": round(seconds, 1),
        **common.run_record(argv, sentiment_data.DATA.read_bytes()),
        "command": f"python -m nnviz.training.sentiment_lstm --epochs {epochs} --seed {seed}",
    }
    log(f"best epoch {best['epoch']}: validation {best['val_accuracy']:.4f}, held-out {test_acc:.4f} "
        f"({len(vocab):,} words, {seconds:.0f} s)")
    result["losses"] = losses
    if out is not None:
        common.save_weights(model, out / SHIPPED_FILE, result)
    return result


def main(argv: list[str] | None = None) -> dict:
    ap = common.script_parser(__doc__, SEED)
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    a = ap.parse_args(argv)
    with common.output_dir(a.out, a.check) as out:
        r = train(a.epochs, a.seed, out, argv=argv)
        ok = common.report(r, out, a.check, SHIPPED_FILE, hide=("losses", "config", "history"))
    if not ok:
        raise SystemExit(1)
    return r


if __name__ == "__main__":
    main()
