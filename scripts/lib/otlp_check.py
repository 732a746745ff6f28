#!/usr/bin/env python3
"""Check what `clawscope serve` stored from the real OpenTelemetry SDK exporters that
scripts/lib/otlp_emit.py ran (its JSON files in RUN_DIR), through the clawscope API.

  otlp_check.py --api URL --run RUN_DIR --since MS --fixture expected_totals.json \
      --auth-api URL --auth-http URL --token T

Prints one PASS/FAIL line per check and a summary; exits 1 when anything failed.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

RESULTS = []


def check(name, ok, detail=""):
    RESULTS.append((name, bool(ok), detail))
    print(f"{'PASS' if ok else 'FAIL'}  {name}" + ("" if ok or not detail else f": {detail}"))
    return ok


def get(api, path, **params):
    q = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    url = f"{api}{path}" + (f"?{q}" if q else "")
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, None


def must(api, path, **params):
    status, body = get(api, path, **params)
    if status != 200:
        raise AssertionError(f"GET {path} {params}: HTTP {status}")
    return body


def post(url, body, headers):
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def load(run, name):
    with open(os.path.join(run, name)) as f:
        return json.load(f)


def session(api, key):
    return must(api, f"/api/v1/sessions/{urllib.parse.quote(key, safe=':')}")["session"]


def totals(s):
    return {k: s[f"{k}_tokens"] for k in ("input", "output", "cache_read", "cache_write")}


def ids(rows):
    return sorted(r["trace_id"] for r in rows)


def check_run(api, run, since):
    """One traces run (one transport, one service)."""
    svc, label, tr = run["service"], run["label"], run["traces"]
    tag = f"[{run['transport']}]"
    check(f"{tag} the SDK flushed spans and logs", run["flushed"])
    # Usage spans at the time of fixture transcript messages (hours or more ago).
    twins = sorted([t["trace_id"] for t in run["twins"]]
                   + ([run["late"]["trace_id"]] if "late" in run else []))
    everything = sorted([t["trace_id"] for t in tr.values()] + twins
                        + [run["converse"]["trace_id"]])
    rows = must(api, "/api/v1/traces", service=svc, limit=1000)["rows"]
    check(f"{tag} list ?service= has exactly this exporter's traces", ids(rows) == everything,
          f"{ids(rows)} != {everything}")
    stored = sum(r["spans"] for r in rows)
    check(f"{tag} every span is stored once", stored == run["span_count"],
          f"{stored} stored, {run['span_count']} sent")
    recent = ids(must(api, "/api/v1/traces", service=svc, since=since, limit=1000)["rows"])
    old = ids(must(api, "/api/v1/traces", service=svc, until=since, limit=1000)["rows"])
    check(f"{tag} list ?since= / ?until= split recent traces from the fixture-time ones",
          old == twins and sorted(recent + old) == everything, f"recent {recent} old {old}")
    named = ids(must(api, "/api/v1/traces", service=svc, name="openclaw.run")["rows"])
    check(f"{tag} list ?name=openclaw.run", named == sorted([tr["main"]["trace_id"],
                                                           tr["error"]["trace_id"]]), named)
    errs = must(api, "/api/v1/traces", service=svc, error="true")["rows"]
    check(f"{tag} list ?error=true has only the failed run",
          ids(errs) == [tr["error"]["trace_id"]] and errs[0]["errors"] == 1, errs)
    fine = ids(must(api, "/api/v1/traces", service=svc, error="false", limit=1000)["rows"])
    check(f"{tag} list ?error=false has the rest",
          sorted(fine + [tr["error"]["trace_id"]]) == everything, fine)
    slow = ids(must(api, "/api/v1/traces", service=svc, min_duration_ms=2000)["rows"])
    check(f"{tag} list ?min_duration_ms=2000", slow == sorted([tr["main"]["trace_id"],
                                                             tr["genai"]["trace_id"]]), slow)
    by_session = ids(must(api, "/api/v1/traces", session=tr["main"]["session_key"])["rows"])
    check(f"{tag} list ?session= (the hint of the run spans)",
          by_session == sorted([tr["main"]["trace_id"], tr["error"]["trace_id"]]), by_session)

    # The OpenClaw run: tree, classes, attributes, logs.
    m = tr["main"]
    d = must(api, f"/api/v1/traces/{m['trace_id']}")
    got = [(s["name"], s["depth"], s["parent_span_id"]) for s in d["spans"]]
    sent = {s["span_id"]: s for s in run["spans"] if s["trace_id"] == m["trace_id"]}
    root = m["root_span_id"]
    want = [("openclaw.run", 0, None), ("openclaw.model.usage", 1, root),
            ("openclaw.tool.execution", 1, root), ("openclaw.exec", 2, m["tool_span_id"]),
            ("openclaw.session.stuck", 1, root)]
    check(f"{tag} span tree in order with depths and parents", got == want, got)
    check(f"{tag} span parents as the SDK sent them",
          all(sent[s["span_id"]]["parent_span_id"] == s["parent_span_id"] for s in d["spans"]))
    classes = [s["class"] for s in d["spans"]]
    check(f"{tag} span classes", classes == ["run", "usage", "tool", "exec", "stuck"], classes)
    usage = d["spans"][1]
    tok = {k: usage["tokens"][k] for k in m["usage_tokens"]}
    check(f"{tag} usage span: tokens, model, provider, cost",
          tok == m["usage_tokens"] and usage["model"] == "claude-sonnet-4-5"
          and usage["provider"] == "anthropic" and abs((usage["cost_usd"] or 0) - 0.0123) < 1e-9,
          usage)
    tool = d["spans"][2]
    check(f"{tag} tool span names its tool", tool["tool_name"] == "exec", tool["tool_name"])
    sm = d["summary"]
    check(f"{tag} trace summary: spans, duration, session, tokens",
          sm["spans"] == 5 and abs(sm["duration_ms"] - 2500) < 0.01
          and sm["session_key"] == m["session_key"]
          and {k: sm["tokens"][k] for k in m["usage_tokens"]} == m["usage_tokens"]
          and sm["service"] == svc and sm["name"] == "openclaw.run", sm)
    check(f"{tag} spans of the run linked to its session",
          all(s["session_key"] == m["session_key"] for s in d["spans"]),
          [s["session_key"] for s in d["spans"]])
    logs = d["logs"]
    check(f"{tag} logs from inside spans carry the trace and span ids",
          len(logs) == len(m["logs"])
          and all(any(l["body"].startswith(b) for l in logs) for b in m["logs"])
          and {l["span_id"] for l in logs} == {m["tool_span_id"], root}
          and all(l["trace_id"] == m["trace_id"] and l["service"] == svc for l in logs),
          logs)
    raw = json.dumps(d)
    check(f"{tag} secrets in span attributes and log bodies come back masked",
          "[masked]" in raw and not any(s in raw for s in run["secrets"]),
          [s for s in run["secrets"] if s in raw])
    ex = next(s for s in d["spans"] if s["name"] == "openclaw.exec")
    events = json.loads(ex["events"] or "[]")
    check(f"{tag} span events kept", [e["name"] for e in events] == ["exec.output"]
          and events[0]["attributes"] == {"stream": "stdout", "bytes": 42}, events)
    sev = sorted((l["severity_number"], l["severity_text"]) for l in logs)
    check(f"{tag} log severities", sev == [(9, "INFO"), (13, "WARN")], sev)
    s = session(api, m["session_key"])
    check(f"{tag} the run's usage is an event of its otel session",
          totals(s) == m["usage_tokens"] and s["assistant_messages"] == 1
          and s["source"] == "otel", totals(s))

    # The failed run.
    e = must(api, f"/api/v1/traces/{tr['error']['trace_id']}")
    sp = e["spans"][0]
    check(f"{tag} failed span: error flag, status message, exception event",
          sp["is_error"] and sp["status_message"] == "provider returned HTTP 500"
          and e["summary"]["errors"] == 1
          and [x["name"] for x in json.loads(sp["events"] or "[]")] == ["exception"], sp)
    g = tr["genai"]
    d = must(api, f"/api/v1/traces/{g['trace_id']}")
    raw = json.dumps(d)
    check(f"{tag} a key inside gen_ai.input.messages comes back masked",
          "weather in Oslo" in raw and run["secrets"][0] not in raw)

    # The GenAI agent.
    g = tr["genai"]
    d = must(api, f"/api/v1/traces/{g['trace_id']}")
    got = [(s["name"], s["depth"], s["kind"], s["class"]) for s in d["spans"]]
    want = [("invoke_agent planner", 0, "internal", "run"),
            ("chat gpt-5.1", 1, "client", "model_call"),
            ("execute_tool get_weather", 1, "internal", "tool"),
            ("chat gpt-5.1", 1, "client", "model_call")]
    check(f"{tag} GenAI span tree, kinds and classes", got == want, got)
    chats = [s for s in d["spans"] if s["name"].startswith("chat")]
    check(f"{tag} GenAI usage attributes read",
          [(c["tokens"]["input"], c["tokens"]["output"], c["tokens"]["cache_read"],
            c["tokens"]["reasoning"]) for c in chats]
          == [(u["input"], u["output"], u["cache_read"], u["reasoning"]) for u in g["chats"]]
          and all(c["model"] == "gpt-5.1" and c["provider"] == "openai" for c in chats),
          [c["tokens"] for c in chats])
    ev = must(api, "/api/v1/events", session=g["session_key"], limit=100)["rows"]
    msgs = sorted((x for x in ev if x["kind"] == "message.assistant"), key=lambda x: x["ts_ms"])
    check(f"{tag} GenAI chat spans became assistant events of the conversation",
          [(x["tokens"]["input"], x["tokens"]["output"], x["source"], x["message_id"])
           for x in msgs]
          == [(u["input"], u["output"], "otel", f"resp-{label}-{i}")
              for i, u in enumerate(g["chats"])], msgs)
    tools = [x for x in ev if x["kind"] == "tool.finished"]
    check(f"{tag} GenAI execute_tool became a tool event with its call id",
          len(tools) == 1 and tools[0]["tool"]["name"] == "get_weather"
          and tools[0]["tool"]["call_id"] == g["tool_call_id"], tools)
    s = session(api, g["session_key"])
    check(f"{tag} GenAI conversation session totals",
          s["input_tokens"] == sum(u["input"] for u in g["chats"])
          and s["output_tokens"] == sum(u["output"] for u in g["chats"])
          and s["reasoning_tokens"] == sum(u["reasoning"] for u in g["chats"])
          and s["assistant_messages"] == 2, s)

    # Re-sent spans.
    r = run["resend"]
    want = {k: v["spans"] for k, v in tr.items()}
    check(f"{tag} re-sending the same spans is accepted and adds nothing",
          r["ok"] and r["before"] == want and r["after"] == want, r)

    # Usage spans with a transcript twin: linked to the fixture session, not counted again.
    for t in run["twins"]:
        d = must(api, f"/api/v1/traces/{t['trace_id']}")
        sp = d["spans"][0]
        check(f"{tag} usage span twin of a transcript message links to {t['session_key']}",
              sp["session_key"] == t["session_key"] and d["summary"]["session_key"] == t["session_key"]
              and sp["event_id"] and not sp["event_id"].startswith("otel:"), sp)
    c = run["converse"]
    d = must(api, f"/api/v1/traces/{c['trace_id']}")
    sp = d["spans"][0]
    check(f"{tag} usage span without a transcript twin links to {c['session_key']} as its own event",
          sp["session_key"] == c["session_key"]
          and sp["event_id"] == f"otel:{c['trace_id']}:{c['span_id']}", sp)


def check_late(api, late, fixture):
    """A usage span stored before its transcript line: the line, once written, takes its
    place (one event, the transcript's), and the session's totals are the fixture's."""
    e = fixture["per_session_key"][late["session_key"]]
    want = {"input": e["input"], "output": e["output"], "cache_read": e["cacheRead"],
            "cache_write": e["cacheWrite"]}
    b = late["before"]
    check("late transcript: before it, the span is the session's usage event",
          b["event_id"] == f"otel:{late['trace_id']}:{late['span_id']}"
          and b["session_key"] == late["session_key"] and b["totals"] == want
          and b["assistant_messages"] == e["assistant_messages"], b)
    deadline = time.time() + 15
    while True:
        sp = must(api, f"/api/v1/traces/{late['trace_id']}")["spans"][0]
        if not sp["event_id"].startswith("otel:") or time.time() > deadline:
            break
        time.sleep(0.2)
    check("late transcript: once written, the span links to the transcript's event",
          not sp["event_id"].startswith("otel:") and sp["session_key"] == late["session_key"], sp)
    ev = {x["id"] for x in must(api, "/api/v1/events", session=late["session_key"],
                                limit=1000)["rows"]}
    check("late transcript: the span's own event is gone",
          b["event_id"] not in ev and sp["event_id"] in ev)


def check_sessions(api, runs, fixture):
    exp = fixture["per_session_key"]
    conv = runs[0]["converse"]["session_key"]
    twins = {t["session_key"] for r in runs for t in r["twins"]}
    for key, e in sorted(exp.items()):
        s = session(api, key)
        want = {"input": e["input"], "output": e["output"], "cache_read": e["cacheRead"],
                "cache_write": e["cacheWrite"]}
        msgs = e["assistant_messages"]
        if key == conv:
            for r in runs:
                for k, v in r["converse"]["tokens"].items():
                    want[k] += v
                msgs += 1
        what = ("usage counted once (twin spans from both exporters)" if key in twins
                else "plus the usage spans no transcript has" if key == conv else "unchanged")
        check(f"session {key}: {what}",
              totals(s) == want and s["assistant_messages"] == msgs,
              f"{totals(s)} / {s['assistant_messages']} msgs, want {want} / {msgs}")
    twin_spans = {f"otel:{t['trace_id']}:{t['span_id']}" for r in runs for t in r["twins"]}
    hints = {t["session_key"]: t["hint"] for r in runs for t in r["twins"]}
    for key in sorted(twins):
        ev = {x["id"] for x in must(api, "/api/v1/events", session=key, limit=1000)["rows"]}
        status, _ = get(api, f"/api/v1/sessions/otel:{hints[key]}")
        check(f"session {key}: no event of its own for a twin span, no otel: session",
              not twin_spans & ev and status == 404, f"{twin_spans & ev}, otel session {status}")


def check_metrics(api, runs, since):
    """`runs`: what each exporter process added (otlp_emit.py metrics), in order. The
    cumulative ones share one service (each a restart of the last); the delta one has its own."""
    names = {r["name"]: r["kind"] for r in must(api, "/api/v1/metrics")["rows"]}
    want = {"openclaw.tokens": "sum", "openclaw.cost.usd": "sum",
            "openclaw.run.duration_ms": "histogram", "gen_ai.client.token.usage": "histogram",
            "openclaw.queue.depth": "gauge", "openclaw.session.active": "sum"}
    check("metrics: names and kinds listed", all(names.get(k) == v for k, v in want.items()),
          names)

    def series(name, step, group_by=None):
        d = must(api, "/api/v1/metrics/series", name=name, step=step, since=since,
                 group_by=group_by)
        return {g["group"]: g["steps"] for g in d["groups"]}

    def total(steps, field="value"):
        return sum(s[field] or 0 for s in steps)

    cumulative = [r for r in runs if r["temporality"] == "cumulative"]
    services = sorted({r["service"] for r in runs})
    sent = {k: sum(r["tokens"][k] for r in runs) for k in ("input", "output")}
    for step in ("1h", "60s"):
        g = series("openclaw.tokens", step, "openclaw.token")
        got = {k: total(v) for k, v in g.items()}
        check(f"metrics: openclaw.tokens per token type (step {step}) = exactly what "
              f"{len(runs)} exporter processes added",
              got == {k: float(v) for k, v in sent.items()},
              f"{got} != {sent} (the last cumulative process alone: {cumulative[-1]['tokens']})")
    g = series("openclaw.tokens", "1h", "service")
    got = {k: total(v) for k, v in g.items()}
    want_svc = {svc: float(sum(sum(r["tokens"].values()) for r in runs if r["service"] == svc))
                for svc in services}
    check("metrics: openclaw.tokens per service (cumulative with restarts; delta)",
          got == want_svc, f"{got} != {want_svc}")
    g = series("openclaw.cost.usd", "1h")
    got = sum(total(v) for v in g.values())
    want_cost = sum(r["cost"] for r in runs)
    check("metrics: openclaw.cost.usd (double counter) increase", abs(got - want_cost) < 1e-9,
          f"{got} != {want_cost}")
    durations = [d for r in runs for d in r["runs"]]
    for step in ("1h", "60s"):
        steps = [s for v in series("openclaw.run.duration_ms", step).values() for s in v]
        count, summed = total(steps, "count"), total(steps)
        check(f"metrics: openclaw.run.duration_ms histogram count and sum (step {step})",
              count == len(durations) and abs(summed - sum(durations)) < 1e-6,
              f"count {count} sum {summed}, want {len(durations)} / {sum(durations)}")
    bounds = runs[0]["bounds"]
    want_b = [0] * (len(bounds) + 1)
    for v in durations:
        want_b[next((i for i, b in enumerate(bounds) if v <= b), len(bounds))] += 1
    got_b = [0] * (len(bounds) + 1)
    for s in (s for v in series("openclaw.run.duration_ms", "60s").values() for s in v):
        for i, n in enumerate(s["buckets"] or []):
            got_b[i] += n
    check("metrics: openclaw.run.duration_ms bucket increases", got_b == want_b,
          f"{got_b} != {want_b}")
    g = series("gen_ai.client.token.usage", "1h", "gen_ai.token.type")
    got = {k: (total(v, "count"), total(v)) for k, v in g.items()}
    want_u = {}
    for typ in ("input", "output"):
        vals = [x for r in runs for x in r["usage"][typ]]
        want_u[typ] = (len(vals), float(sum(vals)))
    check("metrics: gen_ai.client.token.usage per gen_ai.token.type", got == want_u,
          f"{got} != {want_u}")
    for name, key in (("openclaw.queue.depth", "depth"), ("openclaw.session.active", "active")):
        g = series(name, "1h", "service")
        for svc in services:
            steps = g.get(svc, [])
            last = max(steps, key=lambda s: s["t"])["value"] if steps else None
            want_last = [r for r in runs if r["service"] == svc][-1][key]
            check(f"metrics: {name} reads the newest value ({svc})", last == want_last,
                  f"{last} != {want_last}")


def check_grpc_bad(api, res):
    want = {"garbage": {"INTERNAL", "INVALID_ARGUMENT"},
            "truncated": {"INTERNAL", "INVALID_ARGUMENT"},
            "gzip_bomb": {"RESOURCE_EXHAUSTED"},
            "oversized": {"RESOURCE_EXHAUSTED", "OUT_OF_RANGE"}}
    for case, codes in want.items():
        r = res[case]
        check(f"grpc: {case} ({r['bytes']} bytes) refused with {' or '.join(sorted(codes))}",
              r["code"] in codes, f"{r['code']}: {r['details']}")
        status, _ = get(api, f"/api/v1/traces/{r['trace_id']}")
        check(f"grpc: an SDK export after {case} is stored", r["after"] == "SUCCESS"
              and status == 200, f"{r['after']}, HTTP {status}")


def check_auth(auth_api, http, token, res):
    for case in ("http_none", "http_wrong", "grpc_none", "grpc_wrong"):
        check(f"auth: exporter without the right token fails ({case})",
              res[case]["result"] == "FAILURE", res[case])
    check("auth: the HTTP exporter was answered 401",
          any("401" in m for m in res["http_none"]["messages"]), res["http_none"]["messages"])
    check("auth: the gRPC exporter was answered UNAUTHENTICATED",
          any("UNAUTHENTICATED" in m for m in res["grpc_none"]["messages"]),
          res["grpc_none"]["messages"])
    for case in ("http_token", "grpc_token"):
        check(f"auth: exporter with the token succeeds ({case})",
              res[case]["result"] == "SUCCESS", res[case])
    for case, v in sorted(res.items()):
        status, _ = get(auth_api, f"/api/v1/traces/{v['trace_id']}")
        want = 200 if case.endswith("_token") else 404
        check(f"auth: {case} span {'stored' if want == 200 else 'not stored'}", status == want,
              f"HTTP {status}")
    body = json.dumps({"resourceSpans": []}).encode()
    ct = {"content-type": "application/json"}
    for name, headers, want in [
        ("no token", ct, 401),
        ("wrong token", {**ct, "authorization": "Bearer nope"}, 401),
        ("the token", {**ct, "authorization": f"Bearer {token}"}, 200),
    ]:
        status = post(f"{http}/v1/traces", body, headers)
        check(f"auth: raw POST /v1/traces with {name} → {want}", status == want, status)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--api", required=True)
    p.add_argument("--run", required=True)
    p.add_argument("--since", required=True, type=int)
    p.add_argument("--fixture", required=True)
    p.add_argument("--auth-api", required=True)
    p.add_argument("--auth-http", required=True)
    p.add_argument("--token", required=True)
    a = p.parse_args()
    with open(a.fixture) as f:
        fixture = json.load(f)
    trace_runs = [load(a.run, n) for n in ("traces-http.json", "traces-grpc.json")]
    metric_runs = [load(a.run, f"metrics-{i}.json") for i in ("1", "2", "3", "delta")]
    steps = [
        ("traces", lambda: [check_run(a.api, r, a.since) for r in trace_runs]),
        ("late", lambda: check_late(a.api, trace_runs[0]["late"], fixture)),
        ("sessions", lambda: check_sessions(a.api, trace_runs, fixture)),
        ("metrics", lambda: check_metrics(a.api, metric_runs, a.since)),
        ("grpc", lambda: check_grpc_bad(a.api, load(a.run, "grpc-bad.json"))),
        ("auth", lambda: check_auth(a.auth_api, a.auth_http, a.token,
                                    load(a.run, "auth.json"))),
    ]
    for name, f in steps:
        try:
            f()
        except Exception as e:  # a failed request or a missing field fails the check group
            check(f"{name}: ran to the end", False, f"{type(e).__name__}: {e}")
    failed = [r for r in RESULTS if not r[1]]
    print(f"\nOTLP e2e: {len(RESULTS) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
