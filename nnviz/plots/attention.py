"""Attention views: token strips, query x key heatmaps, head thumbnails, bertviz-style lines,
the step-by-step matrices, positional encodings. numpy in, Plotly out; never streamlit or torch.

Token axes are numeric with `ticktext` labels: a categorical axis would merge the two "the"s of a
sentence into one row. Big matrices (a 512 x 512 head, 72 thumbnails) go as one image with a colour
bar; heatmap JSON is only used for windows small enough to read.
"""
from __future__ import annotations

import html
import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .base import (
    DIVERGING,
    FONT,
    SEQUENTIAL,
    base_layout,
    colorbar_trace,
    lut,
    palette,
    palette_indices,
    to_png_uri,
)
from .cnn import encode_mosaic, mosaic_image

ATTENTION_SCALE = SEQUENTIAL
MASKED_COLOUR = "#c8c8c8"  # cells a mask blocks (the future in a decoder)
LINE_COLOUR = "#1f5fbf"
HIGHLIGHT = "#d62728"
MAX_HEATMAP_SIDE = 64  # beyond this many tokens a heatmap's labels are unreadable: page it
NUMBERS_MAX_CELLS = 400  # print values in cells up to this many cells
AXIS_TITLE = dict(size=18, color="#111")  # read from the back of the room: large and dark
CLIPPED_COLOUR = "#d62728"  # outline of key columns whose weights run above the colour scale


def show_token(t: str) -> str:
    """A token as a label: visible space and newline, nothing empty."""
    if t == " ":
        return "␣"
    if t == "\n":
        return "↵"
    if t == "\t":
        return "⇥"
    return t if t.strip() else repr(t)


def plot_text(t: str) -> str:
    """A token for Plotly text (tick labels, titles): Plotly reads a small HTML subset, so '<s>'
    would start strike-through text. Escape it."""
    return show_token(t).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def tick_font_size(n: int) -> int:
    """Token labels as large as n of them fit (16 px is the projector minimum we aim for)."""
    return 20 if n <= 16 else 18 if n <= 28 else 16 if n <= 40 else 14 if n <= 56 else 12


def thinned_ticks(n: int, most: int = 40) -> list[int]:
    """Tick positions for n token labels: all of them up to `most`, else every k-th, so labels
    stay 16 px or larger and do not overlap (hover still names every cell)."""
    return list(range(0, n, math.ceil(n / most)))


def _cell_text_size(n_rows: int, n_cols: int) -> int:
    return 16 if max(n_rows, n_cols) <= 8 else 14 if max(n_rows, n_cols) <= 14 else 12


def labelled_heatmap(
    a: np.ndarray,
    row_labels: list[str],
    col_labels: list[str],
    title: str | None = None,
    *,
    row_ids: list[int] | np.ndarray | None = None,
    col_ids: list[int] | np.ndarray | None = None,
    zmin: float | None = None,
    zmax: float | None = None,
    scale: str = ATTENTION_SCALE,
    colorbar_title: str = "attention weight",
    numbers: bool | None = None,
    fmt: str = ".2f",
    highlight_row: int | None = None,
    highlight_col: int | None = None,
    row_title: str = "query (attends from)",
    col_title: str = "key (attends to)",
    height: int | None = None,
    masked_note: bool = False,
    square: bool = False,
    width_hint: int | None = None,
) -> go.Figure:
    """A labelled matrix (rows x columns) with a colour bar. NaN cells are drawn as masked (grey).

    row_ids / col_ids are the positions the rows / columns have in the whole sequence (hover shows
    them; a window of a long text keeps its real positions). `numbers` prints each value (default:
    when there are at most NUMBERS_MAX_CELLS cells). `width_hint`: the px the figure will get, so
    key labels are sized (and thinned) to their columns.
    """
    a = np.asarray(a, dtype=np.float64)
    nr, nc = a.shape
    row_ids = list(range(nr)) if row_ids is None else [int(i) for i in row_ids]
    col_ids = list(range(nc)) if col_ids is None else [int(i) for i in col_ids]
    finite = a[np.isfinite(a)]
    if zmin is None:
        zmin = float(finite.min()) if finite.size else 0.0
    if zmax is None:
        zmax = float(finite.max()) if finite.size else 1.0
    if zmax <= zmin:
        zmax = zmin + 1e-6
    if numbers is None:
        numbers = a.size <= NUMBERS_MAX_CELLS
    if a.size <= 2500:  # per-cell hover names; beyond that they would outweigh the data
        hover = [[f"{plot_text(row_labels[i])} (#{row_ids[i]}) → {plot_text(col_labels[j])} (#{col_ids[j]})"
                  for j in range(nc)] for i in range(nr)]
        hovertemplate = "%{customdata}<br>%{z:.4f}<extra></extra>"
    else:
        hover, hovertemplate = None, "row %{y}, column %{x}: %{z:.4f}<extra></extra>"
    trace = go.Heatmap(
        z=a.astype(np.float32), x=list(range(nc)), y=list(range(nr)), zmin=zmin, zmax=zmax, colorscale=scale,
        customdata=hover, hovertemplate=hovertemplate, xgap=1 if max(nr, nc) <= 40 else 0,
        ygap=1 if max(nr, nc) <= 40 else 0,
        colorbar=dict(title=dict(text=colorbar_title, side="right", font=AXIS_TITLE), thickness=18, tickfont=FONT),
    )
    if numbers:
        trace.update(texttemplate=f"%{{z:{fmt}}}", textfont=dict(size=_cell_text_size(nr, nc)))
    fig = go.Figure(trace)
    longest = max((len(show_token(t)) for t in col_labels), default=1)
    label_room = 40 + 11 * longest if nc > 6 and longest > 2 else 40
    if height is None and square and width_hint:  # as tall as the square the column's width allows
        height = int(max(320, (width_hint - 230) * nr / max(nc, 1) + 70 + label_room + (30 if title else 0)))
    if height is None:
        cell = 44 if nr <= 12 else 36 if nr <= 24 else 24 if nr <= 48 else 14
        height = int(min(1300, max(320, 120 + label_room + cell * nr)))
    fs_x = max(16, tick_font_size(nc))
    xv = thinned_ticks(nc)
    # a square map is as tall as it is wide: without a hint assume a page column of about 560 px
    # for its key labels; rows are thinned only by a real hint (a guess must not drop readable tokens)
    hinted = width_hint
    width_hint = width_hint or (560 if square else None)
    col_px = (width_hint - 230) / max(nc, 1) if width_hint else None  # less the row labels and the colour bar
    if col_px and col_px < 36 and fig.data[0].texttemplate:  # "0.54" does not fit a narrower cell: hover has it
        fig.data[0].update(texttemplate=None)
    if col_px:  # upright labels are one line tall: they need that much of their column's width
        fs_x = max(16, min(fs_x, int(col_px / 1.4)))
        xv = list(range(0, nc, max(xv[1] - xv[0] if len(xv) > 1 else 1, math.ceil(fs_x * 1.4 / max(col_px, 1)))))
    # rows get the px the height leaves them: a label taller than its row runs into the next one
    row_px = (height - 70 - label_room - (30 if title else 0)) / max(nr, 1)
    if square and hinted:
        row_px = min(row_px, col_px)
    fs_y = min(tick_font_size(nr), int(row_px / 1.4))  # a label's box is about 1.35 x its font size
    yv = thinned_ticks(nr) if fs_y >= 16 else list(range(0, nr, math.ceil(23 / max(row_px, 1))))
    fs_y = max(fs_y, 16)
    ticks = dict(color="#222")
    # upright labels when several would collide: a slanted label's box runs into its neighbour's
    fig.update_xaxes(tickvals=xv, ticktext=[plot_text(col_labels[j]) for j in xv], side="top",
                     tickangle=-90 if nc > 6 and max(len(plot_text(t)) for t in col_labels) > 2 else 0,
                     tickfont=dict(size=fs_x, **ticks), title=dict(text=col_title, font=AXIS_TITLE),
                     showgrid=False, zeroline=False, range=[-0.5, nc - 0.5])
    fig.update_yaxes(tickvals=yv, ticktext=[plot_text(row_labels[i]) for i in yv], autorange="reversed",
                     tickfont=dict(size=fs_y, **ticks), title=dict(text=row_title, font=AXIS_TITLE),
                     showgrid=False, zeroline=False)
    if square:
        fig.update_yaxes(scaleanchor="x", constrain="domain")
        fig.update_xaxes(constrain="domain")
    if highlight_row is not None:
        fig.add_shape(type="rect", x0=-0.5, x1=nc - 0.5, y0=highlight_row - 0.5, y1=highlight_row + 0.5,
                      line=dict(color=HIGHLIGHT, width=3))
    if highlight_col is not None:
        fig.add_shape(type="rect", x0=highlight_col - 0.5, x1=highlight_col + 0.5, y0=-0.5, y1=nr - 0.5,
                      line=dict(color=HIGHLIGHT, width=3))
    base_layout(fig, title, height)
    fig.update_layout(margin=dict(t=int(60 + label_room) + (30 if title else 0)),
                      plot_bgcolor=MASKED_COLOUR if masked_note else "white")
    if title:
        fig.update_layout(title=dict(y=0.99, yanchor="top"))
    return fig


