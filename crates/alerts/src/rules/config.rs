//! Rule edits (from `[alerts.rules.<id>]` in the config file, or the API) and the
//! effective rule set: built-ins, then config edits, then API edits, by id.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use clawscope_core::alert::Severity;

use super::{Action, Params, Per, Period, Rule, RuleKind};

/// A change to one rule: every field optional. For an id that is not built in,
/// `kind` is required and the rest take the kind's defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleEdit {
    /// What it watches (required for a new rule; cannot change a built-in's kind).
    pub kind: Option<RuleKind>,
    /// On or off.
    pub enabled: Option<bool>,
    /// Severity.
    pub severity: Option<Severity>,
    /// Cooldown in seconds.
    pub cooldown_secs: Option<u64>,
    /// Scope granularity.
    pub per: Option<Per>,
    /// Only this agent or project.
    pub only: Option<String>,
    /// Channels to notify.
    pub notify: Option<Vec<String>>,
    /// `none` or `pause`.
    pub action: Option<Action>,
    /// USD threshold.
    pub usd: Option<f64>,
    /// Budget warning percent.
    pub warn_pct: Option<f64>,
    /// Budget period.
    pub period: Option<Period>,
    /// Percent threshold.
    pub pct: Option<f64>,
    /// Window in minutes.
    pub window_mins: Option<u64>,
    /// Count threshold.
    pub count: Option<u64>,
    /// Minutes.
    pub minutes: Option<u64>,
    /// Tokens.
    pub tokens: Option<u64>,
    /// Requests.
    pub requests: Option<u64>,
    /// Ratio.
    pub ratio: Option<f64>,
    /// Baseline hours.
    pub baseline_hours: Option<u64>,
}

/// A rule edit that cannot be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    /// A new rule without `kind`.
    #[error("rule {0:?}: a new rule needs `kind` (one of budget, session_cost, hourly_burn, cost_spike, volume, context, hung, error_rate, tool_loop, gateway_silent, cron_failed, cron_overdue)")]
    NeedsKind(String),
    /// Changing a built-in's kind.
    #[error("rule {0:?}: a built-in rule's kind cannot change; add a rule with a new id instead")]
    KindChange(String),
    /// A bad value.
    #[error("rule {id:?}: {why}")]
    Invalid {
        /// Rule id.
        id: String,
        /// What is wrong.
        why: String,
    },
}

/// Rule ids: lowercase letters, digits, `_` and `-`, 1–64 chars (they appear in
/// URLs, scopes and silences).
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Overwrite `dst` when `src` is set.
fn set<T: Clone>(dst: &mut Option<T>, src: &Option<T>) {
    if src.is_some() {
        dst.clone_from(src);
    }
}

impl RuleEdit {
    /// Apply this edit over `base`.
    fn apply(&self, mut r: Rule) -> Rule {
        if let Some(v) = self.enabled {
            r.enabled = v;
        }
        if let Some(v) = self.severity {
            r.severity = v;
        }
        if let Some(v) = self.cooldown_secs {
            r.cooldown_secs = v;
        }
        if let Some(v) = &self.per {
            r.per = v.clone();
        }
        set(&mut r.only, &self.only);
        if self.notify.is_some() {
            r.notify.clone_from(&self.notify);
        }
        if let Some(v) = self.action {
            r.action = v;
        }
        let p = &mut r.params;
        set(&mut p.usd, &self.usd);
        set(&mut p.warn_pct, &self.warn_pct);
        set(&mut p.period, &self.period);
        set(&mut p.pct, &self.pct);
        set(&mut p.window_mins, &self.window_mins);
        set(&mut p.count, &self.count);
        set(&mut p.minutes, &self.minutes);
        set(&mut p.tokens, &self.tokens);
        set(&mut p.requests, &self.requests);
        set(&mut p.ratio, &self.ratio);
        set(&mut p.baseline_hours, &self.baseline_hours);
        r
    }
}

