//! The running service's halves over a real SQLite store: evaluation → outbox →
//! delivery to a real HTTP receiver on loopback (with a retry), and the pause
//! reconciler against a gateway double that keeps the state the real gateway keeps
//! (config with its hash, cron jobs) and refuses stale hashes like it does.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use clawscope_alerts::config::AlertsConfig;
use clawscope_alerts::engine::PauseWanted;
use clawscope_alerts::gateway::{BoxFuture, GatewayRpc};
use clawscope_alerts::pause::Pauser;
use clawscope_alerts::rules::BudgetAmounts;
use clawscope_alerts::service::{AlertService, ServiceConfig};
use clawscope_core::alert::{AlertFilter, AlertState, DeliveryStatus};
use clawscope_core::batch::Batch;
use clawscope_core::openclaw::transcript::TranscriptState;
use clawscope_store::{AlertStore, SqliteStore, Store};

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// An assistant turn that cost `usd`, `ago_ms` before now.
fn spend(store: &mut SqliteStore, id: u32, usd: f64, ago_ms: i64) {
    let mut st = TranscriptState {
        agent: Some("main".into()),
        session_key: "agent:main:main".into(),
        session_id: "s1".into(),
        ..TranscriptState::default()
    };
    let ts = now_ms() - ago_ms;
    let line = json!({"type": "message", "id": format!("{id:08x}-0000-4000-8000-000000000000"),
        "timestamp": chrono::DateTime::from_timestamp_millis(ts).map(|t| t.to_rfc3339()),
        "message": {"role": "assistant", "content": [{"type": "text", "text": "ok"}],
            "provider": "mock", "model": "mock-model",
            "usage": {"input": 10, "output": 10, "totalTokens": 20, "cost": {"total": usd}},
            "stopReason": "stop", "timestamp": ts}});
    let mut events = Vec::new();
    st.parse_line(line.to_string().as_bytes(), None, &mut events)
        .expect("parses");
    store
        .apply(&Batch {
            events,
            ..Batch::default()
        })
        .expect("apply");
}

