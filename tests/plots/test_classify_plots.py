"""Classifier figures: the numbers drawn are the numbers given, in the units the axes say."""
import subprocess
import sys

import numpy as np

from nnviz.plots import classify as P

WORDS = ["The", "film", "was", "not", "good", "."]


def _text_sizes(fig) -> list[float]:
    j = fig.to_plotly_json()
    out = []
    for t in j["data"]:
        if t.get("textfont", {}).get("size"):
            out.append(t["textfont"]["size"])
    lay = j["layout"]
    for ax in ("xaxis", "yaxis"):
        out.append(lay[ax]["tickfont"]["size"])
        if lay[ax].get("title", {}).get("text"):
            out.append(lay[ax]["title"]["font"]["size"])
    out += [a["font"]["size"] for a in lay.get("annotations", [])]
    return out


def test_running_prediction_plots_percent_with_start_and_50_line():
    p = np.array([0.6, 0.55, 0.5, 0.3, 0.2, 0.25])
    fig = P.running_prediction(WORDS, p, np.arange(6), 0.45, "t")
    tr = fig.data[0]
    np.testing.assert_allclose(tr.y, [45, 60, 55, 50, 30, 20, 25])
    np.testing.assert_array_equal(tr.x, np.arange(7))  # start at 0, word w at w + 1
    assert list(tr.text) == ["45%", "60%", "55%", "50%", "30%", "20%", "25%"]
    assert list(fig.layout.xaxis.ticktext) == ["start"] + WORDS
    assert fig.layout.yaxis.range == (-14, 112) and "P(positive)" in fig.layout.yaxis.title.text
    hlines = [s for s in fig.layout.shapes if s.type == "line"]
    assert hlines and hlines[0].y0 == 50 == hlines[0].y1
    colours = list(tr.marker.color)
    assert colours[1] == P.POSITIVE and colours[4] == P.NEGATIVE  # colour = side of the 50% line
    assert min(_text_sizes(fig)) >= 14


def test_running_prediction_of_a_long_text_thins_labels_and_numbers():
    words = [f"w{i}" for i in range(200)]
    at = np.unique(np.linspace(0, 199, 60).round().astype(int))
    fig = P.running_prediction(words, np.linspace(0, 1, len(at)), at, 0.5)
    assert len(fig.data[0].x) == len(at) + 1 and fig.data[0].x[-1] == 200
    assert len(fig.layout.xaxis.ticktext) <= P.MAX_LABELS + 1
    assert "text" not in fig.data[0].mode  # 61 numbers would overlap: hover only
    assert min(_text_sizes(fig)) >= 14


def test_word_changes_in_points_coloured_by_sign():
    change = np.array([0.01, -0.2, 0.0, -0.35, 0.4, 0.02])
    fig = P.word_changes(WORDS, change, "t")
    bar = fig.data[0]
    np.testing.assert_allclose(bar.y, 100 * change)
    assert list(bar.text) == ["+1", "-20", "0", "-35", "+40", "+2"]
    assert bar.marker.color[1] == P.NEGATIVE and bar.marker.color[4] == P.POSITIVE
    lo, hi = fig.layout.yaxis.range
    assert lo == -hi and hi >= 40  # symmetric, room for the largest bar
    assert list(fig.layout.xaxis.ticktext) == WORDS
    assert min(_text_sizes(fig)) >= 14


def test_attention_received_in_percent_specials_grey():
    tokens = ["[CLS]", "good", "film", "[SEP]"]
    w = np.array([0.5, 0.1, 0.15, 0.25])
    fig = P.attention_received(w, tokens)
    bar = fig.data[0]
    np.testing.assert_allclose(bar.y, [50, 10, 15, 25])
    assert sum(bar.y) == 100
    assert list(bar.text) == ["50%", "10%", "15%", "25%"]
    assert bar.marker.color[0] == bar.marker.color[3] != bar.marker.color[1]
    assert fig.layout.yaxis.ticksuffix == "%"


def test_escapes_html_in_words():
    fig = P.word_changes(["<b>", "ok"], np.array([0.1, -0.1]))
    assert list(fig.layout.xaxis.ticktext) == ["&lt;b&gt;", "ok"]


def test_plots_need_neither_torch_nor_streamlit():
    code = ("import sys, nnviz.plots.classify; "
            "assert 'torch' not in sys.modules and 'streamlit' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_printed_changes_add_up_to_the_printed_total():
    start, final = 0.30, 0.38  # printed as 30% and 38%: the bars' numbers must sum to +8
    change = np.array([0.104, 0.024, -0.186, -0.214, -0.018, 0.003, 0.012, 0.011, -0.004, -0.002, 0.306, 0.044])
    change = change * (final - start) / change.sum()  # the exact changes sum to final - start
    fig = P.word_changes([f"w{i}" for i in range(12)], change, total=round(100 * final) - round(100 * start))
    printed = [0 if t == "0" else int(t) for t in fig.data[0].text]
    assert sum(printed) == 8
    assert all(abs(p - 100 * c) < 1 for p, c in zip(printed, change))  # each within a point of its bar
    assert sum(round(100 * c) for c in change) != 8  # plain rounding would not have added up
    np.testing.assert_array_equal(P.rounded_to_total(np.array([0.5, 0.5, 0.5]), 1), [1, 0, 0])
    np.testing.assert_array_equal(P.rounded_to_total(np.array([-1.4, -0.6]), -2), [-1, -1])


def test_point_numbers_sit_away_from_the_line():
    fig = P.running_prediction(["a", "b", "c", "d"], np.array([0.8, 0.2, 0.5, 0.9]), np.arange(4), 0.5)
    # start 50 -> 80 (peak) -> 20 (dip) -> 50 (rise) -> 90 (end, top)
    assert list(fig.data[0].textposition) == ["bottom center", "top center", "bottom center", "top left", "top center"]
