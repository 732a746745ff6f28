//! The alert engine: observes stored events, evaluates every enabled rule, and turns
//! the findings into alert changes (fire, update, resolve) with the notifications
//! they queue — deduplicated by rule + scope, honouring silences and cooldowns.
//!
//! The engine holds no truth of its own: open alerts come from the store at start
//! and every change goes back through one [`AlertStore::apply_alerts`] transaction,
//! so a restart between a firing and its resolve notifies nothing twice.

mod conditions;
mod observe;

use std::collections::HashMap;

use chrono_tz::Tz;

use clawscope_core::alert::{
    dedup_key, Alert, AlertFilter, AlertState, Condition, Notification, Severity, Silence,
    Transition,
};
use clawscope_core::query::{EventFilter, StoredEvent};
use clawscope_core::redact::mask;
use clawscope_store::{AlertChanges, NewAlert, ResolvedAlert, Store, StoreError};

pub use conditions::{GatewayProbe, Inputs, ACTIVE_FOR_MS};
pub use observe::{CronObs, Observed, SessionObs};

use crate::rules::{Action, RuleSet};

/// How far back events are replayed at start (the longest rolling window plus margin,
/// and how long a quiet session stays current).
pub const REPLAY_MS: i64 = ACTIVE_FOR_MS;

/// Events replayed at start at most (bounds start-up time on a busy store).
pub const REPLAY_MAX: usize = 200_000;

/// Events read from the store per page.
pub const PAGE: usize = 2_000;

/// A channel the engine may route to, with its severity floor.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Channel name.
    pub name: String,
    /// Lowest severity it takes.
    pub min_severity: Severity,
}

/// Engine settings besides the rules.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Budget periods' time zone.
    pub tz: Tz,
    /// Every configured channel.
    pub routes: Vec<Route>,
    /// Channels for rules without their own `notify` (`None` = all channels).
    pub default_notify: Option<Vec<String>>,
    /// Dashboard base URL for links in notifications.
    pub dashboard_url: Option<String>,
}

/// A pause the engine wants in force (a firing budget breach with `action = "pause"`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PauseWanted {
    /// The alert.
    pub alert_id: i64,
    /// `agent:<id>`, or `gateway` for every agent.
    pub target: String,
    /// When the alert fired (a person's resume after this wins until it resolves).
    pub fired_ms: i64,
}

/// The engine.
pub struct Engine {
    rules: RuleSet,
    config: EngineConfig,
    observed: Observed,
    /// Firing alerts by (rule id, scope).
    open: HashMap<(String, String), Alert>,
    /// Latest resolve time by (rule id, scope), for cooldowns.
    resolved: HashMap<(String, String), i64>,
    /// The event cursor as the store last took it.
    committed_cursor: i64,
}

fn base_rule(rule_id: &str) -> &str {
    rule_id.split_once('.').map_or(rule_id, |(b, _)| b)
}

impl Engine {
    /// An engine over `rules`; call [`Engine::load`] before the first evaluation.
    pub fn new(rules: RuleSet, config: EngineConfig) -> Engine {
        Engine {
            rules,
            config,
            observed: Observed::default(),
            open: HashMap::new(),
            resolved: HashMap::new(),
            committed_cursor: 0,
        }
    }

    /// The rules in force.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Replace the rules (an API edit); findings of removed rules resolve at the next
    /// evaluation.
    pub fn set_rules(&mut self, rules: RuleSet) {
        self.rules = rules;
    }

