#!/usr/bin/env python3
"""Deterministic mock LLM provider for offline OpenClaw runs (Python 3.11 stdlib only).

    python3 mock_provider.py --port 18655 --log requests.jsonl

Listens on 127.0.0.1 and serves two wire formats:
  POST .../chat/completions  OpenAI Chat Completions: SSE stream (usage in the last chunk when asked
                             with stream_options.include_usage, as OpenClaw does) or one JSON body
  POST .../messages          Anthropic Messages: SSE stream (message_start, content_block_*, message_delta,
                             message_stop) or one JSON body
  GET  .../models            model list;  GET /health -> {"ok": true}

The behaviour is picked by an UPPER-CASE keyword in the last real user message of the turn (OpenClaw's
trailing <<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>> user message is skipped):
  TOOL      one `exec` call (`echo hello-from-exec`), then a final answer
  FAILTOOL  one `read` of a file that does not exist -> OpenClaw stores toolResult isError=true, then a final answer
  SPAWN     spawn a sub-agent with `sessions_spawn`; OpenClaw 2026.9.x offers it as a deferred tool, so the call
            goes through `tool_call {id:"sessions_spawn", args:{...}}` when `sessions_spawn` itself is not offered
  LENGTH    a truncated answer (finish_reason "length" / stop_reason "max_tokens")
  ERR500    HTTP 500 for every request (slow: OpenClaw retries 7 times with back-off before giving up)
  otherwise a plain text answer that echoes the user text in lower case (so keywords never echo back)

Token usage is a pure function of the request (message count, user text length, earlier assistant turns,
tool step), never of time or ids, so the same script gives the same totals.
Each request is summarised as one JSON line in the --log file.
"""
import argparse
import hashlib
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INTERNAL = "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT"
KEYWORDS = ("FAILTOOL", "SPAWN", "LENGTH", "ERR500", "TOOL")  # FAILTOOL before TOOL
MODELS = [
    {"id": "mock-model", "object": "model", "owned_by": "mock"},
    {"id": "claude-mock", "object": "model", "owned_by": "anthro", "type": "model", "display_name": "Claude Mock"},
]


def text_of(content):
    if isinstance(content, str):
        return content
    out = []
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        if part.get("type") in ("text", "input_text", None) and isinstance(part.get("text"), str):
            out.append(part["text"])
        elif part.get("type") == "tool_result":
            out.append(text_of(part.get("content")))
    return " ".join(out)


def normalize(req, fmt):
    """Messages as [{"role": "user"|"assistant"|"tool", "text", "is_error"}], system prompts dropped."""
    out = []
    for m in req.get("messages") or []:
        role, content = m.get("role"), m.get("content")
        if role in ("system", "developer"):
            continue
        if fmt == "anthropic" and role == "user" and isinstance(content, list) and any(
                isinstance(b, dict) and b.get("type") == "tool_result" for b in content):
            for b in content:
                if isinstance(b, dict) and b.get("type") == "tool_result":
                    out.append({"role": "tool", "text": text_of(b.get("content")), "is_error": bool(b.get("is_error"))})
                elif isinstance(b, dict) and b.get("type") == "text":
                    out.append({"role": "user", "text": b.get("text", ""), "is_error": False})
            continue
        out.append({"role": "tool" if role == "tool" else role, "text": text_of(content), "is_error": False})
    return out


def offered_tools(req, fmt):
    names = []
    for t in req.get("tools") or []:
        name = t.get("name") if fmt == "anthropic" else (t.get("function") or {}).get("name")
        if name:
            names.append(name)
    return names


