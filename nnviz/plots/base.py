"""Shared plotting pieces: layout for projectors, colour scales, PNG encoding, simple figures.
numpy / plain data -> Plotly; never imports streamlit or torch."""
from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots
from PIL import Image

FONT = dict(size=16)  # readable from the back of a lecture hall
SEQUENTIAL = "Viridis"
DIVERGING = "RdBu_r"


AXIS_TITLE = dict(size=17, color="#222222")  # dark: light grey axis titles wash out on a projector
TICK_COLOUR = "#333333"


def base_layout(fig: go.Figure, title: str | None = None, height: int | None = None) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, font=dict(size=20)) if title else None,
        font=FONT,
        margin=dict(l=10, r=10, t=60 if title else 20, b=10),
        height=height,
        plot_bgcolor="white",
    )

    # Streamlit's chart theme shrinks ticks to 12.75 px and greys axis titles unless an axis says
    # otherwise: every axis gets readable, dark text here unless its figure chose a size itself.
    def readable(axis) -> None:
        if axis.tickfont.size is None:
            axis.update(tickfont=dict(size=FONT["size"], color=TICK_COLOUR))
        if axis.title.text and axis.title.font.size is None:
            axis.update(title_font=AXIS_TITLE)

    fig.for_each_xaxis(readable)
    fig.for_each_yaxis(readable)
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


def box_average(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A 2-D array shrunk to size=(w, h) by averaging boxes: each sent pixel is the mean of the
    values it covers."""
    return np.asarray(Image.fromarray(np.ascontiguousarray(a, np.float32), "F").resize(size, Image.BOX))


def colorbar_trace(vmin: float, vmax: float, scale: str, title: str) -> go.Scatter:
    """An invisible scatter whose only job is to draw a colour bar next to an image."""
    return go.Scatter(
        x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
        marker=dict(
            colorscale=scale, cmin=vmin, cmax=vmax, color=[vmin], showscale=True,
            colorbar=dict(title=dict(text=title, side="right"), thickness=18, tickfont=FONT, len=0.9),  # never taller than the image
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


def side_by_side(panels: list[tuple[str, np.ndarray]], title: str | None = None, height: int = 420,
                 shared_scale: bool = True, colorbar_title: str = "activation") -> go.Figure:
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
                colorbar=dict(x=1.02 if shared_scale else i / len(panels) - 0.02, len=0.9, thickness=14,
                              title=dict(text=colorbar_title, side="right")),
                hovertemplate=f"{t}<br>row %{{y}}, col %{{x}}: %{{z:.3g}}<extra></extra>",
            ),
            row=1, col=i,
        )
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{i if i > 1 else ''}", title="row" if i == 1 else None,
                         row=1, col=i)
        fig.update_xaxes(title="column", row=1, col=i)
    fig.update_annotations(font=dict(size=16))
    return base_layout(fig, title, height)


def top_k_bar(values: np.ndarray, labels: list[str] | tuple[str, ...] | None, k: int = 5,
              title: str | None = None, kind: str = "probability") -> go.Figure:
    """The k largest values as horizontal bars, best on top. kind "probability" draws 0-100%;
    "logit" and "activation" draw raw values on an axis that says so (a logit is not a probability,
    and can be negative); unlabelled bars are named "unit i"."""
    k = min(k, values.size)
    idx = np.argsort(-values)[:k]
    names = [labels[i] if labels else f"unit {i}" for i in idx]
    shown = values[idx][::-1]
    prob = kind == "probability"
    fig = go.Figure(
        go.Bar(
            x=shown, y=names[::-1], orientation="h",
            text=[f"{v:.1%}" if prob else f"{v:.3g}" for v in shown], textposition="auto",
            marker_color="#3b6fb6", hovertemplate="%{y}: %{x:" + (".2%" if prob else ".4g") + "}<extra></extra>",
        )
    )
    if prob:
        fig.update_xaxes(range=[0, 1], tickformat=".0%", title="probability", tickfont=FONT)
    else:
        fig.update_xaxes(title="logit (before softmax; not a probability)" if kind == "logit" else "activation",
                         tickfont=FONT, zeroline=True, zerolinecolor="#888")
    fig.update_yaxes(type="category", tickfont=dict(size=18))  # digit labels must not become a numeric axis
    return base_layout(fig, title, 80 + 48 * k)


def rgb_image(image: np.ndarray, title: str | None = None, height: int = 360) -> go.Figure:
    """An image in [0, 1] ((H, W) or (H, W, 3)) as a PNG figure with pixel hover off."""
    a = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, 2)
    fig = go.Figure(go.Image(source=to_png_uri(a), hoverinfo="skip"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return base_layout(fig, title, height)
