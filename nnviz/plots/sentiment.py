"""Figures of the Sentiment view: an LSTM's running prediction over a sentence, the words that
moved it, and its gates at the words where it turned. numpy / plain data -> Plotly; no torch, no
streamlit (a notebook calls these with a RecurrentTrace's arrays, as the page does)."""
from __future__ import annotations

import html as _html
import math

import numpy as np
import plotly.graph_objects as go

from .base import base_layout

POSITIVE, NEGATIVE = "#1f6fb4", "#c8501e"  # blue / orange-red: apart for red-green colour blindness
INK = "#222"
TICKS = dict(size=17, color=INK)
AXIS_TITLE = dict(size=18, color=INK)
WORD_PX = 24  # room one rotated word label needs along the axis (an 17 px font's line height)
CHART_PX = 790  # a full-width chart on a 1280 px screen with the sidebar open
GATES = ("input", "forget", "output")  # the three gates a lecture names (the candidate is not a gate)
GATE_COLOURS = {"input": "#2a9d8f", "forget": "#7b3fa0", "output": "#e09f1f"}
GATE_MEANING = {
    "input": "input gate: how much of the new candidate is written into the memory",
    "forget": "forget gate: how much of the old memory is kept (1 keep, 0 forget)",
    "output": "output gate: how much of the memory is shown to the classifier",
}


# --- numbers from a trace ------------------------------------------------------------------------------


def positive_prob(logits: np.ndarray) -> np.ndarray:
    """(T, 2) logits (negative, positive) after each word -> (T,) P(positive) after each word."""
    z = np.asarray(logits, np.float64)
    return 1.0 / (1.0 + np.exp(z[:, 0] - z[:, 1]))  # softmax over two classes, column 1


def changes(p: np.ndarray) -> np.ndarray:
    """(T,) change of P(positive) at each word: p[t] - p[t-1]; the first word's is measured from
    0.5 (undecided), as the view says."""
    p = np.asarray(p, np.float64)
    return np.diff(p, prepend=0.5)


MIN_CROSSING = 0.03  # a crossing of 50% by a smaller move is noise around "undecided", not a turn


def turning_points(p: np.ndarray, k: int = 4) -> list[int]:
    """The words where the prediction turned, in sentence order: the words where it crossed 50%
    with a move of at least 3 points (the biggest such moves first, at most `k`), then the
    biggest moves of all until there are `k`. The first word's move is measured from 50% and does
    not count as a crossing."""
    p = np.asarray(p, np.float64)
    d = changes(p)
    size = np.abs(d)
    side = np.sign(p - 0.5)
    crossed = [t for t in range(1, len(p)) if side[t] != side[t - 1] and side[t] != 0 and size[t] >= MIN_CROSSING]
    picked = sorted(crossed, key=lambda t: -size[t])[:k]
    for t in np.argsort(-size, kind="stable"):
        if len(picked) >= k:
            break
        if int(t) not in picked and size[t] > 0:
            picked.append(int(t))
    return sorted(picked)


# --- axes of words -------------------------------------------------------------------------------------


def word_ticks(tokens: list[str], plot_px: float, marks: list[int] | tuple[int, ...] = ()) -> dict:
    """x-axis settings labelling word t at x = t: horizontal when every word fits, rotated when
    not, every k-th word when even rotated labels would overlap (marked words always labelled,
    in bold)."""
    n = max(len(tokens), 1)
    slot = plot_px / n
    step = 1 if slot >= WORD_PX else math.ceil(WORD_PX / slot)
    # Horizontal labels sit centred on their words: two neighbours fit when half of each, plus a
    # gap, fits in one slot (a lower-case letter is ~0.55 em wide).
    px = [len(w) * 0.55 * TICKS["size"] for w in tokens]
    widest = max((a / 2 + b / 2 + 10 for a, b in zip(px, px[1:])), default=0.0)
    xs = sorted(set(range(0, len(tokens), step)) | set(marks))
    if step > 1:  # thinned: drop labels crowding a marked word
        xs = [x for x in xs if x in marks or all(abs(x - m) >= step for m in marks)]
    text = [f"<b>{_html.escape(tokens[i])}</b>" if i in marks else _html.escape(tokens[i]) for i in xs]
    return dict(tickmode="array", tickvals=xs, ticktext=text, tickangle=0 if widest <= slot else -90,
                tickfont=TICKS, showgrid=False, range=[-0.6, len(tokens) - 0.4])


