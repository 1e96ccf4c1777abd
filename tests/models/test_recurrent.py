"""The step-by-step RNN / LSTM / GRU compute what PyTorch's modules compute, and expose their insides."""
import copy
import math

import numpy as np
import pytest
import torch

from nnviz.models.recurrent import (
    CELLS, GATE_NAMES, TORCH_CELLS, UNKNOWN, VOCAB, CharLM, SeriesLSTM, decode, encode_text,
    gradient_norms,
)
from nnviz.types import InputError


def _pair(cell, input_size=5, hidden=7, layers=2, batch_first=True, seed=0):
    torch.manual_seed(seed)
    ref = TORCH_CELLS[cell](input_size, hidden, num_layers=layers, batch_first=batch_first)
    mine = CELLS[cell](input_size, hidden, layers, batch_first=batch_first)
    mine.load_state_dict(ref.state_dict(), strict=True)
    return ref, mine


@pytest.mark.parametrize("cell", ["lstm", "rnn", "gru"])
def test_state_dict_keys_are_pytorchs(cell):
    ref, mine = _pair(cell, layers=3)
    assert list(mine.state_dict()) == list(ref.state_dict())  # same names, same order
    for k, v in ref.state_dict().items():
        assert mine.state_dict()[k].shape == v.shape
    ref.load_state_dict(mine.state_dict(), strict=True)  # and back


@pytest.mark.parametrize("cell", ["lstm", "rnn", "gru"])
@pytest.mark.parametrize("length", [1, 7, 50])
@pytest.mark.parametrize("batch_first", [True, False])
def test_equals_pytorch_module(cell, length, batch_first):
    ref, mine = _pair(cell, batch_first=batch_first)
    B = 3
    x = torch.randn(B, length, 5) if batch_first else torch.randn(length, B, 5)
    with torch.no_grad():
        out_ref, st_ref = ref(x)
        out, st = mine(x)
    torch.testing.assert_close(out, out_ref)
    if cell == "lstm":
        torch.testing.assert_close(st[0], st_ref[0])  # h_n (L, B, H)
        torch.testing.assert_close(st[1], st_ref[1])  # c_n
    else:
        torch.testing.assert_close(st, st_ref)


@pytest.mark.parametrize("cell", ["lstm", "rnn", "gru"])
def test_equals_pytorch_module_from_a_given_state_and_through_autograd(cell):
    ref, mine = _pair(cell, hidden=6)
    x = torch.randn(4, 9, 5)
    h0 = torch.randn(2, 4, 6)
    hx = (h0, torch.randn(2, 4, 6)) if cell == "lstm" else h0
    out_ref, _ = ref(x, hx)
    out, _ = mine(x, hx)
    torch.testing.assert_close(out, out_ref)
    g_ref = torch.autograd.grad(out_ref.square().sum(), ref.weight_hh_l0)[0]
    g = torch.autograd.grad(out.square().sum(), mine.weight_hh_l0)[0]
    torch.testing.assert_close(g, g_ref)  # training through the step loop would agree too


def test_one_lstm_step_by_hand():
    """H = I = 1, zero weights: the pre-activations are the biases, so every value is checkable."""
    lstm = CELLS["lstm"](1, 1, 1)
    with torch.no_grad():
        for p in lstm.parameters():
            p.zero_()
        lstm.bias_ih_l0.copy_(torch.tensor([1.0, -2.0, 0.5, 3.0]))  # i, f, g, o pre-activations
    with torch.no_grad():
        out, h_n, c_n, recs = lstm.run_layers(torch.zeros(1, 2, 1), record=True)
    s = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    i, f, g, o = s(1.0), s(-2.0), math.tanh(0.5), s(3.0)
    c1 = i * g  # c0 = 0
    c2 = f * c1 + i * g
    gates = recs[0]["gates"][0]  # (T, 4H)
    np.testing.assert_allclose(gates[0].numpy(), [i, f, g, o], rtol=1e-6)
    np.testing.assert_allclose(recs[0]["c"][0, :, 0].numpy(), [c1, c2], rtol=1e-6)
    np.testing.assert_allclose(out[0, :, 0].numpy(), [o * math.tanh(c1), o * math.tanh(c2)], rtol=1e-6)
    assert float(c_n) == pytest.approx(c2, rel=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "rnn", "gru"])
