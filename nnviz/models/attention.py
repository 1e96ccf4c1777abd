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

import numpy as np
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
    # Scaling q (Tq x d_k numbers) rather than the scores (Tq x Tk): the same quantity, one pass
    # over the small tensor instead of the large one (at 512 tokens, 32x fewer numbers).
    return (q * (1.0 / math.sqrt(q.size(-1)))) @ k.transpose(-2, -1)  # (..., Tq, Tk)


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None = None, out: torch.Tensor | None = None) -> torch.Tensor:
    """Softmax over keys (last axis) after blocking masked positions (mask False -> probability 0).
    out: where to write it (a slice of a trace's stacked array: no copy afterwards); for runs
    without gradients only (an out= result cannot be backpropagated)."""
    if out is not None and scores.requires_grad and torch.is_grad_enabled():
        raise ValueError("masked_softmax(out=...) is for runs without gradients")
    if mask is not None:
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return torch.softmax(scores, -1, out=out)


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
        self, x: torch.Tensor, context: torch.Tensor | None = None, mask: torch.Tensor | None = None,
        p_out: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, HeadsInternals]:
        context = x if context is None else context
        q = split_heads(self.query(x), self.n_head)  # (B, nh, Tq, hs)
        k = split_heads(self.key(context), self.n_head)  # (B, nh, Tk, hs)
        v = split_heads(self.value(context), self.n_head)  # (B, nh, Tk, hs)
        scores = attention_scores(q, k)  # (B, nh, Tq, Tk)
        p_attn = masked_softmax(scores, mask, p_out)  # (B, nh, Tq, Tk)
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


class MLP(nn.Module):
    """The position-wise feed-forward block: Linear -> GELU -> Linear (GPT-2's names c_fc, c_proj)."""

    def __init__(self, d: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.c_fc = nn.Linear(d, hidden)
        self.c_proj = nn.Linear(hidden, d)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(gelu(self.c_fc(x))))  # (B, T, d)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def stack_heads(internals: list[HeadsInternals], field_name: str) -> np.ndarray:
    """Batch item 0 of one field over all layers, as numpy: (L, nh, T, ...)."""
    return np.stack([to_numpy(getattr(i, field_name)[0]) for i in internals])
