//! `clawscope alerts`: list, show, acknowledge, silence, rules, test sends, and
//! pause/resume through the gateway. Reads and writes the store directly (a running
//! `serve` picks silences and acknowledgements up at its next evaluation).

use std::io::Write;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use chrono::Utc;
use serde_json::json;

use clawscope_alerts::deliver::Sender;
use clawscope_alerts::pause::{crons_to_restore, held_crons, resume_boundary, Pauser};
use clawscope_alerts::rules::{summary, RuleSet};
use clawscope_alerts::service::api_edits;
use clawscope_core::alert::{
    dedup_key, AlertFilter, AlertState, Notification, Silence, Transition,
};
use clawscope_core::redact::mask;
use clawscope_store::{AlertStore, Store};

use crate::args::{AlertsArgs, AlertsCommand};
use crate::context::Ctx;
use crate::render::{clean, json, Table};

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// `30m`, `2h`, `1d`, `90s` → milliseconds.
pub fn parse_duration(s: &str) -> Result<i64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().with_context(|| {
        format!("bad duration {s:?}: use a number and s, m, h or d (30m, 2h, 1d)")
    })?;
    let ms = match unit {
        "s" => 1000,
        "m" | "" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => bail!("bad duration unit in {s:?}: use s, m, h or d"),
    };
    let total = n.saturating_mul(ms);
    if total <= 0 || total > 90 * 86_400_000 {
        bail!("a silence lasts between 1 second and 90 days (got {s:?})");
    }
    Ok(total)
}

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

fn rules(ctx: &Ctx, store: &dyn Store) -> Result<RuleSet> {
    let stored = store.stored_rules()?;
    Ok(ctx
        .config
        .alerts
        .rule_set_lenient(ctx.config.budget.amounts(), &api_edits(&stored))?)
}

