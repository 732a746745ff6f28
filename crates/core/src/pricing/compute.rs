//! The cost formula (ccusage 20.0.24 rules).

use super::{CostParts, ModelPrice, PricedTokens};

/// Tokens of one bucket priced at the base rate before the `*_above_200k` rate applies.
pub const TIER_THRESHOLD: u64 = 200_000;

/// 1-hour cache writes cost this many times the input rate (hard-coded, as in ccusage).
const CACHE_WRITE_1H_INPUT_MULTIPLIER: f64 = 2.0;

/// Price one bucket: the first [`TIER_THRESHOLD`] tokens at `base`, the rest at
/// `above` when the model has such a rate, else everything at `base`.
fn tier(n: u64, base: f64, above: Option<f64>) -> f64 {
    if n == 0 {
        return 0.0;
    }
    match above {
        Some(above) if n > TIER_THRESHOLD => {
            TIER_THRESHOLD as f64 * base + (n - TIER_THRESHOLD) as f64 * above
        }
        _ => n as f64 * base,
    }
}

/// Price the tokens with ccusage's rules.
///
/// Each bucket is tiered on its own (not by the request's total context):
/// input, output, 5-minute cache writes (`cache_write`), 1-hour cache writes
/// (2 x `input`, tiered at 2 x `input_above_200k`) and cache reads. A missing
/// `cache_write` or `cache_read` rate prices that whole bucket at $0 (as
/// ccusage does); 1-hour writes need only the input rate. `total` is summed in
/// the reference implementation's order (input, output, 5m write, 1h write, read).
pub fn compute(price: &ModelPrice, t: &PricedTokens) -> CostParts {
    let input = tier(t.input, price.input, price.input_above_200k);
    let output = tier(t.output, price.output, price.output_above_200k);
    let write_5m = price.cache_write.map_or(0.0, |base| {
        tier(t.cache_write_5m, base, price.cache_write_above_200k)
    });
    let write_1h = tier(
        t.cache_write_1h,
        CACHE_WRITE_1H_INPUT_MULTIPLIER * price.input,
        price
            .input_above_200k
            .map(|r| CACHE_WRITE_1H_INPUT_MULTIPLIER * r),
    );
    let cache_read = price.cache_read.map_or(0.0, |base| {
        tier(t.cache_read, base, price.cache_read_above_200k)
    });
    CostParts {
        input,
        output,
        cache_read,
        cache_write: write_5m + write_1h,
        total: input + output + write_5m + write_1h + cache_read,
    }
}
