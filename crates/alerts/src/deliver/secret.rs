//! `Secret`: a string that never shows itself in `Debug` or `Display` output.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A configured secret (token, key, password, or a URL that embeds one). `Debug`
/// prints `***`; read the value with [`Secret::expose`] only where it is sent.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is empty or only whitespace.
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Replace every occurrence of each non-trivial secret in `text` with `***`: error
/// texts pass through here so a receiver that echoes a token cannot leak it.
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut sorted: Vec<&str> = secrets.to_vec();
    // Longest first, so a URL is replaced whole before its parts.
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for s in sorted {
        // Very short values would blank out ordinary words; they are not secrets anyway.
        if s.len() >= 4 {
            out = out.replace(s, "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_and_scrub_replaces() {
        let s = Secret::new("hunter2-token");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(s.expose(), "hunter2-token");
        assert_eq!(
            scrub("bad token hunter2-token here", &["hunter2-token", "ab"]),
            "bad token *** here"
        );
    }
}
