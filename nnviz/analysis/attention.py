"""Analyses of attention traces: plain numpy in, plain numpy out (no model calls, no torch).

Head averages and rollout, top-k thinning for long texts, what a head mostly does, shuffled
words for the position experiment, and the step-by-step check against the model.
"""
from __future__ import annotations

import math

import numpy as np

from ..types import InputError

SPECIAL_TOKENS = ("[CLS]", "[SEP]", "[PAD]")


def head_average(attentions: np.ndarray) -> np.ndarray:
    """(L, H, T, T) -> (L, T, T): the mean over heads. Rows still sum to 1 (a mean of distributions)."""
    return np.asarray(attentions, dtype=np.float64).mean(axis=1)


def attention_rollout(attentions: np.ndarray, residual: float = 0.5) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020): how much each input token flows into each position.

    attentions (L, H, T, T) -> (L, T, T), where out[l] is the rollout through layers 0..l:
        A_l = (1 - residual) * mean_h(attentions[l]) + residual * I     (the skip connection)
        R_0 = A_0,   R_l = A_l @ R_{l-1}
    Each A_l is row-stochastic, so every row of every R_l sums to 1.
    """
    avg = head_average(attentions)  # (L, T, T)
    eye = np.eye(avg.shape[-1])
    out = np.empty_like(avg)
    rolled = eye
    for l, a in enumerate(avg):
        a = (1.0 - residual) * a + residual * eye
        a = a / a.sum(axis=-1, keepdims=True)  # exact row sums despite float error
        rolled = a @ rolled  # (T, T)
        out[l] = rolled
    return out


def top_k_per_row(att: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(Tq, Tk) -> (indices (Tq, k'), weights (Tq, k')), k' = min(k, Tk): each query's k largest
    weights, largest first (ties: the earlier key first)."""
    att = np.asarray(att)
    k = max(1, min(int(k), att.shape[-1]))
    idx = np.argsort(-att, axis=-1, kind="stable")[..., :k]
    return idx, np.take_along_axis(att, idx, axis=-1)


def thin_top_k(att: np.ndarray, k: int) -> np.ndarray:
    """A copy of `att` (Tq, Tk) keeping each row's k largest weights and zeroing the rest."""
    idx, vals = top_k_per_row(att, k)
    out = np.zeros_like(np.asarray(att))
    np.put_along_axis(out, idx, vals, axis=-1)
    return out


def top_k_columns(att: np.ndarray, k: int, always: tuple[int, ...] = ()) -> np.ndarray:
    """Sorted key positions that are among the k largest of at least one row of `att` (Tq, Tk),
    plus `always`. For a window of queries on a long text: the keys worth a column."""
    idx, _ = top_k_per_row(att, k)
    cols = set(idx.ravel().tolist()) | {int(a) % att.shape[-1] for a in always}
    return np.array(sorted(cols), dtype=np.int64)


def head_patterns(attentions: np.ndarray) -> dict[str, np.ndarray]:
    """What each head mostly does, averaged over queries. attentions (L, H, T, T) -> (L, H) each:
    'self' (weight on the query itself), 'previous' (on the token before), 'next', 'first' (on
    token 0, [CLS] in BERT), 'last' (on the last token, [SEP]) and 'entropy' (bits; 0 = one key).
    """
    a = np.asarray(attentions)
    T = a.shape[-1]
    zeros = np.zeros(a.shape[:2])
    out = {
        "self": np.diagonal(a, axis1=-2, axis2=-1).mean(-1, dtype=np.float64),
        "previous": np.diagonal(a, offset=-1, axis1=-2, axis2=-1).mean(-1, dtype=np.float64) if T > 1 else zeros,
        "next": np.diagonal(a, offset=1, axis1=-2, axis2=-1).mean(-1, dtype=np.float64) if T > 1 else zeros,
        "first": a[..., :, 0].mean(-1, dtype=np.float64),
        "last": a[..., :, -1].mean(-1, dtype=np.float64),
    }
    ent = np.empty(a.shape[:2])
    for l in range(a.shape[0]):  # one layer at a time: 512 tokens x 12 heads is 12.6 M weights per layer
        p = a[l]
        ent[l] = (-(p * np.log2(np.clip(p, 1e-12, 1.0))).sum(-1)).mean(-1, dtype=np.float64)
    out["entropy"] = ent
    return out


def describe_head(patterns: dict[str, np.ndarray], layer: int, head: int) -> str:
    """One phrase for what head (layer, head) mostly does, from `head_patterns`."""
    names = {"self": "itself", "previous": "the previous token", "next": "the next token",
             "first": "[CLS] (the first token)", "last": "[SEP] (the last token)"}
    best = max(names, key=lambda n: patterns[n][layer, head])
    share = float(patterns[best][layer, head])
    if share >= 0.4:
        return f"mostly looks at {names[best]}: {share:.0%} of its attention"
    return f"spreads its attention (entropy {float(patterns['entropy'][layer, head]):.1f} bits)"


def describe_heads(patterns: dict[str, np.ndarray]) -> list[list[str]]:
    """`describe_head` for every head: out[layer][head]."""
    L, H = patterns["self"].shape
    return [[describe_head(patterns, l, h) for h in range(H)] for l in range(L)]


