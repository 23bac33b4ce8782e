//! The session state machine (stub; being written).

use std::sync::Arc;

use crate::auth::{AuthedUser, Authenticator};
use crate::config::Config;

/// Everything a session needs from whoever accepted the connection.
pub struct SessionParams {
    /// Some for `imapd` (PREAUTH); None when the client must log in.
    pub preauth: Option<AuthedUser>,
    pub authenticator: Option<Arc<dyn Authenticator>>,
    pub config: Arc<Config>,
    /// Peer address for logs, e.g. `127.0.0.1:5000`, or "stdio".
    pub peer: String,
    /// True when plaintext passwords are acceptable on this connection
    /// (TLS, loopback, or allowed by config).
    pub plaintext_ok: bool,
}

/// Runs one IMAP session to completion.
pub async fn run<R, W>(reader: R, writer: W, params: SessionParams) -> std::io::Result<()>
where
    R: tokio::io::AsyncRead + Unpin + Send,
    W: tokio::io::AsyncWrite + Unpin + Send,
{
    let _ = (reader, writer, params);
    todo!()
}
