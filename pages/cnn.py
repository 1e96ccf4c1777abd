"""CNN explorer: a real CNN on the user's image; every feature map, pooling step, filter and prediction.

Every view-defining widget is part of the scene (ui.scene): in the URL and kept for the session.
"""
import numpy as np
import streamlit as st

from nnviz import analysis, plots, ui
from nnviz.types import InputError
from nnviz.ui.export import chart, pack_button

PAGE = 64  # channels per mosaic page

present = ui.page_setup()
pack_button("CNN explorer")

st.title("CNN explorer")
name = ui.model_picker("cnn")
weights_key, weights = ui.weights_picker(name)
model = ui.load_or_report(name, weights_key, weights)
if model is None:
    st.stop()
spec = model.spec
ui.weights_badge(model)

if present:  # one row of controls, the chosen layer's feature maps across the screen; the rest folded below
    controls = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
    hero = st.container()
    left, right = st.expander("Input and prediction").columns([1, 2], gap="large")
else:
    controls = hero = st.container()
    left, right = st.columns([1, 2], gap="large")
with left:
    got = ui.image_input(digit_model=spec.preprocess.digit, allow_shared=True)
if got is None:
    st.stop()
img, input_key = got
try:
    with st.spinner(f"Running {name}..."):
        trace = ui.get_trace(name, weights_key, input_key, model, img)
except InputError as e:  # e.g. no ink found in a drawing
    st.error(str(e))
    st.stop()
shown = trace.image

with left:
    for n in trace.notes:
        st.caption(f"ℹ️ {n}")
    chart(plots.rgb_image(shown, f"What {name} sees ({shown.shape[1]}×{shown.shape[0]})", 300),
          width="stretch", key="seen")
    with st.expander("Preprocessing steps"):
        st.markdown("\n".join(f"{i}. {s}" for i, s in enumerate(spec.preprocess.steps(), 1)))

with right:
    probs = trace.probs
    title = "Top-5 predictions" + ("" if model.weights_info.trained else " (untrained: meaningless)")
    chart(plots.top_k_bar(probs, spec.labels, 5, title), width="stretch", key="top5")

# --- architecture and layer choice ---------------------------------------------------------------
layers = [(n, a.module_type, a.shape) for n, a in trace.activations.items()]
names = [n for n, _, _ in layers]
if st.session_state.get("layer", names[0]) not in names:  # another model's layer
    del st.session_state["layer"]
first_conv = next((i for i, (_, t, _) in enumerate(layers) if t == "Conv2d"), 0)
layer_row = st.container(horizontal=True, vertical_alignment="bottom", gap="small") if not present else controls
layer = ui.scene(layer_row.selectbox, "Layer", names, index=first_conv, key="layer")
ui.step_buttons("layer", names, layer_row, what="layer")
act = trace[layer]
arch = st.expander("Architecture") if present else st.container()
chart(plots.architecture_strip(layers, layer), width="stretch", key="arch", where=arch)
arch.caption(f"**{layer}**: {act.module_type}, output {' × '.join(map(str, act.shape))}. Each bar is a layer's output size (log scale): blue convolution, light blue ReLU, orange pooling, "
           "purple residual block, grey batch norm / shortcut, green fully connected. Red outline: the chosen layer.")


def picked_channel(event) -> int | None:
    """The channel a click on the mosaic chose, once per new click (the selection outlives reruns)."""
    pts = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else \
        getattr(getattr(event, "selection", None), "points", [])
    picked = pts[0].get("customdata") if pts else None
    picked = picked[0] if isinstance(picked, list) else picked
    if picked is None or st.session_state.get("mosaic_seen") == (layer, picked):
        return None
    st.session_state["mosaic_seen"] = (layer, picked)
    return int(picked)


