//! `bincimap serve`: the standalone daemon. Sets up the data directory (and
//! the demo user on first start), loads the password file, builds a small
//! multi-thread runtime and runs the listeners until SIGINT/SIGTERM.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::data::{self, DataError};
use super::listener::{ListenerKind, ListenerSpec, Server};
use super::log;
use super::tls::{self, TlsError, TlsState};
use crate::auth::passwd::{PasswdError, PasswdFile};
use crate::config::{Config, ConfigError};

#[derive(Debug)]
pub enum ServeError {
    Config(ConfigError),
    Data(DataError),
    Passwd(PasswdError),
    Tls(TlsError),
    NoListeners,
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

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.server.workers)
        .thread_name("bincimap")
        .enable_all()
        .build()
        .map_err(ServeError::Io)?;

    let config = Arc::new(config);
    let server =
        Arc::new(Server::new(Arc::clone(&config), Arc::new(passwd)).with_tls(tls_state.clone()));
    let result = runtime.block_on(async move {
        let listeners = Server::bind(&specs).await.map_err(ServeError::Io)?;
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
