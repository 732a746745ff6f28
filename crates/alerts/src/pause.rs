//! Auto-pause: keeps the gateway's paused agents equal to what firing budget
//! breaches with `action = "pause"` want, through the gateway's own RPCs — never by
//! signalling processes.
//!
//! OpenClaw 2026.9 has no per-agent "paused" switch, so a pause is three things:
//! 1. a `session.sendPolicy` deny rule for the agent's session keys (`agent:<id>:`),
//!    added with `config.patch` (hot-reloaded, persisted in `openclaw.json`): chat
//!    sends and channel deliveries to every current and future session of the agent
//!    are refused ("send blocked by session policy");
//! 2. `sessions.abort` on the agent's sessions active in the last hour (a runaway
//!    turn stops now);
//! 3. `cron.update {enabled: false}` on the agent's enabled cron jobs.
//!
//! Resume removes exactly that rule and re-enables exactly those jobs. A target of
//! `gateway` (a gateway-wide budget) pauses every agent (`agent:` prefix, all jobs).
//! Each pause is recorded with the alert that caused it; a pause is made once per
//! alert (a person's resume sticks until the alert resolves) and undone when that
//! alert resolves.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{json, Value};

use clawscope_core::alert::AlertAction;
use clawscope_core::query::{SessionFilter, SessionOrder, UsageFilter};
use clawscope_store::Store;

use crate::engine::PauseWanted;
use crate::gateway::GatewayRpc;

/// Sessions aborted per pause at most (the most recently active).
const MAX_ABORTS: usize = 20;

/// A failed pause or resume is retried after this long (doubling while it fails).
const RETRY_MS: i64 = 60_000;

type Shared = Arc<Mutex<Box<dyn Store>>>;

/// Pauses and resumes agents through the gateway.
pub struct Pauser {
    gateway: Option<Arc<dyn GatewayRpc>>,
    dry_run: bool,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The session-key prefix a target's deny rule matches.
pub fn key_prefix(target: &str) -> String {
    match target.strip_prefix("agent:") {
        Some(agent) => format!("agent:{agent}:"),
        None => "agent:".to_string(),
    }
}

fn is_ours(rule: &Value, prefix: &str) -> bool {
    rule["action"] == "deny" && rule["match"]["keyPrefix"] == prefix
}

/// What one pause or resume did, for the record.
#[derive(Debug, Default)]
struct Outcome {
    steps: Vec<String>,
    crons: Vec<String>,
    error: Option<String>,
}

impl Pauser {
    /// A pauser; without a gateway every action fails (and is recorded as failed).
    pub fn new(gateway: Option<Arc<dyn GatewayRpc>>, dry_run: bool) -> Pauser {
        Pauser { gateway, dry_run }
    }

    /// Bring the gateway in line with `wanted` now; see [`Pauser::reconcile_at`].
    pub async fn reconcile(&self, store: &Shared, wanted: Vec<PauseWanted>) {
        self.reconcile_at(store, wanted, now_ms()).await;
    }

