"""Everything Streamlit: cached loaders and widgets shared by the pages.

Models are cached with st.cache_resource (shared by all sessions; capture() is thread-safe).
Traces are cached with st.cache_resource too, keyed by model, weights and input digest: they are
read-only numpy and can be 100+ MB for VGG, which st.cache_data would pickle on every rerun.
"""
from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import streamlit as st

from .. import inputs, runner, weights as W
from ..memory import keep_freed_memory
from ..models import get_spec, list_models, load_model
from ..traces import Trace
from ..types import InputError, WeightsError

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


_APP_RAN = False  # has app.py run in this process?


def app_started() -> None:
    """Called by app.py on every run: the server process keeps freed memory (nnviz.memory) and
    stops looking its own address up online (`no_address_lookups`); both once."""
    global _APP_RAN
    if not _APP_RAN:
        keep_freed_memory()
        no_address_lookups()
    _APP_RAN = True


def no_address_lookups() -> None:
    """When a websocket arrives from another web origin (any site open in a browser can try
    ws://127.0.0.1:8501), Streamlit 1.67 allows it if the origin is one of this machine's own
    addresses, and to know them it looks them up: a UDP connect to 8.8.8.8 and an HTTP request to
    checkip.amazonaws.com, on the server's event loop, again after every failed lookup (offline,
    every such attempt stalls every student's session). nnviz fills Streamlit's cache of the two
    addresses that are still unknown with loopback: pages served from this machine's other
    addresses get no exception, and no lookup happens. Students are unaffected: a browser that
    opened the app is same-origin (also through nginx, which keeps the Host header) and never
    reaches this check. An address Streamlit already knows (its startup banner looked it up) is
    kept. Until the first page has run, Streamlit's behaviour is unchanged."""
    from streamlit import net_util

    for name in ("_internal_ip", "_external_ip"):
        if getattr(net_util, name, "") is None:  # unknown yet: Streamlit would look it up
            setattr(net_util, name, "127.0.0.1")


# --- one scene state -------------------------------------------------------------------------------
# Every widget that defines what a view shows is drawn through `scene`: its value lives in the
# session (kept while the user looks at another page) and in the URL, under the widget's key, so a
# shared link brings a student to the same picture. Values equal to the widget's default stay out
# of the URL; a value a link asks for that the widget cannot take is dropped by Streamlit.
URL_TEXT_MAX = 400  # characters of typed text a link carries; longer text stays in the session only


def scene(widget, label: str, *args, key: str, url: bool = True, **kwargs):
    """Draw `widget` (st.slider, st.selectbox, st.sidebar.radio, ...) as part of the page's scene.

    Give a fixed default as the widget's own value/index, not through st.session_state: Streamlit
    leaves a value equal to the widget's default out of the URL, so a default the widget does not
    know would replace that value when a student opens the link."""
    if url and getattr(widget, "__name__", "") == "number_input":
        _drop_non_finite(key)
    return widget(label, *args, key=key, bind="query-params" if url else None, persist_state="session", **kwargs)


def _drop_non_finite(key: str) -> None:
    """Streamlit 1.67 seeds an integer number_input from the URL with int(float(value)), and an
    OverflowError from "inf" or "1e309" escapes its own check (it catches ValueError only): a
    link `?channel=inf` would break the page. Such a value is dropped, so the widget's default shows."""
    raw = st.query_params.get(key)
    if raw is None:
        return
    try:
        ok = math.isfinite(float(raw))
    except (TypeError, ValueError):
        return  # not a number at all: Streamlit's own check drops it
    if not ok:
        del st.query_params[key]
        try:  # Streamlit seeds widgets from the URL as the page opened: forget it there too (1.67's layout)
            from streamlit.runtime.state.session_state_proxy import get_session_state

            with get_session_state().query_params() as qp:
                qp._initial_query_params.pop(key, None)
        except (ImportError, AttributeError):  # another Streamlit: tests/hostile/test_hostile_links.py says so
            pass


def scene_text(widget, label: str, *args, key: str, default: str = "", **kwargs) -> str:
    """A text widget in the scene, starting from `default`: in the URL while the text is short
    enough to share as a link (longer text stays in the session). On a session's first run the
    text is the link's, if it carries one."""
    if key not in st.session_state:
        st.session_state[key] = st.query_params.get(key, default)
    short = len(str(st.session_state[key])) <= URL_TEXT_MAX
    return scene(widget, label, *args, key=key, url=short, **kwargs)


