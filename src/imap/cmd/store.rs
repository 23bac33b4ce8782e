//! STORE and UID STORE (RFC 3501 §6.4.6): FLAGS, +FLAGS, -FLAGS, .SILENT.

use crate::imap::command::{Flag, SequenceSet, StoreOp};
use crate::imap::session::{store_error, Session, Tagged};
use crate::store::Flags;

/// Keyword letters a-z in a Maildir filename.
const MAX_KEYWORDS: usize = 26;

pub fn store(
    s: &mut Session,
    uid: bool,
    set: &SequenceSet,
    op: StoreOp,
    silent: bool,
    flags: &[Flag],
) -> Tagged {
    if let Some(f) = flags
        .iter()
        .find(|f| matches!(f, Flag::Recent | Flag::Extension(_)))
    {
        return Tagged::bad(format!("Cannot store flag {}", f.as_imap()));
    }
    let Some(sel) = s.selected.as_mut() else {
        return Tagged::bad("No mailbox selected");
    };
    if sel.mailbox.read_only() {
        return Tagged::no_code("READ-ONLY", "Mailbox is read-only");
    }
    if op != StoreOp::Remove {
        let mut known = sel.mailbox.keywords();
        for f in flags {
            if let Flag::Keyword(k) = f {
                if !known.iter().any(|x| x.eq_ignore_ascii_case(k)) {
                    known.push(k.clone());
                }
            }
        }
        // Maildir filenames have 26 keyword letters; refuse rather than
        // silently drop a keyword.
        if known.len() > MAX_KEYWORDS {
            return Tagged::no_code(
                "LIMIT",
                format!("Too many keywords in this mailbox (at most {MAX_KEYWORDS})"),
            );
        }
    }
    let idx = match sel.resolve(set, uid) {
        Ok(i) => i,
        Err(t) => return t,
    };
    let uids = sel.uids_at(&idx);
    let changed = match sel
        .mailbox
        .store_flags(&uids, op, &Flags::from_client(flags))
    {
        Ok(c) => c,
        Err(e) => return store_error(&e, "NONEXISTENT"),
    };
    sel.dirty = true;
    for (u, f) in changed {
        if let Ok(p) = sel.view.binary_search_by_key(&u, |e| e.uid) {
            if let Some(e) = sel.view.get_mut(p) {
                e.flags = f;
            }
        }
    }
    let mut gone = false;
    let mut lines = Vec::new();
    for &i in &idx {
        let Some(e) = sel.view.get(i) else { continue };
        if sel.info(e.uid).is_none() {
            gone = true;
            continue;
        }
        if !silent {
            let flags = e.flags.to_imap(e.recent);
            lines.push(if uid {
                format!("{} FETCH (UID {} FLAGS {flags})", i + 1, e.uid)
            } else {
                format!("{} FETCH (FLAGS {flags})", i + 1)
            });
        }
    }
    for l in lines {
        s.untagged(&l);
    }
    if gone {
        Tagged::no_code(
            "EXPUNGEISSUED",
            "Some of the requested messages no longer exist",
        )
    } else {
        Tagged::ok("")
    }
}
