//! `/sessions/{key}`: one session's whole story: summary and cost provenance, the
//! sub-agent tree with rolled-up cost, per-turn token bars, context over time, the
//! paged timeline (live appends on the last page), and its OTLP traces.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use clawscope_core::model::EventKind;
use clawscope_core::otel::TraceFilter;
use clawscope_core::query::{EventFilter, SessionFilter, SessionOrder, SessionSummary};
use clawscope_core::redact::mask;
use clawscope_store::Store;

use super::chrome::Chrome;
use super::rows::{session_href, Metric};
use super::timeline::{self, EventRow, EventRows};
use super::{fmt, render, svg};
use crate::{ApiError, AppState};

/// Timeline rows per page.
const PER_PAGE: usize = 200;
/// Model calls read for the context line and the model breakdown.
const MAX_CALLS: usize = 5000;
/// Sub-agent levels shown.
const TREE_DEPTH: usize = 4;
/// Children listed per session.
const MAX_CHILDREN: usize = 200;

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    page: Option<String>,
    after: Option<i64>,
}

pub struct TreeNode {
    pub depth: usize,
    pub href: String,
    pub key: String,
    pub agent: String,
    pub status: String,
    pub own_cost: String,
    pub rolled_cost: String,
    pub rolled_value: String,
}

pub struct ModelRow {
    pub model: String,
    pub calls: u64,
    pub tokens: String,
    pub cost: String,
    pub source: String,
}

pub struct TraceLink {
    pub href: String,
    pub name: String,
    pub when: String,
    pub duration: String,
    pub errors: u64,
}

#[derive(Template)]
#[template(path = "session.html")]
pub struct SessionPage {
    pub chrome: Chrome,
    pub key: String,
    pub title: String,
    pub facts: Vec<(&'static str, String)>,
    pub metrics: Vec<Metric>,
    pub provenance: String,
    pub parent: Option<(String, String)>,
    pub tree: Vec<TreeNode>,
    pub tree_total: String,
    pub models: Vec<ModelRow>,
    pub turns_chart: String,
    pub context_chart: String,
    pub rows: Vec<EventRow>,
    pub page_no: usize,
    pub pages: usize,
    pub last_seq: i64,
    pub is_last_page: bool,
    pub pager: Vec<(usize, String)>,
    pub traces: Vec<TraceLink>,
}

fn children(s: &dyn Store, key: &str) -> Result<Vec<SessionSummary>, ApiError> {
    Ok(s.sessions(&SessionFilter {
        parent: Some(key.to_string()),
        order: SessionOrder::FirstActivity,
        reverse: true,
        limit: MAX_CHILDREN,
        ..SessionFilter::default()
    })?)
}

/// Depth-first sub-agent tree; returns the subtree's total cost.
fn tree(s: &dyn Store, key: &str, depth: usize, out: &mut Vec<TreeNode>) -> Result<f64, ApiError> {
    if depth > TREE_DEPTH {
        return Ok(0.0);
    }
    let mut total = 0.0;
    for c in children(s, key)? {
        let at = out.len();
        out.push(TreeNode {
            depth,
            href: session_href(&c.session_key),
            key: mask(&c.session_key).into_owned(),
            agent: c.agent.clone().unwrap_or_default(),
            status: c.status.clone().unwrap_or_default(),
            own_cost: fmt::money(c.totals.cost_usd),
            rolled_cost: String::new(),
            rolled_value: String::new(),
        });
        let below = tree(s, &c.session_key, depth + 1, out)?;
        let rolled = c.totals.cost_usd + below;
        out[at].rolled_cost = fmt::money(rolled);
        out[at].rolled_value = rolled.to_string();
        total += rolled;
    }
    Ok(total)
}

fn page_no(raw: Option<&str>, pages: usize) -> Result<usize, ApiError> {
    match raw {
        None | Some("") | Some("last") => Ok(pages),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n.min(pages)),
            _ => Err(ApiError::BadRequest(format!(
                "page must be a number from 1 or \"last\", got {s:?}"
            ))),
        },
    }
}