/// Defaults for a new rule of `kind` (the built-in of that kind, else plain ones).
fn new_rule(id: &str, kind: RuleKind, builtins: &[Rule]) -> Rule {
    let mut r = builtins
        .iter()
        .find(|b| b.kind == kind)
        .cloned()
        .unwrap_or(Rule {
            id: String::new(),
            kind,
            enabled: true,
            severity: Severity::Warning,
            cooldown_secs: 30 * 60,
            per: Per::Gateway,
            only: None,
            notify: None,
            action: Action::None,
            params: Params::default(),
        });
    r.id = id.to_string();
    r
}

fn check(r: &Rule) -> Result<(), RuleError> {
    let bad = |why: &str| {
        Err(RuleError::Invalid {
            id: r.id.clone(),
            why: why.to_string(),
        })
    };
    let p = &r.params;
    let positive = |v: Option<f64>| v.is_none_or(|x| x.is_finite() && x > 0.0);
    if !positive(p.usd) || !positive(p.ratio) {
        return bad("`usd` and `ratio` must be positive numbers");
    }
    let pct_ok = |v: Option<f64>| v.is_none_or(|x| x.is_finite() && x > 0.0 && x <= 100.0);
    if !pct_ok(p.pct) || !pct_ok(p.warn_pct) {
        return bad("`pct` and `warn_pct` must be in (0, 100]");
    }
    if [p.window_mins, p.minutes, p.count, p.baseline_hours].contains(&Some(0)) {
        return bad("`window_mins`, `minutes`, `count` and `baseline_hours` must be at least 1");
    }
    // Rolling windows and quiet sessions are kept for six hours.
    if p.window_mins.is_some_and(|m| m > 360) {
        return bad(
            "`window_mins` is at most 360 (six hours); use a budget rule for longer periods",
        );
    }
    if r.kind == RuleKind::Hung && p.minutes.is_some_and(|m| m > 300) {
        return bad("`minutes` of a hung rule is at most 300");
    }
    if p.minutes.is_some_and(|m| m >= 10_080) || p.baseline_hours.is_some_and(|h| h > 720) {
        return bad("`minutes` is less than 10080 (a week) and `baseline_hours` at most 720");
    }
    if r.cooldown_secs > 30 * 86_400 || p.count.is_some_and(|c| c > 1_000_000) {
        return bad("`cooldown_secs` is at most 2592000 (30 days) and `count` at most 1000000");
    }
    if r.only.is_some() && !matches!(r.per, Per::Agent | Per::Project) {
        return bad("`only` needs `per = \"agent\"` or `per = \"project\"`");
    }
    if r.action == Action::Pause
        && !(r.kind == RuleKind::Budget && matches!(r.per, Per::Agent | Per::Gateway))
    {
        return bad("`action = \"pause\"` is for budget rules per agent or per gateway");
    }
    let per_ok = match r.kind {
        RuleKind::Budget | RuleKind::HourlyBurn => !matches!(r.per, Per::Session),
        RuleKind::SessionCost | RuleKind::Context | RuleKind::Hung | RuleKind::ToolLoop => {
            matches!(r.per, Per::Session)
        }
        _ => matches!(r.per, Per::Gateway),
    };
    if !per_ok {
        return bad("this kind does not support that `per`");
    }
    Ok(())
}

