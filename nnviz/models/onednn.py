"""An LSTM layer's gates as PyTorch's CPU kernel computed them, read back instead of recomputed.

`nn.LSTM` on CPU runs oneDNN's LSTM (`aten::mkldnn_rnn_layer`, one call per layer). Asked for a
training forward, the kernel keeps every step's activated gates i, f, g, o in a workspace for
the backward pass. Reading them back costs the training forward's extra bookkeeping (the whole
layer with its record: ~1.2x nn.LSTM); recomputing them from the kernel's h (`LSTM._recompute`)
costs one more matrix product as large as the LSTM's own (~1.9x; BENCHMARKS.md).

The workspace's layout is oneDNN's, not a documented API. So this module trusts nothing it reads:
- it calls the kernel exactly as `nn.LSTM` does (time-major input, one layer, biases);
- it finds where step 1's gates sit from one gate value computed by the formula (the row length
  is 4H rounded up by oneDNN's padding: 512 -> 528 here), and reads (T, B, row)[..., :4H];
- it checks the layout on every call: the cell state c built from the read i, f, g by the scan
  must give the kernel's own h at every step (h_t = o_t tanh(c_t)) and its final c. A different
  layout fails this (the row search also compares step 1's whole row with the formula). What it
  cannot see is a single value that has no effect, such as f_0 when c0 = 0; the risk guarded
  against is a layout we misread, not a kernel that miscomputes one number. (Checking step 0 by
  the formula on every call was tried: +0.1x nn.LSTM at 100 characters, for no layout it
  would catch that this check does not.);
and returns None at the first doubt (another build, another layout, a dtype it does not handle,
gradients wanted), so the caller recomputes the gates instead. `reads` / `fallbacks` count both.
"""
from __future__ import annotations

import threading

import torch

_LSTM_MODE = 2  # oneDNN's mode number for an LSTM in aten::mkldnn_rnn_layer
_kernel = torch.ops.aten.mkldnn_rnn_layer  # what nn.LSTM runs per layer on CPU (a name, for the tests)
_WORKSPACE_FLOATS = 6 * 2**20  # per kernel call: 24 MB, under glibc's 32 MB mmap threshold
_ROW = {}  # (batch, hidden) -> the workspace's row length, found once
_ROW_GUARD = threading.Lock()

enabled = True  # False: always recompute (the benchmark times both ways)
reads = 0  # layers whose gates came from the workspace
fallbacks = 0  # layers where this module declined (the caller recomputed the gates)


def usable() -> bool:
    """oneDNN is built in and switched on (what makes nn.LSTM use it on CPU)."""
    return enabled and torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled


