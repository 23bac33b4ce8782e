//! Message parsing for FETCH and SEARCH: the MIME part tree by byte offsets,
//! ENVELOPE, BODY/BODYSTRUCTURE, section extraction, and decoded text.
//!
//! Input is the raw file; it is normalised to CRLF line ends once, because
//! every size and offset IMAP reports is in CRLF terms. Parsing is lenient:
//! malformed mail yields the best-effort structure Dovecot returns, never a
//! panic.
//!
//! Why hand-written and not the `mail-parser` crate: IMAP clients cache
//! BODYSTRUCTURE sizes/line counts and fetch parts by those offsets, and a
//! Dovecot-compatible server must reproduce Dovecot's exact part boundaries
//! (which line ends belong to a boundary, what happens with a boundary
//! inside a header, epilogues, digest defaults, broken Content-Type
//! values, RFC 2231 merging order, address-list quirks like
//! MISSING_DOMAIN). `mail-parser` gives decoded content, not Dovecot's byte
//! ranges and quirks, so the parser here follows Dovecot 2.3's lib-mail
//! (message-parser.c, message-header-parser.c, rfc822-parser.c,
//! message-address.c, rfc2231-parser.c, imap-bodystructure.c,
//! imap-envelope.c, imap-msgpart.c) step by step.
//!
//! Layout: `part` builds the tree, `rfc822` is the lexer/address/parameter
//! parser, `bodystructure` writes ENVELOPE/BODY/BODYSTRUCTURE, `decode`
//! does RFC 2047, QP, base64, charsets and dates for SEARCH.
//!
//! Checked with tests/tools/mime_vs_dovecot.py against Dovecot 2.3.19 over
//! the CPython test_email corpus (48 messages) plus
//! tests/tools/malformed/*.eml (56): ENVELOPE, BODY, BODYSTRUCTURE and every
//! section are structurally equal (2907/2907); on ~12,000 mutants from
//! tests/tools/gen_mutants.py only the two known differences below remain.
//!
//! SEARCH text matching lives in `crate::search`, which reads `raw()` and
//! uses `decode` from here; `date()` uses message_date_parse's grammar.
//!
//! Dovecot behaviour reproduced on purpose (each found by comparison):
//! - A nonexistent part (`BODY[9]`, `BODY[1.2]` of a single part, `n.HEADER`
//!   or `n.TEXT` of a part that is not message/rfc822) yields `None`; Dovecot
//!   answers those with an empty string `""`, and so should the caller.
//!   `BODY[1]` of a non-multipart message is its body, `BODY[1.MIME]` its
//!   header.
//! - A boundary line inside a part's header ends that header, and the
//!   newline before it (or the blank line right before it) belongs to the
//!   boundary, so that header has no trailing blank line. The rest of a
//!   boundary line is ignored; after `--b--` the next line starts afresh.
//!   A boundary line cut by EOF starts no part. Boundaries are capped at 80
//!   bytes; the innermost longest prefix match wins; past 100 nested levels
//!   (or 10000 parts) multipart and message/rfc822 are not descended and
//!   are shown as "application" "octet-stream".
//! - A multipart without a usable boundary shows one fake empty text/plain
//!   child; a message/rfc822 part cut short still has an empty message.
//! - Content-Type: a value without '/' keeps the type with subtype ""
//!   ("text"), but "text;", "text/", "text/@x", "a/b junk" become "" "".
//!   Content-* data without MIME-Version or Content-Type is ignored. RFC 2231
//!   continuations are merged after plain parameters (a key with no index
//!   inherits the previous one, a Dovecot quirk). Text parts without a
//!   charset get "charset" "us-ascii" appended.
//! - A message that is a single text/plain us-ascii 7bit part gets the
//!   canonical lower-case BODY/BODYSTRUCTURE (Dovecot caches only a flag for
//!   these). Dovecot's very first BODY fetch of such a message still shows
//!   the header's spelling; we always answer like every later fetch.
//! - ENVELOPE: repeated address headers are concatenated, other fields take
//!   the last header; subject and display names are whitespace-collapsed;
//!   missing parts read MISSING_MAILBOX / MISSING_DOMAIN / SYNTAX_ERROR;
//!   NUL in header strings becomes U+FFFD.
//! - HEADER.FIELDS of the top-level header always ends with a blank line;
//!   .NOT only if the header had one. For an embedded message Dovecot reads
//!   header lines from the part's start up to the next blank line, even
//!   past boundaries, and adds the blank line only if found. Lines without
//!   a colon match no field name.
//! - NUL bytes in message data are sent as 0x80.
//!
//! Known differences (Dovecot answers these from its header cache, so
//! they depend on cache state): a header name ending in NUL right before
//! the colon (`From<NUL>:`) is echoed with 0x80 in HEADER.FIELDS where
//! Dovecot drops the NUL; and in a message whose last header line has no
//! newline, HEADER.FIELDS on a cached field (From) gets one more CRLF in
//! Dovecot.
//!
//! Interface note: `envelope()` and `body_structure()` return `String`s
//! (the shared interface), which cannot hold 8-bit header bytes exactly;
//! `envelope_bytes()` and `body_structure_bytes()` give the wire bytes and
//! are what FETCH should write.

