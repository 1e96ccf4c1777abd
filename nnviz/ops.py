"""Pure numpy helpers for the playgrounds: convolution and pooling by hand, step by step.

Everything here is what a lecturer does on the blackboard, vectorised: `conv2d` equals
`torch.nn.functional.conv2d` (a cross-correlation, like every deep-learning library), `max_pool2d`
and `avg_pool2d` equal their torch namesakes (tests/test_ops.py proves it on a grid of settings).
No streamlit, no torch. Bad user input raises `InputError` with one sentence.
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass

import numpy as np

from .types import InputError

Padding = int | str  # 0, 1, 2, ... or "same"


# --- sizes and padding ----------------------------------------------------------------------------

def span(k: int, dilation: int = 1) -> int:
    """How many input pixels a k-tap kernel covers along one axis: d·(k − 1) + 1."""
    return dilation * (k - 1) + 1


def pad_amounts(n: int, k: int, stride: int, padding: Padding, dilation: int = 1) -> tuple[int, int]:
    """(before, after) padding along one axis of length n.

    "same" keeps ceil(n / stride) outputs (n for stride 1), splitting the needed padding with the
    odd pixel after, as torch (padding="same") and TensorFlow do."""
    if padding == "same":
        out = -(-n // stride)
        total = max((out - 1) * stride + span(k, dilation) - n, 0)
        return total // 2, total - total // 2
    p = int(padding)
    return p, p


@dataclass(frozen=True)
class AxisSize:
    """One output dimension and how it was computed."""

    value: int  # may be <= 0 when the kernel does not fit
    formula: str  # with the numbers plugged in
    symbolic: str  # with letters


def size_line(axis: AxisSize) -> str:
    """The formula of one output dimension for the page; a size of 0 or less means the (dilated)
    kernel does not fit, which is said instead of "= -8"."""
    if axis.value > 0:
        return axis.formula
    return axis.formula.rsplit("=", 1)[0] + "= <b>nothing</b>: the kernel does not fit"


def busiest_spot(x: np.ndarray, n: int, margin: int = 16) -> tuple[int, int]:
    """Top-left corner of an n×n crop of `x` around its strongest edge (largest |dx| + |dy|), away
    from a `margin` border when the image is big enough, so a step-through starts somewhere worth seeing."""
    g = np.abs(np.diff(x, axis=0))[:, :-1] + np.abs(np.diff(x, axis=1))[:-1, :]  # (H-1, W-1)
    h, w = g.shape
    m = margin if h > 2 * margin and w > 2 * margin else 0
    if m:
        g = g[m:-m, m:-m]
    r, c = np.unravel_index(int(np.argmax(g)), g.shape)
    return int(np.clip(r + m - n // 2, 0, x.shape[0] - n)), int(np.clip(c + m - n // 2, 0, x.shape[1] - n))


def axis_size(n: int, k: int, stride: int = 1, pad: tuple[int, int] = (0, 0), dilation: int = 1,
              letter: str = "H") -> AxisSize:
    """floor((n + p_before + p_after − d·(k − 1) − 1) / s) + 1, as text and as a number."""
    pb, pa = pad
    value = (n + pb + pa - span(k, dilation)) // stride + 1
    p_sym, p_num = ("2p", f"2·{pb}") if pb == pa else ("p₁ + p₂", f"{pb} + {pa}")
    symbolic = f"⌊({letter} + {p_sym} − d·(k − 1) − 1) / s⌋ + 1"
    formula = f"⌊({n} + {p_num} − {dilation}·({k} − 1) − 1) / {stride}⌋ + 1 = {value}"
    return AxisSize(value, formula, symbolic)


def conv_output_size(h: int, w: int, kh: int, kw: int, stride: int = 1, padding: Padding = 0,
                     dilation: int = 1) -> tuple[AxisSize, AxisSize]:
    """Output height and width of a convolution, each with its formula."""
    return (axis_size(h, kh, stride, pad_amounts(h, kh, stride, padding, dilation), dilation, "H"),
            axis_size(w, kw, stride, pad_amounts(w, kw, stride, padding, dilation), dilation, "W"))


def pool_output_size(h: int, w: int, window: int, stride: int | None = None,
                     padding: int = 0) -> tuple[AxisSize, AxisSize]:
    """Pooled height and width: floor((n + 2p − k) / s) + 1, each with its formula."""
    s = stride or window

    def one(n: int, letter: str) -> AxisSize:
        value = (n + 2 * padding - window) // s + 1
        if padding:
            return AxisSize(value, f"⌊({n} + 2·{padding} − {window}) / {s}⌋ + 1 = {value}", f"⌊({letter} + 2p − k) / s⌋ + 1")
        return AxisSize(value, f"⌊({n} − {window}) / {s}⌋ + 1 = {value}", f"⌊({letter} − k) / s⌋ + 1")

    return one(h, "H"), one(w, "W")


def _check_hyper(stride: int, dilation: int = 1, padding: Padding = 0) -> None:
    if int(stride) != stride or stride < 1:
        raise InputError(f"The stride must be a whole number of at least 1, not {stride}.")
    if int(dilation) != dilation or dilation < 1:
        raise InputError(f"The dilation must be a whole number of at least 1, not {dilation}.")
    if padding != "same" and (isinstance(padding, str) or int(padding) != padding or padding < 0):
        raise InputError(f"The padding must be a whole number of at least 0 or \"same\", not {padding!r}.")


def _as_image(image: np.ndarray) -> np.ndarray:
    x = np.asarray(image)
    if x.ndim != 2:
        raise InputError(f"Convolution here works on one channel (a 2-D array), not an array of shape {x.shape}.")
    if x.dtype != np.float32:
        x = x.astype(np.float64)
    return x


def pad_image(image: np.ndarray, kh: int, kw: int, stride: int = 1, padding: Padding = 0,
              dilation: int = 1, value: float = 0.0) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
    """(padded image, mask True on padding cells, (top, bottom, left, right))."""
    x = _as_image(image)
    (pt, pb), (pl, pr) = (pad_amounts(x.shape[0], kh, stride, padding, dilation),
                          pad_amounts(x.shape[1], kw, stride, padding, dilation))
    xp = np.pad(x, ((pt, pb), (pl, pr)), constant_values=value)
    mask = np.ones(xp.shape, bool)
    mask[pt : pt + x.shape[0], pl : pl + x.shape[1]] = False
    return xp, mask, (pt, pb, pl, pr)


# --- convolution ----------------------------------------------------------------------------------

def conv2d(image: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: Padding = 0, dilation: int = 1,
           bias: float = 0.0, relu: bool = False) -> np.ndarray:
    """One channel, one kernel: out[i, j] = Σ_ab kernel[a, b] · x_pad[i·s + a·d, j·s + b·d] + bias.

    Vectorised over the output: one strided slice per kernel tap (k² numpy ops, no copies of
    windows), so a 3x3 kernel on 1024x768 takes milliseconds."""
    _check_hyper(stride, dilation, padding)
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim != 2 or k.size == 0:
        raise InputError(f"A kernel is a 2-D grid of numbers, not an array of shape {k.shape}.")
    kh, kw = k.shape
    xp, _, _ = pad_image(image, kh, kw, stride, padding, dilation)
    oh = (xp.shape[0] - span(kh, dilation)) // stride + 1
    ow = (xp.shape[1] - span(kw, dilation)) // stride + 1
    if oh < 1 or ow < 1:
        raise InputError(_no_fit_message(kh, kw, dilation, xp.shape))
    out = np.zeros((oh, ow), dtype=xp.dtype)
    for a in range(kh):
        for b in range(kw):
            if k[a, b] == 0:
                continue
            r0, c0 = a * dilation, b * dilation
            out += xp.dtype.type(k[a, b]) * xp[r0 : r0 + stride * (oh - 1) + 1 : stride,
                                              c0 : c0 + stride * (ow - 1) + 1 : stride]
    if bias:
        out += xp.dtype.type(bias)
    if relu:
        np.maximum(out, 0, out=out)
    return out


def _no_fit_message(kh: int, kw: int, dilation: int, padded: tuple[int, int]) -> str:
    spans = f"{span(kh, dilation)}×{span(kw, dilation)}"
    cover = f" (it covers {spans} pixels with dilation {dilation})" if dilation > 1 else ""
    return (f"The {kh}×{kw} kernel{cover} does not fit in the {padded[0]}×{padded[1]} padded input: "
            "use a bigger image or crop, more padding, a smaller dilation or a smaller kernel.")


@dataclass(frozen=True)
class ConvStep:
    """One output position of a convolution, as worked out by hand."""

    i: int
    j: int
    rows: np.ndarray  # (kh,) row of each kernel tap in the padded input
    cols: np.ndarray  # (kw,) column of each kernel tap in the padded input
    patch: np.ndarray  # (kh, kw) the input values under the kernel (0 on padding)
    is_pad: np.ndarray  # (kh, kw) True where the tap sits on padding
    products: np.ndarray  # (kh, kw) kernel * patch
    total: float  # sum of the products
    bias: float
    value: float  # total + bias, after ReLU if asked


def conv_step(image: np.ndarray, kernel: np.ndarray, i: int, j: int, stride: int = 1, padding: Padding = 0,
              dilation: int = 1, bias: float = 0.0, relu: bool = False) -> ConvStep:
    """The window behind output cell (i, j): patch, padding mask, element-wise products, sum."""
    _check_hyper(stride, dilation, padding)
    k = np.asarray(kernel, dtype=np.float64)
    kh, kw = k.shape
    xp, mask, _ = pad_image(np.asarray(image, np.float64), kh, kw, stride, padding, dilation)
    oh = (xp.shape[0] - span(kh, dilation)) // stride + 1
    ow = (xp.shape[1] - span(kw, dilation)) // stride + 1
    if oh < 1 or ow < 1:
        raise InputError(_no_fit_message(kh, kw, dilation, xp.shape))
    if not (0 <= i < oh and 0 <= j < ow):
        raise InputError(f"Output position ({i}, {j}) is outside the {oh}×{ow} output.")
    rows = i * stride + dilation * np.arange(kh)
    cols = j * stride + dilation * np.arange(kw)
    patch = xp[np.ix_(rows, cols)]
    products = k * patch
    total = float(products.sum())
    value = total + bias
    if relu:
        value = max(value, 0.0)
    return ConvStep(i, j, rows, cols, patch, mask[np.ix_(rows, cols)], products, total, float(bias), float(value))


@dataclass(frozen=True)
class StepRegion:
    """A piece of the padded input around a crop, and the output cells it fully determines.

    The step-through works on this piece, not on the crop padded with zeros: inside the image a
    window's neighbours are the real pixels, and grey zeros appear only where the image really ends."""

    padded: np.ndarray  # (R, C) padded input rows/cols [origin * stride, ...): real pixels, zeros only as padding
    mask: np.ndarray  # (R, C) True on padding cells
    out: np.ndarray  # (oh, ow) = the full output's cells [origin[0]:, origin[1]:] of this size, exactly
    origin: tuple[int, int]  # the full output's (row, col) of out[0, 0]
    image_origin: tuple[int, int]  # the image's (row, col) of padded[0, 0] (negative on top/left padding)
    stride: int
    dilation: int
    bias: float
    relu: bool

    def step(self, kernel: np.ndarray, i: int, j: int) -> ConvStep:
        """Output cell out[i, j] (the full output's origin + (i, j)) worked out by hand."""
        st = conv_step(self.padded, kernel, i, j, self.stride, 0, self.dilation, self.bias, self.relu)
        return dataclasses.replace(st, is_pad=self.mask[np.ix_(st.rows, st.cols)])


