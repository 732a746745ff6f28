//! Store questions both the JSON API and the dashboard ask, answered one way.

use clawscope_core::anomaly::{cost_spikes, hourly_burn, hourly_costs, session_costs, Anomaly};
use clawscope_core::query::{Dims, SessionFilter, SessionOrder, UsageFilter};
use clawscope_core::report::UsageTotals;
use clawscope_store::Store;

use crate::ApiError;

/// Hourly cost above this multiple of the trailing average is a spike.
const SPIKE_FACTOR: f64 = 2.0;
/// Spikes below this hourly cost (USD) are not worth a finding.
const SPIKE_MIN_USD: f64 = 0.01;
/// An hour above this cost (USD) is burn.
const BURN_USD: f64 = 3.0;
/// A session above this cost (USD) is flagged.
const SESSION_USD: f64 = 5.0;
/// Costliest sessions looked at for session findings.
const SESSIONS_CHECKED: usize = 100;

/// Usage since `since_ms`, summed (one pass over the per-model rollup).
pub fn totals_since(s: &dyn Store, since_ms: i64) -> Result<UsageTotals, ApiError> {
    let mut t = UsageTotals::default();
    for b in s.usage_buckets(&UsageFilter {
        since_ms: Some(since_ms),
        keep: Dims::Model,
        ..UsageFilter::default()
    })? {
        t.add(&b.totals);
    }
    Ok(t)
}

/// Cost spikes, hourly burn and costly sessions since `since_ms`.
pub fn anomalies(s: &dyn Store, since_ms: i64) -> Result<Vec<Anomaly>, ApiError> {
    let usage = UsageFilter {
        since_ms: Some(since_ms),
        ..UsageFilter::default()
    };
    let hours = hourly_costs(&s.usage_buckets(&UsageFilter {
        keep: Dims::HourModel,
        ..usage.clone()
    })?);
    let mut found = cost_spikes(&hours, SPIKE_FACTOR, SPIKE_MIN_USD);
    found.extend(hourly_burn(&hours, BURN_USD));
    let sessions = s.sessions(&SessionFilter {
        usage,
        order: SessionOrder::Cost,
        limit: SESSIONS_CHECKED,
        ..SessionFilter::default()
    })?;
    found.extend(session_costs(&sessions, SESSION_USD));
    Ok(found)
}
