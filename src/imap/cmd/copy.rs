//! COPY and UID COPY (RFC 3501 §6.4.7): flags travel with the message,
//! \Recent is set anew in the destination.

use crate::imap::command::SequenceSet;
use crate::imap::session::{store_error, Session, Tagged};

pub fn copy(s: &mut Session, uid: bool, set: &SequenceSet, dest: &str) -> Tagged {
    let Some(sel) = s.selected.as_mut() else {
        return Tagged::bad("No mailbox selected");
    };
    let idx = match sel.resolve(set, uid) {
        Ok(i) => i,
        Err(t) => return t,
    };
    let uids: Vec<u32> = idx
        .iter()
        .filter_map(|&i| sel.view.get(i))
        .map(|e| e.uid)
        .collect();
    if uids.is_empty() {
        return Tagged::ok("No messages copied");
    }
    match sel.mailbox.copy_to(&uids, dest) {
        Ok(_) => {
            sel.dirty = true;
            Tagged::ok("")
        }
        Err(e) => store_error(&e, "TRYCREATE"),
    }
}
