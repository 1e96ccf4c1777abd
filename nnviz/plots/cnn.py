"""CNN views: channel mosaics, filters, overlays and the architecture strip.

Large grids (hundreds of channels) go to the browser as one image (`go.Image`), not as heatmap
JSON; a hidden scatter trace adds the colour bar and per-channel hover/click targets.
"""
from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from ..traces import FeatureTrace
from .base import (FONT, SEQUENTIAL, base_layout, box_average, colorbar_trace, lut, palette, palette_indices,
                   to_png_uri, value_range)

MOSAIC_SIDE = 720  # px: a mosaic is never sent larger than a projector shows it
LOSSLESS_PIXELS = 300_000


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
    min_tile: int = 48, max_side: int = MOSAIC_SIDE, limits: tuple | None = None,
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
        sel = np.stack([box_average(m, (w, h)) for m in sel])
    up = max(1, math.ceil(min_tile / max(h, w))) if fit >= 1 else 1
    up = max(1, min(up, int(fit))) if fit >= 1 else 1
    th, tw = h * up, w * up
    gap = max(1, th // 24)
    grid = np.full((rows * (th + gap) - gap, cols * (tw + gap) - gap), np.nan, dtype=np.float32)
    # `limits` (another image's maps beside these): per channel, (lo (C,), hi (C,)) over both
    # images; shared, a (vmin, vmax, scale) over both; so equal colours mean equal values
    if per_channel:
        lo = (limits[0][channels] if limits else sel.reshape(n, -1).min(1))[:, None, None]
        hi = (limits[1][channels] if limits else sel.reshape(n, -1).max(1))[:, None, None]
        sel = (sel - lo) / np.where(hi > lo, hi - lo, 1.0)
        rng = (0.0, 1.0, SEQUENTIAL)
    else:
        rng = limits or value_range(sel)
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
    limits: tuple | None = None,
) -> go.Figure:
    """Every channel of a (C, H, W) activation as one image, with a colour bar and hover/click
    targets (a scatter point per tile, customdata = channel index). `limits`: see mosaic_image
    (comparison_limits gives them for two images on one scale)."""
    channels = list(range(maps.shape[0])) if channels is None else list(channels)
    idx, lay, (vmin, vmax, scale) = mosaic_image(maps, channels, per_channel, limits=limits)
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
    bar_title = ("per-channel min → max" + (" of both" if limits else "")) if per_channel else "activation"
    fig.add_trace(colorbar_trace(vmin, vmax, scale, bar_title))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    fig.update_layout(clickmode="event+select", dragmode=False)
    return base_layout(fig, title, height)


def comparison_limits(a: np.ndarray, b: np.ndarray, per_channel: bool) -> tuple:
    """One colour scale for two images' (C, H, W) maps of the same layer: per channel, each
    channel's min and max over both; shared, one range over everything."""
    if per_channel:
        both = np.concatenate([a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)], axis=1)
        return both.min(1), both.max(1)
    return value_range(np.concatenate([a.ravel(), b.ravel()]))


def overlay(image: np.ndarray, channel: np.ndarray, alpha: float = 0.55, title: str | None = None,
            colorbar_title: str = "activation", height: int = 480) -> go.Figure:
    """A channel upsampled to the image's size and blended over it (image: (H, W) or (H, W, 3) in [0, 1]);
    the colour bar gives the channel's own values."""
    h, w = image.shape[:2]
    lo, hi = float(channel.min()), float(channel.max())
    norm = (channel - lo) / (hi - lo) if hi > lo else np.zeros_like(channel)
    up = np.asarray(Image.fromarray((norm * 255).astype(np.uint8)).resize((w, h), Image.BILINEAR)) / 255.0
    heat = lut(SEQUENTIAL)[(up * 255).astype(np.uint8)].astype(np.float32)
    base = image if image.ndim == 3 else np.repeat(image[..., None], 3, 2)
    mixed = ((1 - alpha) * base * 255 + alpha * heat).clip(0, 255).astype(np.uint8)
    fig = go.Figure(go.Image(source=to_png_uri(mixed), hoverinfo="skip"))
    fig.add_trace(colorbar_trace(lo, hi, SEQUENTIAL, colorbar_title))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
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


