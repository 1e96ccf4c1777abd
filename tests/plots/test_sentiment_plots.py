"""Sentiment figures: the numbers drawn are the trace's (P(positive) per word, its changes, gate
values), axes say what they hold, turning words are found and marked, labels never overlap."""
import numpy as np
import pytest

from nnviz.plots import sentiment as sp

TOKENS = ["the", "acting", "is", "not", "good", ",", "but", "the", "story", "is", "wonderful", "."]
P = np.array([0.50, 0.49, 0.45, 0.23, 0.38, 0.49, 0.54, 0.49, 0.45, 0.48, 0.79, 0.91])


def _logits(p):
    """(T, 2) logits whose softmax column 1 is p."""
    return np.stack([np.zeros_like(p), np.log(p / (1 - p))], axis=1)


def test_positive_prob_is_the_softmax_column():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(7, 2)) * 3
    e = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(sp.positive_prob(z), (e / e.sum(1, keepdims=True))[:, 1])
    np.testing.assert_allclose(sp.positive_prob(_logits(P)), P)


def test_changes_add_up_to_the_final_prediction():
    d = sp.changes(P)
    assert d[0] == pytest.approx(P[0] - 0.5)
    np.testing.assert_allclose(d[1:], np.diff(P))
    assert d.sum() == pytest.approx(P[-1] - 0.5)  # the bars add up to final minus 50%


def test_turning_points_are_crossings_then_the_biggest_moves():
    marks = sp.turning_points(P, 3)
    crossed = [t for t in range(1, len(P)) if (P[t] - 0.5) * (P[t - 1] - 0.5) < 0]
    assert set(crossed) <= set(marks)  # "but" (49 -> 54), "the" (54 -> 49), "wonderful" (48 -> 79)
    assert marks == sorted(marks)
    assert sp.turning_points(np.array([0.9, 0.95, 0.2, 0.25]), 1) == [2]  # one crossing, also the biggest move
    big = int(np.argmax(np.abs(sp.changes(P))))
    assert big in sp.turning_points(P, len(crossed) + 1)


def test_running_prediction_draws_p_on_a_probability_axis():
    fig = sp.running_prediction(TOKENS, P, "title", marks=[3, 6])
    line = fig.data[0]
    np.testing.assert_allclose(line.y, P)
    assert list(line.x) == list(range(len(TOKENS)))
    assert list(line.text) == [f"{v:.0%}" for v in P]  # the numbers printed are the drawn ones
    y = fig.layout.yaxis
    assert y.tickformat == ".0%" and tuple(y.range)[0] < 0 < 1 < tuple(y.range)[1]
    assert "P(positive)" in y.title.text and fig.layout.xaxis.title.text
    fifty = [s for s in fig.layout.shapes if s.type == "line" and s.y0 == s.y1 == 0.5]
    assert fifty, "the 50% line is marked"
    assert any("50%" in a.text for a in fig.layout.annotations)
    assert list(fig.layout.xaxis.ticktext)[3] == "<b>not</b>"  # marked words in bold
    colours = list(line.marker.color)
    assert colours[3] == sp.NEGATIVE and colours[-1] == sp.POSITIVE


def test_word_changes_are_signed_bars_in_points_with_a_legend():
    fig = sp.word_changes(TOKENS, P, marks=[10])
    up, down = fig.data
    d = sp.changes(P) * 100
    np.testing.assert_allclose(up.y, d[d >= 0])
    np.testing.assert_allclose(down.y, d[d < 0])
    assert list(up.x) + list(down.x) != [] and sorted(list(up.x) + list(down.x)) == list(range(len(P)))
    assert "positive" in up.name and "negative" in down.name and up.marker.color != down.marker.color
    assert "percentage points" in fig.layout.yaxis.title.text
    lo, hi = fig.layout.yaxis.range
    assert lo == -hi and hi >= np.abs(d).max()  # symmetric: up and down compare


def test_gate_heatmap_shows_the_gate_with_turning_words_outlined():
    rng = np.random.default_rng(1)
    g = rng.uniform(size=(len(TOKENS), 10))
    fig = sp.gate_heatmap(g, TOKENS, "forget", marks=[3, 6], units=[4, 2, 7])
    hm = fig.data[0]
    np.testing.assert_allclose(hm.z, g[:, [4, 2, 7]].T)
    assert (hm.zmin, hm.zmax) == (0, 1)  # fixed scale: sentences compare
    assert "forget" in hm.colorbar.title.text
    assert list(fig.layout.yaxis.ticktext) == ["4", "2", "7"]
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert sorted((s.x0 + s.x1) / 2 for s in rects) == [3, 6]


def test_moved_units_rank_by_change_at_the_turning_words():
    g = np.full((5, 4), 0.5)
    g[3, 2] = 0.9  # unit 2 opens at word 3
    g[3, 0] = 0.3
    g[1, 1] = 0.0  # unit 1 moves, but not at a turning word
    assert sp.moved_units(g, [3], k=2) == [2, 0]


def test_gate_means_average_over_units():
    rng = np.random.default_rng(2)
    gates = {n: rng.uniform(size=(len(TOKENS), 6)) for n in sp.GATES}
    fig = sp.gate_means(gates, TOKENS, marks=[6])
    assert [t.name for t in fig.data] == [f"{n} gate" for n in sp.GATES]
    for t, n in zip(fig.data, sp.GATES):
        np.testing.assert_allclose(t.y, gates[n].mean(1))
    assert tuple(fig.layout.yaxis.range) == (0, 1)


@pytest.mark.parametrize("n", [5, 30, 200])
def test_word_labels_never_overlap(n):
    tokens = [f"w{i}" for i in range(n)]
    ticks = sp.word_ticks(tokens, 700, marks=[n // 2])
    xs = ticks["tickvals"]
    assert n // 2 in xs
    gaps = np.diff(xs) * 700 / n
    assert (gaps >= sp.WORD_PX - 1e-9).all() if len(gaps) else True


def test_words_html_escapes_and_explains_its_colours():
    body = sp.words_html(["<script>", "good"], np.array([0.2, 0.9]))
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert "towards positive" in body and "towards negative" in body
    assert "-30.0 percentage points" in body and "+70.0 percentage points" in body


def test_figure_text_is_readable():
    for fig in (sp.running_prediction(TOKENS, P), sp.word_changes(TOKENS, P)):
        assert fig.layout.xaxis.tickfont.size >= 14 and fig.layout.yaxis.tickfont.size >= 14
        assert fig.layout.yaxis.title.font.size >= 14


def test_word_labels_lie_flat_only_when_neighbours_fit():
    assert sp.word_ticks(TOKENS, 1000)["tickangle"] == 0  # 83 px a word: "wonderful" fits beside "is"
    assert sp.word_ticks(TOKENS, 400)["tickangle"] == -90  # 33 px a word: upright, or they would collide
