"""nnviz.ops: the playground's convolution and pooling equal PyTorch's, and the formula equals the shape."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings, strategies as st

from nnviz import ops
from nnviz.types import InputError

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def torch_conv(x, k, stride, padding, dilation, bias):
    pad = padding
    if padding == "same" and stride > 1:  # torch allows 'same' only for stride 1: pad by hand like ops does
        (pt, pb), (pl, pr) = (ops.pad_amounts(x.shape[0], k.shape[0], stride, "same", dilation),
                              ops.pad_amounts(x.shape[1], k.shape[1], stride, "same", dilation))
        x = np.pad(x, ((pt, pb), (pl, pr)))
        pad = 0
    out = F.conv2d(torch.from_numpy(x)[None, None], torch.from_numpy(k)[None, None],
                   torch.tensor([float(bias)], dtype=torch.float64), stride=stride, padding=pad, dilation=dilation)
    return out[0, 0].numpy()


@SETTINGS
@given(h=st.integers(1, 14), w=st.integers(1, 14), kh=st.integers(1, 5), kw=st.integers(1, 5),
       stride=st.integers(1, 4), padding=st.sampled_from([0, 1, 2, 3, "same"]), dilation=st.integers(1, 3),
       bias=st.sampled_from([0.0, 0.5, -2.0]), relu=st.booleans(), seed=st.integers(0, 2**16))
def test_conv2d_equals_torch_and_formula_equals_shape(h, w, kh, kw, stride, padding, dilation, bias, relu, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(h, w))
    k = rng.normal(size=(kh, kw))
    sh, sw = ops.conv_output_size(h, w, kh, kw, stride, padding, dilation)
    if sh.value < 1 or sw.value < 1:
        with pytest.raises(InputError, match="does not fit"):
            ops.conv2d(x, k, stride, padding, dilation, bias, relu)
        with pytest.raises(RuntimeError):
            torch_conv(x, k, stride, padding, dilation, bias)
        return
    ours = ops.conv2d(x, k, stride, padding, dilation, bias, relu)
    ref = torch_conv(x, k, stride, padding, dilation, bias)
    if relu:
        ref = np.maximum(ref, 0)
    assert ours.shape == ref.shape == (sh.value, sw.value)
    assert sh.formula.endswith(f"= {sh.value}") and sw.formula.endswith(f"= {sw.value}")
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)
    # every step-through cell sums to the same value as the vectorised output
    i, j = rng.integers(sh.value), rng.integers(sw.value)
    step = ops.conv_step(x, k, i, j, stride, padding, dilation, bias, relu)
    assert step.value == pytest.approx(ours[i, j], abs=1e-10)
    assert step.total == pytest.approx(step.products.sum())
    assert (step.patch[step.is_pad] == 0).all()


def test_same_padding_keeps_the_size_at_stride_1_and_matches_torch():
    x = np.random.default_rng(1).normal(size=(7, 9))
    for k in (np.ones((3, 3)), np.ones((4, 2)), np.ones((5, 5))):
        for d in (1, 2, 3):
            ours = ops.conv2d(x, k, 1, "same", d)
            assert ours.shape == x.shape
            np.testing.assert_allclose(ours, torch_conv(x, k, 1, "same", d, 0.0), atol=1e-12)


def test_float32_image_stays_float32():
    x = np.random.default_rng(2).random((20, 30), dtype=np.float32)
    out = ops.conv2d(x, ops.PRESETS["Sobel x"].weights, 2, 1)
    assert out.dtype == np.float32
    ref = torch_conv(x.astype(np.float64), ops.PRESETS["Sobel x"].weights, 2, 1, 1, 0.0)
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_horizontal_edge_on_a_step_image_by_hand():
    x = np.zeros((6, 5))
    x[3:] = 1.0  # dark rows 0-2, bright rows 3-5
    k = ops.PRESETS["Horizontal edge"].weights
    assert k.tolist() == [[1, 1, 1], [0, 0, 0], [-1, -1, -1]]
    out = ops.conv2d(x, k)
    # output row r covers input rows r..r+2: top row minus bottom row, 3 columns wide
    expected = np.array([[0, 0, 0], [-3, -3, -3], [-3, -3, -3], [0, 0, 0]], float)
    np.testing.assert_array_equal(out, expected)
    # with padding 1 the zero border makes the bright bottom edge positive
    padded = ops.conv2d(x, k, padding=1)
    assert padded.shape == (6, 5)
    assert padded[:, 2].tolist() == [0, 0, -3, -3, 0, 3]
    assert padded[5].tolist() == [2, 3, 3, 3, 2]
    # ReLU keeps only the positive response; bias shifts everything
    assert ops.conv2d(x, k, padding=1, relu=True).min() == 0
    assert ops.conv2d(x, k, bias=1.0)[1, 1] == -2
    step = ops.conv_step(x, k, 1, 1)
    assert step.patch.tolist() == [[0, 0, 0], [0, 0, 0], [1, 1, 1]]
    assert step.products.tolist() == [[0, 0, 0], [0, 0, 0], [-1, -1, -1]]
    assert step.total == -3


def test_formula_text_has_the_numbers_plugged_in():
    sh, sw = ops.conv_output_size(768, 1024, 3, 3, stride=2, padding=1, dilation=2)
    assert sh.formula == "⌊(768 + 2·1 − 2·(3 − 1) − 1) / 2⌋ + 1 = 383"
    assert sw.value == 511
    assert ops.conv2d(np.zeros((768, 1024), np.float32), np.ones((3, 3)), 2, 1, 2).shape == (383, 511)
    same_h, _ = ops.conv_output_size(10, 10, 4, 4, 3, "same")
    assert "1 + 2" in same_h.formula and same_h.value == 4  # asymmetric 'same' padding is spelled out


@SETTINGS
@given(h=st.integers(1, 12), w=st.integers(1, 12), window=st.integers(1, 4), stride=st.integers(1, 4),
       padding=st.integers(0, 2), seed=st.integers(0, 2**16))
def test_pooling_equals_torch(h, w, window, stride, padding, seed):
    x = np.random.default_rng(seed).normal(size=(h, w))
    ph, pw = ops.pool_output_size(h, w, window, stride, padding)
    if padding > window // 2 or ph.value < 1 or pw.value < 1:
        with pytest.raises(InputError):
            ops.max_pool2d(x, window, stride, padding)
        with pytest.raises(InputError):
            ops.avg_pool2d(x, window, stride, padding)
        return
    t = torch.from_numpy(x)[None, None]
    ref_max, ref_idx = F.max_pool2d(t, window, stride, padding, return_indices=True)
    ref_avg = F.avg_pool2d(t, window, stride, padding)
    mx, winners = ops.max_pool2d(x, window, stride, padding)
    av = ops.avg_pool2d(x, window, stride, padding)
    assert mx.shape == av.shape == tuple(ref_max.shape[2:]) == (ph.value, pw.value)
    np.testing.assert_array_equal(mx, ref_max[0, 0].numpy())
    np.testing.assert_allclose(av, ref_avg[0, 0].numpy(), atol=1e-12)
    # winners are the elements torch's indices point at
    np.testing.assert_array_equal(winners[..., 0] * w + winners[..., 1], ref_idx[0, 0].numpy())
    if padding == 0:
        i, j = ph.value - 1, pw.value - 1
        step = ops.pool_step(x, window, i, j, stride)
        assert step.max == mx[i, j] and step.winner == tuple(winners[i, j])
        assert step.mean == pytest.approx(av[i, j])


def test_lecture_max_pool_example_exactly():
    x = ops.LECTURE_POOL_EXAMPLE
    mx, winners = ops.max_pool2d(x, 2, 2)
    assert mx.tolist() == [[6, 8], [3, 4]]
    assert [tuple(w) for w in winners.reshape(-1, 2)] == [(1, 1), (1, 3), (2, 0), (3, 3)]
    assert ops.avg_pool2d(x, 2).tolist() == [[3.25, 5.25], [2.0, 2.0]]
    h, _ = ops.pool_output_size(4, 4, 2, 2)
    assert h.formula == "⌊(4 − 2) / 2⌋ + 1 = 2"


def test_ties_go_to_the_first_element_in_reading_order_like_torch():
    x = np.array([[1.0, 5.0], [5.0, 5.0]])
    _, winners = ops.max_pool2d(x, 2)
    _, idx = F.max_pool2d(torch.from_numpy(x)[None, None], 2, return_indices=True)
    assert tuple(winners[0, 0]) == (0, 1) and int(idx) == 1
    assert ops.pool_step(x, 2, 0, 0).winner == (0, 1)


def test_kernel_larger_than_padded_image_is_a_sentence():
    with pytest.raises(InputError, match=r"The 5×5 kernel does not fit in the 4×4 padded input"):
        ops.conv2d(np.ones((2, 2)), np.ones((5, 5)), padding=1)
    with pytest.raises(InputError, match="covers 5×5 pixels with dilation 2"):
        ops.conv2d(np.ones((4, 4)), np.ones((3, 3)), dilation=2)
    with pytest.raises(InputError, match="does not fit"):
        ops.max_pool2d(np.ones((3, 3)), 4)


def test_stride_larger_than_image_gives_one_output():
    out = ops.conv2d(np.arange(9.0).reshape(3, 3), np.ones((2, 2)), stride=4)
    assert out.tolist() == [[8.0]]
    assert ops.conv_output_size(3, 3, 2, 2, 4)[0].value == 1
    assert ops.max_pool2d(np.arange(9.0).reshape(3, 3), 2, 4)[0].tolist() == [[4.0]]


def test_bad_hyper_parameters_are_sentences():
    for kwargs in ({"stride": 0}, {"dilation": 0}, {"padding": -1}, {"padding": "valid"}):
        with pytest.raises(InputError):
            ops.conv2d(np.ones((5, 5)), np.ones((3, 3)), **kwargs)
    with pytest.raises(InputError, match="one channel"):
        ops.conv2d(np.ones((5, 5, 3)), np.ones((3, 3)))


@pytest.mark.parametrize("cells, message", [
    ([[1, "", 0], [0, 1, 0], [0, 0, 1]], "row 1, column 2 is empty"),
    ([[1, None, 0], [0, 1, 0], [0, 0, 1]], "row 1, column 2 is empty"),
    ([[1, 0, 0], [0, "abc", 0], [0, 0, 1]], "row 2, column 2 holds 'abc', which is not a number"),
    ([[1, 0, 0], [0, 1, 0], [0, 0, float("nan")]], "row 3, column 3 is empty"),
    ([[1, 0, 0], [0, "nan", 0], [0, 0, 1]], "row 2, column 2 is not a finite number"),
    ([[1, 0, 0], [0, "inf", 0], [0, 0, 1]], "not a finite number"),
    ([[0, 0, 0], [0, "0", 0], [0, 0, 0.0]], "all-zero kernel"),
    ([[1, 0], [0]], "same number of cells"),
    ([], "empty"),
    ([[1, 0, 0], [0, "1/0", 0], [0, 0, 1]], "which is not a number"),
])
def test_parse_kernel_errors_are_one_sentence(cells, message):
    with pytest.raises(InputError, match=message) as e:
        ops.parse_kernel(cells)
    assert str(e.value).count(". ") == 0 and str(e.value).endswith(".")


def test_parse_kernel_accepts_numbers_text_fractions_and_dataframes():
    import pandas as pd

    k = ops.parse_kernel([["1/9", " 2 ", "-1"], ["0,5", "−3", 4], [1e-3, np.float32(2), "1.5e1"]])
    np.testing.assert_allclose(k, [[1 / 9, 2, -1], [0.5, -3, 4], [1e-3, 2, 15]])
    df = pd.DataFrame([["1", "0"], ["0", "-1"]], columns=["c1", "c2"])
    assert ops.parse_kernel(df).tolist() == [[1, 0], [0, -1]]
    assert ops.parse_grid([[0, 0], [0, 0]], "matrix").tolist() == [[0, 0], [0, 0]]  # a matrix may be all zero


def test_presets_have_names_meanings_and_expected_behaviour():
    expected = {"Identity", "Horizontal edge", "Vertical edge", "Sobel x", "Sobel y", "Laplacian", "Box blur",
                "Gaussian blur", "Sharpen", "Emboss"}
    assert set(ops.PRESETS) == expected
    x = np.random.default_rng(3).random((9, 9))
    for p in ops.PRESETS.values():
        assert p.meaning.endswith(".") and p.weights.shape == (3, 3)
    np.testing.assert_allclose(ops.conv2d(x, ops.PRESETS["Identity"].weights, padding=1), x)
    flat = np.full((6, 6), 0.4)
    for name in ("Box blur", "Gaussian blur", "Sharpen"):  # weights sum to 1: flat stays flat
        np.testing.assert_allclose(ops.conv2d(flat, ops.PRESETS[name].weights), 0.4)
    for name in ("Horizontal edge", "Vertical edge", "Sobel x", "Sobel y", "Laplacian"):  # sum to 0
        np.testing.assert_allclose(ops.conv2d(flat, ops.PRESETS[name].weights), 0, atol=1e-12)


def test_fmt_is_short():
    assert [ops.fmt(v) for v in (3.0, -0.0, 0.12345, 12.345, 123.45, float("nan"))] == [
        "3", "0", "0.12", "12.3", "123", "–"]


def test_size_line_says_when_the_kernel_does_not_fit():
    fits = ops.axis_size(8, 3)
    assert ops.size_line(fits) == fits.formula and fits.formula.endswith("= 6")
    too_big = ops.axis_size(4, 5, dilation=3)
    assert too_big.value <= 0 and ops.size_line(too_big).endswith("the kernel does not fit")


def test_busiest_spot_centres_the_crop_on_the_edge():
    x = np.zeros((64, 64), np.float32)
    x[:, 40:] = 1.0  # one vertical edge between columns 39 and 40
    top, left = ops.busiest_spot(x, 8)
    assert left <= 39 < left + 8  # the edge is inside the crop
    assert (top, left) == (12, 35)  # first strongest pixel inside the 16-px margin, crop centred on it
    assert ops.busiest_spot(np.zeros((6, 6)), 4) == (0, 0)  # small image: no margin, clipped


def test_step_region_reads_the_real_neighbours_and_equals_the_full_output():
    rng = np.random.default_rng(0)
    x = rng.random((20, 20))
    k = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])
    full = ops.conv2d(x, k, 1, 1)
    inner = ops.step_region(x, k, 5, 7, 8, padding=1)
    r0, c0 = inner.origin
    np.testing.assert_array_equal(inner.out, full[r0 : r0 + 8, c0 : c0 + 8])
    assert not inner.mask.any() and inner.image_origin == (r0 - 1, c0 - 1)  # real pixels only
    step = inner.step(k, 0, 0)
    assert step.value == full[r0, c0] and not step.is_pad.any()
    # what padding the crop itself with zeros would have shown instead (the bug this replaces)
    crop_padded = ops.conv2d(x[5:13, 7:15], k, 1, 1)
    assert crop_padded[0, 0] != full[5, 7]
    edge = ops.step_region(x, k, 0, 0, 8, padding=1)
    assert edge.origin == (0, 0) and edge.mask[0].all() and edge.mask[:, 0].all() and not edge.mask[1:, 1:].any()
    np.testing.assert_array_equal(edge.out, full[:8, :8])


def test_step_region_with_stride_dilation_and_same_padding():
    x = np.arange(30 * 30, dtype=np.float64).reshape(30, 30) % 7
    k = np.ones((3, 3))
    for stride, pad, dil in ((2, 1, 1), (2, "same", 1), (1, 0, 2), (3, 2, 2)):
        full = ops.conv2d(x, k, stride, pad, dil)
        reg = ops.step_region(x, k, 11, 4, 8, stride, pad, dil)
        (r0, c0), (h, w) = reg.origin, reg.out.shape
        np.testing.assert_array_equal(reg.out, full[r0 : r0 + h, c0 : c0 + w])
        assert h == min(-(-8 // stride), full.shape[0] - r0)


def test_sum_texts_add_up_as_shown_or_say_they_do_not():
    terms, total, ok = ops.sum_texts([0.114, 0.114, 0.104], 0.332)  # at 2 decimals: 0.11+0.11+0.10 = 0.32
    assert ok and terms == ["0.114", "0.114", "0.104"] and total == "0.332"
    terms, total, ok = ops.sum_texts([1.0, 2.0, -3.0], 0.0)
    assert ok and terms == ["1", "2", "-3"] and total == "0"
    _, total, ok = ops.sum_texts([1 / 3] * 3, 1.0)  # 0.333 * 3 = 0.999: no precision up to 3 makes it add up
    assert not ok and total == "1.00"
