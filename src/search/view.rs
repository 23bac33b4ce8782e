//! The message as Dovecot's SEARCH sees it: fields of the top-level header
//! for SUBJECT/HEADER/FROM/..., and for BODY/TEXT the text of every part.
//!
//! Kept here rather than using `Message::header_values`/`header_text`/
//! `body_text` because SEARCH needs Dovecot's exact view, checked against
//! Dovecot 2.3:
//! - unfolding replaces the line break *and the first whitespace character*
//!   of the continuation line by one space (`a\r\n\t\tb` is `a \tb`, not
//!   `a\t\tb`); HEADER/SUBJECT drop one whitespace after the colon;
//! - TEXT searches the header blocks of all parts (the top level, each
//!   part's MIME header, each attached message's header) as written
//!   (`Subject:x` does not match `"Subject: x"`), decoded; preamble,
//!   epilogue and boundary lines are never searched;
//! - BODY searches text/* and message/* bodies (message/rfc822 is walked
//!   into instead), but not a `Content-Type: text` without subtype;
//! - boundaries are a stack searched innermost first, so a nested
//!   multipart reusing its parent's boundary takes the following parts, as
//!   in Dovecot's parser.
//!
//! - base64 stops at the first `=` or invalid character, and
//!   quoted-printable drops trailing whitespace of lines (Dovecot's
//!   decoders; the mime module's are more lenient); the last
//!   Content-Transfer-Encoding counts and an unknown one hides the body;
//! - with several Content-Type fields the first gives the structure and the
//!   charset, the last decides whether the body is text.
//!
//! RFC 2047 and charset decoding are the mime module's. Known difference:
//! an encoded word in an unknown charset is kept as lossy text; Dovecot
//! turns it into something no probe could match.

use crate::mime::decode::{decode_2047, to_utf8};

/// Nesting and part-count limits, as the mime parser's (Dovecot's) limits.
const MAX_DEPTH: usize = 100;
const MAX_PARTS: usize = 10_000;
const BOUNDARY_MAX: usize = 80;

/// One header field, unfolded, not decoded.
pub struct Field<'a> {
    /// The name without trailing whitespace.
    pub name: &'a [u8],
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
                    out.push(Field {
                        name: trim_end(line.get(..colon).unwrap_or_default()),
                        raw_value: line.get(colon + 1..).unwrap_or_default().to_vec(),
                    });
                    open = true;
                }
            }
        }
    }
    out
}

