//! How an event's stable id is stored: most ids repeat other columns of their own row
//! (an OpenClaw id is `oc:<session id>:<entry id>`, a Claude Code one
//! `cc:<message id>:<request id>`), so the row keeps the id with those values replaced
//! by one-byte markers and `id_form = 1` (migration 12); reads put the values back
//! ([`stored_id!`]). On a 3-million-event OpenClaw import that is 73–108 bytes less per
//! row, about an eighth of the file. An id that holds a marker byte itself, or repeats none
//! of those values, is kept as it is (`id_form` NULL); the key (`idh`) is always the hash
//! of the whole id.

use clawscope_core::Event;

/// The SQL expression for the stored id of an `events` row, its columns prefixed by
/// `$p` (a table alias with its dot, or nothing). Expands the markers of [`compact`] in
/// the reverse order of their compaction.
macro_rules! stored_id {
    ($p:literal) => {
        concat!(
            "CASE WHEN ",
            $p,
            "id_form IS NULL THEN ",
            $p,
            "id ELSE ",
            "replace(replace(replace(replace(",
            $p,
            "id, ",
            "char(4), coalesce(",
            $p,
            "request_id, '')), ",
            "char(3), coalesce(",
            $p,
            "tool_call_id, '')), ",
            "char(2), coalesce(",
            $p,
            "message_id, '')), ",
            "char(1), coalesce(",
            $p,
            "session_id, '')) END"
        )
    };
}
pub(super) use stored_id;

/// The expression for the stored id in an early migration step that reads `events`.
/// A store that old has no `id_form` column and keeps every id as it is; a store this
/// build wrote and then marked older (as tests do) has the column and compact ids.
pub(super) fn id_in_migration(conn: &rusqlite::Connection) -> &'static str {
    match conn.prepare("SELECT id_form FROM events LIMIT 0") {
        Ok(_) => stored_id!(""),
        Err(_) => "id",
    }
}

/// The row values an id may be compacted against, each with its marker, in compaction
/// order (expansion runs backwards).
fn parts(ev: &Event) -> [(char, Option<&str>); 4] {
    [
        ('\u{1}', ev.session_id.as_deref()),
        ('\u{2}', ev.message_id.as_deref()),
        ('\u{3}', ev.tool.as_ref().and_then(|t| t.call_id.as_deref())),
        ('\u{4}', ev.request_id.as_deref()),
    ]
}

fn is_marker(b: u8) -> bool {
    (1..=4).contains(&b)
}

/// Values shorter than this are not worth a marker (nor a search).
const MIN_PART: usize = 4;

/// The compact form of `ev.id` to store with `id_form = 1`, or `None` to store the id as
/// it is: it holds a marker byte itself or repeats none of the row's values.
///
/// Values are looked for where ids put them: at the start or right after a `:`. Each is
/// replaced at most once, only when it holds no marker, and the scan goes on past it, so
/// every marker stands for one whole value and expansion gives the id back exactly.
pub(super) fn compact(ev: &Event) -> Option<String> {
    let id = ev.id.as_str();
    if id.bytes().any(is_marker) {
        return None;
    }
    let parts = parts(ev);
    let mut used = [false; 4];
    let mut out = String::new();
    let mut copied = 0;
    let mut at = 0;
    loop {
        let rest = &id[at..];
        let hit = parts.iter().enumerate().find(|(k, (_, value))| {
            !used[*k]
                && value.is_some_and(|v| {
                    v.len() >= MIN_PART && rest.starts_with(v) && !v.bytes().any(is_marker)
                })
        });
        if let Some((k, (marker, Some(v)))) = hit {
            out.push_str(&id[copied..at]);
            out.push(*marker);
            at += v.len();
            copied = at;
            used[k] = true;
        }
        match id[at..].find(':') {
            Some(i) => at += i + 1,
            None => break,
        }
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&id[copied..]);
    Some(out)
}

/// `compact` with each marker replaced by its value, as [`stored_id!`] does.
#[cfg(test)]
fn expand(compact: &str, ev: &Event) -> String {
    parts(ev)
        .iter()
        .rev()
        .fold(compact.to_string(), |s, (marker, value)| {
            s.replace(*marker, value.unwrap_or(""))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clawscope_core::ToolInfo;

    fn event(id: &str, session: Option<&str>, message: Option<&str>) -> Event {
        Event {
            id: id.into(),
            session_id: session.map(Into::into),
            message_id: message.map(Into::into),
            ..Event::default()
        }
    }

    #[test]
    fn openclaw_and_claude_ids_shrink_to_their_markers() {
        let sid = "0060c7be-72af-f931-edf0-aeb53e149dd3";
        let mid = "ddadb6cb@2026-11-12T20:16:45.642Z";
        let ev = event(&format!("oc:{sid}:{mid}"), Some(sid), Some(mid));
        assert_eq!(compact(&ev).as_deref(), Some("oc:\u{1}:\u{2}"));
        let mut call = event(&format!("oc:{sid}:{mid}:call_01"), Some(sid), Some(mid));
        call.tool = Some(ToolInfo {
            call_id: Some("call_01".into()),
            ..ToolInfo::default()
        });
        assert_eq!(compact(&call).as_deref(), Some("oc:\u{1}:\u{2}:\u{3}"));
        let mut cc = event("cc:msg_01abc:req_02def", Some("s-1"), Some("msg_01abc"));
        cc.request_id = Some("req_02def".into());
        assert_eq!(compact(&cc).as_deref(), Some("cc:\u{2}:\u{4}"));
    }

    #[test]
    fn ids_holding_a_marker_or_sharing_nothing_are_kept_as_they_are() {
        // Nothing to compact against.
        assert_eq!(compact(&event("cc:line:00ab:17", Some("s-1"), None)), None);
        // The id holds a marker byte itself (hostile input).
        assert_eq!(
            compact(&event("oc:\u{2}session-1:x", Some("session-1"), None)),
            None
        );
        // A value holding a marker is not used, the others still are.
        let ev = event("oc:session-1:m\u{1}1", Some("session-1"), Some("m\u{1}1"));
        assert_eq!(compact(&ev), None, "the id itself holds the marker");
        let ev = event("oc:session-1:abcd", Some("session-1"), Some("ab\u{1}cd"));
        assert_eq!(compact(&ev).as_deref(), Some("oc:\u{1}:abcd"));
        // Values are only looked for at the start or after a ':'.
        assert_eq!(
            compact(&event("oc-session-1", Some("session-1"), None)),
            None
        );
        // Short values are left in place.
        assert_eq!(compact(&event("oc:abc:x", Some("abc"), None)), None);
    }

    #[test]
    fn every_compact_id_expands_back_to_itself() {
        let mut ev = event("x", Some("sess-1234"), Some("msg-5678"));
        ev.request_id = Some("req-9999".into());
        ev.tool = Some(ToolInfo {
            call_id: Some("call-42".into()),
            ..ToolInfo::default()
        });
        for id in [
            "oc:sess-1234:msg-5678",
            "oc:sess-1234:msg-5678:call-42",
            "cc:msg-5678:req-9999",
            "sess-1234sess-1234msg-5678",
            "msg-5678:sess-1234",
            "x:sess-1234:msg-5678:req-9999:call-42:post",
            "msg-5678sess-1234:sess-1234",
        ] {
            ev.id = id.into();
            let c = compact(&ev).expect("compacts");
            assert!(c.len() < id.len(), "{id}");
            assert_eq!(expand(&c, &ev), id);
        }
    }
}
