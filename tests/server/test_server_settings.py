"""The server as the README starts it: the settings in .streamlit/config.toml, no outbound
network traffic, listening on 127.0.0.1 only, and no e-mail prompt on a first start.

The no-outbound proof runs the server under `strace -f` (every process it starts is traced) and
reads every connect/sendto/sendmsg/bind it made. Without strace these tests skip locally and fail
in CI (CI=true): there they are required.
"""
from __future__ import annotations

import ipaddress
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from nnviz.server import health, stop_server

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".streamlit" / "config.toml"
START_TIMEOUT = 90  # seconds for the first health answer (torch imports under strace)
PAGE_TIMEOUT = 120  # seconds for one page's script run
# url path -> the page's st.title: every page is run once over a real websocket session.
PAGES = {"": "nnviz: watch neural networks think", "convolution": "Convolution playground",
         "cnn": "CNN explorer", "recurrent": "RNN & LSTM explorer", "attention": "Attention explorer"}


# --- the config file ------------------------------------------------------------------------------

def config() -> dict:
    return tomllib.loads(CONFIG.read_text(encoding="utf-8"))


def test_config_has_the_lecture_settings():
    c = config()
    assert c["server"]["fileWatcherType"] == "none"
    assert c["server"]["runOnSave"] is False
    assert c["server"]["showEmailPrompt"] is False
    assert c["server"]["address"] == "127.0.0.1"
    assert c["server"]["enableXsrfProtection"] is True
    assert c["browser"]["gatherUsageStats"] is False
    assert c["client"]["showErrorDetails"] == "none"
    assert c["client"]["toolbarMode"] == "viewer"


def test_upload_cap_fits_the_largest_checkpoint_with_a_bounded_margin():
    from nnviz.weights import CHECKPOINTS

    largest = max(ck.size_mb for ck in CHECKPOINTS.values())  # VGG-16, 527.8 MB
    cap = config()["server"]["maxUploadSize"]
    assert largest <= cap <= 2 * largest


def test_every_setting_is_a_streamlit_option_with_an_allowed_value():
    """Streamlit ignores an unknown key with only a log line, so a typo would silently undo a setting."""
    from streamlit import config as st_config

    options = st_config._config_options_template
    for section, values in config().items():
        for key in values:
            assert f"{section}.{key}" in options, f"{section}.{key} is not a Streamlit option"
    show = options["client.showErrorDetails"].description
    assert '"none"' in show and "generic exception" in show  # "none": no type, message or traceback in the browser
    assert '"none"' in options["server.fileWatcherType"].description


# --- strace output --------------------------------------------------------------------------------

_SYSCALL = re.compile(r"^(?:\d+\s+)?(?:<\.\.\. )?(\w+)\(")
_INET = re.compile(r'sa_family=(AF_INET6?)\b[^}]*?(?:inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)")')
_PORT = re.compile(r"sin6?_port=htons\((\d+)\)")


def inet_calls(trace: str) -> list[tuple[str, str, int | None, str]]:
    """(syscall, address, port, line) for every AF_INET/AF_INET6 address in an strace log."""
    out = []
    for line in trace.splitlines():
        m = _SYSCALL.match(line)
        if not m:
            continue
        for fam in _INET.finditer(line):
            port = _PORT.search(line[fam.start():])
            out.append((m.group(1), fam.group(2) or fam.group(3), int(port.group(1)) if port else None, line))
    return out


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def outbound(trace: str) -> list[str]:
    return [line for call, addr, _, line in inet_calls(trace) if call != "bind" and not is_loopback(addr)]


def test_the_strace_reader_catches_what_streamlit_does_when_it_looks_up_its_ip():
    """strace 6.1 lines captured on this machine: the first two from `streamlit run app.py
    --server.address 0.0.0.0` (Streamlit's IP lookups), the rest from a script's sockets."""
    trace = "\n".join([
        '9381  connect(7, {sa_family=AF_INET, sin_port=htons(1), sin_addr=inet_addr("8.8.8.8")}, 16) = 0',
        ('9381  connect(8, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16 '
         '<unfinished ...>'),
        '9390  <... connect resumed>)             = 0',
        ('5079  connect(3, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), '
         'inet_pton(AF_INET6, "2600:1f18::1", &sin6_addr), sin6_scope_id=0}, 28) = 0'),
        '5079  sendto(4, "x", 1, 0, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("1.1.1.1")}, 16) = 1',
        '5079  --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=5080, si_uid=0, si_status=0} ---',
        '9381  connect(10, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT',
        ('5079  connect(3, {sa_family=AF_INET6, sin6_port=htons(9), sin6_flowinfo=htonl(0), '
         'inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0'),
        ('5079  sendmsg(4, {msg_name={sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr("127.0.0.2")}, '
         'msg_namelen=16, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 1'),
        ('5079  sendto(3, "x", 1, 0, {sa_family=AF_INET6, sin6_port=htons(9), sin6_flowinfo=htonl(0), '
         'inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6_addr), sin6_scope_id=0}, 28) = 1'),
        '9381  bind(6, {sa_family=AF_INET, sin_port=htons(8766), sin_addr=inet_addr("127.0.0.1")}, 16) = 0',
        '9381  sendto(13, "GET / HTTP/1.1", 14, 0, NULL, 0) = 14',
    ])
    found = [re.search(r'"([0-9a-f.:]+)"', line).group(1) for line in outbound(trace)]
    assert found == ["8.8.8.8", "10.255.255.53", "2600:1f18::1", "1.1.1.1"]
    assert [(c, a, p) for c, a, p, _ in inet_calls(trace) if c == "bind"] == [("bind", "127.0.0.1", 8766)]


