//! How each channel words a notification. Pure functions: no IO, easy to preview.
//!
//! Limits are counted in UTF-16 code units (what JavaScript and Telegram count; never
//! fewer than Unicode scalar values, so a text within the limit fits either way) and
//! texts are cut on character boundaries with a trailing `…`.

use chrono::{DateTime, SecondsFormat, Utc};
use clawscope_core::alert::{Notification, Severity, Transition};
use serde_json::{json, Map, Value};

/// Version of the webhook body shape; bumped on incompatible changes.
pub const WEBHOOK_VERSION: u32 = 1;
/// Discord: `content` limit.
pub const DISCORD_CONTENT_MAX: usize = 2000;
/// Discord: embed `description` limit.
pub const DISCORD_DESCRIPTION_MAX: usize = 4096;
/// Discord: embed `title` limit.
pub const DISCORD_TITLE_MAX: usize = 256;
/// Discord: embed field value limit used here (the API allows 1024).
pub const DISCORD_FIELD_MAX: usize = 256;
/// Slack: `header` block text limit.
pub const SLACK_HEADER_MAX: usize = 150;
/// Slack: `section` block text limit.
pub const SLACK_SECTION_MAX: usize = 3000;
/// PagerDuty: `payload.summary` limit.
pub const PAGERDUTY_SUMMARY_MAX: usize = 1024;
/// Telegram: `sendMessage` text limit.
pub const TELEGRAM_TEXT_MAX: usize = 4096;

/// `s` cut to at most `max` UTF-16 code units on a character boundary, ending in `…`
/// when it was cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.encode_utf16().count() <= max {
        return s.to_string();
    }
    let budget = max.saturating_sub(1); // room for the ellipsis (one unit)
    let mut used = 0;
    let mut out = String::new();
    for ch in s.chars() {
        used += ch.len_utf16();
        if used > budget {
            break;
        }
        out.push(ch);
    }
    if max > 0 {
        out.push('…');
    }
    out
}

/// Epoch milliseconds as RFC 3339 UTC (`2026-05-01T12:00:00.000Z`).
pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `firing`, `resolved` or `test`.
pub fn status_word(t: Transition) -> &'static str {
    match t {
        Transition::Fire => "firing",
        Transition::Resolve => "resolved",
        Transition::Test => "test",
    }
}

/// The dashboard link, if it is an http(s) URL (anything else is left out).
fn link(n: &Notification) -> Option<&str> {
    n.url
        .as_deref()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
}

/// The time a notification is about: when it resolved, else when it fired.
fn event_ms(n: &Notification) -> i64 {
    match (n.transition, n.resolved_ms) {
        (Transition::Resolve, Some(ms)) => ms,
        _ => n.fired_ms,
    }
}

/// The plain-text message (Telegram, e-mail, OpenClaw chat channels):
///
/// ```text
/// <title>
/// <text>
///
/// Status: firing · severity critical
/// Rule: context_critical · Scope: session:agent:main:main
/// Value: 97 · Threshold: 90
/// Fired at: 2026-05-01T12:00:00.000Z
/// Resolved at: …          (when resolved)
/// https://dashboard/…     (when known)
/// ```
pub fn plain_text(n: &Notification) -> String {
    let mut out = n.title.clone();
    if !n.text.is_empty() && n.text != n.title {
        out.push('\n');
        out.push_str(&n.text);
    }
    out.push_str("\n\n");
    out.push_str(&details(n).join("\n"));
    if let Some(ms) = n.resolved_ms {
        out.push_str(&format!("\nResolved at: {}", rfc3339(ms)));
    }
    if let Some(url) = link(n) {
        out.push('\n');
        out.push_str(url);
    }
    out
}

/// The detail lines shared by the plain-text formats.
fn details(n: &Notification) -> Vec<String> {
    vec![
        format!(
            "Status: {} · severity {}",
            status_word(n.transition),
            n.severity.as_str()
        ),
        format!("Rule: {} · Scope: {}", n.rule_id, n.scope),
        format!("Value: {} · Threshold: {}", n.value, n.threshold),
        format!("Fired at: {}", rfc3339(n.fired_ms)),
    ]
}