def _fit_words(fig: go.Figure, tokens: list[str], width_px: int, marks=()) -> None:
    fig.update_xaxes(**word_ticks(tokens, width_px - 110, marks))


# --- the figures ---------------------------------------------------------------------------------------


def running_prediction(tokens: list[str], p: np.ndarray, title: str | None = None, marks: list[int] | None = None,
                       height: int = 420, width_px: int = CHART_PX) -> go.Figure:
    """P(positive) after each word as a line over the words, 0-100%, the 50% line marked; points
    coloured by the side they are on; `marks` (turning words) ringed. Percentages are printed on
    the points when they fit (under ~25 words)."""
    p = np.asarray(p, np.float64)
    marks = list(marks or [])
    x = np.arange(len(p))
    fig = go.Figure()
    fig.add_hrect(y0=0.5, y1=1.0, fillcolor=POSITIVE, opacity=0.06, line_width=0, layer="below")
    fig.add_hrect(y0=0.0, y1=0.5, fillcolor=NEGATIVE, opacity=0.06, line_width=0, layer="below")
    fig.add_hline(y=0.5, line=dict(color="#555", width=2, dash="dash"))
    show_text = len(p) <= 25
    fig.add_trace(go.Scatter(
        x=x, y=p, mode="lines+markers" + ("+text" if show_text else ""), showlegend=False,
        line=dict(color="#555", width=2),
        marker=dict(size=[16 if t in marks else 11 for t in x], color=[POSITIVE if v >= 0.5 else NEGATIVE for v in p],
                    line=dict(color=[INK if t in marks else "white" for t in x], width=[3 if t in marks else 1 for t in x])),
        text=[f"{v:.0%}" for v in p] if show_text else None,
        textposition=["top center" if v < 0.85 else "bottom center" for v in p],
        textfont=dict(size=16, color=INK),
        customdata=np.array(tokens, dtype=object),
        hovertemplate="after '%{customdata}': P(positive) = %{y:.1%}<extra></extra>",
    ))
    fig.update_yaxes(range=[-0.04, 1.06], tickvals=[0, 0.25, 0.5, 0.75, 1], tickformat=".0%",
                     title_text="P(positive) after this word", tickfont=TICKS, title_font=AXIS_TITLE,
                     gridcolor="#e6e6e6", zeroline=False)
    # above the plot, right: inside it the note would sit on points that hover around 50%
    fig.add_annotation(x=1, xref="paper", xanchor="right", y=1, yref="paper", yanchor="bottom",
                       text="dashed line: 50% = undecided", showarrow=False, font=dict(size=16, color="#444"))
    fig.add_annotation(x=0, xref="paper", xanchor="left", y=1.0, yanchor="top", text="positive ↑",
                       showarrow=False, font=dict(size=16, color=POSITIVE))
    fig.add_annotation(x=0, xref="paper", xanchor="left", y=0.0, yanchor="bottom", text="negative ↓",
                       showarrow=False, font=dict(size=16, color=NEGATIVE))
    _fit_words(fig, tokens, width_px, marks)
    fig.update_xaxes(title_text="the sentence, word by word", title_font=AXIS_TITLE)
    fig = base_layout(fig, title, height)
    fig.update_layout(margin=dict(l=80, r=20, b=20))
    return fig


