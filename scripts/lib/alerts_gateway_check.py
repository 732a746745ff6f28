"""Checks of auto-pause and the dashboard's cron actions against the real gateway.

Run by scripts/alerts-gateway-e2e.sh once the gateway, a webhook recorder and
`clawscope serve` (with a tiny daily budget whose rule pauses) are up:

  alerts_gateway_check.py <clawscope url> <token> <node> <ws_call.mjs> <mock_requests.jsonl>
                          <webhook log> <webhook secret> <job id> <clawscope bin> <cli args...>

Every check prints one line; the exit status is the number of failed checks.
"""

import hashlib
import hmac
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from http.cookiejar import CookieJar

(URL, TOKEN, NODE, WS_CALL, MOCK_LOG, HOOK_LOG, SECRET, JOB, BIN), CLI = sys.argv[1:10], sys.argv[10:]
failed = 0


def check(ok, what, detail=""):
    global failed
    print(("ok   " if ok else "FAIL ") + what + (f": {detail}" if detail and not ok else ""), flush=True)
    if not ok:
        failed += 1


def api(path, method="GET", body=None, token=TOKEN):
    req = urllib.request.Request(URL + path, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def rpc(method, params):
    p = subprocess.run([NODE, WS_CALL, method, json.dumps(params)], capture_output=True, text=True, timeout=40)
    try:
        return p.returncode == 0, json.loads(p.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return False, {"message": p.stdout + p.stderr}


def mock_requests():
    try:
        with open(MOCK_LOG) as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def wait(what, fn, secs=45):
    end = time.time() + secs
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.5)
    return None


def actions():
    s, body = api("/api/v1/alerts/actions")
    return body if s == 200 and isinstance(body, list) else (body.get("actions", []) if isinstance(body, dict) else [])


def deny_rules():
    ok, cfg = rpc("config.get", {})
    rules = (((cfg.get("config") or {}).get("session") or {}).get("sendPolicy") or {}).get("rules") or [] if ok else []
    return [r.get("match", {}).get("keyPrefix") for r in rules if r.get("action") == "deny"]


def job_enabled():
    ok, listing = rpc("cron.list", {"includeDisabled": True})
    for j in listing.get("jobs", []) if ok else []:
        if j.get("id") == JOB:
            return j.get("enabled")
    return None


def hooks():
    out = []
    try:
        with open(HOOK_LOG) as f:
            for line in f:
                out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out


def chat_send(key):
    return rpc("chat.send", {"sessionKey": "agent:main:main", "message": "Hello after the pause", "idempotencyKey": key})


# 1. The turn the script drove breached the day's budget: the rule fires and pauses `main`.
paused = wait("pause", lambda: [a for a in actions() if a.get("kind") == "pause" and a.get("ok")])
check(bool(paused), "a budget breach paused the agent through the gateway", json.dumps(actions())[:400])
if paused:
    check(paused[0].get("target") == "gateway", "the gateway-wide budget paused every agent", paused[0].get("target"))
    check(JOB in paused[0].get("detail", ""), "the pause disabled the agent's cron job", paused[0].get("detail"))
s, alerts = api("/api/v1/alerts")
firing = [a["rule_id"] for a in alerts.get("active", [])] if s == 200 else []
check("budget_day" in firing and "budget_day.warn" in firing, "budget_day and its warning are firing", str(alerts)[:300])
check("agent:" in deny_rules(), "openclaw.json has a send-policy deny rule for every agent's sessions", str(deny_rules()))
check(job_enabled() is False, "the cron job is disabled")

# 2. The next turn is refused and no model call is made.
before = mock_requests()
ok, answer = chat_send("e2e-after-pause")
check(not ok and "send blocked" in json.dumps(answer), "a chat.send turn is refused while paused", json.dumps(answer))
time.sleep(3)
check(mock_requests() == before, "no model request was made while paused", f"{before} -> {mock_requests()}")

# 3. The webhook got the firing, signed.
fired = wait("webhook", lambda: [h for h in hooks() if h["body"].get("rule") == "budget_day" and h["body"].get("transition") == "fire"])
check(bool(fired), "the webhook received the budget_day firing", str(hooks())[:300])
if fired:
    h = fired[0]
    mac = hmac.new(SECRET.encode(), f"{h['headers'].get('x-clawscope-timestamp')}.{h['raw']}".encode(), hashlib.sha256).hexdigest()
    check(h["headers"].get("x-clawscope-signature") == "sha256=" + mac, "its HMAC signature verifies")

# 3b. The chat-channel notification went through the gateway's `send`: the gateway took the
# params (no INVALID_REQUEST) and could only answer that Telegram has no bot token offline.
def chat_delivery():
    s, a = api("/api/v1/alerts?rule=budget_day")
    ids = [x["id"] for x in a.get("active", [])] if s == 200 else []
    if not ids:
        return None
    s, one = api(f"/api/v1/alerts/{ids[0]}")
    ds = [d for d in one.get("deliveries", []) if d.get("channel") == "chat"] if s == 200 else []
    return ds[0] if ds and ds[0].get("attempts", 0) >= 1 else None


d = wait("chat delivery", chat_delivery)
err = (d or {}).get("last_error") or ""
check(d is not None and "INVALID_REQUEST" not in err and "telegram" in err.lower(),
      "the chat-channel notification reached the gateway's send (offline: no Telegram bot token)", json.dumps(d))
check(d is not None and d.get("status") == "pending", "and waits for a retry (a gateway refusal is retriable)", json.dumps(d))

# 4. Raising the budget through the API resolves the alert, which resumes the agent.
s, _ = api("/api/v1/alerts/rules/budget_day", "PUT", {"usd": 1000.0})
check(s == 200, "PUT /api/v1/alerts/rules/budget_day with the bearer token", str(s))
resumed = wait("resume", lambda: [a for a in actions() if a.get("kind") == "resume" and a.get("ok")])
check(bool(resumed), "the resolve resumed the agent", json.dumps(actions())[:400])
check("agent:" not in deny_rules(), "the deny rule is gone", str(deny_rules()))
check(job_enabled() is True, "the cron job is enabled again")
before = mock_requests()
ok, answer = chat_send("e2e-after-resume")
check(ok, "chat.send is accepted again", json.dumps(answer))
check(bool(wait("model call", lambda: mock_requests() > before, 60)), "and the turn runs (a model request)")
check(bool(wait("resolve hook", lambda: [h for h in hooks() if h["body"].get("rule") == "budget_day" and h["body"].get("transition") == "resolve"])),
      "the webhook received the resolve")

# 5. A person pauses and resumes one agent from the CLI.
p = subprocess.run([BIN, *CLI, "alerts", "pause", "agent:ops"], capture_output=True, text=True, timeout=60)
check(p.returncode == 0 and "agent:ops:" in deny_rules(), "`clawscope alerts pause agent:ops`", p.stdout + p.stderr)
p = subprocess.run([BIN, *CLI, "alerts", "resume", "agent:ops"], capture_output=True, text=True, timeout=60)
check(p.returncode == 0 and "agent:ops:" not in deny_rules(), "`clawscope alerts resume agent:ops`", p.stdout + p.stderr)

# 5b. A test notification from the CLI reaches the webhook, marked as a test.
p = subprocess.run([BIN, *CLI, "alerts", "test", "budget_day", "--channel", "rec"], capture_output=True, text=True, timeout=60)
tests = wait("test hook", lambda: [h for h in hooks() if h["body"].get("transition") == "test"], 20)
check(p.returncode == 0 and "rec: sent" in p.stdout and bool(tests), "`clawscope alerts test budget_day --channel rec`",
      p.stdout + p.stderr)
p = subprocess.run([BIN, *CLI, "alerts", "list", "--all", "--json"], capture_output=True, text=True, timeout=60)
listed = json.loads(p.stdout) if p.returncode == 0 else []
check(any(a.get("rule_id") == "budget_day" and a.get("state") == "resolved" for a in listed),
      "`clawscope alerts list --all` shows the resolved budget alert", (p.stdout + p.stderr)[:300])

# 6. The dashboard's cron actions: sign in, confirm, toggle and run now (CSRF-checked).
jar = CookieJar()
web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))


