//! `bincimap imapd` (Binc's bincimapd): an already authenticated session on
//! stdin/stdout, for running under a checkpassword program, inetd-style
//! wrappers, or `ssh host bincimap imapd`. The user is whoever runs us.

use std::ffi::CStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::auth::AuthedUser;
use crate::config::Config;
use crate::imap::session::{self, SessionParams};

#[derive(Debug)]
pub enum ImapdError {
    NoHome,
    Io(std::io::Error),
}

impl fmt::Display for ImapdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImapdError::NoHome => write!(f, "cannot find the home directory: $HOME is not set"),
            ImapdError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ImapdError {}

/// The passwd entry of the real uid: (name, home).
fn passwd_of_uid() -> Option<(String, PathBuf)> {
    // SAFETY: getpwuid_r writes only into the buffers we pass; the returned
    // pointer, if non-null, points at `pw`, whose strings live in `buf`.
    unsafe {
        let uid = libc::getuid();
        let mut pw: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 4096];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc != 0 || result.is_null() || pw.pw_name.is_null() {
            return None;
        }
        let name = CStr::from_ptr(pw.pw_name).to_string_lossy().into_owned();
        let home = if pw.pw_dir.is_null() {
            PathBuf::new()
        } else {
            PathBuf::from(CStr::from_ptr(pw.pw_dir).to_string_lossy().into_owned())
        };
        Some((name, home))
    }
}

fn env_nonempty(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

/// The depot: `mailbox.path` if absolute, else `<home>/<mailbox.path>`.
pub fn depot_path(home: &Path, mailbox_path: &str) -> PathBuf {
    // Path::join already keeps an absolute second part as is.
    home.join(mailbox_path)
}

/// Works out who we are and where the mail is.
pub fn current_user(config: &Config) -> Result<AuthedUser, ImapdError> {
    let pw = passwd_of_uid();
    let name = env_nonempty("USER")
        .or_else(|| pw.as_ref().map(|(n, _)| n.clone()))
        .unwrap_or_else(|| "user".to_string());
    let home = env_nonempty("HOME")
        .map(PathBuf::from)
        .or_else(|| pw.map(|(_, h)| h).filter(|h| !h.as_os_str().is_empty()));
    // Set by `serve`'s privilege separation, which knows the depot exactly.
    let maildir = if let Some(m) = env_nonempty(super::up::MAILDIR_ENV) {
        PathBuf::from(m)
    } else if Path::new(&config.mailbox.path).is_absolute() {
        PathBuf::from(&config.mailbox.path)
    } else {
        depot_path(&home.ok_or(ImapdError::NoHome)?, &config.mailbox.path)
    };
    Ok(AuthedUser {
        name,
        maildir,
        // Already running as the user: nothing to switch to.
        uid: None,
        gid: None,
    })
}

/// Runs the PREAUTH session on stdin/stdout until the client logs out.
pub fn run(config: Config) -> Result<(), ImapdError> {
    let user = current_user(&config)?;
    let peer = super::up::remote_ip_from_env().unwrap_or_else(|| "stdio".to_string());
    // Started by `bincimap up` (or checkpassword in `serve`) for a LOGIN:
    // answer that command instead of greeting.
    let login = std::env::var(super::up::LOGIN_ENV)
        .ok()
        .and_then(|v| super::up::parse_login_env(&v));
    let params = SessionParams {
        preauth: Some(user),
        authenticator: None,
        config: Arc::new(config),
        peer,
        plaintext_ok: true,
        starttls: None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ImapdError::Io)?;
    let io: session::BoxIo = Box::new(tokio::io::join(tokio::io::stdin(), tokio::io::stdout()));
    let result = runtime.block_on(session::run_with(io, params, login));
    // tokio's stdin reader may sit in a blocking read; don't wait for it.
    runtime.shutdown_background();
    result.map_err(ImapdError::Io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depot_relative_and_absolute() {
        assert_eq!(
            depot_path(Path::new("/home/u"), "Maildir"),
            PathBuf::from("/home/u/Maildir")
        );
        assert_eq!(
            depot_path(Path::new("/home/u"), "/var/mail/u"),
            PathBuf::from("/var/mail/u")
        );
    }
}
