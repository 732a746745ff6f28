//! Unit tests for the price table and the cost formula.

use super::*;

/// Relative/absolute closeness for hand-worked dollar amounts.
fn assert_close(actual: f64, expected: f64) {
    let tol = 1e-12 * expected.abs().max(1.0);
    assert!(
        (actual - expected).abs() <= tol,
        "expected {expected}, got {actual} (diff {})",
        actual - expected
    );
}

fn embedded(name: &str) -> &'static ModelPrice {
    PriceTable::embedded()
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing from the embedded table"))
}

// ---- embedded table ----------------------------------------------------------

#[test]
fn embedded_table_parses_and_is_pinned() {
    let t = PriceTable::embedded();
    assert_eq!(t.version(), "litellm-1.103.6");
    assert!(t.len() > 3000, "only {} models", t.len());
    assert!(!t.is_empty());
    assert!(t.source().contains("litellm==1.103.6"), "{}", t.source());
    assert_eq!(t.generated().len(), 10, "{}", t.generated());
    // parsed once: the same instance every call
    assert!(std::ptr::eq(t, PriceTable::embedded()));
}

#[test]
fn sonnet_4_5_matches_ccusage_rates() {
    let p = embedded("claude-sonnet-4-5-20250929");
    assert_eq!(p.input, 3e-06);
    assert_eq!(p.output, 1.5e-05);
    assert_eq!(p.cache_write, Some(3.75e-06));
    assert_eq!(p.cache_read, Some(3e-07));
    assert_eq!(p.input_above_200k, Some(6e-06));
    assert_eq!(p.output_above_200k, Some(2.25e-05));
    assert_eq!(p.cache_write_above_200k, Some(7.5e-06));
    assert_eq!(p.cache_read_above_200k, Some(6e-07));
    assert_eq!(p.provider.as_deref(), Some("anthropic"));
    // 1h cache write: 6 $/MTok base, 12 $/MTok above 200k (ccusage-pricing.json)
    let one_h = |n| {
        compute(
            p,
            &PricedTokens {
                cache_write_1h: n,
                ..Default::default()
            },
        )
        .cache_write
    };
    assert_close(one_h(100_000) / 100_000.0, 6e-06);
    assert_close((one_h(1_000_000) - 200_000.0 * 6e-06) / 800_000.0, 1.2e-05);
}

#[test]
fn opus_4_1_matches_ccusage_rates() {
    let p = embedded("claude-opus-4-1-20250805");
    assert_eq!(p.input, 1.5e-05);
    assert_eq!(p.output, 7.5e-05);
    assert_eq!(p.cache_write, Some(1.875e-05));
    assert_eq!(p.cache_read, Some(1.5e-06));
    assert_eq!(p.input_above_200k, None);
    assert_eq!(p.output_above_200k, None);
    assert_eq!(p.cache_write_above_200k, None);
    assert_eq!(p.cache_read_above_200k, None);
}

#[test]
fn opus_4_5_matches_ccusage_rates() {
    let p = embedded("claude-opus-4-5-20251101");
    assert_eq!(p.input, 5e-06);
    assert_eq!(p.output, 2.5e-05);
    assert_eq!(p.cache_write, Some(6.25e-06));
    assert_eq!(p.cache_read, Some(5e-07));
    assert_eq!(p.input_above_200k, None);
    assert_eq!(p.output_above_200k, None);
    assert_eq!(p.cache_write_above_200k, None);
    assert_eq!(p.cache_read_above_200k, None);
}

#[test]
fn haiku_4_5_matches_ccusage_rates() {
    let p = embedded("claude-haiku-4-5-20251001");
    assert_eq!(p.input, 1e-06);
    assert_eq!(p.output, 5e-06);
    assert_eq!(p.cache_write, Some(1.25e-06));
    assert_eq!(p.cache_read, Some(1e-07));
    assert_eq!(p.input_above_200k, None);
    assert_eq!(p.output_above_200k, None);
    assert_eq!(p.cache_write_above_200k, None);
    assert_eq!(p.cache_read_above_200k, None);
    assert_eq!(p.context_window, Some(200_000));
}

// ---- compute -----------------------------------------------------------------