/// The e-mail subject: the title on one line.
pub fn email_subject(n: &Notification) -> String {
    let one_line: String = n
        .title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    truncate(one_line.trim(), 250)
}

/// The generic webhook body (version 1), stable and documented:
///
/// ```json
/// {
///   "version": 1,
///   "transition": "fire",            // fire | resolve | test
///   "alert_id": 42,                  // 0 for a test
///   "rule": "budget_day",
///   "scope": "agent:main",
///   "severity": "critical",          // info | warning | critical
///   "title": "[critical] budget_day on agent:main",
///   "text": "spent $12.40 of $10.00 today",
///   "value": 12.4,
///   "threshold": 10.0,
///   "fired_at": "2026-05-01T12:00:00.000Z",
///   "resolved_at": null,             // RFC 3339 once resolved
///   "dedup_key": "clawscope:budget_day:agent:main:1777636800000",
///   "url": null                      // dashboard link when known
/// }
/// ```
///
/// Headers: `X-Clawscope-Delivery: <dedup_key>` (bytes outside printable ASCII, and `%`,
/// percent-encoded), and with a `secret`
/// `X-Clawscope-Timestamp: <unix seconds>` and
/// `X-Clawscope-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn webhook_body(n: &Notification) -> Value {
    json!({
        "version": WEBHOOK_VERSION,
        "transition": n.transition.as_str(),
        "alert_id": n.alert_id,
        "rule": n.rule_id,
        "scope": n.scope,
        "severity": n.severity.as_str(),
        "title": n.title,
        "text": n.text,
        "value": n.value,
        "threshold": n.threshold,
        "fired_at": rfc3339(n.fired_ms),
        "resolved_at": n.resolved_ms.map(rfc3339),
        "dedup_key": n.dedup_key,
        "url": n.url,
    })
}

/// Escape what Slack reads as markup in `text` (`&`, `<`, `>`: links and mentions).
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Slack text objects must not be empty.
fn non_empty(s: String) -> String {
    if s.trim().is_empty() {
        "-".to_string()
    } else {
        s
    }
}

/// A Slack incoming-webhook body: an escaped `text` fallback plus `plain_text` blocks
/// (header, message, details, and a link button when the dashboard URL is known).
pub fn slack_body(n: &Notification) -> Value {
    let title = non_empty(n.title.clone());
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(&title, SLACK_HEADER_MAX)},
    })];
    if !n.text.trim().is_empty() {
        blocks.push(json!({
            "type": "section",
            "text": {"type": "plain_text", "text": truncate(&n.text, SLACK_SECTION_MAX)},
        }));
    }
    let context: Vec<Value> = details(n)
        .iter()
        .map(|line| json!({"type": "plain_text", "text": truncate(line, 2000)}))
        .collect();
    blocks.push(json!({"type": "context", "elements": context}));
    if let Some(url) = link(n).filter(|u| u.len() <= 3000) {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": {"type": "plain_text", "text": "Open in clawscope"},
                "url": url,
            }],
        }));
    }
    let fallback = if n.text.is_empty() {
        title.clone()
    } else {
        format!("{title}\n{}", n.text)
    };
    json!({
        "text": truncate(&slack_escape(&fallback), SLACK_SECTION_MAX),
        "blocks": blocks,
    })
}

/// Embed colour: green once resolved, else by severity (red, amber, blue).
pub fn discord_color(n: &Notification) -> u32 {
    match (n.transition, n.severity) {
        (Transition::Resolve, _) => 0x12B76A,
        (_, Severity::Critical) => 0xD92D20,
        (_, Severity::Warning) => 0xF79009,
        (_, Severity::Info) => 0x2E90FA,
    }
}

