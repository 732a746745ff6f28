//! Spans: OpenClaw's `openclaw.*` spans and GenAI semantic-convention spans from any
//! app become stored spans, and the ones that stand for a model call, a tool run or
//! an agent run also become normalized events.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode, Span};
use serde_json::Value;

use clawscope_core::otel::{SpanClass, SpanRecord};
use clawscope_core::{
    Cost, CostSource, ErrorInfo, Event, EventKind, Merge, ModelRef, SourceKind, Timing, Tokens,
    ToolInfo,
};

use super::attrs::{object, to_json, valid_id, Attrs};
use super::{resource_identity, session_hint, Rejected};

/// GenAI operations that are one model call.
const MODEL_OPERATIONS: &[&str] = &["chat", "generate_content", "text_completion", "embeddings"];

/// Map an export request; spans without valid ids are rejected and counted.
pub fn map_traces(req: &ExportTraceServiceRequest) -> (Vec<SpanRecord>, Rejected) {
    let mut out = Vec::new();
    let mut rejected = Rejected::default();
    for rs in &req.resource_spans {
        let res = resource_identity(rs.resource.as_ref());
        for ss in &rs.scope_spans {
            for span in &ss.spans {
                match map_span(span, &res) {
                    Some(s) => out.push(s),
                    None => rejected.add("span with an invalid trace or span id"),
                }
            }
        }
    }
    (out, rejected)
}

fn kind_name(k: i32) -> &'static str {
    match SpanKind::try_from(k).unwrap_or(SpanKind::Unspecified) {
        SpanKind::Unspecified => "unspecified",
        SpanKind::Internal => "internal",
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
    }
}

/// What a span describes, from its name and `gen_ai.operation.name`.
pub fn classify(name: &str, operation: Option<&str>) -> SpanClass {
    match name {
        "openclaw.run" => return SpanClass::Run,
        "openclaw.model.usage" => return SpanClass::Usage,
        "openclaw.model.call" => return SpanClass::ModelCall,
        "openclaw.tool.execution" => return SpanClass::Tool,
        "openclaw.exec" => return SpanClass::Exec,
        "openclaw.session.stuck" => return SpanClass::Stuck,
        "openclaw.context.assembled" => return SpanClass::Context,
        _ => {}
    }
    match operation {
        Some(op) if MODEL_OPERATIONS.contains(&op) => SpanClass::ModelCall,
        Some("execute_tool") => SpanClass::Tool,
        Some("invoke_agent" | "invoke_workflow") => SpanClass::Run,
        _ => SpanClass::Other,
    }
}

/// Tokens named by OpenClaw's `openclaw.tokens.*` or the GenAI `gen_ai.usage.*` attributes.
fn tokens(a: &Attrs<'_>) -> Tokens {
    let c = |keys: &[&str]| a.count(keys).unwrap_or(0);
    Tokens {
        input: c(&[
            "openclaw.tokens.input",
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
        ]),
        output: c(&[
            "openclaw.tokens.output",
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
        ]),
        cache_read: c(&[
            "openclaw.tokens.cache_read",
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_read_input_tokens",
        ]),
        cache_write: c(&[
            "openclaw.tokens.cache_write",
            "gen_ai.usage.cache_creation.input_tokens",
            "gen_ai.usage.cache_creation_input_tokens",
        ]),
        cache_write_1h: 0,
        reasoning: c(&[
            "openclaw.tokens.reasoning",
            "gen_ai.usage.reasoning.output_tokens",
        ]),
    }
}

fn map_span(span: &Span, res: &super::ResourceIdentity) -> Option<SpanRecord> {
    let trace_id = valid_id(&span.trace_id, 16)?;
    let span_id = valid_id(&span.span_id, 8)?;
    let a = Attrs(&span.attributes);
    let operation = a.str(&["gen_ai.operation.name"]);
    let class = classify(&span.name, operation.as_deref());
    let status = span.status.as_ref();
    let is_error = status.is_some_and(|s| s.code == StatusCode::Error as i32);
    let status_message = status
        .map(|s| s.message.clone())
        .filter(|m| !m.is_empty())
        .or_else(|| {
            a.str(&[
                "openclaw.errorCategory",
                "error.type",
                "openclaw.failureKind",
            ])
        });
    let tokens = match class {
        SpanClass::Usage | SpanClass::ModelCall => tokens(&a),
        _ => Tokens::default(),
    };
    let events = (!span.events.is_empty()).then(|| {
        let list: Vec<Value> = span
            .events
            .iter()
            .map(|e| {
                serde_json::json!({
                    "time_ns": e.time_unix_nano,
                    "name": e.name,
                    "attributes": e.attributes.iter()
                        .map(|kv| (kv.key.clone(), to_json(kv.value.as_ref())))
                        .collect::<serde_json::Map<_, _>>(),
                })
            })
            .collect();
        Value::Array(list).to_string()
    });
    let mut rec = SpanRecord {
        trace_id,
        span_id,
        parent_span_id: valid_id(&span.parent_span_id, 8),
        name: span.name.clone(),
        kind: kind_name(span.kind),
        service: res.service.clone(),
        start_ns: span.start_time_unix_nano.min(i64::MAX as u64) as i64,
        end_ns: span.end_time_unix_nano.min(i64::MAX as u64) as i64,
        is_error,
        status_message,
        class: Some(class),
        session_hint: session_hint(&a).or_else(|| res.session.clone()),
        model: a.str(&[
            "gen_ai.request.model",
            "openclaw.model",
            "gen_ai.response.model",
        ]),
        provider: a.str(&["gen_ai.provider.name", "gen_ai.system", "openclaw.provider"]),
        tool_name: a.str(&[
            "gen_ai.tool.name",
            "openclaw.toolName",
            "openclaw.tool.name",
        ]),
        tokens,
        cost_usd: a.f64(&[
            "openclaw.cost.usd",
            "openclaw.cost_usd",
            "gen_ai.usage.cost",
        ]),
        attrs: object(&span.attributes),
        resource: res.attrs.clone(),
        events,
        event: None,
    };
    if rec.end_ns < rec.start_ns {
        rec.end_ns = rec.start_ns;
    }
    rec.event = derive_event(&rec, &a, operation, res);
    Some(rec)
}

