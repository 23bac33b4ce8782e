//! The session state machine: reads commands, checks that each is valid in
//! the current state (RFC 3501 §3), dispatches to its handler in
//! [`crate::imap::cmd`], and writes the tagged result.
//!
//! Handlers write untagged responses into [`Session::out`], a byte buffer
//! flushed at the end of each command (and during long FETCHes), so most
//! handlers are plain synchronous code. Storage calls are short blocking
//! file operations made from the session task.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};

use crate::auth::{AuthedUser, Authenticator};
use crate::config::Config;
use crate::imap::cmd;
use crate::imap::command::{Command, CommandBody};
use crate::imap::parser::{ErrorKind, FrameError, Framer, FramerLimits, ParseError};
use crate::imap::view::Selected;
use crate::store::{Store, StoreError};

/// A client connection: TCP, TLS over TCP, or stdin+stdout joined.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
pub type BoxIo = Box<dyn Io>;

/// Turns a plaintext connection into a TLS one (server side handshake).
pub type StartTls = Arc<
    dyn Fn(BoxIo) -> Pin<Box<dyn Future<Output = std::io::Result<BoxIo>> + Send>> + Send + Sync,
>;

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
    /// Some when STARTTLS is offered on this (plaintext) connection.
    pub starttls: Option<StartTls>,
}

/// RFC 3501 §3 connection states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    NotAuthenticated,
    Authenticated,
    Selected,
    Logout,
}

/// The outcome of one command, written as its tagged response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tagged {
    Ok(Option<String>, String),
    No(Option<String>, String),
    Bad(String),
}

impl Tagged {
    pub fn ok(text: impl Into<String>) -> Tagged {
        Tagged::Ok(None, text.into())
    }
    pub fn no(text: impl Into<String>) -> Tagged {
        Tagged::No(None, text.into())
    }
    pub fn no_code(code: &str, text: impl Into<String>) -> Tagged {
        Tagged::No(Some(code.to_string()), text.into())
    }
    pub fn bad(text: impl Into<String>) -> Tagged {
        Tagged::Bad(text.into())
    }
}

/// Maps a store failure to a tagged NO with the RFC 5530 code that fits.
/// `missing_code` is NONEXISTENT for most commands and TRYCREATE for
/// APPEND/COPY (RFC 3501 §6.3.11).
pub fn store_error(e: &StoreError, missing_code: &str) -> Tagged {
    let code = match e {
        StoreError::NotFound(_) => missing_code,
        StoreError::AlreadyExists(_) => "ALREADYEXISTS",
        StoreError::InvalidName(_) | StoreError::Cannot(_) => "CANNOT",
        StoreError::MessageGone(_) => "EXPUNGEISSUED",
        StoreError::ReadOnly => "READ-ONLY",
        StoreError::Locked(_) => "INUSE",
        StoreError::Io { .. } => "SERVERBUG",
    };
    if let StoreError::Io { .. } = e {
        crate::imap::log_line(&format!("store error: {e}"));
    }
    Tagged::No(Some(code.into()), e.to_string())
}

pub struct Session {
    pub config: Arc<Config>,
    pub state: State,
    pub user: Option<AuthedUser>,
    pub store: Option<Box<dyn Store>>,
    pub selected: Option<Selected>,
    pub authenticator: Option<Arc<dyn Authenticator>>,
    pub plaintext_ok: bool,
    pub peer: String,
    /// Untagged responses waiting to be written.
    pub out: Vec<u8>,
    /// Offered until used; None on TLS connections and after STARTTLS.
    pub starttls: Option<StartTls>,
    writer: WriteHalf<BoxIo>,
}

impl Session {
    /// Writes buffered output to the client.
    pub async fn flush(&mut self) -> std::io::Result<()> {
        if !self.out.is_empty() {
            self.writer.write_all(&self.out).await?;
            self.out.clear();
        }
        self.writer.flush().await
    }

    /// Flushes only when the buffer is large, to bound memory in big FETCHes.
    pub async fn flush_if_large(&mut self) -> std::io::Result<()> {
        if self.out.len() >= 256 * 1024 {
            self.flush().await?;
        }
        Ok(())
    }

