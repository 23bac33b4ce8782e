//! Command handlers, one module per command family (Dovecot's cmd-*.c).
//! Each handler takes the session, does its work through the store traits,
//! writes untagged responses into the session buffer and returns the tagged
//! result. An empty OK text becomes "<COMMAND> completed".

pub mod any;
pub mod append;
pub mod auth;
pub mod copy;
pub mod fetch;
pub mod list;
pub mod mailbox;
pub mod search;
pub mod select;
pub mod selected;
pub mod status;
pub mod store;