/// Starts a receiver that answers with `statuses` in turn (then 200) and records bodies.
async fn receiver(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let script = Arc::new(Mutex::new(statuses));
    let s2 = seen.clone();
    let app = Router::new().route(
        "/hook",
        post(move |body: String| {
            let seen = s2.clone();
            let script = script.clone();
            async move {
                seen.lock()
                    .unwrap()
                    .push(serde_json::from_str(&body).unwrap_or(Value::Null));
                let mut s = script.lock().unwrap();
                let code = if s.is_empty() { 200 } else { s.remove(0) };
                StatusCode::from_u16(code).unwrap()
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_is_queued_then_delivered_after_one_retry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let mut store = SqliteStore::open(&path).unwrap();
    spend(&mut store, 1, 2.5, 60_000);
    let (url, seen) = receiver(vec![503]).await;
    let mut alerts: AlertsConfig = toml::from_str(&format!(
        "[channels.rec]\nkind = \"webhook\"\nurl = \"{url}\"\n[rules.budget_day]\nusd = 2.0\nwarn_pct = 100.0\n"
    ))
    .unwrap();
    // Only the budget rule.
    for id in [
        "session_cost",
        "hourly_burn",
        "cost_spike",
        "volume",
        "context_warning",
        "context_critical",
        "hung",
        "error_rate",
        "tool_loop",
        "gateway_silent",
        "cron_failed",
        "cron_overdue",
        "budget_week",
        "budget_month",
    ] {
        alerts
            .rules
            .insert(id.into(), toml::from_str("enabled = false").unwrap());
    }
    let service = AlertService::new(
        Box::new(SqliteStore::open(&path).unwrap()),
        ServiceConfig {
            alerts,
            budget: BudgetAmounts::default(),
            tz: chrono_tz::UTC,
            gateway: None,
            probe: None,
        },
    )
    .unwrap();
    assert!(
        service.evaluate_once(now_ms()).unwrap(),
        "a notification was queued"
    );
    assert!(!service.evaluate_once(now_ms()).unwrap(), "and only once");
    let firing = store
        .alerts(&AlertFilter {
            state: Some(AlertState::Firing),
            ..AlertFilter::default()
        })
        .unwrap();
    assert_eq!(firing.len(), 1);
    assert_eq!(firing[0].rule_id, "budget_day");

    service.deliver_due(now_ms()).await;
    let d = store.deliveries(None, 0).unwrap();
    assert_eq!((d[0].status, d[0].attempts), (DeliveryStatus::Pending, 1));
    assert!(
        d[0].last_error.as_deref().unwrap_or("").contains("503"),
        "{:?}",
        d[0].last_error
    );
    assert!(
        d[0].next_attempt_ms >= now_ms() + 5_000,
        "retried later, not at once"
    );
    service.deliver_due(now_ms()).await;
    assert_eq!(
        store.deliveries(None, 0).unwrap()[0].attempts,
        1,
        "not due yet"
    );
    service.deliver_due(now_ms() + 11_000).await;
    let d = store.deliveries(None, 0).unwrap();
    assert_eq!((d[0].status, d[0].attempts), (DeliveryStatus::Sent, 2));
    let bodies = seen.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[1]["rule"], "budget_day");
    assert_eq!(bodies[1]["transition"], "fire");
}

/// A gateway double with the state the pause touches.
#[derive(Default)]
struct FakeGateway {
    state: Mutex<GwState>,
}

#[derive(Default)]
struct GwState {
    hash: u64,
    rules: Vec<Value>,
    crons: BTreeMap<String, (String, bool)>,
    calls: Vec<String>,
}

impl GatewayRpc for FakeGateway {
    fn call<'a>(&'a self, method: &'a str, params: Value) -> BoxFuture<'a, Result<Value, String>> {
        Box::pin(async move {
            let mut g = self.state.lock().unwrap();
            g.calls.push(method.to_string());
            match method {
                "config.get" => Ok(json!({"hash": format!("h{}", g.hash),
                    "config": {"session": {"sendPolicy": {"default": "allow", "rules": g.rules}}}})),
                "config.patch" => {
                    if params["baseHash"] != format!("h{}", g.hash) {
                        return Err("INVALID_REQUEST: config changed since last load; re-run config.get and retry".into());
                    }
                    let raw: Value = serde_json::from_str(params["raw"].as_str().unwrap_or("{}"))
                        .map_err(|e| e.to_string())?;
                    let new = raw["session"]["sendPolicy"]["rules"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    if new.len() < g.rules.len() && params["replacePaths"].is_null() {
                        return Err(
                            "INVALID_REQUEST: config.patch would remove entries from array path(s)"
                                .into(),
                        );
                    }
                    g.rules = new;
                    g.hash += 1;
                    Ok(json!({"ok": true}))
                }
                // Like the gateway: disabled jobs only with `includeDisabled`.
                "cron.list" => Ok(json!({"jobs": g.crons.iter()
                    .filter(|(_, (_, on))| *on || params["includeDisabled"] == true)
                    .map(|(id, (agent, on))| json!({"id": id, "agentId": agent, "enabled": on})).collect::<Vec<_>>()})),
                "cron.update" => {
                    let id = params["id"].as_str().unwrap_or("").to_string();
                    let on = params["patch"]["enabled"]
                        .as_bool()
                        .ok_or("patch.enabled")?;
                    let job = g
                        .crons
                        .get_mut(&id)
                        .ok_or(format!("INVALID_REQUEST: unknown cron job id: {id}"))?;
                    job.1 = on;
                    Ok(json!({"id": id, "enabled": on}))
                }
                "sessions.abort" => Ok(json!({"ok": true, "status": "no-active-run"})),
                other => Err(format!("INVALID_REQUEST: unknown method {other}")),
            }
        })
    }
}

fn gateway() -> Arc<FakeGateway> {
    let g = FakeGateway::default();
    {
        let mut s = g.state.lock().unwrap();
        s.rules = vec![json!({"action": "deny", "match": {"channel": "discord"}})];
        s.crons.insert("j-main".into(), ("main".into(), true));
        s.crons.insert("j-ops".into(), ("ops".into(), true));
    }
    Arc::new(g)
}

/// A firing alert with id 1 (a budget breach), in a fresh store.
/// Fire an alert of `rule` on `scope` in `store`.
fn add_alert(store: &mut dyn Store, rule: &str, scope: &str) {
    use clawscope_core::alert::Condition;
    use clawscope_store::{AlertChanges, NewAlert};
    let c = Condition {
        rule_id: rule.into(),
        scope: scope.into(),
        value: 3.0,
        threshold: 2.0,
        message: "over".into(),
        observed_ms: now_ms(),
        ..Condition::default()
    };
    store
        .apply_alerts(&AlertChanges {
            fired: vec![NewAlert {
                condition: c,
                ..NewAlert::default()
            }],
            ..AlertChanges::default()
        })
        .unwrap();
}

/// A store with one firing alert (id 1): `main_daily` on `agent:main`.
fn store_with_alert() -> (tempfile::TempDir, Arc<Mutex<Box<dyn Store>>>) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    add_alert(&mut s, "main_daily", "agent:main");
    (dir, Arc::new(Mutex::new(Box::new(s))))
}

fn resolve(store: &Arc<Mutex<Box<dyn Store>>>, id: i64) {
    use clawscope_store::{AlertChanges, ResolvedAlert};
    store
        .lock()
        .unwrap()
        .apply_alerts(&AlertChanges {
            resolved: vec![ResolvedAlert {
                id,
                resolved_ms: now_ms(),
                deliveries: vec![],
            }],
            ..AlertChanges::default()
        })
        .unwrap();
}

fn want() -> Vec<PauseWanted> {
    vec![PauseWanted {
        alert_id: 1,
        target: "agent:main".into(),
        fired_ms: now_ms() - 60_000,
    }]
}

/// A second firing alert (id 2) on another rule, same target.
fn second_alert(store: &Arc<Mutex<Box<dyn Store>>>) {
    add_alert(store.lock().unwrap().as_mut(), "main_weekly", "agent:main");
}

#[tokio::test]
async fn two_alerts_on_one_agent_pause_it_once_and_it_resumes_when_both_resolved() {
    let (_dir, store) = store_with_alert();
    second_alert(&store);
    let g = gateway();
    let pauser = Pauser::new(Some(g.clone() as Arc<dyn GatewayRpc>), false);
    let both = vec![
        PauseWanted {
            alert_id: 1,
            target: "agent:main".into(),
            fired_ms: now_ms() - 60_000,
        },
        PauseWanted {
            alert_id: 2,
            target: "agent:main".into(),
            fired_ms: now_ms() - 30_000,
        },
    ];
    pauser.reconcile(&store, both.clone()).await;
    pauser.reconcile(&store, both).await;
    assert_eq!(
        store.lock().unwrap().actions(0).unwrap().len(),
        1,
        "one pause for both alerts"
    );
    // The newer alert resolves first: still paused.
    resolve(&store, 2);
    pauser.reconcile(&store, want()).await;
    assert_eq!(store.lock().unwrap().actions(0).unwrap().len(), 1);
    assert!(!g.state.lock().unwrap().crons["j-main"].1, "still paused");
    resolve(&store, 1);
    pauser.reconcile(&store, vec![]).await;
    let a = store.lock().unwrap().actions(0).unwrap();
    assert_eq!((a.len(), a[0].kind.as_str(), a[0].ok), (2, "resume", true));
    assert!(g.state.lock().unwrap().crons["j-main"].1);
}

#[tokio::test]
async fn jobs_a_failed_pause_turned_off_are_turned_on_at_resume() {
    let (_dir, store) = store_with_alert();
    let g = gateway();
    // Someone changes the config between our config.get and config.patch: the patch is
    // refused (stale hash), but the abort and the cron step still ran.
    struct Stale(Arc<FakeGateway>);
    impl GatewayRpc for Stale {
        fn call<'a>(
            &'a self,
            method: &'a str,
            params: Value,
        ) -> BoxFuture<'a, Result<Value, String>> {
            Box::pin(async move {
                let r = self.0.call(method, params).await;
                if method == "config.get" {
                    self.0.state.lock().unwrap().hash += 1;
                }
                r
            })
        }
    }
    let pauser = Pauser::new(
        Some(Arc::new(Stale(g.clone())) as Arc<dyn GatewayRpc>),
        false,
    );
    pauser.reconcile(&store, want()).await;
    let a = store.lock().unwrap().actions(0).unwrap();
    assert!(!a[0].ok, "the deny rule was refused");
    assert!(
        !g.state.lock().unwrap().crons["j-main"].1,
        "but the job is off"
    );
    resolve(&store, 1);
    let ok = Pauser::new(Some(g.clone() as Arc<dyn GatewayRpc>), false);
    ok.reconcile(&store, vec![]).await;
    assert!(
        g.state.lock().unwrap().crons["j-main"].1,
        "the failed attempt's job is on again"
    );
    let a = store.lock().unwrap().actions(0).unwrap();
    assert_eq!((a[0].kind.as_str(), a[0].ok), ("resume", true));
}

#[tokio::test]
async fn a_pause_is_made_once_per_alert_and_undone_exactly_when_it_resolves() {
    let (_dir, store) = store_with_alert();
    let g = gateway();
    let pauser = Pauser::new(Some(g.clone() as Arc<dyn GatewayRpc>), false);
    pauser.reconcile(&store, want()).await;
    {
        let s = g.state.lock().unwrap();
        assert_eq!(s.rules.len(), 2, "the user's rule is kept and ours added");
        assert_eq!(
            s.rules[1],
            json!({"action": "deny", "match": {"keyPrefix": "agent:main:"}})
        );
        assert!(!s.crons["j-main"].1, "main's job disabled");
        assert!(s.crons["j-ops"].1, "another agent's job untouched");
    }
    let calls_after_pause = g.state.lock().unwrap().calls.len();
    pauser.reconcile(&store, want()).await;
    assert_eq!(
        g.state.lock().unwrap().calls.len(),
        calls_after_pause,
        "nothing sent twice"
    );
    let actions = store.lock().unwrap().actions(0).unwrap();
    assert_eq!(actions.len(), 1);
    assert!(actions[0].ok && actions[0].kind == "pause" && actions[0].detail.contains("j-main"));

    resolve(&store, 1);
    pauser.reconcile(&store, vec![]).await;
    {
        let s = g.state.lock().unwrap();
        assert_eq!(
            s.rules,
            vec![json!({"action": "deny", "match": {"channel": "discord"}})],
            "only ours removed"
        );
        assert!(s.crons["j-main"].1, "the job we disabled is enabled again");
    }
    let actions = store.lock().unwrap().actions(0).unwrap();
    assert_eq!(actions[0].kind, "resume");
    assert!(actions[0].ok);
    pauser.reconcile(&store, vec![]).await;
    assert_eq!(
        store.lock().unwrap().actions(0).unwrap().len(),
        2,
        "resumed once"
    );
}

#[tokio::test]
async fn a_person_resuming_wins_until_a_newer_alert_fires() {
    let (_dir, store) = store_with_alert();
    let g = gateway();
    let pauser = Pauser::new(Some(g.clone() as Arc<dyn GatewayRpc>), false);
    pauser.reconcile(&store, want()).await;
    // A person resumes while alert 1 fires: the boundary is alert 1.
    let mut a = pauser
        .resume(
            "agent:main",
            0,
            &["j-main".to_string()],
            false,
            &Default::default(),
        )
        .await;
    assert!(a.ok);
    a.detail = json!({"boundary": 1}).to_string();
    store.lock().unwrap().record_action(&a).unwrap();
    pauser.reconcile(&store, want()).await;
    {
        let s = g.state.lock().unwrap();
        assert_eq!(
            s.rules.len(),
            1,
            "not paused again while the same alert fires"
        );
        assert!(s.crons["j-main"].1);
    }
    // A newer alert on the same agent pauses it again.
    second_alert(&store);
    let mut both = want();
    both.push(PauseWanted {
        alert_id: 2,
        target: "agent:main".into(),
        fired_ms: now_ms(),
    });
    pauser.reconcile(&store, both).await;
    let s = g.state.lock().unwrap();
    assert_eq!(s.rules.len(), 2, "paused for the newer alert");
    assert!(!s.crons["j-main"].1);
}

#[tokio::test]
async fn a_dry_run_pause_is_made_for_real_once_dry_run_is_off() {
    let (_dir, store) = store_with_alert();
    let g = gateway();
    Pauser::new(Some(g.clone() as Arc<dyn GatewayRpc>), true)
        .reconcile(&store, want())
        .await;
    assert!(g.state.lock().unwrap().calls.is_empty());
    Pauser::new(Some(g.clone() as Arc<dyn GatewayRpc>), false)
        .reconcile(&store, want())
        .await;
    assert_eq!(
        g.state.lock().unwrap().rules.len(),
        2,
        "the real pause is made"
    );
    resolve(&store, 1);
    Pauser::new(Some(g.clone() as Arc<dyn GatewayRpc>), false)
        .reconcile(&store, vec![])
        .await;
    let a = store.lock().unwrap().actions(0).unwrap();
    assert_eq!(
        (a[0].kind.as_str(), a[0].dry_run, a[0].ok),
        ("resume", false, true),
        "undone for real"
    );
    assert_eq!(g.state.lock().unwrap().rules.len(), 1);
}

#[tokio::test]
async fn a_gateway_pause_ending_first_leaves_a_still_paused_agents_jobs_off() {
    let (_dir, store) = store_with_alert();
    // Alert 2: the gateway-wide budget.
    add_alert(store.lock().unwrap().as_mut(), "budget_day", "gateway");
    let g = gateway();
    let pauser = Pauser::new(Some(g.clone() as Arc<dyn GatewayRpc>), false);
    let gw = PauseWanted {
        alert_id: 2,
        target: "gateway".into(),
        fired_ms: now_ms(),
    };
    pauser.reconcile(&store, vec![gw.clone()]).await;
    let mut both = want();
    both.push(gw);
    pauser.reconcile(&store, both).await;
    assert!(!g.state.lock().unwrap().crons["j-main"].1);
    // The gateway alert resolves first: main is still paused, its job stays off.
    resolve(&store, 2);
    pauser.reconcile(&store, want()).await;
    {
        let s = g.state.lock().unwrap();
        assert!(s.crons["j-ops"].1, "ops's job is back");
        assert!(
            !s.crons["j-main"].1,
            "main's job stays off while main is paused"
        );
    }
    resolve(&store, 1);
    pauser.reconcile(&store, vec![]).await;
    assert!(
        g.state.lock().unwrap().crons["j-main"].1,
        "on again when main's pause ends"
    );
}

#[tokio::test]
async fn a_real_pause_is_undone_for_real_even_after_dry_run_is_switched_on() {
    let (_dir, store) = store_with_alert();
    let g = gateway();
    Pauser::new(Some(g.clone() as Arc<dyn GatewayRpc>), false)
        .reconcile(&store, want())
        .await;
    resolve(&store, 1);
    Pauser::new(Some(g.clone() as Arc<dyn GatewayRpc>), true)
        .reconcile(&store, vec![])
        .await;
    let a = store.lock().unwrap().actions(0).unwrap();
    assert_eq!((a[0].kind.as_str(), a[0].dry_run), ("resume", false));
    assert_eq!(
        g.state.lock().unwrap().rules.len(),
        1,
        "our deny rule is gone"
    );
}

#[tokio::test]
async fn dry_run_records_and_sends_nothing() {
    let (_dir, store) = store_with_alert();
    let g = gateway();
    let pauser = Pauser::new(Some(g.clone() as Arc<dyn GatewayRpc>), true);
    pauser.reconcile(&store, want()).await;
    assert!(g.state.lock().unwrap().calls.is_empty());
    let a = store.lock().unwrap().actions(0).unwrap();
    assert_eq!(a.len(), 1);
    assert!(a[0].dry_run && a[0].ok);
    assert!(a[0].request.contains("agent:main:"), "{}", a[0].request);
    resolve(&store, 1);
    pauser.reconcile(&store, vec![]).await;
    let a = store.lock().unwrap().actions(0).unwrap();
    assert_eq!((a[0].kind.as_str(), a[0].dry_run), ("resume", true));
    assert!(g.state.lock().unwrap().calls.is_empty());
}

#[tokio::test]
async fn without_a_gateway_a_pause_fails_visibly_and_is_retried_later() {
    let (_dir, store) = store_with_alert();
    let pauser = Pauser::new(None, false);
    let count = || store.lock().unwrap().actions(0).unwrap().len();
    let t0 = now_ms();
    pauser.reconcile_at(&store, want(), t0).await;
    let a = store.lock().unwrap().actions(0).unwrap();
    assert!(!a[0].ok);
    assert!(a[0].detail.contains("no gateway"), "{}", a[0].detail);
    let first = a[0].at_ms;
    pauser.reconcile_at(&store, want(), first + 30_000).await;
    assert_eq!(count(), 1, "not again within a minute");
    pauser.reconcile_at(&store, want(), first + 61_000).await;
    assert_eq!(count(), 2, "retried after a minute");
    let second = store.lock().unwrap().actions(0).unwrap()[0].at_ms;
    pauser.reconcile_at(&store, want(), second + 90_000).await;
    assert_eq!(count(), 2, "after two failures the wait is two minutes");
    pauser.reconcile_at(&store, want(), second + 121_000).await;
    assert_eq!(count(), 3);
}
