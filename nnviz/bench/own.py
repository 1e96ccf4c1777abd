"""nnviz against itself (`python -m nnviz.bench --own`): the page-level figures that came before
the peer race. Ratios are measured side by side in one run (these machines are noisy).

Prints:
  capture overhead = forward with every conv/pool layer captured / plain forward (target <= 1.10)
  mosaic bytes: a 64-channel 112x112 map as one PNG vs the same data as heatmap JSON (target >= 20x)
  forwards caused by a layer switch on the CNN page (target 0)
"""
from __future__ import annotations

import json
from pathlib import Path
import statistics
import time

import numpy as np
import torch

from .. import plots
from ..capture import POOL_TYPES, capture, forwards_run
from ..models import load_model
from . import interleaved


def capture_overhead(name: str, size: int, channels: int, repeats: int) -> dict:
    """Captured / plain forward, interleaved. 'conv_pool' captures every conv and pooling layer
    (the target); 'page' captures the CNN page's default set (also blocks, F(x) and shortcuts)."""
    model = load_model(name, weights="random")
    x = torch.randn(1, channels, size, size)
    conv_pool = [n for n, m in model.named_modules() if isinstance(m, (torch.nn.Conv2d,) + POOL_TYPES)]

    def plain():
        with torch.inference_mode():
            model(x)

    t = interleaved({"plain": plain, "conv_pool": lambda: capture(model, x, layers=conv_pool),
                      "page": lambda: capture(model, x)}, repeats)
    return {"model": name, "input": f"{channels}x{size}x{size}", "plain_ms": t["plain"] * 1e3,
            "captured_ms": t["conv_pool"] * 1e3, "ratio": t["conv_pool"] / t["plain"],
            "page_layers_ratio": t["page"] / t["plain"]}


def mosaic_bytes() -> dict:
    """ResNet-18's conv1 on a shipped photo: 64 real 112x112 maps."""
    import plotly.graph_objects as go

    from ..inputs import load_image, prepare_image

    model = load_model("resnet18")
    img = load_image((Path(__file__).resolve().parents[2] / "samples" / "china.jpg").read_bytes())
    x, _, _ = prepare_image(img, model.spec.preprocess)
    maps = capture(model, torch.from_numpy(x)[None], layers=["conv1"])["conv1"].output
    c, hw = maps.shape[0], maps.shape[1]
    png = len(plots.feature_mosaic(maps).to_json())
    rows, cols = int(np.ceil(c / 8)), 8
    grid = np.zeros((rows * hw, cols * hw), np.float32)
    for i in range(c):
        r, k = divmod(i, cols)
        grid[r * hw:(r + 1) * hw, k * hw:(k + 1) * hw] = maps[i]
    heat = len(go.Figure(go.Heatmap(z=grid)).to_json())
    return {"channels": c, "size": hw, "weights": model.weights_info.label, "mosaic_figure_bytes": png, "heatmap_json_bytes": heat, "ratio": heat / png}


def layer_switch_forwards() -> dict:
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/cnn.py")
    at.run()
    before = forwards_run()
    for layer in ("features.3", "features.5", "classifier.0", "features.0"):
        at.selectbox(key="layer").set_value(layer).run()
    return {"layer_switches": 4, "model_forwards": forwards_run() - before}


def main() -> None:
    torch.set_num_threads(2)
    results = {
        "capture_overhead": [capture_overhead("resnet18", 224, 3, 40), capture_overhead("lenet5", 28, 1, 300)],
        "mosaic_bytes": mosaic_bytes(),
        "layer_switch": layer_switch_forwards(),
    }
    for r in results["capture_overhead"]:
        print(f"capture overhead {r['model']:9s} {r['input']:>10s}: plain {r['plain_ms']:.2f} ms, every conv/pool "
              f"captured {r['captured_ms']:.2f} ms, ratio {r['ratio']:.3f} (the CNN page's layer set: "
              f"{r['page_layers_ratio']:.3f})")
    m = results["mosaic_bytes"]
    print(f"mosaic {m['channels']}x{m['size']}x{m['size']} (resnet18 conv1, {m['weights']}): mosaic figure {m['mosaic_figure_bytes'] / 1e3:.0f} kB vs "
          f"heatmap JSON {m['heatmap_json_bytes'] / 1e3:.0f} kB: {m['ratio']:.1f}x smaller")
    s = results["layer_switch"]
    print(f"CNN page: {s['layer_switches']} layer switches ran the model {s['model_forwards']} times")
    c = results["convolution_speed"] = convolution_speed()
    print(f"convolution playground, {c['input']}: slider change {c['slider_change_ms']:.0f} ms server-side "
          f"(conv alone {c['conv_only_ms']:.0f} ms), figures sent {c['total_bytes'] / 1e3:.0f} kB "
          f"(input/output {c['figure_bytes']['input_output'] / 1e3:.0f} kB; the raw output as heatmap JSON "
          f"would be {c['raw_heatmap_json_bytes'] / 1e3:.0f} kB)")
    r = results["recurrent_speed"] = recurrent_speed()
    for n, row in r["lengths"].items():
        print(f"recurrent page, {n:>5} chars: LSTM states {row['lstm_states_ms']:.0f} ms, RNN {row['rnn_states_ms']:.0f} ms, "
              f"gradients (both) {row['gradients_ms']:.0f} ms; trace {row['trace_bytes'] / 1e6:.1f} MB in memory, "
              f"text-view figures sent {row['sent_bytes'] / 1e3:.0f} kB (whole c as heatmap JSON: "
              f"{row['full_heatmap_json_bytes'] / 1e3:.0f} kB)")
    a = results["attention_speed"] = attention_speed()
    for T in (32, 128, 512):
        r = a[T]
        print(f"attention page, {T} tokens: new text {r['new_text_ms']:.0f} ms; layer/head switch " + ", ".join(
              f"{v} {r[v + '_switch_ms']:.0f} ms / {r[v + '_bytes'] / 1e3:.0f} kB" for v in a["views"])
              + f"; all weights as JSON would be {r['all_weights_json_bytes'] / 1e6:.1f} MB; "
              f"model runs during switches: {r['model_runs_during_switches']}")
    print(json.dumps(results, default=float))


