//! bincimap: a small, correct IMAP4rev1 server for Maildir.
//!
//! Layout: `config` (TOML settings), `server` (listeners, stdio), `auth`
//! (password file, hashes), `imap` (protocol and session), `store` (mailbox
//! traits and Maildir++), `mime` (message parsing), `search` (SEARCH).

pub mod auth;
pub mod config;
pub mod imap;
pub mod mime;
pub mod search;
pub mod server;
pub mod store;
