"""Convolution and pooling playground: a kernel, stride, padding and pooling on a real image, step by step."""
import numpy as np
import streamlit as st

from nnviz import ops, plots, ui
from nnviz.inputs import image_channel
from nnviz.plots.conv import SMALL_GRID
from nnviz.types import InputError
from nnviz.ui.conv import edit_grid, learned_kernel, stepper
from nnviz.ui.export import chart, pack_button

WORK_SIDE = 1024  # the convolution runs on at most this longer side: fast on a laptop, more than a projector shows
CHANNELS = {"Grayscale": "gray", "Red": "red", "Green": "green", "Blue": "blue"}
IO_NOTE = ("Output colours: white is exactly 0, red positive, blue negative, on a scale symmetric around 0.<br>"
           "The orange box on the input is the part the step-through below reads.")

present = ui.page_setup()
pack_button("Convolution playground")


@st.cache_data(show_spinner=False, max_entries=8)
def working_image(input_key: str, channel: str, _rgb: np.ndarray) -> tuple[np.ndarray, str | None]:
    return image_channel(_rgb, channel, WORK_SIDE)


@st.cache_data(show_spinner=False, max_entries=4)
def busiest_spot(input_key: str, _x: np.ndarray, n: int) -> tuple[int, int]:
    return ops.busiest_spot(_x, n)


@st.cache_resource(show_spinner=False, max_entries=6)
def conv_view(input_key: str, channel: str, scale: float, kernel_bytes: bytes, kshape: tuple[int, int],
              stride: int, padding, dilation: int, bias: float, relu: bool, labels: tuple[str, str],
              _x: np.ndarray, crop: tuple[int, int, int, int], width: int):
    """The output and its input/output figure. Cached: moving the step-through does not redo it."""
    kernel = np.frombuffer(kernel_bytes, np.float64).reshape(kshape)
    out = ops.conv2d(_x, kernel, stride, padding, dilation, bias, relu)
    fig = plots.conv_input_output(_x, out, labels[0], labels[1], channel, (0.0, scale), crop_box=crop, width_px=width,
                                  note=IO_NOTE)
    return out, fig


st.title("Convolution playground")
if present:  # one row of settings, then the input/output figure across the screen; kernel and input folded
    col_h = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
    hero = st.container()
    col_k, col_in = st.expander("Kernel"), st.expander("Input image and channel")
else:
    st.caption("A kernel slides over the image; each output pixel is the sum of the kernel times the pixels under "
               "it (plus a bias). Everything below is computed by hand in numpy and equals PyTorch's conv2d and pooling.")
    col_in, col_k, col_h = st.columns([1.1, 1.3, 1], gap="large")
    hero = st.container()

# --- 1. input ---------------------------------------------------------------------------------------
with col_in:
    if not present:  # the expander or the row says it
        st.subheader("Input")
    got = ui.image_input(digit_model=False, key="conv_img", allow_shared=True)
    if got is None:
        st.stop()
    img, input_key = got
    channel_name = ui.scene(st.radio, "Channel", list(CHANNELS), horizontal=True, key="conv_channel")
    channel = CHANNELS[channel_name]
    scale_name = ui.scene(st.radio, "Pixel values", ["0 to 1", "0 to 255"], horizontal=True, key="conv_scale",
                          help="0 to 255 gives whole numbers in the step-through, as in hand calculations.")
    scale = 255.0 if scale_name == "0 to 255" else 1.0
    x, work_note = working_image(input_key, channel, img.rgb)
    if scale == 255.0:  # whole numbers, as promised: the pixel values of an 8-bit image
        x = np.rint(x * np.float32(255.0))
    for n in img.notes + ([work_note] if work_note else []):
        st.caption(f"ℹ️ {n}")

