"""Recurrent figures: only the window on screen is sent, characters label the axis, colour ranges
are fixed where the quantity is bounded, zeros survive a log axis."""
import re

import numpy as np
import pytest

from nnviz import plots
from nnviz.plots import recurrent as R


def test_state_heatmap_sends_only_the_window_with_characters_on_the_axis():
    T, H = 500, 128
    states = np.random.default_rng(0).uniform(0, 1, (T, H)).astype(np.float32)
    tokens = list(("ab c\n" * 100)[:T])
    fig = plots.state_heatmap(states, tokens, 100, 180, kind="forget", title="t", unit=5, pos=150,
                              width_px=1800)  # wide enough to label every character
    hm = fig.data[0]
    assert np.asarray(hm.z).shape == (H, 80)  # units x characters, the window only
    np.testing.assert_array_equal(np.asarray(hm.z), states[100:180].T)
    assert list(hm.x) == list(range(100, 180))
    assert list(fig.layout.xaxis.ticktext[:5]) == ["a", "b", "\u2423", "c", "\u21b5"]  # space, newline visible
    assert (hm.zmin, hm.zmax) == (0.0, 1.0) and hm.colorscale[0][1] == "#440154"  # gates: fixed 0..1, sequential
    rects = [(s.x0, s.x1, s.y0, s.y1) for s in fig.layout.shapes]
    assert (99.5, 179.5, 4.5, 5.5) in rects and (149.5, 150.5, -0.5, H - 0.5) in rects
    assert len(fig.to_json()) < 120_000  # a 2,000-char trace would be ~1 MB as JSON


def test_state_heatmap_rows_follow_the_given_units():
    states = np.arange(20, dtype=np.float32).reshape(4, 5)
    fig = plots.state_heatmap(states, list("abcd"), units=[3, 0], kind="h")
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), states[:, [3, 0]].T)
    assert list(fig.layout.yaxis.ticktext) == ["3", "0"]
    assert list(fig.data[0].customdata[0]) == [3, 3, 3, 3]  # hover says the unit, not the row


def _tick_px(axis) -> float:
    return axis.tickfont.size


def test_character_labels_are_thinned_to_fit_the_chart_never_below_16_px():
    T = 300
    states = np.zeros((T, 8), np.float32)
    tokens = list(("ab c\n" * 60)[:T])
    for width_px, start, stop in [(790, 0, 80), (790, 40, 200), (1110, 3, 83), (500, 0, 20)]:
        fig = plots.state_heatmap(states, tokens, start, stop, kind="h", width_px=width_px)
        ax = fig.layout.xaxis
        vals = list(ax.tickvals)
        k = vals[1] - vals[0]
        assert k > 1 or stop - start == 20
        assert all(v % k == 0 for v in vals) and vals == list(range(vals[0], stop, k))  # every k-th, fixed places
        assert vals[0] - start < k  # none missing at the start of the window
        plot_px = width_px - R.HEATMAP_SIDES_PX
        assert plot_px / (stop - start) * k >= R.CHAR_LABEL_PX  # each label has room: none overlap
        assert list(ax.ticktext) == [plots.show_char(tokens[i]) for i in vals]
        assert _tick_px(ax) == 16 and ax.tickfont.family == R.MONO
    narrow = plots.pattern_vs_unit(np.zeros(T), np.zeros(T), tokens, 0, 80, "p", "u", width_px=494)
    k = narrow.layout.xaxis2.tickvals[1] - narrow.layout.xaxis2.tickvals[0]
    assert (494 - 70) / 80 * k >= R.CHAR_LABEL_PX and narrow.layout.xaxis2.tickfont.size == 16


