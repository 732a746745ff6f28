//! `/`: what is running, what it cost, what failed, at a glance.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use clawscope_core::anomaly::hourly_costs;
use clawscope_core::live::{LiveSession, SessionStatus};
use clawscope_core::query::{Dims, SessionFilter, SessionOrder, UsageFilter};
use clawscope_core::redact::mask;
use clawscope_core::report::{period_starts, UsageTotals};

use super::alerts::{firing_summary, FiringSummary};
use super::chrome::Chrome;
use super::rows::{session_href, Metric, SessionRow};
use super::{fmt, render, svg};
use crate::queries::{anomalies, totals_since};
use crate::AppState;

/// Live sessions listed at most.
const ACTIVE_ROWS: usize = 40;
/// Sessions in the context heatmap.
const HEAT_CELLS: usize = 60;
const HOUR_MS: i64 = 3_600_000;
/// Firing alerts listed (worst first).
const ALERT_LINES: usize = 5;

pub struct ActiveRow {
    pub href: String,
    pub key: String,
    pub status: &'static str,
    pub is_sub: bool,
    pub model: String,
    pub context: String,
    pub waiting_on: String,
    pub last: String,
}

pub struct AgentGroup {
    pub agent: String,
    pub counts: String,
    pub rows: Vec<ActiveRow>,
}

pub struct HeatCell {
    pub href: String,
    pub level: u8,
    pub tip: String,
}

pub struct Finding {
    pub what: String,
    pub when: String,
    pub href: Option<String>,
}

#[derive(Template)]
#[template(path = "overview.html")]
pub struct Overview {
    pub chrome: Chrome,
    pub money: Vec<Metric>,
    pub counts: Vec<Metric>,
    pub status_counts: Vec<(String, usize)>,
    pub groups: Vec<AgentGroup>,
    pub live_available: bool,
    pub cost_chart: String,
    pub turns_chart: String,
    pub errors_chart: String,
    pub heat: Vec<HeatCell>,
    pub findings: Vec<Finding>,
    pub alerts: FiringSummary,
    pub rows: Vec<SessionRow>,
    pub table_id: &'static str,
    pub gateway: Vec<(String, String)>,
}

fn budget_note(spent: f64, budget: Option<f64>, t: &UsageTotals) -> String {
    let src = format!("cost {}", t.cost_source());
    match budget {
        Some(b) if b > 0.0 => format!(
            "{} of {} budget · {src}",
            fmt::pct(spent / b),
            fmt::money(b)
        ),
        _ => src,
    }
}

