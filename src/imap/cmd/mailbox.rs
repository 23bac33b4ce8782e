//! CREATE, DELETE, RENAME, SUBSCRIBE and UNSUBSCRIBE (RFC 3501 §6.3.3-7).

use crate::imap::session::{store_error, Session, State, Tagged};

fn is_selected(s: &Session, name: &str) -> bool {
    s.selected
        .as_ref()
        .map(|sel| canon(sel.mailbox.name()) == canon(name))
        .unwrap_or(false)
}

/// INBOX is case-insensitive, as are its first five characters in children.
pub fn canon(name: &str) -> String {
    match name.get(..5) {
        Some(p) if p.eq_ignore_ascii_case("INBOX") => format!("INBOX{}", &name[5..]),
        _ => name.to_string(),
    }
}

pub fn create(s: &mut Session, name: &str) -> Tagged {
    let Some(store) = s.store.as_ref() else {
        return Tagged::bad("Not logged in");
    };
    match store.create(name) {
        Ok(()) => Tagged::ok(""),
        Err(e) => store_error(&e, "NONEXISTENT"),
    }
}

pub fn delete(s: &mut Session, name: &str) -> Tagged {
    let selected = is_selected(s, name);
    let Some(store) = s.store.as_ref() else {
        return Tagged::bad("Not logged in");
    };
    match store.delete(name) {
        Ok(()) => {
            if selected {
                // Our mailbox is gone; the client must not keep using it.
                s.selected = None;
                s.state = State::Authenticated;
                s.untagged("BYE Selected mailbox was deleted, have to disconnect.");
                s.state = State::Logout;
            }
            Tagged::ok("")
        }
        Err(e) => store_error(&e, "NONEXISTENT"),
    }
}

pub fn rename(s: &mut Session, from: &str, to: &str) -> Tagged {
    let Some(store) = s.store.as_ref() else {
        return Tagged::bad("Not logged in");
    };
    match store.rename(from, to) {
        Ok(()) => Tagged::ok(""),
        Err(e) => store_error(&e, "NONEXISTENT"),
    }
}

pub fn subscribe(s: &mut Session, name: &str, on: bool) -> Tagged {
    let Some(store) = s.store.as_ref() else {
        return Tagged::bad("Not logged in");
    };
    let r = if on {
        store.subscribe(name)
    } else {
        store.unsubscribe(name)
    };
    match r {
        Ok(()) => Tagged::ok(""),
        Err(e) => store_error(&e, "NONEXISTENT"),
    }
}
