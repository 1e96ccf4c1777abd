"""Convolution and pooling playground views. numpy / plain data -> Plotly; no streamlit, no torch.

Big arrays (a photo and its convolution) go to the browser as one image per panel, box-averaged
down to what a projector shows (`PANEL_SIDE`), with the axes still in input pixels. Small grids
(the step-through) are heatmaps with every number written in its cell.
"""
from __future__ import annotations

import re

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..ops import ConvStep, PoolStep, fmt, sum_texts
from .base import DIVERGING, FONT, base_layout, box_average, palette_indices, value_range
from .cnn import encode_mosaic

PANEL_SIDE = 640  # px: the longest side an image panel is sent at
OUTPUT_PERCENTILE = 99.5  # big outputs: colours span |values| up to this percentile
MIN_PANEL_SIDE = 320  # px: tiny arrays are nearest-upscaled to at least this, so they stay crisp
PAD_COLOUR = "#d9d9d9"
EMPTY_COLOUR = "#f3f3f3"
WINDOW_COLOUR = "#ff7f0e"
WIN_COLOUR = "#1a9850"
CHANNEL_SCALES = {
    "gray": [[0, "rgb(0,0,0)"], [1, "rgb(255,255,255)"]],
    "red": [[0, "rgb(0,0,0)"], [1, "rgb(255,40,40)"]],
    "green": [[0, "rgb(0,0,0)"], [1, "rgb(40,220,40)"]],
    "blue": [[0, "rgb(0,0,0)"], [1, "rgb(70,110,255)"]],
}


def signed_range(a: np.ndarray, percentile: float = 100.0) -> tuple[float, float]:
    """(-m, m) with m = max |a| (or its `percentile`): a diverging scale with 0 exactly in the
    middle (white). A photo's edge map has a few huge values; clipping at the 99.5th percentile
    keeps the rest from looking white on a projector (the colour bar says it saturates)."""
    finite = np.abs(a[np.isfinite(a)])
    m = float(np.percentile(finite, percentile)) if finite.size else 0.0
    if m == 0 and finite.size:
        m = float(finite.max())
    return (-m, m) if m > 0 else (-1.0, 1.0)


