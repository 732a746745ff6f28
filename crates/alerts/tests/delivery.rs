//! Notification delivery against real local receivers: a recording HTTP server on
//! 127.0.0.1 stands in for every HTTP channel, and a recording gateway for `openclaw`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use clawscope_alerts::deliver::{
    backoff, openclaw_send_params, ChannelConfig, DeliveryError, EmailTls, Sender,
};
use clawscope_alerts::gateway::{BoxFuture, GatewayRpc};
use clawscope_core::alert::{Notification, Severity, Transition};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

// ---------------------------------------------------------------- the recorder ---

#[derive(Debug, Clone)]
struct Hit {
    method: Method,
    /// Path and query.
    target: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Hit {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A scripted answer: status, extra headers, body.
type Answer = (u16, Vec<(&'static str, String)>, String);

#[derive(Clone, Default)]
struct Shared {
    hits: Arc<Mutex<Vec<Hit>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
}

/// An HTTP server on 127.0.0.1:0 that records every request and answers from a
/// script (then `200 ok`).
struct Recorder {
    addr: SocketAddr,
    shared: Shared,
}

async fn record(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    s.hits.lock().unwrap().push(Hit {
        method,
        target,
        headers,
        body,
    });
    let (status, extra, body) =
        s.script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or((200, vec![], "ok".into()));
    let mut resp = (StatusCode::from_u16(status).unwrap(), body).into_response();
    for (k, v) in extra {
        resp.headers_mut().insert(k, v.parse().unwrap());
    }
    resp
}

impl Recorder {
    async fn start() -> Recorder {
        let shared = Shared::default();
        let app = Router::new().fallback(record).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Recorder { addr, shared }
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn answer(&self, status: u16, body: &str) {
        self.answer_with(status, vec![], body);
    }

    fn answer_with(&self, status: u16, headers: Vec<(&'static str, String)>, body: &str) {
        self.shared
            .script
            .lock()
            .unwrap()
            .push_back((status, headers, body.to_string()));
    }

    fn hits(&self) -> Vec<Hit> {
        self.shared.hits.lock().unwrap().clone()
    }

    fn only_hit(&self) -> Hit {
        let hits = self.hits();
        assert_eq!(hits.len(), 1, "expected one request, got {hits:?}");
        hits.into_iter().next().unwrap()
    }
}

// ----------------------------------------------------------------- fixtures ---

const FIRED_MS: i64 = 1_777_636_800_000; // 2026-05-01T12:00:00Z

fn note(transition: Transition) -> Notification {
    Notification {
        alert_id: 42,
        transition,
        rule_id: "budget_day".into(),
        scope: "agent:main".into(),
        severity: Severity::Critical,
        title: "[critical] budget_day on agent:main".into(),
        text: "spent $12.40 of $10.00 today".into(),
        value: 12.4,
        threshold: 10.0,
        fired_ms: FIRED_MS,
        resolved_ms: (transition == Transition::Resolve).then_some(FIRED_MS + 90_000),
        dedup_key: format!("clawscope:budget_day:agent:main:{FIRED_MS}"),
        url: Some("http://127.0.0.1:7317/alerts/42".into()),
    }
}

fn channel(toml_text: &str) -> ChannelConfig {
    toml::from_str(toml_text).unwrap_or_else(|e| panic!("config {toml_text}: {e}"))
}

fn sender() -> Sender {
    Sender::new(None).expect("sender")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

// ------------------------------------------------------------------ webhook ---

#[tokio::test]
async fn webhook_posts_documented_json_signed_with_hmac() {
    let rec = Recorder::start().await;
    let cfg = channel(&format!(
        r#"
        kind = "webhook"
        url = "{}/hooks/ops?token=tok-in-query"
        secret = "whsec-0123456789"
        headers = {{ Authorization = "Bearer extra-header-token" }}
        "#,
        rec.base()
    ));
    let n = note(Transition::Fire);
    let receipt = sender().send(&cfg, &n).await.expect("sent");
    assert_eq!(receipt, "HTTP 200");

    let hit = rec.only_hit();
    assert_eq!(hit.method, Method::POST);
    assert_eq!(hit.target, "/hooks/ops?token=tok-in-query");
    assert_eq!(hit.header("content-type"), Some("application/json"));
    assert_eq!(
        hit.header("authorization"),
        Some("Bearer extra-header-token")
    );
    assert_eq!(
        hit.header("x-clawscope-delivery"),
        Some(format!("{}:fire", n.dedup_key).as_str())
    );
    assert!(hit
        .header("user-agent")
        .is_some_and(|ua| ua.starts_with("clawscope/")));

    // The signature, recomputed here with the hmac crate.
    let ts = hit.header("x-clawscope-timestamp").expect("timestamp");
    let ts_num: i64 = ts.parse().expect("unix seconds");
    assert!((chrono::Utc::now().timestamp() - ts_num).abs() < 120);
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"whsec-0123456789").unwrap();
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(&hit.body);
    let expected = format!("sha256={}", hex(&mac.finalize().into_bytes()));
    assert_eq!(hit.header("x-clawscope-signature"), Some(expected.as_str()));

    assert_eq!(
        hit.json(),
        json!({
            "version": 1,
            "transition": "fire",
            "alert_id": 42,
            "rule": "budget_day",
            "scope": "agent:main",
            "severity": "critical",
            "title": "[critical] budget_day on agent:main",
            "text": "spent $12.40 of $10.00 today",
            "value": 12.4,
            "threshold": 10.0,
            "fired_at": "2026-05-01T12:00:00.000Z",
            "resolved_at": null,
            "dedup_key": n.dedup_key,
            "url": "http://127.0.0.1:7317/alerts/42",
        })
    );
}

#[tokio::test]
async fn webhook_without_secret_is_unsigned_and_any_scope_fits_the_header() {
    let rec = Recorder::start().await;
    let cfg = channel(&format!("kind = \"webhook\"\nurl = \"{}/h\"", rec.base()));
    let mut n = note(Transition::Resolve);
    n.scope = "project:café 100%".into();
    n.dedup_key = format!("clawscope:budget_day:{}:{FIRED_MS}", n.scope);
    sender().send(&cfg, &n).await.unwrap();
    let hit = rec.only_hit();
    // Any scope text travels in the header percent-encoded, whole in the body.
    assert_eq!(
        hit.header("x-clawscope-delivery"),
        Some(format!("clawscope:budget_day:project:caf%C3%A9 100%25:{FIRED_MS}:resolve").as_str())
    );
    assert_eq!(hit.json()["dedup_key"], n.dedup_key.as_str());
    assert!(hit.header("x-clawscope-signature").is_none());
    assert!(hit.header("x-clawscope-timestamp").is_none());
    let body = hit.json();
    assert_eq!(body["transition"], "resolve");
    assert_eq!(body["resolved_at"], "2026-05-01T12:01:30.000Z");
}

// -------------------------------------------------------------------- slack ---

#[tokio::test]
async fn slack_gets_escaped_text_and_plain_text_blocks() {
    let rec = Recorder::start().await;
    let cfg = channel(&format!(
        "kind = \"slack\"\nurl = \"{}/services/T000/B000/slacksecretpath\"",
        rec.base()
    ));
    let mut n = note(Transition::Fire);
    n.text = "ping <!channel> & <https://evil.example|click>".into();
    n.title = "x".repeat(400);
    sender().send(&cfg, &n).await.unwrap();
    let hit = rec.only_hit();
    assert_eq!(hit.target, "/services/T000/B000/slacksecretpath");
    assert_eq!(hit.header("content-type"), Some("application/json"));
    let body = hit.json();
    let text = body["text"].as_str().unwrap();
    assert!(text.contains("ping &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"));
    assert!(!text.contains('<'));
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    assert!(utf16_len(blocks[0]["text"]["text"].as_str().unwrap()) <= 150);
    assert_eq!(blocks[1]["type"], "section");
    assert_eq!(blocks[1]["text"]["type"], "plain_text");
    assert_eq!(blocks[1]["text"]["text"], n.text.as_str());
    assert_eq!(blocks[2]["type"], "context");
    let button = &blocks[3]["elements"][0];
    assert_eq!(blocks[3]["type"], "actions");
    assert_eq!(button["url"], "http://127.0.0.1:7317/alerts/42");
    // No mrkdwn anywhere: every text object is plain text and not empty.
    for b in blocks {
        let texts: Vec<&Value> = match b["type"].as_str().unwrap() {
            "context" => b["elements"].as_array().unwrap().iter().collect(),
            "actions" => vec![&b["elements"][0]["text"]],
            _ => vec![&b["text"]],
        };
        for t in texts {
            assert_eq!(t["type"], "plain_text", "{b}");
            assert!(!t["text"].as_str().unwrap().is_empty());
        }
    }
}

// ------------------------------------------------------------------ discord ---

#[tokio::test]
async fn discord_embeds_and_truncates_on_char_boundaries() {
    let rec = Recorder::start().await;
    rec.answer(204, "");
    let cfg = channel(&format!(
        "kind = \"discord\"\nurl = \"{}/api/webhooks/1/discordsecret\"",
        rec.base()
    ));
    let mut n = note(Transition::Fire);
    n.title = "é".repeat(2500); // 2 bytes each in UTF-8
    n.text = "😀".repeat(3000); // 2 UTF-16 units, 4 bytes each
    let receipt = sender().send(&cfg, &n).await.unwrap();
    assert_eq!(receipt, "HTTP 204");
    let hit = rec.only_hit();
    assert_eq!(hit.target, "/api/webhooks/1/discordsecret");
    let body = hit.json();
    let content = body["content"].as_str().unwrap();
    assert_eq!(content.chars().count(), 2000);
    assert!(content.ends_with('…'));
    assert!(content.starts_with(&"é".repeat(1999)));
    let embed = &body["embeds"][0];
    let desc = embed["description"].as_str().unwrap();
    assert!(utf16_len(desc) <= 4096 && desc.chars().count() <= 4096);
    assert!(desc.starts_with("😀😀") && desc.ends_with('…'));
    assert_eq!(desc.chars().filter(|c| *c == '😀').count(), 2047);
    assert!(embed["title"].as_str().unwrap().chars().count() <= 256);
    assert_eq!(embed["color"], 0xD92D20);
    assert_eq!(embed["timestamp"], "2026-05-01T12:00:00.000Z");
    assert_eq!(embed["url"], "http://127.0.0.1:7317/alerts/42");
    assert_eq!(body["allowed_mentions"], json!({"parse": []}));

    // Resolved: green, stamped with the resolve time.
    sender()
        .send(&cfg, &note(Transition::Resolve))
        .await
        .unwrap();
    let hits = rec.hits();
    let embed = &hits[1].json()["embeds"][0];
    assert_eq!(embed["color"], 0x12B76A);
    assert_eq!(embed["timestamp"], "2026-05-01T12:01:30.000Z");
}

// ---------------------------------------------------------------- pagerduty ---

#[tokio::test]
async fn pagerduty_triggers_resolves_and_tests_through_events_v2() {
    let rec = Recorder::start().await;
    for _ in 0..3 {
        rec.answer(
            202,
            r#"{"status":"success","message":"Event processed","dedup_key":"k"}"#,
        );
    }
    let cfg = channel(&format!(
        "kind = \"pagerduty\"\nrouting_key = \"R0UTINGKEY0123456789\"\nbase_url = \"{}/\"",
        rec.base()
    ));
    let s = sender();
    let mut fire = note(Transition::Fire);
    fire.title = "t".repeat(2000);
    assert_eq!(s.send(&cfg, &fire).await.unwrap(), "HTTP 202");
    s.send(&cfg, &note(Transition::Resolve)).await.unwrap();
    let mut test = note(Transition::Test);
    test.severity = Severity::Info;
    test.dedup_key = "clawscope:test:1".into();
    s.send(&cfg, &test).await.unwrap();

    let hits = rec.hits();
    assert_eq!(hits.len(), 3);
    for h in &hits {
        assert_eq!(h.method, Method::POST);
        assert_eq!(h.target, "/v2/enqueue");
        assert_eq!(h.header("content-type"), Some("application/json"));
    }
    let trigger = hits[0].json();
    assert_eq!(trigger["routing_key"], "R0UTINGKEY0123456789");
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["dedup_key"], fire.dedup_key.as_str());
    let p = &trigger["payload"];
    assert_eq!(p["source"], "clawscope");
    assert_eq!(p["severity"], "critical");
    assert_eq!(p["timestamp"], "2026-05-01T12:00:00.000Z");
    let summary = p["summary"].as_str().unwrap();
    assert_eq!(summary.chars().count(), 1024);
    assert_eq!(p["custom_details"]["rule"], "budget_day");
    assert_eq!(p["custom_details"]["scope"], "agent:main");
    assert_eq!(p["custom_details"]["value"], 12.4);

    assert_eq!(
        hits[1].json(),
        json!({
            "routing_key": "R0UTINGKEY0123456789",
            "event_action": "resolve",
            "dedup_key": fire.dedup_key,
        })
    );

    let t = hits[2].json();
    assert_eq!(t["event_action"], "trigger");
    assert_eq!(t["dedup_key"], "clawscope:test:1");
    assert_eq!(t["payload"]["severity"], "info");
}

// ----------------------------------------------------------------- telegram ---

const BOT_TOKEN: &str = "123456:AAbotTOKEN_secret-part";

fn telegram(rec: &Recorder, chat: &str) -> ChannelConfig {
    channel(&format!(
        "kind = \"telegram\"\nbot_token = \"{BOT_TOKEN}\"\nchat_id = {chat}\nbase_url = \"{}\"",
        rec.base()
    ))
}

#[tokio::test]
async fn telegram_sends_plain_text_capped_at_4096() {
    let rec = Recorder::start().await;
    rec.answer(200, r#"{"ok":true,"result":{"message_id":7}}"#);
    rec.answer(200, r#"{"ok":true,"result":{"message_id":8}}"#);
    let cfg = telegram(&rec, "-1001234567890");
    let mut n = note(Transition::Fire);
    n.text = "<b>not bold</b> *nor this* ".to_string() + &"ж".repeat(5000);
    assert_eq!(sender().send(&cfg, &n).await.unwrap(), "HTTP 200");
    let hit = &rec.hits()[0];
    assert_eq!(hit.target, format!("/bot{BOT_TOKEN}/sendMessage"));
    assert_eq!(hit.header("content-type"), Some("application/json"));
    let body = hit.json();
    assert_eq!(body["chat_id"], -1001234567890i64);
    assert_eq!(body["disable_web_page_preview"], true);
    assert!(body.get("parse_mode").is_none());
    let text = body["text"].as_str().unwrap();
    assert!(text.starts_with("[critical] budget_day on agent:main\n<b>not bold</b> *nor this*"));
    assert_eq!(utf16_len(text), 4096);

    // A string chat id (`@channel`) stays a string; a short message is whole.
    let cfg = telegram(&rec, "\"@ops_alerts\"");
    sender()
        .send(&cfg, &note(Transition::Resolve))
        .await
        .unwrap();
    let body = rec.hits()[1].json();
    assert_eq!(body["chat_id"], "@ops_alerts");
    let text = body["text"].as_str().unwrap();
    assert!(text.contains("Status: resolved · severity critical"));
    assert!(text.contains("Resolved at: 2026-05-01T12:01:30.000Z"));
    assert!(text.ends_with("http://127.0.0.1:7317/alerts/42"));
}

#[tokio::test]
async fn telegram_ok_false_is_a_failure() {
    let rec = Recorder::start().await;
    rec.answer(
        200,
        r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#,
    );
    rec.answer(200, "not json");
    let cfg = telegram(&rec, "42");
    let e = sender()
        .send(&cfg, &note(Transition::Fire))
        .await
        .unwrap_err();
    assert!(!e.retriable);
    assert!(e.message.contains("chat not found"), "{e}");
    assert!(!e.message.contains(BOT_TOKEN));
    let e = sender()
        .send(&cfg, &note(Transition::Fire))
        .await
        .unwrap_err();
    assert!(e.message.contains("not json"), "{e}");

    // Telegram's own 4xx answer is a plain failure too.
    rec.answer(
        401,
        r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#,
    );
    let e = sender()
        .send(&cfg, &note(Transition::Fire))
        .await
        .unwrap_err();
    assert!(!e.retriable);
    assert!(e.message.starts_with("HTTP 401"), "{e}");
}

// ------------------------------------------------------- errors and retries ---

async fn status_error(status: u16, headers: Vec<(&'static str, String)>) -> DeliveryError {
    let rec = Recorder::start().await;
    rec.answer_with(status, headers, "upstream said no");
    let cfg = channel(&format!("kind = \"webhook\"\nurl = \"{}/h\"", rec.base()));
    let e = sender()
        .send(&cfg, &note(Transition::Fire))
        .await
        .unwrap_err();
    assert_eq!(rec.hits().len(), 1, "one request, no redirect or retry");
    e
}

#[tokio::test]
async fn server_errors_and_429_are_retriable_other_4xx_are_not() {
    for status in [500, 502, 503, 429, 408] {
        let e = status_error(status, vec![]).await;
        assert!(e.retriable, "{status}: {e}");
        assert!(e.message.starts_with(&format!("HTTP {status}")), "{e}");
        assert!(e.message.contains("upstream said no"));
    }
    for status in [400, 401, 403, 404, 410, 422] {
        let e = status_error(status, vec![]).await;
        assert!(!e.retriable, "{status}: {e}");
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let rec = Recorder::start().await;
    let e = status_error(302, vec![("location", format!("{}/elsewhere", rec.base()))]).await;
    assert!(!e.retriable);
    assert!(e.message.contains("redirects are not followed"), "{e}");
    assert!(rec.hits().is_empty());
}

#[tokio::test]
async fn connection_refused_is_retriable_and_names_no_url() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = channel(&format!(
        "kind = \"slack\"\nurl = \"http://127.0.0.1:{port}/services/T1/B1/refusedsecret\""
    ));
    let e = sender()
        .send(&cfg, &note(Transition::Fire))
        .await
        .unwrap_err();
    assert!(e.retriable, "{e}");
    assert!(e.message.contains("could not connect"), "{e}");
    assert!(!e.message.contains("refusedsecret"), "{e}");
    assert!(!e.message.contains(&port.to_string()), "{e}");
}

#[tokio::test]
async fn https_with_an_untrusted_certificate_is_refused_before_any_request() {
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio_rustls::rustls::{crypto::ring, ServerConfig};

    // A TLS server on loopback whose certificate nobody trusts.
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    let cert = params.self_signed(&key).unwrap();
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key_der)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handshakes = Arc::new(Mutex::new(Vec::<bool>::new()));
    let seen = handshakes.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let ok = acceptor.accept(tcp).await.is_ok();
            seen.lock().unwrap().push(ok);
        }
    });

    let cfg = channel(&format!(
        "kind = \"webhook\"\nurl = \"https://127.0.0.1:{port}/h\"\nsecret = \"whsec-tls-test\""
    ));
    let e = sender()
        .send(&cfg, &note(Transition::Fire))
        .await
        .unwrap_err();
    assert!(e.retriable, "{e}");
    assert!(e.message.contains("certificate"), "{e}");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let handshakes = handshakes.lock().unwrap().clone();
    assert!(!handshakes.is_empty(), "the client reached the TLS server");
    assert!(
        handshakes.iter().all(|ok| !ok),
        "no handshake completed: {handshakes:?}"
    );
}

#[tokio::test]
async fn invalid_config_fails_for_good_without_a_request() {
    let rec = Recorder::start().await;
    let cfg = channel("kind = \"pagerduty\"\nrouting_key = \"  \"");
    let e = sender()
        .send(&cfg, &note(Transition::Fire))
        .await
        .unwrap_err();
    assert!(!e.retriable);
    assert_eq!(e.message, "pagerduty channel: `routing_key` is empty");
    assert!(rec.hits().is_empty());
}

// ------------------------------------------------------------------ secrets ---

const SECRETS: [&str; 8] = [
    "whsec-topsecret",
    "hdr-topsecret",
    "slack-topsecret",
    "discord-topsecret",
    "pd-topsecret",
    "123456:tg-topsecret",
    "smtp-topsecret",
    "query-topsecret",
];

/// Channels full of secrets, each with the secrets it holds.
fn secret_channels(base: &str) -> Vec<(ChannelConfig, Vec<&'static str>)> {
    [
        (
            format!(
                "kind = \"webhook\"\nurl = \"{base}/h?t=query-topsecret\"\nsecret = \"whsec-topsecret\"\nheaders = {{ X-Api-Key = \"hdr-topsecret\" }}"
            ),
            vec!["query-topsecret", "whsec-topsecret", "hdr-topsecret"],
        ),
        (
            format!("kind = \"slack\"\nurl = \"{base}/services/T/B/slack-topsecret\""),
            vec!["slack-topsecret"],
        ),
        (
            format!("kind = \"discord\"\nurl = \"{base}/api/webhooks/1/discord-topsecret\""),
            vec!["discord-topsecret"],
        ),
        (
            format!("kind = \"pagerduty\"\nrouting_key = \"pd-topsecret\"\nbase_url = \"{base}\""),
            vec!["pd-topsecret"],
        ),
        (
            format!(
                "kind = \"telegram\"\nbot_token = \"123456:tg-topsecret\"\nchat_id = 1\nbase_url = \"{base}\""
            ),
            vec!["123456:tg-topsecret", "tg-topsecret"],
        ),
    ]
    .into_iter()
    .map(|(t, secrets)| (channel(&t), secrets))
    .collect()
}

fn assert_clean(what: &str, text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!text.contains(s), "{what} leaks {s}: {text}");
    }
}

#[tokio::test]
async fn secrets_never_appear_in_debug_or_errors() {
    let rec = Recorder::start().await;
    let mut channels = secret_channels(&rec.base());
    channels.push((
        channel(
            "kind = \"email\"\nhost = \"smtp.example.com\"\nusername = \"u\"\npassword = \"smtp-topsecret\"\nfrom = \"a@example.com\"\nto = [\"b@example.com\"]",
        ),
        vec!["smtp-topsecret"],
    ));
    for (c, _) in &channels {
        assert_clean("Debug", &format!("{c:?}"), &SECRETS);
        assert_clean("Debug (pretty)", &format!("{c:#?}"), &SECRETS);
    }
    // Receivers that echo the channel's secrets back in an error body (as 500 and 400),
    // the Slack and Discord ones also the URL path that holds the token.
    let s = sender();
    for (c, secrets) in &channels[..5] {
        let echo = format!("{} {}", secrets.join(" / "), rec.base());
        let echo = echo + " /services/T/B/slack-topsecret /api/webhooks/1/discord-topsecret";
        for status in [500, 400] {
            rec.answer(status, &echo);
            let e = s.send(c, &note(Transition::Fire)).await.unwrap_err();
            assert_eq!(e.retriable, status == 500);
            assert_clean("error", &e.message, secrets);
            assert_clean("error Debug", &format!("{e:?}"), secrets);
        }
    }
    // Telegram's ok:false path scrubs too.
    let (tg, tg_secrets) = &channels[4];
    rec.answer(
        200,
        r#"{"ok":false,"description":"bad token 123456:tg-topsecret"}"#,
    );
    let e = s.send(tg, &note(Transition::Fire)).await.unwrap_err();
    assert_clean("telegram error", &e.message, tg_secrets);

    // Network failures to URLs that hold secrets.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    for (c, secrets) in secret_channels(&format!("http://127.0.0.1:{port}")) {
        let e = s.send(&c, &note(Transition::Fire)).await.unwrap_err();
        assert!(e.retriable);
        assert_clean("network error", &e.message, &secrets);
    }
    // Validation messages never quote a URL.
    let bad = channel("kind = \"slack\"\nurl = \"ftp://hooks.example/slack-topsecret\"");
    let e = bad.validate().unwrap_err().to_string();
    assert_eq!(
        e,
        "slack channel: `url` must be an http:// or https:// URL, not ftp://"
    );
    assert_clean("validation", &e, &SECRETS);
    assert_clean("Sender Debug", &format!("{s:?}"), &SECRETS);
}

// ------------------------------------------------------------------- config ---

#[test]
fn every_kind_parses_with_defaults() {
    let c = channel("kind = \"webhook\"\nurl = \"https://example.com/h\"");
    let ChannelConfig::Webhook(w) = &c else {
        panic!("{c:?}")
    };
    assert!(w.secret.is_none() && w.headers.is_empty());
    assert_eq!(c.min_severity(), Severity::Info);
    assert_eq!(c.kind(), "webhook");

    let c = channel("kind = \"pagerduty\"\nrouting_key = \"k\"");
    let ChannelConfig::PagerDuty(p) = &c else {
        panic!()
    };
    assert_eq!(p.base_url, "https://events.pagerduty.com");

    let c = channel("kind = \"telegram\"\nbot_token = \"1:a\"\nchat_id = -5");
    let ChannelConfig::Telegram(t) = &c else {
        panic!()
    };
    assert_eq!(t.base_url, "https://api.telegram.org");
    assert_eq!(t.chat_id, "-5");

    let c = channel(
        "kind = \"email\"\nhost = \"smtp.example.com\"\nfrom = \"Clawscope <a@example.com>\"\nto = [\"b@example.com\"]",
    );
    let ChannelConfig::Email(e) = &c else {
        panic!()
    };
    assert_eq!((e.port, e.tls), (587, EmailTls::StartTls));
    assert!(c.validate().is_ok());

    let c = channel(
        "kind = \"openclaw\"\nchannel = \"telegram\"\nto = \"123\"\naccount_id = \"work\"\nmin_severity = \"critical\"",
    );
    assert_eq!(c.kind(), "openclaw");
    assert_eq!(c.min_severity(), Severity::Critical);
    for k in ["slack", "discord"] {
        let c = channel(&format!("kind = \"{k}\"\nurl = \"https://example.com/x\""));
        assert_eq!(c.kind(), k);
        assert!(c.validate().is_ok());
    }
}

#[test]
fn unknown_kinds_and_fields_are_rejected() {
    let e = toml::from_str::<ChannelConfig>("kind = \"sms\"\nurl = \"https://x\"").unwrap_err();
    assert!(e.to_string().contains("sms"), "{e}");
    let e = toml::from_str::<ChannelConfig>("kind = \"slack\"\nurl = \"https://x\"\nchanel = 1")
        .unwrap_err();
    assert!(e.to_string().contains("chanel"), "{e}");
    let e = toml::from_str::<ChannelConfig>(
        "kind = \"email\"\nhost = \"h\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\ntls = \"ssl\"",
    )
    .unwrap_err();
    assert!(e.to_string().contains("ssl"), "{e}");
}

fn invalid(toml_text: &str) -> String {
    channel(toml_text).validate().unwrap_err().to_string()
}

#[test]
fn validation_names_the_field() {
    let cases = [
        ("kind = \"webhook\"\nurl = \"\"", "webhook channel: `url` is empty"),
        ("kind = \"webhook\"\nurl = \"example.com/h\"", "webhook channel: `url` is not a URL"),
        ("kind = \"discord\"\nurl = \"file:///etc/passwd\"", "discord channel: `url` must be an http:// or https:// URL"),
        ("kind = \"webhook\"\nurl = \"https://e.com\"\nsecret = \"\"", "`secret` is empty"),
        ("kind = \"webhook\"\nurl = \"https://e.com\"\nheaders = { X-Clawscope-Signature = \"x\" }", "X-Clawscope-Signature is set by clawscope"),
        ("kind = \"webhook\"\nurl = \"https://e.com\"\nheaders = { \"bad header\" = \"x\" }", "not a valid header name"),
        ("kind = \"pagerduty\"\nrouting_key = \"k\"\nbase_url = \"events.pagerduty.com\"", "`base_url` is not a URL"),
        ("kind = \"telegram\"\nbot_token = \"1:a/../x\"\nchat_id = 1", "`bot_token` may hold only"),
        ("kind = \"telegram\"\nbot_token = \"1:a\"\nchat_id = \"\"", "telegram channel: `chat_id` is empty"),
        ("kind = \"email\"\nhost = \"smtp.example.com\"\nfrom = \"a@example.com\"\nto = []", "email channel: `to` is empty"),
        ("kind = \"email\"\nhost = \"smtp.example.com\"\nfrom = \"nope\"\nto = [\"b@example.com\"]", "`from` is not a mailbox"),
        ("kind = \"email\"\nhost = \"smtp.example.com\"\nfrom = \"a@example.com\"\nto = [\"b@example.com\", \"x y\"]", "`to`: \"x y\" is not a mailbox"),
        ("kind = \"email\"\nhost = \"smtp.example.com\"\nfrom = \"a@example.com\"\nto = [\"b@example.com\"]\ntls = \"none\"", "only allowed to a loopback host"),
        ("kind = \"email\"\nhost = \"smtp.example.com\"\nfrom = \"a@example.com\"\nto = [\"b@example.com\"]\nusername = \"u\"", "`username` is set but `password` is not"),
        ("kind = \"email\"\nhost = \"\"\nfrom = \"a@example.com\"\nto = [\"b@example.com\"]", "`host` is empty"),
        ("kind = \"openclaw\"\nchannel = \"telegram\"\nto = \" \"", "openclaw channel: `to` is empty"),
        ("kind = \"openclaw\"\nchannel = \"\"\nto = \"1\"", "openclaw channel: `channel` is empty"),
    ];
    for (cfg, want) in cases {
        let got = invalid(cfg);
        assert!(got.contains(want), "{cfg}\n  got:  {got}\n  want: {want}");
    }
    for host in ["localhost", "127.0.0.1", "::1", "[::1]", "127.1.2.3"] {
        let c = channel(&format!(
            "kind = \"email\"\nhost = \"{host}\"\nfrom = \"a@example.com\"\nto = [\"b@example.com\"]\ntls = \"none\"\nport = 25"
        ));
        assert!(c.validate().is_ok(), "{host}");
    }
}

#[test]
fn min_severity_filters() {
    let c = channel("kind = \"slack\"\nurl = \"https://e.com/x\"");
    assert!(c.accepts(Severity::Info) && c.accepts(Severity::Critical));
    let c = channel("kind = \"slack\"\nurl = \"https://e.com/x\"\nmin_severity = \"warning\"");
    assert!(!c.accepts(Severity::Info));
    assert!(c.accepts(Severity::Warning) && c.accepts(Severity::Critical));
    let c = channel("kind = \"slack\"\nurl = \"https://e.com/x\"\nmin_severity = \"critical\"");
    assert!(!c.accepts(Severity::Warning) && c.accepts(Severity::Critical));
}

#[test]
fn backoff_schedule_gives_up_after_the_sixth_attempt() {
    let waits: Vec<Option<u64>> = (1..=7).map(|n| backoff(n).map(|d| d.as_secs())).collect();
    assert_eq!(
        waits,
        [
            Some(10),
            Some(60),
            Some(300),
            Some(900),
            Some(3600),
            None,
            None
        ]
    );
}

// ----------------------------------------------------------------- openclaw ---

#[derive(Default)]
struct RecordingGateway {
    calls: Mutex<Vec<(String, Value)>>,
    fail: Option<String>,
}

impl GatewayRpc for RecordingGateway {
    fn call<'a>(&'a self, method: &'a str, params: Value) -> BoxFuture<'a, Result<Value, String>> {
        self.calls
            .lock()
            .unwrap()
            .push((method.to_string(), params));
        let answer = match &self.fail {
            Some(e) => Err(e.clone()),
            None => Ok(json!({"messageId": "m-1", "channel": "telegram"})),
        };
        Box::pin(async move { answer })
    }
}

#[tokio::test]
async fn openclaw_sends_through_the_gateway_send_rpc() {
    let gw = Arc::new(RecordingGateway::default());
    let s = Sender::new(Some(gw.clone())).unwrap();
    let cfg = channel(
        "kind = \"openclaw\"\nchannel = \"telegram\"\nto = \"-100777\"\naccount_id = \"ops\"\nagent_id = \"main\"",
    );
    let n = note(Transition::Fire);
    assert_eq!(s.send(&cfg, &n).await.unwrap(), "gateway sent (m-1)");
    let calls = gw.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    let (method, params) = &calls[0];
    assert_eq!(method, "send");
    assert_eq!(
        params,
        &openclaw_send_params(
            match &cfg {
                ChannelConfig::OpenClaw(c) => c,
                _ => unreachable!(),
            },
            &n,
        )
    );
    assert_eq!(params["channel"], "telegram");
    assert_eq!(params["to"], "-100777");
    assert_eq!(params["accountId"], "ops");
    assert_eq!(params["agentId"], "main");
    assert_eq!(
        params["idempotencyKey"],
        format!("clawscope:budget_day:agent:main:{FIRED_MS}:fire")
    );
    let message = params["message"].as_str().unwrap();
    assert!(message.starts_with("[critical] budget_day on agent:main\nspent $12.40"));
    assert_eq!(params.as_object().unwrap().len(), 6);

    // Without an account id there is no accountId; resolve gets its own key.
    let cfg = channel("kind = \"openclaw\"\nchannel = \"slack\"\nto = \"channel:C1\"");
    s.send(&cfg, &note(Transition::Resolve)).await.unwrap();
    let params = gw.calls.lock().unwrap()[1].1.clone();
    assert!(params.get("accountId").is_none());
    assert!(params["idempotencyKey"]
        .as_str()
        .unwrap()
        .ends_with(":resolve"));
}

#[tokio::test]
async fn openclaw_gateway_errors_retry_and_no_gateway_fails_for_good() {
    let gw = Arc::new(RecordingGateway {
        fail: Some("channel telegram is not connected".into()),
        ..RecordingGateway::default()
    });
    let cfg = channel("kind = \"openclaw\"\nchannel = \"telegram\"\nto = \"1\"");
    let e = Sender::new(Some(gw))
        .unwrap()
        .send(&cfg, &note(Transition::Fire))
        .await
        .unwrap_err();
    assert!(e.retriable);
    assert!(e.message.contains("not connected"), "{e}");

    let e = sender()
        .send(&cfg, &note(Transition::Fire))
        .await
        .unwrap_err();
    assert!(!e.retriable);
    assert!(e.message.contains("no gateway"), "{e}");
}

// -------------------------------------------------------------------- email ---

#[tokio::test]
async fn email_to_a_closed_port_is_retriable() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = channel(&format!(
        "kind = \"email\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"starttls\"\nfrom = \"a@example.com\"\nto = [\"b@example.com\"]"
    ));
    let e = sender()
        .send(&cfg, &note(Transition::Fire))
        .await
        .unwrap_err();
    assert!(e.retriable, "{e}");
}

#[tokio::test]
async fn email_with_a_missing_ca_file_fails_for_good() {
    let cfg = channel(
        "kind = \"email\"\nhost = \"127.0.0.1\"\nport = 1\nfrom = \"a@example.com\"\nto = [\"b@example.com\"]\nca_file = \"/nonexistent/ca.pem\"",
    );
    let e = sender()
        .send(&cfg, &note(Transition::Fire))
        .await
        .unwrap_err();
    assert!(!e.retriable);
    assert!(e.message.contains("`ca_file`"), "{e}");
}
