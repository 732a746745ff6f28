//! Alerts as stored and delivered: a rule's condition on a scope, the alert it opens
//! (firing → resolved), silences, and the notifications queued for delivery. The
//! rules and the engine that produces conditions live in `clawscope-alerts`; these are
//! the shapes the store keeps and the views show.

use serde::{Deserialize, Serialize};

/// How bad it is.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Act soon.
    #[default]
    Warning,
    /// Act now.
    Critical,
}

impl Severity {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// A rule's finding right now: "rule R holds on scope S with this value".
/// Scopes are `gateway`, `agent:<id>`, `project:<name>`, `session:<key>`,
/// `cron:<job id>`, `tool:<session key>` and the like; rule + scope is the
/// alert's identity (one open alert per pair).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    /// Rule id (`budget_day`, `context_critical`).
    pub rule_id: String,
    /// What it is about.
    pub scope: String,
    /// Severity of this finding (a budget warns before it breaches).
    pub severity: Severity,
    /// The measured value (USD, percent, seconds, count).
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// One line for people.
    pub message: String,
    /// When it was observed (epoch ms).
    pub observed_ms: i64,
}

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The condition holds.
    #[default]
    Firing,
    /// It no longer holds.
    Resolved,
}

impl AlertState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// An alert as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Store id.
    pub id: i64,
    /// Rule id.
    pub rule_id: String,
    /// Scope.
    pub scope: String,
    /// Highest severity seen while firing.
    pub severity: Severity,
    /// Firing or resolved.
    pub state: AlertState,
    /// When it fired (epoch ms).
    pub fired_ms: i64,
    /// When it resolved.
    pub resolved_ms: Option<i64>,
    /// When the condition was last seen holding.
    pub last_seen_ms: i64,
    /// Latest value.
    pub value: f64,
    /// Threshold.
    pub threshold: f64,
    /// Latest message.
    pub message: String,
    /// When someone acknowledged it.
    pub acked_ms: Option<i64>,
    /// Who acknowledged it.
    pub acked_by: Option<String>,
    /// Why no notification went out when it fired (`silenced`, `cooldown`), if so.
    pub suppressed: Option<String>,
}

/// A silence: no notifications for matching alerts until a time. `None` matches any.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    /// Store id (0 before it is stored).
    pub id: i64,
    /// Only this rule.
    pub rule_id: Option<String>,
    /// Only this scope (exact, or a prefix ending in `*`: `agent:*`).
    pub scope: Option<String>,
    /// Until (epoch ms, exclusive).
    pub until_ms: i64,
    /// Why.
    pub reason: String,
    /// Who.
    pub created_by: String,
    /// When it was made.
    pub created_ms: i64,
}

impl Silence {
    /// Whether this silence covers `rule_id` on `scope` at `now_ms`.
    pub fn covers(&self, rule_id: &str, scope: &str, now_ms: i64) -> bool {
        if now_ms >= self.until_ms {
            return false;
        }
        if self.rule_id.as_deref().is_some_and(|r| r != rule_id) {
            return false;
        }
        match self.scope.as_deref() {
            None => true,
            Some(s) => match s.strip_suffix('*') {
                Some(prefix) => scope.starts_with(prefix),
                None => s == scope,
            },
        }
    }
}

/// Which change a notification announces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transition {
    /// It started.
    #[default]
    Fire,
    /// It ended.
    Resolve,
    /// A test message (`clawscope alerts test`).
    Test,
}

impl Transition {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Fire => "fire",
            Transition::Resolve => "resolve",
            Transition::Test => "test",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Transition> {
        match s {
            "fire" => Some(Transition::Fire),
            "resolve" => Some(Transition::Resolve),
            "test" => Some(Transition::Test),
            _ => None,
        }
    }
}

