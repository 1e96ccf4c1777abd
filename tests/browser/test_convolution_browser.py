"""The convolution playground in a real browser: it draws, reacts to a setting, and never shows a traceback."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import charts_drawn, no_exceptions, open_page, press, settle

pytestmark = pytest.mark.browser


def test_convolution_page_draws_and_reacts(page, app_url, shots):
    open_page(page, f"{app_url}/convolution", 4400)
    charts_drawn(page, 6)
    no_exceptions(page)
    expect(page.get_by_text("425×638 (height × width)").first).to_be_visible()
    page.screenshot(path=str(shots / "convolution_default.png"), full_page=True)

    # a different preset and the next window: the page re-renders with the new kernel
    page.get_by_role("combobox", name="Preset", exact=True).click()
    page.get_by_role("option", name="Sobel x").first.click()
    settle(page)
    press(page, "ArrowRight")  # the step-through's Next, from the keyboard
    charts_drawn(page, 6)
    expect(page.get_by_text("output: Sobel x").first).to_be_visible()
    expect(page.get_by_text(re.compile(r"output cell \(\d+, \d+\)")).first).to_be_visible()
    # the input/output images and the step-through grids all arrived
    assert page.locator(".js-plotly-plot image").count() >= 2
    assert page.locator(".js-plotly-plot .hm").count() + page.locator(".js-plotly-plot image").count() >= 8
    no_exceptions(page)
    page.screenshot(path=str(shots / "convolution_sobel_step.png"), full_page=True)


def test_the_url_carries_the_view_to_a_student(page, app_url, context):
    open_page(page, f"{app_url}/convolution", 3000)
    page.get_by_role("combobox", name="Preset", exact=True).click()
    page.get_by_role("option", name="Sobel x").first.click()
    settle(page)
    page.get_by_role("button", name="▶").first.click()
    settle(page)
    expect(page).to_have_url(re.compile(r"conv_preset=Sobel(\+|%20)x"))
    expect(page).to_have_url(re.compile(r"conv_pos=1"))
    cell = page.get_by_text(re.compile(r"output cell \(\d+, \d+\)")).first.text_content()
    student = context.new_page()  # a student opening the shared link
    open_page(student, page.url, 3000)
    charts_drawn(student, 6)
    expect(student.get_by_text("output: Sobel x").first).to_be_visible()
    assert student.get_by_text(re.compile(r"output cell \(\d+, \d+\)")).first.text_content() == cell
    no_exceptions(student)
