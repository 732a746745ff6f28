//! The dashboard, in process: a real SQLite store file (the OpenClaw fixture imported
//! through the real ingest, plus one hostile session written as real events) behind
//! the real router, asked page by page.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::Router;
use serde_json::Value;

use clawscope_core::model::{
    Cost, CostSource, ErrorInfo, Event, EventKind, ModelRef, SessionMeta, SourceKind, Timing,
    Tokens, ToolInfo,
};
use clawscope_core::pricing::PriceTable;
use clawscope_ingest::files::SourceFiles;
use clawscope_ingest::{discover, import, plan, Env, NoProgress, Pricer, SourceSelect};
use clawscope_server::ui::UiConfig;
use clawscope_server::{router, AppState};
use clawscope_store::{Batch, SqliteStore, Store};
use common::{now_ms, send, unescape, Payload, Resp};

// ---------------------------------------------------------------------------------
// The hostile session
// ---------------------------------------------------------------------------------

/// A session key with markup and a quote in it.
const HOSTILE_KEY: &str = "agent:red:x<b>\"q\"";
const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "\"><img src=x onerror=alert(2)>";
const JS_LINK: &str = "<a href=\"javascript:alert(3)\">x</a>";
const BEARER: &str = "abcdef0123456789abcdef0123";
/// The letters after the fake API key's prefix (40+).
const KEY_TAIL: &str = "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGhIjKlMnOpQr";
/// Cost the hostile session's two model calls report.
const HOSTILE_COST: f64 = 0.75;

/// Raw markup that must never reach a page.
const RAW_MARKERS: [&str; 3] = ["<script>alert", "<img src=x", "href=\"javascript:"];

fn api_key() -> String {
    format!("sk-ant-api03-{KEY_TAIL}")
}

/// One user turn, a model call that asks for a tool (text, thinking), the tool call
/// and its failed result, and a closing model call: every free-text field hostile.
fn hostile_batch() -> Batch {
    let t0 = now_ms() - 2 * 3_600_000;
    let key = api_key();
    let base = Event {
        source: Some(SourceKind::OpenClaw),
        gateway: Some("vm".into()),
        agent: Some("red".into()),
        session_key: HOSTILE_KEY.into(),
        session_id: Some("0b9f1c2e-hostile".into()),
        channel: Some(format!("webchat{IMG}")),
        run_id: Some("run-hostile-1".into()),
        ..Event::default()
    };
    let model = ModelRef {
        provider: Some("anthropic".into()),
        model: Some("claude-sonnet-4-5".into()),
        api: Some("anthropic-messages".into()),
    };
    let at = |n: i64, kind: EventKind| Event {
        id: format!("hostile:{n}"),
        ts_ms: t0 + n * 1000,
        kind: Some(kind),
        message_id: Some(format!("m{n}")),
        ..base.clone()
    };
    let user = Event {
        text: Some(format!("please deploy {SCRIPT} with key {key} now")),
        ..at(0, EventKind::UserMessage)
    };
    let ask = Event {
        model: model.clone(),
        tokens: Tokens {
            input: 1200,
            output: 300,
            cache_read: 400,
            cache_write: 100,
            cache_write_1h: 0,
            reasoning: 50,
        },
        cost: Cost {
            total: Some(0.5),
            source: CostSource::Reported,
            ..Cost::default()
        },
        context_used: Some(1700),
        context_max: Some(200_000),
        timing: Timing::between(Some(t0 + 1000), Some(t0 + 3000)),
        stop_reason: Some("toolUse".into()),
        text: Some(format!("Running it {IMG} see {JS_LINK}")),
        thinking: Some(format!(
            "{SCRIPT} the user sent Authorization: Bearer {BEARER} in the header"
        )),
        ..at(3, EventKind::AssistantMessage)
    };
    let call = Event {
        model: model.clone(),
        tool: Some(ToolInfo {
            name: Some("exec".into()),
            call_id: Some("call_hostile_1".into()),
            arguments: Some(
                serde_json::json!({
                    "command": format!("curl -H 'Authorization: Bearer {BEARER}' https://example.invalid/{SCRIPT}"),
                    "env": { "ANTHROPIC_API_KEY": key },
                })
                .to_string(),
            ),
            ..ToolInfo::default()
        }),
        ..at(4, EventKind::ToolCall)
    };
    let result = Event {
        tool: Some(ToolInfo {
            name: Some("exec".into()),
            call_id: Some("call_hostile_1".into()),
            result: Some(format!("{JS_LINK} exit 1, leaked {key}")),
            is_error: true,
            exit_code: Some(1),
            ..ToolInfo::default()
        }),
        error: Some(ErrorInfo {
            kind: "tool_error".into(),
            message: Some(format!("{IMG} Authorization: Bearer {BEARER}")),
            retriable: Some(false),
        }),
        timing: Timing::between(Some(t0 + 4000), Some(t0 + 5250)),
        ..at(5, EventKind::ToolResult)
    };
    let done = Event {
        model,
        tokens: Tokens {
            input: 1500,
            output: 80,
            ..Tokens::default()
        },
        cost: Cost {
            total: Some(0.25),
            source: CostSource::Reported,
            ..Cost::default()
        },
        stop_reason: Some("stop".into()),
        text: Some(format!("Done. {SCRIPT}")),
        ..at(7, EventKind::AssistantMessage)
    };
    let meta = SessionMeta {
        session_key: HOSTILE_KEY.into(),
        session_id: Some("0b9f1c2e-hostile".into()),
        source: Some(SourceKind::OpenClaw),
        agent: Some("red".into()),
        label: Some(format!("Deploy {SCRIPT} using {key}")),
        channel: Some(format!("webchat{IMG}")),
        status: Some("done".into()),
        created_via: Some("operator".into()),
        model: Some("claude-sonnet-4-5".into()),
        provider: Some("anthropic".into()),
        created_ms: Some(t0),
        updated_ms: Some(t0 + 7000),
        ..SessionMeta::default()
    };
    Batch {
        events: vec![user, ask, call, result, done],
        sessions: vec![meta],
        cursors: Vec::new(),
    }
}

