//! `clawscope report daily|weekly|monthly|session|model|project|agent|blocks`.

use std::io::Write;

use anyhow::{bail, Result};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};

use clawscope_core::query::{Dims, SessionFilter, SessionOrder, SessionSummary, UsageFilter};
use clawscope_core::report::{
    blocks, group, hours_align, rows_json, Block, GroupBy, ReportRow, UsageBucket, UsageTotals,
};
use clawscope_store::Store;

use crate::args::{ReportArgs, ReportKind};
use crate::context::Ctx;
use crate::render::{csv, json_report, num, usd, Table};

const TOKEN_HEADER: [&str; 7] = [
    "input",
    "output",
    "cache write",
    "cache read",
    "total",
    "cost",
    "source",
];

fn token_cells(t: &UsageTotals) -> Vec<String> {
    vec![
        num(t.input_tokens),
        num(t.output_tokens),
        num(t.cache_write_tokens),
        num(t.cache_read_tokens),
        num(t.total_tokens),
        usd(t.cost_usd),
        t.cost_source().to_string(),
    ]
}

fn token_raw(t: &UsageTotals) -> Vec<String> {
    vec![
        t.input_tokens.to_string(),
        t.output_tokens.to_string(),
        t.cache_write_tokens.to_string(),
        t.cache_read_tokens.to_string(),
        t.reasoning_tokens.to_string(),
        t.total_tokens.to_string(),
        format!("{}", t.cost_usd),
        t.cost_source().to_string(),
    ]
}

const CSV_TOKENS: [&str; 8] = [
    "input_tokens",
    "output_tokens",
    "cache_write_tokens",
    "cache_read_tokens",
    "reasoning_tokens",
    "total_tokens",
    "cost_usd",
    "cost_source",
];

/// Hours in a billing block when --session-length is not given (ccusage's 5 hours).
const DEFAULT_BLOCK_HOURS: u32 = 5;

pub fn run(ctx: &Ctx, a: &ReportArgs, out: &mut impl Write) -> Result<()> {
    if a.session_length.is_some() && a.kind != ReportKind::Blocks {
        bail!("--session-length is for `report blocks` only");
    }
    let store = ctx.report_store(&a.window)?;
    let filter = ctx.filter(&a.window)?;
    let tz = ctx.timezone(&a.window)?;
    let by = match a.kind {
        ReportKind::Daily => GroupBy::Day,
        ReportKind::Weekly => GroupBy::Week,
        ReportKind::Monthly => GroupBy::Month,
        ReportKind::Model => GroupBy::Model,
        ReportKind::Project => GroupBy::Project,
        ReportKind::Agent => GroupBy::Agent,
        ReportKind::Session => {
            let f = SessionFilter {
                usage: filter,
                order: SessionOrder::LastActivity,
                ..SessionFilter::default()
            };
            let rows = store.sessions(&f)?;
            return sessions_out(&rows, a, tz, out);
        }
        ReportKind::Blocks => {
            let entries = store.usage_entries(&filter)?;
            let now = Utc::now().timestamp_millis();
            let hours = a.session_length.unwrap_or(DEFAULT_BLOCK_HOURS);
            let bl = blocks(&entries, i64::from(hours) * 3_600_000, now);
            return blocks_out(&bl, a, tz, out);
        }
    };
    let keep = match by {
        GroupBy::Day | GroupBy::Week | GroupBy::Month => Dims::BucketModel,
        GroupBy::Model => Dims::Model,
        GroupBy::Project => Dims::ProjectModel,
        GroupBy::Agent => Dims::AgentModel,
    };
    let buckets = period_buckets(store.as_ref(), &filter, keep, tz)?;
    let (rows, total) = group(&buckets, by, tz);
    let label = match by {
        GroupBy::Day => "date",
        GroupBy::Week => "week",
        GroupBy::Month => "month",
        GroupBy::Model => "model",
        GroupBy::Project => "project",
        GroupBy::Agent => "agent",
    };
    period_out(&rows, &total, label, a, out)
}

/// Rollup rows for a report: hourly rows when they group exactly in `tz` (whole-hour
/// zone, no agent filter), else 15-minute buckets. The store counts any bound exactly.
pub fn period_buckets(
    store: &dyn Store,
    filter: &UsageFilter,
    keep: Dims,
    tz: Tz,
) -> Result<Vec<UsageBucket>> {
    if keep == Dims::BucketModel && filter.agent.is_none() {
        let hourly = store.usage_buckets(&UsageFilter {
            keep: Dims::HourModel,
            ..filter.clone()
        })?;
        if hours_align(&hourly, tz) {
            return Ok(hourly);
        }
    }
    Ok(store.usage_buckets(&UsageFilter {
        keep,
        ..filter.clone()
    })?)
}