def word_changes(tokens: list[str], p: np.ndarray, title: str | None = None, marks: list[int] | None = None,
                 height: int = 380, width_px: int = CHART_PX) -> go.Figure:
    """The change of P(positive) at each word, in percentage points: blue bars up (the word pushed
    towards positive), orange-red bars down (towards negative). The first word's bar is its move
    from 50%."""
    d = changes(p) * 100  # percentage points
    marks = list(marks or [])
    x = np.arange(len(d))
    fig = go.Figure()
    for name, colour, keep in (("pushed towards positive", POSITIVE, d >= 0), ("pushed towards negative", NEGATIVE, d < 0)):
        fig.add_trace(go.Bar(
            x=x[keep], y=d[keep], name=name, marker_color=colour,
            marker_line=dict(color=[INK if t in marks else colour for t in x[keep]], width=[3 if t in marks else 0 for t in x[keep]]),
            customdata=np.array(tokens, dtype=object)[keep],
            hovertemplate="'%{customdata}': %{y:+.1f} percentage points<extra></extra>",
        ))
    m = max(5.0, float(np.abs(d).max()) * 1.1) if len(d) else 5.0
    fig.update_yaxes(range=[-m, m], title_text="change of P(positive)<br>(percentage points)", ticksuffix="",
                     tickfont=TICKS, title_font=AXIS_TITLE, zeroline=True, zerolinecolor="#555", zerolinewidth=2,
                     gridcolor="#e6e6e6")
    _fit_words(fig, tokens, width_px, marks)
    fig = base_layout(fig, title, height)
    fig.update_layout(barmode="overlay", bargap=0.25, margin=dict(l=80, r=20, t=95 if title else 50, b=20),
                      legend=dict(orientation="h", x=0, y=1.02, yanchor="bottom", font=dict(size=16)))
    return fig


def gate_heatmap(gate: np.ndarray, tokens: list[str], name: str, marks: list[int] | None = None,
                 title: str | None = None, height: int = 460, width_px: int = CHART_PX,
                 units: list[int] | None = None) -> go.Figure:
    """One gate's values (T, H) as units (rows) x words (columns), 0-1 on a fixed scale so
    sentences compare; the turning words' columns outlined. `units` picks and orders the rows."""
    gate = np.asarray(gate, np.float32)
    units = list(range(gate.shape[1])) if units is None else list(units)
    marks = list(marks or [])
    z = gate[:, units].T  # (units, words)
    n = len(units)
    fig = go.Figure(go.Heatmap(
        z=z, x=np.arange(len(tokens)), y=np.arange(n), zmin=0, zmax=1, colorscale="Viridis",
        colorbar=dict(title=dict(text=f"{name} gate (0-1)", side="right", font=AXIS_TITLE), thickness=18,
                      tickfont=TICKS, len=1.0),
        customdata=np.broadcast_to(np.array(tokens, dtype=object)[None], z.shape),
        hovertemplate="unit %{text}, '%{customdata}': %{z:.2f}<extra></extra>",
        text=np.broadcast_to(np.asarray(units)[:, None], z.shape),
    ))
    for t in marks:
        fig.add_shape(type="rect", x0=t - 0.5, x1=t + 0.5, y0=-0.5, y1=n - 0.5, line=dict(color="#ff2d55", width=3))
    step = max(1, math.ceil(n / 8))
    fig.update_yaxes(autorange="reversed", title_text="unit", tickmode="array", tickvals=list(range(0, n, step)),
                     ticktext=[str(units[i]) for i in range(0, n, step)], tickfont=TICKS, title_font=AXIS_TITLE)
    _fit_words(fig, tokens, width_px - 80, marks)
    fig = base_layout(fig, title, height)
    fig.update_layout(margin=dict(l=70, r=10, b=20))
    return fig


