//! Report arithmetic over rollup rows: period grouping in a time zone, and
//! ccusage's 5-hour billing blocks. Pure functions; the store supplies the rows.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

/// Rollup bucket width: 15 minutes, so every real time-zone offset falls on a boundary.
pub const BUCKET_MS: i64 = 15 * 60 * 1000;

/// Summed usage. Field names are the JSON output contract.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UsageTotals {
    /// Uncached input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cache-write tokens (all TTLs).
    pub cache_write_tokens: u64,
    /// Cache-read tokens.
    pub cache_read_tokens: u64,
    /// Reasoning tokens (part of output).
    pub reasoning_tokens: u64,
    /// input + output + cache write + cache read.
    pub total_tokens: u64,
    /// Total cost in USD (reported + computed).
    pub cost_usd: f64,
    /// The part of `cost_usd` the agents reported themselves.
    pub cost_reported_usd: f64,
    /// The part of `cost_usd` computed from the price table.
    pub cost_computed_usd: f64,
    /// Model responses (usage entries) counted.
    pub entries: u64,
    /// Entries with tokens but no known price (their cost is not in `cost_usd`).
    pub unpriced_entries: u64,
}

impl UsageTotals {
    /// Add another total into this one.
    pub fn add(&mut self, o: &UsageTotals) {
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.cache_write_tokens += o.cache_write_tokens;
        self.cache_read_tokens += o.cache_read_tokens;
        self.reasoning_tokens += o.reasoning_tokens;
        self.total_tokens += o.total_tokens;
        self.cost_usd += o.cost_usd;
        self.cost_reported_usd += o.cost_reported_usd;
        self.cost_computed_usd += o.cost_computed_usd;
        self.entries += o.entries;
        self.unpriced_entries += o.unpriced_entries;
    }

    /// Where the cost came from, in one word: reported, computed, mixed, unpriced or none.
    pub fn cost_source(&self) -> &'static str {
        let r = self.cost_reported_usd != 0.0;
        let c = self.cost_computed_usd != 0.0;
        match (r, c, self.unpriced_entries > 0) {
            (true, false, false) => "reported",
            (false, true, false) => "computed",
            (false, false, true) => "unpriced",
            (false, false, false) => "none",
            _ => "mixed",
        }
    }
}

impl UsageTotals {
    /// JSON form: the fields plus `cost_source`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("cost_source".into(), self.cost_source().into());
        }
        v
    }
}

/// Report rows as JSON, the group key under `label` (`date`, `week`, `model`...).
pub fn rows_json(rows: &[ReportRow], label: &str) -> Vec<serde_json::Value> {
    rows.iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                if let Some(k) = o.remove("key") {
                    o.insert(label.into(), k);
                }
            }
            v
        })
        .collect()
}

/// Epoch ms of the start of `date` in `tz`: local midnight, or the first hour that
/// exists when a DST jump skips midnight.
pub fn local_midnight_ms(tz: Tz, date: chrono::NaiveDate) -> i64 {
    (0..3)
        .filter_map(|h| date.and_hms_opt(h, 0, 0))
        .find_map(|t| tz.from_local_datetime(&t).earliest())
        .map(|t| t.timestamp_millis())
        .unwrap_or_else(|| {
            let utc = date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
            utc.timestamp_millis()
        })
}

/// Starts of today, this ISO week and this month in `tz` (epoch ms).
pub fn period_starts(tz: Tz, now_ms: i64) -> [(&'static str, i64); 3] {
    let today = local(now_ms, tz).date_naive();
    let week = today - chrono::Duration::days(today.weekday().num_days_from_monday() as i64);
    let month = today.with_day(1).unwrap_or(today);
    [
        ("today", local_midnight_ms(tz, today)),
        ("week", local_midnight_ms(tz, week)),
        ("month", local_midnight_ms(tz, month)),
    ]
}

/// One rollup row: a 15-minute bucket of one source/agent/project/model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsageBucket {
    /// Bucket start (epoch ms, multiple of [`BUCKET_MS`]).
    pub bucket_ms: i64,
    /// Source system.
    pub source: String,
    /// Agent id.
    pub agent: String,
    /// Project.
    pub project: String,
    /// Model id (empty when none).
    pub model: String,
    /// Sums.
    pub totals: UsageTotals,
}