def step_region(image: np.ndarray, kernel: np.ndarray, top: int, left: int, n: int, stride: int = 1,
                padding: Padding = 0, dilation: int = 1, bias: float = 0.0, relu: bool = False) -> StepRegion:
    """The output cells whose windows start near the n×n crop at (top, left) of `image`: output
    row o covers padded rows o·s ... o·s + span - 1, i.e. image rows from o·s - pad_top; the region
    takes the outputs from ⌊top / s⌋ on, as many as the crop holds (⌈n / s⌉), and the padded rows
    their windows read."""
    k = np.asarray(kernel, dtype=np.float64)
    kh, kw = k.shape
    xp, mask, (pt, _, pl, _) = pad_image(np.asarray(image, np.float64), kh, kw, stride, padding, dilation)
    full = conv_output_size(*np.asarray(image).shape, kh, kw, stride, padding, dilation)
    if full[0].value < 1 or full[1].value < 1:
        raise InputError(_no_fit_message(kh, kw, dilation, xp.shape))

    def axis(start: int, n_out: int, k_: int) -> tuple[int, int, slice]:
        o0 = min(max(start // stride, 0), n_out - 1)
        count = min(n_out - o0, max(1, -(-n // stride)))
        return o0, count, slice(o0 * stride, (o0 + count - 1) * stride + span(k_, dilation))

    r0, rn, rows = axis(top, full[0].value, kh)
    c0, cn, cols = axis(left, full[1].value, kw)
    piece = xp[rows, cols]
    out = conv2d(piece, k, stride, 0, dilation, bias, relu)  # (rn, cn)
    return StepRegion(piece, mask[rows, cols], out, (r0, c0), (rows.start - pt, cols.start - pl),
                      stride, dilation, float(bias), bool(relu))


def sum_texts(terms: np.ndarray, total: float, max_decimals: int = 3) -> tuple[list[str], str, bool]:
    """The terms of a sum and its total as text, with the fewest decimals (at least those `fmt`
    uses, at most `max_decimals`) at which the rounded terms add up to the rounded total.
    Returns (terms, total, adds_up): when no such precision exists, adds_up is False and the
    caller writes "≈" instead of "=", so nothing on screen claims a sum that does not hold."""
    terms = np.asarray(terms, dtype=np.float64).ravel()
    start = min(max((len(fmt(v).split(".")[1]) if "." in fmt(v) else 0) for v in [*terms, total]), max_decimals)
    adds_up = False
    for d in range(start, max_decimals + 1):
        if round(float(np.round(terms, d).sum()), d) == round(total, d):
            adds_up = True
            break
    d = d if adds_up else start
    return [f"{v:.{d}f}" for v in terms], f"{total:.{d}f}", adds_up


# --- pooling --------------------------------------------------------------------------------------

def _pool_setup(x: np.ndarray, window: int, stride: int | None, padding: int) -> tuple[int, int, int]:
    s = window if stride is None else stride
    if int(window) != window or window < 1:
        raise InputError(f"The pooling window must be a whole number of at least 1, not {window}.")
    _check_hyper(s, 1, padding)
    if padding > window // 2:
        raise InputError(f"Pooling padding can be at most half the window ({window // 2} for a {window}×{window} window).")
    oh = (x.shape[0] + 2 * padding - window) // s + 1
    ow = (x.shape[1] + 2 * padding - window) // s + 1
    if oh < 1 or ow < 1:
        raise InputError(f"The {window}×{window} pooling window does not fit in the {x.shape[0]}×{x.shape[1]} input.")
    return s, oh, ow


def max_pool2d(x: np.ndarray, window: int, stride: int | None = None,
               padding: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(pooled (oh, ow), winners (oh, ow, 2)): the max of each window and the (row, col) in `x` of
    the element that won it (the first one in reading order on ties, as torch). NaN wins, as torch."""
    x = _as_image(x)
    s, oh, ow = _pool_setup(x, window, stride, padding)
    xp = np.pad(x, padding, constant_values=-np.inf)
    nan = bool(np.isnan(x).any())
    best = np.full((oh, ow), -np.inf, dtype=x.dtype)
    arg = np.zeros((oh, ow), dtype=np.int64)  # tap index a * window + b
    for a in range(window):
        for b in range(window):
            v = xp[a : a + s * (oh - 1) + 1 : s, b : b + s * (ow - 1) + 1 : s]
            better = v > best
            if nan:
                better |= np.isnan(v) & ~np.isnan(best)
            np.copyto(best, v, where=better)
            np.copyto(arg, a * window + b, where=better)
    rows = np.arange(oh)[:, None] * s + arg // window - padding
    cols = np.arange(ow)[None, :] * s + arg % window - padding
    return best, np.stack([rows, cols], axis=-1)


def avg_pool2d(x: np.ndarray, window: int, stride: int | None = None, padding: int = 0) -> np.ndarray:
    """Mean of each window (padding counts as zeros in the mean, as torch's default)."""
    x = _as_image(x)
    s, oh, ow = _pool_setup(x, window, stride, padding)
    xp = np.pad(x, padding)
    out = np.zeros((oh, ow), dtype=x.dtype)
    for a in range(window):
        for b in range(window):
            out += xp[a : a + s * (oh - 1) + 1 : s, b : b + s * (ow - 1) + 1 : s]
    return out / (window * window)


@dataclass(frozen=True)
class PoolStep:
    i: int
    j: int
    rows: np.ndarray  # (window,) rows of the window in x
    cols: np.ndarray  # (window,) columns of the window in x
    patch: np.ndarray  # (window, window)
    winner: tuple[int, int]  # (row, col) in x of the max
    max: float
    mean: float


def pool_step(x: np.ndarray, window: int, i: int, j: int, stride: int | None = None) -> PoolStep:
    """The window behind pooled cell (i, j), its winner and its mean (no padding)."""
    x = _as_image(x)
    s, oh, ow = _pool_setup(x, window, stride, 0)
    if not (0 <= i < oh and 0 <= j < ow):
        raise InputError(f"Output position ({i}, {j}) is outside the {oh}×{ow} output.")
    rows, cols = i * s + np.arange(window), j * s + np.arange(window)
    patch = x[np.ix_(rows, cols)]
    a = int(np.argmax(patch))  # first maximum in reading order
    return PoolStep(i, j, rows, cols, patch, (int(rows[a // window]), int(cols[a % window])),
                    float(patch.max()), float(patch.mean()))


# --- kernels --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kernel:
    name: str
    weights: np.ndarray
    meaning: str


def _k(rows) -> np.ndarray:
    return np.array(rows, dtype=np.float64)


PRESETS: dict[str, Kernel] = {k.name: k for k in [
    Kernel("Identity", _k([[0, 0, 0], [0, 1, 0], [0, 0, 0]]), "Copies the input unchanged: the output is the input."),
    Kernel("Horizontal edge", _k([[1, 1, 1], [0, 0, 0], [-1, -1, -1]]),
           "Top row minus bottom row: positive where it is brighter above than below, so horizontal edges light up."),
    Kernel("Vertical edge", _k([[1, 0, -1], [1, 0, -1], [1, 0, -1]]),
           "Left column minus right column: positive where it is brighter on the left, so vertical edges light up."),
    Kernel("Sobel x", _k([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
           "Brightness change from left to right, weighting the centre row double: finds vertical edges."),
    Kernel("Sobel y", _k([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
           "Brightness change from top to bottom, weighting the centre column double: finds horizontal edges."),
    Kernel("Laplacian", _k([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
           "Neighbours minus the centre: zero on flat areas, strong on both sides of every edge and at fine detail."),
    Kernel("Box blur", _k(np.ones((3, 3)) / 9), "The plain average of the 3×3 neighbourhood: smooths away noise and detail."),
    Kernel("Gaussian blur", _k([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16,
           "A weighted average that trusts the centre most: a softer, more natural blur."),
    Kernel("Sharpen", _k([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
           "The pixel plus its difference from its neighbours: edges and detail stand out more."),
    Kernel("Emboss", _k([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
           "Bright where brightness rises towards the bottom right, dark where it falls: a relief lit from one side."),
]}

LECTURE_POOL_EXAMPLE = _k([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]])
"""The classic 2x2 max-pool example (CS231n): stride 2 gives [[6, 8], [3, 4]]."""

_FRACTION = re.compile(r"^([+-]?\d+(?:\.\d*)?)\s*/\s*(\d+(?:\.\d*)?)$")


def _cell(v, r: int, c: int, what: str) -> float:
    where = f"row {r + 1}, column {c + 1}"
    if v is None or (isinstance(v, str) and not v.strip()):
        raise InputError(f"The {what} cell at {where} is empty: type a number there (0 for nothing).")
    if isinstance(v, (bool, np.bool_)):
        raise InputError(f"The {what} cell at {where} holds {v}, which is not a number.")
    if isinstance(v, str):
        s = v.strip().replace("−", "-")
        if s.count(",") == 1 and "." not in s:
            s = s.replace(",", ".")  # decimal comma
        m = _FRACTION.match(s)
        try:
            f = float(m.group(1)) / float(m.group(2)) if m else float(s)
        except (ValueError, ZeroDivisionError):
            raise InputError(f"The {what} cell at {where} holds '{v.strip()[:20]}', which is not a number.") from None
    else:
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise InputError(f"The {what} cell at {where} holds '{str(v)[:20]}', which is not a number.") from None
        if math.isnan(f):
            raise InputError(f"The {what} cell at {where} is empty: type a number there (0 for nothing).")
    if not math.isfinite(f):
        raise InputError(f"The {what} cell at {where} is not a finite number.")
    if abs(f) > 1e6:
        raise InputError(f"The {what} cell at {where} is {f:g}; keep values between -1,000,000 and 1,000,000.")
    return f


def parse_grid(cells, what: str = "kernel", allow_all_zero: bool = True) -> np.ndarray:
    """A user's grid (nested lists, numpy or a DataFrame; numbers or text such as '1/9') -> float array."""
    if hasattr(cells, "to_numpy"):
        cells = cells.to_numpy(dtype=object)
    rows = [list(r) for r in cells]
    if not rows or not rows[0]:
        raise InputError(f"The {what} grid is empty.")
    if len({len(r) for r in rows}) != 1:
        raise InputError(f"Every row of the {what} grid needs the same number of cells.")
    out = np.array([[_cell(v, r, c, what) for c, v in enumerate(row)] for r, row in enumerate(rows)], np.float64)
    if not allow_all_zero and not out.any():
        raise InputError(f"An all-zero {what} turns every input into 0: put at least one non-zero number in it.")
    return out


def parse_kernel(cells) -> np.ndarray:
    """A user-typed kernel grid -> (kh, kw) float array, or InputError with one sentence."""
    return parse_grid(cells, "kernel", allow_all_zero=False)


def fmt(v: float) -> str:
    """A number short enough to read inside a grid cell on a projector."""
    if not np.isfinite(v):
        return "–"
    if float(v).is_integer() and abs(v) < 1e5:
        return str(int(v))
    a = abs(v)
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"
