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


# --- the attention page's figures ------------------------------------------------------------------

def test_staircase_runs_under_the_diagonal():
    xs, ys = plots.attention.staircase(3)
    assert xs == [-0.5, 0.5, 0.5, 1.5, 1.5, 2.5]
    assert ys == [0.5, 0.5, 1.5, 1.5, 2.5, 2.5]
    assert plots.attention.staircase(1) == ([], [])


def test_causal_scores_are_symmetric_diverging_with_the_staircase():
    s = np.array([[1.0, -3.0], [2.0, 0.5]])
    fig = plots.attention.causal_scores(s, ["a", "b"], "scores")
    hm, line = fig.data
    assert (hm.zmin, hm.zmax) == (-3.0, 3.0) and hm.colorbar.title.text == "score"
    assert hm.colorscale[0][1] == go.Figure(go.Heatmap(colorscale=plots.DIVERGING)).data[0].colorscale[0][1]
    assert list(line.x) == [-0.5, 0.5, 0.5, 1.5] and list(line.y) == [0.5, 0.5, 1.5, 1.5]


def test_token_vectors_scale_ticks_and_highlight():
    m = np.array([[1.0, -2.0, 0.5, 0.0], [0.25, 0.0, 0.0, 1.5]])
    fig = plots.attention.token_vectors(m, ["x", "y"], "v", row_ids=[3, 7], highlight_row=1, tick_step=2)
    hm = fig.data[0]
    assert (hm.zmin, hm.zmax) == (-2.0, 2.0)
    assert list(fig.layout.xaxis.tickvals) == [0, 2] and list(fig.layout.xaxis.ticktext) == ["0", "2"]
    assert fig.layout.height == 300  # max(300, 140 + 26 * 2)
    assert fig.layout.shapes[0].y0 == 0.5 and fig.layout.shapes[0].y1 == 1.5  # row 1 outlined
    assert "x (#3)" in hm.customdata[0][0]
    assert plots.attention.token_vectors(m, ["x", "y"], lim=4.0).data[0].zmax == 4.0


def test_projections_show_x_on_the_whole_text_scale_and_q_k_v_per_rows():
    X = np.array([[1.0, 0.0], [0.0, -5.0], [2.0, 2.0]])
    Q, K, V = np.array([[1.0], [2.0], [3.0]]), np.array([[-1.0], [0.0], [4.0]]), np.ones((3, 1))
    figs = plots.attention.projections({"X": X, "Q": Q, "K": K, "V": V}, np.array([0, 2]), ["a", "c"], 1, layer=2)
    assert list(figs) == ["X", "Q", "K", "V"]
    assert figs["X"].layout.title.text == "X: layer 3's input, 3 tokens × 2 dimensions"
    assert figs["X"].data[0].zmax == 5.0  # the whole X, not only the rows shown
    assert figs["Q"].data[0].zmax == 3.0 and figs["K"].data[0].zmax == 4.0
    assert figs["Q"].layout.title.text == "Q (3 × 1)" and figs["Q"].layout.shapes and not figs["K"].layout.shapes
    assert list(plots.attention.projections({"X": X, "Q": Q, "K": K, "V": V}, np.arange(3), list("abc"), 0, 0,
                                            show_x=False)) == ["Q", "K", "V"]


def test_check_table_marks_each_step():
    diffs = {"Q": 1e-7, "K": 0.0, "V": 2e-7, "QK": 3e-6, "scaled": 5e-7, "probs": 0.02, "out": 1e-7}
    rows = plots.attention.check_table(diffs).splitlines()
    assert len(rows) == 9
    assert rows[2] == "| Q = X W_Q + b_Q | 1.0e-07 | ✓ equal (float32 rounding) |"
    assert rows[7] == "| softmax | 2.0e-02 | ✗ differs |"


