//! `bincimap serve`: the standalone daemon. Sets up the data directory (and
//! the demo user on first start), loads the password file, builds a small
//! multi-thread runtime and runs the listeners until SIGINT/SIGTERM.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::data::{self, DataError};
use super::dropuser::{self, MailUser};
use super::listener::{ListenerKind, ListenerSpec, Server};
use super::log;
use super::privsep;
use super::tls::{self, TlsError, TlsState};
use crate::auth::passwd::{PasswdError, PasswdFile};
use crate::auth::Authenticator;
use crate::config::{Config, ConfigError};

#[derive(Debug)]
pub enum ServeError {
    Config(ConfigError),
    Data(DataError),
    Passwd(PasswdError),
    Tls(TlsError),
    NoListeners,
    /// `server.user`/`server.group` unusable, or no mail user at all.
    User(String),
    Io(std::io::Error),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Config(e) => write!(f, "{e}"),
            ServeError::Data(e) => write!(f, "{e}"),
            ServeError::Passwd(e) => write!(f, "{e}"),
            ServeError::Tls(e) => write!(f, "{e}"),
            ServeError::NoListeners => {
                write!(f, "nothing to listen on: set server.listen or --listen")
            }
            ServeError::User(e) => write!(f, "{e}"),
            ServeError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ServeError {}

/// Runs the daemon until a signal; returns after a clean shutdown.
pub fn run(config: Config) -> Result<(), ServeError> {
    let mut specs: Vec<ListenerSpec> = config
        .listen_addrs()
        .map_err(ServeError::Config)?
        .into_iter()
        .map(|addr| ListenerSpec {
            addr,
            kind: ListenerKind::Plain,
        })
        .collect();
    specs.extend(
        config
            .tls_listen_addrs()
            .map_err(ServeError::Config)?
            .into_iter()
            .map(|addr| ListenerSpec {
                addr,
                kind: ListenerKind::Tls,
            }),
    );
    if specs.is_empty() {
        return Err(ServeError::NoListeners);
    }

    let data_dir = config.data_dir().map_err(ServeError::Config)?;
    data::ensure_dir(&data_dir).map_err(ServeError::Data)?;
    let passwd_path = config.passwd_file().map_err(ServeError::Config)?;
    // The demo user is only made for the default password file: a
    // configured file that is missing is an administrator's mistake.
    if config.auth.passwd_file.is_none() {
        first_start(&passwd_path, &data_dir).map_err(ServeError::Data)?;
    }
    let passwd = PasswdFile::open(&passwd_path, &config.mailbox.path, &data_dir)
        .map_err(ServeError::Passwd)?;
    if passwd.user_count() == 0 {
        log::warn(format_args!(
            "{}: no users; nobody can log in until one is added (bincimap passwd --user NAME)",
            passwd_path.display()
        ));
    }

    let tls_state = setup_tls(&config, &specs)?.map(Arc::new);
    let plan = privilege_plan(&config, &data_dir, &passwd)?;
    let key_file = tls_state
        .as_ref()
        .and_then(|_| config.tls_files().ok())
        .map(|(_, k, _)| k);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.server.workers)
        .thread_name("bincimap")
        .enable_all()
        .build()
        .map_err(ServeError::Io)?;

    let config = Arc::new(config);
    let mut server = Server::new(Arc::clone(&config), Arc::new(passwd)).with_tls(tls_state.clone());
    if let Plan::StayRoot(m) = &plan {
        server.mail_user = m.as_ref().map(MailUser::creds);
    }
    let server = Arc::new(server);
    let result = runtime.block_on(async move {
        let listeners = Server::bind(&specs).await.map_err(ServeError::Io)?;
        // Every listener is bound (privileged ports included) and every
        // file root had to make exists: from here on, no root.
        if let Plan::Drop(user) = &plan {
            drop_root(user, &data_dir, key_file.as_deref(), &passwd_path)?;
        }
        if let Some(t) = tls_state {
            tls::spawn_reload_on_sighup(t).map_err(ServeError::Io)?;
        }
        for (l, spec) in listeners {
            let shown = l.local_addr().map(|a| a.to_string()).unwrap_or_default();
            let what = match spec.kind {
                ListenerKind::Plain => "imap",
                ListenerKind::Tls => "imaps",
            };
            log::server(format_args!("listening on {shown} ({what})"));
            tokio::spawn(Arc::clone(&server).accept_loop(l, spec));
        }
        let sig = wait_for_signal().await.map_err(ServeError::Io)?;
        log::server(format_args!("{sig}: shutting down"));
        Ok(())
    });
    // Open sessions are dropped; blocking work (a hash being verified) gets
    // a moment to finish.
    runtime.shutdown_timeout(Duration::from_secs(2));
    result
}

