"""nnviz's benchmark: `python -m nnviz.bench`. Ratios are measured side by side in one run
(these machines are noisy), so compare ratios, not seconds.

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

from . import plots
from .capture import capture, forwards_run
from .models import load_model


def _interleaved(fns: dict, repeats: int) -> dict[str, float]:
    """Median seconds per call, alternating the candidates so drift hits all alike."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for f in fns.values():
        f()  # warm-up
    for _ in range(repeats):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def capture_overhead(name: str, size: int, channels: int, repeats: int) -> dict:
    model = load_model(name, weights="random")
    x = torch.randn(1, channels, size, size)

    def plain():
        with torch.inference_mode():
            model(x)

    t = _interleaved({"plain": plain, "captured": lambda: capture(model, x)}, repeats)
    return {"model": name, "input": f"{channels}x{size}x{size}", "plain_ms": t["plain"] * 1e3,
            "captured_ms": t["captured"] * 1e3, "ratio": t["captured"] / t["plain"]}


def mosaic_bytes() -> dict:
    """ResNet-18's conv1 on a shipped photo: 64 real 112x112 maps."""
    import plotly.graph_objects as go

    from .inputs import load_image, prepare_image

    model = load_model("resnet18")
    img = load_image((Path(__file__).resolve().parents[1] / "samples" / "china.jpg").read_bytes())
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

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
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
        "capture_overhead": [capture_overhead("resnet18", 224, 3, 30), capture_overhead("lenet5", 28, 1, 300)],
        "mosaic_bytes": mosaic_bytes(),
        "layer_switch": layer_switch_forwards(),
    }
    for r in results["capture_overhead"]:
        print(f"capture overhead {r['model']:9s} {r['input']:>10s}: plain {r['plain_ms']:.2f} ms, "
              f"captured {r['captured_ms']:.2f} ms, ratio {r['ratio']:.3f}")
    m = results["mosaic_bytes"]
    print(f"mosaic {m['channels']}x{m['size']}x{m['size']} (resnet18 conv1, {m['weights']}): mosaic figure {m['mosaic_figure_bytes'] / 1e3:.0f} kB vs "
          f"heatmap JSON {m['heatmap_json_bytes'] / 1e3:.0f} kB: {m['ratio']:.1f}x smaller")
    s = results["layer_switch"]
    print(f"CNN page: {s['layer_switches']} layer switches ran the model {s['model_forwards']} times")
    print(json.dumps(results, default=float))


if __name__ == "__main__":
    main()