    /// Bring the gateway in line with `wanted` at `now`. A target is paused while any
    /// of its pausing alerts fires (once: more alerts on a paused target change
    /// nothing) and resumed when none does. A person's resume sets a boundary: alerts
    /// that fired before it (lower ids) no longer pause the target, and a person's
    /// pause stays until a person resumes. What a pause did is read back from every
    /// attempt since the target's last resume, failed ones included, so the cron jobs
    /// it turned off are turned on again — unless another target still paused holds
    /// them. Failed attempts are retried after 1 min, doubling, at most 1 h. A dry-run
    /// pause does not count as one when dry-run is off: the real pause is made then.
    pub async fn reconcile_at(&self, store: &Shared, wanted: Vec<PauseWanted>, now: i64) {
        let Some(state) = read_state(store, &wanted).await else {
            return;
        };
        let mut by_target: BTreeMap<String, Vec<PauseWanted>> = BTreeMap::new();
        for w in wanted {
            let boundary = state.get(&w.target).map_or(0, |t| t.boundary);
            if w.alert_id > boundary {
                by_target.entry(w.target.clone()).or_default().push(w);
            }
        }
        for (target, alerts) in &by_target {
            let t = &state[target];
            if t.in_force(self.dry_run) || t.waiting(now, "pause") {
                continue;
            }
            let first = alerts.iter().map(|a| a.alert_id).min().unwrap_or(0);
            let held = held_by_others(&state, target);
            let a = self.pause(store, target, first, &held).await;
            record(store, a).await;
        }
        for (target, t) in &state {
            // A person's pause stays until a person resumes.
            let manual = t.pauses().any(|a| a.ok && a.alert_id == 0);
            if by_target.contains_key(target)
                || manual
                || !t.paused_at_all()
                || t.waiting(now, "resume")
            {
                continue;
            }
            let held = held_by_others(&state, target);
            let r = self
                .resume(target, t.alert_id(), &t.crons(), t.all_dry(), &held)
                .await;
            record(store, r).await;
        }
    }

    /// The gateway to act through, or the outcome when nothing is sent (dry run, or no
    /// gateway: a failure).
    fn gateway_for(&self, dry_run: bool, what: &str) -> Result<&dyn GatewayRpc, Outcome> {
        match &self.gateway {
            _ if dry_run => Err(Outcome {
                steps: vec!["dry run: nothing sent".into()],
                ..Outcome::default()
            }),
            None => Err(Outcome {
                error: Some(format!("no gateway connection to {what} through")),
                ..Outcome::default()
            }),
            Some(g) => Ok(g.as_ref()),
        }
    }

    /// Pause `target` (`agent:<id>` or `gateway`) for `alert_id` (0: asked by a
    /// person). `held`: cron jobs other paused targets turned off (recorded here too,
    /// so whichever pause ends last turns them on).
    pub async fn pause(
        &self,
        store: &Shared,
        target: &str,
        alert_id: i64,
        held: &HashSet<String>,
    ) -> AlertAction {
        let prefix = key_prefix(target);
        let sessions = recent_sessions(store, target).await;
        let request = json!({
            "sendPolicy": {"method": "config.patch", "add_rule": {"action": "deny", "match": {"keyPrefix": prefix}}},
            "abort": {"method": "sessions.abort", "keys": sessions},
            "crons": {"method": "cron.update", "patch": {"enabled": false}},
        });
        let out = match self.gateway_for(self.dry_run, "pause") {
            Ok(g) => pause_steps(g, target, &prefix, &sessions, held).await,
            Err(o) => o,
        };
        action("pause", target, alert_id, request, self.dry_run, out)
    }

    /// Resume `target`: drop the deny rule, re-enable `crons`. `was_dry_run`: the pause
    /// it undoes was only recorded, so nothing is sent.
    pub async fn resume(
        &self,
        target: &str,
        alert_id: i64,
        crons: &[String],
        was_dry_run: bool,
        held: &HashSet<String>,
    ) -> AlertAction {
        let prefix = key_prefix(target);
        let request = json!({
            "sendPolicy": {"method": "config.patch", "remove_rule": {"action": "deny", "match": {"keyPrefix": prefix}}},
            "crons": {"method": "cron.update", "ids": crons, "patch": {"enabled": true}},
        });
        // A real pause is undone for real even if dry-run was switched on since.
        let dry = was_dry_run;
        let out = match self.gateway_for(dry, "resume") {
            Ok(g) => {
                let own: Vec<String> = crons
                    .iter()
                    .filter(|c| !held.contains(*c))
                    .cloned()
                    .collect();
                resume_steps(g, &prefix, &own).await
            }
            Err(o) => o,
        };
        action("resume", target, alert_id, request, dry, out)
    }
}

fn action(
    kind: &str,
    target: &str,
    alert_id: i64,
    request: Value,
    dry_run: bool,
    out: Outcome,
) -> AlertAction {
    let ok = out.error.is_none();
    let detail = json!({"steps": out.steps, "crons": out.crons, "error": out.error});
    if ok {
        tracing::warn!(%kind, %target, alert_id, dry_run, "gateway action");
    } else {
        tracing::warn!(%kind, %target, alert_id, error = ?out.error, "gateway action failed");
    }
    AlertAction {
        id: 0,
        alert_id,
        kind: kind.into(),
        target: target.into(),
        request: request.to_string(),
        dry_run,
        ok,
        detail: detail.to_string(),
        at_ms: now_ms(),
    }
}

async fn record(store: &Shared, a: AlertAction) {
    let store = store.clone();
    let written = tokio::task::spawn_blocking(move || {
        let mut s = store.lock().unwrap_or_else(PoisonError::into_inner);
        s.record_action(&a)
    })
    .await;
    if let Ok(Err(e)) = written {
        tracing::warn!(error = %e, "cannot record a gateway action");
    }
}

/// A target's pause history since its last successful resume.
struct TargetState {
    /// Newest first.
    since_resume: Vec<AlertAction>,
    /// Alerts up to this id no longer pause it (a person resumed it after they fired).
    boundary: i64,
}

impl TargetState {
    fn pauses(&self) -> impl Iterator<Item = &AlertAction> {
        self.since_resume.iter().filter(|a| a.kind == "pause")
    }

