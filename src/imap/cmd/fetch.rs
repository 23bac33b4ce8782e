//! FETCH and UID FETCH (RFC 3501 §6.4.5, §7.4.2): every data item, body
//! sections with partials, and the implicit \Seen of non-PEEK body fetches.
//!
//! Message metadata (flags, dates, sizes) comes from the store without
//! opening the file; ENVELOPE, BODYSTRUCTURE and sections go through the
//! view's parsed-message cache.

use chrono::{Local, TimeZone};

use crate::imap::command::{FetchAttr, Section, SectionText, SequenceSet, StoreOp};
use crate::imap::response::{write_literal, write_string};
use crate::imap::session::{store_error, Session, Tagged};
use crate::store::{Flags, StoreError};

/// Formats INTERNALDATE in the server's local time zone.
pub fn internal_date(secs: i64) -> String {
    match Local.timestamp_opt(secs, 0).single() {
        Some(t) => t.format("%d-%b-%Y %H:%M:%S %z").to_string(),
        None => "01-Jan-1970 00:00:00 +0000".into(),
    }
}

fn sets_seen(a: &FetchAttr) -> bool {
    matches!(
        a,
        FetchAttr::Rfc822 | FetchAttr::Rfc822Text | FetchAttr::BodySection { peek: false, .. }
    )
}

/// What an item needs from the message file: 0 nothing, 1 the header,
/// 2 the whole message.
fn needs_message(a: &FetchAttr) -> u8 {
    match a {
        FetchAttr::Flags | FetchAttr::InternalDate | FetchAttr::Rfc822Size | FetchAttr::Uid => 0,
        FetchAttr::Envelope | FetchAttr::Rfc822Header => 1,
        FetchAttr::BodySection { section, .. }
            if section.part.is_empty()
                && matches!(
                    section.text,
                    Some(SectionText::Header)
                        | Some(SectionText::HeaderFields(_))
                        | Some(SectionText::HeaderFieldsNot(_))
                ) =>
        {
            1
        }
        _ => 2,
    }
}

fn partial_slice(data: &[u8], partial: Option<(u32, u32)>) -> &[u8] {
    match partial {
        None => data,
        Some((start, len)) => {
            let start = (start as usize).min(data.len());
            let end = start.saturating_add(len as usize).min(data.len());
            data.get(start..end).unwrap_or(&[])
        }
    }
}

pub async fn fetch(
    s: &mut Session,
    uid: bool,
    set: &SequenceSet,
    items: &[FetchAttr],
) -> std::io::Result<Tagged> {
    let idx = {
        let Some(sel) = s.selected.as_ref() else {
            return Ok(Tagged::bad("No mailbox selected"));
        };
        match sel.resolve(set, uid) {
            Ok(i) => i,
            Err(t) => return Ok(t),
        }
    };
    // UID FETCH always reports the UID (RFC 3501 §6.4.8), first.
    let mut items: Vec<FetchAttr> = items.to_vec();
    if uid && !items.contains(&FetchAttr::Uid) {
        items.insert(0, FetchAttr::Uid);
    }
    let want_seen = items.iter().any(sets_seen);
    let need_msg = items.iter().map(needs_message).max().unwrap_or(0);
    let mut gone = false;

    for i in idx {
        let mut buf: Vec<u8> = Vec::new();
        match crate::imap::session::blocking(|| {
            fetch_one(s, i, &items, want_seen, need_msg, &mut buf)
        }) {
            Ok(()) => s.out.extend_from_slice(&buf),
            Err(StoreError::MessageGone(_)) => gone = true,
            Err(e) => return Ok(store_error(&e, "NONEXISTENT")),
        }
        s.flush_if_large().await?;
    }
    Ok(if gone {
        Tagged::no_code(
            "EXPUNGEISSUED",
            "Some of the requested messages no longer exist",
        )
    } else {
        Tagged::ok("")
    })
}

