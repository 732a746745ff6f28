#!/usr/bin/env python3
"""Send telemetry to `clawscope serve` with the real OpenTelemetry Python SDK and its OTLP
exporters (OTLP/HTTP protobuf and OTLP/gRPC). Used by scripts/otlp-e2e.sh; each mode writes
what it sent (ids, token counts, metric totals, export results) as JSON for otlp_check.py.

  otlp_emit.py traces  --transport http|grpc --endpoint URL --service NAME --label L --api URL
                       [--gzip] [--late-twin] --out F
  otlp_emit.py metrics --transport http|grpc --endpoint URL --service NAME --seed N
                       [--first N] [--temporality cumulative|delta] [--gzip] --out F
  otlp_emit.py auth    --http URL --grpc HOST:PORT --token T --out F
  otlp_emit.py grpc-bad --grpc HOST:PORT --out F

The `traces` mode sends spans shaped like OpenClaw's (openclaw.run, openclaw.model.usage,
openclaw.tool.execution, openclaw.exec, openclaw.session.stuck, a failed run) and like the
GenAI semantic conventions (invoke_agent, `chat <model>` CLIENT spans, execute_tool), logs
emitted inside spans, usage spans that repeat transcript messages of the OpenClaw fixture
(tests/fixtures/openclaw-2026.9.6), and then sends every span again.
"""

import argparse
import json
import logging
import sys
import time
import urllib.request

from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace import SpanKind, Status, StatusCode

MS = 1_000_000  # nanoseconds

# Assistant messages of the OpenClaw fixture (tests/fixtures/openclaw-2026.9.6, legacy layout
# transcripts): a usage span with the same tokens near the same time is the same model call.
FIXTURE_TWINS = [
    {
        # agents/main/sessions/ee2f3a9d-….jsonl, the sub-agent's only assistant message.
        "hint_attr": "openclaw.sessionKey",
        "hint": "agent:main:subagent:6933b71f-6354-4323-a4b1-5e8ddf7647d4",
        "session_key": "agent:main:subagent:6933b71f-6354-4323-a4b1-5e8ddf7647d4",
        "ts_ms": 1795279859540,
        "provider": "mock",
        "model": "mock-model",
        "tokens": {"input": 2502, "output": 47, "cache_read": 0, "cache_write": 1024},
        "cost": 0.012051,
    },
    {
        # agents/ops/sessions/9d1c1f94-….jsonl, the last assistant message; hinted by session id.
        "hint_attr": "openclaw.sessionId",
        "hint": "9d1c1f94-d47c-4234-949a-d9cac9df88b5",
        "session_key": "agent:ops:main",
        "ts_ms": 1795279876263,
        "provider": "anthro",
        "model": "claude-mock",
        "tokens": {"input": 2088, "output": 29, "cache_read": 1152, "cache_write": 64},
        "cost": 0.0,
    },
]
# The last assistant message of agents/main/sessions/8fd93529-….jsonl, which the e2e script
# holds back until the span has been stored: the transcript arriving later takes its place.
LATE_TWIN = {
    "hint": "agent:main:main",
    "ts_ms": 1795279878738,
    "provider": "mock",
    "model": "mock-model",
    "tokens": {"input": 3053, "output": 29, "cache_read": 1920, "cache_write": 64},
}
# A fixture session that gets usage no transcript has: it must be added to its totals.
CONVERSE_SESSION = "agent:main:cron:f496214b-f621-47ee-abb7-d0cc369b1e15"


def out(path, data):
    with open(path, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)


def http_headers(token):
    return {"authorization": f"Bearer {token}"} if token else None


def span_exporter(transport, endpoint, token=None, gzip=False):
    if transport == "http":
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(
            endpoint=f"{endpoint}/v1/traces",
            headers=http_headers(token),
            timeout=10,
            compression=Compression.Gzip if gzip else Compression.NoCompression,
        )
    from grpc import Compression
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(
        endpoint=endpoint,
        insecure=True,
        headers=http_headers(token),
        timeout=10,
        compression=Compression.Gzip if gzip else Compression.NoCompression,
    )


def log_exporter(transport, endpoint):
    if transport == "http":
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

        return OTLPLogExporter(
            endpoint=f"{endpoint}/v1/logs", timeout=10, compression=Compression.Gzip
        )
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

    return OTLPLogExporter(endpoint=endpoint, insecure=True, timeout=10)


