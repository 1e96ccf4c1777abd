"""nnviz: watch real neural networks run, layer by layer.

Notebook use, no Streamlit needed:

    import nnviz
    nnviz.list_models("cnn")
    model = nnviz.load_model("lenet5")
    trace = nnviz.capture(model, x)          # x: a (1, C, H, W) tensor
    fig = nnviz.plots.feature_mosaic(trace["features.0"].output)
"""
from . import plots
from .capture import capture
from .models import get_spec, list_models, load_model
from .types import Activation, InputError, ModelSpec, Trace, WeightsError, WeightsInfo

__all__ = [
    "Activation", "InputError", "ModelSpec", "Trace", "WeightsError", "WeightsInfo",
    "capture", "get_spec", "list_models", "load_model", "plots",
]
