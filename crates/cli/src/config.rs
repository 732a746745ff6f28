//! The user's config file (TOML): data dirs, time zone, price overrides.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use clawscope_alerts::rules::BudgetAmounts;
use clawscope_alerts::AlertsConfig;
use clawscope_core::pricing::ModelPrice;

/// A price override in USD per million tokens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceOverride {
    /// Input.
    pub input: f64,
    /// Output.
    pub output: f64,
    /// Cache read.
    pub cache_read: Option<f64>,
    /// Cache write.
    pub cache_write: Option<f64>,
}

/// The config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Extra OpenClaw state dirs (turn discovery off, like --openclaw-dir).
    #[serde(default)]
    pub openclaw_dirs: Vec<PathBuf>,
    /// Extra Claude config dirs.
    #[serde(default)]
    pub claude_dirs: Vec<PathBuf>,
    /// Default time zone.
    pub timezone: Option<String>,
    /// Store file.
    pub store: Option<PathBuf>,
    /// Model price overrides (exact model id → USD per million tokens).
    #[serde(default)]
    pub prices: BTreeMap<String, PriceOverride>,
    /// Spending limits the dashboard shows the totals against (and the budget rules
    /// check).
    #[serde(default)]
    pub budget: BudgetConfig,
    /// Alert rules, channels and auto-pause.
    #[serde(default)]
    pub alerts: AlertsConfig,
}

/// `[budget]`: USD per day, week and month.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    /// Per day.
    pub daily_usd: Option<f64>,
    /// Per week.
    pub weekly_usd: Option<f64>,
    /// Per month.
    pub monthly_usd: Option<f64>,
}

impl BudgetConfig {
    /// The amounts as the budget rules take them.
    pub fn amounts(&self) -> BudgetAmounts {
        BudgetAmounts {
            day: self.daily_usd,
            week: self.weekly_usd,
            month: self.monthly_usd,
        }
    }
}

impl Config {
    /// Load `path`, or the default location if it exists; a missing default is empty.
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => match default_path() {
                Some(p) if p.exists() => p,
                _ => return Ok(Config::default()),
            },
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }

    /// Price overrides in the table's units.
    pub fn price_overrides(&self) -> Vec<(String, ModelPrice)> {
        self.prices
            .iter()
            .map(|(m, p)| {
                (
                    m.clone(),
                    ModelPrice::from_per_million(p.input, p.output, p.cache_read, p.cache_write),
                )
            })
            .collect()
    }
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("dev", "clawscope", "clawscope")
}

/// Default config file location.
pub fn default_path() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("config.toml"))
}

/// Default store location.
pub fn default_store() -> Result<PathBuf> {
    project_dirs()
        .map(|d| d.data_dir().join("clawscope.db"))
        .context("cannot determine a data directory (no HOME); pass --store FILE")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_overrides_and_rejects_typos() {
        let c: Config = toml::from_str(
            "timezone = \"Europe/Berlin\"\n[prices.\"my-model\"]\ninput = 1.0\noutput = 2.0\ncache_read = 0.1\n",
        )
        .unwrap();
        let o = c.price_overrides();
        assert_eq!(o[0].0, "my-model");
        assert!((o[0].1.input - 1e-6).abs() < 1e-15);
        assert!(toml::from_str::<Config>("timezon = \"x\"").is_err());
    }
}