/// Whether a model-call span is OpenClaw's own (`openclaw.model.call`, or the GenAI-named
/// form carrying OpenClaw's model-call attributes).
fn openclaw_model_call(rec: &SpanRecord, a: &Attrs<'_>) -> bool {
    rec.name == "openclaw.model.call"
        || a.0
            .iter()
            .any(|kv| kv.key.starts_with("openclaw.model_call.") || kv.key == "openclaw.transport")
}

/// The normalized event a span stands for: a model call with usage, a tool run, or an
/// agent run. Other spans live only in the trace store.
fn derive_event(
    rec: &SpanRecord,
    a: &Attrs<'_>,
    operation: Option<String>,
    res: &super::ResourceIdentity,
) -> Option<Event> {
    let class = rec.class?;
    let kind = match class {
        SpanClass::Usage if !rec.tokens.is_zero() => EventKind::AssistantMessage,
        // OpenClaw reports each call's usage once, on `openclaw.model.usage`; its own
        // model-call spans (by name, or `{op} {model}` with its attributes) may repeat
        // it per request or per turn, so only other apps' model calls count.
        SpanClass::ModelCall if !rec.tokens.is_zero() && !openclaw_model_call(rec, a) => {
            EventKind::AssistantMessage
        }
        SpanClass::Tool | SpanClass::Exec => EventKind::ToolFinished,
        SpanClass::Run => EventKind::RunFinished,
        _ => return None,
    };
    let start_ms = rec.start_ns / 1_000_000;
    let end_ms = rec.end_ns / 1_000_000;
    let mut timing = Timing::between(Some(start_ms), Some(end_ms));
    timing.ttft_ms = a
        .f64(&["openclaw.model_call.time_to_first_byte_ms"])
        .or_else(|| {
            a.f64(&["gen_ai.response.time_to_first_chunk"])
                .map(|s| s * 1e3)
        })
        .map(|v| v as i64);
    let hint_or_service = rec.session_hint.as_deref().unwrap_or(&rec.service);
    let cost = match (kind, rec.cost_usd) {
        (EventKind::AssistantMessage, Some(total)) => Cost {
            total: Some(total),
            source: CostSource::Reported,
            ..Cost::default()
        },
        _ => Cost::default(),
    };
    let tool = matches!(kind, EventKind::ToolFinished).then(|| ToolInfo {
        name: rec
            .tool_name
            .clone()
            .or_else(|| (class == SpanClass::Exec).then(|| "exec".to_string())),
        call_id: a.str(&["gen_ai.tool.call.id", "openclaw.toolCallId"]),
        arguments: None,
        result: None,
        is_error: rec.is_error,
        exit_code: a
            .f64(&["openclaw.exec.exitCode", "process.exit.code"])
            .map(|v| v as i64),
    });
    let error = rec.is_error.then(|| ErrorInfo {
        kind: a
            .str(&["openclaw.errorCategory", "error.type"])
            .unwrap_or_else(|| "span_error".into()),
        message: rec.status_message.clone(),
        retriable: None,
    });
    let attrs = serde_json::json!({
        "trace_id": rec.trace_id,
        "span_id": rec.span_id,
        "span": rec.name,
        "service": rec.service,
        "operation": operation,
    });
    Some(Event {
        id: format!("otel:{}:{}", rec.trace_id, rec.span_id),
        ts_ms: end_ms,
        kind: Some(kind),
        source: Some(SourceKind::Otel),
        gateway: res.host.clone(),
        agent: a.str(&[
            "openclaw.agent",
            "openclaw.agentId",
            "gen_ai.agent.id",
            "gen_ai.agent.name",
        ]),
        project: None,
        session_key: format!("otel:{hint_or_service}"),
        session_id: rec.session_hint.clone(),
        parent_session_key: None,
        channel: a.str(&["openclaw.channel"]),
        run_id: a.str(&["openclaw.runId", "openclaw.run.id"]),
        message_id: a.str(&["gen_ai.response.id"]),
        request_id: a.str(&["openclaw.provider.request_id_hash"]),
        model: ModelRef {
            provider: rec.provider.clone(),
            model: rec.model.clone(),
            api: a.str(&["openclaw.api"]),
        },
        tokens: if kind == EventKind::AssistantMessage {
            rec.tokens
        } else {
            Tokens::default()
        },
        context_used: None,
        context_max: None,
        timing,
        tool,
        error,
        cost,
        stop_reason: a.str(&[
            "gen_ai.response.finish_reasons",
            "openclaw.run.outcome",
            "openclaw.outcome",
        ]),
        text: None,
        thinking: None,
        attrs: Some(attrs.to_string()),
        merge: Merge::KeepFirst,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openclaw_names_win_over_operations() {
        assert_eq!(
            classify("openclaw.model.usage", Some("chat")),
            SpanClass::Usage
        );
        assert_eq!(classify("chat gpt-5.1", Some("chat")), SpanClass::ModelCall);
        assert_eq!(classify("tool x", Some("execute_tool")), SpanClass::Tool);
        assert_eq!(
            classify("invoke_agent a", Some("invoke_agent")),
            SpanClass::Run
        );
        assert_eq!(classify("GET /", None), SpanClass::Other);
    }
}
