//! `/logs`: a live tail of the gateway's log file with a level filter. The page polls
//! `/logs/tail?offset=` for lines written since; without a readable log file it shows
//! the warnings and errors stored from earlier reads.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Instant;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use clawscope_core::model::EventKind;
use clawscope_core::openclaw::log::view_line;
use clawscope_core::query::EventFilter;
use clawscope_core::redact::mask;

use super::chrome::Chrome;
use super::{fmt, render};
use crate::{ApiError, AppState};

/// Bytes read from the end of the file for the first view.
const TAIL_BYTES: u64 = 256 * 1024;
/// Bytes read per poll at most.
const POLL_BYTES: u64 = 1024 * 1024;
/// Lines shown.
const MAX_LINES: usize = 500;

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

/// The newest log file: a configured file, or the latest daily file in a directory.
pub fn current_log(paths: &[PathBuf]) -> Option<PathBuf> {
    let mut best: Option<(std::time::SystemTime, PathBuf)> = None;
    for p in paths {
        let candidates: Vec<PathBuf> = if p.is_dir() {
            std::fs::read_dir(p)
                .map(|d| {
                    d.flatten()
                        .map(|e| e.path())
                        .filter(|f| {
                            f.file_name()
                                .and_then(|n| n.to_str())
                                .is_some_and(|n| n.starts_with("openclaw") && n.ends_with(".log"))
                        })
                        .collect()
                })
                .unwrap_or_default()
        } else if p.is_file() {
            vec![p.clone()]
        } else {
            Vec::new()
        };
        for c in candidates {
            let m = c
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            if best.as_ref().is_none_or(|(t, _)| m > *t) {
                best = Some((m, c));
            }
        }
    }
    best.map(|(_, p)| p)
}

/// Lines from `from` (or the last [`TAIL_BYTES`]) to the end; a partial last line waits.
fn read_lines(
    path: &Path,
    from: Option<u64>,
    min: u64,
    tz: chrono_tz::Tz,
) -> std::io::Result<(Vec<LogLine>, u64)> {
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    // A shorter file was rotated or truncated: start over from its tail.
    let start = match from {
        Some(o) if o <= len => o,
        _ => len.saturating_sub(TAIL_BYTES),
    };
    f.seek(SeekFrom::Start(start))?;
    let mut buf = Vec::new();
    f.take(POLL_BYTES).read_to_end(&mut buf)?;
    let complete = buf
        .iter()
        .rposition(|b| *b == b'\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let mut body = &buf[..complete];
    if from.is_none() && start > 0 {
        // Skip the first, probably cut, line.
        let skip = body
            .iter()
            .position(|b| *b == b'\n')
            .map(|i| i + 1)
            .unwrap_or(body.len());
        body = &body[skip..];
    }
    let mut lines: Vec<LogLine> = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| match view_line(l) {
            Some(v) if v.level_id >= min => Some(LogLine {
                time: v.ts_ms.map(|t| fmt::datetime(t, tz)).unwrap_or_default(),
                level: v.level.to_ascii_lowercase(),
                subsystem: v.subsystem.unwrap_or_default(),
                message: mask(&v.message).into_owned(),
            }),
            Some(_) => None,
            None if min == 0 => Some(LogLine {
                time: String::new(),
                level: "raw".into(),
                subsystem: String::new(),
                message: mask(&String::from_utf8_lossy(l)).into_owned(),
            }),
            None => None,
        })
        .collect();
    if lines.len() > MAX_LINES {
        lines.drain(..lines.len() - MAX_LINES);
    }
    Ok((lines, start + complete as u64))
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
    if let Some(file) = current_log(&st.ui.logs) {
        let r = tokio::task::spawn_blocking(move || {
            read_lines(&file, None, min, tz).map(|x| (x, file))
        })
        .await;
        if let Ok(Ok(((lines, offset), file))) = r {
            let page = LogsPage {
                chrome,
                file: file.display().to_string(),
                level,
                levels,
                lines,
                offset,
                from_store: false,
            };
            return render::html(&page, started);
        }
    }
    // No readable log file: the stored warnings and errors.
    let r = st
        .read(move |s| {
            let evs = s.events(&EventFilter {
                kinds: vec![EventKind::Log.as_str().to_string()],
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
    let Some(file) = current_log(&st.ui.logs) else {
        return render::error(ApiError::NotFound("no gateway log file".into()), started);
    };
    let from = p.offset;
    match tokio::task::spawn_blocking(move || read_lines(&file, from, min, tz)).await {
        Ok(Ok((lines, offset))) => render::html(&LogTail { lines, offset }, started),
        Ok(Err(e)) => render::error(
            ApiError::Unavailable(format!("cannot read the log: {e}")),
            started,
        ),
        Err(e) => render::error(ApiError::Internal(e.to_string()), started),
    }
}
