"""Compare two images: the same layer's channels of both on one colour scale, in the link."""
import json

import numpy as np

import nnviz
from nnviz.plots.cnn import comparison_limits
from tests.app.conftest import open_link, open_page, scene_link


def test_two_images_share_one_scale_and_travel_in_the_link():
    at = open_page("pages/cnn.py", {"layer": "features.3"})
    assert not [c for c in at.get("plotly_chart") if "cmp_a" in c.proto.id]  # off: no second run
    at.toggle(key="cmp").set_value(True).run()
    charts = {c.proto.id.split("-")[-1]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    a = next(v for k, v in charts.items() if "cmp_a" in k)
    b = next(v for k, v in charts.items() if "cmp_b" in k)
    assert a["layout"]["title"]["text"] == "This image: 16 channels" and b["layout"]["title"]["text"].startswith("Second")
    assert "of both" in a["data"][-1]["marker"]["colorbar"]["title"]["text"]  # per channel, over both images
    assert at.selectbox(key="img2_sample").value != at.selectbox(key="img_sample").value
    link = scene_link(at)
    assert link["img2_sample"] == at.selectbox(key="img2_sample").value
    again = open_link("pages/cnn.py", link)
    assert again.selectbox(key="img2_sample").value == link["img2_sample"]


def test_comparison_limits_span_both_images():
    a = np.array([[[0.0, 1.0]], [[5.0, 5.0]]])  # (2, 1, 2)
    b = np.array([[[-1.0, 0.5]], [[2.0, 9.0]]])
    lo, hi = comparison_limits(a, b, per_channel=True)
    assert list(lo) == [-1.0, 2.0] and list(hi) == [1.0, 9.0]
    vmin, vmax, _ = comparison_limits(a, b, per_channel=False)
    assert (vmin, vmax) == (-9.0, 9.0)  # signed: symmetric around zero
    fig_a = nnviz.plots.feature_mosaic(a, [0, 1], False, limits=(vmin, vmax, "RdBu_r"))
    assert fig_a.data[-1].marker.cmin == -9.0 and fig_a.data[-1].marker.cmax == 9.0
