"""Hand-written attention: exact values on tiny inputs, and equality with PyTorch's own modules."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional as F

from nnviz.models.attention import (
    AttentionHeads,
    MultiHeadAttention,
    attention,
    causal_mask,
    merge_heads,
    padding_mask,
    sinusoidal_positional_encoding,
    split_heads,
)


def test_attention_by_hand_on_a_two_token_example():
    # q . k = [1, 0] for the single query; d_k = 4 so scores are divided by 2.
    q = torch.tensor([[1.0, 1.0, 0.0, 0.0]])  # (1, 4)
    k = torch.tensor([[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])  # (2, 4)
    v = torch.tensor([[10.0, 0.0], [0.0, 10.0]])  # (2, 2)
    out, p = attention(q, k, v)
    e = math.exp(0.5)  # scores [1/2, 0/2]
    expected_p = torch.tensor([[e / (e + 1), 1 / (e + 1)]])
    torch.testing.assert_close(p, expected_p)
    torch.testing.assert_close(out, expected_p @ v)


@settings(max_examples=25, deadline=None)
@given(B=st.integers(1, 3), H=st.integers(1, 4), T=st.integers(1, 9), dk=st.integers(1, 8), seed=st.integers(0, 10_000))
def test_attention_rows_sum_to_one_and_match_pytorch_sdpa(B, H, T, dk, seed):
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(B, H, T, dk, generator=g) * 3 for _ in range(3))
    out, p = attention(q, k, v)
    torch.testing.assert_close(p.sum(-1), torch.ones(B, H, T))
    assert (p >= 0).all()
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v))


def test_causal_mask_is_lower_triangular_and_attention_above_diagonal_is_exactly_zero():
    m = causal_mask(5)
    assert m.dtype == torch.bool
    assert m.tolist() == [[j <= i for j in range(5)] for i in range(5)]
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 8, generator=g) * 10 for _ in range(3))  # large scores: no leak anyway
    out, p = attention(q, k, v, mask=m)
    upper = torch.triu(torch.ones(5, 5, dtype=torch.bool), diagonal=1)
    assert (p[..., upper] == 0.0).all()  # exactly zero, not just small
    torch.testing.assert_close(p.sum(-1), torch.ones(2, 3, 5))
    assert (p[..., 0, 0] == 1.0).all()  # the first token can only see itself
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True))


def test_padding_mask_gives_padded_keys_zero_weight():
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(2, 1, 4, 6, generator=g) for _ in range(3))
    keep = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    _, p = attention(q, k, v, mask=padding_mask(keep))
    assert (p[1, :, :, 2:] == 0).all()
    torch.testing.assert_close(p.sum(-1), torch.ones(2, 1, 4))
    # The unpadded part equals attention over the two real keys alone.
    _, p_short = attention(q[1:], k[1:, :, :2], v[1:, :, :2])
    torch.testing.assert_close(p[1:, :, :, :2], p_short)


def test_split_and_merge_heads_round_trip():
    x = torch.arange(2 * 3 * 8, dtype=torch.float32).view(2, 3, 8)
    h = split_heads(x, 4)  # (2, 4, 3, 2)
    assert h.shape == (2, 4, 3, 2)
    torch.testing.assert_close(h[0, 1, 2], x[0, 2, 2:4])  # head 1 owns features 2..3
    torch.testing.assert_close(merge_heads(h), x)


def _copy_into_torch(mha: MultiHeadAttention, ref: nn.MultiheadAttention) -> None:
    h = mha.heads
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([h.query.weight, h.key.weight, h.value.weight]))
        ref.in_proj_bias.copy_(torch.cat([h.query.bias, h.key.bias, h.value.bias]))
        ref.out_proj.weight.copy_(mha.proj.weight)
        ref.out_proj.bias.copy_(mha.proj.bias)


@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_equals_nn_multiheadattention(causal):
    torch.manual_seed(0)
    D, H, T = 16, 4, 7
    mha = MultiHeadAttention(D, H).eval()
    ref = nn.MultiheadAttention(D, H, batch_first=True).eval()
    _copy_into_torch(mha, ref)
    x = torch.randn(3, T, D)
    mask = causal_mask(T) if causal else None
    y, inter = mha(x, mask=mask)
    # nn.MultiheadAttention's bool attn_mask means the opposite: True = blocked.
    y_ref, w_ref = ref(x, x, x, attn_mask=None if mask is None else ~mask, need_weights=True, average_attn_weights=False)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(inter.p_attn, w_ref)
    assert inter.q.shape == inter.k.shape == inter.v.shape == (3, H, T, D // H)
    torch.testing.assert_close(inter.scores, inter.q @ inter.k.transpose(-2, -1) / math.sqrt(D // H))


def test_cross_attention_uses_queries_from_x_and_keys_from_context():
    torch.manual_seed(1)
    D, H = 8, 2
    mha = MultiHeadAttention(D, H).eval()
    ref = nn.MultiheadAttention(D, H, batch_first=True).eval()
    _copy_into_torch(mha, ref)
    x, ctx = torch.randn(2, 3, D), torch.randn(2, 5, D)
    y, inter = mha(x, context=ctx)
    y_ref, w_ref = ref(x, ctx, ctx, average_attn_weights=False)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(inter.p_attn, w_ref)
    assert inter.p_attn.shape == (2, H, 3, 5)  # decoder positions x source positions


def test_heads_q_k_v_are_the_per_head_slices_of_the_projections():
    torch.manual_seed(2)
    heads = AttentionHeads(12, 3)
    x = torch.randn(1, 4, 12)
    _, inter = heads(x)
    q_full = heads.query(x)  # (1, 4, 12)
    torch.testing.assert_close(inter.q[0, 2], q_full[0, :, 8:12])


def test_sinusoidal_positional_encoding_values():
    pe = sinusoidal_positional_encoding(50, 8)
    assert pe.shape == (50, 8) and pe.dtype == torch.float32
    torch.testing.assert_close(pe[0], torch.tensor([0.0, 1, 0, 1, 0, 1, 0, 1]))  # sin 0, cos 0
    pos, i = 3, 1  # columns 2 (sin) and 3 (cos) use wavelength 10000^(2/8) = 10
    torch.testing.assert_close(pe[pos, 2 * i], torch.tensor(math.sin(pos / 10000 ** (2 * i / 8))))
    torch.testing.assert_close(pe[pos, 2 * i + 1], torch.tensor(math.cos(pos / 10000 ** (2 * i / 8))))
    assert float(pe[1, 0]) == pytest.approx(math.sin(1.0))
    # sin^2 + cos^2 = 1 for every frequency pair.
    torch.testing.assert_close(pe[:, 0::2] ** 2 + pe[:, 1::2] ** 2, torch.ones(50, 4))


def test_positional_encoding_shift_is_a_rotation():
    # PE[pos + k] = R_k PE[pos] per frequency pair: dot products depend only on the offset k.
    pe = sinusoidal_positional_encoding(64, 16).double()
    d1 = pe[5] @ pe[9]
    d2 = pe[30] @ pe[34]
    assert float(d1) == pytest.approx(float(d2), abs=1e-6)


def test_positional_encoding_odd_width():
    pe = sinusoidal_positional_encoding(4, 5)
    assert pe.shape == (4, 5)
    np.testing.assert_allclose(pe[2, 4].item(), math.sin(2 / 10000 ** (4 / 5)), rtol=1e-6)