# --- the real server ------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _strace_args() -> list[str]:
    """strace with seccomp-bpf when the kernel allows it (only the traced calls stop the process)."""
    exe = shutil.which("strace")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but strace is missing (apt-get install strace): the no-outbound proof is required")
        pytest.skip("strace not installed (apt-get install strace)")
    base = [exe, "-f", "-qq", "-e", "trace=connect,bind,sendto,sendmsg"]
    for extra in (["--seccomp-bpf"], []):
        probe = subprocess.run([*base, *extra, "-o", os.devnull, "true"], capture_output=True, text=True,
                               timeout=30, check=False)
        if probe.returncode == 0:
            return [*base, *extra]
    if os.environ.get("CI") == "true":
        pytest.fail(f"strace cannot trace here: {probe.stderr.strip()}")
    pytest.skip(f"strace cannot trace here: {probe.stderr.strip()}")


def _server_env(home: Path, **extra: str) -> dict[str, str]:
    """A first start on a fresh account: an empty HOME (no ~/.streamlit, no credentials). Without
    a display Streamlit is headless; tests that want a display pass DISPLAY."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), PYTHONUNBUFFERED="1", **extra)
    return env


@contextmanager
def serve(prefix: list[str], port: int, env: dict[str, str], log: Path):
    """`python -m streamlit run app.py --server.port P` from the repo root, as the README says
    (after an optional tracer `prefix`); yields once /_stcore/health answers; always killed."""
    cmd = [*prefix, sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not health(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the server did not answer on /_stcore/health:\n{log.read_text(errors='replace')}")
            time.sleep(0.3)
        yield proc
    finally:
        stop_server(proc)


def get(port: int, path: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=20) as r:
        return r.status, r.read()


def run_page(port: int, page: str, origin: str | None = None) -> dict:
    """One browser session's first visit to `page` over the websocket, as the frontend makes it:
    rerun the script until it finishes. Returns headings, exceptions and errors shown."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    seen = {"headings": [], "exceptions": [], "errors": []}
    with connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"], origin=origin,
                 open_timeout=20, max_size=None) as ws:
        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_name = page
        ws.send(msg.SerializeToString())
        deadline = time.monotonic() + PAGE_TIMEOUT
        while True:
            fwd = ForwardMsg()
            fwd.ParseFromString(ws.recv(timeout=max(1.0, deadline - time.monotonic())))
            kind = fwd.WhichOneof("type")
            if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                el = fwd.delta.new_element
                what = el.WhichOneof("type")
                if what == "heading":
                    seen["headings"].append(el.heading.body)
                elif what == "exception":
                    seen["exceptions"].append(f"{el.exception.type}: {el.exception.message}")
                elif what == "alert" and el.alert.format == el.alert.ERROR:
                    seen["errors"].append(el.alert.body)
            elif kind == "script_finished" and fwd.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                return seen
            assert time.monotonic() < deadline, f"page {page!r} did not finish in {PAGE_TIMEOUT} s"


def listening(port: int) -> list[str]:
    """Addresses with a TCP socket in LISTEN state on `port` in this network namespace."""
    out = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            addr, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:
                continue
            raw = bytes.fromhex(addr)
            if width == 8:
                out.append(str(ipaddress.IPv4Address(raw[::-1])))
            else:  # four little-endian 32-bit words
                out.append(str(ipaddress.IPv6Address(b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))))
    return out


class Traced:
    def __init__(self, port: int, trace: Path, log: Path):
        self.port, self.trace, self.log = port, trace, log
        self.foreign: list[tuple[int, int]] = []  # parts of the trace made by the cross-origin test

    def read(self) -> str:
        """The trace so far, without the cross-origin test's part (whatever order the tests ran in)."""
        text, pos, kept = self.trace.read_text(errors="replace"), 0, []
        for a, b in self.foreign:
            kept.append(text[pos:a])
            pos = b
        return "".join(kept) + text[pos:]


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    """The server under strace, shared by the tests below (one start: torch imports take seconds)."""
    prefix = _strace_args()
    d = tmp_path_factory.mktemp("traced")
    port = _free_port()
    trace, log = d / "strace.log", d / "server.log"
    with serve([*prefix, "-o", str(trace)], port, _server_env(d / "home"), log):
        yield Traced(port, trace, log)