fn pager(pages: usize, current: usize, key: &str) -> Vec<(usize, String)> {
    let mut shown: Vec<usize> = vec![1, pages];
    shown.extend(current.saturating_sub(2).max(1)..=(current + 2).min(pages));
    shown.sort_unstable();
    shown.dedup();
    shown
        .into_iter()
        .map(|n| (n, format!("{}?page={n}", session_href(key))))
        .collect()
}

/// `GET /sessions/{key}`.
pub async fn page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Query(p): Query<Params>,
) -> Response {
    let started = Instant::now();
    let stream_q = serde_urlencoded::to_string([("session", key.as_str()), ("type", "event")])
        .unwrap_or_default();
    let mut chrome =
        Chrome::new(&st, &headers, "session", &format!("Session {}", mask(&key))).live(&stream_q);
    chrome.live_mode = "append";
    let tz = st.ui.tz;
    let r = st
        .read(move |s| {
            let sum = s
                .session(&key)?
                .ok_or_else(|| ApiError::NotFound(format!("no session {key:?}")))?;
            let total_events = sum.events as usize;
            let pages = total_events.div_ceil(PER_PAGE).max(1);
            let page_no = page_no(p.page.as_deref(), pages)?;
            let events = s.events(&EventFilter {
                session_key: Some(key.clone()),
                limit: PER_PAGE,
                offset: (page_no - 1) * PER_PAGE,
                ..EventFilter::default()
            })?;
            // Anything of this session stored later has a higher sequence.
            let last_seq = s.max_seq()?;
            // Per-turn tokens on this page.
            let turns: Vec<(String, Vec<f64>)> = events
                .iter()
                .filter(|e| {
                    e.event.kind == Some(EventKind::AssistantMessage) && !e.event.tokens.is_zero()
                })
                .map(|e| {
                    let t = &e.event.tokens;
                    (
                        fmt::datetime(e.event.ts_ms, tz),
                        vec![
                            t.input as f64,
                            t.cache_read as f64,
                            t.cache_write as f64,
                            t.output.saturating_sub(t.reasoning) as f64,
                            t.reasoning as f64,
                        ],
                    )
                })
                .collect();
            let turns_chart = svg::stacked(
                &turns,
                &["input", "cache read", "cache write", "output", "reasoning"],
                "Tokens per model call on this page",
            );
            // Every model call: context over time and the per-model breakdown.
            let calls = s.events(&EventFilter {
                session_key: Some(key.clone()),
                kinds: vec![EventKind::AssistantMessage.as_str().to_string()],
                limit: MAX_CALLS,
                ..EventFilter::default()
            })?;
            let context: Vec<f64> = calls
                .iter()
                .filter_map(|e| e.event.context_used)
                .map(|c| c as f64)
                .collect();
            let ceiling = sum
                .context_max
                .or_else(|| calls.iter().rev().find_map(|e| e.event.context_max))
                .map(|c| c as f64);
            let context_chart = svg::line(
                &context,
                ceiling,
                "Context used per model call, against the window",
            );
            let mut by_model: BTreeMap<String, (u64, u64, f64, BTreeSet<String>)> = BTreeMap::new();
            for e in &calls {
                let ev = &e.event;
                let m = by_model
                    .entry(ev.model.model.clone().unwrap_or_else(|| "unknown".into()))
                    .or_default();
                m.0 += 1;
                m.1 += ev.tokens.total();
                m.2 += ev.cost.total.unwrap_or(0.0);
                let src = match (&ev.cost.price_version, ev.cost.source.as_str()) {
                    (Some(v), "computed") => format!("computed ({v})"),
                    (_, s) => s.to_string(),
                };
                m.3.insert(src);
            }
            let models = by_model
                .into_iter()
                .map(|(model, (calls, tokens, cost, src))| ModelRow {
                    model,
                    calls,
                    tokens: fmt::tokens(tokens),
                    cost: fmt::money(cost),
                    source: src.into_iter().collect::<Vec<_>>().join(", "),
                })
                .collect();
            let mut nodes = Vec::new();
            let below = tree(s, &key, 0, &mut nodes)?;
            let parent = sum
                .parent_session_key
                .as_ref()
                .map(|p| (session_href(p), mask(p).into_owned()));
            let traces = s
                .traces(&TraceFilter {
                    session_key: Some(key.clone()),
                    limit: 20,
                    ..TraceFilter::default()
                })?
                .into_iter()
                .map(|t| TraceLink {
                    href: format!("/traces/{}", super::rows::seg(&t.trace_id)),
                    name: t.name,
                    when: fmt::datetime(t.start_ms as i64, tz),
                    duration: fmt::duration(t.duration_ms as i64),
                    errors: t.errors,
                })
                .collect();
            let t = &sum.totals;
            let metrics = vec![
                Metric::usd(
                    "session-cost",
                    "Cost",
                    t.cost_usd,
                    format!("cost {}", t.cost_source()),
                ),
                Metric::count("session-input", "Input", t.input_tokens, String::new()),
                Metric::count(
                    "session-cache-read",
                    "Cache read",
                    t.cache_read_tokens,
                    String::new(),
                ),
                Metric::count(
                    "session-cache-write",
                    "Cache write",
                    t.cache_write_tokens,
                    String::new(),
                ),
                Metric::count(
                    "session-output",
                    "Output",
                    t.output_tokens,
                    if t.reasoning_tokens > 0 {
                        format!("{} reasoning", fmt::int(t.reasoning_tokens))
                    } else {
                        String::new()
                    },
                ),
                Metric::count(
                    "session-tool-calls",
                    "Tool calls",
                    sum.tool_calls,
                    format!("{} failed", sum.tool_errors),
                ),
            ];
            let provenance = format!(
                "{} reported by the agent · {} computed from the price table{}",
                fmt::money(t.cost_reported_usd),
                fmt::money(t.cost_computed_usd),
                if t.unpriced_entries > 0 {
                    format!(
                        " · {} responses without a known price (not in the total)",
                        t.unpriced_entries
                    )
                } else {
                    String::new()
                }
            );
            let mut facts = vec![
                ("Agent", sum.agent.clone().unwrap_or_default()),
                ("Source", sum.source.clone()),
                ("Channel", sum.channel.clone().unwrap_or_default()),
                ("Status", sum.status.clone().unwrap_or_default()),
                ("Models", sum.models.join(", ")),
                ("Started", fmt::datetime(sum.first_ms, tz)),
                ("Last activity", fmt::datetime(sum.last_ms, tz)),
                ("Events", fmt::int(sum.events)),
            ];
            if let (Some(u), Some(m)) = (sum.context_used, sum.context_max) {
                facts.push((
                    "Context",
                    format!(
                        "{} of {} ({})",
                        fmt::int(u),
                        fmt::int(m),
                        fmt::pct(u as f64 / m.max(1) as f64)
                    ),
                ));
            }
            if let Some(id) = &sum.session_id {
                facts.push(("Session id", id.clone()));
            }
            facts.retain(|(_, v)| !v.is_empty());
            Ok(SessionPage {
                chrome,
                title: mask(sum.label.as_deref().unwrap_or(&key)).into_owned(),
                facts: facts
                    .into_iter()
                    .map(|(k, v)| (k, mask(&v).into_owned()))
                    .collect(),
                metrics,
                provenance,
                parent,
                tree_total: if nodes.is_empty() {
                    String::new()
                } else {
                    fmt::money(t.cost_usd + below)
                },
                tree: nodes,
                models,
                turns_chart,
                context_chart,
                rows: timeline::rows(events, tz),
                page_no,
                pages,
                last_seq,
                is_last_page: page_no == pages,
                pager: pager(pages, page_no, &key),
                traces,
                key,
            })
        })
        .await;
    render::page(r, started)
}

/// `GET /sessions/{key}/events?after=SEQ`: timeline rows stored after `SEQ` (the page
/// script appends them when the live feed says something arrived).
pub async fn fragment(
    State(st): State<AppState>,
    Path(key): Path<String>,
    Query(p): Query<Params>,
) -> Response {
    let started = Instant::now();
    let tz = st.ui.tz;
    let Some(after) = p.after else {
        return render::error(
            ApiError::BadRequest("after=<seq> is required".into()),
            started,
        );
    };
    let r = st
        .read(move |s| {
            let events = s.events(&EventFilter {
                session_key: Some(key),
                after_seq: Some(after),
                limit: PER_PAGE,
                ..EventFilter::default()
            })?;
            Ok(EventRows {
                rows: timeline::rows(events, tz),
            })
        })
        .await;
    render::page(r, started)
}
