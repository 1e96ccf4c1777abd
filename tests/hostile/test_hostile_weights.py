"""Hostile checkpoints through nnviz.weights.read_state_dict and nnviz.load_model(name, weights=...):
code-running pickles never run, and every unusable file gets one sentence naming the problem."""
from __future__ import annotations

import io
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as st_save

import nnviz
from nnviz import weights as W
from nnviz.types import WeightsError
from tests.hostile.conftest import Payload, assert_sentence

SHIPPED = Path(W.__file__).parent
UNSAFE = "is not a PyTorch checkpoint that loads safely (weights_only=True)"


def pth(obj, **kw) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


def lenet_sd() -> dict[str, torch.Tensor]:
    return nnviz.get_spec("lenet5").build().state_dict()


def test_the_payload_does_run_code_when_unpickled_plainly(tmp_path):
    """The control: the files below would write the marker if anything unpickled them unsafely."""
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.read_text() == "code ran"


PAYLOADS = {
    "bare pickle": lambda p: pickle.dumps(p),
    "pickle protocol 0": lambda p: pickle.dumps(p, protocol=0),
    "torch zip file": lambda p: pth({"features.0.weight": p}),
    "legacy torch file": lambda p: pth({"w": p}, _use_new_zipfile_serialization=False),
    "inside a real state dict": lambda p: pth({"state_dict": {**lenet_sd(), "x": p}}),
}


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")  # torch, about the bare pickle
@pytest.mark.parametrize("case", list(PAYLOADS))
def test_code_running_pickle_is_refused_without_running(case, tmp_path):
    marker = tmp_path / "ran"
    data = PAYLOADS[case](Payload(marker))
    with pytest.raises(WeightsError) as e:
        W.read_state_dict(data, "evil.pth")
    assert_sentence(e.value, f"evil.pth {UNSAFE}")
    with pytest.raises(WeightsError):
        nnviz.load_model("lenet5", weights=data)
    assert not marker.exists()


def test_code_running_pickle_named_safetensors_on_disk_is_refused(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "model.safetensors"
    path.write_bytes(pth({"w": Payload(marker)}))
    with pytest.raises(WeightsError) as e:
        nnviz.load_model("lenet5", weights=str(path))
    assert_sentence(e.value, f"model.safetensors {UNSAFE}")
    assert not marker.exists()


def test_missing_file_is_named(tmp_path):
    with pytest.raises(WeightsError) as e:
        nnviz.load_model("lenet5", weights=str(tmp_path / "nope.pth"))
    assert_sentence(e.value, "No weights file at", "nope.pth")


def _renamed(sd):
    sd["features.0.kernel"] = sd.pop("features.0.weight")
    return sd


def _reshaped(sd):
    sd["classifier.4.weight"] = torch.zeros(5, 84)
    return sd


def _extra(sd):
    sd["extra.bias"] = torch.zeros(1)
    return sd


def _nan(sd):
    sd["classifier.0.bias"][3] = float("nan")
    return sd


def _inf(sd):
    sd["features.0.weight"][0, 0, 0, 0] = float("-inf")
    return sd


MISFITS = {
    "wrong key": (_renamed, "The file does not fit lenet5: key 'features.0.weight' is missing."),
    "wrong shape": (_reshaped, ("The file does not fit lenet5: 'classifier.4.weight' has shape (5, 84) in the "
                                "file but (10, 84) in the model.")),
    "unexpected key": (_extra, "The file does not fit lenet5: unexpected key 'extra.bias'."),
    "NaN": (_nan, "The file's 'classifier.0.bias' contains NaN or infinite values; these weights cannot be shown."),
    "-inf": (_inf, "The file's 'features.0.weight' contains NaN or infinite values; these weights cannot be shown."),
}


@pytest.mark.parametrize("fmt", ["pth", "safetensors"])
@pytest.mark.parametrize("case", list(MISFITS))
def test_a_state_dict_that_does_not_fit_names_the_first_problem(case, fmt):
    change, sentence = MISFITS[case]
    sd = change(lenet_sd())
    data = pth(sd) if fmt == "pth" else st_save(sd)
    with pytest.raises(WeightsError) as e:
        nnviz.load_model("lenet5", weights=data)
    assert assert_sentence(e.value) == sentence


@pytest.mark.parametrize("fmt", ["pth", "safetensors"])
def test_truncated_checkpoint_is_refused(fmt):
    sd = lenet_sd()
    data = pth(sd) if fmt == "pth" else st_save(sd)
    with pytest.raises(WeightsError) as e:
        W.read_state_dict(data[: len(data) // 2], "cut.pth")
    words = [UNSAFE] if fmt == "pth" else ["cut.pth looks like safetensors but cannot be read"]
    assert_sentence(e.value, *words)


def test_safetensors_header_claiming_a_terabyte_tensor_is_refused():
    header = b'{"w": {"dtype": "F32", "shape": [1000000, 1000000], "data_offsets": [0, 4]}}'
    data = len(header).to_bytes(8, "little") + header + b"\0" * 4
    with pytest.raises(WeightsError) as e:
        W.read_state_dict(data, "huge.safetensors")
    assert_sentence(e.value, "huge.safetensors looks like safetensors but cannot be read")


@pytest.mark.parametrize("data,words", [
    (b"", ["checkpoint is empty."]),
    (b"not a checkpoint at all", [UNSAFE]),
    (pth([1, 2, 3]), ["does not hold a state dict (a mapping of names to tensors)"]),
    (pth({"features.0.weight": 1.5}), ["does not hold a state dict"]),
], ids=["empty", "text", "a list", "numbers, not tensors"])
def test_not_a_state_dict(data, words):
    with pytest.raises(WeightsError) as e:
        W.read_state_dict(data)
    assert_sentence(e.value, *words)


def test_another_models_shipped_file_names_the_first_missing_key():
    data = (SHIPPED / "char_lstm.safetensors").read_bytes()
    with pytest.raises(WeightsError) as e:
        nnviz.load_model("lenet5", weights=data)
    assert assert_sentence(e.value) == "The file does not fit lenet5: key 'features.0.weight' is missing."


def test_resnet_checkpoint_offered_to_alexnet_is_refused():
    data = st_save(nnviz.get_spec("resnet18").build().state_dict())
    with pytest.raises(WeightsError) as e:
        nnviz.load_model("alexnet", weights=data)
    assert assert_sentence(e.value) == "The file does not fit alexnet: key 'features.0.weight' is missing."


def test_half_precision_and_integer_tensors_are_converted_to_the_models_float32():
    sd = lenet_sd()
    half = nnviz.load_model("lenet5", weights=st_save({k: v.half() for k, v in sd.items()}))
    assert half.features[0].weight.dtype == torch.float32
    torch.testing.assert_close(half.features[0].weight, sd["features.0.weight"].half().float())
    ints = nnviz.load_model("lenet5", weights=pth({k: torch.full_like(v, 2, dtype=torch.int64) for k, v in sd.items()}))
    assert ints.classifier[4].bias.dtype == torch.float32 and ints.classifier[4].bias.tolist() == [2.0] * 10
    assert ints.weights_info.source == "uploaded checkpoint"
