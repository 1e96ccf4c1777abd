"""◀ / ▶ step buttons: one step through the widget's own values, disabled at the ends, in the link."""
from tests.app.conftest import open_page, scene_link


def test_layer_buttons_step_through_the_layers_and_stop_at_the_ends():
    at = open_page("pages/cnn.py")
    names = at.selectbox(key="layer").options
    start = names.index(at.selectbox(key="layer").value)
    at.button(key="layer_next").click().run()
    assert at.selectbox(key="layer").value == names[start + 1]
    assert scene_link(at)["layer"] == names[start + 1]
    at.selectbox(key="layer").set_value(names[0]).run()
    assert at.button(key="layer_prev").disabled and not at.button(key="layer_next").disabled
    at.selectbox(key="layer").set_value(names[-1]).run()
    assert at.button(key="layer_next").disabled and not at.button(key="layer_prev").disabled


def test_head_and_character_buttons():
    at = open_page("pages/attention.py")
    head = at.slider(key="att_head").value
    at.button(key="att_head_next").click().run()
    assert at.slider(key="att_head").value == head + 1
    at = open_page("pages/recurrent.py")
    last = at.slider(key="rnn_pos").value
    assert at.button(key="rnn_pos_next").disabled  # it opens after the last character
    at.button(key="rnn_pos_prev").click().run()
    assert at.slider(key="rnn_pos").value == last - 1
