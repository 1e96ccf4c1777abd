"""Training scripts for the recurrent models run (a few steps, into tmp_path), and the shipped
weights load through the registry and reproduce the numbers recorded with them."""
import copy
import json

import numpy as np
import pytest

import nnviz
from nnviz.analysis.series import naive_rmse, rmse
from nnviz.models.charvocab import VOCAB, encode_text
from nnviz.weights import shipped_metadata
from nnviz.training import char_lm, forecast
from nnviz.weights import HERE

QUIET = dict(log=lambda *_: None)


def _meta(filename):
    meta = shipped_metadata(filename)
    assert meta, f"{filename} carries no metadata"
    return {k: json.loads(v) for k, v in meta.items()}


def test_corpus_is_fixed_disjoint_and_about_a_megabyte():
    assert list(char_lm.TRAIN_FILES) == sorted(char_lm.TRAIN_FILES)
    assert not set(char_lm.TRAIN_FILES) & set(char_lm.VAL_FILES)
    assert not any("test" in f or "site-packages" in f for f in char_lm.TRAIN_FILES + char_lm.VAL_FILES)
    train = char_lm.read_corpus(char_lm.TRAIN_FILES)
    assert 0.9e6 < len(train) < 1.3e6
    assert train == char_lm.read_corpus(char_lm.TRAIN_FILES)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_char_lm_script_learns_in_a_few_steps(tmp_path, cell):
    res = char_lm.train(cell, steps=12, out=tmp_path, batch=16, seq=32, eval_chars=2000, **QUIET)
    losses = res["losses"]
    assert len(losses) == 12 and np.all(np.isfinite(losses))
    assert losses[0] > 6.0  # about log2(97) = 6.6 bits: chance level at the start
    assert np.mean(losses[-3:]) < losses[0] - 0.5  # it is learning
    path = tmp_path / f"char_{cell}.safetensors"
    assert path.stat().st_size < 1_000_000
    m = nnviz.load_model(f"char_{cell}", weights=path)  # strict load into the step-loop model
    assert m.weights_info.trained and m.cell == cell


def test_char_lm_main_writes_both_files(tmp_path):
    char_lm.main(["--steps", "2", "--batch", "4", "--seq", "16", "--eval-chars", "500", "--out", str(tmp_path)])
    assert {p.name for p in tmp_path.iterdir()} == {"char_lstm.safetensors", "char_rnn.safetensors"}


def test_forecast_script_runs_and_learns(tmp_path):
    res = forecast.main(["--steps", "30", "--out", str(tmp_path)])
    assert np.all(np.isfinite(res["losses"])) and res["losses"][-1] < res["losses"][0]
    m = nnviz.load_model("sunspots_lstm", weights=tmp_path / "sunspots_lstm.safetensors")
    assert float(m.mean) == pytest.approx(res["mean"]) and float(m.std) == pytest.approx(res["std"])


def test_fit_series_reports_progress_and_honours_the_time_budget():
    calls = []
    v = np.sin(np.arange(120) * 2 * np.pi / 12).astype(np.float32) * 10 + 20
    model, rep = forecast.fit_series(v, steps=10_000, seconds=0.5, progress=lambda *a: calls.append(a))
    assert rep["steps"] < 10_000 and rep["seconds"] < 3
    assert calls and calls[0][:2] == (10, 10_000)
    assert rep["n_train"] == 96 and rep["naive_test_rmse"] == pytest.approx(naive_rmse(v, 96), rel=1e-3)
    assert model.run(v).output.shape == (120,)


def test_sunspots_csv_is_the_yearly_series():
    years, values = forecast.load_sunspots()
    assert years[0] == 1700 and years[-1] == 2008 and len(values) == 309
    assert np.all(np.diff(years) == 1) and np.all(values >= 0)
    assert values[years.tolist().index(1957)] == pytest.approx(190.2)  # the famous 1957 maximum


# --- shipped weights --------------------------------------------------------------------------

SNIPPET_FILE = "queue.py"  # a held-out module (in char_lm.VAL_FILES)


