//! The three OTLP signals: decode a request, map it, and build the response.

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};

use clawscope_core::otel::Telemetry;

use crate::decode::{message, DecodeError, Encoding};
use crate::map::{map_logs, map_metrics, map_traces, Rejected};

/// Which OTLP service a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// `/v1/traces`.
    Traces,
    /// `/v1/metrics`.
    Metrics,
    /// `/v1/logs`.
    Logs,
}

/// Map a traces request.
pub fn traces(req: &ExportTraceServiceRequest) -> (Telemetry, Rejected) {
    let (spans, r) = map_traces(req);
    (
        Telemetry {
            spans,
            ..Telemetry::default()
        },
        r,
    )
}

/// Map a metrics request.
pub fn metrics(req: &ExportMetricsServiceRequest) -> (Telemetry, Rejected) {
    let (points, r) = map_metrics(req);
    (
        Telemetry {
            points,
            ..Telemetry::default()
        },
        r,
    )
}

/// Map a logs request.
pub fn logs(req: &ExportLogsServiceRequest) -> (Telemetry, Rejected) {
    let (logs, r) = map_logs(req);
    (
        Telemetry {
            logs,
            ..Telemetry::default()
        },
        r,
    )
}

/// Decode and map a body of `signal` in `enc`.
pub fn decode(
    signal: Signal,
    enc: Encoding,
    bytes: &[u8],
) -> Result<(Telemetry, Rejected), DecodeError> {
    Ok(match signal {
        Signal::Traces => traces(&message::<ExportTraceServiceRequest>(enc, bytes)?),
        Signal::Metrics => metrics(&message::<ExportMetricsServiceRequest>(enc, bytes)?),
        Signal::Logs => logs(&message::<ExportLogsServiceRequest>(enc, bytes)?),
    })
}

/// The trace service response (partial success only when something was refused).
pub fn trace_response(r: &Rejected) -> ExportTraceServiceResponse {
    ExportTraceServiceResponse {
        partial_success: (r.count > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: r.count,
            error_message: r.message.clone(),
        }),
    }
}

/// The metrics service response.
pub fn metrics_response(r: &Rejected) -> ExportMetricsServiceResponse {
    ExportMetricsServiceResponse {
        partial_success: (r.count > 0).then(|| ExportMetricsPartialSuccess {
            rejected_data_points: r.count,
            error_message: r.message.clone(),
        }),
    }
}

/// The logs service response.
pub fn logs_response(r: &Rejected) -> ExportLogsServiceResponse {
    ExportLogsServiceResponse {
        partial_success: (r.count > 0).then(|| ExportLogsPartialSuccess {
            rejected_log_records: r.count,
            error_message: r.message.clone(),
        }),
    }
}

/// The response body for `signal` in `enc`.
pub fn response_body(signal: Signal, enc: Encoding, r: &Rejected) -> Vec<u8> {
    fn encode<M: prost::Message + serde::Serialize>(enc: Encoding, m: &M) -> Vec<u8> {
        match enc {
            Encoding::Protobuf => m.encode_to_vec(),
            Encoding::Json => serde_json::to_vec(m).unwrap_or_else(|_| b"{}".to_vec()),
        }
    }
    match signal {
        Signal::Traces => encode(enc, &trace_response(r)),
        Signal::Metrics => encode(enc, &metrics_response(r)),
        Signal::Logs => encode(enc, &logs_response(r)),
    }
}