def metric_exporter(transport, endpoint, gzip, delta=False):
    kw = {}
    if delta:
        from opentelemetry.sdk.metrics import Counter, Histogram, ObservableCounter
        from opentelemetry.sdk.metrics.export import AggregationTemporality

        kw["preferred_temporality"] = {k: AggregationTemporality.DELTA
                                       for k in (Counter, Histogram, ObservableCounter)}
    if transport == "http":
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        return OTLPMetricExporter(
            endpoint=f"{endpoint}/v1/metrics",
            timeout=10,
            compression=Compression.Gzip if gzip else Compression.NoCompression,
            **kw,
        )
    from grpc import Compression
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

    return OTLPMetricExporter(
        endpoint=endpoint,
        insecure=True,
        timeout=10,
        compression=Compression.Gzip if gzip else Compression.NoCompression,
        **kw,
    )


def hexid(n, width):
    return format(n, f"0{width}x")


class Recorder:
    """Starts spans with explicit times and remembers what each one should become."""

    def __init__(self, tracer):
        self.tracer = tracer
        self.spans = []

    def span(self, name, start_ns, dur_ms, parent=None, kind=SpanKind.INTERNAL, attrs=None,
             error=None, events=()):
        ctx = trace.set_span_in_context(parent) if parent is not None else None
        s = self.tracer.start_span(name, context=ctx, kind=kind, attributes=attrs or {},
                                   start_time=start_ns)
        for ev_name, ev_attrs in events:
            s.add_event(ev_name, ev_attrs, timestamp=start_ns + 1 * MS)
        if error:
            s.set_status(Status(StatusCode.ERROR, error))
        s.end(end_time=start_ns + int(dur_ms * MS))
        c = s.get_span_context()
        self.spans.append({
            "name": name,
            "trace_id": hexid(c.trace_id, 32),
            "span_id": hexid(c.span_id, 16),
            "parent_span_id": hexid(parent.get_span_context().span_id, 16) if parent else None,
        })
        return s

    def open(self, name, start_ns, parent=None, kind=SpanKind.INTERNAL, attrs=None):
        """A span left open so children (and logs) can be made inside it; see close()."""
        ctx = trace.set_span_in_context(parent) if parent is not None else None
        return self.tracer.start_span(name, context=ctx, kind=kind, attributes=attrs or {},
                                      start_time=start_ns)

    def close(self, s, start_ns, dur_ms, parent=None):
        s.end(end_time=start_ns + int(dur_ms * MS))
        c = s.get_span_context()
        self.spans.append({
            "name": s.name,
            "trace_id": hexid(c.trace_id, 32),
            "span_id": hexid(c.span_id, 16),
            "parent_span_id": hexid(parent.get_span_context().span_id, 16) if parent else None,
        })


def api_get(api, path):
    with urllib.request.urlopen(f"{api}{path}", timeout=10) as r:
        return json.loads(r.read())