def test_the_server_listens_on_loopback_only(traced):
    assert listening(traced.port) == ["127.0.0.1"]
    binds = [(a, p) for c, a, p, _ in inet_calls(traced.read()) if c == "bind"]
    assert ("127.0.0.1", traced.port) in binds  # the trace holds the server's own socket: strace saw it
    assert all(is_loopback(a) for a, _ in binds), binds
    assert f"URL: http://127.0.0.1:{traced.port}" in traced.log.read_text(errors="replace")


def test_pages_load_and_run_with_no_outbound_connection(traced):
    for path in ("/", "/cnn"):
        status, html = get(traced.port, path)
        assert status == 200 and b'<div id="root">' in html
    for page, title in PAGES.items():
        seen = run_page(traced.port, page)
        assert title in seen["headings"] and not seen["exceptions"], (page, seen)
    time.sleep(1.0)  # let a late background request (telemetry, IP lookups) show up in the trace
    trace = traced.read()
    assert trace.count("sendto(") > 10  # the server's answers to these visits: strace saw the serving process
    assert outbound(trace) == []
    log = traced.log.read_text(errors="replace")
    assert "Email" not in log and "Collecting usage statistics" not in log


def test_a_cross_origin_websocket_is_refused_without_going_online(traced):
    """Once the app has served a page (the test above ran every page on this server), a websocket
    from another origin is refused with no lookup of the machine's addresses (ui.no_address_lookups)."""
    from websockets.exceptions import InvalidStatus

    assert run_page(traced.port, "")["headings"]  # the app has served a page on this server
    start = len(traced.trace.read_text(errors="replace"))
    traced.foreign.append((start, 10**12))  # open-ended until measured below
    with pytest.raises(InvalidStatus, match="403"):
        run_page(traced.port, "", origin="http://evil.example")
    time.sleep(1.0)
    part = traced.trace.read_text(errors="replace")[start:]
    traced.foreign[-1] = (start, start + len(part))
    assert outbound(part) == []


def test_address_lookups_are_answered_from_the_cache_once_the_app_has_run(monkeypatch):
    """The origin check itself, in this process: unknown addresses become loopback, known ones stay,
    and refusing a foreign origin then asks the network nothing."""
    from streamlit import net_util
    from streamlit.web.server.server_util import is_url_from_allowed_origins

    from nnviz import ui

    monkeypatch.setattr(net_util, "_internal_ip", "192.168.1.23")  # known, e.g. from the startup banner
    monkeypatch.setattr(net_util, "_external_ip", None)
    ui.no_address_lookups()
    assert (net_util._internal_ip, net_util._external_ip) == ("192.168.1.23", "127.0.0.1")

    def online(*a, **k):
        raise AssertionError("looked an address up online")

    monkeypatch.setattr(net_util, "_make_blocking_http_get", online)
    assert not is_url_from_allowed_origins("http://evil.example")
    assert is_url_from_allowed_origins("http://192.168.1.23:9000")  # Streamlit's own rule, kept


@pytest.mark.xfail(strict=True, reason=(
    "Streamlit 1.67, no config switch: before the app has run once, no nnviz code runs in the server, so "
    "a websocket from another origin still makes the origin check look the machine's addresses up "
    "(UDP connect to 8.8.8.8, HTTP to checkip.amazonaws.com). After the first page ui.no_address_lookups "
    "stops that (test above). A launcher that fills the cache before serving would close this too."))
def test_a_cross_origin_websocket_before_any_page_is_refused_without_going_online(tmp_path):
    from websockets.exceptions import InvalidStatus

    port = _free_port()
    trace, log = tmp_path / "strace.log", tmp_path / "server.log"
    with serve([*_strace_args(), "-o", str(trace)], port, _server_env(tmp_path / "home"), log):
        with pytest.raises(InvalidStatus, match="403"):
            run_page(port, "", origin="http://evil.example")
        time.sleep(1.0)
        assert outbound(trace.read_text(errors="replace")) == []


def test_first_start_with_a_display_opens_the_local_url_and_asks_for_no_email(tmp_path):
    """With a display Streamlit is not headless: it opens a browser and, without
    server.showEmailPrompt = false, stops at "Email:" on a first start. A stand-in xdg-open
    records the URL it was given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    opened = tmp_path / "opened.txt"
    opener = bin_dir / "xdg-open"
    opener.write_text(f'#!/bin/sh\necho "$@" >> "{opened}"\n')
    opener.chmod(0o755)
    port = _free_port()
    env = _server_env(tmp_path / "home", DISPLAY=":99", PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    log = tmp_path / "server.log"
    with serve([], port, env, log):
        deadline = time.monotonic() + 20
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert opened.read_text().split() == [f"http://127.0.0.1:{port}"]
        assert listening(port) == ["127.0.0.1"]
    assert "Email" not in log.read_text(errors="replace")
