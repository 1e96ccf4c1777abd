"""Attention written out by hand, so every intermediate can be shown.

One idea per function, in the order a lecture introduces them (The Annotated Transformer's shape):

    attention(q, k, v, mask)          softmax(q k^T / sqrt(d_k)) v, returning the probabilities too
    causal_mask(T)                    which keys each query may see in a decoder
    AttentionHeads                    X -> Q, K, V for every head, attention per head, heads concatenated
    MultiHeadAttention                AttentionHeads + the output projection W_O
    sinusoidal_positional_encoding    Vaswani et al.'s sin/cos position code

Nothing here stores a tensor on a module: the intermediates are returned (`HeadsInternals`), so two
threads running one cached model never see each other's values.

Masks are boolean and say where attention is ALLOWED (True = this query may look at this key).
Blocked scores are set to the most negative float, not -inf: exp() of it is exactly 0.0, and a row
that happened to be fully blocked would give a uniform row instead of NaNs.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F


def attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    dropout: nn.Module | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention. Returns (output, p_attn).

    q: (..., Tq, dk), k: (..., Tk, dk), v: (..., Tk, dv); mask broadcastable to (..., Tq, Tk).
    output: (..., Tq, dv); p_attn: (..., Tq, Tk), every row sums to 1.
    """
    scores = attention_scores(q, k)  # (..., Tq, Tk)
    p_attn = masked_softmax(scores, mask)  # (..., Tq, Tk)
    if dropout is not None:
        p_attn = dropout(p_attn)
    return p_attn @ v, p_attn  # (..., Tq, dv)


def attention_scores(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """q k^T / sqrt(d_k): dividing keeps the logits' variance near 1 whatever d_k is, so the softmax
    does not saturate into a one-hot (and vanishing gradients) as heads get wider."""
    return (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))  # (..., Tq, Tk)


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Softmax over keys (last axis) after blocking masked positions (mask False -> probability 0)."""
    if mask is not None:
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return scores.softmax(dim=-1)


def causal_mask(T: int, device: torch.device | str | None = None) -> torch.Tensor:
    """(T, T) bool, True on and below the diagonal: query t may attend to keys 0..t, never the future."""
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()


def padding_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """(B, T) 1/0 "is a real token" -> (B, 1, 1, T) bool, broadcast over heads and queries."""
    return attention_mask.bool()[:, None, None, :]


def split_heads(x: torch.Tensor, n_head: int) -> torch.Tensor:
    """(B, T, C) -> (B, nh, T, hs): each head gets its own hs = C / nh slice of the features."""
    B, T, C = x.shape
    return x.view(B, T, n_head, C // n_head).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, nh, T, hs) -> (B, T, nh * hs): the heads' outputs side by side (concatenation)."""
    B, nh, T, hs = x.shape
    return x.transpose(1, 2).reshape(B, T, nh * hs)


class HeadsInternals(NamedTuple):
    """Everything one attention call computed, per head. Tensors, still attached to the graph."""

    q: torch.Tensor  # (B, nh, Tq, hs)
    k: torch.Tensor  # (B, nh, Tk, hs)
    v: torch.Tensor  # (B, nh, Tk, hs)
    scores: torch.Tensor  # (B, nh, Tq, Tk): q k^T / sqrt(hs), before the mask
    p_attn: torch.Tensor  # (B, nh, Tq, Tk): softmax of the masked scores; rows sum to 1


