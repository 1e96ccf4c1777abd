"""Traces: plain numpy, picklable, one vocabulary; importing them (or plots, analysis) needs no torch."""
import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

from nnviz.traces import Activation, CausalTrace, FeatureTrace, LayerStates, RecurrentTrace
from nnviz.types import WeightsInfo


def _recurrent(T=4, H=3, V=5):
    layer = LayerStates(h=np.zeros((T, H), np.float32), c=np.ones((T, H), np.float32),
                        gates={g: np.zeros((T, H), np.float32) for g in ("input", "forget", "cell", "output")})
    return RecurrentTrace(cell="lstm", layers=[layer], output=np.zeros((T, V), np.float32), tokens=list("abcd"),
                          labels=tuple("vwxyz"), model="m", weights=WeightsInfo("random initialisation", False))


def test_nbytes_counts_every_array():
    tr = _recurrent()
    assert tr.nbytes == 4 * (4 * 3 * 6 + 4 * 5)  # h, c, 4 gates, logits: all float32
    ft = FeatureTrace(activations={"a": Activation("a", "Conv2d", np.zeros((2, 3, 3)), np.zeros((1, 5, 5)))},
                      output=np.zeros(10))
    assert ft.nbytes == 8 * (18 + 25 + 10)


def test_base_fields_and_weights_label():
    tr = _recurrent()
    assert tr.model == "m" and tr.notes == []
    assert tr.weights_label == "UNTRAINED (random initialisation)"
    assert FeatureTrace(activations={}, output=np.zeros(1)).weights_label == ""


def test_traces_pickle_round_trip():
    tr = _recurrent()
    back = pickle.loads(pickle.dumps(tr))
    np.testing.assert_array_equal(back.layers[0].c, tr.layers[0].c)
    assert back.weights == tr.weights and back.tokens == tr.tokens


def test_recurrent_states_and_probs():
    tr = _recurrent()
    assert tr.states("c").sum() == 12 and tr.states("forget").shape == (4, 3)
    np.testing.assert_allclose(tr.probs(0), 0.2)  # equal logits: uniform
    assert [c for c, _ in tr.top_next(0, 2)] == ["v", "w"]  # ties in column order
    forecast = RecurrentTrace(cell="gru", layers=[LayerStates(np.zeros((2, 1)), None, {})], output=np.zeros(2),
                              output_kind="forecast")
    with pytest.raises(ValueError, match="character model"):
        forecast.probs(0)
    with pytest.raises(ValueError, match="no cell state"):
        forecast.states("c")


def test_causal_surprisal_in_bits():
    probs = np.full((3, 2), 0.5)
    probs[0] = [0.25, 0.75]
    tr = CausalTrace(tokens=list("aba"), ids=np.array([0, 1, 0]), attentions=np.zeros((1, 1, 3, 3)),
                     scores=np.zeros((1, 1, 3, 3)), hidden_states=np.zeros((2, 3, 4)), probs=probs, labels=("a", "b"))
    np.testing.assert_allclose(tr.surprisal, [-np.log2(0.75), 1.0])
    assert tr.top_k(0, 1) == [("b", 0.75)]


@pytest.mark.parametrize("module", ["nnviz.plots", "nnviz.analysis", "nnviz.traces", "nnviz"])
def test_numpy_layers_import_neither_torch_nor_streamlit(module):
    code = (f"import sys, json; import {module}; "
            "print(json.dumps(sorted({'torch', 'streamlit'} & set(sys.modules))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_feature_trace_probs_is_the_softmax_of_its_logits():
    ft = FeatureTrace(activations={}, output=np.log(np.array([1.0, 3.0, 6.0])))
    np.testing.assert_allclose(ft.probs, [0.1, 0.3, 0.6])


def _encoder(**extra):
    from nnviz.traces import EncoderTrace

    T, D = 3, 4
    return EncoderTrace(tokens=["[CLS]", "ok", "[SEP]"], ids=np.array([101, 7, 102]),
                        hidden_states=np.zeros((2, T, D), np.float32), attentions=np.zeros((1, 2, T, T), np.float32),
                        queries=np.zeros((1, 2, T, 2), np.float32), keys=np.zeros((1, 2, T, 2), np.float32),
                        values=np.zeros((1, 2, T, 2), np.float32), output=np.ones(D, np.float32), **extra)


def test_encoder_trace_classifier_fields_are_optional_and_additive():
    plain = _encoder()
    assert plain.logits is None and plain.probs is None and plain.running_probs is None
    assert plain.words == [] and plain.leave_out is None and plain.embedding is plain.output
    assert plain.nbytes == 4 * (24 + 18 + 3 * 12 + 4) + 8 * 3  # hidden, attentions, q/k/v, output; ids int64
    tr = _encoder(logits=np.log(np.array([1.0, 3.0], np.float32)), labels=("negative", "positive"),
                  running=np.log(np.array([[1.0, 1.0], [1.0, 3.0]])), running_at=np.array([0, 1]),
                  words=["ok", "!"], word_tokens=[(1, 2), (2, 3)])
    np.testing.assert_allclose(tr.probs, [0.25, 0.75])
    np.testing.assert_allclose(tr.running_probs, [[0.5, 0.5], [0.25, 0.75]])
    assert tr.nbytes == plain.nbytes + 2 * 4 + 4 * 8 + 2 * 8
    back = pickle.loads(pickle.dumps(tr))
    assert back.words == tr.words and back.labels == tr.labels and np.array_equal(back.running, tr.running)


def test_softmax_is_stable_and_rowwise():
    from nnviz.traces import softmax

    np.testing.assert_allclose(softmax(np.array([1000.0, 1000.0])), [0.5, 0.5])  # no overflow
    np.testing.assert_allclose(softmax(np.array([[0.0, np.log(3)], [0.0, 0.0]])), [[0.25, 0.75], [0.5, 0.5]])
