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

/// Lenient base64: non-alphabet bytes skipped, stops at padding.
pub fn decode_base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
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
            _ => continue,
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

/// Parses one encoded word at `s` (which starts with "=?"); returns the
/// decoded text and the length consumed.
fn encoded_word(s: &[u8]) -> Option<(String, usize)> {
    let rest = s.get(2..)?;
    let q1 = memchr::memchr(b'?', rest)?;
    let charset = rest.get(..q1)?;
    let enc = *rest.get(q1 + 1)?;
    if rest.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let text_start = q1 + 3;
    let text_rest = rest.get(text_start..)?;
    let end = memchr::memmem::find(text_rest, b"?=")?;
    let text = text_rest.get(..end)?;
    if text
        .iter()
        .any(|&c| c == b' ' || c == b'\t' || c == b'\r' || c == b'\n')
    {
        return None;
    }
    let raw = match enc {
        b'B' | b'b' => decode_base64(text),
        b'Q' | b'q' => decode_q(text),
        _ => return None,
    };
    Some((to_utf8(&raw, charset), 2 + text_start + end + 2))
}

/// RFC 2047 decoding of an unstructured header value; whitespace between
/// adjacent encoded words is dropped; other bytes are read as UTF-8
/// (Latin-1 bytes that are not valid UTF-8 are replaced).
pub fn decode_2047(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    let mut i = 0;
    let mut plain_start = 0;
    let mut last_was_word = false;
    while i < value.len() {
        if value.get(i) == Some(&b'=') && value.get(i + 1) == Some(&b'?') {
            if let Some((text, len)) = value.get(i..).and_then(encoded_word) {
                let between = value.get(plain_start..i).unwrap_or(&[]);
                let ws_only = between.iter().all(|c| c.is_ascii_whitespace());
                if !(last_was_word && ws_only) {
                    out.push_str(&String::from_utf8_lossy(between));
                }
                out.push_str(&text);
                i += len;
                plain_start = i;
                last_was_word = true;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&String::from_utf8_lossy(
        value.get(plain_start..).unwrap_or(&[]),
    ));
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

fn month(s: &str) -> Option<u32> {
    const M: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let l = s.get(..3)?.to_ascii_lowercase();
    M.iter().position(|m| *m == l).map(|i| i as u32 + 1)
}

fn zone(tok: &str) -> Option<i32> {
    let b = tok.as_bytes();
    if let Some(&sign) = b.first() {
        if (sign == b'+' || sign == b'-') && b.len() >= 5 {
            let digits = tok.get(1..5)?;
            if digits.bytes().all(|c| c.is_ascii_digit()) {
                let v: i32 = digits.parse().ok()?;
                let secs = (v / 100) * 3600 + (v % 100) * 60;
                return Some(if sign == b'-' { -secs } else { secs });
            }
        }
    }
    let h = match tok.to_ascii_uppercase().as_str() {
        "UT" | "UTC" | "GMT" | "Z" => 0,
        "EST" => -5,
        "EDT" => -4,
        "CST" => -6,
        "CDT" => -5,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        _ => return None,
    };
    Some(h * 3600)
}

/// Lenient RFC 2822 date: optional weekday, day month year, hh:mm[:ss],
/// numeric or named zone (missing or unknown zone = +0000); 2-digit years
/// below 70 are 20xx, others 19xx (as Dovecot).
pub fn parse_date(value: &[u8]) -> Option<DateTime<FixedOffset>> {
    let s = String::from_utf8_lossy(value);
    // drop comments and commas
    let mut clean = String::with_capacity(s.len());
    let mut depth = 0;
    for ch in s.chars() {
        match ch {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            ',' => clean.push(' '),
            _ => clean.push(ch),
        }
    }
    let toks: Vec<&str> = clean.split_whitespace().collect();
    let mut i = 0;
    // skip weekday
    if let Some(t) = toks.first() {
        if t.chars()
            .next()
            .map(|c| c.is_ascii_alphabetic())
            .unwrap_or(false)
            && month(t).is_none()
        {
            i = 1;
        }
    }
    let (day, mon) = {
        let a = toks.get(i)?;
        let b = toks.get(i + 1)?;
        if let Ok(d) = a.parse::<u32>() {
            (d, month(b)?)
        } else {
            // "Mon Jan 2" style
            (b.parse::<u32>().ok()?, month(a)?)
        }
    };
    i += 2;
    let mut year: Option<i32> = None;
    let mut time: Option<(u32, u32, u32)> = None;
    let mut off: Option<i32> = None;
    for t in toks.iter().skip(i) {
        if year.is_none() && t.bytes().all(|c| c.is_ascii_digit()) {
            let y: i32 = t.parse().ok()?;
            // two-digit years: < 70 is 20xx, as Dovecot's message_date_parse
            year = Some(if t.len() <= 2 {
                if y < 70 {
                    2000 + y
                } else {
                    1900 + y
                }
            } else if t.len() == 3 {
                1900 + y
            } else {
                y
            });
        } else if time.is_none() && t.contains(':') {
            let mut it = t.split(':').map(|x| x.parse::<u32>());
            let h = it.next()?.ok()?;
            let m = it.next()?.ok()?;
            let sec = match it.next() {
                Some(r) => r.ok()?,
                None => 0,
            };
            time = Some((h, m, sec));
        } else if off.is_none() {
            if let Some(z) = zone(t) {
                off = Some(z);
            }
        }
    }
    let year = year?;
    let (h, m, sec) = time.unwrap_or((0, 0, 0));
    let tz = FixedOffset::east_opt(off.unwrap_or(0))?;
    let nd = NaiveDate::from_ymd_opt(year, mon, day)?.and_hms_opt(h, m, sec.min(59))?;
    tz.from_local_datetime(&nd).single()
}
