//! Logging: one line per event, in the shape Binc IMAP used under
//! daemontools' multilog: `user@ip: message` when the user is known,
//! `ip: message` before login, and `bincimap: message` for server events.
//! Lines go to stderr (the default) or to syslog(3) (`[log] target =
//! "syslog"`, chosen once at start with [`init`]).
//!
//! No timestamps: multilog, svlogd and journald add their own. Each line is
//! written with a single `write_all` on the locked handle so lines from
//! concurrent sessions never interleave.

use std::ffi::CString;
use std::fmt;
use std::io::Write;
use std::sync::OnceLock;

use crate::config::{LogConfig, LogTarget};

/// The syslog facility once [`init`] chose syslog; unset means stderr.
static SYSLOG: OnceLock<libc::c_int> = OnceLock::new();

/// The syslog facility for a name from the config.
fn facility(name: &str) -> Option<libc::c_int> {
    Some(match name {
        "mail" => libc::LOG_MAIL,
        "daemon" => libc::LOG_DAEMON,
        "auth" => libc::LOG_AUTH,
        "authpriv" => libc::LOG_AUTHPRIV,
        "user" => libc::LOG_USER,
        "local0" => libc::LOG_LOCAL0,
        "local1" => libc::LOG_LOCAL1,
        "local2" => libc::LOG_LOCAL2,
        "local3" => libc::LOG_LOCAL3,
        "local4" => libc::LOG_LOCAL4,
        "local5" => libc::LOG_LOCAL5,
        "local6" => libc::LOG_LOCAL6,
        "local7" => libc::LOG_LOCAL7,
        _ => return None,
    })
}

/// True for a facility name [`init`] accepts (config validation).
pub fn valid_facility(name: &str) -> bool {
    facility(name).is_some()
}

/// Chooses where lines go, once per process; later calls change nothing.
pub fn init(cfg: &LogConfig) {
    if cfg.target != LogTarget::Syslog {
        return;
    }
    let fac = facility(&cfg.facility).unwrap_or(libc::LOG_MAIL);
    if SYSLOG.set(fac).is_ok() {
        // openlog keeps the pointer: the ident must live for the process.
        static IDENT: &std::ffi::CStr = c"bincimap";
        // SAFETY: IDENT is a static NUL-terminated string.
        unsafe { libc::openlog(IDENT.as_ptr(), libc::LOG_PID | libc::LOG_NDELAY, fac) };
    }
}

/// True when lines go to syslog.
pub fn to_syslog() -> bool {
    SYSLOG.get().is_some()
}

/// Writes one already formatted line (a newline is appended). Errors are
/// ignored: there is nowhere left to report a broken stderr.
pub fn write_line(line: &str) {
    // Strip CR/LF so a client-supplied string can never forge a log line.
    let mut buf = String::with_capacity(line.len() + 1);
    buf.extend(
        line.chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
    );
    if let Some(&fac) = SYSLOG.get() {
        // syslog adds its own ident; a NUL cannot be passed, so drop it.
        let bytes: Vec<u8> = buf.bytes().filter(|&b| b != 0).collect();
        if let Ok(msg) = CString::new(bytes) {
            // SAFETY: "%s" with one valid C string argument.
            unsafe { libc::syslog(fac | libc::LOG_INFO, c"%s".as_ptr(), msg.as_ptr()) };
        }
        return;
    }
    buf.push('\n');
    let stderr = std::io::stderr();
    let mut lock = stderr.lock();
    let _ = lock.write_all(buf.as_bytes());
}

/// A server-wide event: `bincimap: message`.
pub fn server(msg: impl fmt::Display) {
    write_line(&format!("bincimap: {msg}"));
}

/// A warning about the server or its files: `bincimap: warning: message`.
pub fn warn(msg: impl fmt::Display) {
    write_line(&format!("bincimap: warning: {msg}"));
}

/// Who a log line is about: the peer, and the user once known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogCtx {
    pub user: Option<String>,
    pub peer: String,
}

impl LogCtx {
    pub fn new(peer: impl Into<String>) -> LogCtx {
        LogCtx {
            user: None,
            peer: peer.into(),
        }
    }

    /// Records the user after a successful login.
    pub fn set_user(&mut self, user: impl Into<String>) {
        self.user = Some(user.into());
    }

    /// The line prefix without the colon: `user@ip` or `ip`.
    pub fn prefix(&self) -> String {
        match &self.user {
            Some(u) => format!("{u}@{}", self.peer),
            None => self.peer.clone(),
        }
    }

    /// Formats a full line: `user@ip: message`.
    pub fn format(&self, msg: impl fmt::Display) -> String {
        format!("{}: {msg}", self.prefix())
    }

    /// Logs one event for this connection.
    pub fn log(&self, msg: impl fmt::Display) {
        write_line(&self.format(msg));
    }
}

/// `blog!(ctx, "fmt", args..)` logs one line for a connection context.
#[macro_export]
macro_rules! blog {
    ($ctx:expr, $($arg:tt)*) => {
        $ctx.log(format_args!($($arg)*))
    };
}

/// Strips the port from a `ip:port` peer string for log prefixes, keeping
/// IPv6 addresses whole (`[::1]:5000` becomes `::1`).
pub fn peer_ip(peer: &str) -> String {
    match peer.parse::<std::net::SocketAddr>() {
        Ok(sa) => sa.ip().to_string(),
        Err(_) => peer.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_before_and_after_login() {
        let mut ctx = LogCtx::new("192.0.2.7");
        assert_eq!(ctx.format("connected"), "192.0.2.7: connected");
        ctx.set_user("alice");
        assert_eq!(ctx.format("logged in"), "alice@192.0.2.7: logged in");
    }

    #[test]
    fn facilities() {
        assert!(valid_facility("mail"));
        assert!(valid_facility("local7"));
        assert!(!valid_facility("local8"));
        assert!(!valid_facility("MAIL"));
    }

    #[test]
    fn peer_ip_strips_port() {
        assert_eq!(peer_ip("127.0.0.1:5000"), "127.0.0.1");
        assert_eq!(peer_ip("[::1]:143"), "::1");
        assert_eq!(peer_ip("stdio"), "stdio");
    }
}
