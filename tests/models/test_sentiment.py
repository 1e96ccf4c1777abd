"""The sentiment LSTM: the step-by-step layer equals nn.LSTM on the same weights, the running
prediction after the last word is the classifier's prediction, the tokeniser keeps negation and
punctuation, and nnviz.run reads a sentence (not characters) with its own cap and errors."""
import numpy as np
import pytest
import torch

import nnviz
from nnviz import runner
from nnviz.models import sentiment as S
from nnviz.traces import RecurrentTrace
from nnviz.types import InputError

TEXT = "The acting was not good, but the story was wonderful."


@pytest.fixture(scope="module")
def model():
    return nnviz.load_model("sentiment_lstm")


def _twin(model: S.SentimentLSTM) -> S.SentimentLSTM:
    """A copy of `model` with PyTorch's fused nn.LSTM as .rnn, loaded strict with the same weights."""
    twin = S.SentimentLSTM(model.vocab, model.embed.embedding_dim, model.rnn.hidden_size)
    twin.rnn = torch.nn.LSTM(model.embed.embedding_dim, model.rnn.hidden_size, 1, batch_first=True)
    twin.load_state_dict(model.state_dict(), strict=True)
    return twin.eval()


# --- tokeniser -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, tokens", [
    ("I didn't like it, but...", ["i", "did", "n't", "like", "it", ",", "but", ".", ".", "."]),
    ("It ISN'T bad", ["it", "is", "n't", "bad"]),
    ("can't won't", ["can", "n't", "will", "n't"]),
    ("it\u2019s not great", ["it", "'s", "not", "great"]),  # a typographic apostrophe reads as '
    ("''Conan''", ["'", "'", "conan", "'", "'"]),  # quotes are punctuation, not clitics
    ("Café naïve", ["café", "naïve"]),  # accented letters stay inside their word
    ("well-made 2002", ["well", "-", "made", "2002"]),
])
def test_tokeniser(text, tokens):
    assert S.tokenize(text) == tokens


def test_first_words_cuts_at_a_token_count():
    text = " ".join(f"w{i}," for i in range(50))  # 100 tokens
    cut, n = S.first_words(text, 30)
    assert n == 100 and len(S.tokenize(cut)) == 30 and text.startswith(cut)
    assert S.first_words("short text", 30) == ("short text", 2)
    cut, n = S.first_words("Good," * 100, 7)  # no spaces: cut inside the one piece
    assert n == 200 and S.tokenize(cut) == ["good", ","] * 3 + ["good"]
    cut, n = S.first_words("I can't stop, it isn't over", 4)
    assert S.tokenize(cut) == ["i", "can", "n't", "stop"] and n == 9


def test_vocabulary_is_ordered_by_count_and_drops_rare_words():
    vocab = S.build_vocab([["b", "a", "b"], ["a", "c", "b"]], min_count=2)
    assert vocab == (S.PAD, S.UNK, "b", "a")


# --- equivalence -----------------------------------------------------------------------------------


def test_step_lstm_equals_nn_lstm_on_the_same_weights(model):
    twin = _twin(model)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(2, len(model.vocab), (3, 17), generator=g)  # (B, T)
    with torch.inference_mode():
        torch.testing.assert_close(model(ids), twin(ids))  # (B, T, 2) after every word
        out, (h, c) = twin.rnn(model.embed(ids))
        step_out, (step_h, step_c) = model.rnn(model.embed(ids))
    torch.testing.assert_close(step_out, out)
    torch.testing.assert_close(step_h, h)
    torch.testing.assert_close(step_c, c)


def test_random_weights_equal_too():
    m = nnviz.load_model("sentiment_lstm", "random")
    assert not m.weights_info.trained
    ids = torch.randint(2, len(m.vocab), (2, 9))
    with torch.inference_mode():
        torch.testing.assert_close(m(ids), _twin(m)(ids))


def test_running_prediction_at_the_last_word_is_the_classifiers(model):
    trace = model.run(TEXT)
    probs = model.predict(TEXT)  # (2,)
    np.testing.assert_allclose(trace.probs(len(trace.tokens) - 1), probs, rtol=1e-5, atol=1e-6)
    # the same sentence in a right-padded batch through the fused LSTM (as in training and scoring)
    ids = torch.from_numpy(model.encode(TEXT).ids)
    batch = torch.zeros(2, len(ids) + 5, dtype=torch.long)
    batch[0, : len(ids)] = ids
    with torch.inference_mode():
        logits = _twin(model)(batch)[0, len(ids) - 1]
    np.testing.assert_allclose(torch.softmax(logits.double(), -1).numpy(), probs, rtol=1e-5, atol=1e-6)
    # each earlier point is the prediction for the sentence cut after that word
    words = trace.tokens
    k = words.index("but")
    np.testing.assert_allclose(trace.probs(k), model.predict(" ".join(words[: k + 1])), rtol=1e-5, atol=1e-6)


