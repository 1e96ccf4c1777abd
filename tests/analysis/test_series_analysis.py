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
