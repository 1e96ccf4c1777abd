"""Recurrent networks whose every time step can be watched: RNN (tanh), LSTM and GRU.

The layers are written out step by step so a view can show, per character or per time step,
the gates (LSTM: input i, forget f, candidate g, output o; GRU: reset r, update z, new n), the
cell state c and the hidden state h. They use `nn.LSTM` / `nn.RNN` / `nn.GRU`'s exact parameter
names and gate order (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, `..._l1`, ...),
so a state_dict trained with the fast PyTorch module loads strict here, and
tests/models/test_recurrent.py proves the outputs agree (`torch.testing.assert_close`).

Two paths compute the same numbers. The step loop (`run_layers(..., reference=True)`, each
cell's `_layer`) is the teaching reference: one time step per iteration, written as the equations
read. The default path is fast: PyTorch's fused kernel (what `nn.LSTM` runs) gives every h_t, and
with all h_t known the gates of every step come from one batched matrix product
(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh for all t at once) and the LSTM cell state from an
elementwise linear scan (c_t = f_t c_{t-1} + i_t g_t). For the LSTM, when no gradient is
wanted (every view), the gates are not even recomputed: they are read back from the kernel's own
workspace and checked (`onednn.py`), which brings the gates to ~1.2x nn.LSTM's time instead of
~1.8x. The tests hold all paths equal.

Models (registry family "recurrent"):
- `char_lstm`, `char_rnn`: character-level language models (embedding -> LSTM/RNN -> linear)
  trained on Python standard-library source by `nnviz/training/char_lm.py`.
- `sunspots_lstm`: a one-step-ahead forecaster (LSTM -> linear) trained on yearly sunspot
  numbers by `nnviz/training/forecast.py`.

Views call `model.run(...)`, which returns a plain-numpy `RecurrentTrace`; picking a unit, a
gate or a position afterwards never runs the model again.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..traces import GATE_NAMES, LayerStates, RecurrentTrace
from ..types import InputError
from . import onednn
from .base import NNVizModel
from .charvocab import UNKNOWN, VOCAB, EncodedText, decode, encode_text  # noqa: F401  (re-exported)
from .registry import register

# ---------------------------------------------------------------------------------------------
# The step-by-step layers


_GATE_COUNT = {"rnn": 1, "lstm": 4, "gru": 3}  # rows of weight_ih = count * hidden_size


class _StepRecurrent(nn.Module):
    """Shared machinery of RNN / LSTM / GRU: nn.RNNBase's parameters, the fused-kernel fast path
    (`_run_fused`, the default) and the Python step loop it is tested against (`reference=True`).

    Layers run one after the other over the whole sequence (as nn.LSTM does without dropout),
    so the input projection x @ W_ih^T + b_ih of a layer is one matmul for all T steps and only
    the recurrent part h @ W_hh^T + b_hh stays in the loop. The loop unbinds the time axis once
    and stacks the steps once: indexing xp[:, t] or writing out[:, t] = h would make autograd
    fill or copy a whole (B, T, .) tensor at every step of the backward pass (quadratic in T).
    """

    mode = "rnn"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, batch_first: bool = True) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.batch_first = batch_first
        rows = _GATE_COUNT[self.mode] * hidden_size
        for k in range(num_layers):
            in_k = input_size if k == 0 else hidden_size
            # Registered in nn.LSTM's order, so state_dict() lists keys as PyTorch does.
            setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(rows, in_k)))
            setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(rows, hidden_size)))
            setattr(self, f"bias_ih_l{k}", nn.Parameter(torch.empty(rows)))
            setattr(self, f"bias_hh_l{k}", nn.Parameter(torch.empty(rows)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # PyTorch's initialisation: every weight and bias uniform in +-1/sqrt(hidden_size).
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, batch_first={self.batch_first}"

    def _layer_params(self, k: int) -> tuple[torch.Tensor, ...]:
        return (
            getattr(self, f"weight_ih_l{k}"),
            getattr(self, f"weight_hh_l{k}"),
            getattr(self, f"bias_ih_l{k}"),
            getattr(self, f"bias_hh_l{k}"),
        )

    # Subclasses implement one layer over the whole sequence, step by step (the reference) ...
    def _layer(self, xp, w_hh, b_hh, h, c, record):  # pragma: no cover - abstract
        raise NotImplementedError

    # ... and the record of one layer from its fused-kernel output (the fast path).
    def _recompute(self, x, out, params, h0, c0) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fused(self, x, h0, c0, params: list, num_layers: int):
        """PyTorch's fused kernel, the one `nn.LSTM.forward` calls, on this module's own
        parameters: x (B, T, I) batch-first, h0 / c0 (num_layers, B, H). Returns out (B, T, H),
        h_n (num_layers, B, H) and c_n (LSTM) or None. Differentiable, like nn.LSTM."""
        args = (params, True, num_layers, 0.0, self.training, False, True)  # biases, no dropout, unidirectional, batch_first
        if self.mode == "lstm":
            return _FUSED["lstm"](x, (h0, c0), *args)
        out, h_n = _FUSED[self.mode](x, h0, *args)
        return out, h_n, None

    def _split_hx(self, hx, batch: int, like: torch.Tensor):
        """Initial (h0, c0), each (L, B, H); zeros when hx is None. c0 is None except for LSTM."""
        zeros = like.new_zeros(self.num_layers, batch, self.hidden_size)
        if self.mode == "lstm":
            return (zeros, zeros) if hx is None else hx
        return (zeros if hx is None else hx), None

    def run_layers(self, x: torch.Tensor, hx=None, record: bool = False, reference: bool = False):
        """x (B, T, I) batch-first. Returns output (B, T, H), final h (L, B, H), final c or None,
        and when `record` a list per layer of {"h": (B,T,H), "c": (B,T,H) (LSTM), "gates": (B,T,G*H)}.

        reference: run the step-by-step loop (the teaching reference) instead of the fused kernel
        plus vectorised gates; both give the same numbers and the same gradients."""
        if x.dim() != 3:
            raise ValueError(f"expected a (batch, time, features) tensor, got shape {tuple(x.shape)}")
        B, T, _ = x.shape
        h0, c0 = self._split_hx(hx, B, x)
        if not reference and T > 0:
            return self._run_fused(x, h0, c0, record)
        layer_in = x
        h_n, c_n, records = [], [], []
        for k in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh = self._layer_params(k)
            xp = torch.addmm(b_ih, layer_in.reshape(B * T, -1), w_ih.t()).view(B, T, -1)  # (B, T, G*H)
            out, h, c, rec = self._layer(xp, w_hh.t(), b_hh, h0[k], None if c0 is None else c0[k], record)
            h_n.append(h)
            c_n.append(c)
            records.append(rec)
            layer_in = out  # (B, T, H)
        h_n = torch.stack(h_n)  # (L, B, H)
        c_n = torch.stack(c_n) if self.mode == "lstm" else None
        return layer_in, h_n, c_n, (records if record else None)

    def _run_fused(self, x, h0, c0, record: bool):
        params = [p for k in range(self.num_layers) for p in self._layer_params(k)]
        if not record:  # all layers in one kernel call: exactly nn.LSTM's forward
            return self._fused(x, h0, c0, params, self.num_layers)[:3] + (None,)
        layer_in, h_n, c_n, records = x, [], [], []
        for k in range(self.num_layers):  # one layer per call: every layer's h sequence is needed
            out, h, c, rec = self._recorded_layer(layer_in, self._layer_params(k), h0[k], None if c0 is None else c0[k])
            records.append(rec)
            h_n.append(h)
            c_n.append(c)
            layer_in = out
        h_n = torch.cat(h_n)  # (L, B, H)
        c_n = torch.cat(c_n) if self.mode == "lstm" else None
        return layer_in, h_n, c_n, records

    def _recorded_layer(self, x, params, h0, c0):
        """One layer over x (B, T, I) from h0 / c0 (B, H): the fused kernel's out (B, T, H),
        h_n and c_n (1, B, H), and the layer's record with the gates recomputed from out."""
        out, h, c = self._fused(x, h0[None], None if c0 is None else c0[None], list(params), 1)
        return out, h, c, self._recompute(x, out, params, h0, c0)

    def forward(self, x: torch.Tensor, hx=None):
        """Same call and return as the PyTorch module: LSTM -> (out, (h_n, c_n)), else (out, h_n)."""
        if not self.batch_first:
            x = x.transpose(0, 1)  # (B, T, I)
        out, h_n, c_n, _ = self.run_layers(x, hx)
        if not self.batch_first:
            out = out.transpose(0, 1)  # (T, B, H)
        return (out, (h_n, c_n)) if self.mode == "lstm" else (out, h_n)


