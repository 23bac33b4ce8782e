//! CAPABILITY, NOOP and LOGOUT: valid in every state.

use crate::imap::session::{Session, State, Tagged};

pub fn capability(s: &mut Session) -> Tagged {
    let caps = s.capabilities();
    s.untagged(&format!("CAPABILITY {caps}"));
    Tagged::ok("")
}

/// NOOP does nothing itself: the session announces pending changes after
/// every command, which is what a polling client wants.
pub fn noop(_s: &mut Session) -> Tagged {
    Tagged::ok("")
}

pub fn logout(s: &mut Session) -> Tagged {
    s.untagged("BYE Logging out");
    s.selected = None;
    s.state = State::Logout;
    Tagged::ok("")
}