def word_groups(tokens: list[str]) -> list[list[int]]:
    """Token positions grouped into words: a '##' wordpiece joins the word before it. Special
    tokens ([CLS], [SEP]) are left out: they keep their places when words are shuffled."""
    groups: list[list[int]] = []
    for i, t in enumerate(tokens):
        if t in SPECIAL_TOKENS:
            continue
        if t.startswith("##") and groups and groups[-1][-1] == i - 1:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def shuffle_words(tokens: list[str], seed: int = 0) -> list[int]:
    """A permutation of token positions that shuffles whole words (wordpieces stay together,
    [CLS] first and [SEP] last stay put). perm[i] = the original position now at position i.
    Differs from the identity whenever the text has two different words."""
    groups = word_groups(tokens)
    rng = np.random.default_rng(seed)
    order = list(range(len(groups)))
    words = [tuple(tokens[i] for i in g) for g in groups]
    if len(set(words)) > 1:
        for _ in range(100):
            order = list(rng.permutation(len(groups)))
            if [words[o] for o in order] != words:
                break
    moved = iter(i for o in order for i in groups[o])
    grouped = {i for g in groups for i in g}
    return [next(moved) if i in grouped else i for i in range(len(tokens))]


def unpermute(att: np.ndarray, perm: list[int]) -> np.ndarray:
    """Attention of a shuffled sequence (rows/columns in shuffled order) put back in the original
    token order: out[..., a, b] = weight from original token a to original token b."""
    inv = np.argsort(np.asarray(perm))
    return np.asarray(att)[..., inv, :][..., :, inv]


def step_differences(steps: dict[str, np.ndarray], queries: np.ndarray, keys: np.ndarray,
                     values: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """Each step of a float64 recomputation (`MiniLM.attention_steps`) against the model's own
    float32 tensors for that head: Q, K, V (T, dh), probs (T, T). Max absolute differences for
    'Q', 'K', 'V', 'QK', 'scaled', 'probs', 'out' (QK, scaled and out from the model's Q, K, V, probs)."""
    q, k, v, p = (np.asarray(a, dtype=np.float64) for a in (queries, keys, values, probs))
    model_qk = q @ k.T
    model = {"Q": q, "K": k, "V": v, "QK": model_qk, "scaled": model_qk / math.sqrt(q.shape[1]),
             "probs": p, "out": p @ v}
    return {n: float(np.abs(steps[n] - m).max()) for n, m in model.items()}


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def word_similarity(trace_a, trace_b, word: str = "bank", index_a: int | None = None,
                    index_b: int | None = None) -> dict:
    """How similar one word's vectors in two encoder traces are at each layer (the "bank" demo).

    Returns {"cosine": (L+1,) array, layer 0 = embeddings, "index_a", "index_b"}. Without an index
    the first occurrence of `word` as one whole wordpiece is used; a word that is not one raises
    InputError with a sentence for the user.
    """
    picked = []
    for name, trace, index in (("first", trace_a, index_a), ("second", trace_b, index_b)):
        if index is None:
            found = trace.find(word)
            if not found:
                raise InputError(f"{word!r} is not a single MiniLM token in the {name} sentence; "
                                 "pick a word that appears in both.")
            index = found[0]
        picked.append(index)
    ia, ib = picked
    layers = trace_a.hidden_states.shape[0]
    cos = np.array([cosine(trace_a.hidden_states[l, ia], trace_b.hidden_states[l, ib]) for l in range(layers)])
    return {"cosine": cos, "index_a": ia, "index_b": ib}


# --- what the attention page shows of a trace ------------------------------------------------------

def mask_future(att: np.ndarray) -> np.ndarray:
    """(Tq, Tk) -> a float copy with NaN above the diagonal: the cells a causal mask hides."""
    a = np.asarray(att, dtype=np.float64)
    return np.where(np.tril(np.ones(a.shape, bool)), a, np.nan)


def default_query(tokens: list[str], words: tuple[str, ...] = ("bank", "it")) -> int:
    """The query token a new text opens on: the first of `words` found, else token 1 (the first
    after [CLS]), or 0 for a one-token input."""
    for word in words:
        if word in tokens:
            return tokens.index(word)
    return min(1, len(tokens) - 1)


def special_zmax(att: np.ndarray, tokens: list[str]) -> float | None:
    """The largest weight on ordinary tokens of `att` (Tq, T) framed by [CLS] ... [SEP] (idle heads
    park their weight there, which would wash out the rest of a colour scale); None when the
    tokens are not so framed or too few."""
    if len(tokens) < 4 or tokens[0] != "[CLS]" or tokens[-1] != "[SEP]":
        return None
    return max(float(np.asarray(att)[:, 1:-1].max()), 1e-6)


def window_columns(att: np.ndarray, start: int, stop: int, strongest: bool,
                   max_columns: int = 40) -> tuple[np.ndarray, int]:
    """Key columns for query rows start..stop-1 of a long head `att` (Tq, Tk), and the k used.

    strongest=False: the same window of keys (k = 0). strongest=True: the keys among each row's k
    largest weights plus the first and last token, with the largest k of 3, 2, 1 that stays
    within `max_columns` columns."""
    Tk = att.shape[1]
    if not strongest:
        return np.arange(start, min(stop, Tk)), 0
    for k in (3, 2, 1):
        cols = top_k_columns(att[start:stop], k, always=(0, Tk - 1))
        if len(cols) <= max_columns:
            break
    return cols, k


def step_selection(probs_row: np.ndarray, query: int, n_keys: int = 16,
                   all_rows: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """What the step-by-step view shows of a T-token text for one query, whose softmax row is
    `probs_row` (T,). Returns (keys, rows), both sorted positions: keys are all T when T <=
    n_keys, else the n_keys largest weights (ties: the earlier key); rows of X, Q, K, V are all
    T when T <= all_rows, else those keys and the query."""
    T = len(probs_row)
    keys = np.arange(T) if T <= n_keys else np.sort(np.argsort(-np.asarray(probs_row), kind="stable")[:n_keys])
    rows = np.arange(T) if T <= all_rows else np.unique(np.r_[keys, query])
    return keys, rows


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """(n, d) -> (n, n): the cosine between every pair of rows."""
    v = np.asarray(vectors, dtype=np.float64)
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    return v @ v.T

