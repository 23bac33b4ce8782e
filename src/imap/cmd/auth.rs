//! LOGIN and AUTHENTICATE (PLAIN, with SASL-IR): check credentials through
//! the session's authenticator, then open the user's depot.

use base64::Engine;
use tokio::io::AsyncRead;

use crate::imap::parser::Framer;
use crate::imap::session::{Session, Tagged};

pub async fn login(s: &mut Session, user: &[u8], pass: &[u8]) -> Tagged {
    if !s.plaintext_ok {
        return Tagged::no_code(
            "PRIVACYREQUIRED",
            "Plaintext authentication disallowed on non-secure connections",
        );
    }
    let user = String::from_utf8_lossy(user).into_owned();
    finish(s, user, pass.to_vec()).await
}

/// Verifies off the async workers (hashing is slow on purpose), then enters
/// the authenticated state.
async fn finish(s: &mut Session, user: String, pass: Vec<u8>) -> Tagged {
    let Some(auth) = s.authenticator.clone() else {
        return Tagged::no_code("UNAVAILABLE", "No authentication configured");
    };
    let u = user.clone();
    let verified = tokio::task::spawn_blocking(move || auth.verify(&u, &pass))
        .await
        .ok()
        .flatten();
    match verified {
        None => {
            crate::imap::log_line(&format!("{}: login failed for {user:?}", s.peer));
            Tagged::no_code("AUTHENTICATIONFAILED", "Authentication failed")
        }
        Some(authed) => {
            let name = authed.name.clone();
            match s.enter_authenticated(authed) {
                Ok(()) => {
                    crate::imap::log_line(&format!("{name}@{}: logged in", s.peer));
                    let caps = s.capabilities();
                    Tagged::Ok(Some(format!("CAPABILITY {caps}")), "Logged in".into())
                }
                Err(e) => {
                    crate::imap::log_line(&format!("{name}@{}: cannot open depot: {e}", s.peer));
                    Tagged::no_code("UNAVAILABLE", "Mail storage is not available")
                }
            }
        }
    }
}

pub async fn authenticate<R>(
    s: &mut Session,
    _tag: &str,
    mechanism: &str,
    initial: Option<Vec<u8>>,
    framer: &mut Framer<R>,
) -> std::io::Result<Tagged>
where
    R: AsyncRead + Unpin + Send,
{
    if !mechanism.eq_ignore_ascii_case("PLAIN") {
        return Ok(Tagged::no("Unsupported authentication mechanism"));
    }
    if !s.plaintext_ok {
        return Ok(Tagged::no_code(
            "PRIVACYREQUIRED",
            "Plaintext authentication disallowed on non-secure connections",
        ));
    }
    let response = match initial {
        Some(r) => r,
        None => {
            s.out.extend_from_slice(b"+ \r\n");
            s.flush().await?;
            let Ok(Some(line)) = framer.read_line().await else {
                return Ok(Tagged::bad("Connection lost during authentication"));
            };
            if line == b"*" {
                return Ok(Tagged::bad("Authentication canceled"));
            }
            match base64::engine::general_purpose::STANDARD.decode(line.trim_ascii()) {
                Ok(d) => d,
                Err(_) => return Ok(Tagged::bad("Invalid base64 in authentication response")),
            }
        }
    };
    // authzid \0 authcid \0 password (RFC 4616).
    let mut parts = response.split(|&b| b == 0);
    let (Some(authz), Some(authc), Some(pass), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ok(Tagged::bad("Malformed PLAIN response"));
    };
    if !authz.is_empty() && authz != authc {
        return Ok(Tagged::no_code(
            "AUTHORIZATIONFAILED",
            "Authorization as another user is not permitted",
        ));
    }
    let user = String::from_utf8_lossy(authc).into_owned();
    Ok(finish(s, user, pass.to_vec()).await)
}
