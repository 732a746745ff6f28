//! Search-result excerpts: a short piece of a message around the words searched for,
//! with secrets masked before anything is cut, so no part of one can show.

use crate::redact::mask;

/// Up to `width` characters of `text` around the first of `words` it contains (ASCII
/// case ignored), each occurrence in `[` `]`, runs of whitespace as one space, `…` where
/// it was cut. Secrets are masked in the whole text first: a word found only inside a
/// secret is not found, and the excerpt starts at the beginning.
pub fn masked_excerpt(text: &str, words: &[&str], width: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let masked = mask(&flat);
    let masked = masked.as_ref();
    let first = words.iter().filter_map(|w| find_word(masked, w, 0)).min();
    // Start a third of the width before the first match, on a character boundary.
    let start = first.map_or(0, |at| {
        masked[..at]
            .char_indices()
            .rev()
            .take(width / 3)
            .last()
            .map_or(at, |(i, _)| i)
    });
    let end = masked[start..]
        .char_indices()
        .nth(width)
        .map_or(masked.len(), |(i, _)| start + i);
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.push_str(&bracketed(&masked[start..end], words));
    if end < masked.len() {
        out.push('…');
    }
    out
}

/// `s` with every occurrence of a non-empty word in brackets, left to right.
fn bracketed(s: &str, words: &[&str]) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut at = 0;
    while at < s.len() {
        let next = words
            .iter()
            .filter(|w| !w.is_empty())
            .filter_map(|w| find_word(s, w, at).map(|i| (i, w.len())))
            .min();
        let Some((i, len)) = next else { break };
        out.push_str(&s[at..i]);
        out.push('[');
        out.push_str(&s[i..i + len]);
        out.push(']');
        at = i + len;
    }
    out.push_str(&s[at..]);
    out
}

/// Byte offset of the first `word` in `s` at or after `from` that stands as a word of
/// its own (as the text index matches it: no letter or digit joined on either side),
/// ASCII case ignored. Only ASCII letters fold, so a match starts and ends on character
/// boundaries.
fn find_word(s: &str, word: &str, from: usize) -> Option<usize> {
    let (hay, needle) = (s.as_bytes(), word.as_bytes());
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let joined = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    let (first, last) = (needle[0], needle[needle.len() - 1]);
    (from..=hay.len() - needle.len()).find(|&i| {
        let end = i + needle.len();
        hay[i..end].eq_ignore_ascii_case(needle)
            && !(first.is_ascii_alphanumeric() && joined(s[..i].chars().next_back()))
            && !(last.is_ascii_alphanumeric() && joined(s[end..].chars().next()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_words_around_the_first_match_and_cuts_with_ellipses() {
        let text = format!(
            "{} deploy to Staging now\n\n then {}",
            "a ".repeat(100),
            "b ".repeat(100)
        );
        let e = masked_excerpt(&text, &["staging", "deploy"], 40);
        assert!(e.starts_with('…') && e.ends_with('…'), "{e}");
        assert!(e.contains("[deploy] to [Staging] now then"), "{e}");
        assert_eq!(e.chars().filter(|c| *c != '…').count(), 40 + 4);
    }

    #[test]
    fn a_secret_never_shows_even_when_searched_for() {
        let key = "sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let text = format!("here is the key {key} for staging");
        for words in [&["staging"][..], &["AAAAAAAA"], &["api03"]] {
            let e = masked_excerpt(&text, words, 30);
            assert!(!e.contains("AAAA"), "{words:?}: {e}");
            assert!(!e.contains("api03"), "{words:?}: {e}");
        }
        // searched for inside the secret only: nothing found, the excerpt starts at the top
        assert!(masked_excerpt(&text, &["AAAAAAAA"], 30).starts_with("here is"));
    }

    #[test]
    fn multibyte_text_is_cut_on_character_boundaries() {
        let text = "ééééé ü ñ Grüße aus München, ßßßß".repeat(20);
        for width in [1, 7, 13, 50] {
            let e = masked_excerpt(&text, &["aus", "ü"], width);
            assert!(e.contains("[aus]") || e.contains("[ü]"), "{e}");
        }
        assert_eq!(masked_excerpt("", &["x"], 10), "");
        assert_eq!(masked_excerpt("no match", &[""], 10), "no match");
        // whole words only, as the index matches them
        assert_eq!(
            masked_excerpt("other: the Theme, the", &["the"], 40),
            "other: [the] Theme, [the]"
        );
    }
}
