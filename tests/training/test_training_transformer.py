"""The transformer training scripts run a few steps into tmp_path; the files they write load."""
import datetime as dt
import json
import math
import random

import numpy as np
import pytest
from safetensors import safe_open

import nnviz
from nnviz.training import transformer_lm, translation


def _meta(path) -> dict:
    with safe_open(str(path), framework="pt") as f:
        return {k: json.loads(v) for k, v in (f.metadata() or {}).items()}


def test_char_gpt_script_runs_a_few_steps(tmp_path, capsys):
    r = transformer_lm.main(["--steps", "12", "--out", str(tmp_path), "--eval-chars", "2048"])
    losses = r["losses"]
    assert len(losses) == 12 and all(math.isfinite(x) for x in losses)
    assert losses[0] == pytest.approx(math.log2(97), abs=0.3)  # starts near a uniform guess
    assert np.mean(losses[-3:]) < losses[0] - 1.0  # and learns character frequencies quickly
    assert '"val_bpc"' in capsys.readouterr().out
    path = tmp_path / "char_gpt.safetensors"
    meta = _meta(path)
    assert meta["seed"] == 0 and meta["steps"] == 12 and meta["config"]["n_layer"] == 4
    assert meta["train_files"] and meta["val_files"] and not set(meta["train_files"]) & set(meta["val_files"])
    assert meta["train_bpc"] == r["train_bpc"] and math.isfinite(meta["val_bpc"])
    m = nnviz.load_model("char_gpt", weights=path)  # strict: same keys and shapes as the registry's model
    assert m.weights_info.trained
    assert path.stat().st_size < 2_500_000


def test_translation_script_runs_a_few_steps_and_is_seeded(tmp_path):
    a = translation.train(steps=25, out=tmp_path, heldout_n=50, log=lambda *_: None)
    b = translation.train(steps=4, out=None, heldout_n=10, log=lambda *_: None)
    c = translation.train(steps=4, out=None, heldout_n=10, log=lambda *_: None)
    assert b["losses"] == c["losses"]  # same seed, same batches, same numbers
    assert a["losses"][0] == b["losses"][0]  # the step count only changes the learning-rate schedule
    assert all(math.isfinite(x) for x in a["losses"])
    assert np.mean(a["losses"][-5:]) < a["losses"][0] - 0.5
    assert 0.0 <= a["heldout_exact_match"] <= 1.0
    path = tmp_path / "date_translator.safetensors"
    meta = _meta(path)
    assert meta["steps"] == 25 and meta["seed"] == 0 and "heldout_exact_match" in meta
    m = nnviz.load_model("date_translator", weights=path)
    assert m.weights_info.trained and path.stat().st_size < 2_000_000


def test_date_generator_pairs_are_correct_and_heldout_is_disjoint():
    rng = random.Random(0)
    for _ in range(300):
        text, iso = translation.sample(rng)
        d = dt.date.fromisoformat(iso)
        assert not translation.is_heldout(d)
        assert len(text) <= 40 and text == text.lower()
        assert str(d.day) in text
        if str(d.year) not in text:  # two-digit year formats: 1950..2049 only
            assert 1950 <= d.year <= 2049 and f"{d.year % 100:02d}" in text
    held = translation.heldout_set(200)
    assert all(translation.is_heldout(dt.date.fromisoformat(iso)) for _, iso in held)
    assert translation.heldout_set(200) == held  # fixed seed
    assert translation.ordinal_suffix(1) == "1st" and translation.ordinal_suffix(12) == "12th"
    assert translation.ordinal_suffix(22) == "22nd" and translation.ordinal_suffix(113) == "113th"
    assert translation.FORMATS[11][0].format(**translation._fields(dt.date(1969, 7, 20))) == "sunday, july 20, 1969"
