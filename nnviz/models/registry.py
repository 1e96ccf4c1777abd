"""The model registry: every architecture registers itself here once, pages list what it holds.

Modelled on torchvision's `_api.py`: `@register` on a builder, `list_models`, `load_model`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..types import FAMILIES, TRACE_KINDS, ModelSpec, Preprocess, WeightsInfo

_REGISTRY: dict[str, ModelSpec] = {}


def register(
    name: str,
    *,
    family: str,
    input_kind: str,
    description: str,
    trace: str,
    default_weights: str | None = None,
    labels: tuple[str, ...] | None = None,
    preprocess: Preprocess | None = None,
    config: dict | None = None,
    **extra,
) -> Callable:
    """Decorator for a builder: builder(**config) returns an untrained nn.Module."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")
    if trace not in TRACE_KINDS:
        raise ValueError(f"unknown trace kind {trace!r}; expected one of {tuple(TRACE_KINDS)}")

    def wrap(build: Callable) -> Callable:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = ModelSpec(
            name=name,
            family=family,
            input_kind=input_kind,
            description=description,
            trace=trace,
            builder=build,
            config=dict(config or {}),
            default_weights=default_weights,
            labels=labels,
            preprocess=preprocess,
            extra=dict(extra),
        )
        return build

    return wrap


def list_models(family: str | None = None, *, input_kind: str | None = None, trace: str | None = None) -> list[str]:
    """Registered model names (in registration order), optionally of one family, input kind
    ("image", "text", "series") and trace kind ("features", "recurrent", "encoder", "causal", "cross")."""
    _import_all()
    return [n for n, s in _REGISTRY.items()
            if family in (None, s.family) and input_kind in (None, s.input_kind) and trace in (None, s.trace)]


def get_spec(name: str) -> ModelSpec:
    _import_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no model named {name!r}; registered: {', '.join(_REGISTRY)}") from None


def load_model(name: str, weights: str | Path | bytes = "default"):
    """Build `name`, load weights, put it in eval mode and fill in `.spec` and `.weights_info`.

    weights: "default" (shipped file, else the torch hub cache, else random init),
    "random", a path to a .pth/.safetensors file, or the bytes of one (an upload).
    A shipped file or a local file that recorded the config it was trained with is built with
    that config (an upload is not: it must fit the spec's).
    """
    from .. import weights as W  # torch-heavy; imported on first use

    spec = get_spec(name)
    model = _build(spec, W.config_for(spec, weights))
    info = W.apply_weights(model, spec, weights)
    model.eval()
    model.spec = spec
    model.weights_info = info
    return model


INIT_SEED = 0  # untrained models are the same on every server and for every student


def _build(spec: ModelSpec, config: dict):
    import torch

    with torch.random.fork_rng(devices=[]):  # seeded without touching the caller's random state
        torch.manual_seed(INIT_SEED)
        return spec.build(**config)


def _import_all() -> None:
    # The model package imports every model module (running their @register calls) in its
    # __init__; this only makes sure it ran when registry.py was imported on its own.
    from .. import models  # noqa: F401


__all__ = ["register", "list_models", "get_spec", "load_model", "WeightsInfo"]