fn period_out(
    rows: &[ReportRow],
    total: &UsageTotals,
    label: &str,
    a: &ReportArgs,
    out: &mut impl Write,
) -> Result<()> {
    if a.window.json {
        return json_report(out, &rows_json(rows, label), &total.to_json());
    }
    if a.window.csv {
        let mut header = vec![label, "models"];
        header.extend(CSV_TOKENS);
        let body: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                let mut c = vec![r.key.clone(), r.models.join(" ")];
                c.extend(token_raw(&r.totals));
                c
            })
            .collect();
        return csv(out, &header, &body);
    }
    let mut header = vec![label, "models"];
    header.extend(TOKEN_HEADER);
    let mut t = Table::new(&header);
    for r in rows {
        let mut c = vec![r.key.clone(), r.models.join(", ")];
        c.extend(token_cells(&r.totals));
        t.row(c);
        if a.breakdown && r.model_breakdown.len() > 1 {
            for m in &r.model_breakdown {
                let mut c = vec![String::new(), format!("└ {}", m.model)];
                c.extend(token_cells(&m.totals));
                t.row(c);
            }
        }
    }
    t.separator();
    let mut c = vec!["total".to_string(), String::new()];
    c.extend(token_cells(total));
    t.row(c);
    t.print(out)?;
    if total.unpriced_entries > 0 {
        writeln!(
            out,
            "note: {} responses use models with no known price; their cost is not included (add prices in the config file).",
            total.unpriced_entries
        )?;
    }
    Ok(())
}

fn ts(ms: i64, tz: Tz) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|d| d.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn sessions_out(
    rows: &[SessionSummary],
    a: &ReportArgs,
    tz: Tz,
    out: &mut impl Write,
) -> Result<()> {
    let mut total = UsageTotals::default();
    for r in rows {
        total.add(&r.totals);
    }
    if a.window.json {
        let v: Vec<Value> = rows.iter().map(SessionSummary::to_json).collect();
        return json_report(out, &v, &total.to_json());
    }
    if a.window.csv {
        let mut header = vec![
            "session_key",
            "session_id",
            "agent",
            "project",
            "parent_session_key",
            "last_activity",
            "assistant_messages",
            "tool_calls",
            "tool_errors",
        ];
        header.extend(CSV_TOKENS);
        let body: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                let mut c = vec![
                    r.session_key.clone(),
                    r.session_id.clone().unwrap_or_default(),
                    r.agent.clone().unwrap_or_default(),
                    r.project.clone().unwrap_or_default(),
                    r.parent_session_key.clone().unwrap_or_default(),
                    ts(r.last_ms, tz),
                    r.assistant_messages.to_string(),
                    r.tool_calls.to_string(),
                    r.tool_errors.to_string(),
                ];
                c.extend(token_raw(&r.totals));
                c
            })
            .collect();
        return csv(out, &header, &body);
    }
    let mut header = vec!["session", "agent", "last activity", "msgs", "tools"];
    header.extend(TOKEN_HEADER);
    let mut t = Table::new(&header);
    for r in rows {
        let mut c = vec![
            crate::render::clean(&r.session_key, 60),
            r.agent.clone().unwrap_or_default(),
            ts(r.last_ms, tz),
            r.assistant_messages.to_string(),
            format!("{}/{}", r.tool_calls, r.tool_errors),
        ];
        c.extend(token_cells(&r.totals));
        t.row(c);
    }
    t.separator();
    let mut c = vec![
        "total".into(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ];
    c.extend(token_cells(&total));
    t.row(c);
    t.print(out)
}

fn blocks_out(bl: &[Block], a: &ReportArgs, tz: Tz, out: &mut impl Write) -> Result<()> {
    let mut total = UsageTotals::default();
    for b in bl {
        total.add(&b.totals);
    }
    if a.window.json {
        let rows: Vec<Value> = bl
            .iter()
            .map(|b| {
                let mut v = serde_json::to_value(b).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("start".into(), json!(iso(b.start_ms)));
                    o.insert("end".into(), json!(iso(b.end_ms)));
                    o.insert("actual_end".into(), json!(b.actual_end_ms.map(iso)));
                }
                v
            })
            .collect();
        return json_report(out, &rows, &total.to_json());
    }
    if a.window.csv {
        let mut header = vec!["block", "start", "end", "is_gap", "is_active", "entries"];
        header.extend(CSV_TOKENS);
        let body: Vec<Vec<String>> = bl
            .iter()
            .map(|b| {
                let mut c = vec![
                    b.id.clone(),
                    iso(b.start_ms),
                    iso(b.end_ms),
                    b.is_gap.to_string(),
                    b.is_active.to_string(),
                    b.totals.entries.to_string(),
                ];
                c.extend(token_raw(&b.totals));
                c
            })
            .collect();
        return csv(out, &header, &body);
    }
    let mut header = vec!["block start", "state", "models"];
    header.extend(TOKEN_HEADER);
    let mut t = Table::new(&header);
    for b in bl {
        let state = if b.is_gap {
            "gap"
        } else if b.is_active {
            "ACTIVE"
        } else {
            ""
        };
        let mut c = vec![ts(b.start_ms, tz), state.to_string(), b.models.join(", ")];
        c.extend(token_cells(&b.totals));
        t.row(c);
        if let Some(br) = &b.burn_rate {
            t.row(vec![
                String::new(),
                format!(
                    "burn {:.0} tok/min, {}/h, projected {}",
                    br.tokens_per_minute,
                    usd(br.cost_per_hour),
                    usd(br.projected_cost_usd)
                ),
            ]);
        }
    }
    t.print(out)
}

fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}
