"""The app as a user meets it: time from a widget change to a finished rerun (AppTest, the real
page scripts), and a cold start in headless Chromium (`--browser`).

A view-only change (layer, stride, window, head) must not run the model: its rerun is the
render path. A new input (sample image, text) runs the model once and renders.
"""
from __future__ import annotations

from pathlib import Path
import statistics
import time

from ..server import ROOT, free_port, start_server, stop_server
from . import absent, figure

_KINDS = ("selectbox", "slider", "text_area", "radio", "number_input", "segmented_control", "select_slider", "toggle")

_SENTENCES = ("The river bank was flooded after the storm, so the bank closed its doors early.",
              "A man is eating food while the children play football in the park nearby.")
_CODE = ('def f(x):\n    return [x, (x + 1) * 2, {"a": x}]\n\n' * 6,
         'class A:\n    def g(self, y):\n        return (y, [y], "y")\n\n' * 6)

# page -> (view-only change: key, values), (new input: key, values). Selectbox values are
# option indices (the options come from the page); the rest are widget values.
PAGES = {
    "convolution": (("conv_stride", (2, 1)), ("conv_img_sample", (1, 0))),
    "cnn": (("layer", (3, 2)), ("img_sample", (1, 0))),
    "recurrent": (("rnn_width", (100, 80)), ("rnn_text", _CODE)),
    "attention": (("att_layer", (3, 2)), ("att_text", _SENTENCES)),
}


def _widget(at, key: str):
    for kind in _KINDS:
        try:
            return kind, getattr(at, kind)(key=key)
        except (KeyError, IndexError):
            continue
    raise KeyError(f"no widget with key {key!r} on the page")


def _change(at, key: str, value, new_input: bool = False) -> float:
    """Set one widget, rerun, return the seconds the rerun took (AppTest reruns synchronously).
    new_input: empty st.cache_data and the app's trace cache first, so the rerun pays for a model
    run as a first visit with that input would (alternating two inputs would otherwise hit the
    cached trace)."""
    kind, w = _widget(at, key)
    if new_input:
        import streamlit as st

        from .. import ui

        st.cache_data.clear()
        ui.TRACES.clear()
    t = time.perf_counter()
    if kind == "selectbox":
        w.select_index(value).run()
    elif kind == "text_area":
        w.input(value).run()
    else:
        w.set_value(value).run()
    dt = time.perf_counter() - t
    if at.exception:
        raise RuntimeError(f"{key}: {at.exception[0].message}")
    return dt


def reruns(quick: bool = False) -> dict:
    try:
        from streamlit.testing.v1 import AppTest
    except ImportError:
        return {"app.reruns": absent("streamlit not installed")}
    out = {}
    repeats = 1 if quick else 4
    pages = {"convolution": PAGES["convolution"]} if quick else PAGES
    for page, ((vkey, vvals), (ikey, ivals)) in pages.items():
        try:
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
            at.run()
            at.switch_page(f"pages/{page}.py")
            at.run()
            view, new = [], []
            for r in range(repeats):  # interleaved: view, input, view, input ...
                view.append(_change(at, vkey, vvals[r % 2]))
                value = ivals[(r + 1) % 2]
                if isinstance(value, str):
                    value = value + " " * (r // 2)  # never the same text twice
                new.append(_change(at, ikey, value, new_input=True))
            out[f"app.{page}.view_change_s"] = figure(statistics.median(view), "<= 0.5", f"AppTest rerun after {vkey}")
            out[f"app.{page}.new_input_s"] = figure(statistics.median(new), "<= 3.0", f"AppTest rerun after {ikey}, caches emptied: the model runs")
        except Exception as e:  # a page mid-edit by someone else: report it, keep going
            out[f"app.{page}.view_change_s"] = figure(None, "<= 0.5", f"error: {type(e).__name__}: {e}"[:200])
    return out


# ---------------------------------------------------------------------------------------------
# Cold start: `streamlit run` to the first drawn Plotly figure in headless Chromium

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def cold_start(quick: bool = False, page: str = "cnn") -> dict:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"app.cold_start_s": absent("playwright not installed", "<= 15.0")}
    if not Path(CHROMIUM).exists():
        return {"app.cold_start_s": absent(f"no Chromium at {CHROMIUM}", "<= 15.0")}
    port = free_port()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)  # not part of the timed start
        try:
            t0 = time.perf_counter()
            proc = start_server(port)  # returns once /_stcore/health answers
            try:
                up = time.perf_counter() - t0
                pg = browser.new_page(viewport={"width": 1280, "height": 720})
                pg.goto(f"http://127.0.0.1:{port}/{page}")
                pg.wait_for_selector(".js-plotly-plot .main-svg", timeout=180_000)
                drawn = time.perf_counter() - t0
            finally:
                stop_server(proc)
        finally:
            browser.close()
    return {"app.cold_start_s": figure(drawn, "<= 15.0", f"streamlit run -> first figure on /{page}; server healthy after {up:.1f} s")}


