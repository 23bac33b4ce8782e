//! Raw top-level header access and RFC 2047 encoded-word decoding, used by
//! the address keys (FROM/TO/CC/BCC).
//!
//! Address matching must parse the *raw* field (a decoded display name may
//! contain commas or quotes that would break the address syntax) and decode
//! encoded words only after the addresses have been rewritten, as Dovecot
//! does. The decoder is lenient like Dovecot's: an encoded word is recognised
//! anywhere, whitespace between two adjacent encoded words is dropped, and an
//! unknown charset or broken encoding leaves the word as it was.

use base64::Engine;

/// Unfolded raw values (as bytes, CRLF removed) of every top-level header
/// field called `name` (case-insensitive).
pub fn raw_header_values(raw: &[u8], name: &str) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    // Whether the field being continued is one we collect.
    let mut collecting = false;
    let mut pos = 0usize;
    while pos < raw.len() {
        let end = memchr::memchr(b'\n', &raw[pos..]).map_or(raw.len(), |i| pos + i);
        let mut line = &raw[pos..end];
        pos = end.saturating_add(1);
        if let Some(stripped) = line.strip_suffix(b"\r") {
            line = stripped;
        }
        if line.is_empty() {
            break; // end of the header block
        }
        match line.first() {
            Some(b' ') | Some(b'\t') => {
                if collecting {
                    if let Some(last) = out.last_mut() {
                        last.extend_from_slice(line);
                    }
                }
            }
            _ => {
                collecting = false;
                if let Some(colon) = memchr::memchr(b':', line) {
                    let field = trim_ascii_end(&line[..colon]);
                    if field.eq_ignore_ascii_case(name.as_bytes()) {
                        collecting = true;
                        out.push(line[colon + 1..].to_vec());
                    }
                }
            }
        }
    }
    out
}

fn trim_ascii_end(s: &[u8]) -> &[u8] {
    let mut e = s.len();
    while e > 0 && matches!(s.get(e - 1), Some(b' ') | Some(b'\t')) {
        e -= 1;
    }
    s.get(..e).unwrap_or(s)
}

/// Decodes every RFC 2047 encoded word in `s`.
pub fn decode(s: &str) -> String {
    if !s.contains("=?") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    // Whitespace between two encoded words is dropped (RFC 2047 §6.2).
    let mut after_word = false;
    while !rest.is_empty() {
        if let Some(start) = rest.find("=?") {
            let (before, at) = rest.split_at(start);
            if let Some((decoded, used)) = decode_word(at) {
                let ws_only = before.chars().all(|c| c == ' ' || c == '\t');
                if !(after_word && ws_only) {
                    out.push_str(before);
                }
                out.push_str(&decoded);
                rest = &at[used..];
                after_word = true;
                continue;
            }
            // Not an encoded word: keep "=?" literally and go on after it.
            out.push_str(before);
            out.push_str("=?");
            rest = &at[2..];
            after_word = false;
        } else {
            out.push_str(rest);
            rest = "";
        }
    }
    out
}

/// Decodes one encoded word at the start of `s`; returns the text and the
/// number of bytes consumed.
fn decode_word(s: &str) -> Option<(String, usize)> {
    let body = s.strip_prefix("=?")?;
    let q1 = body.find('?')?;
    let charset = &body[..q1];
    let after_cs = &body[q1 + 1..];
    let mut chars = after_cs.chars();
    let enc = chars.next()?;
    if chars.next()? != '?' {
        return None;
    }
    let text_all = &after_cs[2..];
    let end = text_all.find("?=")?;
    let text = &text_all[..end];
    if charset.is_empty() || text.contains([' ', '\t', '\r', '\n']) {
        return None;
    }
    let bytes = match enc {
        'B' | 'b' => {
            let cleaned: String = text.chars().filter(|&c| c != '=').collect();
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(cleaned.as_bytes())
                .ok()?
        }
        'Q' | 'q' => decode_q(text.as_bytes()),
        _ => return None,
    };
    // RFC 2231 language suffix: "utf-8*en".
    let charset = charset.split('*').next().unwrap_or(charset);
    let decoded = to_utf8(charset, &bytes)?;
    let used = 2 + q1 + 1 + 2 + end + 2;
    Some((decoded, used))
}

fn decode_q(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        match b {
            b'_' => out.push(b' '),
            b'=' => {
                let hex = text.get(i + 1..i + 3).and_then(|h| {
                    std::str::from_utf8(h)
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                });
                if let Some(v) = hex {
                    out.push(v);
                    i += 3;
                    continue;
                }
                out.push(b'=');
            }
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

/// Converts `bytes` in `charset` to UTF-8; None for an unknown charset.
pub fn to_utf8(charset: &str, bytes: &[u8]) -> Option<String> {
    let label = charset.trim();
    if label.eq_ignore_ascii_case("utf-8") || label.eq_ignore_ascii_case("us-ascii") {
        return Some(String::from_utf8_lossy(bytes).into_owned());
    }
    let enc = encoding_rs::Encoding::for_label(label.as_bytes())?;
    let (text, _, _) = enc.decode(bytes);
    Some(text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_q_and_b_words() {
        assert_eq!(decode("=?ISO-8859-1?Q?Zo=EB?= Smith"), "Zoë Smith");
        assert_eq!(
            decode("=?utf-8?B?w5xiZXI=?= =?utf-8?B?IGFsbGVz?="),
            "Über alles"
        );
        assert_eq!(
            decode("=?UTF-8?Q?Doe=2C_John?= <j@x.org>"),
            "Doe, John <j@x.org>"
        );
        assert_eq!(decode("a =?utf-8?q?b?= c"), "a b c");
    }

    #[test]
    fn leaves_broken_words() {
        assert_eq!(decode("=?nope?Q?x?="), "=?nope?Q?x?=");
        assert_eq!(decode("=?utf-8?X?x?= y"), "=?utf-8?X?x?= y");
        assert_eq!(decode("price =? tbd"), "price =? tbd");
    }

    #[test]
    fn finds_raw_fields_unfolded() {
        let raw = b"From: a@b\r\nTo: x@y,\r\n z@w\r\nto: q@r\r\n\r\nTo: body@x\r\n";
        let v = raw_header_values(raw, "TO");
        assert_eq!(v, vec![b" x@y, z@w".to_vec(), b" q@r".to_vec()]);
        assert!(raw_header_values(raw, "cc").is_empty());
    }
}
