//! The IMAP protocol layer: framing and parsing of client input, the command
//! AST, response formatting, and the session state machine that dispatches
//! to one handler module per command family in [`cmd`].

pub mod cmd;
pub mod command;
pub mod parser;
pub mod response;
pub mod session;
