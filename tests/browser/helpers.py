"""What every browser test does: wait for Streamlit to finish, for charts to draw, and check for tracebacks."""
from playwright.sync_api import expect

# Charts draw after the script finishes; visibility checks retry instead of racing them.
expect.set_options(timeout=30_000)


SETTLED = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def settle(page, timeout=120_000):
    """Wait for a finished script run with no stale elements, then for charts to draw."""
    page.wait_for_timeout(300)
    page.wait_for_selector(SETTLED, timeout=timeout)
    page.wait_for_function("document.querySelectorAll('[data-stale=\"true\"]').length === 0", timeout=timeout)
    page.wait_for_timeout(300)
    page.wait_for_selector(SETTLED, timeout=timeout)


def charts_drawn(page, n=1):
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {n}", timeout=60_000)


def no_exceptions(page):
    assert page.locator('[data-testid="stException"]').count() == 0


def open_page(page, url: str, height: int = 2600) -> None:
    """Open `url` in a tall viewport (Streamlit scrolls inside its own container, so a tall
    window is what makes a screenshot show the whole page) and wait for it to settle."""
    page.set_viewport_size({"width": 1600, "height": height})
    page.goto(url)
    settle(page)


def press(page, key: str) -> None:
    """A keyboard shortcut as a lecturer presses it: nothing focused (a focused slider or text box
    would take the key itself), then wait for the rerun."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press(key)
    settle(page)
