"""A whole class at once: `python -m nnviz.load --sessions N --seconds S [--json OUT]`.

Starts the server as the README does (`python -m streamlit run app.py` from the repo root, with
.streamlit/config.toml, on a free 127.0.0.1 port; or uses `--port` of a running one, or `--url` of
one on loopback, e.g. nginx in front of several processes: `deploy/serve.sh 2 8500` then
`--url http://127.0.0.1:8500`), then opens N concurrent Streamlit sessions, the way a browser does:

  0. GET the page's HTML, then /_stcore/health, keeping the cookies they set (nginx's sticky
     cookie `nnviz_backend`, Streamlit's `_streamlit_xsrf`), then open the websocket
     /_stcore/stream with those cookies, the page's Origin and the XSRF token as the browser sends
     them; behind deploy/serve.sh the cookie pins the session to one process (`routes` in the report);
  1. send a `rerun_script` back message for the page (and `--query`), read forward messages until
     the script run finishes successfully: "time to first finished run" (from step 0);
  2. then, until S seconds have passed, make view changes as a student would (one every `--think`
     seconds; with --jitter a pause uniform in [0, 2 * think]): send a widget-change back message
     for the page's layer/head widget (CNN: the "Layer" selectbox; attention: the "Head" slider),
     each session walking to other values, and time each one until its run finishes. At least one
     view change per session.

Before the N sessions, one warm-up session per app process (unless --no-warmup) loads the page
once, as the lecturer does before class: models and caches are then in memory and "per extra
session" memory is the sessions' own cost (behind serve.sh's round robin, K warm-ups in a row reach
K different processes). Reports percentiles, failures, server RSS and CPU seconds (via psutil: the
server process and all its children; behind deploy/serve.sh, serve.sh and everything it started:
nginx and every app process, also broken down by process) and this client's own CPU seconds (it
runs on the same machine and competes for the same cores).

Bounded: N <= 100, S <= 120, every receive has a timeout, a hard overall timeout (SIGALRM) and a
server this script started is always killed in `finally`. Only loopback (127.0.0.1 or [::1]) is
ever contacted: `--url` refuses any other host. Not imported by the app; websocket-client and
psutil are imported lazily (requirements-dev.txt).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import sys
import threading
import time
from collections import Counter
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlsplit

from .server import HOST, START_TIMEOUT, free_port, health, netloc, start_server, stop_server

MAX_SESSIONS = 100
MAX_SECONDS = 120
RUN_TIMEOUT = 120.0  # one script run, from the message that asked for it
# page -> label of the widget a view change moves (the page's main view control)
VIEW_WIDGET = {"cnn": "Layer", "attention": "Head", "recurrent": "Layer", "convolution": "Kernel"}
CHANGEABLE = ("selectbox", "slider", "radio")
LOOPBACK = ("127.0.0.1", "::1")  # never a name: "localhost" could resolve anywhere
STICKY_COOKIE = "nnviz_backend"  # deploy/nginx-site.sh
XSRF_COOKIE = "_streamlit_xsrf"


class HardTimeout(Exception):
    pass


# --- the server -------------------------------------------------------------------------------------

def parse_url(url: str) -> tuple[str, int]:
    """(host, port) of an http URL on loopback; anything else is refused."""
    u = urlsplit(url)
    if u.scheme != "http" or not u.hostname or u.path not in ("", "/") or u.query:
        raise ValueError(f"--url must look like http://127.0.0.1:PORT, not {url!r}")
    if u.hostname not in LOOPBACK:
        raise ValueError(f"--url must be on loopback ({', '.join(LOOPBACK)}), not {u.hostname!r}")
    return u.hostname, u.port or 80


def listener_pid(port: int) -> int | None:
    """The pid listening on HOST:port (for --port of a server this script did not start)."""
    import psutil

    for p in psutil.process_iter(["pid"]):
        try:
            for c in p.net_connections(kind="tcp"):
                if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port:
                    return p.pid
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return None


def serve_root(pid: int | None) -> int | None:
    """Behind deploy/serve.sh the listener is nginx: measure serve.sh and everything it started
    (nginx and every app process). Otherwise the listener itself (one Streamlit server)."""
    import psutil

    if pid is None:
        return None
    try:
        p = psutil.Process(pid)
        for anc in p.parents():
            if any(a.endswith("serve.sh") for a in anc.cmdline()):
                return anc.pid
    except psutil.Error:
        pass
    return pid


def kind(p) -> str:
    """"app" (a Streamlit process), "nginx" or "other" (serve.sh itself, its helpers)."""
    try:
        cmd = " ".join(p.cmdline())
    except Exception:  # noqa: BLE001 - a process that just ended
        return "other"
    if "streamlit" in cmd:
        return "app"
    return "nginx" if "nginx" in cmd else "other"


class Meter:
    """RSS (bytes) and CPU seconds of a process and all its children; samples the peak RSS."""

    def __init__(self, pid: int | None):
        import psutil

        self.proc = psutil.Process(pid) if pid else None
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _tree(self):
        import psutil

        if self.proc is None:
            return []
        try:
            return [self.proc, *self.proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss(self) -> int:
        import psutil

        total = 0
        for p in self._tree():
            try:
                total += p.memory_info().rss
            except psutil.Error:  # a child that just ended
                continue
        self.peak = max(self.peak, total)
        return total

    def by_kind(self) -> dict[str, dict]:
        """{"app": {"n": k, "rss_mib": [...]}, "nginx": ...}: RSS per process, grouped by kind."""
        import psutil

        out: dict[str, dict] = {}
        for p in self._tree():
            try:
                rss = p.memory_info().rss / (1024 * 1024)
            except psutil.Error:
                continue
            d = out.setdefault(kind(p), {"n": 0, "rss_mib": []})
            d["n"] += 1
            d["rss_mib"].append(round(rss, 1))
        return out

    def cpu(self) -> float:
        import psutil

        total = 0.0
        for p in self._tree():
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:  # a child that just ended
                continue
        return total

    def start_sampling(self, every: float = 0.2) -> None:
        def loop():
            while not self._stop.wait(every):
                self.rss()
        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def stop_sampling(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)


# --- one session ----------------------------------------------------------------------------------

class Session:
    """One browser tab: a websocket to /_stcore/stream speaking Streamlit's protobuf messages."""

    def __init__(self, port: int, page: str, query: str, index: int, host: str = HOST):
        self.port, self.page, self.query, self.index, self.host = port, page, query, index, host
        self.cookies: dict[str, str] = {}
        self.route: str | None = None  # the sticky cookie's value behind deploy/serve.sh
        self.ws = None
        self.widgets: dict[str, tuple[str, object]] = {}  # label -> (kind, proto) from the last run
        self.first_run: float | None = None
        self.changes: list[float] = []
        self.error: str | None = None
        self.exceptions: list[str] = []
        self.bytes_received = 0

    def _get(self, path: str) -> None:
        """One HTTP GET as the browser makes it: send the cookies so far, keep the ones set."""
        conn = HTTPConnection(self.host, self.port, timeout=RUN_TIMEOUT)
        try:
            headers = {"Cookie": self._cookie_header()} if self.cookies else {}
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                raise RuntimeError(f"GET {path}: HTTP {r.status}")
            for name, value in r.getheaders():
                if name.lower() == "set-cookie":
                    k, _, v = value.split(";", 1)[0].partition("=")
                    self.cookies[k.strip()] = v.strip()
        finally:
            conn.close()

    def _cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def connect(self) -> None:
        """As the browser: the page's HTML, the health check (Streamlit sets its XSRF cookie there),
        then the websocket with the cookies, a same-origin Origin and the XSRF token as its second
        subprotocol. (Only a same-origin Origin: a foreign one makes Streamlit 1.67 look up the
        machine's IPs online; tests/server xfails on it.)"""
        import websocket  # websocket-client

        self._get(f"/{self.page}" + (f"?{self.query}" if self.query else ""))
        self._get("/_stcore/health")
        self.route = self.cookies.get(STICKY_COOKIE)
        xsrf = self.cookies.get(XSRF_COOKIE)
        where = netloc(self.host, self.port)
        self.ws = websocket.create_connection(f"ws://{where}/_stcore/stream",
                                              subprotocols=["streamlit", xsrf] if xsrf else ["streamlit"],
                                              origin=f"http://{where}", cookie=self._cookie_header() or None,
                                              timeout=RUN_TIMEOUT)

    def close(self) -> None:
        try:
            if self.ws is not None:
                self.ws.close(timeout=1)
        except Exception:  # noqa: BLE001, S110 - closing a socket the server may have dropped
            pass

    def _send_rerun(self, widget_state=None) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        msg.rerun_script.query_string = self.query
        msg.rerun_script.page_name = self.page
        if widget_state is not None:
            msg.rerun_script.widget_states.widgets.append(widget_state)
        self.ws.send_binary(msg.SerializeToString())

    def _until_finished(self) -> None:
        """Read forward messages until a run finishes successfully (a run that ends early for a
        rerun is followed by another). Records the widgets drawn and any exception shown."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        deadline = time.monotonic() + RUN_TIMEOUT
        widgets: dict[str, tuple[str, object]] = {}
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no finished run in {RUN_TIMEOUT:.0f} s")
            self.ws.settimeout(left)
            _, data = self.ws.recv_data()
            self.bytes_received += len(data)
            fwd = ForwardMsg()
            fwd.ParseFromString(data)
            kind = fwd.WhichOneof("type")
            if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                el = fwd.delta.new_element
                what = el.WhichOneof("type")
                if what == "exception":
                    self.exceptions.append(f"{el.exception.type}: {el.exception.message}")
                elif what in CHANGEABLE:
                    w = getattr(el, what)
                    widgets.setdefault(w.label, (what, w))
            elif kind == "page_not_found":
                raise RuntimeError(f"page not found: {self.page!r}")
            elif kind == "script_finished":
                if fwd.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                    if widgets:
                        self.widgets = widgets
                    return
                if fwd.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    raise RuntimeError("the page failed to compile")
                widgets = {}  # ended early for a rerun: the next run draws the page again

    def load(self) -> float:
        t = time.perf_counter()
        self.connect()
        self._send_rerun()
        self._until_finished()
        self.first_run = time.perf_counter() - t
        return self.first_run

    def view_change(self, step: int) -> float:
        """Move the page's view widget to another value, as the frontend does on a change:
        a rerun_script carrying the widget's new state."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        label = VIEW_WIDGET.get(self.page)
        if label not in self.widgets:
            label = next(iter(self.widgets), None)
        if label is None:
            raise RuntimeError("the page drew no selectbox, slider or radio to change")
        kind, w = self.widgets[label]
        state = WidgetState(id=w.id)
        k = self.index + step  # sessions spread over the values, each walking on
        if kind == "slider":
            lo, hi, stp = w.min, w.max, (w.step or 1)
            n = round((hi - lo) / stp) + 1
            base = round((w.default[0] - lo) / stp) if len(w.default) else 0
            state.double_array_value.data.append(lo + ((base + k) % n) * stp)
        else:  # selectbox, radio: the option's text, as Streamlit 1.67's frontend sends it
            opts = list(w.options)
            state.string_value = opts[(w.default + k) % len(opts)]
        t = time.perf_counter()
        self._send_rerun(state)
        self._until_finished()
        dt = time.perf_counter() - t
        self.changes.append(dt)
        return dt


