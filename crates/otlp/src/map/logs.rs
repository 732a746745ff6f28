//! Logs: records keep their trace and span ids, so a trace view can show them.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;

use clawscope_core::otel::LogRecord;

use super::attrs::{object, to_json, valid_id, Attrs};
use super::{resource_identity, session_hint, Rejected};

/// Map an export request; records with neither a time nor an observed time are rejected.
pub fn map_logs(req: &ExportLogsServiceRequest) -> (Vec<LogRecord>, Rejected) {
    let mut out = Vec::new();
    let mut rejected = Rejected::default();
    for rl in &req.resource_logs {
        let res = resource_identity(rl.resource.as_ref());
        for sl in &rl.scope_logs {
            for r in &sl.log_records {
                let time = if r.time_unix_nano > 0 {
                    r.time_unix_nano
                } else {
                    r.observed_time_unix_nano
                };
                if time == 0 {
                    rejected.add("log record without a time");
                    continue;
                }
                let body = match r.body.as_ref().and_then(|b| b.value.as_ref()) {
                    Some(Any::StringValue(s)) => s.clone(),
                    None => String::new(),
                    Some(_) => to_json(r.body.as_ref()).to_string(),
                };
                let a = Attrs(&r.attributes);
                out.push(LogRecord {
                    time_ns: time.min(i64::MAX as u64) as i64,
                    severity_number: r.severity_number,
                    severity_text: Some(r.severity_text.clone()).filter(|s| !s.is_empty()),
                    body,
                    trace_id: valid_id(&r.trace_id, 16),
                    span_id: valid_id(&r.span_id, 8),
                    service: res.service.clone(),
                    attrs: object(&r.attributes),
                    session_hint: session_hint(&a).or_else(|| res.session.clone()),
                    session_key: None,
                });
            }
        }
    }
    (out, rejected)
}
