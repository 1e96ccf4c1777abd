"""The time-series view on the shipped real series (AppTest): each shipped series shows its
source, its split, the scores against the baselines and the sentence those scores earn; daily
series keep a light figure with dates on its x axis; a link brings back the chosen series."""
import json

import pytest

from nnviz import forecast as fc
from nnviz.weights import shipped_metadata
from tests.app.conftest import array, figures, open_link, scene_link, titles
from tests.app.conftest import open_page as open_app

PAGE = "pages/recurrent.py"
STOCK, WEATHER = fc.SHIPPED["stock"].label, fc.SHIPPED["weather"].label


def open_series(label: str | None = None):
    at = open_app(PAGE)
    at.radio(key="rnn_view").set_value("Time series").run()
    if label:
        at.radio(key="ts_src").set_value(label).run()
    assert not at.exception, at.exception
    return at


def _meta(name: str) -> dict:
    return {k: json.loads(v) for k, v in shipped_metadata(f"{name}.safetensors").items()}


def _sentence(at) -> str:
    return " ".join(i.value for i in at.info)


def test_the_radio_offers_the_shipped_series_then_an_upload_and_starts_on_sunspots():
    at = open_series()
    radio = at.radio(key="ts_src")
    assert radio.options == ["Sunspots (yearly)", "Microsoft stock price (daily)", "Seattle max temperature (daily)",
                             "Upload a CSV"]
    assert radio.value == "Sunspots (yearly)" and radio.proto.default == 0  # out of the URL when unchanged


def test_the_stock_says_the_lstm_does_not_beat_yesterdays_price():
    at = open_series(STOCK)
    meta = _meta("stock_lstm")
    captions = " ".join(c.value for c in at.caption)
    assert "Quandl WIKI" in captions and "public domain" in captions
    assert "learned from 2000-03-01 to 2010-12-31 (2,727 trading days)" in captions
    assert "543 trading days from 2011-01-03 to 2013-03-01 are held out" in captions
    m = {x.label: x.value for x in at.metric}
    assert m["LSTM, one step ahead (RMSE)"] == f"{meta['model_test_rmse']:.3g} USD"
    assert m["Naive: repeat the last value"] == f"{meta['naive_test_rmse']:.3g} USD"
    assert not any(k.startswith("Seasonal naive") for k in m)  # a price has no season
    s = _sentence(at)
    assert s.startswith(f"On this stock the LSTM does not beat repeating yesterday's price (RMSE "
                        f"{meta['model_test_rmse']:.3g} USD vs {meta['naive_test_rmse']:.3g} USD).")
    assert "random walk" in s
    assert any(t.startswith("adjusted close (USD): forecast") for t in titles(at))


def test_the_weather_says_the_lstm_beats_yesterday_and_last_year():
    at = open_series(WEATHER)
    meta = _meta("weather_lstm")
    m = {x.label: x.value for x in at.metric}
    assert m["Seasonal naive: a year ago"] == f"{meta['seasonal_naive_test_rmse']:.3g} °C"
    s = _sentence(at)
    assert s.startswith("On Seattle's weather the LSTM beats repeating yesterday's maximum and the value a year earlier")
    assert "does not beat" not in s and f"{meta['model_test_rmse']:.3g} °C" in s
    assert "worse than repeating yesterday's maximum" in s  # the year-ago baseline loses to yesterday's value
    assert any("mean absolute error LSTM" in c.value for c in at.caption)


@pytest.mark.parametrize("label", [STOCK, WEATHER])
def test_daily_figures_have_dates_and_stay_light(label):
    at = open_series(label)
    fig = next(f for f in figures(at) if "forecast and the LSTM" in f["layout"]["title"]["text"])
    assert len(json.dumps(fig)) < 300_000  # 3,270 days of prices, yet a small payload to the browser
    heat = next(d for d in fig["data"] if d["type"] == "heatmap")
    assert array(heat["z"]).size <= 32 * 600  # the states are thinned to at most 600 columns
    series = next(d for d in fig["data"] if d.get("name") == "series")
    assert str(series["x"][0]).count("-") == 2  # ISO dates: plotly draws a date axis
    fore = next(d for d in fig["data"] if d.get("name") == "forecast")
    if label == STOCK:  # after Friday 2013-03-01, the next trading day is Monday
        assert fore["x"][:2] == ["2013-03-01", "2013-03-04"]
    else:
        assert fore["x"][:2] == ["2015-12-31", "2016-01-01"]


def test_a_link_keeps_the_chosen_series():
    at = open_series(STOCK)
    at.slider(key="ts_steps").set_value(7).run()
    link = scene_link(at)
    assert link["ts_src"] == STOCK and link["ts_steps"] == "7"
    student = open_link(PAGE, link)
    assert student.radio(key="ts_src").value == STOCK and scene_link(student) == link
    assert titles(student) == titles(at) and _sentence(student) == _sentence(at)


def test_presentation_mode_on_the_weather_shows_the_figure_first():
    at = open_app(PAGE, {"present": "1", "rnn_view": "Time series", "ts_src": WEATHER})
    at.run()
    assert not at.exception
    assert titles(at)[0].startswith("max temperature (°C): forecast")
    assert figures(at)[0]["layout"]["height"] <= 520 and "beats" in _sentence(at)


def test_zooming_in_on_the_stock_shows_the_one_step_lag():
    """'first 60 held-out steps': the x axis spans exactly those days, the value axis fits what is
    visible, and yesterday's value is drawn beside the one-step predictions; the link keeps it."""
    from nnviz.ui.series import RANGES, ZOOM_STEPS

    at = open_series(STOCK)
    at.selectbox(key="ts_range").set_value(RANGES[2]).run()
    assert not at.exception
    fig = next(f for f in figures(at) if f["layout"].get("title", {}).get("text", "").startswith("adjusted close"))
    series = next(t for t in fig["data"] if t.get("name") == "series")
    x, y = series["x"], array(series["y"])
    i0 = x.index(fig["layout"]["xaxis"]["range"][0])
    i1 = x.index(fig["layout"]["xaxis"]["range"][1])
    assert x[i0] == "2010-12-31" and i1 - i0 == ZOOM_STEPS  # the last day learned from, then 60 held out
    lo, hi = fig["layout"]["yaxis"]["range"]
    assert lo < y[i0:i1 + 1].min() and hi > y[i0:i1 + 1].max()  # fitted to the window, not 13 years
    assert hi - lo < (y.max() - y.min()) / 2
    yesterday = next(t for t in fig["data"] if t.get("name") == "yesterday's value")
    assert array(yesterday["y"])[1:].tolist() == y[i0 + 1:i1].tolist()  # values[t - 1] drawn at x[t]
    assert "ts_range" in scene_link(at)


def test_the_whole_series_has_no_zoom_and_no_extra_line():
    at = open_series(STOCK)
    fig = next(f for f in figures(at) if f["layout"].get("title", {}).get("text", "").startswith("adjusted close"))
    assert "range" not in fig["layout"]["xaxis"]
    assert not any(t.get("name") == "yesterday's value" for t in fig["data"])
