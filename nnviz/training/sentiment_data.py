"""Labelled English sentences for the sentiment lessons: 10,568 movie-review snippets with their
mean human rating (VADER's ground truth, MIT; see nnviz/training/data/README.md).

Label = sign of the rating (1 positive, 0 negative); the 37 sentences rated exactly 0 are dropped.
`split()` is the one held-out split every sentiment classifier is trained and scored on, so their
accuracies compare on the same sentences.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data" / "movie_snippets.tsv.gz"
LABELS = ("negative", "positive")


@dataclass(frozen=True)
class Sentences:
    texts: list[str]
    labels: np.ndarray  # (N,) int64, 1 = positive
    ratings: np.ndarray  # (N,) float, -4 .. +4


def load(path: Path = DATA) -> Sentences:
    texts, labels, ratings = [], [], []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            _id, rating, text = line.rstrip("\n").split("\t", 2)
            r = float(rating)
            if r == 0.0:
                continue
            texts.append(text)
            labels.append(int(r > 0))
            ratings.append(r)
    return Sentences(texts, np.asarray(labels, dtype=np.int64), np.asarray(ratings))


def split(data: Sentences, test_share: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, test_idx): a seeded split stratified by label, the same on every machine."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in (0, 1):
        idx = np.flatnonzero(data.labels == label)
        rng.shuffle(idx)
        n_test = round(len(idx) * test_share)
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))
