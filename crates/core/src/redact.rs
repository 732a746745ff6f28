//! Masking secrets (API keys, bearer tokens, private keys) before text is shown or exported.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

fn patterns() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r"(?x)",
            r"(?P<keep>(?i:bearer|token|api[_-]?key|secret|password|authorization)[\x22']?\s*[:=]\s*[\x22']?|(?i:bearer)\s+)(?P<val>[A-Za-z0-9._~+/=\-]{8,})",
            r"|sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}",
            r"|gh[pousr]_[A-Za-z0-9]{20,}",
            r"|xox[abprs]-[A-Za-z0-9\-]{10,}",
            r"|AKIA[0-9A-Z]{16}",
            r"|AIza[0-9A-Za-z_\-]{30,}",
            r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
        ))
        .unwrap_or_else(|_| Regex::new("$^").unwrap_or_else(|_| unreachable!()))
    })
}

/// Whether a presented token equals the configured one, in time that does not depend
/// on where they differ.
pub fn same_secret(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Replace secrets in `text` with a masked form that keeps a 4-character hint.
pub fn mask(text: &str) -> Cow<'_, str> {
    patterns().replace_all(text, |c: &regex::Captures<'_>| {
        if let (Some(keep), Some(val)) = (c.name("keep"), c.name("val")) {
            format!("{}{}", keep.as_str(), hint(val.as_str()))
        } else {
            hint(c.get(0).map(|m| m.as_str()).unwrap_or(""))
        }
    })
}

fn hint(secret: &str) -> String {
    let head: String = secret.chars().take(4).collect();
    format!("{head}…[masked]")
}

/// Mask secrets in every free-text field of an event (text, thinking, tool
/// arguments and results, error message, attributes).
pub fn mask_event(ev: &mut crate::model::Event) {
    fn m(s: &mut Option<String>) {
        if let Some(v) = s.as_mut() {
            if let Cow::Owned(masked) = mask(v) {
                *v = masked;
            }
        }
    }
    m(&mut ev.text);
    m(&mut ev.thinking);
    m(&mut ev.attrs);
    if let Some(t) = ev.tool.as_mut() {
        m(&mut t.arguments);
        m(&mut t.result);
    }
    if let Some(e) = ev.error.as_mut() {
        m(&mut e.message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_common_secrets() {
        let t = mask(
            "key sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAA and Authorization: Bearer abcdefghijklmnop",
        );
        assert!(!t.contains("AAAAAAAAAAAAAAAA"), "{t}");
        assert!(!t.contains("abcdefghijklmnop"), "{t}");
        assert!(t.contains("sk-a…[masked]"));
        let t = mask(r#"{"apiKey": "mock-local-123456789"}"#);
        assert!(!t.contains("mock-local-123456789"), "{t}");
        assert_eq!(mask("nothing secret here"), "nothing secret here");
        assert!(mask("ghp_abcdefghijklmnopqrstuvwxyz123456").contains("[masked]"));
    }
}
