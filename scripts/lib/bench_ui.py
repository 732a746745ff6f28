#!/usr/bin/env python3
"""Dashboard render latency: start `clawscope serve` on an imported store and time every page.

usage: bench_ui.py --bin BIN --state OPENCLAW_STATE_DIR --store STORE --work DIR
                   [--requests 200] [--warmup 5] [--target-ms 50] [--first-target-ms 200]
                   [--query WORD] [--start-timeout 60] [--json FILE] [--strict]

Two server runs on the same store, both on a free 127.0.0.1 port with the gateway, the event
socket and both OTLP receivers off, HOME and XDG dirs inside --work:

 1. discovery: the session keys come from the JSON API (GET /api/v1/sessions, paged): the
    session with the most events and the sub-agent session (one with parent_session_key) with
    the most events. This server is then stopped, so the measured one starts with cold caches.
 2. measured: the time from spawning the process to the first 200 answer to GET / (a new
    connection every 5 ms until one is answered), and that first request's own latency; then
    the first request of every other page (cold, each on a new connection); then per page 5
    warm-up requests and N timed ones, sequentially on one keep-alive connection. Latency is
    the wall time from sending the request to having read the whole body. A `Server-Timing`
    header's `render;dur=<ms>` (or the first metric with a dur) is collected too.

Percentiles are nearest-rank. A page that answers anything but 200 is a FAIL with its status.
Prints a table (page, status, requests, p50/p95/p99/max ms, bytes, Server-Timing p99, cold
first request, verdict against --target-ms), the first-page figures against --first-target-ms,
the server's peak RSS (VmHWM) and the store size. Exit 1 with --strict when a target is missed.
"""
import argparse
import collections
import http.client
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from urllib.parse import quote

# The pages, in the order they are measured. Placeholders: {top} the session with the most
# events, {sub} a sub-agent session, {query} a word found in the transcripts (all URL-encoded).
# A page whose placeholder has no value is skipped. Extend freely.
PAGES = [
    "/",
    "/alerts",
    "/sessions",
    "/sessions?sort=cost",
    "/sessions?q={query}",
    "/sessions?page=10",
    "/sessions/{top}",
    "/sessions/{top}?page=last",
    "/sessions/{sub}",
    "/usage",
    "/usage?step=day",
    "/flow",
    "/tools",
    "/crons",
    "/logs",
    "/memory",
    "/health",
    "/traces",
]

# Pages whose query parameter may not be supported: on a 4xx the page is measured without the
# parameter (when that answers 200) and the table says so.
OPTIONAL_PARAMS = {"/sessions/{top}?page=last": "/sessions/{top}"}