class RNN(_StepRecurrent):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh). Matches nn.RNN (tanh)."""

    mode = "rnn"

    def _layer(self, xp, w_hh_t, b_hh, h, c, record):
        hs = []
        for xp_t in xp.unbind(1):  # each (B, H)
            h = torch.tanh(xp_t + torch.addmm(b_hh, h, w_hh_t))  # (B, H)
            hs.append(h)
        out = torch.stack(hs, dim=1)  # (B, T, H)
        return out, h, None, ({"h": out, "gates": None} if record else None)

    def _recompute(self, x, out, params, h0, c0):
        return {"h": out, "gates": None}  # a plain RNN has no gates: h is all there is


class LSTM(_StepRecurrent):
    """LSTM (Hochreiter & Schmidhuber 1997, with forget gate). Matches nn.LSTM, gate order i, f, g, o:

        i = sigmoid(.)  f = sigmoid(.)  g = tanh(.)  o = sigmoid(.)   each from W_ih x + b_ih + W_hh h + b_hh
        c_t = f * c_{t-1} + i * g        h_t = o * tanh(c_t)
    """

    mode = "lstm"

    def _layer(self, xp, w_hh_t, b_hh, h, c, record):
        hs, cs, gates = [], [], []
        for xp_t in xp.unbind(1):  # each (B, 4H)
            z = xp_t + torch.addmm(b_hh, h, w_hh_t)  # (B, 4H) pre-activations
            i, f, g, o = z.chunk(4, dim=1)  # each (B, H)
            i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
            c = f * c + i * g  # (B, H): forget part of the old memory, write the gated candidate
            h = o * torch.tanh(c)  # (B, H): expose a gated view of the memory
            hs.append(h)
            if record:
                cs.append(c)
                gates.append(torch.cat((i, f, g, o), dim=1))
        out = torch.stack(hs, dim=1)  # (B, T, H)
        if not record:
            return out, h, c, None
        return out, h, c, {"h": out, "c": torch.stack(cs, dim=1), "gates": torch.stack(gates, dim=1)}

    def _recorded_layer(self, x, params, h0, c0):
        # No gradient wanted (every view's run): the gates the kernel itself computed, read from
        # its workspace and checked (nnviz/models/onednn.py); else, or on any doubt, recomputed.
        if not (torch.is_grad_enabled() and any(t.requires_grad for t in (x, h0, c0, *params))):
            got = onednn.lstm_layer(x, params, h0, c0)
            if got is not None:
                return got
        return super()._recorded_layer(x, params, h0, c0)

    def _recompute(self, x, out, params, h0, c0):
        """The step loop's gates and cell states from the fused kernel's h: with every h_{t-1}
        known, no step waits for the one before, except c's linear recurrence (a scan)."""
        w_ih, w_hh, b_ih, b_hh = params
        B, T, H = out.shape
        h_prev = torch.cat((h0[:, None], out[:, :-1]), dim=1)  # (B, T, H): h_{t-1}, h_{-1} = h0
        # One matmul for both products: [x_t, h_{t-1}] @ [W_ih, W_hh]^T == x_t W_ih^T + h_{t-1} W_hh^T.
        z = torch.addmm(b_ih + b_hh, torch.cat((x, h_prev), dim=2).reshape(B * T, -1),
                        torch.cat((w_ih, w_hh), dim=1).t()).view(B, T, 4 * H)  # (B, T, 4H) pre-activations
        # i, f | g | o: sigmoid, tanh, sigmoid. In place when nothing needs z's gradient (the
        # views' run): no copy of a (B, T, 4H) tensor; out of place when autograd may need z.
        if z.requires_grad:
            gates = lstm_activations(z)  # (B, T, 4H)
        else:
            z[..., :2 * H].sigmoid_()
            z[..., 2 * H:3 * H].tanh_()
            z[..., 3 * H:].sigmoid_()
            gates = z  # (B, T, 4H)
        i, f, g, o = gates.chunk(4, dim=2)  # each (B, T, H)
        c = linear_scan(f, i * g, c0)  # (B, T, H)
        return {"h": out, "c": c, "gates": gates}


