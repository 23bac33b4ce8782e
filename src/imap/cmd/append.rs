//! APPEND (RFC 3501 §6.3.11). Large messages arrive as literals the framer
//! already spooled to a file in the depot's tmp/, so the store can rename
//! them into place instead of copying.

use chrono::{DateTime, FixedOffset};

use crate::imap::command::{Flag, LiteralData};
use crate::imap::session::{store_error, Session, Tagged};
use crate::store::{Flags, MessageSource};

pub fn append(
    s: &mut Session,
    mailbox: &str,
    flags: &[Flag],
    date: Option<DateTime<FixedOffset>>,
    message: LiteralData,
) -> Tagged {
    let result = append_inner(s, mailbox, flags, date, &message);
    // A spooled literal the store did not take must not be left behind.
    if let LiteralData::File { path, .. } = &message {
        let _ = std::fs::remove_file(path);
    }
    result
}

fn append_inner(
    s: &mut Session,
    mailbox: &str,
    flags: &[Flag],
    date: Option<DateTime<FixedOffset>>,
    message: &LiteralData,
) -> Tagged {
    if flags
        .iter()
        .any(|f| matches!(f, Flag::Recent | Flag::Extension(_)))
    {
        return Tagged::bad("Invalid flag in APPEND: only \\Seen \\Answered \\Flagged \\Deleted \\Draft and keywords");
    }
    if message.is_empty() {
        return Tagged::no("Cannot append an empty message");
    }
    let Some(store) = s.store.as_ref() else {
        return Tagged::bad("Not logged in");
    };
    let source = match message {
        LiteralData::Mem(v) => MessageSource::Bytes(v),
        LiteralData::File { path, .. } => MessageSource::File(path),
    };
    match store.append(
        mailbox,
        source,
        &Flags::from_client(flags),
        date.map(|d| d.timestamp()),
    ) {
        Ok((validity, uid)) => {
            if let Some(sel) = s.selected.as_mut() {
                sel.dirty = true;
            }
            // RFC 4315: clients such as mbsync rely on APPENDUID to avoid
            // re-fetching what they just uploaded.
            Tagged::Ok(
                Some(format!("APPENDUID {validity} {uid}")),
                "APPEND completed".into(),
            )
        }
        Err(e) => store_error(&e, "TRYCREATE"),
    }
}