class AttentionHeads(nn.Module):
    """The Q, K, V projections and per-head attention, heads concatenated (no output projection).

    Parameter names `query`, `key`, `value` are BERT's (`attention.self.*`), so a Hugging Face BERT
    state dict loads into it unchanged. Self-attention: `forward(x)`. Cross-attention:
    `forward(x, context)`, queries from x (the decoder), keys and values from context (the encoder).
    """

    def __init__(self, d_model: int, n_head: int, bias: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        if d_model % n_head:
            raise ValueError(f"d_model={d_model} is not divisible by n_head={n_head}")
        self.n_head = n_head
        self.query = nn.Linear(d_model, d_model, bias=bias)
        self.key = nn.Linear(d_model, d_model, bias=bias)
        self.value = nn.Linear(d_model, d_model, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, context: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, HeadsInternals]:
        context = x if context is None else context
        q = split_heads(self.query(x), self.n_head)  # (B, nh, Tq, hs)
        k = split_heads(self.key(context), self.n_head)  # (B, nh, Tk, hs)
        v = split_heads(self.value(context), self.n_head)  # (B, nh, Tk, hs)
        scores = attention_scores(q, k)  # (B, nh, Tq, Tk)
        p_attn = masked_softmax(scores, mask)  # (B, nh, Tq, Tk)
        y = self.dropout(p_attn) @ v  # (B, nh, Tq, hs)
        return merge_heads(y), HeadsInternals(q, k, v, scores, p_attn)  # (B, Tq, C)


class MultiHeadAttention(nn.Module):
    """MultiHead(X) = Concat(head_1..head_h) W_O, with head_i = attention(X W_Q_i, X W_K_i, X W_V_i).

    Computes the same function as `nn.MultiheadAttention(batch_first=True)`; the test copies one's
    weights into the other and compares outputs and (head-averaged) probabilities.
    """

    def __init__(self, d_model: int, n_head: int, bias: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        self.heads = AttentionHeads(d_model, n_head, bias=bias, dropout=dropout)
        self.proj = nn.Linear(d_model, d_model, bias=bias)  # W_O: mixes the heads' outputs
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, context: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, HeadsInternals]:
        y, internals = self.heads(x, context, mask)  # (B, Tq, C)
        return self.dropout(self.proj(y)), internals  # (B, Tq, C)


def sinusoidal_positional_encoding(n_positions: int, d_model: int, base: float = 10000.0) -> torch.Tensor:
    """(n_positions, d_model) float32, Vaswani et al. 2017, section 3.5:

        PE[pos, 2i]   = sin(pos / base^(2i / d_model))
        PE[pos, 2i+1] = cos(pos / base^(2i / d_model))

    Each pair of columns is a wave whose wavelength grows geometrically from 2*pi to base*2*pi, so
    every position gets a distinct code and PE[pos + k] is a fixed rotation of PE[pos].
    """
    pos = torch.arange(n_positions, dtype=torch.float64)[:, None]  # (T, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (ceil(D/2),)
    angle = pos / base ** (two_i / d_model)  # (T, ceil(D/2))
    pe = torch.zeros(n_positions, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : d_model // 2])  # an odd d_model has one sine column more
    return pe.float()


def gelu(x: torch.Tensor) -> torch.Tensor:
    """Exact (erf) GELU, as BERT uses; the tanh approximation differs by up to ~1e-3."""
    return F.gelu(x, approximate="none")


# =============================================================================================
# Analysis helpers for the attention views: plain numpy in, plain numpy out (no model calls).

import numpy as _np_  # noqa: E402  (kept apart from torch above: these helpers never touch tensors)

SPECIAL_TOKENS = ("[CLS]", "[SEP]", "[PAD]")


def head_average(attentions: _np_.ndarray) -> _np_.ndarray:
    """(L, H, T, T) -> (L, T, T): the mean over heads. Rows still sum to 1 (a mean of distributions)."""
    return _np_.asarray(attentions, dtype=_np_.float64).mean(axis=1)


def attention_rollout(attentions: _np_.ndarray, residual: float = 0.5) -> _np_.ndarray:
    """Attention rollout (Abnar & Zuidema 2020): how much each input token flows into each position.

    attentions (L, H, T, T) -> (L, T, T), where out[l] is the rollout through layers 0..l:
        A_l = (1 - residual) * mean_h(attentions[l]) + residual * I     (the skip connection)
        R_0 = A_0,   R_l = A_l @ R_{l-1}
    Each A_l is row-stochastic, so every row of every R_l sums to 1.
    """
    avg = head_average(attentions)  # (L, T, T)
    eye = _np_.eye(avg.shape[-1])
    out = _np_.empty_like(avg)
    rolled = eye
    for l, a in enumerate(avg):
        a = (1.0 - residual) * a + residual * eye
        a = a / a.sum(axis=-1, keepdims=True)  # exact row sums despite float error
        rolled = a @ rolled  # (T, T)
        out[l] = rolled
    return out


def top_k_per_row(att: _np_.ndarray, k: int) -> tuple[_np_.ndarray, _np_.ndarray]:
    """(Tq, Tk) -> (indices (Tq, k'), weights (Tq, k')), k' = min(k, Tk): each query's k largest
    weights, largest first (ties: the earlier key first)."""
    att = _np_.asarray(att)
    k = max(1, min(int(k), att.shape[-1]))
    idx = _np_.argsort(-att, axis=-1, kind="stable")[..., :k]
    return idx, _np_.take_along_axis(att, idx, axis=-1)


def thin_top_k(att: _np_.ndarray, k: int) -> _np_.ndarray:
    """A copy of `att` (Tq, Tk) keeping each row's k largest weights and zeroing the rest."""
    idx, vals = top_k_per_row(att, k)
    out = _np_.zeros_like(_np_.asarray(att))
    _np_.put_along_axis(out, idx, vals, axis=-1)
    return out


def top_k_columns(att: _np_.ndarray, k: int, always: tuple[int, ...] = ()) -> _np_.ndarray:
    """Sorted key positions that are among the k largest of at least one row of `att` (Tq, Tk),
    plus `always`. For a window of queries on a long text: the keys worth a column."""
    idx, _ = top_k_per_row(att, k)
    cols = set(idx.ravel().tolist()) | {int(a) % att.shape[-1] for a in always}
    return _np_.array(sorted(cols), dtype=_np_.int64)


def head_patterns(attentions: _np_.ndarray) -> dict[str, _np_.ndarray]:
    """What each head mostly does, averaged over queries. attentions (L, H, T, T) -> (L, H) each:
    'self' (weight on the query itself), 'previous' (on the token before), 'next', 'first' (on
    token 0, [CLS] in BERT), 'last' (on the last token, [SEP]) and 'entropy' (bits; 0 = one key).
    """
    a = _np_.asarray(attentions)
    T = a.shape[-1]
    zeros = _np_.zeros(a.shape[:2])
    out = {
        "self": _np_.diagonal(a, axis1=-2, axis2=-1).mean(-1, dtype=_np_.float64),
        "previous": _np_.diagonal(a, offset=-1, axis1=-2, axis2=-1).mean(-1, dtype=_np_.float64) if T > 1 else zeros,
        "next": _np_.diagonal(a, offset=1, axis1=-2, axis2=-1).mean(-1, dtype=_np_.float64) if T > 1 else zeros,
        "first": a[..., :, 0].mean(-1, dtype=_np_.float64),
        "last": a[..., :, -1].mean(-1, dtype=_np_.float64),
    }
    ent = _np_.empty(a.shape[:2])
    for l in range(a.shape[0]):  # one layer at a time: 512 tokens x 12 heads is 12.6 M weights per layer
        p = a[l]
        ent[l] = (-(p * _np_.log2(_np_.clip(p, 1e-12, 1.0))).sum(-1)).mean(-1, dtype=_np_.float64)
    out["entropy"] = ent
    return out


def describe_head(patterns: dict[str, _np_.ndarray], layer: int, head: int) -> str:
    """One phrase for what head (layer, head) mostly does, from `head_patterns`."""
    names = {"self": "itself", "previous": "the previous token", "next": "the next token",
             "first": "[CLS] (the first token)", "last": "[SEP] (the last token)"}
    best = max(names, key=lambda n: patterns[n][layer, head])
    share = float(patterns[best][layer, head])
    if share >= 0.4:
        return f"mostly looks at {names[best]}: {share:.0%} of its attention"
    return f"spreads its attention (entropy {float(patterns['entropy'][layer, head]):.1f} bits)"


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
    rng = _np_.random.default_rng(seed)
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


def unpermute(att: _np_.ndarray, perm: list[int]) -> _np_.ndarray:
    """Attention of a shuffled sequence (rows/columns in shuffled order) put back in the original
    token order: out[..., a, b] = weight from original token a to original token b."""
    inv = _np_.argsort(_np_.asarray(perm))
    return _np_.asarray(att)[..., inv, :][..., :, inv]


def step_differences(steps: dict[str, _np_.ndarray], queries: _np_.ndarray, keys: _np_.ndarray,
                     values: _np_.ndarray, probs: _np_.ndarray) -> dict[str, float]:
    """Each step of a float64 recomputation (`MiniLM.attention_steps`) against the model's own
    float32 tensors for that head: Q, K, V (T, dh), probs (T, T). Max absolute differences for
    'Q', 'K', 'V', 'QK', 'scaled', 'probs', 'out' (QK, scaled and out from the model's Q, K, V, probs)."""
    q, k, v, p = (_np_.asarray(a, dtype=_np_.float64) for a in (queries, keys, values, probs))
    model_qk = q @ k.T
    model = {"Q": q, "K": k, "V": v, "QK": model_qk, "scaled": model_qk / math.sqrt(q.shape[1]),
             "probs": p, "out": p @ v}
    return {n: float(_np_.abs(steps[n] - m).max()) for n, m in model.items()}
