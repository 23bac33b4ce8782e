//! Text normalisation for SEARCH string matching.
//!
//! Dovecot compares with its i;unicode-casemap comparator: every character is
//! mapped to its (simple) titlecase and canonically decomposed, then the key
//! is searched as a substring. Observed against Dovecot 2.3:
//! "RÉSUMÉ" finds "Résumé", "café" finds a decomposed "cafe\u{301}", but
//! "resume" does not find "Résumé" (combining marks are kept, not
//! stripped), "grüsse" does not find "Grüße" (no full case folding), and
//! "file" does not find "ﬁle" (no compatibility decomposition).
//!
//! We canonically decompose (NFD) and then map each character to its simple
//! uppercase, which puts characters in the same classes as simple titlecase
//! (`ǅ`/`ǆ`/`Ǆ`, `ς`/`σ`/`Σ`, `ı`/`i`/`I` all meet). Characters whose
//! uppercase is more than one character (`ß`, `ﬁ`) stay as they are, as in
//! Dovecot. Whitespace is not collapsed here (only SUBJECT does that, on the
//! message side; see [`compress_lwsp`]).

use unicode_normalization::UnicodeNormalization;

/// The normalised form used on both sides of a comparison.
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_uppercase();
    }
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.nfd() {
        let mut up = c.to_uppercase();
        match (up.next(), up.next()) {
            (Some(u), None) => out.push(u),
            _ => out.push(c),
        }
    }
    out
}

/// True if `folded_key` (already [`fold`]ed) occurs in `text`.
pub fn contains_folded(text: &str, folded_key: &str) -> bool {
    if folded_key.is_empty() {
        return true;
    }
    let hay = fold(text);
    memchr::memmem::find(hay.as_bytes(), folded_key.as_bytes()).is_some()
}

/// Collapses every run of whitespace (space, tab, CR, LF) into one space and
/// drops leading whitespace, as
/// Dovecot does to the Subject field before matching SUBJECT (the key is
/// left alone: `SUBJECT "a  b"` never matches).
pub fn compress_lwsp(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    // Leading whitespace goes entirely (`SUBJECT " two"` does not match
    // `Subject:  two`).
    let mut in_ws = true;
    for c in s.chars() {
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            if !in_ws {
                out.push(' ');
            }
            in_ws = true;
        } else {
            out.push(c);
            in_ws = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(text: &str, key: &str) -> bool {
        contains_folded(text, &fold(key))
    }

    #[test]
    fn case_insensitive_non_ascii() {
        assert!(m("Résumé attached", "RÉSUMÉ"));
        assert!(m("RÉSUMÉ", "résumé"));
        assert!(m("Café crème", "CAFÉ CRÈME"));
        assert!(m("Grüße aus Köln", "KÖLN"));
        assert!(m("ΣΟΦΙΑ", "σοφια"));
        assert!(m("λόγος", "ΛΌΓΟΣ"));
        assert!(
            m("λόγος", "λόγοσ"),
            "final sigma meets sigma, as under titlecase"
        );
    }

    #[test]
    fn composition_does_not_matter() {
        assert!(m("cafe\u{301}", "café"));
        assert!(m("café", "CAFE\u{301}"));
        // The base letter alone is a prefix of the decomposed form.
        assert!(m("café", "cafe"));
    }

    #[test]
    fn no_accent_stripping_or_full_folding() {
        assert!(!m("Résumé", "resume"));
        assert!(!m("Grüße", "grüsse"));
        assert!(m("Straße", "STRAßE"));
        assert!(!m("ﬁle", "file"));
        assert!(m("ﬁle", "ﬁle"));
        assert!(!m("cafe\u{301} x", "e x"));
    }

    #[test]
    fn ascii_and_empty() {
        assert!(m("Hello World", "o w"));
        assert!(!m("Hello  World", "o w"));
        assert!(m("anything", ""));
        assert!(m("", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn compresses_whitespace_runs() {
        assert_eq!(
            compress_lwsp("Hello   World\r\n\tfolded"),
            "Hello World folded"
        );
        assert_eq!(compress_lwsp("tab\there"), "tab here");
        assert_eq!(compress_lwsp("x"), "x");
        assert_eq!(compress_lwsp("  two  "), "two ");
    }
}