def attention_heatmap(
    att: np.ndarray,
    q_labels: list[str],
    k_labels: list[str],
    title: str | None = None,
    *,
    q_ids=None,
    k_ids=None,
    highlight_query: int | None = None,
    shared_scale: bool = False,
    zmax: float | None = None,
    masked: bool = False,
    height: int | None = None,
    square: bool = True,
    colorbar_title: str = "attention weight",
    row_title: str = "query (attends from)",
    col_title: str = "key (attends to)",
    width_hint: int | None = None,
) -> go.Figure:
    """One head's attention (queries x keys). Rows sum to 1 over all keys. The colour scale runs
    from 0 to the largest weight shown (or to 1 with `shared_scale`, or to `zmax`: larger weights
    saturate, and their key columns are outlined and named under the plot); NaN = masked (grey)."""
    a = np.asarray(att, dtype=np.float64)
    clipped: list[int] = []
    if zmax is None:
        zmax = 1.0 if shared_scale else max(float(np.nanmax(a)) if np.isfinite(a).any() else 1.0, 1e-6)
    elif np.isfinite(a).any():
        clipped = [j for j in range(a.shape[1]) if np.nanmax(np.nan_to_num(a[:, j], nan=0.0)) > zmax * (1 + 1e-9)]
    fig = labelled_heatmap(a, q_labels, k_labels, title, row_ids=q_ids, col_ids=k_ids, zmin=0.0, zmax=zmax,
                           colorbar_title=colorbar_title, highlight_row=highlight_query, height=height,
                           numbers=max(a.shape) <= 12, square=square,
                           masked_note=masked, row_title=row_title, col_title=col_title, width_hint=width_hint)
    if clipped:
        mark_clipped_columns(fig, clipped, [k_labels[j] for j in clipped], a.shape[0])
    return fig


def mark_clipped_columns(fig: go.Figure, cols: list[int], names: list[str], n_rows: int) -> None:
    """Outline key columns whose weights run above the colour scale (their bright yellow is not
    the scale's top) and name them under the plot: the figure says the scale is cut."""
    for j in cols:
        fig.add_shape(type="rect", x0=j - 0.5, x1=j + 0.5, y0=-0.5, y1=n_rows - 0.5,
                      line=dict(color=CLIPPED_COLOUR, width=4, dash="dash"), name="clipped column")
    listed = ", ".join(dict.fromkeys(plot_text(n) for n in names))
    fig.add_annotation(text=f"dashed columns: above the colour scale ({listed})", xref="paper", yref="paper",
                       x=1, y=0, xanchor="right", yanchor="top", yshift=-8, showarrow=False,
                       font=dict(size=18, color=CLIPPED_COLOUR), name="clipped note")
    fig.update_layout(margin=dict(b=50))