/// What `serve` does about root.
enum Plan {
    /// Not started as root: nothing to do.
    Unprivileged,
    /// Become this user once the listeners are bound.
    Drop(MailUser),
    /// Keep root to start sessions with users' own uids (privsep or
    /// checkpassword); virtual users' sessions get children with the mail
    /// user's credentials (None: their logins are refused).
    StayRoot(Option<MailUser>),
}

/// Decides whether root can be dropped at start, and hands the data
/// directory (and virtual users' depots) to the mail user.
fn privilege_plan(
    config: &Config,
    data_dir: &std::path::Path,
    passwd: &PasswdFile,
) -> Result<Plan, ServeError> {
    if privsep::euid() != 0 {
        return Ok(Plan::Unprivileged);
    }
    let mail_user = dropuser::resolve(config, data_dir).map_err(ServeError::User)?;
    let checkpassword = config.chain.checkpassword.is_some();
    // u32::MAX is no valid uid: with no mail user, any uid at all counts.
    let other_uids = passwd.has_other_uids(mail_user.as_ref().map_or(u32::MAX, |m| m.uid));
    let needs_root = checkpassword || (config.chain.privsep && other_uids);
    if let Some(m) = &mail_user {
        if let Some(p) = dropuser::unsearchable_parent(data_dir, m) {
            let msg = format!(
                "{m} cannot reach the data directory {}: {} is not searchable by that user (move the data directory or allow search with chmod o+x)",
                data_dir.display(),
                p.display()
            );
            if !needs_root {
                return Err(ServeError::User(msg));
            }
            log::warn(msg);
        }
    }
    if let (Some(m), false) = (&mail_user, checkpassword) {
        hand_over(data_dir, passwd, m);
    }
    if needs_root {
        match &mail_user {
            Some(m) => log::server(format_args!(
                "staying root to start sessions with users' own uids; virtual users' sessions run as {m}"
            )),
            None if !checkpassword => log::warn(
                "running as root with no unprivileged mail user: virtual users' logins will be refused; set server.user (and server.group), or give the data directory a non-root owner",
            ),
            None => {}
        }
        return Ok(Plan::StayRoot(mail_user));
    }
    let Some(m) = mail_user else {
        return Err(ServeError::User(format!(
            "started as root, and no unprivileged user to switch to: set server.user (and server.group) in the config, or give the data directory {} a non-root owner; mail is never read as root",
            data_dir.display()
        )));
    };
    if other_uids {
        log::warn(format_args!(
            "chain.privsep is off: users with their own uid in the password file are served as {m}"
        ));
    }
    Ok(Plan::Drop(m))
}

/// Gives root-owned files in the data directory (password file, the
/// self-signed certificate's key, virtual users' mail) and virtual users'
/// depots elsewhere to the mail user. Failures are logged: the sessions
/// that need those files will say so.
fn hand_over(data_dir: &std::path::Path, passwd: &PasswdFile, user: &MailUser) {
    // Virtual users' depots are created below <data>/mail by the mail user.
    let _ = data::ensure_dir(&data_dir.join("mail"));
    let mut trees = vec![data_dir.to_path_buf()];
    trees.extend(
        passwd
            .virtual_maildirs()
            .into_iter()
            .filter(|m| !m.starts_with(data_dir)),
    );
    for t in trees {
        match dropuser::chown_root_owned(&t, user) {
            Ok(0) => {}
            Ok(n) => log::server(format_args!(
                "{}: gave {n} root-owned entries to {user}",
                t.display()
            )),
            Err(e) => log::warn(format_args!(
                "{}: cannot give it to {user}: {e}",
                t.display()
            )),
        }
    }
}

