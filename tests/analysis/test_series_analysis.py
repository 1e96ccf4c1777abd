"""Forecast evaluation: exact errors on hand-made series, x-axis labels past the end."""
import math

import numpy as np
import pytest

from nnviz import analysis as A
from nnviz.analysis.series import naive_rmse, rmse


def test_naive_rmse():
    assert naive_rmse([1.0, 2.0, 4.0, 7.0], 2) == pytest.approx(math.sqrt((4 + 9) / 2))


def test_rmse():
    assert rmse([1.0, 2.0], [1.0, 4.0]) == pytest.approx(math.sqrt(2.0))


def test_extend_index():
    assert A.extend_index([1700, 1701, 1702], 2) == [1703, 1704]
    assert A.extend_index([0, 5, 10], 1) == [15]
    assert A.extend_index(["2024-01-01", "2024-02-01", "2024-03-01"], 2) == ["2024-04-01", "2024-05-01"]
    assert A.extend_index(["2024-01-01", "2024-01-02"], 2) == ["2024-01-03", "2024-01-04"]
    assert A.extend_index([3], 0) == [] and A.extend_index([], 2) == [0, 1]


def test_forecast_scores_against_the_last_value_on_the_held_out_part():
    values = [1.0, 2.0, 4.0, 7.0, 11.0]  # n_train 3: held out 7, 11
    predictions = [2.0, 3.0, 6.0, 10.0, 99.0]  # predictions[t] forecasts values[t+1]; the last has no target
    sc = A.series.forecast_scores(values, predictions, [5.0, 9.0, 13.0], 3)
    assert (sc.held_out, sc.steps) == (2, 2)  # a 3-step backtest, but only 2 values held out
    assert sc.one_step == pytest.approx(1.0)  # [6, 10] vs [7, 11]
    assert sc.naive == pytest.approx(math.sqrt((9 + 16) / 2))  # [4, 7] vs [7, 11]
    assert sc.backtest == pytest.approx(2.0)  # [5, 9] vs [7, 11]
    assert sc.backtest_naive == pytest.approx(math.sqrt((9 + 49) / 2))  # [4, 4] vs [7, 11]
    short = A.series.forecast_scores(values, predictions, [8.0], 3)
    assert short.steps == 1 and short.backtest == pytest.approx(1.0) and short.backtest_naive == pytest.approx(3.0)


