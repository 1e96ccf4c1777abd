"""/recurrent in the real app: type text, switch views, upload a CSV, open a shared link, with screenshots."""
from urllib.parse import urlencode

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser.helpers import charts_drawn, no_exceptions, open_page, settle

pytestmark = pytest.mark.browser


def test_recurrent_text_view_typing_and_comparing(page, app_url, shots):
    open_page(page, f"{app_url}/recurrent", 2600)
    charts_drawn(page, 3)
    no_exceptions(page)
    expect(page.get_by_role("heading", name="RNN & LSTM explorer")).to_be_visible()
    expect(page.get_by_text("LSTM: cell state c, characters 0-79").first).to_be_visible()
    page.screenshot(path=str(shots / "recurrent_text.png"), full_page=True)

    thumb = page.get_by_role("slider", name="After character")  # predict after the first character...
    thumb.focus()
    thumb.press("Home")
    settle(page)
    expect(page.get_by_text("LSTM: after 'd' (character 0)").first).to_be_visible()
    box = page.get_by_label("Text (up to 2,000 characters)")
    box.fill("if (a[0] == 'x'):\n    print(\"depth (one [two])\")\n")
    box.press("Control+Enter")
    settle(page)
    charts_drawn(page, 3)
    expect(page.get_by_text("characters 0-48 of 49").first).to_be_visible()  # the window shrinks to the text
    expect(page.get_by_text("LSTM: after '↵' (character 48)").first).to_be_visible()  # ...a new text: after its last
    page.get_by_text("Compare both").click()
    settle(page)
    charts_drawn(page, 5)
    expect(page.get_by_text("RNN: hidden state h").first).to_be_visible()
    assert page.locator('[data-testid="stHtml"]').count() >= 4  # coloured text, context, two continuations
    no_exceptions(page)
    page.screenshot(path=str(shots / "recurrent_compare.png"), full_page=True)


def test_recurrent_series_and_why_views(page, app_url, shots):
    open_page(page, f"{app_url}/recurrent?rnn_view=Time+series", 2000)
    charts_drawn(page)
    no_exceptions(page)
    expect(page.get_by_text("Naive: repeat the last value")).to_be_visible()
    assert page.locator(".js-plotly-plot .heatmaplayer, .js-plotly-plot .hm").count() >= 1  # states under the series
    page.screenshot(path=str(shots / "recurrent_series.png"), full_page=True)

    page.get_by_text("Why LSTMs", exact=True).click()
    settle(page)
    charts_drawn(page)
    no_exceptions(page)
    assert "rnn_view=Why+LSTMs" in page.url
    expect(page.get_by_text("below float32's smallest number").first).to_be_visible()
    page.screenshot(path=str(shots / "recurrent_why.png"), full_page=True)


def test_recurrent_upload_trains_in_the_app(page, app_url, shots):
    open_page(page, f"{app_url}/recurrent?rnn_view=Time+series", 2000)
    page.get_by_text("Upload a CSV").click()
    settle(page)
    rows = ["Date,Close"] + [f"2021-{1 + i // 28:02d}-{1 + i % 28:02d},\"{1000 + 300 * np.sin(i / 8) + i:,.2f}\""
                             for i in range(200)]
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
        files=[{"name": "prices.csv", "mimeType": "text/csv", "buffer": "\n".join(rows).encode()}])
    settle(page)
    page.get_by_role("button", name="Train a small LSTM").click()
    settle(page)
    charts_drawn(page)
    no_exceptions(page)
    expect(page.get_by_text("Trained in the app")).to_be_visible()
    page.screenshot(path=str(shots / "recurrent_upload.png"), full_page=True)

    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
        files=[{"name": "words.csv", "mimeType": "text/csv", "buffer": b"name,city\nann,paris\n"}])
    settle(page)
    no_exceptions(page)
    assert "no column of numbers" in page.locator('[data-testid="stAlertContentError"]').first.inner_text()


def test_recurrent_link_rebuilds_the_view_and_it_survives_another_page(page, app_url, shots):
    link = {"rnn_text": "def f(a):\n    return [a, (a, 'b')]\n", "rnn_kind": "forget gate f (how much to keep)",
            "rnn_width": "30", "rnn_unit": "7", "rnn_pattern": "inside quotes"}
    open_page(page, f"{app_url}/recurrent?{urlencode(link)}")
    charts_drawn(page, 3)
    no_exceptions(page)
    title = "LSTM: forget gate f (how much to keep), characters 0-29 of 35"
    expect(page.get_by_text(title).first).to_be_visible()
    expect(page.get_by_text("Colour: forget gate f (how much to keep) of unit 7.")).to_be_visible()
    page.screenshot(path=str(shots / "recurrent_link.png"), full_page=True)

    page.get_by_role("link", name="CNN explorer").click()
    settle(page)
    assert "rnn_width" not in page.url  # another page's URL carries only its own scene
    page.get_by_role("link", name="RNN & LSTM explorer").click()
    settle(page)
    charts_drawn(page, 3)
    no_exceptions(page)
    expect(page.get_by_text(title).first).to_be_visible()
    assert "rnn_width=30" in page.url and "rnn_unit=7" in page.url


# Measured as ../shared/tools/lecture_lint.py does: the key figure's share of a 1280x720 screen,
# figure text under 14 px, and neighbouring tick labels whose boxes overlap.
PROJECTOR = """() => {
  const plot = document.querySelector('.js-plotly-plot');
  const b = plot.getBoundingClientRect();
  const seen = Math.max(0, Math.min(b.right, 1280) - Math.max(b.left, 0)) *
               Math.max(0, Math.min(b.bottom, 720) - Math.max(b.top, 0));
  let small = 0, overlaps = 0;
  for (const t of document.querySelectorAll('.js-plotly-plot text'))
    if (t.textContent.trim() && parseFloat(getComputedStyle(t).fontSize) < 14) small++;
  for (const p of document.querySelectorAll('.js-plotly-plot'))
    for (const sel of ['g.xtick text', 'g.ytick text']) {
      const r = [...p.querySelectorAll(sel)].filter(t => t.textContent.trim()).map(t => t.getBoundingClientRect());
      for (let i = 0; i + 1 < r.length; i++)
        if (r[i].left < r[i + 1].right - 1 && r[i + 1].left < r[i].right - 1 &&
            r[i].top < r[i + 1].bottom - 1 && r[i + 1].top < r[i].bottom - 1) overlaps++;
    }
  return {share: seen / (1280 * 720), bottom: b.bottom, title: plot.querySelector('.gtitle')?.textContent || '',
          small, overlaps};
}"""


@pytest.mark.parametrize("view,title", [("Text", "LSTM: cell state c"), ("Time series", "sunspot number: forecast"),
                                        ("Why LSTMs", "Gradient of the last prediction")])
def test_recurrent_presentation_mode_fills_a_projector_screen(page, app_url, shots, view, title):
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{app_url}/recurrent?{urlencode({'present': '1', 'rnn_view': view})}")
    settle(page)
    charts_drawn(page)
    no_exceptions(page)
    got = page.evaluate(PROJECTOR)
    assert got["title"].startswith(title)  # the view's key figure is the first one
    assert got["share"] >= 0.5 and got["bottom"] <= 720, got  # large, and whole on the first screen
    assert got["small"] == 0 and got["overlaps"] == 0, got
    expect(page.get_by_label("Text (up to 2,000 characters)")).to_be_hidden()  # folded away (or not on this view)
    assert "present=1" in page.url
    page.screenshot(path=str(shots / f"recurrent_present_{view.split()[0].lower()}.png"))
