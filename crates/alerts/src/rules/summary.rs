//! A rule in plain words, for the CLI and the dashboard
//! (`context use ≥ 80 % of the window, per session`).

use clawscope_core::text::thousands;

use super::{Per, Period, Rule, RuleKind};

/// USD for people: `$3.00`, `$0.0050`.
fn money(usd: f64) -> String {
    if usd.abs() < 1.0 {
        format!("${usd:.4}")
    } else {
        format!("${usd:.2}")
    }
}

fn usd(v: Option<f64>) -> String {
    v.map(money).unwrap_or_else(|| "?".into())
}

fn n(v: Option<u64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "?".into())
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_else(|| "?".into())
}

/// What a rule watches, in words (`context ≥ 80 % of the window, per session`).
pub fn summary(r: &Rule) -> String {
    let p = &r.params;
    let what = match r.kind {
        RuleKind::Budget => match p.usd {
            None => format!(
                "{} budget: no amount set in [budget]",
                match p.period.unwrap_or_default() {
                    Period::Day => "daily",
                    Period::Week => "weekly",
                    Period::Month => "monthly",
                }
            ),
            Some(_) => {
                let period = match p.period.unwrap_or_default() {
                    Period::Day => "today",
                    Period::Week => "this week",
                    Period::Month => "this month",
                };
                let warn = p
                    .warn_pct
                    .map(|w| format!(", warning at {} %", num(Some(w))))
                    .unwrap_or_default();
                format!("spend {period} ≥ {}{warn}", usd(p.usd))
            }
        },
        RuleKind::SessionCost => format!("spend ≥ {} within {} min", usd(p.usd), n(p.window_mins)),
        RuleKind::HourlyBurn => format!("spend ≥ {} within {} min", usd(p.usd), n(p.window_mins)),
        RuleKind::CostSpike => format!(
            "last hour's spend ≥ {}× the hourly average of the {} h before (and ≥ {})",
            num(p.ratio),
            n(p.baseline_hours),
            usd(p.usd)
        ),
        RuleKind::Volume => {
            let mut parts = Vec::new();
            if let Some(t) = p.tokens {
                parts.push(format!("≥ {} tokens", thousands(t)));
            }
            if let Some(q) = p.requests {
                parts.push(format!("≥ {} requests", thousands(q)));
            }
            if parts.is_empty() {
                parts.push("no threshold set".into());
            }
            format!("{} within {} min", parts.join(" or "), n(p.window_mins))
        }
        RuleKind::Context => format!("context use ≥ {} % of the window", num(p.pct)),
        RuleKind::Hung => format!(
            "a run or tool call started and nothing followed for {} min",
            n(p.minutes)
        ),
        RuleKind::ErrorRate => format!(
            "errors ≥ {} % of replies and tool results within {} min (at least {})",
            num(p.pct),
            n(p.window_mins),
            n(p.count)
        ),
        RuleKind::ToolLoop => format!(
            "the same tool with the same arguments {} times in a row",
            n(p.count)
        ),
        RuleKind::GatewaySilent => {
            format!("gateway connection down or silent for {} min", n(p.minutes))
        }
        RuleKind::CronFailed => "a cron job's latest run failed".into(),
        RuleKind::CronOverdue => format!("a cron job's next run is {} min overdue", n(p.minutes)),
    };
    let per = match r.per {
        Per::Gateway => String::new(),
        Per::Agent => ", per agent".into(),
        Per::Project => ", per project".into(),
        Per::Session => ", per session".into(),
    };
    let only = r
        .only
        .as_deref()
        .map(|o| format!(" (only {o})"))
        .unwrap_or_default();
    format!("{what}{per}{only}")
}