def plan(req, fmt):
    """What to answer: {"kw", "text" | "tool": (name, args) | "error": code, "reasoning", ...shape counters}."""
    msgs = normalize(req, fmt)
    tools = offered_tools(req, fmt)
    start = next((i for i in range(len(msgs) - 1, -1, -1)
                  if msgs[i]["role"] == "user" and not msgs[i]["text"].lstrip().startswith(INTERNAL)), None)
    utext = msgs[start]["text"] if start is not None else ""
    results = [m for m in (msgs[start + 1:] if start is not None else msgs) if m["role"] == "tool"]
    kw = next((k for k in KEYWORDS if re.search(r"\b%s\b" % k, utext)), None)
    p = {"kw": kw, "n_msgs": len(msgs), "utext_len": len(utext), "step": len(results),
         "prior_assistant": sum(1 for m in msgs if m["role"] == "assistant"), "user_text": utext[:2000]}

    def call(name, args, why):
        if name in tools or not tools:
            p.update(tool=(name, args), reasoning=why)
        elif "tool_call" in tools:  # deferred tool: reached through the generic tool_call
            p.update(tool=("tool_call", {"id": name, "args": args}), reasoning=why + " (deferred; via tool_call)")
        else:
            p.update(text="Tool %s is not offered here. MOCK-FINAL" % name, reasoning="No such tool.")
        return p

    if kw == "ERR500":
        p["error"] = 500
    elif kw == "LENGTH":
        p.update(text="This answer is deliberately cut short because the mock hit its output token lim",
                 reasoning="Writing a long answer.", finish="length")
    elif results:
        last = results[-1]
        if last["is_error"] or kw == "FAILTOOL":
            p.update(text="The tool call failed (%d chars of error output). MOCK-FINAL" % len(last["text"]),
                     reasoning="The tool reported an error; tell the user.")
        else:
            p.update(text="Done after %d tool call(s); the last returned %d chars. MOCK-FINAL"
                     % (len(results), len(last["text"])), reasoning="The tool finished; summarise.")
    elif kw == "TOOL":
        call("exec", {"command": "echo hello-from-exec"}, "I should run a shell command with exec.")
    elif kw == "FAILTOOL":
        call("read", {"path": "no-such-file-for-mock.txt"}, "Reading the file the user named.")
    elif kw == "SPAWN":
        label = "mock-child-%s" % hashlib.sha1(utext.encode()).hexdigest()[:6]
        call("sessions_spawn", {"task": "Say hello from the sub-agent (child task).", "label": label},
             "The user asked for a sub-agent; calling sessions_spawn.")
    else:
        # first paragraph, without OpenClaw's "[Sat 2026-01-01 12:00 UTC] " envelope or appended "Runtime: ..." block
        said = re.sub(r"^\[[^\]]*\]\s*", "", utext).split("\n\n")[0]
        said = re.sub(r"\s+", " ", said)[:100].lower()
        p.update(text="Hello from the mock provider. You said: %s" % said, reasoning="Simple message; no tools needed.")
    return p