/// A Discord webhook body: `content` = the title, one embed with the message, colour,
/// timestamp and fields. Mentions are disabled (`allowed_mentions.parse = []`), so an
/// `@everyone` in a message stays text.
pub fn discord_body(n: &Notification) -> Value {
    let title = non_empty(n.title.clone());
    let field = |name: &str, value: String| json!({"name": name, "value": truncate(&non_empty(value), DISCORD_FIELD_MAX), "inline": true});
    let mut embed = Map::new();
    embed.insert("title".into(), truncate(&title, DISCORD_TITLE_MAX).into());
    if !n.text.is_empty() {
        embed.insert(
            "description".into(),
            truncate(&n.text, DISCORD_DESCRIPTION_MAX).into(),
        );
    }
    embed.insert("color".into(), discord_color(n).into());
    embed.insert("timestamp".into(), rfc3339(event_ms(n)).into());
    embed.insert(
        "fields".into(),
        json!([
            field("Status", status_word(n.transition).to_string()),
            field("Severity", n.severity.as_str().to_string()),
            field("Rule", n.rule_id.clone()),
            field("Scope", n.scope.clone()),
            field("Value", n.value.to_string()),
            field("Threshold", n.threshold.to_string()),
        ]),
    );
    if let Some(url) = link(n).filter(|u| u.len() <= 2048) {
        embed.insert("url".into(), url.into());
    }
    json!({
        "content": truncate(&title, DISCORD_CONTENT_MAX),
        "embeds": [Value::Object(embed)],
        "allowed_mentions": {"parse": []},
    })
}

/// A PagerDuty Events API v2 body. Fire and test trigger; resolve resolves the
/// incident with the same `dedup_key` (and carries nothing else).
pub fn pagerduty_body(routing_key: &str, n: &Notification) -> Value {
    if n.transition == Transition::Resolve {
        return json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": n.dedup_key,
        });
    }
    let summary = if n.title.trim().is_empty() {
        non_empty(n.text.clone())
    } else {
        n.title.clone()
    };
    let mut details = json!({
        "transition": n.transition.as_str(),
        "rule": n.rule_id,
        "scope": n.scope,
        "text": n.text,
        "value": n.value,
        "threshold": n.threshold,
        "fired_at": rfc3339(n.fired_ms),
    });
    let mut body = json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": n.dedup_key,
        "payload": {
            "summary": truncate(&summary, PAGERDUTY_SUMMARY_MAX),
            "source": "clawscope",
            "severity": n.severity.as_str(),
            "timestamp": rfc3339(n.fired_ms),
            "component": n.scope,
            "class": n.rule_id,
        },
        "client": "clawscope",
    });
    if let Some(url) = link(n) {
        details["url"] = url.into();
        body["client_url"] = url.into();
        body["links"] = json!([{"href": url, "text": "Open in clawscope"}]);
    }
    body["payload"]["custom_details"] = details;
    body
}

/// A Telegram `sendMessage` body: plain text (no `parse_mode`, so nothing in a message
/// is read as markup), link previews off. A numeric chat id is sent as a number.
pub fn telegram_body(chat_id: &str, n: &Notification) -> Value {
    let chat = chat_id.trim();
    let chat: Value = match chat.parse::<i64>() {
        Ok(id) => id.into(),
        Err(_) => chat.into(),
    };
    json!({
        "chat_id": chat,
        "text": truncate(&plain_text(n), TELEGRAM_TEXT_MAX),
        "disable_web_page_preview": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_counts_utf16_and_cuts_on_boundaries() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        // "😀" is 2 UTF-16 units: 3 of them are 6 units; a limit of 4 keeps one + "…".
        assert_eq!(truncate("😀😀😀", 4), "😀…");
        let t = truncate(&"é".repeat(5000), 4096);
        assert_eq!(t.encode_utf16().count(), 4096);
        assert!(t.ends_with('…'));
        assert_eq!(truncate("abc", 0), "");
    }

    #[test]
    fn rfc3339_is_utc_millis() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_777_636_800_123), "2026-05-01T12:00:00.123Z");
    }
}