#[test]
fn compute_tiers_each_bucket_on_its_own() {
    let p = embedded("claude-sonnet-4-5-20250929");
    let t = PricedTokens {
        input: 300_000,          // 200k*3e-6 + 100k*6e-6       = 0.6 + 0.6   = 1.2
        output: 250_000,         // 200k*15e-6 + 50k*22.5e-6    = 3.0 + 1.125 = 4.125
        cache_write_5m: 400_000, // 200k*3.75e-6 + 200k*7.5e-6  = 0.75 + 1.5  = 2.25
        cache_write_1h: 300_000, // 200k*6e-6 + 100k*12e-6      = 1.2 + 1.2   = 2.4
        cache_read: 1_000_000,   // 200k*0.3e-6 + 800k*0.6e-6   = 0.06 + 0.48 = 0.54
    };
    let c = compute(p, &t);
    assert_close(c.input, 1.2);
    assert_close(c.output, 4.125);
    assert_close(c.cache_write, 4.65);
    assert_close(c.cache_read, 0.54);
    assert_close(c.total, 10.515);
}

#[test]
fn compute_below_and_at_threshold_uses_base_rate() {
    let p = embedded("claude-sonnet-4-5-20250929");
    // exactly 200k in every bucket: no tier; buckets are not summed for the threshold
    let t = PricedTokens {
        input: 200_000,
        output: 200_000,
        cache_read: 200_000,
        cache_write_5m: 200_000,
        cache_write_1h: 200_000,
    };
    let c = compute(p, &t);
    assert_close(c.input, 0.6);
    assert_close(c.output, 3.0);
    assert_close(c.cache_read, 0.06);
    assert_close(c.cache_write, 0.75 + 1.2);
    assert_close(c.total, 0.6 + 3.0 + 0.75 + 1.2 + 0.06);
    // one token over: only that token moves to the higher rate
    let c = compute(
        p,
        &PricedTokens {
            input: 200_001,
            ..Default::default()
        },
    );
    assert_close(c.input, 0.6 + 6e-06);
}

#[test]
fn compute_without_above_rates_is_flat() {
    let p = embedded("claude-opus-4-1-20250805");
    let t = PricedTokens {
        input: 300_000,          // 300k*15e-6    = 4.5
        output: 1_000_000,       // 1M*75e-6      = 75
        cache_write_5m: 100_000, // 100k*18.75e-6 = 1.875
        cache_write_1h: 250_000, // 250k*30e-6    = 7.5
        cache_read: 2_000_000,   // 2M*1.5e-6     = 3
    };
    let c = compute(p, &t);
    assert_close(c.input, 4.5);
    assert_close(c.output, 75.0);
    assert_close(c.cache_write, 9.375);
    assert_close(c.cache_read, 3.0);
    assert_close(c.total, 91.875);
}

#[test]
fn compute_one_hour_cache_write_is_twice_input() {
    let p = embedded("claude-haiku-4-5-20251001");
    let c = compute(
        p,
        &PricedTokens {
            cache_write_5m: 1_000, // 1000*1.25e-6 = 0.00125
            cache_write_1h: 1_000, // 1000*2e-6    = 0.002
            ..Default::default()
        },
    );
    assert_close(c.cache_write, 0.00325);
    assert_close(c.total, 0.00325);
    assert_eq!(c.input, 0.0);
    assert_eq!(c.output, 0.0);
    assert_eq!(c.cache_read, 0.0);
}

#[test]
fn compute_missing_cache_rates_cost_nothing() {
    let p = ModelPrice {
        input: 1e-06,
        output: 2e-06,
        cache_write_above_200k: Some(9e-06), // ignored without a base cache_write rate
        ..Default::default()
    };
    let c = compute(
        &p,
        &PricedTokens {
            input: 10,
            output: 10,
            cache_read: 500_000,
            cache_write_5m: 500_000,
            cache_write_1h: 1_000, // still priced: 2 x input
        },
    );
    assert_close(c.input, 1e-05);
    assert_close(c.output, 2e-05);
    assert_eq!(c.cache_read, 0.0);
    assert_close(c.cache_write, 0.002);
    assert_close(c.total, 1e-05 + 2e-05 + 0.002);
}

#[test]
fn compute_zero_tokens_is_zero() {
    let c = compute(
        embedded("claude-sonnet-4-5-20250929"),
        &PricedTokens::default(),
    );
    assert_eq!(c, CostParts::default());
}

