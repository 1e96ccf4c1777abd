"""nnviz: watch real neural networks run, layer by layer.

Notebook use, no Streamlit needed; the pages call exactly this:

    import nnviz
    nnviz.list_models("cnn")                       # what the registry holds, by family
    trace = nnviz.run("lenet5", nnviz.example_input("lenet5"))   # raw input -> Trace
    fig = nnviz.plots.feature_mosaic(trace["features.0"].output)

Lower level: `from nnviz.capture import capture` runs any model with forward hooks (a function
named like its module cannot be a package attribute: importing the module would replace it).
Attributes load lazily: `import nnviz.plots` (or `nnviz.traces`, `nnviz.analysis`) never imports
torch, so figures can be drawn from saved traces on a machine without it.
"""
from __future__ import annotations

import importlib

_LAZY = {
    "run": ("nnviz.runner", "run"),
    "example_input": ("nnviz.runner", "example_input"),
    "get_spec": ("nnviz.models", "get_spec"),
    "list_models": ("nnviz.models", "list_models"),
    "load_model": ("nnviz.models", "load_model"),
    "InputError": ("nnviz.types", "InputError"),
    "ModelSpec": ("nnviz.types", "ModelSpec"),
    "WeightsError": ("nnviz.types", "WeightsError"),
    "WeightsInfo": ("nnviz.types", "WeightsInfo"),
    "Trace": ("nnviz.traces", "Trace"),
    "FeatureTrace": ("nnviz.traces", "FeatureTrace"),
    "RecurrentTrace": ("nnviz.traces", "RecurrentTrace"),
    "EncoderTrace": ("nnviz.traces", "EncoderTrace"),
    "CausalTrace": ("nnviz.traces", "CausalTrace"),
    "CrossTrace": ("nnviz.traces", "CrossTrace"),
}
_SUBMODULES = ("analysis", "capture", "forecast", "inputs", "models", "ops", "plots", "runner", "traces", "types", "weights")

__all__ = sorted(_LAZY) + list(_SUBMODULES)


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"nnviz.{name}")
    else:
        raise AttributeError(f"module 'nnviz' has no attribute {name!r}")
    globals()[name] = value
    return value
