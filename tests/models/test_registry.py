"""Every registered model is built, loaded and checked through the registry."""
import numpy as np
import pytest
import torch

import nnviz
from nnviz.capture import capture
from nnviz.models import registry
from nnviz.types import FAMILIES

ALL = nnviz.list_models()


def test_families_and_required_models():
    assert {"lenet5", "alexnet", "vgg11", "vgg16", "resnet18"} <= set(nnviz.list_models("cnn"))
    for fam in FAMILIES:
        assert all(nnviz.get_spec(n).family == fam for n in nnviz.list_models(fam))
    assert sorted(sum((nnviz.list_models(f) for f in FAMILIES), [])) == sorted(ALL)


@pytest.mark.parametrize("name", ALL)
def test_load_model_through_registry(name):
    m = nnviz.load_model(name)
    assert not m.training
    assert m.spec.name == name and m.spec.description
    assert sum(p.numel() for p in m.parameters()) > 0
    kind = (m.spec.default_weights or "").split(":")[0]
    if kind == "shipped":  # shipped weights must exist and be labelled trained
        assert m.weights_info.trained, m.weights_info
    if not m.weights_info.trained:
        assert m.weights_info.label.startswith("UNTRAINED")


@pytest.mark.parametrize("name", nnviz.list_models("cnn"))
def test_cnn_capture_through_registry(name):
    m = nnviz.load_model(name, weights="random" if name in ("vgg11", "vgg16") else "default")
    pre = m.spec.preprocess
    x = torch.randn(1, 1 if pre.grayscale else 3, pre.size, pre.size)
    trace = capture(m, x)
    assert trace.output.shape == (len(m.spec.labels),)
    convs = [a for a in trace.activations.values() if a.module_type == "Conv2d"]
    assert convs and all(a.output.ndim == 3 for a in convs)
    with torch.inference_mode():
        np.testing.assert_allclose(trace.output, m(x)[0].numpy(), rtol=1e-4, atol=1e-5)


def test_unknown_model_and_family():
    with pytest.raises(KeyError, match="no model named 'nope'"):
        nnviz.load_model("nope")
    with pytest.raises(ValueError, match="unknown family"):
        registry.register("x", family="mlp", input_kind="image", description="", trace="features")
    with pytest.raises(ValueError, match="unknown trace kind"):
        registry.register("x", family="cnn", input_kind="image", description="", trace="maps")


def test_shipped_files_build_the_model_they_recorded(monkeypatch):
    from nnviz.weights import shipped_config, shipped_values

    recorded = shipped_values("char_gpt.safetensors")["config"]
    assert shipped_config(nnviz.get_spec("char_gpt")) == recorded
    assert shipped_config(nnviz.get_spec("char_lstm"))["hidden"] == shipped_values("char_lstm.safetensors")["hidden"]
    assert nnviz.load_model("char_gpt").config.n_layer == recorded["n_layer"]
    # the file, not the spec's default, decides: a spec asking for 2 layers still loads the file's 4
    spec = nnviz.get_spec("char_gpt")
    monkeypatch.setitem(registry._REGISTRY, "char_gpt", type(spec)(**{**spec.__dict__, "config": {**spec.config, "n_layer": 2}}))
    assert nnviz.load_model("char_gpt").config.n_layer == recorded["n_layer"]
    assert len(nnviz.load_model("char_gpt", "random").h) == 2


def test_untrained_models_are_seeded_and_leave_the_global_rng_alone():
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a, b = nnviz.load_model("resnet18", "random"), nnviz.load_model("resnet18", "random")
    assert torch.equal(torch.rand(3), expected)  # building did not consume the caller's random numbers
    torch.testing.assert_close(a.conv1.weight, b.conv1.weight, rtol=0, atol=0)


def test_model_package_registers_every_model_module():
    import nnviz.models as M

    for module in ("cnn", "recurrent", "bert", "gpt", "seq2seq"):
        assert hasattr(M, module)
    assert {"lenet5", "char_lstm", "minilm", "char_gpt", "date_translator"} <= set(nnviz.list_models())
