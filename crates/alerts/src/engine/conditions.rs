//! Each rule kind's findings right now, from what was observed (rolling windows,
//! sessions, crons), the store's rollups (budgets, the cost baseline) and the
//! gateway connection.

use std::collections::BTreeMap;

use chrono_tz::Tz;

use clawscope_core::alert::{Condition, Severity};
use clawscope_core::query::{Dims, UsageFilter};
use clawscope_core::report::period_starts;
use clawscope_store::Store;

use super::observe::Observed;
use crate::rules::{Per, Period, Rule, RuleKind};

/// Sessions quiet for longer than this are no longer "current": their context,
/// hung and loop findings resolve.
pub const ACTIVE_FOR_MS: i64 = 6 * 3600 * 1000;

const MIN: i64 = 60_000;

/// The gateway connection as the engine sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatewayProbe {
    /// Connected now.
    pub connected: bool,
    /// Newest frame (event, tick or answer) from the gateway (epoch ms).
    pub last_frame_ms: Option<i64>,
    /// Since when the current state holds (connected since, or trying since).
    pub since_ms: i64,
}

/// What a rule evaluation may read besides the observed events.
pub struct Inputs<'a> {
    /// Now (epoch ms).
    pub now_ms: i64,
    /// Time zone of budget periods.
    pub tz: Tz,
    /// The store's rollups.
    pub store: &'a dyn Store,
    /// The gateway connection, when one is followed.
    pub gateway: Option<GatewayProbe>,
}

fn cond(
    rule: &Rule,
    scope: String,
    value: f64,
    threshold: f64,
    message: String,
    now: i64,
) -> Condition {
    Condition {
        rule_id: rule.id.clone(),
        scope,
        severity: rule.severity,
        value,
        threshold,
        message,
        observed_ms: now,
    }
}

