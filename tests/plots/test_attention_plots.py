"""Attention figures: labels, colour bars, masks, image encoding and sizes, checked on the figure
objects (pixels are checked in the browser tests)."""
import json

import numpy as np
import plotly.graph_objects as go
import pytest

from nnviz import plots
from nnviz.plots.attention import block_max


def _att(T, seed=0):
    a = np.random.default_rng(seed).random((T, T)) ** 3
    return a / a.sum(1, keepdims=True)


def test_repeated_tokens_keep_their_own_rows_and_columns():
    toks = ["[CLS]", "the", "cat", "saw", "the", "dog", "[SEP]"]
    fig = plots.attention_heatmap(_att(7), toks, toks, "t")
    hm = fig.data[0]
    assert isinstance(hm, go.Heatmap)
    assert list(fig.layout.yaxis.tickvals) == list(range(7))  # numeric axis: both "the" rows exist
    assert list(fig.layout.yaxis.ticktext) == toks
    assert fig.layout.yaxis.autorange == "reversed"
    assert hm.zmin == 0 and hm.zmax == pytest.approx(_att(7).max(), rel=1e-6)
    assert hm.colorbar.title.text == "attention weight"
    assert hm.texttemplate  # 7 tokens: the weights are printed
    assert "the (#1) → dog (#5)" in hm.customdata[1][5]


def test_large_maps_do_not_print_numbers_and_zmax_saturates():
    toks = [f"w{i}" for i in range(30)]
    fig = plots.attention_heatmap(_att(30), toks, toks, zmax=0.05)
    assert not fig.data[0].texttemplate
    assert fig.data[0].zmax == 0.05


def test_special_markup_is_escaped_in_plotly_labels():
    fig = plots.attention_heatmap(_att(3), ["<s>", "1", "</s>"], ["a", "&", " "])
    assert list(fig.layout.yaxis.ticktext) == ["&lt;s&gt;", "1", "&lt;/s&gt;"]
    assert list(fig.layout.xaxis.ticktext) == ["a", "&amp;", "␣"]


def test_masked_cells_are_nan_on_a_grey_background():
    a = np.tril(_att(5))
    shown = np.where(np.tril(np.ones((5, 5), bool)), a, np.nan)
    fig = plots.attention_heatmap(shown, list("abcde"), list("abcde"), masked=True)
    assert fig.layout.plot_bgcolor == plots.attention.MASKED_COLOUR
    z = np.asarray(fig.data[0].z, dtype=float)
    assert np.isnan(z[0, 1]) and not np.isnan(z[1, 0])


def test_matrix_image_is_one_png_with_a_colour_bar_and_window_box():
    fig = plots.matrix_image(_att(100), "all", window=(10, 34, 0, 40), zmin=0, zmax=0.2)
    img, bar = fig.data[0], fig.data[1]
    assert isinstance(img, go.Image) and img.source.startswith("data:image/png;base64,")
    assert bar.marker.showscale and bar.marker.cmax == 0.2
    rect = fig.layout.shapes[0]
    assert (rect.x0, rect.x1, rect.y0, rect.y1) == (-0.5, 39.5, 9.5, 33.5)


def test_block_max_keeps_thin_diagonals_and_masks():
    a = np.eye(8)
    np.testing.assert_array_equal(block_max(a, 2), np.eye(4))  # an averaged diagonal would drop to 0.5
    m = np.full((4, 4), np.nan)
    m[2:, :2] = 0.3
    out = block_max(m, 2)
    assert np.isnan(out[0, 1]) and out[1, 0] == 0.3
    assert block_max(np.ones((5, 5)), 2).shape == (3, 3)


def test_a_512_token_head_is_sent_small():
    fig = plots.matrix_image(_att(512), "all")
    assert len(fig.to_json()) < 250_000  # the raw weights as heatmap JSON would be several MB
    assert fig.data[0].dx == 2  # block max: each pixel covers 2x2 positions