    /// A pause took effect and was not undone; with `dry_run` off, only a real one
    /// counts (a dry-run record must not stand in for the real pause).
    fn in_force(&self, dry_run: bool) -> bool {
        self.pauses().any(|a| a.ok && (dry_run || !a.dry_run))
    }

    /// Any pause attempt since the last resume (a failed one may have turned jobs off).
    fn paused_at_all(&self) -> bool {
        self.pauses().next().is_some()
    }

    /// Failed `kind` attempts in a row wait 1 min, doubling, at most 1 h.
    fn waiting(&self, now: i64, kind: &str) -> bool {
        let failed: Vec<&AlertAction> = self
            .since_resume
            .iter()
            .take_while(|a| a.kind == kind && !a.ok)
            .collect();
        let Some(last) = failed.first() else {
            return false;
        };
        let shift = failed.len().saturating_sub(1).min(6) as u32;
        let wait = (RETRY_MS << shift).min(3_600_000);
        now - last.at_ms < wait
    }

    /// Every cron job any attempt turned off.
    fn crons(&self) -> Vec<String> {
        let mut all: Vec<String> = self.pauses().flat_map(crons_of).collect();
        all.sort();
        all.dedup();
        all
    }

    /// The alert the (first) pause was for.
    fn alert_id(&self) -> i64 {
        self.pauses().last().map_or(0, |a| a.alert_id)
    }

    /// Every pause that took effect was only recorded (dry run): undoing it sends nothing.
    fn all_dry(&self) -> bool {
        self.pauses()
            .filter(|a| a.ok || !a.dry_run)
            .all(|a| a.dry_run)
    }
}

/// The history of every target that is wanted or may still be paused (read off the
/// async threads: the store lock may be held by an evaluation).
async fn read_state(
    store: &Shared,
    wanted: &[PauseWanted],
) -> Option<BTreeMap<String, TargetState>> {
    let store = store.clone();
    let mut targets: Vec<String> = wanted.iter().map(|w| w.target.clone()).collect();
    let read = move || -> Result<BTreeMap<String, TargetState>, clawscope_store::StoreError> {
        let s = store.lock().unwrap_or_else(PoisonError::into_inner);
        targets.extend(s.pause_targets()?);
        targets.sort();
        targets.dedup();
        let mut out = BTreeMap::new();
        for t in targets {
            let since_resume = s.actions_since_resume(&t)?;
            let boundary = s.last_manual_resume(&t)?.map_or(0, |a| boundary_of(&a));
            out.insert(
                t,
                TargetState {
                    since_resume,
                    boundary,
                },
            );
        }
        Ok(out)
    };
    match tokio::task::spawn_blocking(read).await {
        Ok(Ok(state)) => Some(state),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot read the pause history");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "pause history task failed");
            None
        }
    }
}

