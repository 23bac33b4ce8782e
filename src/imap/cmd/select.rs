//! SELECT and EXAMINE: open a mailbox and report its state (RFC 3501
//! §6.3.1/§6.3.2).

use crate::imap::session::{store_error, Session, State, Tagged};
use crate::imap::view::{write_flags, Selected};

pub fn select(s: &mut Session, name: &str, read_only: bool) -> Tagged {
    // A failed SELECT leaves no mailbox selected, so drop the old one first.
    s.selected = None;
    s.state = State::Authenticated;
    let Some(store) = s.store.as_ref() else {
        return Tagged::bad("Not logged in");
    };
    let mailbox = match store.open(name, read_only) {
        Ok(m) => m,
        Err(e) => return store_error(&e, "NONEXISTENT"),
    };
    let sel = Selected::new(mailbox);
    let exists = sel.view.len();
    let recent = sel.view.iter().filter(|e| e.recent).count();
    let unseen = sel
        .view
        .iter()
        .position(|e| !e.flags.has(crate::store::Flags::SEEN));
    let uidvalidity = sel.mailbox.uid_validity();
    let uidnext = sel.mailbox.uid_next();
    s.selected = Some(sel);
    s.state = State::Selected;
    write_flags(s);
    s.untagged(&format!("{exists} EXISTS"));
    s.untagged(&format!("{recent} RECENT"));
    if let Some(i) = unseen {
        s.untagged(&format!("OK [UNSEEN {}] First unseen.", i + 1));
    }
    s.untagged(&format!("OK [UIDVALIDITY {uidvalidity}] UIDs valid"));
    s.untagged(&format!("OK [UIDNEXT {uidnext}] Predicted next UID"));
    let code = if read_only { "READ-ONLY" } else { "READ-WRITE" };
    let verb = if read_only { "EXAMINE" } else { "SELECT" };
    Tagged::Ok(Some(code.into()), format!("{verb} completed"))
}