#[test]
fn from_per_million_converts_units() {
    let p = ModelPrice::from_per_million(3.0, 15.0, Some(0.3), Some(3.75));
    assert_eq!(p.input, 3e-06);
    assert_eq!(p.output, 1.5e-05);
    assert_eq!(p.cache_read, Some(3e-07));
    assert_eq!(p.cache_write, Some(3.75e-06));
    assert_eq!(p.input_above_200k, None);
    assert_eq!(p.provider, None);
    let c = compute(
        &p,
        &PricedTokens {
            input: 1_000_000,
            output: 1_000_000,
            ..Default::default()
        },
    );
    assert_close(c.total, 18.0);
    let bare = ModelPrice::from_per_million(1.0, 2.0, None, None);
    assert_eq!(bare.cache_read, None);
    assert_eq!(bare.cache_write, None);
}

// ---- lookup ------------------------------------------------------------------

fn small_table() -> PriceTable {
    let price = |input: f64| ModelPrice {
        input,
        output: input * 2.0,
        ..Default::default()
    };
    PriceTable::new(
        "test-1",
        [
            ("claude-x-1".to_string(), price(1.0)),
            ("anthropic/claude-only-prefixed".to_string(), price(2.0)),
            ("openrouter/vendor/model-a".to_string(), price(3.0)),
            ("gemini/gemini-z".to_string(), price(4.0)),
            ("xai/grok-q".to_string(), price(5.0)),
            ("openai/grok-q".to_string(), price(6.0)),
            ("Mixed-Case-Model".to_string(), price(7.0)),
            ("bedrock/region/deep-model".to_string(), price(8.0)),
        ],
    )
}

#[test]
fn lookup_exact_and_provider_prefix() {
    let t = small_table();
    let (key, p) = t.lookup(None, "claude-x-1").expect("exact");
    assert_eq!((key, p.input), ("claude-x-1", 1.0));
    let (key, p) = t
        .lookup(Some("anthropic"), "claude-only-prefixed")
        .expect("provider prefix");
    assert_eq!((key, p.input), ("anthropic/claude-only-prefixed", 2.0));
    // provider name normalised and aliased: google -> gemini
    let (key, _) = t.lookup(Some("Google"), "gemini-z").expect("alias");
    assert_eq!(key, "gemini/gemini-z");
    // provider decides between two prefixed entries
    let (key, p) = t.lookup(Some("openai"), "grok-q").expect("provider");
    assert_eq!((key, p.input), ("openai/grok-q", 6.0));
}

#[test]
fn lookup_strips_leading_segments() {
    let t = small_table();
    let (key, _) = t.lookup(None, "myproxy/claude-x-1").expect("one segment");
    assert_eq!(key, "claude-x-1");
    let (key, _) = t.lookup(None, "a/b/claude-x-1").expect("two segments");
    assert_eq!(key, "claude-x-1");
    let (key, _) = t
        .lookup(Some("custom"), "openrouter/vendor/model-a")
        .expect("exact beats provider");
    assert_eq!(key, "openrouter/vendor/model-a");
}

#[test]
fn lookup_case_insensitive_then_well_known_prefixes() {
    let t = small_table();
    let (key, _) = t.lookup(None, "mixed-case-model").expect("lowercase");
    assert_eq!(key, "Mixed-Case-Model");
    let (key, _) = t.lookup(None, "CLAUDE-X-1").expect("uppercase query");
    assert_eq!(key, "claude-x-1");
    // no provider: prefixes are tried in WELL_KNOWN_PREFIXES order (openai before xai)
    let (key, p) = t.lookup(None, "grok-q").expect("well-known prefix");
    assert_eq!((key, p.input), ("openai/grok-q", 6.0));
    let (key, _) = t.lookup(None, "claude-only-prefixed").expect("anthropic/");
    assert_eq!(key, "anthropic/claude-only-prefixed");
    let (key, _) = t
        .lookup(None, "proxy/gemini-z")
        .expect("prefix + bare name");
    assert_eq!(key, "gemini/gemini-z");
}

#[test]
fn lookup_unknown_is_none_and_never_fuzzy() {
    let t = small_table();
    assert_eq!(t.lookup(None, "claude-x"), None); // prefix of a key
    assert_eq!(t.lookup(None, "claude-x-10"), None); // key is a prefix of it
    assert_eq!(t.lookup(None, "model-a"), None); // only under an unknown reseller path
    assert_eq!(t.lookup(Some("anthropic"), "nope"), None);
    assert_eq!(t.lookup(None, ""), None);
    assert_eq!(t.lookup(None, "/"), None);
    let e = PriceTable::embedded();
    assert!(e
        .lookup(Some("anthropic"), "claude-imaginary-9-9")
        .is_none());
    assert!(e.lookup(None, "sonnet").is_none());
    assert!(e.lookup(None, "<synthetic>").is_none());
}

