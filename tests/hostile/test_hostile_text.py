"""Hostile text for every text model through nnviz.run, as a notebook or a page calls it: empty,
1 MB, emoji, right-to-left scripts, control and zero-width characters, NUL. Each gives a trace that
reads the text as the model can (unknown characters named, long text cut with a note) or one
sentence."""
from __future__ import annotations

from functools import cache

import pytest

import nnviz
from nnviz.inputs import TEXT_CAP, TEXT_CHARS, InputError
from nnviz.models.seq2seq import SRC_VOCAB
from tests.hostile.conftest import assert_sentence

CHAR_MODELS = ("char_lstm", "char_rnn", "char_gpt")
MODELS = (*CHAR_MODELS, "minilm", "date_translator")
UNK = "\ufffd"

EMOJI = "I love \U0001F40D and \U0001F469\u200d\U0001F469\u200d\U0001F467!"  # a snake, a family (5 code points)
ARABIC = "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645"  # "hello world", right to left
HEBREW = "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd"  # "hello world", right to left
CONTROL = "a\x07b\x1bc\x7fd"  # bell, escape, delete
ZERO_WIDTH = "a\u200bb\u200dc\ufeffd\u202ee"  # zero-width space and joiner, BOM, right-to-left override
NUL = "ab\x00cd"
MEGABYTE = "x" * 2**20
TEXTS = {"emoji": EMOJI, "Arabic": ARABIC, "Hebrew": HEBREW, "control": CONTROL, "zero-width": ZERO_WIDTH, "NUL": NUL}


@cache
def model(name: str):
    return nnviz.load_model(name)


def char_view(text: str) -> list[str]:
    """What a character model reads: printable ASCII and newline as they are, the rest as U+FFFD."""
    return [ch if ch in TEXT_CHARS else UNK for ch in text]


# --- empty ----------------------------------------------------------------------------------------

EMPTY = {"char_lstm": "The text is empty: type or paste a few words or lines of code.",  # nnviz.run cleans it first
         "char_rnn": "The text is empty: type or paste a few words or lines of code.",
         "char_gpt": "Type some text: the model needs at least one character to continue.",
         "minilm": "Type some text: the input is empty or only spaces.",
         "date_translator": "Type a date, for example 'march 3rd, 1999'."}


@pytest.mark.parametrize("name", MODELS)
def test_empty_text_gets_a_sentence(name):
    with pytest.raises(InputError) as e:
        nnviz.run(model(name), "")
    assert assert_sentence(e.value) == EMPTY[name]


def test_text_of_only_removed_characters_gets_a_sentence():
    with pytest.raises(InputError) as e:
        nnviz.run(model("minilm"), "\x00\u200b\x00")
    assert_sentence(e.value, "Nothing is left to read after removing control characters")


# --- one megabyte ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["char_lstm", "char_rnn"])
def test_a_megabyte_is_cut_before_the_recurrent_loop(name, monkeypatch):
    m = model(name)
    real = m.rnn.run_layers

    def guarded(x, *args, **kwargs):  # stop before the loop instead of exhausting the machine
        assert x.shape[1] <= TEXT_CAP, f"the recurrent loop was asked to run over {x.shape[1]:,} characters"
        return real(x, *args, **kwargs)

    monkeypatch.setattr(m.rnn, "run_layers", guarded)
    try:
        tr = nnviz.run(m, MEGABYTE)
    except InputError as e:
        assert_sentence(e.value, "characters")
        return
    assert len(tr.tokens) <= TEXT_CAP and tr.notes


def test_a_megabyte_for_char_gpt_keeps_the_last_block():
    tr = nnviz.run(model("char_gpt"), MEGABYTE)
    assert tr.tokens == ["x"] * 128
    assert tr.notes == ["The model sees at most 128 characters; only the last 128 of 1,048,576 are used."]


def test_a_megabyte_of_sentences_for_minilm_is_cut_to_its_positions():
    tr = nnviz.run(model("minilm"), "The cat sat on the mat. " * 45_000)
    assert len(tr.tokens) == 512 and tr.tokens[0] == "[CLS]" and tr.tokens[-1] == "[SEP]"
    assert tr.tokens[1:7] == ["the", "cat", "sat", "on", "the", "mat"]
    assert tr.notes[0] == "The text has 1,080,000 characters; only the first 20,000 are read."
    assert "MiniLM reads at most 512 tokens" in tr.notes[1]


