//! The alert endpoints and the `/alerts` page, in process: a real SQLite store file
//! seeded through `apply_alerts` (firing and resolved alerts with their deliveries, a
//! gateway action) behind the real router.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::http::StatusCode;
use axum::Router;
use serde_json::{json, Value};

use clawscope_alerts::rules::{BudgetAmounts, RuleEdit};
use clawscope_alerts::AlertsConfig;
use clawscope_core::alert::{AlertAction, Condition, Notification, Severity, Transition};
use clawscope_server::{router, AlertsView, AppState};
use clawscope_store::{
    AlertChanges, AlertStore, DeliveryOutcome, NewAlert, ResolvedAlert, SqliteStore,
};
use common::{now_ms, send, unescape, Payload, Resp};

const TOKEN: &str = "alert-test-token-0123456789";
const SCRIPT: &str = "<script>alert(1)</script>";
/// The letters after a fake API key's prefix (long enough to be masked).
const KEY_TAIL: &str = "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGhIjKlMnOpQr";
const SESSION_KEY: &str = "agent:main:main";
const MINUTE: i64 = 60_000;

// ---------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------

/// Ids of the seeded alerts.
struct Seeded {
    /// `context_critical` on a session, firing, with a delivery that failed once.
    context: i64,
    /// `hourly_burn` on the gateway, firing, hostile message; its delivery failed for good.
    burn: i64,
    /// `tool_loop`, resolved; its deliveries went out.
    resolved: i64,
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    ids: Seeded,
}

fn notification(rule: &str, scope: &str, t: Transition) -> Notification {
    Notification {
        transition: t,
        rule_id: rule.into(),
        scope: scope.into(),
        title: format!("{rule} on {scope}"),
        text: format!("{rule} fired"),
        url: Some("http://127.0.0.1:3200/alerts".into()),
        ..Notification::default()
    }
}

fn condition(rule: &str, scope: &str, severity: Severity, message: &str, at: i64) -> Condition {
    Condition {
        rule_id: rule.into(),
        scope: scope.into(),
        severity,
        value: 97.0,
        threshold: 95.0,
        message: message.into(),
        observed_ms: at,
    }
}

fn fired(c: Condition, channels: &[&str]) -> NewAlert {
    NewAlert {
        deliveries: channels
            .iter()
            .map(|ch| {
                (
                    ch.to_string(),
                    notification(&c.rule_id, &c.scope, Transition::Fire),
                )
            })
            .collect(),
        condition: c,
        suppressed: None,
    }
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clawscope.db");
        let mut s = SqliteStore::open(&path).unwrap();
        let now = now_ms();
        // An alert that fires and resolves (first), then two that fire.
        let first = s
            .apply_alerts(&AlertChanges {
                fired: vec![fired(
                    condition(
                        "tool_loop",
                        "session:agent:loop",
                        Severity::Warning,
                        "exec called 6 times in a row",
                        now - 120 * MINUTE,
                    ),
                    &["ops"],
                )],
                ..AlertChanges::default()
            })
            .unwrap();
        let resolved = first[0];
        s.apply_alerts(&AlertChanges {
            resolved: vec![ResolvedAlert {
                id: resolved,
                resolved_ms: now - 100 * MINUTE,
                deliveries: vec![(
                    "ops".into(),
                    notification("tool_loop", "session:agent:loop", Transition::Resolve),
                )],
            }],
            ..AlertChanges::default()
        })
        .unwrap();
        let ids = s
            .apply_alerts(&AlertChanges {
                fired: vec![
                    fired(
                        condition(
                            "context_critical",
                            &format!("session:{SESSION_KEY}"),
                            Severity::Critical,
                            "context at 97 % of the window",
                            now - 30 * MINUTE,
                        ),
                        &["ops"],
                    ),
                    fired(
                        condition(
                            "hourly_burn",
                            "gateway",
                            Severity::Warning,
                            &format!("burn {SCRIPT} with key sk-ant-api03-{KEY_TAIL}"),
                            now - 10 * MINUTE,
                        ),
                        &["pager"],
                    ),
                ],
                cursor: Some(42),
                ..AlertChanges::default()
            })
            .unwrap();
        let (context, burn) = (ids[0], ids[1]);
        // Outbox: the resolved alert's two went out, the context one failed once and
        // waits, the burn one failed for good.
        for d in s.deliveries(None, 0).unwrap() {
            let outcome = if d.alert_id == resolved {
                DeliveryOutcome::Sent {
                    at_ms: now - 99 * MINUTE,
                }
            } else if d.alert_id == context {
                DeliveryOutcome::Retry {
                    error: "HTTP 502 from the receiver".into(),
                    next_attempt_ms: now + MINUTE,
                }
            } else {
                DeliveryOutcome::Failed {
                    error: format!("HTTP 401: bad key sk-ant-api03-{KEY_TAIL}"),
                }
            };
            s.finish_delivery(d.id, &outcome).unwrap();
        }
        s.record_action(&AlertAction {
            alert_id: 0,
            kind: "pause".into(),
            target: "agent:main".into(),
            request: "agents.pause {\"agentId\":\"main\"}".into(),
            dry_run: true,
            ok: true,
            detail: "dry run".into(),
            at_ms: now - 5 * MINUTE,
            ..AlertAction::default()
        })
        .unwrap();
        Fixture {
            _dir: dir,
            path,
            ids: Seeded {
                context,
                burn,
                resolved,
            },
        }
    }

    fn store(&self) -> SqliteStore {
        SqliteStore::open(&self.path).unwrap()
    }

    fn app(&self, token: Option<&str>) -> Router {
        router(AppState::new(
            Box::new(self.store()),
            token.map(str::to_string),
        ))
    }

    fn app_with(&self, token: Option<&str>, view: AlertsView) -> Router {
        router(AppState::new(Box::new(self.store()), token.map(str::to_string)).with_alerts(view))
    }
}

