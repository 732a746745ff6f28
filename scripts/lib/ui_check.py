#!/usr/bin/env python3
"""Browser tests of the clawscope dashboard in headless Chromium (driven by chromedriver):
every page on the real OpenClaw fixture, the numbers shown against the JSON API and the
fixture's independently computed totals, clicks from the overview to a session to its
sub-agent, a transcript line appended while the session page is open, hostile markup and
fake secrets in transcripts, logs and memory files, the login, a phone-size pass, the
keyboard and the dark theme. Screenshots of every page go to --artifacts.

  ui_check.py --bin clawscope --fixture tests/fixtures/openclaw-2026.9.6 --run RUN_DIR \
      --artifacts target/ui-artifacts [--chromium chromium] [--chromedriver chromedriver]

It starts three `clawscope serve` (each on a free loopback port, HOME in the run dir, its own
copy of the fixture and store): the fixture as it is, the fixture plus a hostile session, and
the fixture behind --token. Prints one PASS/FAIL line per check, then "N checks, M failed";
exits 1 when anything failed.
"""

import argparse
import csv
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ui_fixture as fx  # noqa: E402

RESULTS = []
MONEY = 1e-9
NAV = ["overview", "sessions", "usage", "flow", "tools", "crons", "logs", "memory", "health",
       "traces"]
TOKEN = "s3cret-test-token"


def check(name, ok, detail=""):
    RESULTS.append((name, bool(ok), detail))
    line = f"{'PASS' if ok else 'FAIL'}  {name}"
    if detail and (not ok or os.environ.get("UI_VERBOSE")):
        line += f": {detail}"
    print(line, flush=True)
    return bool(ok)


def info(msg):
    print(f"      {msg}", flush=True)


class Step:
    """Runs a group of checks; an exception inside fails the group instead of the run."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None:
            return False
        if isinstance(exc, KeyboardInterrupt):
            return False
        detail = f"{kind.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if os.environ.get("UI_VERBOSE"):
            traceback.print_exception(kind, exc, tb)
        check(f"{self.name} (stopped by an error)", False, detail[:400])
        return True


def key_path(key):
    return "/sessions/" + urllib.parse.quote(key, safe="")


def close(a, b, tol=MONEY):
    return a is not None and b is not None and abs(float(a) - float(b)) <= tol


# --- HTTP ---------------------------------------------------------------------------------

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


OPENER = urllib.request.build_opener(NoRedirect, urllib.request.ProxyHandler({}))


def http(url, headers=None, data=None, method=None):
    """(status, headers, body text) without following redirects."""
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with OPENER.open(req, timeout=15) as r:
            return r.status, r.headers, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode("utf-8", "replace")


def api(srv, path, **params):
    q = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    hdr = {"Authorization": f"Bearer {srv.token}"} if srv.token else {}
    status, _, body = http(srv.url + path + (f"?{q}" if q else ""), hdr)
    if status != 200:
        raise AssertionError(f"GET {path} {params}: HTTP {status} {body[:200]}")
    return json.loads(body)


# --- clawscope serve ----------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name, binary, run, openclaw_dir, token=None):
        self.name, self.token = name, token
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        home = os.path.join(run, f"home-{name}")
        # Days and weeks in UTC, as /api/summary counts them by default.
        os.makedirs(os.path.join(home, ".config", "clawscope"), exist_ok=True)
        with open(os.path.join(home, ".config", "clawscope", "config.toml"), "w") as f:
            f.write('timezone = "UTC"\n')
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CLAWSCOPE_", "OPENCLAW_", "CLAUDE_CONFIG", "XDG_"))}
        env.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
                   XDG_DATA_HOME=os.path.join(home, ".local/share"), TZ="UTC")
        args = [binary, "--openclaw-dir", openclaw_dir, "--store",
                os.path.join(run, f"{name}.db"), "--no-progress", "serve", "--listen",
                f"127.0.0.1:{self.port}", "--no-gateway", "--no-event-socket", "--no-otlp-http",
                "--no-otlp-grpc"] + (["--token", token] if token else [])
        self.log_path = os.path.join(run, f"{name}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def wait(self, sessions, timeout=30):
        """Until the API answers and the initial import has every session."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"clawscope serve ({self.name}) exited: "
                                     + open(self.log_path).read()[-1500:])
            try:
                last = api(self, "/api/v1/sessions")["total"]
                if last >= sessions:
                    return
            except (AssertionError, OSError, ValueError):
                pass
            time.sleep(0.05)
        raise AssertionError(f"clawscope serve ({self.name}) not ready: {last} sessions")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


# --- the browser --------------------------------------------------------------------------