/// Cron jobs that targets other than `target`, paused now, turned off (for a pause or
/// resume made outside the reconciler: `clawscope alerts pause|resume`).
pub fn held_crons(
    store: &dyn clawscope_store::Store,
    target: &str,
) -> Result<HashSet<String>, clawscope_store::StoreError> {
    let mut state = BTreeMap::new();
    for t in store.pause_targets()? {
        let since_resume = store.actions_since_resume(&t)?;
        state.insert(
            t,
            TargetState {
                since_resume,
                boundary: 0,
            },
        );
    }
    Ok(held_by_others(&state, target))
}

/// Cron jobs that paused targets other than `target` turned off.
fn held_by_others(state: &BTreeMap<String, TargetState>, target: &str) -> HashSet<String> {
    state
        .iter()
        .filter(|(t, s)| t.as_str() != target && s.in_force(false))
        .flat_map(|(_, s)| s.crons())
        .collect()
}

/// The boundary a person's resume recorded (the highest alert id firing then).
fn boundary_of(a: &AlertAction) -> i64 {
    serde_json::from_str::<Value>(&a.detail)
        .ok()
        .and_then(|d| d["boundary"].as_i64())
        .unwrap_or(0)
}

/// The boundary for a person's resume now: the highest firing alert id.
pub fn resume_boundary(
    store: &dyn clawscope_store::Store,
) -> Result<i64, clawscope_store::StoreError> {
    Ok(store
        .alerts(&clawscope_core::alert::AlertFilter {
            state: Some(clawscope_core::alert::AlertState::Firing),
            ..Default::default()
        })?
        .iter()
        .map(|a| a.id)
        .max()
        .unwrap_or(0))
}

/// Every cron job the pause attempts on `target` since its last resume turned off
/// (what a resume must turn on again).
pub fn crons_to_restore(
    store: &dyn clawscope_store::Store,
    target: &str,
) -> Result<Vec<String>, clawscope_store::StoreError> {
    let state = TargetState {
        since_resume: store.actions_since_resume(target)?,
        boundary: 0,
    };
    Ok(state.crons())
}

