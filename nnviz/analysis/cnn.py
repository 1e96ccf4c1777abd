"""Which channels make a CNN choose a class (numpy only).

For a head that is global average pooling followed by one Linear layer (ResNet, MobileNetV2),
a class's logit is exactly a sum over the last feature maps A_c (C maps of H x W):

    logit_k = sum_c W[k, c] * mean(A_c) + b_k

so each channel's term W[k, c] * mean(A_c) is its contribution, and the same weights summed over
the maps, sum_c W[k, c] * A_c, say where in the image the evidence lies (the class activation
map of Zhou et al., "Learning Deep Features for Discriminative Localization", CVPR 2016).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClassEvidence:
    k: int  # the class
    channels: np.ndarray  # (n,) the channels with the largest contributions, largest first
    parts: np.ndarray  # (n,) their contributions W[k, c] * mean(A_c)
    rest: float  # the sum of every other channel's contribution
    bias: float  # b_k
    logit: float  # parts.sum() + rest + bias
    cam: np.ndarray  # (H, W) sum_c W[k, c] * A_c: its mean plus the bias is the logit


def class_evidence(maps: np.ndarray, weight: np.ndarray, bias: np.ndarray, k: int, n: int = 8) -> ClassEvidence:
    """maps (C, H, W): the feature maps entering the average pooling; weight (K, C), bias (K,)."""
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3 or weight.shape[1] != maps.shape[0]:
        raise ValueError(f"{maps.shape[0]} feature maps do not fit a head reading {weight.shape[1]} channels")
    contrib = weight[k] * maps.mean(axis=(1, 2))  # (C,)
    top = np.argsort(-contrib, kind="stable")[:n]
    return ClassEvidence(
        k=int(k), channels=top, parts=contrib[top], rest=float(contrib.sum() - contrib[top].sum()),
        bias=float(bias[k]), logit=float(contrib.sum() + bias[k]),
        cam=np.tensordot(weight[k], maps, axes=1),  # (H, W)
    )


def shown_parts(ev: ClassEvidence, decimals: int = 2) -> tuple[list[float], float, float, float]:
    """The numbers a chart shows, rounded so they add up as displayed: (top channels, the other
    channels, bias, logit), where the other channels' figure takes the rounding remainder."""
    parts = [round(float(p), decimals) for p in ev.parts]
    bias, logit = round(ev.bias, decimals), round(ev.logit, decimals)
    rest = round(logit - bias - sum(parts), decimals)
    return parts, rest, bias, logit
