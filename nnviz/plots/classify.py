"""Figures of a text classifier on an encoder (minilm_sentiment): the prediction as the sentence is
read, which words moved it, and the attention the pooled tokens receive. numpy in, Plotly out;
no torch, no streamlit. Probabilities are shown in percent, changes in percentage points."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from .attention import plot_text, tick_font_size
from .base import base_layout

POSITIVE = "#1f5fbf"  # blue: towards the second class (positive)
NEGATIVE = "#c0392b"  # red: towards the first class (negative)
GUIDE = "#555555"
AXIS = dict(size=18, color="#111")  # axis titles read from the back of the room
MAX_LABELS = 32  # word labels on an axis before they are thinned (every k-th), so none overlap
MAX_NUMBERS = 24  # numbers printed on points/bars up to this many; beyond, hover only


def _word_ticks(n: int, labels: list[str], first: int = 0) -> dict:
    """Tick values/texts for n words at x = first..first+n-1, thinned past MAX_LABELS."""
    step = max(1, math.ceil(n / MAX_LABELS))
    idx = list(range(0, n, step))
    return dict(tickvals=[first + i for i in idx], ticktext=[plot_text(labels[i]) for i in idx],
                tickangle=-90 if n > 10 else 0, tickfont=dict(size=max(14, tick_font_size(n)), color="#222"))


def _label_sides(y: np.ndarray) -> list[str]:
    """Where each point's number goes so the line does not run through it: above a peak, below a
    dip, above-left on a rise and above-right on a fall (the line leaves the other way)."""
    out = []
    for i, v in enumerate(y):
        prev = y[i - 1] if i > 0 else v
        nxt = y[i + 1] if i + 1 < len(y) else v
        if v >= prev and v >= nxt:
            out.append("top center")
        elif v <= prev and v <= nxt:
            out.append("bottom center")
        else:
            out.append("top left" if prev < v < nxt else "top right")
    return out


def running_prediction(words: list[str], p_positive: np.ndarray, at: np.ndarray, p_start: float,
                       title: str | None = None, *, labels: tuple[str, str] = ("negative", "positive"),
                       height: int = 460) -> go.Figure:
    """P(labels[1]) after each word prefix, in percent: x = the last word read (`at`, 0-based
    indices into `words`), one point per prefix, plus the start (nothing read: [CLS] [SEP]) at
    x = 0, the words at x = 1..W. A dashed line at 50%: above it the classifier says labels[1]."""
    p = 100 * np.asarray(p_positive, dtype=np.float64)  # (P,)
    at = np.asarray(at, dtype=int)
    x = np.r_[0, at + 1]  # (P+1,)
    y = np.r_[100 * float(p_start), p]
    names = ["(start: nothing read)"] + [plot_text(words[i]) for i in at]
    colours = [POSITIVE if v >= 50 else NEGATIVE for v in y]
    many = len(y) > MAX_NUMBERS
    fig = go.Figure()
    # shaded halves: which side of 50% means which class
    fig.add_hrect(y0=50, y1=100, fillcolor=POSITIVE, opacity=0.06, line_width=0)
    fig.add_hrect(y0=0, y1=50, fillcolor=NEGATIVE, opacity=0.06, line_width=0)
    fig.add_hline(y=50, line=dict(color=GUIDE, width=2, dash="dash"))
    fig.add_trace(go.Scatter(
        x=x, y=y, mode="lines+markers" + ("" if many else "+text"), line=dict(color="#444", width=3),
        marker=dict(size=12 if not many else 7, color=colours, line=dict(color="white", width=1)),
        text=[f"{v:.0f}%" for v in y], textposition=_label_sides(y),
        textfont=dict(size=16, color=colours), customdata=names, showlegend=False,
        hovertemplate="after '%{customdata}': P(" + labels[1] + ") = %{y:.1f}%<extra></extra>",
    ))
    # the class names sit in the right margin, where no point or number can cover them
    for y_at, name, colour in ((75, labels[1], POSITIVE), (25, labels[0], NEGATIVE)):
        fig.add_annotation(x=1.01, xref="paper", y=y_at, text=f"<b>{name}</b>", showarrow=False, xanchor="left",
                           font=dict(size=18, color=colour))
    ticks = _word_ticks(len(words), words, first=1)
    fig.update_xaxes(tickvals=[0] + ticks["tickvals"], ticktext=["start"] + ticks["ticktext"],
                     tickangle=ticks["tickangle"], tickfont=ticks["tickfont"], range=[-0.5, len(words) + 0.5],
                     title=dict(text="the sentence, read word by word", font=AXIS), showgrid=False)
    # room below 0% and above 100% for the numbers printed under / over the points
    fig.update_yaxes(range=[-14, 112], tickvals=[0, 25, 50, 75, 100], ticktext=["0%", "25%", "50%", "75%", "100%"],
                     title=dict(text=f"P({labels[1]}) so far", font=AXIS), gridcolor="#e6e6e6")
    base_layout(fig, title, height)
    fig.update_layout(margin=dict(r=110))  # the class names
    return fig


def rounded_to_total(values: np.ndarray, total: int) -> np.ndarray:
    """Integers near `values` that sum to `total` (largest remainders get the spare units), so
    numbers printed on bars add up as shown. Each differs from its value by less than 1."""
    v = np.asarray(values, dtype=np.float64)
    out = np.floor(v).astype(int)
    spare = int(total) - int(out.sum())
    if v.size and 0 <= spare <= v.size:
        out[np.argsort(-(v - out), kind="stable")[:spare]] += 1
        return out
    return np.round(v).astype(int)  # a total these values cannot round to: plain rounding


def _points(k: int) -> str:
    return "0" if k == 0 else f"{k:+d}"


def word_changes(words: list[str], change: np.ndarray, title: str | None = None, *,
                 y_title: str = "change in P(positive), points", height: int = 400,
                 total: int | None = None) -> go.Figure:
    """One bar per word, in reading order: how much the word moved P(positive), in percentage
    points (blue up = towards positive, red down = towards negative). `total`: the whole-number
    sum the printed numbers must show (e.g. final % minus start % as printed elsewhere)."""
    d = 100 * np.asarray(change, dtype=np.float64)  # (W,) points
    n = d.size
    shown = rounded_to_total(d, total) if total is not None else np.round(d).astype(int)
    colours = [POSITIVE if v >= 0 else NEGATIVE for v in d]
    fig = go.Figure(go.Bar(
        x=list(range(n)), y=d, marker_color=colours,
        text=[_points(int(k)) for k in shown] if n <= MAX_NUMBERS else None, textposition="outside",
        textfont=dict(size=16, color="#222"), cliponaxis=False, customdata=[plot_text(w) for w in words],
        hovertemplate="'%{customdata}': %{y:+.1f} points<extra></extra>",
    ))
    fig.add_hline(y=0, line=dict(color=GUIDE, width=2))
    top = max(5.0, float(np.abs(d).max()) if n else 5.0) * 1.25  # room for the numbers above/below the bars
    fig.update_xaxes(**_word_ticks(n, words), showgrid=False)
    fig.update_yaxes(range=[-top, top], title=dict(text=y_title, font=AXIS), gridcolor="#e6e6e6", zeroline=False)
    return base_layout(fig, title, height)


def attention_received(received: np.ndarray, tokens: list[str], title: str | None = None, *,
                       height: int = 380) -> go.Figure:
    """Per token: the share of the last layer's attention it receives (mean over heads and query
    rows), in percent; the shares sum to 100%."""
    w = 100 * np.asarray(received, dtype=np.float64)  # (T,) percent
    n = w.size
    special = [t in ("[CLS]", "[SEP]") for t in tokens]
    fig = go.Figure(go.Bar(
        x=list(range(n)), y=w, marker_color=["#9a9a9a" if s else "#3b6fb6" for s in special],
        text=[f"{v:.0f}%" for v in w] if n <= MAX_NUMBERS else None, textposition="outside",
        textfont=dict(size=16, color="#222"), cliponaxis=False, customdata=[f"{plot_text(t)} (#{i})" for i, t in enumerate(tokens)],
        hovertemplate="%{customdata}: %{y:.1f}% of the attention<extra></extra>",
    ))
    fig.update_xaxes(**_word_ticks(n, tokens), showgrid=False)
    fig.update_yaxes(range=[0, max(1.0, float(w.max()) if n else 1.0) * 1.2], ticksuffix="%",
                     title=dict(text="attention received", font=AXIS), gridcolor="#e6e6e6")
    return base_layout(fig, title, height)


__all__ = ["attention_received", "rounded_to_total", "running_prediction", "word_changes"]