def fit_for_screen(a: np.ndarray, max_side: int = PANEL_SIDE, min_side: int = MIN_PANEL_SIDE) -> tuple[np.ndarray, float]:
    """(array to send, input pixels per sent pixel). Big arrays are box-averaged down (a sent pixel is
    the mean of the values it covers); tiny ones are repeated up so the browser shows crisp cells."""
    h, w = a.shape
    if max(h, w) > max_side:
        s = max_side / max(h, w)
        size = (max(1, round(w * s)), max(1, round(h * s)))
        small = box_average(a, size)
        return small, w / size[0]
    up = max(1, min_side // max(h, w))
    if up > 1:
        return np.repeat(np.repeat(a, up, 0), up, 1), 1.0 / up
    return a, 1.0


def image_trace(a: np.ndarray, vmin: float, vmax: float, scale, max_side: int = PANEL_SIDE) -> go.Image:
    """A 2-D array as one image in data coordinates of `a` (x = column, y = row), downsampled to send."""
    shown, step = fit_for_screen(a, max_side)
    src = encode_mosaic(palette_indices(shown, vmin, vmax), scale)
    # pixel centres so that the image spans [-0.5, W - 0.5] in input columns (and rows)
    return go.Image(source=src, x0=-0.5 + step / 2, dx=step, y0=-0.5 + step / 2, dy=step, hoverinfo="skip")


def _colorbar(vmin: float, vmax: float, scale, title: str, x: float, xaxis: str = "x", yaxis: str = "y",
              length: float = 0.85, y: float = 0.45) -> go.Scatter:
    return go.Scatter(
        x=[None], y=[None], xaxis=xaxis, yaxis=yaxis, mode="markers", showlegend=False, hoverinfo="skip",
        marker=dict(colorscale=scale, cmin=vmin, cmax=vmax, color=[vmin], showscale=True,
                    colorbar=dict(title=dict(text=title, side="right", font=FONT), thickness=18, tickfont=FONT,
                                  x=x, xanchor="left", len=length, y=y)),
    )


def _dims(a: np.ndarray) -> str:
    return f"{a.shape[0]}×{a.shape[1]} (height × width)"


def _pixel_ticks(n: int) -> dict:
    """Whole-pixel ticks on small images (Plotly would otherwise label -0.5, 0.5, ...)."""
    return dict(tick0=0, dtick=max(1, -(-n // 8))) if n <= 64 else {}


def conv_input_output(image: np.ndarray, output: np.ndarray, input_label: str = "input",
                      output_label: str = "output", channel: str = "gray", input_range: tuple[float, float] = (0.0, 1.0),
                      title: str | None = None, height: int | None = None,
                      crop_box: tuple[int, int, int, int] | None = None, width_px: int = 850,
                      note: str | None = None) -> go.Figure:
    """The input channel and the convolution output side by side, each with its dimensions and a
    colour bar; the output on a diverging scale centred at zero (white = 0, red > 0, blue < 0).
    crop_box=(top, left, height, width) outlines a region of the input (what the step-through
    reads; parts outside the image are padding and are clipped to its edge). `note`: a caption drawn
    under the panels (lines split by <br>). width_px: the
    narrowest the figure will be drawn (850: beside the sidebar on a 1280 px screen)."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.14,
                        subplot_titles=[f"{input_label}<br>{_dims(image)}", f"{output_label}<br>{_dims(output)}"])
    in_scale = CHANNEL_SCALES.get(channel, CHANNEL_SCALES["gray"])
    lo, hi = input_range
    fig.add_trace(image_trace(image, lo, hi, in_scale), row=1, col=1)
    omin, omax = signed_range(output, OUTPUT_PERCENTILE if output.size > 400 else 100.0)
    saturates = omax < float(np.nanmax(np.abs(output)))
    fig.add_trace(image_trace(output, omin, omax, DIVERGING), row=1, col=2)
    d1, d2 = fig.layout.xaxis.domain, fig.layout.xaxis2.domain
    top = 130 if title else 75
    bottom = 55 + (22 * (note.count("<br>") + 1) + 10 if note else 0)  # ticks and "column", then the note
    fig.add_trace(_colorbar(lo, hi, in_scale, "pixel value", d1[1] + 0.01, length=0.95, y=0.5), row=1, col=1)
    bar = "output (0 = white; darkest = beyond)" if saturates else "output (0 = white)"
    fig.add_trace(_colorbar(omin, omax, DIVERGING, bar, d2[1] + 0.01, "x2", "y2", length=0.95, y=0.5), row=1, col=2)
    for i, a in ((1, image), (2, output)):
        fig.update_xaxes(range=[-0.5, a.shape[1] - 0.5], constrain="domain", showgrid=False, zeroline=False,
                         title=dict(text="column", standoff=4), tickfont=FONT, row=1, col=i,
                         **_pixel_ticks(a.shape[1]))
        fig.update_yaxes(range=[a.shape[0] - 0.5, -0.5], scaleanchor=f"x{'' if i == 1 else i}",
                         constrain="domain", constraintoward="top", showgrid=False, zeroline=False,
                         title=dict(text="row" if i == 1 else None, standoff=4), tickfont=FONT, row=1, col=i,
                         **_pixel_ticks(a.shape[0]))
    if crop_box is not None:
        t, l, h, w = crop_box
        t0, l0 = max(t, 0), max(l, 0)
        t1, l1 = min(t + h, image.shape[0]), min(l + w, image.shape[1])
        fig.add_shape(type="rect", xref="x", yref="y", x0=l0 - 0.5, x1=l1 - 0.5, y0=t0 - 0.5, y1=t1 - 0.5,
                      line=dict(color=WINDOW_COLOUR, width=3))
    fig.update_annotations(font=dict(size=18, color="#222222"))
    fig.update_layout(dragmode=False)
    if height is None:
        # Each image panel is ~0.36 of the figure's width. Sized for a figure no wider than width_px,
        # the images fill their panels' height (a wider figure only adds space at the sides), so a
        # colour bar (0.85 of that height) is never taller than its image.
        aspect = max(image.shape[0] / image.shape[1], output.shape[0] / output.shape[1])
        height = int(np.clip(0.36 * width_px * aspect, 170, 610)) + top + bottom
    base_layout(fig, title, height)
    # fixed margins (55 px below for the ticks and "column"), so the plot area is exactly the image height
    fig.update_layout(margin=dict(l=10, r=10, t=top, b=bottom))
    if note:  # the figure's own caption, so a slide exported from it explains its colours
        fig.add_annotation(text=note, xref="paper", yref="paper", x=0, xanchor="left", y=0, yanchor="top",
                           yshift=-62, showarrow=False, align="left", font=dict(size=15, color="#333333"))
    fig.update_xaxes(automargin=False)
    return fig


# --- small grids with numbers ---------------------------------------------------------------------

def _text_size(cells: int, px: float) -> int:
    """Font size that fits a short number in a cell of px / cells pixels."""
    return int(np.clip(px / max(cells, 1) * 0.36, 10, 20))


def _cell_texts(a: np.ndarray, cell_px: float) -> np.ndarray | None:
    """Numbers for grid cells: as `fmt` when they fit, without the leading zero ('.84') in narrow
    cells, and none at all (hover still shows them) when even that would run together."""
    if cell_px >= 34 or not a.size:
        return None
    if cell_px < 20:
        return np.full(a.shape, "", dtype=object)
    short = lambda v: re.sub(r"^(-?)0\.", r"\1.", fmt(v))  # noqa: E731
    return np.vectorize(short, otypes=[object])(np.asarray(a, np.float64))


def _grid(fig: go.Figure, a: np.ndarray, row: int, col: int, vmin: float, vmax: float, scale, name: str,
          text_size: int, mask: np.ndarray | None = None, texts: np.ndarray | None = None) -> None:
    """A heatmap of `a` with its numbers written in; mask cells (padding) grey with grey '0'."""
    z = np.asarray(a, np.float64).copy()
    if np.isnan(z).any():  # cells still to be filled in: an empty frame
        fig.add_trace(go.Heatmap(z=np.where(np.isnan(z), 1.0, np.nan), zmin=0, zmax=1, showscale=False,
                                 colorscale=[[0, EMPTY_COLOUR], [1, EMPTY_COLOUR]], xgap=2, ygap=2,
                                 hoverinfo="skip"), row=row, col=col)
    if mask is not None and mask.any():
        pad_z = np.where(mask, 1.0, np.nan)
        fig.add_trace(go.Heatmap(z=pad_z, zmin=0, zmax=1, colorscale=[[0, PAD_COLOUR], [1, PAD_COLOUR]],
                                 showscale=False, xgap=2, ygap=2, hoverinfo="skip"), row=row, col=col)
        z[mask] = np.nan
    if texts is None:
        texts = np.vectorize(fmt, otypes=[object])(np.asarray(a, np.float64)) if a.size else np.empty(a.shape, object)
    shown = np.where(np.isnan(z), "", texts)
    fig.add_trace(go.Heatmap(z=z, zmin=vmin, zmax=vmax, colorscale=scale, showscale=False, xgap=2, ygap=2,
                             text=shown, texttemplate="%{text}", textfont=dict(size=text_size),
                             hovertemplate=f"{name}<br>row %{{y}}, col %{{x}}: %{{z:.4g}}<extra></extra>"),
                  row=row, col=col)
    if mask is not None and mask.any():
        ys, xs = np.nonzero(mask)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="text", text=[fmt(v) for v in np.asarray(a)[mask]],
                                 textfont=dict(size=text_size, color="#666666", style="italic"),
                                 hoverinfo="skip", showlegend=False), row=row, col=col)
    fig.update_xaxes(range=[-0.5, a.shape[1] - 0.5], showgrid=False, zeroline=False, showticklabels=False,
                     ticks="", constrain="domain", row=row, col=col)
    fig.update_yaxes(range=[a.shape[0] - 0.5, -0.5], showgrid=False, zeroline=False, showticklabels=False,
                     ticks="", constrain="domain", constraintoward="top", row=row, col=col)


def _axis_ref(fig: go.Figure, row: int, col: int) -> tuple[str, str]:
    sp = fig.get_subplot(row, col)
    return sp.xaxis.plotly_name.replace("axis", ""), sp.yaxis.plotly_name.replace("axis", "")


def _box(fig: go.Figure, row: int, col: int, r0: float, c0: float, r1: float, c1: float, colour: str,
         width: float, dash: str | None = None) -> None:
    """A rectangle around cells r0..r1, c0..c1 (inclusive) of a grid panel."""
    xr, yr = _axis_ref(fig, row, col)
    fig.add_shape(type="rect", xref=xr, yref=yr, x0=c0 - 0.5, x1=c1 + 0.5, y0=r0 - 0.5, y1=r1 + 0.5,
                  line=dict(color=colour, width=width, dash=dash), fillcolor="rgba(0,0,0,0)", layer="above")


def _square_panels(fig: go.Figure, n: int) -> None:
    for i in range(1, n + 1):
        fig.update_yaxes(scaleanchor=f"x{'' if i == 1 else i}", row=1, col=i)


def conv_step_figure(padded: np.ndarray, pad_mask: np.ndarray, kernel: np.ndarray, step: ConvStep,
                     output: np.ndarray, relu: bool = False, input_range: tuple[float, float] | None = None,
                     title: str | None = None, height: int = 560, width_px: int = 1150,
                     origin: tuple[int, int] = (0, 0)) -> go.Figure:
    """One output cell worked out by hand: the padded crop (padding grey) with the kernel's taps
    outlined, the kernel, the element-wise products, and the output grid filled up to this cell,
    the sum landing in its (outlined) cell. `origin` is the full output's index of output[0, 0]."""
    kh, kw = kernel.shape
    oh, ow = output.shape
    widths = np.array([padded.shape[1], max(kw, 3), max(kw, 3), max(ow, 3)], float)
    fig = make_subplots(
        rows=1, cols=4, column_widths=list(widths / widths.sum()), horizontal_spacing=0.035,
        subplot_titles=[
            f"input crop, padded: {padded.shape[0]}×{padded.shape[1]}<br>grey cells = padding (0)" if pad_mask.any()
            else f"input crop: {padded.shape[0]}×{padded.shape[1]}<br>(no padding)",
            f"kernel {kh}×{kw}",
            "window × kernel<br>(element by element)",
            f"output cells ({origin[0]}, {origin[1]})–({origin[0] + oh - 1}, {origin[1] + ow - 1})<br>"
            f"cell ({origin[0] + step.i}, {origin[1] + step.j}) = {fmt(step.value)}",
        ],
    )
    cell_px = width_px * 0.9 / widths.sum()  # roughly the same cell size in every panel
    size = _text_size(1, cell_px)
    lo, hi = input_range if input_range else (float(np.nanmin(padded)), float(np.nanmax(padded)) or 1.0)
    _grid(fig, padded, 1, 1, lo, hi if hi > lo else lo + 1, [[0, "rgb(34,34,34)"], [1, "rgb(255,255,255)"]],
          "input", size, mask=pad_mask, texts=_cell_texts(padded, cell_px))
    kmin, kmax = signed_range(kernel)
    _grid(fig, kernel, 1, 2, kmin, kmax, DIVERGING, "kernel", size, texts=_cell_texts(kernel, cell_px))
    pmin, pmax = signed_range(step.products)
    _grid(fig, step.products, 1, 3, pmin, pmax, DIVERGING, "product", size,
          texts=_cell_texts(step.products, cell_px))
    done = np.full(output.shape, np.nan)
    flat = step.i * ow + step.j + 1
    done.ravel()[:flat] = output.ravel()[:flat]
    omin, omax = signed_range(output)
    _grid(fig, done, 1, 4, omin, omax, DIVERGING, "output", size, texts=_cell_texts(output, cell_px))

    # the kernel's taps on the input: a dashed box around the span, a solid box on each tap
    r, c = step.rows, step.cols
    _box(fig, 1, 1, r[0], c[0], r[-1], c[-1], WINDOW_COLOUR, 2, "dash")
    if len(r) * len(c) <= 49:
        for rr in r:
            for cc in c:
                _box(fig, 1, 1, rr, cc, rr, cc, WINDOW_COLOUR, 3)
    else:
        _box(fig, 1, 1, r[0], c[0], r[-1], c[-1], WINDOW_COLOUR, 4)
    _box(fig, 1, 3, 0, 0, kh - 1, kw - 1, WINDOW_COLOUR, 4)
    _box(fig, 1, 4, step.i, step.j, step.i, step.j, WINDOW_COLOUR, 5)
    _square_panels(fig, 4)

    fig.add_annotation(text=equation(step, relu), xref="paper", yref="paper", x=0.5, y=-0.02, yanchor="top",
                       showarrow=False, font=dict(size=20, color="#222222"))
    fig.update_annotations(font=dict(size=18, color="#222222"))
    fig.layout.annotations[-1].font.size = 20  # the equation
    fig.update_layout(dragmode=False)
    base_layout(fig, title, height)
    fig.update_layout(margin=dict(l=10, r=10, t=130 if title else 80, b=60))
    return fig


def equation(step: ConvStep, relu: bool = False) -> str:
    """Σ products = total (+ bias = ...) (→ ReLU → ...). Shown numbers add up as shown; where
    rounding to at most 3 decimals cannot make them, the sign is "≈" and says the terms are rounded."""
    n = step.products.size
    if n <= 9:
        texts, last, exact = sum_texts(step.products, step.total)
        terms = " + ".join(t if not t.startswith("-") else f"({t})" for t in texts)
    else:
        terms, last, exact = f"the {n} products", fmt(step.total), True
    eq = f"Σ {terms} {'=' if exact else '≈'} {last}"
    if step.bias:
        (_, b), last, exact_b = sum_texts([float(last), step.bias], float(last) + step.bias)
        eq += f"   + bias {b} {'=' if exact_b else '≈'} {last}"
    if relu:
        eq += f"   → ReLU → {last if float(last) > 0 else '0'}"
    if not exact:
        eq += "   (terms rounded)"
    return eq


def kernel_figure(kernel: np.ndarray, title: str | None = None, height: int = 300) -> go.Figure:
    """A kernel as a grid with its numbers, blue < 0 < red, white = 0."""
    fig = make_subplots(rows=1, cols=1)
    kmin, kmax = signed_range(kernel)
    _grid(fig, kernel, 1, 1, kmin, kmax, DIVERGING, "weight", _text_size(kernel.shape[1], 260))
    fig.update_yaxes(scaleanchor="x")
    fig.update_layout(dragmode=False)
    base_layout(fig, title, height)
    fig.update_layout(title=dict(font=dict(size=16)) if title else None)
    return fig


# --- pooling --------------------------------------------------------------------------------------

SMALL_GRID = 16  # arrays up to this side are drawn as grids with numbers


def pool_views(x: np.ndarray, max_out: np.ndarray, avg_out: np.ndarray, winners: np.ndarray,
               window: int, stride: int, title: str | None = None, height: int = 480) -> go.Figure:
    """Max and average pooling side by side on one colour scale. Small inputs are grids with their
    numbers, the input first with every max window's winner outlined in green."""
    small = max(x.shape) <= SMALL_GRID
    vmin, vmax, scale = value_range(np.concatenate([x.ravel(), avg_out.ravel(), max_out.ravel()]))
    names = [f"max pooling<br>{_dims(max_out)}", f"average pooling<br>{_dims(avg_out)}"]
    if small:
        fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.06, column_widths=[0.4, 0.3, 0.3],
                            subplot_titles=[f"input {_dims(x)}<br><span style='color:{WIN_COLOUR}'>green = wins its max window</span>"] + names)
        size = _text_size(x.shape[1], 520)
        _grid(fig, x, 1, 1, vmin, vmax, scale, "input", size)
        _grid(fig, max_out, 1, 2, vmin, vmax, scale, "max", size)
        _grid(fig, avg_out, 1, 3, vmin, vmax, scale, "average", size)
        for r, c in {(int(r), int(c)) for r, c in winners.reshape(-1, 2)}:
            _box(fig, 1, 1, r, c, r, c, WIN_COLOUR, 5)
        if stride == window:  # windows tile the input: draw their borders
            for i in range(max_out.shape[0]):
                for j in range(max_out.shape[1]):
                    _box(fig, 1, 1, i * stride, j * stride, i * stride + window - 1, j * stride + window - 1,
                         "#333333", 2, "dot")
        _square_panels(fig, 3)
        fig.add_trace(_colorbar(vmin, vmax, scale, "value", 1.01, "x3", "y3"))
    else:
        fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.06, subplot_titles=names)
        for i, a in ((1, max_out), (2, avg_out)):
            fig.add_trace(image_trace(a, vmin, vmax, scale), row=1, col=i)
            fig.update_xaxes(range=[-0.5, a.shape[1] - 0.5], constrain="domain", showgrid=False, zeroline=False,
                             row=1, col=i)
            fig.update_yaxes(range=[a.shape[0] - 0.5, -0.5], constrain="domain", showgrid=False, zeroline=False,
                             scaleanchor=f"x{'' if i == 1 else i}", row=1, col=i)
        fig.add_trace(_colorbar(vmin, vmax, scale, "value", 1.01, "x2", "y2"))
    fig.update_annotations(font=dict(size=18, color="#222222"))
    fig.update_layout(dragmode=False)
    base_layout(fig, title, height)
    fig.update_layout(margin=dict(l=10, r=10, t=130 if title else 80, b=10))
    return fig


def pool_step_figure(x: np.ndarray, step: PoolStep, max_out: np.ndarray, avg_out: np.ndarray,
                     title: str | None = None, height: int = 480, width_px: int = 1500) -> go.Figure:
    """One pooling window: outlined on the input, its winner in green; the max and the mean landing
    in their output cells."""
    widths = np.array([x.shape[1], max(max_out.shape[1], 3), max(avg_out.shape[1], 3)], float)
    fig = make_subplots(
        rows=1, cols=3, column_widths=list(widths / widths.sum()), horizontal_spacing=0.05,
        subplot_titles=[
            f"input {x.shape[0]}×{x.shape[1]}: window at output ({step.i}, {step.j})",
            f"max → {fmt(step.max)}<br><span style='color:{WIN_COLOUR}'>winner: row {step.winner[0]}, col {step.winner[1]}</span>",
            f"average → {fmt(step.mean)}<br>= {fmt(float(step.patch.sum()))} / {step.patch.size}",
        ],
    )
    vmin, vmax, scale = value_range(np.concatenate([x.ravel(), avg_out.ravel()]))
    size = _text_size(1, width_px * 0.85 / widths.sum())
    _grid(fig, x, 1, 1, vmin, vmax, scale, "input", size)
    for k, a in ((2, max_out), (3, avg_out)):
        done = np.full(a.shape, np.nan)
        flat = step.i * a.shape[1] + step.j + 1
        done.ravel()[:flat] = a.ravel()[:flat]
        _grid(fig, done, 1, k, vmin, vmax, scale, "pooled", size)
        _box(fig, 1, k, step.i, step.j, step.i, step.j, WINDOW_COLOUR, 5)
    _box(fig, 1, 1, step.rows[0], step.cols[0], step.rows[-1], step.cols[-1], WINDOW_COLOUR, 5)
    _box(fig, 1, 1, step.winner[0], step.winner[1], step.winner[0], step.winner[1], WIN_COLOUR, 5)
    _square_panels(fig, 3)
    fig.update_annotations(font=dict(size=18, color="#222222"))
    fig.update_layout(dragmode=False)
    base_layout(fig, title, height)
    fig.update_layout(margin=dict(l=10, r=10, t=130 if title else 80, b=10))
    return fig


def figure_bytes(fig: go.Figure) -> int:
    """What a figure costs to send: the length of its JSON (images inside as base64)."""
    return len(fig.to_json())