class GRU(_StepRecurrent):
    """GRU (Cho et al. 2014). Matches nn.GRU, gate order r, z, n:

        r = sigmoid(.)  z = sigmoid(.)  n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h_t = (1 - z) * n + z * h_{t-1}
    """

    mode = "gru"

    def _layer(self, xp, w_hh_t, b_hh, h, c, record):
        hs, gates = [], []
        for xp_t in xp.unbind(1):  # each (B, 3H)
            xr, xz, xn = xp_t.chunk(3, dim=1)  # each (B, H)
            hr, hz, hn = torch.addmm(b_hh, h, w_hh_t).chunk(3, dim=1)
            r = torch.sigmoid(xr + hr)
            z = torch.sigmoid(xz + hz)
            n = torch.tanh(xn + r * hn)  # the reset gate scales only the recurrent part, as in PyTorch
            h = (1 - z) * n + z * h  # (B, H)
            hs.append(h)
            if record:
                gates.append(torch.cat((r, z, n), dim=1))
        out = torch.stack(hs, dim=1)  # (B, T, H)
        return out, h, None, ({"h": out, "gates": torch.stack(gates, dim=1)} if record else None)

    def _recompute(self, x, out, params, h0, c0):
        """r, z, n of every step at once from the fused kernel's h_{t-1} (no recurrence left)."""
        w_ih, w_hh, b_ih, b_hh = params
        B, T, H = out.shape
        h_prev = torch.cat((h0[:, None], out[:, :-1]), dim=1)  # (B, T, H): h_{t-1}
        # Two products, not one: the reset gate multiplies only the recurrent part of n.
        xp = torch.addmm(b_ih, x.reshape(B * T, -1), w_ih.t()).view(B, T, 3 * H)  # (B, T, 3H)
        hp = torch.addmm(b_hh, h_prev.reshape(B * T, -1), w_hh.t()).view(B, T, 3 * H)  # (B, T, 3H)
        rz = torch.sigmoid(xp[..., :2 * H] + hp[..., :2 * H])  # (B, T, 2H): r | z
        n = torch.tanh(torch.addcmul(xp[..., 2 * H:], rz[..., :H], hp[..., 2 * H:]))  # (B, T, H)
        return {"h": out, "gates": torch.cat((rz, n), dim=2)}  # (B, T, 3H)


