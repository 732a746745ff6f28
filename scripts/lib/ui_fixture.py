"""Data for the dashboard browser tests (scripts/lib/ui_check.py): a writable copy of the
OpenClaw fixture, transcript lines appended while a page is open, and a session, gateway log
lines and a memory file full of hostile markup and fake secrets.

Everything written here has the shape the real gateway writes (see the fixture): one JSON
object per transcript line with `id`, `parentId` and an ISO `timestamp`, `message.timestamp`
in epoch ms, usage with cost in USD; tslog JSON log lines.
"""

import datetime
import json
import os
import shutil
import uuid

# The parent of the fixture's only sub-agent, and its transcript.
MAIN_KEY = "agent:main:main"
MAIN_FILE = "agents/main/sessions/8fd93529-cef6-4de5-bfa2-823b8b99dd1c.jsonl"

# Hostile markup: each one, if it ever ran, leaves its own number in window.__pwned.
PAYLOADS = [
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror="window.__pwned=2">',
    '<a href="javascript:window.__pwned=3">click</a>',
    '<svg onload="window.__pwned=4">',
]
# Markdown-style links and attribute breakers, for renderers that linkify or build markup.
EXTRA = [
    "[markdown link](javascript:window.__pwned=6)",
    "' onmouseover='window.__pwned=7' x='",
    "<iframe srcdoc=\"<script>parent.__pwned=8</script>\"></iframe>",
    "<style>body{display:none}</style>",
]
HOSTILE_WORD = "xsscanary"
HOSTILE_KEY = f"agent:main:{HOSTILE_WORD}"
HOSTILE_LABEL = '<img src=x onerror="window.__pwned=5">label'
HOSTILE_SESSION_ID = "5e1f0c2a-7b1d-4c55-9a3e-0d6b2f7c9a11"

# Fake secrets (shapes the masking knows); none of these strings may reach a page.
SECRET_KEY = "sk-ant-api03-uiE2eFakeKey" + "Q7x" * 24 + "-AA"
SECRET_BEARER = "abcdef0123456789abcdef"
# Substrings that must not appear anywhere once masked (the masking keeps 4 characters).
SECRET_TELLS = ["uiE2eFakeKeyQ7x", "Q7xQ7xQ7xQ7x", "ef0123456789abcdef"]