/// The header block at the start of `data` as logical lines: continuation
/// lines joined (their first whitespace becoming one space), lines without
/// a colon kept too, since Dovecot's TEXT searches them.
pub fn logical_lines(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
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
        match (line.split_first(), out.last_mut()) {
            (Some((b' ' | b'\t', rest)), Some(last)) => {
                last.push(b' ');
                last.extend_from_slice(rest);
            }
            _ => out.push(line.to_vec()),
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

/// What BODY and TEXT search in one message.
#[derive(Debug, Default)]
pub struct SearchText {
    /// Every header block (top level, each part, each attached message) as
    /// decoded lines written as in the message (`Name:value`).
    pub headers: String,
    /// The decoded body of every text/* and message/* (other than an
    /// attached message, which is walked) part, charset converted.
    pub body: String,
}

/// Walks the whole message the way Dovecot's parser does (a stack of
/// boundaries, innermost first, so a nested multipart reusing its parent's
/// boundary takes the following parts) and collects what BODY/TEXT see.
pub fn search_text(msg: &[u8]) -> SearchText {
    let mut w = Walker {
        d: msg,
        stack: Vec::new(),
        budget: MAX_PARTS,
        out: SearchText::default(),
    };
    w.entity(0, false, 0);
    w.out
}

/// Where scanning stopped: end of data, or a boundary line of stack entry
/// `idx` starting at `at` (the line after it starts at `next`).
#[derive(Clone, Copy)]
enum Stop {
    Eof,
    Bound {
        idx: usize,
        close: bool,
        at: usize,
        next: usize,
    },
}

struct Walker<'a> {
    d: &'a [u8],
    stack: Vec<Vec<u8>>,
    budget: usize,
    out: SearchText,
}

impl Walker<'_> {
    /// The line at `pos` (with its line end) and where the next one starts.
    fn line(&self, pos: usize) -> (&[u8], usize) {
        let rest = self.d.get(pos..).unwrap_or_default();
        let next = memchr::memchr(b'\n', rest).map_or(self.d.len(), |i| pos + i + 1);
        (self.d.get(pos..next).unwrap_or_default(), next)
    }

    /// Whether `line` is a boundary line of an open multipart (innermost
    /// first) and whether it closes it.
    fn boundary(&self, line: &[u8]) -> Option<(usize, bool)> {
        let rest = line.strip_prefix(b"--")?;
        self.stack.iter().enumerate().rev().find_map(|(i, b)| {
            let after = rest.strip_prefix(b.as_slice())?;
            Some((i, after.starts_with(b"--")))
        })
    }

    /// Skips lines from `pos` to the next boundary line.
    fn scan(&self, mut pos: usize) -> Stop {
        while pos < self.d.len() {
            let (line, next) = self.line(pos);
            if let Some((idx, close)) = self.boundary(line) {
                return Stop::Bound {
                    idx,
                    close,
                    at: pos,
                    next,
                };
            }
            pos = next;
        }
        Stop::Eof
    }

    /// One entity (header and body) starting at `pos`; returns where it ended.
    fn entity(&mut self, pos: usize, digest_child: bool, depth: usize) -> Stop {
        // The header runs to the empty line; a boundary line cuts it short.
        let mut p = pos;
        let mut body_start = self.d.len();
        let mut cut = None;
        while p < self.d.len() {
            let (line, next) = self.line(p);
            if line == b"\n" || line == b"\r\n" {
                body_start = next;
                break;
            }
            if let Some((idx, close)) = self.boundary(line) {
                cut = Some(Stop::Bound {
                    idx,
                    close,
                    at: p,
                    next,
                });
                break;
            }
            p = next;
        }
        let hdr = self.d.get(pos..p).unwrap_or_default();
        // The parser (structure) uses the first Content-Type; the search
        // decoder looks at every one, so the last decides whether the body
        // is text and its charset, and the last Content-Transfer-Encoding
        // applies (Dovecot: a `text/plain` then `multipart/mixed` header is
        // a leaf whose body is not searched).
        let mut first_ct: Option<CType> = None;
        let mut last_ct: Option<CType> = None;
        let mut cte = Cte::Identity;
        // As written: `Name:value`, `X-C :  v` (Dovecot's TEXT does not
        // match `"Subject: x"` in `Subject:x`), and lines without a colon.
        // Only values are decoded: `Sub=?utf-8?q?x?=ject:` stays as it is.
        for line in logical_lines(hdr) {
            match memchr::memchr(b':', &line) {
                Some(colon) => {
                    let (name, value) = line.split_at(colon);
                    self.out.headers.push_str(&String::from_utf8_lossy(name));
                    self.out.headers.push(':');
                    self.out
                        .headers
                        .push_str(&decode_2047(value.get(1..).unwrap_or_default()));
                }
                None => self.out.headers.push_str(&String::from_utf8_lossy(&line)),
            }
            self.out.headers.push('\n');
        }
        for f in fields(hdr) {
            if f.name.eq_ignore_ascii_case(b"content-type") {
                let ct = CType::parse(f.value());
                if first_ct.is_none() {
                    first_ct = Some(ct.clone());
                }
                last_ct = Some(ct);
            } else if f.name.eq_ignore_ascii_case(b"content-transfer-encoding") {
                cte = Cte::parse(f.value());
            }
        }
        if let Some(stop) = cut {
            return stop;
        }
        let first_ct_charset = first_ct.as_ref().and_then(|c| c.charset.clone());
        let mime_type = first_ct
            .as_ref()
            .map(|c| c.mime_type.clone())
            .unwrap_or_default();
        let boundary = first_ct.and_then(|c| c.boundary);
        let descend = depth < MAX_DEPTH && self.budget > 0;
        self.budget = self.budget.saturating_sub(1);
        if mime_type.starts_with(b"multipart/") {
            if let (Some(mut b), true) = (boundary, descend) {
                // Dovecot's BOUNDARY_STRING_MAX_LEN.
                b.truncate(BOUNDARY_MAX);
                return self.multipart(body_start, b, mime_type == b"multipart/digest", depth);
            }
            return self.scan(body_start);
        }
        let rfc822 = mime_type == b"message/rfc822" || (mime_type.is_empty() && digest_child);
        if rfc822 && descend {
            return self.entity(body_start, false, depth + 1);
        }
        let stop = self.scan(body_start);
        // Dovecot searches text/* and message/* bodies (no Content-Type =
        // text/plain); `Content-Type: text` without subtype is not searched.
        let texty = last_ct.as_ref().is_none_or(|c| {
            c.mime_type.starts_with(b"text/") || c.mime_type.starts_with(b"message/")
        });
        let charset = first_ct_charset;
        if texty && cte != Cte::Unknown {
            let end = match stop {
                Stop::Eof => self.d.len(),
                Stop::Bound { at, .. } => at,
            };
            let raw = self
                .d
                .get(body_start..end.max(body_start))
                .unwrap_or_default();
            let decoded = match cte {
                Cte::Base64 => decode_base64(raw),
                Cte::Qp => decode_qp(raw),
                Cte::Identity | Cte::Unknown => raw.to_vec(),
            };
            let cs = charset.unwrap_or_else(|| b"utf-8".to_vec());
            let cs: &[u8] = if cs.eq_ignore_ascii_case(b"us-ascii") {
                b"utf-8"
            } else {
                &cs
            };
            if !self.out.body.is_empty() {
                self.out.body.push('\n');
            }
            self.out.body.push_str(&to_utf8(&decoded, cs));
        }
        stop
    }

    /// A multipart body at `pos` with boundary `b`: preamble, parts,
    /// epilogue; ends at an outer boundary or the end of data.
    fn multipart(&mut self, pos: usize, b: Vec<u8>, digest: bool, depth: usize) -> Stop {
        self.stack.push(b);
        let me = self.stack.len() - 1;
        let mut stop = self.scan(pos);
        loop {
            match stop {
                Stop::Bound {
                    idx, close, next, ..
                } if idx == me => {
                    if close {
                        self.stack.truncate(me);
                        // The epilogue runs to the parent's next boundary.
                        return self.scan(next);
                    }
                    stop = self.entity(next, digest, depth + 1);
                }
                Stop::Bound { idx, .. } if idx > me => {
                    // A child left its own boundary open; drop it and go on.
                    self.stack.truncate(me + 1);
                    stop = match stop {
                        Stop::Bound { next, .. } => self.scan(next),
                        Stop::Eof => Stop::Eof,
                    };
                }
                _ => {
                    self.stack.truncate(me);
                    return stop;
                }
            }
        }
    }
}