class Browser:
    FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--no-first-run", "--no-default-browser-check", "--no-proxy-server",
             "--disable-dev-shm-usage"]

    def __init__(self, args, run, name, phone=False):
        o = webdriver.ChromeOptions()
        o.binary_location = args.chromium
        for f in self.FLAGS:
            o.add_argument(f)
        o.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix=f'chrome-{name}-', dir=run)}")
        if phone:
            o.add_argument("--window-size=390,844")
            o.add_experimental_option("mobileEmulation", {
                "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3.0, "touch": True},
                "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
                             "(KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"})
        else:
            o.add_argument("--window-size=1280,900")
        o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        svc = Service(args.chromedriver, log_output=os.path.join(run, f"chromedriver-{name}.log"))
        self.d = webdriver.Chrome(options=o, service=svc)
        self.d.set_page_load_timeout(20)
        self.d.set_script_timeout(10)
        self.artifacts = args.artifacts

    def get(self, url, page=None, timeout=5):
        """Load a page; True when <main id="page"> (with data-page=page) is there."""
        self.d.get(url)
        sel = "main#page" + (f'[data-page="{page}"]' if page else "")
        try:
            WebDriverWait(self.d, timeout).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, sel))
            return True
        except TimeoutException:
            return False

    def js(self, script, *a):
        return self.d.execute_script(script, *a)

    def console_errors(self, ignore=()):
        """SEVERE console entries since the last call (the favicon and `ignore` aside)."""
        out = []
        for e in self.d.get_log("browser"):
            msg = e.get("message", "")
            if e.get("level") != "SEVERE" or "favicon" in msg:
                continue
            if any(i in msg for i in ignore):
                continue
            out.append(msg[:300])
        return out

    def screenshot(self, name):
        os.makedirs(self.artifacts, exist_ok=True)
        path = os.path.join(self.artifacts, f"{name}.png")
        try:
            m = self.d.execute_cdp_cmd("Page.getLayoutMetrics", {})
            size = m.get("cssContentSize") or m["contentSize"]
            vw = self.js("return window.innerWidth")
            clip = {"x": 0, "y": 0, "width": max(size["width"], vw),
                    "height": min(max(size["height"], 100), 6000), "scale": 1}
            import base64
            shot = self.d.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True, "clip": clip})
            with open(path, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        except WebDriverException:
            self.d.save_screenshot(path)
        return path

    def metrics(self, scope="document"):
        """Every [data-metric] element: name, raw data-value, displayed text."""
        return self.js(f"""
            return [...{scope}.querySelectorAll('[data-metric]')].map(e => ({{
                name: e.dataset.metric, value: e.getAttribute('data-value'),
                text: (e.innerText || e.textContent || '').trim()}}));""")

    def metric(self, name):
        rows = [m for m in self.metrics() if m["name"] == name]
        if not rows:
            return None, None
        try:
            return float(rows[0]["value"]), rows[0]["text"]
        except (TypeError, ValueError):
            return rows[0]["value"], rows[0]["text"]

    def quit(self):
        try:
            self.d.quit()
        except WebDriverException:
            pass


def num_check(label, got, want, tol=MONEY):
    value, text = got
    return check(label, close(value, want, tol) and bool(text),
                 f"page data-value {value!r} (text {text!r}), API {want!r}")


def theme_shots(b, name):
    """Screenshot in the light theme, then switch to dark with button#theme-toggle and
    screenshot again; the theme is put back afterwards."""
    b.screenshot(name)
    toggles = b.d.find_elements(By.CSS_SELECTOR, "button#theme-toggle")
    if not toggles:
        return False, "no button#theme-toggle"
    for _ in range(3):
        if b.js("return document.documentElement.dataset.theme") == "dark":
            break
        toggles[0].click()
        time.sleep(0.05)
    theme = b.js("return document.documentElement.dataset.theme")
    b.screenshot(f"{name}-dark")
    b.js("try { localStorage.clear() } catch (e) {}")
    for _ in range(3):
        if b.js("return document.documentElement.dataset.theme") != "dark":
            break
        toggles[0].click()
        time.sleep(0.05)
    return theme == "dark", f"data-theme after the toggle: {theme!r}"


def page_common(b, srv, name, path, page, shot=None, cookie=None, dark=True):
    """HTTP 200 (urllib, alongside the browser), <main data-page>, the nav, screenshots."""
    hdr = {"Cookie": cookie} if cookie else {}
    status, headers, body = http(srv.url + path, hdr)
    check(f"[{name}] GET {path} answers 200 text/html", status == 200
          and "text/html" in (headers.get("Content-Type") or ""),
          f"HTTP {status} {headers.get('Content-Type')!r}")
    ok, csp = csp_ok(headers)
    check(f"[{name}] Content-Security-Policy: script-src 'self', no 'unsafe-inline'", ok, repr(csp))
    ok = b.get(srv.url + path, page, timeout=5 if status == 200 else 0.5)
    found = b.js("const m = document.querySelector('main#page'); return m && m.dataset.page")
    check(f"[{name}] <main id=page data-page={page}>", ok, f"found data-page={found!r}")
    navs = b.js("return [...document.querySelectorAll('nav#nav a[data-nav]')].map(a => a.dataset.nav)")
    check(f"[{name}] nav#nav has every a[data-nav]", set(NAV) <= set(navs or []),
          f"missing {sorted(set(NAV) - set(navs or []))}")
    if shot:
        ok_dark, detail = theme_shots(b, shot) if dark else (True, "")
        if dark:
            check(f"[{name}] button#theme-toggle sets data-theme=dark", ok_dark, detail)
    return status, headers, body


def end_page(b, name, ignore=()):
    errs = b.console_errors(ignore)
    check(f"[{name}] no errors in the browser console", not errs, "; ".join(errs[:5]))


# --- the fixture as it is ------------------------------------------------------------------

def overview(b, srv, expected):
    s = api(srv, "/api/summary")
    page_common(b, srv, "overview", "/", "overview", shot="overview")
    for metric, want in [("cost-today", s["today"]["cost_usd"]),
                         ("cost-week", s["week"]["cost_usd"]),
                         ("cost-month", s["month"]["cost_usd"]),
                         ("cost-total", s["all_time"]["cost_usd"])]:
        num_check(f"[overview] {metric} = /api/summary", b.metric(metric), want)
    check("[overview] cost-total = the fixture's independent total",
          close(b.metric("cost-total")[0], expected["grand_total"]["cost_total"]),
          f"{b.metric('cost-total')[0]} vs {expected['grand_total']['cost_total']}")
    num_check("[overview] sessions-total = /api/summary sessions", b.metric("sessions-total"),
              s["sessions"], 0)
    num_check("[overview] events-total = /api/summary events", b.metric("events-total"),
              s["events"], 0)
    keys = {r["session_key"] for r in api(srv, "/api/v1/sessions", limit=500)["rows"]}
    recent = b.js("""return [...document.querySelectorAll('#recent-sessions a.session-link')]
                     .map(a => decodeURIComponent(a.pathname))""") or []
    check("[overview] #recent-sessions links to sessions of the store",
          recent and all(p.startswith("/sessions/") and p[len("/sessions/"):] in keys
                         for p in recent), recent)
    check("[overview] #active-sessions present",
          b.d.find_elements(By.CSS_SELECTOR, "#active-sessions"))
    check("[overview] charts are inline <svg>",
          b.js("return document.querySelectorAll('main#page svg').length") > 0)
    end_page(b, "overview")


def sessions_page(b, srv):
    page_common(b, srv, "sessions", "/sessions", "sessions", shot="sessions")
    rows = {r["session_key"]: r for r in api(srv, "/api/v1/sessions", limit=500)["rows"]}
    shown = b.js("""return [...document.querySelectorAll('table#sessions tbody tr[data-session-key]')]
        .map(tr => { const c = tr.querySelector('td[data-metric=cost]'),
                           t = tr.querySelector('td[data-metric=tokens]');
                     return [tr.dataset.sessionKey, c && c.getAttribute('data-value'),
                             t && t.getAttribute('data-value')]; })""") or []
    check("[sessions] one row per session of /api/v1/sessions",
          sorted(k for k, _, _ in shown) == sorted(rows), f"page {[k for k, _, _ in shown]}")
    bad = [(k, c, rows[k]["cost_usd"]) for k, c, _ in shown
           if k in rows and not close(c, rows[k]["cost_usd"])]
    check("[sessions] td[data-metric=cost] = the session's cost_usd", shown and not bad, bad)
    bad = [(k, t, rows[k]["total_tokens"]) for k, _, t in shown
           if k in rows and not close(t, rows[k]["total_tokens"], 0)]
    check("[sessions] td[data-metric=tokens] = the session's total_tokens", shown and not bad, bad)
    check("[sessions] form#session-search input[name=q]",
          b.d.find_elements(By.CSS_SELECTOR, "form#session-search input[name=q]"))
    # Exports.
    exports = b.js("return [...document.querySelectorAll('a.export')].map(a => a.href)") or []
    check("[sessions] a.export links (CSV and JSON)",
          any("csv" in e.lower() for e in exports) and any("json" in e.lower() for e in exports),
          exports)
    for href in exports:
        status, headers, body = http(href)
        ctype = (headers.get("Content-Type") or "") if headers else ""
        if "csv" in href.lower():
            got = set()
            try:
                for r in csv.DictReader(io.StringIO(body)):
                    got.add(r.get("session_key") or r.get("session") or r.get("key"))
            except csv.Error:
                pass
            check(f"[sessions] CSV export {urllib.parse.urlparse(href).path} has every session",
                  status == 200 and set(rows) <= got, f"HTTP {status} {ctype!r} keys {sorted(got)[:6]}")
        else:
            try:
                d = json.loads(body)
                items = d.get("rows", d) if isinstance(d, dict) else d
                got = {r.get("session_key") for r in items}
            except (ValueError, AttributeError, TypeError):
                got = set()
            check(f"[sessions] JSON export {urllib.parse.urlparse(href).path} has every session",
                  status == 200 and set(rows) <= got, f"HTTP {status} {ctype!r} {body[:120]!r}")
    # Sorting.
    for order in ("cost", "tokens"):
        links = b.d.find_elements(By.CSS_SELECTOR, f"a[data-sort={order}]")
        if not check(f"[sessions] a[data-sort={order}]", links):
            continue
        links[0].click()
        time.sleep(0.1)
        b.get(b.d.current_url, "sessions")
        want = [r["session_key"] for r in api(srv, "/api/v1/sessions", order=order, limit=500)["rows"]]
        got = b.js("""return [...document.querySelectorAll('table#sessions tbody tr[data-session-key]')]
                      .map(tr => tr.dataset.sessionKey)""")
        check(f"[sessions] sorted by {order}: the order of /api/v1/sessions?order={order}",
              got == want, f"page {got} API {want}")
    # Search by the query parameter.
    want = sorted(r["session_key"] for r in api(srv, "/api/v1/sessions", q="ops")["rows"])
    b.get(srv.url + "/sessions?q=ops", "sessions")
    got = sorted(b.js("""return [...document.querySelectorAll('table#sessions tbody tr[data-session-key]')]
                         .map(tr => tr.dataset.sessionKey)""") or [])
    check("[sessions] /sessions?q=ops lists what /api/v1/sessions?q=ops does", got == want,
          f"page {got} API {want}")
    end_page(b, "sessions")


def session_page(b, srv, key, name, expected, shot=None):
    s = api(srv, f"/api/v1/sessions/{urllib.parse.quote(key, safe='')}")["session"]
    page_common(b, srv, name, key_path(key), "session", shot=shot)
    got_key = b.js("const m = document.querySelector('main#page'); return m && m.dataset.sessionKey")
    check(f"[{name}] main[data-session-key] is the session", got_key == key, got_key)
    exp = expected["per_session_key"].get(key)
    for metric, field, efield, tol in [("session-cost", "cost_usd", "cost_total", MONEY),
                                       ("session-input", "input_tokens", "input", 0),
                                       ("session-output", "output_tokens", "output", 0),
                                       ("session-cache-read", "cache_read_tokens", "cacheRead", 0),
                                       ("session-cache-write", "cache_write_tokens", "cacheWrite", 0)]:
        got = b.metric(metric)
        num_check(f"[{name}] {metric} = /api/v1/sessions/:key {field}", got, s[field], tol)
        if exp is not None:
            check(f"[{name}] {metric} = the fixture's independent total", close(got[0], exp[efield], tol),
                  f"{got[0]} vs {exp[efield]}")
    events = {e["seq"]: e for e in api(srv, f"/api/v1/sessions/{urllib.parse.quote(key, safe='')}/events",
                                       limit=1000)["rows"]}
    shown = b.js("""return [...document.querySelectorAll('#timeline .event')]
                    .map(e => [e.getAttribute('data-seq'), e.getAttribute('data-kind')])""") or []
    check(f"[{name}] #timeline .event[data-seq][data-kind]", shown and all(q and k for q, k in shown),
          f"{len(shown)} events, first {shown[:3]}")
    bad = [(q, k) for q, k in shown
           if not (q and q.lstrip("-").isdigit() and int(q) in events and events[int(q)]["kind"] == k)]
    check(f"[{name}] every timeline event is a stored event of this session with its kind",
          shown and not bad, f"{len(bad)} not: {bad[:5]}")
    msgs = [e["seq"] for e in events.values() if e["kind"].startswith("message.")]
    shown_seqs = {int(q) for q, _ in shown if q and q.lstrip("-").isdigit()}
    missing = [q for q in msgs if q not in shown_seqs]
    check(f"[{name}] every message of the session is on the timeline", not missing,
          f"missing seqs {missing[:10]} of {len(msgs)}")
    end_page(b, name)
    return s


def other_pages(b, srv):
    s = api(srv, "/api/summary")
    # /usage
    page_common(b, srv, "usage", "/usage", "usage", shot="usage")
    models = {r["model"]: r["cost_usd"] for r in api(srv, "/api/models")["rows"]}
    rows = b.js("""return [...document.querySelectorAll('table#usage-by-model tbody tr[data-model]')]
        .map(tr => { const c = tr.querySelector('td[data-metric=cost]');
                     return [tr.dataset.model, c && c.getAttribute('data-value')]; })""") or []
    check("[usage] one row per model of /api/models", sorted(m for m, _ in rows) == sorted(models),
          f"page {rows} API {models}")
    bad = [(m, c, models.get(m)) for m, c in rows if not close(c, models.get(m))]
    check("[usage] each model's cost = /api/models", rows and not bad, bad)
    total = sum(float(c) for _, c in rows if c is not None)
    check("[usage] the models' costs add up to /api/summary all_time",
          close(total, s["all_time"]["cost_usd"]), f"{total} vs {s['all_time']['cost_usd']}")
    end_page(b, "usage")

    page_common(b, srv, "flow", "/flow", "flow", shot="flow")
    end_page(b, "flow")

    # /tools: calls per tool as the stored tool.call events count them.
    page_common(b, srv, "tools", "/tools", "tools", shot="tools")
    calls = {}
    for e in api(srv, "/api/v1/events", type="tool.call", limit=1000)["rows"]:
        n = (e.get("tool") or {}).get("name")
        calls[n] = calls.get(n, 0) + 1
    rows = b.js("""return [...document.querySelectorAll('table#tools tr[data-tool]')]
        .map(tr => { const c = tr.querySelector('[data-metric=calls]');
                     return [tr.dataset.tool, c && c.getAttribute('data-value')]; })""") or []
    check("[tools] one table#tools tr[data-tool] per tool called",
          sorted(t for t, _ in rows) == sorted(calls), f"page {rows} events {calls}")
    bad = [(t, c, calls.get(t)) for t, c in rows if not close(c, calls.get(t), 0)]
    check("[tools] data-metric=calls = the tool.call events", rows and not bad, bad)
    end_page(b, "tools")

    # /crons: the cron jobs of the state DB.
    page_common(b, srv, "crons", "/crons", "crons", shot="crons")
    jobs = {json.loads(e["attrs"] or "{}").get("jobId")
            for e in api(srv, "/api/v1/events", type="cron.job", limit=1000)["rows"]}
    n = b.js("return document.querySelectorAll('table#cron-jobs tbody tr').length")
    text = b.js("const t = document.querySelector('table#cron-jobs'); return t ? t.innerText : null")
    check("[crons] table#cron-jobs has a row per cron job", text is not None and n == len(jobs),
          f"{n} rows, {len(jobs)} jobs stored")
    check("[crons] the fixture's job (fixture-cron) is listed", text and "fixture-cron" in text,
          (text or "")[:200])
    check("[crons] its schedule is shown (cron 0 7 * * *, from schedule_identity)",
          text and "cron 0 7 * * *" in text, (text or "")[:300])
    end_page(b, "crons")

    # /alerts: what the alert engine found on the fixture, and the rules, as the API lists them.
    page_common(b, srv, "alerts", "/alerts", "alerts", shot="alerts")
    firing = api(srv, "/api/v1/alerts", state="firing")["active"]
    n = b.js("return document.querySelectorAll('table#firing-alerts tbody tr[data-alert-id]').length")
    check("[alerts] table#firing-alerts has a row per firing alert", n == len(firing),
          f"{n} rows, {len(firing)} firing")
    rules = api(srv, "/api/v1/alerts/rules")["rules"]
    n = b.js("return document.querySelectorAll('table#alert-rules tbody tr').length")
    check("[alerts] table#alert-rules has a row per rule in force", n == len(rules),
          f"{n} rows, {len(rules)} rules")
    note = b.js("const n = document.querySelector('#alerts-read-only'); return n && n.innerText")
    check("[alerts] read-only without a token, and says why", note and "token" in note, note)
    end_page(b, "alerts")

    # /logs: the gateway log's warnings and errors.
    page_common(b, srv, "logs", "/logs", "logs", shot="logs")
    logs = api(srv, "/api/v1/events", type="log", limit=1000)["rows"]
    n = b.js("return document.querySelectorAll('#log-lines .log-line').length")
    check("[logs] one #log-lines .log-line per stored log event", n == len(logs),
          f"{n} lines, {len(logs)} log events")
    sel = b.d.find_elements(By.CSS_SELECTOR, "select#log-level")
    if check("[logs] select#log-level", sel):
        opts = Select(sel[0]).options
        err = [o for o in opts if "error" in ((o.get_attribute("value") or "") + o.text).lower()]
        if check("[logs] select#log-level has an error level", err,
                 [o.get_attribute("value") for o in opts]):
            Select(sel[0]).select_by_value(err[0].get_attribute("value"))
            want = sum(1 for e in logs if json.loads(e["attrs"] or "{}").get("level") == "ERROR")
            deadline = time.time() + 3
            while time.time() < deadline:
                shown = b.js("""return [...document.querySelectorAll('#log-lines .log-line')]
                                .filter(e => e.offsetParent !== null).length""")
                if shown == want:
                    break
                time.sleep(0.1)
            check("[logs] choosing the error level shows only the errors", shown == want,
                  f"{shown} lines shown, {want} ERROR events")
    end_page(b, "logs")

    page_common(b, srv, "memory", "/memory", "memory", shot="memory")
    files = b.js("return [...document.querySelectorAll('#memory-files a')].map(a => a.textContent.trim())") or []
    check("[memory] #memory-files lists the workspace's MEMORY.md and memory/*.md",
          any("MEMORY.md" in f for f in files) and any("2026-11-21" in f for f in files), files)
    end_page(b, "memory")

    page_common(b, srv, "health", "/health", "health", shot="health")
    h = api(srv, "/api/v1/health")
    num_check("[health] store-events = /api/v1/health store.events", b.metric("store-events"),
              h["store"]["events"], 0)
    end_page(b, "health")

    page_common(b, srv, "traces", "/traces", "traces", shot="traces")
    check("[traces] table#traces", b.d.find_elements(By.CSS_SELECTOR, "table#traces"))
    end_page(b, "traces")


def color_scheme(b, srv):
    """The theme follows prefers-color-scheme when not chosen with the toggle."""
    def bg():
        return b.js("""const c = getComputedStyle(document.body).backgroundColor
                         .match(/[\\d.]+/g).map(Number);
                       return (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255;""")
    lum = {}
    for scheme in ("light", "dark"):
        b.d.execute_cdp_cmd("Emulation.setEmulatedMedia", {
            "features": [{"name": "prefers-color-scheme", "value": scheme}]})
        b.get(srv.url + "/", "overview")
        b.js("try { localStorage.clear() } catch (e) {}")
        b.get(srv.url + "/", "overview")
        lum[scheme] = bg()
    b.d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    check("[theme] prefers-color-scheme: dark gives a dark page, light a light one",
          lum["dark"] < 0.35 < lum["light"], f"body background luminance {lum}")
    b.console_errors()


def keyboard(b, srv):
    b.get(srv.url + "/", "overview")
    b.js("document.activeElement && document.activeElement.blur()")
    reached = None
    for i in range(1, 9):
        ActionChains(b.d).send_keys(Keys.TAB).perform()
        if b.js("const a = document.activeElement; return !!(a && a.matches('a[data-nav]'))"):
            reached = i
            break
    check("[keyboard] Tab from the top reaches a nav link (a[data-nav])", reached is not None,
          f"active element after 8 tabs: {b.js('return document.activeElement.outerHTML.slice(0, 120)')}")
    if reached:
        info(f"a[data-nav] focused after {reached} Tab(s)")
        visible = b.js("""const a = document.activeElement, s = getComputedStyle(a);
                          return s.outlineStyle !== 'none' || s.boxShadow !== 'none'""")
        check("[keyboard] the focused nav link shows a focus ring", visible)
    b.console_errors()


def clicks_and_live(b, srv, run_oc, parent, child):
    """Overview → the parent session → its sub-agent → back; then a transcript line appended
    while the parent's page is open appears on it."""
    b.get(srv.url + "/", "overview")
    link = b.js("""return [...document.querySelectorAll('a.session-link')]
                   .find(a => decodeURIComponent(a.pathname) === arguments[0]) || null""",
                "/sessions/" + parent)
    if not check("[click] the overview links the session with a sub-agent", link, parent):
        return
    link.click()
    ok = wait_css(b, f'main#page[data-page="session"][data-session-key="{parent}"]')
    check("[click] overview → the session's page", ok, b.d.current_url)
    sub = b.js("""return [...document.querySelectorAll('#subagents a.session-link')]
                  .find(a => decodeURIComponent(a.pathname) === arguments[0]) || null""",
               "/sessions/" + child)
    if check("[click] the session lists its sub-agent in #subagents", sub,
             b.js("const s = document.querySelector('#subagents'); return s && s.innerText.slice(0, 200)")):
        sub.click()
        ok = wait_css(b, f'main#page[data-session-key="{child}"]')
        check("[click] → the sub-agent's page", ok, b.d.current_url)
        back = b.js("""return [...document.querySelectorAll('#parent a.session-link')]
                       .find(a => decodeURIComponent(a.pathname) === arguments[0]) || null""",
                    "/sessions/" + parent)
        if check("[click] the sub-agent's page links its parent in #parent", back):
            back.click()
            check("[click] → back to the parent",
                  wait_css(b, f'main#page[data-session-key="{parent}"]'), b.d.current_url)
    end_page(b, "click")

    # Live: the parent's page is open; the gateway appends a reply to its transcript.
    if not b.get(srv.url + key_path(parent), "session"):
        check("[live] the session page is open", False)
        return
    time.sleep(0.5)  # the page's EventSource connects
    b.console_errors()
    before = b.js("return document.querySelectorAll('#timeline .event').length")
    marker = f"live-marker-{int(time.time() * 1000)}"
    path = os.path.join(run_oc, fx.MAIN_FILE)
    fx.append_assistant(path, marker)
    seen = timeline_shows(b, marker, 5)
    info(f"appended line shown on the open page after "
         + (f"{seen * 1000:.0f} ms" if seen is not None else "> 5 s (never)"))
    check("[live] an appended transcript line appears on the open session page within 1 s",
          seen is not None and seen <= 1.0,
          f"{'after %.0f ms' % (seen * 1000) if seen is not None else 'not within 5 s'}")
    stored = [e for e in api(srv, f"/api/v1/sessions/{urllib.parse.quote(parent, safe='')}/events",
                             type="message.assistant", limit=1000)["rows"]
              if marker in (e.get("text") or "")]
    check("[live] the appended line is a stored event (API)", len(stored) == 1, len(stored))
    if stored and seen is not None:
        el = b.js("""const e = [...document.querySelectorAll('#timeline .event')]
                     .find(e => e.textContent.includes(arguments[0]));
                     return [e.getAttribute('data-seq'), e.getAttribute('data-kind')]""", marker)
        check("[live] the new .event carries the stored seq and kind",
              el == [str(stored[0]["seq"]), "message.assistant"], f"{el} vs seq {stored[0]['seq']}")
        after = b.js("return document.querySelectorAll('#timeline .event').length")
        check("[live] the rest of the timeline stays (one event more)", after == before + 1,
              f"{before} → {after}")
    end_page(b, "live")
    # The page loaded afresh shows the new totals.
    s = api(srv, f"/api/v1/sessions/{urllib.parse.quote(parent, safe='')}")["session"]
    b.get(srv.url + key_path(parent), "session")
    num_check("[live] after a reload, session-cost = the API's new total", b.metric("session-cost"),
              s["cost_usd"])
    b.console_errors()


def odd_key(b, srv, oc_dir):
    """A session whose key has '#', '/', '?', '&', '%', '@', a space and non-ASCII: its link in
    the list opens its page, its numbers are its own, and live updates reach it."""
    key = fx.ODD_KEY
    b.get(srv.url + "/sessions", "sessions")
    link = b.js("""const tr = [...document.querySelectorAll('table#sessions tbody tr[data-session-key]')]
                       .find(tr => tr.dataset.sessionKey === arguments[0]);
                   return tr ? tr.querySelector('a.session-link') : null""", key)
    if not check("[odd key] /sessions lists the session (data-session-key exact)", link):
        return
    link.click()
    ok = True
    try:
        WebDriverWait(b.d, 5).until(lambda d: d.execute_script(
            "const m = document.querySelector('main#page'); return m && m.dataset.sessionKey") == key)
    except TimeoutException:
        ok = False
    got = b.js("const m = document.querySelector('main#page'); return m && m.dataset.sessionKey")
    check("[odd key] its link opens its page (main[data-session-key] exact)", ok,
          f"{b.d.current_url} → data-session-key {got!r}")
    if not ok:
        return
    s = api(srv, f"/api/v1/sessions/{urllib.parse.quote(key, safe='')}")["session"]
    num_check("[odd key] session-cost = /api/v1/sessions/:key", b.metric("session-cost"), s["cost_usd"])
    num_check("[odd key] session-input = /api/v1/sessions/:key", b.metric("session-input"),
              s["input_tokens"], 0)
    time.sleep(0.5)
    b.console_errors()
    marker = f"odd-live-{int(time.time() * 1000)}"
    fx.append_assistant(os.path.join(oc_dir, "agents", "main", "sessions",
                                     f"{fx.ODD_SESSION_ID}.jsonl"), marker)
    seen = timeline_shows(b, marker, 3)
    check("[odd key] a line appended live appears on its page within 1 s",
          seen is not None and seen <= 1.0, f"{seen}")
    b.screenshot("odd-key-session")
    end_page(b, "odd key")


def overview_live(b, srv, run_oc):
    """The overview open while a reply is written: its totals follow within 2 s."""
    b.get(srv.url + "/", "overview")
    time.sleep(0.5)
    b.console_errors()
    before = b.metric("cost-total")[0]
    fx.append_assistant(os.path.join(run_oc, fx.MAIN_FILE), f"overview-live-{int(time.time() * 1000)}")
    t0, seen, want = time.monotonic(), None, None
    while time.monotonic() - t0 < 4:
        want = api(srv, "/api/summary")["all_time"]["cost_usd"]
        got = b.metric("cost-total")[0]
        if want != before and close(got, want):
            seen = time.monotonic() - t0
            break
        time.sleep(0.1)
    info("overview totals followed after " + (f"{seen * 1000:.0f} ms" if seen is not None else "> 4 s"))
    check("[live] the open overview's cost-total follows a new reply within 2 s",
          seen is not None and seen <= 2.0, f"before {before}, page {b.metric('cost-total')[0]}, API {want}")
    end_page(b, "overview live")


def timeline_shows(b, marker, timeout):
    """Seconds until a `#timeline .event` contains `marker` (polled every 50 ms), or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if b.js("""return [...document.querySelectorAll('#timeline .event')]
                   .some(e => e.textContent.includes(arguments[0]))""", marker):
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def wait_css(b, sel, timeout=5):
    try:
        WebDriverWait(b.d, timeout).until(lambda d: d.find_elements(By.CSS_SELECTOR, sel))
        return True
    except TimeoutException:
        return False


def phone(p, srv, parent):
    for name, path, page in [("overview", "/", "overview"),
                             ("session", key_path(parent), "session"),
                             ("sessions", "/sessions", "sessions")]:
        ok = p.get(srv.url + path, page)
        check(f"[phone] {name} loads at 390x844", ok)
        m = p.js("""return {sw: document.scrollingElement.scrollWidth, iw: window.innerWidth,
                    vp: (document.querySelector('meta[name=viewport]') || {}).content || null}""")
        check(f"[phone] {name}: laid out for the phone (meta viewport, innerWidth 390)",
              m["iw"] == 390, m)
        check(f"[phone] {name}: no horizontal scroll", m["sw"] <= m["iw"] + 1, m)
        p.screenshot(f"{name}-phone")
        end_page(p, f"phone {name}")


# --- hostile content ----------------------------------------------------------------------

DOM_AUDIT = r"""
const bad = [];
for (const el of document.querySelectorAll('*')) {
  const tag = el.tagName.toLowerCase();
  for (const a of el.attributes) {
    if (/^on/i.test(a.name) && /pwned/.test(a.value)) bad.push(tag + '[' + a.name + ']');
  }
  if (tag === 'script' && /pwned/.test(el.textContent)) bad.push('script: ' + el.textContent.slice(0, 60));
  if (tag === 'img' && el.getAttribute('src') === 'x') bad.push('img[src=x]');
  if (tag === 'iframe' && /pwned/.test(el.getAttribute('srcdoc') || '')) bad.push('iframe[srcdoc]');
  if (tag === 'style' && /display:\s*none/.test(el.textContent) && el.closest('main')) bad.push('style from content');
  if (tag === 'a' && /^\s*javascript:/i.test(el.getAttribute('href') || '')) bad.push('a[href=' + el.getAttribute('href').slice(0, 40) + ']');
}
return {bad: bad, pwned: (typeof window.__pwned === 'undefined') ? null : String(window.__pwned),
        visible: getComputedStyle(document.body).display !== 'none'};
"""


def csp_ok(headers):
    csp = (headers.get("Content-Security-Policy") or "") if headers else ""
    dirs = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            dirs[words[0].lower()] = [w.lower() for w in words[1:]]
    script = dirs.get("script-src", dirs.get("default-src"))
    ok = script is not None and "'self'" in script and "'unsafe-inline'" not in script \
        and "script-src" in dirs
    return ok, csp


def audit(b, name, expect_text=None):
    r = b.js(DOM_AUDIT)
    check(f"[hostile {name}] no element from the content's markup (script, img, svg onload, "
          "javascript: links)", not r["bad"], r["bad"][:6])
    check(f"[hostile {name}] no script ran (window.__pwned undefined)", r["pwned"] is None
          and r["visible"], f"__pwned={r['pwned']} body visible={r['visible']}")
    if expect_text:
        text = b.js("return (document.querySelector('main#page') || document.body).textContent")
        missing = [t for t in expect_text if t not in text]
        check(f"[hostile {name}] the markup is shown as text", not missing, f"not shown: {missing}")


def self_test(b):
    """The hostile-content audit and the CSP check must catch a page that puts the same
    content into its markup raw, without a CSP (served here, not by clawscope)."""
    import http.server as hs
    import threading
    hostile = " ".join(fx.PAYLOADS + fx.EXTRA)
    page = (f'<!doctype html><html><body><main id="page"><div id="timeline">{hostile}'
            f'</div></main></body></html>').encode()

    class H(hs.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *a):
            pass

    srv = hs.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/"
        b.d.get(url)
        time.sleep(0.3)
        r = b.js(DOM_AUDIT)
        caught = {x.split(":")[0].split("[")[0] for x in r["bad"]}
        check("[self-test] the audit catches raw markup (script, img, a, svg, iframe) and a script "
              "that ran", {"script", "img", "a", "svg", "iframe"} <= caught and r["pwned"] is not None,
              f"caught {r['bad']} __pwned={r['pwned']}")
        _, headers, _ = http(url)
        check("[self-test] the CSP check fails a page without one", not csp_ok(headers)[0])
        check("[self-test] the CSP check fails 'unsafe-inline'", not csp_ok(
            {"Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'"})[0])
        b.console_errors()
    finally:
        srv.shutdown()


def hostile_live(b, srv, oc_dir):
    """A hostile line appended while the hostile session's page is open comes in through the
    page's live update path (a fetched fragment moved into the page): still only text."""
    b.get(srv.url + key_path(fx.HOSTILE_KEY), "session")
    time.sleep(0.5)
    b.console_errors()
    marker = f"hostile-live-{int(time.time() * 1000)}"
    path = os.path.join(oc_dir, "agents", "main", "sessions", f"{fx.HOSTILE_SESSION_ID}.jsonl")
    fx.append_assistant(path, f"{marker} {' '.join(fx.PAYLOADS + fx.EXTRA)} key {fx.SECRET_KEY}")
    seen = timeline_shows(b, marker, 3)
    check("[hostile live] a hostile line appended live appears on the open page", seen is not None,
          f"{seen}")
    time.sleep(0.3)
    audit(b, "live", [fx.PAYLOADS[0], fx.PAYLOADS[1]])
    src = b.d.page_source
    leaks = [t for t in fx.SECRET_TELLS if t in src]
    check("[secrets live] a key in a line appended live is masked on the page", not leaks, leaks)
    end_page(b, "hostile live")


def click_everything(b, url, scope, name):
    """Open every <details> and click every link inside `scope`, one by one, reloading the
    page between links; window.__pwned must stay undefined wherever a click lands."""
    b.get(url)
    n = b.js(f"return document.querySelectorAll('{scope} a').length")
    fired = []
    for i in range(min(n or 0, 40)):
        b.get(url)
        b.js(f"document.querySelectorAll('{scope} details').forEach(d => d.open = true)")
        links = b.d.find_elements(By.CSS_SELECTOR, f"{scope} a")
        if i >= len(links):
            break
        href = links[i].get_attribute("href")
        try:
            b.js("arguments[0].scrollIntoView({block: 'center'})", links[i])
            links[i].click()
        except WebDriverException:
            # Hidden or covered: a script click follows the link all the same.
            b.js("arguments[0].click()", links[i])
        time.sleep(0.15)
        p = b.js("return (typeof window.__pwned === 'undefined') ? null : String(window.__pwned)")
        if p is not None:
            fired.append(f"link {i} ({href}) → __pwned={p}")
    check(f"[hostile {name}] clicking each of the {n} links in {scope}: no script runs",
          not fired, fired[:5])
    b.get(url)
    b.js(f"document.querySelectorAll('{scope} details, {scope} summary').forEach(d => {{ if (d.tagName === 'DETAILS') d.open = true }})")
    audit(b, f"{name} (details opened)")


def hostile(b, srv, oc_dir):
    key = fx.HOSTILE_KEY
    text = [fx.PAYLOADS[0], fx.PAYLOADS[1]]
    pages = [("session", key_path(key), "session", text),
             ("sessions list", "/sessions", "sessions", None),
             ("search", f"/sessions?q={fx.HOSTILE_WORD}", "sessions", None),
             ("overview", "/", "overview", None),
             ("logs", "/logs", "logs", [fx.HOSTILE_WORD]),
             ("memory", "/memory", "memory", None)]
    for name, path, page, expect in pages:
        with Step(f"[hostile {name}]"):
            status, headers, body = http(srv.url + path)
            ok, csp = csp_ok(headers)
            check(f"[hostile {name}] Content-Security-Policy with script-src 'self', no 'unsafe-inline'",
                  ok, repr(csp))
            loaded = b.get(srv.url + path, page, timeout=5 if status == 200 else 0.5)
            check(f"[hostile {name}] page loads ({path})", status == 200 and loaded, f"HTTP {status}")
            audit(b, name, expect)
            if name == "search":
                keys = b.js("""return [...document.querySelectorAll('table#sessions tbody tr[data-session-key]')]
                               .map(tr => tr.dataset.sessionKey)""")
                check(f"[hostile search] /sessions?q={fx.HOSTILE_WORD} finds the session",
                      keys == [key], keys)
            if name in ("session", "logs", "memory"):
                src = b.d.page_source
                leaks = [t for t in fx.SECRET_TELLS if t in src or t in body]
                check(f"[secrets {name}] fake keys and bearer tokens are masked in the page",
                      not leaks, f"raw secret text found: {leaks}")
            if name in ("session", "logs"):
                check(f"[secrets {name}] the masked form is shown", "[masked]" in b.d.page_source)
            b.screenshot(f"hostile-{name.replace(' ', '-')}")
            end_page(b, f"hostile {name}")
    with Step("[hostile session links]"):
        click_everything(b, srv.url + key_path(key), "#timeline", "session timeline")
        click_everything(b, srv.url + key_path(key), "main#page", "session page")
        end_page(b, "hostile session links")
    with Step("[hostile memory file]"):
        b.get(srv.url + "/memory", "memory")
        link = b.js("""return [...document.querySelectorAll('#memory-files a')]
                       .find(a => a.textContent.includes(arguments[0])) || null""", fx.HOSTILE_WORD)
        if check("[hostile memory] the hostile memory file is listed", link):
            href = link.get_attribute("href")
            link.click()
            time.sleep(0.3)
            audit(b, "memory file", [fx.PAYLOADS[0]])
            status, headers, body = http(href)
            src = b.d.page_source
            leaks = [t for t in fx.SECRET_TELLS if t in src or t in body]
            check("[secrets memory file] the key in a memory file is masked", not leaks, leaks)
            ok, csp = csp_ok(headers)
            check("[hostile memory file] Content-Security-Policy with script-src 'self'", ok, repr(csp))
            click_everything(b, href, "main#page", "memory file")
            b.screenshot("hostile-memory-file")
            end_page(b, "hostile memory file")
    with Step("[hostile live]"):
        hostile_live(b, srv, oc_dir)


# --- login --------------------------------------------------------------------------------

def is_login_answer(status, headers, body):
    loc = (headers.get("Location") or "") if headers else ""
    return (status in (301, 302, 303, 307, 308) and "/login" in loc) or \
        (status == 401 and 'id="login"' in body)


def login(b, srv, run_oc):
    url = srv.url
    st, h, body = http(url + "/")
    check("[login] GET / without a session: redirect to /login (or 401 with the form)",
          is_login_answer(st, h, body), f"HTTP {st} Location {h.get('Location') if h else None!r}")
    spoof = {"X-Forwarded-For": "127.0.0.1", "Forwarded": "for=127.0.0.1", "Host": "localhost",
             "X-Real-IP": "127.0.0.1"}
    for path in ("/", "/sessions", key_path(fx.MAIN_KEY), "/health"):
        st, h, body = http(url + path, spoof)
        check(f"[login] X-Forwarded-For / Forwarded / Host: localhost don't open {path}",
              st != 200 and fx.MAIN_KEY not in body, f"HTTP {st}")
    st, _, _ = http(url + "/api/v1/health", spoof)
    check("[login] spoofed headers don't open the API either", st == 401, f"HTTP {st}")
    st, _, _ = http(url + "/api/v1/stream?session=agent%3Amain%3Amain", spoof)
    check("[login] nor the live feed", st == 401, f"HTTP {st}")
    st, h, body = http(url + "/login")
    check("[login] GET /login answers 200 with form#login", st == 200 and 'id="login"' in body,
          f"HTTP {st}")
    ok, csp = csp_ok(h)
    check("[login] /login has the Content-Security-Policy", ok, repr(csp))

    # No open redirect through the sign-in's next=.
    for nxt in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "/\t/evil.example",
                "javascript:alert(1)", "http:evil.example"):
        st, h, _ = http(url + "/login", {"Content-Type": "application/x-www-form-urlencoded"},
                        data=urllib.parse.urlencode({"token": TOKEN, "next": nxt}).encode(),
                        method="POST")
        loc = (h.get("Location") or "") if h else ""
        target = urllib.parse.urlparse(urllib.parse.urljoin(url + "/login", loc))
        check(f"[login] next={nxt!r} redirects within the dashboard", st in (302, 303, 307)
              and loc.startswith("/") and not loc.startswith(("//", "/\\"))
              and target.netloc == urllib.parse.urlparse(url).netloc, f"HTTP {st} Location {loc!r}")

    ignore = ("status of 401", "status of 403")
    b.d.get(url + "/")
    on_login = wait_css(b, "form#login input[name=token]")
    check("[login] the browser opening / lands on the login form", on_login, b.d.current_url)
    if not on_login:
        return
    b.screenshot("login")
    b.console_errors(ignore)
    # A wrong token.
    b.d.find_element(By.CSS_SELECTOR, "form#login input[name=token]").send_keys("wrong-token")
    submit(b, "form#login")
    time.sleep(0.3)
    wait_css(b, "form#login", 3)
    err = b.js("""const e = document.querySelector('form#login .error, .error, [role=alert]');
                  return e ? e.innerText.trim() : null""")
    check("[login] a wrong token shows an error (and the form again)",
          err and b.d.find_elements(By.CSS_SELECTOR, "form#login"), f"error text {err!r}")
    check("[login] a wrong token gets no session cookie",
          not [c for c in b.d.get_cookies() if c.get("httpOnly")], b.d.get_cookies())
    b.screenshot("login-error")
    b.console_errors(ignore)
    # The right one.
    field = b.d.find_element(By.CSS_SELECTOR, "form#login input[name=token]")
    field.clear()
    field.send_keys(TOKEN)
    submit(b, "form#login")
    ok = wait_css(b, 'main#page[data-page="overview"]')
    check("[login] the right token lands on the overview", ok
          and urllib.parse.urlparse(b.d.current_url).path == "/", b.d.current_url)
    if not ok:
        return
    end_page(b, "login overview")
    cookies = b.d.get_cookies()
    session = [c for c in cookies if c.get("httpOnly")]
    check("[login] the session cookie is HttpOnly", session,
          [(c["name"], c.get("httpOnly")) for c in cookies])
    check("[login] the session cookie is SameSite=Strict or Lax",
          session and all(c.get("sameSite") in ("Strict", "Lax") for c in session),
          [(c["name"], c.get("sameSite")) for c in session])
    check("[login] the cookie is not the token itself",
          all(TOKEN not in urllib.parse.unquote(c["value"]) for c in cookies))
    doc = b.js("return document.cookie")
    check("[login] document.cookie does not show the session cookie",
          all(c["value"] not in doc for c in session), repr(doc))
    jar = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
    st, _, _ = http(url + "/", {"Cookie": jar})
    check("[login] the cookie opens the pages (GET / with it: 200)", st == 200, f"HTTP {st}")
    # Live updates reach a logged-in page (the EventSource carries the cookie).
    with Step("[login live]"):
        b.get(url + key_path(fx.MAIN_KEY), "session")
        time.sleep(0.5)
        marker = f"login-live-{int(time.time() * 1000)}"
        fx.append_assistant(os.path.join(run_oc, fx.MAIN_FILE), marker)
        seen = timeline_shows(b, marker, 3)
        check("[login] live updates reach a logged-in session page within 1 s",
              seen is not None and seen <= 1.0, f"{seen}")
        end_page(b, "login session")
    # CSRF.
    st, _, body = http(url + "/logout", {"Cookie": jar,
                                         "Content-Type": "application/x-www-form-urlencoded"},
                       data=b"", method="POST")
    check("[login] POST /logout without the CSRF field is refused (403)", st == 403, f"HTTP {st}")
    st, _, body = http(url + "/logout", {"Cookie": jar,
                                         "Content-Type": "application/x-www-form-urlencoded"},
                       data=b"csrf=not-the-token", method="POST")
    check("[login] POST /logout with a wrong CSRF value is refused (403)", st == 403, f"HTTP {st}")
    st, _, _ = http(url + "/", {"Cookie": jar})
    check("[login] ... and the session is still valid", st == 200, f"HTTP {st}")
    # Log out with the page's own form.
    b.get(url + "/", "overview")
    form = b.d.find_elements(By.CSS_SELECTOR, "form[action$='/logout']")
    if check("[login] the page has a logout form (POST)", form
             and (form[0].get_attribute("method") or "").lower() == "post"):
        fields = b.js("return [...arguments[0].querySelectorAll('input[type=hidden]')].map(i => i.name)",
                      form[0])
        check("[login] the logout form carries a CSRF field", fields, fields)
        submit(b, "form[action$='/logout']")
        check("[login] logging out lands on the login form", wait_css(b, "form#login"),
              b.d.current_url)
        st, h, body = http(url + "/", {"Cookie": jar})
        check("[login] after logout the old cookie no longer opens pages",
              is_login_answer(st, h, body), f"HTTP {st}")
    # A deep link opened signed out comes back to the same page after signing in.
    with Step("[login deep link]"):
        deep = key_path("agent:ops:main")
        b.d.get(url + deep)
        if check("[login] a deep link signed out shows the login form",
                 wait_css(b, "form#login input[name=token]"), b.d.current_url):
            b.d.find_element(By.CSS_SELECTOR, "form#login input[name=token]").send_keys(TOKEN)
            submit(b, "form#login")
            check("[login] ... and signing in lands on that page",
                  wait_css(b, 'main#page[data-session-key="agent:ops:main"]'), b.d.current_url)
    b.console_errors(ignore)