def iso(ms):
    return (datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
            .strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z")


def now_ms():
    return int(datetime.datetime.now(datetime.timezone.utc).timestamp() * 1000)


def last_entry_id(path):
    """The id of the transcript's last entry (the parent of the next one)."""
    last = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                d = json.loads(line)
                if d.get("type") != "session":
                    last = d.get("id")
    return last


def usage(inp, out, cache_read=0, cache_write=0, reasoning=0):
    """Usage as OpenClaw records it, priced like the fixture's mock models (USD per 1M
    tokens: input 3, output 15, cache read 0.3, cache write 3.75)."""
    cost = {"input": inp * 3e-6, "output": out * 15e-6, "cacheRead": cache_read * 0.3e-6,
            "cacheWrite": cache_write * 3.75e-6}
    cost["total"] = sum(cost.values())
    u = {"input": inp, "output": out, "cacheRead": cache_read, "cacheWrite": cache_write,
         "totalTokens": inp + out + cache_read + cache_write, "cost": cost}
    if reasoning:
        u["reasoningTokens"] = reasoning
    return u


def assistant_line(parent_id, text, ms, run_id, thinking=None, tokens=(1200, 24, 640, 0, 6),
                   extra_content=(), stop="stop", **more):
    content = []
    if thinking is not None:
        content.append({"type": "thinking", "thinking": thinking,
                        "thinkingSignature": "reasoning_content"})
    if text is not None:
        content.append({"type": "text", "text": text})
    content.extend(extra_content)
    msg = {"role": "assistant", "content": content, "api": "openai-completions",
           "provider": "mock", "model": "mock-model", "usage": usage(*tokens),
           "stopReason": stop, "timestamp": ms, "responseId": f"chatcmpl-ui{ms}",
           "openclawDelivery": {"textPhaseRequiresTerminal": True},
           "__openclaw": {"runId": run_id}}
    msg.update(more)
    return {"type": "message", "id": str(uuid.uuid4()), "parentId": parent_id,
            "timestamp": iso(ms), "message": msg}


def user_line(parent_id, text, ms, run_id):
    return {"type": "message", "id": str(uuid.uuid4()), "parentId": parent_id,
            "timestamp": iso(ms),
            "message": {"role": "user", "content": text, "timestamp": ms,
                        "idempotencyKey": f"{run_id}:user",
                        "__openclaw": {"senderIsOwner": True}}}


def tool_result_line(parent_id, call_id, tool, text, ms, run_id, is_error=False):
    return {"type": "message", "id": str(uuid.uuid4()), "parentId": parent_id,
            "timestamp": iso(ms),
            "message": {"role": "toolResult", "toolCallId": call_id, "toolName": tool,
                        "content": [{"type": "text", "text": text}],
                        "details": {"status": "completed", "exitCode": 1 if is_error else 0,
                                    "exitSignal": None, "exitReason": "exit", "durationMs": 31,
                                    "aggregated": text, "noOutputTimedOut": False,
                                    "cwd": "/home/dev/workspace/main"},
                        "isError": is_error, "timestamp": ms, "__openclaw": {"runId": run_id}}}


def append_assistant(path, marker):
    """Append one finished assistant reply whose text carries `marker` to a transcript, in a
    single write of a complete line (as the gateway does). Returns the line written."""
    ms = now_ms()
    line = assistant_line(last_entry_id(path), f"Live reply {marker}. MOCK-FINAL", ms,
                          str(uuid.uuid4()), thinking="Simple message; no tools needed.",
                          tokens=(2100, 19, 1920, 0, 5))
    data = (json.dumps(line, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return line


def prepare(legacy_openclaw, state_dir, dest, logs_dir, workspace):
    """Copy the legacy-layout state dir to `dest` (plus the shared state DB of the SQLite
    layout, for cron jobs and sub-agent runs), with the gateway log and the workspace
    pointed into this run."""
    shutil.copytree(legacy_openclaw, dest)
    if state_dir:
        shutil.copytree(state_dir, os.path.join(dest, "state"))
    os.makedirs(logs_dir, exist_ok=True)
    os.makedirs(os.path.join(workspace, "memory"), exist_ok=True)
    cfg_path = os.path.join(dest, "openclaw.json")
    with open(cfg_path, encoding="utf-8") as f:
        cfg = json.load(f)
    cfg["logging"]["file"] = os.path.join(logs_dir, "openclaw-ui.log")
    cfg["agents"]["defaults"]["workspace"] = workspace
    with open(cfg_path, "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(workspace, "MEMORY.md"), "w", encoding="utf-8") as f:
        f.write("# Memory\n\n- The user prefers short answers.\n- Deploys happen on Fridays.\n")
    with open(os.path.join(workspace, "memory", "2026-11-21.md"), "w", encoding="utf-8") as f:
        f.write("## 2026-11-21\n\nRan the MULTI3 inspection of the workspace.\n")
    log_lines(os.path.join(logs_dir, "openclaw-ui.log"), [
        (4, "WARN", "[gateway] model call slow: 76798 ms for mock/mock-model"),
        (5, "ERROR", "[agent] provider returned HTTP 500 for mock/mock-model"),
    ], 1795279880000)


def log_lines(path, entries, start_ms):
    with open(path, "a", encoding="utf-8") as f:
        for i, (level_id, level, message) in enumerate(entries):
            ms = start_ms + i * 1000
            f.write(json.dumps({
                "0": json.dumps({"subsystem": "gateway"}), "1": message, "message": message,
                "time": iso(ms), "hostname": "fixture-host",
                "_meta": {"runtime": "node", "runtimeVersion": "24.21.0", "hostname": "fixture-host",
                          "name": "openclaw", "date": iso(ms), "logLevelId": level_id,
                          "logLevelName": level},
            }) + "\n")


def add_hostile(dest, logs_dir, workspace):
    """A session (transcript text, thinking, tool arguments and output, an error, a label)
    full of hostile markup and fake secrets; the same in gateway log lines and a memory file."""
    hostile = " ".join(PAYLOADS + EXTRA)
    sdir = os.path.join(dest, "agents", "main", "sessions")
    idx_path = os.path.join(sdir, "sessions.json")
    with open(idx_path, encoding="utf-8") as f:
        idx = json.load(f)
    t0 = 1795279890000
    idx[HOSTILE_KEY] = {"sessionId": HOSTILE_SESSION_ID, "updatedAt": t0 + 9000,
                        "sessionStartedAt": t0, "createdVia": "run", "createdAt": t0,
                        "label": HOSTILE_LABEL, "model": "mock-model", "modelProvider": "mock",
                        "status": "done", "chatType": "direct", "delivery": {"kind": "internal"}}
    with open(idx_path, "w", encoding="utf-8") as f:
        json.dump(idx, f, indent=2)
    run = "0c9e3f4a-1d2b-4e5f-8a9b-7c6d5e4f3a21"
    lines = [{"type": "session", "version": 4, "id": HOSTILE_SESSION_ID, "timestamp": iso(t0),
              "cwd": "/home/dev/workspace/main"}]
    lines.append({"type": "model_change", "provider": "mock", "modelId": "mock-model",
                  "id": str(uuid.uuid4()), "parentId": None, "timestamp": iso(t0 + 10)})

    def add(line):
        lines.append(line)
        return line["id"]

    last = lines[-1]["id"]
    last = add(user_line(last, f"{HOSTILE_WORD} please echo this: {hostile}", t0 + 100, run))
    call = "call_hostile0001"
    last = add(assistant_line(
        last, f"Running it {HOSTILE_WORD}: {hostile}", t0 + 400, run,
        thinking=f"thinking about {hostile}",
        extra_content=[{"type": "toolCall", "id": call, "name": "exec",
                        "arguments": {"command": f"echo '{PAYLOADS[0]}' {PAYLOADS[1]}",
                                      "url": "javascript:window.__pwned=3",
                                      "note": hostile}}],
        stop="toolUse"))
    last = add(tool_result_line(last, call, "exec", f"output: {hostile}", t0 + 700, run))
    last = add(assistant_line(last, f"The tool printed: {hostile} MOCK-FINAL", t0 + 900, run,
                              thinking="The tools finished; summarise the result for the user."))
    # Fake secrets, in the user's text and in tool output.
    last = add(user_line(last, f"my key is {SECRET_KEY} and send Authorization: Bearer "
                         f"{SECRET_BEARER} with it", t0 + 2000, run))
    call2 = "call_hostile0002"
    last = add(assistant_line(
        last, None, t0 + 2300, run, thinking="Check the environment.",
        extra_content=[{"type": "toolCall", "id": call2, "name": "exec",
                        "arguments": {"command": f"curl -H 'Authorization: Bearer {SECRET_BEARER}' "
                                                 "https://example.invalid/"}}],
        stop="toolUse"))
    last = add(tool_result_line(last, call2, "exec",
                                f"ANTHROPIC_API_KEY={SECRET_KEY}\n{PAYLOADS[1]}", t0 + 2600, run,
                                is_error=True))
    last = add(assistant_line(last, "", t0 + 3000, run, stop="error", tokens=(0, 0, 0, 0, 0),
                              errorMessage=f"provider said {hostile}"))
    path = os.path.join(sdir, f"{HOSTILE_SESSION_ID}.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, separators=(",", ":")) + "\n")
    log_lines(os.path.join(logs_dir, "openclaw-ui.log"), [
        (4, "WARN", f"[tools] {HOSTILE_WORD} exec printed {hostile}"),
        (5, "ERROR", f"[agent] {HOSTILE_WORD} failed with key {SECRET_KEY}: {PAYLOADS[1]}"),
    ], t0 + 5000)
    with open(os.path.join(workspace, "memory", f"{HOSTILE_WORD}.md"), "w", encoding="utf-8") as f:
        f.write(f"# Notes {HOSTILE_WORD}\n\n{hostile}\n\n[click me](javascript:window.__pwned=9)\n\n"
                f"key: {SECRET_KEY}\n")
    return path


# A session key with characters that need encoding in a path and a query string (channel
# names and group ids end up in keys: '#', '/', '?', '&', '%', '@', spaces, non-ASCII).
ODD_KEY = "agent:main:discord:channel:#ops/alerts?x=1&y=2%20z @g.us é"
ODD_SESSION_ID = "0d0d0d0d-1e1e-4f4f-8a8a-2b2b2b2b2b2b"


def add_odd_key(dest):
    """A small session under ODD_KEY; returns its transcript path."""
    sdir = os.path.join(dest, "agents", "main", "sessions")
    idx_path = os.path.join(sdir, "sessions.json")
    with open(idx_path, encoding="utf-8") as f:
        idx = json.load(f)
    t0 = 1795279895000
    idx[ODD_KEY] = {"sessionId": ODD_SESSION_ID, "updatedAt": t0 + 2000, "sessionStartedAt": t0,
                    "createdVia": "channel", "createdAt": t0, "model": "mock-model",
                    "modelProvider": "mock", "status": "done", "chatType": "channel",
                    "channel": "discord", "delivery": {"kind": "internal"}}
    with open(idx_path, "w", encoding="utf-8") as f:
        json.dump(idx, f, indent=2)
    run = "1a2b3c4d-0000-4000-8000-00000000abcd"
    lines = [{"type": "session", "version": 4, "id": ODD_SESSION_ID, "timestamp": iso(t0),
              "cwd": "/home/dev/workspace/main"},
             {"type": "model_change", "provider": "mock", "modelId": "mock-model",
              "id": str(uuid.uuid4()), "parentId": None, "timestamp": iso(t0 + 10)}]
    lines.append(user_line(lines[-1]["id"], "status of the alerts channel?", t0 + 100, run))
    lines.append(assistant_line(lines[-1]["id"], "All quiet. MOCK-FINAL", t0 + 600, run,
                                thinking="Simple message; no tools needed."))
    path = os.path.join(sdir, f"{ODD_SESSION_ID}.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, separators=(",", ":")) + "\n")
    return path
