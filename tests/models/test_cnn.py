"""CNN architectures: torchvision's parameter names and shapes, and published parameter counts."""
import json
from pathlib import Path

import pytest
import torch

from nnviz.models import get_spec
from nnviz.models.cnn import IMAGENET_CLASSES

REF = json.loads((Path(__file__).with_name("torchvision_state_dicts.json")).read_text())

# Parameter counts published in torchvision's model documentation.
TORCHVISION_PARAMS = {"alexnet": 61_100_840, "vgg11": 132_863_336, "vgg16": 138_357_544, "resnet18": 11_689_512,
                      "mobilenet_v2": 3_504_872}


@pytest.mark.parametrize("name", sorted(TORCHVISION_PARAMS))
def test_state_dict_matches_torchvision(name):
    model = get_spec(name).build()
    assert [[k, list(v.shape)] for k, v in model.state_dict().items()] == REF[name]
    assert sum(p.numel() for p in model.parameters()) == TORCHVISION_PARAMS[name]


def test_reference_fixture_agrees_with_published_counts():
    # The fixture itself must describe torchvision's models, not just mirror ours.
    for name, entries in REF.items():
        n = sum(torch.Size(s).numel() for k, s in entries if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
        assert n == TORCHVISION_PARAMS[name]
    alex = [k for k, _ in REF["alexnet"] if k.endswith("weight")]
    assert alex == ["features.0.weight", "features.3.weight", "features.6.weight", "features.8.weight",
                    "features.10.weight", "classifier.1.weight", "classifier.4.weight", "classifier.6.weight"]
    vgg16_convs = [int(k.split(".")[1]) for k, _ in REF["vgg16"] if k.startswith("features") and k.endswith("weight")]
    assert vgg16_convs == [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
    assert ["layer2.0.downsample.0.weight", [128, 64, 1, 1]] in REF["resnet18"]
    # mobilenet_v2's entries were read from the .pth file itself: 314 keys, BN counters included
    mnv2 = dict((k, s) for k, s in REF["mobilenet_v2"])
    assert len(mnv2) == 314 and mnv2["features.0.0.weight"] == [32, 3, 3, 3]
    assert mnv2["features.2.conv.1.0.weight"] == [96, 1, 3, 3]  # depthwise: one input channel per kernel
    assert mnv2["features.18.0.weight"] == [1280, 320, 1, 1] and mnv2["classifier.1.weight"] == [1000, 1280]


def test_torchvision_style_checkpoint_loads_strict(tmp_path):
    sd = get_spec("resnet18").build().state_dict()
    path = tmp_path / "resnet18.pth"
    torch.save(sd, path)
    fresh = get_spec("resnet18").build()
    fresh.load_state_dict(torch.load(path, weights_only=True), strict=True)
    torch.testing.assert_close(fresh.fc.weight, sd["fc.weight"])


def test_imagenet_labels():
    assert len(IMAGENET_CLASSES) == 1000
    assert IMAGENET_CLASSES[0] == "tench" and IMAGENET_CLASSES[207] == "golden retriever"
    assert IMAGENET_CLASSES[999] == "toilet tissue"


@pytest.mark.parametrize("name,size,shape", [("lenet5", 28, (1, 10)), ("alexnet", 224, (1, 1000)),
                                             ("resnet18", 224, (1, 1000)), ("mobilenet_v2", 224, (1, 1000))])
def test_forward_shapes(name, size, shape):
    spec = get_spec(name)
    x = torch.randn(1, 1 if spec.preprocess.grayscale else 3, size, size)
    with torch.inference_mode():
        assert tuple(spec.build().eval()(x).shape) == shape


def test_resnet_block_is_relu_of_f_plus_shortcut():
    m = get_spec("resnet18").build().eval()
    blk = m.layer2[0]  # has a downsample shortcut
    x = torch.randn(1, 64, 16, 16)
    with torch.inference_mode():
        f = blk.bn2(blk.conv2(torch.relu(blk.bn1(blk.conv1(x)))))
        torch.testing.assert_close(blk(x), torch.relu(f + blk.downsample(x)))