/// The cron ids a recorded pause disabled.
fn crons_of(a: &AlertAction) -> Vec<String> {
    serde_json::from_str::<Value>(&a.detail)
        .ok()
        .and_then(|d| {
            d["crons"].as_array().map(|v| {
                v.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// The target's sessions active in the last hour, most recent first.
async fn recent_sessions(store: &Shared, target: &str) -> Vec<String> {
    let store = store.clone();
    let agent = target.strip_prefix("agent:").map(str::to_string);
    let read = move || {
        let s = store.lock().unwrap_or_else(PoisonError::into_inner);
        s.sessions(&SessionFilter {
            usage: UsageFilter {
                since_ms: Some(now_ms() - 3_600_000),
                agent,
                ..UsageFilter::default()
            },
            order: SessionOrder::LastActivity,
            limit: MAX_ABORTS,
            ..SessionFilter::default()
        })
        .map(|v| v.into_iter().map(|s| s.session_key).collect::<Vec<_>>())
        .unwrap_or_default()
    };
    tokio::task::spawn_blocking(read).await.unwrap_or_default()
}

/// The current send-policy rules and the config hash to patch against.
async fn send_policy(g: &dyn GatewayRpc) -> Result<(String, Value, Vec<Value>), String> {
    let cfg = g.call("config.get", json!({})).await?;
    let hash = cfg["hash"]
        .as_str()
        .ok_or("config.get answered without a hash")?
        .to_string();
    let policy = &cfg["config"]["session"]["sendPolicy"];
    let default = policy.get("default").cloned().unwrap_or(json!("allow"));
    let rules = policy["rules"].as_array().cloned().unwrap_or_default();
    Ok((hash, default, rules))
}

async fn pause_steps(
    g: &dyn GatewayRpc,
    target: &str,
    prefix: &str,
    sessions: &[String],
    held: &HashSet<String>,
) -> Outcome {
    let mut out = Outcome::default();
    // 1. The deny rule.
    match send_policy(g).await {
        Ok((hash, default, mut rules)) => {
            if rules.iter().any(|r| is_ours(r, prefix)) {
                out.steps
                    .push(format!("send policy already denies {prefix}*"));
            } else {
                rules.push(json!({"action": "deny", "match": {"keyPrefix": prefix}}));
                let raw = json!({"session": {"sendPolicy": {"default": default, "rules": rules}}});
                let params = json!({"raw": raw.to_string(), "baseHash": hash, "note": format!("clawscope: budget pause of {target}")});
                match g.call("config.patch", params).await {
                    Ok(_) => out.steps.push(format!("send policy denies {prefix}*")),
                    Err(e) => out.error = Some(format!("config.patch: {e}")),
                }
            }
        }
        Err(e) => out.error = Some(format!("config.get: {e}")),
    }
    // 2. Running turns.
    for key in sessions {
        match g.call("sessions.abort", json!({"key": key})).await {
            Ok(v) if v["status"] == "aborted" => {
                out.steps.push(format!("aborted the run in {key}"))
            }
            Ok(_) => {}
            Err(e) => out.steps.push(format!("sessions.abort {key}: {e}")),
        }
    }
    // 3. Cron jobs (disabled ones too: a job another pause turned off is ours as well).
    match g.call("cron.list", json!({"includeDisabled": true})).await {
        Ok(list) => {
            let agent = target.strip_prefix("agent:");
            for job in list["jobs"].as_array().into_iter().flatten() {
                let Some(id) = job["id"].as_str() else {
                    continue;
                };
                let mine = agent.is_none_or(|a| job["agentId"].as_str() == Some(a));
                if !mine {
                    continue;
                }
                if job["enabled"] == false {
                    if held.contains(id) {
                        out.crons.push(id.to_string());
                    }
                    continue;
                }
                match g
                    .call(
                        "cron.update",
                        json!({"id": id, "patch": {"enabled": false}}),
                    )
                    .await
                {
                    Ok(_) => out.crons.push(id.to_string()),
                    Err(e) => out.steps.push(format!("cron.update {id}: {e}")),
                }
            }
            out.steps
                .push(format!("disabled {} cron job(s)", out.crons.len()));
        }
        Err(e) => out.steps.push(format!("cron.list: {e}")),
    }
    out
}

async fn resume_steps(g: &dyn GatewayRpc, prefix: &str, crons: &[String]) -> Outcome {
    let mut out = Outcome::default();
    match send_policy(g).await {
        Ok((hash, default, rules)) => {
            let kept: Vec<Value> = rules
                .iter()
                .filter(|r| !is_ours(r, prefix))
                .cloned()
                .collect();
            if kept.len() == rules.len() {
                out.steps
                    .push(format!("send policy had no rule for {prefix}*"));
            } else {
                let raw = json!({"session": {"sendPolicy": {"default": default, "rules": kept}}});
                let params = json!({"raw": raw.to_string(), "baseHash": hash,
                    "replacePaths": ["session.sendPolicy.rules"], "note": "clawscope: resume"});
                match g.call("config.patch", params).await {
                    Ok(_) => out
                        .steps
                        .push(format!("send policy allows {prefix}* again")),
                    Err(e) => out.error = Some(format!("config.patch: {e}")),
                }
            }
        }
        Err(e) => out.error = Some(format!("config.get: {e}")),
    }
    if out.error.is_some() {
        // The deny rule is still there: the jobs stay off until the resume succeeds.
        return out;
    }
    for id in crons {
        match g
            .call("cron.update", json!({"id": id, "patch": {"enabled": true}}))
            .await
        {
            Ok(_) => out.crons.push(id.clone()),
            Err(e) => out.steps.push(format!("cron.update {id}: {e}")),
        }
    }
    out
}