# --- the load ---------------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, max(0, round(q * (len(v) - 1))))]


def summary(values: list[float]) -> dict:
    return {"n": len(values), "median": statistics.median(values) if values else None,
            "p95": pct(values, 0.95), "max": max(values) if values else None}


def drive(port: int, page: str, query: str, n: int, seconds: float, think: float,
          jitter: bool = False, host: str = HOST) -> list[Session]:
    """N sessions in threads, all starting together (a class opening the link at once). With
    `jitter` each pause is uniform in [0, 2 * think] (students out of step), else exactly `think`."""
    sessions = [Session(port, page, query, i, host) for i in range(n)]
    barrier = threading.Barrier(n + 1)
    end = [0.0]

    def run(s: Session):
        rng = random.Random(s.index)
        try:
            barrier.wait(timeout=30)
            s.load()
            step = 1
            while True:
                s.view_change(step)
                step += 1
                pause = rng.uniform(0, 2 * think) if jitter else think
                if time.monotonic() + pause >= end[0]:
                    break
                time.sleep(pause)
        except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the others
            s.error = f"{type(e).__name__}: {e}"

    threads = [threading.Thread(target=run, args=(s,), daemon=True) for s in sessions]
    for t in threads:
        t.start()
    end[0] = time.monotonic() + seconds
    barrier.wait(timeout=30)
    hard = end[0] + RUN_TIMEOUT + 10
    for t in threads:
        t.join(timeout=max(0.1, hard - time.monotonic()))
    for s, t in zip(sessions, threads):
        if t.is_alive() and s.error is None:
            s.error = "still running at the end"
    return sessions


