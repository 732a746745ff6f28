//! Anomalies over rollups: hourly cost spikes against a trailing baseline, hourly
//! burn above a ceiling, and sessions above a cost ceiling.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::query::SessionSummary;
use crate::report::UsageBucket;

const HOUR_MS: i64 = 3_600_000;

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Anomaly {
    /// `cost_spike`, `hourly_burn` or `session_cost`.
    pub kind: &'static str,
    /// Hour start or session last activity (epoch ms).
    pub at_ms: i64,
    /// The observed cost (USD).
    pub cost_usd: f64,
    /// What it was compared with (USD): baseline average or ceiling.
    pub threshold_usd: f64,
    /// The session, for session findings.
    pub session_key: Option<String>,
}

/// Sum buckets into hourly costs (hour start → USD).
pub fn hourly_costs(buckets: &[UsageBucket]) -> BTreeMap<i64, f64> {
    let mut h = BTreeMap::new();
    for b in buckets {
        *h.entry(b.bucket_ms.div_euclid(HOUR_MS) * HOUR_MS)
            .or_insert(0.0) += b.totals.cost_usd;
    }
    h
}

/// Hours whose cost exceeds `factor` × the average of the 24 hours before them
/// (empty hours count as zero). Hours with under `min_usd` are ignored as noise,
/// and an hour has a baseline only once the history covers its whole trailing window.
pub fn cost_spikes(hours: &BTreeMap<i64, f64>, factor: f64, min_usd: f64) -> Vec<Anomaly> {
    let mut out = Vec::new();
    let Some(&first) = hours.keys().next() else {
        return out;
    };
    for (&hour, &cost) in hours {
        if cost < min_usd || hour - first < 24 * HOUR_MS {
            continue;
        }
        let trailing: f64 = hours.range(hour - 24 * HOUR_MS..hour).map(|(_, c)| c).sum();
        let baseline = trailing / 24.0;
        if baseline > 0.0 && cost > factor * baseline {
            out.push(Anomaly {
                kind: "cost_spike",
                at_ms: hour,
                cost_usd: cost,
                threshold_usd: factor * baseline,
                session_key: None,
            });
        }
    }
    out
}

/// Hours costing more than `ceiling_usd`.
pub fn hourly_burn(hours: &BTreeMap<i64, f64>, ceiling_usd: f64) -> Vec<Anomaly> {
    hours
        .iter()
        .filter(|(_, &c)| c > ceiling_usd)
        .map(|(&h, &c)| Anomaly {
            kind: "hourly_burn",
            at_ms: h,
            cost_usd: c,
            threshold_usd: ceiling_usd,
            session_key: None,
        })
        .collect()
}

/// Sessions costing more than `ceiling_usd`, most expensive first.
pub fn session_costs(sessions: &[SessionSummary], ceiling_usd: f64) -> Vec<Anomaly> {
    let mut v: Vec<Anomaly> = sessions
        .iter()
        .filter(|s| s.totals.cost_usd > ceiling_usd)
        .map(|s| Anomaly {
            kind: "session_cost",
            at_ms: s.last_ms,
            cost_usd: s.totals.cost_usd,
            threshold_usd: ceiling_usd,
            session_key: Some(s.session_key.clone()),
        })
        .collect();
    v.sort_by(|a, b| b.cost_usd.total_cmp(&a.cost_usd));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spike_needs_a_baseline_and_the_factor() {
        let mut h = BTreeMap::new();
        for i in 0..24 {
            h.insert(i * HOUR_MS, 1.0);
        }
        h.insert(24 * HOUR_MS, 1.5); // under 2x
        h.insert(25 * HOUR_MS, 5.0); // spike
        let s = cost_spikes(&h, 2.0, 0.01);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].at_ms, 25 * HOUR_MS);
        assert!((s[0].threshold_usd - 2.0 * (23.0 + 1.5) / 24.0).abs() < 1e-9);
        // the first hour has no history, so no baseline
        assert!(cost_spikes(&BTreeMap::from([(0, 100.0)]), 2.0, 0.01).is_empty());
        assert_eq!(hourly_burn(&h, 3.0).len(), 1);
    }
}
