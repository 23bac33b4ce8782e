//! CHECK, CLOSE, EXPUNGE and UID EXPUNGE (RFC 3501 §6.4.1-3, RFC 4315).

use crate::imap::command::SequenceSet;
use crate::imap::session::{store_error, Session, State, Tagged};

/// CHECK: our writes are already durable (fsync + rename), so this is a
/// sync point like NOOP.
pub fn check(_s: &mut Session) -> Tagged {
    Tagged::ok("")
}

/// CLOSE expunges silently (when read-write) and returns to authenticated.
pub fn close(s: &mut Session) -> Tagged {
    if let Some(mut sel) = s.selected.take() {
        if !sel.mailbox.read_only() {
            if let Err(e) = sel.mailbox.expunge(None) {
                crate::imap::log_line(&format!("CLOSE expunge failed: {e}"));
            }
        }
    }
    s.state = State::Authenticated;
    Tagged::ok("")
}

/// EXPUNGE removes \Deleted messages; the EXPUNGE responses come from the
/// session's normal change announcement right after this returns.
pub fn expunge(s: &mut Session, uids: Option<&SequenceSet>) -> Tagged {
    let Some(sel) = s.selected.as_mut() else {
        return Tagged::bad("No mailbox selected");
    };
    if sel.mailbox.read_only() {
        return Tagged::no_code("READ-ONLY", "Mailbox is read-only");
    }
    let only: Option<Vec<u32>> = match uids {
        None => None,
        Some(set) => match sel.resolve(set, true) {
            Ok(idx) => Some(sel.uids_at(&idx)),
            Err(t) => return t,
        },
    };
    match sel.mailbox.expunge(only.as_deref()) {
        Ok(_) => {
            sel.dirty = true;
            Tagged::ok("")
        }
        Err(e) => store_error(&e, "NONEXISTENT"),
    }
}