def lstm_layer(x: torch.Tensor, params, h0: torch.Tensor, c0: torch.Tensor):
    """One LSTM layer over x (B, T, I) from h0, c0 (B, H) with params (w_ih, w_hh, b_ih, b_hh).

    Returns (out (B, T, H), h_n (1, B, H), c_n (1, B, H), {"h", "c", "gates" (B, T, 4H)}), all
    without gradients, or None when the gates could not be read and checked."""
    global reads, fallbacks
    if not _fits(x, params, h0, c0):
        fallbacks += 1
        return None
    B, T, I = x.shape
    # In pieces of at most ~24 MB of workspace: a larger one is above glibc's largest mmap
    # threshold (32 MB), so every call would map, fault in and unmap fresh pages (10,000
    # characters: 1.5x nn.LSTM's time instead of 1.15x). Each piece starts from the last h, c.
    # Workspace floats per step: ~13 H + 6 I + 256 per batch item (fitted on H 12-128, I 5-1024).
    per_step = (13 * h0.shape[-1] + 6 * I + 256) * B
    pieces = -(-T // max(4, _WORKSPACE_FLOATS // per_step))  # ceil; every piece >= 2 steps
    bounds = [round(k * T / pieces) for k in range(pieces + 1)]  # lengths differ by at most 1
    parts, h, c = [], h0, c0
    for start, stop in zip(bounds, bounds[1:]):
        part = _read(x[:, start:stop], params, h, c)
        if part is None:
            fallbacks += 1
            return None
        parts.append(part)
        h, c = part[1][0], part[2][0]  # (B, H)
    reads += 1
    if len(parts) == 1:
        return parts[0]
    return (torch.cat([p[0] for p in parts], dim=1), parts[-1][1], parts[-1][2],
            {k: torch.cat([p[3][k] for p in parts], dim=1) for k in ("h", "c", "gates")})


def _read(x, params, h0, c0):
    from .recurrent import linear_scan  # the scan the recompute path uses (import cycle otherwise)

    B, T, _ = x.shape  # checked by lstm_layer (_fits); every piece has >= 2 steps
    H = h0.shape[-1]
    with torch.inference_mode(False), torch.enable_grad():
        # Leaves that ask for gradients: the kernel keeps its workspace only for autograd.
        xt = _plain(x).transpose(0, 1).contiguous()  # (T, B, I), time-major as nn.LSTM hands it over
        w = [_plain(p).contiguous().requires_grad_() for p in params]
        try:
            out, h_n, c_n, ws = _kernel(
                xt, *w, _plain(h0).contiguous(), _plain(c0).contiguous(),
                False, [], _LSTM_MODE, H, 1, True, False, False, True)  # forward, no batch sizes, biases, one direction, time-major, train
        except RuntimeError:
            return None
    if ws is None or ws.numel() % 4:
        return None
    with torch.no_grad():
        out, h_n, c_n = out.detach(), h_n.detach(), c_n.detach()  # (T, B, H), (B, H), (B, H)
        ws = ws.detach().view(torch.float32)
        row = _row_length(ws, x, out, params, B, H)
        if row is None or T * B * row > ws.numel():
            return None
        gates = ws[:T * B * row].view(T, B, row)[..., :4 * H].transpose(0, 1).clone()  # (B, T, 4H)
        i, f, g, o = gates.chunk(4, dim=2)  # each (B, T, H)
        c = linear_scan(f, i * g, c0.detach())  # (B, T, H)
        h = out.transpose(0, 1).contiguous()  # (B, T, H), batch-first like the other paths (no copy at B = 1)
        # The layout is checked at every step: c depends on every i, f, g before it, h on o and
        # c. |h| <= 1, so an absolute tolerance will do; in place: one temporary, not five.
        gap = torch.tanh(c).mul_(o).sub_(h).abs_().max()
        c_gap = (c[:, -1] - c_n).abs_().max() / (1.0 + c_n.abs().max())  # c is not bounded: relative
        if not bool(torch.maximum(gap, c_gap) <= 1e-5):  # one check, one sync; NaN fails it too
            return _forget_row(B, H)
        return h, h_n[None], c_n[None], {"h": h, "c": c, "gates": gates}


def _forget_row(B: int, H: int) -> None:
    with _ROW_GUARD:
        _ROW.pop((B, H), None)
    return None


def _gates_by_formula(x_t, h_prev, params) -> torch.Tensor:
    """i, f, g, o of one step from the LSTM's equations: x_t (B, I), h_prev (B, H) -> (B, 4H)."""
    from .recurrent import lstm_activations  # import cycle otherwise

    w_ih, w_hh, b_ih, b_hh = (p.detach() for p in params)
    return lstm_activations(torch.addmm(b_ih + b_hh, x_t.detach(), w_ih.t()).addmm_(h_prev.detach(), w_hh.t()))


def _fits(x, params, h0, c0) -> bool:
    """Exactly the call nn.LSTM would make: a native kernel is not asked to check its arguments
    (a wrong shape could crash the process rather than raise), so everything is checked here."""
    if not usable() or x.dim() != 3 or len(params) != 4:
        return False
    B, T, I = x.shape
    H = h0.shape[-1]
    w_ih, w_hh, b_ih, b_hh = params
    shapes_ok = (B >= 1 and T >= 2 and H >= 1 and tuple(h0.shape) == tuple(c0.shape) == (B, H)
                 and tuple(w_ih.shape) == (4 * H, I) and tuple(w_hh.shape) == (4 * H, H)
                 and tuple(b_ih.shape) == tuple(b_hh.shape) == (4 * H,))
    return shapes_ok and all(t.dtype == torch.float32 and t.device.type == "cpu" for t in (x, h0, c0, *params))


def _plain(t: torch.Tensor) -> torch.Tensor:
    """t without its graph; copied only if made in inference mode (autograd cannot save those)."""
    t = t.detach()
    return t.clone() if t.is_inference() else t


def _row_length(ws, x, out, params, B: int, H: int) -> int | None:
    """Where step 1 starts in the workspace: among the row lengths oneDNN could have padded 4H
    to, the one where step 1's gates (batch item 0, by the formula) sit. Found once per (B, H)."""
    key = (B, H)
    with _ROW_GUARD:
        if key in _ROW:
            return _ROW[key]
    want = _gates_by_formula(x[:1, 1], out[0, :1], params)[0]  # (4H,): step 1 from h_0
    rows = torch.arange(4 * H, 4 * H + 1024)  # oneDNN pads a row by far less than 1024 floats
    rows = rows[B * rows + 4 * H <= ws.numel()]
    close = (ws[B * rows] - want[0]).abs() <= 1e-5 + 1e-4 * want[0].abs()  # i_1[0] first ...
    for row in rows[close].tolist():  # ... then the whole row, which rejects a chance equal value
        if torch.allclose(ws[B * row:B * row + 4 * H], want, rtol=1e-4, atol=1e-5):
            with _ROW_GUARD:
                _ROW[key] = row
            return row
    return None