def test_every_figure_has_dark_ticks_and_titles_of_at_least_16_px():
    rng = np.random.default_rng(1)
    tokens = list("def f(a):\n    return [a]\n")
    T = len(tokens)
    figs = {
        "heatmap": plots.state_heatmap(rng.normal(size=(T, 128)).astype(np.float32), tokens, kind="c", title="h"),
        "ranking": plots.unit_ranking([(7, 0.9), (3, -0.5)], "best"),
        "pattern": plots.pattern_vs_unit(np.arange(T, dtype=float), np.ones(T), tokens, 0, T, "p", "u", "t"),
        "next": plots.next_char_bar([("a", 0.5), ("b", 0.2)], "next"),
        "series": plots.series_figure(list(range(100)), np.sin(np.arange(100.0)), rng.normal(size=(100, 8)), "c",
                                      test_start=80, title="s"),
        "why": plots.gradient_decay({"LSTM": np.array([0.1, 1.0]), "RNN": np.array([0.0, 1.0])}, list("ab"), True, "g"),
    }
    for name, fig in figs.items():
        axes = [fig.layout[k] for k in fig.layout if k.startswith(("xaxis", "yaxis"))]
        assert axes, name
        for ax in axes:
            assert ax.tickfont.size >= 16 and ax.tickfont.color in (R.INK, "#111"), (name, ax.plotly_name)
            assert ax.title.font.size >= 16 and ax.title.font.color == R.INK, (name, ax.plotly_name)
        for bar in (d.colorbar for d in fig.data if d.type == "heatmap"):
            assert bar.tickfont.size >= 16 and bar.title.font.color == R.INK, name
    hm = figs["heatmap"]  # 128 units: every 8th labelled, at least 24 px apart
    step = hm.layout.yaxis.tickvals[1] - hm.layout.yaxis.tickvals[0]
    assert step == 8 and (hm.layout.height - 100) / 128 * step >= 24
    assert list(figs["ranking"].layout.xaxis.tickvals) == [-1, 0, 1]  # a narrow column: three numbers


def test_a_projector_height_keeps_unit_labels_apart():
    fig = plots.state_heatmap(np.zeros((40, 128), np.float32), list("x" * 40), kind="h", title="t", height=480)
    assert fig.layout.height == 480
    ys = list(fig.layout.yaxis.tickvals)
    assert (480 - 100) / 128 * (ys[1] - ys[0]) >= 24 and len(ys) >= 8


def test_series_legend_sits_right_of_the_series_not_over_the_title():
    x = list(range(200))
    fig = plots.series_figure(x, np.sin(np.arange(200.0)), np.zeros((200, 4)), "c", np.zeros(200), 150, [200, 201],
                              np.zeros(2), np.zeros(3), "a title", height=500)
    lg = fig.layout.legend
    assert lg.orientation == "v" and lg.xanchor == "left" and lg.x > 1  # beside the plot, in the right margin
    assert lg.yanchor == "top" and lg.y <= 1  # starting at the series' top edge, below the title's margin
    top, bottom = fig.layout.yaxis.domain, fig.layout.yaxis2.domain
    assert top[0] > bottom[1]  # the series row is above the states row
    bar = next(d for d in fig.data if d.type == "heatmap").colorbar
    assert bar.y + bar.len / 2 <= top[0]  # the colour bar stays beside the states, under the legend
    assert fig.layout.height == 500 and fig.layout.title.text == "a title"


def test_gradient_legend_sits_in_the_empty_top_left_corner():
    fig = plots.gradient_decay({"LSTM": np.array([0.01, 0.1, 1.0]), "RNN": np.array([1e-4, 1e-2, 1.0])}, list("abc"),
                               title="g", height=480)
    lg = fig.layout.legend
    assert fig.layout.xaxis.autorange == "reversed"  # the oldest characters (smallest gradients) on the left
    assert (lg.xanchor, lg.yanchor) == ("left", "top") and lg.x < 0.1 and 0.9 < lg.y <= 1  # inside the plot
    assert fig.layout.height == 480


def test_cell_state_range_is_symmetric_and_robust():
    c = np.r_[np.linspace(-2, 2, 999), 500.0]  # one huge value
    lo, hi, scale = plots.quantity_range("c", c)
    assert lo == -hi and 1.9 < hi < 3 and scale == plots.DIVERGING
    assert plots.quantity_range("h") == (-1.0, 1.0, plots.DIVERGING)
    assert plots.quantity_range("input") == (0.0, 1.0, plots.SEQUENTIAL)
    assert plots.quantity_range("c", np.zeros(4))[:2] == (-1.0, 1.0)


@pytest.mark.parametrize("length,start,width,expect", [(100, 0, 80, (0, 80)), (100, 90, 80, (20, 100)),
                                                       (30, 5, 80, (0, 30)), (100, -4, 10, (0, 10))])