fn fetch_one(
    s: &mut Session,
    i: usize,
    items: &[FetchAttr],
    want_seen: bool,
    need_msg: u8,
    out: &mut Vec<u8>,
) -> Result<(), StoreError> {
    let Some(sel) = s.selected.as_mut() else {
        return Ok(());
    };
    let Some(entry) = sel.view.get(i).cloned() else {
        return Ok(());
    };
    let uid = entry.uid;
    let Some(info) = sel.info(uid).cloned() else {
        return Err(StoreError::MessageGone(uid));
    };
    let msg = match need_msg {
        0 => None,
        n => Some(sel.message(uid, n == 2)?),
    };

    let mut flags_changed = false;
    if want_seen && !sel.mailbox.read_only() && !entry.flags.has(Flags::SEEN) {
        let seen = Flags {
            system: Flags::SEEN,
            keywords: Vec::new(),
        };
        for (u, f) in sel.mailbox.store_flags(&[uid], StoreOp::Add, &seen)? {
            if u == uid {
                if let Some(e) = sel.view.get_mut(i) {
                    e.flags = f;
                }
                flags_changed = true;
            }
        }
        sel.dirty = true;
    }
    let flags = sel
        .view
        .get(i)
        .map(|e| e.flags.to_imap(e.recent))
        .unwrap_or_else(|| "()".into());

    out.extend_from_slice(format!("* {} FETCH (", i + 1).as_bytes());
    let mut first = true;
    let mut sep = |out: &mut Vec<u8>| {
        if !first {
            out.push(b' ');
        }
        first = false;
    };
    for item in items {
        sep(out);
        match item {
            FetchAttr::Uid => out.extend_from_slice(format!("UID {uid}").as_bytes()),
            FetchAttr::Flags => out.extend_from_slice(format!("FLAGS {flags}").as_bytes()),
            FetchAttr::InternalDate => out.extend_from_slice(
                format!("INTERNALDATE \"{}\"", internal_date(info.internal_date)).as_bytes(),
            ),
            FetchAttr::Rfc822Size => {
                let n = sel.mailbox.rfc822_size(uid)?;
                out.extend_from_slice(format!("RFC822.SIZE {n}").as_bytes());
            }
            FetchAttr::Envelope => {
                if let Some(m) = &msg {
                    out.extend_from_slice(b"ENVELOPE ");
                    out.extend_from_slice(&m.envelope_bytes());
                }
            }
            FetchAttr::Body | FetchAttr::BodyStructure => {
                if let Some(m) = &msg {
                    let ext = matches!(item, FetchAttr::BodyStructure);
                    out.extend_from_slice(if ext { b"BODYSTRUCTURE " } else { b"BODY " });
                    out.extend_from_slice(&m.body_structure_bytes(ext));
                }
            }
            FetchAttr::Rfc822 | FetchAttr::Rfc822Header | FetchAttr::Rfc822Text => {
                if let Some(m) = &msg {
                    let (name, section) = match item {
                        FetchAttr::Rfc822 => ("RFC822", Section::default()),
                        FetchAttr::Rfc822Header => (
                            "RFC822.HEADER",
                            Section {
                                part: vec![],
                                text: Some(SectionText::Header),
                            },
                        ),
                        _ => (
                            "RFC822.TEXT",
                            Section {
                                part: vec![],
                                text: Some(SectionText::Text),
                            },
                        ),
                    };
                    out.extend_from_slice(name.as_bytes());
                    out.push(b' ');
                    let data = m.section(&section).unwrap_or_default();
                    write_literal(out, &data);
                }
            }
            FetchAttr::BodySection {
                section, partial, ..
            } => {
                if let Some(m) = &msg {
                    out.extend_from_slice(format!("BODY[{}]", section.to_imap()).as_bytes());
                    if let Some((start, _)) = partial {
                        out.extend_from_slice(format!("<{start}>").as_bytes());
                    }
                    out.push(b' ');
                    // A part that does not exist reads as empty, as in
                    // Dovecot (RFC 3501 leaves it open).
                    let data = m.section(section).unwrap_or_default();
                    let slice = partial_slice(&data, *partial);
                    if slice.is_empty() {
                        write_string(out, b"");
                    } else {
                        write_literal(out, slice);
                    }
                }
            }
        }
    }
    if flags_changed && !items.contains(&FetchAttr::Flags) {
        sep(out);
        out.extend_from_slice(format!("FLAGS {flags}").as_bytes());
    }
    out.extend_from_slice(b")\r\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partials() {
        assert_eq!(partial_slice(b"hello", Some((1, 3))), b"ell");
        assert_eq!(partial_slice(b"hello", Some((4, 10))), b"o");
        assert_eq!(partial_slice(b"hello", Some((10, 1))), b"");
        assert_eq!(partial_slice(b"hello", None), b"hello");
    }
}
