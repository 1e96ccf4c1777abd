"""CNNs: LeNet-5, AlexNet, VGG and ResNet-18.

AlexNet, VGG and ResNet use torchvision's exact parameter names and shapes, so torchvision's
published ImageNet checkpoints load with `load_state_dict(strict=True)` without torchvision.
ReLUs are not in-place: a captured feature map must not change after the hook copied it.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..types import Preprocess
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


def first_conv_weights(model: nn.Module):
    """(O, I, kh, kw) float64 numpy: the kernels of the model's first Conv2d (what the filters view shows)."""
    conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    return conv.weight.detach().cpu().double().numpy()


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
