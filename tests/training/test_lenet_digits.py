import json

import pytest
import torch

import nnviz
from nnviz.training import lenet_digits
from nnviz.weights import HERE, shipped_metadata


def test_shipped_lenet_reaches_97_percent_on_held_back_digits():
    _, _, xte, yte = lenet_digits.digits_dataset()
    model = nnviz.load_model("lenet5")
    acc = lenet_digits.accuracy(model, xte, yte)
    assert acc >= 0.97
    recorded = json.loads(shipped_metadata("lenet5.safetensors")["test_accuracy"])
    assert acc == pytest.approx(recorded, abs=1e-3)  # the README/metadata number is reproducible
    assert str(recorded) in (HERE / "README.md").read_text()


def test_training_script_runs_and_learns(tmp_path):
    res = lenet_digits.train(epochs=2, out=tmp_path, log=lambda *_: None)
    assert (tmp_path / "lenet5.safetensors").is_file()
    assert res["test_accuracy"] > 0.5 and res["final_loss"] < 2.3  # better than chance after 2 epochs
    m = nnviz.load_model("lenet5", weights=tmp_path / "lenet5.safetensors")
    assert m.weights_info.trained


def test_digits_split_is_stratified_and_fixed():
    a = lenet_digits.digits_dataset()
    b = lenet_digits.digits_dataset()
    assert torch.equal(a[3], b[3]) and len(a[3]) == 360
    assert torch.bincount(a[3]).min() >= 35


def test_retraining_reproduces_the_shipped_tensors_exactly(tmp_path):
    from nnviz.training import common

    res = lenet_digits.train(out=tmp_path, log=lambda *_: None, argv=["--out", str(tmp_path)])
    assert common.same_tensors(tmp_path / "lenet5.safetensors", HERE / "lenet5.safetensors") == []
    assert res["argv"].endswith(f"--out {tmp_path}") and res["torch"] == torch.__version__ and res["python"]