/// How to group buckets into report rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Calendar day in the report time zone.
    Day,
    /// ISO week (Monday start) in the report time zone.
    Week,
    /// Calendar month in the report time zone.
    Month,
    /// Model id.
    Model,
    /// Project.
    Project,
    /// Agent.
    Agent,
}

/// One report row.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReportRow {
    /// The group key: `2026-09-01`, `2026-W36` (week start date), `2026-09`, a model, project or agent.
    pub key: String,
    /// Sums.
    #[serde(flatten)]
    pub totals: UsageTotals,
    /// Models seen in the row.
    pub models: Vec<String>,
    /// Per-model sums.
    pub model_breakdown: Vec<ModelBreakdown>,
    /// Where the cost came from.
    pub cost_source: &'static str,
}

/// Per-model sums inside a row.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ModelBreakdown {
    /// Model id.
    pub model: String,
    /// Sums.
    #[serde(flatten)]
    pub totals: UsageTotals,
}

fn local(ms: i64, tz: Tz) -> DateTime<Tz> {
    tz.from_utc_datetime(
        &DateTime::<Utc>::from_timestamp_millis(ms)
            .unwrap_or_default()
            .naive_utc(),
    )
}

/// The group key of a bucket.
pub fn group_key(b: &UsageBucket, by: GroupBy, tz: Tz) -> String {
    match by {
        GroupBy::Day => local(b.bucket_ms, tz).format("%Y-%m-%d").to_string(),
        GroupBy::Week => {
            let d = local(b.bucket_ms, tz).date_naive();
            let monday = d - chrono::Duration::days(d.weekday().num_days_from_monday() as i64);
            monday.format("%Y-%m-%d").to_string()
        }
        GroupBy::Month => local(b.bucket_ms, tz).format("%Y-%m").to_string(),
        GroupBy::Model => b.model.clone(),
        GroupBy::Project => b.project.clone(),
        GroupBy::Agent => b.agent.clone(),
    }
}

/// True when every bucket starts on a whole local hour in `tz`, so hourly rollups group
/// into local days exactly (false in :30 / :45 zones, where 15-minute buckets are needed).
pub fn hours_align(buckets: &[UsageBucket], tz: Tz) -> bool {
    use chrono::Timelike;
    buckets.iter().all(|b| {
        let t = local(b.bucket_ms, tz);
        t.minute() == 0 && t.second() == 0
    })
}

/// Group buckets into rows sorted by key, and the grand total.
pub fn group(buckets: &[UsageBucket], by: GroupBy, tz: Tz) -> (Vec<ReportRow>, UsageTotals) {
    let mut rows: BTreeMap<String, BTreeMap<String, UsageTotals>> = BTreeMap::new();
    let mut total = UsageTotals::default();
    // Buckets arrive in time order; consecutive rows of one bucket share their key.
    let mut last: Option<(i64, String)> = None;
    for b in buckets {
        let key = match (&last, by) {
            (Some((ms, k)), GroupBy::Day | GroupBy::Week | GroupBy::Month)
                if *ms == b.bucket_ms =>
            {
                k.clone()
            }
            _ => {
                let k = group_key(b, by, tz);
                last = Some((b.bucket_ms, k.clone()));
                k
            }
        };
        let models = rows.entry(key).or_default();
        models.entry(b.model.clone()).or_default().add(&b.totals);
        total.add(&b.totals);
    }
    let rows = rows
        .into_iter()
        .map(|(key, models)| {
            let mut t = UsageTotals::default();
            for m in models.values() {
                t.add(m);
            }
            let names = models.keys().filter(|m| !m.is_empty()).cloned().collect();
            let cost_source = t.cost_source();
            ReportRow {
                key,
                totals: t,
                models: names,
                model_breakdown: models
                    .into_iter()
                    .map(|(model, totals)| ModelBreakdown { model, totals })
                    .collect(),
                cost_source,
            }
        })
        .collect();
    (rows, total)
}

