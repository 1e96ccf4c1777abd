"""The sentiment LSTM's training script: the shipped file reproduces its recorded held-out accuracy
(recomputed here on sentiment_data.split's held-out sentences), its vocabulary comes from the
training split only, early stopping never sees the held-out split, and a small run is exactly
reproducible (the full `--check` takes ~40-80 s, too long for every test run)."""
import json

import numpy as np
import pytest
import torch

import nnviz
from nnviz.models.sentiment import SentimentLSTM, build_vocab, tokenize
from nnviz.training import common, sentiment_data
from nnviz.training import sentiment_lstm as script
from nnviz.weights import HERE, load_into, shipped_metadata

FILE = "sentiment_lstm.safetensors"
QUIET = dict(log=lambda *_: None)


@pytest.fixture(scope="module")
def meta():
    m = shipped_metadata(FILE)
    assert m, f"{FILE} carries no metadata"
    return {k: json.loads(v) for k, v in m.items()}


@pytest.fixture(scope="module")
def data():
    return sentiment_data.load()


def test_shipped_file_is_small(meta):
    assert (HERE / FILE).stat().st_size < 3_000_000


def test_held_out_accuracy_recomputed_from_the_shipped_file(meta, data):
    model = nnviz.load_model("sentiment_lstm")
    script.fast_twin(model)  # same weights, fused LSTM: 2,113 sentences in a second
    model.load_state_dict(nnviz.load_model("sentiment_lstm").state_dict(), strict=True)
    _, test_idx = sentiment_data.split(data)
    seqs = script.encoded([data.texts[i] for i in test_idx], model.vocab)
    acc = script.accuracy(model, seqs, data.labels[test_idx])
    assert len(test_idx) == meta["test_sentences"] == 2113
    assert round(acc, 4) == meta["test_accuracy"]
    assert acc >= 0.75


def test_step_model_agrees_with_the_fused_one_on_held_out_sentences(data):
    step = nnviz.load_model("sentiment_lstm")
    fused = script.fast_twin(nnviz.load_model("sentiment_lstm"))
    fused.load_state_dict(step.state_dict(), strict=True)
    _, test_idx = sentiment_data.split(data)
    texts = [data.texts[i] for i in test_idx[:40]]
    with torch.inference_mode():
        for t in texts:
            ids = torch.from_numpy(step.encode(t).ids)[None]  # (1, T)
            torch.testing.assert_close(step(ids), fused(ids))


def test_vocabulary_comes_from_the_training_split_only(meta, data):
    train_idx, test_idx = sentiment_data.split(data)
    assert not set(train_idx) & set(test_idx)
    vocab = build_vocab((tokenize(data.texts[i]) for i in train_idx), meta["min_count"])
    assert list(vocab) == meta["config"]["vocab"]


def test_validation_slice_is_inside_the_training_split(meta, data):
    train_idx, _ = sentiment_data.split(data)
    y = data.labels[train_idx]
    mask = script.validation_slice(y, seed=meta["seed"])
    assert mask.sum() == meta["val_sentences"] and (~mask).sum() == meta["train_sentences"]
    assert meta["train_sentences"] + meta["val_sentences"] == len(train_idx)  # held-out sentences used for neither
    assert abs(y[mask].mean() - y.mean()) < 0.01  # stratified
    assert meta["best_epoch"] == max(meta["history"], key=lambda h: h["val_accuracy"])["epoch"]


def test_small_run_is_reproducible_and_loads_strict(tmp_path):
    kw = dict(epochs=2, embed_dim=8, hidden=8, limit=400, **QUIET)
    a = script.train(out=tmp_path / "a", **kw)
    b = script.train(out=tmp_path / "b", **kw)
    assert common.same_tensors(tmp_path / "a" / FILE, tmp_path / "b" / FILE) == []
    assert a["losses"] == b["losses"] and np.all(np.isfinite(a["losses"]))
    # strict into the step-loop model, built as the file recorded (load_model(name, path) would
    # build the spec's config, not this tiny one's)
    from safetensors import safe_open

    with safe_open(str(tmp_path / "a" / FILE), framework="pt") as f:
        config = json.loads(f.metadata()["config"])
    m = SentimentLSTM(**config)
    load_into(m, tmp_path / "a" / FILE, "sentiment_lstm")
    assert m.vocab == tuple(a["config"]["vocab"]) and m.rnn.hidden_size == 8
    script.train(out=tmp_path / "c", **{**kw, "limit": 401})  # different data: different weights
    assert common.same_tensors(tmp_path / "a" / FILE, tmp_path / "c" / FILE)


def test_loss_weights_the_last_word_and_the_rest(data):
    torch.manual_seed(0)
    model = script.fast_twin(nnviz.load_model("sentiment_lstm", "random"))
    seqs = script.encoded(data.texts[:8], model.vocab)
    ids, lengths = script.pad(seqs)
    y = torch.from_numpy(data.labels[:8])
    torch.manual_seed(1)
    last = script.sentence_loss(model, (ids, lengths, y), dropout=0.0, aux=0.0)
    both = script.sentence_loss(model, (ids, lengths, y), dropout=0.0, aux=0.5)
    with torch.no_grad():
        logits = model(ids)  # (B, T, 2)
        expected = torch.nn.functional.cross_entropy(script.last_logits(logits, lengths), y)
    torch.testing.assert_close(last, expected)
    assert both > last  # the auxiliary part adds the earlier words' loss