def lstm_activations(z: torch.Tensor) -> torch.Tensor:
    """An LSTM's pre-activations (..., 4H), gate order i, f, g, o -> the gates: sigmoid, sigmoid,
    tanh, sigmoid (out of place, so autograd can go through it)."""
    H = z.shape[-1] // 4
    return torch.cat((torch.sigmoid(z[..., :2 * H]), torch.tanh(z[..., 2 * H:3 * H]), torch.sigmoid(z[..., 3 * H:])),
                     dim=-1)


def linear_scan(a: torch.Tensor, b: torch.Tensor, c0: torch.Tensor) -> torch.Tensor:
    """c_t = a_t * c_{t-1} + b_t for every t, with c_{-1} = c0: a, b (B, T, H), c0 (B, H) -> (B, T, H).

    A Python loop over T costs a few microseconds per step (10,000 characters: tens of ms, more
    than the fused LSTM itself). This is the work-efficient parallel scan instead: pairing steps
    (2j, 2j+1) gives a half-length recurrence with a = a1 a0, b = a1 b0 + b1, whose solution is c
    at the odd steps; the even steps follow in one elementwise op. log2(T) levels, O(T) work, and
    only products of forget gates in [0, 1] and sums: no division or exp(-cumsum), nothing that
    overflows. It differs from the loop by the rounding of a reordered sum."""
    B, T, H = a.shape
    if T <= 16:  # a short loop beats another level of small ops
        cs, c = [], c0
        for a_t, b_t in zip(a.unbind(1), b.unbind(1)):  # each (B, H)
            c = torch.addcmul(b_t, a_t, c)
            cs.append(c)
        return torch.stack(cs, dim=1)  # (B, T, H)
    n = T // 2 * 2
    a0, a1, b0, b1 = a[:, 0:n:2], a[:, 1:n:2], b[:, 0:n:2], b[:, 1:n:2]  # each (B, n/2, H)
    c_odd = linear_scan(a1 * a0, torch.addcmul(b1, a1, b0), c0)  # c_1, c_3, ..., c_{n-1}
    c_before_even = torch.cat((c0[:, None], c_odd[:, :-1]), dim=1)  # c_{-1}, c_1, ..., c_{n-3}
    c_even = torch.addcmul(b0, a0, c_before_even)  # c_0, c_2, ..., c_{n-2}
    c = torch.stack((c_even, c_odd), dim=2).reshape(B, n, H)  # interleave: (B, n, H)
    if T > n:  # odd length: the last step on its own
        c = torch.cat((c, torch.addcmul(b[:, -1:], a[:, -1:], c[:, -1:])), dim=1)
    return c


CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
# The kernels nn.RNN (tanh) / nn.LSTM / nn.GRU call; they take the parameter list in
# nn.RNNBase's order (w_ih, w_hh, b_ih, b_hh per layer), which is ours.
_FUSED = {"rnn": torch._VF.rnn_tanh, "lstm": torch._VF.lstm, "gru": torch._VF.gru}
TORCH_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


# ---------------------------------------------------------------------------------------------
# What a view receives


def _layer_states(rec: dict, cell: str) -> LayerStates:
    h = rec["h"][0].detach().cpu().numpy()  # (T, H)
    c = rec.get("c")
    gates = {}
    if rec["gates"] is not None:
        chunks = rec["gates"][0].chunk(len(GATE_NAMES[cell]), dim=1)  # each (T, H)
        gates = {name: g.detach().cpu().numpy() for name, g in zip(GATE_NAMES[cell], chunks)}
    return LayerStates(h=h, c=None if c is None else c[0].detach().cpu().numpy(), gates=gates)


def recorded_run(rnn: "_StepRecurrent", x: torch.Tensor) -> tuple[torch.Tensor, list[LayerStates]]:
    """x (1, T, I) through the recurrent layers with every state and gate recorded: the last
    layer's output (1, T, H) and each layer's states as numpy (what a RecurrentTrace holds)."""
    out, _, _, recs = rnn.run_layers(x, record=True)
    return out, [_layer_states(r, rnn.mode) for r in recs]


def token_trace(model, ids: np.ndarray, tokens: list[str], unknown: list[int], labels: tuple[str, ...],
                notes: list[str] | None = None) -> RecurrentTrace:
    """One token per step through `model`'s embed -> recurrent layers -> head (every state and
    gate recorded; the head's logits after every token): the run of the character models and of
    the word-level sentiment model."""
    with torch.inference_mode():
        x = model.embed(torch.from_numpy(ids)[None])  # (1, T, E)
        out, layers = recorded_run(model.rnn, x)  # out (1, T, H)
        logits = model.head(out)[0]  # (T, V)
    return RecurrentTrace(
        cell=model.cell,
        layers=layers,
        output=logits.numpy(),
        output_kind="logits",
        tokens=tokens,
        unknown=unknown,
        labels=labels,
        notes=list(notes or []),
        **model.stamp(),
    )


# ---------------------------------------------------------------------------------------------
# Text


