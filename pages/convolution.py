"""Convolution and pooling playground: a kernel, stride, padding and pooling on a real image, step by step."""
import numpy as np
import pandas as pd
import streamlit as st

from nnviz import ops, plots, ui
from nnviz.inputs import resize, to_gray
from nnviz.models import list_models
from nnviz.plots.conv import SMALL_GRID
from nnviz.types import InputError

WORK_SIDE = 1024  # the convolution runs on at most this longer side: fast on a laptop, more than a projector shows
CHANNELS = {"Grayscale": "gray", "Red": "red", "Green": "green", "Blue": "blue"}

ui.page_setup()


@st.cache_data(show_spinner=False, max_entries=8)
def working_image(input_key: str, channel: str, _rgb: np.ndarray) -> tuple[np.ndarray, str | None]:
    """One channel of the image as float32 in [0, 1], at most WORK_SIDE on its longer side."""
    a = to_gray(_rgb) if channel == "gray" else _rgb[..., ["red", "green", "blue"].index(channel)]
    h, w = a.shape
    if max(h, w) <= WORK_SIDE:
        return np.ascontiguousarray(a, np.float32), None
    s = WORK_SIDE / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.clip(resize(a, size), 0, 1), f"computed on the image downscaled from {w}×{h} to {size[0]}×{size[1]}"