def block_max(a: np.ndarray, k: int) -> np.ndarray:
    """(H, W) -> (ceil(H/k), ceil(W/k)): the largest finite value of each k x k block (NaN when a
    block has none, e.g. wholly masked)."""
    h, w = a.shape
    H, W = -(-h // k), -(-w // k)
    padded = np.full((H * k, W * k), -np.inf)
    padded[:h, :w] = np.where(np.isnan(a), -np.inf, a)
    out = padded.reshape(H, k, W, k).max(axis=(1, 3))
    out[np.isneginf(out)] = np.nan
    return out


def _upscale_factor(n: int, target: int = 480) -> int:
    return max(1, target // max(n, 1))


def matrix_image(
    a: np.ndarray,
    title: str | None = None,
    *,
    zmin: float | None = None,
    zmax: float | None = None,
    scale: str = ATTENTION_SCALE,
    colorbar_title: str = "attention weight",
    window: tuple[int, int, int, int] | None = None,
    height: int = 560,
    x_title: str = "key position",
    y_title: str = "query position",
    nan_colour: tuple[int, int, int] = (200, 200, 200),
    max_pixels: int = 256,
) -> go.Figure:
    """A big matrix (up to 512 x 512) as one indexed PNG with a colour bar; axes in matrix
    positions. `window` = (row0, row1, col0, col1) outlines the part a detail view shows.
    NaN cells (masked) get `nan_colour`. Beyond `max_pixels` per side, each pixel shows the largest
    value of its block (block_max), so a one-token-wide diagonal survives the shrinking."""
    a = np.asarray(a, dtype=np.float64)
    nr, nc = a.shape
    finite = a[np.isfinite(a)]
    zmin = float(finite.min()) if zmin is None and finite.size else (0.0 if zmin is None else zmin)
    zmax = float(finite.max()) if zmax is None and finite.size else (1.0 if zmax is None else zmax)
    if zmax <= zmin:
        zmax = zmin + 1e-6
    pool = max(1, math.ceil(max(nr, nc) / max_pixels))
    if pool > 1:  # a browser shrinking a big image averages thin lines away: keep each block's maximum
        a = block_max(a, pool)
    f = _upscale_factor(max(a.shape)) if pool == 1 else 1
    idx = palette_indices(a, zmin, zmax)
    if f > 1:
        idx = np.repeat(np.repeat(idx, f, 0), f, 1)
    pal = palette(scale)
    pal[255] = nan_colour  # NaN = masked
    step = pool / f  # matrix positions per image pixel
    fig = go.Figure(go.Image(source=to_png_uri(idx, pal), x0=-0.5 + step / 2, y0=-0.5 + step / 2,
                             dx=step, dy=step, hoverinfo="skip"))
    fig.add_trace(colorbar_trace(zmin, zmax, scale, colorbar_title))
    if window is not None:
        r0, r1, c0, c1 = window
        fig.add_shape(type="rect", x0=c0 - 0.5, x1=c1 - 0.5, y0=r0 - 0.5, y1=r1 - 0.5,
                      line=dict(color=HIGHLIGHT, width=3))
    fig.update_xaxes(title=dict(text=x_title, font=FONT), range=[-0.5, nc - 0.5], showgrid=False, zeroline=False,
                     side="top")
    fig.update_yaxes(title=dict(text=y_title, font=FONT), range=[nr - 0.5, -0.5], showgrid=False, zeroline=False,
                     scaleanchor="x")
    return base_layout(fig, title, height)


def matrix_pair(left: np.ndarray, right: np.ndarray, titles: tuple[str, str], *, zmin: float, zmax: float,
                scale: str = ATTENTION_SCALE, colorbar_title: str = "attention weight", axis_title: str = "position",
                height: int = 560) -> go.Figure:
    """Two square matrices (e.g. 128 x 128) side by side as images on one colour scale, one
    figure: a projector's first screen holds both at full height."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=list(titles), horizontal_spacing=0.1)
    for c, m in enumerate((left, right), start=1):
        one = matrix_image(m, None, zmin=zmin, zmax=zmax, scale=scale, colorbar_title=colorbar_title)
        fig.add_trace(one.data[0], row=1, col=c)
        if c == 2:
            fig.add_trace(one.data[1], row=1, col=c)  # the colour bar, once: one scale
        nr, nc = np.shape(m)
        fig.update_xaxes(title=dict(text=axis_title, font=FONT), range=[-0.5, nc - 0.5], showgrid=False,
                         zeroline=False, row=1, col=c)
        fig.update_yaxes(title=dict(text=axis_title, font=FONT), range=[nr - 0.5, -0.5], showgrid=False,
                         zeroline=False, scaleanchor="x" if c == 1 else "x2", row=1, col=c)
    fig.update_annotations(font=dict(size=18))
    return base_layout(fig, None, height)


def head_mosaic(
    maps: np.ndarray,
    tile_labels: list[str],
    cols: int,
    title: str | None = None,
    *,
    customdata: list | None = None,
    hover: list[str] | None = None,
    selected: int | None = None,
    per_map: bool = True,
    row_labels: list[str] | None = None,
    col_labels: list[str] | None = None,
    min_tile: int = 48,
    max_side: int = 720,
    height: int = 640,
) -> go.Figure:
    """Many attention maps (N, T, T) as thumbnails in one image, clickable (a hidden marker per
    tile, customdata per tile). `per_map`: each map scaled to its own largest weight, so diffuse
    heads still show their pattern. With row/col labels the axes name them (layer x head)."""
    n = maps.shape[0]
    idx, lay, (vmin, vmax, scale) = mosaic_image(maps, list(range(n)), per_map, cols=cols, min_tile=min_tile,
                                                 max_side=max_side)
    fig = go.Figure(go.Image(source=encode_mosaic(idx, scale), hoverinfo="skip"))  # big: WebP
    centres = [lay.centre(i) for i in range(n)]
    fig.add_trace(go.Scatter(
        x=[c[0] for c in centres], y=[c[1] for c in centres], mode="markers",
        marker=dict(size=max(10, min(lay.tile, 80)), opacity=0, symbol="square"),
        customdata=customdata if customdata is not None else list(range(n)), showlegend=False,
        text=hover if hover is not None else tile_labels,
        hovertemplate="%{text}<br>click to open<extra></extra>",
    ))
    fig.add_trace(colorbar_trace(0.0, 1.0 if per_map else vmax, scale,
                                 "weight / this map's max" if per_map else "attention weight"))
    if not row_labels:
        for i, lab in enumerate(tile_labels):
            x, y = centres[i]
            fig.add_annotation(x=x - lay.tile / 2 + 2, y=y - lay.tile / 2 + 2, text=lab, showarrow=False,
                               xanchor="left", yanchor="top", font=dict(size=16, color="black"),
                               bgcolor="rgba(255,255,255,0.85)")
    if selected is not None and 0 <= selected < n:
        x, y = centres[selected]
        h = lay.tile / 2 + lay.gap / 2
        fig.add_shape(type="rect", x0=x - h, x1=x + h, y0=y - h, y1=y + h, line=dict(color=HIGHLIGHT, width=4))
    step = lay.tile + lay.gap
    if col_labels:
        fig.update_xaxes(tickvals=[c * step + lay.tile / 2 for c in range(lay.cols)], ticktext=col_labels[:lay.cols],
                         side="top", tickfont=FONT, showgrid=False, zeroline=False)
    else:
        fig.update_xaxes(visible=False)
    if row_labels:
        fig.update_yaxes(tickvals=[r * step + lay.tile / 2 for r in range(lay.rows)], ticktext=row_labels[:lay.rows],
                         tickfont=FONT, showgrid=False, zeroline=False, scaleanchor="x")
    else:
        fig.update_yaxes(visible=False, scaleanchor="x")
    fig.update_layout(clickmode="event+select", dragmode=False)
    return base_layout(fig, title, height)


def layer_heads(maps: np.ndarray, descriptions: list[str], selected: int | None = None) -> go.Figure:
    """One layer's heads (H, T, T) as clickable thumbnails, 6 a row; customdata = the head.
    `descriptions`: what each head mostly does (hover)."""
    H = maps.shape[0]
    return head_mosaic(maps, [f"head {h + 1}" for h in range(H)], cols=6, customdata=list(range(H)), selected=selected,
                       hover=[f"head {h + 1}: {d}" for h, d in enumerate(descriptions)], min_tile=200, max_side=1200,
                       height=440)


def all_heads(attentions: np.ndarray, descriptions: list[list[str]], selected: tuple[int, int] | None = None) -> go.Figure:
    """Every head of a model (L, H, T, T): layers as rows, heads as columns; customdata = [layer, head].
    `descriptions[l][h]`: what head (l, h) mostly does (hover)."""
    L, H, T, _ = attentions.shape
    pairs = [(l, h) for l in range(L) for h in range(H)]
    return head_mosaic(attentions.reshape(L * H, T, T), [f"L{l + 1} H{h + 1}" for l, h in pairs], cols=H,
                       customdata=[[l, h] for l, h in pairs], selected=None if selected is None else selected[0] * H + selected[1],
                       hover=[f"layer {l + 1}, head {h + 1}: {descriptions[l][h]}" for l, h in pairs],
                       row_labels=[f"layer {l + 1}" for l in range(L)], col_labels=[f"H{h + 1}" for h in range(H)],
                       min_tile=40, max_side=1100, height=620)


def head_lines(
    att: np.ndarray,
    q_labels: list[str],
    k_labels: list[str],
    title: str | None = None,
    *,
    query: int | None = None,
    min_weight: float = 0.02,
    top_k: int | None = None,
    bins: int = 8,
) -> go.Figure:
    """bertviz's head view: queries on the left, keys on the right, a line per (query, key) whose
    opacity is the weight. Lines are grouped into `bins` opacity levels (one trace each), so a
    long text costs a few traces, not T^2. `query` (row index) shows only that token's lines;
    `top_k` keeps each query's k strongest lines; weights below `min_weight` are not drawn."""
    a = np.asarray(att, dtype=np.float64)
    nq, nk = a.shape
    keep = a >= min_weight
    if top_k is not None and top_k < nk:
        order = np.argsort(-a, axis=1, kind="stable")[:, :top_k]
        tk = np.zeros_like(keep)
        np.put_along_axis(tk, order, True, axis=1)
        keep &= tk
    if query is not None:
        only = np.zeros_like(keep)
        only[query] = True
        keep &= only
    fig = go.Figure()
    edges = np.linspace(min_weight, 1.0, bins + 1)
    qi, kj = np.nonzero(keep)
    w = a[qi, kj]
    which = np.clip(np.searchsorted(edges, w, side="right") - 1, 0, bins - 1)
    for b in range(bins):
        sel = which == b
        if not sel.any():
            continue
        xs, ys = [], []
        for i, j in zip(qi[sel], kj[sel]):
            xs += [0.04, 0.96, None]
            ys += [-float(i), -float(j), None]
        opacity = float(min(1.0, max(0.08, (edges[b] + edges[b + 1]) / 2)))
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=LINE_COLOUR, width=3),
                                   opacity=opacity, hoverinfo="skip", showlegend=False))
    n = max(nq, nk)
    fs = tick_font_size(n)
    colours_q = [HIGHLIGHT if i == query else "black" for i in range(nq)]
    fig.add_trace(go.Scatter(x=[0.0] * nq, y=[-float(i) for i in range(nq)], mode="text",
                             text=[plot_text(t) for t in q_labels], textposition="middle left",
                             textfont=dict(size=fs + 2, color=colours_q), hoverinfo="skip", showlegend=False))
    fig.add_trace(go.Scatter(x=[1.0] * nk, y=[-float(j) for j in range(nk)], mode="text",
                             text=[plot_text(t) for t in k_labels], textposition="middle right",
                             textfont=dict(size=fs + 2), hoverinfo="skip", showlegend=False))
    # a legend for opacity: what a faint and a solid line mean
    for val in (0.1, 0.5, 1.0):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color=LINE_COLOUR, width=4),
                                 opacity=max(0.08, val), name=f"weight {val:g}", showlegend=True))
    fig.update_xaxes(visible=False, range=[-0.9, 1.9])
    fig.update_yaxes(visible=False, range=[-(n - 1) - 0.8, 0.8])
    fig.add_annotation(x=0, y=0.8, text="<b>query</b>", showarrow=False, yanchor="bottom", xanchor="right", font=FONT)
    fig.add_annotation(x=1, y=0.8, text="<b>key</b>", showarrow=False, yanchor="bottom", xanchor="left", font=FONT)
    fig = base_layout(fig, title, int(min(1400, max(360, 110 + (34 if n <= 24 else 24 if n <= 48 else 16) * n))))
    fig.update_layout(legend=dict(orientation="h", y=-0.02, yanchor="top", x=0.5, xanchor="center", font=FONT),
                      margin=dict(b=40))
    return fig


