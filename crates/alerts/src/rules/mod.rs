//! Alert rules: what each kind watches, the built-in set (on by default), and how the
//! config file and API edits change it. Rule ids are the names users see and silence.

mod config;
mod summary;

use serde::{Deserialize, Serialize};

use clawscope_core::alert::Severity;

pub use config::{RuleEdit, RuleError, RuleSet};
pub use summary::summary;

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// Spend in the current day / week / month against `usd`; warns at `warn_pct`.
    Budget,
    /// One session's spend within the last `window_mins` ≥ `usd`.
    SessionCost,
    /// Spend within the last `window_mins` ≥ `usd`.
    HourlyBurn,
    /// Spend in the last hour ≥ `ratio` × the hourly average of the `baseline_hours`
    /// before it (and ≥ `usd`, so quiet days do not page).
    CostSpike,
    /// Tokens or model requests within the last `window_mins` ≥ `tokens` / `requests`.
    Volume,
    /// A session's latest context use ≥ `pct` % of its window.
    Context,
    /// A run or tool call started and nothing followed for `minutes`.
    Hung,
    /// Errors ≥ `pct` % of model replies and tool results within `window_mins`
    /// (with at least `count` errors).
    ErrorRate,
    /// The same tool with the same arguments `count` times in a row in a session.
    ToolLoop,
    /// The gateway connection down or silent (no frame, no tick) for `minutes`.
    GatewaySilent,
    /// A cron job's latest run failed.
    CronFailed,
    /// An enabled cron job's next run is `minutes` overdue.
    CronOverdue,
}

impl RuleKind {
    /// The config name.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Budget => "budget",
            RuleKind::SessionCost => "session_cost",
            RuleKind::HourlyBurn => "hourly_burn",
            RuleKind::CostSpike => "cost_spike",
            RuleKind::Volume => "volume",
            RuleKind::Context => "context",
            RuleKind::Hung => "hung",
            RuleKind::ErrorRate => "error_rate",
            RuleKind::ToolLoop => "tool_loop",
            RuleKind::GatewaySilent => "gateway_silent",
            RuleKind::CronFailed => "cron_failed",
            RuleKind::CronOverdue => "cron_overdue",
        }
    }
}

/// A budget's period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// Since local midnight.
    #[default]
    Day,
    /// Since Monday's local midnight.
    Week,
    /// Since the 1st's local midnight.
    Month,
}

impl Period {
    /// The config name.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }
}

/// What a rule does besides notifying.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Notify only.
    #[default]
    None,
    /// On a budget breach, pause the agent through the gateway (resumed when the
    /// alert resolves, e.g. the period rolls over, or by `clawscope alerts resume`).
    Pause,
}

/// Which scope a rule evaluates on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Per {
    /// Everything together (`gateway`).
    #[default]
    Gateway,
    /// Each agent apart (`agent:<id>`).
    Agent,
    /// Each project apart (`project:<name>`).
    Project,
    /// Each session apart (`session:<key>`).
    Session,
}

/// One rule, complete (built-in defaults merged with edits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Id (`budget_day`); alerts and silences name it.
    pub id: String,
    /// What it watches.
    pub kind: RuleKind,
    /// Off rules are not evaluated.
    pub enabled: bool,
    /// Severity of a firing (budgets warn before they breach at this severity).
    pub severity: Severity,
    /// After a resolve, a new firing of the same rule and scope within this many
    /// seconds is recorded but not notified.
    pub cooldown_secs: u64,
    /// Scope granularity.
    pub per: Per,
    /// Only this agent (`per` agent) or project (`per` project).
    pub only: Option<String>,
    /// Channels to notify (names from `[alerts.channels]`); `None` = the default list.
    pub notify: Option<Vec<String>>,
    /// Extra action on breach.
    pub action: Action,
    /// Kind parameters (each kind reads the ones it documents).
    pub params: Params,
}