def test_window_bounds(length, start, width, expect):
    assert plots.window_bounds(length, start, width) == expect


def test_text_html_colours_each_character_and_escapes_it():
    tokens = list("<a>&\n\"")
    vals = np.array([-1, 0, 1, 0.5, 0, np.nan])
    out = plots.text_html(tokens, vals, -1, 1, plots.DIVERGING, mark=2, label="unit 3")
    assert "<a>" not in out and "&lt;" in out and "&amp;" in out and "&quot;" in out
    spans = re.findall(r'<span title="([^"]*)" style="([^"]*)">', out)
    assert len(spans) == 6
    assert spans[0] == ("0: -1", "background:#053061;color:#fff")  # -1: the dark blue end of RdBu_r
    assert spans[2][1].startswith("background:#67001f") and "outline:3px" in spans[2][1]
    assert spans[5][1].startswith("background:#ffffff;color:#000")  # NaN: white
    assert "\u21b5</span><br>" in out and "unit 3" in out and "linear-gradient" in out
    plain = plots.text_html(list("ab"), None, mark=0)
    assert "background" not in plain and "linear-gradient" not in plain
    assert plain.count("outline:3px") == 1 and '<span title="1">b</span>' in plain


def test_continuation_html_greys_the_prompt_colours_the_new_text_and_escapes_both():
    out = R.continuation_html("a<b", "c&d\n", "#d62728")
    assert out.startswith(f'<div style="font-family:{R.MONO};font-size:18px;white-space:pre-wrap;')
    assert '<span style="color:#888">a&lt;b</span><span style="color:#d62728;font-weight:bold">c&amp;d\n</span></div>' in out
    assert "a<b" not in out

def test_unit_ranking_bars():
    fig = plots.unit_ranking([(7, 0.9), (3, -0.5), (1, 0.2)], "best", selected=3)
    bar = fig.data[0]
    assert list(bar.y) == ["unit 1", "unit 3", "unit 7"]  # strongest on top
    assert list(bar.marker.color) == ["#d62728", "#1f77b4", "#d62728"]
    assert list(bar.marker.line.width) == [0, 3, 0]
    assert tuple(fig.layout.xaxis.range) == (-1.45, 1.45) and list(fig.layout.xaxis.tickvals) == [-1, 0, 1]
    assert bar.textposition == "outside" and bar.cliponaxis is False and bar.textfont.size == 16  # never cut off


def test_next_char_bar_keeps_characters_as_categories():
    fig = plots.next_char_bar([("1", 0.5), (" ", 0.3), ("\n", 0.1)], "next")
    assert list(fig.data[0].y) == ["\u21b5 ", "\u2423 ", "1 "] and fig.layout.yaxis.type == "category"


def test_pattern_vs_unit_shares_the_window():
    tokens = list("f(a(b))")
    fig = plots.pattern_vs_unit(np.arange(7.0), np.ones(7), tokens, 1, 5, "bracket depth", "unit 2")
    assert [list(d.x) for d in fig.data] == [[1, 2, 3, 4]] * 2
    assert list(fig.layout.xaxis2.ticktext) == list("(a(b")


def test_series_figure_states_under_the_series_thinned():
    T = 2000
    x = list(range(1000, 1000 + T))
    values = np.sin(np.arange(T) / 10).astype(np.float32)
    states = np.random.default_rng(0).normal(size=(T, 32)).astype(np.float32)
    fig = plots.series_figure(x, values, states, "c", predictions=values, test_start=1600, future_x=[3000, 3001],
                              future=np.array([0.1, 0.2]), backtest=np.zeros(5), title="s")
    names = [d.name for d in fig.data if d.type == "scatter"]
    assert names == ["series", "one step ahead", "5 steps ahead (no peeking)", "naive: last value", "forecast"]
    hm = next(d for d in fig.data if d.type == "heatmap")
    assert np.asarray(hm.z).shape == (32, 500)  # 2,000 steps averaged in blocks of 4 (<= 600 columns)
    assert hm.xaxis == "x2" and fig.layout.xaxis.matches == "x2"  # same time axis as the series
    fore = next(d for d in fig.data if d.name == "forecast")
    assert list(fore.x) == [2999, 3000, 3001]  # starts at the last value so the line is continuous
    bt = next(d for d in fig.data if d.name.endswith("(no peeking)"))
    assert list(bt.x) == list(range(2599, 2605))
    assert len(fig.to_json()) < 250_000
    only = plots.series_figure(x[:50], values[:50], title="raw")
    assert [d.type for d in only.data] == ["scatter"]


