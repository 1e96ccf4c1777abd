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


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    t = t.detach()
    if t.dtype != torch.float32 or t.device.type != "cpu":
        return t[0].to("cpu", torch.float32).numpy()  # convert batch item 0 only
    return t.numpy()[0]  # batch item 0: a view, no copy (numpy indexes faster than torch)


class _Seen:
    """What a hook saw: the tensors themselves (no copy) and their version counters, which
    PyTorch bumps on every in-place write, so after the forward we can tell if one was overwritten."""

    __slots__ = ("module_type", "out", "out_version", "inp", "inp_version")

    def __init__(self, module_type: str, out: torch.Tensor, inp: torch.Tensor | None, copy: bool) -> None:
        self.module_type = module_type
        # The slice before the clone: copy batch item 0 only, not the whole batch.
        self.out = out.detach()[:1].clone() if copy else out
        self.out_version = self.out._version
        self.inp = None if inp is None else (inp.detach()[:1].clone() if copy else inp)
        self.inp_version = None if self.inp is None else self.inp._version

    def overwritten(self) -> bool:
        return self.out._version != self.out_version or (self.inp is not None and self.inp._version != self.inp_version)

    def activation(self, name: str) -> Activation:
        return Activation(name=name, module_type=self.module_type, output=_to_numpy(self.out),
                          input=None if self.inp is None else _to_numpy(self.inp))


def _hooked_forward(model, x, modules, names: list[str], copy_names: set[str]):
    """One forward with a hook on every named module; returns ({name: _Seen}, output). Hooks
    only keep references (and copy the layers in `copy_names`): numpy conversion waits until
    the forward is over, so the hooks add almost nothing to it."""
    owner = threading.get_ident()
    seen: dict[str, _Seen] = {}

    def make_hook(name: str, record_input: bool, copy: bool):
        def hook(module, args, output):
            if name in seen or threading.get_ident() != owner:
                return  # a module reused in one pass, or another session's forward
            out = _first_tensor(output)
            if out is not None:
                seen[name] = _Seen(type(module).__name__, out, _first_tensor(args) if record_input else None, copy)

        return hook

    handles = []
    try:
        for n in names:
            m = modules[n]
            handles.append(m.register_forward_hook(make_hook(n, _records_input(m), n in copy_names)))
        # no_grad, not inference_mode (and not inside a caller's inference_mode either):
        # inference tensors carry no version counter, and the counter is how an in-place
        # overwrite of a kept output is detected.
        with torch.inference_mode(False), torch.no_grad():
            y = model(x)
        global forward_count
        forward_count += 1
    finally:
        for h in handles:
            h.remove()
    return seen, y


def _submodule(model: nn.Module, name: str) -> nn.Module | None:
    try:
        return model.get_submodule(name)
    except AttributeError:
        return None


def capture(
    model: nn.Module,
    x: torch.Tensor,
    layers: Iterable[str] | None = None,
    copy: bool | None = None,
) -> FeatureTrace:
    """Run `model(x)` once and return every requested layer's output (batch item 0) as numpy.

    layers: module names (as in `model.named_modules()`); None means `default_layers(model)`.
    copy: True copies each output when the hook sees it; False never copies (an in-place op
    later in the forward, say torchvision's ReLU(inplace=True) or `out += identity`, would
    overwrite the kept map). None (the default) keeps references, then checks each kept tensor's
    version counter: if any was written in place, the forward runs once more copying just those
    layers. Models that modify nothing in place (nnviz's own, declared `inplace_free`; and the
    conv/pool outputs of torchvision's ResNet) run once and copy nothing.
    """
    names = default_layers(model) if layers is None else list(layers)
    # A few layers: look each up by name (LeNet's capture is mostly fixed cost); many: one walk
    # over the model is cheaper than 53 lookups down MobileNet's nesting (93 vs 324 us). Both
    # know every name of a module used twice (remove_duplicate=False), as get_submodule does.
    if len(names) <= 8:
        modules = {n: m for n in names if (m := _submodule(model, n)) is not None}
    else:
        modules = dict(model.named_modules(remove_duplicate=False))
    unknown = [n for n in names if n not in modules]
    if unknown:
        raise KeyError(f"no layer named {unknown[0]!r} in {type(model).__name__}")

    with _lock_for(model):
        seen, y = _hooked_forward(model, x, modules, names, set(names) if copy else set())
        if copy is None:
            overwritten = {n for n, s in seen.items() if s.overwritten()}
            if overwritten:  # rare: pay a second forward rather than a copy in every capture
                seen, y = _hooked_forward(model, x, modules, names, overwritten)
    out = _first_tensor(y)
    ordered = {n: seen[n].activation(n) for n in names if n in seen}  # module order, not call order
    return FeatureTrace(activations=ordered, output=_to_numpy(out) if out is not None else np.zeros(0))
