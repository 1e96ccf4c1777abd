"""Next words on the pages: the bars beside next characters are exactly nnviz.nextword's guesses
for the text up to the chosen position, and moving the position runs no model through nnviz.run."""
import json

from nnviz import runner
from nnviz.models import load_model
from nnviz.nextword import next_words
from tests.app.conftest import open_page


def word_bars(at, start: str) -> list[tuple[str, float]]:
    """(label, probability) of the bars of the figure whose title starts with `start`, best first."""
    for c in at.get("plotly_chart"):
        fig = json.loads(c.proto.spec)
        title = fig["layout"].get("title", {}).get("text", "")
        if title.startswith(start) and "probability of the word" in fig["layout"]["xaxis"]["title"]["text"]:
            bar = fig["data"][0]
            return list(zip([y.strip() for y in bar["y"]], bar["x"]))[::-1]
    raise AssertionError(f"no next-word chart titled {start!r}")


def expected(name: str, prompt: str) -> list[tuple[str, float]]:
    nw = next_words(load_model(name), prompt, k=5)
    return [(nw.prefix + g.word if g.is_word else g.word, g.prob) for g in nw.guesses]


def test_recurrent_text_view_shows_next_words_for_the_chosen_position():
    at = open_page("pages/recurrent.py")
    text = "import os\n\ndef main(path):\n    with open(path) as f:\n        ret"
    at.text_area(key="rnn_text").input(text).run()
    got = word_bars(at, "LSTM: completing 'ret'")
    want = expected("char_lstm", text)
    assert [w for w, _ in got] == [w for w, _ in want] and got[0][0] == "return"
    assert [round(p, 6) for _, p in got] == [round(p, 6) for _, p in want]
    before = runner.runs()
    at.slider(key="rnn_pos").set_value(text.index("(path)") - 1).run()  # after "main"
    assert runner.runs() == before  # next words at another position: no new run of the model
    got = word_bars(at, "LSTM: completing 'main'")
    assert [w for w, _ in got] == [w for w, _ in expected("char_lstm", text[: text.index("(path)")])]


def test_masked_gpt_view_shows_next_words():
    at = open_page("pages/attention.py", {"att_view": "Masked (GPT)"})
    at.text_area(key="gpt_text").input("for item in items:\n    print(").run()
    got = word_bars(at, "next word")
    want = expected("char_gpt", "for item in items:\n    print(")
    assert [w for w, _ in got] == [w for w, _ in want] and len(got) == 5
