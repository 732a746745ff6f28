#!/usr/bin/env python3
"""Checks for the real-gateway end-to-end run (scripts/gateway-e2e.sh).

    e2e_check.py <clawscope_url> <sse_capture> <transcript_totals.json> <restart_ms>

Asserts that clawscope saw the run live (over the gateway WebSocket, delivered on
its own SSE feed) and then from the store: run lifecycle, every tool call paired
with its result (and with the live tool item of the same call id), the sub-agent
linked to its parent, token totals equal to the transcripts', a reconnect after
the gateway restart, and live events that carry no tokens.
"""
import collections
import json
import sys
import urllib.request

FAILS = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        FAILS.append(what)


def get(base, path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return json.load(r)


def sse_messages(path):
    data = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("data:"):
                data.append(line[5:].lstrip())
            elif not line and data:
                yield json.loads("".join(data))
                data = []


def main():
    base, capture, totals_path, restart_ms = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    msgs = list(sse_messages(capture))
    events = [m["event"] for m in msgs if m["type"] == "event"]
    live = [e for e in events if e["id"].startswith("ocws:")]
    print("feed: %d messages, %d stored events, %d from the gateway WebSocket" % (len(msgs), len(events), len(live)))

    # Run lifecycle, live.
    started = {e["run_id"]: e for e in live if e["kind"] == "run.started"}
    finished = {e["run_id"]: e for e in live if e["kind"] == "run.finished"}
    check(len(started) >= 6, "at least 6 runs started live (%d)" % len(started))
    check(set(started) == set(finished), "every live run.started has its run.finished (%d/%d)" % (len(finished), len(started)))
    check(any(e["ts_ms"] > restart_ms for e in started.values()), "a run after the gateway restart was seen live")
    check(all(not any((e.get("tokens") or {}).values()) for e in live), "live gateway events carry no tokens")

    # No event delivered twice (immutable kinds; state rows may be re-published when they change).
    immutable = [e["id"] for e in events if not e["kind"].startswith(("task.", "cron.", "subagent."))]
    dupes = [i for i, n in collections.Counter(immutable).items() if n > 1]
    check(not dupes, "no immutable event delivered twice on the feed (%s)" % dupes[:3])

    # Tool items, live.
    t_start = {e["tool"]["call_id"] for e in live if e["kind"] == "tool.started"}
    t_end = {e["tool"]["call_id"]: e for e in live if e["kind"] == "tool.finished"}
    check(t_start == set(t_end) and t_start, "every live tool.started has its tool.finished (%d)" % len(t_start))
    check(all((e["timing"]["duration_ms"] or 0) >= 0 for e in t_end.values()), "live tool durations present")

    # From the store: calls paired with results, and with the live items.
    calls = get(base, "/api/v1/events?type=tool.call&limit=1000")["rows"]
    results = get(base, "/api/v1/events?type=tool.result&limit=1000")["rows"]
    call_ids = {c["tool"]["call_id"] for c in calls}
    result_ids = {r["tool"]["call_id"] for r in results}
    check(len(call_ids) >= 3, "stored tool calls: %d" % len(call_ids))
    check(call_ids <= result_ids, "every stored tool call has its result (missing %s)" % sorted(call_ids - result_ids))
    check(any(r["tool"]["is_error"] for r in results), "the failing tool's result is stored as an error")
    check(call_ids <= t_start, "every stored tool call was seen live by call id (missing %s)" % sorted(call_ids - t_start))
    run_ids = {e["run_id"] for e in get(base, "/api/v1/events?type=message.assistant&limit=1000")["rows"]}
    check(set(finished) <= run_ids | {None}, "every live run id is the run id of stored assistant messages (%s)" % sorted(set(finished) - run_ids))

    # Sub-agent linked to its parent.
    sessions = get(base, "/api/v1/sessions?limit=200")["rows"]
    subs = [s for s in sessions if ":subagent:" in s["session_key"]]
    check(bool(subs) and all(s["parent_session_key"] == "agent:main:main" for s in subs),
          "sub-agent session linked to agent:main:main (%s)" % [(s["session_key"], s["parent_session_key"]) for s in subs])
    tree = get(base, "/api/v1/live/sessions/agent:main:main")
    check({s["session_key"] for s in subs} <= {c["session_key"] for c in tree["subagents"]},
          "the live session tree shows the sub-agent under its parent")
    check(any(e["kind"] == "subagent.finished" for e in live), "sub-agent finish seen live")

    # Token totals equal to the transcripts'.
    truth = json.load(open(totals_path))
    by_key = {s["session_key"]: s for s in sessions}
    for key, t in sorted(truth.items()):
        s = by_key.get(key)
        got = s and (s["input_tokens"], s["output_tokens"], s["cache_read_tokens"], s["cache_write_tokens"], s["assistant_messages"])
        want = (t["input"], t["output"], t["cacheRead"], t["cacheWrite"], t["assistant"])
        check(got == want, "tokens of %s: clawscope %s, transcript %s" % (key, got, want))

    gw = get(base, "/api/v1/gateway")
    check(gw["state"] == "connected" and gw["connects"] >= 2,
          "gateway client reconnected after the restart (state %s, connects %s)" % (gw["state"], gw["connects"]))
    print("%d checks failed" % len(FAILS) if FAILS else "all checks passed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