mod bodystructure;
pub mod decode;
mod part;
mod rfc822;

use crate::imap::command::{Section, SectionText};
use part::{Envelope, Part};

/// A parsed message. Cheap to keep in a small per-session cache.
pub struct Message {
    data: Vec<u8>,
    root: Part,
}

impl Message {
    /// Parses a whole message (raw bytes as stored; LF or CRLF).
    pub fn parse(raw: Vec<u8>) -> Message {
        let data = normalize_crlf(raw);
        let root = part::parse(&data);
        Message {
            data: replace_nul(data),
            root,
        }
    }

    /// Parses only a header block (`raw` is the header, with or without
    /// its blank line); FETCH of header items and SEARCH on headers work,
    /// the body is empty.
    pub fn parse_header_only(raw: Vec<u8>) -> Message {
        let data = normalize_crlf(raw);
        let (header, end) = part::parse_header(&data);
        let root = Part {
            hdr_start: 0,
            body_start: end,
            body_end: data.len().max(end),
            header,
            ..Part::default()
        };
        Message {
            data: replace_nul(data),
            root,
        }
    }

    /// The CRLF-normalised message, NUL bytes shown as 0x80 (Dovecot does
    /// the same in every FETCH of message data).
    pub fn raw(&self) -> &[u8] {
        &self.data
    }

    /// The ENVELOPE structure in IMAP syntax, e.g. `("date" "subj" ...)`.
    pub fn envelope(&self) -> String {
        String::from_utf8_lossy(&self.envelope_bytes()).into_owned()
    }

    /// ENVELOPE as exact wire bytes (strings with 8-bit data are literals).
    pub fn envelope_bytes(&self) -> Vec<u8> {
        let env = Envelope::from_header(&self.root.header);
        let mut out = vec![b'('];
        bodystructure::write_envelope(&mut out, Some(&env));
        out.push(b')');
        out
    }

    /// BODYSTRUCTURE (with extension data) when `extended`, else BODY.
    pub fn body_structure(&self, extended: bool) -> String {
        String::from_utf8_lossy(&self.body_structure_bytes(extended)).into_owned()
    }

    /// BODY/BODYSTRUCTURE as exact wire bytes.
    pub fn body_structure_bytes(&self, extended: bool) -> Vec<u8> {
        let mut out = Vec::new();
        bodystructure::write_root(&mut out, &self.root, &self.data, extended);
        out
    }

    /// Finds a part by section number path (Dovecot's imap_msgpart_find).
    fn find_part(&self, path: &[u32]) -> Option<&Part> {
        let mut part = &self.root;
        for (i, &num) in path.iter().enumerate() {
            if part.is_multipart() {
                part = part.children.get((num as usize).checked_sub(1)?)?;
            } else if num != 1 {
                return None;
            }
            if part.is_rfc822() && i + 1 < path.len() {
                part = part.children.first()?;
            }
        }
        Some(part)
    }

    fn slice(&self, a: usize, b: usize) -> Vec<u8> {
        self.data.get(a..b.max(a)).unwrap_or(&[]).to_vec()
    }

