//! `/tools`: every tool the agents called: calls, p50/p95 duration, error rate and the
//! last error, from the store's daily tool rollups.

use std::time::Instant;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use clawscope_core::redact::mask;

use super::chrome::Chrome;
use super::rows::session_href;
use super::{fmt, render, svg};
use crate::{params, AppState};

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    #[serde(default)]
    range: String,
}

pub struct ToolRow {
    pub name: String,
    pub calls: u64,
    pub calls_text: String,
    pub meter: String,
    pub errors: u64,
    pub error_rate: String,
    pub p50: String,
    pub p95: String,
    pub last: String,
    pub last_error: String,
    pub last_error_when: String,
    pub last_error_session: Option<String>,
}

#[derive(Template)]
#[template(path = "tools.html")]
pub struct ToolsPage {
    pub chrome: Chrome,
    pub rows: Vec<ToolRow>,
    pub ranges: Vec<(&'static str, bool)>,
}

/// `GET /tools?range=7d`.
pub async fn page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    let started = Instant::now();
    let chrome = Chrome::new(&st, &headers, "tools", "Tools").live("type=tool.*");
    let tz = st.ui.tz;
    let r = st
        .read(move |s| {
            let now = chrono::Utc::now().timestamp_millis();
            let since = params::since(&p.range, "all", now)?;
            let stats = s.tool_stats(since)?;
            let max = stats.iter().map(|t| t.calls).max().unwrap_or(0);
            let rows = stats
                .into_iter()
                .map(|t| ToolRow {
                    calls_text: fmt::int(t.calls),
                    meter: svg::meter(t.calls as f64, max as f64, &format!("{} calls", t.calls)),
                    error_rate: if t.calls > 0 {
                        fmt::pct(t.errors as f64 / t.calls as f64)
                    } else {
                        String::new()
                    },
                    p50: t.p50_ms.map(fmt::duration).unwrap_or_default(),
                    p95: t.p95_ms.map(fmt::duration).unwrap_or_default(),
                    last: t.last_ms.map(|l| fmt::ago(l, now)).unwrap_or_default(),
                    last_error: t
                        .last_error
                        .as_ref()
                        .map(|e| mask(&fmt::clip(&e.message, 300)).into_owned())
                        .unwrap_or_default(),
                    last_error_when: t
                        .last_error
                        .as_ref()
                        .map(|e| fmt::datetime(e.ts_ms, tz))
                        .unwrap_or_default(),
                    last_error_session: t
                        .last_error
                        .as_ref()
                        .filter(|e| !e.session_key.is_empty())
                        .map(|e| session_href(&e.session_key)),
                    name: mask(&t.tool).into_owned(),
                    calls: t.calls,
                    errors: t.errors,
                })
                .collect();
            let cur = if p.range.is_empty() {
                "all"
            } else {
                p.range.as_str()
            };
            let ranges = ["24h", "7d", "30d", "all"]
                .into_iter()
                .map(|r| (r, r == cur))
                .collect();
            Ok(ToolsPage {
                chrome,
                rows,
                ranges,
            })
        })
        .await;
    render::page(r, started)
}
