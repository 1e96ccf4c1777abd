"""The races: nnviz and a peer on the same work, interleaved, as ratios of medians.

Figure names read `<area>.<case>.<what>`; "x_vs_y" is time(x) / time(y) (or bytes), so a value
below 1 means x is faster (smaller).
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path
import sys
import sysconfig
import types

import numpy as np
import torch

from . import absent, figure, fit_exponent, interleaved



def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


# ---------------------------------------------------------------------------------------------
# CNN capture: plain forward vs nnviz.capture vs captum's LayerActivation, same layer list


def capture_race(quick: bool = False) -> dict:
    from ..capture import POOL_TYPES, capture
    from ..models import load_model
    from ..models.registry import list_models

    cases = [("lenet5", 1, 28)] if quick else [("resnet18", 3, 224), ("vgg16", 3, 224), ("mobilenet_v2", 3, 224), ("lenet5", 1, 28)]
    known = set(list_models())
    out: dict = {}
    for name, ch, size in cases:
        key = f"capture.{name}"
        if name not in known:
            out[f"{key}.nnviz_vs_plain"] = absent(f"{name} is not registered", "<= 1.1")
            continue
        model = load_model(name, weights="random")  # the capture, not the weights, is timed
        x = torch.randn(1, ch, size, size)
        layers = [n for n, m in model.named_modules() if isinstance(m, (torch.nn.Conv2d,) + POOL_TYPES)]

        def plain():
            with torch.no_grad():
                model(x)

        def nnviz_capture():
            capture(model, x, layers=layers)  # numpy maps, batch item 0, ready for a view

        fns = {"plain": plain, "nnviz": nnviz_capture}
        if _have("captum"):
            from captum.attr import LayerActivation

            mods = [model.get_submodule(n) for n in layers]
            la = LayerActivation(model, mods)
            fns["captum"] = lambda: la.attribute(x)  # tensors, every layer, whole batch
        reps = 3 if quick else (15 if size <= 28 else 9)
        if name == "vgg16" and not quick:
            reps = 5
        tiny = size <= 28  # a 0.1 ms forward: time 50 calls per sample, or the clock's jitter shows
        t = interleaved(fns, reps, calls=50 if tiny else 1)
        note = f"{len(layers)} conv/pool layers, 1x{ch}x{size}x{size}, plain {t['plain'] * 1e3:.2f} ms"
        if tiny:
            # The target is for real image sizes; on a 0.1 ms forward the ratio measures
            # a fixed cost (hooks: register and remove alone are ~18 us for 4 layers).
            overhead = (t["nnviz"] - t["plain"]) * 1e6
            out[f"{key}.nnviz_vs_plain"] = figure(t["nnviz"] / t["plain"], None, note + f"; a fixed {overhead:.0f} us per capture")
        else:
            out[f"{key}.nnviz_vs_plain"] = figure(t["nnviz"] / t["plain"], "<= 1.1", note)
        if "captum" in t:
            out[f"{key}.captum_vs_plain"] = figure(t["captum"] / t["plain"], None, "captum LayerActivation, same layers")
            out[f"{key}.nnviz_vs_captum"] = figure(t["nnviz"] / t["captum"], "<= 1.0", "nnviz also converts to numpy")
        else:
            out[f"{key}.nnviz_vs_captum"] = absent("captum not installed (pip install captum==0.9.0)", "<= 1.0")
    return out


# ---------------------------------------------------------------------------------------------
# Attention: nnviz's MiniLM (all weights, q, k, v as numpy) vs transformers' BertModel (eager)


def _words(n_tokens: int, minilm) -> list[int]:
    text = ("Attention lets every token look at every other token of the text and decide how much "
            "of each to take, and twelve heads do this in parallel in every layer. ") * 40
    ids = minilm.encode(text).ids  # [CLS] ... [SEP]
    return ids[: n_tokens - 1] + ids[-1:]


def attention_race(quick: bool = False) -> dict:
    from ..models import load_model
    from ..models.bert import minilm_files

    sizes = (16,) if quick else (16, 128, 512)
    if minilm_files() is None:
        return {f"attention.{T}.minilm_vs_bert": absent("MiniLM weights not installed (requirements-models.txt)", "<= 1.0")
                for T in sizes}
    if not _have("transformers"):
        return {f"attention.{T}.minilm_vs_bert": absent("transformers not installed", "<= 1.0") for T in sizes}
    import os

    import transformers

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    minilm = load_model("minilm")
    hf = transformers.BertModel.from_pretrained(str(minilm_files()), attn_implementation="eager").eval()
    out = {}
    for T in sizes:
        ids = _words(T, minilm)
        t_ids = torch.tensor([ids])

        def bert():
            with torch.inference_mode():
                r = hf(input_ids=t_ids, output_attentions=True)
            return [a[0].numpy() for a in r.attentions]  # the weights a view needs, as numpy

        t = interleaved({"nnviz": lambda: minilm.run(ids), "bert": bert}, 3 if quick else (9 if T < 512 else 5))
        out[f"attention.{T}.minilm_vs_bert"] = figure(
            t["nnviz"] / t["bert"], "<= 1.0",
            f"{T} tokens; nnviz returns weights + q, k, v + hidden states; BertModel {t['bert'] * 1e3:.0f} ms")
    return out


# ---------------------------------------------------------------------------------------------
# Recurrent: nnviz's states with every gate vs nn.LSTM (h only), char_lstm's size


def _source(n: int) -> str:
    text = (Path(sysconfig.get_paths()["stdlib"]) / "argparse.py").read_text()
    return (text * (1 + n // len(text)))[:n]


def recurrent_race(quick: bool = False) -> dict:
    from ..models import onednn
    from ..models.recurrent import CELLS, CHAR_CONFIG, TORCH_CELLS

    lengths = (20, 50) if quick else (100, 2000, 10000)
    E, H, L = CHAR_CONFIG["embed_dim"], CHAR_CONFIG["hidden"], CHAR_CONFIG["num_layers"]
    out = {}
    for cell in ("lstm", "gru"):
        torch.manual_seed(0)
        ref = TORCH_CELLS[cell](E, H, num_layers=L, batch_first=True).eval()
        mine = CELLS[cell](E, H, L).eval()
        mine.load_state_dict(ref.state_dict(), strict=True)
        for n in lengths:
            x = torch.randn(1, n, E)

            def torch_module():
                with torch.inference_mode():
                    ref(x)

            def nnviz_gates():
                with torch.inference_mode():
                    mine.run_layers(x, record=True)  # h, c and every gate of every step

            def nnviz_recompute():  # the gates recomputed from h by one matmul, not read back
                onednn.enabled = False
                try:
                    nnviz_gates()
                finally:
                    onednn.enabled = True

            def nnviz_reference():
                with torch.inference_mode():
                    mine.run_layers(x, record=True, reference=True)

            fns = {"torch": torch_module, "nnviz": nnviz_gates}
            if cell == "lstm":
                fns["recompute"] = nnviz_recompute
            if cell == "lstm" and (quick or n <= 2000):  # the step loop at 10,000 chars takes seconds
                fns["step"] = nnviz_reference
            reps = 3 if quick else (15 if n <= 2000 else 9)
            batch = 20 if n <= 100 else 1  # sub-millisecond calls: time 20 per sample (as LeNet)
            t = interleaved(fns, reps, calls=batch)
            note = f"{L} layer x {H} units, nn.{type(ref).__name__} {t['torch'] * 1e3:.2f} ms"
            target = "<= 1.5" if cell == "lstm" else None
            if cell == "lstm":
                reads = onednn.reads
                nnviz_gates()
                note += ("; gates read from the kernel's workspace" if onednn.reads > reads
                         else "; gates recomputed (the workspace was not usable)")
            out[f"recurrent.{cell}.{n}.gates_vs_nn_{cell}"] = figure(t["nnviz"] / t["torch"], target, note)
            if "recompute" in t:
                out[f"recurrent.{cell}.{n}.recompute_vs_nn_{cell}"] = figure(
                    t["recompute"] / t["torch"], None, "gates recomputed from h by one matrix product + scan")
            if "step" in t:
                out[f"recurrent.{cell}.{n}.step_loop_vs_nn_{cell}"] = figure(
                    t["step"] / t["torch"], None, "the step-by-step teaching reference, same gates")
    return out


# ---------------------------------------------------------------------------------------------
# Bytes to the browser


def _bertviz_head_view():
    """bertviz's head_view, or None. With html_action='return' it only needs IPython.display's
    HTML class to hand back its string; when IPython is not installed a stand-in provides that
    class (the HTML and its bytes are bertviz's own)."""
    if not _have("bertviz"):
        return None
    if not _have("IPython"):
        class HTML:  # IPython.display.HTML keeps its string in .data
            def __init__(self, data=None):
                self.data = data

        display = types.ModuleType("IPython.display")
        display.HTML, display.Javascript, display.display = HTML, HTML, lambda *a, **k: None
        ipython = types.ModuleType("IPython")
        ipython.display = display
        sys.modules.setdefault("IPython", ipython)
        sys.modules.setdefault("IPython.display", display)
    from bertviz import head_view

    return head_view


def browser_bytes(quick: bool = False) -> dict:
    from .. import plots
    from ..models import load_model
    from ..models.bert import minilm_files

    out = {}
    sizes = (20,) if quick else (20, 500)
    head_view = _bertviz_head_view()
    if minilm_files() is None:
        for T in sizes:
            out[f"bytes.attention.{T}.bertviz_vs_nnviz"] = absent("MiniLM weights not installed", ">= 1.0")
    else:
        minilm = load_model("minilm")
        for T in sizes:
            tr = minilm.run(_words(T, minilm))
            # The head view as the page sends it: one layer x head heatmap figure.
            fig = plots.attention_heatmap(tr.attentions[0, 0], tr.tokens, tr.tokens)
            nnviz_bytes = len(fig.to_json())
            key = f"bytes.attention.{T}.bertviz_vs_nnviz"
            if head_view is None:
                out[key] = absent("bertviz not installed (pip install --no-deps bertviz==1.4.1)", ">= 1.0")
                continue
            att = tuple(torch.from_numpy(a[None]) for a in tr.attentions)  # per layer (1, H, T, T)
            html = head_view(att, tr.tokens, html_action="return")
            data = html.data
            bv = len(data) if data.isascii() else len(data.encode())  # 500 tokens: ~0.8 GB, no second copy
            del html, data
            out[key] = figure(bv / nnviz_bytes, ">= 1.0",
                              f"{T} tokens: bertviz head_view {bv / 1e6:.2f} MB (all layers and heads at once), "
                              f"nnviz head figure {nnviz_bytes / 1e6:.3f} MB (one head; a switch re-sends one)")
    out.update(_mosaic_bytes(quick))
    return out


def _mosaic_bytes(quick: bool) -> dict:
    import plotly.graph_objects as go

    from .. import plots

    if not quick:  # ResNet-18's conv1 on a shipped photo: 64 real 112x112 maps
        from .own import mosaic_bytes

        m = mosaic_bytes()
        return {"bytes.mosaic.heatmap_vs_mosaic": figure(
            m["ratio"], ">= 20.0", f"resnet18 conv1 on china.jpg ({m['weights']}): {m['channels']} maps "
            f"{m['size']}x{m['size']}, mosaic {m['mosaic_figure_bytes'] / 1e3:.0f} kB, heatmap JSON {m['heatmap_json_bytes'] / 1e3:.0f} kB")}

    c, hw = 8, 28  # quick: random maps, only the machinery
    maps = np.random.default_rng(0).standard_normal((c, hw, hw)).astype(np.float32)
    png = len(plots.feature_mosaic(maps).to_json())
    cols = 8
    grid = np.zeros((int(np.ceil(c / cols)) * hw, cols * hw), np.float32)
    for i in range(c):
        r, k = divmod(i, cols)
        grid[r * hw:(r + 1) * hw, k * hw:(k + 1) * hw] = maps[i]
    heat = len(go.Figure(go.Heatmap(z=grid)).to_json())
    return {"bytes.mosaic.heatmap_vs_mosaic": figure(heat / png, ">= 20.0",
                                                     f"{c} maps {hw}x{hw}: mosaic {png / 1e3:.0f} kB, heatmap JSON {heat / 1e3:.0f} kB")}


# ---------------------------------------------------------------------------------------------
# Growth: how time scales with the input (fitted exponent of time ~ size^k)


def growth(quick: bool = False) -> dict:
    from ..capture import capture
    from ..models import load_model
    from ..models.bert import minilm_files

    out = {}
    reps = 2 if quick else 5
    # All sizes of one kind interleaved in one loop (64, 128, ..., 64, 128, ...): a burst of load
    # from another process then lands on every size alike instead of bending the curve.
    # Image: the CNN page's capture (its default layer set) on resnet18, side 64 .. 1024 px.
    sides = (32, 48, 64) if quick else (64, 128, 256, 512, 1024)
    model = load_model("resnet18", weights="random")
    xs = {s: torch.randn(1, 3, s, s) for s in sides}
    t = interleaved({s: (lambda x=x: capture(model, x)) for s, x in xs.items()}, reps)
    out["growth.image_px.exponent"] = figure(fit_exponent(sides, [t[s] for s in sides]), "<= 2.2",
                                             f"resnet18 capture, side {sides[0]}-{sides[-1]} px (pixels grow as side^2)")
    # Text: MiniLM with all attention weights, 10 .. 512 tokens.
    if minilm_files() is None:
        out["growth.text_tokens.exponent"] = absent("MiniLM weights not installed", "<= 2.0")
    else:
        minilm = load_model("minilm")
        toks = (10, 20, 40) if quick else (10, 32, 128, 512)
        ids = {T: _words(T, minilm) for T in toks}
        t = interleaved({T: (lambda i=i: minilm.run(i)) for T, i in ids.items()}, reps)
        out["growth.text_tokens.exponent"] = figure(fit_exponent(toks, [t[T] for T in toks]), "<= 2.0",
                                                    f"MiniLM run, {toks[0]}-{toks[-1]} tokens (attention is T^2)")
    # Characters: char_lstm's trace (states, gates, logits), 100 .. 10,000 characters.
    lstm = load_model("char_lstm")
    chars = (20, 40, 80) if quick else (100, 1000, 10000)
    texts = {n: _source(n) for n in chars}
    t = interleaved({n: (lambda s=s: lstm.run(s)) for n, s in texts.items()}, reps)
    out["growth.chars.exponent"] = figure(fit_exponent(chars, [t[n] for n in chars]), "<= 1.15",
                                          f"char_lstm run, {chars[0]}-{chars[-1]} characters")
    return out


def dump(results: dict) -> str:  # handy in a notebook
    return json.dumps(results, indent=1)