/// A Content-Transfer-Encoding as Dovecot's SEARCH decoder sees it: the
/// last such header counts, and a part in an unknown encoding (or a value
/// that is not one token) is not searched at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cte {
    Identity,
    Base64,
    Qp,
    Unknown,
}

impl Cte {
    fn parse(v: &[u8]) -> Cte {
        // One token, comments allowed around it (`7BIT (comment)`).
        let mut p = Lex { s: v, pos: 0 };
        let t = p.token();
        p.ws();
        if !p.at_end() {
            return Cte::Unknown;
        }
        if t.eq_ignore_ascii_case(b"base64") {
            Cte::Base64
        } else if t.eq_ignore_ascii_case(b"quoted-printable") {
            Cte::Qp
        } else if [&b"7bit"[..], b"8bit", b"binary"]
            .iter()
            .any(|k| t.eq_ignore_ascii_case(k))
        {
            Cte::Identity
        } else {
            Cte::Unknown
        }
    }
}

/// Base64 as Dovecot decodes it for SEARCH: whitespace is skipped, and
/// decoding ends at the first `=` (padding) or at the first invalid
/// character (`SGVsbG8=d29y` is just "Hello"; `!!!` first means nothing).
fn decode_base64(input: &[u8]) -> Vec<u8> {
    crate::mime::decode::decode_base64_with(input, crate::mime::decode::OnInvalid::Stop)
}

