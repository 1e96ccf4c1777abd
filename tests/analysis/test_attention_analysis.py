"""Attention analyses: plain numpy, exact values on hand-made attention."""
import math

import numpy as np
import pytest

from nnviz.analysis.attention import (
    attention_rollout,
    cosine_matrix,
    default_query,
    describe_head,
    describe_heads,
    head_average,
    head_patterns,
    mask_future,
    shuffle_words,
    special_zmax,
    step_differences,
    step_selection,
    thin_top_k,
    top_k_columns,
    top_k_per_row,
    unpermute,
    window_columns,
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


# --- what the attention page shows of a trace -------------------------------------------------------

def test_mask_future_hides_exactly_the_cells_above_the_diagonal():
    out = mask_future(np.arange(6.0).reshape(2, 3))
    assert np.isnan(out).tolist() == [[False, True, True], [False, False, True]]
    assert out[1, :2].tolist() == [3.0, 4.0]


def test_default_query_prefers_bank_then_it_then_the_first_word():
    assert default_query(["[CLS]", "it", "is", "a", "bank", "[SEP]"]) == 4
    assert default_query(["[CLS]", "so", "it", "goes", "[SEP]"]) == 2
    assert default_query(["[CLS]", "hello", "[SEP]"]) == 1
    assert default_query(["x"]) == 0


def test_special_zmax_ignores_cls_and_sep_columns_only_when_they_frame_the_text():
    att = np.array([[0.7, 0.1, 0.2, 0.0], [0.1, 0.3, 0.1, 0.5]])
    toks = ["[CLS]", "a", "b", "[SEP]"]
    assert special_zmax(att, toks) == 0.3  # the largest weight in the middle columns
    assert special_zmax(att, ["a", "b", "c", "d"]) is None
    assert special_zmax(att[:, :3], toks[:3]) is None  # too few tokens
    assert special_zmax(np.zeros((2, 4)), toks) == 1e-6


def test_window_columns_same_window_or_strongest_keys_within_a_budget():
    att = np.zeros((6, 8))
    att[2, [4, 5, 6]] = [0.5, 0.3, 0.2]
    att[3, [1, 5, 6]] = [0.6, 0.3, 0.1]
    cols, k = window_columns(att, 2, 4, strongest=False)
    assert cols.tolist() == [2, 3] and k == 0
    cols, k = window_columns(att, 2, 4, strongest=True)
    assert cols.tolist() == [0, 1, 4, 5, 6, 7] and k == 3  # top 3 of each row, plus first and last
    cols, k = window_columns(att, 2, 4, strongest=True, max_columns=4)
    assert cols.tolist() == [0, 1, 4, 7] and k == 1  # k shrinks until the columns fit
    assert window_columns(att, 6, 9, strongest=False)[0].tolist() == [6, 7]  # clipped to the keys


def test_step_selection_keeps_the_strongest_keys_and_the_query_row():
    p = np.array([0.05, 0.4, 0.05, 0.3, 0.2])
    keys, rows = step_selection(p, 0, n_keys=2, all_rows=3)
    assert keys.tolist() == [1, 3] and rows.tolist() == [0, 1, 3]
    keys, rows = step_selection(p, 4, n_keys=5, all_rows=5)
    assert keys.tolist() == rows.tolist() == [0, 1, 2, 3, 4]
    keys, _ = step_selection(np.array([0.25, 0.25, 0.25, 0.25]), 0, n_keys=2)
    assert keys.tolist() == [0, 1]  # ties: the earlier keys


def test_cosine_matrix_of_hand_made_vectors():
    c = cosine_matrix(np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0], [-1.0, 0.0]]))
    s = 1 / math.sqrt(2)
    np.testing.assert_allclose(c, [[1, 0, s, -1], [0, 1, s, 0], [s, s, 1, -s], [-1, 0, -s, 1]], atol=1e-12)


def test_describe_heads_describes_every_head_by_layer_and_head():
    T = 5
    prev = np.eye(T, k=-1)
    prev[0, 0] = 1.0
    first = np.zeros((T, T))
    first[:, 0] = 1.0
    out = describe_heads(head_patterns(np.stack([np.stack([prev, first]), np.stack([first, prev])])))
    assert len(out) == 2 and len(out[0]) == 2
    assert "previous token" in out[0][0] and "first token" in out[0][1]
    assert "first token" in out[1][0] and "previous token" in out[1][1]
