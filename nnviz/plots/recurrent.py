"""Recurrent views: units x characters heatmaps, text coloured by one unit, "Find units" rankings,
series with their cell states underneath, gradient decay on a log scale.

Only the part on screen goes to the browser: a heatmap shows a window of characters (or a
series thinned to what a projector can show), never the whole trace. numpy / plain data in,
Plotly figures (or an HTML string) out; never imports streamlit or torch.
"""
from __future__ import annotations

import html
import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .base import DIVERGING, FONT, SEQUENTIAL, base_layout, lut

SHOW = {" ": "\u2423", "\n": "\u21b5"}  # space -> open box, newline -> return arrow
MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"
MAX_SERIES_COLUMNS = 600  # a series' states heatmap is thinned to at most this many columns
LSTM_COLOUR, RNN_COLOUR = "#d62728", "#1f77b4"
# Projector text: Streamlit's chart theme draws unset tick labels at 12.75 px in light grey.
INK = "#222"
TICKS = dict(size=16, color=INK)
AXIS_TITLE = dict(size=18, color=INK)
CHAR_LABEL_PX = 18  # room one character label needs on the axis (a 16 px monospace glyph is ~10 px wide)
CHART_PX = 790  # a full-width chart's width on a 1280 px screen with the sidebar open
HEATMAP_SIDES_PX = 180  # unit labels, axis title and colour bar beside a heatmap's cells

# What each recorded quantity is, its colour range and scale, for titles and colour bars.
QUANTITIES = {
    "c": ("cell state c", None, DIVERGING),  # unbounded: symmetric range from the data
    "h": ("hidden state h", (-1.0, 1.0), DIVERGING),
    "input": ("input gate i (how much to write)", (0.0, 1.0), SEQUENTIAL),
    "forget": ("forget gate f (how much to keep)", (0.0, 1.0), SEQUENTIAL),
    "cell": ("candidate g (what to write)", (-1.0, 1.0), DIVERGING),
    "output": ("output gate o (how much to show)", (0.0, 1.0), SEQUENTIAL),
    "reset": ("reset gate r", (0.0, 1.0), SEQUENTIAL),
    "update": ("update gate z", (0.0, 1.0), SEQUENTIAL),
    "new": ("new state n", (-1.0, 1.0), DIVERGING),
}


def show_char(ch: str) -> str:
    """A character as an axis label: space and newline made visible."""
    return SHOW.get(ch, ch)


def quantity_range(kind: str, values: np.ndarray | None = None) -> tuple[float, float, str]:
    """(vmin, vmax, colour scale) for a recorded quantity. The cell state is unbounded: its range
    is symmetric around 0 and reaches the 99th percentile of |values| (pass the whole sequence, so
    colours do not change when paging); the few larger values saturate instead of washing out
    every other unit."""
    _, rng, scale = QUANTITIES.get(kind, (kind, None, DIVERGING))
    if rng is not None:
        return rng[0], rng[1], scale
    finite = np.abs(np.asarray(values, np.float64)) if values is not None else np.zeros(0)
    finite = finite[np.isfinite(finite)]
    m = float(np.percentile(finite, 99)) if finite.size else 1.0
    m = m if m > 0 and math.isfinite(m) else 1.0
    return -m, m, scale


def readable_axes(fig: go.Figure) -> go.Figure:
    """Dark 16 px tick labels and dark 18 px axis titles on every axis (merged: a tick font's
    family set earlier stays)."""
    fig.update_xaxes(tickfont=TICKS, title_font=AXIS_TITLE)
    fig.update_yaxes(tickfont=TICKS, title_font=AXIS_TITLE)
    return fig


def label_step(n_chars: int, plot_px: float) -> int:
    """Label every k-th of `n_chars` character columns spread over `plot_px` pixels, so that
    labels never overlap."""
    return max(1, math.ceil(n_chars * CHAR_LABEL_PX / max(plot_px, 1.0)))