class CharLM(NNVizModel):
    """Character-level language model: embedding -> recurrent layers -> linear over the vocabulary.

    Reads one character per step and predicts the next; logits[t] is P(char t+1 | chars 0..t).
    """

    def __init__(self, cell: str = "lstm", vocab: str = VOCAB, embed_dim: int = 64, hidden: int = 128, num_layers: int = 1) -> None:
        super().__init__()
        self.cell = cell
        self.vocab = vocab
        self.embed = nn.Embedding(len(vocab), embed_dim)
        self.rnn = CELLS[cell](embed_dim, hidden, num_layers, batch_first=True)
        self.head = nn.Linear(hidden, len(vocab))

    def forward(self, ids: torch.Tensor, hx=None) -> torch.Tensor:
        """ids (B, T) -> logits (B, T, V). Works with a PyTorch nn.LSTM/nn.RNN swapped in as .rnn."""
        out, _ = self.rnn(self.embed(ids), hx)  # (B, T, H)
        return self.head(out)  # (B, T, V)

    def encode(self, text: str) -> EncodedText:
        return encode_text(text, self.vocab)

    def run(self, text: str) -> RecurrentTrace:
        """All states, gates and next-char logits for `text` (no length cap here: inputs.py caps)."""
        enc = self.encode(text)
        if len(enc.ids) == 0:
            raise InputError("Type at least one character.")
        return token_trace(self, enc.ids, enc.chars, enc.unknown, tuple(self.vocab))

    def sample(self, prompt: str, length: int = 200, temperature: float = 1.0, seed: int | None = 0) -> str:
        """Continue `prompt` by `length` characters drawn from softmax(logits / temperature).

        temperature 0 takes the likeliest character every time (greedy). Returns only the new text.
        """
        if temperature < 0:
            raise ValueError("temperature must be >= 0")
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        ids = self.encode(prompt or "\n").ids
        new = []
        with torch.inference_mode():
            out, h, c, _ = self.rnn.run_layers(self.embed(torch.from_numpy(ids)[None]))  # warm up on the prompt
            logits = self.head(out[0, -1])  # (V,)
            for _ in range(length):
                if temperature == 0:
                    j = int(logits.argmax())
                else:
                    p = torch.softmax(logits / temperature, dim=-1)
                    j = int(torch.multinomial(p, 1, generator=gen))
                new.append(j)
                hx = (h, c) if self.cell == "lstm" else h
                out, h, c, _ = self.rnn.run_layers(self.embed(torch.tensor([[j]])), hx)  # one step
                logits = self.head(out[0, -1])
        return decode(new, self.vocab)

    def bits_per_char(self, text: str) -> float:
        """Average -log2 P(next char) over `text` (the first character is only read, not scored)."""
        ids = torch.from_numpy(self.encode(text).ids)
        if len(ids) < 2:
            raise InputError("Bits per character needs at least two characters.")
        with torch.inference_mode():
            logits = self(ids[None, :-1])[0]  # (T-1, V)
            nll = nn.functional.cross_entropy(logits, ids[1:])
        return float(nll) / math.log(2)

    def gradient_norms(self, text: str) -> np.ndarray:
        """(T,) L2 norm of d score / d embedding(char t), where score is the log-probability of the
        model's top prediction after the last character: how much each earlier character can
        still move the last output. Plain RNNs show it vanishing with distance; LSTMs keep more."""
        ids = torch.from_numpy(self.encode(text).ids)
        if len(ids) == 0:
            raise InputError("Type at least one character.")
        with torch.inference_mode(False), torch.enable_grad():
            x = self.embed(ids[None]).detach().requires_grad_(True)  # (1, T, E)
            out, _, _, _ = self.rnn.run_layers(x)
            logp = torch.log_softmax(self.head(out[0, -1]), dim=-1)  # (V,)
            score = logp.max()
            (grad,) = torch.autograd.grad(score, x)  # only this input's grad: no .grad on shared params
        return grad[0].norm(dim=-1).numpy()  # (T,)


# ---------------------------------------------------------------------------------------------
# Time series