def test_char_model_trace_shapes_ranges_and_agreement(cell):
    torch.manual_seed(1)
    m = CharLM(cell, hidden=16, embed_dim=8, num_layers=2).eval()
    text = 'def f(x):\n    return "a" + x\n'
    tr = m.run(text)
    T = len(text)
    assert tr.cell == cell and tr.length == T and len(tr.layers) == 2
    assert tr.output.shape == (T, len(VOCAB)) and tr.tokens == list(text) and tr.unknown == []
    for L in tr.layers:
        assert L.h.shape == (T, 16) and L.h.dtype == np.float32
        assert np.all(np.abs(L.h) <= 1)
        assert set(L.gates) == set(GATE_NAMES[cell])
        for name, g in L.gates.items():
            assert g.shape == (T, 16)
            if name in ("cell", "new"):  # tanh candidates
                assert g.min() >= -1 and g.max() <= 1
            else:  # sigmoid gates
                assert g.min() >= 0 and g.max() <= 1
        if cell == "lstm":
            assert L.c.shape == (T, 16)
            np.testing.assert_allclose(L.h, L.gates["output"] * np.tanh(L.c), rtol=1e-5, atol=1e-6)
        else:
            assert L.c is None
    # The trace agrees with PyTorch's module run on the same weights.
    ref = TORCH_CELLS[cell](8, 16, num_layers=2, batch_first=True)
    ref.load_state_dict(m.rnn.state_dict(), strict=True)
    ids = torch.from_numpy(encode_text(text).ids)[None]
    with torch.no_grad():
        out, _ = ref(m.embed(ids))
        logits = m.head(out)[0]
    np.testing.assert_allclose(tr.layers[1].h, out[0].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tr.output, logits.numpy(), rtol=1e-5, atol=1e-5)


def test_encode_text_maps_and_reports_unknown_characters():
    enc = encode_text("a\tb\u20ac\u20ac\n" + UNKNOWN)
    assert enc.ids.tolist() == [VOCAB.index("a"), 0, VOCAB.index("b"), 0, 0, VOCAB.index("\n"), 0]
    assert enc.unknown == [1, 3, 4, 6]
    assert enc.unknown_chars == ["\t", "\u20ac", UNKNOWN]
    assert "".join(enc.chars) == f"a{UNKNOWN}b{UNKNOWN}{UNKNOWN}\n{UNKNOWN}"
    assert decode(enc.ids) == "".join(enc.chars)
    assert encode_text("").ids.shape == (0,)
    assert len(VOCAB) == 97 and len(set(VOCAB)) == 97


def test_empty_input_is_an_input_error():
    m = CharLM("lstm", hidden=4, embed_dim=4)
    with pytest.raises(InputError, match="at least one character"):
        m.run("")
    s = SeriesLSTM(hidden=4)
    with pytest.raises(InputError, match="at least two"):
        s.run([1.0])
    with pytest.raises(InputError, match="missing"):
        s.run([1.0, float("nan"), 2.0])


def test_top_next_probs_and_bits_per_char():
    torch.manual_seed(2)
    m = CharLM("lstm", hidden=16, embed_dim=8).eval()
    text = "print('hi')"
    tr = m.run(text)
    top = tr.top_next(3, k=5)
    p = tr.probs(3)
    assert p.sum() == pytest.approx(1.0)
    assert [c for c, _ in top][0] == VOCAB[int(np.argmax(tr.output[3]))]
    assert [q for _, q in top] == sorted((q for _, q in top), reverse=True) and len(top) == 5
    ids = encode_text(text).ids
    manual = -np.mean([np.log2(tr.probs(t)[ids[t + 1]]) for t in range(len(text) - 1)])
    assert m.bits_per_char(text) == pytest.approx(manual, rel=1e-5)


def test_sampling_is_seeded_and_greedy_at_zero_temperature():
    torch.manual_seed(3)
    m = CharLM("lstm", hidden=16, embed_dim=8).eval()
    a = m.sample("x = (", 30, temperature=1.0, seed=5)
    assert len(a) == 30 and set(a) <= set(VOCAB)
    assert a == m.sample("x = (", 30, temperature=1.0, seed=5)
    greedy = m.sample("x = (", 3, temperature=0)
    # Greedy continuation = argmax of the trace's logits, one character at a time.
    text = "x = ("
    for ch in greedy:
        assert ch == VOCAB[int(np.argmax(m.run(text).output[-1]))]
        text += ch


