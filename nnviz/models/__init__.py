"""Architectures as data, plus the registry that lists them.

Importing this package imports every model module, so the registry is complete: adding a model
is one new module here and one line below.
"""
from .registry import get_spec, list_models, load_model, register

from . import cnn, recurrent, bert, gpt, seq2seq, forecasters, sentiment, classifier  # noqa: E402,F401  (each registers its models)

__all__ = ["get_spec", "list_models", "load_model", "register"]
