//! The price table: loading, overrides and model-name lookup.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::{ModelPrice, PricingError};

/// The table compiled into the binary (see `scripts/refresh-prices.py`).
const EMBEDDED_JSON: &str = include_str!("../../data/prices.json");

/// Suffix added to the version string when user overrides are layered on.
const USER_SUFFIX: &str = "+user";

/// Provider prefixes tried, in order, as the last lookup step (`"<prefix>/<model>"`).
/// First-party APIs come first so their prices win over resellers'.
pub const WELL_KNOWN_PREFIXES: &[&str] = &[
    "anthropic",
    "openai",
    "gemini",
    "vertex_ai",
    "bedrock",
    "xai",
    "deepseek",
    "mistral",
    "openrouter",
];

/// Provider names some sources use, mapped to LiteLLM's (tried after the name as given).
const PROVIDER_ALIASES: &[(&str, &str)] = &[
    ("google", "gemini"),
    ("google-gemini", "gemini"),
    ("google-vertex", "vertex_ai"),
    ("vertex", "vertex_ai"),
    ("amazon-bedrock", "bedrock"),
    ("aws-bedrock", "bedrock"),
    ("azure-openai", "azure"),
    ("x-ai", "xai"),
    ("mistralai", "mistral"),
];

/// The on-disk document written by `scripts/refresh-prices.py`.
#[derive(Deserialize)]
struct Document {
    version: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    generated: String,
    models: HashMap<String, ModelPrice>,
}

/// Model prices keyed by LiteLLM model name, plus where they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    version: String,
    source: String,
    generated: String,
    models: HashMap<String, ModelPrice>,
    /// Lowercased key -> real key, for case-insensitive lookups.
    lower: HashMap<String, String>,
}

impl PriceTable {
    /// The table compiled into the binary (`data/prices.json`), parsed once.
    ///
    /// The embedded file is checked by a unit test; should it ever fail to parse,
    /// this returns an empty table with version `"embedded-invalid"` rather than panic.
    pub fn embedded() -> &'static PriceTable {
        static EMBEDDED: OnceLock<PriceTable> = OnceLock::new();
        EMBEDDED.get_or_init(|| {
            PriceTable::from_json(EMBEDDED_JSON)
                .unwrap_or_else(|_| PriceTable::new("embedded-invalid", Vec::new()))
        })
    }

    /// Parse a table in the `prices.json` format; every rate must be finite and non-negative.
    pub fn from_json(text: &str) -> Result<PriceTable, PricingError> {
        let doc: Document = serde_json::from_str(text)?;
        for (name, price) in &doc.models {
            for (field, rate) in price.rates() {
                if let Some(value) = rate {
                    if !value.is_finite() || value < 0.0 {
                        return Err(PricingError::InvalidRate {
                            model: name.clone(),
                            field,
                            value,
                        });
                    }
                }
            }
        }
        let mut table = PriceTable {
            version: doc.version,
            source: doc.source,
            generated: doc.generated,
            models: doc.models,
            lower: HashMap::new(),
        };
        table.rebuild_lower();
        Ok(table)
    }

    /// A table built from explicit entries (no validation), e.g. for tests or custom sources.
    pub fn new(
        version: impl Into<String>,
        models: impl IntoIterator<Item = (String, ModelPrice)>,
    ) -> PriceTable {
        let mut table = PriceTable {
            version: version.into(),
            source: String::new(),
            generated: String::new(),
            models: models.into_iter().collect(),
            lower: HashMap::new(),
        };
        table.rebuild_lower();
        table
    }

    /// Where the prices came from, e.g. "litellm-1.103.6" (with "+user" when overridden).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Free-text description of the source file.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Date the table was generated (YYYY-MM-DD), if recorded.
    pub fn generated(&self) -> &str {
        &self.generated
    }

    /// Number of priced models.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// True when no model is priced.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// The entry stored under exactly this key.
    pub fn get(&self, name: &str) -> Option<&ModelPrice> {
        self.models.get(name)
    }

    /// All entries, in arbitrary order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ModelPrice)> {
        self.models.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// A copy with user overrides (exact model name -> price) layered on top.
    ///
    /// When at least one override is given the version gets a `+user` suffix
    /// (once), e.g. "litellm-1.103.6+user". Overrides also win case-insensitive lookups.
    pub fn with_overrides(
        &self,
        overrides: impl IntoIterator<Item = (String, ModelPrice)>,
    ) -> PriceTable {
        let mut table = self.clone();
        let mut any = false;
        for (name, price) in overrides {
            table.lower.insert(name.to_lowercase(), name.clone());
            table.models.insert(name, price);
            any = true;
        }
        if any && !table.version.ends_with(USER_SUFFIX) {
            table.version.push_str(USER_SUFFIX);
        }
        table
    }

    /// Find a model's price; returns the matched table key too.
    ///
    /// Tries, in order: the exact name; `"<provider>/<model>"` when a provider
    /// is given (also under LiteLLM's name for a few provider aliases, e.g.
    /// google -> gemini); the name with leading `"<segment>/"` parts stripped one
    /// at a time; the same candidates case-insensitively; then
    /// [`WELL_KNOWN_PREFIXES`] + name. There is no fuzzy or substring matching:
    /// an unknown model is `None`, never someone else's price.
    pub fn lookup(&self, provider: Option<&str>, model: &str) -> Option<(&str, &ModelPrice)> {
        let model = model.trim();
        if model.is_empty() {
            return None;
        }
        if let Some(hit) = self.exact(model) {
            return Some(hit);
        }

        let mut candidates: Vec<String> = vec![model.to_string()];
        if let Some(provider) = provider.map(str::trim).filter(|p| !p.is_empty()) {
            let provider = provider.to_lowercase();
            let alias = PROVIDER_ALIASES
                .iter()
                .find(|(from, _)| *from == provider)
                .map(|(_, to)| *to);
            candidates.push(format!("{provider}/{model}"));
            if let Some(alias) = alias {
                candidates.push(format!("{alias}/{model}"));
            }
        }
        let mut rest = model;
        while let Some((_, tail)) = rest.split_once('/') {
            if tail.is_empty() {
                break;
            }
            candidates.push(tail.to_string());
            rest = tail;
        }

        if let Some(hit) = candidates.iter().find_map(|c| self.exact(c)) {
            return Some(hit);
        }
        if let Some(hit) = candidates.iter().find_map(|c| self.caseless(c)) {
            return Some(hit);
        }

        // `rest` is now the last path segment (or the whole name).
        let mut bare: Vec<&str> = vec![model];
        if rest != model {
            bare.push(rest);
        }
        WELL_KNOWN_PREFIXES.iter().find_map(|prefix| {
            bare.iter().find_map(|name| {
                let key = format!("{prefix}/{name}");
                self.exact(&key).or_else(|| self.caseless(&key))
            })
        })
    }

    fn exact(&self, key: &str) -> Option<(&str, &ModelPrice)> {
        self.models.get_key_value(key).map(|(k, v)| (k.as_str(), v))
    }

    fn caseless(&self, key: &str) -> Option<(&str, &ModelPrice)> {
        let real = self.lower.get(&key.to_lowercase())?;
        self.exact(real)
    }

    /// Rebuild the lowercase index; on a collision the smallest key wins (deterministic).
    fn rebuild_lower(&mut self) {
        let mut keys: Vec<&String> = self.models.keys().collect();
        keys.sort();
        let mut lower = HashMap::with_capacity(keys.len());
        for key in keys {
            lower
                .entry(key.to_lowercase())
                .or_insert_with(|| key.clone());
        }
        self.lower = lower;
    }
}
