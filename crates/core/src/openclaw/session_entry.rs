//! OpenClaw `SessionEntry` (a `sessions.json` value, or `session_nodes.entry_json`) → [`SessionMeta`].

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::jsonutil::lenient_opt_u64;
use crate::model::{SessionMeta, SourceKind};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct EntryFields {
    session_id: Option<String>,
    spawned_by: Option<String>,
    parent_session_key: Option<String>,
    label: Option<String>,
    display_name: Option<String>,
    created_via: Option<String>,
    created_at: Option<i64>,
    updated_at: Option<i64>,
    status: Option<String>,
    chat_type: Option<String>,
    channel: Option<String>,
    last_channel: Option<String>,
    model: Option<String>,
    model_provider: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_u64")]
    context_tokens: Option<u64>,
}

/// The agent id inside a session key `agent:<id>:...`.
pub fn agent_from_key(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("agent:")?;
    let agent = rest.split(':').next()?;
    (!agent.is_empty()).then_some(agent)
}

/// Parse one SessionEntry JSON object for `session_key`.
pub fn parse_entry(session_key: &str, json: &str) -> Result<SessionMeta, serde_json::Error> {
    let f: EntryFields = serde_json::from_str(json)?;
    Ok(meta_from_fields(session_key, f))
}

/// Parse a whole legacy `sessions.json` (`{sessionKey: SessionEntry}`).
pub fn parse_sessions_json(json: &[u8]) -> Result<Vec<SessionMeta>, serde_json::Error> {
    let map: BTreeMap<String, EntryFields> = serde_json::from_slice(json)?;
    Ok(map
        .into_iter()
        .map(|(k, f)| meta_from_fields(&k, f))
        .collect())
}

fn meta_from_fields(session_key: &str, f: EntryFields) -> SessionMeta {
    SessionMeta {
        session_key: session_key.to_string(),
        session_id: f.session_id,
        source: Some(SourceKind::OpenClaw),
        agent: agent_from_key(session_key).map(str::to_string),
        project: None,
        parent_session_key: f.parent_session_key.or_else(|| f.spawned_by.clone()),
        spawned_by: f.spawned_by,
        label: f.label.or(f.display_name),
        channel: f.channel.or(f.last_channel),
        chat_type: f.chat_type,
        status: f.status,
        created_via: f.created_via,
        model: f.model,
        provider: f.model_provider,
        context_max: f.context_tokens,
        created_ms: f.created_at,
        updated_ms: f.updated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subagent_entry_links_parent() {
        let json = r#"{"agent:main:subagent:69":{"sessionId":"ee2f","spawnedBy":"agent:main:main","parentSessionKey":"agent:main:main","label":"mock-child","createdVia":"spawn","status":"done","model":"mock-model","modelProvider":"mock","contextTokens":128000,"skillsSnapshot":{"big":[1,2,3]}}}"#;
        let metas = parse_sessions_json(json.as_bytes()).unwrap();
        assert_eq!(metas.len(), 1);
        let m = &metas[0];
        assert_eq!(m.agent.as_deref(), Some("main"));
        assert_eq!(m.parent_session_key.as_deref(), Some("agent:main:main"));
        assert_eq!(m.session_id.as_deref(), Some("ee2f"));
        assert_eq!(m.context_max, Some(128_000));
        assert_eq!(m.label.as_deref(), Some("mock-child"));
    }

    #[test]
    fn agent_ids() {
        assert_eq!(agent_from_key("agent:ops:main"), Some("ops"));
        assert_eq!(agent_from_key("hook:123"), None);
    }
}
