"""Two texts through the same network: the same units and quantity on one colour scale, in the link."""
import json

from nnviz import runner
from tests.app.conftest import open_link, open_page, scene_link


def charts(at) -> dict[str, dict]:
    return {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def by_key(at, key: str) -> dict:
    found = [v for k, v in charts(at).items() if key in k]
    assert found, f"no chart {key}"
    return found[0]


def test_a_second_text_shares_the_first_ones_scale_and_rows():
    at = open_page("pages/recurrent.py")
    assert not [k for k in charts(at) if "rnn_heat_2" in k]
    at.toggle(key="rnn_cmp").set_value(True).run()
    at.text_area(key="rnn_text2").input("x = (1, 2)\nprint('done')\n").run()
    main = next(v for k, v in charts(at).items() if "rnn_heat" in k and "rnn_heat_" not in k)
    second = by_key(at, "rnn_heat_2")
    assert second["layout"]["title"]["text"].startswith("Second text: cell state")
    assert (main["data"][0]["zmin"], main["data"][0]["zmax"]) == (second["data"][0]["zmin"], second["data"][0]["zmax"])
    assert len(main["data"][0]["y"]) == len(second["data"][0]["y"])  # the same unit rows
    before = runner.runs()
    at.selectbox(key="rnn_kind").set_value(at.selectbox(key="rnn_kind").options[2]).run()
    assert runner.runs() == before  # another quantity: no model run for either text
    link = scene_link(at)
    assert link["rnn_cmp"] == "true" and link["rnn_text2"].startswith("x = (1, 2)")
    again = open_link("pages/recurrent.py", link)
    assert again.text_area(key="rnn_text2").value.startswith("x = (1, 2)")
    assert any("rnn_heat_2" in k for k in charts(again))
