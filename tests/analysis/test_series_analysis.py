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