def test_gradient_norms_by_hand_on_a_linear_regime_rnn():
    """1-unit tanh RNN, w_ih = 1, w_hh = 0.5, zero biases and zero inputs: h stays 0 where
    tanh' = 1, so d prediction / d x_t = 0.5 ** (T - 1 - t) exactly."""
    m = SeriesLSTM(hidden=1, cell="rnn")
    with torch.no_grad():
        for p in m.parameters():
            p.zero_()
        m.rnn.weight_ih_l0.fill_(1.0)
        m.rnn.weight_hh_l0.fill_(0.5)
        m.head.weight.fill_(1.0)
    g = gradient_norms(m, np.zeros(5, np.float32))
    np.testing.assert_allclose(g, [0.0625, 0.125, 0.25, 0.5, 1.0], rtol=1e-6)


def test_char_gradient_norms_match_finite_differences():
    torch.manual_seed(4)
    m = copy.deepcopy(CharLM("rnn", hidden=8, embed_dim=4)).double().eval()  # float64: clean differences
    text = "ab(c)"
    g = m.gradient_norms(text)
    assert g.shape == (5,) and np.all(np.isfinite(g)) and g[-1] > 0
    ids = torch.from_numpy(encode_text(text).ids)[None]
    with torch.no_grad():
        x0 = m.embed(ids)  # (1, T, E)
        top = int(m.head(m.rnn(x0)[0][0, -1]).argmax())

        def score(x):
            return float(torch.log_softmax(m.head(m.rnn(x)[0][0, -1]), -1)[top])

        for t in (0, 1, 4):
            grad = []
            for e in range(4):  # central difference per embedding coordinate of step t
                d = torch.zeros_like(x0)
                d[0, t, e] = 1e-6
                grad.append((score(x0 + d) - score(x0 - d)) / 2e-6)
            assert np.linalg.norm(grad) == pytest.approx(g[t], rel=1e-5)


def test_series_run_and_forecast_agree():
    torch.manual_seed(5)
    m = SeriesLSTM(hidden=8).eval()
    with torch.no_grad():
        m.mean.fill_(50.0)
        m.std.fill_(20.0)
    v = np.array([10, 40, 80, 60, 30, 5], np.float32)
    tr = m.run(v)
    assert tr.output.shape == (6,) and tr.layers[0].c.shape == (6, 8)
    np.testing.assert_array_equal(tr.series, v)
    f = m.forecast(v, 3)
    assert f.shape == (3,)
    assert f[0] == pytest.approx(tr.output[-1], rel=1e-5)  # the forecast of the next year
    # Feeding the forecasts back in by hand gives the same numbers.
    assert m.run(np.append(v, f[:2])).output[-1] == pytest.approx(f[2], rel=1e-4)


# --- The fast path (fused kernel + vectorised gates) equals the step-by-step reference --------

@pytest.mark.parametrize("cell", ["lstm", "rnn", "gru"])
@pytest.mark.parametrize("length,batch,layers", [(1, 1, 1), (2, 3, 2), (17, 1, 3), (33, 2, 1), (300, 1, 2)])
def test_fast_path_equals_the_step_reference(cell, length, batch, layers):
    torch.manual_seed(length + batch + layers)
    m = CELLS[cell](5, 12, layers)
    x = torch.randn(batch, length, 5)
    h0 = torch.randn(layers, batch, 12)
    for hx in (None, (h0, torch.randn(layers, batch, 12)) if cell == "lstm" else h0):
        with torch.no_grad():
            fast = m.run_layers(x, hx, record=True)
            ref = m.run_layers(x, hx, record=True, reference=True)
            plain = m.run_layers(x, hx)  # all layers in one kernel call, nothing recorded
        for a, b in zip(fast[:3], ref[:3]):  # out, h_n, c_n
            if b is None:
                assert a is None
            else:
                torch.testing.assert_close(a, b)
        torch.testing.assert_close(plain[0], ref[0])
        for rf, rr in zip(fast[3], ref[3]):
            assert rf.keys() == rr.keys()
            for key in rr:
                if rr[key] is None:
                    assert rf[key] is None
                else:
                    assert rf[key].shape == rr[key].shape
                    torch.testing.assert_close(rf[key], rr[key])  # h, c and every gate, every step