def maps_tab() -> None:
    if act.output.ndim != 3:
        final = act.output.shape == trace.output.shape and np.array_equal(act.output, trace.output)
        st.info(f"{layer} outputs a vector of {act.output.size} values (no spatial map); its largest values"
                + (": the classes' logits, before the softmax turns them into the probabilities above." if final else ":"))
        chart(plots.top_k_bar(act.output, spec.labels if final else None, min(20, act.output.size),
                              f"{layer}: " + ("top classes" if final else "top units"),
                              "logit" if final else "activation"), width="stretch", key="vec")
        return
    c, h, w = act.output.shape
    a, b, d = (controls,) * 3 if present else st.columns(3)
    sort = ui.scene(a.selectbox, "Order channels by", ["index", "mean", "max"], key="sort")
    scale = ui.scene(b.radio, "Colour scale", ["per channel", "shared"], horizontal=True, key="scale")
    pages = max(1, -(-c // PAGE))
    ui.clamp_state("page", 1, pages, 1)
    page = ui.scene(d.number_input, f"Page (of {pages})", 1, pages, key="page") if pages > 1 else 1
    order = plots.channel_order(act.output, sort)
    shown_ch = order[(page - 1) * PAGE : page * PAGE]
    fig = plots.feature_mosaic(act.output, shown_ch, scale == "per channel",
                               f"{layer}: channels {len(shown_ch)} of {c}, each {h}×{w} (click one)", 560 if present else 640)
    event = chart(fig, width="stretch", key="mosaic", on_select="rerun", selection_mode="points", where=hero)
    picked = picked_channel(event)
    view = (layer, sort, page)
    if picked is not None:
        st.session_state["channel"] = picked
    elif st.session_state.get("channel_for", view) != view:  # a new order or page opens its first channel
        st.session_state["channel"] = int(shown_ch[0])
    st.session_state["channel_for"] = view
    ui.clamp_state("channel", 0, c - 1, int(shown_ch[0]))
    channel_detail(act.output, layer, shown)


@st.fragment  # a channel or overlay change redraws only this: the mosaic above is not re-sent
def channel_detail(maps: np.ndarray, layer: str, image: np.ndarray) -> None:
    c, h, w = maps.shape
    ui.clamp_state("channel", 0, c - 1, 0)
    ch = ui.scene(st.number_input, "Channel", 0, c - 1, key="channel")
    if ui.scene(st.toggle, "Overlay on the input", key="overlay"):
        chart(plots.overlay(image, maps[ch], title=f"{layer}, channel {ch} over the input"),
              width="stretch", key="big")
    else:
        chart(plots.heatmap(maps[ch], f"{layer}, channel {ch} ({h}×{w})", 520, "activation"),
              width="stretch", key="big")


def pool_tab() -> None:
    pools = [n for n, t, _ in layers if "Pool" in t and trace[n].input is not None and trace[n].input.ndim == 3]
    if not pools:
        st.info("This model has no pooling layers with spatial input.")
        return
    if st.session_state.get("pool", pools[0]) not in pools:  # another model's layer
        del st.session_state["pool"]
    pool = ui.scene(st.selectbox, "Pooling layer", pools, index=pools.index(layer) if layer in pools else 0, key="pool")
    p = trace[pool]
    ui.clamp_state("pool_ch", 0, p.output.shape[0] - 1, 0)
    pch = ui.scene(st.slider, "Channel", 0, p.output.shape[0] - 1, key="pool_ch")
    chart(
        plots.side_by_side([("before pooling", p.input[pch]), (f"after {p.module_type}", p.output[pch])],
                 f"{pool}, channel {pch}"),
        width="stretch", key="poolfig",
    )
    st.caption(f"Shape {p.input.shape} → {p.output.shape} (channels × height × width): "
               "each output cell summarises a window of the input.")


def filters_tab() -> None:
    wts = ui.first_filters(name, weights_key, model)
    kind = "RGB: red, green and blue weights as colour (grey = 0)" if wts.shape[1] == 3 else "weights, blue < 0 < red"
    chart(plots.filter_grid(wts, f"First convolution: {wts.shape[0]} kernels of "
                                 f"{wts.shape[2]}×{wts.shape[3]} ({kind})"),
          width="stretch", key="filters")


def residual_tab() -> None:
    blocks = plots.cnn.residual_blocks(trace)  # ResNet's BasicBlocks, MobileNetV2's blocks with a shortcut
    if not blocks:
        st.info("Residual blocks belong to ResNet and MobileNetV2: pick one of them in the sidebar.")
        return
    if st.session_state.get("block", blocks[0]) not in blocks:
        del st.session_state["block"]
    blk = ui.scene(st.selectbox, "Block", blocks, index=blocks.index(layer) if layer in blocks else 0, key="block")
    panels = plots.cnn.residual_panels(trace, blk)  # [(title, (C, H, W))]: shortcut x, F(x), F(x) + x[, ReLU]
    ui.clamp_state("res_ch", 0, panels[1][1].shape[0] - 1, 0)
    rch = ui.scene(st.slider, "Channel", 0, panels[1][1].shape[0] - 1, key="res_ch")
    chart(plots.side_by_side([(t, p[rch]) for t, p in panels], f"{blk}, channel {rch}", 380),
          width="stretch", key="resfig")
    if trace[blk].module_type == "InvertedResidual":
        st.caption("F(x) is 1×1 expand → 3×3 depthwise (one kernel per channel) → 1×1 project, and the shortcut "
                   "carries x through unchanged. No ReLU follows the sum (a linear bottleneck). Blocks that "
                   "downsample or change width have no shortcut.")
        return
    st.caption("The block learns only the change F(x); the shortcut carries x through unchanged"
               + (" (a 1×1 convolution matches the shape here)." if f"{blk}.downsample" in trace else "."))


def why_tab() -> None:
    head = ui.linear_head(name, weights_key, model)
    pool = next((n for n, t, _ in layers if t == "AdaptiveAvgPool2d"), None)
    if head is None or pool is None or trace[pool].input is None or trace[pool].input.ndim != 3:
        st.info("This view needs a head that averages the last feature maps and applies one linear layer "
                "(ResNet, MobileNetV2): pick one of them in the sidebar.")
        return
    maps = trace[pool].input  # (C, H, W): what the average pooling reads
    options = [spec.labels[k] for k in np.argsort(-trace.output)[:5]]
    if st.session_state.get("why_class", options[0]) not in options:  # another image's top five
        del st.session_state["why_class"]
    label = ui.scene(st.radio, "Class (the top five)", options, horizontal=True, key="why_class")
    k = spec.labels.index(label)
    ev = analysis.cnn.class_evidence(maps, *head, k)
    parts, rest, bias, logit = analysis.cnn.shown_parts(ev)
    left, right = st.columns([3, 2], gap="medium")
    chart(plots.class_evidence_bar([int(c) for c in ev.channels], parts, rest, bias, logit, maps.shape[0], label),
          width="stretch", key="why_bar", where=left)
    chart(plots.overlay(shown, ev.cam, title=f"Evidence for '{label}'", colorbar_title="logit units", height=300),
          width="stretch", key="why_cam", where=right)
    right.caption(f"Each cell of the {maps.shape[1]}×{maps.shape[2]} grid: Σ_c W[k, c]·A_c, stretched over the "
                  "image. Its average over the grid plus the bias is the logit.")
    st.caption(f"The head averages each of the {maps.shape[0]} maps of **{pool}**'s input to one number and "
               f"multiplies by a learned weight per class, so the logit of '{label}' ({logit:.2f}, probability "
               f"{trace.probs[k]:.1%}) is exactly the sum of one term per channel plus a bias."
               + ("" if model.weights_info.trained else " Untrained weights: the evidence is meaningless."))
    chart(plots.feature_mosaic(maps, [int(c) for c in ev.channels], True,
                               f"The {len(ev.channels)} channels that add most to '{label}'", 300),
          width="stretch", key="why_maps")


def compare_tab() -> None:
    if act.output.ndim != 3:
        st.info(f"{layer} outputs a vector: pick a convolution or pooling layer to compare feature maps.")
        return
    # off until asked for: every tab runs on every rerun, and a second image means a second model run
    if not ui.scene(st.toggle, f"Compare {layer} on a second image, on one colour scale", key="cmp"):
        st.caption("Equal colours will mean equal values in both images.")
        return
    samples = ui.sample_files("digit" if spec.preprocess.digit else "photo")
    if len(samples) > 1:  # a different sample from the first image's default
        st.session_state.setdefault("img2_sample", samples[1].name)
    with st.expander("Second image", expanded=True):
        got2 = ui.image_input(digit_model=spec.preprocess.digit, key="img2", offer=False)
    if got2 is None:
        return
    tr2 = ui.get_trace(name, weights_key, got2[1], model, got2[0])
    a, b = act.output, tr2[layer].output  # (C, H, W) each
    per_channel = st.session_state.get("scale", "per channel") == "per channel"  # the Feature maps tab's choice
    order = plots.channel_order(a, st.session_state.get("sort", "index"))[:16]  # the first 16 in its order
    limits = plots.cnn.comparison_limits(a, b, per_channel)
    left, right = st.columns(2, gap="medium")
    for col, maps, img, who, k in ((left, a, shown, "This image", "cmp_a"), (right, b, tr2.image, "Second image", "cmp_b")):
        col.image(img, width=160)
        chart(plots.feature_mosaic(maps, order, per_channel, f"{who}: {len(order)} channels", 380, limits=limits),
              width="stretch", key=k, where=col)
    st.caption(f"{layer}, channels {', '.join(map(str, order))} (the Feature maps tab's order), "
               + ("each channel scaled by its lowest and highest value over both images."
                  if per_channel else "one scale for every channel of both images."))


for tab, view in zip(st.tabs(["Feature maps", "Pooling", "Filters", "Residual block", "Why this class",
                              "Compare two images"]),
                     (maps_tab, pool_tab, filters_tab, residual_tab, why_tab, compare_tab)):
    with tab:
        view()
