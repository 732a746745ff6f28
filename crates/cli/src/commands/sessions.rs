//! `clawscope sessions`, `clawscope search`, `clawscope anomalies`.

use std::io::Write;

use anyhow::{bail, Result};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use clawscope_core::anomaly::{cost_spikes, hourly_burn, hourly_costs, session_costs};
use clawscope_core::query::{SessionFilter, SessionOrder, SessionSummary};
use clawscope_core::report::UsageTotals;

use crate::args::{AnomalyArgs, SearchArgs, SessionsArgs};
use crate::context::Ctx;
use crate::render::{clean, csv, json_report, num, usd, Table};

pub fn when(ms: i64, tz: Tz) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|d| d.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

pub fn list(ctx: &Ctx, a: &SessionsArgs, out: &mut impl Write) -> Result<()> {
    let store = ctx.report_store(&a.window)?;
    let tz = ctx.timezone(&a.window)?;
    let mut usage = ctx.filter(&a.window)?;
    usage.agent = a.agent.clone();
    let f = SessionFilter {
        usage,
        key_contains: a.filter.clone(),
        parent: a.parent.clone(),
        order: if a.top.is_some() {
            SessionOrder::Cost
        } else {
            SessionOrder::LastActivity
        },
        limit: a
            .top
            .map_or(a.limit, |n| usize::try_from(n).unwrap_or(usize::MAX)),
        ..SessionFilter::default()
    };
    let rows = store.sessions(&f)?;
    let mut total = UsageTotals::default();
    rows.iter().for_each(|r| total.add(&r.totals));
    if a.window.json {
        let v: Vec<_> = rows.iter().map(SessionSummary::to_json).collect();
        return json_report(out, &v, &total.to_json());
    }
    if a.window.csv {
        let body: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.session_key.clone(),
                    r.agent.clone().unwrap_or_default(),
                    r.parent_session_key.clone().unwrap_or_default(),
                    when(r.last_ms, tz),
                    r.assistant_messages.to_string(),
                    r.tool_calls.to_string(),
                    r.tool_errors.to_string(),
                    r.assistant_errors.to_string(),
                    r.totals.total_tokens.to_string(),
                    r.totals.cost_usd.to_string(),
                ]
            })
            .collect();
        return csv(
            out,
            &[
                "session_key",
                "agent",
                "parent_session_key",
                "last_activity",
                "assistant_messages",
                "tool_calls",
                "tool_errors",
                "assistant_errors",
                "total_tokens",
                "cost_usd",
            ],
            &body,
        );
    }
    let mut t = Table::new(&[
        "session",
        "agent",
        "status",
        "last activity",
        "msgs",
        "tools",
        "errors",
        "tokens",
        "cost",
    ]);
    for r in &rows {
        let key = if r.parent_session_key.is_some() {
            format!("↳ {}", r.session_key)
        } else {
            r.session_key.clone()
        };
        t.row(vec![
            clean(&key, 64),
            r.agent.clone().unwrap_or_default(),
            r.status.clone().unwrap_or_default(),
            when(r.last_ms, tz),
            num(r.assistant_messages),
            num(r.tool_calls),
            num(r.tool_errors + r.assistant_errors),
            num(r.totals.total_tokens),
            usd(r.totals.cost_usd),
        ]);
    }
    t.print(out)?;
    let n = store.count_sessions(&SessionFilter { limit: 0, ..f })?;
    writeln!(
        out,
        "{} of {} sessions, {} total",
        rows.len(),
        n,
        usd(total.cost_usd)
    )?;
    Ok(())
}

pub fn search(ctx: &Ctx, a: &SearchArgs, out: &mut impl Write) -> Result<()> {
    let text = a.text.join(" ");
    if text.trim().is_empty() {
        bail!("give some words to search for");
    }
    let store = ctx.report_store(&a.window)?;
    let tz = ctx.timezone(&a.window)?;
    let filter = ctx.filter(&a.window)?;
    let limit = usize::try_from(a.limit).unwrap_or(usize::MAX);
    let hits = store.search(&text, &filter, limit)?;
    if a.window.json {
        return json_report(out, &hits, &serde_json::json!({ "hits": hits.len() }));
    }
    if a.window.csv {
        let body: Vec<Vec<String>> = hits
            .iter()
            .map(|h| {
                vec![
                    when(h.ts_ms, tz),
                    h.session_key.clone(),
                    h.kind.clone(),
                    h.snippet.clone(),
                ]
            })
            .collect();
        return csv(out, &["time", "session_key", "kind", "snippet"], &body);
    }
    for h in &hits {
        writeln!(
            out,
            "{}  {}  {}\n    {}",
            when(h.ts_ms, tz),
            clean(&h.session_key, 64),
            h.kind,
            clean(&h.snippet, 200)
        )?;
    }
    writeln!(out, "{} hits", hits.len())?;
    Ok(())
}

pub fn anomalies(ctx: &Ctx, a: &AnomalyArgs, out: &mut impl Write) -> Result<()> {
    let store = ctx.report_store(&a.window)?;
    let tz = ctx.timezone(&a.window)?;
    let filter = ctx.filter(&a.window)?;
    let hours = hourly_costs(&store.usage_buckets(&filter)?);
    let mut found = cost_spikes(&hours, a.spike_factor, 0.01);
    found.extend(hourly_burn(&hours, a.hourly_usd));
    let sessions = store.sessions(&SessionFilter {
        usage: filter,
        order: SessionOrder::Cost,
        ..SessionFilter::default()
    })?;
    found.extend(session_costs(&sessions, a.session_usd));
    if a.window.json {
        return json_report(
            out,
            &found,
            &serde_json::json!({ "anomalies": found.len() }),
        );
    }
    if a.window.csv {
        let body: Vec<Vec<String>> = found
            .iter()
            .map(|f| {
                vec![
                    f.kind.to_string(),
                    when(f.at_ms, tz),
                    f.session_key.clone().unwrap_or_default(),
                    f.cost_usd.to_string(),
                    f.threshold_usd.to_string(),
                ]
            })
            .collect();
        return csv(
            out,
            &["kind", "time", "session_key", "cost_usd", "threshold_usd"],
            &body,
        );
    }
    let mut t = Table::new(&["kind", "when", "session", "cost", "threshold"]);
    for f in &found {
        t.row(vec![
            f.kind.to_string(),
            when(f.at_ms, tz),
            f.session_key
                .as_deref()
                .map(|s| clean(s, 60))
                .unwrap_or_default(),
            usd(f.cost_usd),
            usd(f.threshold_usd),
        ]);
    }
    t.print(out)?;
    writeln!(
        out,
        "{} anomalies (spike > {}× trailing 24 h average, hour > {}, session > {})",
        found.len(),
        a.spike_factor,
        usd(a.hourly_usd),
        usd(a.session_usd)
    )?;
    Ok(())
}
