"""Every page runs under AppTest; key widgets change what is shown; views never re-run the model."""
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nnviz.capture import forwards_run
from tests.app.conftest import (
    ROOT,
    TIMEOUT,
    array,
    figures,
    open_link,
    open_page,
    scene_link,
    titles,
    unbound,
)
from tests.conftest import png_bytes


def run_page(page: str) -> AppTest:
    return open_page(page) if page != "pages/home.py" else _home()


def _home() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def test_home_lists_every_model():
    import nnviz

    at = run_page("pages/home.py")
    table = next(m.value for m in at.markdown if m.value.startswith("| model |"))
    rows = [line.split("|")[1].strip().strip("`") for line in table.splitlines()[2:]]
    assert rows == nnviz.list_models()


def test_cnn_page_defaults_to_trained_lenet_on_a_digit():
    at = run_page("pages/cnn.py")
    assert at.selectbox(key="model").value == "lenet5"
    assert any("shipped weights" in c.value for c in at.caption)
    assert not at.warning  # trained: no untrained banner
    top5 = next(f for f in figures(at) if f["data"][0].get("type") == "bar" and f["data"][0].get("orientation") == "h")
    assert top5["data"][0]["y"][-1] == "2"  # sample digit_2.png is recognised as a 2


def test_layer_switch_sort_and_scale_never_rerun_the_model():
    at = run_page("pages/cnn.py")
    before = forwards_run()
    at.selectbox(key="layer").set_value("features.3").run()
    assert any(t.startswith("features.3: channels 16 of 16") for t in titles(at))
    at.selectbox(key="sort").set_value("max").run()
    at.radio(key="scale").set_value("shared").run()
    at.selectbox(key="layer").set_value("features.2").run()
    assert not at.exception
    assert forwards_run() == before  # counted, not timed: 0 forwards for view changes


def test_new_input_runs_the_model_once():
    at = run_page("pages/cnn.py")
    before = forwards_run()
    at.selectbox(key="img_sample").set_value(next(o for o in at.selectbox(key="img_sample").options if "digit_7" in o)).run()
    assert forwards_run() == before + 1


def test_pooling_tab_shows_before_and_after_with_shapes():
    at = run_page("pages/cnn.py")
    at.selectbox(key="pool").set_value("features.5").run()
    fig = next(f for f in figures(at) if "before pooling" in json.dumps(f.get("layout", {}).get("annotations", [])))
    texts = [a["text"] for a in fig["layout"]["annotations"]]
    assert texts == ["before pooling<br>10×10", "after MaxPool2d<br>5×5"]