/// Quoted-printable as Dovecot decodes it for SEARCH: trailing whitespace
/// of each line is dropped, `=` at the end of a line joins it to the next,
/// `=XX` takes either case, and any other `=` stays as it is.
fn decode_qp(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut lines = input.split(|&c| c == b'\n').peekable();
    while let Some(line) = lines.next() {
        let had_newline = lines.peek().is_some();
        let mut l = line.strip_suffix(b"\r").unwrap_or(line);
        while let Some(t) = l.strip_suffix(b" ").or_else(|| l.strip_suffix(b"\t")) {
            l = t;
        }
        let soft = l.last() == Some(&b'=');
        if soft {
            l = l.get(..l.len() - 1).unwrap_or_default();
        }
        let mut i = 0;
        while let Some(&c) = l.get(i) {
            if c == b'=' {
                let hex = |k: usize| l.get(k).and_then(|h| (*h as char).to_digit(16));
                if let (Some(h), Some(lo)) = (hex(i + 1), hex(i + 2)) {
                    out.push((h * 16 + lo) as u8);
                    i += 3;
                    continue;
                }
            }
            out.push(c);
            i += 1;
        }
        if had_newline && !soft {
            out.push(b'\n');
        }
    }
    out
}

/// A parsed Content-Type value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct CType {
    /// Lowercased `type/subtype`, or as much of it as parsed.
    mime_type: Vec<u8>,
    boundary: Option<Vec<u8>>,
    charset: Option<Vec<u8>>,
}

fn is_token(c: u8) -> bool {
    c > b' ' && c < 0x7f && !b"()<>@,;:\\\"/[]?=".contains(&c)
}

impl CType {
    /// Parses like Dovecot's rfc822_parse_content_type plus its lenient
    /// parameter loop: a type that is not `token/token` followed by `;` or
    /// the end is void (empty, so neither multipart nor text), and a broken
    /// parameter is skipped one character at a time.
    fn parse(v: &[u8]) -> CType {
        let mut p = Lex { s: v, pos: 0 };
        let mut ct = CType::default();
        let ty = p.token();
        if ty.is_empty() || !p.eat(b'/') {
            return ct;
        }
        let sub = p.token();
        p.ws();
        if sub.is_empty() || !(p.at_end() || p.peek() == Some(b';')) {
            return ct;
        }
        ct.mime_type = ty.to_ascii_lowercase();
        ct.mime_type.push(b'/');
        ct.mime_type.extend(sub.to_ascii_lowercase());
        loop {
            p.ws();
            if p.at_end() {
                break;
            }
            if p.peek() == Some(b';') {
                p.pos += 1;
                continue;
            }
            let start = p.pos;
            match p.param() {
                Some((name, value)) => {
                    if name.eq_ignore_ascii_case(b"boundary") && ct.boundary.is_none() {
                        ct.boundary = Some(value);
                    } else if name.eq_ignore_ascii_case(b"charset") && ct.charset.is_none() {
                        ct.charset = Some(value);
                    }
                }
                None => p.pos = start + 1,
            }
        }
        ct
    }
}

