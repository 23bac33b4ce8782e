//! The `bincimap` command line: `imapd` (a PREAUTH session on stdio, also
//! reached by invoking the binary as `bincimapd`), `serve` (the standalone
//! daemon), `passwd` (hash a password for the password file) and
//! `check-config` (print the effective configuration).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use bincimap::auth::{hash, passwd::valid_user_name};
use bincimap::config::{legacy, Config, CONFIG_ENV};
use bincimap::server::{serve, stdio};

#[derive(Parser, Debug)]
#[command(
    name = "bincimap",
    version,
    about = "A small, correct IMAP server for Maildir"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve one already authenticated user on stdin/stdout (like bincimapd).
    Imapd {
        /// Config file (default: $BINCIMAP_CONFIG, else built-in defaults).
        #[arg(long, short = 'c', value_name = "FILE", alias = "conf")]
        config: Option<PathBuf>,
    },
    /// Run the standalone IMAP daemon.
    Serve {
        /// Config file (default: $BINCIMAP_CONFIG, else the embedded default).
        #[arg(long, short = 'c', value_name = "FILE", alias = "conf")]
        config: Option<PathBuf>,
        /// Listen on ADDR:PORT instead of server.listen (repeatable).
        /// Command-line listeners replace all configured ones, TLS included.
        #[arg(long, short = 'l', value_name = "ADDR:PORT")]
        listen: Vec<String>,
        /// Listen with implicit TLS on ADDR:PORT instead of tls.listen
        /// (repeatable).
        #[arg(long, value_name = "ADDR:PORT")]
        listen_tls: Vec<String>,
    },
    /// Read a password on stdin and print its argon2id hash.
    Passwd {
        /// Print `NAME:hash`, a line ready for the password file.
        #[arg(long, short = 'u', value_name = "NAME")]
        user: Option<String>,
    },
    /// Pre-auth front end for inetd-style wrappers (Binc's bincimap-up):
    /// `up [--ssl] [--conf FILE] -- CHECKPASSWORD bincimap imapd`.
    Up {
        /// TLS from the first byte (port 993).
        #[arg(long)]
        ssl: bool,
        /// Config file (default: $BINCIMAP_CONFIG, else built-in defaults).
        #[arg(long, visible_alias = "config", short = 'c', value_name = "FILE")]
        conf: Option<PathBuf>,
        /// Binc's log type: `syslog`, or `multilog`/`stderr` (one line per
        /// event on stderr). Overrides `log.target`.
        #[arg(long, value_name = "TYPE", hide = true)]
        logtype: Option<String>,
        /// The checkpassword program and what it runs after login.
        #[arg(last = true, required = true, value_name = "CHECKPASSWORD")]
        program: Vec<std::ffi::OsString>,
    },
    /// Print the effective configuration as TOML.
    CheckConfig {
        /// Config file (default: $BINCIMAP_CONFIG, else the embedded default).
        #[arg(long, short = 'c', value_name = "FILE", alias = "conf")]
        config: Option<PathBuf>,
        /// Only the keys that differ from the defaults (like `doveconf -n`).
        #[arg(long, short = 'n')]
        non_default: bool,
    },
}

