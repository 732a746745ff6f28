//! View models shared by several pages: a labelled number and a session row.

use clawscope_core::query::SessionSummary;
use clawscope_core::redact::mask;

use super::fmt;
use super::svg;

/// A number shown to people with its raw value for machines (`data-value`).
pub struct Metric {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub text: String,
    /// Extra line under the number (provenance, budget).
    pub note: String,
}

impl Metric {
    /// A dollar amount.
    pub fn usd(name: &'static str, label: &'static str, v: f64, note: String) -> Metric {
        Metric {
            name,
            label,
            value: v.to_string(),
            text: fmt::money(v),
            note,
        }
    }

    /// A count.
    pub fn count(name: &'static str, label: &'static str, n: u64, note: String) -> Metric {
        Metric {
            name,
            label,
            value: n.to_string(),
            text: fmt::int(n),
            note,
        }
    }
}

/// Percent-encode one path segment (everything but unreserved characters).
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The dashboard URL of a session.
pub fn session_href(key: &str) -> String {
    format!("/sessions/{}", seg(key))
}

/// One session in a table.
pub struct SessionRow {
    pub key: String,
    pub href: String,
    pub title: String,
    pub agent: String,
    pub channel: String,
    pub status: String,
    pub models: String,
    pub is_sub: bool,
    pub cost: String,
    pub cost_text: String,
    pub cost_source: &'static str,
    pub tokens: u64,
    pub tokens_text: String,
    pub tokens_meter: String,
    pub events: String,
    pub errors: u64,
    pub last_text: String,
    pub last_when: String,
}

impl SessionRow {
    /// A row; `max_tokens` scales the meter, `status` overrides the stored one (live).
    pub fn new(
        s: &SessionSummary,
        max_tokens: u64,
        live_status: Option<&str>,
        now_ms: i64,
        tz: chrono_tz::Tz,
    ) -> SessionRow {
        let tokens = s.totals.total_tokens;
        SessionRow {
            key: s.session_key.clone(),
            href: session_href(&s.session_key),
            title: mask(s.label.as_deref().unwrap_or(&s.session_key)).into_owned(),
            agent: s.agent.clone().unwrap_or_default(),
            channel: s.channel.clone().unwrap_or_default(),
            status: live_status
                .map(str::to_string)
                .or_else(|| s.status.clone())
                .unwrap_or_default(),
            models: s.models.join(", "),
            is_sub: s.parent_session_key.is_some(),
            cost: s.totals.cost_usd.to_string(),
            cost_text: fmt::money(s.totals.cost_usd),
            cost_source: s.totals.cost_source(),
            tokens,
            tokens_text: fmt::tokens(tokens),
            tokens_meter: svg::meter(
                tokens as f64,
                max_tokens as f64,
                &format!("{} tokens", fmt::int(tokens)),
            ),
            events: fmt::int(s.events),
            errors: s.tool_errors + s.assistant_errors,
            last_text: fmt::ago(s.last_ms, now_ms),
            last_when: fmt::datetime(s.last_ms, tz),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded() {
        assert_eq!(seg("agent:main:main"), "agent%3Amain%3Amain");
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
        assert_eq!(session_href("x"), "/sessions/x");
    }
}