pub fn run(ctx: &Ctx, a: &AlertsArgs, out: &mut impl Write) -> Result<()> {
    let mut store = ctx.open_store()?;
    let cmd = a.command.as_ref().unwrap_or(&AlertsCommand::List {
        all: false,
        limit: 50,
    });
    match cmd {
        AlertsCommand::List { all, limit } => {
            let list = store.alerts(&AlertFilter {
                state: (!all).then_some(AlertState::Firing),
                limit: *limit,
                ..AlertFilter::default()
            })?;
            if a.json {
                return json(out, &list);
            }
            if list.is_empty() {
                writeln!(
                    out,
                    "{}",
                    if *all {
                        "No alerts yet."
                    } else {
                        "No alert is firing."
                    }
                )?;
                return Ok(());
            }
            let mut t = Table::new(&[
                "id", "state", "severity", "rule", "scope", "fired", "message",
            ]);
            for x in &list {
                let state = match (x.state, x.acked_ms) {
                    (AlertState::Firing, Some(_)) => "firing (acked)".to_string(),
                    (s, _) => s.as_str().to_string(),
                };
                t.row(vec![
                    x.id.to_string(),
                    state,
                    x.severity.as_str().into(),
                    x.rule_id.clone(),
                    clean(&mask(&x.scope), 40),
                    when(x.fired_ms),
                    clean(&mask(&x.message), 80),
                ]);
            }
            t.print(out)?;
        }
        AlertsCommand::Show { id } => {
            let Some(x) = store.alert(*id)? else {
                bail!("no alert {id}")
            };
            let deliveries = store.deliveries(Some(*id), 0)?;
            if a.json {
                let d: Vec<_> = deliveries
                    .iter()
                    .map(|d| json!({"channel": d.channel, "transition": d.notification.transition, "status": d.status, "attempts": d.attempts, "last_error": d.last_error, "sent_ms": d.sent_ms}))
                    .collect();
                let v = json!({"alert": x, "deliveries": d});
                return json(out, &v);
            }
            writeln!(
                out,
                "alert {}  {} {} on {}",
                x.id,
                x.severity.as_str(),
                x.rule_id,
                mask(&x.scope)
            )?;
            writeln!(out, "  {}", mask(&x.message))?;
            writeln!(
                out,
                "  state {}, fired {}",
                x.state.as_str(),
                when(x.fired_ms)
            )?;
            if let Some(r) = x.resolved_ms {
                writeln!(out, "  resolved {}", when(r))?;
            }
            if let (Some(at), Some(by)) = (x.acked_ms, &x.acked_by) {
                writeln!(out, "  acknowledged by {by} at {}", when(at))?;
            }
            if let Some(s) = &x.suppressed {
                writeln!(out, "  not notified: {s}")?;
            }
            for d in deliveries {
                writeln!(
                    out,
                    "  {} → {}: {} after {} attempt(s){}",
                    d.notification.transition.as_str(),
                    d.channel,
                    d.status.as_str(),
                    d.attempts,
                    d.last_error.map(|e| format!(" ({e})")).unwrap_or_default()
                )?;
            }
        }
        AlertsCommand::Ack { id, by } => {
            let by = by
                .clone()
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "cli".into());
            if !store.ack_alert(*id, &by, now_ms())? {
                bail!("no alert {id}");
            }
            writeln!(out, "alert {id} acknowledged by {by}")?;
        }
        AlertsCommand::Silence {
            rule,
            scope,
            duration,
            reason,
        } => {
            let ms = parse_duration(duration)?;
            if let Some(r) = rule {
                let set = rules(ctx, &store)?;
                let base = r.split_once('.').map_or(r.as_str(), |(b, _)| b);
                if set.get(base).is_none() {
                    bail!("no rule {r:?}; `clawscope alerts rules` lists them");
                }
            }
            let s = Silence {
                rule_id: rule.clone(),
                scope: scope.clone(),
                until_ms: now_ms() + ms,
                reason: reason.clone(),
                created_by: std::env::var("USER").unwrap_or_else(|_| "cli".into()),
                created_ms: now_ms(),
                ..Silence::default()
            };
            let id = store.add_silence(&s)?;
            writeln!(out, "silence {id} until {}", when(s.until_ms))?;
        }
        AlertsCommand::Silences => {
            let list = store.silences(Some(now_ms()))?;
            if a.json {
                return json(out, &list);
            }
            let mut t = Table::new(&["id", "rule", "scope", "until", "by", "reason"]);
            for s in list {
                t.row(vec![
                    s.id.to_string(),
                    s.rule_id.unwrap_or_else(|| "(any)".into()),
                    s.scope.unwrap_or_else(|| "(any)".into()),
                    when(s.until_ms),
                    s.created_by,
                    clean(&s.reason, 60),
                ]);
            }
            t.print(out)?;
        }
        AlertsCommand::Unsilence { id } => {
            if !store.remove_silence(*id)? {
                bail!("no silence {id}");
            }
            writeln!(out, "silence {id} removed")?;
        }
        AlertsCommand::Rules => {
            let set = rules(ctx, &store)?;
            if a.json {
                return json(out, &set.rules);
            }
            let mut t = Table::new(&[
                "rule",
                "kind",
                "on",
                "severity",
                "per",
                "thresholds",
                "action",
            ]);
            for r in &set.rules {
                t.row(vec![
                    r.id.clone(),
                    if r.enabled { "yes" } else { "no" }.into(),
                    r.severity.as_str().into(),
                    clean(&mask(&summary(r)), 100),
                    format!("{:?}", r.action).to_lowercase(),
                ]);
            }
            t.print(out)?;
        }
        AlertsCommand::ResetRule { id } => {
            if !store.remove_rule(id)? {
                bail!("rule {id:?} has no edit made through the API");
            }
            writeln!(
                out,
                "rule {id}: the API's edit is gone; the config file and built-in apply"
            )?;
        }
        AlertsCommand::Test { rule, channel } => {
            test_send(ctx, &store, rule, channel.as_deref(), out)?
        }
        AlertsCommand::Pause {
            target,
            gateway,
            gateway_token,
        } => act(
            ctx,
            store,
            true,
            target,
            gateway.clone(),
            gateway_token.clone(),
            out,
        )?,
        AlertsCommand::Resume {
            target,
            gateway,
            gateway_token,
        } => act(
            ctx,
            store,
            false,
            target,
            gateway.clone(),
            gateway_token.clone(),
            out,
        )?,
        AlertsCommand::Actions => {
            let list = store.actions(100)?;
            if a.json {
                return json(out, &list);
            }
            let mut t = Table::new(&["at", "action", "target", "alert", "result", "detail"]);
            for x in list {
                let result = match (x.ok, x.dry_run) {
                    (true, true) => "dry run",
                    (true, false) => "done",
                    (false, _) => "failed",
                };
                t.row(vec![
                    when(x.at_ms),
                    x.kind,
                    x.target,
                    if x.alert_id == 0 {
                        "-".into()
                    } else {
                        x.alert_id.to_string()
                    },
                    result.into(),
                    clean(&x.detail, 80),
                ]);
            }
            t.print(out)?;
        }
    }
    Ok(())
}

