"""Architectures as data, plus the registry that lists them."""
from .registry import get_spec, list_models, load_model, register

__all__ = ["get_spec", "list_models", "load_model", "register"]
