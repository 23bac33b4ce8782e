//! Running a checkpassword program per qmail's interface
//! (<https://cr.yp.to/checkpwd/interface.html>): fd 3 carries
//! `user\0password\0timestamp\0`; the program checks them and, on success,
//! switches to the user (uid, gid, `HOME`, `USER`, working directory) and
//! executes the rest of its argv — here `bincimap imapd`, which answers the
//! tagged LOGIN. Exit 1 means a bad password, 2 and 111 a temporary failure.
//!
//! The outcome is told apart by who speaks first: a started session writes
//! its tagged OK; a refusing program exits without writing anything.

use std::ffi::OsString;
use std::fmt;
use std::time::Duration;

use crate::server::privsep::{self, ChildSpec, Spawned, Start};

/// Longest user name or password passed on; longer ones are refused as a
/// bad password, which also keeps fd 3's data far below a pipe's capacity.
pub const MAX_FIELD: usize = 1024;

/// What a login attempt through checkpassword came to.
pub enum Outcome {
    /// The session is running in the child; `first` is what it wrote so far.
    Started {
        session: Box<Spawned>,
        first: Vec<u8>,
    },
    /// Exit 1: bad user name or password.
    Rejected,
    /// Exit 2, 111, a signal, a missing program, or anything unexpected.
    TempFail(TempFail),
}

/// Why a checkpassword run could not give an answer.
#[derive(Debug)]
pub enum TempFail {
    Exit(i32),
    Signal(i32),
    /// Exited 0 but the program it ran wrote nothing.
    SilentSuccess,
    Spawn(privsep::SpawnError),
    TimedOut,
}

impl fmt::Display for TempFail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TempFail::Exit(c) => write!(f, "checkpassword exited with status {c}"),
            TempFail::Signal(s) => write!(f, "checkpassword killed by signal {s}"),
            TempFail::SilentSuccess => {
                write!(f, "checkpassword succeeded but no session started")
            }
            TempFail::Spawn(e) => write!(f, "{e}"),
            TempFail::TimedOut => write!(f, "checkpassword did not answer in time"),
        }
    }
}

/// The fd 3 data: `user\0password\0timestamp\0`. The timestamp is the
/// APOP-style `<pid.time@host>` that qmail-popup passes.
pub fn fd3_data(user: &[u8], pass: &[u8]) -> Vec<u8> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let stamp = format!(
        "<{}.{secs}@{}>",
        std::process::id(),
        crate::server::data::host_name()
    );
    let mut v = Vec::with_capacity(user.len() + pass.len() + stamp.len() + 3);
    v.extend_from_slice(user);
    v.push(0);
    v.extend_from_slice(pass);
    v.push(0);
    v.extend_from_slice(stamp.as_bytes());
    v.push(0);
    v
}

/// Runs `argv` (the checkpassword program followed by what it executes) for
/// one login, with `env` added, and waits until the session starts or the
/// program gives up (at most `limit`).
pub async fn run(
    argv: &[OsString],
    env: Vec<(OsString, OsString)>,
    user: &[u8],
    pass: &[u8],
    limit: Duration,
) -> Outcome {
    // A NUL would shift the fields; over-long ones are not real credentials.
    if user.is_empty()
        || user.len() > MAX_FIELD
        || pass.len() > MAX_FIELD
        || user.contains(&0)
        || pass.contains(&0)
    {
        return Outcome::Rejected;
    }
    let spec = ChildSpec {
        argv: argv.to_vec(),
        env,
        fd3: Some(fd3_data(user, pass)),
        creds: None,
        dir: None,
    };
    let mut sp = match privsep::spawn(&spec) {
        Ok(sp) => sp,
        Err(e) => return Outcome::TempFail(TempFail::Spawn(e)),
    };
    match privsep::wait_start(&mut sp, limit).await {
        Start::Talking(first) => Outcome::Started {
            session: Box::new(sp),
            first,
        },
        Start::TimedOut => Outcome::TempFail(TempFail::TimedOut),
        Start::Exited(st) => classify(st),
    }
}

fn classify(st: std::process::ExitStatus) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(1), _) => Outcome::Rejected,
        (Some(0), _) => Outcome::TempFail(TempFail::SilentSuccess),
        (Some(c), _) => Outcome::TempFail(TempFail::Exit(c)),
        (None, Some(s)) => Outcome::TempFail(TempFail::Signal(s)),
        (None, None) => Outcome::TempFail(TempFail::Exit(-1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// A checkpassword in shell: accepts alice/secret, exit 1 otherwise.
    fn prog() -> Vec<OsString> {
        let script = r#"IFS= read -r -d '' u <&3; IFS= read -r -d '' p <&3
            if [ "$u" = alice ] && [ "$p" = secret ]; then exec "$@"; fi; exit 1"#;
        vec![
            "bash".into(),
            "-c".into(),
            script.into(),
            "cp".into(),
            "sh".into(),
            "-c".into(),
            "echo \"$BINCIMAP_LOGIN\"".into(),
        ]
    }

    #[test]
    fn fd3_layout() {
        let d = fd3_data(b"u", b"p");
        assert!(d.starts_with(b"u\0p\0<"));
        assert_eq!(d.iter().filter(|&&b| b == 0).count(), 3);
        assert_eq!(d.last(), Some(&0));
    }

    #[test]
    fn outcomes() {
        rt().block_on(async {
            let env = vec![("BINCIMAP_LOGIN".into(), "LOGIN+a1".into())];
            let lim = Duration::from_secs(30);
            match run(&prog(), env.clone(), b"alice", b"secret", lim).await {
                Outcome::Started { mut session, first } => {
                    let mut rest = Vec::new();
                    session.stream.read_to_end(&mut rest).await.unwrap();
                    let mut all = first;
                    all.extend(rest);
                    assert_eq!(all, b"LOGIN+a1\n");
                }
                _ => panic!("expected a session"),
            }
            assert!(matches!(
                run(&prog(), env.clone(), b"alice", b"wrong", lim).await,
                Outcome::Rejected
            ));
            assert!(matches!(
                run(&prog(), env.clone(), b"al\0ice", b"secret", lim).await,
                Outcome::Rejected
            ));
            let t111: Vec<OsString> = vec!["sh".into(), "-c".into(), "exit 111".into()];
            assert!(matches!(
                run(&t111, env.clone(), b"alice", b"x", lim).await,
                Outcome::TempFail(TempFail::Exit(111))
            ));
            let missing: Vec<OsString> = vec!["/nonexistent/checkpw".into()];
            assert!(matches!(
                run(&missing, env, b"alice", b"x", lim).await,
                Outcome::TempFail(TempFail::Spawn(_))
            ));
        });
    }
}
