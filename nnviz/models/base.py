"""The base class of every registered model: typed attributes the registry fills in when it loads one."""
from __future__ import annotations

from torch import nn

from ..types import ModelSpec, WeightsInfo


class NNVizModel(nn.Module):
    """An nn.Module the registry can build, load and run.

    `spec` and `weights_info` are set by `load_model`; a model built by hand has neither, and its
    traces then carry an empty model name and no weights label.
    """

    # nnviz's models never modify a tensor in place after a layer returned it, so `capture` can
    # hand out views of layer outputs without copying them (tests/test_capture.py checks this).
    inplace_free = True
    spec: ModelSpec | None = None
    weights_info: WeightsInfo | None = None

    def stamp(self) -> dict:
        """The Trace base fields for a run of this model: its name and weights."""
        return {"model": self.spec.name if self.spec is not None else "", "weights": self.weights_info}