def test_a_megabyte_without_spaces_for_minilm_has_short_notes():
    tr = nnviz.run(model("minilm"), MEGABYTE)
    assert tr.tokens == ["[CLS]", "[UNK]", "[SEP]"]
    assert all(len(n) <= 300 for n in tr.notes), [len(n) for n in tr.notes]


def test_a_megabyte_for_the_date_translator_reads_its_first_40_characters():
    tr = nnviz.run(model("date_translator"), MEGABYTE)
    assert tr.tokens == ["x"] * 40 and tr.source == "x" * 40
    assert tr.notes[0] == "The model reads at most 40 characters; the rest is cut off."


# --- characters the models never saw --------------------------------------------------------------

@pytest.mark.parametrize("case", list(TEXTS))
@pytest.mark.parametrize("name", ["char_lstm", "char_rnn"])
def test_recurrent_models_read_unknown_characters_as_the_unknown_symbol(name, case):
    text = TEXTS[case]
    tr = nnviz.run(model(name), text)
    assert tr.tokens == char_view(text)  # one token per code point: RTL text stays in logical order
    assert tr.unknown == [i for i, ch in enumerate(text) if ch not in TEXT_CHARS]
    assert tr.output.shape == (len(text), len(tr.labels))


@pytest.mark.parametrize("case", list(TEXTS))
def test_char_gpt_reads_unknown_characters_as_the_unknown_symbol_and_counts_them(case):
    text = TEXTS[case]
    tr = nnviz.run(model("char_gpt"), text)
    assert tr.tokens == char_view(text)
    n = sum(ch not in TEXT_CHARS for ch in text)
    assert tr.notes[0].startswith(f"{n} character(s) are outside the model's ASCII vocabulary and read as \ufffd: ")
    assert tr.probs.shape == (len(text), len(tr.labels))


@pytest.mark.parametrize("case", list(TEXTS))
def test_date_translator_reads_unknown_characters_as_unk(case):
    text = TEXTS[case]
    tr = nnviz.run(model("date_translator"), text)
    src = " ".join(text.split()).lower()
    assert tr.source == src
    assert tr.tokens == [ch if ch in SRC_VOCAB else "<unk>" for ch in src]
    assert tr.notes[0].startswith("Characters the model never saw become <unk>: ")
    assert tr.valid or f"The model produced {tr.output!r}, which is not a real date (YYYY-MM-DD)." in tr.notes


MINILM = {
    "emoji": (["[CLS]", "i", "love", "[UNK]", "and", "[UNK]", "!", "[SEP]"],
              "2 piece(s) are not in MiniLM's 30,522-wordpiece vocabulary and become [UNK]"),
    "control": (["[CLS]", "abc", "##d", "[SEP]"],
                "Control characters (U+0007, U+001B, U+007F) are invisible and the tokenizer removes them."),
    "zero-width": (["[CLS]", "abc", "##de", "[SEP]"], None),
    "NUL": (["[CLS]", "abc", "##d", "[SEP]"], "Control characters (U+0000) are invisible and the tokenizer removes them."),
}


@pytest.mark.parametrize("case", list(MINILM))
def test_minilm_drops_invisible_characters_and_names_unknown_pieces(case):
    tokens, note = MINILM[case]
    tr = nnviz.run(model("minilm"), TEXTS[case])
    assert tr.tokens == tokens
    if note:
        assert tr.notes[0].startswith(note)


@pytest.mark.parametrize("case", ["Arabic", "Hebrew"])
def test_minilm_reads_right_to_left_text_in_logical_order(case):
    text = TEXTS[case]
    tr = nnviz.run(model("minilm"), text)
    pieces = tr.tokens[1:-1]
    assert "[UNK]" not in pieces and len(pieces) == len(text.replace(" ", ""))  # one piece per letter
    for tok, (a, b) in zip(pieces, tr.offsets[1:-1]):  # every piece points at its own letters
        assert text[a:b] == tok.removeprefix("##")
    assert [a for a, _ in tr.offsets[1:-1]] == sorted(a for a, _ in tr.offsets[1:-1])