def token_bar(weights: np.ndarray, labels: list[str], title: str | None = None, *, ids=None,
              y_title: str = "weight", highlight: int | None = None, height: int = 380,
              width_px: int = 760) -> go.Figure:
    """Per-token values as bars, token labels under them (numeric axis: repeated words stay apart),
    thinned to what `width_px` (the figure's width on screen) shows side by side."""
    w = np.asarray(weights, dtype=np.float64)
    n = w.size
    ids = list(range(n)) if ids is None else [int(i) for i in ids]
    colours = [HIGHLIGHT if i == highlight else "#3b6fb6" for i in range(n)]
    fig = go.Figure(go.Bar(
        x=list(range(n)), y=w, marker_color=colours,
        text=[f"{v:.2f}" for v in w] if n <= 24 else None, textposition="outside", textfont=dict(size=14),
        customdata=[f"{plot_text(t)} (#{i})" for t, i in zip(labels, ids)],
        hovertemplate="%{customdata}: %{y:.4f}<extra></extra>",
    ))
    size = max(14, tick_font_size(n))
    ticks = thinned_ticks(n, max(2, int((width_px - 80) // (size * 1.3))))  # upright labels side by side; hover names every bar
    fig.update_xaxes(tickvals=ticks, ticktext=[plot_text(labels[i]) for i in ticks], tickangle=-90 if n > 6 else 0,
                     tickfont=dict(size=size))
    fig.update_yaxes(title=dict(text=y_title, font=FONT), range=[0, max(1e-6, float(w.max())) * 1.18])
    return base_layout(fig, title, height)


def cosine_by_layer(series: np.ndarray | dict[str, np.ndarray], title: str | None = None,
                    word: str = "bank", height: int = 480) -> go.Figure:
    """The "bank" demo: cosine similarity of one word's vectors in two sentences, per layer
    (layer 0 = the embeddings). Several named pairs give several lines."""
    if not isinstance(series, dict):
        series = {"": series}
    colours = ["#c23b3b", "#3b6fb6", "#5a9e5a", "#8e63b5"]
    arrs = {name: np.asarray(v, dtype=np.float64) for name, v in series.items()}
    fig = go.Figure()
    n = 0
    lo = 1.0
    for c, (name, cos) in enumerate(series.items()):
        cos = np.asarray(cos, dtype=np.float64)
        n = max(n, cos.size)
        lo = min(lo, float(cos.min()) - 0.05)
        labels = ["embeddings"] + [f"layer {i}" for i in range(1, cos.size)]
        fig.add_trace(go.Scatter(
            x=list(range(cos.size)), y=cos, mode="lines+markers+text", name=name or None,
            line=dict(width=4, color=colours[c % len(colours)]), marker=dict(size=14),
            text=[f"{v:.2f}" for v in cos],  # at each layer the higher line is labelled above, the lower below
            textposition=["top center" if v >= max(a[i] for a in arrs.values() if i < a.size) else "bottom center"
                          for i, v in enumerate(cos)],
            textfont=dict(size=18, color=colours[c % len(colours)]), customdata=labels,
            hovertemplate=(name + "<br>" if name else "") + "%{customdata}: cosine %{y:.3f}<extra></extra>",
            showlegend=bool(name),
        ))
    labels = ["embeddings"] + [f"layer {i}" for i in range(1, n)]
    fig.add_hline(y=1.0, line=dict(color="#999", dash="dot"))
    fig.update_xaxes(tickvals=list(range(n)), ticktext=labels, tickfont=dict(size=18), range=[-0.3, n - 0.7])
    lo = max(-1.0, lo - 0.05)
    fig.update_yaxes(range=[lo, 1.0 + (1.0 - lo) * 0.12], tickfont=dict(size=18),
                     title=dict(text=f"cosine of the two '{word}' vectors", font=AXIS_TITLE))
    fig = base_layout(fig, title, height)
    fig.update_layout(legend=dict(orientation="h", y=-0.12, yanchor="top", font=FONT))
    return fig


def query_steps(qk: np.ndarray, scaled: np.ndarray, probs: np.ndarray, key_labels: list[str],
                title: str | None = None, *, d_k: int = 32, key_ids=None, height: int = 520) -> go.Figure:
    """One query's row through the three steps, with the numbers: q·k_j, ÷√d_k, softmax.
    Each step is a row with its own colour scale (scores are signed, probabilities are not)."""
    n = len(key_labels)
    key_ids = list(range(n)) if key_ids is None else [int(i) for i in key_ids]
    rows = [("q · kⱼ", np.asarray(qk), DIVERGING, ".1f"), (f"÷ √{d_k}", np.asarray(scaled), DIVERGING, ".2f"),
            ("softmax", np.asarray(probs), SEQUENTIAL, ".2f")]
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=[f"{i + 1}. {r[0]}" for i, r in enumerate(rows)])
    fs = 18 if n <= 12 else 16 if n <= 18 else 14  # the shown keys are capped at 16 (STEP_KEYS)
    for r, (name, v, scale, fmt) in enumerate(rows, start=1):
        if scale == DIVERGING:
            m = max(float(np.abs(v).max()), 1e-6)
            lo, hi = -m, m
        else:
            lo, hi = 0.0, max(float(v.max()), 1e-6)
        fig.add_trace(go.Heatmap(
            z=v[None, :].astype(np.float32), x=list(range(n)), y=[0], zmin=lo, zmax=hi, colorscale=scale,
            texttemplate=f"%{{z:{fmt}}}", textfont=dict(size=fs), xgap=2,
            customdata=[[f"{plot_text(t)} (#{i})" for t, i in zip(key_labels, key_ids)]],
            hovertemplate=name + " for %{customdata}: %{z:.4f}<extra></extra>",
            colorbar=dict(len=0.26, y=1 - (r - 0.5) / 3, thickness=14, tickfont=dict(size=16), nticks=4),
        ), row=r, col=1)
        fig.update_yaxes(visible=False, row=r, col=1)
    fig.update_xaxes(tickvals=list(range(n)), ticktext=[plot_text(t) for t in key_labels],
                     tickangle=-90 if n > 6 else 0, tickfont=dict(size=tick_font_size(n)), row=3, col=1)
    fig.update_annotations(font=AXIS_TITLE, xanchor="left", x=0)
    return base_layout(fig, title, height)


def weighted_sum(probs: np.ndarray, values: np.ndarray, key_labels: list[str], title: str | None = None,
                 *, key_ids=None) -> go.Figure:
    """The last step: output = Σ_j p_j · v_j. Top: each key's value vector scaled by its weight
    (rows); bottom: their sum, the head's output for this query (numbers printed)."""
    p = np.asarray(probs, dtype=np.float64)
    V = np.asarray(values, dtype=np.float64)
    pv = p[:, None] * V  # (n, dh)
    out = pv.sum(0, keepdims=True)  # (1, dh)
    n, dh = pv.shape
    m = max(float(np.abs(pv).max()), float(np.abs(out).max()), 1e-6)
    key_ids = list(range(n)) if key_ids is None else [int(i) for i in key_ids]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        row_heights=[max(n, 2) / (max(n, 2) + 2), 2 / (max(n, 2) + 2)],
                        subplot_titles=["pⱼ · vⱼ for each key j (rows)", "Σⱼ pⱼ · vⱼ = this head's output for the query"])
    fig.add_trace(go.Heatmap(
        z=pv.astype(np.float32), zmin=-m, zmax=m, colorscale=DIVERGING, ygap=1,
        texttemplate="%{z:.2f}" if pv.size <= 200 else None, textfont=dict(size=14),
        colorbar=dict(title=dict(text="value", side="right"), thickness=16, tickfont=FONT),
        hovertemplate="key %{y}, dim %{x}: %{z:.4f}<extra></extra>",
    ), row=1, col=1)
    fig.add_trace(go.Heatmap(z=out.astype(np.float32), zmin=-m, zmax=m, colorscale=DIVERGING, showscale=False,
                             # two decimals fit 14 px up to 24 columns; more columns get one (hover: four)
                             texttemplate="%{z:.2f}" if dh <= 24 else "%{z:.1f}", textfont=dict(size=14),
                             hovertemplate="dim %{x}: %{z:.4f}<extra></extra>"), row=2, col=1)
    fig.update_yaxes(tickvals=list(range(n)), ticktext=[plot_text(t) for t in key_labels], autorange="reversed",
                     tickfont=dict(size=tick_font_size(n)), row=1, col=1)
    fig.update_yaxes(tickvals=[0], ticktext=["output"], tickfont=FONT, row=2, col=1)
    fig.update_xaxes(title=dict(text=f"dimension of the head (d_k = {dh})", font=FONT), row=2, col=1)
    fig.update_annotations(font=dict(size=18), xanchor="left", x=0)
    return base_layout(fig, title, int(min(900, 260 + 30 * n)))


def positional_heatmap(pe: np.ndarray, title: str | None = None, height: int = 520) -> go.Figure:
    """Sinusoidal encoding, positions (rows) x dimensions (columns), -1 blue .. +1 red."""
    fig = go.Figure(go.Heatmap(
        z=np.asarray(pe, dtype=np.float32), zmin=-1, zmax=1, colorscale=DIVERGING,
        colorbar=dict(title=dict(text="PE value", side="right"), thickness=18, tickfont=FONT),
        hovertemplate="position %{y}, dimension %{x}: %{z:.3f}<extra></extra>",
    ))
    fig.update_xaxes(title=dict(text="dimension i (even: sin, odd: cos)", font=FONT), tickfont=FONT)
    fig.update_yaxes(title=dict(text="position", font=FONT), autorange="reversed", tickfont=FONT)
    return base_layout(fig, title, height)


def positional_waves(pe: np.ndarray, dims: list[int], title: str | None = None, base: float = 10000.0,
                     height: int = 440) -> go.Figure:
    """A few columns of the encoding as waves over positions: low dimensions wiggle fast,
    high ones slowly (wavelength 2π · base^(2i/d))."""
    pe = np.asarray(pe)
    n, d = pe.shape
    fig = go.Figure()
    colours = ["#3b6fb6", "#e07b39", "#5a9e5a", "#8e63b5", "#c23b3b", "#777777"]
    for c, dim in enumerate(dims):
        wl = 2 * math.pi * base ** ((dim - dim % 2) / d)
        kind = "sin" if dim % 2 == 0 else "cos"
        fig.add_trace(go.Scatter(x=list(range(n)), y=pe[:, dim], mode="lines", line=dict(width=3, color=colours[c % 6]),
                                 name=f"dim {dim} ({kind}, wavelength {wl:,.0f})"))
    fig.update_xaxes(title=dict(text="position", font=FONT), tickfont=FONT)
    fig.update_yaxes(title=dict(text="PE value", font=FONT), range=[-1.1, 1.1], tickfont=FONT)
    fig = base_layout(fig, title, height)
    fig.update_layout(legend=dict(orientation="h", y=-0.22, yanchor="top", font=FONT), margin=dict(b=20))
    return fig


def attention_comparison(panels: list[tuple[str, np.ndarray]], labels: list[str], title: str | None = None,
               diff_last: bool = True, height: int | None = None, zmax: float | None = None,
               width_px: int = 790) -> go.Figure:
    """Attention maps side by side on one 0..max scale (or 0..zmax), the last one (a difference)
    diverging. Token labels are thinned to what a panel of the figure's `width_px` can show
    side by side at a readable size (rotated upright on the x axis, so none overlap)."""
    n = len(labels)
    k = len(panels)
    fig = make_subplots(rows=1, cols=k, horizontal_spacing=0.16 if diff_last else 0.1,
                        subplot_titles=[t for t, _ in panels])
    same = [p for _, p in (panels[:-1] if diff_last else panels)]
    hi = zmax or max(float(np.max(p)) for p in same) or 1e-6
    size = max(14, min(tick_font_size(n), 18))
    panel_px = width_px * (1 - (0.16 if diff_last else 0.1) * (k - 1)) / k * 0.85  # colour bars take a share
    x_ticks = thinned_ticks(n, max(2, int(panel_px // (size * 1.25))))
    rows_px = (height or int(min(900, max(420, 200 + 22 * n)))) - 200  # titles, x labels and margins
    y_ticks = thinned_ticks(n, max(2, int(rows_px // (size * 1.2))))
    dm = max(float(np.abs(panels[-1][1]).max()), 1e-6) if diff_last else 0
    for c, (t, p) in enumerate(panels, start=1):
        is_diff = diff_last and c == k
        fig.add_trace(go.Heatmap(
            z=np.asarray(p, dtype=np.float32), zmin=-dm if is_diff else 0, zmax=dm if is_diff else hi,
            colorscale=DIVERGING if is_diff else ATTENTION_SCALE,
            # a bar between panels sits in the gap right after its own panel, not over the next one
            colorbar=dict(x=fig.layout[f"xaxis{c if c > 1 else ''}"].domain[1] + 0.005 if c < k else 1.01, len=0.8,
                          thickness=14, tickfont=dict(size=16),
                          title=dict(text="difference" if is_diff else "weight", side="right")),
            showscale=is_diff or c == (k - 1 if diff_last else k),  # one bar per scale
            hovertemplate=f"{t}<br>%{{y}} → %{{x}}: %{{z:.3f}}<extra></extra>",
        ), row=1, col=c)
        fig.update_xaxes(tickvals=x_ticks, ticktext=[plot_text(labels[i]) for i in x_ticks], tickangle=-90,
                         tickfont=dict(size=size), row=1, col=c)
        fig.update_yaxes(tickvals=y_ticks, ticktext=[plot_text(labels[i]) for i in y_ticks], autorange="reversed",
                         tickfont=dict(size=size), showticklabels=(c == 1), row=1, col=c)
    fig.update_annotations(font=dict(size=18))
    return base_layout(fig, title, height or int(min(900, max(420, 200 + 22 * n))))


def prob_table(probs: np.ndarray, row_labels: list[str], vocab: list[str], title: str | None = None,
               chosen: list[int] | None = None) -> go.Figure:
    """Decoder steps x output vocabulary: each row is one step's distribution; the greedy choice
    is outlined."""
    fig = labelled_heatmap(np.asarray(probs), row_labels, vocab, title, zmin=0.0, zmax=1.0,
                           colorbar_title="probability", numbers=False, row_title="decoder step (reads)",
                           col_title="next token")
    for r, c in enumerate(chosen or []):
        fig.add_shape(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5, line=dict(color=HIGHLIGHT, width=3))
    return fig


def staircase(k: int) -> tuple[list[float], list[float]]:
    """The line under the diagonal of a k x k token grid (cell centres at integers): each step
    goes right along the bottom of a diagonal cell, then down. Points as (xs, ys)."""
    xs = [i - 0.5 for i in range(k + 1) for _ in (0, 1)][1:-1] if k > 1 else []
    ys = [i + 0.5 for i in range(k) for _ in (0, 1)][: len(xs)]
    return xs, ys


def causal_scores(scores: np.ndarray, labels: list[str], title: str | None = None) -> go.Figure:
    """A decoder head's scores q·k/√d (T, T) before the causal mask, on a symmetric diverging
    scale, with the staircase that separates each query's past from its future."""
    s = np.asarray(scores, dtype=np.float64)
    lim = float(np.abs(s).max())
    fig = labelled_heatmap(s, labels, labels, title, zmin=-lim, zmax=lim, scale=DIVERGING, colorbar_title="score",
                           numbers=False)
    xs, ys = staircase(len(labels))
    fig.add_scatter(x=xs, y=ys, mode="lines", line=dict(color="black", width=3), hoverinfo="skip", showlegend=False)
    return fig


def token_vectors(m: np.ndarray, row_labels: list[str], title: str | None = None, *, row_ids=None,
                  lim: float | None = None, highlight_row: int | None = None, colorbar_title: str = "value",
                  tick_step: int = 8, base_height: int = 140) -> go.Figure:
    """One vector per token (rows x dimensions), blue < 0 < red on ±`lim` (default: the largest
    |value| shown), every `tick_step`-th dimension labelled; `highlight_row` outlined."""
    m = np.asarray(m, dtype=np.float64)
    lim = float(np.abs(m).max()) if lim is None else lim
    ticks = list(range(0, m.shape[1], tick_step))
    fig = labelled_heatmap(m, row_labels, [str(i) for i in range(m.shape[1])], title, row_ids=row_ids, numbers=False,
                           highlight_row=highlight_row, scale=DIVERGING, zmin=-lim, zmax=lim,
                           colorbar_title=colorbar_title, row_title="token", col_title="dimension",
                           height=max(300, base_height + 26 * len(row_labels)))
    return fig.update_xaxes(tickvals=ticks, ticktext=[str(i) for i in ticks], tickangle=0)


def projections(steps: dict[str, np.ndarray], rows: np.ndarray, row_labels: list[str], query_row: int, layer: int,
                show_x: bool = True) -> dict[str, go.Figure]:
    """The first step of recomputing a head (`MiniLM.attention_steps`), for the tokens at `rows`:
    "X" (T, D), the layer's input, on one scale for the whole text (when `show_x`), then "Q", "K",
    "V" (T, dh). `query_row` (an index into rows) is outlined in X and Q."""
    (T, D), dh = steps["X"].shape, steps["Q"].shape[1]
    figs = {}
    if show_x:
        figs["X"] = token_vectors(steps["X"][rows], row_labels, f"X: layer {layer + 1}'s input, {T} tokens × {D} dimensions",
                                  row_ids=rows, lim=float(np.abs(steps["X"]).max()), highlight_row=query_row,
                                  tick_step=32, base_height=120)
    for name in "QKV":
        figs[name] = token_vectors(steps[name][rows], row_labels, f"{name} ({T} × {dh})", row_ids=rows,
                                   highlight_row=query_row if name == "Q" else None, colorbar_title=name)
    return figs


STEP_NAMES = {"Q": "Q = X W_Q + b_Q", "K": "K = X W_K + b_K", "V": "V = X W_V + b_V", "QK": "Q Kᵀ",
              "scaled": "Q Kᵀ / √d_k", "probs": "softmax", "out": "softmax · V"}


def check_table(diffs: dict[str, float], tolerance: float = 1e-3) -> str:
    """A Markdown table: each step of a recomputation (`analysis.attention.step_differences`) with
    its largest difference from the model's own numbers, and whether that is float32 rounding."""
    rows = ["| step | largest difference from the model's own numbers | |", "|---|---|---|"]
    for k, label in STEP_NAMES.items():
        ok = "✓ equal (float32 rounding)" if diffs[k] < tolerance else "✗ differs"
        rows.append(f"| {label} | {diffs[k]:.1e} | {ok} |")
    return "\n".join(rows)


def _pick_head(attentions: np.ndarray, layer: int, head: int | None) -> np.ndarray:
    return attentions[layer].mean(0) if head is None else attentions[layer, head]


def translation_maps(trace, layer: int, head: int | None) -> dict[str, go.Figure]:
    """An encoder-decoder's attention (a CrossTrace) in decoder `layer`, one head or the mean of
    heads (None): "cross" (output x input characters), "encoder" self-attention (the same layer,
    or the last encoder layer and the mean of heads when the encoder has fewer layers) and
    "decoder" masked self-attention (the future as NaN, grey)."""
    name = "mean of heads" if head is None else f"head {head + 1}"
    src, dec_in = trace.tokens, trace.dec_inputs
    enc_layer = min(layer, trace.enc_self_attn.shape[0] - 1)
    dec = _pick_head(trace.dec_self_attn, layer, head)
    return {
        "cross": attention_heatmap(_pick_head(trace.cross_attn, layer, head), [show_token(p) for p in trace.produced], src,
                                   f"Decoder layer {layer + 1}, {name}: output (rows) × input (columns)",
                                   row_title="output character being written", col_title="input character"),
        "encoder": attention_heatmap(_pick_head(trace.enc_self_attn, enc_layer, head if enc_layer == layer else None),
                                     src, src, f"Encoder self-attention, layer {enc_layer + 1}", square=False, height=620,
                                     row_title="input character", col_title="input character", width_hint=380),
        "decoder": attention_heatmap(np.where(np.tril(np.ones(dec.shape, bool)), dec, np.nan), dec_in, dec_in,
                                     f"Decoder masked self-attention, layer {layer + 1}", masked=True, square=False,
                                     height=620, row_title="decoder reads", col_title="earlier decoder input",
                                     width_hint=380),  # half the page each, side by side
    }


def shuffle_comparison(original: np.ndarray, restored: np.ndarray, tokens: list[str], title: str,
                       first: int = 32) -> go.Figure:
    """A head on a text (T, T) beside the same head on its shuffled words put back in the original
    order, and their difference; the first `first` tokens."""
    k = min(len(tokens), first)
    if k < len(tokens):
        title += f" (first {k} of {len(tokens)} tokens)"
    return attention_comparison([("original", original[:k, :k]), ("shuffled, put back in original order", restored[:k, :k]),
                                 ("difference", (restored - original)[:k, :k])], tokens[:k], title)


def translation_html(source: str, output: str, valid: bool,
                     verdicts: tuple[str, str] = ("✓ a real date", "✗ not a real date")) -> str:
    """A translation in large type, escaped: source → output, and whether the output is well-formed."""
    ok = verdicts[0] if valid else verdicts[1]
    return (f"<div style='font-size:34px'><code>{html.escape(source)}</code> → "
            f"<b><code>{html.escape(output) or '(nothing)'}</code></b> <span style='font-size:22px'>{ok}</span></div>")


# --- text as HTML chips ------------------------------------------------------------------------

_CHIP_CSS = (
    "<style>.nnv-tok{{font-size:{px}px;font-family:monospace;padding:1px 6px;border-radius:6px;"
    "display:inline-block;margin:3px 0 3px {gap}px;line-height:1.5;background:#e8f0fb;border:1px solid #b9c9e4}}"
    ".nnv-tok.c{{margin-left:1px;background:#f4e9d8;border-color:#d9c3a0}}"
    ".nnv-tok.s{{background:#eeeeee;color:#555;font-style:italic;border-color:#bbb}}"
    ".nnv-tok.u{{background:#fde0e0;border:2px solid #c23b3b;color:#8a1111}}"
    ".nnv-tok.h{{outline:3px solid {hl};outline-offset:1px}}"
    ".nnv-tok sub{{font-size:12px;color:#777;margin-left:2px}}</style>"
)


def tokens_html(tokens: list[str], *, unknown: list[int] | None = None, weights: np.ndarray | None = None,
                highlight: int | None = None, scale: str = ATTENTION_SCALE, font_px: int = 22,
                originals: dict[int, str] | None = None, show_index: bool = False, compact: bool = False,
                max_height_px: int | None = None) -> str:
    """Tokens as chips for st.html: wordpiece continuations ('##ing') sit against the word before
    (beige), [CLS]/[SEP] grey, [UNK] red with the text it replaced, optionally a background colour
    by `weights` (0 .. max on `scale`). `compact` packs characters tightly (a char model's input).
    Every token is HTML-escaped."""
    unknown = set(unknown or [])
    originals = originals or {}
    colours = None
    if weights is not None:
        w = np.nan_to_num(np.asarray(weights, dtype=np.float64))
        hi = max(float(w.max()), 1e-9)
        colours = lut(scale, 256)[np.clip((w / hi) * 255, 0, 255).astype(int)]
    chips = []
    for i, t in enumerate(tokens):
        cls = ["nnv-tok"]
        label = html.escape(show_token(t))
        tip = f"#{i}: {t!r}"
        style = ""
        if t.startswith("##") or compact:
            cls.append("c")
        if i in unknown:
            cls.append("u")
            orig = originals.get(i)
            label = "[UNK]" + (f" {html.escape(orig)}" if orig else "")
            tip += " not in the vocabulary" + (f": {orig}" if orig else "")
        elif t in ("[CLS]", "[SEP]", "[PAD]"):
            cls.append("s")
        if colours is not None and i not in unknown:
            r, g, b = (int(x) for x in colours[i])
            ink = "white" if (0.299 * r + 0.587 * g + 0.114 * b) < 140 else "black"
            style = f" style='background:rgb({r},{g},{b});color:{ink}'"
            tip += f" weight {float(weights[i]):.3f}"
        if i == highlight:
            cls.append("h")
        idx = f"<sub>{i}</sub>" if show_index else ""
        chips.append(f"<span class='{' '.join(cls)}' title='{html.escape(tip)}'{style}>{label}{idx}</span>")
    box = "line-height:2.1"
    if max_height_px:
        box += f";max-height:{max_height_px}px;overflow-y:auto"
    css = _CHIP_CSS.format(px=font_px, gap=2 if compact else 8, hl=HIGHLIGHT)
    return css + f"<div style='{box}'>" + "".join(chips) + "</div>"
