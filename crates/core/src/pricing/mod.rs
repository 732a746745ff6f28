//! Model prices and the cost calculator.
//!
//! The price table is compiled in from `data/prices.json`, which
//! `scripts/refresh-prices.py` derives from a pinned LiteLLM release. Costs follow
//! ccusage 20.0.24's rules (see [`compute`]): each token bucket is priced on its
//! own, tiered at 200,000 tokens when the model has `*_above_200k` rates, and
//! 1-hour cache writes cost twice the input rate.

mod compute;
mod table;

pub use compute::{compute, TIER_THRESHOLD};
pub use table::{PriceTable, WELL_KNOWN_PREFIXES};

use serde::{Deserialize, Serialize};

/// USD per token rates for one model.
///
/// A missing cache rate prices those tokens at $0, as ccusage does; a missing
/// `*_above_200k` rate means the bucket is not tiered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ModelPrice {
    /// Input (uncached prompt) tokens.
    #[serde(default)]
    pub input: f64,
    /// Output tokens.
    #[serde(default)]
    pub output: f64,
    /// Cache read tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<f64>,
    /// 5-minute cache write tokens (LiteLLM's `cache_creation_input_token_cost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<f64>,
    /// Input rate for the part of the bucket above 200k tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_above_200k: Option<f64>,
    /// Output rate above 200k tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_above_200k: Option<f64>,
    /// Cache read rate above 200k tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_above_200k: Option<f64>,
    /// 5-minute cache write rate above 200k tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_above_200k: Option<f64>,
    /// Maximum input tokens, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    /// LiteLLM provider name (e.g. "anthropic", "bedrock").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

impl ModelPrice {
    /// A price from USD per million tokens (the unit of user overrides).
    pub fn from_per_million(
        input: f64,
        output: f64,
        cache_read: Option<f64>,
        cache_write: Option<f64>,
    ) -> ModelPrice {
        const MILLION: f64 = 1_000_000.0;
        ModelPrice {
            input: input / MILLION,
            output: output / MILLION,
            cache_read: cache_read.map(|r| r / MILLION),
            cache_write: cache_write.map(|r| r / MILLION),
            ..ModelPrice::default()
        }
    }

    /// Every rate with its field name, for validation and display.
    fn rates(&self) -> [(&'static str, Option<f64>); 8] {
        [
            ("input", Some(self.input)),
            ("output", Some(self.output)),
            ("cache_read", self.cache_read),
            ("cache_write", self.cache_write),
            ("input_above_200k", self.input_above_200k),
            ("output_above_200k", self.output_above_200k),
            ("cache_read_above_200k", self.cache_read_above_200k),
            ("cache_write_above_200k", self.cache_write_above_200k),
        ]
    }
}

/// Token counts to price.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PricedTokens {
    /// Uncached input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Cache read tokens.
    pub cache_read: u64,
    /// 5-minute cache writes (or all cache writes when no split is known).
    pub cache_write_5m: u64,
    /// 1-hour cache writes.
    pub cache_write_1h: u64,
}

/// Cost split into parts (USD).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CostParts {
    /// Cost of input tokens.
    pub input: f64,
    /// Cost of output tokens.
    pub output: f64,
    /// Cost of cache reads.
    pub cache_read: f64,
    /// Cost of cache writes (5-minute plus 1-hour).
    pub cache_write: f64,
    /// Sum of the parts.
    pub total: f64,
}

/// Why a price table could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    /// The text is not a valid price table document.
    #[error("invalid price table JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A rate is negative, NaN or infinite.
    #[error("model {model:?}: {field} rate {value} is not a finite non-negative number")]
    InvalidRate {
        /// Table key of the offending model.
        model: String,
        /// Field name, e.g. "cache_read".
        field: &'static str,
        /// The rejected value.
        value: f64,
    },
}

#[cfg(test)]
mod tests;
