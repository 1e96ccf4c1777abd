"""A lecture pack opens offline: a real page's figures, written by the Python builder, drawn by
Chromium from a file:// URL with every request off the machine aborted (and none attempted)."""
from pathlib import Path

import plotly.offline
import pytest

from nnviz.ui import export
from tests.app.conftest import open_page
from tests.browser import helpers

pytestmark = pytest.mark.browser

LOCAL = ("file:", "data:", "blob:", "about:")


@pytest.mark.parametrize("path", ["pages/convolution.py", "pages/recurrent.py"])
def test_pack_from_a_real_page_renders_from_a_file_with_no_network(page, tmp_path, path):
    at = open_page(path)
    pack = at.session_state[export.RECORD_KEY]
    n = len(pack.figures)
    assert n >= 4 and n == len(at.get("plotly_chart"))
    target = tmp_path / "pack.html"
    target.write_bytes(export.pack_bytes(pack))

    leaving = []
    page.on("request", lambda r: None if r.url.startswith(LOCAL) else leaving.append(r.url))

    def only_local(route):
        if route.request.url.startswith(LOCAL):
            route.continue_()
        else:
            leaving.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(target.as_uri())  # waits for the load event: every script the file names has been asked for
    assert leaving == []
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {n}", timeout=30_000)
    assert page.locator(".js-plotly-plot").count() == n
    # each figure drew its traces: a heatmap, an image, bars or lines inside its plot area
    drawn = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(
        p => p.querySelectorAll('.hm, image, .bars path, .scatterlayer path, .imagelayer image').length)""")
    assert all(k > 0 for k in drawn), drawn
    assert page.locator("h1").inner_text() == pack.title
    if path.endswith("recurrent.py"):  # its coloured-text views came along
        assert sum(1 for kind, _ in pack.items if kind == "html") >= 2
        assert page.locator("section.item span[style*='background']").count() > 50
    page.wait_for_timeout(500)  # anything a late script might fetch
    assert leaving == []


def test_the_sidebar_button_downloads_the_scene_on_screen(page, app_url):
    helpers.open_page(page, f"{app_url}/convolution", 3000)
    helpers.charts_drawn(page, 6)
    with page.expect_download() as got:
        page.get_by_role("button", name="Lecture pack (HTML)").click()
    download = got.value
    assert download.suggested_filename == "nnviz-convolution-playground.html"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text.count(plotly.offline.get_plotlyjs()) == 1
    # one packed figure per chart the page shows, built from the run that drew them
    assert text.count("Plotly.newPlot(") == page.locator(".js-plotly-plot").count() >= 5
    assert "Link to this view:" in text and "conv_preset" not in text  # the defaults: nothing in the link

    # another kernel: the next pack is the new scene, and its link brings a student to it
    page.get_by_role("combobox", name="Preset", exact=True).click()
    page.get_by_role("option", name="Sobel x").first.click()
    helpers.settle(page)
    with page.expect_download() as got:
        page.get_by_role("button", name="Lecture pack (HTML)").click()
    text = Path(got.value.path()).read_text(encoding="utf-8")
    assert "conv_preset=Sobel+x" in text and "output: Sobel x" in text
    helpers.no_exceptions(page)
