//! `/usage`: cost and tokens over time (hour / day / week), broken down by model,
//! agent, project, channel and session, and 5-hour blocks. Every table exports as CSV
//! or JSON through `/usage/export?table=...&format=csv|json` with the same filters.

use std::collections::BTreeMap;
use std::time::Instant;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use clawscope_core::query::{Dims, SessionFilter, SessionOrder, UsageFilter};
use clawscope_core::redact::mask;
use clawscope_core::report::{blocks, group, GroupBy, UsageEntry, UsageTotals};
use clawscope_store::Store;

use super::chrome::Chrome;
use super::rows::session_href;
use super::sessions::{csv_field, download};
use super::{fmt, render, svg};
use crate::{params, ApiError, AppState};

const HOUR_MS: i64 = 3_600_000;
/// Sessions in the session breakdown.
const TOP_SESSIONS: usize = 25;
/// How far back the 5-hour blocks look.
const BLOCK_DAYS: i64 = 7;

#[derive(Debug, Default, Deserialize, Clone)]
pub struct Params {
    #[serde(default)]
    pub range: String,
    #[serde(default)]
    pub step: String,
    #[serde(default)]
    pub table: String,
    #[serde(default)]
    pub format: String,
}

/// One breakdown row.
pub struct Row {
    pub key: String,
    pub totals: UsageTotals,
    pub href: Option<String>,
    pub tokens_text: String,
    pub cost_text: String,
    pub meter: String,
}

pub struct Table {
    pub id: &'static str,
    pub title: &'static str,
    pub dim: &'static str,
    pub rows: Vec<Row>,
    pub csv: String,
    pub json: String,
}

pub struct BlockRow {
    pub start: String,
    pub end: String,
    pub active: bool,
    pub tokens: String,
    pub cost: String,
    pub models: String,
    pub burn: String,
}

