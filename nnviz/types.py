"""Small dataclasses shared by every part of nnviz. No torch, no streamlit here."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


FAMILIES = ("cnn", "recurrent", "transformer")
# What a model's run produces (the Trace class in nnviz.traces); pages pick models by it.
TRACE_KINDS = {"features": "FeatureTrace", "recurrent": "RecurrentTrace", "encoder": "EncoderTrace",
               "causal": "CausalTrace", "cross": "CrossTrace"}


@dataclass(frozen=True)
class Preprocess:
    """How an image becomes the model's input tensor; shown to the user step by step."""

    size: int  # final square side, e.g. 224
    resize: int | None = None  # shorter side before the centre crop (None: no crop)
    grayscale: bool = False
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    digit: bool = False  # MNIST-style: invert if needed, crop to the ink, fit in 20x20, pad to 28

    def steps(self) -> list[str]:
        out = []
        if self.digit:
            out += [
                "convert to grayscale; invert if the background is light (the model saw light ink on black)",
                "crop to the ink and reduce it to an 8x8 scan (32x32 bitmap, 4x4 blocks averaged), "
                "as the training digits were made",
                "scale the longer side to 20 px, centre in a 28x28 frame by centre of mass",
            ]
        else:
            out.append("convert to grayscale" if self.grayscale else "convert to RGB")
            if self.resize:
                out.append(f"resize the shorter side to {self.resize} px")
                out.append(f"centre-crop to {self.size}x{self.size}")
            else:
                out.append(f"resize to {self.size}x{self.size}")
        out.append(
            "scale to [0, 1], then normalise per channel: (x - mean) / std with "
            f"mean={list(self.mean)}, std={list(self.std)}"
        )
        return out


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about a model, before any weights are loaded.

    `config` holds the builder's arguments (nanoGPT's `model_args`): `build()` makes the model
    from it, and a shipped weights file that recorded its own config overrides it on loading.
    """

    name: str
    family: str  # one of FAMILIES
    input_kind: str  # "image", "text", "series"
    description: str
    trace: str  # a key of TRACE_KINDS: what nnviz.run returns for this model
    builder: Callable[..., Any]  # builder(**config) returns an untrained nn.Module
    config: dict[str, Any] = field(default_factory=dict)
    default_weights: str | None = None  # "shipped:<file>" or "torchvision:<file>" or None
    labels: tuple[str, ...] | None = None
    preprocess: Preprocess | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def build(self, **overrides: Any) -> Any:
        """An untrained model from the spec's config (entries in `overrides` win)."""
        return self.builder(**{**self.config, **overrides})


@dataclass(frozen=True)
class WeightsInfo:
    """Which weights a model carries: every view shows `label`."""

    source: str  # e.g. "shipped file nnviz/weights/lenet5.safetensors", "random initialisation"
    trained: bool
    note: str = ""

    @property
    def label(self) -> str:
        return self.source if self.trained else f"UNTRAINED ({self.source})"


class InputError(ValueError):
    """Bad user input. The message is one sentence the UI shows as it is."""


class WeightsError(ValueError):
    """A weights file that cannot be used. The message names the first problem."""
