"""/attention in the real app: type a text, switch views, a long text, a shared link, and a link
made in the browser opened in a fresh tab (the URL the student gets, not a rebuilt one)."""
import pytest
from playwright.sync_api import expect

from tests.browser.helpers import charts_drawn, no_exceptions, open_page, settle

pytestmark = pytest.mark.browser

VIEWS = ["One head", "All heads", "Average & rollout", "Word in context", "Step by step", "Positions",
         "Masked (GPT)", "Cross-attention"]


def open_view(page, label):
    page.get_by_text(label, exact=True).first.click()
    settle(page)
    charts_drawn(page)


def test_attention_page_views(page, app_url, shots):
    open_page(page, f"{app_url}/attention", 2600)
    charts_drawn(page)
    expect(page.get_by_role("heading", name="Attention explorer")).to_be_visible()
    box = page.locator("textarea").first
    box.fill("The trophy didn't fit in the suitcase because it was too big.")
    box.press("Control+Enter")
    settle(page)
    charts_drawn(page)
    expect(page.get_by_text("trophy", exact=True).first).to_be_visible()  # the token strip
    no_exceptions(page)
    for label in VIEWS:
        open_view(page, label)
        no_exceptions(page)
        assert page.locator(".js-plotly-plot .main-svg").count() >= 1, label
        page.screenshot(path=str(shots / f"attention_{label.split()[0].lower().strip('(')}.png"), full_page=True)
    expect(page.get_by_text("1999-03-03").first).to_be_visible()  # the date translator's greedy output
    # Whole-model thumbnails are one image each, not 72 heatmaps
    open_view(page, "All heads")
    assert page.locator(".js-plotly-plot image").count() >= 2


def test_attention_long_text_and_bad_input(page, app_url, shots):
    open_page(page, f"{app_url}/attention", 2400)
    page.get_by_role("combobox", name="Example").first.click()
    page.get_by_role("option", name="long text (over 512 tokens)").click()
    settle(page)
    charts_drawn(page, 2)
    no_exceptions(page)
    expect(page.get_by_text("MiniLM reads at most 512 tokens, so only the first 510").first).to_be_visible()
    expect(page.get_by_text("All 512×512").first).to_be_visible()  # overview image + readable window
    page.screenshot(path=str(shots / "attention_long.png"), full_page=True)
    box = page.locator("textarea").first
    box.fill("   ")
    box.press("Control+Enter")
    settle(page)
    no_exceptions(page)
    expect(page.get_by_text("the input is empty or only spaces").first).to_be_visible()


def test_attention_view_comes_back_from_a_shared_link(page, app_url):
    page.goto(f"{app_url}/attention?att_view=Step%20by%20step&att_layer=2&att_head=5")
    settle(page)
    charts_drawn(page)
    no_exceptions(page)
    expect(page.get_by_text("Layer 2, head 5, query").first).to_be_visible()


def test_attention_view_made_in_the_browser_is_in_its_url(page, app_url, context):
    open_page(page, f"{app_url}/attention", 2400)
    charts_drawn(page)
    open_view(page, "Step by step")
    for name, key in (("Layer", "Home"), ("Head", "End")):  # layer 1 (the slider's own minimum), head 12
        thumb = page.get_by_role("slider", name=name).first
        thumb.focus()
        thumb.press(key)
        settle(page)
    page.get_by_role("combobox", name="Query token").click()
    page.get_by_role("option", name="8: street").click()
    settle(page)
    charts_drawn(page)
    expect(page.get_by_text("Layer 1, head 12, query 'street' (#8)").first).to_be_visible()
    url = page.url
    assert "att_view=Step+by+step" in url and "att_layer=1" in url and "att_head=12" in url and "att_sq=8" in url
    student = context.new_page()
    open_page(student, url, 2400)
    charts_drawn(student)
    no_exceptions(student)
    expect(student.get_by_text("Layer 1, head 12, query 'street' (#8)").first).to_be_visible()
    assert student.url == url


def test_attention_presentation_mode_fills_a_projectors_first_screen(page, app_url, shots):
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{app_url}/attention?present=1")
    settle(page)
    charts_drawn(page)
    no_exceptions(page)
    box = page.locator(".js-plotly-plot").first.bounding_box()
    shown = (min(box["x"] + box["width"], 1280) - max(box["x"], 0)) * (min(box["y"] + box["height"], 720) - max(box["y"], 0))
    assert shown / (1280 * 720) >= 0.5, box  # the head's heatmap, not the text box, fills the screen
    expect(page.get_by_text("Text and tokens").first).to_be_visible()  # the text, folded
    assert "present=1" in page.url
    page.screenshot(path=str(shots / "attention_present.png"))
    page.get_by_text("Colour scale ignores the [CLS]").first.click()
    settle(page)
    expect(page.get_by_text("dashed columns: above the colour scale ([CLS]").first).to_be_visible()
