"""`python -m nnviz.load` against a real server on 127.0.0.1: two sessions, a short run."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("websocket", reason="websocket-client (requirements-dev.txt)")
pytest.importorskip("psutil", reason="psutil (requirements-dev.txt)")


@pytest.mark.timeout(90)
def test_two_sessions_finish_and_cost_plausible_memory(tmp_path):
    out = tmp_path / "load.json"
    proc = subprocess.run([sys.executable, "-m", "nnviz.load", "--sessions", "2", "--seconds", "3",
                           "--page", "cnn", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=80, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    r = json.loads(out.read_text())
    assert r["started_server"] and r["sessions"] == 2
    assert r["finished"] == 2 and r["failures"] == 0 and r["errors"] == []
    assert r["first_run_s"]["n"] == 2 and 0 < r["first_run_s"]["median"] <= r["first_run_s"]["max"] < 30
    assert r["view_change_s"]["n"] >= 2 and 0 < r["view_change_s"]["max"] < 30  # each session changed the view
    # A warm server holds torch, Streamlit and the model: hundreds of MiB, well under the machine's RAM.
    assert 150 < r["rss_before_mib"] < 4096
    assert 0 < r["rss_peak_mib"] - r["rss_idle_mib"] < 1024  # the page's model and figures, two sessions
    assert r["server_cpu_s"] > 0 and r["mib_received_per_session"] > 0
