//! Logging: one line per event on stderr, in the shape Binc IMAP used under
//! daemontools' multilog: `user@ip: message` when the user is known,
//! `ip: message` before login, and `bincimap: message` for server events.
//!
//! No timestamps: multilog, svlogd and journald add their own. Each line is
//! written with a single `write_all` on the locked handle so lines from
//! concurrent sessions never interleave.

use std::fmt;
use std::io::Write;

/// Writes one already formatted line (a newline is appended). Errors are
/// ignored: there is nowhere left to report a broken stderr.
pub fn write_line(line: &str) {
    // Strip CR/LF so a client-supplied string can never forge a log line.
    let mut buf = String::with_capacity(line.len() + 1);
    buf.extend(
        line.chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
    );
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
    fn peer_ip_strips_port() {
        assert_eq!(peer_ip("127.0.0.1:5000"), "127.0.0.1");
        assert_eq!(peer_ip("[::1]:143"), "::1");
        assert_eq!(peer_ip("stdio"), "stdio");
    }
}