#[test]
fn lookup_on_embedded_table() {
    let t = PriceTable::embedded();
    let (key, p) = t
        .lookup(Some("anthropic"), "claude-sonnet-4-5-20250929")
        .expect("claude");
    assert_eq!(key, "claude-sonnet-4-5-20250929");
    assert_eq!(p.input_above_200k, Some(6e-06));
    let (key, _) = t
        .lookup(Some("anthropic"), "anthropic/claude-opus-4-5-20251101")
        .expect("stripped");
    assert_eq!(key, "claude-opus-4-5-20251101");
    let (key, p) = t.lookup(Some("xai"), "grok-4").expect("provider prefix");
    assert_eq!(key, "xai/grok-4");
    assert_eq!(p.input, 1.25e-06);
    let (key, _) = t.lookup(None, "grok-4").expect("well-known prefix");
    assert_eq!(key, "xai/grok-4");
    let (key, _) = t.lookup(None, "Claude-Haiku-4-5-20251001").expect("case");
    assert_eq!(key, "claude-haiku-4-5-20251001");
}

// ---- overrides and parsing ---------------------------------------------------

#[test]
fn override_wins_and_marks_version() {
    let base = PriceTable::embedded();
    let mine = ModelPrice::from_per_million(1.0, 2.0, None, None);
    let t = base.with_overrides([
        ("claude-sonnet-4-5-20250929".to_string(), mine.clone()),
        ("My-Local-Model".to_string(), mine.clone()),
    ]);
    assert_eq!(t.version(), "litellm-1.103.6+user");
    assert_eq!(t.len(), base.len() + 1);
    let (key, p) = t
        .lookup(Some("anthropic"), "claude-sonnet-4-5-20250929")
        .expect("overridden");
    assert_eq!(key, "claude-sonnet-4-5-20250929");
    assert_eq!(p.input, 1e-06);
    assert_eq!(p.input_above_200k, None);
    let (key, _) = t
        .lookup(None, "my-local-model")
        .expect("override, any case");
    assert_eq!(key, "My-Local-Model");
    // the base table is untouched
    assert_eq!(base.version(), "litellm-1.103.6");
    assert_eq!(
        base.get("claude-sonnet-4-5-20250929").map(|p| p.input),
        Some(3e-06)
    );
    // layering twice does not stack the suffix; no overrides keeps the version
    let again = t.with_overrides([("other".to_string(), mine)]);
    assert_eq!(again.version(), "litellm-1.103.6+user");
    assert_eq!(base.with_overrides([]).version(), "litellm-1.103.6");
}

#[test]
fn from_json_reads_format_and_rejects_bad_input() {
    let text = r#"{"version": "litellm-0.0.1", "source": "hand", "generated": "2026-01-02",
        "models": {"m": {"provider": "p", "input": 1e-06, "cache_read": 1e-07, "context_window": 1000, "extra": 1}}}"#;
    let t = PriceTable::from_json(text).expect("valid");
    assert_eq!(t.version(), "litellm-0.0.1");
    assert_eq!(t.source(), "hand");
    assert_eq!(t.generated(), "2026-01-02");
    let p = t.get("m").expect("m");
    assert_eq!(p.input, 1e-06);
    assert_eq!(p.output, 0.0);
    assert_eq!(p.cache_read, Some(1e-07));
    assert_eq!(p.cache_write, None);
    assert_eq!(p.context_window, Some(1000));
    assert_eq!(p.provider.as_deref(), Some("p"));

    assert!(matches!(
        PriceTable::from_json("{not json"),
        Err(PricingError::Json(_))
    ));
    assert!(matches!(
        PriceTable::from_json(r#"{"models": {}}"#),
        Err(PricingError::Json(_))
    ));
    match PriceTable::from_json(
        r#"{"version": "v", "models": {"bad": {"input": 1e-6, "cache_read": -1e-7}}}"#,
    ) {
        Err(PricingError::InvalidRate {
            model,
            field,
            value,
        }) => {
            assert_eq!(
                (model.as_str(), field, value),
                ("bad", "cache_read", -1e-07)
            );
        }
        other => panic!("expected InvalidRate, got {other:?}"),
    }
}

#[test]
fn model_price_serializes_without_nulls() {
    let p = ModelPrice::from_per_million(3.0, 15.0, None, Some(3.75));
    let v = serde_json::to_value(&p).expect("serialize");
    assert_eq!(
        v,
        serde_json::json!({"input": 3e-06, "output": 1.5e-05, "cache_write": 3.75e-06})
    );
}
