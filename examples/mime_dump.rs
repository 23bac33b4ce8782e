//! Prints, for one message file, a FETCH-like response with ENVELOPE, BODY,
//! BODYSTRUCTURE and the requested sections, e.g.
//! `mime_dump msg.eml HEADER 1.MIME "HEADER.FIELDS (FROM SUBJECT)"`.
//! Used by tests/tools/mime_vs_dovecot.py to compare with Dovecot.

use bincimap::imap::command::{Section, SectionText};
use bincimap::imap::response::write_literal;
use bincimap::mime::Message;
use std::io::Write;

fn parse_section(spec: &str) -> Option<Section> {
    let mut part = Vec::new();
    let mut rest = spec;
    loop {
        let end = rest.find('.').unwrap_or(rest.len());
        let tok = &rest[..end];
        if !tok.is_empty() && tok.bytes().all(|c| c.is_ascii_digit()) {
            part.push(tok.parse().ok()?);
            rest = if end < rest.len() {
                &rest[end + 1..]
            } else {
                ""
            };
        } else {
            break;
        }
    }
    let up = rest.to_ascii_uppercase();
    let fields = |s: &str| -> Vec<String> {
        s.trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .split_whitespace()
            .map(|x| x.to_string())
            .collect()
    };
    let text = if up.is_empty() {
        None
    } else if up == "HEADER" {
        Some(SectionText::Header)
    } else if up == "TEXT" {
        Some(SectionText::Text)
    } else if up == "MIME" {
        Some(SectionText::Mime)
    } else if let Some(f) = up.strip_prefix("HEADER.FIELDS.NOT") {
        Some(SectionText::HeaderFieldsNot(fields(f)))
    } else if let Some(f) = up.strip_prefix("HEADER.FIELDS") {
        Some(SectionText::HeaderFields(fields(f)))
    } else {
        return None;
    };
    Some(Section { part, text })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: mime_dump FILE [SECTION...]");
        std::process::exit(2);
    };
    let raw = match std::fs::read(path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let msg = Message::parse(raw);
    let mut out = b"* 1 FETCH (ENVELOPE ".to_vec();
    out.extend_from_slice(&msg.envelope_bytes());
    out.extend_from_slice(b" BODY ");
    out.extend_from_slice(&msg.body_structure_bytes(false));
    out.extend_from_slice(b" BODYSTRUCTURE ");
    out.extend_from_slice(&msg.body_structure_bytes(true));
    for spec in args.iter().skip(2) {
        let Some(sec) = parse_section(spec) else {
            eprintln!("bad section {spec}");
            continue;
        };
        out.extend_from_slice(format!(" BODY[{spec}] ").as_bytes());
        let data = msg.section(&sec).unwrap_or_default();
        write_literal(&mut out, &data);
    }
    out.extend_from_slice(b")\r\n");
    let _ = std::io::stdout().write_all(&out);
}
