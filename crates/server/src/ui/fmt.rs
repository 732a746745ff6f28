//! Numbers, times and durations as people read them. The raw value always travels
//! beside the formatted one (`data-value`), so tests and scripts never parse text.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// `$1,234.56`; amounts under a dollar keep four decimals, so cents don't vanish.
pub fn money(usd: f64) -> String {
    if usd == 0.0 {
        return "$0".into();
    }
    if usd.abs() < 1.0 {
        return format!("${usd:.4}");
    }
    let cents = (usd * 100.0).round() as i64;
    format!(
        "${}.{:02}",
        int((cents / 100).unsigned_abs()),
        (cents % 100).abs()
    )
}

/// `12,345,678`.
pub use clawscope_core::text::thousands as int;

/// `1.2M`, `34.5k`, `999`.
pub fn tokens(n: u64) -> String {
    let f = n as f64;
    if n >= 1_000_000_000 {
        format!("{:.2}B", f / 1e9)
    } else if n >= 1_000_000 {
        format!("{:.2}M", f / 1e6)
    } else if n >= 10_000 {
        format!("{:.1}k", f / 1e3)
    } else {
        int(n)
    }
}

/// `2026-11-21 14:03:05` in `tz`.
pub fn datetime(ms: i64, tz: Tz) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => tz
            .from_utc_datetime(&t.naive_utc())
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        None => "-".into(),
    }
}

/// `14:03:05` in `tz`.
pub fn time(ms: i64, tz: Tz) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => tz
            .from_utc_datetime(&t.naive_utc())
            .format("%H:%M:%S")
            .to_string(),
        None => "-".into(),
    }
}

/// `3 min ago`, `2 h ago`, `in 5 min`.
pub fn ago(ms: i64, now_ms: i64) -> String {
    let d = now_ms - ms;
    let (future, d) = (d < 0, d.unsigned_abs() / 1000);
    let s = if d < 60 {
        format!("{d} s")
    } else if d < 3600 {
        format!("{} min", d / 60)
    } else if d < 86_400 {
        format!("{} h", d / 3600)
    } else {
        format!("{} d", d / 86_400)
    };
    if future {
        format!("in {s}")
    } else {
        format!("{s} ago")
    }
}

/// `350 ms`, `1.2 s`, `3.5 min`.
pub fn duration(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{:.1} min", ms as f64 / 60_000.0)
    } else {
        format!("{:.1} h", ms as f64 / 3_600_000.0)
    }
}

/// `42 %` of a ratio in 0..1.
pub fn pct(ratio: f64) -> String {
    if ratio > 0.0 && ratio < 0.01 {
        "<1 %".into()
    } else {
        format!("{:.0} %", ratio * 100.0)
    }
}

/// At most `n` characters, with an ellipsis when cut.
pub fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(money(1234.567), "$1,234.57");
        assert_eq!(money(0.01234), "$0.0123");
        assert_eq!(money(0.0), "$0");
        assert_eq!(tokens(1_234_567), "1.23M");
        assert_eq!(tokens(34_500), "34.5k");
        assert_eq!(tokens(999), "999");
        assert_eq!(ago(0, 125_000), "2 min ago");
        assert_eq!(ago(10_000, 0), "in 10 s");
        assert_eq!(duration(350), "350 ms");
        assert_eq!(duration(1500), "1.5 s");
        assert_eq!(clip("héllo wörld", 5), "héllo…");
        assert_eq!(clip("abc", 5), "abc");
    }
}