def test_trace_holds_words_gates_and_two_logits_per_word(model):
    trace = model.run(TEXT)
    T, H = len(S.tokenize(TEXT)), model.rnn.hidden_size
    assert trace.tokens == S.tokenize(TEXT) and trace.length == T
    assert trace.output.shape == (T, 2) and trace.output_kind == "logits"
    assert trace.labels == ("negative", "positive") == model.spec.labels
    for gate in ("input", "forget", "output"):
        g = trace.states(gate)
        assert g.shape == (T, H) and g.min() >= 0 and g.max() <= 1
    c = trace.states("c")
    f, i, cand = trace.states("forget"), trace.states("input"), trace.states("cell")
    np.testing.assert_allclose(c[1:], f[1:] * c[:-1] + i[1:] * cand[1:], rtol=1e-5, atol=1e-6)  # c_t = f c_{t-1} + i g
    np.testing.assert_allclose(trace.probs(3).sum(), 1.0)


def test_unknown_words_are_named(model):
    trace = model.run("The zzqxv was good")
    assert trace.unknown == [1]
    assert any('"zzqxv"' in n and "<unk>" in n for n in trace.notes)


# --- registry and runner -----------------------------------------------------------------------------


def test_registered_as_a_recurrent_sentiment_model():
    spec = nnviz.get_spec("sentiment_lstm")
    assert spec.family == "recurrent" and spec.input_kind == "text" and spec.trace == "recurrent"
    assert spec.labels == ("negative", "positive") and spec.extra["task"] == "sentiment"
    assert "sentiment_lstm" in nnviz.list_models("recurrent", input_kind="text")


def test_shipped_file_records_the_vocabulary_the_model_uses(model):
    from nnviz.weights import shipped_values

    recorded = shipped_values("sentiment_lstm.safetensors")["config"]
    assert tuple(recorded["vocab"]) == model.vocab and model.vocab[:2] == (S.PAD, S.UNK)
    assert model.embed.num_embeddings == len(recorded["vocab"]) and model.rnn.hidden_size == recorded["hidden"]


def test_nnviz_run_reads_words(model):
    trace = nnviz.run("sentiment_lstm", TEXT)
    assert isinstance(trace, RecurrentTrace) and trace.model == "sentiment_lstm" and trace.weights.trained
    np.testing.assert_allclose(trace.output, model.run(TEXT).output, rtol=1e-6, atol=1e-6)
    assert not trace.notes  # plain ASCII English: nothing to say


def test_runner_cleans_control_characters_and_caps_words(model):
    trace = nnviz.run(model, "good\x00film\u200b!")
    assert trace.tokens == ["good", "film", "!"]
    assert any("control" in n for n in trace.notes)
    long = " ".join(["fine"] * (runner.WORD_CAP + 50))
    trace = nnviz.run(model, long)
    assert len(trace.tokens) == runner.WORD_CAP
    assert any(f"{runner.WORD_CAP + 50:,} words" in n for n in trace.notes)


@pytest.mark.parametrize("text", ["", "   \n", "?!... ,,", "\x00\x01"])
def test_text_without_words_gets_one_sentence(model, text):
    with pytest.raises(InputError) as e:
        nnviz.run(model, text)
    msg = str(e.value)
    assert msg.count(". ") == 0 and "\n" not in msg  # one sentence


def test_character_models_still_get_character_cleaning():
    trace = nnviz.run("char_lstm", "caf\u00e9")
    assert len(trace.tokens) == 4 and any("never saw" in n for n in trace.notes)


def test_the_char_models_page_does_not_list_it():
    from nnviz.ui.recurrent import text_models

    assert "sentiment_lstm" not in text_models().values()


@pytest.mark.parametrize("text, words", [
    ("I love \U0001F40D!", ["i", "love", "\U0001F40D", "!"]),  # an emoji is a token of its own (unknown)
    ("great\u200bfilm", ["great", "film"]),  # a zero-width space does not glue two words unseen
    ("\u0645\u0631\u062d\u0628\u0627 good", ["\u0645\u0631\u062d\u0628\u0627", "good"]),  # right-to-left script: one word
])
def test_hostile_text_is_read_as_words(model, text, words):
    trace = nnviz.run(model, text)
    assert trace.tokens == words and trace.output.shape == (len(words), 2)


def test_a_megabyte_is_cut_before_the_loop(model, monkeypatch):
    real = model.rnn.run_layers

    def guarded(x, *args, **kwargs):
        assert x.shape[1] <= runner.WORD_CAP, f"the loop was asked to run over {x.shape[1]:,} words"
        return real(x, *args, **kwargs)

    monkeypatch.setattr(model.rnn, "run_layers", guarded)
    trace = nnviz.run(model, "fine " * 2**18)  # 1.3 MB, 262,144 words
    assert len(trace.tokens) == runner.WORD_CAP
    assert any(n.startswith("the text has more than ") for n in trace.notes)  # only a prefix was counted
    trace = nnviz.run(model, "x" * 2**20)  # one endless "word"
    assert len(trace.tokens) == 1 and trace.unknown == [0]
    assert any("characters are read" in n for n in trace.notes)