def cmd_traces(a):
    resource = Resource.create({"service.name": a.service, "service.version": "e2e",
                                "host.name": "e2e-host"})
    exporter = span_exporter(a.transport, a.endpoint, gzip=a.gzip)
    captured = InMemorySpanExporter()
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=200))
    provider.add_span_processor(SimpleSpanProcessor(captured))
    tracer = provider.get_tracer("clawscope.e2e", "1.0")
    logs = LoggerProvider(resource=resource)
    logs.add_log_record_processor(BatchLogRecordProcessor(log_exporter(a.transport, a.endpoint),
                                                          schedule_delay_millis=200))
    logger = logs.get_logger("clawscope.e2e")
    rec = Recorder(tracer)
    label = a.label
    # Secrets in captured content must not come back from the API verbatim.
    secrets = [f"sk-ant-api03-e2e{label}{time.time_ns()}xyz", f"e2eBearer{time.time_ns()}{label}"]
    # Distinct token counts per run: no transcript (and no other run) has them.
    salt = sum(ord(c) for c in label) % 97
    now = time.time_ns() - 30_000 * MS
    expect = {"service": a.service, "transport": a.transport, "label": label, "traces": {}}

    # 1. An OpenClaw agent run: run → usage, tool (→ exec), stuck. Logs inside the run span.
    session = f"e2e-session-{label}"
    t0 = now
    root = rec.open("openclaw.run", t0, attrs={
        "session.id": session, "gen_ai.conversation.id": session,
        "openclaw.sessionKey": session, "openclaw.channel": "telegram",
        "openclaw.run.outcome": "completed", "openclaw.agent": "main",
        "openclaw.runId": f"run-{label}",
    })
    usage_tokens = {"input": 1000 + salt, "output": 200 + salt, "cache_read": 300, "cache_write": 40}
    rec.span("openclaw.model.usage", t0 + 100 * MS, 1200, parent=root, attrs={
        "openclaw.sessionKey": session,
        "openclaw.tokens.input": usage_tokens["input"],
        "openclaw.tokens.output": usage_tokens["output"],
        "openclaw.tokens.cache_read": usage_tokens["cache_read"],
        "openclaw.tokens.cache_write": usage_tokens["cache_write"],
        "openclaw.tokens.total": sum(usage_tokens.values()),
        "gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-5",
        "openclaw.cost.usd": 0.0123,
    })
    tool = rec.open("openclaw.tool.execution", t0 + 1400 * MS, parent=root, attrs={
        "openclaw.sessionKey": session, "gen_ai.tool.name": "exec", "openclaw.toolName": "exec",
        "gen_ai.tool.call.id": f"call-{label}-1",
    })
    rec.span("openclaw.exec", t0 + 1450 * MS, 200, parent=tool, events=[
        ("exec.output", {"stream": "stdout", "bytes": 42}),
    ], attrs={
        "openclaw.sessionKey": session, "openclaw.exec.exitCode": 0,
        "process.command": "ls",
    })
    with trace.use_span(tool, end_on_exit=False):
        logger.emit(body=f"tool exec started ({label}) with Bearer {secrets[1]}",
                    severity_number=SeverityNumber.INFO,
                    severity_text="INFO", attributes={"openclaw.toolName": "exec"})
    rec.close(tool, t0 + 1400 * MS, 300, parent=root)
    rec.span("openclaw.session.stuck", t0 + 1800 * MS, 10, parent=root, attrs={
        "openclaw.sessionKey": session, "openclaw.stuck.ms": 120000,
    })
    with trace.use_span(root, end_on_exit=False):
        logger.emit(body=f"run finished ({label})", severity_number=SeverityNumber.WARN,
                    severity_text="WARN", attributes={"openclaw.sessionKey": session})
    rec.close(root, t0, 2500)
    main_trace = hexid(root.get_span_context().trace_id, 32)
    expect["traces"]["main"] = {
        "trace_id": main_trace, "spans": 5, "duration_ms": 2500, "session_key": f"otel:{session}",
        "usage_tokens": usage_tokens, "root_span_id": hexid(root.get_span_context().span_id, 16),
        "tool_span_id": hexid(tool.get_span_context().span_id, 16),
        "logs": ["tool exec started", f"run finished ({label})"],
    }

    # 2. A failed run: one span with ERROR status.
    t1 = now + 3000 * MS
    err = rec.span("openclaw.run", t1, 40, attrs={
        "openclaw.sessionKey": session, "openclaw.run.outcome": "error",
        "openclaw.errorCategory": "provider_error",
    }, error="provider returned HTTP 500", events=[
        ("exception", {"exception.type": "ProviderError",
                       "exception.message": "HTTP 500 from the provider"}),
    ])
    expect["traces"]["error"] = {"trace_id": hexid(err.get_span_context().trace_id, 32),
                                 "spans": 1, "duration_ms": 40}

    # 3. Usage spans that repeat a transcript message of a known session: linked, counted once.
    expect["twins"] = []
    for i, tw in enumerate(FIXTURE_TWINS):
        end_ms = tw["ts_ms"] + 800 - 1600 * i
        t = tw["tokens"]
        s = rec.span("openclaw.model.usage", (end_ms - 300) * MS, 300, attrs={
            tw["hint_attr"]: tw["hint"],
            "openclaw.tokens.input": t["input"], "openclaw.tokens.output": t["output"],
            "openclaw.tokens.cache_read": t["cache_read"],
            "openclaw.tokens.cache_write": t["cache_write"],
            "openclaw.tokens.total": sum(t.values()),
            "gen_ai.provider.name": tw["provider"], "gen_ai.request.model": tw["model"],
            "openclaw.cost.usd": tw["cost"],
        })
        c = s.get_span_context()
        expect["twins"].append({"trace_id": hexid(c.trace_id, 32), "span_id": hexid(c.span_id, 16),
                                "session_key": tw["session_key"], "hint": tw["hint"],
                                "tokens": t})

    # 3b. A usage span whose transcript message is written only after it arrives.
    if a.late_twin:
        tw = LATE_TWIN
        t = tw["tokens"]
        s = rec.span("openclaw.model.usage", (tw["ts_ms"] + 200) * MS, 250, attrs={
            "openclaw.sessionKey": tw["hint"],
            "openclaw.tokens.input": t["input"], "openclaw.tokens.output": t["output"],
            "openclaw.tokens.cache_read": t["cache_read"],
            "openclaw.tokens.cache_write": t["cache_write"],
            "gen_ai.provider.name": tw["provider"], "gen_ai.request.model": tw["model"],
        })
        c = s.get_span_context()
        expect["late"] = {"trace_id": hexid(c.trace_id, 32), "span_id": hexid(c.span_id, 16),
                          "session_key": tw["hint"], "tokens": t}

    # 4. Usage for a known session that no transcript has: it adds to that session.
    conv_tokens = {"input": 500 + salt, "output": 70 + salt, "cache_read": 0, "cache_write": 0}
    s = rec.span("openclaw.model.usage", now + 4000 * MS, 900, attrs={
        "openclaw.sessionKey": CONVERSE_SESSION,
        "openclaw.tokens.input": conv_tokens["input"],
        "openclaw.tokens.output": conv_tokens["output"],
        "gen_ai.provider.name": "mock", "gen_ai.request.model": "mock-model",
    })
    c = s.get_span_context()
    expect["converse"] = {"trace_id": hexid(c.trace_id, 32), "span_id": hexid(c.span_id, 16),
                          "session_key": CONVERSE_SESSION, "tokens": conv_tokens}

    # 5. A GenAI semantic-conventions agent: invoke_agent → chat, execute_tool, chat.
    conv = f"conv-{label}"
    t2 = now + 6000 * MS
    agent = rec.open("invoke_agent planner", t2, kind=SpanKind.INTERNAL, attrs={
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner",
        "gen_ai.conversation.id": conv, "gen_ai.provider.name": "openai",
    })
    chats = [
        {"input": 2100 + salt, "output": 130, "cache_read": 1024, "reasoning": 64},
        {"input": 2400 + salt, "output": 90, "cache_read": 2048, "reasoning": 0},
    ]
    for i, (offset, dur) in enumerate([(50, 900), (1300, 700)]):
        u = chats[i]
        rec.span("chat gpt-5.1", t2 + offset * MS, dur, parent=agent, kind=SpanKind.CLIENT, attrs={
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-5.1", "gen_ai.response.model": "gpt-5.1-2026-08-07",
            "gen_ai.usage.input_tokens": u["input"], "gen_ai.usage.output_tokens": u["output"],
            "gen_ai.usage.cache_read.input_tokens": u["cache_read"],
            "gen_ai.usage.reasoning.output_tokens": u["reasoning"],
            "gen_ai.conversation.id": conv, "gen_ai.response.id": f"resp-{label}-{i}",
            "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [
                {"type": "text", "content": f"weather in Oslo? my key is {secrets[0]}"}]}]),
            "gen_ai.response.finish_reasons": ["tool_calls" if i == 0 else "stop"],
        })
        if i == 0:
            rec.span("execute_tool get_weather", t2 + 1000 * MS, 150, parent=agent, attrs={
                "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather",
                "gen_ai.tool.call.id": f"tc-{label}-1", "gen_ai.tool.type": "function",
                "gen_ai.conversation.id": conv,
            })
    rec.close(agent, t2, 2100)
    expect["traces"]["genai"] = {
        "trace_id": hexid(agent.get_span_context().trace_id, 32), "spans": 4,
        "duration_ms": 2100, "session_key": f"otel:{conv}", "chats": chats,
        "tool_call_id": f"tc-{label}-1",
    }

    ok_spans = provider.force_flush(10_000)
    ok_logs = logs.force_flush(10_000)
    expect["span_count"] = len(captured.get_finished_spans())
    expect["secrets"] = secrets
    expect["spans"] = rec.spans
    expect["flushed"] = bool(ok_spans and ok_logs)

    # The same spans again (an exporter retrying a batch whose answer it did not see).
    def counts():
        return {k: api_get(a.api, f"/api/v1/traces/{v['trace_id']}")["summary"]["spans"]
                for k, v in expect["traces"].items()}

    if a.late_twin:
        # What the late twin looks like before its transcript line exists.
        late = expect["late"]
        d = api_get(a.api, f"/api/v1/traces/{late['trace_id']}")
        s = api_get(a.api, f"/api/v1/sessions/{late['session_key']}")["session"]
        late["before"] = {
            "event_id": d["spans"][0]["event_id"], "session_key": d["spans"][0]["session_key"],
            "totals": {k: s[f"{k}_tokens"] for k in ("input", "output", "cache_read", "cache_write")},
            "assistant_messages": s["assistant_messages"],
        }

    before = counts()
    again = span_exporter(a.transport, a.endpoint, gzip=not a.gzip)
    res = again.export(list(captured.get_finished_spans()))
    again.shutdown()
    after = counts()
    expect["resend"] = {"result": res.name, "ok": res == SpanExportResult.SUCCESS,
                        "before": before, "after": after}
    provider.shutdown()
    logs.shutdown()
    out(a.out, expect)


