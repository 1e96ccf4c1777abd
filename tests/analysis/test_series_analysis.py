"""Forecast evaluation: exact errors on hand-made series, x-axis labels past the end."""
import math

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
