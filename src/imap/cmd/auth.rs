//! LOGIN and AUTHENTICATE (PLAIN and LOGIN, with SASL-IR, RFC 4959): check
//! credentials through the session's authenticator, then open the user's
//! depot.
//!
//! Failure handling: every failed attempt waits `auth.penalty_seconds`
//! (Binc's `auth penalty`) before its NO, with a tokio sleep so no other
//! session is held up; failures are counted per IP in
//! [`crate::auth::throttle`], and an IP over the limit gets
//! `NO [UNAVAILABLE]` without its password being checked. An unknown user
//! and a wrong password take the same path and get the same reply (the
//! authenticator verifies unknown users against a dummy hash).

use std::time::{Duration, Instant};

use base64::Engine;
use tokio::io::AsyncRead;

use crate::auth::throttle;
use crate::imap::parser::Framer;
use crate::imap::session::{Session, State, Tagged};
use crate::server::log::peer_ip;

const PRIVACY_TEXT: &str = "Plaintext authentication disallowed on non-secure connections";
/// base64 of "Username:" and "Password:", the de-facto LOGIN prompts.
const LOGIN_USER_PROMPT: &str = "VXNlcm5hbWU6";
const LOGIN_PASS_PROMPT: &str = "UGFzc3dvcmQ6";

pub async fn login(s: &mut Session, user: &[u8], pass: &[u8]) -> Tagged {
    if !s.plaintext_ok {
        return Tagged::no_code("PRIVACYREQUIRED", PRIVACY_TEXT);
    }
    let user = String::from_utf8_lossy(user).into_owned();
    finish(s, user, pass.to_vec()).await
}

/// Logs one line for this connection: `ip: message` before login.
fn log(s: &Session, msg: std::fmt::Arguments<'_>) {
    crate::server::log::write_line(&format!("{}: {msg}", peer_ip(&s.peer)));
}

/// Waits out the failed-login penalty without blocking other sessions.
/// Takes the seconds, not the session: a `&Session` held across the await
/// would make the session future require `Sync`.
async fn penalty(secs: u64) {
    if secs > 0 {
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }
}

/// Checks the throttle, verifies off the async workers (hashing is slow on
/// purpose), then enters the authenticated state.
async fn finish(s: &mut Session, user: String, pass: Vec<u8>) -> Tagged {
    let Some(auth) = s.authenticator.clone() else {
        return Tagged::no_code("UNAVAILABLE", "No authentication configured");
    };
    let max = s.config.auth.throttle_failures;
    let window = Duration::from_secs(s.config.auth.throttle_window);
    let ip = throttle::peer_ip(&s.peer);
    if let Some(ip) = ip {
        if throttle::global().is_blocked(ip, max, window, Instant::now()) {
            log(
                s,
                format_args!("login refused for {user:?}: too many failed attempts"),
            );
            penalty(s.config.auth.penalty_seconds).await;
            return Tagged::no_code(
                "UNAVAILABLE",
                "Too many failed login attempts; try again later",
            );
        }
    }
    let u = user.clone();
    let verified = tokio::task::spawn_blocking(move || auth.verify(&u, &pass))
        .await
        .ok()
        .flatten();
    match verified {
        None => {
            if let Some(ip) = ip {
                throttle::global().record_failure(ip, max, window, Instant::now());
            }
            log(s, format_args!("login failed for {user:?}"));
            penalty(s.config.auth.penalty_seconds).await;
            Tagged::no_code("AUTHENTICATIONFAILED", "Authentication failed")
        }
        Some(authed) => {
            if let Some(ip) = ip {
                throttle::global().clear(ip);
            }
            let name = authed.name.clone();
            let who = format!("{name}@{}", peer_ip(&s.peer));
            match s.enter_authenticated(authed) {
                Ok(()) => {
                    crate::server::log::write_line(&format!("{who}: logged in"));
                    let caps = s.capabilities();
                    Tagged::Ok(Some(format!("CAPABILITY {caps}")), "Logged in".into())
                }
                Err(e) => {
                    crate::server::log::write_line(&format!("{who}: cannot open depot: {e}"));
                    Tagged::no_code("UNAVAILABLE", "Mail storage is not available")
                }
            }
        }
    }
}

/// What one SASL continuation round produced.
enum Round {
    Data(Vec<u8>),
    /// The exchange ends with this result (cancel, bad base64, timeout).
    End(Tagged),
}