POLL_S = 0.005


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def vm(pid, field):
    """A kB figure from /proc/<pid>/status (VmHWM, VmRSS), or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def server_timing(value):
    """ms of `render;dur=…` in a Server-Timing header, else of its first metric with a dur."""
    if not value:
        return None
    first = None
    for metric in value.split(","):
        parts = [p.strip() for p in metric.split(";")]
        dur = None
        for p in parts[1:]:
            k, _, v = p.partition("=")
            if k.strip().lower() == "dur":
                try:
                    dur = float(v.strip().strip('"'))
                except ValueError:
                    pass
        if dur is None:
            continue
        if parts[0].lower() == "render":
            return dur
        if first is None:
            first = dur
    return first


def pct(xs, p):
    """Nearest-rank percentile."""
    s = sorted(xs)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


class Server:
    """`clawscope serve` on a free loopback port against one store and one OpenClaw dir."""

    def __init__(self, args, name):
        self.args, self.name = args, name
        self.port = free_port()
        self.log_path = os.path.join(args.work, f"serve-{name}.log")
        home = os.path.join(args.work, "home")
        for d in ("", ".config", ".local/share", ".cache", "run"):
            os.makedirs(os.path.join(home, d), exist_ok=True)
        os.chmod(os.path.join(home, "run"), 0o700)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "XDG_CONFIG_HOME": os.path.join(home, ".config"),
            "XDG_DATA_HOME": os.path.join(home, ".local/share"),
            "XDG_CACHE_HOME": os.path.join(home, ".cache"),
            "XDG_RUNTIME_DIR": os.path.join(home, "run"),
            "TZ": "UTC",
            "LANG": "C.UTF-8",
        }
        self.cmd = [args.bin, "--no-progress", "--openclaw-dir", args.state, "--store", args.store,
                    "serve", "--listen", f"127.0.0.1:{self.port}", "--no-gateway",
                    "--no-event-socket", "--no-otlp-http", "--no-otlp-grpc"]
        self.proc = None
        self.t_spawn = None

    def start(self):
        self.logf = open(self.log_path, "wb")
        self.t_spawn = time.perf_counter()
        self.proc = subprocess.Popen(self.cmd, stdout=self.logf, stderr=subprocess.STDOUT,
                                     env=self.env, stdin=subprocess.DEVNULL)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=20):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def check(self):
        if not self.alive():
            raise SystemExit(f"clawscope serve ({self.name}) exited with {self.proc.returncode}:\n"
                             + self.log_tail())

    def stop(self):
        """Ctrl-C (the graceful stop: the WAL is checkpointed), then TERM, then KILL."""
        if self.proc is None:
            return
        for sig, wait_s in ((signal.SIGINT, 20), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            if self.proc.poll() is not None:
                break
            try:
                self.proc.send_signal(sig)
                self.proc.wait(wait_s)
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                break
        self.logf.close()


def get_once(port, path, timeout=30):
    """One request on a new connection: (status, headers, body, seconds)."""
    t0 = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        return r.status, r.headers, body, time.perf_counter() - t0
    finally:
        c.close()


def wait_up(server, path, timeout):
    """Poll `path` every 5 ms until a 200 (or a 404: the route does not exist, waiting longer
    will not help; or the timeout). Returns a dict with the first answer's figures."""
    deadline = server.t_spawn + timeout
    attempts, first_answer = 0, None
    while True:
        server.check()
        attempts += 1
        try:
            status, headers, body, dt = get_once(server.port, path, timeout=max(1, timeout))
        except (ConnectionError, http.client.HTTPException, socket.timeout, OSError):
            status = None
        now = time.perf_counter()
        if status is not None:
            res = {"status": status, "since_spawn_s": now - server.t_spawn, "request_s": dt,
                   "bytes": len(body), "attempts": attempts,
                   "server_timing_ms": server_timing(headers.get("Server-Timing"))}
            if first_answer is None:
                first_answer = dict(res)
            if status == 200 or status == 404:
                return {**res, "first_answer": first_answer}
        if now >= deadline:
            if first_answer is not None:
                return {**first_answer, "first_answer": first_answer, "timed_out": True}
            raise SystemExit(f"clawscope serve did not answer {path} within {timeout:.0f} s:\n"
                             + server.log_tail())
        time.sleep(POLL_S)


def discover(args):
    """Session keys from the JSON API of a throw-away server."""
    s = Server(args, "discover").start()
    try:
        wait_up(s, "/api/v1/health", args.start_timeout)
        rows, offset, total = [], 0, None
        while total is None or offset < total:
            status, _, body, _ = get_once(s.port, f"/api/v1/sessions?limit=1000&offset={offset}")
            if status != 200:
                raise SystemExit(f"GET /api/v1/sessions answered {status}: {body[:300]!r}")
            page = json.loads(body)
            rows += page["rows"]
            total = page["total"]
            if not page["rows"]:
                break
            offset += len(page["rows"])
    finally:
        s.stop()
    top = max(rows, key=lambda r: r.get("events", 0), default=None)
    subs = [r for r in rows if r.get("parent_session_key")]
    sub = max(subs, key=lambda r: r.get("events", 0), default=None)
    return {"sessions": len(rows), "subagents": len(subs), "top": top, "sub": sub}


def find_query(state):
    """The most frequent word (5+ letters) in the user messages of the first transcript."""
    words = collections.Counter()
    for root, dirs, files in os.walk(state):
        dirs.sort()
        for fn in sorted(files):
            if not fn.endswith(".jsonl"):
                continue
            with open(os.path.join(root, fn), errors="replace") as f:
                for line in f:
                    try:
                        msg = json.loads(line).get("message") or {}
                    except (ValueError, AttributeError):
                        continue
                    if msg.get("role") != "user":
                        continue
                    content = msg.get("content")
                    texts = [content] if isinstance(content, str) else [
                        c.get("text", "") for c in content or [] if isinstance(c, dict)]
                    for t in texts:
                        words.update(w.lower() for w in re.findall(r"[A-Za-z]{5,}", t or ""))
            if words:
                return words.most_common(1)[0][0]
    return None


class Conn:
    """A keep-alive connection that reconnects when the server closes it."""

    def __init__(self, port):
        self.port, self.c, self.reconnects = port, None, 0

    def get(self, path):
        for attempt in (0, 1):
            if self.c is None:
                self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            t0 = time.perf_counter()
            try:
                self.c.request("GET", path)
                r = self.c.getresponse()
                body = r.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                self.reconnects += 1
                if attempt:
                    raise
                continue
            dt = time.perf_counter() - t0
            if r.will_close:
                self.close()
            return r.status, r.headers, body, dt

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None