/// Switches the daemon to the mail user for good and checks that what it
/// still needs is reachable.
fn drop_root(
    user: &MailUser,
    data_dir: &std::path::Path,
    key_file: Option<&std::path::Path>,
    passwd_path: &std::path::Path,
) -> Result<(), ServeError> {
    dropuser::drop_to(user)
        .map_err(|e| ServeError::User(format!("cannot switch to {user}: {e}")))?;
    log::server(format_args!("dropped root: running as {user}"));
    if let Err(e) = std::fs::read_dir(data_dir) {
        return Err(ServeError::User(format!(
            "{user} cannot use the data directory {}: {e} (its parent directories must be searchable by that user)",
            data_dir.display()
        )));
    }
    if let Some(k) = key_file {
        if let Err(e) = std::fs::File::open(k) {
            log::warn(format_args!(
                "{}: not readable by {user} ({e}): SIGHUP cannot reload the certificate",
                k.display()
            ));
        }
    }
    if let Err(e) = std::fs::File::open(passwd_path) {
        log::warn(format_args!(
            "{}: not readable by {user} ({e}): changes need a restart",
            passwd_path.display()
        ));
    }
    Ok(())
}

/// Loads the certificate when anything needs TLS: an implicit-TLS
/// listener, or STARTTLS on a plaintext one. With no certificate
/// configured, a self-signed one is made in the data directory (once).
fn setup_tls(config: &Config, specs: &[ListenerSpec]) -> Result<Option<TlsState>, ServeError> {
    let implicit = specs.iter().any(|s| s.kind == ListenerKind::Tls);
    let starttls =
        !config.tls.disable_starttls && specs.iter().any(|s| s.kind == ListenerKind::Plain);
    if !implicit && !starttls {
        return Ok(None);
    }
    let (cert, key, self_signed) = config.tls_files().map_err(ServeError::Config)?;
    if self_signed {
        if data::ensure_self_signed_cert(&cert, &key).map_err(ServeError::Data)? {
            log::server(format_args!(
                "created a self-signed TLS certificate {} (set tls.cert_file and tls.key_file to use a real one)",
                cert.display()
            ));
        } else {
            log::server(format_args!(
                "using the self-signed TLS certificate {}",
                cert.display()
            ));
        }
    }
    TlsState::load(&cert, &key)
        .map(Some)
        .map_err(ServeError::Tls)
}

/// Creates the demo user and its welcome message when the password file
/// does not exist yet.
fn first_start(passwd_path: &std::path::Path, data_dir: &std::path::Path) -> Result<(), DataError> {
    let Some(demo) = data::create_demo_passwd(passwd_path)? else {
        return Ok(());
    };
    println!(
        "bincimap: created demo user \"{}\" with password \"{}\" in {}",
        demo.name,
        demo.password,
        demo.passwd_file.display()
    );
    let maildir: PathBuf = data_dir.join("mail").join(&demo.name).join("Maildir");
    // A failed welcome message must not stop the server.
    match std::panic::catch_unwind(|| data::deliver_welcome(&maildir, &demo.name)) {
        Ok(Ok(p)) => log::server(format_args!("delivered welcome message to {}", p.display())),
        Ok(Err(e)) => log::warn(format_args!("cannot deliver welcome message: {e}")),
        Err(_) => log::warn("cannot deliver welcome message: store panicked"),
    }
    Ok(())
}

/// Waits for SIGINT or SIGTERM; returns its name.
async fn wait_for_signal() -> std::io::Result<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = int.recv() => Ok("SIGINT"),
        _ = term.recv() => Ok("SIGTERM"),
    }
}
