//! How bytes reach a session: the TCP listeners of `serve`
//! ([`listener`]), stdin/stdout for `imapd` ([`stdio`]), the data
//! directory and demo user of the embedded default ([`data`]), and
//! one-line logging ([`log`]).
//!
//! Seams for the next issue: TLS listeners are a new [`listener::ListenerKind`];
//! connection limits belong in [`listener::Server::admit`]; privilege
//! separation hooks in where [`listener::Server`] starts a session for an
//! [`crate::auth::AuthedUser`] with a uid.

pub mod data;
pub mod dropuser;
pub mod limits;
pub mod listener;
pub mod log;
pub mod privsep;
pub mod relay;
pub mod serve;
pub mod stdio;
pub mod tls;
pub mod up;
