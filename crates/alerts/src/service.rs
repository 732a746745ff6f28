//! The alert service while serving: an evaluation loop (woken by new events and on a
//! schedule) and a delivery loop that drains the outbox with retries. Both work on the
//! service's own store connection; the store is the single source of truth, so a
//! restart picks up exactly where the last committed evaluation left off.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono_tz::Tz;
use tokio::sync::Notify;

use clawscope_core::alert::Delivery;
use clawscope_core::query::EventFilter;
use clawscope_store::{DeliveryOutcome, Store, StoreError, StoredRule};

use crate::config::AlertsConfig;
use crate::deliver::{backoff, ChannelConfig, DeliveryError, Sender};
use crate::engine::{Engine, EngineConfig, GatewayProbe, Inputs, Route, PAGE};
use crate::gateway::GatewayRpc;
use crate::pause::Pauser;
use crate::rules::{BudgetAmounts, RuleEdit};

/// Reads the gateway connection's state (the binary wires the live client's status).
pub type ProbeFn = Arc<dyn Fn() -> Option<GatewayProbe> + Send + Sync>;

/// Deliveries attempted per round.
const DELIVERIES_PER_ROUND: usize = 50;

/// What the service needs.
pub struct ServiceConfig {
    /// `[alerts]`.
    pub alerts: AlertsConfig,
    /// `[budget]` amounts.
    pub budget: BudgetAmounts,
    /// Time zone of budget periods.
    pub tz: Tz,
    /// The gateway's write RPCs (pause, resume, channel messages), when connected.
    pub gateway: Option<Arc<dyn GatewayRpc>>,
    /// The gateway connection's state, when one is followed.
    pub probe: Option<ProbeFn>,
}

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A bad `[alerts]` section.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP client could not be built.
    #[error("cannot start alert delivery: {0}")]
    Delivery(#[from] DeliveryError),
}

type Shared = Arc<Mutex<Box<dyn Store>>>;

/// The running service's parts.
pub struct AlertService {
    store: Shared,
    engine: Arc<Mutex<Engine>>,
    config: ServiceConfig,
    sender: Sender,
    delivered: Arc<Notify>,
    pauser: Pauser,
    /// The engine has loaded the store's alerts and replayed recent events (done by
    /// the first evaluation, off the start-up path; pauses wait for it).
    loaded: AtomicBool,
    /// The API edits the rules in force were built from.
    rules_from: Mutex<Vec<StoredRule>>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// API edits as the rule builder takes them (`None`: deleted through the API). An edit
/// whose stored JSON no longer parses is left out, with a warning.
pub fn api_edits(stored: &[StoredRule]) -> Vec<(String, Option<RuleEdit>)> {
    stored
        .iter()
        .filter_map(|r| {
            if r.deleted {
                return Some((r.id.clone(), None));
            }
            match serde_json::from_str(&r.json) {
                Ok(e) => Some((r.id.clone(), Some(e))),
                Err(e) => {
                    tracing::warn!(rule = %r.id, error = %e, "stored rule edit ignored: it does not parse");
                    None
                }
            }
        })
        .collect()
}

fn routes(channels: &BTreeMap<String, ChannelConfig>) -> Vec<Route> {
    channels
        .iter()
        .map(|(name, c)| Route {
            name: name.clone(),
            min_severity: c.min_severity(),
        })
        .collect()
}

impl AlertService {
    /// Check `[alerts]` and build the rules (config + API edits); the engine loads the
    /// store's alerts and recent events at the first evaluation, off the start-up path.
    pub fn new(store: Box<dyn Store>, config: ServiceConfig) -> Result<AlertService, ServiceError> {
        let stored = store.stored_rules()?;
        let rules = config
            .alerts
            .rule_set_lenient(config.budget, &api_edits(&stored))?;
        let engine = Engine::new(
            rules,
            EngineConfig {
                tz: config.tz,
                routes: routes(&config.alerts.channels),
                default_notify: config.alerts.notify.clone(),
                dashboard_url: config.alerts.dashboard_url.clone(),
            },
        );
        let sender = Sender::new(config.gateway.clone())?;
        let pauser = Pauser::new(config.gateway.clone(), config.alerts.dry_run);
        Ok(AlertService {
            store: Arc::new(Mutex::new(store)),
            engine: Arc::new(Mutex::new(engine)),
            config,
            sender,
            delivered: Arc::new(Notify::new()),
            pauser,
            loaded: AtomicBool::new(false),
            rules_from: Mutex::new(stored),
        })
    }

