"""Shared AppTest helpers: open a page, read its figures, and build the link a browser would show.

Streamlit writes a bound widget's value into the URL from the browser, so AppTest cannot read the
URL after a change; `scene_link` rebuilds it from the widgets (each bound widget's proto names its
query parameter), and `open_link` opens a fresh session on it, as a student clicking the link.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nnviz import runner

TIMEOUT = 120
ROOT = Path(__file__).resolve().parents[2]


def open_page(page: str, query: dict[str, str] | None = None) -> AppTest:
    """`page` (e.g. "pages/cnn.py") in a fresh session, through app.py, with an optional link."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def figures(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def titles(at: AppTest) -> list[str]:
    out = []
    for f in figures(at):
        t = f.get("layout", {}).get("title", {})
        out.append(t.get("text", "") if isinstance(t, dict) else str(t))
    return out


def array(z) -> np.ndarray:
    """A Plotly JSON array: a list, or {"dtype", "bdata", "shape"} (typed array, base64)."""
    if isinstance(z, dict) and "bdata" in z:
        a = np.frombuffer(base64.b64decode(z["bdata"]), dtype=np.dtype(z["dtype"]))
        shape = z.get("shape")
        return a.reshape([int(s) for s in str(shape).split(",")]) if shape else a
    return np.asarray(z, dtype=float)


WIDGETS = ("selectbox", "radio", "slider", "number_input", "text_input", "text_area", "toggle", "checkbox",
           "select_slider")


def bound_widgets(at: AppTest) -> dict[str, object]:
    """key -> widget for every widget on the page bound to the URL."""
    out = {}
    for kind in WIDGETS:
        for w in at.get(kind):
            if getattr(w.proto, "query_param_key", ""):
                out[w.proto.query_param_key] = w
    return out


def _url_value(w) -> str:
    v = w.value
    if isinstance(v, bool):
        return "true" if v else "false"
    if w.type in ("selectbox", "radio"):
        return w.format_func(v) if hasattr(w, "format_func") and w.format_func else str(v)
    return str(v)


def unbound(at: AppTest, kinds: tuple[str, ...] = WIDGETS) -> list[str]:
    """Keys of the page's view widgets that a link would not carry. The presentation-mode toggle is
    the one exception: nnviz.ui writes it into the URL itself, as present=1."""
    return [w.key for kind in kinds for w in at.get(kind)
            if not w.proto.query_param_key and w.key != "present_mode"]


def _is_default(w) -> bool:
    """Streamlit leaves a value equal to the widget's own default out of the URL."""
    p, v = w.proto, w.value
    if w.type in ("selectbox", "radio"):
        return bool(p.options) and p.HasField("default") and list(p.options)[p.default] == _url_value(w)
    if w.type == "select_slider":
        return [list(p.options)[int(i)] for i in p.default] == [_url_value(w)]
    if w.type == "slider":
        return [float(x) for x in p.default] == [float(v)]
    return p.default == v


def scene_link(at: AppTest) -> dict[str, str]:
    """The query parameters of the current view as the browser shows them: every bound widget's
    value, except those equal to the widget's default (Streamlit leaves them out of the URL)."""
    return {k: _url_value(w) for k, w in bound_widgets(at).items() if not _is_default(w)}


def open_link(page: str, link: dict[str, str]) -> AppTest:
    return open_page(page, link)


@pytest.fixture
def model_runs():
    """How many model runs the block under test made: `with model_runs() as n: ...; n()`."""
    class Counter:
        def __enter__(self):
            self.start = runner.runs()
            return lambda: runner.runs() - self.start

        def __exit__(self, *exc):
            return False

    return Counter
