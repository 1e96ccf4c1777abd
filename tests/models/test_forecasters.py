"""The shipped daily forecasters (nnviz/models/forecasters.py): registered like every model, run
on their example input, and the held-out scores recorded in their files reproduce."""
import hashlib
import json

import numpy as np
import pytest

import nnviz
from nnviz import forecast as fc
from nnviz.analysis.series import walk_forward
from nnviz.forecast import REPO
from nnviz.models import get_spec, list_models
from nnviz.weights import shipped_metadata

DAILY = ["stock", "weather"]


def _meta(name: str) -> dict:
    meta = shipped_metadata(f"{name}.safetensors")
    assert meta, f"{name} carries no metadata"
    return {k: json.loads(v) for k, v in meta.items()}


@pytest.mark.parametrize("key", DAILY)
def test_registered_as_series_forecasters_with_an_example(key):
    s = fc.SHIPPED[key]
    spec = get_spec(s.model)
    assert (spec.family, spec.input_kind, spec.trace) == ("recurrent", "series", "recurrent")
    assert spec.extra["example"] == s.csv.removeprefix("samples/")
    assert s.model in list_models("recurrent", input_kind="series")
    assert (REPO / s.csv).stat().st_size < 200_000  # small extracts, not the packages' files


@pytest.mark.parametrize("key", DAILY)
def test_runs_on_its_example_input(key):
    s = fc.SHIPPED[key]
    x = nnviz.example_input(s.model)
    _, values, _ = fc.load_series(s)
    np.testing.assert_array_equal(x, values)  # the example is the column the model was trained on
    tr = nnviz.run(s.model, x)
    assert tr.output.shape == values.shape and np.isfinite(tr.output).all()
    assert tr.weights.trained and "shipped" in tr.weights.source


@pytest.mark.parametrize("key", DAILY)
def test_recorded_held_out_scores_reproduce(key):
    s = fc.SHIPPED[key]
    meta = _meta(s.model)
    index, values, n_train = fc.load_series(s)
    assert meta["test_dates"] == f"{index[n_train]}..{index[-1]}" and meta["season"] == s.season
    assert meta["data_sha256"] == hashlib.sha256((REPO / s.csv).read_bytes()).hexdigest()
    model = nnviz.load_model(s.model)
    wf = walk_forward(values, model.run(values).output, n_train, s.season)
    for name, sc in wf.scores.items():
        assert round(sc.rmse, 4) == meta[f"{name}_test_rmse"] and round(sc.mae, 4) == meta[f"{name}_test_mae"], name
    assert float(model.mean) == pytest.approx(float(values[:n_train].mean()))  # normalised on the training part only


def test_the_stock_model_does_not_beat_yesterday_and_the_weather_model_does():
    """What the view's sentences say, as recorded in the files (if a retrained file changes this,
    the sentences follow the numbers; this test says the README needs rewriting too)."""
    stock, weather = _meta("stock_lstm"), _meta("weather_lstm")
    assert stock["model_test_rmse"] > stock["naive_test_rmse"]
    assert weather["model_test_rmse"] < weather["naive_test_rmse"] < weather["seasonal_naive_test_rmse"]


@pytest.mark.parametrize("key", DAILY)
def test_one_run_is_a_walk_forward(key):
    """walk_forward scores output[t-1] as the forecast of values[t] made after reading values[:t]:
    true because the LSTM is causal, so running it on the prefix alone gives the same forecast."""
    s = fc.SHIPPED[key]
    _, values, n_train = fc.load_series(s)
    model = nnviz.load_model(s.model)
    full = model.run(values).output
    for t in (n_train, n_train + 37):
        assert model.run(values[:t]).output[-1] == pytest.approx(full[t - 1], rel=1e-5)