/// The config file to use: `--config`, else `$BINCIMAP_CONFIG`.
fn config_path(arg: Option<PathBuf>) -> Option<PathBuf> {
    arg.or_else(|| {
        std::env::var_os(CONFIG_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

/// Loads the config (TOML, or a legacy Binc `bincimap.conf`); warnings
/// about legacy keys without effect go to stderr, one line each.
fn load_config(arg: Option<PathBuf>) -> Result<(Config, Option<PathBuf>), String> {
    match config_path(arg) {
        Some(p) => {
            let (c, warnings) = legacy::load_any(&p).map_err(|e| e.to_string())?;
            for w in &warnings {
                eprintln!("bincimap: warning: {w}");
            }
            Ok((c, Some(p)))
        }
        None => Ok((Config::embedded_default(), None)),
    }
}

/// Rewrites argv so `bincimapd ARGS` parses as `bincimap imapd ARGS` (and
/// `bincimap-up ARGS` as `bincimap up ARGS`).
fn effective_args(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let invoked_as = args
        .first()
        .and_then(|a| Path::new(a).file_name().map(|n| n.to_os_string()));
    let sub = match invoked_as.as_deref().and_then(|n| n.to_str()) {
        Some("bincimapd") => Some("imapd"),
        Some("bincimap-up") => Some("up"),
        _ => None,
    };
    if let Some(sub) = sub {
        args.insert(1, sub.into());
        if let Some(first) = args.first_mut() {
            *first = "bincimap".into();
        }
    }
    args
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(effective_args(std::env::args_os().collect()));
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("bincimap: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    // Mail and state files are private to their owner (Binc's default
    // `umask = "077"`; Dovecot also creates Maildirs 0700).
    // SAFETY: umask has no preconditions and cannot fail.
    unsafe { libc::umask(0o077) };
    match cli.command {
        Command::Imapd { config } => {
            let (cfg, _) = load_config(config)?;
            bincimap::server::log::init(&cfg.log);
            stdio::run(cfg).map_err(|e| e.to_string())
        }
        Command::Serve {
            config,
            listen,
            listen_tls,
        } => {
            let (mut cfg, path) = load_config(config)?;
            if let Some(p) = path.and_then(|p| std::path::absolute(p).ok()) {
                // Children (`bincimap imapd` under privsep or checkpassword)
                // must read the same file; still single-threaded here.
                std::env::set_var(CONFIG_ENV, p);
            }
            if !listen.is_empty() || !listen_tls.is_empty() {
                cfg.server.listen = listen;
                cfg.tls.listen = listen_tls;
                cfg.validate()
                    .map_err(|(key, msg)| format!("--listen: {key}: {msg}"))?;
            }
            bincimap::server::log::init(&cfg.log);
            serve::run(cfg).map_err(|e| e.to_string())
        }
        Command::Up {
            ssl,
            conf,
            logtype,
            program,
        } => {
            let (mut cfg, _) = load_config(conf)?;
            match logtype.as_deref().map(str::to_ascii_lowercase).as_deref() {
                None => {}
                Some("syslog") => cfg.log.target = bincimap::config::LogTarget::Syslog,
                Some("multilog") | Some("stderr") => {
                    cfg.log.target = bincimap::config::LogTarget::Stderr
                }
                Some(other) => {
                    return Err(format!(
                        "--logtype: unknown log type {other:?} (syslog, multilog or stderr)"
                    ))
                }
            }
            bincimap::server::log::init(&cfg.log);
            bincimap::server::up::run(cfg, ssl, program)
        }
        Command::Passwd { user } => passwd(user),
        Command::CheckConfig {
            config,
            non_default,
        } => {
            let (cfg, path) = load_config(config)?;
            let origin = match &path {
                Some(p) if is_legacy_file(p) => {
                    format!("{}, legacy Binc config mapped", p.display())
                }
                Some(p) => p.display().to_string(),
                None => "embedded default".to_string(),
            };
            print!(
                "# bincimap {} effective configuration ({origin})\n{}",
                env!("CARGO_PKG_VERSION"),
                if non_default {
                    changed_toml(&cfg.effective(), &Config::default().effective())
                } else {
                    cfg.effective().to_toml()
                }
            );
            check_passwd_file(&cfg);
            Ok(())
        }
    }
}

/// The TOML of the keys of `cfg` whose values differ from `defaults`.
fn changed_toml(cfg: &Config, defaults: &Config) -> String {
    let parse = |c: &Config| toml::from_str::<toml::Table>(&c.to_toml()).unwrap_or_default();
    let (mine, base) = (parse(cfg), parse(defaults));
    let mut out = toml::Table::new();
    for (section, keys) in &mine {
        let Some(keys) = keys.as_table() else {
            continue;
        };
        let base_keys = base.get(section).and_then(|v| v.as_table());
        let changed: toml::Table = keys
            .iter()
            .filter(|(k, v)| base_keys.and_then(|b| b.get(*k)) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !changed.is_empty() {
            out.insert(section.clone(), toml::Value::Table(changed));
        }
    }
    toml::to_string_pretty(&out).unwrap_or_default()
}

/// True when `p` is read as a Binc `bincimap.conf`.
fn is_legacy_file(p: &Path) -> bool {
    std::fs::read_to_string(p).is_ok_and(|t| legacy::is_legacy(p, &t))
}

/// Reports problems with the password file `serve` would use, on stderr.
fn check_passwd_file(cfg: &Config) {
    let Ok(path) = cfg.passwd_file() else {
        eprintln!("bincimap: warning: no data directory, so no password file");
        return;
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let (users, warnings) = bincimap::auth::passwd::parse(&text, &path);
            for w in &warnings {
                eprintln!("bincimap: warning: {w}");
            }
            eprintln!("bincimap: {}: {} user(s)", path.display(), users.len());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && cfg.auth.passwd_file.is_none() => {
            eprintln!(
                "bincimap: {} does not exist yet; `serve` will create it with a demo user",
                path.display()
            );
        }
        Err(e) => eprintln!("bincimap: warning: {}: {e}", path.display()),
    }
}

fn passwd(user: Option<String>) -> Result<(), String> {
    if let Some(u) = &user {
        if !valid_user_name(u) {
            return Err(format!(
                "invalid user name {u:?}: no '/', ':', control characters, '.' or '..'"
            ));
        }
    }
    let stdin = std::io::stdin();
    let pass = if stdin.is_terminal() {
        let a = prompt_hidden("Password: ")?;
        let b = prompt_hidden("Retype password: ")?;
        if a != b {
            return Err("passwords do not match".into());
        }
        a
    } else {
        read_line(&mut stdin.lock())?
    };
    if pass.is_empty() {
        return Err("empty password".into());
    }
    let h = hash::hash_password(&pass).map_err(|e| e.to_string())?;
    match user {
        Some(u) => println!("{u}:{h}"),
        None => println!("{h}"),
    }
    Ok(())
}

/// The first line of `r`, without its line end, as bytes.
fn read_line(r: &mut impl BufRead) -> Result<Vec<u8>, String> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)
        .map_err(|e| format!("cannot read password: {e}"))?;
    while line.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
        line.pop();
    }
    Ok(line)
}

/// Prompts on stderr and reads a line from the terminal with echo off.
fn prompt_hidden(prompt: &str) -> Result<Vec<u8>, String> {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let fd = libc::STDIN_FILENO;
    // SAFETY: termios is plain data; tcgetattr fills it or fails.
    let mut old: libc::termios = unsafe { std::mem::zeroed() };
    let have_tty = unsafe { libc::tcgetattr(fd, &mut old) } == 0;
    if have_tty {
        let mut quiet = old;
        quiet.c_lflag &= !libc::ECHO;
        quiet.c_lflag |= libc::ECHONL;
        // SAFETY: fd is stdin and `quiet` a valid termios.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    }
    let line = read_line(&mut std::io::stdin().lock());
    if have_tty {
        // SAFETY: restores the settings read above.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &old) };
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_line_strips_line_end() {
        let mut r = std::io::Cursor::new(b"s3cret\r\nsecond\n".to_vec());
        assert_eq!(read_line(&mut r).unwrap(), b"s3cret");
        let mut r = std::io::Cursor::new(b"nonl".to_vec());
        assert_eq!(read_line(&mut r).unwrap(), b"nonl");
    }

    #[test]
    fn invoked_as_bincimapd_means_imapd() {
        let args = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        let a = effective_args(args(&["/usr/sbin/bincimapd", "-c", "x.toml"]));
        assert_eq!(a, args(&["bincimap", "imapd", "-c", "x.toml"]));
        let c = Cli::try_parse_from(a).unwrap();
        assert!(matches!(c.command, Command::Imapd { config: Some(_) }));
        let a = effective_args(args(&[
            "/usr/bin/bincimap-up",
            "--",
            "/bin/checkpassword",
            "bincimap",
            "imapd",
        ]));
        assert_eq!(
            a,
            args(&[
                "bincimap",
                "up",
                "--",
                "/bin/checkpassword",
                "bincimap",
                "imapd"
            ])
        );
        match Cli::try_parse_from(a).unwrap().command {
            Command::Up { program, ssl, .. } => {
                assert!(!ssl);
                assert_eq!(program.len(), 3);
            }
            other => panic!("{other:?}"),
        }
        let a = args(&[
            "bincimap",
            "up",
            "--ssl",
            "--conf=x.conf",
            "--logtype=multilog",
            "--",
            "cp",
            "imapd",
        ]);
        assert!(matches!(
            Cli::try_parse_from(a).unwrap().command,
            Command::Up {
                ssl: true,
                conf: Some(_),
                ..
            }
        ));
        assert!(Cli::try_parse_from(args(&["bincimap", "up"])).is_err());
        let a = effective_args(args(&["bincimap", "serve"]));
        assert_eq!(a, args(&["bincimap", "serve"]));
    }

    #[test]
    fn changed_toml_lists_only_changes() {
        let mut c = Config::default();
        c.auth.penalty_seconds = 1;
        c.mailbox.auto_subscribe = vec!["INBOX".into(), "INBOX/Sent".into()];
        let t = changed_toml(&c, &Config::default());
        let table: toml::Table = toml::from_str(&t).unwrap();
        assert_eq!(table.len(), 2, "{t}");
        assert_eq!(table["auth"].as_table().unwrap().len(), 1, "{t}");
        assert_eq!(table["auth"]["penalty_seconds"].as_integer(), Some(1));
        assert_eq!(changed_toml(&Config::default(), &Config::default()), "");
    }

    #[test]
    fn cli_parses() {
        let c = Cli::try_parse_from([
            "bincimap",
            "serve",
            "--listen",
            "127.0.0.1:1",
            "-l",
            "[::1]:2",
            "--listen-tls",
            "127.0.0.1:3",
        ])
        .unwrap();
        match c.command {
            Command::Serve {
                listen,
                config,
                listen_tls,
            } => {
                assert_eq!(listen.len(), 2);
                assert_eq!(listen_tls, vec!["127.0.0.1:3".to_string()]);
                assert!(config.is_none());
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["bincimap", "bogus"]).is_err());
        // Binc's spelling of the config option.
        let c =
            Cli::try_parse_from(["bincimap", "check-config", "--conf=/etc/bincimap.conf"]).unwrap();
        assert!(matches!(
            c.command,
            Command::CheckConfig {
                config: Some(_),
                non_default: false
            }
        ));
    }
}