    /// Load open alerts and recent resolves from the store, and replay recent events
    /// (and every cron job and the last week of cron runs) so the rolling windows are
    /// as they were.
    pub fn load(&mut self, store: &dyn Store, now_ms: i64) -> Result<(), StoreError> {
        self.open.clear();
        for a in store.alerts(&AlertFilter {
            state: Some(AlertState::Firing),
            ..AlertFilter::default()
        })? {
            self.open.insert((a.rule_id.clone(), a.scope.clone()), a);
        }
        let longest_cooldown = self
            .rules
            .rules
            .iter()
            .map(|r| r.cooldown_secs)
            .max()
            .unwrap_or(0);
        for a in store.alerts(&AlertFilter {
            resolved_since_ms: Some(now_ms.saturating_sub(longest_cooldown as i64 * 1000)),
            ..AlertFilter::default()
        })? {
            if let Some(at) = a.resolved_ms {
                let e = self.resolved.entry((a.rule_id, a.scope)).or_default();
                *e = (*e).max(at);
            }
        }
        self.observed = Observed::default();
        let started = std::time::Instant::now();
        // Page by page, so start-up memory is the observed state, not the events.
        let mut replayed = 0usize;
        for (kinds, since) in [
            (vec!["cron.job".to_string()], None),
            (vec!["cron.run".to_string()], Some(now_ms - 7 * 86_400_000)),
            (Vec::new(), Some(replay_from(store, now_ms)?)),
        ] {
            let mut seen = 0usize;
            // In time order through the `ts` indexes (a `seq` range would walk the whole
            // table to find the recent rows).
            let mut offset = 0;
            loop {
                let page = store.events(&EventFilter {
                    kinds: kinds.clone(),
                    since_ms: since,
                    limit: PAGE,
                    offset,
                    ..EventFilter::default()
                })?;
                for e in &page {
                    self.observed.observe(e);
                }
                seen += page.len();
                offset += page.len();
                // The recent phase is bounded by `replay_from` already: cutting it here
                // would drop the newest events.
                if page.len() < PAGE || (seen >= REPLAY_MAX && !kinds.is_empty()) {
                    break;
                }
            }
            replayed += seen;
        }
        self.observed.prune(now_ms - REPLAY_MS, now_ms - REPLAY_MS);
        tracing::info!(
            events = replayed,
            ms = started.elapsed().as_millis() as u64,
            firing = self.open.len(),
            "alert engine loaded"
        );
        // Everything older than the replay is history: new events are those stored from now on.
        self.observed.max_seq = store.max_seq()?.max(store.alert_cursor()?);
        self.committed_cursor = store.alert_cursor()?;
        Ok(())
    }

    /// Take new stored events into account (in store order); what is older than the
    /// replay window at `now_ms` is forgotten at once (a large import of history while
    /// serving must not pile up in memory).
    pub fn observe(&mut self, events: &[StoredEvent], now_ms: i64) {
        for e in events {
            self.observed.observe(e);
        }
        self.observed.prune(now_ms - REPLAY_MS, now_ms - REPLAY_MS);
    }

    /// The highest store sequence observed.
    pub fn cursor(&self) -> i64 {
        self.observed.max_seq
    }

    /// Evaluate every enabled rule and reconcile the findings with the open alerts.
    /// Nothing changes in the engine until [`Engine::committed`] confirms the store
    /// took the changes.
    pub fn evaluate(
        &mut self,
        inputs: &Inputs,
        silences: &[Silence],
    ) -> Result<AlertChanges, StoreError> {
        let now = inputs.now_ms;
        self.observed.prune(now - REPLAY_MS, now - REPLAY_MS);
        let mut found: HashMap<(String, String), Condition> = HashMap::new();
        for rule in self.rules.rules.iter().filter(|r| r.enabled) {
            for c in conditions::evaluate(rule, &self.observed, inputs)? {
                if !(c.value.is_finite() && c.threshold.is_finite()) {
                    // An absurd input (a cost of 1e308 summed twice) must not stop every
                    // other alert: the store refuses non-finite numbers.
                    tracing::warn!(rule = %c.rule_id, scope = %c.scope, "alert finding with a non-finite value skipped");
                    continue;
                }
                found.insert((c.rule_id.clone(), c.scope.clone()), c);
            }
        }
        let mut changes = AlertChanges {
            at_ms: now,
            ..AlertChanges::default()
        };
        let mut keys: Vec<_> = found.keys().cloned().collect();
        keys.sort();
        let seen: std::collections::HashSet<_> = keys.iter().cloned().collect();
        for key in keys {
            let Some(c) = found.remove(&key) else {
                continue;
            };
            match self.open.get(&key) {
                Some(a)
                    if a.suppressed.is_some() && self.suppression(&c, silences, now).is_none() =>
                {
                    // The silence or cooldown that kept its firing quiet is over: tell now.
                    let mut shown = a.clone();
                    shown.value = c.value;
                    shown.message.clone_from(&c.message);
                    shown.severity = a.severity.max(c.severity);
                    let n = self.notification(&shown, Transition::Fire, None);
                    changes
                        .unsuppressed
                        .push((a.id, self.route(&a.rule_id, shown.severity, &n)));
                }
                Some(a) => {
                    let moved = (a.value - c.value).abs() > f64::EPSILON
                        || c.severity > a.severity
                        || a.message != c.message;
                    if moved && now - a.last_seen_ms >= 60_000 || c.severity > a.severity {
                        changes.updated.push((a.id, c));
                    }
                }
                None => changes.fired.push(self.fire(c, silences, now)),
            }
        }
        let mut gone: Vec<_> = self
            .open
            .iter()
            .filter(|(k, _)| !seen.contains(*k))
            .collect();
        gone.sort_by_key(|(_, a)| a.id);
        for (_, a) in gone {
            let mut deliveries = Vec::new();
            if a.suppressed.is_none() && !silenced(silences, a, now) {
                let n = self.notification(a, Transition::Resolve, Some(now));
                deliveries = self.route(&a.rule_id, a.severity, &n);
            }
            changes.resolved.push(ResolvedAlert {
                id: a.id,
                resolved_ms: now,
                deliveries,
            });
        }
        if self.observed.max_seq != self.committed_cursor {
            changes.cursor = Some(self.observed.max_seq);
        }
        Ok(changes)
    }

