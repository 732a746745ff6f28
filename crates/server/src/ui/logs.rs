//! `/logs`: a live tail of the gateway's log file with a level filter. The page polls
//! `/logs/tail?offset=` for lines written since; without a readable log file it shows
//! the warnings and errors stored from earlier reads.

use std::time::Instant;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use clawscope_core::files::LogTail as FileTail;
use clawscope_core::model::EventKind;
use clawscope_core::openclaw::log::LogView;
use clawscope_core::query::EventFilter;
use clawscope_core::redact::mask;

use super::chrome::Chrome;
use super::{fmt, render};
use crate::{ApiError, AppState};

/// Stored lines shown when there is no log file.
const MAX_LINES: usize = 500;
/// Days of stored lines read when there is no log file.
const STORED_DAYS: i64 = 7;

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    #[serde(default)]
    level: String,
    offset: Option<u64>,
}

pub struct LogLine {
    pub time: String,
    pub level: String,
    pub subsystem: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "logs.html")]
pub struct LogsPage {
    pub chrome: Chrome,
    pub file: String,
    pub level: String,
    pub levels: Vec<(&'static str, bool)>,
    pub lines: Vec<LogLine>,
    pub offset: u64,
    pub from_store: bool,
}

#[derive(Template)]
#[template(path = "_log_lines.html")]
pub struct LogTail {
    pub lines: Vec<LogLine>,
    pub offset: u64,
}

const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "fatal"];

fn min_level(s: &str) -> Result<u64, ApiError> {
    match s.to_ascii_lowercase().as_str() {
        "" | "all" | "trace" | "silly" => Ok(0),
        "debug" => Ok(2),
        "info" => Ok(3),
        "warn" => Ok(4),
        "error" => Ok(5),
        "fatal" => Ok(6),
        x => Err(ApiError::BadRequest(format!(
            "level must be one of {}, got {x:?}",
            LEVELS.join(", ")
        ))),
    }
}

/// Tail lines at `min` level or above, formatted.
fn shown(lines: Vec<LogView>, min: u64, tz: chrono_tz::Tz) -> Vec<LogLine> {
    lines
        .into_iter()
        .filter(|v| v.level_id >= min)
        .map(|v| LogLine {
            time: v.ts_ms.map(|t| fmt::datetime(t, tz)).unwrap_or_default(),
            level: v.level.to_ascii_lowercase(),
            subsystem: v.subsystem.unwrap_or_default(),
            message: mask(&v.message).into_owned(),
        })
        .collect()
}

/// The log tail, read off the async threads; `None` without files or a log file.
async fn read_tail(st: &AppState, offset: Option<u64>) -> Result<Option<FileTail>, ApiError> {
    let Some(files) = st.ui.files.clone() else {
        return Ok(None);
    };
    tokio::task::spawn_blocking(move || files.log_tail(offset))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Unavailable(format!("cannot read the log: {e}")))
}

/// `GET /logs?level=warn`.
pub async fn page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    let started = Instant::now();
    let chrome = Chrome::new(&st, &headers, "logs", "Logs");
    let tz = st.ui.tz;
    let min = match min_level(&p.level) {
        Ok(m) => m,
        Err(e) => return render::error(e, started),
    };
    let level = if p.level.is_empty() {
        "all".to_string()
    } else {
        p.level.to_ascii_lowercase()
    };
    let levels = ["all", "debug", "info", "warn", "error"]
        .into_iter()
        .map(|l| (l, l == level))
        .collect();
    if let Ok(Some(t)) = read_tail(&st, None).await {
        let page = LogsPage {
            chrome,
            file: t.file,
            level,
            levels,
            lines: shown(t.lines, min, tz),
            offset: t.offset,
            from_store: false,
        };
        return render::html(&page, started);
    }
    // No readable log file: the stored warnings and errors.
    let r = st
        .read(move |s| {
            // The last week only: a page load must not read every stored line.
            let evs = s.events(&EventFilter {
                kinds: vec![EventKind::Log.as_str().to_string()],
                since_ms: Some(chrono::Utc::now().timestamp_millis() - STORED_DAYS * 86_400_000),
                ..EventFilter::default()
            })?;
            let lines = evs
                .iter()
                .rev()
                .take(MAX_LINES)
                .rev()
                .filter_map(|e| {
                    let a: serde_json::Value = e
                        .event
                        .attrs
                        .as_deref()
                        .and_then(|a| serde_json::from_str(a).ok())
                        .unwrap_or_default();
                    let lvl = a
                        .get("level")
                        .and_then(|v| v.as_str())
                        .unwrap_or("warn")
                        .to_ascii_lowercase();
                    (min_level(&lvl).unwrap_or(4) >= min).then(|| LogLine {
                        time: fmt::datetime(e.event.ts_ms, tz),
                        level: lvl,
                        subsystem: a
                            .get("subsystem")
                            .and_then(|v| v.as_str())
                            .unwrap_or("")
                            .to_string(),
                        message: mask(e.event.text.as_deref().unwrap_or("")).into_owned(),
                    })
                })
                .collect();
            Ok(LogsPage {
                chrome,
                file: String::new(),
                level,
                levels,
                lines,
                offset: 0,
                from_store: true,
            })
        })
        .await;
    render::page(r, started)
}

/// `GET /logs/tail?offset=N&level=`: lines written after byte `N` of the current file.
pub async fn tail(State(st): State<AppState>, Query(p): Query<Params>) -> Response {
    let started = Instant::now();
    let tz = st.ui.tz;
    let min = match min_level(&p.level) {
        Ok(m) => m,
        Err(e) => return render::error(e, started),
    };
    match read_tail(&st, p.offset).await {
        Ok(Some(t)) => render::html(
            &LogTail {
                lines: shown(t.lines, min, tz),
                offset: t.offset,
            },
            started,
        ),
        Ok(None) => render::error(ApiError::NotFound("no gateway log file".into()), started),
        Err(e) => render::error(e, started),
    }
}
