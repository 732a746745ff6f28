//! `clawscope status`.

use std::io::Write;

use anyhow::Result;
use chrono::Utc;

use clawscope_core::query::{Dims, SessionFilter, UsageFilter};

use crate::commands::report::period_buckets;
use clawscope_core::report::{group, period_starts, GroupBy, UsageTotals};

use crate::args::StatusArgs;
use crate::context::Ctx;
use crate::render::{num, usd, Table};

/// Sessions with activity this recent count as active.
pub const ACTIVE_MS: i64 = 10 * 60 * 1000;

pub fn run(ctx: &Ctx, a: &StatusArgs, out: &mut impl Write) -> Result<()> {
    let window = a.now.window();
    let store = ctx.report_store(&window)?;
    let tz = ctx.timezone(&window)?;
    let now = Utc::now().with_timezone(&tz);
    let [today, week, month] = period_starts(tz, now.timestamp_millis());
    let source = a.now.source.filter();
    let sum = |since: i64| -> Result<UsageTotals> {
        let filter = UsageFilter {
            since_ms: Some(since),
            source: source.clone(),
            ..UsageFilter::default()
        };
        let b = period_buckets(store.as_ref(), &filter, Dims::BucketModel, tz)?;
        Ok(group(&b, GroupBy::Agent, tz).1)
    };
    let periods = [
        ("today", sum(today.1)?),
        ("this week", sum(week.1)?),
        ("this month", sum(month.1)?),
    ];
    let active = store.sessions(&SessionFilter {
        usage: UsageFilter {
            since_ms: Some(now.timestamp_millis() - ACTIVE_MS),
            source: source.clone(),
            ..UsageFilter::default()
        },
        ..SessionFilter::default()
    })?;
    let stats = store.stats()?;
    if a.now.json {
        let p: serde_json::Map<String, serde_json::Value> = periods
            .iter()
            .map(|(k, t)| {
                (
                    k.replace(' ', "_"),
                    serde_json::to_value(t).unwrap_or_default(),
                )
            })
            .collect();
        serde_json::to_writer_pretty(
            &mut *out,
            &serde_json::json!({
                "periods": p,
                "active_sessions": active.iter().map(|s| &s.session_key).collect::<Vec<_>>(),
                "last_activity_ms": stats.last_event_ms,
                "events": stats.events,
                "sessions": stats.sessions,
                "timezone": tz.name(),
            }),
        )?;
        writeln!(out)?;
        return Ok(());
    }
    let mut t = Table::new(&["period", "responses", "tokens", "cost"]);
    for (name, tot) in &periods {
        t.row(vec![
            name.to_string(),
            num(tot.entries),
            num(tot.total_tokens),
            usd(tot.cost_usd),
        ]);
    }
    t.print(out)?;
    writeln!(out, "active sessions (last 10 min): {}", active.len())?;
    for s in active.iter().take(10) {
        writeln!(
            out,
            "  {} ({})",
            crate::render::clean(&s.session_key, 80),
            s.agent.as_deref().unwrap_or("-")
        )?;
    }
    let last = stats
        .last_event_ms
        .and_then(chrono::DateTime::<Utc>::from_timestamp_millis)
        .map(|d| {
            d.with_timezone(&tz)
                .format("%Y-%m-%d %H:%M:%S %Z")
                .to_string()
        })
        .unwrap_or_else(|| "never".into());
    writeln!(
        out,
        "last activity: {last}   ({} events in {} sessions; times in {})",
        num(stats.events),
        num(stats.sessions),
        tz.name()
    )?;
    Ok(())
}
