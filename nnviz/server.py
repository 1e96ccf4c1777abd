"""Start and stop the app as the README does (`python -m streamlit run app.py`, the repo's
.streamlit/config.toml) on a loopback port: the load test, the benchmark and the tests that need
a real server share this. Imports nothing of nnviz and neither torch nor streamlit."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
START_TIMEOUT = 90.0  # first /_stcore/health answer (torch imports)


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def health(port: int, host: str = HOST) -> bool:
    try:
        with urllib.request.urlopen(f"http://{netloc(host, port)}/_stcore/health", timeout=2) as r:
            return r.read() == b"ok"
    except OSError:
        return False


def start_server(port: int, log_path: Path | None = None) -> subprocess.Popen:
    """The README's command, headless (a run on a laptop with a display opens no browser); returns
    once /_stcore/health answers. Output goes to `log_path` (or nowhere)."""
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.address", HOST, "--server.headless", "true"]
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")}
    env["PYTHONUNBUFFERED"] = "1"
    with open(log_path or os.devnull, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT
    while not health(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(proc)
            raise RuntimeError(f"the server did not answer on /_stcore/health; log: {log_path}")
        time.sleep(0.1)
    return proc


def stop_server(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM to the process group (the server and anything it started), SIGKILL after `timeout`."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)
    except ProcessLookupError:
        pass
