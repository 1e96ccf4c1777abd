"""Next words by beam search over characters: each probability shown is the word's exact
probability under the model, recomputed here from the model's own next-character trace."""
import numpy as np
import pytest

import nnviz
from nnviz.models import load_model
from nnviz.nextword import is_word_char, next_words, sample_word

MODELS = ["char_lstm", "char_rnn", "char_gpt"]


@pytest.fixture(scope="module", params=MODELS)
def model(request):
    return load_model(request.param)


def chain_prob(model, prompt: str, continuation: str) -> float:
    """P(continuation | prompt) from one run over prompt + continuation: the product of each
    character's probability as the model's trace gives it."""
    tr = nnviz.run(model, prompt + continuation)
    labels = list(tr.labels)
    p = 1.0
    for i, ch in enumerate(continuation):
        pos = len(prompt) - 1 + i
        probs = tr.probs(pos) if callable(tr.probs) else tr.probs[pos]
        p *= float(probs[labels.index(ch)])
    return p


def ends_prob(model, text: str) -> float:
    """P(the next character ends a word | text), from the trace."""
    tr = nnviz.run(model, text)
    probs = tr.probs(len(text) - 1) if callable(tr.probs) else tr.probs[len(text) - 1]
    return float(sum(p for ch, p in zip(tr.labels, probs) if not is_word_char(ch) or ch == "\ufffd"))


@pytest.mark.parametrize("prompt", ["def f(x):\n    return x\n\n\nclass ", "    for i in ra"])
def test_each_probability_is_the_words_exact_probability(model, prompt):
    nw = next_words(model, prompt, k=4)
    assert nw.guesses and len(nw.guesses) <= 4
    probs = [g.prob for g in nw.guesses]
    assert probs == sorted(probs, reverse=True)
    assert nw.covered == pytest.approx(sum(probs)) and nw.covered <= 1 + 1e-6
    for g in nw.guesses:
        if g.is_word:  # its characters, then any character that ends the word
            expected = chain_prob(model, prompt, g.word) * ends_prob(model, prompt + g.word) if g.word else \
                ends_prob(model, prompt)
        else:  # a lone word-ending character
            expected = chain_prob(model, prompt, g.word)
        assert g.prob == pytest.approx(expected, rel=2e-3, abs=1e-7)


def test_a_text_ending_inside_a_word_is_completed(model):
    nw = next_words(model, "import os\nimport sys\n\ndef main():\n    ret", k=3)
    assert nw.prefix == "ret"
    assert nw.guesses[0].is_word and ("ret" + nw.guesses[0].word) == "return"


def test_beam_search_finds_the_exact_top_one_letter_words(model):
    """With words of at most one character (max_chars=2) and a beam wider than the alphabet, the
    search must equal brute force over every character."""
    prompt = "x = y + "
    nw = next_words(model, prompt, k=5, beam=100, max_chars=2)
    tr = nnviz.run(model, prompt)
    p0 = tr.probs(len(prompt) - 1) if callable(tr.probs) else tr.probs[len(prompt) - 1]
    brute = {}
    for j, ch in enumerate(tr.labels):
        if ch == "\ufffd":
            continue
        if is_word_char(ch):
            brute[ch] = float(p0[j]) * ends_prob(model, prompt + ch)
        else:
            brute["\x00" + ch] = float(p0[j])
    want = sorted(brute.items(), key=lambda kv: -kv[1])[:5]
    got = [(g.word if g.is_word else "\x00" + g.word, g.prob) for g in nw.guesses]
    assert [w for w, _ in got] == [w for w, _ in want]
    np.testing.assert_allclose([p for _, p in got], [p for _, p in want], rtol=2e-3)


def test_greedy_sample_follows_the_likeliest_characters(model):
    prompt = "def f(self):\n    return se"
    word = sample_word(model, prompt, temperature=0.0, seed=0)
    text = prompt
    for ch in word:  # every character was the argmax after the text before it
        tr = nnviz.run(model, text)
        probs = tr.probs(len(text) - 1) if callable(tr.probs) else tr.probs[len(text) - 1]
        assert tr.labels[int(np.argmax(probs))] == ch
        text += ch
    tr = nnviz.run(model, text)
    probs = tr.probs(len(text) - 1) if callable(tr.probs) else tr.probs[len(text) - 1]
    assert not is_word_char(tr.labels[int(np.argmax(probs))])  # and then the word ended


def test_sampling_is_seeded_and_temperature_changes_it():
    m = load_model("char_lstm")
    a = [sample_word(m, "import ", 1.0, s) for s in range(6)]
    assert a == [sample_word(m, "import ", 1.0, s) for s in range(6)]
    assert len(set(a)) > 1  # different seeds draw different words at temperature 1
    assert len({sample_word(m, "import ", 0.0, s) for s in range(6)}) == 1  # greedy ignores the seed


def test_word_prefix():
    from nnviz.nextword import word_prefix

    assert word_prefix("if x") == "x" and word_prefix("self.__cl") == "__cl"
    assert word_prefix("print(") == "" and word_prefix("") == "" and word_prefix("abc") == "abc"
