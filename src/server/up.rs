//! `bincimap up` (Binc's bincimap-up): the pre-authentication front end.
//!
//! It speaks pre-auth IMAP (CAPABILITY, NOOP, LOGOUT, STARTTLS, LOGIN,
//! AUTHENTICATE PLAIN/LOGIN with SASL-IR) on a connection — stdin/stdout
//! under tcpserver, xinetd or systemd `Accept=yes` — and on login hands the
//! connection to a child that runs the session as the user:
//!
//! - in the chain, a checkpassword program (qmail's interface, see
//!   [`crate::auth::checkpassword`]) that execs `bincimap imapd`;
//! - in `serve`, the same checkpassword chain (`chain.checkpassword`), or a
//!   privilege-separated `bincimap imapd` for a password-file user with a
//!   uid ([`super::privsep`]), and for virtual users one with the mail
//!   user's uid (`server.user`, [`super::dropuser`]). Only a daemon that
//!   has dropped root runs sessions in-process.
//!
//! The child learns the pending command from `BINCIMAP_LOGIN=LOGIN+<tag>`
//! and answers it itself; the front end stays in front as the relay
//! ([`super::relay`]) and, in the chain, drops root once the session runs.
//!
//! Failures: checkpassword exit 1 → penalty delay, then
//! `NO [AUTHENTICATIONFAILED]`; exit 2/111, a signal, a missing program or
//! silence → `NO [UNAVAILABLE]` and the connection stays open. Binc said BYE
//! there; a temporary failure is the server's problem, and NO lets the
//! client retry or log out cleanly, as RFC 5530's UNAVAILABLE intends.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, WriteHalf};

use super::log::LogCtx;
use super::privsep::{self, ChildSpec, Creds, Spawned, Start};
use crate::auth::checkpassword::{self, Outcome};
use crate::auth::throttle;
use crate::auth::{AuthedUser, Authenticator};
use crate::config::Config;
use crate::imap::command::CommandBody;
use crate::imap::parser::{FrameError, Framer, FramerLimits, ParserLimits};
use crate::imap::session::{self, BoxIo, SessionParams, StartTls};

/// `LOGIN+<tag>` or `AUTHENTICATE+<tag>`: the command `imapd` must answer.
pub const LOGIN_ENV: &str = "BINCIMAP_LOGIN";
/// The exact depot for a privilege-separated `imapd`.
pub const MAILDIR_ENV: &str = "BINCIMAP_MAILDIR";
/// Where tcpserver, xinetd, sslserver and systemd leave the peer address,
/// in the order Binc read them (systemd's `REMOTE_ADDR` last).
const REMOTE_ENV: [&str; 5] = [
    "TCPREMOTEIP",
    "REMOTE_HOST",
    "REMOTEIP",
    "SSLREMOTEIP",
    "REMOTE_ADDR",
];
/// Credentials in pre-auth are short; bigger literals are refused.
const PREAUTH_LITERAL: u64 = 8192;

/// Parses `BINCIMAP_LOGIN` into (tag, command).
pub fn parse_login_env(v: &str) -> Option<(String, String)> {
    let (cmd, tag) = v.split_once('+')?;
    let cmd = cmd.to_ascii_uppercase();
    if cmd != "LOGIN" && cmd != "AUTHENTICATE" {
        return None;
    }
    // A tag is an IMAP atom without '+': no spaces, controls or specials.
    let ok = !tag.is_empty()
        && tag.bytes().all(|b| {
            b.is_ascii_graphic() && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\')
        });
    ok.then(|| (tag.to_string(), cmd))
}