def test_layer_and_model_head_mosaics_name_every_head():
    att = np.stack([np.stack([_att(5, l * 3 + h) for h in range(3)]) for l in range(2)])  # (2, 3, 5, 5)
    desc = [[f"d{l}{h}" for h in range(3)] for l in range(2)]
    one = plots.attention.layer_heads(att[1], desc[1], selected=2)
    assert list(one.data[1].customdata) == [0, 1, 2]
    assert list(one.data[1].text) == ["head 1: d10", "head 2: d11", "head 3: d12"]
    assert len(one.layout.shapes) == 1
    every = plots.attention.all_heads(att, desc, (1, 0))
    assert [list(c) for c in every.data[1].customdata] == [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]
    assert every.data[1].text[4] == "layer 2, head 2: d11"
    assert list(every.layout.xaxis.ticktext) == ["H1", "H2", "H3"]
    assert not plots.attention.all_heads(att, desc).layout.shapes


def _cross_trace():
    from nnviz.traces import CrossTrace

    cross = np.zeros((2, 2, 3, 4))  # (Ld, H, T, S)
    cross[1, 0] = np.eye(3, 4)
    cross[1, 1] = np.eye(3, 4, k=1)
    dec = np.broadcast_to(np.tril(np.ones((3, 3))) / np.arange(1, 4)[:, None], (2, 2, 3, 3)).copy()
    enc = np.full((1, 2, 4, 4), 0.25)
    enc[0, 1] = np.eye(4)
    return CrossTrace(source="ab c", tokens=list("ab c"), dec_inputs=["<s>", "1", "2"], produced=["1", "2", "</s>"],
                      output="12", valid=False, enc_self_attn=enc, dec_self_attn=dec, cross_attn=cross,
                      probs=np.full((3, 2), 0.5), labels=("1", "2"))


def test_translation_maps_pick_a_head_or_the_mean_and_mask_the_future():
    tr = _cross_trace()
    maps = plots.attention.translation_maps(tr, 1, 1)
    np.testing.assert_array_equal(np.asarray(maps["cross"].data[0].z, float), np.eye(3, 4, k=1))
    assert maps["cross"].layout.title.text.startswith("Decoder layer 2, head 2:")
    assert list(maps["cross"].layout.yaxis.ticktext) == ["1", "2", "&lt;/s&gt;"]
    assert list(maps["cross"].layout.xaxis.ticktext) == ["a", "b", "␣", "c"]
    # the encoder has one layer: decoder layer 2 shows its last layer, mean of heads
    assert maps["encoder"].layout.title.text == "Encoder self-attention, layer 1"
    np.testing.assert_allclose(np.asarray(maps["encoder"].data[0].z, float), (np.full((4, 4), 0.25) + np.eye(4)) / 2)
    dec = np.asarray(maps["decoder"].data[0].z, float)
    assert np.isnan(dec[0, 1]) and dec[2, 1] == pytest.approx(1 / 3)
    mean = plots.attention.translation_maps(tr, 1, None)["cross"]
    np.testing.assert_allclose(np.asarray(mean.data[0].z, float), (np.eye(3, 4) + np.eye(3, 4, k=1)) / 2)
    assert "mean of heads" in mean.layout.title.text
    first = plots.attention.translation_maps(tr, 0, 1)["encoder"]  # same layer: the same head
    np.testing.assert_array_equal(np.asarray(first.data[0].z, float), np.eye(4))


def test_shuffle_comparison_cuts_to_the_first_tokens_and_says_so():
    a, b = _att(5, 1), _att(5, 2)
    fig = plots.attention.shuffle_comparison(a, b, list("abcde"), "Layer 1, head 2", first=3)
    assert fig.layout.title.text == "Layer 1, head 2 (first 3 of 5 tokens)"
    np.testing.assert_allclose(np.asarray(fig.data[2].z, float), (b - a)[:3, :3], rtol=1e-6)
    assert plots.attention.shuffle_comparison(a, b, list("abcde"), "t").layout.title.text == "t"


def test_translation_html_escapes_and_gives_the_verdict():
    out = plots.attention.translation_html("<b>1 jan", "", False)
    assert "<code>&lt;b&gt;1 jan</code>" in out and "(nothing)" in out and "✗ not a real date" in out
    assert "✓ a real date" in plots.attention.translation_html("1 jan 2000", "2000-01-01", True)