def _weekly(n=400, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 10 + 3 * np.sin(2 * np.pi * t / 7) + 0.3 * rng.standard_normal(n)


def test_autocorrelation_of_a_known_sequence():
    from nnviz.analysis.series import autocorrelation

    r = autocorrelation(np.array([1.0, -1.0, 1.0, -1.0]), 2)
    np.testing.assert_allclose(r, [1.0, -0.75, 0.5])  # sum of lagged products over the sum of squares (4)
    np.testing.assert_array_equal(autocorrelation(np.ones(5), 2), [1.0, 0.0, 0.0])


def test_season_length_finds_a_weekly_pattern_and_nothing_in_a_random_walk():
    from nnviz.analysis.series import season_length

    assert season_length(_weekly()) == 7
    walk = np.cumsum(np.random.default_rng(1).standard_normal(400))
    assert season_length(walk) is None
    assert season_length(np.arange(5.0)) is None  # too short to tell


def test_seasonal_naive_beats_naive_on_a_seasonal_series_and_is_explained():
    from nnviz.analysis.series import explain_forecast, forecast_scores, seasonal_naive_rmse

    v = _weekly()
    assert seasonal_naive_rmse([1.0, 2.0, 3.0, 1.0, 2.5], 3, 3) == pytest.approx(math.sqrt((0 + 0.25) / 2))
    n = 320
    sc = forecast_scores(v, np.r_[v[1:], v[-1]] * 0 + v.mean(), np.full(10, v.mean()), n)  # a mean-only "model"
    assert sc.season == 7 and sc.seasonal_naive < sc.naive
    notes = " ".join(explain_forecast(v, n, sc, window=64))
    assert "repeats about every 7 steps" in notes and f"{sc.seasonal_naive:.3g}" in notes
    assert "random walk" not in notes
    assert "shorter than that season" in " ".join(explain_forecast(v, n, sc, window=5))


def test_a_random_walk_is_explained_as_one():
    from nnviz.analysis.series import explain_forecast, forecast_scores

    walk = np.cumsum(np.random.default_rng(2).standard_normal(300))
    sc = forecast_scores(walk, np.r_[walk[1:], walk[-1]] + 5, np.full(5, walk[239]), 240)  # a model 5 off
    notes = " ".join(explain_forecast(walk, 240, sc, window=64))
    assert sc.season is None and "random walk" in notes and "beats" not in notes


# --- walk-forward evaluation and the sentence it earns -------------------------------------------------

def test_walk_forward_scores_the_model_and_both_baselines_exactly():
    from nnviz.analysis.series import walk_forward

    values = [1.0, 2.0, 4.0, 4.0, 2.0, 3.0]  # n_train 4: held out 2, 3
    predictions = [0.0, 0.0, 0.0, 3.0, 2.0, 99.0]  # predictions[3] -> values[4], [4] -> values[5]; the last has no target
    wf = walk_forward(values, predictions, 4, season=3)
    assert wf.held_out == 2 and list(wf.scores) == ["model", "naive", "seasonal_naive"]
    m, n, s = wf.scores["model"], wf.scores["naive"], wf.scores["seasonal_naive"]
    assert (m.rmse, m.mae) == (pytest.approx(math.sqrt((1 + 1) / 2)), pytest.approx(1.0))  # [3, 2] vs [2, 3]
    assert (n.rmse, n.mae) == (pytest.approx(math.sqrt((4 + 1) / 2)), pytest.approx(1.5))  # [4, 2] vs [2, 3]
    assert (s.rmse, s.mae) == (pytest.approx(math.sqrt((0 + 1) / 2)), pytest.approx(0.5))  # [2, 4] vs [2, 3]: 3 steps back
    assert wf.best_baseline == "seasonal_naive" and set(wf.baselines) == {"naive", "seasonal_naive"}
    assert list(walk_forward(values, predictions, 4).scores) == ["model", "naive"]  # no season, no seasonal baseline


def test_walk_forward_refuses_what_it_cannot_score():
    from nnviz.analysis.series import walk_forward

    with pytest.raises(ValueError, match="at least 5 values"):
        walk_forward(np.arange(8.0), np.arange(8.0), 4, season=5)  # the first held-out value has no season before it
    with pytest.raises(ValueError):
        walk_forward(np.arange(8.0), np.arange(7.0), 4)
    with pytest.raises(ValueError):
        walk_forward(np.arange(8.0), np.arange(8.0), 8)


def test_shown_digits_tells_different_numbers_apart():
    from nnviz.analysis.series import shown_digits

    assert shown_digits(19.64, 33.17) == 3
    assert shown_digits(0.32594, 0.32591) == 5  # 0.326 and 0.326 would look equal
    assert shown_digits(2.0, 2.0) == 3  # equal numbers may look equal


def _walk(n=500, seed=3):
    return 50 + np.cumsum(np.random.default_rng(seed).standard_normal(n))


def test_the_sentence_flips_with_the_numbers():
    from nnviz.analysis.series import verdict, walk_forward

    v, n = _walk(), 400
    naive = np.r_[v[:-1], v[-1]]  # predictions[t] = values[t]: exactly the naive forecast
    loses = walk_forward(v, naive + 0.5, n)  # the naive forecast, half a unit off
    wins = walk_forward(v, np.r_[v[1:], v[-1]] + 0.1, n)  # (almost) knows the next value
    lost = verdict(v, n, loses, "this stock", "yesterday's price", " USD")
    won = verdict(v, n, wins, "this stock", "yesterday's price", " USD")
    r = loses.scores
    assert lost.startswith(f"On this stock the LSTM does not beat repeating yesterday's price (RMSE "
                           f"{r['model'].rmse:.3g} USD vs {r['naive'].rmse:.3g} USD).")
    assert "random walk" in lost  # a random walk's changes do not depend on the last change
    assert won.startswith("On this stock the LSTM beats repeating yesterday's price one step ahead (RMSE 0.1 USD vs")
    assert "does not beat" not in won and "random walk" not in won


def test_the_sentence_does_not_call_a_trending_series_a_random_walk():
    from nnviz.analysis.series import autocorrelation, verdict, walk_forward

    rng = np.random.default_rng(0)
    steps = np.zeros(500)
    for t in range(1, 500):  # changes that follow the previous change: not a random walk
        steps[t] = 0.8 * steps[t - 1] + rng.standard_normal()
    v, n = np.cumsum(steps), 400
    assert autocorrelation(np.diff(v[:n]), 1)[1] > 0.5
    s = verdict(v, n, walk_forward(v, np.r_[v[:-1], v[-1]] + 1, n), "it", "the last value")
    assert "does not beat" in s and "random walk" not in s


def test_the_seasonal_part_of_the_sentence_follows_which_baseline_is_better():
    from nnviz.analysis.series import verdict, walk_forward

    t = np.arange(100)
    seasonal = np.where(t % 4 < 2, 10.0, 0.0)  # 10 10 0 0 ...: a season of 4 repeats exactly
    wf = walk_forward(seasonal, np.r_[seasonal[:-1], 0.0] + 1.0, 80, season=4)  # model: the last value + 1
    s = verdict(seasonal, 80, wf, "this series", "the last value", season_name="a season")
    assert wf.scores["seasonal_naive"].rmse == 0 and wf.scores["model"].rmse > wf.scores["naive"].rmse
    assert "does not beat repeating the last value" in s
    assert "Repeating the value a season earlier scores 0, better than repeating the last value" in s
    smooth = np.sin(t / 20.0)  # slow: the last value is better than the value 4 steps earlier
    wf = walk_forward(smooth, np.r_[smooth[1:], 0.0], 80, season=4)  # a perfect model
    s = verdict(smooth, 80, wf, "this series", "the last value", season_name="4 steps")
    assert s.startswith("On this series the LSTM beats repeating the last value and the value 4 steps earlier one step "
                        "ahead (RMSE 0 vs")
    assert "worse than repeating the last value" in s
    middle = walk_forward(seasonal, np.r_[seasonal[1:], 0.0] + 0.5, 80, season=4)  # beats naive, not seasonal
    s = verdict(seasonal, 80, middle, "this series", "the last value", season_name="a season")
    assert "beats repeating the last value (RMSE 0.5 vs" in s and "but not the value a season earlier (0)" in s


def test_forecast_scores_take_a_known_season():
    from nnviz.analysis.series import forecast_scores, seasonal_naive_rmse

    walk = _walk()
    sc = forecast_scores(walk, walk, np.full(5, walk[399]), 400, season=365)
    assert sc.season == 365 and sc.seasonal_naive == pytest.approx(seasonal_naive_rmse(walk, 400, 365))
    assert forecast_scores(walk, walk, np.full(5, walk[399]), 400).season is None  # nothing detected


def test_extend_index_skips_weekends_after_trading_days():
    days = [str(d) for d in np.busday_offset("2013-01-01", np.arange(30), roll="forward")]  # weekdays only
    assert days[-1] == "2013-02-11"  # a Monday
    assert A.extend_index(days, 6) == ["2013-02-12", "2013-02-13", "2013-02-14", "2013-02-15", "2013-02-18", "2013-02-19"]
    calendar = [str(d) for d in np.arange(np.datetime64("2015-12-01"), np.datetime64("2016-01-01"))]
    assert A.extend_index(calendar, 2) == ["2016-01-01", "2016-01-02"]  # every day, weekends included
