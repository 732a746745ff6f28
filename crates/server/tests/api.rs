//! The JSON API over a store imported from the real OpenClaw fixture.

use std::path::Path;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use clawscope_core::pricing::PriceTable;
use clawscope_core::{Event, EventKind, SourceKind};
use clawscope_ingest::{discover, import, plan, Env, NoProgress, Pricer, SourceSelect};
use clawscope_server::{check_bind, router, AppState};
use clawscope_store::{Batch, SqliteStore, Store};

fn fixture_store() -> SqliteStore {
    let home = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/openclaw-2026.9.6/sqlite-layout/home");
    let roots = discover(&[home], &[], &Env::default());
    let mut store = SqliteStore::open_in_memory().unwrap();
    let pricer = Pricer::new(PriceTable::embedded().clone());
    import(
        &mut store,
        &plan(&roots, SourceSelect::All),
        &pricer,
        1,
        &NoProgress,
    )
    .unwrap();
    store
}

async fn get(app: &axum::Router, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut req = Request::builder().uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, json)
}

#[tokio::test]
async fn endpoints_answer_from_the_store() {
    let app = router(AppState::new(Box::new(fixture_store()), None));
    let (s, h) = get(&app, "/api/health", &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["status"], "ok");
    assert!(h["store"]["events"].as_u64().unwrap() > 100);

    let (_, list) = get(&app, "/api/v1/sessions", &[]).await;
    assert_eq!(list["total"], 4);
    let (_, page) = get(&app, "/api/v1/sessions?limit=1&offset=1&order=cost", &[]).await;
    assert_eq!(page["rows"].as_array().unwrap().len(), 1);
    assert_eq!(page["total"], 4);

    let (s, one) = get(&app, "/api/v1/sessions/agent:main:main", &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(one["session"]["tool_calls"], 7);
    let children = one["children"].as_array().unwrap();
    assert_eq!(children.len(), 1);
    assert_eq!(children[0]["parent_session_key"], "agent:main:main");
    let with_children = one["cost_with_children_usd"].as_f64().unwrap();
    assert!((with_children - (0.1496706 + 0.012051)).abs() < 1e-9);

    let (_, calls) = get(
        &app,
        "/api/v1/sessions/agent:main:main/events?type=tool.call,tool.result",
        &[],
    )
    .await;
    assert_eq!(calls["rows"].as_array().unwrap().len(), 14);
    let (s, _) = get(&app, "/api/v1/sessions/agent:nope/events", &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (_, evs) = get(&app, "/api/v1/events?type=message.assistant&limit=5", &[]).await;
    assert_eq!(evs["rows"].as_array().unwrap().len(), 5);
    let (_, m) = get(&app, "/api/v1/metrics/summary", &[]).await;
    assert_eq!(m["totals"]["total_tokens"], 88926);
    assert_eq!(m["tool_errors"], 1);
    let (_, top) = get(&app, "/api/sessions?n=2", &[]).await;
    assert_eq!(top["rows"][0]["session_key"], "agent:main:main");
    assert_eq!(top["rows"].as_array().unwrap().len(), 2);
    let (_, models) = get(&app, "/api/models", &[]).await;
    assert_eq!(models["rows"].as_array().unwrap().len(), 2);
    let (s, _) = get(&app, "/api/costs?range=30d", &[]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = get(&app, "/api/summary?tz=Europe/Berlin", &[]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = get(&app, "/api/anomalies", &[]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, p) = get(&app, "/api/projects", &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(p["rows"].is_array());
}

#[tokio::test]
async fn bad_parameters_get_clear_4xx() {
    let app = router(AppState::new(Box::new(fixture_store()), None));
    for uri in [
        "/api/v1/events?type=bogus",
        "/api/v1/sessions?limit=0",
        "/api/v1/sessions?limit=abc",
        "/api/v1/sessions?limit=100000",
        "/api/v1/sessions?offset=-1",
        "/api/v1/sessions?order=sideways",
        "/api/v1/events?since=yesterday",
        "/api/costs?range=7x",
        "/api/summary?tz=Mars/Base",
    ] {
        let (s, body) = get(&app, uri, &[]).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}");
        assert!(body["error"].as_str().unwrap().len() > 5, "{uri}: {body}");
    }
    let (_, body) = get(&app, "/api/costs?range=100000d", &[]).await;
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("between 1h and 3660d"),
        "{body}"
    );
    let (s, body) = get(&app, "/api/v2/nothing", &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn token_is_required_and_headers_grant_nothing() {
    let app = router(AppState::new(
        Box::new(fixture_store()),
        Some("s3cret-token".into()),
    ));
    let (s, _) = get(&app, "/api/health", &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    for h in [
        ("X-Forwarded-For", "127.0.0.1"),
        ("Forwarded", "for=127.0.0.1"),
        ("Host", "localhost"),
        ("Authorization", "Bearer wrong"),
    ] {
        let (s, _) = get(&app, "/api/v1/sessions", &[h]).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{h:?}");
    }
    let (s, _) = get(
        &app,
        "/api/v1/sessions",
        &[("Authorization", "Bearer s3cret-token")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(check_bind("0.0.0.0:3200".parse().unwrap(), None).is_err());
    assert!(check_bind("0.0.0.0:3200".parse().unwrap(), Some("t")).is_ok());
    assert!(check_bind("127.0.0.1:3200".parse().unwrap(), None).is_ok());
    // the scheme name is case-insensitive; a token of a host name is served too
    for h in [
        [
            ("Authorization", "bearer s3cret-token"),
            ("Host", "dash.example:3200"),
        ],
        [
            ("Authorization", "BEARER s3cret-token"),
            ("Host", "127.0.0.1:3200"),
        ],
    ] {
        let (s, _) = get(&app, "/api/v1/sessions", &h).await;
        assert_eq!(s, StatusCode::OK, "{h:?}");
    }
}

#[tokio::test]
async fn without_a_token_only_requests_naming_this_machine_are_answered() {
    let app = router(AppState::new(Box::new(fixture_store()), None));
    // A page of evil.example whose name now resolves to 127.0.0.1 (DNS rebinding).
    for host in [
        "evil.example:3200",
        "evil.example",
        "localhost.evil.example",
    ] {
        for uri in ["/api/v1/sessions", "/", "/api/health"] {
            let (s, body) = get(&app, uri, &[("Host", host)]).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{host} {uri}");
            assert!(
                body["error"].as_str().unwrap().contains("--token"),
                "{body}"
            );
        }
    }
    for host in [
        "127.0.0.1:3200",
        "localhost:3200",
        "[::1]:3200",
        "app.localhost",
    ] {
        let (s, _) = get(&app, "/api/v1/sessions", &[("Host", host)]).await;
        assert_eq!(s, StatusCode::OK, "{host}");
    }
    // no Host at all: no browser sent it
    let (s, _) = get(&app, "/api/v1/sessions", &[]).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn secrets_are_masked_in_events() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let ev = Event {
        id: "x".into(),
        ts_ms: 1,
        kind: Some(EventKind::UserMessage),
        source: Some(SourceKind::OpenClaw),
        session_key: "agent:main:main".into(),
        text: Some(
            "use key sk-ant-api03-ABCDEFGHIJKLMNOPQRSTUVWX please <script>alert(1)</script>".into(),
        ),
        ..Event::default()
    };
    store
        .apply(&Batch {
            events: vec![ev],
            ..Batch::default()
        })
        .unwrap();
    let app = router(AppState::new(Box::new(store), None));
    let (_, evs) = get(&app, "/api/v1/events", &[]).await;
    let text = evs["rows"][0]["text"].as_str().unwrap();
    assert!(!text.contains("ABCDEFGHIJKLMNOP"), "{text}");
    assert!(text.contains("[masked]"));
}