def clamp_state(key: str, lo: int, hi: int, default: int) -> None:
    """A stored value (from the session or a link) may belong to an older, longer input: bring it
    into [lo, hi] before the widget is drawn."""
    v = st.session_state.get(key, default)
    st.session_state[key] = int(min(max(v if isinstance(v, (int, np.integer)) else default, lo), hi))


KEY_NAMES = {"Left": "←", "Right": "→", "Shift+Left": "Shift ←", "Shift+Right": "Shift →"}


def step_buttons(key: str, values: list, where=st, shortcuts: tuple[str, str] = ("Left", "Right"),
                 what: str = "step") -> None:
    """◀ / ▶ buttons, also on the keyboard (Streamlit's button shortcuts), that move the widget
    `key` to the previous / next of `values`. Draw them before or after the widget: they change its
    session value in a callback, before the rerun draws it. One pair of keys per visible stepper."""

    def move(d: int) -> None:
        cur = st.session_state.get(key, values[0])
        i = values.index(cur) if cur in values else 0
        st.session_state[key] = values[min(max(i + d, 0), len(values) - 1)]

    cur = st.session_state.get(key)
    i = values.index(cur) if cur in values else None
    for label, d, sc in (("◀", -1, shortcuts[0]), ("▶", 1, shortcuts[1])):
        where.button(label, key=f"{key}_{'prev' if d < 0 else 'next'}", on_click=move, args=(d,), shortcut=sc,
                     help=f"{'Previous' if d < 0 else 'Next'} {what} (key: {KEY_NAMES.get(sc, sc)})",
                     disabled=i is not None and not 0 <= i + d < len(values))


PRESENT = "present"  # ?present=1 (or the sidebar toggle): the lecture projector's layout
PRESENT_KEY = "present_mode"  # the toggle's session key
# In presentation mode the page drops its title and keeps only the margin Streamlit's header needs,
# so the figure a lesson is about can fill a 1280x720 projector's first screen.
PRESENT_CSS = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 3rem; padding-bottom: 1rem; }
[data-testid="stMainBlockContainer"] h1 { display: none; }
</style>"""


def presenting() -> bool:
    """Whether the page is in presentation mode: a sidebar toggle in the scene, which a link
    turns on with ?present=1 (or present=true). Pages then put their key figure first, sized for
    a 1280x720 projector, and fold secondary controls away."""
    if PRESENT_KEY not in st.session_state and st.query_params.get(PRESENT) in ("1", "true"):
        st.session_state[PRESENT_KEY] = True
    # Kept in the URL by hand as present=1 (what people type): a bound toggle would write "true"
    # only after the user touched it, so a reloaded projector tab would fall out of the mode. The
    # toggle's key differs from the parameter, or Streamlit would clear the parameter as unbound.
    on = scene(st.sidebar.toggle, "Presentation mode", key=PRESENT_KEY, url=False,
               help="For a projector: the key figure first, large; other controls folded away. "
                    "Share the link with ?present=1 to open a page this way.")
    if on:
        st.query_params[PRESENT] = "1"
        st.html(PRESENT_CSS)
    elif PRESENT in st.query_params:
        del st.query_params[PRESENT]
    return on


def page_setup() -> bool:
    """First call in every page. Streamlit treats a top-level pages/ folder as an old-style
    multipage app until app.py has called st.navigation once in this server process, so the very
    first visitor who opens /cnn directly would get a page without app.py (no navigation, no
    layout). Switch to st.navigation mode and rerun through app.py, keeping the URL.
    (AppTest resets that Streamlit flag before every run; once app.py has run in the process we
    leave it alone, so test runs are not doubled and button clicks are not swallowed.)
    Returns whether the page is in presentation mode (`presenting`)."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and not _APP_RAN:
        PagesManager.uses_pages_directory = False
        st.rerun()
    return presenting()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


@st.cache_resource(show_spinner=False, max_entries=6)
def get_model(name: str, weights_key: str, _weights: str | bytes = "default"):
    """weights_key identifies `_weights` (e.g. 'default', 'random', 'upload:<digest>')."""
    return load_model(name, _weights)


@st.cache_data(show_spinner=False, max_entries=8)
def first_filters(name: str, weights_key: str, _model) -> np.ndarray:
    """(O, I, kh, kw) float64: the first convolution's kernels of a loaded CNN."""
    from ..models.cnn import first_conv_weights

    return first_conv_weights(_model)


@st.cache_data(show_spinner=False, max_entries=8)
def linear_head(name: str, weights_key: str, _model) -> tuple[np.ndarray, np.ndarray] | None:
    """A CNN's global-average-pool + Linear classifier weights (W, b), or None for other heads."""
    from ..models.cnn import pooled_linear_head

    return pooled_linear_head(_model)