    /// Run until the task is dropped: evaluate on `wake` (new events) or every
    /// `evaluate_every_secs`, and deliver what the evaluations queued.
    pub async fn run(self, wake: Arc<Notify>) {
        let every = Duration::from_secs(self.config.alerts.evaluate_every_secs.max(1));
        let this = Arc::new(self);
        let deliverer = this.clone();
        tokio::spawn(async move { deliverer.deliver_loop().await });
        // Gateway calls can be slow (20 s each when it does not answer): pauses run on
        // their own clock so they never hold up evaluation.
        let pauser = this.clone();
        tokio::spawn(async move {
            loop {
                pauser.reconcile_pauses().await;
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        });
        loop {
            let t = this.clone();
            let round = tokio::task::spawn_blocking(move || t.evaluate_once(now_ms())).await;
            match round {
                Ok(Ok(queued)) if queued => this.delivered.notify_one(),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "alert evaluation failed; reloading from the store")
                }
                Err(e) => tracing::warn!(error = %e, "alert evaluation task failed"),
            }
            tokio::select! {
                // New events: evaluate soon, but at most about once a second however
                // fast they arrive.
                _ = wake.notified() => tokio::time::sleep(Duration::from_secs(1)).await,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }

    /// One evaluation: rules reloaded if the API changed them, new events observed,
    /// rules evaluated, changes committed. Returns whether notifications were queued.
    pub fn evaluate_once(&self, now: i64) -> Result<bool, ServiceError> {
        let store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        let mut engine = self.engine.lock().unwrap_or_else(PoisonError::into_inner);
        if !self.loaded.load(Ordering::Acquire) {
            engine.load(store.as_ref(), now)?;
            self.loaded.store(true, Ordering::Release);
        }
        let stored = store.stored_rules()?;
        let mut rules_from = self
            .rules_from
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *rules_from != stored {
            let rules = self
                .config
                .alerts
                .rule_set_lenient(self.config.budget, &api_edits(&stored))?;
            engine.set_rules(rules);
            *rules_from = stored;
        }
        drop(rules_from);
        loop {
            let events = store.events(&EventFilter {
                after_seq: Some(engine.cursor()),
                limit: PAGE,
                ..EventFilter::default()
            })?;
            engine.observe(&events, now);
            if events.len() < PAGE {
                break;
            }
        }
        let silences = store.silences(Some(now))?;
        let changes = {
            let inputs = Inputs {
                now_ms: now,
                tz: self.config.tz,
                store: store.as_ref(),
                gateway: self.config.probe.as_ref().and_then(|p| p()),
            };
            engine.evaluate(&inputs, &silences)?
        };
        if changes.is_empty() {
            return Ok(false);
        }
        let queued = changes.fired.iter().any(|f| !f.deliveries.is_empty())
            || changes.resolved.iter().any(|r| !r.deliveries.is_empty())
            || changes.unsuppressed.iter().any(|(_, d)| !d.is_empty());
        let mut store = store;
        match store.apply_alerts(&changes) {
            Ok(ids) => {
                engine.committed(&changes, &ids);
                Ok(queued)
            }
            Err(e) => {
                // The engine's view drifted from the store (another process acted):
                // take the store's.
                engine.load(store.as_ref(), now)?;
                Err(e.into())
            }
        }
    }

    async fn deliver_loop(self: Arc<Self>) {
        loop {
            let more = self.deliver_due(now_ms()).await;
            if !more {
                tokio::select! {
                    _ = self.delivered.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
            }
        }
    }

    /// Attempt the deliveries due at `now`; true if a full round was taken (more may wait).
    pub async fn deliver_due(&self, now: i64) -> bool {
        let store = self.store.clone();
        let due = tokio::task::spawn_blocking(move || {
            let s = store.lock().unwrap_or_else(PoisonError::into_inner);
            s.due_deliveries(now, DELIVERIES_PER_ROUND)
        })
        .await;
        let due = match due {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot read the alert outbox");
                return false;
            }
            Err(_) => return false,
        };
        let full = due.len() == DELIVERIES_PER_ROUND;
        for d in due {
            let outcome = self.attempt(&d).await;
            let store = self.store.clone();
            let id = d.id;
            let written = tokio::task::spawn_blocking(move || {
                let mut s = store.lock().unwrap_or_else(PoisonError::into_inner);
                s.finish_delivery(id, &outcome)
            })
            .await;
            if let Ok(Err(e)) = written {
                tracing::warn!(error = %e, delivery = id, "cannot record a delivery attempt");
            }
        }
        full
    }

    async fn attempt(&self, d: &Delivery) -> DeliveryOutcome {
        let Some(channel) = self.config.alerts.channels.get(&d.channel) else {
            return DeliveryOutcome::Failed {
                error: format!("channel {:?} is no longer configured", d.channel),
            };
        };
        match self.sender.send(channel, &d.notification).await {
            Ok(receipt) => {
                tracing::info!(channel = %d.channel, alert = d.alert_id, %receipt, "alert notification sent");
                DeliveryOutcome::Sent { at_ms: now_ms() }
            }
            Err(e) => {
                let next = if e.retriable {
                    backoff(d.attempts + 1)
                } else {
                    None
                };
                tracing::warn!(channel = %d.channel, alert = d.alert_id, error = %e, retry = next.is_some(), "alert notification failed");
                match next {
                    Some(wait) => DeliveryOutcome::Retry {
                        error: e.message,
                        next_attempt_ms: now_ms() + wait.as_millis() as i64,
                    },
                    None => DeliveryOutcome::Failed { error: e.message },
                }
            }
        }
    }

    async fn reconcile_pauses(&self) {
        // Until the engine knows the firing alerts, every pause would look unwanted.
        if !self.loaded.load(Ordering::Acquire) {
            return;
        }
        // The engine lock is held for a whole evaluation: wait for it off the async threads.
        let engine = self.engine.clone();
        let wanted = tokio::task::spawn_blocking(move || {
            engine
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pauses_wanted()
        })
        .await
        .unwrap_or_default();
        self.pauser.reconcile(&self.store, wanted).await;
    }
}