def test_untrained_resnet_is_labelled_and_shows_residual_block(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # no cached ImageNet weights
    at = run_page("pages/cnn.py")
    at.selectbox(key="model").set_value("resnet18").run()
    assert not at.exception
    assert any("Untrained model" in w.value for w in at.warning)
    assert any("untrained: meaningless" in t for t in titles(at))
    res = next(f for f in figures(at) if "F(x)" in json.dumps(f.get("layout", {}).get("annotations", [])))
    assert [a["text"].split("<br>")[0] for a in res["layout"]["annotations"]] == [
        "shortcut x", "F(x)", "F(x) + x", "ReLU(F(x) + x)"]


def test_bad_upload_shows_one_sentence_and_page_survives():
    at = run_page("pages/cnn.py")
    at.radio(key="img_src").set_value("Upload").run()
    at.file_uploader(key="img_upload").upload("broken.png", b"\x89PNG\r\n\x1a\nnot really", "image/png").run()
    assert not at.exception
    assert [e.value for e in at.error] and "broken.png" in at.error[0].value
    # a good image afterwards works
    img = np.zeros((64, 64, 3), np.uint8)
    img[16:48, 28:36] = 255
    at.file_uploader(key="img_upload").upload("one.png", png_bytes(img), "image/png").run()
    assert not at.exception and not at.error


def test_wrong_checkpoint_names_the_mismatch():
    import io

    import torch

    at = run_page("pages/cnn.py")
    at.radio(key="weights_src_lenet5").set_value("Upload a checkpoint").run()
    buf = io.BytesIO()
    torch.save({"fc.weight": torch.zeros(2, 2)}, buf)
    at.file_uploader(key="ckpt_lenet5").upload("wrong.pth", buf.getvalue(), "application/octet-stream").run()
    assert not at.exception
    assert "key 'features.0.weight' is missing" in at.error[0].value


def test_view_is_shared_as_a_link_and_restored_from_one():
    at = run_page("pages/cnn.py")
    at.selectbox(key="img_sample").set_value("digit_7.png").run()
    at.selectbox(key="layer").set_value("features.3").run()
    at.selectbox(key="sort").set_value("max").run()
    at.number_input(key="channel").set_value(5).run()
    at.toggle(key="overlay").set_value(True).run()
    link = scene_link(at)
    assert {"img_sample", "layer", "sort", "channel", "overlay"} <= set(link)  # defaults stay out of the URL
    assert link["layer"] == "features.3" and link["img_sample"] == "digit_7.png"
    student = open_link("pages/cnn.py", link)
    assert scene_link(student) == link
    assert titles(student) == titles(at)  # the same picture, input included


def test_every_view_widget_is_in_the_scene():
    at = run_page("pages/cnn.py")
    assert unbound(at) == []


@pytest.mark.parametrize("name", __import__("nnviz").list_models("cnn"))
def test_every_cnn_renders_every_tab(name, tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    at = run_page("pages/cnn.py")
    at.selectbox(key="model").set_value(name).run()
    assert not at.exception and not at.error
    figs = figures(at)
    assert any("First convolution" in json.dumps(f.get("layout", {}).get("title", {})) for f in figs)
    assert any("before pooling" in json.dumps(f.get("layout", {}).get("annotations", [])) for f in figs)
    mosaic = next(f for f in figs if f["data"][0].get("type") == "image" and "channels" in
                  json.dumps(f.get("layout", {}).get("title", {})))
    assert mosaic["data"][0]["source"].startswith("data:image/")


def test_sorting_puts_the_strongest_channel_first_and_opens_it():
    at = run_page("pages/cnn.py")
    at.selectbox(key="layer").set_value("features.3").run()
    at.selectbox(key="sort").set_value("max").run()
    mosaic = next(f for f in figures(at) if f["data"][0].get("type") == "image" and "channels" in
                  json.dumps(f.get("layout", {}).get("title", {})))
    order = mosaic["data"][1]["customdata"]
    big = next(n for n in at.number_input if n.label == "Channel")
    assert big.value == order[0]
    maxes = [float(t.split("max ")[1]) for t in mosaic["data"][1]["text"]]
    assert maxes == sorted(maxes, reverse=True)


def test_an_upload_survives_a_visit_to_another_page_and_is_offered_there():
    img = np.zeros((40, 60, 3), np.uint8)
    img[:, 30:] = 255
    at = run_page("pages/convolution.py")
    at.radio(key="conv_img_src").set_value("Upload").run()
    at.file_uploader(key="conv_img_upload").upload("halves.png", png_bytes(img), "image/png").run()
    assert not at.exception
    at.switch_page("pages/cnn.py")
    at.run()
    assert "Other page's image" in at.radio(key="img_src").options
    assert at.radio(key="img_src").value == "Sample"  # borrowing is offered, never forced
    at.switch_page("pages/convolution.py")
    at.run()
    assert not at.exception
    assert at.radio(key="conv_img_src").value == "Upload"
    assert any("Using your earlier upload, halves.png" in c.value for c in at.caption)


def test_convolution_settings_survive_a_visit_to_another_page():
    at = run_page("pages/convolution.py")
    at.slider(key="conv_stride").set_value(3).run()
    at.slider(key="conv_dilation").set_value(2).run()
    at.slider(key="pool_window").set_value(3).run()
    at.switch_page("pages/cnn.py")
    at.run()
    at.switch_page("pages/convolution.py")
    at.run()
    assert not at.exception
    assert (at.slider(key="conv_stride").value, at.slider(key="conv_dilation").value) == (3, 2)
    assert at.slider(key="pool_window").value == 3


@pytest.mark.parametrize("lesson", __import__("nnviz.ui.lessons", fromlist=["lessons"]).lessons(),
                         ids=lambda lesson: lesson.title)
def test_every_lesson_link_opens_its_scene(lesson):
    at = open_link(lesson.page, lesson.query)
    at.run()
    link = scene_link(at)
    link.update({w.proto.query_param_key: str(w.value) for w in at.get("button_group")})  # segmented controls
    shown = {k: v for k, v in link.items() if k in lesson.query}
    assert shown == lesson.query  # every parameter the lesson sets is what its page shows


def test_home_lists_the_lessons_with_links():
    at = run_page("pages/home.py")
    links = [p.proto.page for p in at.get("page_link")]
    assert sum(1 for x in links if x) >= len(__import__("nnviz.ui.lessons", fromlist=["lessons"]).lessons())


def test_home_says_which_models_run_trained_here(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # no cached ImageNet checkpoints
    at = run_page("pages/home.py")
    table = next(m.value for m in at.markdown if m.value.startswith("| model |"))
    runs_here = {cells[1].strip("` "): cells[4].strip() for cells in (r.split("|") for r in table.splitlines()[2:])}
    assert runs_here["lenet5"] == "trained" and runs_here["resnet18"] == "**untrained**"
    assert "shipped file nnviz/weights/lenet5.safetensors" in table


def test_one_untrained_choice_when_no_trained_weights_are_here(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    at = run_page("pages/cnn.py")
    assert at.radio(key="weights_src_lenet5").options == ["Trained", "Upload a checkpoint", "Untrained (random)"]
    at.selectbox(key="model").set_value("resnet18").run()
    assert at.radio(key="weights_src_resnet18").options == ["Untrained (random)", "Upload a checkpoint"]
    assert any("Untrained model" in w.value for w in at.warning)


def test_the_last_layer_shows_class_logits_by_name_not_probabilities():
    at = run_page("pages/cnn.py")  # lenet5 on digit_2.png
    at.selectbox(key="layer").set_value("classifier.4").run()
    bar = next(f for f in figures(at) if "top classes" in f["layout"].get("title", {}).get("text", ""))
    assert bar["data"][0]["y"][-1] == "2"  # class names, best on top
    assert "not a probability" in bar["layout"]["xaxis"]["title"]["text"]
    assert max(array(bar["data"][0]["x"])) > 1.0  # raw logits, not clamped to 100%


def test_cnn_presentation_mode_puts_the_feature_maps_first():
    at = open_page("pages/cnn.py", {"present": "1"})
    at.run()  # AppTest's switch_page drops the query string for one run
    first = figures(at)[0]
    assert "channels" in first["layout"]["title"]["text"] and first["layout"]["height"] == 560
    assert {e.label for e in at.expander} >= {"Input and prediction", "Architecture"}
    assert at.query_params["present"] == "1"


def test_an_upload_says_it_does_not_travel_in_a_link():
    at = run_page("pages/cnn.py")
    at.radio(key="img_src").set_value("Upload").run()
    assert any("a link carries this page's settings, not the file" in c.value for c in at.caption)