/// The peer address from the environment, as Binc read it.
pub fn remote_ip_from_env() -> Option<String> {
    REMOTE_ENV
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

fn is_loopback(ip: &str) -> bool {
    match ip.trim_start_matches('[').trim_end_matches(']').parse() {
        Ok(std::net::IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(std::net::IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

/// Who checks the password, and so who runs the session.
#[derive(Clone)]
pub enum Backend {
    /// A checkpassword program followed by what it executes.
    Checkpassword(Vec<OsString>),
    /// The password file; users with a uid get a privilege-separated child.
    Passwd(Arc<dyn Authenticator>),
}

/// One pre-auth connection's settings.
pub struct Front {
    pub config: Arc<Config>,
    /// Peer IP for logs and `TCPREMOTEIP`.
    pub peer_ip: String,
    pub plaintext_ok: bool,
    pub starttls: Option<StartTls>,
    pub backend: Backend,
    /// Switch to `chain.relay_user` once a session runs (the chain; not the
    /// daemon, which must stay root to start later sessions).
    pub drop_privileges: bool,
    /// `serve` as root: the credentials virtual users' sessions (and users
    /// mapped to no other uid) run with; None refuses those logins.
    pub mail_user: Option<Creds>,
}

/// What a login attempt led to.
enum Attempt {
    /// Reply with this tagged line and keep reading.
    Reply(String),
    /// A child runs the session.
    Child(Box<Spawned>, Vec<u8>, String),
    /// The user's session runs in this process.
    InProcess(AuthedUser),
}

struct Conn {
    front: Front,
    ctx: LogCtx,
    writer: WriteHalf<BoxIo>,
    plaintext_ok: bool,
    starttls: Option<StartTls>,
}

impl Conn {
    fn capabilities(&self) -> String {
        let mut caps = String::from("IMAP4rev1 LITERAL+ CHILDREN UIDPLUS SASL-IR");
        if self.starttls.is_some() {
            caps.push_str(" STARTTLS");
        }
        if self.plaintext_ok {
            caps.push_str(" AUTH=PLAIN AUTH=LOGIN");
        } else {
            caps.push_str(" LOGINDISABLED");
        }
        caps
    }

    async fn send(&mut self, text: &str) -> std::io::Result<()> {
        self.writer.write_all(text.as_bytes()).await?;
        self.writer.flush().await
    }

    fn child_env(&self, tag: &str, cmd: &str) -> Vec<(OsString, OsString)> {
        vec![
            (LOGIN_ENV.into(), format!("{cmd}+{tag}").into()),
            ("TCPREMOTEIP".into(), self.front.peer_ip.clone().into()),
        ]
    }

    async fn penalty(&mut self) {
        let secs = self.front.config.auth.penalty_seconds.min(60);
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }

    /// Checks the credentials and starts the session, or says why not. The
    /// per-IP throttle is the same one the in-process session uses.
    async fn attempt(&mut self, tag: &str, cmd: &str, user: &[u8], pass: &[u8]) -> Attempt {
        let cfg = &self.front.config.auth;
        let (max, window) = (
            cfg.throttle_failures,
            Duration::from_secs(cfg.throttle_window),
        );
        let ip = throttle::peer_ip(&self.front.peer_ip);
        if let Some(ip) = ip {
            if throttle::global().is_blocked(ip, max, window, Instant::now()) {
                self.ctx
                    .log("login refused: too many failures from this address");
                return Attempt::Reply(format!(
                    "{tag} NO [UNAVAILABLE] Too many failed logins, try again later\r\n"
                ));
            }
        }
        let result = self.attempt_inner(tag, cmd, user, pass).await;
        if let Some(ip) = ip {
            match &result {
                Attempt::Reply(r) if r.contains("[AUTHENTICATIONFAILED]") => {
                    throttle::global().record_failure(ip, max, window, Instant::now())
                }
                Attempt::Reply(_) => {}
                _ => throttle::global().clear(ip),
            }
        }
        result
    }

    async fn attempt_inner(&mut self, tag: &str, cmd: &str, user: &[u8], pass: &[u8]) -> Attempt {
        let name = String::from_utf8_lossy(user).into_owned();
        let limit = Duration::from_secs(self.front.config.session.auth_timeout.max(10));
        let failed = format!("{tag} NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
        let unavailable =
            format!("{tag} NO [UNAVAILABLE] Temporary authentication failure, try again later\r\n");
        match self.front.backend.clone() {
            Backend::Checkpassword(argv) => {
                let env = self.child_env(tag, cmd);
                match checkpassword::run(&argv, env, user, pass, limit).await {
                    Outcome::Started { session, first } => Attempt::Child(session, first, name),
                    Outcome::Rejected => {
                        self.ctx.log(format_args!("login failed for {name:?}"));
                        self.penalty().await;
                        Attempt::Reply(failed)
                    }
                    Outcome::TempFail(why) => {
                        self.ctx
                            .log(format_args!("login of {name:?} not possible: {why}"));
                        Attempt::Reply(unavailable)
                    }
                }
            }
            Backend::Passwd(auth) => {
                let (u, p) = (name.clone(), pass.to_vec());
                let verified = tokio::task::spawn_blocking(move || auth.verify(&u, &p))
                    .await
                    .ok()
                    .flatten();
                let Some(authed) = verified else {
                    self.ctx.log(format_args!("login failed for {name:?}"));
                    self.penalty().await;
                    return Attempt::Reply(failed);
                };
                // Not root (the daemon dropped root at start, or never had
                // it): the session runs here, as this process's user.
                if privsep::euid() != 0 {
                    return Attempt::InProcess(authed);
                }
                // As root, no session runs in this process: mail is never
                // read as root.
                let creds = match authed.uid {
                    Some(0) => {
                        self.ctx.log(format_args!(
                            "login of {name:?} refused: the password file maps it to uid 0, and mail is never read as root"
                        ));
                        return Attempt::Reply(unavailable);
                    }
                    Some(uid) if self.front.config.chain.privsep => Creds::for_uid(uid, authed.gid),
                    _ => match &self.front.mail_user {
                        Some(c) => c.clone(),
                        None => {
                            self.ctx.log(format_args!(
                                "login of {name:?} refused: no unprivileged mail user for virtual users; set server.user (and server.group) in the config, or give the data directory a non-root owner"
                            ));
                            return Attempt::Reply(unavailable);
                        }
                    },
                };
                match self.spawn_imapd(&authed, creds, tag, cmd, limit).await {
                    Ok((sp, first)) => Attempt::Child(Box::new(sp), first, authed.name),
                    Err(why) => {
                        self.ctx
                            .log(format_args!("cannot start session of {name:?}: {why}"));
                        Attempt::Reply(unavailable)
                    }
                }
            }
        }
    }

    /// Starts `bincimap imapd` with the user's credentials.
    async fn spawn_imapd(
        &mut self,
        user: &AuthedUser,
        creds: Creds,
        tag: &str,
        cmd: &str,
        limit: Duration,
    ) -> Result<(Spawned, Vec<u8>), String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
        let home: PathBuf = user
            .maildir
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        let mut env = self.child_env(tag, cmd);
        env.push(("USER".into(), user.name.clone().into()));
        env.push(("HOME".into(), home.clone().into()));
        env.push((MAILDIR_ENV.into(), user.maildir.clone().into()));
        let spec = ChildSpec {
            argv: vec![exe.into(), "imapd".into()],
            env,
            fd3: None,
            creds: Some(creds),
            dir: Some(home),
        };
        let mut sp = privsep::spawn(&spec).map_err(|e| e.to_string())?;
        match privsep::wait_start(&mut sp, limit).await {
            Start::Talking(first) => Ok((sp, first)),
            Start::Exited(st) => Err(format!("imapd exited at start ({st})")),
            Start::TimedOut => Err("imapd did not start in time".into()),
        }
    }
}

/// Runs pre-auth IMAP on `io` and then the session, until the connection ends.
pub async fn preauth(io: BoxIo, front: Front) -> std::io::Result<()> {
    let limits = FramerLimits {
        max_line: front.config.limits.max_line_length,
        max_literal: PREAUTH_LITERAL,
        max_mem_literal: PREAUTH_LITERAL as usize,
    };
    let (reader, writer) = tokio::io::split(io);
    let mut framer = Framer::new(reader, limits);
    let mut c = Conn {
        ctx: LogCtx::new(front.peer_ip.clone()),
        plaintext_ok: front.plaintext_ok,
        starttls: front.starttls.clone(),
        front,
        writer,
    };
    let greeting = format!("* OK [CAPABILITY {}] bincimap ready\r\n", c.capabilities());
    c.send(&greeting).await?;
    let auth_timeout = Duration::from_secs(c.front.config.session.auth_timeout.max(1));
    loop {
        let read = tokio::time::timeout(auth_timeout, framer.read_command(&mut c.writer, None));
        let raw = match read.await {
            Err(_) => return c.send("* BYE Autologout; idle for too long\r\n").await,
            Ok(Ok(Some(raw))) => raw,
            Ok(Ok(None)) => return Ok(()),
            Ok(Err(FrameError::Io(_))) => return Ok(()),
            Ok(Err(e)) => {
                let tag = e.tag().unwrap_or("*").to_string();
                match e {
                    FrameError::LineTooLong { .. } => {
                        c.send(&format!("{tag} BAD Command line too long\r\n"))
                            .await?;
                        continue;
                    }
                    FrameError::LiteralTooLarge { .. } => {
                        c.send(&format!("{tag} NO [TOOBIG] Literal too large\r\n"))
                            .await?;
                        continue;
                    }
                    _ => return c.send("* BYE [TOOBIG] Literal too large\r\n").await,
                }
            }
        };
        let limits = ParserLimits {
            max_nesting: c.front.config.limits.max_nesting,
        };
        let cmd = match crate::imap::parser::parse_command_with(raw, limits) {
            Ok(cmd) => cmd,
            Err(e) => {
                let tag = e.tag.as_deref().unwrap_or("*");
                let status = match e.kind {
                    crate::imap::parser::ErrorKind::No => "NO",
                    crate::imap::parser::ErrorKind::Bad => "BAD",
                };
                let line = match &e.code {
                    Some(code) => format!("{tag} {status} [{code}] {}\r\n", e.message),
                    None => format!("{tag} {status} {}\r\n", e.message),
                };
                c.send(&line).await?;
                continue;
            }
        };
        let tag = cmd.tag.clone();
        let (kind, user, pass) = match cmd.body {
            CommandBody::Capability => {
                let line = format!(
                    "* CAPABILITY {}\r\n{tag} OK CAPABILITY completed\r\n",
                    c.capabilities()
                );
                c.send(&line).await?;
                continue;
            }
            CommandBody::Noop => {
                c.send(&format!("{tag} OK NOOP completed\r\n")).await?;
                continue;
            }
            CommandBody::Logout => {
                let line = format!("* BYE bincimap logging out\r\n{tag} OK LOGOUT completed\r\n");
                return c.send(&line).await;
            }
            CommandBody::StartTls => {
                let Some(upgrade) = c.starttls.take() else {
                    c.send(&format!("{tag} BAD STARTTLS not available here\r\n"))
                        .await?;
                    continue;
                };
                c.send(&format!("{tag} OK Begin TLS negotiation now\r\n"))
                    .await?;
                // Anything pipelined after STARTTLS is dropped with the
                // framer's buffer: plaintext must never count as TLS input.
                let io = framer.into_inner().unsplit(c.writer);
                let tls = match upgrade(io).await {
                    Ok(t) => t,
                    Err(e) => {
                        c.ctx.log(format_args!("TLS handshake failed: {e}"));
                        return Ok(());
                    }
                };
                let (r, w) = tokio::io::split(tls);
                framer = Framer::new(r, limits_of(&c.front.config));
                c.writer = w;
                c.plaintext_ok = true;
                continue;
            }
            CommandBody::Login { user, pass } => {
                if !c.plaintext_ok {
                    c.send(&privacy(&tag)).await?;
                    continue;
                }
                ("LOGIN", user, pass)
            }
            CommandBody::Authenticate { mechanism, initial } => {
                match sasl(&mut c, &mut framer, &tag, &mechanism, initial).await? {
                    Sasl::Creds(u, p) => ("AUTHENTICATE", u, p),
                    Sasl::Reply(line) => {
                        c.send(&line).await?;
                        continue;
                    }
                }
            }
            other => {
                let line = format!("{tag} BAD {} not allowed before login\r\n", other.name());
                c.send(&line).await?;
                continue;
            }
        };
        match c.attempt(&tag, kind, &user, &pass).await {
            Attempt::Reply(line) => c.send(&line).await?,
            Attempt::Child(mut sp, first, name) => {
                let (reader, pending) = framer.into_parts();
                let io = reader.unsplit(c.writer);
                let mut ctx = c.ctx.clone();
                ctx.set_user(name);
                ctx.log("logged in");
                if c.front.drop_privileges {
                    let chain = &c.front.config.chain;
                    if let Err(e) =
                        privsep::drop_privileges(&chain.relay_user, chain.jail.as_deref())
                    {
                        // Carrying on as root would defeat the point.
                        ctx.log(format_args!("cannot drop privileges: {e}"));
                        let _ = sp.child.start_kill();
                        return Ok(());
                    }
                }
                super::relay::relay(io, sp.stream, pending, first).await;
                // The child has seen EOF (or closed its side); a child that
                // lingers anyway is not allowed to pin this task for ever.
                let grace = Duration::from_secs(30);
                if tokio::time::timeout(grace, sp.child.wait()).await.is_err() {
                    let _ = sp.child.start_kill();
                    let _ = sp.child.wait().await;
                }
                ctx.log("logged out");
                return Ok(());
            }
            Attempt::InProcess(user) => {
                let (reader, pending) = framer.into_parts();
                let mut ctx = c.ctx.clone();
                ctx.set_user(user.name.clone());
                ctx.log("logged in");
                let reader = std::io::Cursor::new(pending).chain(reader);
                let io: BoxIo = Box::new(tokio::io::join(reader, c.writer));
                let auth = match &c.front.backend {
                    Backend::Passwd(a) => Some(Arc::clone(a)),
                    Backend::Checkpassword(_) => None,
                };
                let params = SessionParams {
                    preauth: Some(user),
                    authenticator: auth,
                    config: Arc::clone(&c.front.config),
                    peer: c.front.peer_ip.clone(),
                    plaintext_ok: c.plaintext_ok,
                    starttls: None,
                };
                return session::run_with(io, params, Some((tag, kind.to_string()))).await;
            }
        }
    }
}

fn limits_of(config: &Config) -> FramerLimits {
    FramerLimits {
        max_line: config.limits.max_line_length,
        max_literal: PREAUTH_LITERAL,
        max_mem_literal: PREAUTH_LITERAL as usize,
    }
}

fn privacy(tag: &str) -> String {
    format!(
        "{tag} NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure connections\r\n"
    )
}

enum Sasl {
    Creds(Vec<u8>, Vec<u8>),
    Reply(String),
}

/// Reads one SASL response line; None when the client cancelled or left.
async fn sasl_step<R>(
    c: &mut Conn,
    framer: &mut Framer<R>,
    challenge: &str,
) -> std::io::Result<Result<Vec<u8>, String>>
where
    R: AsyncRead + Unpin + Send,
{
    c.send(&format!("+ {challenge}\r\n")).await?;
    let line = match framer.read_line().await {
        Ok(Some(l)) => l,
        _ => return Err(std::io::ErrorKind::UnexpectedEof.into()),
    };
    if line.trim_ascii() == b"*" {
        return Ok(Err("BAD Authentication canceled".into()));
    }
    match base64::engine::general_purpose::STANDARD.decode(line.trim_ascii()) {
        Ok(d) => Ok(Ok(d)),
        Err(_) => Ok(Err("BAD Invalid base64 in authentication response".into())),
    }
}

/// AUTHENTICATE PLAIN (RFC 4616) and LOGIN, with SASL-IR's initial response.
async fn sasl<R>(
    c: &mut Conn,
    framer: &mut Framer<R>,
    tag: &str,
    mechanism: &str,
    initial: Option<Vec<u8>>,
) -> std::io::Result<Sasl>
where
    R: AsyncRead + Unpin + Send,
{
    let plain = mechanism.eq_ignore_ascii_case("PLAIN");
    if !plain && !mechanism.eq_ignore_ascii_case("LOGIN") {
        return Ok(Sasl::Reply(format!(
            "{tag} NO Unsupported authentication mechanism\r\n"
        )));
    }
    if !c.plaintext_ok {
        return Ok(Sasl::Reply(privacy(tag)));
    }
    let fail = |t: String| Sasl::Reply(format!("{tag} {t}\r\n"));
    if plain {
        let response = match initial {
            Some(r) => r,
            None => match sasl_step(c, framer, "").await? {
                Ok(r) => r,
                Err(t) => return Ok(fail(t)),
            },
        };
        let mut parts = response.split(|&b| b == 0);
        let (Some(authz), Some(authc), Some(pass), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Ok(fail("BAD Malformed PLAIN response".into()));
        };
        if !authz.is_empty() && authz != authc {
            return Ok(fail(
                "NO [AUTHORIZATIONFAILED] Authorization as another user is not permitted".into(),
            ));
        }
        return Ok(Sasl::Creds(authc.to_vec(), pass.to_vec()));
    }
    // LOGIN: "Username:" and "Password:" challenges.
    let user = match initial {
        Some(u) => u,
        None => match sasl_step(c, framer, "VXNlcm5hbWU6").await? {
            Ok(u) => u,
            Err(t) => return Ok(fail(t)),
        },
    };
    let pass = match sasl_step(c, framer, "UGFzc3dvcmQ6").await? {
        Ok(p) => p,
        Err(t) => return Ok(fail(t)),
    };
    Ok(Sasl::Creds(user, pass))
}

/// For `serve`: the pre-auth front end to use for a connection, when
/// logins must leave the daemon (checkpassword configured, or running as
/// root with privilege separation on and users with their own uid in the
/// password file); None to run the usual in-process session.
pub fn serve_front(
    config: &Arc<Config>,
    authenticator: &Arc<dyn Authenticator>,
    peer: &std::net::SocketAddr,
    plaintext_ok: bool,
    starttls: &Option<StartTls>,
) -> Option<Front> {
    let backend = match &config.chain.checkpassword {
        Some(prog) => {
            let exe = std::env::current_exe().ok()?;
            Backend::Checkpassword(vec![prog.clone().into(), exe.into(), "imapd".into()])
        }
        // Still root: `serve` kept root because some user needs a child
        // with its own uid; every session then leaves the daemon.
        None if privsep::euid() == 0 => Backend::Passwd(Arc::clone(authenticator)),
        None => return None,
    };
    Some(Front {
        config: Arc::clone(config),
        peer_ip: peer.ip().to_string(),
        plaintext_ok,
        starttls: starttls.clone(),
        backend,
        drop_privileges: false,
        mail_user: None,
    })
}

/// The client connection of `bincimap up`: the socket on fd 0 when it is
/// one (tcpserver, xinetd, systemd `Accept=yes`), else stdin + stdout.
fn stdio_conn() -> std::io::Result<(BoxIo, Option<String>)> {
    use std::os::fd::FromRawFd;
    // SAFETY: fstat fills the struct for a valid fd or fails.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let is_sock =
        unsafe { libc::fstat(0, &mut st) } == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFSOCK;
    if is_sock {
        // A close-on-exec duplicate: children must never get the raw
        // client socket, only the relay.
        // SAFETY: fcntl on fd 0, which is open (fstat succeeded).
        let fd = unsafe { libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 3) };
        if fd >= 0 {
            // SAFETY: fd is a fresh descriptor we own.
            let s = unsafe { std::net::TcpStream::from_raw_fd(fd) };
            s.set_nonblocking(true)?;
            let peer = s.peer_addr().ok().map(|a| a.ip().to_string());
            let s = tokio::net::TcpStream::from_std(s)?;
            return Ok((Box::new(s), peer));
        }
    }
    Ok((
        Box::new(tokio::io::join(tokio::io::stdin(), tokio::io::stdout())),
        None,
    ))
}

/// The TLS state for `up`: only from `tls.cert_file`/`tls.key_file` (read
/// now, as root, before privileges are dropped). No self-signed fallback:
/// each connection is its own process, with no data directory to keep one.
fn up_tls(config: &Config) -> Result<Option<Arc<super::tls::TlsState>>, String> {
    match (&config.tls.cert_file, &config.tls.key_file) {
        (Some(cert), Some(key)) => super::tls::TlsState::load(cert, key)
            .map(|t| Some(Arc::new(t)))
            .map_err(|e| e.to_string()),
        _ => Ok(None),
    }
}

/// `bincimap up [--ssl] -- CHECKPASSWORD-PROGRAM bincimap imapd`.
pub fn run(config: Config, ssl: bool, argv: Vec<OsString>) -> Result<(), String> {
    if argv.is_empty() {
        return Err(
            "usage: bincimap up [--ssl] [--conf FILE] -- CHECKPASSWORD bincimap imapd".into(),
        );
    }
    let tls = match up_tls(&config) {
        Ok(t) => t,
        Err(e) if ssl => return Err(e),
        Err(e) => {
            // Plaintext still works (on loopback or when allowed).
            super::log::warn(format_args!("{e}; STARTTLS not offered"));
            None
        }
    };
    if ssl && tls.is_none() {
        return Err("--ssl needs tls.cert_file and tls.key_file in the config".into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let result = runtime.block_on(async {
        let (io, sock_peer) = stdio_conn()?;
        let peer_ip = remote_ip_from_env()
            .or(sock_peer)
            .unwrap_or_else(|| "unknown".into());
        let handshake = Duration::from_secs(config.session.auth_timeout.max(1));
        let (io, secure, starttls): (BoxIo, bool, Option<StartTls>) = match &tls {
            Some(t) if ssl => match t.accept(io, handshake).await {
                Ok(s) => (Box::new(s), true, None),
                Err(e) => {
                    LogCtx::new(peer_ip.clone()).log(format_args!("TLS handshake failed: {e}"));
                    return Ok(());
                }
            },
            Some(t) if !config.tls.disable_starttls => {
                (io, false, Some(t.starttls_hook(handshake)))
            }
            _ => (io, false, None),
        };
        let plaintext_ok = secure || config.auth.allow_plaintext || is_loopback(&peer_ip);
        let front = Front {
            config: Arc::new(config),
            peer_ip,
            plaintext_ok,
            starttls,
            backend: Backend::Checkpassword(argv),
            drop_privileges: true,
            mail_user: None,
        };
        preauth(io, front).await
    });
    // tokio's stdin reader may sit in a blocking read; don't wait for it.
    runtime.shutdown_background();
    result.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_env() {
        assert_eq!(
            parse_login_env("LOGIN+a001"),
            Some(("a001".into(), "LOGIN".into()))
        );
        assert_eq!(
            parse_login_env("AUTHENTICATE+x.1"),
            Some(("x.1".into(), "AUTHENTICATE".into()))
        );
        assert_eq!(parse_login_env("LOGIN+"), None);
        assert_eq!(parse_login_env("LOGIN+a b"), None);
        assert_eq!(parse_login_env("SELECT+a"), None);
        assert_eq!(parse_login_env("LOGINa"), None);
    }

    #[test]
    fn loopback() {
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("::1"));
        assert!(!is_loopback("192.0.2.1"));
        assert!(!is_loopback("unknown"));
    }

    fn front(backend: Backend) -> Front {
        let mut cfg = Config::default();
        cfg.auth.penalty_seconds = 0;
        Front {
            config: Arc::new(cfg),
            peer_ip: "127.0.0.1".into(),
            plaintext_ok: true,
            starttls: None,
            backend,
            drop_privileges: false,
            mail_user: None,
        }
    }

    /// Runs a scripted client against `preauth` and returns all it got.
    async fn converse(backend: Backend, input: &[u8]) -> String {
        let (outer, inner) = tokio::io::duplex(1 << 16);
        let task = tokio::spawn(preauth(Box::new(inner), front(backend)));
        let (mut r, mut w) = tokio::io::split(outer);
        w.write_all(input).await.unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).await.unwrap();
        task.await.unwrap().unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    fn checkpw() -> Backend {
        // Accepts bob/pw and runs a fake imapd that answers the LOGIN.
        let script = r#"IFS= read -r -d '' u <&3; IFS= read -r -d '' p <&3
            [ "$u" = bob ] && [ "$p" = pw ] || exit 1
            t=${BINCIMAP_LOGIN#*+}; printf '%s OK %s completed\r\n' "$t" "${BINCIMAP_LOGIN%%+*}"
            read -r line; printf '* seen %s\n' "$line""#;
        Backend::Checkpassword(vec!["bash".into(), "-c".into(), script.into()])
    }

    #[tokio::test]
    async fn preauth_commands_and_chain_login() {
        let out = converse(
            checkpw(),
            b"a CAPABILITY\r\nb NOOP\r\nc SELECT INBOX\r\nd LOGIN bob bad\r\ne LOGIN bob pw\r\nf NOOP\r\n",
        )
        .await;
        assert!(out.starts_with("* OK [CAPABILITY IMAP4rev1"), "{out}");
        assert!(out.contains("AUTH=PLAIN AUTH=LOGIN"), "{out}");
        assert!(out.contains("a OK CAPABILITY completed"), "{out}");
        assert!(out.contains("b OK NOOP"), "{out}");
        assert!(out.contains("c BAD SELECT not allowed"), "{out}");
        assert!(out.contains("d NO [AUTHENTICATIONFAILED]"), "{out}");
        assert!(out.contains("e OK LOGIN completed"), "{out}");
        // The pipelined command after LOGIN reached the child.
        assert!(out.contains("* seen f NOOP"), "{out}");
    }

    #[tokio::test]
    async fn sasl_plain_and_login() {
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        let input = format!("a AUTHENTICATE PLAIN {}\r\nx NOOP\r\n", b64(b"\0bob\0pw"));
        let out = converse(checkpw(), input.as_bytes()).await;
        assert!(out.contains("a OK AUTHENTICATE completed"), "{out}");
        let input = format!(
            "a AUTHENTICATE LOGIN\r\n{}\r\n{}\r\nx NOOP\r\n",
            b64(b"bob"),
            b64(b"pw")
        );
        let out = converse(checkpw(), input.as_bytes()).await;
        assert!(out.contains("+ VXNlcm5hbWU6"), "{out}");
        assert!(out.contains("+ UGFzc3dvcmQ6"), "{out}");
        assert!(out.contains("a OK AUTHENTICATE completed"), "{out}");
        let out = converse(checkpw(), b"a AUTHENTICATE PLAIN\r\n*\r\nb LOGOUT\r\n").await;
        assert!(out.contains("a BAD Authentication canceled"), "{out}");
        assert!(out.contains("b OK LOGOUT"), "{out}");
    }

    #[tokio::test]
    async fn temporary_failures_keep_the_connection() {
        let t111 = Backend::Checkpassword(vec!["sh".into(), "-c".into(), "exit 111".into()]);
        let out = converse(t111, b"a LOGIN u p\r\nb LOGOUT\r\n").await;
        assert!(out.contains("a NO [UNAVAILABLE]"), "{out}");
        assert!(out.contains("b OK LOGOUT"), "{out}");
        let missing = Backend::Checkpassword(vec!["/nonexistent/checkpw".into()]);
        let out = converse(missing, b"a LOGIN u p\r\nb LOGOUT\r\n").await;
        assert!(out.contains("a NO [UNAVAILABLE]"), "{out}");
    }

    /// What `imapd` does under the chain: answer the pending LOGIN.
    #[tokio::test]
    async fn imapd_answers_the_pending_login() {
        let dir = tempfile::tempdir().unwrap();
        let (outer, inner) = tokio::io::duplex(1 << 16);
        let params = SessionParams {
            preauth: Some(AuthedUser {
                name: "bob".into(),
                maildir: dir.path().join("Maildir"),
                uid: None,
                gid: None,
            }),
            authenticator: None,
            config: Arc::new(Config::default()),
            peer: "127.0.0.1".into(),
            plaintext_ok: true,
            starttls: None,
        };
        let login = parse_login_env("LOGIN+a7");
        let task = tokio::spawn(session::run_with(Box::new(inner), params, login));
        let (mut r, mut w) = tokio::io::split(outer);
        w.write_all(b"a8 LOGOUT\r\n").await.unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).await.unwrap();
        task.await.unwrap().unwrap();
        let out = String::from_utf8_lossy(&out);
        assert!(out.starts_with("a7 OK [CAPABILITY IMAP4rev1"), "{out}");
        assert!(out.contains("] LOGIN completed\r\n"), "{out}");
        assert!(!out.contains("PREAUTH"), "{out}");
        assert!(out.contains("a8 OK"), "{out}");
    }

    #[test]
    fn serve_uses_the_front_only_when_needed() {
        const H: &str = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";
        let dir = tempfile::tempdir().unwrap();
        let open = |name: &str, text: String| -> Arc<dyn Authenticator> {
            let pw = dir.path().join(name);
            std::fs::write(&pw, text).unwrap();
            Arc::new(crate::auth::passwd::PasswdFile::open(&pw, "Maildir", dir.path()).unwrap())
        };
        let virt = open("virt", format!("virt:{H}\n"));
        let auth = open("sys", format!("virt:{H}\nsys:{H}:4242:4242:/home/sys\n"));
        let peer = "127.0.0.1:5".parse().unwrap();
        let mut cfg = Config::default();
        // Not root: the session stays in-process. Root (which `serve` only
        // keeps when some user needs its own uid): every login leaves.
        let root = privsep::euid() == 0;
        let front = serve_front(&Arc::new(cfg.clone()), &virt, &peer, true, &None);
        assert_eq!(front.is_some(), root);
        assert!(auth.has_other_uids(privsep::euid()));
        let front = serve_front(&Arc::new(cfg.clone()), &auth, &peer, true, &None);
        assert_eq!(front.is_some(), root);
        cfg.chain.privsep = false;
        let front = serve_front(&Arc::new(cfg.clone()), &auth, &peer, true, &None);
        assert_eq!(front.is_some(), root);
        cfg.chain.checkpassword = Some("/bin/checkpassword".into());
        let front = serve_front(&Arc::new(cfg), &auth, &peer, true, &None).unwrap();
        match front.backend {
            Backend::Checkpassword(argv) => {
                assert_eq!(argv.first().unwrap(), "/bin/checkpassword");
                assert_eq!(argv.last().unwrap(), "imapd");
            }
            Backend::Passwd(_) => panic!("expected checkpassword"),
        }
    }

    /// Commands pipelined behind STARTTLS are dropped, not run after the
    /// upgrade (the hook here is a pass-through standing in for TLS).
    #[tokio::test]
    async fn starttls_drops_pipelined_input() {
        let (outer, inner) = tokio::io::duplex(1 << 16);
        let mut f = front(checkpw());
        f.plaintext_ok = false;
        let hook: StartTls = Arc::new(|io: BoxIo| Box::pin(async move { Ok(io) }));
        f.starttls = Some(hook);
        let task = tokio::spawn(preauth(Box::new(inner), f));
        let (mut r, mut w) = tokio::io::split(outer);
        w.write_all(b"a STARTTLS\r\nb LOGIN bob pw\r\n")
            .await
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        while !String::from_utf8_lossy(&got).contains("a OK") {
            let n = r.read(&mut buf).await.unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        w.write_all(b"c CAPABILITY\r\nd LOGOUT\r\n").await.unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).await.unwrap();
        task.await.unwrap().unwrap();
        let all = String::from_utf8_lossy(&got).into_owned() + &String::from_utf8_lossy(&out);
        assert!(all.contains("STARTTLS"), "{all}");
        assert!(!all.contains("b OK") && !all.contains("b NO"), "{all}");
        // After the upgrade: no STARTTLS again, plaintext login allowed.
        let after = String::from_utf8_lossy(&out);
        assert!(
            after.contains("AUTH=PLAIN") && !after.contains("STARTTLS"),
            "{after}"
        );
        assert!(after.contains("d OK LOGOUT"), "{after}");
    }

    #[tokio::test]
    async fn privacy_without_plaintext() {
        let (outer, inner) = tokio::io::duplex(1 << 16);
        let mut f = front(checkpw());
        f.plaintext_ok = false;
        let task = tokio::spawn(preauth(Box::new(inner), f));
        let (mut r, mut w) = tokio::io::split(outer);
        w.write_all(b"a LOGIN bob pw\r\nb AUTHENTICATE PLAIN\r\nc LOGOUT\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).await.unwrap();
        task.await.unwrap().unwrap();
        let out = String::from_utf8_lossy(&out);
        assert!(out.contains("LOGINDISABLED"), "{out}");
        assert!(out.contains("a NO [PRIVACYREQUIRED]"), "{out}");
        assert!(out.contains("b NO [PRIVACYREQUIRED]"), "{out}");
    }
}
