//! Decoding for SEARCH: RFC 2047 encoded words, quoted-printable, base64,
//! charset conversion to UTF-8 (encoding_rs), and lenient Date parsing.
//! Everything is lenient: bad input degrades to best-effort text.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};

/// Converts `bytes` in `charset` to UTF-8; unknown charsets are read as
/// UTF-8 with replacement characters.
pub fn to_utf8(bytes: &[u8], charset: &[u8]) -> String {
    let label = charset.split(|&c| c == b'*').next().unwrap_or(charset);
    match encoding_rs::Encoding::for_label_no_replacement(label) {
        Some(enc) => enc.decode_without_bom_handling(bytes).0.into_owned(),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Quoted-printable body decoding: soft line breaks (also with trailing
/// whitespace), =XX escapes; a stray '=' is kept literally.
pub fn decode_qp(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&c) = input.get(i) {
        if c != b'=' {
            out.push(c);
            i += 1;
            continue;
        }
        if let (Some(&a), Some(&b)) = (input.get(i + 1), input.get(i + 2)) {
            if let (Some(h), Some(l)) = (hex(a), hex(b)) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        // soft line break: '=' [WSP...] CRLF / LF / end
        let mut j = i + 1;
        while matches!(input.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        match input.get(j) {
            Some(b'\r') if input.get(j + 1) == Some(&b'\n') => i = j + 2,
            Some(b'\n') => i = j + 1,
            None => i = j,
            _ => {
                out.push(b'=');
                i += 1;
            }
        }
    }
    out
}

/// RFC 2047 Q encoding: like QP, and '_' is a space.
fn decode_q(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&c) = input.get(i) {
        match c {
            b'_' => out.push(b' '),
            b'=' => {
                if let (Some(h), Some(l)) = (
                    input.get(i + 1).copied().and_then(hex),
                    input.get(i + 2).copied().and_then(hex),
                ) {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                out.push(b'=');
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// What base64 decoding does with a byte outside the alphabet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInvalid {
    /// Skip it (FETCH/MIME decoding, RFC 2047 words).
    Skip,
    /// Skip whitespace, stop at anything else (Dovecot's SEARCH decoder).
    Stop,
}

/// Lenient base64: non-alphabet bytes skipped, stops at padding.
pub fn decode_base64(input: &[u8]) -> Vec<u8> {
    decode_base64_with(input, OnInvalid::Skip)
}

/// Base64 that stops at padding (`=`); other bytes outside the alphabet are
/// handled as `on_invalid` says.
pub fn decode_base64_with(input: &[u8], on_invalid: OnInvalid) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut n = 0;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ if on_invalid == OnInvalid::Skip => continue,
            _ => break,
        };
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {}
    }
    out
}

/// Undoes a Content-Transfer-Encoding.
pub fn decode_cte(body: &[u8], cte: Option<&[u8]>) -> Vec<u8> {
    match cte.map(|c| c.to_ascii_lowercase()) {
        Some(c) if c == b"base64" => decode_base64(body),
        Some(c) if c == b"quoted-printable" => decode_qp(body),
        _ => body.to_vec(),
    }
}

/// Parses one encoded word; `s` starts just after "=?". Like Dovecot:
/// charset up to the first '?', the encoding is the next byte, the text
/// runs between the second and third '?', and "?=" must follow.
/// Returns the decoded text and the bytes consumed after "=?".
fn encoded_word(s: &[u8]) -> Option<(String, usize)> {
    let mut q = [0usize; 3];
    let mut n = 0;
    for (i, &c) in s.iter().enumerate() {
        if c == b'?' {
            q[n] = i;
            n += 1;
            if n == 3 {
                break;
            }
        }
    }
    if n < 3 || s.get(q[2] + 1) != Some(&b'=') {
        return None;
    }
    let charset = s.get(..q[0])?;
    let text = s.get(q[1] + 1..q[2])?;
    let raw = match s.get(q[0] + 1)? {
        b'B' | b'b' => decode_base64(text),
        b'Q' | b'q' => decode_q(text),
        _ => return None,
    };
    Some((to_utf8(&raw, charset), q[2] + 2))
}

/// RFC 2047 decoding as Dovecot's message_header_decode_utf8: whitespace-
/// only runs before an encoded word are dropped, encoded words may touch
/// other text, unknown charsets are read as UTF-8; invalid UTF-8 elsewhere
/// is replaced.
pub fn decode_2047(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    let mut start = 0;
    let mut pos = 0;
    while pos + 1 < value.len() {
        if value.get(pos) != Some(&b'=') || value.get(pos + 1) != Some(&b'?') {
            pos += 1;
            continue;
        }
        let plain = value.get(start..pos).unwrap_or(&[]);
        let lwsp_only = plain
            .iter()
            .all(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'));
        // Dovecot flushes (or, if only whitespace, drops) the text before
        // every "=?", even when no valid encoded word follows
        if !lwsp_only {
            out.push_str(&String::from_utf8_lossy(plain));
        }
        match value.get(pos + 2..).and_then(encoded_word) {
            None => {
                start = pos;
                pos += 2;
            }
            Some((text, used)) => {
                out.push_str(&text);
                pos += 2 + used;
                start = pos;
            }
        }
    }
    out.push_str(&String::from_utf8_lossy(value.get(start..).unwrap_or(&[])));
    out
}

/// Removes folding line breaks (CR/LF) from a header value.
pub fn unfold(value: &[u8]) -> Vec<u8> {
    value
        .iter()
        .copied()
        .filter(|&c| c != b'\r' && c != b'\n')
        .collect()
}

fn month(t: &[u8]) -> Option<u32> {
    const M: [&[u8]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let l = t.get(..3)?.to_ascii_lowercase();
    M.iter()
        .position(|m| *m == l.as_slice())
        .map(|i| i as u32 + 1)
}

/// Zone in minutes, as Dovecot's parse_timezone: +hhmm/-hhmm, military
/// letters, UT, [ECMP][SD]T; anything else is GMT.
fn zone_minutes(t: &[u8]) -> i32 {
    let digits = |b: &[u8]| b.iter().all(|c| c.is_ascii_digit());
    match t {
        [sign @ (b'+' | b'-'), rest @ ..] if rest.len() == 4 && digits(rest) => {
            let n = |i: usize| i32::from(rest.get(i).copied().unwrap_or(b'0') - b'0');
            let off = (n(0) * 10 + n(1)) * 60 + n(2) * 10 + n(3);
            if *sign == b'+' {
                off
            } else {
                -off
            }
        }
        [c] => {
            let c = c.to_ascii_uppercase();
            match c {
                b'A'..=b'I' => (i32::from(c - b'A') + 1) * 60,
                b'J' => 0,
                b'K'..=b'M' => i32::from(c - b'A') * 60,
                b'N'..=b'Y' => (i32::from(b'M') - i32::from(c)) * 60,
                _ => 0,
            }
        }
        [a, b'T' | b't'] if a.eq_ignore_ascii_case(&b'U') => 0,
        [a, b, b'T'] => {
            let base = match a.to_ascii_uppercase() {
                b'E' => -5 * 60,
                b'C' => -6 * 60,
                b'M' => -7 * 60,
                b'P' => -8 * 60,
                _ => return 0,
            };
            match b.to_ascii_uppercase() {
                b'D' => base + 60,
                b'S' => base,
                _ => 0,
            }
        }
        _ => 0,
    }
}

/// Parses a Date: value with Dovecot's message_date_parse grammar:
/// `[weekday ","] d[d] month [yy]yy h[h]:mm[:ss] [zone]` with comments
/// and folding allowed between tokens, '.' accepted as time separator,
/// 2-digit years below 70 as 20xx, unknown or missing zones as +0000.
pub fn parse_date(value: &[u8]) -> Option<DateTime<FixedOffset>> {
    use super::rfc822::Parser;
    let mut p = Parser::new(value);
    let next = |p: &mut Parser| -> Option<Vec<u8>> {
        let mut t = Vec::new();
        if p.at_end() || p.parse_atom(&mut t) < 0 || t.is_empty() {
            None
        } else {
            Some(t)
        }
    };
    let two = |t: &[u8]| -> Option<u32> {
        match t {
            [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
                Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
            }
            _ => None,
        }
    };
    let one_or_two = |t: &[u8]| -> Option<u32> {
        match t {
            [a] if a.is_ascii_digit() => Some(u32::from(a - b'0')),
            _ => two(t),
        }
    };
    p.skip_lwsp();
    let mut tok = next(&mut p)?;
    if tok.len() == 3 {
        if p.peek() != Some(b',') {
            return None;
        }
        p.pos += 1;
        p.skip_lwsp();
        tok = next(&mut p)?;
    }
    let day = one_or_two(&tok)?;
    let tok = next(&mut p)?;
    if tok.len() < 3 {
        return None;
    }
    let mon = month(&tok)?;
    let tok = next(&mut p)?;
    if !(tok.len() == 2 || tok.len() == 4) || !tok.iter().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut year: i32 = std::str::from_utf8(&tok).ok()?.parse().ok()?;
    if tok.len() == 2 {
        year += if year < 70 { 2000 } else { 1900 };
    } else if year < 1900 {
        return None;
    }
    let hour = one_or_two(&next(&mut p)?)?;
    if !matches!(p.peek(), Some(b':' | b'.')) {
        return None;
    }
    p.pos += 1;
    p.skip_lwsp();
    let min = two(&next(&mut p)?)?;
    let mut sec = 0;
    if matches!(p.peek(), Some(b':' | b'.')) {
        p.pos += 1;
        p.skip_lwsp();
        sec = two(&next(&mut p)?)?;
    }
    // a missing zone is GMT, but a non-atom there fails (as Dovecot)
    let off = if p.at_end() {
        0
    } else {
        zone_minutes(&next(&mut p)?)
    };
    let tz = FixedOffset::east_opt(off * 60)?;
    let nd = NaiveDate::from_ymd_opt(year, mon, day)?.and_hms_opt(hour, min, sec.min(59))?;
    tz.from_local_datetime(&nd).single()
}