def run_load(sessions: int, seconds: float, page: str = "cnn", query: str = "", think: float = 1.0,
             port: int | None = None, warmup: bool = True, log: Path | None = None,
             jitter: bool = False, url: str | None = None) -> dict:
    if not 1 <= sessions <= MAX_SESSIONS:
        raise ValueError(f"--sessions must be in 1..{MAX_SESSIONS}")
    if not 1 <= seconds <= MAX_SECONDS:
        raise ValueError(f"--seconds must be in 1..{MAX_SECONDS}")
    import psutil

    proc = None
    host = HOST
    if url is not None:
        if port is not None:
            raise ValueError("give --url or --port, not both")
        host, port = parse_url(url)
    report: dict = {"page": page, "query": query, "sessions": sessions, "seconds": seconds, "think": think,
                    "jitter": jitter, "cores": psutil.cpu_count(logical=True), "view_widget": VIEW_WIDGET.get(page)}
    try:
        t0 = time.perf_counter()
        if port is None:
            port = free_port()
            log = log or Path(os.environ.get("TMPDIR", "/tmp")) / f"nnviz-load-{port}.log"
            proc = start_server(port, log)
            report["server_start_s"] = time.perf_counter() - t0
            pid = proc.pid
        else:
            if not health(port, host):
                raise RuntimeError(f"nothing answers on http://{netloc(host, port)}/_stcore/health")
            pid = serve_root(listener_pid(port))
        report["url"] = f"http://{netloc(host, port)}"
        report["port"], report["started_server"] = port, proc is not None
        meter = Meter(pid)
        mib = 1024 * 1024
        report["rss_idle_mib"] = meter.rss() / mib
        apps = meter.by_kind().get("app", {}).get("n", 0)
        report["app_processes"] = apps or None  # None: not measured (psutil saw no Streamlit process)
        if warmup:
            routes = []
            for i in range(max(1, apps)):  # one per process: round robin gives each its own
                w = Session(port, page, query, i, host)
                try:
                    report["warmup_first_run_s"] = w.load()
                    report["warmup_view_change_s"] = w.view_change(1)
                    routes.append(w.route)
                finally:
                    w.close()
            report["warmup_routes"] = routes
            time.sleep(0.5)
        rss0, cpu0, own0 = meter.rss(), meter.cpu(), os.times()
        meter.peak = rss0
        report["rss_before_mib"] = rss0 / mib
        meter.start_sampling()
        t = time.perf_counter()
        done = drive(port, page, query, sessions, seconds, think, jitter, host)
        report["wall_s"] = time.perf_counter() - t
        rss1 = meter.rss()  # the sessions are still open here
        report["rss_by_kind_after"] = meter.by_kind()
        meter.stop_sampling()
        own1 = os.times()
        ok = [s for s in done if s.error is None and not s.exceptions]
        report.update({
            "rss_after_mib": rss1 / mib,
            "rss_peak_mib": meter.peak / mib,
            "rss_per_session_mib": (rss1 - rss0) / mib / sessions,
            "server_cpu_s": meter.cpu() - cpu0 if pid else None,
            "client_cpu_s": (own1.user - own0.user) + (own1.system - own0.system),
            "finished": sum(s.first_run is not None for s in done),
            "failures": len(done) - len(ok),
            "errors": sorted({s.error for s in done if s.error} | {e for s in done for e in s.exceptions})[:10],
            "first_run_s": summary([s.first_run for s in done if s.first_run is not None]),
            "view_change_s": summary([c for s in done for c in s.changes]),
            "mib_received_per_session": statistics.mean(s.bytes_received for s in done) / mib,
            "routes": dict(sorted(Counter(s.route or "-" for s in done).items())),
        })
        # The names, at the top level: sessions served, errors, p50/p95 per action, RSS.
        report.update({
            "served": len(ok),  # first run and every view change finished, no exception shown
            "p50_s": {"first_run": report["first_run_s"]["median"], "view_change": report["view_change_s"]["median"]},
            "p95_s": {"first_run": report["first_run_s"]["p95"], "view_change": report["view_change_s"]["p95"]},
            "rss_mb": rss1 / 1e6,
        })
        for s in done:
            s.close()
        return report
    finally:
        if proc is not None:
            stop_server(proc)


