"""nnviz.plots.conv: figures carry the right dimensions, a zero-centred scale and the step-through marks."""
import base64
import io

import numpy as np
from PIL import Image

from nnviz import ops, plots


def decode(src: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))))


def test_input_output_side_by_side_dims_and_zero_centred_colour_bar():
    x = np.random.default_rng(0).random((30, 40)).astype(np.float32)
    out = ops.conv2d(x, ops.PRESETS["Sobel x"].weights, stride=2)
    fig = plots.conv_input_output(x, out, "input: grayscale", "output: Sobel x", crop_box=(2, 3, 8, 8))
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["input: grayscale<br>30×40 (height × width)", "output: Sobel x<br>14×19 (height × width)"]
    images = [t for t in fig.data if t.type == "image"]
    bars = [t.marker for t in fig.data if t.type == "scatter" and t.marker.showscale]
    assert len(images) == 2 and len(bars) == 2
    assert (bars[0].cmin, bars[0].cmax) == (0.0, 1.0)
    assert bars[1].cmin == -bars[1].cmax == -float(np.abs(out).max())  # centred at zero
    # axes are in input pixels, whatever size the image was sent at
    assert tuple(fig.layout.xaxis2.range) == (-0.5, 18.5) and tuple(fig.layout.yaxis2.range) == (13.5, -0.5)
    assert fig.layout.shapes[0].x0 == 2.5 and fig.layout.shapes[0].y1 == 9.5  # the crop box


def test_big_images_are_sent_downsampled_and_small_ones_upscaled():
    big = np.random.default_rng(1).random((768, 1024)).astype(np.float32)
    shown, step = plots.fit_for_screen(big)
    assert shown.shape == (480, plots.PANEL_SIDE) and step == 1024 / plots.PANEL_SIDE
    np.testing.assert_allclose(shown.mean(), big.mean(), atol=1e-3)  # box average: values kept honest
    tiny, step = plots.fit_for_screen(np.eye(4, dtype=np.float32))
    assert tiny.shape == (320, 320) and step == 1 / 80
    fig = plots.conv_input_output(big, ops.conv2d(big, np.ones((3, 3)) / 9))
    assert decode(fig.data[0].source).shape[:2] == (480, 640)
    assert plots.figure_bytes(fig) < 1_500_000  # what a slider change sends, noise being the worst case