def test_linear_scan_equals_the_loop_over_long_sequences():
    from nnviz.models.recurrent import linear_scan

    torch.manual_seed(0)
    for T in (1, 16, 17, 100, 1001, 4096):
        a = torch.rand(2, T, 3, dtype=torch.float64)
        a[:, ::7] = 1.0  # long memories (f = 1) and full resets (f = 0) both occur
        a[:, ::11] = 0.0
        b = torch.randn(2, T, 3, dtype=torch.float64)
        c0 = torch.randn(2, 3, dtype=torch.float64)
        c, loop = c0, []
        for t in range(T):
            c = a[:, t] * c + b[:, t]
            loop.append(c)
        torch.testing.assert_close(linear_scan(a, b, c0), torch.stack(loop, 1))


@pytest.mark.parametrize("cell", ["lstm", "rnn", "gru"])
def test_fast_path_gradients_equal_the_step_reference(cell):
    """The Why-LSTMs view backpropagates through `run_layers`: the fused kernel's gradients are
    the step loop's, for the inputs and for the weights."""
    torch.manual_seed(6)
    m = CharLM(cell, hidden=16, embed_dim=8, num_layers=2).double()
    text = "def f(x):\n    return [x, (x + 1)]\n" * 3
    g_fast = m.gradient_norms(text)
    ids = torch.from_numpy(encode_text(text).ids)[None]
    x = m.embed(ids).detach().requires_grad_(True)
    grads = []
    for reference in (False, True):
        out, _, _, _ = m.rnn.run_layers(x, reference=reference)
        score = torch.log_softmax(m.head(out[0, -1]), -1).max()
        grads.append(torch.autograd.grad(score, (x, m.rnn.weight_hh_l0, m.rnn.weight_ih_l1)))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)
    np.testing.assert_allclose(g_fast, grads[1][0][0].norm(dim=-1).numpy(), rtol=1e-10, atol=1e-300)


def test_recorded_trace_keeps_gradients_when_asked():
    # record=True outside inference mode stays differentiable (out-of-place gate ops).
    m = CELLS["lstm"](3, 4, 1)
    x = torch.randn(1, 6, 3, requires_grad=True)
    _, _, _, recs = m.run_layers(x, record=True)
    (g,) = torch.autograd.grad(recs[0]["c"].sum() + recs[0]["gates"].sum(), x)
    _, _, _, ref = m.run_layers(x, record=True, reference=True)
    (g_ref,) = torch.autograd.grad(ref[0]["c"].sum() + ref[0]["gates"].sum(), x)
    torch.testing.assert_close(g, g_ref)


# --- The gates read back from oneDNN's workspace (nnviz/models/onednn.py) --------------------

def test_views_read_the_lstm_gates_from_the_kernel_and_they_equal_the_reference():
    from nnviz.models import onednn

    if not onednn.usable():
        pytest.skip("this torch has no oneDNN: the gates are recomputed (tested above)")
    torch.manual_seed(3)
    m = CELLS["lstm"](7, 20, 2)
    x, h0, c0 = torch.randn(2, 50, 7), torch.randn(2, 2, 20), torch.randn(2, 2, 20)
    before = onednn.reads
    with torch.inference_mode():  # how the app runs its models
        fast = m.run_layers(x, (h0, c0), record=True)
    assert onednn.reads == before + 2  # both layers' gates came from the kernel, none recomputed
    ref = m.run_layers(x, (h0, c0), record=True, reference=True)
    for rf, rr in zip(fast[3], ref[3]):
        for key in ("h", "c", "gates"):
            torch.testing.assert_close(rf[key], rr[key])


def test_a_workspace_that_does_not_check_out_is_not_trusted(monkeypatch):
    from nnviz.models import onednn

    real = onednn._kernel

    def scrambled(*args):  # a layout this module does not know: the gates' rows shuffled
        out, h, c, ws = real(*args)
        words = ws.view(torch.float32)
        n = words.numel() // 2
        words[:n] = words[:n].flip(0)
        return out, h, c, ws

    monkeypatch.setattr(onednn, "_kernel", scrambled)
    monkeypatch.setattr(onednn, "_ROW", {})
    torch.manual_seed(4)
    m = CELLS["lstm"](5, 12, 1)
    x = torch.randn(1, 30, 5)
    before = onednn.fallbacks
    with torch.no_grad():
        fast = m.run_layers(x, record=True)
    ref = m.run_layers(x, record=True, reference=True)
    assert onednn.fallbacks == before + 1  # declined, and the gates were recomputed instead
    torch.testing.assert_close(fast[3][0]["gates"], ref[3][0]["gates"])
    torch.testing.assert_close(fast[3][0]["c"], ref[3][0]["c"])


