"""numpy / plain data -> Plotly figures. Never imports streamlit or torch, so notebooks and tests
can use it directly.

Large grids (hundreds of channels) go to the browser as one PNG (`go.Image`), not as heatmap
JSON; a hidden scatter trace adds the colour bar and per-channel hover/click targets.
"""
from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots
from PIL import Image

FONT = dict(size=16)  # readable from the back of a lecture hall
SEQUENTIAL = "Viridis"
DIVERGING = "RdBu_r"
MOSAIC_SIDE = 720  # px: a mosaic is never sent larger than a projector shows it
LOSSLESS_PIXELS = 300_000


def base_layout(fig: go.Figure, title: str | None = None, height: int | None = None) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, font=dict(size=20)) if title else None,
        font=FONT,
        margin=dict(l=10, r=10, t=60 if title else 20, b=10),
        height=height,
        plot_bgcolor="white",
    )
    return fig


def lut(name: str, n: int = 256) -> np.ndarray:
    """A colour scale as an (n, 3) uint8 lookup table."""
    cols = sample_colorscale(name, list(np.linspace(0, 1, n)), colortype="rgb")
    return np.array([[float(c) for c in s[s.index("(") + 1 : -1].split(",")] for s in cols], dtype=np.uint8)


def to_png_uri(img: np.ndarray, palette: np.ndarray | None = None) -> str:
    """(H, W, 3) uint8 RGB, or (H, W) uint8 indices into `palette` ((256, 3) uint8), -> PNG data URI.
    An indexed PNG is a third of the raw size of RGB and compresses better still."""
    if palette is not None:
        im = Image.frombytes("P", (img.shape[1], img.shape[0]), np.ascontiguousarray(img, np.uint8).tobytes())
        im.putpalette(palette.astype(np.uint8).ravel().tolist())
    else:
        im = Image.fromarray(img)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False, compress_level=6)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def palette_indices(values: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """Values -> uint8 indices 0..254 along a colour scale; NaN -> 255 (white in `palette`)."""
    span = vmax - vmin if vmax > vmin else 1.0
    t = np.clip((values - vmin) / span, 0.0, 1.0)
    idx = np.nan_to_num(t * 254, nan=0).round().astype(np.uint8)
    idx[np.isnan(values)] = 255
    return idx


def palette(scale: str) -> np.ndarray:
    """255 colours of `scale` plus white at index 255."""
    return np.vstack([lut(scale, 255), np.array([[255, 255, 255]], np.uint8)])


def colorize(values: np.ndarray, vmin: float, vmax: float, scale: str) -> np.ndarray:
    """Map values to RGB with the given colour scale; NaN stays white."""
    return palette(scale)[palette_indices(values, vmin, vmax)]


def colorbar_trace(vmin: float, vmax: float, scale: str, title: str) -> go.Scatter:
    """An invisible scatter whose only job is to draw a colour bar next to an image."""
    return go.Scatter(
        x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
        marker=dict(
            colorscale=scale, cmin=vmin, cmax=vmax, color=[vmin], showscale=True,
            colorbar=dict(title=dict(text=title, side="right"), thickness=18, tickfont=FONT),
        ),
    )


def value_range(a: np.ndarray) -> tuple[float, float, str]:
    """(vmin, vmax, scale): signed data gets a diverging scale centred on zero."""
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return 0.0, 1.0, SEQUENTIAL
    lo, hi = float(finite.min()), float(finite.max())
    if lo < 0 < hi:
        m = max(-lo, hi)
        return -m, m, DIVERGING
    if lo == hi:
        hi = lo + 1.0
    return lo, hi, SEQUENTIAL


@dataclass(frozen=True)
class MosaicLayout:
    rows: int
    cols: int
    tile: int  # tile side in PNG pixels (after upscaling)
    gap: int

    def centre(self, i: int) -> tuple[float, float]:
        r, c = divmod(i, self.cols)
        step = self.tile + self.gap
        return c * step + self.tile / 2, r * step + self.tile / 2


def channel_order(maps: np.ndarray, sort: str = "index") -> list[int]:
    """Channel indices ordered by 'index', 'mean' or 'max' activation (largest first)."""
    flat = maps.reshape(maps.shape[0], -1)
    if sort == "mean":
        return list(np.argsort(-flat.mean(1), kind="stable"))
    if sort == "max":
        return list(np.argsort(-flat.max(1), kind="stable"))
    return list(range(maps.shape[0]))


def mosaic_image(
    maps: np.ndarray, channels: list[int], per_channel: bool, cols: int | None = None,
    min_tile: int = 48, max_side: int = MOSAIC_SIDE,
) -> tuple[np.ndarray, MosaicLayout, tuple[float, float, str]]:  # (indices, layout, range)
    """Tile `maps[channels]` (each H x W) into one image of palette indices (see `palette`).

    Small maps are nearest-upscaled so they stay crisp; when the grid would be wider than
    `max_side` pixels (more than a projector shows), each map is box-averaged down first, so a
    shown pixel is the mean of the values it covers.
    """
    n = len(channels)
    h, w = maps.shape[1:]
    cols = cols or max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    sel = maps[channels].astype(np.float32)
    fit = max_side / max(cols * (w * 25 / 24 + 1), rows * (h * 25 / 24 + 1))  # room for the gaps
    if fit < 1:
        h, w = max(1, int(h * fit)), max(1, int(w * fit))
        sel = np.stack([np.asarray(Image.fromarray(m, "F").resize((w, h), Image.BOX)) for m in sel])
    up = max(1, math.ceil(min_tile / max(h, w))) if fit >= 1 else 1
    up = max(1, min(up, int(fit))) if fit >= 1 else 1
    th, tw = h * up, w * up
    gap = max(1, th // 24)
    grid = np.full((rows * (th + gap) - gap, cols * (tw + gap) - gap), np.nan, dtype=np.float32)
    if per_channel:
        lo = sel.reshape(n, -1).min(1)[:, None, None]
        hi = sel.reshape(n, -1).max(1)[:, None, None]
        sel = (sel - lo) / np.where(hi > lo, hi - lo, 1.0)
        rng = (0.0, 1.0, SEQUENTIAL)
    else:
        rng = value_range(sel)
    for i in range(n):
        r, c = divmod(i, cols)
        tile = np.repeat(np.repeat(sel[i], up, 0), up, 1)
        grid[r * (th + gap) : r * (th + gap) + th, c * (tw + gap) : c * (tw + gap) + tw] = tile
    return palette_indices(grid, rng[0], rng[1]), MosaicLayout(rows, cols, th, gap), rng


def encode_mosaic(idx: np.ndarray, scale: str) -> str:
    """Small mosaics as indexed PNG (exact colours, crisp pixels); big ones as WebP, which is
    several times smaller for busy feature maps and indistinguishable at quality 85."""
    if idx.size <= LOSSLESS_PIXELS:
        return to_png_uri(idx, palette(scale))
    buf = io.BytesIO()
    Image.fromarray(palette(scale)[idx]).save(buf, format="WEBP", quality=85, method=4)
    return "data:image/webp;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def feature_mosaic(
    maps: np.ndarray,
    channels: list[int] | None = None,
    per_channel: bool = True,
    title: str | None = None,
    height: int = 640,
) -> go.Figure:
    """Every channel of a (C, H, W) activation as one image, with a colour bar and hover/click
    targets (a scatter point per tile, customdata = channel index)."""
    channels = list(range(maps.shape[0])) if channels is None else list(channels)
    idx, lay, (vmin, vmax, scale) = mosaic_image(maps, channels, per_channel)
    flat = maps[channels].reshape(len(channels), -1)
    centres = [lay.centre(i) for i in range(len(channels))]
    fig = go.Figure(go.Image(source=encode_mosaic(idx, scale), hoverinfo="skip"))
    fig.add_trace(
        go.Scatter(
            x=[c[0] for c in centres], y=[c[1] for c in centres], mode="markers",
            marker=dict(size=max(8, min(lay.tile, 60)), opacity=0, symbol="square"),
            customdata=channels, showlegend=False,
            hovertemplate="channel %{customdata}<br>%{text}<extra></extra>",
            text=[f"mean {m:.3g}, max {x:.3g}" for m, x in zip(flat.mean(1), flat.max(1))],
        )
    )
    bar_title = "per-channel min → max" if per_channel else "activation"
    fig.add_trace(colorbar_trace(vmin, vmax, scale, bar_title))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    fig.update_layout(clickmode="event+select", dragmode=False)
    return base_layout(fig, title, height)


def heatmap(
    a: np.ndarray, title: str | None = None, height: int = 480, colorbar_title: str = "value",
    symmetric: bool | None = None,
) -> go.Figure:
    """One 2-D array as a heatmap (for a single channel; small enough for JSON)."""
    vmin, vmax, scale = value_range(a)
    if symmetric is False:
        vmin, vmax, scale = float(np.nanmin(a)), float(np.nanmax(a)), SEQUENTIAL
    fig = go.Figure(
        go.Heatmap(
            z=a, zmin=vmin, zmax=vmax, colorscale=scale,
            colorbar=dict(title=dict(text=colorbar_title, side="right")),
            hovertemplate="row %{y}, col %{x}: %{z:.3g}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain")
    fig.update_xaxes(constrain="domain")
    return base_layout(fig, title, height)


def overlay(image: np.ndarray, channel: np.ndarray, alpha: float = 0.55, title: str | None = None) -> go.Figure:
    """A channel upsampled to the image's size and blended over it (image: (H, W) or (H, W, 3) in [0, 1])."""
    h, w = image.shape[:2]
    lo, hi = float(channel.min()), float(channel.max())
    norm = (channel - lo) / (hi - lo) if hi > lo else np.zeros_like(channel)
    up = np.asarray(Image.fromarray((norm * 255).astype(np.uint8)).resize((w, h), Image.BILINEAR)) / 255.0
    heat = lut(SEQUENTIAL)[(up * 255).astype(np.uint8)].astype(np.float32)
    base = image if image.ndim == 3 else np.repeat(image[..., None], 3, 2)
    mixed = ((1 - alpha) * base * 255 + alpha * heat).clip(0, 255).astype(np.uint8)
    fig = go.Figure(go.Image(source=to_png_uri(mixed), hoverinfo="skip"))
    fig.add_trace(colorbar_trace(lo, hi, SEQUENTIAL, "activation"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return base_layout(fig, title, 480)


def side_by_side(panels: list[tuple[str, np.ndarray]], title: str | None = None, height: int = 420,
                 shared_scale: bool = True) -> go.Figure:
    """Several 2-D arrays as heatmaps in one row (pooling before/after, residual x, F(x), F(x)+x).
    Titles carry the shapes; one colour scale when shared so the panels compare."""
    allv = np.concatenate([p.ravel() for _, p in panels])
    vmin, vmax, scale = value_range(allv)
    fig = make_subplots(
        rows=1, cols=len(panels), horizontal_spacing=0.06,
        subplot_titles=[f"{t}<br>{p.shape[0]}×{p.shape[1]}" for t, p in panels],
    )
    for i, (t, p) in enumerate(panels, start=1):
        if not shared_scale:
            vmin, vmax, scale = value_range(p)
        fig.add_trace(
            go.Heatmap(
                z=p, zmin=vmin, zmax=vmax, colorscale=scale, showscale=(i == len(panels)) or not shared_scale,
                colorbar=dict(x=1.02 if shared_scale else i / len(panels) - 0.02, len=0.9, thickness=14),
                hovertemplate=f"{t}<br>row %{{y}}, col %{{x}}: %{{z:.3g}}<extra></extra>",
            ),
            row=1, col=i,
        )
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{i if i > 1 else ''}", row=1, col=i)
    fig.update_annotations(font=dict(size=16))
    return base_layout(fig, title, height)


def filter_grid(weights: np.ndarray, title: str | None = None, height: int = 520) -> go.Figure:
    """First-layer kernels (O, I, kh, kw): RGB when I == 3, else the diverging map of input 0."""
    o, i = weights.shape[:2]
    if i == 3:
        w = weights.transpose(0, 2, 3, 1)  # (O, kh, kw, 3)
        m = np.abs(w).max() or 1.0
        rgb_tiles = ((w / m) * 0.5 + 0.5).clip(0, 1)
        cols = max(1, math.ceil(math.sqrt(o)))
        rows = math.ceil(o / cols)
        kh, kw = w.shape[1:3]
        up = max(1, math.ceil(40 / max(kh, kw)))
        th, tw, gap = kh * up, kw * up, max(1, up // 2)
        grid = np.full((rows * (th + gap) - gap, cols * (tw + gap) - gap, 3), 1.0, dtype=np.float32)
        for k in range(o):
            r, c = divmod(k, cols)
            tile = np.repeat(np.repeat(rgb_tiles[k], up, 0), up, 1)
            grid[r * (th + gap) : r * (th + gap) + th, c * (tw + gap) : c * (tw + gap) + tw] = tile
        fig = go.Figure(go.Image(source=to_png_uri((grid * 255).astype(np.uint8)), hoverinfo="skip"))
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False, scaleanchor="x")
        return base_layout(fig, title, height)
    return feature_mosaic(weights[:, 0], per_channel=False, title=title, height=height)


def top_k_bar(probs: np.ndarray, labels: list[str] | tuple[str, ...] | None, k: int = 5,
              title: str | None = None) -> go.Figure:
    """The k most probable classes as horizontal bars, best on top."""
    k = min(k, probs.size)
    idx = np.argsort(-probs)[:k]
    names = [labels[i] if labels else str(i) for i in idx]
    fig = go.Figure(
        go.Bar(
            x=probs[idx][::-1], y=names[::-1], orientation="h",
            text=[f"{p:.1%}" for p in probs[idx][::-1]], textposition="auto",
            marker_color="#3b6fb6", hovertemplate="%{y}: %{x:.2%}<extra></extra>",
        )
    )
    fig.update_xaxes(range=[0, 1], tickformat=".0%", title="probability")
    fig.update_yaxes(type="category")  # digit labels "0".."9" must not become a numeric axis
    return base_layout(fig, title, 80 + 48 * k)


def architecture_strip(layers: list[tuple[str, str, tuple[int, ...]]], selected: str | None = None) -> go.Figure:
    """Each layer as a bar whose height is its number of values (log scale), coloured by type,
    labelled with its output shape; the selected one is outlined."""
    colours = {"Conv2d": "#3b6fb6", "ReLU": "#9bbbe0", "MaxPool2d": "#e07b39", "AvgPool2d": "#e07b39",
               "AdaptiveAvgPool2d": "#e07b39", "Linear": "#5a9e5a", "BasicBlock": "#8e63b5",
               "BatchNorm2d": "#b5b5b5", "Sequential": "#b5b5b5"}
    names = [n for n, _, _ in layers]
    sizes = [max(1, int(np.prod(s))) for _, _, s in layers]
    fig = go.Figure(
        go.Bar(
            x=names, y=sizes,
            marker=dict(color=[colours.get(t, "#999999") for _, t, _ in layers],
                        line=dict(width=[4 if n == selected else 0 for n in names], color="#d62728")),
            customdata=[[t, "×".join(map(str, s))] for _, t, s in layers],
            hovertemplate="%{x}<br>%{customdata[0]} → %{customdata[1]}<extra></extra>",
        )
    )
    fig.update_yaxes(type="log", title="values in output", dtick=1)
    fig.update_xaxes(tickangle=-60, tickfont=dict(size=12))
    return base_layout(fig, None, 300)


def rgb_image(image: np.ndarray, title: str | None = None, height: int = 360) -> go.Figure:
    """An image in [0, 1] ((H, W) or (H, W, 3)) as a PNG figure with pixel hover off."""
    a = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, 2)
    fig = go.Figure(go.Image(source=to_png_uri(a), hoverinfo="skip"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return base_layout(fig, title, height)


__all__ = [
    "architecture_strip", "channel_order", "feature_mosaic", "filter_grid", "heatmap", "lut",
    "mosaic_image", "overlay", "rgb_image", "side_by_side", "top_k_bar", "value_range",
]