def convolution_speed(repeats: int = 5) -> dict:
    """The convolution playground after a slider change on a 1024x768 photo: server-side time to
    convolve and build the figures (input/output, step-through, pooling), and the bytes sent."""
    from ..inputs import load_image, resize, to_gray
    from .. import ops

    img = load_image((Path(__file__).resolve().parents[2] / "samples" / "china.jpg").read_bytes())
    x = resize(to_gray(img.rgb), (1024, 768))  # (768, 1024), what the page works on for such an image
    kernel = ops.PRESETS["Sobel x"].weights
    out: dict = {"input": "768x1024 grayscale (china.jpg upscaled)"}

    def slider_change(stride=1, padding=1):
        y = ops.conv2d(x, kernel, stride, padding)
        io = plots.conv_input_output(x, y, "input", "output", crop_box=(300, 400, 8))
        crop = x[300:308, 400:408].astype(np.float64)
        xp, mask, _ = ops.pad_image(crop, 3, 3, stride, padding)
        c_out = ops.conv2d(crop, kernel, stride, padding)
        step = plots.conv_step_figure(xp, mask, kernel, ops.conv_step(crop, kernel, 0, 0, stride, padding), c_out)
        mx, win = ops.max_pool2d(y, 2, 2)
        pool = plots.pool_views(y, mx, ops.avg_pool2d(y, 2, 2), win, 2, 2)
        return [f.to_json() for f in (io, step, pool)]  # Streamlit serialises each figure to JSON

    times = []
    for i in range(repeats + 1):
        t = time.perf_counter()
        sent = slider_change(stride=1 + i % 2)
        if i:
            times.append(time.perf_counter() - t)
    t = time.perf_counter()
    for _ in range(repeats):
        ops.conv2d(x, kernel, 1, 1)
    out["conv_only_ms"] = (time.perf_counter() - t) / repeats * 1e3
    out["slider_change_ms"] = statistics.median(times) * 1e3
    out["figure_bytes"] = {"input_output": len(sent[0]), "step_through": len(sent[1]), "pooling": len(sent[2])}
    out["total_bytes"] = sum(out["figure_bytes"].values())
    out["raw_heatmap_json_bytes"] = len(json.dumps(np.round(x, 3).tolist()))  # one 768x1024 array as heatmap z
    return out