def architecture_strip(layers: list[tuple[str, str, tuple[int, ...]]], selected: str | None = None) -> go.Figure:
    """Each layer as a bar whose height is its number of values (log scale), coloured by type,
    labelled with its output shape; the selected one is outlined."""
    colours = {"Conv2d": "#3b6fb6", "ReLU": "#9bbbe0", "MaxPool2d": "#e07b39", "AvgPool2d": "#e07b39",
               "AdaptiveAvgPool2d": "#e07b39", "Linear": "#5a9e5a", "BasicBlock": "#8e63b5",
               "InvertedResidual": "#8e63b5", "BatchNorm2d": "#b5b5b5", "Sequential": "#b5b5b5"}
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
    fig.update_yaxes(type="log", title="values in output", dtick=1, tickfont=FONT)
    # at most ~30 names fit under the strip at a readable size: label every k-th bar, hover tells the rest
    k = max(1, -(-len(names) // 30))
    fig.update_xaxes(tickangle=-60, tickfont=dict(size=14 if k > 1 else 15), automargin=True,
                     tickvals=names[::k], ticktext=names[::k])
    return base_layout(fig, None, 360)


def residual_blocks(trace: FeatureTrace) -> list[str]:
    """The residual blocks of a trace that can be shown as x, F(x), F(x) + x: ResNet's BasicBlocks
    and MobileNetV2's InvertedResidual blocks with a shortcut (capture records their input)."""
    return [n for n, a in trace.activations.items()
            if a.module_type in ("BasicBlock", "InvertedResidual") and a.input is not None]


def residual_panels(trace: FeatureTrace, block: str) -> list[tuple[str, np.ndarray]]:
    """A residual block's parts, each (C, H, W): shortcut x, F(x), F(x) + x, and for ResNet the
    block's output ReLU(F(x) + x). MobileNetV2 puts no activation after the sum, so there
    F(x) + x is the block's output."""
    a = trace[block]
    if a.module_type == "InvertedResidual":
        fx, sc = trace[f"{block}.conv"].output, a.input
        return [("shortcut x", sc), ("F(x)", fx), ("F(x) + x", fx + sc)]
    fx = trace[f"{block}.bn2"].output
    sc = trace[f"{block}.downsample"].output if f"{block}.downsample" in trace else a.input
    return [("shortcut x", sc), ("F(x)", fx), ("F(x) + x", fx + sc), ("ReLU(F(x) + x)", a.output)]


def class_evidence_bar(channels: list[int], parts: list[float], rest: float, bias: float, logit: float,
                       n_channels: int, label: str, height: int = 520) -> go.Figure:
    """A class's logit as a waterfall of its largest channel contributions (W[k, c] * mean(A_c)),
    the other channels together, the bias and the total; values as rounded by
    analysis.cnn.shown_parts, so the numbers on the bars add up to the total shown."""
    names = [f"channel {c}" for c in channels] + [f"other {n_channels - len(channels):,} channels", "bias",
                                                   "logit"]
    values = list(parts) + [rest, bias, logit]
    fig = go.Figure(go.Waterfall(
        orientation="h", y=names, x=values, measure=["relative"] * (len(parts) + 2) + ["total"],
        text=[f"{v:+.2f}" for v in values[:-1]] + [f"{logit:.2f}"], textposition="outside",
        increasing=dict(marker_color="#2a7f62"), decreasing=dict(marker_color="#c0392b"),
        totals=dict(marker_color="#3b6fb6"), connector=dict(line=dict(color="#999", width=1)),
        hovertemplate="%{y}: %{x:+.3f}<extra></extra>",
    ))
    # room for the numbers printed past the bars' ends
    ends = np.cumsum([0.0] + values[:-1])
    lo, hi = min(0.0, float(ends.min()), logit), max(0.0, float(ends.max()), logit)
    pad = 0.22 * (hi - lo or 1.0)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title_text="contribution to the logit (not a probability)", zeroline=True, zerolinecolor="#888",
                     range=[lo - (pad if lo < 0 else 0), hi + pad])
    return base_layout(fig, f"Why '{label}', channel by channel", height)
