//! Header text as Dovecot's SEARCH sees it: fields of the top-level header
//! for SUBJECT/HEADER/FROM/..., and every header block of the message (the
//! top level, each MIME part's header, each attached message's header) for
//! TEXT.
//!
//! Kept here rather than using `Message::header_values`/`header_text`
//! because SEARCH needs Dovecot's exact view, checked against Dovecot 2.3:
//! - unfolding replaces the line break *and the first whitespace character*
//!   of the continuation line by one space (`a\r\n\t\tb` is `a \tb`, not
//!   `a\t\tb`); other whitespace is kept as is;
//! - TEXT searches the header blocks of all parts, not only the top one
//!   (`TEXT "Content-Type: text/plain"` finds a multipart message whose
//!   first part is text/plain, and headers of an attached message match),
//!   as `Name: value` lines; preamble, epilogue and boundaries are not
//!   searched.
//!
//! RFC 2047 decoding is the mime module's.

use crate::mime::decode::decode_2047;
use crate::mime::header_end;

/// Nesting and part-count limits, as the mime parser's (Dovecot's) limits.
const MAX_DEPTH: usize = 100;
const MAX_PARTS: usize = 10_000;

/// One header field, unfolded, not decoded.
pub struct Field<'a> {
    /// The name without trailing whitespace.
    pub name: &'a [u8],
    /// The line up to the colon as written (`X-C ` in `X-C : v`).
    pub raw_name: &'a [u8],
    /// Everything after the colon, leading whitespace included.
    pub raw_value: Vec<u8>,
}

impl Field<'_> {
    /// The value as HEADER/SUBJECT see it: one leading space or tab after
    /// the colon is not part of it (Dovecot: `X-B:    many` matches
    /// `" many"`, `X-D: v` does not match `" v"`).
    pub fn value(&self) -> &[u8] {
        match self.raw_value.split_first() {
            Some((b' ' | b'\t', rest)) => rest,
            _ => &self.raw_value,
        }
    }
}

/// The fields of the header block at the start of `data` (up to the first
/// empty line).
pub fn fields(data: &[u8]) -> Vec<Field<'_>> {
    let mut out: Vec<Field<'_>> = Vec::new();
    // Whether the last line started a field (continuations attach to it).
    let mut open = false;
    let mut pos = 0usize;
    while pos < data.len() {
        let rest = data.get(pos..).unwrap_or_default();
        let end = memchr::memchr(b'\n', rest).map_or(data.len(), |i| pos + i);
        let mut line = data.get(pos..end).unwrap_or_default();
        pos = end.saturating_add(1);
        if let Some(stripped) = line.strip_suffix(b"\r") {
            line = stripped;
        }
        if line.is_empty() {
            break;
        }
        match line.split_first() {
            Some((b' ' | b'\t', rest)) => {
                if open {
                    if let Some(last) = out.last_mut() {
                        last.raw_value.push(b' ');
                        last.raw_value.extend_from_slice(rest);
                    }
                }
            }
            _ => {
                open = false;
                if let Some(colon) = memchr::memchr(b':', line) {
                    let raw_name = line.get(..colon).unwrap_or_default();
                    out.push(Field {
                        name: trim_end(raw_name),
                        raw_name,
                        raw_value: line.get(colon + 1..).unwrap_or_default().to_vec(),
                    });
                    open = true;
                }
            }
        }
    }
    out
}

fn trim_end(s: &[u8]) -> &[u8] {
    let mut e = s.len();
    while e > 0 && matches!(s.get(e - 1), Some(b' ' | b'\t')) {
        e -= 1;
    }
    s.get(..e).unwrap_or(s)
}

