//! Gateway log lines (`openclaw-YYYY-MM-DD.log`, tslog JSON, one object per line)
//! → `log` events. Warnings and errors are kept; INFO and below are not stored.

use serde::Deserialize;
use serde_json::json;

use crate::jsonutil::truncate;
use crate::model::{ErrorInfo, Event, EventKind, Merge, SourceKind};
use crate::SkipReason;

/// tslog's level id for WARN; lines at this level and above become events.
pub const MIN_LEVEL: u64 = 4;

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(default)]
    time: Option<&'a str>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "0")]
    first: Option<String>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(rename = "_meta")]
    meta: Meta,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default, rename = "logLevelId")]
    level_id: u64,
    #[serde(default, rename = "logLevelName")]
    level: Option<String>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    hostname: Option<String>,
}

/// Parse one log line; `Ok(None)` for lines below WARN.
pub fn parse_log_line(line: &[u8]) -> Result<Option<Event>, SkipReason> {
    let l: Line<'_> = serde_json::from_slice(line).map_err(|_| SkipReason::InvalidJson)?;
    if l.meta.level_id < MIN_LEVEL {
        return Ok(None);
    }
    let when = l.time.map(str::to_string).or(l.meta.date.clone());
    let ts = when
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|d| d.timestamp_millis())
        .ok_or(SkipReason::BadTimestamp)?;
    let subsystem = l
        .first
        .as_deref()
        .filter(|f| f.starts_with('{'))
        .and_then(|f| serde_json::from_str::<serde_json::Value>(f).ok())
        .and_then(|v| v.get("subsystem")?.as_str().map(str::to_string));
    let level = l.meta.level.unwrap_or_else(|| "WARN".into());
    let host = l.hostname.or(l.meta.hostname);
    let message = truncate(l.message.as_deref().unwrap_or(""), 4000);
    let hash = xxhash_rust::xxh3::xxh3_64(line);
    Ok(Some(Event {
        id: format!("oclog:{ts}:{hash:016x}"),
        ts_ms: ts,
        kind: Some(EventKind::Log),
        source: Some(SourceKind::OpenClaw),
        gateway: host,
        error: (l.meta.level_id >= 5).then(|| ErrorInfo {
            kind: "gateway_error".into(),
            message: Some(truncate(&message, 2000)),
            retriable: None,
        }),
        text: Some(message),
        attrs: Some(json!({"level": level, "subsystem": subsystem}).to_string()),
        merge: Merge::KeepFirst,
        ..Event::default()
    }))
}

/// One log line of any level, for a live tail.
#[derive(Debug, Clone, PartialEq)]
pub struct LogView {
    /// When (epoch ms), when the line says.
    pub ts_ms: Option<i64>,
    /// tslog level id (0 silly … 6 fatal).
    pub level_id: u64,
    /// Level name (`INFO`, `WARN`...).
    pub level: String,
    /// Subsystem, when the first argument names one.
    pub subsystem: Option<String>,
    /// The message.
    pub message: String,
}

/// Parse any line for display; `None` when it is not a tslog JSON object.
pub fn view_line(line: &[u8]) -> Option<LogView> {
    let l: Line<'_> = serde_json::from_slice(line).ok()?;
    let when = l.time.map(str::to_string).or(l.meta.date.clone());
    let subsystem = l
        .first
        .as_deref()
        .filter(|f| f.starts_with('{'))
        .and_then(|f| serde_json::from_str::<serde_json::Value>(f).ok())
        .and_then(|v| v.get("subsystem")?.as_str().map(str::to_string));
    Some(LogView {
        ts_ms: when
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|d| d.timestamp_millis()),
        level_id: l.meta.level_id,
        level: l.meta.level.unwrap_or_else(|| "INFO".into()),
        subsystem,
        message: truncate(
            l.message.as_deref().or(l.first.as_deref()).unwrap_or(""),
            4000,
        ),
    })
}

/// [`view_line`], or the line as text at level `raw` (id 0) when it is not tslog JSON.
pub fn view_or_raw(line: &[u8]) -> LogView {
    view_line(line).unwrap_or_else(|| LogView {
        ts_ms: None,
        level_id: 0,
        level: "raw".into(),
        subsystem: None,
        message: truncate(&String::from_utf8_lossy(line), 4000),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_warnings_and_errors_only() {
        let info = br#"{"0":"x","_meta":{"logLevelId":3,"logLevelName":"INFO","date":"2026-11-21T16:49:05.610Z"},"time":"2026-11-21T16:49:05.610+00:00","message":"x"}"#;
        assert_eq!(parse_log_line(info), Ok(None));
        let err = br#"{"0":"{\"subsystem\":\"plugins\"}","1":"boom","_meta":{"logLevelId":5,"logLevelName":"ERROR","date":"2026-11-21T16:49:19.895Z"},"time":"2026-11-21T16:49:19.895+00:00","hostname":"vm","message":"boom"}"#;
        let ev = parse_log_line(err).unwrap().unwrap();
        assert_eq!(ev.kind, Some(EventKind::Log));
        assert_eq!(ev.gateway.as_deref(), Some("vm"));
        assert!(ev.attrs.unwrap().contains("\"subsystem\":\"plugins\""));
        assert_eq!(ev.error.unwrap().message.as_deref(), Some("boom"));
        assert_eq!(parse_log_line(b"{oops"), Err(SkipReason::InvalidJson));
        let v = view_line(info).unwrap();
        assert_eq!(
            (v.level.as_str(), v.level_id, v.message.as_str()),
            ("INFO", 3, "x")
        );
        assert_eq!(
            view_line(err).unwrap().subsystem.as_deref(),
            Some("plugins")
        );
        assert_eq!(view_line(b"plain text"), None);
        let raw = view_or_raw(b"plain text");
        assert_eq!(
            (raw.level.as_str(), raw.level_id, raw.message.as_str()),
            ("raw", 0, "plain text")
        );
    }
}
