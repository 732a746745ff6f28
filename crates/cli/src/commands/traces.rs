//! `clawscope traces`: traces received over OTLP, listed or shown as a span tree.

use std::io::Write;

use anyhow::{bail, Result};
use chrono_tz::Tz;

use clawscope_core::otel::{TraceDetail, TraceFilter, TraceSummary};
use clawscope_core::redact::mask;
use clawscope_store::Store;

use crate::args::TracesArgs;
use crate::commands::sessions::when;
use crate::context::{parse_bound, Ctx};
use crate::render::{clean, num, usd, Table};

/// Milliseconds as `850 ms`, `12.4 s` or `3m05s`.
pub fn duration(ms: f64) -> String {
    if ms < 1_000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.1} s", ms / 1e3)
    } else {
        let s = (ms / 1e3).round() as u64;
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

pub fn run(ctx: &Ctx, a: &TracesArgs, out: &mut impl Write) -> Result<()> {
    let store = ctx.open_store()?;
    let tz = ctx.zone(a.timezone.as_deref())?;
    match &a.trace_id {
        Some(id) => show(&store, id, a, tz, out),
        None => list(&store, a, tz, out),
    }
}

fn list(store: &dyn Store, a: &TracesArgs, tz: Tz, out: &mut impl Write) -> Result<()> {
    let f = TraceFilter {
        service: a.service.clone(),
        name: a.name.clone(),
        since_ms: a
            .since
            .as_deref()
            .map(|s| parse_bound(s, tz, false))
            .transpose()?,
        until_ms: a
            .until
            .as_deref()
            .map(|s| parse_bound(s, tz, true))
            .transpose()?,
        min_duration_ms: a.min_ms,
        error: a.errors.then_some(true),
        session_key: a.session.clone(),
        limit: a.limit.clamp(1, 10_000),
    };
    let rows = store.traces(&f)?;
    if a.json {
        serde_json::to_writer_pretty(&mut *out, &serde_json::json!({ "rows": rows }))?;
        writeln!(out)?;
        return Ok(());
    }
    if rows.is_empty() {
        writeln!(
            out,
            "no traces{}. `clawscope serve` receives OTLP on 127.0.0.1:4318 (HTTP) and :4317 (gRPC).",
            if a.service.is_some() || a.name.is_some() || a.errors || a.session.is_some() {
                " match"
            } else {
                " yet"
            }
        )?;
        return Ok(());
    }
    let mut t = Table::new(&[
        "started", "trace", "service", "name", "duration", "spans", "errors", "tokens", "cost",
        "session",
    ]);
    for r in &rows {
        t.row(row(r, tz));
    }
    t.print(out)?;
    writeln!(out, "{} traces (newest first)", rows.len())?;
    Ok(())
}

fn row(r: &TraceSummary, tz: Tz) -> Vec<String> {
    vec![
        when(r.start_ms as i64, tz),
        r.trace_id.clone(),
        clean(&r.service, 24),
        clean(&r.name, 40),
        duration(r.duration_ms),
        num(r.spans),
        num(r.errors),
        num(r.tokens.total()),
        if r.cost_usd > 0.0 {
            usd(r.cost_usd)
        } else {
            String::new()
        },
        clean(r.session_key.as_deref().unwrap_or(""), 40),
    ]
}

fn show(store: &dyn Store, id: &str, a: &TracesArgs, tz: Tz, out: &mut impl Write) -> Result<()> {
    let id = id.trim().to_ascii_lowercase();
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("a trace id is 32 hex digits, got {id:?} (list traces with `clawscope traces`)");
    }
    let Some(d) = store.trace(&id)? else {
        bail!("no trace {id} in the store");
    };
    if a.json {
        serde_json::to_writer_pretty(&mut *out, &d)?;
        writeln!(out)?;
        return Ok(());
    }
    tree(&d, a.full, tz, out)
}

fn tree(d: &TraceDetail, full: bool, tz: Tz, out: &mut impl Write) -> Result<()> {
    let s = &d.summary;
    writeln!(
        out,
        "trace {}  {}  {}  {}  {} spans{}",
        s.trace_id,
        clean(&s.service, 40),
        when(s.start_ms as i64, tz),
        duration(s.duration_ms),
        s.spans,
        if s.errors > 0 {
            format!(", {} errors", s.errors)
        } else {
            String::new()
        }
    )?;
    if let Some(k) = &s.session_key {
        writeln!(out, "session {}", clean(k, 120))?;
    }
    if d.spans.is_empty() && s.spans > 0 {
        writeln!(out, "(the spans have expired; the summary is kept)")?;
    }
    let t0 = d.spans.iter().map(|x| x.span.start_ns).min().unwrap_or(0);
    for st in &d.spans {
        let sp = &st.span;
        let mut line = format!(
            "{:>9} {}{} {}",
            format!("+{}", duration((sp.start_ns - t0) as f64 / 1e6)),
            "  ".repeat(st.depth),
            clean(&sp.name, 60),
            duration(sp.duration_ms()),
        );
        if let Some(m) = &sp.model {
            line.push_str(&format!("  {}", clean(m, 40)));
        }
        if let Some(tn) = &sp.tool_name {
            line.push_str(&format!("  tool={}", clean(tn, 40)));
        }
        if !sp.tokens.is_zero() {
            line.push_str(&format!(
                "  in={} out={}",
                num(sp.tokens.input),
                num(sp.tokens.output)
            ));
            if sp.tokens.cache_read > 0 {
                line.push_str(&format!(" cache_read={}", num(sp.tokens.cache_read)));
            }
        }
        if sp.is_error {
            line.push_str(&format!(
                "  ERROR {}",
                clean(&mask(sp.status_message.as_deref().unwrap_or("")), 80)
            ));
        }
        writeln!(out, "{line}")?;
        if full {
            writeln!(
                out,
                "{:>9} {}  {}",
                "",
                "  ".repeat(st.depth),
                clean(&mask(&sp.attrs), 400)
            )?;
        }
    }
    if !d.logs.is_empty() {
        writeln!(out, "logs:")?;
        for l in &d.logs {
            writeln!(
                out,
                "  {} {:<5} {}",
                when(l.time_ns / 1_000_000, tz),
                clean(l.severity_text.as_deref().unwrap_or(""), 8),
                clean(&mask(&l.body), 200)
            )?;
        }
    }
    Ok(())
}