/// Unfolded raw values of the top-level fields called `name`.
pub fn raw_values(msg: &[u8], name: &str) -> Vec<Vec<u8>> {
    fields(msg)
        .into_iter()
        .filter(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
        .map(|f| f.value().to_vec())
        .collect()
}

/// Decoded values of the top-level fields called `name`.
pub fn values(msg: &[u8], name: &str) -> Vec<String> {
    raw_values(msg, name)
        .iter()
        .map(|v| decode_2047(v))
        .collect()
}

/// Every header block of the message as decoded `Name: value` lines.
pub fn all_header_text(msg: &[u8]) -> String {
    let mut out = String::new();
    let mut budget = MAX_PARTS;
    walk(msg, false, 0, &mut budget, &mut out);
    out
}

/// Appends the header of the entity `data` and of everything inside it.
/// `digest_child`: the entity's default type is message/rfc822.
fn walk(data: &[u8], digest_child: bool, depth: usize, budget: &mut usize, out: &mut String) {
    if depth > MAX_DEPTH || *budget == 0 {
        return;
    }
    *budget -= 1;
    let hend = header_end(data).min(data.len());
    let (hdr, body) = data.split_at(hend);
    let mut ctype: Option<Vec<u8>> = None;
    for f in fields(hdr) {
        // As written: `Name:value`, `X-C :  v` (Dovecot's TEXT does not
        // match `"Subject: x"` in `Subject:x`).
        out.push_str(&String::from_utf8_lossy(f.raw_name));
        out.push(':');
        out.push_str(&decode_2047(&f.raw_value));
        out.push('\n');
        if ctype.is_none() && f.name.eq_ignore_ascii_case(b"content-type") {
            ctype = Some(f.value().to_vec());
        }
    }
    let (mime_type, boundary) = match &ctype {
        Some(v) => content_type(v),
        None => (Vec::new(), None),
    };
    let is = |t: &[u8]| mime_type.eq_ignore_ascii_case(t);
    if mime_type.starts_with(b"multipart/") {
        if let Some(b) = boundary {
            let digest = is(b"multipart/digest");
            for part in split_multipart(body, &b) {
                walk(part, digest, depth + 1, budget, out);
            }
        }
    } else if is(b"message/rfc822") || (mime_type.is_empty() && digest_child) {
        walk(body, false, depth + 1, budget, out);
    }
}

/// Lowercased `type/subtype` and the boundary parameter of a Content-Type.
fn content_type(v: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut parts = v.split(|&c| c == b';');
    let t: Vec<u8> = parts
        .next()
        .unwrap_or_default()
        .iter()
        .filter(|c| !c.is_ascii_whitespace())
        .map(u8::to_ascii_lowercase)
        .collect();
    // Parameters may hold quoted ';', so scan the remainder by hand.
    let rest = v.get(v.iter().position(|&c| c == b';').map_or(v.len(), |p| p + 1)..);
    let boundary = rest.and_then(|r| param(r, b"boundary"));
    (t, boundary)
}

/// The value of parameter `want` in `;`-separated `name=value` pairs.
fn param(mut s: &[u8], want: &[u8]) -> Option<Vec<u8>> {
    loop {
        let eq = memchr::memchr(b'=', s)?;
        let name = s.get(..eq).unwrap_or_default().trim_ascii();
        let name = name
            .rsplit(|&c| c == b';')
            .next()
            .unwrap_or(name)
            .trim_ascii();
        let after = s.get(eq + 1..).unwrap_or_default().trim_ascii_start();
        let (value, rest): (Vec<u8>, &[u8]) = if let Some(q) = after.strip_prefix(b"\"") {
            let mut v = Vec::new();
            let mut i = 0;
            while let Some(&c) = q.get(i) {
                i += 1;
                match c {
                    b'"' => break,
                    b'\\' => {
                        if let Some(&n) = q.get(i) {
                            v.push(n);
                            i += 1;
                        }
                    }
                    _ => v.push(c),
                }
            }
            (v, q.get(i..).unwrap_or_default())
        } else {
            let end = after
                .iter()
                .position(|&c| c == b';' || c.is_ascii_whitespace())
                .unwrap_or(after.len());
            (
                after.get(..end).unwrap_or_default().to_vec(),
                after.get(end..).unwrap_or_default(),
            )
        };
        if name.eq_ignore_ascii_case(want) {
            return Some(value);
        }
        s = rest;
    }
}

/// The parts of a multipart body: what lies between `--boundary` lines,
/// up to `--boundary--`; preamble and epilogue are dropped.
fn split_multipart<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut delim = Vec::with_capacity(boundary.len() + 2);
    delim.extend_from_slice(b"--");
    delim.extend_from_slice(boundary);
    let mut parts = Vec::new();
    // Start of the current part, once the first delimiter was seen.
    let mut start: Option<usize> = None;
    let mut pos = 0usize;
    while pos < body.len() {
        let rest = body.get(pos..).unwrap_or_default();
        let end = memchr::memchr(b'\n', rest).map_or(body.len(), |i| pos + i + 1);
        let line = body.get(pos..end).unwrap_or_default();
        if line.starts_with(&delim) {
            if let Some(s) = start {
                parts.push(body.get(s..pos).unwrap_or_default());
            }
            if line
                .get(delim.len()..)
                .is_some_and(|t| t.starts_with(b"--"))
            {
                return parts;
            }
            start = Some(end);
        }
        pos = end;
    }
    if let Some(s) = start {
        parts.push(body.get(s..).unwrap_or_default());
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfolds_like_dovecot() {
        let raw = b"X-T: a\r\n\t\tb\r\nX-U: c \r\n  d\r\nx-t: e\r\n\tf\r\n\r\nX-T: body\r\n";
        assert_eq!(
            raw_values(raw, "x-t"),
            vec![b"a \tb".to_vec(), b"e f".to_vec()]
        );
        assert_eq!(raw_values(raw, "X-U"), vec![b"c   d".to_vec()]);
        assert!(raw_values(raw, "cc").is_empty());
    }

    #[test]
    fn decodes_values() {
        let raw = b"Subject: =?utf-8?B?w5xiZXI=?= =?utf-8?B?IGFsbGVz?=\r\nX-E:\r\n\r\n";
        assert_eq!(values(raw, "subject"), vec!["Über alles".to_string()]);
        assert_eq!(values(raw, "X-E"), vec![String::new()]);
        let raw = b"X-B:    many\r\nX-E:\tw\r\nX-C :  v\r\nSubject:x\r\n\r\n";
        assert_eq!(values(raw, "x-b"), vec!["   many".to_string()]);
        assert_eq!(values(raw, "x-e"), vec!["w".to_string()]);
        assert_eq!(values(raw, "x-c"), vec![" v".to_string()]);
        assert_eq!(
            all_header_text(raw),
            "X-B:    many\nX-E:\tw\nX-C :  v\nSubject:x\n"
        );
    }

    #[test]
    fn all_headers_of_all_parts() {
        let raw = b"Subject: top\r\nContent-Type: multipart/mixed; boundary=\"X;Y\"\r\n\r\n\
            preamble\r\n--X;Y\r\nContent-Type: text/plain\r\n\r\nbody\r\n\
            --X;Y\r\nContent-Type: message/rfc822\r\n\r\nFrom: inner@x\r\n\r\ninner\r\n\
            --X;Y\r\nContent-Type: multipart/digest; boundary=D\r\n\r\n--D\r\n\r\nSubject: digested\r\n\r\nd\r\n--D--\r\n\
            --X;Y--\r\nX-Epilogue: no\r\n";
        let t = all_header_text(raw);
        assert!(t.contains("Subject: top\n"));
        assert!(t.contains("Content-Type: text/plain\n"));
        assert!(t.contains("From: inner@x\n"));
        assert!(t.contains("Subject: digested\n"));
        assert!(!t.contains("preamble"));
        assert!(!t.contains("Epilogue"));
        assert!(!t.contains("body"));
    }

    #[test]
    fn survives_deep_nesting() {
        let mut raw = Vec::new();
        for _ in 0..5000 {
            raw.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        let t = all_header_text(&raw);
        assert_eq!(t.matches("Content-Type").count(), MAX_DEPTH + 1);
    }
}
