//! STATUS (RFC 3501 §6.3.10). The store answers from its two-stat cache
//! when nothing changed, so polling every folder stays cheap.

use crate::imap::command::StatusItem;
use crate::imap::response::write_mailbox;
use crate::imap::session::{store_error, Session, Tagged};

pub fn status(s: &mut Session, name: &str, items: &[StatusItem]) -> Tagged {
    let Some(store) = s.store.as_ref() else {
        return Tagged::bad("Not logged in");
    };
    let st = match store.status(name) {
        Ok(st) => st,
        Err(e) => return store_error(&e, "NONEXISTENT"),
    };
    let parts: Vec<String> = items
        .iter()
        .map(|i| match i {
            StatusItem::Messages => format!("MESSAGES {}", st.messages),
            StatusItem::Recent => format!("RECENT {}", st.recent),
            StatusItem::UidNext => format!("UIDNEXT {}", st.uid_next),
            StatusItem::UidValidity => format!("UIDVALIDITY {}", st.uid_validity),
            StatusItem::Unseen => format!("UNSEEN {}", st.unseen),
        })
        .collect();
    let mut line = b"* STATUS ".to_vec();
    write_mailbox(&mut line, &crate::imap::cmd::mailbox::canon(name));
    line.extend_from_slice(format!(" ({})\r\n", parts.join(" ")).as_bytes());
    s.out.extend_from_slice(&line);
    Tagged::ok("")
}