def page(path, form=None):
    data = None if form is None else urllib.parse.urlencode(form).encode()
    try:
        with web.open(URL + path, data=data, timeout=20) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


import urllib.parse  # noqa: E402

s, html = page("/login")
csrf = re.search(r'name="csrf" value="([^"]+)"', html)
s, _ = page("/login", {"token": TOKEN, "next": "/crons", **({"csrf": csrf.group(1)} if csrf else {})})
s, html = page(f"/crons/{JOB}/toggle")
check(s == 200 and "Disable" in html, "the toggle asks for confirmation first", f"{s} {html[:200]}")
token = re.search(r'name="csrf" value="([^"]+)"', html)
s, _ = page(f"/crons/{JOB}/toggle", {"csrf": "wrong", "enabled": "false"})
check(s in (400, 403), "a toggle without the right CSRF token is refused", str(s))
check(job_enabled() is True, "so the job is still enabled")
if token:
    s, html = page(f"/crons/{JOB}/toggle", {"csrf": token.group(1), "enabled": "false"})
    check(s == 200 and job_enabled() is False, "confirming disables the job through cron.update", f"{s} {html[:300]}")
    s, html = page(f"/crons/{JOB}/toggle")
    t2 = re.search(r'name="csrf" value="([^"]+)"', html)
    s, _ = page(f"/crons/{JOB}/toggle", {"csrf": t2.group(1) if t2 else "", "enabled": "true"})
    check(job_enabled() is True, "and enables it again")
    s, html = page(f"/crons/{JOB}/run")
    t3 = re.search(r'name="csrf" value="([^"]+)"', html)
    before = mock_requests()
    s, html = page(f"/crons/{JOB}/run", {"csrf": t3.group(1) if t3 else ""})
    check(s == 200, "run-now is accepted", f"{s} {html[:300]}")
    check(bool(wait("cron run", lambda: mock_requests() > before, 90)), "and the job runs (a model request)")

sys.exit(failed)
