//! The pipeline between sources and the store: dedup within a batch and pricing.

use std::collections::HashMap;

use std::sync::OnceLock;

use clawscope_core::pricing::{compute, ModelPrice, PriceTable, PricedTokens};
use clawscope_core::{CostSource, Event, EventKind, Merge};

/// Prices events that carry tokens but no reported cost.
pub struct Pricer {
    overrides: Vec<(String, ModelPrice)>,
    table: OnceLock<PriceTable>,
}

impl Pricer {
    /// A pricer over `table`.
    pub fn new(table: PriceTable) -> Pricer {
        Pricer {
            overrides: Vec::new(),
            table: OnceLock::from(table),
        }
    }

    /// The embedded table with `overrides` layered on, built the first time a price is
    /// needed (an import with nothing new never parses the table).
    pub fn embedded_with(overrides: Vec<(String, ModelPrice)>) -> Pricer {
        Pricer {
            overrides,
            table: OnceLock::new(),
        }
    }

    fn table(&self) -> &PriceTable {
        self.table
            .get_or_init(|| PriceTable::embedded().with_overrides(self.overrides.clone()))
    }

    /// The table's version string, recorded on every computed cost.
    pub fn version(&self) -> &str {
        self.table().version()
    }

    /// Fill in `ev.cost` when the agent did not report one: computed from the table,
    /// or marked unpriced when the model is unknown (never a silent $0).
    pub fn price(&self, ev: &mut Event) {
        if ev.kind != Some(EventKind::AssistantMessage) || ev.cost.source == CostSource::Reported {
            return;
        }
        if ev.tokens.total() == 0 {
            ev.cost.source = CostSource::None;
            return;
        }
        let Some(model) = ev.model.model.as_deref() else {
            ev.cost.source = CostSource::Unpriced;
            return;
        };
        match self.table().lookup(ev.model.provider.as_deref(), model) {
            Some((_, price)) => {
                let t = &ev.tokens;
                let parts = compute(
                    price,
                    &PricedTokens {
                        input: t.input,
                        output: t.output,
                        cache_read: t.cache_read,
                        cache_write_5m: t.cache_write_5m(),
                        cache_write_1h: t.cache_write_1h,
                    },
                );
                ev.cost.input = Some(parts.input);
                ev.cost.output = Some(parts.output);
                ev.cost.cache_read = Some(parts.cache_read);
                ev.cost.cache_write = Some(parts.cache_write);
                ev.cost.total = Some(parts.total);
                ev.cost.source = CostSource::Computed;
                ev.cost.price_version = Some(self.table().version().to_string());
            }
            None => ev.cost.source = CostSource::Unpriced,
        }
    }
}

/// Collapse copies of one id inside a batch by the event's merge rule, keeping
/// first-seen order (so ties keep the first copy, as ccusage does).
pub fn dedup(events: &mut Vec<Event>) {
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(events.len());
    let mut keep: Vec<Option<Event>> = Vec::with_capacity(events.len());
    for ev in events.drain(..) {
        match seen.get(&ev.id) {
            Some(&i) => {
                let Some(kept) = keep[i].as_mut() else {
                    continue;
                };
                let wins = match ev.merge {
                    Merge::KeepFirst => false,
                    Merge::KeepLargestUsage => ev.tokens.total() > kept.tokens.total(),
                    Merge::Replace => true,
                };
                if wins {
                    *kept = ev;
                }
            }
            None => {
                seen.insert(ev.id.clone(), keep.len());
                keep.push(Some(ev));
            }
        }
    }
    events.extend(keep.into_iter().flatten());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str, output: u64, merge: Merge) -> Event {
        let mut e = Event {
            id: id.into(),
            merge,
            kind: Some(EventKind::AssistantMessage),
            ..Event::default()
        };
        e.tokens.output = output;
        e
    }

    #[test]
    fn dedup_keeps_largest_and_first_on_ties() {
        let mut v = vec![
            ev("a", 5, Merge::KeepLargestUsage),
            ev("b", 1, Merge::KeepFirst),
            ev("a", 9, Merge::KeepLargestUsage),
            ev("b", 7, Merge::KeepFirst),
            ev("a", 9, Merge::KeepLargestUsage),
        ];
        v[4].ts_ms = 42;
        dedup(&mut v);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].id, "a");
        assert_eq!(v[0].tokens.output, 9);
        assert_eq!(v[0].ts_ms, 0, "a tie keeps the earlier copy");
        assert_eq!(v[1].tokens.output, 1);
    }

    #[test]
    fn unknown_models_are_unpriced_not_free() {
        let pricer = Pricer::new(PriceTable::embedded().clone());
        let mut e = ev("x", 100, Merge::KeepFirst);
        e.model.model = Some("no-such-model-anywhere".into());
        pricer.price(&mut e);
        assert_eq!(e.cost.source, CostSource::Unpriced);
        assert_eq!(e.cost.total, None);
        // 1M output tokens of Sonnet 4.5: 200k at $15/M, the rest at the >200k $22.5/M.
        let mut e = ev("y", 1_000_000, Merge::KeepFirst);
        e.model.model = Some("claude-sonnet-4-5-20250929".into());
        pricer.price(&mut e);
        assert_eq!(e.cost.source, CostSource::Computed);
        assert!((e.cost.total.unwrap() - 21.0).abs() < 1e-9);
        assert!(e
            .cost
            .price_version
            .as_deref()
            .unwrap()
            .starts_with("litellm-"));
    }
}