def char_ticks(tokens: list[str], start: int, stop: int, plot_px: float) -> dict:
    """Axis settings labelling characters tokens[start:stop] (at x = their index), thinned to
    every k-th character; the labelled ones sit at multiples of k, so paging keeps them put."""
    k = label_step(stop - start, plot_px)
    xs = [i for i in range(start, stop) if i % k == 0]
    return dict(tickmode="array", tickvals=xs, ticktext=[show_char(tokens[i]) for i in xs], tickangle=0,
                tickfont=dict(family=MONO, size=16, color="#111"), showgrid=False)


def window_bounds(length: int, start: int, width: int) -> tuple[int, int]:
    """Clamp a window of `width` characters starting at `start` into a text of `length`."""
    width = max(1, min(width, length))
    start = max(0, min(start, length - width))
    return start, start + width


def state_heatmap(
    states: np.ndarray,
    tokens: list[str],
    start: int = 0,
    stop: int | None = None,
    units: list[int] | None = None,
    kind: str = "c",
    title: str | None = None,
    vrange: tuple[float, float, str] | None = None,
    unit: int | None = None,
    pos: int | None = None,
    width_px: int = CHART_PX,
    height: int | None = None,
) -> go.Figure:
    """Units (rows) x characters (columns) of states (T, H) for tokens[start:stop], the characters
    on the x axis (every k-th when `width_px`, the chart's width on screen, cannot fit them all).
    `units` picks and orders the rows (default all); `unit` and `pos` are outlined. `height`
    fixes the figure's height (a projector's screen); by default it grows with the rows."""
    stop = len(tokens) if stop is None else stop
    units = list(range(states.shape[1])) if units is None else list(units)
    vmin, vmax, scale = vrange or quantity_range(kind, states)
    z = np.asarray(states[start:stop][:, units], np.float32).T  # (units, chars)
    xs = np.arange(start, stop)
    n = len(units)
    row_px = max(4, min(30, 560 // max(n, 1)))
    height = height or 120 + n * row_px
    fig = go.Figure(
        go.Heatmap(
            z=z, x=xs, y=np.arange(n), zmin=vmin, zmax=vmax, colorscale=scale,
            colorbar=dict(title=dict(text=QUANTITIES.get(kind, (kind,))[0].split(" (")[0], side="right",
                                     font=AXIS_TITLE), thickness=18, tickfont=TICKS),
            customdata=np.asarray(units)[:, None].repeat(len(xs), 1) if n <= 32 else None,
            hovertemplate=("unit %{customdata}" if n <= 32 else "row %{y}") + ", character %{x}: %{z:.3f}<extra></extra>",
        )
    )
    plot_h = height - (60 if title else 20) - 40  # base_layout's top margin, this bottom margin
    label_every = max(1, math.ceil(n / 16), math.ceil(n * 24 / max(plot_h, 1)))  # unit labels >= 24 px apart
    readable_axes(fig)
    fig.update_yaxes(
        autorange="reversed", title_text="unit", tickmode="array",
        tickvals=list(range(0, n, label_every)), ticktext=[str(units[i]) for i in range(0, n, label_every)],
    )
    fig.update_xaxes(**char_ticks(tokens, start, stop, width_px - HEATMAP_SIDES_PX))
    if unit is not None and unit in units:
        r = units.index(unit)
        fig.add_shape(type="rect", x0=start - 0.5, x1=stop - 0.5, y0=r - 0.5, y1=r + 0.5,
                      line=dict(color="black", width=2))
    if pos is not None and start <= pos < stop:
        fig.add_shape(type="rect", x0=pos - 0.5, x1=pos + 0.5, y0=-0.5, y1=n - 0.5, line=dict(color="black", width=2))
    fig = base_layout(fig, title, height)
    fig.update_layout(margin=dict(l=60, r=10, b=40))
    return fig


def _css(rgb: np.ndarray) -> str:
    return f"#{int(rgb[0]):02x}{int(rgb[1]):02x}{int(rgb[2]):02x}"


def _ink(rgb: np.ndarray) -> str:
    """Black or white text, whichever reads better on this background."""
    lum = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    return "#000" if lum > 140 else "#fff"


def text_html(
    tokens: list[str],
    values: np.ndarray | None,
    vmin: float = -1.0,
    vmax: float = 1.0,
    scale: str = DIVERGING,
    mark: int | None = None,
    font_px: int = 22,
    label: str | None = None,
    max_height_px: int | None = 420,
) -> str:
    """The text itself, each character's background coloured by `values` (T,) on `scale`, with a
    colour legend. `mark` outlines one position. Safe for st.html: every character is escaped.
    values None -> plain text (with `mark`)."""
    pal = lut(scale, 256)
    span = vmax - vmin if vmax > vmin else 1.0
    out = []
    for i, ch in enumerate(tokens):
        style = ""
        title = f"{i}"
        if values is not None:
            v = float(values[i])
            rgb = pal[int(np.clip((v - vmin) / span, 0, 1) * 255)] if math.isfinite(v) else np.array([255, 255, 255])
            style = f"background:{_css(rgb)};color:{_ink(rgb)}"
            title = f"{i}: {v:.2g}"
        if i == mark:
            style += ";outline:3px solid #000;outline-offset:-1px"
        shown = "\u21b5" if ch == "\n" else html.escape(ch)
        attrs = f' style="{style}"' if style else ""
        out.append(f'<span title="{title}"{attrs}>{shown}</span>' + ("<br>" if ch == "\n" else ""))
    box = (f"font-family:{MONO};font-size:{font_px}px;line-height:1.45;white-space:pre-wrap;"
           "word-break:break-all;border:1px solid #ccc;border-radius:6px;padding:10px;"
           + (f"max-height:{max_height_px}px;overflow-y:auto;" if max_height_px else ""))
    legend = ""
    if values is not None:
        stops = ", ".join(_css(pal[int(k)]) for k in np.linspace(0, 255, 9))
        legend = (
            f'<div style="display:flex;align-items:center;gap:10px;font-size:18px;margin-top:6px;">'
            f"<span>{vmin:.2g}</span>"
            f'<span style="display:inline-block;width:260px;height:18px;background:linear-gradient(to right, {stops});'
            f'border:1px solid #999;"></span><span>{vmax:.2g}</span>'
            + (f"<span>{html.escape(label)}</span>" if label else "") + "</div>"
        )
    return f'<div style="{box}">{"".join(out)}</div>{legend}'


def continuation_html(prompt: str, new: str, colour: str) -> str:
    """A sampled continuation: the prompt in grey, then the model's new text in its colour (bold).
    Safe for st.html: both are escaped."""
    return (f'<div style="font-family:{MONO};font-size:18px;white-space:pre-wrap;'
            f'border:1px solid #ccc;border-radius:6px;padding:10px;line-height:1.4;">'
            f'<span style="color:#888">{html.escape(prompt)}</span>'
            f'<span style="color:{colour};font-weight:bold">{html.escape(new)}</span></div>')


def unit_ranking(scores: list[tuple[int, float]], title: str | None = None, selected: int | None = None) -> go.Figure:
    """Find units: the best units for a pattern as bars of their correlation r, strongest on top
    (red: rises with the pattern, blue: falls with it)."""
    units = [f"unit {u}" for u, _ in scores][::-1]
    rs = [r for _, r in scores][::-1]
    colours = ["#d62728" if r > 0 else "#1f77b4" for r in rs]
    widths = [3 if u == selected else 0 for u, _ in scores][::-1]
    fig = go.Figure(
        go.Bar(x=rs, y=units, orientation="h", marker=dict(color=colours, line=dict(color="black", width=widths)),
               text=[f"{r:+.2f}" for r in rs], textposition="outside", cliponaxis=False,
               textfont=dict(size=16, color=INK), hovertemplate="%{y}: r = %{x:.3f}<extra></extra>")
    )
    readable_axes(fig)
    # three ticks and room beyond +-1 for the numbers: the chart sits in a narrow column
    fig.update_xaxes(range=[-1.45, 1.45], tickvals=[-1, 0, 1], title_text="correlation r", zeroline=True,
                     zerolinecolor="#444")
    fig.update_yaxes(type="category")
    fig = base_layout(fig, title, 100 + 40 * max(1, len(scores)))
    fig.update_layout(margin=dict(r=30))
    return fig


def pattern_vs_unit(
    pattern: np.ndarray, activation: np.ndarray, tokens: list[str], start: int, stop: int,
    pattern_name: str, unit_label: str, title: str | None = None, width_px: int = CHART_PX,
) -> go.Figure:
    """The pattern (top) and one unit's activation (bottom) over the same window of characters
    (labelled every k-th character when `width_px`, the chart's width on screen, is too narrow)."""
    xs = np.arange(start, stop)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=[f"pattern: {pattern_name}", unit_label])
    fig.add_trace(go.Scatter(x=xs, y=pattern[start:stop], mode="lines", line=dict(shape="hv", color="#444", width=3),
                             fill="tozeroy", fillcolor="rgba(120,120,120,0.25)", name=pattern_name,
                             hovertemplate="%{x}: %{y:.3g}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=xs, y=activation[start:stop], mode="lines", line=dict(shape="hv", color="#d62728", width=3),
                             name=unit_label, hovertemplate="%{x}: %{y:.3f}<extra></extra>"), row=2, col=1)
    readable_axes(fig)
    fig.update_yaxes(nticks=4)  # each row is ~180 px tall: a few 16 px labels
    fig.update_xaxes(**char_ticks(tokens, start, stop, width_px - 70), row=2, col=1)
    fig.update_xaxes(showticklabels=False, row=1, col=1)
    fig.update_annotations(font=dict(size=18, color=INK))
    fig.update_layout(showlegend=False)
    return base_layout(fig, title, 460)


def next_char_bar(top: list[tuple[str, float]], title: str | None = None, colour: str = "#3b6fb6",
                  what: str = "the next character") -> go.Figure:
    """The top-k next characters (from RecurrentTrace.top_next) as horizontal bars, best on top;
    `what` names the bars on the axis (next words use it too: nnviz.nextword)."""
    names = [f"{show_char(c)} " for c, _ in top][::-1]  # trailing space: digits stay categories
    ps = [p for _, p in top][::-1]
    fig = go.Figure(go.Bar(x=ps, y=names, orientation="h", marker_color=colour, text=[f"{p:.1%}" for p in ps],
                           textposition="auto", hovertemplate="%{y}: %{x:.2%}<extra></extra>"))
    readable_axes(fig)
    fig.update_xaxes(range=[0, 1], tickvals=[0, 0.5, 1], tickformat=".0%", title_text=f"probability of {what}")
    fig.update_yaxes(type="category", tickfont=dict(family=MONO, size=22))
    return base_layout(fig, title, 100 + 48 * len(top))


def series_figure(
    x: list | np.ndarray,
    values: np.ndarray,
    states: np.ndarray | None = None,
    kind: str = "c",
    predictions: np.ndarray | None = None,
    test_start: int | None = None,
    future_x: list | np.ndarray | None = None,
    future: np.ndarray | None = None,
    backtest: np.ndarray | None = None,
    title: str | None = None,
    y_title: str = "value",
    max_columns: int = MAX_SERIES_COLUMNS,
    height: int | None = None,
    window: tuple[int, int] | None = None,
) -> go.Figure:
    """A series on top, the model's states (units x time) underneath on the same time axis.

    predictions[t] is the one-step forecast of values[t+1] (drawn on the held-out part, from
    test_start on); `backtest` is an N-step forecast made at test_start without seeing the
    held-out values (with the naive last-value line for comparison); `future` continues the
    series past its end at `future_x`. The states heatmap is block-averaged to at most
    `max_columns` columns. The legend sits right of the series (the colour bar right of the
    states), never over the title.

    window (i0, i1): show only x[i0..i1] (indices, inclusive), the value axis fitted to what is
    visible there, with yesterday's value as a dotted line under the one-step predictions: zoomed
    in on a daily series, a one-step forecast that only repeats the last value shows as a lag."""
    from ..analysis import thin

    x = list(x)
    rows = 2 if states is not None else 1
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        row_heights=[0.55, 0.45] if rows == 2 else None)
    fig.add_trace(go.Scatter(x=x, y=values, mode="lines", name="series", line=dict(color="#333", width=2)), row=1, col=1)
    if test_start is not None and 0 < test_start < len(x):
        fig.add_vrect(x0=x[test_start], x1=x[-1], fillcolor="rgba(255,200,0,0.15)", line_width=0, row=1, col=1,
                      annotation_text="held out", annotation_position="top left", annotation_font_size=16)
        if predictions is not None:
            fig.add_trace(go.Scatter(x=x[test_start:], y=predictions[test_start - 1 : -1], mode="lines",
                                     name="one step ahead", line=dict(color=LSTM_COLOUR, width=2)), row=1, col=1)
        if backtest is not None and len(backtest):
            n = min(len(backtest), len(x) - test_start)
            fig.add_trace(go.Scatter(x=x[test_start - 1 : test_start + n], y=np.r_[values[test_start - 1], backtest[:n]],
                                     mode="lines+markers", name=f"{n} steps ahead (no peeking)",
                                     line=dict(color="#2ca02c", width=3, dash="dash")), row=1, col=1)
            fig.add_trace(go.Scatter(x=x[test_start - 1 : test_start + n], y=np.full(n + 1, values[test_start - 1]),
                                     mode="lines", name="naive: last value", line=dict(color="#7f7f7f", width=2, dash="dot")),
                          row=1, col=1)
    if future is not None and future_x is not None and len(future):
        fig.add_trace(go.Scatter(x=[x[-1], *list(future_x)], y=np.r_[values[-1], future], mode="lines+markers",
                                 name="forecast", line=dict(color=LSTM_COLOUR, width=3, dash="dash")), row=1, col=1)
    fig.update_yaxes(title=y_title, row=1, col=1)
    if window is not None:
        _zoom(fig, x, values, predictions, test_start, window)
    if states is not None:
        vmin, vmax, scale = quantity_range(kind, states)  # one colour scale, zoomed or not
        first, last = (0, len(x) - 1) if window is None else (max(0, window[0]), min(len(x) - 1, window[1]))
        z, centres = thin(np.asarray(states[first:last + 1], np.float32), max_columns)  # the shown steps only
        hx = [x[first + int(round(c))] for c in centres]
        fig.add_trace(go.Heatmap(z=z.T, x=hx, zmin=vmin, zmax=vmax, colorscale=scale,
                                 colorbar=dict(title=dict(text=QUANTITIES.get(kind, (kind,))[0].split(" (")[0],
                                                          side="right", font=AXIS_TITLE),
                                               thickness=18, len=0.42, y=0.21, tickfont=TICKS),
                                 hovertemplate="%{x}, unit %{y}: %{z:.3f}<extra></extra>"), row=2, col=1)
        fig.update_yaxes(title="unit", autorange="reversed", row=2, col=1)
    readable_axes(fig)
    fig.update_yaxes(nticks=5)
    fig.update_layout(legend=dict(orientation="v", xanchor="left", x=1.02, yanchor="top", y=1, font=FONT),
                      hovermode="closest")
    return base_layout(fig, title, height or (720 if rows == 2 else 420))


