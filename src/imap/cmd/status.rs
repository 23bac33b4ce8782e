//! STATUS (RFC 3501 §6.3.10). The store answers from its two-stat cache
//! when nothing changed, so polling every folder stays cheap.

use crate::imap::command::StatusItem;
use crate::imap::response::write_mailbox;
use crate::imap::session::{store_error, Session, Tagged};
use crate::store::{Flags, StatusInfo};

pub fn status(s: &mut Session, name: &str, items: &[StatusItem]) -> Tagged {
    let canon = crate::imap::cmd::mailbox::canon(name);
    let selected = s
        .selected
        .as_mut()
        .filter(|sel| crate::imap::cmd::mailbox::canon(sel.mailbox.name()) == canon);
    let st = match selected {
        // The selected mailbox is already in memory: answer from it after a
        // two-stat sync instead of re-reading its state file.
        Some(sel) => {
            if let Err(e) = sel.mailbox.sync() {
                return store_error(&e, "NONEXISTENT");
            }
            let msgs = sel.mailbox.messages();
            StatusInfo {
                messages: msgs.len() as u32,
                recent: msgs.iter().filter(|m| sel.mailbox.is_recent(m.uid)).count() as u32,
                uid_next: sel.mailbox.uid_next(),
                uid_validity: sel.mailbox.uid_validity(),
                unseen: msgs.iter().filter(|m| !m.flags.has(Flags::SEEN)).count() as u32,
            }
        }
        None => {
            let Some(store) = s.store.as_ref() else {
                return Tagged::bad("Not logged in");
            };
            match store.status(name) {
                Ok(st) => st,
                Err(e) => return store_error(&e, "NONEXISTENT"),
            }
        }
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
    write_mailbox(&mut line, &canon);
    line.extend_from_slice(format!(" ({})\r\n", parts.join(" ")).as_bytes());
    s.out.extend_from_slice(&line);
    Tagged::ok("")
}