/// Sends `+ <challenge>` and reads the client's base64 response, within the
/// auth timeout.
async fn round<R>(
    s: &mut Session,
    challenge: &str,
    framer: &mut Framer<R>,
) -> std::io::Result<Round>
where
    R: AsyncRead + Unpin + Send,
{
    s.out.extend_from_slice(b"+ ");
    s.out.extend_from_slice(challenge.as_bytes());
    s.out.extend_from_slice(b"\r\n");
    s.flush().await?;
    let limit = Duration::from_secs(s.config.session.auth_timeout.max(1));
    let line = match tokio::time::timeout(limit, framer.read_line()).await {
        Err(_) => {
            s.untagged("BYE Autologout; authentication timed out");
            s.state = State::Logout;
            return Ok(Round::End(Tagged::bad("Authentication timed out")));
        }
        Ok(Ok(Some(line))) => line,
        Ok(Ok(None)) | Ok(Err(_)) => {
            // EOF or an overlong line: nothing sensible can follow.
            s.state = State::Logout;
            return Ok(Round::End(Tagged::bad(
                "Connection lost during authentication",
            )));
        }
    };
    let line = line.trim_ascii();
    if line == b"*" {
        return Ok(Round::End(Tagged::bad("Authentication canceled")));
    }
    match base64::engine::general_purpose::STANDARD.decode(line) {
        Ok(d) => Ok(Round::Data(d)),
        Err(_) => Ok(Round::End(Tagged::bad(
            "Invalid base64 in authentication response",
        ))),
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
    let plain = mechanism.eq_ignore_ascii_case("PLAIN");
    if !plain && !mechanism.eq_ignore_ascii_case("LOGIN") {
        return Ok(Tagged::no("Unsupported authentication mechanism"));
    }
    if !s.plaintext_ok {
        return Ok(Tagged::no_code("PRIVACYREQUIRED", PRIVACY_TEXT));
    }
    if plain {
        let response = match initial {
            Some(r) => r,
            None => match round(s, "", framer).await? {
                Round::Data(d) => d,
                Round::End(t) => return Ok(t),
            },
        };
        return Ok(match parse_plain(&response) {
            Ok((user, pass)) => finish(s, user, pass).await,
            Err(t) => t,
        });
    }
    // LOGIN: user name (or the SASL-IR initial response), then password.
    let user = match initial {
        Some(u) => u,
        None => match round(s, LOGIN_USER_PROMPT, framer).await? {
            Round::Data(d) => d,
            Round::End(t) => return Ok(t),
        },
    };
    let pass = match round(s, LOGIN_PASS_PROMPT, framer).await? {
        Round::Data(d) => d,
        Round::End(t) => return Ok(t),
    };
    let user = String::from_utf8_lossy(&user).into_owned();
    Ok(finish(s, user, pass).await)
}

/// Splits a PLAIN response: authzid \0 authcid \0 password (RFC 4616).
fn parse_plain(response: &[u8]) -> Result<(String, Vec<u8>), Tagged> {
    let mut parts = response.split(|&b| b == 0);
    let (Some(authz), Some(authc), Some(pass), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Tagged::bad("Malformed PLAIN response"));
    };
    if !authz.is_empty() && authz != authc {
        return Err(Tagged::no_code(
            "AUTHORIZATIONFAILED",
            "Authorization as another user is not permitted",
        ));
    }
    Ok((String::from_utf8_lossy(authc).into_owned(), pass.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_response_forms() {
        assert_eq!(
            parse_plain(b"\0alice\0pw").unwrap(),
            ("alice".to_string(), b"pw".to_vec())
        );
        assert_eq!(
            parse_plain(b"alice\0alice\0pw").unwrap(),
            ("alice".to_string(), b"pw".to_vec())
        );
        assert!(
            matches!(parse_plain(b"bob\0alice\0pw"), Err(Tagged::No(Some(c), _)) if c == "AUTHORIZATIONFAILED")
        );
        assert!(matches!(parse_plain(b"alice\0pw"), Err(Tagged::Bad(_))));
        assert!(matches!(parse_plain(b"\0a\0b\0c"), Err(Tagged::Bad(_))));
    }

    #[test]
    fn login_prompts_decode() {
        let d = |s: &str| base64::engine::general_purpose::STANDARD.decode(s).unwrap();
        assert_eq!(d(LOGIN_USER_PROMPT), b"Username:");
        assert_eq!(d(LOGIN_PASS_PROMPT), b"Password:");
    }
}
