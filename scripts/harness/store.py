#!/usr/bin/env python3
"""Read an OpenClaw 2026.9.x state dir (read-only, stdlib sqlite3) for the harness.

    python3 store.py summary <state_dir> [--check]   sessions and transcript counts per agent;
                                                     --check exits 1 unless the scenario's traces are there
                                                     (a toolCall, a toolResult with isError true, a sub-agent
                                                     session, no session still running)
    python3 store.py wait-subagents <state_dir> [--timeout 120] [--min 1]
                                                     wait until at least --min sub-agent runs exist and every
                                                     one has ended and delivered its completion to its parent,
                                                     and no session of any agent is still running

Per agent: <state_dir>/agents/<agent>/agent/openclaw-agent.sqlite (session_nodes, transcript_events);
sub-agent runs: <state_dir>/state/openclaw.sqlite (subagent_runs). Rows stored zstd-compressed
(transcript_events.event_zstd) are counted but not decoded (no zstd in the Python 3.11 stdlib).
"""
import argparse
import glob
import json
import os
import sqlite3
import sys
import time

TERMINAL = {"done", "failed", "killed", "timeout"}


def connect(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    db.execute("PRAGMA busy_timeout = 10000")
    return db


def agent_dbs(state_dir):
    for path in sorted(glob.glob(os.path.join(state_dir, "agents", "*", "agent", "openclaw-agent.sqlite"))):
        yield path.split(os.sep)[-3], path


def sessions(db):
    cols = "session_key, current_session_id, status, created_via, parent_session_key, spawned_by, label"
    return [dict(zip(cols.split(", "), r)) for r in db.execute("SELECT %s FROM session_nodes ORDER BY created_at" % cols)]


def transcript_stats(db):
    st = {"rows": 0, "json_rows": 0, "zstd_rows": 0, "messages": {}, "tool_calls": 0,
          "tool_results": 0, "tool_errors": 0, "tools": {}}
    for ej, zs in db.execute("SELECT event_json, event_zstd FROM transcript_events"):
        st["rows"] += 1
        if ej is None:
            st["zstd_rows"] += int(zs is not None)
            continue
        st["json_rows"] += 1
        e = json.loads(ej)
        m = e.get("message") if e.get("type") == "message" else None
        if not isinstance(m, dict):
            continue
        role = m.get("role")
        st["messages"][role] = st["messages"].get(role, 0) + 1
        for b in m.get("content") if isinstance(m.get("content"), list) else []:
            if isinstance(b, dict) and b.get("type") == "toolCall":
                st["tool_calls"] += 1
                st["tools"][b.get("name")] = st["tools"].get(b.get("name"), 0) + 1
        if role == "toolResult":
            st["tool_results"] += 1
            st["tool_errors"] += int(m.get("isError") is True)
    return st


def summary(state_dir):
    out = {}
    for agent, path in agent_dbs(state_dir):
        db = connect(path)
        out[agent] = {"db": path, "sessions": sessions(db), "transcript": transcript_stats(db)}
        db.close()
    return out


def subagent_runs(state_dir):
    path = os.path.join(state_dir, "state", "openclaw.sqlite")
    if not os.path.exists(path):
        return []
    db = connect(path)
    try:
        return [json.loads(p) for (p,) in db.execute("SELECT payload_json FROM subagent_runs ORDER BY created_at")]
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def cmd_summary(a):
    s = summary(a.state_dir)
    ok = {"tool_call": False, "tool_error": False, "subagent": False, "none_running": True}
    for agent, d in s.items():
        t = d["transcript"]
        print("agent %s: %d transcript rows (%d json, %d zstd), messages %s, tool calls %d %s, tool results %d (%d isError)"
              % (agent, t["rows"], t["json_rows"], t["zstd_rows"], t["messages"], t["tool_calls"], t["tools"],
                 t["tool_results"], t["tool_errors"]))
        for n in d["sessions"]:
            print("  %-62s %-8s via=%-6s parent=%s label=%s" % (n["session_key"], n["status"], n["created_via"],
                                                               n["parent_session_key"], n["label"]))
            ok["subagent"] |= ":subagent:" in n["session_key"]
            ok["none_running"] &= n["status"] in TERMINAL or n["status"] is None
        ok["tool_call"] |= t["tool_calls"] > 0
        ok["tool_error"] |= t["tool_errors"] > 0
    for r in subagent_runs(a.state_dir):
        print("subagent run %s: child=%s requester=%s status=%s delivery=%s"
              % (r.get("runId"), r.get("childSessionKey"), r.get("requesterSessionKey"),
                 (r.get("execution") or {}).get("status"), (r.get("delivery") or {}).get("status")))
    if a.check:
        missing = [k for k, v in ok.items() if not v]
        print("check: %s" % ("ok" if not missing else "FAILED, missing: " + ", ".join(missing)))
        return 1 if missing else 0
    return 0


def cmd_wait_subagents(a):
    deadline = time.monotonic() + a.timeout
    while True:
        runs = subagent_runs(a.state_dir)
        pending = [r.get("childSessionKey") for r in runs
                   if (r.get("execution") or {}).get("status") != "terminal" or not r.get("cleanupCompletedAt")]
        running = [n["session_key"] for d in summary(a.state_dir).values() for n in d["sessions"]
                   if n["status"] == "running"]
        if len(runs) >= a.min and not pending and not running:
            print("sub-agent runs finished: %s" % ", ".join(r.get("childSessionKey") or "?" for r in runs))
            return 0
        if time.monotonic() > deadline:
            print("timeout: %d sub-agent run(s), unfinished %s, running sessions %s" % (len(runs), pending, running),
                  file=sys.stderr)
            return 1
        time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("summary")
    p.add_argument("state_dir")
    p.add_argument("--check", action="store_true")
    p.set_defaults(fn=cmd_summary)
    p = sub.add_parser("wait-subagents")
    p.add_argument("state_dir")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--min", type=int, default=1)
    p.set_defaults(fn=cmd_wait_subagents)
    a = ap.parse_args()
    sys.exit(a.fn(a))


if __name__ == "__main__":
    main()
