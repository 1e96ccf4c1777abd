"""The CNN page's "Why this class" tab: the logit as a sum of channel terms that adds up as shown,
for the class the scene names; a class change runs no model."""
import json

from nnviz import runner
from tests.app.conftest import open_link, open_page, scene_link


def waterfall(at) -> dict:
    return next(json.loads(c.proto.spec)["data"][0] for c in at.get("plotly_chart")
                if json.loads(c.proto.spec)["data"][0].get("type") == "waterfall")


def check_adds_up(w: dict) -> float:
    shown = [float(t) for t in w["text"]]  # the numbers on the bars, as displayed
    assert w["measure"][-1] == "total" and len(shown) == 8 + 3
    assert f"{sum(shown[:-1]):.2f}" == f"{shown[-1]:.2f}"
    assert w["y"][-3].startswith("other ") and w["y"][-2:] == ["bias", "logit"]
    return shown[-1]


def test_why_this_class_splits_the_logit_exactly_and_follows_the_class():
    at = open_page("pages/cnn.py", {"model": "mobilenet_v2"})
    assert not at.exception and not at.error
    radio = at.radio(key="why_class")
    assert radio.value == radio.options[0]  # opens on the top class
    first = check_adds_up(waterfall(at))
    before = runner.runs()
    radio.set_value(radio.options[1]).run()
    second = check_adds_up(waterfall(at))
    assert runner.runs() == before and second < first  # the runner-up has a smaller logit
    link = scene_link(at)
    assert link.get("why_class") == radio.options[1]
    again = open_link("pages/cnn.py", link)
    assert again.radio(key="why_class").value == radio.options[1]
    assert check_adds_up(waterfall(again)) == second


def test_heads_without_a_per_channel_split_say_so():
    at = open_page("pages/cnn.py", {"model": "lenet5"})
    assert any("averages the last feature maps" in i.value for i in at.info)