# Every session's traces together: at most 32, and at most 640 MB (about seven 512-token attention
# traces, or hundreds of CNN or character traces). Measured by the load test (BENCHMARKS_load.md).
TRACES = runner.TraceCache(max_bytes=640 * 2**20, max_entries=32)


def get_trace(name: str, weights_key: str, input_key: str, _model, _raw) -> Trace:
    """The one cached model run of every page: nnviz.run(model, raw input), keyed by model,
    weights and an input digest (`input_key`, which must also name any option that changes the
    run). Changing a view (layer, channel, head, unit...) reads this cache and runs nothing."""
    return TRACES.get((name, weights_key, input_key), lambda: runner.run(_model, _raw))


def input_key(kind: str, data: str | bytes | np.ndarray | list[int]) -> str:
    """A short digest naming an input for get_trace's cache."""
    if isinstance(data, str):
        raw = data.encode("utf-8", "surrogatepass")
    elif isinstance(data, (bytes, bytearray)):
        raw = bytes(data)
    else:
        arr = np.asarray(data)
        raw = str(arr.dtype).encode() + arr.tobytes()
    return f"{kind}:{digest(raw)}"


def model_picker(family: str, key: str = "model", default: str | None = None) -> str:
    """A sidebar choice among the registry's models of `family` (part of the scene)."""
    names = list_models(family)
    return scene(
        st.sidebar.selectbox, "Model", names, index=names.index(default) if default in names else 0, key=key,
        help="\n\n".join(f"**{n}**: {get_spec(n).description}" for n in names),
    )


UNTRAINED = "Untrained (random)"
UPLOAD_NOT_IN_LINK = ("An upload stays on this computer: a link carries this page's settings, not the file. "
                      "Students opening it see a sample instead.")


def models_table() -> str:
    """Markdown: every registered model, its family and input, whether it runs trained on this
    machine and where its weights come from."""
    lines = ["| model | family | input | runs here | weights | what it is |", "|---|---|---|---|---|---|"]
    for name in list_models():
        spec = get_spec(name)
        trained, where = W.default_available(spec)
        lines.append(f"| `{name}` | {spec.family} | {spec.input_kind} | {'trained' if trained else '**untrained**'} "
                     f"| {where} | {spec.description} |")
    return "\n".join(lines)


def weights_picker(name: str) -> tuple[str, str | bytes]:
    """Sidebar controls for where weights come from. Returns (weights_key, weights)."""
    spec = get_spec(name)
    st.sidebar.caption(spec.description)
    trained, where = W.default_available(spec)
    # Without trained weights here, "default" would be the same seeded random weights: one choice, not two.
    options = (["Trained", "Upload a checkpoint", UNTRAINED] if trained else [UNTRAINED, "Upload a checkpoint"])
    choice = scene(
        st.sidebar.radio, "Weights", options, key=f"weights_src_{name}",
        help=f"Trained: {where}. {UNTRAINED}: the same seeded random weights on every machine.",
    )
    if choice == "Upload a checkpoint":
        up = st.sidebar.file_uploader(".pth or .safetensors", type=["pth", "pt", "safetensors"], key=f"ckpt_{name}")
        if up is not None:
            data = up.getvalue()
            return f"upload:{digest(data)}", data
        st.sidebar.info("No file yet: using the " + ("trained" if trained else "untrained") + " weights.")
    if not trained:
        download_button(name)
        return "random", "random"
    return ("random", "random") if choice == UNTRAINED else ("default", "default")


def download_button(name: str) -> None:
    """The sidebar's offer to fetch a model's published ImageNet checkpoint (an explicit click: the
    app makes no other network request)."""
    ck = W.CHECKPOINTS.get(name)
    if ck is None or W.cached_checkpoint(name) is not None:
        return
    with st.sidebar.expander(f"Download ImageNet weights ({ck.size_mb:.0f} MB)"):
        st.caption(f"From {ck.url}, checked against its sha256 prefix `{ck.hash_prefix}`, saved in the torch hub cache.")
        if st.button(f"Download {ck.filename}", key=f"dl_{name}"):
            bar = st.progress(0.0, text="connecting...")
            try:
                W.download(name, progress=lambda d, t: bar.progress(min(1.0, d / t) if t else 0.0,
                                                                     text=f"{d / 2**20:.0f} MB"))
                get_model.clear()
                st.success("Downloaded: choose \"Trained\" to use the ImageNet weights.")
            except WeightsError as e:
                bar.empty()
                st.error(str(e))


