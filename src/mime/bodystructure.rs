//! ENVELOPE and BODY/BODYSTRUCTURE output in IMAP syntax, following
//! Dovecot's imap-envelope.c and imap-bodystructure.c.

use super::part::{Envelope, Part, F_RFC822, F_TEXT};
use super::rfc822::{Address, Params};
use crate::imap::response::write_string;

const EMPTY_BODY: &[u8] = b"\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0";
const EMPTY_BODYSTRUCTURE: &[u8] =
    b"\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL";

/// message_header_strdup: NUL becomes U+FFFD.
fn nul_to_fffd(s: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !s.contains(&0) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut v = Vec::with_capacity(s.len() + 2);
    for &c in s {
        if c == 0 {
            v.extend_from_slice("\u{fffd}".as_bytes());
        } else {
            v.push(c);
        }
    }
    std::borrow::Cow::Owned(v)
}

/// A string from header data; NUL shown as U+FFFD like Dovecot.
fn wstr(out: &mut Vec<u8>, s: &[u8]) {
    write_string(out, &nul_to_fffd(s));
}

/// imap_append_nstring_nolf: CR and LF removed.
fn nstring_nolf(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        None => out.extend_from_slice(b"NIL"),
        Some(s) => {
            let s = nul_to_fffd(s);
            let s = s.as_ref();
            if s.iter().any(|&c| c == b'\r' || c == b'\n') {
                let v: Vec<u8> = s
                    .iter()
                    .copied()
                    .filter(|&c| c != b'\r' && c != b'\n')
                    .collect();
                write_string(out, &v);
            } else {
                write_string(out, s);
            }
        }
    }
}

/// imap_append_string_for_humans: whitespace runs collapsed to one space,
/// trimmed, NUL shown as 0x80.
fn string_for_humans(out: &mut Vec<u8>, s: &[u8]) {
    let mut v = Vec::with_capacity(s.len());
    let mut last_lwsp = true;
    for &c in s {
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                if !last_lwsp {
                    v.push(b' ');
                }
                last_lwsp = true;
            }
            0 => {
                v.push(0x80);
                last_lwsp = false;
            }
            _ => {
                v.push(c);
                last_lwsp = false;
            }
        }
    }
    if last_lwsp && !v.is_empty() {
        v.pop();
    }
    write_string(out, &v);
}

fn write_addresses(out: &mut Vec<u8>, a: Option<&Vec<Address>>) {
    let Some(list) = a else {
        out.extend_from_slice(b"NIL");
        return;
    };
    out.push(b'(');
    for ad in list {
        out.push(b'(');
        // display names are written "for humans": whitespace collapsed
        match ad.name.as_deref() {
            None => out.extend_from_slice(b"NIL"),
            Some(n) => string_for_humans(out, &nul_to_fffd(n)),
        }
        out.push(b' ');
        nstring_nolf(out, ad.route.as_deref());
        out.push(b' ');
        nstring_nolf(out, ad.mailbox.as_deref());
        out.push(b' ');
        nstring_nolf(out, ad.domain.as_deref());
        out.push(b')');
    }
    out.push(b')');
}

/// Writes the ENVELOPE fields (without the surrounding parentheses).
pub(crate) fn write_envelope(out: &mut Vec<u8>, e: Option<&Envelope>) {
    let Some(e) = e else {
        out.extend_from_slice(b"NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL");
        return;
    };
    nstring_nolf(out, e.date.as_deref());
    out.push(b' ');
    match &e.subject {
        None => out.extend_from_slice(b"NIL"),
        Some(s) => string_for_humans(out, &nul_to_fffd(s)),
    }
    out.push(b' ');
    write_addresses(out, e.from.as_ref());
    out.push(b' ');
    write_addresses(out, e.sender.as_ref().or(e.from.as_ref()));
    out.push(b' ');
    write_addresses(out, e.reply_to.as_ref().or(e.from.as_ref()));
    out.push(b' ');
    write_addresses(out, e.to.as_ref());
    out.push(b' ');
    write_addresses(out, e.cc.as_ref());
    out.push(b' ');
    write_addresses(out, e.bcc.as_ref());
    out.push(b' ');
    nstring_nolf(out, e.in_reply_to.as_deref());
    out.push(b' ');
    nstring_nolf(out, e.message_id.as_deref());
}

fn write_params(out: &mut Vec<u8>, params: &Params, default_charset: bool) {
    if !default_charset && params.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    let mut seen_charset = false;
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        if default_charset && k.eq_ignore_ascii_case(b"charset") {
            seen_charset = true;
        }
        wstr(out, k);
        out.push(b' ');
        wstr(out, v);
    }
    if default_charset && !seen_charset {
        if !params.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(b"\"charset\" \"us-ascii\"");
    }
    out.push(b')');
}

fn write_common(out: &mut Vec<u8>, p: &Part) {
    let d = &p.data;
    out.push(b' ');
    match &d.disposition {
        None => out.extend_from_slice(b"NIL"),
        Some((disp, params)) => {
            out.push(b'(');
            wstr(out, disp);
            out.push(b' ');
            write_params(out, params, false);
            out.push(b')');
        }
    }
    out.push(b' ');
    match &d.language {
        None => out.extend_from_slice(b"NIL"),
        Some(l) => {
            out.push(b'(');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                wstr(out, x);
            }
            out.push(b')');
        }
    }
    out.push(b' ');
    nstring_nolf(out, d.location.as_deref());
}