    /// Appends one untagged line (`* ` + text + CRLF).
    pub fn untagged(&mut self, text: &str) {
        self.out.extend_from_slice(b"* ");
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    pub fn capabilities(&self) -> String {
        let mut caps = String::from("IMAP4rev1 LITERAL+ CHILDREN UIDPLUS");
        if self.state == State::NotAuthenticated {
            if self.starttls.is_some() {
                caps.push_str(" STARTTLS");
            }
            if self.plaintext_ok {
                caps.push_str(" AUTH=PLAIN AUTH=LOGIN SASL-IR");
            } else {
                caps.push_str(" LOGINDISABLED");
            }
        }
        caps
    }

    /// Called after login or PREAUTH: opens the user's depot.
    pub fn enter_authenticated(&mut self, user: AuthedUser) -> Result<(), StoreError> {
        let store = crate::store::maildir::MaildirStore::open(
            &user.maildir,
            self.config.mailbox.auto_create_inbox,
        )?;
        if let Ok(subs) = store.subscriptions() {
            if subs.is_empty() {
                for name in &self.config.mailbox.auto_subscribe {
                    let _ = store.subscribe(name);
                }
            }
        }
        self.store = Some(Box::new(store));
        self.user = Some(user);
        self.state = State::Authenticated;
        Ok(())
    }

    fn write_tagged(&mut self, tag: &str, t: &Tagged) {
        let line = match t {
            Tagged::Ok(code, text) => fmt_status(tag, "OK", code.as_deref(), text),
            Tagged::No(code, text) => fmt_status(tag, "NO", code.as_deref(), text),
            Tagged::Bad(text) => fmt_status(tag, "BAD", None, text),
        };
        self.out.extend_from_slice(line.as_bytes());
    }
}

fn fmt_status(tag: &str, status: &str, code: Option<&str>, text: &str) -> String {
    match code {
        Some(c) => format!("{tag} {status} [{c}] {text}\r\n"),
        None => format!("{tag} {status} {text}\r\n"),
    }
}

/// Which states may run a command.
fn allowed(body: &CommandBody, state: State) -> bool {
    use CommandBody::*;
    match body {
        Capability | Noop | Logout => true,
        Login { .. } | Authenticate { .. } | StartTls => state == State::NotAuthenticated,
        Select { .. }
        | Create { .. }
        | Delete { .. }
        | Rename { .. }
        | Subscribe { .. }
        | Unsubscribe { .. }
        | List { .. }
        | Status { .. }
        | Append { .. } => matches!(state, State::Authenticated | State::Selected),
        Check
        | Close
        | Expunge
        | UidExpunge { .. }
        | Search { .. }
        | Fetch { .. }
        | Store { .. }
        | Copy { .. } => state == State::Selected,
    }
}

/// True for commands during which EXPUNGE responses must not be sent
/// (RFC 3501 §7.4.1): the sequence-number forms of FETCH, STORE, SEARCH.
fn forbids_expunge(body: &CommandBody) -> bool {
    matches!(
        body,
        CommandBody::Fetch { uid: false, .. }
            | CommandBody::Store { uid: false, .. }
            | CommandBody::Search { uid: false, .. }
    )
}

/// Runs one IMAP session to completion.
pub async fn run(io: BoxIo, params: SessionParams) -> std::io::Result<()> {
    run_with(io, params, None).await
}

/// Like [`run`]; for a PREAUTH session started by a login front end
/// (`bincimap up`, privilege separation), `login` = (tag, command) makes the
/// greeting the front end's pending tagged reply, as Binc's bincimapd did:
/// `<tag> OK [CAPABILITY …] LOGIN completed`.
pub async fn run_with(
    io: BoxIo,
    params: SessionParams,
    login: Option<(String, String)>,
) -> std::io::Result<()> {
    let limits = FramerLimits {
        max_line: params.config.limits.max_line_length,
        max_literal: params.config.limits.max_literal_size,
        max_mem_literal: 256 * 1024,
    };
    let (reader, writer) = tokio::io::split(io);
    let mut framer = Framer::new(reader, limits);
    let mut s = Session {
        config: params.config.clone(),
        state: State::NotAuthenticated,
        user: None,
        store: None,
        selected: None,
        authenticator: params.authenticator,
        plaintext_ok: params.plaintext_ok,
        peer: params.peer,
        out: Vec::with_capacity(4096),
        starttls: params.starttls,
        writer,
    };

    match params.preauth {
        Some(user) => {
            let name = user.name.clone();
            if let Err(e) = s.enter_authenticated(user) {
                s.untagged(&format!("BYE Cannot open mail depot: {e}"));
                return s.flush().await;
            }
            match &login {
                Some((tag, cmd)) => {
                    let line = fmt_status(
                        tag,
                        "OK",
                        Some(&format!("CAPABILITY {}", s.capabilities())),
                        &format!("{cmd} completed"),
                    );
                    s.out.extend_from_slice(line.as_bytes());
                }
                None => s.untagged(&format!(
                    "PREAUTH [CAPABILITY {}] bincimap ready, logged in as {name}",
                    s.capabilities()
                )),
            }
        }
        None => {
            s.untagged(&format!(
                "OK [CAPABILITY {}] bincimap ready",
                s.capabilities()
            ));
        }
    }
    s.flush().await?;

    loop {
        let timeout = if s.state == State::NotAuthenticated {
            s.config.session.auth_timeout
        } else {
            s.config.session.idle_timeout
        };
        let spool = s.store.as_ref().map(|st| st.spool_dir());
        let read = tokio::time::timeout(
            Duration::from_secs(timeout.max(1)),
            framer.read_command(&mut s.writer, spool.as_deref()),
        )
        .await;
        let raw = match read {
            Err(_) => {
                s.untagged(if s.state == State::NotAuthenticated {
                    "BYE Autologout; authentication timed out"
                } else {
                    "BYE Autologout; idle for too long"
                });
                return s.flush().await;
            }
            Ok(Ok(Some(raw))) => raw,
            Ok(Ok(None)) => return s.flush().await,
            Ok(Err(e)) => match frame_error_response(&e) {
                FrameOutcome::Continue(line) => {
                    s.out.extend_from_slice(line.as_bytes());
                    s.flush().await?;
                    continue;
                }
                FrameOutcome::Close(line) => {
                    s.out.extend_from_slice(line.as_bytes());
                    let _ = s.flush().await;
                    return Ok(());
                }
            },
        };
        let limits = crate::imap::parser::ParserLimits {
            max_nesting: s.config.limits.max_nesting,
        };
        let cmd = match crate::imap::parser::parse_command_with(raw, limits) {
            Ok(c) => c,
            Err(e) => {
                let line = parse_error_response(&e);
                s.out.extend_from_slice(line.as_bytes());
                s.flush().await?;
                continue;
            }
        };
        let tag = cmd.tag.clone();
        if matches!(cmd.body, CommandBody::StartTls) && s.state == State::NotAuthenticated {
            match s.starttls.take() {
                None => {
                    s.write_tagged(&tag, &Tagged::bad("STARTTLS not available here"));
                    s.flush().await?;
                }
                Some(upgrade) => {
                    s.write_tagged(&tag, &Tagged::ok("Begin TLS negotiation now"));
                    s.flush().await?;
                    if framer.buffered() > 0 {
                        crate::imap::log_line(&format!(
                            "{}: discarded {} bytes sent after STARTTLS before the TLS handshake",
                            s.peer,
                            framer.buffered()
                        ));
                    }
                    // into_inner drops anything pipelined after STARTTLS:
                    // plaintext must never be read as if it came over TLS.
                    let (new_framer, writer) = match start_tls(framer, s.writer, upgrade).await {
                        Ok(x) => x,
                        Err(e) => {
                            crate::imap::log_line(&format!(
                                "{}: TLS handshake failed: {e}",
                                s.peer
                            ));
                            return Ok(());
                        }
                    };
                    framer = new_framer;
                    s.writer = writer;
                    s.plaintext_ok = true;
                }
            }
            continue;
        }
        let is_logout = matches!(cmd.body, CommandBody::Logout);
        let no_expunge = forbids_expunge(&cmd.body);
        let result = if !allowed(&cmd.body, s.state) {
            Tagged::bad(format!("{} not allowed in this state", cmd.body.name()))
        } else {
            dispatch(&mut s, cmd, &mut framer).await?
        };
        if s.state == State::Selected && !is_logout {
            blocking(|| crate::imap::view::announce_changes(&mut s, !no_expunge));
            if s.state == State::Logout {
                // The mailbox vanished under us: BYE was sent, and like
                // Dovecot we close without completing the command.
                return s.flush().await;
            }
        }
        s.write_tagged(&tag, &result);
        s.flush().await?;
        if s.state == State::Logout {
            // On TLS this sends close_notify, so clients see a clean end
            // rather than a truncation.
            let _ = s.writer.shutdown().await;
            return Ok(());
        }
    }
}

/// Runs mail-store work (blocking file I/O, lock waits) so it does not stall
/// other sessions on the same runtime worker: on a multi-threaded runtime
/// the worker hands its other tasks off first. `imapd` runs a single
/// session on a current-thread runtime, where this is a plain call.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Reassembles the connection, runs the TLS handshake and splits it again.
async fn start_tls(
    framer: Framer<ReadHalf<BoxIo>>,
    writer: WriteHalf<BoxIo>,
    upgrade: StartTls,
) -> std::io::Result<(Framer<ReadHalf<BoxIo>>, WriteHalf<BoxIo>)> {
    let limits = framer.limits();
    let reader = framer.into_inner();
    let io = reader.unsplit(writer);
    let tls = upgrade(io).await?;
    let (r, w) = tokio::io::split(tls);
    Ok((Framer::new(r, limits), w))
}

enum FrameOutcome {
    Continue(String),
    Close(String),
}

/// Limit violations the framer recovered from get a tagged answer and the
/// session goes on; anything else ends it.
fn frame_error_response(e: &FrameError) -> FrameOutcome {
    let tag = e.tag().unwrap_or("*").to_string();
    match e {
        FrameError::Io(err) => FrameOutcome::Close(format!("* BYE I/O error: {err}\r\n")),
        FrameError::LineTooLong { .. } => {
            FrameOutcome::Continue(format!("{tag} BAD Command line too long\r\n"))
        }
        FrameError::LiteralTooLarge { .. } => {
            FrameOutcome::Continue(format!("{tag} NO [TOOBIG] Literal too large\r\n"))
        }
        FrameError::NonSyncLiteralTooLarge { .. } => {
            FrameOutcome::Close("* BYE [TOOBIG] Literal too large\r\n".to_string())
        }
    }
}

fn parse_error_response(e: &ParseError) -> String {
    let tag = e.tag.as_deref().unwrap_or("*");
    let status = match e.kind {
        ErrorKind::No => "NO",
        ErrorKind::Bad => "BAD",
    };
    match &e.code {
        Some(code) => format!("{tag} {status} [{code}] {}\r\n", e.message),
        None => format!("{tag} {status} {}\r\n", e.message),
    }
}

async fn dispatch<R>(
    s: &mut Session,
    cmd: Command,
    framer: &mut Framer<R>,
) -> std::io::Result<Tagged>
where
    R: AsyncRead + Unpin + Send,
{
    use CommandBody::*;
    let name = cmd.body.name();
    Ok(match cmd.body {
        Capability => cmd::any::capability(s),
        Noop => cmd::any::noop(s),
        Logout => cmd::any::logout(s),
        StartTls => Tagged::bad("STARTTLS not allowed in this state"),
        Login { user, pass } => cmd::auth::login(s, &user, &pass).await,
        Authenticate { mechanism, initial } => {
            cmd::auth::authenticate(s, &cmd.tag, &mechanism, initial, framer).await?
        }
        Select { mailbox, read_only } => blocking(|| cmd::select::select(s, &mailbox, read_only)),
        Create { mailbox } => blocking(|| cmd::mailbox::create(s, &mailbox)),
        Delete { mailbox } => blocking(|| cmd::mailbox::delete(s, &mailbox)),
        Rename { from, to } => blocking(|| cmd::mailbox::rename(s, &from, &to)),
        Subscribe { mailbox } => blocking(|| cmd::mailbox::subscribe(s, &mailbox, true)),
        Unsubscribe { mailbox } => blocking(|| cmd::mailbox::subscribe(s, &mailbox, false)),
        List {
            reference,
            pattern,
            lsub,
        } => blocking(|| cmd::list::list(s, &reference, &pattern, lsub)),
        Status { mailbox, items } => blocking(|| cmd::status::status(s, &mailbox, &items)),
        Append {
            mailbox,
            flags,
            date,
            message,
        } => blocking(|| cmd::append::append(s, &mailbox, &flags, date, message)),
        Check => cmd::selected::check(s),
        Close => blocking(|| cmd::selected::close(s)),
        Expunge => blocking(|| cmd::selected::expunge(s, None)),
        UidExpunge { set } => blocking(|| cmd::selected::expunge(s, Some(&set))),
        Search { uid, charset, key } => blocking(|| cmd::search::search(s, uid, charset, key)),
        Fetch { uid, set, items } => cmd::fetch::fetch(s, uid, &set, &items).await?,
        Store {
            uid,
            set,
            op,
            silent,
            flags,
        } => blocking(|| cmd::store::store(s, uid, &set, op, silent, &flags)),
        Copy { uid, set, mailbox } => blocking(|| cmd::copy::copy(s, uid, &set, &mailbox)),
    })
    .map(|t| match t {
        Tagged::Ok(code, text) if text.is_empty() => Tagged::Ok(code, format!("{name} completed")),
        other => other,
    })
}
