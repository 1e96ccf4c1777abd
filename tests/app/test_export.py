"""Export for slides: the camera button's PNG options, the lecture pack's HTML, and the pack a page offers."""
import json
import re

import numpy as np
import plotly.graph_objects as go
import plotly.offline
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager

from nnviz.ui import export
from tests.app.conftest import figures, open_page, titles

PLOTLY_JS = plotly.offline.get_plotlyjs()


def _plots(out: str) -> list[tuple]:
    """(div id, data, layout, config) of every Plotly.newPlot call in a pack, in order."""
    dec, found = json.JSONDecoder(), []
    for m in re.finditer(r"Plotly\.newPlot\(\s*", out):
        args, i = [], m.end()
        for _ in range(4):
            val, i = dec.raw_decode(out, i)
            args.append(val)
            i = re.compile(r"\s*,?\s*").match(out, i).end()
        found.append(tuple(args))
    return found


def _fig(title: str, z, height=None) -> go.Figure:
    return go.Figure(go.Heatmap(z=z), layout={"title": {"text": title}, "height": height})


def test_camera_button_saves_a_16_9_png_at_scale_2_named_after_page_and_figure():
    opts = export.image_options(_fig("<b>conv1</b>, channel 3 (56×56)", [[1]], 400), "CNN explorer", "big")
    assert opts == {"format": "png", "filename": "cnn-explorer-conv1-channel-3-56-56", "width": 960, "height": 540,
                    "scale": 2}
    tall = export.image_options(_fig("", [[1]], 900), "Attention explorer", "att_model_mosaic")
    assert (tall["width"], tall["height"]) == (1600, 900)  # never squeezed: widened to 16:9 instead
    assert tall["filename"] == "attention-explorer-att-model-mosaic"  # no title: the chart's key


def test_pack_holds_every_item_in_order_with_plotly_js_inline_once():
    a, b = _fig("First map", [[0.25, 0.5], [0.75, 1.0]]), _fig("Second map", [[7, 8, 9]])
    view = '<div class="tokens"><span style="background:#ff0000">bank</span></div>'
    out = export.build_pack("CNN explorer", "layer=conv1&channel=3", [("figure", a), ("html", view), ("figure", b)])
    assert out.startswith("<!DOCTYPE html>")
    assert out.count(PLOTLY_JS) == 1
    assert out.count("<script") == 1 + 2  # the library, then one newPlot script per figure
    # the figures' own data and titles, in page order, around the HTML view
    specs = _plots(out)
    assert [s[0] for s in specs] == ["figure-0", "figure-2"]
    assert [s[1][0]["z"] for s in specs] == [[[0.25, 0.5], [0.75, 1.0]], [[7, 8, 9]]]
    assert [s[2]["title"]["text"] for s in specs] == ["First map", "Second map"]
    assert specs[0][3]["toImageButtonOptions"]["scale"] == 2
    assert out.index('id="figure-0"') < out.index(view) < out.index('id="figure-2"')
    assert "<title>CNN explorer</title>" in out and "?layer=conv1&amp;channel=3" in out


def test_pack_needs_no_network():
    out = export.build_pack("t", "", [("figure", _fig("x", [[1]]))])
    rest = out.replace(PLOTLY_JS, "")
    assert "https://cdn" not in rest and "http://" not in rest and "src=" not in rest and "MathJax" not in rest
    # plotly.js itself names two CDN defaults, for geo maps' topojson and map icons: trace types
    # nnviz never draws (the browser test checks that opening a pack requests nothing)
    assert PLOTLY_JS.count("https://cdn") == 2 and "topojsonURL" in PLOTLY_JS


def test_pack_escapes_the_title_and_link():
    out = export.build_pack("<script>alert(1)</script>", "q=<b>", [])
    assert "<script>alert(1)</script>" not in out and "&lt;script&gt;" in out and "q=&lt;b&gt;" in out


@pytest.fixture
def deferred(monkeypatch):
    """file id -> data callable of every deferred download registered (AppTest's runtime is gone
    once the run ends, so the callable is kept here to read what a click would download)."""
    seen = {}
    add = MediaFileManager.add_deferred

    def keep(self, data_callable, *args, **kwargs):
        file_id = add(self, data_callable, *args, **kwargs)
        seen[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", keep)
    return seen


def _pack_download(at, deferred) -> str:
    buttons = [b for b in at.sidebar.get("download_button") if b.proto.label == "Lecture pack (HTML)"]
    assert len(buttons) == 1
    data = deferred[buttons[0].proto.deferred_file_id]()
    return data.decode("utf-8")


def test_convolution_page_offers_its_scene_as_a_pack(deferred):
    at = open_page("pages/convolution.py", {"conv_stride": "2"})
    out = _pack_download(at, deferred)
    drawn = figures(at)
    assert len(drawn) >= 4
    packed = _plots(out)
    assert len(packed) == len(drawn)
    assert [lay.get("title", {}).get("text", "") for _, _, lay, _ in packed] == titles(at)
    assert [data for _, data, _, _ in packed] == [f["data"] for f in drawn]  # the same numbers, not a redraw
    assert "conv_stride=2" in out and "<h1>Convolution playground</h1>" in out
    assert out.count(PLOTLY_JS) == 1
    # every chart's camera button saves a slide-sized PNG named after this page
    for c in at.get("plotly_chart"):
        opts = json.loads(c.proto.config)["toImageButtonOptions"]
        assert opts["scale"] == 2 and opts["width"] / opts["height"] == pytest.approx(16 / 9, abs=0.01)
        assert opts["filename"].startswith("convolution-playground-")


def test_a_new_run_packs_only_what_it_draws(deferred):
    at = open_page("pages/convolution.py")
    first = _pack_download(at, deferred)
    at.radio(key="pool_src").set_value("The image").run()
    second = _pack_download(at, deferred)
    packed = [[lay.get("title", {}).get("text", "") for _, _, lay, _ in _plots(out)] for out in (first, second)]
    assert any(t.endswith("on the 4×4 example") for t in packed[0])
    assert not any(t.endswith("on the 4×4 example") for t in packed[1])
    assert packed[1] == titles(at)  # only this run's figures, once each


def test_recurrent_pack_has_its_coloured_text_views(deferred):
    at = open_page("pages/recurrent.py")
    out = _pack_download(at, deferred)
    drawn = [h.proto.body for h in at.get("html") if "<span" in h.proto.body]
    assert len(drawn) >= 2  # one unit on the text, the next-character context, the continuation
    for body in drawn:
        assert body in out
    assert len(_plots(out)) == len(at.get("plotly_chart"))
    assert np.all([out.count(b) == 1 for b in drawn])


def test_a_chart_redrawn_under_its_key_replaces_its_figure_in_the_pack():
    """A fragment's rerun (the step-through's Prev / Next) redraws only its own charts into the
    record the last full run started: the pack keeps one figure per chart, the newest."""
    import plotly.graph_objects as go

    from nnviz.ui.export import Pack

    pack = Pack("t")
    a, b, c = go.Figure(layout_title_text="a"), go.Figure(layout_title_text="b"), go.Figure(layout_title_text="c")
    pack.put("figure", a, "io")
    pack.put("html", "<p>x</p>")
    pack.put("figure", b, "step")
    pack.put("figure", c, "step")  # the fragment drew the step again
    assert [k for k, _ in pack.items] == ["figure", "html", "figure"]
    assert pack.figures[1] is c and pack.figures[0] is a
