"""Forward hooks -> Trace. Hooks are borrowed: registered, used once, removed in `finally`.

Thread safety: Streamlit sessions share one cached model (st.cache_resource). A per-model lock
serialises captures, and each hook records only calls made by the capturing thread, so a plain
forward from another session never leaks into this Trace.
"""
from __future__ import annotations

import threading
import weakref
from typing import Iterable

import numpy as np
import torch
from torch import nn

from .traces import Activation, FeatureTrace

_LOCKS: "weakref.WeakKeyDictionary[nn.Module, threading.Lock]" = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()

# How many model forwards `capture` has run in this process; the app tests use it to prove
# that changing a view (layer, channel, sort, page) never runs the model again.
forward_count = 0


def forwards_run() -> int:
    """Model forwards run by `capture` so far in this process."""
    return forward_count

POOL_TYPES = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
SHOWN_TYPES = (nn.Conv2d, nn.Linear) + POOL_TYPES
BLOCK_TYPES = ("BasicBlock", "Bottleneck", "InvertedResidual")  # residual blocks, shown whole


def _lock_for(model: nn.Module) -> threading.Lock:
    with _LOCKS_GUARD:
        lock = _LOCKS.get(model)
        if lock is None:
            lock = _LOCKS[model] = threading.Lock()
        return lock


def default_layers(model: nn.Module) -> list[str]:
    """The layers a CNN view offers: convs, pools, linears, ReLUs that stand as their own layer,
    residual blocks, and inside each block its F(x) and shortcut: ResNet's bn2 and downsample;
    MobileNetV2's `conv` (F(x) of a block with a shortcut; its expand, depthwise and project
    convolutions are convs, so they are offered too)."""
    names = []
    parents = {name: m for name, m in model.named_modules()}
    for name, m in model.named_modules():
        if not name:
            continue
        parent = parents.get(name.rsplit(".", 1)[0]) if "." in name else model
        kind, parent_kind, leaf = type(m).__name__, type(parent).__name__, name.rsplit(".", 1)[-1]
        if isinstance(m, SHOWN_TYPES) or kind in BLOCK_TYPES:
            names.append(name)
        elif isinstance(m, nn.ReLU) and isinstance(parent, nn.Sequential):
            names.append(name)
        elif parent_kind == "BasicBlock" and leaf in ("bn2", "downsample"):
            names.append(name)
        elif parent_kind == "InvertedResidual" and leaf == "conv" and _has_shortcut(parent):
            names.append(name)
    return names


def _has_shortcut(m: nn.Module) -> bool:
    # MobileNetV2 adds x only where the block keeps the shape (stride 1, in == out channels).
    kind = type(m).__name__
    if kind == "InvertedResidual":
        return bool(getattr(m, "use_res_connect", False))
    return kind in ("BasicBlock", "Bottleneck")


def _records_input(m: nn.Module) -> bool:
    # Pools are shown before/after; residual blocks as x, F(x), F(x)+x.
    return isinstance(m, POOL_TYPES) or _has_shortcut(m)


def _first_tensor(obj) -> torch.Tensor | None:
    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, (tuple, list)):
        for o in obj:
            t = _first_tensor(o)
            if t is not None:
                return t
    return None


def _to_numpy(t: torch.Tensor, copy: bool) -> np.ndarray:
    a = t.detach()[0].to("cpu", torch.float32)  # batch item 0
    return a.clone().numpy() if copy else a.numpy()


def capture(
    model: nn.Module,
    x: torch.Tensor,
    layers: Iterable[str] | None = None,
    copy: bool | None = None,
) -> FeatureTrace:
    """Run `model(x)` once and return every requested layer's output (batch item 0) as numpy.

    layers: module names (as in `model.named_modules()`); None means `default_layers(model)`.
    copy: copy each output when the hook sees it. None (the default) copies unless the model
    declares `inplace_free` (nnviz's own models): in another model, say torchvision's with
    ReLU(inplace=True) or `out += identity`, a later op would overwrite a map the hook kept.
    """
    if copy is None:
        copy = not getattr(model, "inplace_free", False)
    modules = dict(model.named_modules())
    names = default_layers(model) if layers is None else list(layers)
    unknown = [n for n in names if n not in modules]
    if unknown:
        raise KeyError(f"no layer named {unknown[0]!r} in {type(model).__name__}")

    owner = threading.get_ident()
    found: dict[str, Activation] = {}

    def make_hook(name: str, record_input: bool):
        def hook(module, args, output):
            if threading.get_ident() != owner or name in found:
                return  # another session's forward, or a module reused in one pass
            out = _first_tensor(output)
            if out is None:
                return
            inp = _first_tensor(args) if record_input else None
            found[name] = Activation(
                name=name,
                module_type=type(module).__name__,
                output=_to_numpy(out, copy),
                input=_to_numpy(inp, copy) if inp is not None else None,
            )

        return hook

    with _lock_for(model):
        handles = []
        try:
            for n in names:
                handles.append(modules[n].register_forward_hook(make_hook(n, _records_input(modules[n]))))
            with torch.inference_mode():
                y = model(x)
            global forward_count
            forward_count += 1
        finally:
            for h in handles:
                h.remove()
    out = _first_tensor(y)
    ordered = {n: found[n] for n in names if n in found}  # module order, not call order
    return FeatureTrace(activations=ordered, output=_to_numpy(out, copy) if out is not None else np.zeros(0))