# --- 2. kernel --------------------------------------------------------------------------------------
kernel = None
with col_k:
    if not present:  # the expander or the row says it
        st.subheader("Kernel")
    ksrc = ui.scene(st.radio, "Kernel from", ["Preset", "Your own grid", "Learned filter"], horizontal=True,
                    key="conv_ksrc")
    ktitle = ""
    if ksrc == "Preset":
        pname = ui.scene(st.selectbox, "Preset", list(ops.PRESETS), index=1, key="conv_preset")
        preset = ops.PRESETS[pname]
        kernel, ktitle = preset.weights, pname
        st.caption(preset.meaning)
    elif ksrc == "Your own grid":
        a, b = st.columns(2)
        ksize = ui.scene(a.radio, "Size k (k×k)", [3, 5], horizontal=True, key="conv_ksize")
        start = ui.scene(b.selectbox, "Start from", list(ops.PRESETS), index=1, key="conv_kstart")
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
        kernel, ktitle = learned_kernel(channel)
    if kernel is not None:
        chart(plots.kernel_figure(kernel, ktitle, height=260 if kernel.shape[0] <= 5 else 360),
              width="stretch", key="conv_kernel_fig")

# --- 3. hyper-parameters -----------------------------------------------------------------------------
with col_h:
    if not present:  # the expander or the row says it
        st.subheader("Settings")
    stride = ui.scene(st.slider, "Stride", 1, 4, 1, key="conv_stride")
    pad_opt = ui.scene(st.select_slider, "Padding", ["0", "1", "2", "3", "same"], value="0", key="conv_pad",
                       help="Zeros added around the border. 'same' pads so that stride 1 keeps the size.")
    padding = pad_opt if pad_opt == "same" else int(pad_opt)
    dilation = ui.scene(st.slider, "Dilation", 1, 3, 1, key="conv_dilation", help="Spacing between the kernel's taps.")
    bias = ui.scene(st.number_input, "Bias", -1000.0, 1000.0, 0.0, 0.1, key="conv_bias", format="%g")
    relu = ui.scene(st.toggle, "ReLU (negatives → 0)", key="conv_relu")

if kernel is None:
    st.info("Choose a kernel to see the convolution.")
    st.stop()

H, W = x.shape
kh, kw = kernel.shape
sh, sw = ops.conv_output_size(H, W, kh, kw, stride, padding, dilation)

st.divider()
st.markdown(f"#### Output size = {sh.symbolic.replace('H', 'input')}")
st.markdown(
    f"<div style='font-size:1.35rem; line-height:1.9'>height: {ops.size_line(sh)}<br>width: &nbsp;{ops.size_line(sw)}</div>",
    unsafe_allow_html=True)
pads = ops.pad_amounts(H, kh, stride, padding, dilation) + ops.pad_amounts(W, kw, stride, padding, dilation)
st.caption(f"input {H}×{W}, kernel k = {kh}, stride s = {stride}, dilation d = {dilation}, padding p = "
           + (f"{pads[0]}" if len(set(pads)) == 1 else f"{pads[0]} top, {pads[1]} bottom, {pads[2]} left, {pads[3]} right")
           + (" ('same': keeps ⌈size / stride⌉)" if padding == "same" else "")
           + (". PyTorch's conv2d refuses padding='same' with a stride above 1; this is TensorFlow's rule "
              "(the odd pixel of padding goes to the bottom and right)" if padding == "same" and stride > 1 else ""))

# the step-through crop (chosen below, drawn on the input above)
n_crop = st.session_state.get("conv_crop", 8)
n_crop = min(n_crop, H, W)
if st.session_state.get("conv_crop_for") not in (None, input_key + channel):  # a new image: find its busiest spot
    st.session_state.pop("conv_top", None), st.session_state.pop("conv_left", None)
st.session_state["conv_crop_for"] = input_key + channel
top0, left0 = busiest_spot(input_key + channel, x, n_crop)
ui.clamp_state("conv_top", 0, H - n_crop, top0)
ui.clamp_state("conv_left", 0, W - n_crop, left0)
top, left = st.session_state["conv_top"], st.session_state["conv_left"]

out = region = None
try:
    region = ops.step_region(x, kernel, top, left, n_crop, stride, padding, dilation, bias, relu)
    in_label = f"input: {channel_name.lower()}" + (" channel" if channel != "gray" else "")
    out_label = f"output: {ktitle}" + (" + ReLU" if relu else "")
    out, io_fig = conv_view(input_key, channel, scale, np.ascontiguousarray(kernel, np.float64).tobytes(),
                            kernel.shape, stride, padding, dilation, float(bias), relu, (in_label, out_label), x,
                            (*region.image_origin, *region.padded.shape), 1110 if present else 850)