#[derive(Template)]
#[template(path = "usage.html")]
pub struct UsagePage {
    pub chrome: Chrome,
    pub range: String,
    pub step: String,
    pub ranges: Vec<(&'static str, String, bool)>,
    pub steps: Vec<(&'static str, String, bool)>,
    pub total_cost: String,
    pub total_value: String,
    pub total_note: String,
    pub cost_chart: String,
    pub tokens_chart: String,
    pub tables: Vec<Table>,
    pub blocks: Vec<BlockRow>,
}

fn row(key: String, t: &UsageTotals, max_cost: f64, href: Option<String>) -> Row {
    Row {
        href,
        tokens_text: fmt::tokens(t.total_tokens),
        cost_text: fmt::money(t.cost_usd),
        meter: svg::meter(t.cost_usd, max_cost, &fmt::money(t.cost_usd)),
        totals: t.clone(),
        key,
    }
}

fn table(
    id: &'static str,
    title: &'static str,
    dim: &'static str,
    mut items: Vec<(String, UsageTotals, Option<String>)>,
    p: &Params,
) -> Table {
    items.sort_by(|a, b| {
        b.1.cost_usd
            .total_cmp(&a.1.cost_usd)
            .then(b.1.total_tokens.cmp(&a.1.total_tokens))
    });
    let max = items.first().map(|i| i.1.cost_usd).unwrap_or(0.0);
    let link = |format: &str| {
        let q = serde_urlencoded::to_string([
            ("table", dim),
            ("format", format),
            ("range", p.range.as_str()),
        ])
        .unwrap_or_default();
        format!("/usage/export?{q}")
    };
    Table {
        id,
        title,
        dim,
        csv: link("csv"),
        json: link("json"),
        rows: items
            .into_iter()
            .map(|(k, t, h)| row(mask(&k).into_owned(), &t, max, h))
            .collect(),
    }
}

/// Every breakdown for the range (`only`: just that one, for exports).
fn tables(
    s: &dyn Store,
    since_ms: Option<i64>,
    p: &Params,
    only: Option<&str>,
) -> Result<Vec<Table>, ApiError> {
    let want = |d: &str| only.is_none_or(|o| o == d);
    let base = UsageFilter {
        since_ms,
        ..UsageFilter::default()
    };
    let mut out = Vec::new();
    // One pass over the rollups for the model, agent and project breakdowns.
    if want("model") || want("agent") || want("project") {
        let b = s.usage_buckets(&UsageFilter {
            keep: Dims::AgentProjectModel,
            ..base.clone()
        })?;
        for (dim, by, id, title) in [
            ("model", GroupBy::Model, "usage-by-model", "By model"),
            ("agent", GroupBy::Agent, "usage-by-agent", "By agent"),
            (
                "project",
                GroupBy::Project,
                "usage-by-project",
                "By project",
            ),
        ] {
            if !want(dim) {
                continue;
            }
            let (rows, _) = group(&b, by, chrono_tz::UTC);
            let items = rows.into_iter().map(|r| {
                let key = if r.key.is_empty() {
                    "(none)".to_string()
                } else {
                    r.key
                };
                (key, r.totals, None)
            });
            out.push(table(id, title, dim, items.collect(), p));
        }
    }
    if want("channel") || want("session") {
        let sessions = s.sessions(&SessionFilter {
            usage: base.clone(),
            order: SessionOrder::Cost,
            ..SessionFilter::default()
        })?;
        if want("channel") {
            let mut by: BTreeMap<String, UsageTotals> = BTreeMap::new();
            for r in &sessions {
                by.entry(r.channel.clone().unwrap_or_else(|| "(none)".into()))
                    .or_default()
                    .add(&r.totals);
            }
            out.push(table(
                "usage-by-channel",
                "By channel (sessions active in the range)",
                "channel",
                by.into_iter().map(|(k, t)| (k, t, None)).collect(),
                p,
            ));
        }
        if want("session") {
            let items = sessions
                .iter()
                .take(if only.is_some() {
                    usize::MAX
                } else {
                    TOP_SESSIONS
                })
                .map(|r| {
                    (
                        r.session_key.clone(),
                        r.totals.clone(),
                        Some(session_href(&r.session_key)),
                    )
                })
                .collect();
            out.push(table(
                "usage-by-session",
                "Costliest sessions (active in the range)",
                "session",
                items,
                p,
            ));
        }
    }
    Ok(out)
}

fn links(
    p: &Params,
    key: &'static str,
    values: &[&'static str],
    current: &str,
) -> Vec<(&'static str, String, bool)> {
    values
        .iter()
        .map(|v| {
            let (range, step) = if key == "range" {
                (*v, p.step.as_str())
            } else {
                (p.range.as_str(), *v)
            };
            let q = serde_urlencoded::to_string(
                [("range", range), ("step", step)]
                    .iter()
                    .filter(|(_, x)| !x.is_empty())
                    .collect::<Vec<_>>(),
            )
            .unwrap_or_default();
            (*v, format!("/usage?{q}"), *v == current)
        })
        .collect()
}

/// `GET /usage`.
pub async fn page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    let started = Instant::now();
    let chrome = Chrome::new(&st, &headers, "usage", "Usage & cost").live("type=message.assistant");
    let tz = st.ui.tz;
    let r = st
        .read(move |s| {
            let now = chrono::Utc::now().timestamp_millis();
            let since_ms = params::since(&p.range, "30d", now)?;
            let step = match p.step.as_str() {
                "" | "day" => "day",
                "hour" => "hour",
                "week" => "week",
                x => {
                    return Err(ApiError::BadRequest(format!(
                        "step must be hour, day or week, got {x:?}"
                    )))
                }
            };
            // Hourly steps over more than two weeks would be thousands of bars.
            let chart_since = match (step, since_ms) {
                ("hour", s) => Some(s.unwrap_or(i64::MIN).max(now - 14 * 24 * HOUR_MS)),
                (_, s) => s,
            };
            // Whole-hour zones (nearly all) can read the hourly table: 4x fewer rows.
            let whole_hours = {
                use chrono::{Offset, TimeZone};
                tz.offset_from_utc_datetime(&chrono::Utc::now().naive_utc())
                    .fix()
                    .local_minus_utc()
                    % 3600
                    == 0
            };
            let buckets = s.usage_buckets(&UsageFilter {
                since_ms: chart_since,
                keep: if whole_hours {
                    Dims::HourModel
                } else {
                    Dims::BucketModel
                },
                ..UsageFilter::default()
            })?;
            let series: Vec<(String, UsageTotals)> = match step {
                "hour" => {
                    let mut by: BTreeMap<i64, UsageTotals> = BTreeMap::new();
                    for b in &buckets {
                        by.entry(b.bucket_ms - b.bucket_ms.rem_euclid(HOUR_MS))
                            .or_default()
                            .add(&b.totals);
                    }
                    by.into_iter()
                        .map(|(h, t)| (fmt::datetime(h, tz)[..13].to_string() + "h", t))
                        .collect()
                }
                "week" => group(&buckets, GroupBy::Week, tz)
                    .0
                    .into_iter()
                    .map(|r| (r.key, r.totals))
                    .collect(),
                _ => group(&buckets, GroupBy::Day, tz)
                    .0
                    .into_iter()
                    .map(|r| (r.key, r.totals))
                    .collect(),
            };
            let tables = tables(s, since_ms, &p, None)?;
            // The by-model table covers every usage entry once: its sum is the total.
            let mut total = UsageTotals::default();
            for t in tables.iter().filter(|t| t.dim == "model") {
                t.rows.iter().for_each(|r| total.add(&r.totals));
            }
            let cost_chart = svg::bars(
                &series
                    .iter()
                    .map(|(k, t)| svg::Bar {
                        label: k.clone(),
                        value: t.cost_usd,
                        tip: format!("{k} · {}", fmt::money(t.cost_usd)),
                    })
                    .collect::<Vec<_>>(),
                &format!("Cost per {step}"),
                "cost",
            );
            let tokens_chart = svg::bars(
                &series
                    .iter()
                    .map(|(k, t)| svg::Bar {
                        label: k.clone(),
                        value: t.total_tokens as f64,
                        tip: format!("{k} · {} tokens", fmt::int(t.total_tokens)),
                    })
                    .collect::<Vec<_>>(),
                &format!("Tokens per {step}"),
                "tokens",
            );
            // Blocks from the 15-minute rollups (a week of entries would be a scan of
            // every model call): block starts fall on the hour either way; a block's end
            // and gaps are placed to the quarter hour.
            let entries: Vec<UsageEntry> = s
                .usage_buckets(&UsageFilter {
                    since_ms: Some(now - BLOCK_DAYS * 24 * HOUR_MS),
                    keep: Dims::BucketModel,
                    ..UsageFilter::default()
                })?
                .into_iter()
                .map(|b| UsageEntry {
                    ts_ms: b.bucket_ms,
                    model: b.model,
                    totals: b.totals,
                })
                .collect();
            let blocks = blocks(&entries, 5 * HOUR_MS, now)
                .into_iter()
                .filter(|b| !b.is_gap)
                .rev()
                .map(|b| BlockRow {
                    start: fmt::datetime(b.start_ms, tz),
                    end: fmt::datetime(b.end_ms, tz),
                    active: b.is_active,
                    tokens: fmt::tokens(b.totals.total_tokens),
                    cost: fmt::money(b.totals.cost_usd),
                    models: b.models.join(", "),
                    burn: b
                        .burn_rate
                        .map(|r| {
                            format!(
                                "{}/h, projected {}",
                                fmt::money(r.cost_per_hour),
                                fmt::money(r.projected_cost_usd)
                            )
                        })
                        .unwrap_or_default(),
                })
                .collect();
            let range = if p.range.is_empty() {
                "30d".to_string()
            } else {
                p.range.clone()
            };
            Ok(UsagePage {
                ranges: links(&p, "range", &["24h", "7d", "30d", "90d", "all"], &range),
                steps: links(&p, "step", &["hour", "day", "week"], step),
                chrome,
                total_cost: fmt::money(total.cost_usd),
                total_value: total.cost_usd.to_string(),
                total_note: format!(
                    "{} tokens · {} model responses · cost {}",
                    fmt::int(total.total_tokens),
                    fmt::int(total.entries),
                    total.cost_source()
                ),
                cost_chart,
                tokens_chart,
                tables,
                blocks,
                step: step.to_string(),
                range,
            })
        })
        .await;
    render::page(r, started)
}

/// `GET /usage/export?table=model|agent|project|channel|session&format=csv|json&range=`.
pub async fn export(State(st): State<AppState>, Query(p): Query<Params>) -> Response {
    let r = st
        .read(move |s| {
            let dim = p.table.clone();
            if !["model", "agent", "project", "channel", "session"].contains(&dim.as_str()) {
                return Err(ApiError::BadRequest(format!(
                    "table must be model, agent, project, channel or session, got {dim:?}"
                )));
            }
            let now = chrono::Utc::now().timestamp_millis();
            let t = tables(s, params::since(&p.range, "30d", now)?, &p, Some(&dim))?;
            Ok((t, p.format.clone(), dim))
        })
        .await;
    let (t, format, dim) = match r {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let rows: Vec<&Row> = t.iter().flat_map(|t| &t.rows).collect();
    let name = format!("usage-by-{dim}");
    match format.as_str() {
        "csv" => {
            let mut out = format!("{dim},entries,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,cost_usd,cost_source\n");
            for r in rows {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{}\n",
                    csv_field(&r.key),
                    r.totals.entries,
                    r.totals.input_tokens,
                    r.totals.output_tokens,
                    r.totals.cache_read_tokens,
                    r.totals.cache_write_tokens,
                    r.totals.cost_usd,
                    r.totals.cost_source()
                ));
            }
            download(out, &format!("{name}.csv"), "text/csv; charset=utf-8")
        }
        "json" => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| serde_json::json!({ dim.as_str(): r.key, "entries": r.totals.entries, "input_tokens": r.totals.input_tokens, "output_tokens": r.totals.output_tokens, "cache_read_tokens": r.totals.cache_read_tokens, "cache_write_tokens": r.totals.cache_write_tokens, "cost_usd": r.totals.cost_usd, "cost_source": r.totals.cost_source() }))
                .collect();
            download(
                serde_json::to_string_pretty(&v).unwrap_or_default(),
                &format!("{name}.json"),
                "application/json",
            )
        }
        f => ApiError::BadRequest(format!("format must be csv or json, got {f:?}")).into_response(),
    }
}