def test_a_cut_colour_scale_outlines_and_names_the_columns_above_it():
    att = np.full((5, 5), 0.05)
    att[:, 0], att[:, 4] = 0.6, 0.15  # [CLS] and [SEP] soak up the weight
    toks = ["[CLS]", "a", "b", "c", "[SEP]"]
    honest = plots.attention_heatmap(att, toks, toks)
    assert honest.data[0].zmax == pytest.approx(0.6) and not honest.layout.shapes
    cut = plots.attention_heatmap(att, toks, toks, zmax=0.1)
    outlined = [s for s in cut.layout.shapes if s.name == "clipped column"]
    assert [(s.x0, s.x1) for s in outlined] == [(-0.5, 0.5), (3.5, 4.5)]
    note = next(a.text for a in cut.layout.annotations if a.name == "clipped note")
    assert "[CLS], [SEP]" in note and note.startswith("dashed columns: above the colour scale")
    assert not plots.attention_heatmap(att, toks, toks, zmax=0.6).layout.shapes  # nothing above it


def test_token_ticks_stay_readable_on_a_short_heatmap_and_thin_out_instead_of_overlapping():
    toks = [f"w{i}" for i in range(30)]
    fig = plots.attention_heatmap(np.full((30, 30), 1 / 30), toks, toks, height=400, square=False)
    y = fig.layout.yaxis
    assert y.tickfont.size >= 16 and len(y.tickvals) < 30  # 30 rows in ~230 px: every other label
    assert fig.layout.xaxis.tickfont.size >= 16 and fig.layout.xaxis.tickangle in (0, -90)
    tall = plots.attention_heatmap(np.full((30, 30), 1 / 30), toks, toks, square=False)
    assert list(tall.layout.yaxis.tickvals) == list(range(30))
    assert tall.layout.yaxis.title.font.color == "#111"  # dark axis titles


def test_token_bar_labels_stay_readable_and_apart_for_long_texts():
    fig = plots.attention.token_bar(np.linspace(0, 1, 500), [f"t{i}" for i in range(500)])
    assert len(fig.data[0].y) == 500  # every bar is drawn (hover names each one)
    ticks = fig.layout.xaxis.tickvals
    assert 10 <= len(ticks) <= 45 and fig.layout.xaxis.tickfont.size >= 14 and fig.layout.xaxis.tickangle == -90
    short = plots.attention.token_bar(np.ones(16), list("abcdefghijklmnop"))
    assert list(short.layout.xaxis.tickvals) == list(range(16))  # a sentence keeps every label


def test_comparison_colour_bars_sit_between_panels_not_over_them():
    a = np.random.default_rng(0).random((16, 16))
    fig = plots.attention.attention_comparison([("x", a), ("y", a), ("difference", a - a.T)], list("abcdefghijklmnop"))
    shown = [t for t in fig.data if t.showscale]
    assert len(shown) == 2  # one for the shared scale, one for the difference
    assert fig.layout.xaxis2.domain[1] < shown[0].colorbar.x < fig.layout.xaxis3.domain[0]
    pair = plots.attention.attention_comparison([("x", a), ("y", a)], list("abcdefghijklmnop"), diff_last=False,
                                                zmax=0.5)
    assert [t.showscale for t in pair.data] == [False, True] and all(t.zmax == 0.5 for t in pair.data)


def test_matrix_pair_is_one_figure_on_one_scale():
    a, b = np.eye(8), -np.eye(8)
    fig = plots.attention.matrix_pair(a, b, ("left", "right"), zmin=-1, zmax=1, scale=plots.DIVERGING,
                                      colorbar_title="cosine", height=560)
    assert [t.type for t in fig.data] == ["image", "image", "scatter"]  # two maps, one colour bar
    assert fig.data[2].marker.cmin == -1 and fig.data[2].marker.cmax == 1
    assert [a.text for a in fig.layout.annotations] == ["left", "right"] and fig.layout.height == 560