def usage_numbers(p, fmt):
    """Deterministic token counts: uncached input, cache read/write, output, reasoning."""
    n, ul, pa, step = p["n_msgs"], p["utext_len"], p["prior_assistant"], p["step"]
    if pa == 0:
        cache_read, cache_write = 0, 1024
    else:
        cache_read, cache_write = 1024 + 64 * min(pa, 20), 32 * (step + 1)
        if fmt == "openai" and step == 0:
            cache_write = 0
    output = (40 + 7 * step) if "tool" in p else 12 + len(p.get("text") or "") // 4
    return {"input": 1800 + 40 * n + ul, "cache_read": cache_read, "cache_write": cache_write,
            "output": output, "reasoning": len(p.get("reasoning") or "") // 4}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log_path = None
    counter = 0
    lock = threading.Lock()

    def log_message(self, fmt, *args):
        sys.stderr.write("[mock] " + (fmt % args) + "\n")

    def next_id(self, prefix):
        with Handler.lock:
            Handler.counter += 1
            return "%s%06d" % (prefix, Handler.counter)

    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def sse_start(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def sse(self, data, event=None):
        head = ("event: %s\n" % event) if event else ""
        self.wfile.write((head + "data: " + (data if isinstance(data, str) else json.dumps(data)) + "\n\n").encode())
        self.wfile.flush()

    def do_GET(self):
        path = self.path.split("?")[0].rstrip("/")
        if path == "/health":
            return self.send_json(200, {"ok": True})
        if path.endswith("/models"):
            return self.send_json(200, {"object": "list", "data": MODELS})
        return self.send_json(404, {"error": {"message": "not found"}})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        try:
            req = json.loads(self.rfile.read(n) or b"{}")
        except ValueError:
            req = {}
        path = self.path.split("?")[0].rstrip("/")
        fmt = "anthropic" if path.endswith("/messages") else "openai" if path.endswith("/chat/completions") else None
        if fmt is None:
            return self.send_json(404, {"error": {"message": "only chat/completions and messages are mocked"}})
        p = plan(req, fmt)
        u = usage_numbers(p, fmt)
        if self.log_path:
            line = {"path": path, "fmt": fmt, "model": req.get("model"), "stream": req.get("stream"),
                    "n_messages": len(req.get("messages") or []), "tools": offered_tools(req, fmt),
                    "plan": p, "usage": u}
            with Handler.lock, open(self.log_path, "a") as f:
                f.write(json.dumps(line) + "\n")
        if "error" in p:
            msg = "mock %d: simulated upstream failure" % p["error"]
            if fmt == "anthropic":
                return self.send_json(p["error"], {"type": "error", "error": {"type": "api_error", "message": msg}})
            return self.send_json(p["error"], {"error": {"message": msg, "type": "server_error", "code": "mock_500"}})
        return (self.anthropic if fmt == "anthropic" else self.openai)(req, p, u)

    def openai(self, req, p, u):
        cid, model = self.next_id("chatcmpl-mock"), req.get("model", "mock-model")
        created = 1795000000 + Handler.counter
        prompt = u["input"] + u["cache_read"] + u["cache_write"]
        usage = {"prompt_tokens": prompt, "completion_tokens": u["output"], "total_tokens": prompt + u["output"],
                 "prompt_tokens_details": {"cached_tokens": u["cache_read"], "cache_write_tokens": u["cache_write"]},
                 "completion_tokens_details": {"reasoning_tokens": u["reasoning"]}}
        finish = "tool_calls" if "tool" in p else p.get("finish", "stop")
        call = None
        if "tool" in p:
            name, args = p["tool"]
            call = {"id": self.next_id("call_mock"), "type": "function",
                    "function": {"name": name, "arguments": json.dumps(args)}}
        if not req.get("stream"):
            msg = {"role": "assistant", "content": p.get("text"), "reasoning_content": p.get("reasoning")}
            if call:
                msg["tool_calls"] = [call]
            return self.send_json(200, {"id": cid, "object": "chat.completion", "created": created, "model": model,
                                        "choices": [{"index": 0, "message": msg, "finish_reason": finish}],
                                        "usage": usage})
        self.sse_start()

        def chunk(delta, finish_reason=None, with_usage=False):
            o = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                 "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}
            if with_usage:
                o["usage"] = usage
            self.sse(o)

        chunk({"role": "assistant", "content": ""})
        r = p.get("reasoning") or ""
        for i in range(0, len(r), 20):
            chunk({"reasoning_content": r[i:i + 20]})
        if call:
            a = call["function"]["arguments"]
            chunk({"tool_calls": [{"index": 0, "id": call["id"], "type": "function",
                                   "function": {"name": call["function"]["name"], "arguments": ""}}]})
            for i in range(0, len(a), 15):
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": a[i:i + 15]}}]})
        else:
            for i in range(0, len(p["text"]), 12):
                chunk({"content": p["text"][i:i + 12]})
        chunk({}, finish_reason=finish)
        if (req.get("stream_options") or {}).get("include_usage", True):
            chunk(None, with_usage=True)
        self.sse("[DONE]")

    def anthropic(self, req, p, u):
        mid, model = self.next_id("msg_mock"), req.get("model", "claude-mock")
        stop = "tool_use" if "tool" in p else ("max_tokens" if p.get("finish") == "length" else "end_turn")
        reasoning = p.get("reasoning") or ""
        blocks = [{"type": "thinking", "thinking": reasoning,
                   "signature": hashlib.sha256(reasoning.encode()).hexdigest()[:32]}]
        if "tool" in p:
            blocks.append({"type": "tool_use", "id": self.next_id("toolu_mock"), "name": p["tool"][0], "input": p["tool"][1]})
        else:
            blocks.append({"type": "text", "text": p["text"]})
        usage = {"input_tokens": u["input"], "output_tokens": u["output"],
                 "cache_creation_input_tokens": u["cache_write"], "cache_read_input_tokens": u["cache_read"]}
        if not req.get("stream"):
            return self.send_json(200, {"id": mid, "type": "message", "role": "assistant", "model": model,
                                        "content": blocks, "stop_reason": stop, "stop_sequence": None, "usage": usage})
        self.sse_start()
        ev = lambda name, obj: self.sse(dict(obj, type=name), event=name)
        ev("message_start", {"message": {"id": mid, "type": "message", "role": "assistant", "model": model, "content": [],
                                         "stop_reason": None, "stop_sequence": None, "usage": dict(usage, output_tokens=1)}})
        for idx, b in enumerate(blocks):
            if b["type"] == "thinking":
                ev("content_block_start", {"index": idx, "content_block": {"type": "thinking", "thinking": "", "signature": ""}})
                for i in range(0, len(b["thinking"]), 20):
                    ev("content_block_delta", {"index": idx, "delta": {"type": "thinking_delta", "thinking": b["thinking"][i:i + 20]}})
                ev("content_block_delta", {"index": idx, "delta": {"type": "signature_delta", "signature": b["signature"]}})
            elif b["type"] == "text":
                ev("content_block_start", {"index": idx, "content_block": {"type": "text", "text": ""}})
                for i in range(0, len(b["text"]), 12):
                    ev("content_block_delta", {"index": idx, "delta": {"type": "text_delta", "text": b["text"][i:i + 12]}})
            else:
                ev("content_block_start", {"index": idx, "content_block": {"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}})
                a = json.dumps(b["input"])
                for i in range(0, len(a), 15):
                    ev("content_block_delta", {"index": idx, "delta": {"type": "input_json_delta", "partial_json": a[i:i + 15]}})
            ev("content_block_stop", {"index": idx})
        ev("message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": usage})
        ev("message_stop", {})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=18655)
    ap.add_argument("--log", help="append one JSON line per request here")
    args = ap.parse_args()
    Handler.log_path = args.log
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("mock provider listening on 127.0.0.1:%d" % args.port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