/// One deduplicated usage entry, for blocks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsageEntry {
    /// When (epoch ms).
    pub ts_ms: i64,
    /// Model (empty for none / synthetic).
    pub model: String,
    /// Sums for this entry (entries = 1).
    pub totals: UsageTotals,
}

/// A 5-hour billing block (ccusage's rule).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Block {
    /// ISO start, or `gap-<start>` for a gap block.
    pub id: String,
    /// Start (epoch ms): the first entry rounded down to the UTC hour.
    pub start_ms: i64,
    /// End (epoch ms): start + block length.
    pub end_ms: i64,
    /// First entry (epoch ms); `None` for gaps.
    pub first_entry_ms: Option<i64>,
    /// Last entry (epoch ms); `None` for gaps.
    pub actual_end_ms: Option<i64>,
    /// True while the block is still open at `now`.
    pub is_active: bool,
    /// True for a gap between blocks.
    pub is_gap: bool,
    /// Sums.
    #[serde(flatten)]
    pub totals: UsageTotals,
    /// Models used.
    pub models: Vec<String>,
    /// For the active block: tokens per minute and USD per hour so far.
    pub burn_rate: Option<BurnRate>,
}

/// Burn rate of an active block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct BurnRate {
    /// Tokens per minute.
    pub tokens_per_minute: f64,
    /// USD per hour.
    pub cost_per_hour: f64,
    /// Projected total cost at block end.
    pub projected_cost_usd: f64,
}

const HOUR_MS: i64 = 3_600_000;

fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Split sorted entries into blocks of `length_ms` (ccusage: 5 h), with gap blocks.
pub fn blocks(entries: &[UsageEntry], length_ms: i64, now_ms: i64) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    let mut last_ts: Option<i64> = None;
    for e in entries {
        let open_new = match (out.last(), last_ts) {
            (Some(b), Some(prev)) => e.ts_ms - b.start_ms > length_ms || e.ts_ms - prev > length_ms,
            _ => true,
        };
        if open_new {
            if let Some(prev) = last_ts {
                if e.ts_ms - prev > length_ms {
                    out.push(Block {
                        id: format!("gap-{}", iso(prev + length_ms)),
                        start_ms: prev + length_ms,
                        end_ms: e.ts_ms,
                        is_gap: true,
                        ..Block::default()
                    });
                }
            }
            let start = e.ts_ms.div_euclid(HOUR_MS) * HOUR_MS;
            out.push(Block {
                id: iso(start),
                start_ms: start,
                end_ms: start + length_ms,
                ..Block::default()
            });
        }
        if let Some(b) = out.last_mut() {
            b.first_entry_ms.get_or_insert(e.ts_ms);
            b.totals.add(&e.totals);
            b.actual_end_ms = Some(e.ts_ms);
            if !e.model.is_empty() && !b.models.contains(&e.model) {
                b.models.push(e.model.clone());
            }
        }
        last_ts = Some(e.ts_ms);
    }
    // ccusage's rule, applied to every block: active while its last entry is under one
    // block length ago and the block has not ended (future-dated entries count too).
    for b in out.iter_mut().filter(|b| !b.is_gap) {
        let last = b.actual_end_ms.unwrap_or(b.start_ms);
        if now_ms - last < length_ms && now_ms < b.end_ms {
            b.is_active = true;
            // Rates over the span from the first to the last entry.
            let first = b.first_entry_ms.unwrap_or(b.start_ms);
            let minutes = ((last - first) as f64 / 60_000.0).max(1.0);
            let per_min_cost = b.totals.cost_usd / minutes;
            b.burn_rate = Some(BurnRate {
                tokens_per_minute: b.totals.total_tokens as f64 / minutes,
                cost_per_hour: per_min_cost * 60.0,
                projected_cost_usd: b.totals.cost_usd
                    + per_min_cost * ((b.end_ms - now_ms).max(0) as f64 / 60_000.0),
            });
        }
    }
    // ccusage lists blocks and gaps by start time; a gap (last entry + length) can start
    // after the next block's start, which is rounded down to the hour.
    out.sort_by_key(|b| b.start_ms);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(tokens: u64, cost: f64) -> UsageTotals {
        UsageTotals {
            input_tokens: tokens,
            total_tokens: tokens,
            cost_usd: cost,
            cost_computed_usd: cost,
            entries: 1,
            ..UsageTotals::default()
        }
    }

    #[test]
    fn day_grouping_follows_time_zone() {
        // 2026-09-01T23:30Z is 2026-09-02 in Tokyo and 2026-09-01 in UTC.
        let ms = 1_788_305_400_000;
        let b = UsageBucket {
            bucket_ms: ms,
            model: "m".into(),
            totals: t(5, 1.0),
            ..UsageBucket::default()
        };
        assert_eq!(group_key(&b, GroupBy::Day, chrono_tz::UTC), "2026-09-01");
        assert_eq!(
            group_key(&b, GroupBy::Day, chrono_tz::Asia::Tokyo),
            "2026-09-02"
        );
        assert_eq!(group_key(&b, GroupBy::Week, chrono_tz::UTC), "2026-08-31");
        let (rows, total) = group(&[b.clone(), b], GroupBy::Month, chrono_tz::UTC);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].key, "2026-09");
        assert_eq!(total.input_tokens, 10);
        assert_eq!(rows[0].cost_source, "computed");
    }

    #[test]
    fn day_starts_survive_a_midnight_dst_jump() {
        // Chile moved clocks from 00:00 to 01:00 on 2026-09-06.
        let d = chrono::NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        let start = local_midnight_ms(chrono_tz::America::Santiago, d);
        let before = local_midnight_ms(chrono_tz::America::Santiago, d.pred_opt().unwrap());
        assert_eq!(
            start - before,
            24 * HOUR_MS,
            "the day begins at 01:00 -03, 24 h after the previous midnight -04"
        );
        assert_eq!(local_midnight_ms(chrono_tz::UTC, d), 1_788_652_800_000);
    }

    #[test]
    fn hour_alignment_depends_on_the_zone() {
        let b = UsageBucket {
            bucket_ms: 1_788_307_200_000,
            ..UsageBucket::default()
        };
        assert!(hours_align(
            std::slice::from_ref(&b),
            chrono_tz::Europe::Berlin
        ));
        assert!(!hours_align(
            std::slice::from_ref(&b),
            chrono_tz::Asia::Kolkata
        ));
        assert!(!hours_align(&[b], chrono_tz::Asia::Kathmandu));
    }

    #[test]
    fn blocks_follow_ccusage_rules() {
        let h = HOUR_MS;
        let base = 1_788_307_200_000; // a whole UTC hour
        let e = |off: i64| UsageEntry {
            ts_ms: base + off,
            model: "m".into(),
            totals: t(1, 0.5),
        };
        // two entries in one block, then one 7 h later (gap), then one that breaks the 5 h window.
        let entries = vec![
            e(10 * 60_000),
            e(h),
            e(8 * h),
            e(8 * h + 4 * h),
            e(13 * h + 30 * 60_000),
        ];
        let bl = blocks(&entries, 5 * h, base + 100 * h);
        let kinds: Vec<bool> = bl.iter().map(|b| b.is_gap).collect();
        assert_eq!(kinds, vec![false, true, false, false]);
        assert_eq!(bl[0].start_ms, base);
        assert_eq!(bl[0].totals.entries, 2);
        assert_eq!(bl[1].start_ms, base + h + 5 * h);
        assert_eq!(bl[1].end_ms, base + 8 * h);
        assert_eq!(bl[2].totals.entries, 2);
        assert_eq!(bl[3].start_ms, base + 13 * h);
        assert!(bl.iter().all(|b| !b.is_active));
        // seen from inside the last block: it alone is active, with rates over its entries
        let now = base + 14 * h;
        let bl = blocks(&entries, 5 * h, now);
        let active: Vec<bool> = bl.iter().map(|b| b.is_active).collect();
        assert_eq!(active, vec![false, false, false, true]);
        let br = bl[3].burn_rate.unwrap();
        assert_eq!(
            br.tokens_per_minute, 1.0,
            "one token over the 1-minute floor"
        );
    }
}
