"""Class evidence: a pooled-linear head's logit split into one exact term per channel."""
import numpy as np
import pytest

import nnviz
from nnviz.analysis.cnn import class_evidence, shown_parts
from nnviz.models import load_model
from nnviz.models.cnn import pooled_linear_head


def test_terms_add_up_to_the_logit_on_a_hand_made_head():
    maps = np.zeros((3, 2, 2))
    maps[0] = [[1, 1], [1, 1]]  # mean 1
    maps[1] = [[4, 0], [0, 0]]  # mean 1, all in one corner
    maps[2] = [[-2, -2], [-2, -2]]  # mean -2
    w = np.array([[2.0, 3.0, 1.0], [0.0, 0.0, 1.0]])
    b = np.array([0.5, -1.0])
    ev = class_evidence(maps, w, b, 0, n=2)
    assert list(ev.channels) == [1, 0] and list(ev.parts) == [3.0, 2.0]
    assert ev.rest == -2.0 and ev.bias == 0.5 and ev.logit == 3.5
    np.testing.assert_array_equal(ev.cam, [[2 + 12 - 2, 2 - 2], [2 - 2, 2 - 2]])
    assert ev.cam.mean() + ev.bias == ev.logit


def test_shown_numbers_add_up_as_displayed():
    rng = np.random.default_rng(0)
    maps, w, b = rng.random((50, 3, 3)), rng.normal(size=(4, 50)), rng.normal(size=4)
    ev = class_evidence(maps, w, b, 2, n=8)
    parts, rest, bias, logit = shown_parts(ev)
    assert f"{sum(parts) + rest + bias:.2f}" == f"{logit:.2f}" == f"{ev.logit:.2f}"
    assert abs(rest - ev.rest) <= 0.005 * 10  # the remainder absorbs at most the rounding


def test_a_head_that_does_not_fit_the_maps_is_refused():
    with pytest.raises(ValueError, match="do not fit"):
        class_evidence(np.zeros((3, 2, 2)), np.zeros((2, 4)), np.zeros(2), 0)


@pytest.mark.parametrize("name", ["mobilenet_v2", "resnet18"])
def test_the_terms_reproduce_the_models_logits(name):
    model = load_model(name)
    w, b = pooled_linear_head(model)
    tr = nnviz.run(model, nnviz.example_input(name))
    maps = tr["avgpool"].input
    for k in np.argsort(-tr.output)[:3]:
        ev = class_evidence(maps, w, b, int(k))
        assert ev.logit == pytest.approx(float(tr.output[k]), abs=1e-4)
        assert ev.parts.sum() + ev.rest + ev.bias == pytest.approx(ev.logit)


@pytest.mark.parametrize("name", ["vgg16", "alexnet", "lenet5"])
def test_heads_with_a_hidden_layer_have_no_per_channel_split(name):
    assert pooled_linear_head(load_model(name)) is None