/// The effective rules, in a stable order (built-ins first, then added ids).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleSet {
    /// The rules.
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// Built-ins, then `config` edits, then `api` edits (`None` = deleted through the
    /// API: a built-in is switched off, an added rule removed).
    pub fn build(
        builtins: Vec<Rule>,
        config: &BTreeMap<String, RuleEdit>,
        api: &[(String, Option<RuleEdit>)],
    ) -> Result<RuleSet, RuleError> {
        let mut rules = builtins.clone();
        let edits = config
            .iter()
            .map(|(id, e)| (id.clone(), Some(e.clone())))
            .chain(api.iter().cloned());
        for (id, edit) in edits {
            if !valid_id(&id) {
                return Err(RuleError::Invalid {
                    id,
                    why: "ids are 1-64 of a-z, 0-9, _ and -".into(),
                });
            }
            let at = rules.iter().position(|r| r.id == id);
            let builtin = builtins.iter().any(|b| b.id == id);
            match (edit, at) {
                (None, Some(i)) if builtin => rules[i].enabled = false,
                (None, Some(i)) => {
                    rules.remove(i);
                }
                (None, None) => {}
                (Some(e), Some(i)) => {
                    if e.kind.is_some_and(|k| k != rules[i].kind) {
                        return Err(RuleError::KindChange(id));
                    }
                    rules[i] = e.apply(rules[i].clone());
                }
                (Some(e), None) => {
                    let kind = e.kind.ok_or_else(|| RuleError::NeedsKind(id.clone()))?;
                    rules.push(e.apply(new_rule(&id, kind, &builtins)));
                }
            }
        }
        for r in &rules {
            check(r)?;
        }
        Ok(RuleSet { rules })
    }

    /// A rule by id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{builtins, BudgetAmounts};

    fn edit(s: &str) -> RuleEdit {
        toml::from_str(s).expect("edit parses")
    }

    #[test]
    fn config_edits_override_builtins_and_add_rules() {
        let mut config = BTreeMap::new();
        config.insert("budget_day".into(), edit("usd = 10.0\naction = \"pause\""));
        config.insert("hung".into(), edit("enabled = false"));
        config.insert(
            "main_daily".into(),
            edit("kind = \"budget\"\nper = \"agent\"\nonly = \"main\"\nusd = 2.5"),
        );
        let set = RuleSet::build(builtins(BudgetAmounts::default()), &config, &[]).expect("valid");
        let day = set.get("budget_day").expect("built-in");
        assert_eq!(day.params.usd, Some(10.0));
        assert_eq!(day.action, Action::Pause);
        assert_eq!(day.params.warn_pct, Some(80.0));
        assert!(!set.get("hung").expect("kept").enabled);
        let added = set.get("main_daily").expect("added");
        assert_eq!(added.kind, RuleKind::Budget);
        assert_eq!(added.only.as_deref(), Some("main"));
        assert_eq!(added.params.period, Some(Period::Day));
        assert_eq!(set.rules.last().map(|r| r.id.as_str()), Some("main_daily"));
    }

    #[test]
    fn api_deletes_switch_builtins_off_and_remove_added_rules() {
        let mut config = BTreeMap::new();
        config.insert("extra".into(), edit("kind = \"tool_loop\"\ncount = 3"));
        let api = vec![("extra".to_string(), None), ("volume".to_string(), None)];
        let set = RuleSet::build(builtins(BudgetAmounts::default()), &config, &api).expect("ok");
        assert!(set.get("extra").is_none());
        assert!(!set.get("volume").expect("built-ins stay listed").enabled);
    }

    #[test]
    fn bad_edits_are_refused_with_the_rule_named() {
        let b = || builtins(BudgetAmounts::default());
        let one = |id: &str, e: &str| {
            let mut c = BTreeMap::new();
            c.insert(id.to_string(), edit(e));
            RuleSet::build(b(), &c, &[])
                .expect_err("refused")
                .to_string()
        };
        assert!(one("new_one", "usd = 1.0").contains("needs `kind`"));
        assert!(one("hung", "kind = \"budget\"").contains("cannot change"));
        assert!(one("context_warning", "pct = 150.0").contains("(0, 100]"));
        assert!(one("hourly_burn", "usd = -1.0").contains("positive"));
        assert!(one("tool_loop", "count = 0").contains("at least 1"));
        assert!(one("hourly_burn", "window_mins = 1440").contains("at most 360"));
        assert!(one("hung", "minutes = 400").contains("at most 300"));
        assert!(one("hung", "cooldown_secs = 99999999999").contains("30 days"));
        assert!(one("hung", "action = \"pause\"").contains("budget rules"));
        assert!(one("Bad Id", "kind = \"hung\"").contains("ids are"));
        assert!(one("hung", "per = \"gateway\"").contains("per"));
        let unknown: Result<RuleEdit, _> = toml::from_str("usdd = 1.0");
        assert!(unknown.is_err());
    }
}