/// The findings of one rule.
pub fn evaluate(
    rule: &Rule,
    obs: &Observed,
    inp: &Inputs,
) -> Result<Vec<Condition>, clawscope_store::StoreError> {
    let p = &rule.params;
    let now = inp.now_ms;
    let window = p.window_mins.unwrap_or(60) as i64 * MIN;
    Ok(match rule.kind {
        RuleKind::Budget => budget(rule, inp)?,
        RuleKind::CostSpike => cost_spike(rule, inp)?,
        RuleKind::SessionCost => {
            let limit = p.usd.unwrap_or(5.0);
            let mut per: BTreeMap<&str, f64> = BTreeMap::new();
            for s in obs.samples_since(now - window) {
                *per.entry(&*s.session_key).or_default() += s.cost;
            }
            per.into_iter()
                .filter(|(k, c)| !k.is_empty() && *c >= limit)
                .map(|(k, c)| {
                    let msg = format!(
                        "session {k} spent ${c:.2} in the last {} min (limit ${limit:.2})",
                        window / MIN
                    );
                    cond(rule, format!("session:{k}"), c, limit, msg, now)
                })
                .collect()
        }
        RuleKind::HourlyBurn => {
            let limit = p.usd.unwrap_or(3.0);
            let spent: f64 = obs.samples_since(now - window).map(|s| s.cost).sum();
            if spent >= limit {
                let msg = format!(
                    "${spent:.2} spent in the last {} min (limit ${limit:.2})",
                    window / MIN
                );
                vec![cond(rule, "gateway".into(), spent, limit, msg, now)]
            } else {
                vec![]
            }
        }
        RuleKind::Volume => {
            let (mut tokens, mut requests) = (0u64, 0u64);
            for s in obs.samples_since(now - window) {
                tokens += s.tokens;
                requests += s.requests;
            }
            let mins = window / MIN;
            match (p.tokens, p.requests) {
                (Some(t), _) if tokens >= t => vec![cond(
                    rule,
                    "gateway".into(),
                    tokens as f64,
                    t as f64,
                    format!("{tokens} tokens in the last {mins} min (limit {t})"),
                    now,
                )],
                (_, Some(r)) if requests >= r => vec![cond(
                    rule,
                    "gateway".into(),
                    requests as f64,
                    r as f64,
                    format!("{requests} model requests in the last {mins} min (limit {r})"),
                    now,
                )],
                _ => vec![],
            }
        }
        RuleKind::ErrorRate => {
            let (mut outcomes, mut errors) = (0u64, 0u64);
            for s in obs.samples_since(now - window) {
                outcomes += s.outcomes;
                errors += s.errors;
            }
            let pct_limit = p.pct.unwrap_or(10.0);
            let min_errors = p.count.unwrap_or(3);
            let pct = if outcomes == 0 {
                0.0
            } else {
                errors as f64 * 100.0 / outcomes as f64
            };
            if errors >= min_errors && pct >= pct_limit {
                let msg = format!(
                    "{errors} of {outcomes} model replies and tool results failed in the last {} min ({pct:.0} %, limit {pct_limit:.0} %)",
                    window / MIN
                );
                vec![cond(rule, "gateway".into(), pct, pct_limit, msg, now)]
            } else {
                vec![]
            }
        }
        RuleKind::Context => {
            let limit = p.pct.unwrap_or(80.0);
            current_sessions(obs, now)
                .filter_map(|(k, s)| {
                    let (used, max) = s.context?;
                    let pct = used as f64 * 100.0 / max as f64;
                    (pct >= limit).then(|| {
                        let msg = format!("session {k} uses {pct:.0} % of its context window ({used} of {max} tokens)");
                        cond(rule, format!("session:{k}"), pct, limit, msg, now)
                    })
                })
                .collect()
        }
        RuleKind::Hung => {
            let after = p.minutes.unwrap_or(5) as i64 * MIN;
            current_sessions(obs, now)
                .filter_map(|(k, s)| {
                    let (what, started) = s.open.iter().min_by_key(|(_, t)| **t)?;
                    let quiet = now - s.last_ts_ms;
                    (quiet >= after).then(|| {
                        let what = what.split_once(':').map_or("run", |(w, _)| w);
                        let msg = format!(
                            "session {k}: a {what} started {} min ago and nothing has happened for {} min",
                            (now - started) / MIN,
                            quiet / MIN
                        );
                        cond(rule, format!("session:{k}"), (quiet / 1000) as f64, (after / 1000) as f64, msg, now)
                    })
                })
                .collect()
        }
        RuleKind::ToolLoop => {
            let n = p.count.unwrap_or(5);
            current_sessions(obs, now)
                .filter_map(|(k, s)| {
                    let (tool, _) = s.streak.as_ref()?;
                    (s.streak_len >= n).then(|| {
                        let msg = format!(
                            "session {k} called {tool} {} times in a row with the same arguments",
                            s.streak_len
                        );
                        cond(
                            rule,
                            format!("session:{k}"),
                            s.streak_len as f64,
                            n as f64,
                            msg,
                            now,
                        )
                    })
                })
                .collect()
        }
        RuleKind::GatewaySilent => gateway_silent(rule, inp),
        RuleKind::CronFailed => obs
            .crons
            .iter()
            .filter_map(|(id, c)| {
                let (at, failed, why) = c.last_run.as_ref()?;
                failed.then(|| {
                    let msg = format!(
                        "cron job {} failed: {}",
                        c.name,
                        why.as_deref().unwrap_or("no error text")
                    );
                    cond(rule, format!("cron:{id}"), *at as f64, 0.0, msg, now)
                })
            })
            .collect(),
        RuleKind::CronOverdue => {
            let grace = p.minutes.unwrap_or(15) as i64 * MIN;
            obs.crons
                .iter()
                .filter_map(|(id, c)| {
                    let next = c.next_run_ms?;
                    let late = now - next;
                    // A job more than a week past its due time is taken as gone (the
                    // state DB keeps no tombstones for deleted jobs).
                    let current = late < 7 * 86_400_000;
                    (c.enabled && current && late >= grace).then(|| {
                        let msg = format!("cron job {} is {} min overdue", c.name, late / MIN);
                        cond(
                            rule,
                            format!("cron:{id}"),
                            (late / MIN) as f64,
                            (grace / MIN) as f64,
                            msg,
                            now,
                        )
                    })
                })
                .collect()
        }
    })
}

/// Sessions with an event in the last [`ACTIVE_FOR_MS`].
fn current_sessions(
    obs: &Observed,
    now: i64,
) -> impl Iterator<Item = (&String, &super::observe::SessionObs)> {
    obs.sessions
        .iter()
        .filter(move |(_, s)| now - s.last_ts_ms < ACTIVE_FOR_MS)
}

/// The budget's period start in the zone.
fn period_start(period: Period, tz: Tz, now: i64) -> i64 {
    let [day, week, month] = period_starts(tz, now);
    match period {
        Period::Day => day.1,
        Period::Week => week.1,
        Period::Month => month.1,
    }
}

