"""Widgets of the convolution playground: a step-through control, editable number grids, a
learned-filter picker. Layout only; the arithmetic is in nnviz.ops."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from .. import ops, plots
from ..models import list_models
from . import clamp_state, first_filters, get_model, scene, step_buttons
from .export import chart


def stepper(key: str, n: int, shape: tuple[int, int], label: str,
            shortcuts: tuple[str, str] = ("Left", "Right")) -> int:
    """Prev / Next buttons (also on the keyboard) and a slider over n positions in reading order
    (in the scene); returns the position."""
    if n <= 1:
        st.caption("There is only one output position here.")
        return 0
    clamp_state(key, 0, n - 1, 0)
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    step_buttons(key, list(range(n)), row, shortcuts, label.lower())
    return scene(row.slider, f"{label} (reading order, {shape[0]} rows × {shape[1]} columns)", 0, n - 1, key=key)


def edit_grid(a: np.ndarray, key: str) -> pd.DataFrame:
    """An editable table of numbers (kept in the session by the editor itself, not in the URL)."""
    frame = pd.DataFrame([[ops.fmt(v) for v in row] for row in a], columns=[f"c{j + 1}" for j in range(a.shape[1])])
    # 0-based headers, like every row, column and cell number elsewhere on the page
    cols = {f"c{j + 1}": st.column_config.TextColumn(f"{j}", width="small") for j in range(a.shape[1])}
    return st.data_editor(frame, key=key, hide_index=True, num_rows="fixed", column_config=cols)


def learned_kernel(channel: str) -> tuple[np.ndarray | None, str]:
    """A first-layer filter of a registered CNN, as a 2-D kernel for one image channel.
    Returns (kernel or None after a message, its title)."""
    mname = scene(st.selectbox, "Model", list_models(trace="features"), key="conv_model")
    try:
        with st.spinner(f"Loading {mname}..."):
            model = get_model(mname, "default", "default")
            wts = first_filters(mname, "default", model)  # (O, I, kh, kw)
    except Exception as e:  # a model that cannot be loaded must not take the page down
        st.error(f"Could not load {mname}'s first layer: {e}")
        return None, ""
    o, i_ch, kh, kw = wts.shape
    clamp_state("conv_filter", 0, o - 1, 0)
    f = scene(st.slider, f"Filter (of {o} in the first layer)", 0, o - 1, key="conv_filter")
    if i_ch == 1:
        kernel, how = wts[f, 0], "one input channel"
    elif channel == "gray":
        kernel, how = wts[f].sum(0), "red + green + blue slices added: what it does to a grey image"
    else:
        kernel, how = wts[f, ["red", "green", "blue"].index(channel)], f"its {channel} slice"
    info = model.weights_info
    if info.trained:
        st.caption(f"Learned weights: {info.source}. Kernel = {how}. The network saw normalised pixels; "
                   "here it runs on raw ones, so only the pattern, not the scale, carries over.")
    else:
        st.warning(f"**Untrained**: {mname} has {info.source}, so this filter is random numbers, not a learned "
                   "pattern. Models with shipped weights show learned filters.")
        st.caption(f"Kernel = {how}.")
    with st.expander(f"All {o} first-layer filters"):
        chart(plots.filter_grid(wts.astype(np.float32), f"{mname}: first layer"),
              width="stretch", key="conv_allfilters")
    return kernel, f"{mname} filter {f} ({kh}×{kw})"