    /// Why a firing of `c` should not be notified now (`silenced`, `cooldown`), if so.
    fn suppression(&self, c: &Condition, silences: &[Silence], now: i64) -> Option<String> {
        let key = (c.rule_id.clone(), c.scope.clone());
        let cooldown = self
            .rules
            .get(base_rule(&c.rule_id))
            .map_or(0, |r| (r.cooldown_secs as i64).saturating_mul(1000));
        if silences.iter().any(|s| {
            s.covers(base_rule(&c.rule_id), &c.scope, now) || s.covers(&c.rule_id, &c.scope, now)
        }) {
            Some("silenced".to_string())
        } else if self
            .resolved
            .get(&key)
            .is_some_and(|at| now - at < cooldown)
        {
            Some("cooldown".to_string())
        } else {
            None
        }
    }

    fn fire(&self, c: Condition, silences: &[Silence], now: i64) -> NewAlert {
        let suppressed = self.suppression(&c, silences, now);
        let alert = alert_of(&c, now);
        let deliveries = if suppressed.is_none() {
            let n = self.notification(&alert, Transition::Fire, None);
            self.route(&c.rule_id, c.severity, &n)
        } else {
            Vec::new()
        };
        NewAlert {
            condition: c,
            suppressed,
            deliveries,
        }
    }

    /// The notification for `a`.
    pub fn notification(&self, a: &Alert, t: Transition, resolved_ms: Option<i64>) -> Notification {
        let verb = match t {
            Transition::Fire => "firing",
            Transition::Resolve => "resolved",
            Transition::Test => "test",
        };
        Notification {
            alert_id: a.id,
            transition: t,
            rule_id: a.rule_id.clone(),
            scope: a.scope.clone(),
            severity: a.severity,
            title: mask(&format!(
                "[{}] {} {verb}: {}",
                a.severity.as_str(),
                a.rule_id,
                a.scope
            ))
            .into_owned(),
            text: mask(&a.message).into_owned(),
            value: a.value,
            threshold: a.threshold,
            fired_ms: a.fired_ms,
            resolved_ms,
            dedup_key: dedup_key(&a.rule_id, &a.scope, a.fired_ms),
            url: self
                .config
                .dashboard_url
                .as_ref()
                .map(|u| format!("{}/alerts", u.trim_end_matches('/'))),
        }
    }