/// Spend since the period start per scope; a warning at `warn_pct` (rule id
/// `<id>.warn`) and a breach at 100 % (the rule's own id and severity).
fn budget(rule: &Rule, inp: &Inputs) -> Result<Vec<Condition>, clawscope_store::StoreError> {
    let p = &rule.params;
    let Some(limit) = p.usd else {
        return Ok(vec![]);
    };
    let period = p.period.unwrap_or_default();
    let since = period_start(period, inp.tz, inp.now_ms);
    let buckets = inp.store.usage_buckets(&UsageFilter {
        since_ms: Some(since),
        agent: match (&rule.per, &rule.only) {
            (Per::Agent, Some(a)) => Some(a.clone()),
            _ => None,
        },
        keep: Dims::AgentProjectModel,
        ..UsageFilter::default()
    })?;
    let mut spent: BTreeMap<String, f64> = BTreeMap::new();
    for b in &buckets {
        let scope = match rule.per {
            Per::Agent => format!("agent:{}", b.agent),
            Per::Project => format!("project:{}", b.project),
            _ => "gateway".to_string(),
        };
        *spent.entry(scope).or_default() += b.totals.cost_usd;
    }
    if let (Per::Project, Some(only)) = (&rule.per, &rule.only) {
        let keep = format!("project:{only}");
        spent.retain(|k, _| *k == keep);
    }
    let warn_at = limit * p.warn_pct.unwrap_or(80.0) / 100.0;
    let mut out = Vec::new();
    for (scope, usd) in spent {
        let pct = usd * 100.0 / limit;
        let what = format!("{} budget", period.as_str());
        if usd >= limit {
            let msg = format!(
                "{scope}: ${usd:.2} spent this {} — {pct:.0} % of the ${limit:.2} {what}",
                period.as_str()
            );
            out.push(cond(rule, scope.clone(), usd, limit, msg, inp.now_ms));
        }
        if usd >= warn_at && warn_at < limit {
            let msg = format!(
                "{scope}: ${usd:.2} spent this {} — {pct:.0} % of the ${limit:.2} {what}",
                period.as_str()
            );
            let mut c = cond(rule, scope, usd, warn_at, msg, inp.now_ms);
            c.rule_id = format!("{}.warn", rule.id);
            c.severity = Severity::Warning.min(rule.severity);
            out.push(c);
        }
    }
    Ok(out)
}

/// The last hour against the hourly average of the baseline before it.
fn cost_spike(rule: &Rule, inp: &Inputs) -> Result<Vec<Condition>, clawscope_store::StoreError> {
    let p = &rule.params;
    let hours = p.baseline_hours.unwrap_or(24) as i64;
    let hour = 60 * MIN;
    let now = inp.now_ms;
    // 15-minute buckets: "the last hour" is the four newest, give or take one.
    let rows = inp.store.usage_buckets(&UsageFilter {
        since_ms: Some(now - (hours + 1) * hour),
        keep: Dims::BucketModel,
        ..UsageFilter::default()
    })?;
    let (mut last, mut before) = (0.0, 0.0);
    for b in &rows {
        if b.bucket_ms >= now - hour {
            last += b.totals.cost_usd;
        } else {
            before += b.totals.cost_usd;
        }
    }
    let avg = before / hours as f64;
    let ratio = p.ratio.unwrap_or(2.0);
    let floor = p.usd.unwrap_or(1.0);
    if avg > 0.0 && last >= ratio * avg && last >= floor {
        let msg = format!(
            "${last:.2} in the last hour is {:.1}× the {hours}-hour average (${avg:.2}/h)",
            last / avg
        );
        return Ok(vec![cond(
            rule,
            "gateway".into(),
            last,
            ratio * avg,
            msg,
            now,
        )]);
    }
    Ok(vec![])
}

fn gateway_silent(rule: &Rule, inp: &Inputs) -> Vec<Condition> {
    let Some(g) = &inp.gateway else {
        return vec![];
    };
    let after = rule.params.minutes.unwrap_or(5) as i64 * MIN;
    let now = inp.now_ms;
    let quiet_since = if g.connected {
        g.last_frame_ms.unwrap_or(g.since_ms).max(g.since_ms)
    } else {
        g.since_ms
    };
    let quiet = now - quiet_since;
    if quiet < after {
        return vec![];
    }
    let msg = if g.connected {
        format!("no frame or tick from the gateway for {} min", quiet / MIN)
    } else {
        format!("the gateway has been unreachable for {} min", quiet / MIN)
    };
    vec![cond(
        rule,
        "gateway".into(),
        (quiet / MIN) as f64,
        (after / MIN) as f64,
        msg,
        now,
    )]
}