def test_output_zero_is_white_on_the_diverging_scale():
    out = np.array([[-2.0, 0.0, 1.0]], np.float32)
    tr = plots.image_trace(out, *plots.signed_range(out), plots.DIVERGING)
    png = decode(tr.source)  # indexed PNG, palette converted by PIL
    img = Image.open(io.BytesIO(base64.b64decode(tr.source.split(",", 1)[1]))).convert("RGB")
    middle = np.asarray(img)[0, png.shape[1] // 2]
    assert middle.min() > 235  # white-ish at 0


def test_step_figure_marks_padding_window_products_and_output_cell():
    x = np.arange(16.0).reshape(4, 4)
    k = ops.PRESETS["Horizontal edge"].weights
    step = ops.conv_step(x, k, 0, 1, stride=1, padding=1)
    padded, mask, _ = ops.pad_image(x, 3, 3, 1, 1)
    out = ops.conv2d(x, k, padding=1)
    fig = plots.conv_step_figure(padded, mask, k, step, out)
    titles = [a.text for a in fig.layout.annotations]
    assert "grey cells = padding (0)" in titles[0]
    assert titles[3].endswith(f"cell (0, 1) = {ops.fmt(out[0, 1])}")
    assert titles[-1].startswith("Σ ") and titles[-1].endswith(f"= {ops.fmt(step.total)}")
    heat = [t for t in fig.data if t.type == "heatmap"]
    # padding layer, input, kernel, products, empty-output frame, output
    pad_layer = heat[0]
    assert np.isnan(np.array(pad_layer.z, float)[1:-1, 1:-1]).all() and pad_layer.z[0][0] == 1
    products = next(t for t in heat if (t.hovertemplate or "").startswith("product"))
    np.testing.assert_array_equal(np.array(products.z), step.products)
    output = next(t for t in heat if (t.hovertemplate or "").startswith("output"))
    z = np.array(output.z, float)
    assert z[0, 1] == out[0, 1] and np.isnan(z[0, 2]) and np.isnan(z[1, 0])  # filled up to this cell
    # the window's 9 taps are outlined on the input (+ the span, the products frame, the output cell)
    assert len(fig.layout.shapes) == 1 + 9 + 1 + 1
    texts = next(t for t in fig.data if t.type == "scatter")  # padding cells say 0, in grey
    assert set(texts.text) == {"0"} and texts.textfont.color == "#666666"


def test_dilated_window_outlines_only_its_taps():
    x = np.ones((7, 7))
    k = np.ones((3, 3))
    step = ops.conv_step(x, k, 0, 0, dilation=2)
    assert step.rows.tolist() == [0, 2, 4]
    padded, mask, _ = ops.pad_image(x, 3, 3, 1, 0, 2)
    fig = plots.conv_step_figure(padded, mask, k, step, ops.conv2d(x, k, dilation=2))
    taps = [s for s in fig.layout.shapes if s.xref == "x" and s.line.dash is None]
    assert sorted({(s.y0 + 0.5, s.x0 + 0.5) for s in taps}) == [(r, c) for r in (0, 2, 4) for c in (0, 2, 4)]
    assert "(no padding)" in fig.layout.annotations[0].text


def test_pool_views_small_shows_numbers_and_every_winner():
    x = ops.LECTURE_POOL_EXAMPLE
    mx, winners = ops.max_pool2d(x, 2)
    av = ops.avg_pool2d(x, 2)
    fig = plots.pool_views(x, mx, av, winners, 2, 2, "lecture")
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert [list(map(str, r)) for r in heat[1].text] == [["6", "8"], ["3", "4"]]
    assert [list(r) for r in heat[2].text] == [["3.25", "5.25"], ["2", "2"]]
    green = {(s.y0 + 0.5, s.x0 + 0.5) for s in fig.layout.shapes if s.line.color == plots.conv.WIN_COLOUR}
    assert green == {(1, 1), (1, 3), (2, 0), (3, 3)}
    assert heat[0].zmin == heat[1].zmin and heat[1].zmax == heat[2].zmax  # one shared scale


def test_pool_views_big_are_images_with_one_colour_bar():
    x = np.random.default_rng(2).random((100, 120))
    mx, w = ops.max_pool2d(x, 3, 2)
    fig = plots.pool_views(x, mx, ops.avg_pool2d(x, 3, 2), w, 3, 2)
    assert [t.type for t in fig.data] == ["image", "image", "scatter"]
    assert "49×59" in fig.layout.annotations[0].text


def test_pool_step_figure_names_the_winner_and_the_mean():
    x = ops.LECTURE_POOL_EXAMPLE
    mx, _ = ops.max_pool2d(x, 2)
    av = ops.avg_pool2d(x, 2)
    step = ops.pool_step(x, 2, 1, 0)
    fig = plots.pool_step_figure(x, step, mx, av)
    titles = [a.text for a in fig.layout.annotations]
    assert titles[1].startswith("max → 3") and "winner: row 2, col 0" in titles[1]
    assert titles[2] == "average → 2<br>= 8 / 4"
    green = [s for s in fig.layout.shapes if s.line.color == plots.conv.WIN_COLOUR]
    assert [(s.y0 + 0.5, s.x0 + 0.5) for s in green] == [(2, 0)]


def test_kernel_figure_writes_the_weights():
    fig = plots.kernel_figure(ops.PRESETS["Box blur"].weights, "Box blur")
    assert fig.data[-1].text[0][0] == "0.11"
    assert fig.data[-1].zmin == -fig.data[-1].zmax


def test_output_colours_clip_rare_extremes_and_say_so():
    rng = np.random.default_rng(0)
    out = rng.normal(size=(100, 100))
    out[0, 0] = 500.0  # one huge edge response
    fig = plots.conv_input_output(np.zeros((102, 102)), out, "input", "output")
    bar = next(t for t in fig.data if t.type == "scatter" and t.marker.showscale and t.marker.cmax != 1)
    assert bar.marker.cmax < 10 and bar.marker.cmin == -bar.marker.cmax  # not stretched to 500
    assert "beyond" in bar.marker.colorbar.title.text
    small = plots.signed_range(np.array([[-1.0, 3.0]]))
    assert small == (-3.0, 3.0)


def test_step_through_numbers_never_run_together():
    # QA found "0.840.830.85" on a 13x13 padded crop: narrow cells drop the leading zero, and
    # cells too narrow for even that print nothing (hover still shows the value).
    from nnviz.plots import conv as conv_plots

    assert conv_plots._cell_texts(np.array([[0.84, -0.53, 12.5]]), 28).tolist() == [[".84", "-.53", "12.5"]]
    assert conv_plots._cell_texts(np.array([[0.84]]), 40) is None
    assert conv_plots._cell_texts(np.array([[0.84]]), 15).tolist() == [[""]]
    crop = np.random.default_rng(0).random((8, 8))
    kernel = ops.PRESETS["Sobel x"].weights
    xp, mask, _ = ops.pad_image(crop, 3, 3, 4, "same", 3)
    out = ops.conv2d(crop, kernel, 4, "same", 3)
    fig = plots.conv_step_figure(xp, mask, kernel, ops.conv_step(crop, kernel, 0, 0, 4, "same", 3), out)
    cells = 0
    for t in fig.data:
        if t.type == "heatmap" and t.text is not None:
            for row in t.text:
                for txt in row:
                    cells += 1
                    assert len(str(txt)) <= 4
    assert cells > 0


def test_small_images_get_whole_pixel_ticks():
    fig = plots.conv_input_output(np.zeros((4, 4)), np.zeros((2, 2)), "input", "output")
    assert (fig.layout.xaxis.tick0, fig.layout.xaxis.dtick) == (0, 1)
    assert fig.layout.yaxis2.dtick == 1
    big = plots.conv_input_output(np.zeros((400, 600)), np.zeros((398, 598)), "input", "output")
    assert big.layout.xaxis.dtick is None  # Plotly's own ticks for real photos


def test_the_input_output_figure_carries_its_own_colour_note():
    x = np.zeros((40, 60))
    plain = plots.conv_input_output(x, x[1:-1, 1:-1])
    noted = plots.conv_input_output(x, x[1:-1, 1:-1], note="line one<br>line two")
    assert noted.layout.annotations[-1].text == "line one<br>line two"
    assert noted.layout.annotations[-1].font.size >= 14
    assert noted.layout.height - plain.layout.height == noted.layout.margin.b - plain.layout.margin.b == 54
