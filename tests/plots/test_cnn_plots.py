import base64
import io

import numpy as np
import pytest
from PIL import Image

from nnviz import plots


def decode(fig_image_source: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(fig_image_source.split(",", 1)[1]))))


def test_mosaic_is_one_png_with_a_target_per_channel():
    maps = np.random.default_rng(0).normal(size=(10, 7, 7)).astype(np.float32)
    fig = plots.feature_mosaic(maps)
    img, targets, bar = fig.data
    assert img.type == "image" and targets.type == "scatter"
    assert list(targets.customdata) == list(range(10))
    png = decode(img.source)  # indexed PNG: one palette index per pixel
    # 10 channels -> 4 columns x 3 rows of 7*7-pixel tiles upscaled to 49 px, 2-px gaps
    assert png.shape == (3 * 49 + 2 * 2, 4 * 49 + 3 * 2)
    assert bar.marker.showscale and (bar.marker.cmin, bar.marker.cmax) == (0.0, 1.0)


def test_mosaic_tile_centres_hit_their_channel():
    maps = np.zeros((4, 5, 5), np.float32)
    maps[2] = 1.0  # only channel 2 is bright
    idx, lay, rng = plots.mosaic_image(maps, [0, 1, 2, 3], per_channel=False)
    x, y = lay.centre(2)
    assert idx[int(y), int(x)] == 254  # top of the colour scale
    x0, y0 = lay.centre(0)
    assert idx[int(y0), int(x0)] == 0
    assert idx[lay.tile, 0] == 255  # the gap between rows is the white palette entry


def test_shared_scale_is_diverging_for_signed_data():
    maps = np.array([[[-2.0, 1.0]], [[0.5, 0.0]]], np.float32)
    fig = plots.feature_mosaic(maps, per_channel=False)
    bar = fig.data[2].marker
    assert (bar.cmin, bar.cmax) == (-2.0, 2.0) and bar.colorscale[0][1] != bar.colorscale[-1][1]


def test_channel_order():
    maps = np.stack([np.full((2, 2), v, np.float32) for v in (0.1, 3.0, -1.0)])
    maps[2, 0, 0] = 9.0
    assert plots.channel_order(maps, "index") == [0, 1, 2]
    assert plots.channel_order(maps, "mean") == [1, 2, 0]  # means 0.1, 3.0, 1.5: largest first
    assert plots.channel_order(maps, "max") == [2, 1, 0]  # maxima 0.1, 3.0, 9.0


def test_top_k_bar_draws_logits_as_logits_not_as_clamped_probabilities():
    logits = np.array([2.5, -1.0, 7.25, 0.5])
    fig = plots.top_k_bar(logits, ["cat", "dog", "car", "cup"], k=3, kind="logit")
    assert list(fig.data[0].y) == ["cup", "cat", "car"]  # plotly draws bottom-up: best (car) on top
    assert list(fig.data[0].x) == [0.5, 2.5, 7.25]  # raw values, best on top
    assert "not a probability" in fig.layout.xaxis.title.text and fig.layout.xaxis.range is None
    assert fig.layout.xaxis.tickformat is None and fig.data[0].text[-1] == "7.25"
    units = plots.top_k_bar(logits, None, k=2, kind="activation")
    assert list(units.data[0].y) == ["unit 0", "unit 2"] and units.layout.xaxis.title.text == "activation"


def test_top_k_bar_orders_best_on_top():
    probs = np.array([0.1, 0.6, 0.05, 0.25])
    fig = plots.top_k_bar(probs, ["a", "b", "c", "d"], k=3)
    assert list(fig.data[0].y) == ["a", "d", "b"]  # plotly draws bottom-up
    assert fig.layout.yaxis.type == "category"


def test_side_by_side_titles_carry_shapes_and_share_scale():
    fig = plots.side_by_side([("before", np.ones((4, 4))), ("after", np.zeros((2, 2)))])
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["before<br>4×4", "after<br>2×2"]
    assert fig.data[0].zmax == fig.data[1].zmax


def test_value_range():
    assert plots.value_range(np.array([-1.0, 3.0]))[:2] == (-3.0, 3.0)
    assert plots.value_range(np.array([1.0, 3.0])) == (1.0, 3.0, plots.SEQUENTIAL)
    assert plots.value_range(np.array([2.0, 2.0]))[:2] == (2.0, 3.0)


def test_filter_grid_rgb_for_colour_models():
    w = np.zeros((4, 3, 3, 3), np.float32)
    w[0, 0] = 1.0  # filter 0 is pure red
    fig = plots.filter_grid(w)
    rgb = decode(fig.data[0].source)
    assert tuple(rgb[5, 5]) == (255, 127, 127)