@st.cache_data(show_spinner=False, max_entries=4)
def busiest_spot(input_key: str, _x: np.ndarray, n: int) -> tuple[int, int]:
    """Top-left of an n×n crop around the strongest edge, so the step-through starts somewhere interesting."""
    g = np.abs(np.diff(_x, axis=0))[:, :-1] + np.abs(np.diff(_x, axis=1))[:-1, :]
    h, w = g.shape
    m = 16
    if h > 2 * m and w > 2 * m:
        g = g[m:-m, m:-m]
    else:
        m = 0
    r, c = np.unravel_index(int(np.argmax(g)), g.shape)
    return int(np.clip(r + m - n // 2, 0, _x.shape[0] - n)), int(np.clip(c + m - n // 2, 0, _x.shape[1] - n))


@st.cache_data(show_spinner=False, max_entries=8)
def first_conv(name: str) -> tuple[np.ndarray, str, bool]:
    """The first Conv2d's weights (O, I, kh, kw) of a registered CNN with its default weights."""
    import torch

    model = ui.get_model(name, "default", "default")
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    return conv.weight.detach().cpu().numpy().astype(np.float64), model.weights_info.source, model.weights_info.trained


@st.cache_resource(show_spinner=False, max_entries=6)
def conv_view(input_key: str, channel: str, scale: float, kernel_bytes: bytes, kshape: tuple[int, int],
              stride: int, padding, dilation: int, bias: float, relu: bool, labels: tuple[str, str],
              _x: np.ndarray, crop: tuple[int, int, int]):
    """The output and its input/output figure. Cached: moving the step-through does not redo it."""
    kernel = np.frombuffer(kernel_bytes, np.float64).reshape(kshape)
    out = ops.conv2d(_x * np.float32(scale), kernel, stride, padding, dilation, bias, relu)
    fig = plots.conv_input_output(_x * np.float32(scale), out, labels[0], labels[1], channel, (0.0, scale),
                                  crop_box=crop)
    return out, fig


def stepper(key: str, n: int, shape: tuple[int, int], label: str) -> int:
    """Prev / Next buttons and a slider over n positions in reading order; returns the position."""
    if n <= 1:
        st.caption("There is only one output position here.")
        return 0
    st.session_state[key] = int(min(max(st.session_state.get(key, 0), 0), n - 1))

    def move(d: int) -> None:
        st.session_state[key] = int(min(max(st.session_state[key] + d, 0), n - 1))

    b1, b2, s = st.columns([1, 1, 8], vertical_alignment="bottom")
    b1.button("◀ Prev", key=f"{key}_prev", on_click=move, args=(-1,), width="stretch",
              disabled=st.session_state[key] == 0)
    b2.button("Next ▶", key=f"{key}_next", on_click=move, args=(1,), width="stretch",
              disabled=st.session_state[key] == n - 1)
    s.slider(f"{label} (reading order, {shape[0]} rows × {shape[1]} columns)", 0, n - 1, key=key)
    return st.session_state[key]


def grid_frame(a: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame([[ops.fmt(v) for v in row] for row in a], columns=[f"c{j + 1}" for j in range(a.shape[1])])


def edit_grid(a: np.ndarray, key: str) -> pd.DataFrame:
    cols = {f"c{j + 1}": st.column_config.TextColumn(f"{j + 1}", width="small") for j in range(a.shape[1])}
    return st.data_editor(grid_frame(a), key=key, hide_index=True, num_rows="fixed", column_config=cols)


st.title("Convolution playground")
st.caption("A kernel slides over the image; each output pixel is the sum of the kernel times the pixels under it "
           "(plus a bias). Everything below is computed by hand in numpy and equals PyTorch's conv2d and pooling.")

col_in, col_k, col_h = st.columns([1.1, 1.3, 1], gap="large")

# --- 1. input ---------------------------------------------------------------------------------------
with col_in:
    st.subheader("Input")
    got = ui.image_input(digit_model=False, key="conv_img", allow_shared=True)
    if got is None:
        st.stop()
    img, input_key = got
    channel_name = st.radio("Channel", list(CHANNELS), horizontal=True, key="conv_channel")
    channel = CHANNELS[channel_name]
    scale_name = st.radio("Pixel values", ["0 to 1", "0 to 255"], horizontal=True, key="conv_scale",
                          help="0 to 255 gives whole numbers in the step-through, as in hand calculations.")
    scale = 255.0 if scale_name == "0 to 255" else 1.0
    x, work_note = working_image(input_key, channel, img.rgb)
    for n in img.notes + ([work_note] if work_note else []):
        st.caption(f"ℹ️ {n}")

# --- 2. kernel --------------------------------------------------------------------------------------
kernel = None
with col_k:
    st.subheader("Kernel")
    ksrc = st.radio("Kernel from", ["Preset", "Your own grid", "Learned filter"], horizontal=True, key="conv_ksrc")
    ktitle = ""
    if ksrc == "Preset":
        pname = st.selectbox("Preset", list(ops.PRESETS), index=1, key="conv_preset")
        preset = ops.PRESETS[pname]
        kernel, ktitle = preset.weights, pname
        st.caption(preset.meaning)
    elif ksrc == "Your own grid":
        a, b = st.columns(2)
        ksize = a.radio("Size", [3, 5], horizontal=True, format_func=lambda k: f"{k}×{k}", key="conv_ksize")
        start = b.selectbox("Start from", list(ops.PRESETS), index=1, key="conv_kstart")
        seed = np.zeros((ksize, ksize))
        o = (ksize - 3) // 2
        seed[o : o + 3, o : o + 3] = ops.PRESETS[start].weights
        st.caption("Type numbers (fractions like 1/9 work); the page updates when you leave a cell.")
        grid = edit_grid(seed, key=f"conv_grid_{ksize}_{start}")
        try:
            kernel, ktitle = ops.parse_kernel(grid), "your kernel"
        except InputError as e:
            st.error(str(e))
    else:
        cnns = list_models("cnn")
        mname = st.selectbox("Model", cnns, index=cnns.index("lenet5") if "lenet5" in cnns else 0, key="conv_model")
        try:
            with st.spinner(f"Loading {mname}..."):
                wts, source, trained = first_conv(mname)
        except Exception as e:  # a model that cannot be loaded must not take the page down
            st.error(f"Could not load {mname}'s first layer: {e}")
            wts = None
        if wts is not None:
            o, i_ch, kh_, kw_ = wts.shape
            f = st.slider(f"Filter (of {o} in the first layer)", 0, o - 1, 0, key=f"conv_filter_{mname}")
            w = wts[f]
            if i_ch == 1:
                kernel, how = w[0], "one input channel"
            elif channel == "gray":
                kernel, how = w.sum(0), "red + green + blue slices added: what it does to a grey image"
            else:
                kernel, how = w[["red", "green", "blue"].index(channel)], f"its {channel} slice"
            ktitle = f"{mname} filter {f} ({kh_}×{kw_})"
            if trained:
                st.caption(f"Learned weights: {source}. Kernel = {how}. The network saw normalised pixels; "
                           "here it runs on raw ones, so only the pattern, not the scale, carries over.")
            else:
                st.warning(f"**Untrained**: {mname} has {source}, so this filter is random numbers, not a learned "
                           "pattern. lenet5 ships trained weights.")
                st.caption(f"Kernel = {how}.")
            with st.expander(f"All {o} first-layer filters"):
                st.plotly_chart(plots.filter_grid(wts.astype(np.float32), f"{mname}: first layer"),
                                width="stretch", key="conv_allfilters")
    if kernel is not None:
        st.plotly_chart(plots.kernel_figure(kernel, ktitle, height=260 if kernel.shape[0] <= 5 else 360),
                        width="stretch", key="conv_kernel_fig")

# --- 3. hyper-parameters -----------------------------------------------------------------------------
with col_h:
    st.subheader("Settings")
    stride = st.slider("Stride", 1, 4, 1, key="conv_stride")
    pad_opt = st.select_slider("Padding", ["0", "1", "2", "3", "same"], value="0", key="conv_pad",
                               help="Zeros added around the border. 'same' pads so that stride 1 keeps the size.")
    padding = pad_opt if pad_opt == "same" else int(pad_opt)
    dilation = st.slider("Dilation", 1, 3, 1, key="conv_dilation", help="Spacing between the kernel's taps.")
    bias = st.number_input("Bias", -1000.0, 1000.0, 0.0, 0.1, key="conv_bias", format="%g")
    relu = st.toggle("ReLU after (negatives → 0)", key="conv_relu")

if kernel is None:
    st.info("Choose a kernel to see the convolution.")
    st.stop()

H, W = x.shape
kh, kw = kernel.shape
sh, sw = ops.conv_output_size(H, W, kh, kw, stride, padding, dilation)

st.divider()
st.markdown(f"#### Output size = {sh.symbolic.replace('H', 'input')}")
def _size_line(axis: ops.AxisSize) -> str:
    # A size of 0 or less means the (dilated) kernel does not fit: say so instead of "= -8".
    if axis.value > 0:
        return axis.formula
    return axis.formula.rsplit("=", 1)[0] + "= <b>nothing</b>: the kernel does not fit"


st.markdown(
    f"<div style='font-size:1.35rem; line-height:1.9'>height: {_size_line(sh)}<br>width: &nbsp;{_size_line(sw)}</div>",
    unsafe_allow_html=True)
pads = ops.pad_amounts(H, kh, stride, padding, dilation) + ops.pad_amounts(W, kw, stride, padding, dilation)
st.caption(f"input {H}×{W}, kernel k = {kh}, stride s = {stride}, dilation d = {dilation}, padding p = "
           + (f"{pads[0]}" if len(set(pads)) == 1 else f"{pads[0]} top, {pads[1]} bottom, {pads[2]} left, {pads[3]} right")
           + (" ('same': keeps ⌈size / stride⌉)" if padding == "same" else ""))

# the step-through crop (chosen below, drawn on the input above)
n_crop = st.session_state.get("conv_crop", 8)
n_crop = min(n_crop, H, W)
top0, left0 = busiest_spot(input_key + channel, x, n_crop)
top_key, left_key = f"conv_top_{input_key}", f"conv_left_{input_key}"
st.session_state[top_key] = int(min(st.session_state.get(top_key, top0), H - n_crop))
st.session_state[left_key] = int(min(st.session_state.get(left_key, left0), W - n_crop))
top, left = st.session_state[top_key], st.session_state[left_key]

out = None
try:
    in_label = f"input: {channel_name.lower()}" + (" channel" if channel != "gray" else "")
    out_label = f"output: {ktitle}" + (" + ReLU" if relu else "")
    out, io_fig = conv_view(input_key, channel, scale, np.ascontiguousarray(kernel, np.float64).tobytes(),
                            kernel.shape, stride, padding, dilation, float(bias), relu, (in_label, out_label), x,
                            (top, left, n_crop))
except InputError as e:
    st.error(str(e))
if out is not None:
    if stride > min(H, W):
        st.info(f"The stride ({stride}) is larger than the image, so only one window fits per row and column.")
    st.plotly_chart(io_fig, width="stretch", key="conv_io")
    st.caption("Output colours: white is exactly 0, red positive, blue negative, on a scale symmetric around 0. "
               f"The orange square on the input is the {n_crop}×{n_crop} crop stepped through below.")

# --- 4. step-through ----------------------------------------------------------------------------------
st.divider()
st.subheader("Step through one window")
c1, c2, c3 = st.columns(3)
n_crop = c1.slider("Crop size", 6, 10, 8, key="conv_crop", help="A small piece of the image, so every number is readable.")
n_crop = min(n_crop, H, W)
if H > n_crop:
    top = c2.slider("Crop top row", 0, H - n_crop, key=top_key)
if W > n_crop:
    left = c3.slider("Crop left column", 0, W - n_crop, key=left_key)
top, left = min(top, H - n_crop), min(left, W - n_crop)
crop = x[top : top + n_crop, left : left + n_crop].astype(np.float64) * scale
try:
    crop_out = ops.conv2d(crop, kernel, stride, padding, dilation, bias, relu)
except InputError as e:
    st.info(f"Step-through: {e}")
    crop_out = None
if crop_out is not None:
    oh, ow = crop_out.shape
    pos = stepper("conv_pos", oh * ow, (oh, ow), "Output position")
    i, j = divmod(pos, ow)
    step = ops.conv_step(crop, kernel, i, j, stride, padding, dilation, bias, relu)
    padded, mask, _ = ops.pad_image(crop, kh, kw, stride, padding, dilation)
    st.plotly_chart(
        plots.conv_step_figure(padded, mask, kernel, step, crop_out, relu, (0.0, scale),
                               title=f"Crop rows {top}–{top + n_crop - 1}, columns {left}–{left + n_crop - 1}: "
                                     f"output cell ({i}, {j})"),
        width="stretch", key="conv_step")

# --- 5. pooling ---------------------------------------------------------------------------------------
st.divider()
st.subheader("Pooling")
p1, p2, p3 = st.columns([1.4, 1, 1])
sources = ["Lecture example (4×4)", "The image", "The convolution output"]
psrc = p1.radio("Pool what", sources, horizontal=True, key="pool_src")
window = p2.slider("Window", 2, 4, 2, key="pool_window")
pstride = p3.slider("Stride", 1, 4, 2, key="pool_stride", help="Stride = window: the windows tile without overlap.")

pcol_a, pcol_b = st.columns([1, 1.4], gap="large")
if psrc == sources[0]:
    with pcol_a:
        st.caption("The classic example: 2×2 windows, stride 2, give [[6, 8], [3, 4]]. "
                   "Edit the numbers to match your slides.")
        try:
            px = ops.parse_grid(edit_grid(ops.LECTURE_POOL_EXAMPLE, "pool_matrix"), "matrix")
        except InputError as e:
            st.error(str(e))
            st.stop()
    p_label = "the 4×4 example"
elif psrc == sources[1]:
    px, p_label = x.astype(np.float64) * scale, f"the image ({channel_name.lower()})"
else:
    if out is None:
        st.info("The convolution above has no output yet, so there is nothing to pool: fix its settings first.")
        st.stop()
    px, p_label = out, "the convolution output"

ph, pw = ops.pool_output_size(*px.shape, window, pstride)
pcol_b.markdown(f"<div style='font-size:1.35rem; line-height:1.9'>pooled size = {ph.symbolic.replace('H', 'input')}<br>"
            f"height: {ph.formula}<br>width: &nbsp;{pw.formula}</div>", unsafe_allow_html=True)
try:
    mx, winners = ops.max_pool2d(px, window, pstride)
    av = ops.avg_pool2d(px, window, pstride)
except InputError as e:
    st.error(str(e))
    st.stop()
st.plotly_chart(plots.pool_views(px, mx, av, winners, window, pstride,
                                 f"{window}×{window} pooling, stride {pstride}, on {p_label}"),
                width="stretch", key="pool_fig")

# step-through: the lecture matrix itself, or the same crop region as above
if max(px.shape) <= SMALL_GRID:
    pcrop, where = px, ""
else:
    f = px.shape[0] / H
    pn = min(n_crop, *px.shape)
    pt = int(min(round(top * f), px.shape[0] - pn))
    pl = int(min(round(left * f), px.shape[1] - pn))
    pcrop, where = px[pt : pt + pn, pl : pl + pn], f" (rows {pt}–{pt + pn - 1}, columns {pl}–{pl + pn - 1}: the crop above)"
try:
    cmx, _ = ops.max_pool2d(pcrop, window, pstride)
    cav = ops.avg_pool2d(pcrop, window, pstride)
except InputError as e:
    st.info(f"Step-through: {e}")
else:
    poh, pow_ = cmx.shape
    ppos = stepper("pool_pos", poh * pow_, (poh, pow_), "Pooling window")
    pi, pj = divmod(ppos, pow_)
    pstep = ops.pool_step(pcrop, window, pi, pj, pstride)
    st.plotly_chart(plots.pool_step_figure(pcrop, pstep, cmx, cav, f"One pooling window{where}"),
                    width="stretch", key="pool_step")
