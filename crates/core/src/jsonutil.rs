//! Lenient JSON field helpers shared by the parsers.

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// A token count that tolerates `null`, floats and negative numbers (read as 0).
pub fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(lenient_opt_u64(d)?.unwrap_or(0))
}

/// Like [`lenient_u64`] but keeps "absent or null" apart from zero.
pub fn lenient_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let n: Option<serde_json::Number> = Option::deserialize(d)?;
    Ok(n.map(|n| {
        if let Some(u) = n.as_u64() {
            u
        } else if let Some(f) = n.as_f64() {
            if f.is_finite() && f > 0.0 {
                f as u64
            } else {
                0
            }
        } else {
            0
        }
    }))
}

/// A field that may be absent, present as `null`, or present with a value.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Nullable<T> {
    /// The key is not in the object.
    #[default]
    Absent,
    /// The key is there with JSON `null`.
    Null,
    /// The key has a value.
    Value(T),
}

impl<T> Nullable<T> {
    /// True for an explicit `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Nullable::Null)
    }

    /// The value, if any.
    pub fn value(&self) -> Option<&T> {
        match self {
            Nullable::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Nullable<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            Some(v) => Nullable::Value(v),
            None => Nullable::Null,
        })
    }
}

/// Parse a timestamp given as an ISO-8601 string or epoch milliseconds (number or numeric string).
pub fn timestamp_ms(raw: &RawValue) -> Option<i64> {
    let s = raw.get().trim();
    if let Some(inner) = s.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
        return iso_ms(inner).or_else(|| inner.parse::<f64>().ok().map(|f| f as i64));
    }
    s.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(|f| f as i64)
}

/// Parse an RFC 3339 timestamp into epoch milliseconds.
pub fn iso_ms(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_millis())
}

/// Cut text to at most `max` bytes on a char boundary, marking the cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} bytes more]", &text[..end], text.len() - end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "lenient_u64")]
        n: u64,
        #[serde(default)]
        m: Nullable<String>,
    }

    #[test]
    fn lenient_numbers_and_nulls() {
        let t: T = serde_json::from_str(r#"{"n":12.7,"m":null}"#).unwrap();
        assert_eq!(t.n, 12);
        assert!(t.m.is_null());
        let t: T = serde_json::from_str(r#"{"n":null}"#).unwrap();
        assert_eq!(t.n, 0);
        assert_eq!(t.m, Nullable::Absent);
        let t: T = serde_json::from_str(r#"{"n":-5,"m":"x"}"#).unwrap();
        assert_eq!(t.n, 0);
        assert_eq!(t.m.value().map(String::as_str), Some("x"));
    }

    #[test]
    fn timestamps() {
        let raw = RawValue::from_string("\"2026-11-21T16:10:28.871Z\"".into()).unwrap();
        assert_eq!(timestamp_ms(&raw), Some(1_795_277_428_871));
        let raw = RawValue::from_string("1795277419788".into()).unwrap();
        assert_eq!(timestamp_ms(&raw), Some(1_795_277_419_788));
        let raw = RawValue::from_string("\"yesterday\"".into()).unwrap();
        assert_eq!(timestamp_ms(&raw), None);
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        let s = "héllo wörld";
        let t = truncate(s, 2);
        assert!(t.starts_with('h'));
        assert!(t.contains("bytes more"));
        assert_eq!(truncate("short", 10), "short");
    }
}