def _zoom(fig: go.Figure, x: list, values: np.ndarray, predictions, test_start, window: tuple[int, int]) -> None:
    """Show x[i0..i1] only; the value axis fitted to the series and one-step predictions there."""
    i0, i1 = max(0, window[0]), min(len(x) - 1, window[1])
    shown = [np.asarray(values[i0:i1 + 1], float)]
    if predictions is not None and test_start is not None and 0 < test_start <= i1:
        a = max(i0, test_start)
        shown.append(np.asarray(predictions[a - 1:i1], float))  # predictions[t - 1] is drawn at x[t]
        fig.add_trace(go.Scatter(x=x[a:i1 + 1], y=values[a - 1:i1], mode="lines", name="yesterday's value",
                                 line=dict(color="#7f7f7f", width=2, dash="dot")), row=1, col=1)
    lo, hi = float(np.nanmin(np.concatenate(shown))), float(np.nanmax(np.concatenate(shown)))
    pad = (hi - lo) * 0.06 or abs(hi) * 0.05 or 1.0
    fig.update_xaxes(range=[x[i0], x[i1]])
    fig.update_yaxes(range=[lo - pad, hi + pad], row=1, col=1)


def gradient_decay(
    norms: dict[str, np.ndarray], tokens: list[str] | None = None, relative: bool = True, title: str | None = None,
    height: int = 540,
) -> go.Figure:
    """Vanishing gradients: |d last output / d input step t| for each model, against how many
    steps back t is, on a log scale. `relative` divides by each model's value at the last step.

    Exact zeros (the gradient fell below float32's smallest number, about 1e-45) cannot be drawn on
    a log axis; they sit on a dotted floor line, two decades below the lowest positive point, whose
    label says it is a stand-in for 0 and not a value."""
    colours = {"LSTM": LSTM_COLOUR, "RNN": RNN_COLOUR}
    series = {}
    for name, g in norms.items():
        g = np.asarray(g, np.float64)
        if relative and g.size and g[-1] > 0:
            g = g / g[-1]
        series[name] = g
    positive = np.concatenate([g[g > 0] for g in series.values()] or [np.array([1.0])])
    lowest = float(positive.min()) if positive.size else 1.0
    floor = 10.0 ** (math.floor(math.log10(lowest)) - 2)
    any_zero = any((g == 0).any() for g in series.values())
    fig = go.Figure()
    for name, g in series.items():
        t = len(g)
        back = np.arange(t - 1, -1, -1)  # steps back from the last input
        chars = [show_char(c) for c in tokens[-t:]] if tokens is not None and len(tokens) >= t else [""] * t
        y = np.where(g > 0, g, floor)
        fig.add_trace(go.Scatter(
            x=back, y=y, mode="lines", name=name, line=dict(color=colours.get(name), width=3),
            customdata=np.c_[np.array(chars, dtype=object), np.where(g > 0, [f"{v:.2e}" for v in g], "exactly 0 (float32 underflow)")],
            hovertemplate=f"{name}: %{{x}} steps back, character %{{customdata[0]}}: %{{customdata[1]}}<extra></extra>",
        ))
        zero = g == 0
        if zero.any():
            fig.add_trace(go.Scatter(x=back[zero], y=np.full(int(zero.sum()), floor), mode="markers", showlegend=False,
                                     marker=dict(color=colours.get(name), symbol="x", size=7), hoverinfo="skip"))
    if any_zero:  # (annotations on a log axis take log10(y))
        fig.add_hline(y=floor, line=dict(color="#555", dash="dot"))
        # under the line, in room made for it below the floor: two short lines fit a 1280 px screen's
        # chart (one long line was cut off) and cover no curve
        fig.add_annotation(x=1, xref="paper", y=math.log10(floor), yref="y", yanchor="top", xanchor="right",
                           text=f"× exactly 0 (float32 underflow): a log axis has no 0, so they sit on this line,"
                                f"<br>which is not their value ({floor:.0e} is just below the lowest point)",
                           showarrow=False, align="right",
                           font=dict(size=16, color=INK), bgcolor="rgba(255,255,255,0.8)")
        top = math.log10(max(float(np.max(np.r_[[g.max() for g in series.values() if g.size]])), floor * 10))
        lo = math.log10(floor)
        fig.update_yaxes(range=[lo - 0.2 * (top - lo), top + 0.05 * (top - lo)])
    readable_axes(fig)
    fig.update_yaxes(type="log", exponentformat="power", title_text="gradient norm" + (" (÷ last step)" if relative else ""))
    fig.update_xaxes(title_text="steps back from the last character", autorange="reversed")
    # legend inside the plot's top-left corner: the curves are highest on the right (the last
    # character) and fall to the left, so that corner stays empty (and the title clear)
    fig.update_layout(legend=dict(orientation="v", xanchor="left", x=0.01, yanchor="top", y=0.99, font=dict(size=18),
                                  bgcolor="rgba(255,255,255,0.85)", bordercolor="#999", borderwidth=1))
    return base_layout(fig, title, height)
