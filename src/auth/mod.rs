//! Authentication: who a user is and where their mail lives.
//!
//! The session only sees the [`Authenticator`] trait; the password file is
//! one implementation (checkpassword in `serve` comes with the TLS issue).
//! [`hash`] verifies and creates password hashes; [`passwd`] is the
//! password-file authenticator.

pub mod checkpassword;
pub mod hash;
pub mod passwd;
pub mod throttle;

use std::path::PathBuf;

/// A user after successful authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthedUser {
    pub name: String,
    /// The depot root (the INBOX Maildir).
    pub maildir: PathBuf,
    /// Set for system users whose mail must be touched with their uid.
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// Checks a user name and password. Implementations must take the same time
/// and give the same answer for an unknown user as for a wrong password.
pub trait Authenticator: Send + Sync {
    fn verify(&self, user: &str, pass: &[u8]) -> Option<AuthedUser>;

    /// True when some user maps to a uid other than `uid`: `serve` then puts
    /// its privilege-separating front end before the session.
    fn has_other_uids(&self, _uid: u32) -> bool {
        false
    }
}