def recurrent_speed(repeats: int = 3) -> dict:
    """The RNN & LSTM page on 100 / 1,000 / 2,000 characters of stdlib source: time to record
    every state and gate (LSTM and RNN) and the gradients of the Why-LSTMs view, the trace's size
    in memory, and the bytes the text view sends to the browser (an 80-character window of the
    heatmap, the Find-units and next-character charts, the text coloured by one unit, the context).
    A unit / gate / window change re-sends these bytes but runs no model (cached trace)."""
    import sysconfig

    from .. import analysis
    from ..models.recurrent import VOCAB

    lstm, rnn = load_model("char_lstm"), load_model("char_rnn")
    source = (Path(sysconfig.get_paths()["stdlib"]) / "shlex.py").read_text()
    out: dict = {"lengths": {}}
    for n in (100, 1000, 2000):
        text = source[:n]
        t = {}
        for name, model in (("lstm", lstm), ("rnn", rnn)):
            model.run(text)  # warm-up
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                tr = model.run(text)
                times.append(time.perf_counter() - t0)
            t[name] = statistics.median(times)
            if name == "lstm":
                trace = tr
        t0 = time.perf_counter()
        lstm.gradient_norms(text)
        rnn.gradient_norms(text)
        grad = time.perf_counter() - t0
        c = trace.layers[0].c
        T = trace.length
        start, stop = plots.window_bounds(T, 0, 80)
        pattern = analysis.bracket_depth(trace.tokens)
        best = analysis.find_units(c, pattern, 10)
        unit = best[0].unit if best else 0
        lo, hi, scale = plots.quantity_range("c", c[:, unit])
        sent = [
            plots.state_heatmap(c, trace.tokens, start, stop, None, "c", "c", plots.quantity_range("c", c)).to_json(),
            plots.unit_ranking([(b.unit, b.r) for b in best], "best").to_json(),
            plots.pattern_vs_unit(pattern, c[:, unit], trace.tokens, start, stop, "bracket depth", "unit").to_json(),
            plots.next_char_bar(trace.top_next(T - 1, 5), "next").to_json(),
            plots.text_html(trace.tokens, c[:, unit], lo, hi, scale),
            plots.text_html(trace.tokens[max(0, T - 121):], None, mark=min(T, 121) - 1),
        ]
        import plotly.graph_objects as go

        out["lengths"][n] = {
            "lstm_states_ms": t["lstm"] * 1e3, "rnn_states_ms": t["rnn"] * 1e3, "gradients_ms": grad * 1e3,
            "trace_bytes": trace.nbytes, "sent_bytes": sum(len(x) for x in sent),
            "figure_bytes": [len(x) for x in sent],
            "full_heatmap_json_bytes": len(go.Figure(go.Heatmap(z=c.T)).to_json()),
        }
    out["vocab"] = len(VOCAB)
    return out


def attention_speed(sizes: tuple[int, ...] = (32, 128, 512), repeats: int = 3) -> dict:
    """The attention page (AppTest, the real page script) at 32, 128 and 512 MiniLM tokens:
    server time for a new text (tokenize + forward + render) and for a layer/head switch (render
    only), and the bytes each view sends to the browser (all element protos of the page), next to
    what shipping all attention weights as JSON would cost (what BertViz does). A switch = moving
    the layer slider (every MiniLM view has one)."""
    from streamlit.testing.v1 import AppTest

    from ..models.bert import MiniLM

    def page_bytes(node) -> int:
        total = 0
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ByteSize"):
            total += proto.ByteSize()
        for child in getattr(node, "children", {}).values():
            total += page_bytes(child)
        return total

    minilm = load_model("minilm")
    words = ("Attention lets every token look at every other token of the text and decide how much of each "
             "to take, and twelve heads do this in parallel in every layer. ") * 40
    enc = minilm.encode(words)
    runs = {"n": 0}
    orig_run = MiniLM.run

    def counted(self, *a, **k):
        runs["n"] += 1
        return orig_run(self, *a, **k)

    MiniLM.run = counted
    out: dict = {"views": ["head", "model", "rollout", "steps"]}
    try:
        at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=300)
        at.run()
        at.switch_page("pages/attention.py")
        at.run()
        for T in sizes:
            cut = enc.offsets[T - 2][1]  # T - 2 wordpieces + [CLS] + [SEP] = T tokens
            row: dict = {"tokens": T}
            new_text = []
            for r in range(repeats):
                at.segmented_control(key="att_view").set_value("head").run()
                t = time.perf_counter()
                first = ("Attention", "Focus", "Care", "Heed")[r % 4]  # one wordpiece each: same length, new text
                at.text_area(key="att_text").input(first + words[len("Attention"):cut]).run()
                new_text.append(time.perf_counter() - t)
            row["new_text_ms"] = statistics.median(new_text) * 1e3
            tokens = len(minilm.encode(at.text_area(key="att_text").value).ids)
            row["tokens_checked"] = tokens
            before = runs["n"]
            for view in out["views"]:
                at.segmented_control(key="att_view").set_value(view).run()
                switch = []
                for r in range(repeats):
                    t = time.perf_counter()
                    at.slider(key="att_layer").set_value(1 + (r + 1) % 6).run()
                    switch.append(time.perf_counter() - t)
                assert not at.exception, at.exception
                row[f"{view}_switch_ms"] = statistics.median(switch) * 1e3
                row[f"{view}_bytes"] = page_bytes(at._tree)
            row["model_runs_during_switches"] = runs["n"] - before
            tr = minilm.run(words[:cut])
            one_head = len(json.dumps(np.round(tr.attentions[0, 0].astype(np.float64), 4).tolist()))
            row["all_weights_json_bytes"] = one_head * tr.n_layers * tr.n_heads
            out[T] = row
    finally:
        MiniLM.run = orig_run
    return out