    /// The (channel, notification) pairs for a rule's notification at `severity`.
    pub fn route(
        &self,
        rule_id: &str,
        severity: Severity,
        n: &Notification,
    ) -> Vec<(String, Notification)> {
        let wanted = self
            .rules
            .get(base_rule(rule_id))
            .and_then(|r| r.notify.clone())
            .or_else(|| self.config.default_notify.clone());
        self.config
            .routes
            .iter()
            .filter(|r| wanted.as_ref().is_none_or(|w| w.contains(&r.name)))
            .filter(|r| severity >= r.min_severity)
            .map(|r| (r.name.clone(), n.clone()))
            .collect()
    }

    /// The store took `changes` (`ids` are the new alerts' ids): make them the
    /// engine's view.
    pub fn committed(&mut self, changes: &AlertChanges, ids: &[i64]) {
        for (new, id) in changes.fired.iter().zip(ids) {
            let mut a = alert_of(&new.condition, new.condition.observed_ms);
            a.id = *id;
            a.suppressed.clone_from(&new.suppressed);
            self.open.insert((a.rule_id.clone(), a.scope.clone()), a);
        }
        for (id, c) in &changes.updated {
            if let Some(a) = self.open.values_mut().find(|a| a.id == *id) {
                a.value = c.value;
                a.message.clone_from(&c.message);
                a.last_seen_ms = c.observed_ms;
                a.severity = a.severity.max(c.severity);
            }
        }
        for (id, _) in &changes.unsuppressed {
            if let Some(a) = self.open.values_mut().find(|a| a.id == *id) {
                a.suppressed = None;
            }
        }
        if let Some(c) = changes.cursor {
            self.committed_cursor = c;
        }
        for r in &changes.resolved {
            if let Some(key) = self
                .open
                .iter()
                .find(|(_, a)| a.id == r.id)
                .map(|(k, _)| k.clone())
            {
                self.open.remove(&key);
                self.resolved.insert(key, r.resolved_ms);
            }
        }
    }

    /// Firing alerts.
    pub fn open_alerts(&self) -> Vec<&Alert> {
        let mut v: Vec<_> = self.open.values().collect();
        v.sort_by_key(|a| a.id);
        v
    }

    /// The pauses that should be in force: firing breaches of rules with
    /// `action = "pause"` (not their `.warn` companions).
    pub fn pauses_wanted(&self) -> Vec<PauseWanted> {
        let mut v: Vec<PauseWanted> = self
            .open
            .values()
            .filter(|a| {
                !a.rule_id.contains('.')
                    && self
                        .rules
                        .get(&a.rule_id)
                        .is_some_and(|r| r.enabled && r.action == Action::Pause)
            })
            .map(|a| PauseWanted {
                alert_id: a.id,
                target: a.scope.clone(),
                fired_ms: a.fired_ms,
            })
            .collect();
        v.sort();
        v
    }
}

/// Where the start-up replay begins: six hours back, or later when more than
/// [`REPLAY_MAX`] events were stored since (the newest matter most).
fn replay_from(store: &dyn Store, now_ms: i64) -> Result<i64, StoreError> {
    let since = now_ms - REPLAY_MS;
    let cut = store.events(&EventFilter {
        since_ms: Some(since),
        newest_first: true,
        offset: REPLAY_MAX - 1,
        limit: 1,
        ..EventFilter::default()
    })?;
    Ok(match cut.first() {
        Some(e) => {
            tracing::warn!(
                from_ms = e.event.ts_ms,
                "alert engine: more than {REPLAY_MAX} events in the last six hours; replaying the newest"
            );
            e.event.ts_ms.max(since)
        }
        None => since,
    })
}

fn silenced(silences: &[Silence], a: &Alert, now: i64) -> bool {
    silences.iter().any(|s| {
        s.covers(base_rule(&a.rule_id), &a.scope, now) || s.covers(&a.rule_id, &a.scope, now)
    })
}

fn alert_of(c: &Condition, now: i64) -> Alert {
    Alert {
        id: 0,
        rule_id: c.rule_id.clone(),
        scope: c.scope.clone(),
        severity: c.severity,
        state: AlertState::Firing,
        fired_ms: now,
        resolved_ms: None,
        last_seen_ms: now,
        value: c.value,
        threshold: c.threshold,
        message: c.message.clone(),
        acked_ms: None,
        acked_by: None,
        suppressed: None,
    }
}