def _fmt(x, unit="", digits=2) -> str:
    return "-" if x is None else f"{x:.{digits}f}{unit}"


def render(r: dict) -> str:
    f, v = r["first_run_s"], r["view_change_s"]
    where = f"/{r['page']}" + (f"?{r['query']}" if r["query"] else "")
    lines = [
        (f"page {where}: {r['sessions']} sessions, {r['seconds']} s, think {r['think']} s"
         f"{' (jitter)' if r['jitter'] else ''}, {r['cores']} cores"),
        (f"  first finished run  median {_fmt(f['median'], ' s')}  p95 {_fmt(f['p95'], ' s')}  "
         f"max {_fmt(f['max'], ' s')}  ({f['n']}/{r['sessions']} finished)"),
        (f"  view change ({r['view_widget']})  median {_fmt(v['median'], ' s')}  p95 {_fmt(v['p95'], ' s')}  "
         f"max {_fmt(v['max'], ' s')}  ({v['n']} changes)"),
        f"  failures {r['failures']}" + (f": {r['errors']}" if r["errors"] else ""),
        (f"  server RSS idle {_fmt(r['rss_idle_mib'], ' MiB', 0)}, before {_fmt(r['rss_before_mib'], ' MiB', 0)}, "
         f"after {_fmt(r['rss_after_mib'], ' MiB', 0)}, peak {_fmt(r['rss_peak_mib'], ' MiB', 0)}; "
         f"per extra session {_fmt(r['rss_per_session_mib'], ' MiB', 1)}"),
        (f"  CPU: server {_fmt(r['server_cpu_s'], ' s', 1)}, this client {_fmt(r['client_cpu_s'], ' s', 1)} "
         f"in {_fmt(r['wall_s'], ' s', 1)} wall"),
    ]
    by_kind = r.get("rss_by_kind_after") or {}
    if by_kind:
        lines.append("  RSS after, by process: " + "; ".join(
            f"{k} x{v['n']}: " + " + ".join(f"{x:.0f}" for x in v["rss_mib"]) + " MiB" for k, v in sorted(by_kind.items())))
    if any(k != "-" for k in r.get("routes", {})):
        lines.append(f"  sticky routes (sessions per process): {r['routes']}; warm-ups: {r.get('warmup_routes')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m nnviz.load", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, required=True, help=f"concurrent sessions, 1..{MAX_SESSIONS}")
    ap.add_argument("--seconds", type=float, required=True,
                    help=f"how long sessions keep changing views, 1..{MAX_SECONDS}")
    ap.add_argument("--page", default="cnn", help="url path of the page: cnn, attention, ... ('' = home)")
    ap.add_argument("--query", default="", help="query string without '?', e.g. model=resnet18")
    ap.add_argument("--think", type=float, default=1.0, help="seconds between a session's view changes")
    ap.add_argument("--jitter", action="store_true", help="pauses uniform in [0, 2 * think]: students out of step")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--port", type=int, help="use a server already running on 127.0.0.1:PORT")
    where.add_argument("--url", help="use a server (or deploy/serve.sh's nginx) at this loopback URL, "
                                     "e.g. http://127.0.0.1:8500")
    ap.add_argument("--no-warmup", action="store_true", help="no warm-up session before the load")
    ap.add_argument("--json", type=Path, help="also write the report as JSON here")
    a = ap.parse_args(argv)
    if not 1 <= a.sessions <= MAX_SESSIONS or not 1 <= a.seconds <= MAX_SECONDS:
        ap.error(f"--sessions must be in 1..{MAX_SESSIONS} and --seconds in 1..{MAX_SECONDS}")
    if a.url is not None:
        try:
            parse_url(a.url)
        except ValueError as e:
            ap.error(str(e))

    def alarm(*_):
        raise HardTimeout("hard overall timeout")

    overall = int(START_TIMEOUT + 2 * RUN_TIMEOUT + a.seconds + 60)
    signal.signal(signal.SIGALRM, alarm)
    signal.alarm(overall)
    try:
        r = run_load(a.sessions, a.seconds, a.page, a.query, a.think, a.port, not a.no_warmup, jitter=a.jitter,
                     url=a.url)
    finally:
        signal.alarm(0)
    print(render(r))
    if a.json:
        a.json.write_text(json.dumps(r, indent=2) + "\n", encoding="utf-8")
    return 0 if r["failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
