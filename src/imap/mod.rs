//! The IMAP protocol layer: framing and parsing of client input, the command
//! AST, response formatting, the selected-mailbox view, and the session state
//! machine that dispatches to one handler module per command family in
//! [`cmd`].

pub mod cmd;
pub mod command;
pub mod parser;
pub mod response;
pub mod session;
pub mod view;

/// Writes one log line (stderr or syslog, see [`crate::server::log`]).
pub fn log_line(msg: &str) {
    crate::server::log::write_line(&format!("bincimap: {msg}"));
}
