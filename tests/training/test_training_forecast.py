"""nnviz/training/forecast.py on the daily series: `--check` reproduces the shipped stock and
weather files (and still the sunspots file), and a short run writes a loadable file."""
import json
import time

from safetensors import safe_open

import nnviz
from nnviz.training import forecast


def test_check_reproduces_every_shipped_forecaster(capsys):
    t0 = time.time()
    forecast.main(["--series", "all", "--check"])  # trains into a temporary folder; SystemExit(1) on a difference
    out = capsys.readouterr().out
    for name in ("sunspots_lstm", "stock_lstm", "weather_lstm"):
        assert f"{name}.safetensors: every tensor equals the shipped file" in out
    assert time.time() - t0 < 60


def test_a_short_run_writes_a_loadable_file_with_its_record(tmp_path):
    r = forecast.main(["--series", "weather", "--steps", "20", "--out", str(tmp_path)])
    assert r["steps"] == 20 and r["season"] == 365 and r["test_dates"] == "2015-01-01..2015-12-31"
    assert {"model_test_rmse", "naive_test_rmse", "seasonal_naive_test_rmse", "model_test_mae"} <= set(r)
    m = nnviz.load_model("weather_lstm", weights=tmp_path / "weather_lstm.safetensors")
    assert m.weights_info.trained
    with safe_open(str(tmp_path / "weather_lstm.safetensors"), "pt") as f:  # the record travels with the weights
        meta = {k: json.loads(v) for k, v in f.metadata().items()}
    assert meta["model_test_rmse"] == r["model_test_rmse"] and meta["command"].endswith("--steps 20 --seed 0")
