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


# --- analysis helpers for the attention page ---------------------------------------------------

from nnviz.models.attention import (  # noqa: E402
    attention_rollout,
    describe_head,
    head_average,
    head_patterns,
    shuffle_words,
    step_differences,
    thin_top_k,
    top_k_columns,
    top_k_per_row,
    unpermute,
    word_groups,
)


def _random_attention(shape, seed=0):
    a = np.random.default_rng(seed).random(shape) ** 4
    return a / a.sum(-1, keepdims=True)


def test_head_average_is_the_mean_over_heads_and_stays_a_distribution():
    a = _random_attention((3, 4, 6, 6))
    avg = head_average(a)
    assert avg.shape == (3, 6, 6)
    np.testing.assert_allclose(avg[1], a[1].mean(0))
    np.testing.assert_allclose(avg.sum(-1), 1.0)


def test_rollout_rows_sum_to_one_and_follow_the_recursion():
    a = _random_attention((4, 3, 7, 7), seed=1)
    r = attention_rollout(a)
    assert r.shape == (4, 7, 7)
    np.testing.assert_allclose(r.sum(-1), 1.0, atol=1e-12)
    assert (r >= 0).all()
    eye = np.eye(7)
    step = [0.5 * a[l].mean(0) + 0.5 * eye for l in range(4)]
    np.testing.assert_allclose(r[0], step[0])
    np.testing.assert_allclose(r[2], step[2] @ step[1] @ step[0])


def test_rollout_of_identity_attention_is_identity_and_residual_one_ignores_attention():
    eye = np.broadcast_to(np.eye(5), (2, 3, 5, 5))
    np.testing.assert_allclose(attention_rollout(eye)[-1], np.eye(5))
    a = _random_attention((2, 2, 5, 5))
    np.testing.assert_allclose(attention_rollout(a, residual=1.0)[-1], np.eye(5))


def test_top_k_per_row_and_thinning():
    att = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    idx, w = top_k_per_row(att, 2)
    assert idx.tolist() == [[1, 2], [0, 2]]
    np.testing.assert_allclose(w, [[0.6, 0.3], [0.5, 0.3]])
    np.testing.assert_allclose(thin_top_k(att, 1), [[0, 0.6, 0], [0.5, 0, 0]])
    assert top_k_per_row(att, 10)[0].shape == (2, 3)  # k larger than the row: all keys
    assert top_k_columns(att, 1).tolist() == [0, 1]
    assert top_k_columns(att, 1, always=(0, -1)).tolist() == [0, 1, 2]


def test_head_patterns_recognise_previous_token_and_first_token_heads():
    T = 6
    prev = np.eye(T, k=-1)
    prev[0, 0] = 1.0  # the first token has no previous one: itself
    first = np.zeros((T, T))
    first[:, 0] = 1.0
    uniform = np.full((T, T), 1 / T)
    a = np.stack([prev, first, uniform])[None]  # (1, 3, T, T)
    p = head_patterns(a)
    assert p["previous"][0, 0] == pytest.approx(1.0)  # every query that has a previous token looks at it
    assert p["first"][0, 1] == pytest.approx(1.0)
    assert p["entropy"][0, 1] == pytest.approx(0.0, abs=1e-9)
    assert p["entropy"][0, 2] == pytest.approx(math.log2(T))
    assert "previous token" in describe_head(p, 0, 0)
    assert "first token" in describe_head(p, 0, 1)
    assert "spreads" in describe_head(p, 0, 2)


def test_word_groups_keep_wordpieces_together_and_skip_specials():
    toks = ["[CLS]", "un", "##believ", "##able", "words", "[SEP]"]
    assert word_groups(toks) == [[1, 2, 3], [4]]


def test_shuffle_words_moves_whole_words_and_keeps_cls_sep():
    toks = ["[CLS]", "the", "river", "bank", "##s", "are", "wet", "[SEP]"]
    for seed in range(5):
        perm = shuffle_words(toks, seed)
        assert sorted(perm) == list(range(len(toks)))
        assert perm[0] == 0 and perm[-1] == len(toks) - 1
        assert perm != list(range(len(toks)))
        i = perm.index(3)
        assert perm[i + 1] == 4  # "##s" still follows "bank"
    assert shuffle_words(["[CLS]", "hi", "[SEP]"]) == [0, 1, 2]  # one word: nothing to shuffle


def test_attention_without_positions_is_permutation_equivariant_and_unpermute_undoes_it():
    """What the page's "shuffle the words" demo claims: with no position information, attention
    of a shuffled sequence, put back in the original order, equals the original attention."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(7, 8))
    Wq, Wk = rng.normal(size=(8, 4)), rng.normal(size=(8, 4))

    def att(x):
        s = (x @ Wq) @ (x @ Wk).T / 2.0
        e = np.exp(s - s.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    perm = [0, 4, 2, 5, 1, 3, 6]
    np.testing.assert_allclose(unpermute(att(X[perm]), perm), att(X), atol=1e-12)
    stacked = np.stack([att(X[perm])] * 2)  # works on (..., T, T)
    np.testing.assert_allclose(unpermute(stacked, perm)[1], att(X), atol=1e-12)


def test_step_differences_are_zero_for_an_exact_recomputation():
    rng = np.random.default_rng(4)
    q, k, v = (rng.normal(size=(5, 4)) for _ in range(3))
    s = q @ k.T / 2.0
    p = np.exp(s - s.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    steps = {"Q": q, "K": k, "V": v, "QK": q @ k.T, "scaled": s, "probs": p, "out": p @ v}
    d = step_differences(steps, q.astype(np.float32), k, v, p)
    assert set(d) == {"Q", "K", "V", "QK", "scaled", "probs", "out"}
    assert max(d.values()) < 1e-5
    assert d["K"] == 0.0
    steps["probs"] = p + 0.01
    assert step_differences(steps, q, k, v, p)["probs"] == pytest.approx(0.01)