def test_head_mosaic_click_targets_and_labels():
    maps = np.stack([_att(10, s) for s in range(6)])
    fig = plots.head_mosaic(maps.reshape(6, 10, 10), [f"L{i}" for i in range(6)], cols=3,
                            customdata=[[i // 3, i % 3] for i in range(6)], selected=4,
                            row_labels=["layer 1", "layer 2"], col_labels=["H1", "H2", "H3"])
    img, targets, bar = fig.data
    assert isinstance(img, go.Image)
    assert [list(c) for c in targets.customdata] == [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]
    assert list(fig.layout.yaxis.ticktext) == ["layer 1", "layer 2"]
    assert len(fig.layout.shapes) == 1  # the selected head is outlined
    assert fig.layout.clickmode == "event+select"


def test_head_lines_are_binned_and_filtered():
    T = 40
    att = _att(T)
    fig = plots.head_lines(att, [str(i) for i in range(T)], [str(i) for i in range(T)], bins=8, top_k=3)
    line_traces = [t for t in fig.data if t.mode == "lines" and t.x and t.x[0] is not None]
    assert len(line_traces) <= 8  # a few traces, not T*T
    n_lines = sum(len([x for x in t.x if x is None]) for t in line_traces)
    assert n_lines <= 3 * T
    one = plots.head_lines(att, [str(i) for i in range(T)], [str(i) for i in range(T)], query=5, min_weight=0.0)
    ys = [y for t in one.data if t.mode == "lines" and t.x and t.x[0] is not None for y in t.y[0::3]]
    assert set(ys) == {-5.0}  # only the chosen query's lines


def test_query_steps_and_weighted_sum_show_the_numbers():
    qk = np.array([2.0, -1.0, 0.5])
    scaled = qk / 2
    p = np.exp(scaled) / np.exp(scaled).sum()
    fig = plots.query_steps(qk, scaled, p, ["a", "b", "c"], d_k=4)
    assert len(fig.data) == 3 and all(t.texttemplate for t in fig.data)
    assert [a.text for a in fig.layout.annotations] == ["1. q · kⱼ", "2. ÷ √4", "3. softmax"]
    V = np.arange(6.0).reshape(3, 2)
    ws = plots.weighted_sum(p, V, ["a", "b", "c"])
    np.testing.assert_allclose(np.asarray(ws.data[1].z, float)[0], p @ V, rtol=1e-6)


def test_cosine_by_layer_names_layers_and_pairs():
    fig = plots.cosine_by_layer({"A vs B": np.array([1.0, 0.9, 0.7]), "B vs C": np.array([1.0, 0.95, 0.9])})
    assert list(fig.layout.xaxis.ticktext) == ["embeddings", "layer 1", "layer 2"]
    assert [t.name for t in fig.data] == ["A vs B", "B vs C"]
    assert fig.layout.yaxis.range[1] > 1.0


def test_positional_figures():
    from nnviz.models.attention import sinusoidal_positional_encoding

    pe = sinusoidal_positional_encoding(32, 16).numpy()
    hm = plots.positional_heatmap(pe, "pe")
    assert hm.data[0].zmin == -1 and hm.data[0].zmax == 1
    waves = plots.positional_waves(pe, [0, 1, 8])
    assert [t.name.split(" (")[0] for t in waves.data] == ["dim 0", "dim 1", "dim 8"]
    assert "sin" in waves.data[0].name and "cos" in waves.data[1].name


def test_tokens_html_marks_pieces_unknown_and_escapes():
    out = plots.tokens_html(["[CLS]", "un", "##known", "[UNK]", "<b>", "[SEP]"], unknown=[3], originals={3: "🙂"},
                            weights=np.array([0, 0.1, 0.2, 0.3, 0.4, 0.5]), highlight=1)
    assert "&lt;b&gt;" in out and ">&lt;b&gt;<" in out  # the token, escaped, is the chip text
    assert "class='nnv-tok c'" in out  # ##known is a continuation
    assert "[UNK] 🙂" in out and "nnv-tok u" in out
    assert "nnv-tok s" in out  # specials
    assert "nnv-tok h" in out  # highlight
    assert out.count("background:rgb(") == 5  # every token but the unknown one is coloured


def test_comparison_has_a_diverging_difference_panel():
    a, b = _att(6, 1), _att(6, 2)
    fig = plots.attention_comparison([("x", a), ("y", b), ("difference", b - a)], list("abcdef"))
    assert fig.data[2].colorscale[0][1] != fig.data[0].colorscale[0][1]
    assert fig.data[2].zmin == -fig.data[2].zmax
    json.loads(fig.to_json())