/// A config that edits `hung` and adds a channel-less rule.
fn view() -> AlertsView {
    let mut rules = BTreeMap::new();
    rules.insert(
        "hung".to_string(),
        RuleEdit {
            minutes: Some(10),
            ..RuleEdit::default()
        },
    );
    AlertsView {
        config: AlertsConfig {
            rules,
            ..AlertsConfig::default()
        },
        budget: BudgetAmounts {
            day: Some(25.0),
            ..BudgetAmounts::default()
        },
    }
}

// ---------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------

const BEARER: (&str, &str) = ("Authorization", "Bearer alert-test-token-0123456789");

/// GET as JSON, with the bearer (harmless when the server has no token).
async fn get_json(app: &Router, uri: &str) -> Value {
    let r = send(app, "GET", uri, &[BEARER], Payload::None).await;
    assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
    r.json()
}

/// A write with the bearer.
async fn write(app: &Router, method: &str, uri: &str, body: Option<&str>) -> Resp {
    let payload = body.map_or(Payload::None, Payload::Json);
    send(app, method, uri, &[BEARER], payload).await
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect()
}

fn rule<'a>(rules: &'a Value, id: &str) -> Option<&'a Value> {
    rules["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
}

/// Sign in with the token; the cookie to send back.
async fn sign_in(app: &Router) -> String {
    let r = send(
        app,
        "POST",
        "/login",
        &[],
        Payload::Form(&[("token", TOKEN), ("next", "/alerts")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    r.header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// Every `value` of `<input type="hidden" name="csrf" ...>` on a page.
fn csrf_inputs(body: &str) -> Vec<String> {
    let marker = "name=\"csrf\" value=\"";
    body.match_indices(marker)
        .map(|(i, _)| {
            let from = i + marker.len();
            unescape(&body[from..from + body[from..].find('"').unwrap()])
        })
        .collect()
}

/// `data-csrf` on `<body>`.
fn page_csrf(body: &str) -> String {
    let marker = "data-csrf=\"";
    let from = body.find(marker).unwrap() + marker.len();
    body[from..from + body[from..].find('"').unwrap()].to_string()
}

// ---------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn alerts_list_firing_and_history_with_filters() {
    let fx = Fixture::new();
    let app = fx.app(None);
    let Seeded {
        context,
        burn,
        resolved,
    } = fx.ids;

    let all = get_json(&app, "/api/v1/alerts").await;
    assert_eq!(ids(&all["active"]), vec![burn, context], "newest first");
    assert_eq!(ids(&all["history"]), vec![resolved]);
    assert_eq!(all["silences"], json!([]));
    assert_eq!(all["limit"], 100);

    let c = &all["active"][1];
    assert_eq!(c["rule_id"], "context_critical");
    assert_eq!(c["scope"], format!("session:{SESSION_KEY}"));
    assert_eq!(c["severity"], "critical");
    assert_eq!(c["state"], "firing");
    assert_eq!(c["value"], 97.0);
    assert_eq!(c["threshold"], 95.0);
    assert_eq!(c["acked_ms"], Value::Null);
    assert_eq!(c["resolved_ms"], Value::Null);
    let fired_ms = c["fired_ms"].as_i64().unwrap();
    let fired_at = chrono::DateTime::parse_from_rfc3339(c["fired_at"].as_str().unwrap()).unwrap();
    assert_eq!(fired_at.timestamp_millis(), fired_ms);
    let b = &all["active"][0];
    let msg = b["message"].as_str().unwrap();
    assert!(msg.contains(SCRIPT), "JSON keeps the text: {msg}");
    assert!(!msg.contains(KEY_TAIL), "masked: {msg}");
    let h = &all["history"][0];
    assert_eq!(h["state"], "resolved");
    assert_eq!(h["rule_id"], "tool_loop");
    assert!(h["resolved_ms"].as_i64().unwrap() > h["fired_ms"].as_i64().unwrap());
    assert!(h["resolved_at"].is_string());

    let firing = get_json(&app, "/api/v1/alerts?state=firing").await;
    assert_eq!(ids(&firing["active"]), vec![burn, context]);
    assert_eq!(firing["history"], json!([]));
    let done = get_json(&app, "/api/v1/alerts?state=resolved").await;
    assert_eq!(done["active"], json!([]));
    assert_eq!(ids(&done["history"]), vec![resolved]);
    let by_rule = get_json(&app, "/api/v1/alerts?rule=context_critical").await;
    assert_eq!(ids(&by_rule["active"]), vec![context]);
    assert_eq!(by_rule["history"], json!([]));
    let recent = get_json(&app, "/api/v1/alerts?since=1h").await;
    assert_eq!(ids(&recent["active"]), vec![burn, context]);
    assert_eq!(recent["history"], json!([]), "fired two hours ago");
    let t = now_ms() - 20 * MINUTE;
    let since_ms = get_json(&app, &format!("/api/v1/alerts?since={t}")).await;
    assert_eq!(ids(&since_ms["active"]), vec![burn]);
    let one = get_json(&app, "/api/v1/alerts?limit=1").await;
    assert_eq!(ids(&one["active"]), vec![burn]);
    assert_eq!(one["limit"], 1);

    for bad in [
        "state=open",
        "limit=0",
        "limit=1001",
        "limit=x",
        "since=yesterday",
    ] {
        let r = send(
            &app,
            "GET",
            &format!("/api/v1/alerts?{bad}"),
            &[],
            Payload::None,
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
        assert!(r.json()["error"].is_string(), "{bad}");
    }
}

#[tokio::test]
async fn one_alert_with_its_deliveries_and_no_channel_config() {
    let fx = Fixture::new();
    let app = fx.app(None);
    let d = get_json(&app, &format!("/api/v1/alerts/{}", fx.ids.context)).await;
    assert_eq!(d["alert"]["id"], fx.ids.context);
    assert_eq!(d["alert"]["rule_id"], "context_critical");
    let ds = d["deliveries"].as_array().unwrap();
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0]["channel"], "ops");
    assert_eq!(ds[0]["status"], "pending");
    assert_eq!(ds[0]["attempts"], 1);
    assert_eq!(ds[0]["last_error"], "HTTP 502 from the receiver");
    assert_eq!(ds[0]["sent_ms"], Value::Null);
    assert_eq!(ds[0]["transition"], "fire");
    for hidden in ["notification", "url", "config", "secret"] {
        assert!(ds[0].get(hidden).is_none(), "{hidden} shown");
    }
    assert!(!d.to_string().contains("127.0.0.1:3200"));

    let burn = get_json(&app, &format!("/api/v1/alerts/{}", fx.ids.burn)).await;
    let e = burn["deliveries"][0]["last_error"].as_str().unwrap();
    assert_eq!(burn["deliveries"][0]["status"], "failed");
    assert!(e.starts_with("HTTP 401") && !e.contains(KEY_TAIL), "{e}");

    let r = get_json(&app, &format!("/api/v1/alerts/{}", fx.ids.resolved)).await;
    let sent: Vec<&Value> = r["deliveries"].as_array().unwrap().iter().collect();
    assert_eq!(sent.len(), 2, "fire and resolve");
    assert!(sent
        .iter()
        .all(|d| d["status"] == "sent" && d["sent_ms"].is_i64()));
    let mut transitions: Vec<&str> = sent
        .iter()
        .map(|d| d["transition"].as_str().unwrap())
        .collect();
    transitions.sort();
    assert_eq!(transitions, ["fire", "resolve"]);

    let r = send(&app, "GET", "/api/v1/alerts/999999", &[], Payload::None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(&app, "GET", "/api/v1/alerts/abc", &[], Payload::None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn actions_and_rules_are_listed() {
    let fx = Fixture::new();
    let app = fx.app(None);
    let a = get_json(&app, "/api/v1/alerts/actions").await;
    let list = a["actions"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["kind"], "pause");
    assert_eq!(list[0]["target"], "agent:main");
    assert_eq!(list[0]["dry_run"], true);
    assert!(list[0]["at"].is_string());

    // Without a view: the built-ins, as built in.
    let rules = get_json(&app, "/api/v1/alerts/rules").await;
    let all = rules["rules"].as_array().unwrap();
    assert_eq!(all.len(), 15);
    assert!(all.iter().all(|r| r["origin"] == "builtin"));
    let ctx = rule(&rules, "context_warning").unwrap();
    assert_eq!(ctx["kind"], "context");
    assert_eq!(ctx["enabled"], true);
    assert_eq!(ctx["severity"], "warning");
    assert_eq!(ctx["params"]["pct"], 80.0);
    assert!(ctx["summary"].as_str().unwrap().contains("80 %"));
    assert_eq!(
        rule(&rules, "budget_day").unwrap()["params"]["usd"],
        Value::Null
    );

    // With the config: its edit and the budget amounts.
    let app = fx.app_with(None, view());
    let rules = get_json(&app, "/api/v1/alerts/rules").await;
    let hung = rule(&rules, "hung").unwrap();
    assert_eq!(hung["origin"], "config");
    assert_eq!(hung["params"]["minutes"], 10);
    let day = rule(&rules, "budget_day").unwrap();
    assert_eq!(day["origin"], "builtin");
    assert_eq!(day["params"]["usd"], 25.0);
    assert!(day["summary"].as_str().unwrap().contains("$25.00"));
}

// ---------------------------------------------------------------------------------
// Writes: who may
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn writes_need_a_configured_token_sent_as_a_bearer() {
    let fx = Fixture::new();
    let ack = format!("/api/v1/alerts/{}/ack", fx.ids.context);
    let writes: Vec<(&str, String, Option<&str>)> = vec![
        ("POST", ack.clone(), None),
        (
            "POST",
            "/api/v1/alerts/silences".into(),
            Some(r#"{"minutes": 60}"#),
        ),
        ("DELETE", "/api/v1/alerts/silences/1".into(), None),
        (
            "PUT",
            "/api/v1/alerts/rules/hung".into(),
            Some(r#"{"minutes": 7}"#),
        ),
        ("DELETE", "/api/v1/alerts/rules/hung".into(), None),
        ("POST", "/api/v1/alerts/rules/hung/reset".into(), None),
    ];

    // No token configured: refused whatever is sent, with the way out named.
    let open = fx.app(None);
    for (m, uri, body) in &writes {
        for headers in [&[][..], &[BEARER][..]] {
            let payload = body.map_or(Payload::None, Payload::Json);
            let r = send(&open, m, uri, headers, payload).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{m} {uri}: {}", r.body);
            let e = r.json()["error"].as_str().unwrap().to_string();
            assert!(
                e.contains("--token") && e.contains("CLAWSCOPE_TOKEN"),
                "{e}"
            );
        }
    }
    // Reads stay open on loopback without a token.
    get_json(&open, "/api/v1/alerts").await;

    // A token: missing, wrong, or only the sign-in cookie → 401.
    let app = fx.app(Some(TOKEN));
    let cookie = sign_in(&app).await;
    for (m, uri, body) in &writes {
        for headers in [
            &[][..],
            &[("Authorization", "Bearer wrong")][..],
            &[("Cookie", cookie.as_str())][..],
        ] {
            let payload = body.map_or(Payload::None, Payload::Json);
            let r = send(&app, m, uri, headers, payload).await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{m} {uri} {headers:?}: {}",
                r.body
            );
        }
    }
    // The cookie still reads.
    let r = send(
        &app,
        "GET",
        "/api/v1/alerts",
        &[("Cookie", &cookie)],
        Payload::None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(fx
        .store()
        .alert(fx.ids.context)
        .unwrap()
        .unwrap()
        .acked_ms
        .is_none());

    // The bearer: accepted.
    let r = write(&app, "POST", &ack, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = write(
        &app,
        "PUT",
        "/api/v1/alerts/rules/hung",
        Some(r#"{"minutes": 7}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

// ---------------------------------------------------------------------------------
// Writes: what they do
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn ack_records_who_and_when() {
    let fx = Fixture::new();
    let app = fx.app(Some(TOKEN));
    let uri = format!("/api/v1/alerts/{}/ack", fx.ids.context);
    let before = now_ms();
    let r = write(&app, "POST", &uri, Some(r#"{"by": "oncall"}"#)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let a = &r.json()["alert"];
    assert_eq!(a["id"], fx.ids.context);
    assert_eq!(a["acked_by"], "oncall");
    assert!(a["acked_ms"].as_i64().unwrap() >= before);
    assert!(a["acked_at"].is_string());
    let stored = fx.store().alert(fx.ids.context).unwrap().unwrap();
    assert_eq!(stored.acked_by.as_deref(), Some("oncall"));
    let d = get_json(&app, &format!("/api/v1/alerts/{}", fx.ids.context)).await;
    assert_eq!(d["alert"]["acked_by"], "oncall");

    // No body: "api".
    let r = write(
        &app,
        "POST",
        &format!("/api/v1/alerts/{}/ack", fx.ids.burn),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["alert"]["acked_by"], "api");

    let r = write(&app, "POST", "/api/v1/alerts/999999/ack", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = write(&app, "POST", &uri, Some(r#"{"who": "x"}"#)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "unknown field");
    let r = write(&app, "POST", &uri, Some("not json")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn silences_are_created_listed_and_removed() {
    let fx = Fixture::new();
    let app = fx.app(Some(TOKEN));
    let uri = "/api/v1/alerts/silences";
    for (bad, why) in [
        (r#"{"minutes": 0}"#, "at least 1"),
        (r#"{"minutes": -5}"#, "at least 1"),
        (r#"{"minutes": 129601}"#, "90 days"),
        (r#"{"rule": "hourly_burn"}"#, "`minutes`"),
        (r#"{"minutes": 5, "until_ms": 99999999999999}"#, "not both"),
        (r#"{"until_ms": 1000}"#, "future"),
        (r#"{"rule": "no_such_rule", "minutes": 5}"#, "no_such_rule"),
        (r#"{"minutes": 5, "mins": 5}"#, "unknown field"),
    ] {
        let r = write(&app, "POST", uri, Some(bad)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
        let e = r.json()["error"].as_str().unwrap().to_string();
        assert!(e.contains(why), "{bad}: {e}");
    }
    assert!(
        fx.store().silences(None).unwrap().is_empty(),
        "nothing stored"
    );

    let before = now_ms();
    let r = write(
        &app,
        "POST",
        uri,
        Some(r#"{"rule": "hourly_burn", "scope": "gateway", "minutes": 60, "reason": "deploy"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let s = r.json()["silence"].clone();
    let id = s["id"].as_i64().unwrap();
    assert_eq!(s["rule_id"], "hourly_burn");
    assert_eq!(s["scope"], "gateway");
    assert_eq!(s["reason"], "deploy");
    assert_eq!(s["created_by"], "api");
    let until = s["until_ms"].as_i64().unwrap();
    assert!((before + 60 * MINUTE..=now_ms() + 60 * MINUTE).contains(&until));
    // Any rule on a scope prefix, until a time.
    let t = now_ms() + 2 * 3_600_000;
    let r = write(
        &app,
        "POST",
        uri,
        Some(&format!(
            r#"{{"scope": "agent:*", "until_ms": {t}, "by": "me"}}"#
        )),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let second = r.json()["silence"]["id"].as_i64().unwrap();
    assert_eq!(r.json()["silence"]["rule_id"], Value::Null);
    assert_eq!(r.json()["silence"]["created_by"], "me");

    let listed = get_json(&app, uri).await;
    assert_eq!(ids(&listed["silences"]), vec![second, id]);
    let in_list = get_json(&app, "/api/v1/alerts").await;
    assert_eq!(ids(&in_list["silences"]), vec![second, id]);

    let r = write(&app, "DELETE", &format!("{uri}/{id}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["removed"], id);
    let r = write(&app, "DELETE", &format!("{uri}/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let listed = get_json(&app, uri).await;
    assert_eq!(ids(&listed["silences"]), vec![second]);
}

#[tokio::test]
async fn rule_edits_are_validated_stored_deleted_and_reset() {
    let fx = Fixture::new();
    let app = fx.app_with(Some(TOKEN), view());
    let put = |id: &str| format!("/api/v1/alerts/rules/{id}");

    // Refused: named rule and reason; nothing stored.
    for (id, body, why) in [
        ("context_warning", r#"{"pct": 150}"#, "(0, 100]"),
        ("hourly_burn", r#"{"usd": -1}"#, "positive"),
        ("hung", r#"{"kind": "budget"}"#, "cannot change"),
        ("my_rule", r#"{"usd": 1}"#, "needs `kind`"),
        ("hung", r#"{"action": "pause"}"#, "budget rules"),
        ("context_warning", r#"{"notify": ["nowhere"]}"#, "nowhere"),
        ("Bad%20Id", r#"{"kind": "hung"}"#, "ids are"),
        ("hung", r#"{"minutez": 3}"#, "unknown field"),
        ("hung", "", "JSON object"),
    ] {
        let r = write(&app, "PUT", &put(id), Some(body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{id} {body}: {}", r.body);
        let e = r.json()["error"].as_str().unwrap().to_string();
        assert!(e.contains(why), "{id} {body}: {e}");
        if !id.contains('%') {
            assert!(e.contains(id), "rule named: {e}");
        }
    }
    assert!(fx.store().stored_rules().unwrap().is_empty());

    // Accepted: the effective rule changes and says where it comes from.
    let r = write(
        &app,
        "PUT",
        &put("context_warning"),
        Some(r#"{"pct": 90, "severity": "critical"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let got = &r.json()["rule"];
    assert_eq!(got["id"], "context_warning");
    assert_eq!(got["params"]["pct"], 90.0);
    assert_eq!(got["severity"], "critical");
    assert_eq!(got["origin"], "api");
    let rules = get_json(&app, "/api/v1/alerts/rules").await;
    let cw = rule(&rules, "context_warning").unwrap();
    assert_eq!(
        (cw["params"]["pct"].as_f64(), cw["origin"].as_str()),
        (Some(90.0), Some("api"))
    );
    let stored = fx.store().stored_rules().unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].deleted);
    let edit: RuleEdit = serde_json::from_str(&stored[0].json).unwrap();
    assert_eq!(edit.pct, Some(90.0));
    // An edit over the config's edit of `hung` goes on top of it.
    let r = write(
        &app,
        "PUT",
        &put("hung"),
        Some(r#"{"severity": "critical"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.json()["rule"]["params"]["minutes"],
        10,
        "config's minutes kept"
    );
    // A new rule.
    let r = write(
        &app,
        "PUT",
        &put("short_loop"),
        Some(r#"{"kind": "tool_loop", "count": 3}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["rule"]["kind"], "tool_loop");
    assert_eq!(
        rule(&get_json(&app, "/api/v1/alerts/rules").await, "short_loop").unwrap()["origin"],
        "api"
    );

    // Deleting a built-in switches it off; reset brings it back.
    let r = write(&app, "DELETE", &put("volume"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["rule"]["enabled"], false);
    let rules = get_json(&app, "/api/v1/alerts/rules").await;
    let v = rule(&rules, "volume").unwrap();
    assert_eq!(
        (v["enabled"].as_bool(), v["origin"].as_str()),
        (Some(false), Some("api"))
    );
    assert!(fx
        .store()
        .stored_rules()
        .unwrap()
        .iter()
        .any(|r| r.id == "volume" && r.deleted));
    let r = write(&app, "POST", &format!("{}/reset", put("volume")), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["rule"]["enabled"], true);
    assert_eq!(r.json()["rule"]["origin"], "builtin");
    let r = write(&app, "POST", &format!("{}/reset", put("volume")), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "nothing left to reset");
    // Reset an edit of a config rule: the config's version again.
    let r = write(&app, "POST", &format!("{}/reset", put("hung")), None).await;
    assert_eq!(r.json()["rule"]["origin"], "config");
    assert_eq!(r.json()["rule"]["severity"], "warning");

    // Deleting an added rule removes it.
    let r = write(&app, "DELETE", &put("short_loop"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["rule"], Value::Null);
    assert!(rule(&get_json(&app, "/api/v1/alerts/rules").await, "short_loop").is_none());
    let r = write(&app, "DELETE", &put("short_loop"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = write(&app, "DELETE", &put("never_was"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn alerts_page_is_escaped_and_read_only_without_a_token() {
    let fx = Fixture::new();
    let app = fx.app(None);
    let r = send(&app, "GET", "/alerts", &[], Payload::None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.header("content-type").starts_with("text/html"));
    assert!(r
        .header("content-security-policy")
        .contains("script-src 'self'"));
    let body = &r.body;
    assert!(body.contains("<main id=\"page\" data-page=\"alerts\""));
    assert!(body.contains("data-nav=\"alerts\" href=\"/alerts\" aria-current=\"page\""));
    // The hostile message: escaped, masked.
    assert!(!body.contains(SCRIPT), "raw script in the page");
    assert!(!body.contains("<script>alert"), "raw script in the page");
    let escaped = [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&#60;script&#62;alert(1)&#60;/script&#62;",
    ];
    assert!(
        escaped.iter().any(|e| body.contains(e)),
        "escaped message shown"
    );
    assert!(
        !body.contains(KEY_TAIL) && !body.contains(&KEY_TAIL[..20]),
        "key masked"
    );
    // Rows: firing, history, the session link, deliveries, actions, rules.
    for id in [fx.ids.context, fx.ids.burn, fx.ids.resolved] {
        assert!(body.contains(&format!("id=\"alert-{id}\"")), "alert {id}");
    }
    assert!(body.contains("href=\"/sessions/agent%3Amain%3Amain\""));
    assert!(body.contains("HTTP 502 from the receiver"));
    assert!(body.contains("data-metric=\"alerts-firing\" data-value=\"2\""));
    assert!(body.contains("<tr data-rule-id=\"context_critical\">"));
    assert!(body.contains("data-origin=\"builtin\""));
    assert!(body.contains("agent:main"), "the action's target");
    // Read-only: no forms but sign-out-free chrome, and the note.
    assert!(body.contains("set a token"), "read-only note");
    assert!(!body.contains("action=\"/alerts/"), "no alert forms");
    assert!(!body.contains("Acknowledge</button>"));

    // Forms are refused too.
    let csrf = page_csrf(body);
    let r = send(
        &app,
        "POST",
        &format!("/alerts/{}/ack", fx.ids.context),
        &[],
        Payload::Form(&[("csrf", &csrf)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(fx
        .store()
        .alert(fx.ids.context)
        .unwrap()
        .unwrap()
        .acked_ms
        .is_none());

    // The overview lists the firing alerts, worst first, linked to the page.
    let r = send(&app, "GET", "/", &[], Payload::None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body
            .contains("data-metric=\"alerts-firing\" data-value=\"2\""),
        "count"
    );
    let first = r
        .body
        .find(&format!("href=\"/alerts#alert-{}\"", fx.ids.context))
        .expect("critical listed");
    let second = r
        .body
        .find(&format!("href=\"/alerts#alert-{}\"", fx.ids.burn))
        .expect("warning listed");
    assert!(first < second, "critical first");
    assert!(!r.body.contains("<script>alert"));
}

#[tokio::test]
async fn alerts_page_forms_need_the_sign_in_and_its_csrf_token() {
    let fx = Fixture::new();
    let app = fx.app_with(Some(TOKEN), view());
    // With the bearer only (no sign-in): read-only page, forms refused.
    let r = send(&app, "GET", "/alerts", &[BEARER], Payload::None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("sign in to act"), "note for bearer-only");
    assert!(!r.body.contains("action=\"/alerts/"));
    let process_csrf = page_csrf(&r.body);
    let ack = format!("/alerts/{}/ack", fx.ids.context);
    let r = send(
        &app,
        "POST",
        &ack,
        &[BEARER],
        Payload::Form(&[("csrf", &process_csrf)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // No credentials at all: the access check answers first.
    let r = send(
        &app,
        "POST",
        &ack,
        &[],
        Payload::Form(&[("csrf", &process_csrf)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Signed in: forms, each with the sign-in's CSRF token.
    let cookie = sign_in(&app).await;
    let signed = [("Cookie", cookie.as_str())];
    let r = send(&app, "GET", "/alerts", &signed, Payload::None).await;
    assert_eq!(r.status, StatusCode::OK);
    let body = r.body;
    let csrf = page_csrf(&body);
    assert_eq!(csrf.len(), 64);
    assert_ne!(csrf, process_csrf);
    assert!(!body.contains("alerts-read-only"));
    assert!(body.contains(&format!("action=\"/alerts/{}/ack\"", fx.ids.context)));
    assert!(body.contains("action=\"/alerts/silences\""));
    assert!(body.contains("Acknowledge</button>"));
    let tokens = csrf_inputs(&body);
    assert!(tokens.len() >= 4, "sign-out, acks, silences: {tokens:?}");
    assert!(
        tokens.iter().all(|t| *t == csrf),
        "every form carries the token"
    );
    assert!(
        body.contains("data-origin=\"config\""),
        "hung from the config"
    );

    // Acknowledge: refused without or with a wrong token, done with the right one.
    for form in [
        &[][..],
        &[("csrf", "f00d")][..],
        &[("csrf", process_csrf.as_str())][..],
    ] {
        let r = send(&app, "POST", &ack, &signed, Payload::Form(form)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{form:?}");
    }
    assert!(fx
        .store()
        .alert(fx.ids.context)
        .unwrap()
        .unwrap()
        .acked_ms
        .is_none());
    let r = send(
        &app,
        "POST",
        &ack,
        &signed,
        Payload::Form(&[("csrf", &csrf)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/alerts");
    let a = fx.store().alert(fx.ids.context).unwrap().unwrap();
    assert_eq!(a.acked_by.as_deref(), Some("dashboard"));
    let page = send(&app, "GET", "/alerts", &signed, Payload::None)
        .await
        .body;
    assert!(page.contains("acked by dashboard"));
    assert!(
        !page.contains(&format!("action=\"/alerts/{}/ack\"", fx.ids.context)),
        "no second ack"
    );

    // Silence from the form, then remove it.
    let silence = [
        ("csrf", csrf.as_str()),
        ("rule", "hourly_burn"),
        ("scope", "gateway"),
        ("minutes", "240"),
        ("reason", "maintenance <b>window</b>"),
    ];
    let r = send(
        &app,
        "POST",
        "/alerts/silences",
        &signed,
        Payload::Form(&silence[1..]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token");
    let r = send(
        &app,
        "POST",
        "/alerts/silences",
        &signed,
        Payload::Form(&silence),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let stored = fx.store().silences(Some(now_ms())).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].rule_id.as_deref(), Some("hourly_burn"));
    assert_eq!(stored[0].created_by, "dashboard");
    assert!(stored[0].until_ms > now_ms() + 239 * MINUTE);
    let page = send(&app, "GET", "/alerts", &signed, Payload::None)
        .await
        .body;
    assert!(page.contains(&format!("data-silence-id=\"{}\"", stored[0].id)));
    assert!(!page.contains("<b>window</b>"), "reason escaped");
    let remove = format!("/alerts/silences/{}/remove", stored[0].id);
    assert!(page.contains(&format!("action=\"{remove}\"")));
    let r = send(
        &app,
        "POST",
        &remove,
        &signed,
        Payload::Form(&[("csrf", "bad")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        &app,
        "POST",
        &remove,
        &signed,
        Payload::Form(&[("csrf", &csrf)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(fx.store().silences(Some(now_ms())).unwrap().is_empty());

    // A bad silence is an error page, not a redirect.
    let bad = [
        ("csrf", csrf.as_str()),
        ("rule", ""),
        ("scope", ""),
        ("minutes", "0"),
    ];
    let r = send(
        &app,
        "POST",
        "/alerts/silences",
        &signed,
        Payload::Form(&bad),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.header("content-type").starts_with("text/html"));
}