def measure_page(port, path, warmup, n):
    conn = Conn(port)
    try:
        for _ in range(warmup):
            conn.get(path)
        lat, st, statuses, size = [], [], collections.Counter(), 0
        for _ in range(n):
            status, headers, body, dt = conn.get(path)
            lat.append(dt * 1000)
            statuses[status] += 1
            size = len(body)
            d = server_timing(headers.get("Server-Timing"))
            if d is not None:
                st.append(d)
    finally:
        conn.close()
    return {"latencies_ms": lat, "statuses": dict(statuses), "bytes": size,
            "server_timing_ms": st, "reconnects": conn.reconnects}


def fmt_ms(x):
    return "-" if x is None else (f"{x:.1f}" if x < 100 else f"{x:.0f}")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--state", required=True, help="OpenClaw state dir the store was imported from")
    ap.add_argument("--store", required=True)
    ap.add_argument("--work", required=True, help="scratch dir: HOME of the server, its logs")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--target-ms", type=float, default=50)
    ap.add_argument("--first-target-ms", type=float, default=200)
    ap.add_argument("--query", help="word for /sessions?q= (default: found in the transcripts)")
    ap.add_argument("--start-timeout", type=float, default=60)
    ap.add_argument("--json", help="write all figures to this file")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv[1:])
    sys.stdout.reconfigure(line_buffering=True)
    args.bin, args.state, args.store, args.work = (os.path.abspath(p) for p in
                                                    (args.bin, args.state, args.store, args.work))
    os.makedirs(args.work, exist_ok=True)
    load0 = os.getloadavg()

    log("== discovering sessions through the JSON API")
    d = discover(args)
    query = args.query or find_query(args.state)
    values = {"top": d["top"] and d["top"]["session_key"],
              "sub": d["sub"] and d["sub"]["session_key"], "query": query}
    log(f"   {d['sessions']} sessions ({d['subagents']} sub-agents); most events: {values['top']} "
        f"({d['top'] and d['top'].get('events')} events); sub-agent: {values['sub']} "
        f"({d['sub'] and d['sub'].get('events')} events); query word: {query!r}")

    def resolve(tpl):
        missing = [k for k in re.findall(r"{(\w+)}", tpl) if not values.get(k)]
        if missing:
            return None, "no " + ", ".join(missing)
        return tpl.format(**{k: quote(v, safe="") for k, v in values.items() if v}), None

    pages = []
    for tpl in PAGES:
        path, why = resolve(tpl)
        pages.append({"page": tpl, "path": path, "skip": why, "note": None})

    log("== measured server: spawn -> first 200 on GET /")
    s = Server(args, "measured").start()
    results = {"pages": pages, "discovery": {**d, "query": query}, "requests": args.requests,
               "warmup": args.warmup, "target_ms": args.target_ms,
               "first_target_ms": args.first_target_ms}
    try:
        first = wait_up(s, "/", args.start_timeout)
        results["first"] = first
        idle_rss = vm(s.proc.pid, "VmRSS")
        log(f"   {first['status']} after {first['since_spawn_s'] * 1000:.1f} ms "
            f"({first['attempts']} attempts), that request {first['request_s'] * 1000:.1f} ms")

        log("== cold: the first request of every page")
        for p in pages:
            if p["skip"]:
                continue
            if p["page"] == "/":
                p["cold"] = {"status": first["status"], "ms": first["request_s"] * 1000}
                continue
            s.check()
            status, _, _, dt = get_once(s.port, p["path"])
            p["cold"] = {"status": status, "ms": dt * 1000}
            alt = OPTIONAL_PARAMS.get(p["page"])
            if alt and 400 <= status < 500:
                alt_path, _ = resolve(alt)
                alt_status, _, _, alt_dt = get_once(s.port, alt_path)
                if alt_status == 200:
                    p["note"] = f"{p['page']} answered {status}; measured without the parameter"
                    p["page"] = alt + " (fallback)"
                    p["path"] = alt_path
                    p["cold"] = {"status": alt_status, "ms": alt_dt * 1000,
                                 "with_param": {"status": status, "ms": dt * 1000}}

        log(f"== warm: {args.warmup} warm-up + {args.requests} requests per page, one keep-alive "
            f"connection each")
        for p in pages:
            if p["skip"]:
                continue
            s.check()
            p.update(measure_page(s.port, p["path"], args.warmup, args.requests))
            lat = p["latencies_ms"]
            log(f"   {p['page']}: {p['statuses']} p50 {statistics.median(lat):.1f} ms, "
                f"p99 {pct(lat, 99):.1f} ms")
        s.check()
        peak_rss = vm(s.proc.pid, "VmHWM")
    finally:
        s.stop()
    load1 = os.getloadavg()
    store_bytes = sum(os.path.getsize(args.store + suf) for suf in ("", "-wal", "-shm")
                      if os.path.exists(args.store + suf))

    # --- report
    missed = 0
    head = ["page", "status", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms", "bytes",
            "Server-Timing p99 ms", "cold ms", f"p99 <= {args.target_ms:g} ms"]
    rows = []
    for p in pages:
        if p["skip"]:
            rows.append([p["page"], "-", "0", "-", "-", "-", "-", "-", "-", "-", f"SKIP ({p['skip']})"])
            continue
        lat = p["latencies_ms"]
        statuses = p["statuses"]
        status = "/".join(str(k) for k in sorted(statuses))
        p99 = pct(lat, 99)
        ok200 = list(statuses) == [200]
        if not ok200:
            verdict = f"FAIL ({status})"
        elif p99 > args.target_ms:
            verdict = "FAIL"
        else:
            verdict = "PASS"
        missed += verdict != "PASS"
        st = p["server_timing_ms"]
        p.update({"p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95), "p99_ms": p99, "max_ms": max(lat),
                  "server_timing_p99_ms": pct(st, 99) if st else None, "verdict": verdict})
        rows.append([p["page"], status, str(len(lat)), fmt_ms(p["p50_ms"]), fmt_ms(p["p95_ms"]),
                     fmt_ms(p99), fmt_ms(p["max_ms"]), f"{p['bytes']:,}",
                     fmt_ms(p["server_timing_p99_ms"]), fmt_ms(p["cold"]["ms"]), verdict])

    print()
    print(f"Dashboard pages: {d['sessions']} sessions in the store, {args.requests} sequential "
          f"requests per page over one keep-alive connection after {args.warmup} warm-up; "
          f"latency = request sent -> body read, nearest-rank percentiles; {os.cpu_count()} CPUs "
          f"shared by client and server; load average {load0[0]:.2f} before, {load1[0]:.2f} after")
    print()
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
    for k in ("top", "sub"):
        if values[k]:
            row = d[k]
            print(f"- {{{k}}} = {values[k]} ({row.get('events')} events"
                  + (f", parent {row.get('parent_session_key')}" if k == "sub" else "") + ")")
    if query:
        print(f"- {{query}} = {query}")
    for p in pages:
        if p.get("note"):
            print(f"- note: {p['note']}")
        if p.get("reconnects"):
            print(f"- note: {p['page']}: the server closed the connection {p['reconnects']} time(s)")

    ft = args.first_target_ms
    fa = first["first_answer"]
    spawn_ms, req_ms = first["since_spawn_s"] * 1000, first["request_s"] * 1000
    print()
    if first["status"] == 200 and not first.get("timed_out"):
        v1 = "PASS" if spawn_ms <= ft else "FAIL"
        v2 = "PASS" if req_ms <= ft else "FAIL"
        print(f"- first page after start: spawn -> first 200 on GET /: {spawn_ms:.1f} ms "
              f"({first['attempts']} polls every {POLL_S * 1000:.0f} ms) <= {ft:g} ms: {v1}")
        print(f"- first page after start: that first GET / itself: {req_ms:.1f} ms <= {ft:g} ms: {v2}"
              + (f" (Server-Timing {first['server_timing_ms']:.1f} ms)"
                 if first["server_timing_ms"] is not None else ""))
        missed += (v1 != "PASS") + (v2 != "PASS")
    else:
        print(f"- first page after start: FAIL: GET / answered {first['status']}"
              + (" until the timeout" if first.get("timed_out") else "")
              + f"; first answer ({fa['status']}) {fa['since_spawn_s'] * 1000:.1f} ms after spawn, "
              f"that request {fa['request_s'] * 1000:.1f} ms (target <= {ft:g} ms for a 200)")
        missed += 2
    print(f"- server peak RSS (VmHWM): {peak_rss / 1024:.1f} MiB (RSS at the first answer "
          f"{idle_rss / 1024:.1f} MiB)" if peak_rss and idle_rss else "- server peak RSS: unknown")
    print(f"- store: {store_bytes / 1e6:.1f} MB ({args.store})")
    print(f"- {missed} target(s) missed" if missed else "- all targets met")

    results.update({"peak_rss_kb": peak_rss, "idle_rss_kb": idle_rss, "store_bytes": store_bytes,
                    "load_before": load0, "load_after": load1, "missed": missed})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 1 if (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