@pytest.mark.parametrize("name", ["char_lstm", "char_rnn"])
def test_shipped_char_model_reproduces_its_held_out_bits_per_char(name):
    m = nnviz.load_model(name)
    assert m.weights_info.trained, m.weights_info
    meta = _meta(f"{name}.safetensors")
    assert meta["vocab"] == VOCAB and meta["val_files"] == list(char_lm.VAL_FILES)
    ids = encode_text(char_lm.read_corpus(char_lm.VAL_FILES)).ids
    # The recorded number, recomputed the script's way (PyTorch's fused layer, all held-out text).
    fast = char_lm.fast_twin(copy.deepcopy(m))
    fast.load_state_dict(m.state_dict(), strict=True)
    assert char_lm.bits_per_char(fast, ids) == pytest.approx(meta["val_bpc"], abs=1e-3)
    assert meta["val_bpc"] < 2.4 and meta["train_bpc"] < meta["val_bpc"]
    # The step-loop model the app shows gives the same bits/char on the first 10k characters.
    head = ids[: 40 * char_lm.EVAL_SEQ + 1]
    assert char_lm.bits_per_char(m, head) == pytest.approx(char_lm.bits_per_char(fast, head), abs=1e-4)
    assert str(meta["val_bpc"]) in (HERE / "README.md").read_text()


def test_training_is_seeded():
    a = char_lm.train("rnn", steps=3, batch=4, seq=16, eval_chars=300, **QUIET)
    b = char_lm.train("rnn", steps=3, batch=4, seq=16, eval_chars=300, **QUIET)
    assert a["losses"] == b["losses"] and a["val_bpc"] == b["val_bpc"]


def test_shipped_lstm_beats_rnn_and_keeps_longer_gradients():
    lstm, rnn = nnviz.load_model("char_lstm"), nnviz.load_model("char_rnn")
    assert _meta("char_lstm.safetensors")["val_bpc"] < _meta("char_rnn.safetensors")["val_bpc"]
    text = (char_lm.stdlib_dir() / SNIPPET_FILE).read_text(encoding="utf-8")[:200]
    g_lstm, g_rnn = lstm.gradient_norms(text), rnn.gradient_norms(text)
    assert g_lstm.shape == g_rnn.shape == (200,)
    # Relative to the last step, the first 100 characters still reach the output through the
    # LSTM's cell state; through the plain RNN their influence has vanished.
    early_lstm = g_lstm[:100].mean() / g_lstm[-1]
    early_rnn = g_rnn[:100].mean() / g_rnn[-1]
    assert early_lstm > 100 * early_rnn


def test_shipped_forecaster_beats_the_last_value_baseline():
    m = nnviz.load_model("sunspots_lstm")
    assert m.weights_info.trained
    meta = _meta("sunspots_lstm.safetensors")
    years, values = forecast.load_sunspots()
    n = int(np.searchsorted(years, forecast.TEST_START))
    pred = m.run(values).output
    test_rmse = rmse(pred[n - 1 : -1], values[n:])
    assert test_rmse == pytest.approx(meta["test_rmse"], abs=0.01)  # recorded number reproduces
    assert test_rmse < 0.75 * naive_rmse(values, n)
    assert float(m.mean) == pytest.approx(meta["mean"])  # the normalisation travels with the weights
    assert str(meta["test_rmse"]) in (HERE / "README.md").read_text()
    assert np.all(np.isfinite(m.forecast(values, 11)))


def test_common_loop_pieces():
    import torch

    from nnviz.training import common

    assert common.warmup_cosine(0, 100, 1.0, 0.1, 5) == pytest.approx(0.2)  # warmup: min(5, 100 // 10) = 5 steps
    assert common.warmup_cosine(5, 100, 1.0, 0.1, 5) == pytest.approx(1.0)  # top of the cosine
    assert common.warmup_cosine(100, 100, 1.0, 0.1, 5) == pytest.approx(0.1)  # floor at the end
    data = torch.arange(10)
    g = torch.Generator().manual_seed(0)
    w = common.random_windows(data, 200, 4, g)
    assert w.shape == (200, 4) and (w[:, 1:] - w[:, :-1] == 1).all() and w[:, -1].max() == 8  # never the last value
    assert common.random_windows(data, 200, 4, g, last=True)[:, -1].max() == 9
    rec = common.run_record(["--steps", "3"], "abc")
    assert rec["argv"].endswith("--steps 3") and rec["corpus_sha256"].startswith("ba7816bf")  # sha256("abc")
