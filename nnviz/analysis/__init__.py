"""Analyses of traces: plain numpy in, plain numpy out. No torch, no streamlit, no model calls.

- `text`: patterns a recurrent unit might track in a text, "find units", thinning, bits per char
- `series`: forecast errors and baselines, x-axis labels past the end
- `attention`: head averages, rollout, top-k thinning, head descriptions, word in context
- `cnn`: which channels make a CNN choose a class (per-channel logit terms, class activation map)
"""
from . import attention, cnn, series, text
from .series import extend_index, naive_rmse, rmse
from .text import (PATTERN_RULES, PATTERNS, UnitScore, patterns_for, text_kind, bits_per_char, bracket_depth, correlations, find_units, inside_quotes, line_position,
                   thin, word_start)

__all__ = [
    "PATTERN_RULES", "PATTERNS", "UnitScore", "patterns_for", "text_kind", "attention", "cnn", "bits_per_char", "bracket_depth", "correlations", "extend_index", "find_units",
    "inside_quotes", "line_position", "naive_rmse", "rmse", "series", "text", "thin", "word_start",
]