/// A tiny RFC 2045 lexer: tokens, quoted strings, whitespace and comments.
struct Lex<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Lex<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }
    fn ws(&mut self) {
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                b'(' => depth += 1,
                b')' if depth > 0 => depth -= 1,
                b'\\' if depth > 0 => self.pos += 1,
                b' ' | b'\t' | b'\r' | b'\n' => {}
                _ if depth > 0 => {}
                _ => return,
            }
            self.pos += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn token(&mut self) -> &'a [u8] {
        self.ws();
        let start = self.pos;
        while self.peek().is_some_and(is_token) {
            self.pos += 1;
        }
        self.s.get(start..self.pos).unwrap_or_default()
    }
    /// `name = value` (token or quoted string).
    fn param(&mut self) -> Option<(&'a [u8], Vec<u8>)> {
        let name = self.token();
        if name.is_empty() || !self.eat(b'=') {
            return None;
        }
        self.ws();
        let value = if self.peek() == Some(b'"') {
            self.quoted()?
        } else {
            self.token().to_vec()
        };
        Some((name, value))
    }

    /// A quoted string at the current `"`; None if it never closes.
    fn quoted(&mut self) -> Option<Vec<u8>> {
        self.pos += 1;
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'"' => return Some(out),
                b'\\' => {
                    out.extend(self.peek());
                    self.pos += 1;
                }
                _ => out.push(c),
            }
        }
        None
    }
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
            search_text(raw).headers,
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
        let t = search_text(raw).headers;
        assert!(t.contains("Subject: top\n"));
        assert!(t.contains("Content-Type: text/plain\n"));
        assert!(t.contains("From: inner@x\n"));
        assert!(t.contains("Subject: digested\n"));
        assert!(!t.contains("preamble"));
        assert!(!t.contains("Epilogue"));
        assert!(!t.contains("body"));
    }

    #[test]
    fn base64_stops_like_dovecot() {
        assert_eq!(
            decode_base64(b"SGVsbG8g\r\nd29y bGQ=\r\n!!!"),
            b"Hello world"
        );
        assert_eq!(decode_base64(b"SGVsbG8=d29ybGQ="), b"Hello");
        assert_eq!(decode_base64(b"!!!\r\nSGVsbG8="), b"");
        assert_eq!(decode_base64(b"SGVsbG8gd29ybGQ"), b"Hello world");
    }

    #[test]
    fn qp_like_dovecot() {
        assert_eq!(decode_qp(b"soft= \r\nbreak\r\n"), b"softbreak\n");
        assert_eq!(decode_qp(b"caf=c3=A9 =XY =4"), "café =XY =4".as_bytes());
        assert_eq!(decode_qp(b"space   \r\nnext"), b"space\nnext");
        assert_eq!(decode_qp(b"a=3Db =\r\n=\r\nc\r\n"), b"a=b c\n");
    }

    #[test]
    fn content_type_parsing() {
        let ct = CType::parse(b"Multipart/Mixed; Boundary=\"NextPart\" (c); charset=x");
        assert_eq!(ct.mime_type, b"multipart/mixed");
        assert_eq!(ct.boundary.as_deref(), Some(&b"NextPart"[..]));
        assert_eq!(ct.charset.as_deref(), Some(&b"x"[..]));
        // Broken values keep no boundary (Dovecot: no parts).
        let ct = CType::parse(b"multipart/report; boundary=\"Boundary_(ID_PGS2F2");
        assert_eq!(ct.boundary, None);
        let ct = CType::parse(b"Multipart/Mi@xed; Boundary=\"NextPart\"");
        assert_eq!(ct, CType::default());
        assert_eq!(CType::parse(b"text; charset=us-ascii"), CType::default());
        // Broken parameters are skipped; later ones still count.
        let ct = CType::parse(b"multipart/mixed; bad; =x; boundary=\"=_b\"; n2=");
        assert_eq!(ct.boundary.as_deref(), Some(&b"=_b"[..]));
        assert_eq!(CType::parse(b"").mime_type, b"");
    }

    #[test]
    fn cte_parsing() {
        assert_eq!(Cte::parse(b" Base64 "), Cte::Base64);
        assert_eq!(Cte::parse(b"7BIT (comment)"), Cte::Identity);
        assert_eq!(Cte::parse(b"quoted-printable"), Cte::Qp);
        for bad in [&b""[..], b"\"base64\"", b"base64 x", b"x-uuencode", b"B"] {
            assert_eq!(Cte::parse(bad), Cte::Unknown);
        }
    }

    #[test]
    fn survives_deep_nesting() {
        let mut raw = Vec::new();
        for _ in 0..5000 {
            raw.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        let t = search_text(&raw).headers;
        assert_eq!(t.matches("Content-Type").count(), MAX_DEPTH + 1);
    }
}