class SeriesLSTM(NNVizModel):
    """One-step-ahead forecaster: normalised value x_t -> LSTM -> linear -> prediction of x_{t+1}.

    The series' mean and std are buffers, so they travel in the state_dict with the weights that
    were trained on them (a model trained in the app on an upload carries its own).
    """

    def __init__(self, hidden: int = 32, num_layers: int = 1, cell: str = "lstm") -> None:
        super().__init__()
        self.cell = cell
        self.rnn = CELLS[cell](1, hidden, num_layers, batch_first=True)
        self.head = nn.Linear(hidden, 1)
        self.register_buffer("mean", torch.zeros(()))
        self.register_buffer("std", torch.ones(()))

    def forward(self, x: torch.Tensor, hx=None) -> torch.Tensor:
        """x (B, T, 1) normalised -> (B, T, 1) normalised prediction of the next value."""
        out, _ = self.rnn(x, hx)  # (B, T, H)
        return self.head(out)

    def normalise(self, values) -> torch.Tensor:
        v = torch.as_tensor(np.asarray(values, dtype=np.float32))
        return (v - self.mean) / self.std

    def _checked(self, values) -> np.ndarray:
        v = np.asarray(values, dtype=np.float32).reshape(-1)
        if v.size < 2:
            raise InputError("The series needs at least two values.")
        if not np.isfinite(v).all():
            raise InputError("The series contains missing or infinite values.")
        return v

    def run(self, values) -> RecurrentTrace:
        """States for every step and the one-step-ahead predictions, in the series' units:
        output[t] is the forecast of values[t+1] made after reading values[0..t]."""
        v = self._checked(values)
        with torch.inference_mode():
            x = self.normalise(v)[None, :, None]  # (1, T, 1)
            out, layers = recorded_run(self.rnn, x)  # out (1, T, H)
            pred = self.head(out)[0, :, 0] * self.std + self.mean  # (T,)
        return RecurrentTrace(
            cell=self.cell,
            layers=layers,
            output=pred.numpy(),
            output_kind="forecast",
            series=v,
            **self.stamp(),
        )

    def forecast(self, values, steps: int) -> np.ndarray:
        """(steps,) values after the end of `values`, feeding each prediction back as the next input."""
        v = self._checked(values)
        preds = []
        with torch.inference_mode():
            out, h, c, _ = self.rnn.run_layers(self.normalise(v)[None, :, None])
            y = self.head(out[:, -1:])  # (1, 1, 1) normalised
            for _ in range(steps):
                preds.append(float(y))
                hx = (h, c) if self.cell == "lstm" else h
                out, h, c, _ = self.rnn.run_layers(y, hx)
                y = self.head(out)
        return np.asarray(preds, dtype=np.float32) * float(self.std) + float(self.mean)

    def gradient_norms(self, values) -> np.ndarray:
        """(T,) |d last prediction / d input value t| (inputs are scalars, so the norm is |.|)."""
        v = self._checked(values)
        with torch.inference_mode(False), torch.enable_grad():
            x = self.normalise(v)[None, :, None].clone().requires_grad_(True)  # (1, T, 1)
            out, _, _, _ = self.rnn.run_layers(x)
            (grad,) = torch.autograd.grad(self.head(out[0, -1]).sum(), x)
        return grad[0, :, 0].abs().numpy()


def gradient_norms(model: nn.Module, x) -> np.ndarray:
    """Norm of the gradient of the last output w.r.t. each input step (text or series).

    Gradients that vanish below float32's range (~1e-45) come back as exactly 0: a log-scale plot
    should show them as "below 1e-45" rather than drop them."""
    return model.gradient_norms(x)


# ---------------------------------------------------------------------------------------------
# Registry entries. Architecture constants live here; the training scripts import them.

CHAR_CONFIG = {"embed_dim": 64, "hidden": 128, "num_layers": 1}
SERIES_CONFIG = {"hidden": 32, "num_layers": 1}


CHAR_MODELS = {
    "lstm": "Character-level LSTM (128 units) trained on Python standard-library source: "
    "watch cells track quotes, brackets and indentation",
    "rnn": "Character-level plain RNN (tanh, 128 units) trained like char_lstm, for comparison",
}
for _cell, _description in CHAR_MODELS.items():
    register(
        f"char_{_cell}",
        family="recurrent",
        input_kind="text",
        trace="recurrent",
        description=_description,
        default_weights=f"shipped:char_{_cell}.safetensors",
        labels=tuple(VOCAB),
        config={"cell": _cell, "vocab": VOCAB, **CHAR_CONFIG},
        example="code.txt",
    )(CharLM)

register(
    "sunspots_lstm",
    family="recurrent",
    input_kind="series",
    trace="recurrent",
    description="LSTM (32 units) forecasting yearly sunspot numbers one year ahead (SIDC/NOAA, 1700-2008)",
    default_weights="shipped:sunspots_lstm.safetensors",
    config={"cell": "lstm", **SERIES_CONFIG},
    example="sunspots.csv",
)(SeriesLSTM)
