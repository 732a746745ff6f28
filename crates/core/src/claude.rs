//! Claude Code transcript lines (`projects/**/*.jsonl`) → usage events, with
//! ccusage 20.0.24's acceptance and dedup-key rules.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::jsonutil::{iso_ms, lenient_u64, Nullable};
use crate::model::{Cost, CostSource, ErrorInfo, Event, EventKind, Merge, ModelRef, SourceKind};
use crate::skip::SkipReason;

/// The bytes a line must contain to be considered (ccusage's pre-filter).
pub const USAGE_MARKER: &[u8] = br#""usage":{"#;

/// The agent name Claude Code events carry.
pub const AGENT: &str = "claude-code";

/// Where a Claude Code file sits: its project and session, taken from the path.
#[derive(Debug, Clone, Default)]
pub struct ClaudeFile {
    /// First directory under `projects/`.
    pub project: String,
    /// Session: the file stem, or the session directory for nested (sub-agent) files.
    pub session: String,
    /// A stable hash of the file path, for ids of lines that have no message id.
    pub path_hash: u64,
    /// The file is under `<session>/subagents/`.
    pub is_subagent: bool,
}

impl ClaudeFile {
    /// Derive project and session from a path relative to `projects/`
    /// (`<project>/<session>.jsonl` or `<project>/<session>/**/<x>.jsonl`).
    pub fn from_relative(rel: &str) -> Option<ClaudeFile> {
        let parts: Vec<&str> = rel.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
        if parts.len() < 2 {
            return None;
        }
        let project = parts[0].to_string();
        let session = if parts.len() == 2 {
            parts[1]
                .strip_suffix(".jsonl")
                .unwrap_or(parts[1])
                .to_string()
        } else {
            parts[1].to_string()
        };
        Some(ClaudeFile {
            project,
            session,
            path_hash: xxhash_rust::xxh3::xxh3_64(rel.as_bytes()),
            is_subagent: parts.len() > 2,
        })
    }
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow, default)]
    timestamp: Nullable<Cow<'a, str>>,
    #[serde(rename = "sessionId", borrow, default)]
    session_id: Nullable<Cow<'a, str>>,
    #[serde(rename = "requestId", borrow, default)]
    request_id: Nullable<Cow<'a, str>>,
    #[serde(borrow, default)]
    version: Nullable<Cow<'a, str>>,
    #[serde(rename = "costUSD", default)]
    cost_usd: Nullable<f64>,
    #[serde(rename = "isSidechain", default)]
    is_sidechain: Option<bool>,
    #[serde(rename = "isApiErrorMessage", default)]
    is_api_error: Nullable<bool>,
    #[serde(borrow, default)]
    cwd: Nullable<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<Msg<'a>>,
}

#[derive(Deserialize)]
struct Msg<'a> {
    #[serde(borrow, default)]
    id: Nullable<Cow<'a, str>>,
    #[serde(borrow, default)]
    model: Nullable<Cow<'a, str>>,
    #[serde(borrow, default)]
    usage: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Usage<'a> {
    #[serde(default, deserialize_with = "lenient_u64")]
    input_tokens: u64,
    #[serde(default, deserialize_with = "lenient_u64")]
    output_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: Nullable<serde_json::Number>,
    #[serde(default)]
    cache_read_input_tokens: Nullable<serde_json::Number>,
    #[serde(default)]
    cache_creation: Option<CacheSplit>,
    #[serde(borrow, default)]
    speed: Nullable<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct CacheSplit {
    #[serde(default, deserialize_with = "lenient_u64")]
    ephemeral_1h_input_tokens: u64,
}

fn num(n: &Nullable<serde_json::Number>) -> u64 {
    n.value()
        .and_then(|n| n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)))
        .unwrap_or(0)
}

