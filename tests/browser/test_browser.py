"""Use the app as a person would: real server, real Chromium, real clicks and uploads."""
import io

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.helpers import charts_drawn, no_exceptions, settle

pytestmark = pytest.mark.browser


def test_first_visit_straight_to_cnn_gets_the_full_app(page, app_url):
    # Runs first on a fresh server: Streamlit's pages/ folder must not turn this into an
    # old-style multipage app without app.py's navigation.
    page.goto(f"{app_url}/cnn")
    settle(page)
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "CNN explorer" in nav and "Home" in nav
    expect(page.get_by_role("heading", name="CNN explorer")).to_be_visible()


def test_home_page(page, app_url, shots):
    page.goto(app_url)
    settle(page)
    expect(page.get_by_text("watch neural networks think")).to_be_visible()
    expect(page.get_by_text("lenet5").first).to_be_visible()
    no_exceptions(page)
    page.screenshot(path=str(shots / "home.png"), full_page=True)


def test_cnn_page_upload_and_switch_layers(page, app_url, shots):
    page.goto(f"{app_url}/cnn")
    settle(page)
    charts_drawn(page)
    no_exceptions(page)
    page.screenshot(path=str(shots / "cnn_default.png"), full_page=True)

    # upload a photo of a "7"-like stroke drawn on white paper
    img = np.full((120, 90, 3), 255, np.uint8)
    img[20:30, 15:75] = 0
    img[30:100, 55:66] = 0
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    page.get_by_text("Upload", exact=True).click()
    settle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
        files=[{"name": "seven.png", "mimeType": "image/png", "buffer": buf.getvalue()}])
    settle(page)
    no_exceptions(page)
    expect(page.get_by_text("What lenet5 sees")).to_be_visible()

    # switch layer through the selectbox (scrolled to first, as a user would: a menu opened by a
    # click that also scrolls Streamlit's container closes again)
    layer_box = page.get_by_role("combobox", name="Layer", exact=True)
    layer_box.scroll_into_view_if_needed()
    layer_box.click()
    page.get_by_role("option", name="features.3").first.click()
    settle(page)
    charts_drawn(page)
    expect(page.get_by_text("features.3: channels 16 of 16").first).to_be_visible()
    charts = page.locator(".js-plotly-plot")
    assert charts.count() >= 4
    # the mosaic arrived as one image, not a heatmap per channel
    assert page.locator(".js-plotly-plot image").count() >= 2
    no_exceptions(page)
    page.screenshot(path=str(shots / "cnn_features3.png"), full_page=True)


def test_cnn_page_survives_a_corrupt_upload(page, app_url, shots):
    page.goto(f"{app_url}/cnn")
    settle(page)
    page.get_by_text("Upload", exact=True).click()
    settle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
        files=[{"name": "broken.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff\xe0garbage"}])
    settle(page)
    no_exceptions(page)
    assert page.locator('[data-testid="stAlertContentError"]').first.inner_text().startswith("broken.jpg")
    page.screenshot(path=str(shots / "cnn_bad_upload.png"), full_page=True)