except InputError as e:
    st.error(str(e))
if out is not None:
    if stride > min(H, W):
        st.info(f"The stride ({stride}) is larger than the image, so only one window fits per row and column.")
    chart(io_fig, width="stretch", key="conv_io", where=hero)

# --- 4. step-through ----------------------------------------------------------------------------------
st.divider()
st.subheader("Step through one window")
c1, c2, c3 = st.columns(3)
n_crop = ui.scene(c1.slider, "Crop size", 6, 10, 8, key="conv_crop",
                  help="A small piece of the image, so every number is readable.")
n_crop = min(n_crop, H, W)
if H > n_crop:
    top = ui.scene(c2.slider, "Crop top row", 0, H - n_crop, key="conv_top")
if W > n_crop:
    left = ui.scene(c3.slider, "Crop left column", 0, W - n_crop, key="conv_left")
top, left = min(top, H - n_crop), min(left, W - n_crop)
try:  # the crop's real neighbours, padded only where the image really ends
    region = ops.step_region(x, kernel, top, left, n_crop, stride, padding, dilation, bias, relu)
except InputError as e:
    st.info(f"Step-through: {e}")
    region = None


@st.fragment  # Prev / Next / the arrow keys rerun only this: the image-sized figures above are not re-sent
def conv_step(region, kernel, relu: bool, scale: float) -> None:
    oh, ow = region.out.shape
    pos = stepper("conv_pos", oh * ow, (oh, ow), "Output position")
    i, j = divmod(pos, ow)
    (r0, c0), (ir, ic) = region.origin, region.image_origin
    chart(
        plots.conv_step_figure(region.padded, region.mask, kernel, region.step(kernel, i, j), region.out, relu,
                     (0.0, scale), origin=region.origin,
                     title=f"Input rows {ir}–{ir + region.padded.shape[0] - 1}, columns {ic}–"
                           f"{ic + region.padded.shape[1] - 1}: output cell ({r0 + i}, {c0 + j})"),
        width="stretch", key="conv_step")


if region is not None:
    conv_step(region, kernel, relu, scale)
    (ir, ic), (rh, rw) = region.image_origin, region.padded.shape
    if min(ir, ic) < 0 or ir + rh > H or ic + rw > W:
        st.caption("Rows or columns outside the image (below 0 or past its size) are the padding.")

# --- 5. pooling ---------------------------------------------------------------------------------------
st.divider()
st.subheader("Pooling")
p1, p2, p3 = st.columns([1.4, 1, 1])
sources = ["Lecture example (4×4)", "The image", "The convolution output"]
psrc = ui.scene(p1.radio, "Pool what", sources, horizontal=True, key="pool_src")
window = ui.scene(p2.slider, "Window", 2, 4, 2, key="pool_window")
pstride = ui.scene(p3.slider, "Stride", 1, 4, 2, key="pool_stride", help="Stride = window: the windows tile without overlap.")

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
    px, p_label = x.astype(np.float64), f"the image ({channel_name.lower()})"
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
chart(plots.pool_views(px, mx, av, winners, window, pstride,
                       f"{window}×{window} pooling, stride {pstride}, on {p_label}"),
      width="stretch", key="pool_fig")

@st.fragment  # as conv_step: a window step reruns only this
def pool_step(pcrop, cmx, cav, window: int, pstride: int, where: str) -> None:
    poh, pow_ = cmx.shape
    ppos = stepper("pool_pos", poh * pow_, (poh, pow_), "Pooling window", ("Shift+Left", "Shift+Right"))
    pi, pj = divmod(ppos, pow_)
    pstep = ops.pool_step(pcrop, window, pi, pj, pstride)
    chart(plots.pool_step_figure(pcrop, pstep, cmx, cav, f"One pooling window{where}"),
          width="stretch", key="pool_step")


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
    pool_step(pcrop, cmx, cav, window, pstride, where)