def test_plots_imports_neither_streamlit_nor_torch():
    import ast
    from pathlib import Path

    files = sorted(Path(plots.__file__).parent.glob("*.py"))
    assert len(files) >= 3
    for f in files:
        tree = ast.parse(f.read_text())
        mods = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        mods |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not mods & {"streamlit", "torch"}, f


@pytest.mark.parametrize("n", [1, 64, 512])
def test_mosaic_scales_to_many_channels(n):
    maps = np.random.default_rng(1).random((n, 14, 14), dtype=np.float32)
    idx, lay, _ = plots.mosaic_image(maps, list(range(n)), True)
    assert lay.rows * lay.cols >= n and idx.dtype == np.uint8 and max(idx.shape) <= plots.MOSAIC_SIDE


def test_big_mosaic_is_shrunk_to_screen_size_and_sent_compactly():
    rng = np.random.default_rng(2)
    maps = rng.normal(size=(64, 112, 112)).astype(np.float32)
    idx, lay, _ = plots.mosaic_image(maps, list(range(64)), True)
    assert max(idx.shape) <= plots.MOSAIC_SIDE and lay.tile < 112
    fig = plots.feature_mosaic(maps)
    assert fig.data[0].source.startswith("data:image/webp")
    # box-averaging: a shrunk tile of a constant map keeps its value
    const = np.full((64, 112, 112), 3.0, np.float32)
    const[5] = 7.0
    idx, lay, _ = plots.mosaic_image(const, list(range(64)), False)
    x, y = lay.centre(5)
    assert idx[int(y), int(x)] == 254


def _residual_trace():
    from nnviz.traces import Activation, FeatureTrace

    x = np.arange(8, dtype=np.float32).reshape(2, 2, 2) - 4  # (C, H, W): -4..3
    fx = np.full((2, 2, 2), 1.5, np.float32)
    acts = [
        Activation("features.2", "InvertedResidual", np.zeros((2, 2, 2), np.float32)),  # stride 2: no input kept
        Activation("features.3", "InvertedResidual", x + fx, input=x),
        Activation("features.3.conv", "Sequential", fx),
        Activation("layer2.0", "BasicBlock", np.maximum(fx + 2 * x, 0), input=x),
        Activation("layer2.0.bn2", "BatchNorm2d", fx),
        Activation("layer2.0.downsample", "Sequential", 2 * x),
    ]
    return FeatureTrace(activations={a.name: a for a in acts}, output=np.zeros(10, np.float32))


def test_residual_blocks_are_those_with_a_shortcut():
    assert plots.cnn.residual_blocks(_residual_trace()) == ["features.3", "layer2.0"]


def test_residual_panels_of_mobilenet_and_resnet_blocks():
    trace = _residual_trace()
    x = trace["features.3"].input
    mnv2 = plots.cnn.residual_panels(trace, "features.3")
    assert [t for t, _ in mnv2] == ["shortcut x", "F(x)", "F(x) + x"]  # no ReLU after MobileNetV2's sum
    np.testing.assert_array_equal(mnv2[2][1], x + 1.5)
    np.testing.assert_array_equal(mnv2[2][1], trace["features.3"].output)
    res = plots.cnn.residual_panels(trace, "layer2.0")
    assert [t for t, _ in res] == ["shortcut x", "F(x)", "F(x) + x", "ReLU(F(x) + x)"]
    np.testing.assert_array_equal(res[0][1], 2 * x)  # the 1x1-conv shortcut, not x
    np.testing.assert_array_equal(res[3][1], np.maximum(2 * x + 1.5, 0))


def test_architecture_strip_colours_both_block_kinds_alike():
    fig = plots.architecture_strip([("layer1.0", "BasicBlock", (64, 56, 56)),
                                    ("features.3", "InvertedResidual", (24, 56, 56))], "features.3")
    assert fig.data[0].marker.color[0] == fig.data[0].marker.color[1] == "#8e63b5"
    assert list(fig.data[0].marker.line.width) == [0, 4]


def test_every_axis_gets_readable_dark_text_unless_a_figure_chose_a_size():
    fig = plots.side_by_side([("a", np.zeros((4, 4))), ("b", np.ones((4, 4)))], "t")
    for ax in (fig.layout.xaxis, fig.layout.yaxis, fig.layout.xaxis2):
        assert ax.tickfont.size >= 16 and ax.tickfont.color == "#333333"
    assert fig.layout.xaxis.title.font.size == 17 and fig.layout.xaxis.title.font.color == "#222222"
    strip = plots.architecture_strip([(f"l{i}", "Conv2d", (4, 2, 2)) for i in range(81)], "l3")
    assert strip.layout.xaxis.tickfont.size == 14  # chosen by the strip, kept
    assert list(strip.layout.xaxis.tickvals) == [f"l{i}" for i in range(0, 81, 3)]  # every 3rd of 81 names
