"""Arrow keys step what a lecture steps through (layers, heads, characters), as the ◀ / ▶ buttons do."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import charts_drawn, no_exceptions, open_page, press

pytestmark = pytest.mark.browser


def test_arrow_keys_step_layers_heads_and_characters(page, app_url):
    open_page(page, f"{app_url}/cnn?layer=features.3", 1400)
    charts_drawn(page, 2)
    press(page, "ArrowRight")
    expect(page).to_have_url(re.compile(r"layer=features\.4"))
    press(page, "ArrowLeft")
    press(page, "ArrowLeft")
    expect(page).to_have_url(re.compile(r"layer=features\.2"))

    open_page(page, f"{app_url}/attention", 1400)
    charts_drawn(page, 1)
    press(page, "ArrowRight")  # the encoder opens on head 2
    expect(page).to_have_url(re.compile(r"att_head=3"))

    open_page(page, f"{app_url}/recurrent?rnn_pos=10", 1400)
    press(page, "ArrowLeft")
    expect(page).to_have_url(re.compile(r"rnn_pos=9"))
    no_exceptions(page)