fn active_rows(live: &[LiveSession], now: i64) -> (Vec<(String, usize)>, Vec<AgentGroup>) {
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut groups: BTreeMap<String, Vec<&LiveSession>> = BTreeMap::new();
    for s in live {
        *counts.entry(s.status.as_str()).or_default() += 1;
        if s.status != SessionStatus::Ended {
            groups
                .entry(s.agent.clone().unwrap_or_else(|| "unknown".into()))
                .or_default()
                .push(s);
        }
    }
    let groups = groups
        .into_iter()
        .map(|(agent, mut v)| {
            v.sort_by_key(|s| (status_rank(s.status), -s.last_event_ms));
            let mut per: BTreeMap<&str, usize> = BTreeMap::new();
            v.iter()
                .for_each(|s| *per.entry(s.status.as_str()).or_default() += 1);
            AgentGroup {
                agent,
                counts: per
                    .iter()
                    .map(|(k, n)| format!("{n} {k}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                rows: v
                    .into_iter()
                    .take(ACTIVE_ROWS)
                    .map(|s| ActiveRow {
                        href: session_href(&s.session_key),
                        key: s.session_key.clone(),
                        status: s.status.as_str(),
                        is_sub: s.parent_session_key.is_some(),
                        model: s.model.clone().unwrap_or_default(),
                        context: s.context_ratio.map(fmt::pct).unwrap_or_default(),
                        waiting_on: s
                            .waiting_on
                            .as_deref()
                            .map(|w| mask(w).into_owned())
                            .unwrap_or_default(),
                        last: fmt::ago(s.last_event_ms, now),
                    })
                    .collect(),
            }
        })
        .collect();
    (
        counts
            .into_iter()
            .map(|(k, n)| (k.to_string(), n))
            .collect(),
        groups,
    )
}

fn status_rank(s: SessionStatus) -> u8 {
    match s {
        SessionStatus::Hung => 0,
        SessionStatus::Errored => 1,
        SessionStatus::Active => 2,
        SessionStatus::Idle => 3,
        SessionStatus::Ended => 4,
    }
}

fn hourly_bars(
    hours: &BTreeMap<i64, f64>,
    from: i64,
    now: i64,
    tz: chrono_tz::Tz,
    unit: &str,
    money: bool,
) -> Vec<svg::Bar> {
    let mut out = Vec::new();
    let mut h = from - from.rem_euclid(HOUR_MS);
    while h <= now {
        let v = hours.get(&h).copied().unwrap_or(0.0);
        let shown = if money {
            fmt::money(v)
        } else {
            format!("{} {unit}", fmt::int(v as u64))
        };
        out.push(svg::Bar {
            label: fmt::time(h, tz)[..5].to_string(),
            value: v,
            tip: format!("{} · {shown}", fmt::datetime(h, tz)),
        });
        h += HOUR_MS;
    }
    out
}

/// `GET /`.
pub async fn page(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    let chrome = Chrome::new(&st, &headers, "overview", "Overview").live("type=event,session");
    let live: Option<Vec<LiveSession>> = st.bus.as_ref().map(|b| b.sessions());
    let live_keys: HashMap<String, &'static str> = live
        .iter()
        .flatten()
        .map(|l| (l.session_key.clone(), l.status.as_str()))
        .collect();
    let gateway = st.gateway.as_ref().map(|f| f());
    let cfg = st.ui.clone();
    let r = st
        .read(move |s| {
            let tz = cfg.tz;
            let now = chrono::Utc::now().timestamp_millis();
            let [today, week, month] = period_starts(tz, now);
            let (t_day, t_week, t_month) = (
                totals_since(s, today.1)?,
                totals_since(s, week.1)?,
                totals_since(s, month.1)?,
            );
            let all = totals_since(s, i64::MIN / 2)?;
            let stats = s.stats()?;
            let b = &cfg.budgets;
            let money = vec![
                Metric::usd(
                    "cost-today",
                    "Today",
                    t_day.cost_usd,
                    budget_note(t_day.cost_usd, b.day_usd, &t_day),
                ),
                Metric::usd(
                    "cost-week",
                    "This week",
                    t_week.cost_usd,
                    budget_note(t_week.cost_usd, b.week_usd, &t_week),
                ),
                Metric::usd(
                    "cost-month",
                    "This month",
                    t_month.cost_usd,
                    budget_note(t_month.cost_usd, b.month_usd, &t_month),
                ),
                Metric::usd(
                    "cost-total",
                    "All time",
                    all.cost_usd,
                    format!("cost {}", all.cost_source()),
                ),
            ];
            let counts = vec![
                Metric::count("sessions-total", "Sessions", stats.sessions, String::new()),
                Metric::count("events-total", "Events", stats.events, String::new()),
                Metric::count("tokens-total", "Tokens", all.total_tokens, String::new()),
                Metric::count(
                    "unpriced-total",
                    "Unpriced responses",
                    all.unpriced_entries,
                    "tokens without a known price".into(),
                ),
            ];
            // Last 24 hours, hourly.
            let from = now - 23 * HOUR_MS;
            let buckets = s.usage_buckets(&UsageFilter {
                since_ms: Some(from - from.rem_euclid(HOUR_MS)),
                keep: Dims::HourModel,
                ..UsageFilter::default()
            })?;
            let cost_hours = hourly_costs(&buckets);
            let act = s.activity(from - from.rem_euclid(HOUR_MS), None)?;
            let turns: BTreeMap<i64, f64> =
                act.iter().map(|a| (a.hour_ms, a.turns as f64)).collect();
            let errors: BTreeMap<i64, f64> =
                act.iter().map(|a| (a.hour_ms, a.errors as f64)).collect();
            let cost_chart = svg::bars(
                &hourly_bars(&cost_hours, from, now, tz, "", true),
                "Cost per hour, last 24 h",
                "cost",
            );
            let turns_chart = svg::bars(
                &hourly_bars(&turns, from, now, tz, "turns", false),
                "Model turns per hour, last 24 h",
                "turns",
            );
            let errors_chart = svg::bars(
                &hourly_bars(&errors, from, now, tz, "errors", false),
                "Errors per hour, last 24 h",
                "errors",
            );

            let recent_sessions = s.sessions(&SessionFilter {
                order: SessionOrder::LastActivity,
                limit: HEAT_CELLS,
                ..SessionFilter::default()
            })?;
            let heat = recent_sessions
                .iter()
                .map(|r| {
                    let ratio = r
                        .context_used
                        .zip(r.context_max)
                        .filter(|(_, m)| *m > 0)
                        .map(|(u, m)| u as f64 / m as f64);
                    HeatCell {
                        href: session_href(&r.session_key),
                        level: ratio
                            .map(|x| (x * 10.0).clamp(0.0, 10.0) as u8)
                            .unwrap_or(11),
                        tip: format!(
                            "{} · context {}",
                            mask(&r.session_key),
                            ratio.map(fmt::pct).unwrap_or_else(|| "unknown".into())
                        ),
                    }
                })
                .collect();
            let live_status = live_keys;
            let max_tokens = recent_sessions
                .iter()
                .take(10)
                .map(|r| r.totals.total_tokens)
                .max()
                .unwrap_or(0);
            let recent = recent_sessions
                .iter()
                .take(10)
                .map(|r| {
                    SessionRow::new(
                        r,
                        max_tokens,
                        live_status.get(&r.session_key).copied(),
                        now,
                        tz,
                    )
                })
                .collect();

            // Findings over the last week.
            let mut found = anomalies(s, now - 7 * 24 * HOUR_MS)?;
            found.sort_by_key(|a| -a.at_ms);
            let findings = found
                .iter()
                .take(8)
                .map(|a| Finding {
                    what: match a.kind {
                        "cost_spike" => format!(
                            "Cost spike: {} in an hour vs {} average",
                            fmt::money(a.cost_usd),
                            fmt::money(a.threshold_usd)
                        ),
                        "hourly_burn" => format!(
                            "Hourly burn {} above {}",
                            fmt::money(a.cost_usd),
                            fmt::money(a.threshold_usd)
                        ),
                        _ => format!(
                            "Session cost {} above {}",
                            fmt::money(a.cost_usd),
                            fmt::money(a.threshold_usd)
                        ),
                    },
                    when: fmt::datetime(a.at_ms, tz),
                    href: a.session_key.as_deref().map(session_href),
                })
                .collect();
            let alerts = firing_summary(s, ALERT_LINES, now)?;
            Ok((
                money,
                counts,
                cost_chart,
                turns_chart,
                errors_chart,
                heat,
                recent,
                (findings, alerts),
            ))
        })
        .await;
    let now = chrono::Utc::now().timestamp_millis();
    let r = r.map(
        |(
            money,
            counts,
            cost_chart,
            turns_chart,
            errors_chart,
            heat,
            recent,
            (findings, alerts),
        )| {
            let (status_counts, groups) = active_rows(live.as_deref().unwrap_or(&[]), now);
            Overview {
                chrome,
                money,
                counts,
                status_counts,
                groups,
                live_available: live.is_some(),
                cost_chart,
                turns_chart,
                errors_chart,
                heat,
                findings,
                alerts,
                rows: recent,
                table_id: "recent",
                gateway: gateway_lines(gateway.as_ref(), now),
            }
        },
    );
    render::page(r, started)
}

/// The gateway connection in a few lines.
pub fn gateway_lines(g: Option<&serde_json::Value>, now: i64) -> Vec<(String, String)> {
    let Some(g) = g else {
        return vec![(
            "Gateway".into(),
            "not followed (serve --gateway URL)".into(),
        )];
    };
    let text = |k: &str| g.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let mut out = vec![
        ("State".into(), text("state")),
        ("URL".into(), text("url")),
        (
            "Version".into(),
            g.get("server_version")
                .and_then(|v| v.as_str())
                .unwrap_or("unknown")
                .to_string(),
        ),
    ];
    if let Some(ms) = g.get("connected_since_ms").and_then(|v| v.as_i64()) {
        out.push(("Connected".into(), fmt::ago(ms, now)));
    }
    if let Some(e) = g.get("last_error").and_then(|v| v.as_str()) {
        out.push(("Last error".into(), mask(e).into_owned()));
    }
    out
}
