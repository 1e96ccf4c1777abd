"""The benchmark's machinery on tiny sizes: the JSON schema and its verdicts, not the timings
(benchmarks are scripts that print ratios, never timed tests)."""
import json
import math

import pytest

from nnviz import bench
from nnviz.bench import absent, figure, fit_exponent, interleaved, parse_target


def _check_schema(results: dict) -> None:
    assert results and all(isinstance(k, str) for k in results)
    for name, f in results.items():
        assert {"value", "target", "ok", "note"} <= set(f), name
        v, target, ok = f["value"], f["target"], f["ok"]
        assert v is None or isinstance(v, (int, float)), name
        if v is None or target is None:
            assert ok is None, name  # no verdict without both a value and a target
            continue
        op, num = parse_target(target)
        assert ok == op(v, num), (name, f)  # the verdict agrees with value vs target


def test_figure_verdicts_and_absent_peers():
    assert figure(1.05, "<= 1.1")["ok"] is True
    assert figure(1.2, "<= 1.1")["ok"] is False
    assert figure(25.0, ">= 20.0")["ok"] is True
    assert figure(0, "== 0")["ok"] is True
    assert figure(3.0, None)["ok"] is None
    a = absent("captum not installed", "<= 1.0")
    assert a["value"] is None and a["ok"] is None and a["note"].startswith("absent:")
    assert figure(float("nan"), "<= 1.0")["ok"] is None
    _check_schema({"a": figure(1.0, "<= 1.1"), "b": a})


def test_interleaved_medians_and_exponent():
    calls = []
    t = interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=3)
    assert calls == ["a", "b"] * 4  # one warm-up round, then A B A B A B: drift hits both alike
    calls.clear()
    per_call = interleaved({"a": lambda: calls.append("a")}, repeats=2, calls=5)
    assert calls == ["a"] * 11 and per_call["a"] >= 0  # warm-up once, then 2 samples of 5 calls
    assert set(t) == {"a", "b"} and all(v >= 0 for v in t.values())
    assert fit_exponent([10, 100, 1000], [1.0, 100.0, 10000.0]) == pytest.approx(2.0)
    assert fit_exponent([10, 20, 40], [3.0, 6.0, 12.0]) == pytest.approx(1.0)


def test_quick_run_has_the_schema_and_survives_broken_sections(monkeypatch, tmp_path):
    from nnviz.bench import peers

    def broken(quick=False):
        raise RuntimeError("a page mid-edit")

    # Only the cheap sections (the others load MiniLM or run AppTest), plus one that fails.
    monkeypatch.setattr(peers, "attention_race", broken)
    monkeypatch.setattr(peers, "growth", lambda quick=False: {})
    monkeypatch.setattr(peers, "browser_bytes", lambda quick=False: peers._mosaic_bytes(quick))
    results = bench.run(quick=True, apptest=False, progress=lambda *_: None)
    _check_schema(results)
    assert results["broken"]["note"].startswith("error: RuntimeError")  # named after the section
    names = set(results)
    assert {"capture.lenet5.nnviz_vs_plain", "recurrent.lstm.20.gates_vs_nn_lstm",
            "bytes.mosaic.heatmap_vs_mosaic"} <= names
    assert "capture.lenet5.nnviz_vs_captum" in names  # a ratio, or "absent" when captum is not installed
    out = tmp_path / "b.json"
    out.write_text(json.dumps(results))
    _check_schema(json.loads(out.read_text()))
    md = bench.table(results)
    assert md.count("\n") == len(results) + 1 and "capture.lenet5.nnviz_vs_plain" in md


def test_a_missing_peer_is_reported_absent(monkeypatch):
    from nnviz.bench import peers

    real = peers._have
    monkeypatch.setattr(peers, "_have", lambda m: False if m == "captum" else real(m))
    got = peers.capture_race(quick=True)
    assert got["capture.lenet5.nnviz_vs_captum"]["value"] is None
    assert "absent" in got["capture.lenet5.nnviz_vs_captum"]["note"]
    assert not math.isnan(got["capture.lenet5.nnviz_vs_plain"]["value"])


def test_main_writes_json(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "run", lambda **kw: {"x": figure(1.0, "<= 1.1")})
    out = tmp_path / "r.json"
    bench.main(["--json", str(out), "--threads", "1"])
    assert json.loads(out.read_text()) == {"x": {"value": 1.0, "target": "<= 1.1", "ok": True, "note": ""}}


def test_the_memory_script_reports_rss_after_the_warmup_and_each_quarter():
    from nnviz.bench import memory

    lines = []
    rows = memory.run(warmup=3, inputs=8, report=lines.append)
    assert [n for n, _ in rows] == [0, 2, 4, 6, 8]  # the warm-up, then every quarter of the inputs
    assert all(rss > 50 for _, rss in rows)  # MiB of a process that has torch and three models loaded
    assert lines[0].startswith("after the warm-up") and "%" in lines[-1]