// ---------------------------------------------------------------------------------
// The store and the app
// ---------------------------------------------------------------------------------

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/openclaw-2026.9.6")
}

fn expected_json() -> Value {
    let text = std::fs::read_to_string(fixture_dir().join("expected_totals.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `expected_totals.json`: per session key, computed from the transcripts.
fn expected() -> BTreeMap<String, Value> {
    expected_json()["per_session_key"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn expected_grand_cost() -> f64 {
    expected_json()["grand_total"]["cost_total"]
        .as_f64()
        .unwrap()
}

/// A store file in a temp dir: the legacy-layout fixture imported, and the hostile
/// session when asked.
struct Fixture {
    dir: tempfile::TempDir,
    store: PathBuf,
}

impl Fixture {
    fn new(hostile: bool) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clawscope.db");
        let mut store = SqliteStore::open(&path).unwrap();
        let home = fixture_dir().join("legacy-layout/home");
        let roots = discover(&[home], &[], &Env::default());
        let pricer = Pricer::new(PriceTable::embedded().clone());
        import(
            &mut store,
            &plan(&roots, SourceSelect::All),
            &pricer,
            1,
            &NoProgress,
        )
        .unwrap();
        if hostile {
            store.apply(&hostile_batch()).unwrap();
        }
        Fixture { dir, store: path }
    }

    /// A second handle on the same file, to compare pages with the store.
    fn reader(&self) -> SqliteStore {
        SqliteStore::open(&self.store).unwrap()
    }

    fn ui(&self) -> UiConfig {
        UiConfig {
            store_path: Some(self.store.clone()),
            ..UiConfig::default()
        }
    }

    fn app(&self, token: Option<&str>, ui: UiConfig) -> Router {
        let state = AppState::new(Box::new(self.reader()), token.map(str::to_string));
        router(state.with_ui(ui))
    }
}

// ---------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------

async fn get(app: &Router, uri: &str) -> Resp {
    send(app, "GET", uri, &[], Payload::None).await
}

async fn get_with(app: &Router, uri: &str, headers: &[(&str, &str)]) -> Resp {
    send(app, "GET", uri, headers, Payload::None).await
}

async fn post_form(
    app: &Router,
    uri: &str,
    headers: &[(&str, &str)],
    form: &[(&str, &str)],
) -> Resp {
    send(app, "POST", uri, headers, Payload::Form(form)).await
}

/// GET that must answer 200 with an HTML page.
async fn page(app: &Router, uri: &str) -> String {
    let r = get(app, uri).await;
    assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
    assert!(
        r.header("content-type").starts_with("text/html"),
        "{uri}: content-type {:?}",
        r.header("content-type")
    );
    r.body
}

/// Percent-encode one path segment (everything but unreserved characters).
fn seg(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn query(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

// ---------------------------------------------------------------------------------
// Reading pages by string scanning
// ---------------------------------------------------------------------------------

/// Escaped text in one spelling (`&lt;`, `&gt;`, `&quot;`, `&amp;`), whichever entities
/// the page used (the templates write numeric ones, the SVG charts named ones).
fn canon(s: &str) -> String {
    s.replace("&#60;", "&lt;")
        .replace("&#62;", "&gt;")
        .replace("&#34;", "&quot;")
        .replace("&#38;", "&amp;")
        .replace("&#x27;", "&#39;")
}

/// The tag (`<...>`) around byte `pos`.
fn tag_at(body: &str, pos: usize) -> &str {
    let start = body[..=pos].rfind('<').expect("inside a tag");
    let end = pos + body[pos..].find('>').expect("tag closes");
    &body[start..=end]
}

/// An attribute's value in one tag, unescaped.
fn attr(tag: &str, name: &str) -> Option<String> {
    let pat = format!(" {name}=\"");
    let from = tag.find(&pat)? + pat.len();
    let len = tag[from..].find('"')?;
    Some(unescape(&tag[from..from + len]))
}

/// `attr` of every tag that contains `marker`.
fn attrs_where(body: &str, marker: &str, name: &str) -> Vec<String> {
    body.match_indices(marker)
        .filter_map(|(i, _)| attr(tag_at(body, i), name))
        .collect()
}

/// The `data-value` of the one element with `data-metric="name"`.
fn metric(body: &str, name: &str) -> String {
    let v = attrs_where(body, &format!("data-metric=\"{name}\""), "data-value");
    assert_eq!(v.len(), 1, "metric {name}: {v:?}");
    v.into_iter().next().unwrap()
}

fn metric_f64(body: &str, name: &str) -> f64 {
    metric(body, name).parse().unwrap()
}

fn metric_u64(body: &str, name: &str) -> u64 {
    metric(body, name).parse().unwrap()
}

/// The text from `start` up to the next `end`.
fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let from = body
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in the page"));
    let rest = &body[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// `href`s of `a.session-link` inside a part of a page.
fn session_links(part: &str) -> Vec<String> {
    attrs_where(part, "class=\"session-link\"", "href")
}

/// Rows of a session table: key → `data-metric="cost"` value.
fn session_rows(body: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for row in body.split("<tr data-session-key=\"").skip(1) {
        let key = unescape(&row[..row.find('"').unwrap()]);
        let row = &row[..row.find("</tr>").unwrap()];
        let cost = attrs_where(row, "data-metric=\"cost\"", "data-value");
        assert_eq!(cost.len(), 1, "row {key}");
        out.insert(key, cost[0].parse().unwrap());
    }
    out
}

/// `data-seq` of the `li.event` rows.
fn event_seqs(body: &str) -> Vec<i64> {
    attrs_where(body, "<li class=\"event ", "data-seq")
        .iter()
        .map(|s| s.parse().unwrap())
        .collect()
}

fn log_lines(body: &str) -> Vec<&str> {
    body.split("<li class=\"log-line ")
        .skip(1)
        .map(|l| &l[..l.find("</li>").unwrap()])
        .collect()
}

/// Neither raw markup nor a whole secret.
fn assert_clean(what: &str, body: &str) {
    for raw in RAW_MARKERS {
        assert!(!body.contains(raw), "{what}: raw {raw:?} in the body");
    }
    assert_no_secrets(what, body);
}

fn assert_no_secrets(what: &str, body: &str) {
    assert!(!body.contains(KEY_TAIL), "{what}: the API key in full");
    assert!(
        !body.contains(&KEY_TAIL[..20]),
        "{what}: most of the API key"
    );
    assert!(!body.contains(BEARER), "{what}: the bearer token in full");
}

fn assert_security_headers(uri: &str, r: &Resp) {
    let csp = r.header("content-security-policy");
    assert!(csp.contains("script-src 'self'"), "{uri}: CSP {csp:?}");
    assert!(!csp.contains("unsafe-inline"), "{uri}: CSP {csp:?}");
    assert!(!csp.contains("unsafe-eval"), "{uri}: CSP {csp:?}");
    assert_eq!(r.header("x-frame-options"), "DENY", "{uri}");
    assert_eq!(r.header("x-content-type-options"), "nosniff", "{uri}");
}

// ---------------------------------------------------------------------------------
// 1. Every page
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn every_page_answers_with_html_and_security_headers() {
    let fx = Fixture::new(true);
    let app = fx.app(None, fx.ui());
    let mut pages: Vec<(String, &str)> = vec![
        ("/".into(), "overview"),
        ("/sessions".into(), "sessions"),
        ("/usage".into(), "usage"),
        ("/usage?step=hour".into(), "usage"),
        ("/usage?step=week&range=all".into(), "usage"),
        ("/flow".into(), "flow"),
        ("/tools".into(), "tools"),
        ("/crons".into(), "crons"),
        ("/logs".into(), "logs"),
        ("/memory".into(), "memory"),
        ("/health".into(), "health"),
        ("/traces".into(), "traces"),
    ];
    for key in expected().keys().map(String::as_str).chain([HOSTILE_KEY]) {
        pages.push((format!("/sessions/{}", seg(key)), "session"));
    }
    for (uri, name) in &pages {
        let r = get(&app, uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        assert!(
            r.header("content-type").starts_with("text/html"),
            "{uri}: {:?}",
            r.header("content-type")
        );
        assert_security_headers(uri, &r);
        let main = format!("<main id=\"page\" data-page=\"{name}\"");
        assert!(r.body.contains(&main), "{uri}: no {main}");
        assert_eq!(r.body.matches("<main ").count(), 1, "{uri}");
        assert!(r.body.trim_end().ends_with("</html>"), "{uri}: cut short");
        assert_clean(uri, &r.body);
    }
    // The store the health page reads from.
    let health = page(&app, "/health").await;
    assert_eq!(metric_u64(&health, "store-sessions"), 5);
    let events = fx.reader().stats().unwrap().events;
    assert_eq!(metric_u64(&health, "store-events"), events);
}

// ---------------------------------------------------------------------------------
// 2. Numbers
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn numbers_match_the_fixture_and_the_store() {
    let fx = Fixture::new(false);
    let app = fx.app(None, fx.ui());
    let exp = expected();
    let store = fx.reader();

    let sum: f64 = exp
        .values()
        .map(|v| v["cost_total"].as_f64().unwrap())
        .sum();
    assert!((sum - expected_grand_cost()).abs() < 1e-9);
    let overview = page(&app, "/").await;
    let total = metric_f64(&overview, "cost-total");
    assert!((total - sum).abs() < 1e-9, "overview {total} vs {sum}");
    assert_eq!(metric_u64(&overview, "sessions-total"), exp.len() as u64);
    let tokens: u64 = exp
        .values()
        .map(|v| v["totalTokens"].as_u64().unwrap())
        .sum();
    assert_eq!(metric_u64(&overview, "tokens-total"), tokens);

    let list = page(&app, "/sessions").await;
    assert_eq!(metric_u64(&list, "sessions-matching"), exp.len() as u64);
    let rows = session_rows(&list);
    assert_eq!(
        rows.keys().collect::<BTreeSet<_>>(),
        exp.keys().collect::<BTreeSet<_>>()
    );
    for (key, cost) in &rows {
        let s = store.session(key).unwrap().unwrap();
        assert_eq!(*cost, s.totals.cost_usd, "{key}");
        let want = exp[key]["cost_total"].as_f64().unwrap();
        assert!((cost - want).abs() < 1e-9, "{key}: {cost} vs {want}");
    }

    for (key, want) in &exp {
        let body = page(&app, &format!("/sessions/{}", seg(key))).await;
        let cost = metric_f64(&body, "session-cost");
        let want_cost = want["cost_total"].as_f64().unwrap();
        assert!(
            (cost - want_cost).abs() < 1e-9,
            "{key}: {cost} vs {want_cost}"
        );
        for (m, field) in [
            ("session-input", "input"),
            ("session-output", "output"),
            ("session-cache-read", "cacheRead"),
            ("session-cache-write", "cacheWrite"),
        ] {
            assert_eq!(
                metric_u64(&body, m),
                want[field].as_u64().unwrap(),
                "{key} {m}"
            );
        }
        assert_eq!(
            metric_u64(&body, "session-tool-calls"),
            want["tool_calls"].as_u64().unwrap(),
            "{key}"
        );
    }

    // All-time usage is the same money, and each session row says its own cost.
    let usage = page(&app, "/usage?range=all").await;
    assert!((metric_f64(&usage, "usage-cost") - sum).abs() < 1e-9);
    let by_session = between(&usage, "<table id=\"usage-by-session\"", "</table>");
    let usage_rows: Vec<(String, f64)> = by_session
        .split("<tr data-session=\"")
        .skip(1)
        .map(|row| {
            let key = unescape(&row[..row.find('"').unwrap()]);
            let cost = attrs_where(row, "data-metric=\"cost\"", "data-value")[0]
                .parse()
                .unwrap();
            (key, cost)
        })
        .collect();
    assert_eq!(usage_rows.len(), exp.len());
    for (key, cost) in usage_rows {
        let want = exp[&key]["cost_total"].as_f64().unwrap();
        assert!((cost - want).abs() < 1e-9, "usage {key}: {cost} vs {want}");
    }
}

// ---------------------------------------------------------------------------------
// 3. Sub-agents
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn sub_agents_link_both_ways() {
    let fx = Fixture::new(false);
    let app = fx.app(None, fx.ui());
    let parent = "agent:main:main";
    let child = "agent:main:subagent:6933b71f-6354-4323-a4b1-5e8ddf7647d4";

    let body = page(&app, &format!("/sessions/{}", seg(parent))).await;
    let sub = between(&body, "id=\"subagents\"", "</section>");
    assert_eq!(
        session_links(sub),
        vec!["/sessions/agent%3Amain%3Asubagent%3A6933b71f-6354-4323-a4b1-5e8ddf7647d4"]
    );
    assert!(sub.contains(child), "child key shown");
    assert!(
        !body.contains("id=\"parent\""),
        "a top session has no parent"
    );
    // The sub-tree cost: the child's own cost (it has no children).
    let rolled = attrs_where(sub, "data-metric=\"subtree-cost\"", "data-value");
    assert_eq!(rolled.len(), 1);
    let want = expected()[child]["cost_total"].as_f64().unwrap();
    assert!((rolled[0].parse::<f64>().unwrap() - want).abs() < 1e-9);

    let body = page(&app, &format!("/sessions/{}", seg(child))).await;
    let back = between(&body, "<p id=\"parent\"", "</p>");
    assert_eq!(session_links(back), vec!["/sessions/agent%3Amain%3Amain"]);
    assert!(back.contains(parent));
    // The links lead somewhere.
    page(&app, "/sessions/agent%3Amain%3Amain").await;
}

// ---------------------------------------------------------------------------------
// 4. Hostile content
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn hostile_content_is_escaped_and_masked() {
    let fx = Fixture::new(true);
    let app = fx.app(None, fx.ui());
    let href = format!("/sessions/{}", seg(HOSTILE_KEY));

    // The session page shows every hostile field, escaped and masked.
    let body = page(&app, &href).await;
    assert_clean("session page", &body);
    assert!(canon(&body).contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(canon(&body).contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(canon(&body).contains("&lt;a href="), "escaped link");
    assert!(
        body.contains("javascript:alert(3)"),
        "link text kept, escaped"
    );
    assert!(body.contains("sk-a…[masked]"), "API key hint");
    assert!(body.contains("Bearer abcd…[masked]"), "bearer hint");
    assert!(!body.contains("x<b>"), "raw key markup");
    assert!(canon(&body).contains("x&lt;b&gt;"), "escaped key");
    let main = tag_at(&body, body.find("<main ").unwrap() + 1);
    assert_eq!(attr(main, "data-session-key").as_deref(), Some(HOSTILE_KEY));
    // Thinking, tool arguments and the tool result are all there.
    let timeline = between(&body, "<ol id=\"timeline\"", "</ol>");
    assert_eq!(event_seqs(timeline).len(), 4, "result folded into its call");
    for part in [
        "<details class=\"thinking\">",
        "<details class=\"args\">",
        "<details class=\"result\" open>",
    ] {
        assert!(timeline.contains(part), "{part}");
    }
    assert!(timeline.contains("the user sent Authorization: Bearer abcd…[masked]"));
    assert!(timeline.contains("ANTHROPIC_API_KEY"));
    assert!(timeline.contains("leaked sk-a…[masked]"));
    // Its totals are what its events say.
    assert!((metric_f64(&body, "session-cost") - HOSTILE_COST).abs() < 1e-12);
    assert_eq!(metric_u64(&body, "session-input"), 2700);

    // The fragment the page appends from.
    let frag = get(&app, &format!("{href}/events?after=0")).await;
    assert_eq!(frag.status, StatusCode::OK);
    assert_security_headers("fragment", &frag);
    assert_clean("fragment", &frag.body);
    assert!(canon(&frag.body).contains("&lt;script&gt;"));

    // Lists that show the session.
    for uri in ["/sessions", "/sessions?q=script", "/usage"] {
        let body = page(&app, uri).await;
        assert_clean(uri, &body);
        assert!(
            canon(&body).contains("x&lt;b&gt;&quot;q&quot;"),
            "{uri}: escaped key"
        );
        let keys: Vec<String> = attrs_where(&body, "class=\"session-link\"", "href");
        assert!(keys.contains(&href), "{uri}: links the hostile session");
        assert!(!body.contains("x<b>"), "{uri}: raw key markup");
    }
    let list = page(&app, "/sessions").await;
    assert!(
        canon(&list).contains("Deploy &lt;script&gt;alert(1)&lt;/script&gt; using sk-a…[masked]")
    );
    assert!(session_rows(&list).contains_key(HOSTILE_KEY));
    // The search finds it by its label ("script") and by transcript text alone
    // ("onerror" is in neither its key nor its label).
    let found = page(&app, "/sessions?q=script").await;
    assert!(session_rows(&found).contains_key(HOSTILE_KEY));
    let found = page(&app, "/sessions?q=onerror").await;
    assert_clean("/sessions?q=onerror", &found);
    assert_eq!(
        session_rows(&found).keys().collect::<Vec<_>>(),
        vec![HOSTILE_KEY]
    );
    // All time: the fixture plus the hostile session's own cost.
    let overview = page(&app, "/").await;
    let total = metric_f64(&overview, "cost-total");
    assert!(
        (total - expected_grand_cost() - HOSTILE_COST).abs() < 1e-9,
        "{total}"
    );
    let usage = page(&app, "/usage").await;
    let table = between(&usage, "<table id=\"usage-by-session\"", "</table>");
    assert!(
        canon(table).contains("x&lt;b&gt;"),
        "usage session table has the key"
    );
    assert!(!table.contains("x<b>"));
    assert!(
        table.contains(&format!("data-value=\"{HOSTILE_COST}\"")),
        "usage session cost"
    );

    // Every other page, the hostile tool error and channel included.
    for uri in ["/", "/flow", "/tools", "/crons", "/health", "/traces"] {
        assert_clean(uri, &page(&app, uri).await);
    }
    let tools = page(&app, "/tools").await;
    assert!(canon(&tools)
        .contains("&lt;img src=x onerror=alert(2)&gt; Authorization: Bearer abcd…[masked]"));
    let flow = page(&app, "/flow").await;
    assert!(canon(&flow).contains("webchat&quot;&gt;&lt;img"));

    // Exports: masked, and the key kept intact inside its quotes.
    for uri in [
        "/sessions?format=csv",
        "/sessions?format=json",
        "/usage/export?table=session&format=csv",
        "/usage/export?table=session&format=json",
    ] {
        let r = get(&app, uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        assert_eq!(r.header("x-content-type-options"), "nosniff", "{uri}");
        assert!(r.header("content-disposition").starts_with("attachment"));
        assert_no_secrets(uri, &r.body);
    }
    let csv = get(&app, "/sessions?format=csv").await.body;
    assert!(csv.contains("\"agent:red:x<b>\"\"q\"\"\""), "{csv}");
    let json: Value = serde_json::from_str(&get(&app, "/sessions?format=json").await.body).unwrap();
    let row = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["session_key"] == HOSTILE_KEY)
        .expect("hostile row in the JSON export");
    assert_eq!(
        row["label"],
        "Deploy <script>alert(1)</script> using sk-a…[masked]"
    );
    let csv = get(&app, "/usage/export?table=session&format=csv")
        .await
        .body;
    assert!(
        csv.contains(&format!(
            "\"agent:red:x<b>\"\"q\"\"\",2,2700,380,400,100,{HOSTILE_COST},reported"
        )),
        "{csv}"
    );
}

// ---------------------------------------------------------------------------------
// 5. Sign-in
// ---------------------------------------------------------------------------------

fn is_redirect(s: StatusCode) -> bool {
    s == StatusCode::SEE_OTHER || s == StatusCode::FOUND
}

#[tokio::test]
async fn sign_in_guards_every_page() {
    let fx = Fixture::new(false);
    let app = fx.app(Some("tok"), fx.ui());

    // Nothing without credentials; no header stands in for them.
    let r = get(&app, "/").await;
    assert!(is_redirect(r.status), "{}", r.status);
    assert_eq!(r.location(), "/login?next=%2F");
    let r = get(&app, "/sessions?sort=cost").await;
    assert!(is_redirect(r.status));
    assert_eq!(r.location(), "/login?next=%2Fsessions%3Fsort%3Dcost");
    assert_eq!(
        get(&app, "/api/v1/sessions").await.status,
        StatusCode::UNAUTHORIZED
    );
    for h in [
        ("X-Forwarded-For", "127.0.0.1"),
        ("Forwarded", "for=127.0.0.1"),
        ("Host", "localhost"),
        ("X-Real-IP", "127.0.0.1"),
        ("Authorization", "Bearer wrong"),
        ("Cookie", "clawscope_session=0000"),
    ] {
        let r = get_with(&app, "/", &[h]).await;
        assert!(is_redirect(r.status), "{h:?}: {}", r.status);
        assert!(r.location().starts_with("/login"), "{h:?}");
        assert!(!r.body.contains("data-page"), "{h:?}: no page");
        let r = get_with(&app, "/api/v1/sessions", &[h]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{h:?}");
    }
    assert_eq!(
        get_with(&app, "/api/v1/sessions", &[("Authorization", "Bearer tok")])
            .await
            .status,
        StatusCode::OK
    );

    // The form and the assets are open.
    let r = get(&app, "/login").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("form id=\"login\""));
    assert_security_headers("/login", &r);
    let r = get(&app, "/assets/app.css").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").starts_with("text/css"));
    assert!(r.body.len() > 100);

    // A wrong token: the form again, no cookie.
    let r = post_form(&app, "/login", &[], &[("token", "nope"), ("next", "/")]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers.get(header::SET_COOKIE).is_none());
    assert!(r.body.contains("form id=\"login\""));

    // Where to go afterwards: a local path only.
    for (next, to) in [
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/sessions?sort=cost", "/sessions?sort=cost"),
    ] {
        let r = post_form(&app, "/login", &[], &[("token", "tok"), ("next", next)]).await;
        assert!(is_redirect(r.status), "{next}: {}", r.status);
        assert_eq!(r.location(), to, "{next}");
        let form = get(&app, &format!("/login?{}", query(&[("next", next)]))).await;
        let hidden = attrs_where(&form.body, "name=\"next\"", "value");
        assert_eq!(hidden, vec![to.to_string()], "{next}");
    }

    // The right token: a strict, HttpOnly cookie that opens pages and the API.
    let r = post_form(&app, "/login", &[], &[("token", "tok"), ("next", "/")]).await;
    assert!(is_redirect(r.status));
    assert_eq!(r.location(), "/");
    let set = r.header("set-cookie").to_string();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    let cookie = set.split(';').next().unwrap().to_string();
    assert!(cookie.starts_with("clawscope_session=") && cookie.len() > 40);
    let signed = [("Cookie", cookie.as_str())];
    let home = get_with(&app, "/", &signed).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("action=\"/logout\""), "sign-out form");
    assert_eq!(
        get_with(&app, "/api/v1/sessions", &signed).await.status,
        StatusCode::OK
    );

    // Signing out needs the page's CSRF token.
    let body_tag = tag_at(&home.body, home.body.find("<body ").unwrap() + 1);
    let csrf = attr(body_tag, "data-csrf").unwrap();
    assert_eq!(csrf.len(), 64);
    let r = post_form(&app, "/logout", &signed, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = post_form(&app, "/logout", &signed, &[("csrf", "f00d")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(get_with(&app, "/", &signed).await.status, StatusCode::OK);
    let r = post_form(&app, "/logout", &signed, &[("csrf", &csrf)]).await;
    assert!(is_redirect(r.status), "{}", r.status);
    assert!(r.header("set-cookie").contains("Max-Age=0"));
    let r = get_with(&app, "/", &signed).await;
    assert!(is_redirect(r.status), "cookie still works: {}", r.status);
    assert_eq!(
        get_with(&app, "/api/v1/sessions", &signed).await.status,
        StatusCode::UNAUTHORIZED
    );
    // A POST without any sign-in is refused outright.
    let r = post_form(&app, "/logout", &[], &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// Browsers drop tabs and line breaks from a URL before resolving it, so `/<TAB>/host`
/// is `//host`: another site. Such a `next` must not come back as the redirect target
/// (nor take the handler down).
#[tokio::test]
async fn sign_in_next_with_control_characters_stays_local() {
    let fx = Fixture::new(false);
    let app = fx.app(Some("tok"), fx.ui());
    let mut wrong = Vec::new();
    for next in ["/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example"] {
        let app = app.clone();
        let r = tokio::spawn(async move {
            post_form(&app, "/login", &[], &[("token", "tok"), ("next", next)]).await
        })
        .await;
        match r {
            Err(e) => wrong.push(format!("{next:?}: the handler panicked ({e})")),
            Ok(r) if !is_redirect(r.status) || r.location() != "/" => {
                wrong.push(format!("{next:?}: {} to {:?}", r.status, r.location()))
            }
            Ok(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// The open paths (`/login`, `/assets/`) do not open anything else.
#[tokio::test]
async fn public_paths_do_not_reach_the_rest() {
    let fx = Fixture::new(false);
    let app = fx.app(Some("tok"), fx.ui());
    for uri in [
        "/assets/../api/v1/sessions",
        "/assets/..%2Fapi%2Fv1%2Fsessions",
        "/assets/%2e%2e/api/v1/sessions",
        "/assets/app.css/../../sessions",
        "/login/../api/v1/sessions",
        "/login/../sessions",
    ] {
        let r = get(&app, uri).await;
        assert_ne!(r.status, StatusCode::OK, "{uri}");
        assert!(!r.body.contains("agent:main:main"), "{uri}: {}", r.body);
    }
}

// ---------------------------------------------------------------------------------
// 6. Bad input
// ---------------------------------------------------------------------------------

async fn assert_error_page(app: &Router, uri: &str, status: StatusCode) -> String {
    let r = get(app, uri).await;
    assert_eq!(r.status, status, "{uri}: {}", r.body);
    assert!(
        r.header("content-type").starts_with("text/html"),
        "{uri}: {:?}",
        r.header("content-type")
    );
    assert_security_headers(uri, &r);
    assert!(r.body.contains("data-page=\"error\""), "{uri}: {}", r.body);
    r.body
}

#[tokio::test]
async fn bad_input_gets_clear_errors() {
    let fx = Fixture::new(false);
    let app = fx.app(None, fx.ui());
    let main = format!("/sessions/{}", seg("agent:main:main"));

    let body = assert_error_page(&app, "/sessions?sort=bogus", StatusCode::BAD_REQUEST).await;
    assert!(body.contains("sort must be"), "{body}");
    assert!(body.contains("bogus"));
    let body = assert_error_page(
        &app,
        &format!("/sessions?{}", query(&[("sort", SCRIPT)])),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_clean("sort error", &body);
    assert!(
        canon(&body).contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{body}"
    );

    assert_error_page(&app, "/sessions/nope", StatusCode::NOT_FOUND).await;
    assert_error_page(&app, "/sessions?page=abc", StatusCode::BAD_REQUEST).await;
    assert_error_page(&app, "/sessions?page=0", StatusCode::BAD_REQUEST).await;
    assert_error_page(&app, "/sessions?dir=up", StatusCode::BAD_REQUEST).await;
    assert_error_page(&app, &format!("{main}?page=x"), StatusCode::BAD_REQUEST).await;
    assert_error_page(&app, "/usage?step=month", StatusCode::BAD_REQUEST).await;
    assert_error_page(&app, "/usage?range=7x", StatusCode::BAD_REQUEST).await;
    assert_error_page(&app, "/memory?file=../../etc/passwd", StatusCode::NOT_FOUND).await;
    assert_error_page(&app, "/logs?level=loud", StatusCode::BAD_REQUEST).await;
    assert_error_page(&app, &format!("{main}/events"), StatusCode::BAD_REQUEST).await;
    assert_error_page(&app, "/traces/nope", StatusCode::NOT_FOUND).await;
    assert_error_page(&app, "/tools?range=bogus", StatusCode::BAD_REQUEST).await;
    assert_error_page(&app, "/flow?range=zz", StatusCode::BAD_REQUEST).await;
    for uri in [
        "/usage/export?table=x&format=csv",
        "/usage/export?table=session&format=xml",
        "/sessions?format=xml",
        "/sessions/agent%3Amain%3Amain/events?after=abc",
        "/logs/tail?offset=-1",
    ] {
        assert_eq!(
            get(&app, uri).await.status,
            StatusCode::BAD_REQUEST,
            "{uri}"
        );
    }

    // The fragment: every row stored after the given sequence, in store order (the
    // page appends them as they come); from 0 the same rows as the page.
    let page_body = page(&app, &main).await;
    let mut on_page = event_seqs(between(&page_body, "<ol id=\"timeline\"", "</ol>"));
    assert!(on_page.len() > 10);
    on_page.sort_unstable();
    let r = get(&app, &format!("{main}/events?after=0")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").starts_with("text/html"));
    assert_security_headers("fragment", &r);
    let all = event_seqs(&r.body);
    assert!(all.is_sorted(), "{all:?}");
    assert_eq!(all, on_page);
    assert_eq!(
        r.body.matches("<li class=\"event ").count(),
        all.len(),
        "every row is an li.event"
    );
    let mid = all[all.len() / 2];
    let later = event_seqs(&get(&app, &format!("{main}/events?after={mid}")).await.body);
    assert!(later.is_sorted(), "{later:?}");
    assert!(later.iter().all(|s| *s > mid), "{later:?} after {mid}");
    // A result whose call came before `mid` gets its own row here; nothing else differs.
    for s in all.iter().filter(|s| **s > mid) {
        assert!(later.contains(s), "{s} missing after {mid}: {later:?}");
    }
    let last = *all.iter().max().unwrap();
    let none = get(&app, &format!("{main}/events?after={last}")).await.body;
    assert!(event_seqs(&none).is_empty(), "{none}");
}

// ---------------------------------------------------------------------------------
// 7. Memory
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn memory_lists_and_shows_workspace_notes() {
    let fx = Fixture::new(false);
    let ws = fx.dir.path().join("workspace");
    std::fs::create_dir_all(ws.join("memory")).unwrap();
    std::fs::write(
        ws.join("AGENTS.md"),
        format!("# Agents\n\n{SCRIPT}\nANTHROPIC_API_KEY={}\n", api_key()),
    )
    .unwrap();
    std::fs::write(
        ws.join("memory/2026-11-21.md"),
        format!("Met <b>Bob</b>. He said Authorization: Bearer {BEARER}\n"),
    )
    .unwrap();
    std::fs::write(ws.join("notes.txt"), "not markdown").unwrap();
    let outside = fx.dir.path().join("outside.md");
    std::fs::write(&outside, "OUTSIDE THE WORKSPACE").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, ws.join("memory/link.md")).unwrap();

    let app = fx.app(
        None,
        UiConfig {
            files: Some(Arc::new(SourceFiles {
                workspaces: vec![ws],
                ..SourceFiles::default()
            })),
            ..fx.ui()
        },
    );
    let body = page(&app, "/memory").await;
    let ids = attrs_where(&body, "data-file=", "data-file");
    assert_eq!(ids, vec!["0:AGENTS.md", "0:memory/2026-11-21.md"]);
    let hrefs = attrs_where(&body, "data-file=", "href");

    let agents = page(&app, &hrefs[0]).await;
    let content = between(&agents, "<pre id=\"memory-content\"", "</pre>");
    assert!(content.contains("# Agents"));
    assert!(canon(content).contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        content.contains("ANTHROPIC_API_KEY=sk-a…[masked]"),
        "{content}"
    );
    assert_clean("AGENTS.md", &agents);
    let current = attrs_where(&agents, "aria-current=\"page\"", "data-file");
    assert!(current.contains(&"0:AGENTS.md".to_string()));

    let day = page(&app, &hrefs[1]).await;
    let content = between(&day, "<pre id=\"memory-content\"", "</pre>");
    assert!(
        canon(content).contains("Met &lt;b&gt;Bob&lt;/b&gt;."),
        "{content}"
    );
    assert!(content.contains("Bearer abcd…[masked]"));
    assert_clean("memory day", &day);

    // Only listed files open.
    for file in [
        "0:../outside.md",
        "0:memory/link.md",
        "0:notes.txt",
        "1:AGENTS.md",
        "/etc/passwd",
    ] {
        let r = get(&app, &format!("/memory?{}", query(&[("file", file)]))).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{file}");
        assert!(!r.body.contains("OUTSIDE THE WORKSPACE"), "{file}");
    }
}

// ---------------------------------------------------------------------------------
// 8. Logs
// ---------------------------------------------------------------------------------

fn log_line(level_id: u64, level: &str, subsystem: &str, message: &str) -> String {
    let time = "2026-11-21T16:49:05.610+00:00";
    let mut l = serde_json::json!({
        "0": serde_json::json!({ "subsystem": subsystem }).to_string(),
        "1": message,
        "_meta": { "logLevelId": level_id, "logLevelName": level, "date": "2026-11-21T16:49:05.610Z" },
        "time": time,
        "hostname": "vm",
        "message": message,
    })
    .to_string();
    l.push('\n');
    l
}

#[tokio::test]
async fn logs_follow_the_gateway_file() {
    let fx = Fixture::new(false);
    let file = fx.dir.path().join("openclaw-2026-11-21.log");
    let mut text = String::new();
    text += &log_line(3, "INFO", "gateway", "listening on ws://127.0.0.1:18789");
    text += &log_line(
        4,
        "WARN",
        "providers",
        &format!("slow response; Authorization: Bearer {BEARER}"),
    );
    text += &log_line(5, "ERROR", "plugins", &format!("plugin crashed: {SCRIPT}"));
    std::fs::write(&file, &text).unwrap();
    let app = fx.app(
        None,
        UiConfig {
            files: Some(Arc::new(SourceFiles {
                logs: vec![file.clone()],
                ..SourceFiles::default()
            })),
            ..fx.ui()
        },
    );

    let body = page(&app, "/logs").await;
    assert_clean("/logs", &body);
    let lines = log_lines(&body);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("lv-info") && lines[0].contains("listening on"));
    assert!(lines[1].starts_with("lv-warn") && lines[1].contains("Bearer abcd…[masked]"));
    assert!(lines[2].starts_with("lv-error"));
    assert!(canon(lines[2]).contains("plugin crashed: &lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(lines[2].contains("<span class=\"subsystem\">plugins</span>"));
    let main = tag_at(&body, body.find("<main ").unwrap() + 1);
    let offset: u64 = attr(main, "data-log-offset").unwrap().parse().unwrap();
    assert_eq!(offset, text.len() as u64);

    let errors = page(&app, "/logs?level=error").await;
    let lines = log_lines(&errors);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("lv-error") && lines[0].contains("plugin crashed"));
    assert_eq!(log_lines(&page(&app, "/logs?level=warn").await).len(), 2);

    // A new line: the tail returns just it, and where to read on from.
    let added = log_line(5, "ERROR", "gateway", "disk <full>");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap()
        .write_all(added.as_bytes())
        .unwrap();
    let r = get(&app, &format!("/logs/tail?offset={offset}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_security_headers("/logs/tail", &r);
    let lines = log_lines(&r.body);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(canon(lines[0]).contains("disk &lt;full&gt;"));
    let next: u64 = attrs_where(&r.body, "class=\"log-offset\"", "data-offset")[0]
        .parse()
        .unwrap();
    assert_eq!(next, offset + added.len() as u64);
    // Nothing new, and a half-written line waits for its end.
    assert!(log_lines(&get(&app, &format!("/logs/tail?offset={next}")).await.body).is_empty());
    std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap()
        .write_all(b"{\"0\":\"half")
        .unwrap();
    let r = get(&app, &format!("/logs/tail?offset={next}")).await;
    assert!(log_lines(&r.body).is_empty());
    let again: u64 = attrs_where(&r.body, "class=\"log-offset\"", "data-offset")[0]
        .parse()
        .unwrap();
    assert_eq!(again, next);
    // The level filter applies to the tail too.
    let r = get(&app, &format!("/logs/tail?offset={offset}&level=fatal")).await;
    assert!(log_lines(&r.body).is_empty());
}