/// Rule parameters; unused ones are ignored by the kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// USD threshold.
    pub usd: Option<f64>,
    /// Budget warning at this percent of `usd`.
    pub warn_pct: Option<f64>,
    /// Budget period.
    pub period: Option<Period>,
    /// Percent threshold (context, error rate).
    pub pct: Option<f64>,
    /// Rolling window in minutes.
    pub window_mins: Option<u64>,
    /// Count threshold (tool loop length, minimum errors).
    pub count: Option<u64>,
    /// Minutes (hung, gateway silent, cron overdue).
    pub minutes: Option<u64>,
    /// Token threshold (volume).
    pub tokens: Option<u64>,
    /// Request threshold (volume).
    pub requests: Option<u64>,
    /// Ratio over the baseline (cost spike).
    pub ratio: Option<f64>,
    /// Baseline length in hours (cost spike).
    pub baseline_hours: Option<u64>,
}

/// Budget amounts from the config's `[budget]` section (shown on the dashboard too).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BudgetAmounts {
    /// USD per day.
    pub day: Option<f64>,
    /// USD per week.
    pub week: Option<f64>,
    /// USD per month.
    pub month: Option<f64>,
}

fn rule(id: &str, kind: RuleKind, severity: Severity, per: Per, params: Params) -> Rule {
    Rule {
        id: id.into(),
        kind,
        enabled: true,
        severity,
        cooldown_secs: 30 * 60,
        per,
        only: None,
        notify: None,
        action: Action::None,
        params,
    }
}

/// The built-in rules, on by default. Budgets take their amounts from `[budget]`; a
/// budget without an amount stays listed but does nothing until one is set.
pub fn builtins(budget: BudgetAmounts) -> Vec<Rule> {
    use RuleKind as K;
    use Severity::{Critical, Warning};
    let p = Params::default;
    let budget_rule = |id: &str, period: Period, usd: Option<f64>| {
        rule(
            id,
            K::Budget,
            Critical,
            Per::Gateway,
            Params {
                usd,
                warn_pct: Some(80.0),
                period: Some(period),
                ..p()
            },
        )
    };
    vec![
        budget_rule("budget_day", Period::Day, budget.day),
        budget_rule("budget_week", Period::Week, budget.week),
        budget_rule("budget_month", Period::Month, budget.month),
        rule(
            "session_cost",
            K::SessionCost,
            Warning,
            Per::Session,
            Params {
                usd: Some(5.0),
                window_mins: Some(60),
                ..p()
            },
        ),
        rule(
            "hourly_burn",
            K::HourlyBurn,
            Warning,
            Per::Gateway,
            Params {
                usd: Some(3.0),
                window_mins: Some(60),
                ..p()
            },
        ),
        rule(
            "cost_spike",
            K::CostSpike,
            Warning,
            Per::Gateway,
            Params {
                ratio: Some(2.0),
                baseline_hours: Some(24),
                usd: Some(1.0),
                ..p()
            },
        ),
        rule(
            "volume",
            K::Volume,
            Warning,
            Per::Gateway,
            Params {
                tokens: Some(20_000_000),
                requests: Some(2_000),
                window_mins: Some(60),
                ..p()
            },
        ),
        rule(
            "context_warning",
            K::Context,
            Warning,
            Per::Session,
            Params {
                pct: Some(80.0),
                ..p()
            },
        ),
        rule(
            "context_critical",
            K::Context,
            Critical,
            Per::Session,
            Params {
                pct: Some(95.0),
                ..p()
            },
        ),
        rule(
            "hung",
            K::Hung,
            Warning,
            Per::Session,
            Params {
                minutes: Some(5),
                ..p()
            },
        ),
        rule(
            "error_rate",
            K::ErrorRate,
            Warning,
            Per::Gateway,
            Params {
                pct: Some(10.0),
                window_mins: Some(5),
                count: Some(3),
                ..p()
            },
        ),
        rule(
            "tool_loop",
            K::ToolLoop,
            Warning,
            Per::Session,
            Params {
                count: Some(5),
                ..p()
            },
        ),
        rule(
            "gateway_silent",
            K::GatewaySilent,
            Critical,
            Per::Gateway,
            Params {
                minutes: Some(5),
                ..p()
            },
        ),
        rule("cron_failed", K::CronFailed, Warning, Per::Gateway, p()),
        rule(
            "cron_overdue",
            K::CronOverdue,
            Warning,
            Per::Gateway,
            Params {
                minutes: Some(15),
                ..p()
            },
        ),
    ]
}
