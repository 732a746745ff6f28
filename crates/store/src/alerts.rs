//! The alert half of the store contract: alerts and their history, silences, the
//! notification outbox, gateway actions, rules edited through the API, and the
//! engine's event cursor. One [`AlertStore::apply_alerts`] call is one transaction,
//! so an alert change, the notifications it queues and the cursor it covers land
//! together or not at all: a crash never loses a queued notification, and delivery
//! from the outbox is at least once (a crash between a send and its record re-sends
//! it, with the same dedup key).

use clawscope_core::alert::{
    Alert, AlertAction, AlertFilter, Condition, Delivery, Notification, Silence,
};

use crate::Result;

/// A newly firing alert and what to tell whom.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewAlert {
    /// The finding.
    pub condition: Condition,
    /// Why nothing is sent (`silenced`, `cooldown`), if so.
    pub suppressed: Option<String>,
    /// (channel name, notification) pairs to queue; `alert_id` in each is filled in
    /// by the store with the new alert's id.
    pub deliveries: Vec<(String, Notification)>,
}

/// A firing alert that stopped holding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResolvedAlert {
    /// The alert.
    pub id: i64,
    /// When.
    pub resolved_ms: i64,
    /// (channel name, notification) pairs to queue.
    pub deliveries: Vec<(String, Notification)>,
}

/// Everything one engine evaluation changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertChanges {
    /// New alerts.
    pub fired: Vec<NewAlert>,
    /// Still firing: latest value, message, last seen; severity only rises.
    pub updated: Vec<(i64, Condition)>,
    /// Ended.
    pub resolved: Vec<ResolvedAlert>,
    /// Firing alerts whose firing was not notified (silenced, cooldown) and now is:
    /// `suppressed` is cleared and these (channel, notification) pairs are queued.
    pub unsuppressed: Vec<(i64, Vec<(String, Notification)>)>,
    /// The engine's event cursor (store seq) after this evaluation, if it moved.
    pub cursor: Option<i64>,
    /// When this evaluation ran (epoch ms): the queue time of `unsuppressed`
    /// notifications (0: their alert's firing time).
    pub at_ms: i64,
}

impl AlertChanges {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.fired.is_empty()
            && self.updated.is_empty()
            && self.resolved.is_empty()
            && self.unsuppressed.is_empty()
            && self.cursor.is_none()
    }
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    /// The receiver accepted it.
    Sent {
        /// When.
        at_ms: i64,
    },
    /// Failed; try again at `next_attempt_ms`.
    Retry {
        /// The failure.
        error: String,
        /// When to try again.
        next_attempt_ms: i64,
    },
    /// Failed for good.
    Failed {
        /// The failure.
        error: String,
    },
}

/// A rule added or changed through the API (the rule as JSON, in the alerts crate's
/// rule shape); it overrides a built-in or config rule with the same id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredRule {
    /// Rule id.
    pub id: String,
    /// The rule as JSON.
    pub json: String,
    /// `true`: the rule id is deleted (a built-in or config rule switched off by the API).
    pub deleted: bool,
    /// When it was last changed (epoch ms).
    pub updated_ms: i64,
}

/// Alert persistence. Every write is one transaction.
pub trait AlertStore {
    /// Apply an evaluation's changes atomically; returns the new alerts' ids in order.
    /// Resolves are applied before fires, so one evaluation may end an alert and open a
    /// new one on the same rule + scope. Errors (and writes nothing): a second firing
    /// alert on a rule + scope, an update or resolve of an alert that is not firing (an
    /// update must also name its rule and scope), a value or threshold that is not finite.
    fn apply_alerts(&mut self, changes: &AlertChanges) -> Result<Vec<i64>>;
    /// The engine's event cursor (0 when it never ran).
    fn alert_cursor(&self) -> Result<i64>;
    /// Alerts, newest first.
    fn alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>>;
    /// One alert.
    fn alert(&self, id: i64) -> Result<Option<Alert>>;
    /// Acknowledge an alert; `false` if there is no such alert.
    fn ack_alert(&mut self, id: i64, by: &str, at_ms: i64) -> Result<bool>;
    /// Store a silence; returns its id.
    fn add_silence(&mut self, silence: &Silence) -> Result<i64>;
    /// Silences still in force at `at_ms` (all of them when `None`), newest first.
    fn silences(&self, at_ms: Option<i64>) -> Result<Vec<Silence>>;
    /// Remove a silence; `false` if there is no such silence.
    fn remove_silence(&mut self, id: i64) -> Result<bool>;
    /// Queue notifications outside an alert change (test sends); returns their ids.
    fn queue_deliveries(
        &mut self,
        items: &[(String, Notification)],
        at_ms: i64,
    ) -> Result<Vec<i64>>;
    /// Pending deliveries due at `now_ms`, oldest (first queued) first; `limit` 0 = all.
    fn due_deliveries(&self, now_ms: i64, limit: usize) -> Result<Vec<Delivery>>;
    /// Record an attempt (counts it); an error if there is no such delivery.
    fn finish_delivery(&mut self, id: i64, outcome: &DeliveryOutcome) -> Result<()>;
    /// Deliveries of one alert (all when `None`), newest first; `limit` 0 = all.
    fn deliveries(&self, alert_id: Option<i64>, limit: usize) -> Result<Vec<Delivery>>;
    /// Record a gateway action; returns its id.
    fn record_action(&mut self, action: &AlertAction) -> Result<i64>;
    /// Recorded actions, newest first; `limit` 0 = all.
    fn actions(&self, limit: usize) -> Result<Vec<AlertAction>>;
    /// Targets that have a pause recorded after their last successful resume (or
    /// with no resume at all): the ones a pause may still be in force on.
    fn pause_targets(&self) -> Result<Vec<String>>;
    /// One target's actions since its last successful resume (that resume excluded),
    /// newest first.
    fn actions_since_resume(&self, target: &str) -> Result<Vec<AlertAction>>;
    /// One target's last successful resume by a person (alert id 0), if any.
    fn last_manual_resume(&self, target: &str) -> Result<Option<AlertAction>>;
    /// Rules edited through the API, by id.
    fn stored_rules(&self) -> Result<Vec<StoredRule>>;
    /// Add or replace an edited rule (or a deletion marker).
    fn put_rule(&mut self, rule: &StoredRule) -> Result<()>;
    /// Forget an edited rule (the built-in or config rule applies again); `false` if none.
    fn remove_rule(&mut self, id: &str) -> Result<bool>;
}
