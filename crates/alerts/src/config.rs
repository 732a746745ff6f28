//! The `[alerts]` section of the config file.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::deliver::ChannelConfig;
use crate::rules::{builtins, BudgetAmounts, RuleEdit, RuleError, RuleSet};

/// `[alerts]`: rule edits, channels, routing and the pause switch.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// Evaluate rules while serving (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Record pause/resume actions without sending them to the gateway.
    #[serde(default)]
    pub dry_run: bool,
    /// Seconds between scheduled evaluations (default 15; new events also wake it).
    #[serde(default = "fifteen")]
    pub evaluate_every_secs: u64,
    /// Channels for rules without their own `notify` (default: every channel).
    pub notify: Option<Vec<String>>,
    /// Dashboard address put in notifications (`http://host:3200`).
    pub dashboard_url: Option<String>,
    /// `[alerts.rules.<id>]`: changes to built-in rules, or new rules.
    #[serde(default)]
    pub rules: BTreeMap<String, RuleEdit>,
    /// `[alerts.channels.<name>]`: where notifications go.
    #[serde(default)]
    pub channels: BTreeMap<String, ChannelConfig>,
}

fn yes() -> bool {
    true
}

fn fifteen() -> u64 {
    15
}

impl Default for AlertsConfig {
    fn default() -> AlertsConfig {
        AlertsConfig {
            enabled: true,
            dry_run: false,
            evaluate_every_secs: 15,
            notify: None,
            dashboard_url: None,
            rules: BTreeMap::new(),
            channels: BTreeMap::new(),
        }
    }
}

/// A config that cannot work.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// A rule is wrong.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// A channel is wrong.
    #[error("alert channel {name:?}: {why}")]
    Channel {
        /// Channel name.
        name: String,
        /// What is wrong.
        why: String,
    },
}

impl AlertsConfig {
    /// Check channels and routing, and build the rules with `api` edits on top.
    pub fn rule_set(
        &self,
        budget: BudgetAmounts,
        api: &[(String, Option<RuleEdit>)],
    ) -> Result<RuleSet, ConfigError> {
        for (name, c) in &self.channels {
            c.validate().map_err(|e| ConfigError::Channel {
                name: name.clone(),
                why: e.to_string(),
            })?;
        }
        let set = RuleSet::build(builtins(budget), &self.rules, api)?;
        let known = |n: &String| self.channels.contains_key(n);
        let lists = set
            .rules
            .iter()
            .filter_map(|r| r.notify.as_ref().map(|l| (r.id.clone(), l)))
            .chain(self.notify.as_ref().map(|l| ("notify".to_string(), l)));
        for (id, list) in lists {
            if let Some(bad) = list.iter().find(|n| !known(n)) {
                return Err(ConfigError::Channel {
                    name: bad.clone(),
                    why: format!("named by {id} but not defined under [alerts.channels]"),
                });
            }
        }
        Ok(set)
    }
}

impl AlertsConfig {
    /// [`AlertsConfig::rule_set`], but an API edit that no longer fits (it names a
    /// channel since removed from the config, say) is left out with a warning instead
    /// of stopping the engine; the config file's own mistakes are still errors.
    pub fn rule_set_lenient(
        &self,
        budget: BudgetAmounts,
        api: &[(String, Option<RuleEdit>)],
    ) -> Result<RuleSet, ConfigError> {
        self.rule_set(budget, &self.usable_edits(budget, api))
    }

    /// The API edits that still fit, in order (each one kept only if the set builds
    /// with it and the ones kept before it).
    pub fn usable_edits(
        &self,
        budget: BudgetAmounts,
        api: &[(String, Option<RuleEdit>)],
    ) -> Vec<(String, Option<RuleEdit>)> {
        if self.rule_set(budget, api).is_ok() {
            return api.to_vec();
        }
        let mut kept: Vec<(String, Option<RuleEdit>)> = Vec::new();
        for edit in api {
            kept.push(edit.clone());
            if let Err(e) = self.rule_set(budget, &kept) {
                tracing::warn!(rule = %edit.0, error = %e, "rule edit from the API ignored");
                kept.pop();
            }
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_section_parses_and_unknown_channel_names_are_refused() {
        let text = r#"
            dry_run = true
            notify = ["ops"]
            [rules.budget_day]
            usd = 20.0
            action = "pause"
            [rules.budget_week]
            notify = ["nowhere"]
            [channels.ops]
            kind = "webhook"
            url = "http://127.0.0.1:9/hook"
        "#;
        let c: AlertsConfig = toml::from_str(text).expect("parses");
        assert!(c.dry_run && c.enabled);
        assert_eq!(c.evaluate_every_secs, 15);
        let err = c
            .rule_set(BudgetAmounts::default(), &[])
            .expect_err("unknown channel");
        assert!(err.to_string().contains("\"nowhere\""), "{err}");
        let mut ok = c.clone();
        ok.rules.remove("budget_week");
        let set = ok.rule_set(BudgetAmounts::default(), &[]).expect("valid");
        assert_eq!(set.get("budget_day").and_then(|r| r.params.usd), Some(20.0));
        // An API edit naming a channel that is gone is skipped, the others kept.
        let api = vec![
            (
                "hung".to_string(),
                Some(toml::from_str("notify = [\"gone\"]").expect("edit")),
            ),
            (
                "tool_loop".to_string(),
                Some(toml::from_str("count = 9").expect("edit")),
            ),
        ];
        assert!(ok.rule_set(BudgetAmounts::default(), &api).is_err());
        let lenient = ok
            .rule_set_lenient(BudgetAmounts::default(), &api)
            .expect("lenient");
        assert_eq!(lenient.get("hung").and_then(|r| r.notify.clone()), None);
        assert_eq!(
            lenient.get("tool_loop").and_then(|r| r.params.count),
            Some(9)
        );
    }
}