    /// The bytes of a body section, or None when the part does not exist
    /// (the caller answers with an empty string, as Dovecot does).
    pub fn section(&self, section: &Section) -> Option<Vec<u8>> {
        let mut part = if section.part.is_empty() {
            &self.root
        } else {
            self.find_part(&section.part)?
        };
        let numbered = !section.part.is_empty();
        match &section.text {
            None => {
                if numbered {
                    Some(self.slice(part.body_start, part.body_end))
                } else {
                    Some(self.data.clone())
                }
            }
            Some(SectionText::Mime) => {
                if !numbered {
                    return None;
                }
                Some(self.slice(part.hdr_start, part.body_start))
            }
            Some(t) => {
                if numbered {
                    if !part.is_rfc822() {
                        return None;
                    }
                    part = part.children.first()?;
                }
                match t {
                    SectionText::Text => Some(self.slice(part.body_start, part.body_end)),
                    SectionText::Header => Some(self.slice(part.hdr_start, part.body_start)),
                    SectionText::HeaderFields(names) => {
                        Some(self.header_fields(part, names, true, numbered))
                    }
                    SectionText::HeaderFieldsNot(names) => {
                        Some(self.header_fields(part, names, false, numbered))
                    }
                    SectionText::Mime => None,
                }
            }
        }
    }

    /// HEADER.FIELDS[.NOT]. For the top-level header Dovecot filters the
    /// header and adds a missing blank line (FIELDS only). For an embedded
    /// message it filters a stream that starts at the part and is not
    /// limited to it: header lines are read until the next blank line, even
    /// past a boundary, and the blank line is only added when found.
    fn header_fields(&self, part: &Part, names: &[String], include: bool, nested: bool) -> Vec<u8> {
        let reparsed;
        let (fields, base, eoh) = if nested {
            let rest = self.data.get(part.hdr_start..).unwrap_or(&[]);
            reparsed = part::parse_header(rest).0;
            (&reparsed.fields, part.hdr_start, reparsed.eoh.is_some())
        } else {
            (&part.header.fields, 0, part.header.eoh.is_some())
        };
        let mut out = Vec::new();
        for f in fields {
            let hit = names
                .iter()
                .any(|n| n.as_bytes().eq_ignore_ascii_case(&f.name));
            if hit == include {
                let raw = self.data.get(base + f.start..base + f.end).unwrap_or(&[]);
                if include {
                    push_filtered_lines(&mut out, raw);
                } else {
                    out.extend_from_slice(raw);
                }
            }
        }
        let add_eoh = if nested { eoh } else { include || eoh };
        if add_eoh {
            // after a dangling CR (last line without LF) only LF is added
            if out.ends_with(b"\r") {
                out.push(b'\n');
            } else {
                out.extend_from_slice(b"\r\n");
            }
        }
        out
    }

    /// The parsed Date: header, for SENTBEFORE/SENTON/SENTSINCE.
    pub fn date(&self) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        self.root
            .header
            .fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(b"date"))
            .and_then(|f| decode::parse_date(&decode::unfold(&f.value)))
    }
}

/// Header lines as Dovecot writes them for HEADER.FIELDS (not .NOT): a run
/// of CRs before the line's CRLF collapses into that CRLF.
fn push_filtered_lines(out: &mut Vec<u8>, raw: &[u8]) {
    for line in raw.split_inclusive(|&c| c == b'\n') {
        match line.strip_suffix(b"\r\n") {
            Some(mut body) => {
                while let Some(b) = body.strip_suffix(b"\r") {
                    body = b;
                }
                out.extend_from_slice(body);
                out.extend_from_slice(b"\r\n");
            }
            None => out.extend_from_slice(line),
        }
    }
}

/// NUL cannot be sent in IMAP strings; Dovecot sends 0x80 instead.
fn replace_nul(mut data: Vec<u8>) -> Vec<u8> {
    if memchr::memchr(0, &data).is_some() {
        for b in data.iter_mut() {
            if *b == 0 {
                *b = 0x80;
            }
        }
    }
    data
}

/// Offset just past the end of the header block (after the blank line), or
/// the length of `raw` when there is no blank line. Works on LF or CRLF.
pub fn header_end(raw: &[u8]) -> usize {
    let mut p = 0;
    while p < raw.len() {
        let le = match raw.get(p..).and_then(|s| memchr::memchr(b'\n', s)) {
            Some(i) => p + i + 1,
            None => return raw.len(),
        };
        let line = raw.get(p..le).unwrap_or(&[]);
        if line == b"\n" || line == b"\r\n" {
            return le;
        }
        p = le;
    }
    raw.len()
}

/// Converts bare LF to CRLF; leaves existing CRLF alone.
pub fn normalize_crlf(raw: Vec<u8>) -> Vec<u8> {
    if !raw.contains(&b'\n') {
        return raw;
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 30);
    let mut prev = 0u8;
    for &b in &raw {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

#[cfg(test)]
mod tests;
