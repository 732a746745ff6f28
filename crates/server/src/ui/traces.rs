//! `/traces` and `/traces/{id}`: OTLP traces received from gateways and SDKs, and one
//! trace as a span waterfall with its correlated logs.

use std::time::Instant;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use clawscope_core::otel::TraceFilter;
use clawscope_core::redact::mask;

use super::chrome::Chrome;
use super::rows::{seg, session_href};
use super::{fmt, render};
use crate::{ApiError, AppState};

/// Traces listed.
const LIST: usize = 200;

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    #[serde(default)]
    service: String,
    #[serde(default)]
    errors: String,
}

pub struct TraceRow {
    pub href: String,
    pub id: String,
    pub name: String,
    pub service: String,
    pub when: String,
    pub duration: String,
    pub spans: u64,
    pub errors: u64,
    pub tokens: String,
    pub cost: String,
    pub session: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "traces.html")]
pub struct TracesPage {
    pub chrome: Chrome,
    pub rows: Vec<TraceRow>,
    pub service: String,
    pub errors_only: bool,
}

pub struct SpanRow {
    pub name: String,
    pub depth: usize,
    pub indent: String,
    pub service: String,
    pub class: String,
    pub offset_pct: String,
    pub width_pct: String,
    pub duration: String,
    pub detail: String,
    pub is_error: bool,
    pub status: String,
}

#[derive(Template)]
#[template(path = "trace.html")]
pub struct TracePage {
    pub chrome: Chrome,
    pub row: TraceRow,
    pub spans: Vec<SpanRow>,
    pub logs: Vec<(String, String, String)>,
}

fn row(t: clawscope_core::otel::TraceSummary, tz: chrono_tz::Tz) -> TraceRow {
    TraceRow {
        href: format!("/traces/{}", seg(&t.trace_id)),
        name: mask(&t.name).into_owned(),
        service: t.service,
        when: fmt::datetime(t.start_ms as i64, tz),
        duration: fmt::duration(t.duration_ms as i64),
        spans: t.spans,
        errors: t.errors,
        tokens: if t.tokens.is_zero() {
            String::new()
        } else {
            fmt::tokens(t.tokens.total())
        },
        cost: if t.cost_usd > 0.0 {
            fmt::money(t.cost_usd)
        } else {
            String::new()
        },
        session: t
            .session_key
            .map(|k| (session_href(&k), mask(&k).into_owned())),
        id: t.trace_id,
    }
}

/// `GET /traces?service=&errors=1`.
pub async fn page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    let started = Instant::now();
    let chrome = Chrome::new(&st, &headers, "traces", "Traces");
    let tz = st.ui.tz;
    let r = st
        .read(move |s| {
            let errors_only = matches!(p.errors.as_str(), "1" | "true" | "on");
            let list = s.traces(&TraceFilter {
                service: (!p.service.is_empty()).then(|| p.service.clone()),
                error: errors_only.then_some(true),
                limit: LIST,
                ..TraceFilter::default()
            })?;
            Ok(TracesPage {
                chrome,
                rows: list.into_iter().map(|t| row(t, tz)).collect(),
                service: p.service,
                errors_only,
            })
        })
        .await;
    render::page(r, started)
}

/// `GET /traces/{id}`.
pub async fn detail(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let started = Instant::now();
    let chrome = Chrome::new(&st, &headers, "trace", "Trace");
    let tz = st.ui.tz;
    let r = st
        .read(move |s| {
            let d = s
                .trace(&id)?
                .ok_or_else(|| ApiError::NotFound(format!("no trace {id:?}")))?;
            let t0 = d.spans.iter().map(|x| x.span.start_ns).min().unwrap_or(0);
            let t1 = d
                .spans
                .iter()
                .map(|x| x.span.end_ns)
                .max()
                .unwrap_or(t0)
                .max(t0 + 1);
            let total = (t1 - t0) as f64;
            let spans = d
                .spans
                .iter()
                .map(|x| {
                    let sp = &x.span;
                    let mut detail = Vec::new();
                    if let Some(m) = &sp.model {
                        detail.push(m.clone());
                    }
                    if let Some(tn) = &sp.tool_name {
                        detail.push(format!("tool {tn}"));
                    }
                    if !sp.tokens.is_zero() {
                        detail.push(format!("{} tokens", fmt::int(sp.tokens.total())));
                    }
                    if let Some(c) = sp.cost_usd {
                        detail.push(fmt::money(c));
                    }
                    SpanRow {
                        name: mask(&sp.name).into_owned(),
                        depth: x.depth,
                        indent: "\u{2003}".repeat(x.depth.min(12)),
                        service: sp.service.clone(),
                        class: sp
                            .class
                            .map(|c| format!("{c:?}").to_lowercase())
                            .unwrap_or_default(),
                        offset_pct: format!("{:.2}", (sp.start_ns - t0) as f64 / total * 100.0),
                        width_pct: format!(
                            "{:.2}",
                            ((sp.end_ns - sp.start_ns) as f64 / total * 100.0).max(0.3)
                        ),
                        duration: fmt::duration(sp.duration_ms() as i64),
                        detail: mask(&detail.join(" · ")).into_owned(),
                        is_error: sp.is_error,
                        status: sp
                            .status_message
                            .as_deref()
                            .map(|m| mask(m).into_owned())
                            .unwrap_or_default(),
                    }
                })
                .collect();
            let logs = d
                .logs
                .iter()
                .map(|l| {
                    (
                        fmt::datetime(l.time_ns / 1_000_000, tz),
                        l.severity_text
                            .clone()
                            .unwrap_or_else(|| l.severity_number.to_string()),
                        mask(&l.body).into_owned(),
                    )
                })
                .collect();
            Ok(TracePage {
                chrome,
                row: row(d.summary, tz),
                spans,
                logs,
            })
        })
        .await;
    render::page(r, started)
}