/// Dovecot's imap_bodystructure_is_plain_7bit: a single text/plain part
/// with at most charset=us-ascii and no other Content-* data. Dovecot then
/// caches only a flag and answers BODY/BODYSTRUCTURE in canonical form.
fn is_plain_7bit(p: &Part) -> bool {
    let d = &p.data;
    if p.flags & F_TEXT == 0 || !p.children.is_empty() {
        return false;
    }
    if d.content_type.is_some() && !d.subtype.eq_ignore_ascii_case(b"plain") {
        return false;
    }
    match d.params.as_slice() {
        [] => {}
        [(k, v)] if k.eq_ignore_ascii_case(b"charset") && v.eq_ignore_ascii_case(b"us-ascii") => {}
        _ => return false,
    }
    d.id.is_none()
        && d.description.is_none()
        && d.cte
            .as_ref()
            .map(|c| c.eq_ignore_ascii_case(b"7bit"))
            .unwrap_or(true)
        && d.md5.is_none()
        && d.disposition.is_none()
        && d.language.is_none()
        && d.location.is_none()
}

/// Writes the top-level BODY/BODYSTRUCTURE.
pub(crate) fn write_root(out: &mut Vec<u8>, p: &Part, data: &[u8], extended: bool) {
    if is_plain_7bit(p) {
        let body = data.get(p.body_start..p.body_end).unwrap_or(&[]);
        let lines = memchr::memchr_iter(b'\n', body).count();
        out.extend_from_slice(
            format!(
                "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" {} {}{})",
                body.len(),
                lines,
                if extended { " NIL NIL NIL NIL" } else { "" }
            )
            .as_bytes(),
        );
        return;
    }
    write_part(out, p, data, extended);
}

/// Writes one part in parentheses.
pub(crate) fn write_part(out: &mut Vec<u8>, p: &Part, data: &[u8], extended: bool) {
    out.push(b'(');
    if p.is_multipart() {
        write_multipart(out, p, data, extended);
    } else {
        write_single(out, p, data, extended);
    }
    out.push(b')');
}

fn write_multipart(out: &mut Vec<u8>, p: &Part, data: &[u8], extended: bool) {
    if p.children.is_empty() {
        out.push(b'(');
        out.extend_from_slice(if extended {
            EMPTY_BODYSTRUCTURE
        } else {
            EMPTY_BODY
        });
        out.push(b')');
    } else {
        for c in &p.children {
            write_part(out, c, data, extended);
        }
    }
    out.push(b' ');
    wstr(out, &p.data.subtype);
    if !extended {
        return;
    }
    out.push(b' ');
    write_params(out, &p.data.params, false);
    write_common(out, p);
}

fn write_single(out: &mut Vec<u8>, p: &Part, data: &[u8], extended: bool) {
    let d = &p.data;
    let text;
    let rfc822 = p.flags & F_RFC822 != 0;
    if rfc822 {
        out.extend_from_slice(b"\"message\" \"rfc822\"");
        text = false;
    } else {
        match &d.content_type {
            None => {
                text = true;
                out.extend_from_slice(b"\"text\" \"plain\"");
            }
            // a multipart too deep to parse is shown as an opaque blob
            Some(t)
                if t.eq_ignore_ascii_case(b"multipart")
                    || (t.eq_ignore_ascii_case(b"message")
                        && d.subtype.eq_ignore_ascii_case(b"rfc822")) =>
            {
                text = false;
                out.extend_from_slice(b"\"application\" \"octet-stream\"");
            }
            Some(t) => {
                text = t.eq_ignore_ascii_case(b"text");
                wstr(out, t);
                out.push(b' ');
                wstr(out, &d.subtype);
            }
        }
    }
    out.push(b' ');
    write_params(out, &d.params, text);
    out.push(b' ');
    nstring_nolf(out, d.id.as_deref());
    out.push(b' ');
    nstring_nolf(out, d.description.as_deref());
    out.push(b' ');
    match &d.cte {
        Some(c) => wstr(out, c),
        _ => out.extend_from_slice(b"\"7bit\""),
    }
    let body = data.get(p.body_start..p.body_end).unwrap_or(&[]);
    out.extend_from_slice(format!(" {}", body.len()).as_bytes());
    let lines = memchr::memchr_iter(b'\n', body).count();
    if text {
        out.extend_from_slice(format!(" {lines}").as_bytes());
    } else if rfc822 {
        if let Some(child) = p.children.first() {
            out.extend_from_slice(b" (");
            write_envelope(out, child.envelope.as_ref());
            out.extend_from_slice(b") ");
            write_part(out, child, data, extended);
        } else {
            out.extend_from_slice(b" (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) (");
            out.extend_from_slice(EMPTY_BODY);
            out.push(b')');
        }
        out.extend_from_slice(format!(" {lines}").as_bytes());
    }
    if !extended {
        return;
    }
    out.push(b' ');
    nstring_nolf(out, d.md5.as_deref());
    write_common(out, p);
}