def load_or_report(name: str, weights_key: str, weights: str | bytes):
    """The model, or None after showing the user one sentence about why not."""
    try:
        with st.spinner(f"Loading {name}..."):
            return get_model(name, weights_key, weights)
    except WeightsError as e:
        st.error(str(e))
    except Exception as e:  # a model that cannot be built is a bug, but the page must survive it
        st.error(f"Could not load {name}: {type(e).__name__}: {e}")
    return None


def weights_badge(model) -> None:
    info = model.weights_info
    if info.trained:
        st.caption(f"Weights: {info.source}")
    else:
        st.warning(
            f"**Untrained model** ({info.source}). Feature maps show what random filters do; "
            f"predictions are meaningless. {info.note}".strip()
        )


def sample_files(kind: str) -> list[Path]:
    pats = {"photo": ("*.jpg", "*.jpeg"), "digit": ("digit_*.png",)}[kind]
    return sorted(p for pat in pats for p in SAMPLES.glob(pat))


LAST_IMAGE = "nnviz_last_image"  # session_state: the last image a page ran on, for other pages


def image_input(digit_model: bool, key: str = "img", allow_shared: bool = False,
                offer: bool = True) -> tuple[inputs.LoadedImage, str] | None:
    """Sample / upload / draw / the image another page last used. Returns (image, input key) or
    None after a message. An upload is kept for this page (Streamlit forgets a file uploader's
    file when the user visits another page), and the image is offered to other pages (unless
    `offer` is False: a second image for a comparison)."""
    shared = st.session_state.get(LAST_IMAGE) if allow_shared else None
    if shared is not None and shared[3] == key:  # this page's own image: nothing to borrow
        shared = None
    kept = st.session_state.get(f"{key}_kept")
    sources = ["Sample", "Upload"] + (["Draw"] if digit_model else []) + (["Other page's image"] if shared else [])
    st.session_state.setdefault(f"{key}_src", "Upload" if kept else "Sample")
    src = scene(st.radio, "Input", sources, horizontal=True, key=f"{key}_src")
    if src == "Other page's image":
        st.caption(f"{shared[2]}, as last used on another page")
        return shared[0], shared[1]
    got = _image_from(src, digit_model, key)
    if got is not None:
        img, input_key, name = got
        if offer:
            st.session_state[LAST_IMAGE] = (img, input_key, name, key)
        return img, input_key
    return None


def _image_from(src: str, digit_model: bool, key: str) -> tuple[inputs.LoadedImage, str, str] | None:
    data: bytes | None = None
    name = "the image"
    if src == "Sample":
        files = {p.name: p for p in sample_files("digit" if digit_model else "photo") + sample_files("photo" if digit_model else "digit")}
        name = scene(st.selectbox, "Sample image", list(files), key=f"{key}_sample")
        data = files[name].read_bytes()
    elif src == "Upload":
        up = st.file_uploader("Image (PNG, JPEG, WebP, BMP, GIF)", type=inputs.UPLOAD_TYPES, key=f"{key}_upload")
        st.caption(UPLOAD_NOT_IN_LINK)
        kept = st.session_state.get(f"{key}_kept")
        if up is None and kept is not None:
            st.caption(f"Using your earlier upload, {kept[2]} (upload another file to replace it).")
            return kept
        if up is None:
            st.info("Upload an image to run the model on it.")
            return None
        data, name = up.getvalue(), up.name
    else:
        drawn = draw_digit(key)
        if drawn is None:
            return None
        return drawn[0], drawn[1], "your drawing"
    try:
        got = inputs.load_image(data, name), digest(data), name
    except InputError as e:
        st.error(str(e))
        return None
    if src == "Upload":
        st.session_state[f"{key}_kept"] = got
    return got


def draw_digit(key: str) -> tuple[inputs.LoadedImage, str] | None:
    try:
        from streamlit_drawable_canvas import st_canvas
    except ImportError:
        st.error("Drawing needs the streamlit-drawable-canvas package (in requirements.txt); upload a photo of a digit instead.")
        return None
    st.caption("Draw one digit, large, in the middle of the box.")
    res = st_canvas(stroke_width=18, stroke_color="#ffffff", background_color="#000000", height=224, width=224,
                    drawing_mode="freedraw", return_image_data=True, key=f"{key}_canvas")
    a = getattr(res, "image_data", None)
    if a is None or np.asarray(a)[..., :3].max() == 0:
        st.info("The canvas is empty: draw a digit.")
        return None
    rgb = np.asarray(a)[..., :3].astype(np.float32) / 255.0
    return inputs.LoadedImage(rgb, ["drawn on the canvas"]), digest(np.ascontiguousarray(a).tobytes())