def gate_means(gates: dict[str, np.ndarray], tokens: list[str], marks: list[int] | None = None,
               title: str | None = None, height: int = 380, width_px: int = CHART_PX) -> go.Figure:
    """The input, forget and output gates' mean over all units at each word (0-1), one line each;
    the turning words shaded."""
    marks = list(marks or [])
    x = np.arange(len(tokens))
    fig = go.Figure()
    for t in marks:
        fig.add_vrect(x0=t - 0.45, x1=t + 0.45, fillcolor="#ff2d55", opacity=0.12, line_width=0, layer="below")
    for name in GATES:
        g = np.asarray(gates[name], np.float64).mean(axis=1)  # (T,) mean over units
        fig.add_trace(go.Scatter(
            x=x, y=g, mode="lines+markers", name=f"{name} gate", line=dict(color=GATE_COLOURS[name], width=3),
            marker=dict(size=9), customdata=np.array(tokens, dtype=object),
            hovertemplate=f"{name} gate at '%{{customdata}}': mean %{{y:.2f}}<extra></extra>",
        ))
    fig.update_yaxes(range=[0, 1], title_text="mean over all units (0-1)", tickfont=TICKS, title_font=AXIS_TITLE,
                     gridcolor="#e6e6e6")
    _fit_words(fig, tokens, width_px, marks)
    fig = base_layout(fig, title, height)
    fig.update_layout(margin=dict(l=80, r=20, t=95 if title else 50, b=20),  # room for the legend under the title
                      legend=dict(orientation="h", x=0, y=1.02, yanchor="bottom", font=dict(size=16)))
    return fig


def moved_units(gate: np.ndarray, marks: list[int], k: int = 24) -> list[int]:
    """The k units whose gate changed most at the turning words (sum over them of |g[t] - g[t-1]|,
    the first word against 0.5), most changed first: the rows worth looking at."""
    g = np.asarray(gate, np.float64)
    prev = np.vstack([np.full((1, g.shape[1]), 0.5), g[:-1]])  # (T, H)
    score = np.abs(g - prev)[list(marks)].sum(axis=0) if marks else np.abs(g - prev).sum(axis=0)
    return [int(u) for u in np.argsort(-score, kind="stable")[:k]]


def words_html(tokens: list[str], p: np.ndarray, font_px: int = 22) -> str:
    """The sentence with each word's background coloured by how it moved P(positive): blue pushed
    towards positive, orange-red towards negative, white hardly at all (scale: +-the largest move,
    at least 10 points), with a legend saying so. Escaped: user text never becomes markup."""
    d = changes(p) * 100
    m = max(10.0, float(np.abs(d).max())) if len(d) else 10.0
    pos, neg = np.array([0x1f, 0x6f, 0xb4]), np.array([0xc8, 0x50, 0x1e])
    spans = []
    for w, v in zip(tokens, d):
        a = min(abs(v) / m, 1.0)
        rgb = (255 - a * (255 - (pos if v >= 0 else neg))).round().astype(int)
        ink = "#fff" if a > 0.6 else INK
        spans.append(f'<span title="{v:+.1f} percentage points" style="background:#{rgb[0]:02x}{rgb[1]:02x}{rgb[2]:02x};'
                     f'color:{ink};padding:2px 5px;margin:2px;border-radius:4px;display:inline-block">'
                     f"{_html.escape(w)}</span>")
    legend = (f'<div style="font-size:16px;color:#333;margin-top:6px">Colour = change of P(positive) at the word: '
              f'<span style="background:#{pos[0]:02x}{pos[1]:02x}{pos[2]:02x};color:#fff;padding:1px 5px;border-radius:4px;white-space:nowrap">'
              f"+{m:.0f} points (towards positive)</span> … white: no change … "
              f'<span style="background:#{neg[0]:02x}{neg[1]:02x}{neg[2]:02x};color:#fff;padding:1px 5px;border-radius:4px;white-space:nowrap">'
              f"−{m:.0f} points (towards negative)</span>. Hover a word for its number.</div>")
    return (f'<div style="font-size:{font_px}px;line-height:1.7;color:{INK}">' + "".join(spans) + "</div>" + legend)


__all__ = [
    "GATES", "GATE_MEANING", "NEGATIVE", "POSITIVE", "changes", "gate_heatmap", "gate_means", "moved_units",
    "positive_prob", "running_prediction", "turning_points", "word_changes", "word_ticks", "words_html",
]