/// What a notification says; every channel formats it its own way.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The alert's store id (0 for a test).
    pub alert_id: i64,
    /// Fire, resolve or test.
    pub transition: Transition,
    /// Rule id.
    pub rule_id: String,
    /// Scope.
    pub scope: String,
    /// Severity.
    pub severity: Severity,
    /// Short title: `[critical] context_critical on session:agent:main:main`.
    pub title: String,
    /// The message (already masked; plain text).
    pub text: String,
    /// Measured value.
    pub value: f64,
    /// Threshold.
    pub threshold: f64,
    /// When it fired (epoch ms).
    pub fired_ms: i64,
    /// When it resolved.
    pub resolved_ms: Option<i64>,
    /// A stable key for receivers that deduplicate (PagerDuty `dedup_key`):
    /// `clawscope:<rule>:<scope>:<fired_ms>`.
    pub dedup_key: String,
    /// Link to the dashboard, if one is known.
    pub url: Option<String>,
}

/// Where a queued notification stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    #[default]
    Pending,
    /// Accepted by the receiver.
    Sent,
    /// Gave up after the last retry.
    Failed,
}

impl DeliveryStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        match s {
            "pending" => Some(DeliveryStatus::Pending),
            "sent" => Some(DeliveryStatus::Sent),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// One notification to one channel, queued in the same transaction as the alert
/// change it announces, so a crash never loses or repeats it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Store id.
    pub id: i64,
    /// The alert (0 for a test).
    pub alert_id: i64,
    /// Channel name from the config (`ops-webhook`).
    pub channel: String,
    /// What to send.
    pub notification: Notification,
    /// Pending, sent or failed.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (epoch ms).
    pub next_attempt_ms: i64,
    /// The last failure, in words.
    pub last_error: Option<String>,
    /// When the receiver accepted it.
    pub sent_ms: Option<i64>,
    /// When it was queued.
    pub created_ms: i64,
}

/// An action the engine took on the gateway (pause / resume), as recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertAction {
    /// Store id.
    pub id: i64,
    /// The alert that caused it (0 when a person asked).
    pub alert_id: i64,
    /// `pause` or `resume`.
    pub kind: String,
    /// What it acted on (`agent:main`).
    pub target: String,
    /// The gateway method and params it used (or would have, in dry-run).
    pub request: String,
    /// Dry run: recorded, not sent.
    pub dry_run: bool,
    /// Whether the gateway accepted it.
    pub ok: bool,
    /// The gateway's answer or the error.
    pub detail: String,
    /// When.
    pub at_ms: i64,
}

/// Which alerts to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertFilter {
    /// Only firing (`Some(Firing)`) or resolved ones.
    pub state: Option<AlertState>,
    /// Only this rule.
    pub rule_id: Option<String>,
    /// Fired at or after (epoch ms).
    pub since_ms: Option<i64>,
    /// Resolved at or after (epoch ms); only resolved alerts match.
    pub resolved_since_ms: Option<i64>,
    /// Newest first, at most this many (0 = no limit).
    pub limit: usize,
}

/// The dedup key for a rule's alert on a scope that fired at `fired_ms`.
pub fn dedup_key(rule_id: &str, scope: &str, fired_ms: i64) -> String {
    format!("clawscope:{rule_id}:{scope}:{fired_ms}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_matches_rule_scope_prefix_and_time() {
        let s = Silence {
            rule_id: Some("budget_day".into()),
            scope: Some("agent:*".into()),
            until_ms: 100,
            ..Silence::default()
        };
        assert!(s.covers("budget_day", "agent:main", 99));
        assert!(!s.covers("budget_day", "agent:main", 100));
        assert!(!s.covers("budget_week", "agent:main", 1));
        assert!(!s.covers("budget_day", "gateway", 1));
        let all = Silence {
            until_ms: 10,
            ..Silence::default()
        };
        assert!(all.covers("anything", "session:x", 9));
        let exact = Silence {
            scope: Some("session:a".into()),
            until_ms: 10,
            ..Silence::default()
        };
        assert!(exact.covers("r", "session:a", 0));
        assert!(!exact.covers("r", "session:ab", 0));
    }

    #[test]
    fn names_round_trip() {
        for s in [Severity::Info, Severity::Warning, Severity::Critical] {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
        }
        for t in [Transition::Fire, Transition::Resolve, Transition::Test] {
            assert_eq!(Transition::parse(t.as_str()), Some(t));
        }
        for d in [
            DeliveryStatus::Pending,
            DeliveryStatus::Sent,
            DeliveryStatus::Failed,
        ] {
            assert_eq!(DeliveryStatus::parse(d.as_str()), Some(d));
        }
    }
}
