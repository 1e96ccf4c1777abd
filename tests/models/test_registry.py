"""Every registered model is built, loaded and checked through the registry."""
import numpy as np
import pytest
import torch

import nnviz
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
    trace = nnviz.capture(m, x)
    assert trace.output.shape == (len(m.spec.labels),)
    convs = [a for a in trace.activations.values() if a.module_type == "Conv2d"]
    assert convs and all(a.output.ndim == 3 for a in convs)
    with torch.inference_mode():
        np.testing.assert_allclose(trace.output, m(x)[0].numpy(), rtol=1e-4, atol=1e-5)


def test_unknown_model_and_family():
    with pytest.raises(KeyError, match="no model named 'nope'"):
        nnviz.load_model("nope")
    with pytest.raises(ValueError, match="unknown family"):
        registry.register("x", family="mlp", input_kind="image", description="")
