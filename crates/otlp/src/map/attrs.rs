//! Attribute access and conversion of OTLP values to JSON.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use serde_json::Value;

/// Counts (tokens, exit codes) at or above this are refused as implausible.
pub const MAX_COUNT: u64 = 1 << 50;

/// Nesting deeper than this is cut (hostile payloads cannot blow the stack).
const MAX_DEPTH: usize = 16;

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// A hex id of exactly `len` bytes that is not all zeros.
pub fn valid_id(bytes: &[u8], len: usize) -> Option<String> {
    (bytes.len() == len && bytes.iter().any(|b| *b != 0)).then(|| hex(bytes))
}

/// An OTLP value as JSON.
pub fn to_json(v: Option<&AnyValue>) -> Value {
    to_json_at(v, 0)
}

fn to_json_at(v: Option<&AnyValue>, depth: usize) -> Value {
    let Some(inner) = v.and_then(|v| v.value.as_ref()) else {
        return Value::Null;
    };
    if depth >= MAX_DEPTH {
        return Value::String("…".into());
    }
    match inner {
        Any::StringValue(s) => Value::String(s.clone()),
        Any::BoolValue(b) => Value::Bool(*b),
        Any::IntValue(i) => Value::from(*i),
        Any::DoubleValue(d) => serde_json::Number::from_f64(*d)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Any::BytesValue(b) => Value::String(hex(b)),
        Any::ArrayValue(a) => Value::Array(
            a.values
                .iter()
                .map(|x| to_json_at(Some(x), depth + 1))
                .collect(),
        ),
        Any::KvlistValue(kv) => Value::Object(
            kv.values
                .iter()
                .map(|x| (x.key.clone(), to_json_at(x.value.as_ref(), depth + 1)))
                .collect(),
        ),
        // Opaque references into a profile dictionary.
        Any::StringValueStrindex(i) => Value::from(*i),
    }
}

/// Attributes as a JSON object with sorted keys (stable: series identities use it).
pub fn object(kvs: &[KeyValue]) -> String {
    let map: BTreeMap<&str, Value> = kvs
        .iter()
        .map(|kv| (kv.key.as_str(), to_json(kv.value.as_ref())))
        .collect();
    serde_json::to_string(&map).unwrap_or_else(|_| "{}".into())
}

/// Typed lookups over one attribute list.
#[derive(Clone, Copy)]
pub struct Attrs<'a>(pub &'a [KeyValue]);

impl<'a> Attrs<'a> {
    fn raw(&self, key: &str) -> Option<&'a Any> {
        self.0
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| v.value.as_ref())
    }

    /// The first of `keys` present as a non-empty string (numbers are formatted).
    pub fn str(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|k| match self.raw(k)? {
            Any::StringValue(s) if !s.trim().is_empty() => Some(s.clone()),
            Any::IntValue(i) => Some(i.to_string()),
            Any::ArrayValue(a) => a.values.first().and_then(|v| match &v.value {
                Some(Any::StringValue(s)) => Some(s.clone()),
                _ => None,
            }),
            _ => None,
        })
    }

    /// The first of `keys` present as a number (strings holding numbers count).
    pub fn f64(&self, keys: &[&str]) -> Option<f64> {
        keys.iter().find_map(|k| match self.raw(k)? {
            Any::IntValue(i) => Some(*i as f64),
            Any::DoubleValue(d) if d.is_finite() => Some(*d),
            Any::StringValue(s) => s.trim().parse::<f64>().ok().filter(|d| d.is_finite()),
            _ => None,
        })
    }

    /// The first of `keys` present as a plausible count: non-negative and below
    /// [`MAX_COUNT`] (larger values are garbage, not usage, and would not survive storage).
    pub fn count(&self, keys: &[&str]) -> Option<u64> {
        self.f64(keys)
            .filter(|v| (0.0..MAX_COUNT as f64).contains(v))
            .map(|v| v as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: Any) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        }
    }

    #[test]
    fn lookups_take_the_first_present_key_and_coerce_numbers() {
        let kvs = vec![
            kv("a", Any::StringValue("".into())),
            kv("b", Any::StringValue("x".into())),
            kv("n", Any::StringValue("12".into())),
            kv("d", Any::DoubleValue(f64::NAN)),
        ];
        let a = Attrs(&kvs);
        assert_eq!(a.str(&["a", "b"]).as_deref(), Some("x"));
        assert_eq!(a.count(&["d", "n"]), Some(12));
        assert_eq!(a.f64(&["missing"]), None);
        let huge = vec![kv("t", Any::DoubleValue(1e300)), kv("n", Any::IntValue(-3))];
        assert_eq!(Attrs(&huge).count(&["t"]), None);
        assert_eq!(Attrs(&huge).count(&["n"]), None);
    }

    #[test]
    fn objects_are_sorted_and_ids_checked() {
        let kvs = vec![kv("z", Any::IntValue(1)), kv("a", Any::BoolValue(true))];
        assert_eq!(object(&kvs), r#"{"a":true,"z":1}"#);
        assert_eq!(valid_id(&[0; 8], 8), None);
        assert_eq!(valid_id(&[1, 2], 8), None);
        assert_eq!(
            valid_id(&[0, 0, 0, 0, 0, 0, 0, 0xab], 8).as_deref(),
            Some("00000000000000ab")
        );
    }

    #[test]
    fn deep_values_are_cut() {
        let mut v = AnyValue {
            value: Some(Any::StringValue("leaf".into())),
        };
        for _ in 0..40 {
            v = AnyValue {
                value: Some(Any::ArrayValue(
                    opentelemetry_proto::tonic::common::v1::ArrayValue { values: vec![v] },
                )),
            };
        }
        let s = to_json(Some(&v)).to_string();
        assert!(s.contains('…') && !s.contains("leaf"));
    }
}