def cmd_metrics(a):
    resource = Resource.create({"service.name": a.service})
    reader = PeriodicExportingMetricReader(metric_exporter(a.transport, a.endpoint, a.gzip,
                                                           a.temporality == "delta"),
                                           export_interval_millis=300)
    bounds = [0, 100, 500, 1000, 5000]
    provider = MeterProvider(resource=resource, metric_readers=[reader], views=[
        View(instrument_name="openclaw.run.duration_ms",
             aggregation=ExplicitBucketHistogramAggregation(bounds)),
    ])
    meter = provider.get_meter("clawscope.e2e", "1.0")
    tokens = meter.create_counter("openclaw.tokens", unit="1", description="tokens")
    cost = meter.create_counter("openclaw.cost.usd", unit="USD")
    runs = meter.create_histogram("openclaw.run.duration_ms", unit="ms")
    usage = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
    active = meter.create_up_down_counter("openclaw.session.active", unit="1")
    depth = {"v": 0}

    def queue_depth(_options: CallbackOptions):
        yield Observation(depth["v"], {"openclaw.lane": "main"})

    meter.create_observable_gauge("openclaw.queue.depth", callbacks=[queue_depth], unit="1")

    sent = {"tokens": {"input": 0, "output": 0}, "cost": 0.0, "runs": [], "usage": {},
            "active": 0, "depth": 0}
    seed = a.seed
    for r in range(a.rounds):
        # --first sets the first reading: above the previous process's last one, a new
        # start time is all that tells a restart; below it, the drop does too.
        i_tok = (a.first if r == 0 and a.first else 1000 * seed) + 37 * r + 11
        o_tok = (a.first // 10 if r == 0 and a.first else 100 * seed) + 5 * r + 3
        tokens.add(i_tok, {"openclaw.token": "input", "openclaw.channel": "telegram"})
        tokens.add(o_tok, {"openclaw.token": "output", "openclaw.channel": "telegram"})
        sent["tokens"]["input"] += i_tok
        sent["tokens"]["output"] += o_tok
        c = round(0.001 * (seed + r + 1), 6)
        cost.add(c, {"openclaw.channel": "telegram"})
        sent["cost"] += c
        d = 80.0 * (r + 1) + seed
        runs.record(d, {"openclaw.channel": "telegram"})
        sent["runs"].append(d)
        for typ, n in (("input", i_tok), ("output", o_tok)):
            usage.record(n, {"gen_ai.token.type": typ, "gen_ai.operation.name": "chat"})
            sent["usage"].setdefault(typ, []).append(n)
        step = seed if r == 0 else (1 if r % 3 != 2 else -1)
        active.add(step)
        sent["active"] += step
        depth["v"] = 10 * seed + r
        sent["depth"] = depth["v"]
        time.sleep(0.45)  # at least one export between rounds: cumulative values grow
    ok = provider.force_flush(10_000)
    provider.shutdown()
    sent["flushed"] = bool(ok)
    sent["service"] = a.service
    sent["temporality"] = a.temporality
    sent["bounds"] = bounds
    out(a.out, sent)


def cmd_auth(a):
    """Exports to a receiver that requires a token: without it (and with a wrong one) the
    exporter must fail, with it succeed."""
    resource = Resource.create({"service.name": "e2e-auth"})
    results = {}
    # What the exporters report about refused requests (they log, and return FAILURE).
    seen = []

    class Collect(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    logging.getLogger("opentelemetry").addHandler(Collect())
    for case, transport, endpoint, token in [
        ("http_none", "http", a.http, None),
        ("http_wrong", "http", a.http, "not-the-token"),
        ("grpc_none", "grpc", a.grpc, None),
        ("grpc_wrong", "grpc", a.grpc, "not-the-token"),
        ("http_token", "http", a.http, a.token),
        ("grpc_token", "grpc", a.grpc, a.token),
    ]:
        captured = InMemorySpanExporter()
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(SimpleSpanProcessor(captured))
        tracer = provider.get_tracer("clawscope.e2e")
        with tracer.start_as_current_span(f"auth {case}", attributes={"e2e.case": case}):
            pass
        spans = list(captured.get_finished_spans())
        exporter = span_exporter(transport, endpoint, token=token)
        t = time.monotonic()
        seen.clear()
        res = exporter.export(spans)
        exporter.shutdown()
        results[case] = {
            "result": res.name,
            "seconds": round(time.monotonic() - t, 3),
            "messages": list(seen),
            "trace_id": hexid(spans[0].context.trace_id, 32),
        }
        provider.shutdown()
    out(a.out, results)


def cmd_grpc_bad(a):
    """Raw gRPC calls the receiver must refuse (garbage, a truncated message, a gzip bomb,
    a message over the size limit), each followed by a normal SDK export that must work."""
    import grpc

    channel = grpc.insecure_channel(a.grpc, options=[("grpc.max_send_message_length", -1)])
    export = channel.unary_unary(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        request_serializer=None, response_deserializer=None)
    # One empty ResourceSpans (field 1, length 0) is two bytes; repeated, a valid message.
    empty = b"\x0a\x00"
    cases = [
        ("garbage", b"\xff\xfe not a protobuf message \x00\x07", grpc.Compression.NoCompression),
        ("truncated", b"\x0a\x10\x0a\x05", grpc.Compression.NoCompression),
        ("gzip_bomb", empty * (32 << 20), grpc.Compression.Gzip),
        ("oversized", empty * (10 << 20), grpc.Compression.NoCompression),
    ]
    resource = Resource.create({"service.name": "e2e-grpc-bad"})
    results = {}
    for case, body, compression in cases:
        try:
            export(body, timeout=20, compression=compression)
            code, details = "OK", ""
        except grpc.RpcError as e:
            code, details = e.code().name, e.details()
        captured = InMemorySpanExporter()
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(SimpleSpanProcessor(captured))
        with provider.get_tracer("clawscope.e2e").start_as_current_span(f"after {case}"):
            pass
        spans = list(captured.get_finished_spans())
        exporter = span_exporter("grpc", a.grpc)
        after = exporter.export(spans)
        exporter.shutdown()
        provider.shutdown()
        results[case] = {"code": code, "details": details[:300], "bytes": len(body),
                         "after": after.name, "trace_id": hexid(spans[0].context.trace_id, 32)}
    channel.close()
    out(a.out, results)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    t = sub.add_parser("traces")
    t.add_argument("--transport", choices=["http", "grpc"], required=True)
    t.add_argument("--endpoint", required=True)
    t.add_argument("--service", required=True)
    t.add_argument("--label", required=True)
    t.add_argument("--api", required=True)
    t.add_argument("--gzip", action="store_true")
    t.add_argument("--late-twin", action="store_true")
    t.add_argument("--out", required=True)
    m = sub.add_parser("metrics")
    m.add_argument("--transport", choices=["http", "grpc"], required=True)
    m.add_argument("--endpoint", required=True)
    m.add_argument("--service", required=True)
    m.add_argument("--seed", type=int, required=True)
    m.add_argument("--rounds", type=int, default=4)
    m.add_argument("--first", type=int, default=0)
    m.add_argument("--temporality", choices=["cumulative", "delta"], default="cumulative")
    m.add_argument("--gzip", action="store_true")
    m.add_argument("--out", required=True)
    u = sub.add_parser("auth")
    u.add_argument("--http", required=True)
    u.add_argument("--grpc", required=True)
    u.add_argument("--token", required=True)
    u.add_argument("--out", required=True)
    g = sub.add_parser("grpc-bad")
    g.add_argument("--grpc", required=True)
    g.add_argument("--out", required=True)
    a = p.parse_args()
    {"traces": cmd_traces, "metrics": cmd_metrics, "auth": cmd_auth,
     "grpc-bad": cmd_grpc_bad}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