fn test_send(
    ctx: &Ctx,
    store: &dyn Store,
    rule: &str,
    only: Option<&str>,
    out: &mut impl Write,
) -> Result<()> {
    let set = rules(ctx, store)?;
    let Some(r) = set.get(rule) else {
        bail!("no rule {rule:?}; `clawscope alerts rules` lists them")
    };
    let cfg = &ctx.config.alerts;
    if cfg.channels.is_empty() {
        bail!(
            "no channel is configured: add one under [alerts.channels.<name>] in the config file"
        );
    }
    let wanted = r.notify.clone().or_else(|| cfg.notify.clone());
    let names: Vec<&String> = cfg
        .channels
        .keys()
        .filter(|n| wanted.as_ref().is_none_or(|w| w.contains(n)))
        .filter(|n| only.is_none_or(|o| o == n.as_str()))
        .collect();
    if names.is_empty() {
        bail!(
            "rule {rule} notifies no channel{}",
            only.map(|o| format!(" named {o}")).unwrap_or_default()
        );
    }
    let now = now_ms();
    let n = Notification {
        alert_id: 0,
        transition: Transition::Test,
        rule_id: r.id.clone(),
        scope: "test".into(),
        severity: r.severity,
        title: format!("[test] {} ({})", r.id, r.kind.as_str()),
        text: format!(
            "A test notification for rule {} from clawscope. Nothing is wrong.",
            r.id
        ),
        value: 0.0,
        threshold: 0.0,
        fired_ms: now,
        resolved_ms: None,
        dedup_key: dedup_key(&r.id, "test", now),
        url: cfg.dashboard_url.clone(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut failed = 0;
    rt.block_on(async {
        let gateway = if names.iter().any(|n| {
            matches!(
                cfg.channels.get(*n),
                Some(clawscope_alerts::deliver::ChannelConfig::OpenClaw(_))
            )
        }) {
            match crate::gateway::target(ctx, None, None) {
                Some(g) => crate::gateway::connect_once(g)
                    .await
                    .ok()
                    .map(|g| g as Arc<dyn clawscope_alerts::gateway::GatewayRpc>),
                None => None,
            }
        } else {
            None
        };
        let sender = Sender::new(gateway)?;
        for name in &names {
            let Some(c) = cfg.channels.get(*name) else {
                continue;
            };
            match sender.send(c, &n).await {
                Ok(receipt) => writeln!(out, "{name}: sent ({receipt})")?,
                Err(e) => {
                    failed += 1;
                    writeln!(
                        out,
                        "{name}: FAILED: {e}{}",
                        if e.retriable {
                            " (would be retried)"
                        } else {
                            ""
                        }
                    )?
                }
            }
        }
        anyhow::Ok(())
    })?;
    if failed > 0 {
        bail!("{failed} of {} channel(s) failed", names.len());
    }
    Ok(())
}

fn act(
    ctx: &Ctx,
    store: clawscope_store::SqliteStore,
    pause: bool,
    target: &str,
    url: Option<String>,
    token: Option<String>,
    out: &mut impl Write,
) -> Result<()> {
    if target != "gateway" && !target.starts_with("agent:") {
        bail!("the target is `agent:<id>` or `gateway` (got {target:?})");
    }
    let Some(cfg) = crate::gateway::target(ctx, url, token) else {
        bail!("no gateway found: pass --gateway ws://HOST:PORT (and --gateway-token)");
    };
    // A resume undoes what was done: for real unless every pause it undoes was a dry
    // run (whatever `dry_run` says now). A pause follows `dry_run`.
    let history = store.actions_since_resume(target)?;
    let dry_run = if pause {
        ctx.config.alerts.dry_run
    } else {
        let done: Vec<_> = history
            .iter()
            .filter(|a| a.kind == "pause" && (a.ok || !a.dry_run))
            .collect();
        !done.is_empty() && done.iter().all(|a| a.dry_run)
    };
    let crons = crons_to_restore(&store, target)?;
    let held = held_crons(&store, target)?;
    let boundary = resume_boundary(&store)?;
    let shared: Arc<Mutex<Box<dyn Store>>> = Arc::new(Mutex::new(Box::new(store)));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let mut action = rt.block_on(async {
        let gw = if dry_run {
            None
        } else {
            Some(
                crate::gateway::connect_once(cfg).await?
                    as Arc<dyn clawscope_alerts::gateway::GatewayRpc>,
            )
        };
        let pauser = Pauser::new(gw, dry_run);
        let a = if pause {
            pauser.pause(&shared, target, 0, &held).await
        } else {
            pauser.resume(target, 0, &crons, dry_run, &held).await
        };
        anyhow::Ok(a)
    })?;
    if !pause {
        // Alerts firing now (ids up to this) no longer pause the target.
        let mut detail: serde_json::Value =
            serde_json::from_str(&action.detail).unwrap_or_default();
        detail["boundary"] = boundary.into();
        action.detail = detail.to_string();
    }
    {
        let mut s = shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.record_action(&action)?;
    }
    rt.shutdown_background();
    writeln!(
        out,
        "{} {target}: {}",
        action.kind,
        if action.ok {
            if action.dry_run {
                "dry run"
            } else {
                "done"
            }
        } else {
            "FAILED"
        }
    )?;
    writeln!(out, "  {}", action.detail)?;
    if !action.ok {
        bail!("the gateway did not {} {target}", action.kind);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m").unwrap(), 1_800_000);
        assert_eq!(parse_duration("2h").unwrap(), 7_200_000);
        assert_eq!(parse_duration("1d").unwrap(), 86_400_000);
        assert_eq!(parse_duration("90s").unwrap(), 90_000);
        assert_eq!(parse_duration("15").unwrap(), 900_000);
        assert!(parse_duration("0m").is_err());
        assert!(parse_duration("91d").is_err());
        assert!(parse_duration("2w").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