def test_gradient_decay_draws_zeros_on_a_labelled_floor():
    lstm = np.array([1e-8, 1e-5, 1e-2, 0.5], np.float32)
    rnn = np.array([0.0, 0.0, 1e-3, 0.25], np.float32)
    fig = plots.gradient_decay({"LSTM": lstm, "RNN": rnn}, list("abcd"), relative=True, title="g")
    assert fig.layout.yaxis.type == "log"
    l_line, r_line, r_zeros = fig.data
    np.testing.assert_allclose(l_line.y, lstm / 0.5, rtol=1e-6)
    assert list(l_line.x) == [3, 2, 1, 0]  # steps back from the last character
    floor = r_line.y[0]
    assert floor < 1e-8 / 0.5 and r_line.y[1] == floor and list(r_zeros.x) == [3, 2]
    assert r_line.customdata[0][1] == "exactly 0 (float32 underflow)" and r_line.customdata[0][0] == "a"
    ann = fig.layout.annotations[0]
    assert "exactly 0" in ann.text and ann.y == pytest.approx(np.log10(floor))  # log axes take log10
    # the label must not give the line a value it does not have (it once said ~1e-45 at 1e-10)
    assert "is not their value" in ann.text and f"{floor:.0e}" in ann.text and "1e-45" not in ann.text
    no_zero = plots.gradient_decay({"LSTM": lstm}, None, relative=False)
    assert len(no_zero.data) == 1 and not no_zero.layout.annotations
    np.testing.assert_allclose(no_zero.data[0].y, lstm)


def test_plot_and_analysis_modules_never_import_streamlit_or_torch():
    import ast
    from pathlib import Path

    import nnviz.analysis

    for mod in (R, nnviz.analysis):
        tree = ast.parse(Path(mod.__file__).read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {m for m in names if m.split(".")[0] in ("torch", "streamlit")}, (mod.__name__, names)


def test_the_zero_floor_label_sits_under_its_line_in_two_short_lines():
    fig = plots.gradient_decay({"LSTM": np.array([1e-12, 1e-6, 1.0]), "RNN": np.array([0.0, 1e-9, 1.0])}, list("abc"))
    ann = fig.layout.annotations[0]
    lo, hi = fig.layout.yaxis.range
    floor = np.log10(fig.data[1].y[0])
    assert ann.yanchor == "top" and ann.y == pytest.approx(floor)  # below the line: above it run the curves
    assert lo <= floor - 0.15 * (hi - lo) and hi >= 0  # room under the floor for it, the curves' top (1) shown
    assert all(len(line) <= 80 for line in ann.text.split("<br>")) and ann.font.size >= 16


def test_series_window_fits_the_value_axis_to_series_and_predictions_shown():
    x = list(range(300))
    values = np.r_[np.linspace(0, 100, 200), np.full(100, 50.0)]  # a climb, then flat on the held-out part
    predictions = np.full(300, 60.0)  # above everything the window shows of the series
    fig = plots.series_figure(x, values, predictions=predictions, test_start=200, window=(199, 259))
    assert list(fig.layout.xaxis.range) == [199, 259]
    lo, hi = fig.layout.yaxis.range
    assert 40 < lo < 50 and 99.5 < hi < 110  # fits 50..99.5 (x = 199 is the last learned value), not 0..100
    names = [t.name for t in fig.data]
    assert "yesterday's value" in names
    assert plots.series_figure(x, values, predictions=predictions, test_start=200).layout.xaxis.range is None


def test_zoomed_states_are_thinned_over_the_window_only():
    x = list(range(5000))
    states = np.tile(np.arange(5000.0)[:, None], (1, 3))  # unit values = the time step
    fig = plots.series_figure(x, np.zeros(5000), states, "h", window=(4000, 4059))
    heat = next(t for t in fig.data if t.type == "heatmap")
    assert len(heat.x) == 60 and heat.x[0] == 4000 and heat.x[-1] == 4059  # 60 steps, no block averages
    assert np.asarray(heat.z)[0, 0] == 4000