fn semver_prefix(v: &str) -> bool {
    let mut parts = v.splitn(3, '.');
    let major = parts.next().unwrap_or("");
    let minor = parts.next().unwrap_or("");
    let patch = parts.next().unwrap_or("");
    !major.is_empty()
        && major.bytes().all(|b| b.is_ascii_digit())
        && !minor.is_empty()
        && minor.bytes().all(|b| b.is_ascii_digit())
        && patch.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

fn empty(c: &Nullable<Cow<'_, str>>) -> bool {
    c.value().is_some_and(|s| s.is_empty())
}

/// Parse one line. `Ok(None)` for lines that carry no usage (not an error);
/// `Err` for lines ccusage would drop, with the reason.
pub fn parse_line(
    file: &ClaudeFile,
    offset: u64,
    line: &[u8],
) -> Result<Option<Event>, SkipReason> {
    if memchr::memmem::find(line, USAGE_MARKER).is_none() {
        return Ok(None);
    }
    let l: Line = match serde_json::from_slice(line) {
        Ok(l) => l,
        Err(_) if std::str::from_utf8(line).is_err() => return Err(SkipReason::InvalidUtf8),
        Err(_) => return Err(SkipReason::InvalidJson),
    };
    let Some(msg) = l.message else {
        return Ok(None);
    };
    let Some(usage_raw) = msg.usage.filter(|u| u.get().starts_with('{')) else {
        return Ok(None);
    };
    let ts_text = match &l.timestamp {
        Nullable::Value(t) => t,
        _ => return Err(SkipReason::BadTimestamp),
    };
    let ts = iso_ms(ts_text).ok_or(SkipReason::BadTimestamp)?;
    if let Some(v) = l.version.value() {
        if !semver_prefix(v) {
            return Err(SkipReason::BadVersion);
        }
    }
    if empty(&l.session_id) || empty(&l.request_id) || empty(&msg.id) || empty(&msg.model) {
        return Err(SkipReason::EmptyField);
    }
    let usage: Usage =
        serde_json::from_str(usage_raw.get()).map_err(|_| SkipReason::InvalidJson)?;
    if msg.id.is_null()
        || l.cwd.is_null()
        || msg.model.is_null()
        || usage.speed.is_null()
        || l.cost_usd.is_null()
        || l.version.is_null()
        || l.session_id.is_null()
        || l.request_id.is_null()
        || l.is_api_error.is_null()
        || usage.cache_read_input_tokens.is_null()
        || usage.cache_creation_input_tokens.is_null()
    {
        return Err(SkipReason::NullField);
    }

    let message_id = msg.id.value().map(|s| s.to_string());
    let request_id = l.request_id.value().map(|s| s.to_string());
    let (id, merge) = match (&message_id, &request_id) {
        (Some(m), Some(r)) => (format!("cc:{m}:{r}"), Merge::KeepLargestUsage),
        (Some(m), None) => (
            format!(
                "cc:{m}:{}:{ts_text}",
                l.session_id.value().map(|s| s.as_ref()).unwrap_or("")
            ),
            Merge::KeepLargestUsage,
        ),
        _ => (
            format!("cc:line:{:016x}:{offset}", file.path_hash),
            Merge::KeepFirst,
        ),
    };
    let model = msg.model.value().map(|m| m.to_string());
    let synthetic = model.as_deref() == Some("<synthetic>");
    let cache_write = num(&usage.cache_creation_input_tokens);
    let cache_write_1h = usage
        .cache_creation
        .as_ref()
        .map(|c| c.ephemeral_1h_input_tokens.min(cache_write))
        .unwrap_or(0);
    let mut ev = Event {
        id,
        ts_ms: ts,
        kind: Some(EventKind::AssistantMessage),
        source: Some(SourceKind::Claude),
        agent: Some(AGENT.to_string()),
        project: Some(file.project.clone()),
        session_key: file.session.clone(),
        session_id: Some(file.session.clone()),
        message_id,
        request_id,
        model: ModelRef {
            provider: Some("anthropic".into()),
            model: if synthetic { None } else { model },
            api: None,
        },
        merge,
        ..Event::default()
    };
    ev.tokens.input = usage.input_tokens;
    ev.tokens.output = usage.output_tokens;
    ev.tokens.cache_read = num(&usage.cache_read_input_tokens);
    ev.tokens.cache_write = cache_write;
    ev.tokens.cache_write_1h = cache_write_1h;
    if let Some(c) = l.cost_usd.value() {
        ev.cost = Cost {
            total: Some(*c),
            source: CostSource::Reported,
            ..Cost::default()
        };
    }
    if l.is_api_error.value() == Some(&true) || synthetic {
        ev.error = Some(ErrorInfo {
            kind: "api_error".into(),
            message: None,
            retriable: None,
        });
    }
    let mut attrs = serde_json::Map::new();
    if l.is_sidechain == Some(true) || file.is_subagent {
        attrs.insert("sidechain".into(), true.into());
    }
    if let Some(s) = usage.speed.value() {
        attrs.insert("speed".into(), s.to_string().into());
    }
    if !attrs.is_empty() {
        ev.attrs = Some(serde_json::Value::Object(attrs).to_string());
    }
    Ok(Some(ev))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> ClaudeFile {
        ClaudeFile::from_relative("-home-dev-x/abc.jsonl").unwrap()
    }

    #[test]
    fn paths() {
        let f = ClaudeFile::from_relative("proj/sess/subagents/agent-1.jsonl").unwrap();
        assert_eq!(f.project, "proj");
        assert_eq!(f.session, "sess");
        assert!(f.is_subagent);
        let f = file();
        assert_eq!(f.session, "abc");
        assert!(!f.is_subagent);
        assert!(ClaudeFile::from_relative("loose.jsonl").is_none());
    }

    #[test]
    fn usage_line() {
        let line = br#"{"timestamp":"2026-09-01T08:00:00.000Z","sessionId":"abc","requestId":"req_1","version":"2.0.14","message":{"id":"msg_1","model":"claude-sonnet-4-5-20250929","usage":{"input_tokens":10,"output_tokens":5,"cache_creation_input_tokens":100,"cache_read_input_tokens":7,"cache_creation":{"ephemeral_5m_input_tokens":60,"ephemeral_1h_input_tokens":40}}}}"#;
        let ev = parse_line(&file(), 0, line).unwrap().unwrap();
        assert_eq!(ev.id, "cc:msg_1:req_1");
        assert_eq!(ev.merge, Merge::KeepLargestUsage);
        assert_eq!(ev.tokens.total(), 122);
        assert_eq!(ev.tokens.cache_write_1h, 40);
        assert_eq!(ev.tokens.cache_write_5m(), 60);
        assert_eq!(ev.project.as_deref(), Some("-home-dev-x"));
        assert_eq!(ev.cost.source, CostSource::None);
    }

    #[test]
    fn ccusage_rejections() {
        let f = file();
        let base = |extra: &str| {
            format!(
                r#"{{"timestamp":"2026-09-01T08:00:00Z",{extra}"message":{{"id":"m","model":"x","usage":{{"input_tokens":1}}}}}}"#
            )
        };
        assert_eq!(
            parse_line(&f, 0, base(r#""version":"dev","#).as_bytes()),
            Err(SkipReason::BadVersion)
        );
        assert_eq!(
            parse_line(&f, 0, base(r#""costUSD":null,"#).as_bytes()),
            Err(SkipReason::NullField)
        );
        assert_eq!(
            parse_line(&f, 0, base(r#""requestId":"","#).as_bytes()),
            Err(SkipReason::EmptyField)
        );
        assert!(parse_line(&f, 0, base(r#""costUSD":0.5,"#).as_bytes())
            .unwrap()
            .is_some());
        // a pretty-printed usage object is not considered at all (ccusage's byte pre-filter)
        assert_eq!(
            parse_line(&f, 0, br#"{"message":{"usage": {"input_tokens":1}}}"#),
            Ok(None)
        );
        assert_eq!(
            parse_line(&f, 0, br#"{"message":{"usage":{"#),
            Err(SkipReason::InvalidJson)
        );
    }

    #[test]
    fn no_message_id_is_keyed_by_position() {
        let line = br#"{"timestamp":"2026-09-01T08:00:00Z","message":{"model":"x","usage":{"input_tokens":1}}}"#;
        let a = parse_line(&file(), 10, line).unwrap().unwrap();
        let b = parse_line(&file(), 99, line).unwrap().unwrap();
        assert_ne!(a.id, b.id);
        assert_eq!(a.merge, Merge::KeepFirst);
    }
}