def test_a_wrong_row_length_is_caught_by_the_full_check(monkeypatch):
    from nnviz.models import onednn

    monkeypatch.setattr(onednn, "_row_length", lambda ws, x, out, params, B, H: 4 * H + 1)
    m = CELLS["lstm"](5, 12, 1)
    x = torch.randn(1, 30, 5)
    assert onednn.lstm_layer(x, m._layer_params(0), torch.zeros(1, 12), torch.zeros(1, 12)) is None


@pytest.mark.parametrize("length", [2, 3, 61, 200])
def test_long_sequences_are_read_in_pieces_that_join_exactly(monkeypatch, length):
    from nnviz.models import onednn

    if not onednn.usable():
        pytest.skip("this torch has no oneDNN")
    monkeypatch.setattr(onednn, "_WORKSPACE_FLOATS", 16 * 12 * 2 * 20)  # pieces of ~20 steps
    torch.manual_seed(length)
    m = CELLS["lstm"](5, 12, 2)
    x, hx = torch.randn(2, length, 5), (torch.randn(2, 2, 12), torch.randn(2, 2, 12))
    calls, real = [], onednn._read
    monkeypatch.setattr(onednn, "_read", lambda x, *a: calls.append(x.shape[1]) or real(x, *a))
    before = onednn.reads
    with torch.no_grad():
        fast = m.run_layers(x, hx, record=True)
    assert onednn.reads == before + 2  # both layers read, none recomputed
    assert sum(calls) == 2 * length and min(calls) >= 2  # every step once per layer, no lone step
    assert len(calls) >= (2 * length // 20 if length > 40 else 2)  # long ones really were split
    ref = m.run_layers(x, hx, record=True, reference=True)
    for a, b in zip(fast[:3], ref[:3]):
        torch.testing.assert_close(a, b)
    for rf, rr in zip(fast[3], ref[3]):
        for key in ("h", "c", "gates"):
            torch.testing.assert_close(rf[key], rr[key])


def test_the_kernel_is_only_called_with_what_nn_lstm_would_pass():
    from nnviz.models import onednn

    m = CELLS["lstm"](5, 12, 1)
    p = m._layer_params(0)
    z = torch.zeros(1, 12)
    assert onednn._fits(torch.randn(1, 9, 5), p, z, z) == onednn.usable()
    assert not onednn._fits(torch.randn(1, 9, 6), p, z, z)  # input width != W_ih's
    assert not onednn._fits(torch.randn(2, 9, 5), p, z, z)  # batch != h0's
    assert not onednn._fits(torch.randn(1, 1, 5), p, z, z)  # one step: nothing to find the layout by
    assert not onednn._fits(torch.randn(0, 9, 5), p, torch.zeros(0, 12), torch.zeros(0, 12))
    assert not onednn._fits(torch.randn(1, 9, 5).double(), p, z, z)
    assert not onednn._fits(torch.randn(1, 9, 5), p[:2], z, z)


def test_pieces_never_leave_a_single_step(monkeypatch):
    from nnviz.models import onednn

    if not onednn.usable():
        pytest.skip("this torch has no oneDNN")
    # A budget of 4 steps per piece: 13 steps used to split 4, 4, 4, 1 (and the lone step fell back).
    m = CELLS["lstm"](5, 12, 1)
    monkeypatch.setattr(onednn, "_WORKSPACE_FLOATS", 4 * (13 * 12 + 6 * 5 + 256))
    calls, real = [], onednn._read
    monkeypatch.setattr(onednn, "_read", lambda x, *a: calls.append(x.shape[1]) or real(x, *a))
    got = onednn.lstm_layer(torch.randn(1, 13, 5), m._layer_params(0), torch.zeros(1, 12), torch.zeros(1, 12))
    assert got is not None and sum(calls) == 13 and min(calls) >= 3 and max(calls) - min(calls) <= 1
