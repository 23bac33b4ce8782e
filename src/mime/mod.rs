//! Message parsing for FETCH and SEARCH: the MIME part tree by byte offsets,
//! ENVELOPE, BODY/BODYSTRUCTURE, section extraction, and decoded text.
//!
//! Input is the raw file; it is normalised to CRLF line ends once, because
//! every size and offset IMAP reports is in CRLF terms. Parsing is lenient:
//! malformed mail yields the best-effort structure Dovecot returns, never a
//! panic.

use crate::imap::command::Section;

/// A parsed message. Cheap to keep in a small per-session cache.
pub struct Message {
    data: Vec<u8>,
}

impl Message {
    /// Parses a whole message (raw bytes as stored; LF or CRLF).
    pub fn parse(raw: Vec<u8>) -> Message {
        Message {
            data: normalize_crlf(raw),
        }
    }

    /// The CRLF-normalised message.
    pub fn raw(&self) -> &[u8] {
        &self.data
    }

    /// The ENVELOPE structure in IMAP syntax, e.g. `("date" "subj" ...)`.
    pub fn envelope(&self) -> String {
        todo!("mime: envelope")
    }

    /// BODYSTRUCTURE (with extension data) when `extended`, else BODY.
    pub fn body_structure(&self, extended: bool) -> String {
        let _ = extended;
        todo!("mime: bodystructure")
    }

    /// The bytes of a body section, or None when the part does not exist
    /// (the caller answers with an empty string, as Dovecot does).
    pub fn section(&self, section: &Section) -> Option<Vec<u8>> {
        let _ = section;
        todo!("mime: section")
    }

    /// Decoded (RFC 2047, unfolded) values of every header field `name` of
    /// the top-level header, for SEARCH FROM/TO/SUBJECT/HEADER.
    pub fn header_values(&self, name: &str) -> Vec<String> {
        let _ = name;
        todo!("mime: header_values")
    }

    /// The parsed Date: header, for SENTBEFORE/SENTON/SENTSINCE.
    pub fn date(&self) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        todo!("mime: date")
    }

    /// Decoded text of every text part (transfer encoding and charset undone,
    /// as UTF-8), for SEARCH BODY/TEXT.
    pub fn body_text(&self) -> String {
        todo!("mime: body_text")
    }

    /// All header text of the message decoded, for SEARCH TEXT.
    pub fn header_text(&self) -> String {
        todo!("mime: header_text")
    }
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