def submit(b, form_sel):
    btn = b.d.find_elements(By.CSS_SELECTOR, f"{form_sel} button[type=submit], {form_sel} "
                                              f"input[type=submit], {form_sel} button:not([type])")
    if btn:
        btn[0].click()
    else:
        b.d.find_element(By.CSS_SELECTOR, form_sel).submit()


# --- main ---------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    ap.add_argument("--chromedriver", default=shutil.which("chromedriver") or "chromedriver")
    args = ap.parse_args()
    started = time.time()
    shutil.rmtree(args.artifacts, ignore_errors=True)
    os.makedirs(args.artifacts, exist_ok=True)
    with open(os.path.join(args.fixture, "expected_totals.json")) as f:
        expected = json.load(f)
    legacy = os.path.join(args.fixture, "legacy-layout", "home", ".openclaw")
    state = os.path.join(args.fixture, "sqlite-layout", "home", ".openclaw", "state")
    dirs = {}
    for name in ("plain", "hostile", "auth"):
        base = os.path.join(args.run, name)
        dirs[name] = (os.path.join(base, "openclaw"), os.path.join(base, "logs"),
                      os.path.join(base, "workspace"))
        fx.prepare(legacy, state, *dirs[name])
    fx.add_hostile(*dirs["hostile"])
    fx.add_odd_key(dirs["hostile"][0])

    servers = {"plain": Server("plain", args.bin, args.run, dirs["plain"][0]),
               "hostile": Server("hostile", args.bin, args.run, dirs["hostile"][0]),
               "auth": Server("auth", args.bin, args.run, dirs["auth"][0], token=TOKEN)}
    browsers = []
    try:
        for name, n in (("plain", 4), ("hostile", 6), ("auth", 4)):
            servers[name].wait(n)
        srv = servers["plain"]
        print(f"clawscope serving the fixture at {srv.url} (hostile {servers['hostile'].url}, "
              f"with a token {servers['auth'].url}); {time.time() - started:.1f} s", flush=True)
        rows = api(srv, "/api/v1/sessions", limit=500)["rows"]
        child = next(r for r in rows if r["parent_session_key"])
        parent = child["parent_session_key"]
        info(f"sub-agent {child['session_key']} of {parent}")
        b = Browser(args, args.run, "desktop")
        browsers.append(b)
        with Step("[overview]"):
            overview(b, srv, expected)
        with Step("[sessions]"):
            sessions_page(b, srv)
        for r in rows:
            key = r["session_key"]
            name = ("session" if key == parent else "subagent" if key == child["session_key"]
                    else "session " + key.split(":")[1] + ":" + key.split(":")[2])
            with Step(f"[{name}]"):
                session_page(b, srv, key, name, expected,
                             shot=re.sub(r"[^a-z0-9]+", "-", name))
        with Step("[pages]"):
            other_pages(b, srv)
        with Step("[theme]"):
            color_scheme(b, srv)
        with Step("[keyboard]"):
            keyboard(b, srv)
        with Step("[click/live]"):
            clicks_and_live(b, srv, dirs["plain"][0], parent, child["session_key"])
        with Step("[overview live]"):
            overview_live(b, srv, dirs["plain"][0])
        with Step("[phone]"):
            p = Browser(args, args.run, "phone", phone=True)
            browsers.append(p)
            phone(p, srv, parent)
        with Step("[hostile]"):
            h = Browser(args, args.run, "hostile")
            browsers.append(h)
            self_test(h)
            hostile(h, servers["hostile"], dirs["hostile"][0])
        with Step("[odd key]"):
            odd_key(h, servers["hostile"], dirs["hostile"][0])
        with Step("[login]"):
            lb = Browser(args, args.run, "login")
            browsers.append(lb)
            login(lb, servers["auth"], dirs["auth"][0])
        for name, s in servers.items():
            check(f"clawscope serve ({name}) still running", s.proc.poll() is None)
    finally:
        for b in browsers:
            b.quit()
        for s in servers.values():
            s.stop()
    failed = [r for r in RESULTS if not r[1]]
    print(f"\nscreenshots in {args.artifacts}; {time.time() - started:.1f} s")
    if failed:
        print("\nfailed:")
        for name, _, detail in failed:
            print(f"  {name}" + (f": {detail}" if detail else ""))
    print(f"{len(RESULTS)} checks, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