# --- a lecture's view changes in the browser (issue 9: no view change over 2 s end-to-end) -------------

_SETTLED = '[data-testid="stApp"][data-test-script-state="notRunning"]'
_LONG_SENTENCE = "The animal didn't cross the street because it was too tired. "  # 16 MiniLM tokens with [CLS]/[SEP]


def _settle(pg, timeout: int = 180_000) -> None:
    """A finished run, no stale elements, every chart drawn (as tests/browser/helpers.py settles)."""
    pg.wait_for_timeout(200)
    pg.wait_for_selector(_SETTLED, timeout=timeout)
    pg.wait_for_function("document.querySelectorAll('[data-stale=\"true\"]').length === 0", timeout=timeout)
    pg.wait_for_selector(_SETTLED, timeout=timeout)


def _press(pg, key: str) -> float:
    pg.evaluate("document.activeElement && document.activeElement.blur()")
    t = time.perf_counter()
    pg.keyboard.press(key)
    _settle(pg)
    return time.perf_counter() - t


def _type(pg, label: str, text: str) -> None:
    box = pg.get_by_label(label)
    box.fill(text)
    box.press("Control+Enter")
    _settle(pg)


def view_changes(quick: bool = False) -> dict:
    """Seconds from a key press to the settled page in headless Chromium at 1280x720, median of
    a few presses: the convolution step (a fragment), a layer switch on the rollout view with
    ~500 tokens, a character step with 2,000 characters of code, and a gate switch on them."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"browser.view_change": absent("playwright not installed", "<= 2.0")}
    if not Path(CHROMIUM).exists():
        return {"browser.view_change": absent(f"no Chromium at {CHROMIUM}", "<= 2.0")}
    n = 2 if quick else 5
    code = (ROOT / "samples" / "code.txt").read_text(encoding="utf-8")
    code = (code * (2000 // len(code) + 1))[:2000]
    out = {}
    port = free_port()
    proc = start_server(port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pg = browser.new_page(viewport={"width": 1280, "height": 720})
            url = f"http://127.0.0.1:{port}"
            pg.goto(f"{url}/convolution")
            _settle(pg)
            out["browser.convolution_step_s"] = figure(
                statistics.median(_press(pg, "ArrowRight") for _ in range(n)), "<= 2.0",
                "Next window by the arrow key (a fragment: only the step figure is redrawn)")
            pg.goto(f"{url}/attention?att_view=Average+%26+rollout&att_layer=2")
            _settle(pg)
            _type(pg, "Your text (MiniLM reads at most 512 tokens)", _LONG_SENTENCE * 31)  # 497 tokens
            ts = [_press(pg, "ArrowRight" if i % 2 == 0 else "ArrowLeft") for i in range(n)]
            out["browser.rollout_500_tokens_layer_s"] = figure(
                statistics.median(ts), "<= 2.0", "layer switch on the rollout view, 497 tokens (maps, 497 bars, text)")
            pg.goto(f"{url}/recurrent")
            _settle(pg)
            _type(pg, "Text (up to 2,000 characters)", code)
            ts = [_press(pg, "ArrowLeft") for _ in range(n)]
            out["browser.recurrent_2000_chars_step_s"] = figure(
                statistics.median(ts), "<= 2.0", "one character back (next-character bars, words, heatmap outline)")
            ts = []
            for i in range(n):
                box = pg.get_by_role("combobox", name="Show")
                box.scroll_into_view_if_needed()  # a click that also scrolls the page closes the menu again
                box.click()
                option = pg.get_by_role("option").nth(1 + i % 4)  # another quantity each time
                t = time.perf_counter()
                option.click()
                _settle(pg)
                ts.append(time.perf_counter() - t)
            out["browser.recurrent_2000_chars_gate_s"] = figure(
                statistics.median(ts), "<= 2.0", "another gate or state under 2,000 characters (128 units)")
            browser.close()
    finally:
        stop_server(proc)
    return out
