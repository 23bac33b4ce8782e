//! Configuration: the TOML file, its defaults, validation, and the embedded
//! default used when `serve` runs without a config file.
//!
//! Every key has a default, so an empty file (or no file) is a working
//! configuration. Errors name the file, the line and the key.

pub mod legacy;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Environment variable naming the config file when `--config` is absent.
pub const CONFIG_ENV: &str = "BINCIMAP_CONFIG";
/// Environment variable naming the data directory when the file does not.
pub const DATA_ENV: &str = "BINCIMAP_DATA";

/// RFC 3501 §5.4: the autologout timer must be at least 30 minutes.
pub const MIN_IDLE_TIMEOUT: u64 = 1800;
/// Below this a slow client cannot finish logging in.
pub const MIN_AUTH_TIMEOUT: u64 = 10;
/// Set to `1`, lets the timeouts go down to one second, for the tests of
/// the timeouts themselves; never for production.
pub const TEST_TIMEOUTS_ENV: &str = "BINCIMAP_TEST_TIMEOUTS";
/// Longest accepted login penalty: more only ties up connections.
pub const MAX_PENALTY: u64 = 60;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub auth: AuthConfig,
    pub mailbox: MailboxConfig,
    pub limits: LimitsConfig,
    pub session: SessionConfig,
    pub log: LogConfig,
    pub chain: ChainConfig,
    pub tls: TlsConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Plaintext listeners, e.g. `["127.0.0.1:1143"]`.
    pub listen: Vec<String>,
    /// Where `serve` keeps its password file and, for virtual users, mail.
    /// None: `$BINCIMAP_DATA`, else `$XDG_DATA_HOME/bincimap`, else
    /// `$HOME/.local/share/bincimap` (see [`Config::data_dir`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Runtime worker threads for `serve`; sessions are tasks, not threads.
    pub workers: usize,
    /// `serve` started as root: the unprivileged mail user (name or uid)
    /// that owns virtual users' mail. None: the data directory's owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The mail user's group (name or gid). None: its primary group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: vec!["127.0.0.1:1143".into()],
            data_dir: None,
            workers: 2,
            user: None,
            group: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Password file: `user:hash[:uid:gid:home]` lines. None: `<data>/passwd`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passwd_file: Option<PathBuf>,
    /// Allow LOGIN/AUTHENTICATE PLAIN without TLS from non-loopback peers.
    pub allow_plaintext: bool,
    /// Seconds a failed login waits before its NO (Binc's `auth penalty`).
    pub penalty_seconds: u64,
    /// Failed logins from one IP within `throttle_window` after which that
    /// IP is refused with `NO [UNAVAILABLE]`; 0 disables throttling.
    pub throttle_failures: u32,
    /// Seconds a failed login counts against its IP.
    pub throttle_window: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            passwd_file: None,
            allow_plaintext: false,
            penalty_seconds: 4,
            throttle_failures: 10,
            throttle_window: 300,
        }
    }
}

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogTarget {
    /// One line per event on stderr (multilog, svlogd, journald via systemd).
    #[default]
    Stderr,
    /// syslog(3): /dev/log, read by rsyslog or journald.
    Syslog,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `"stderr"` or `"syslog"`.
    pub target: LogTarget,
    /// syslog facility: mail, daemon, auth, authpriv, user or local0..local7.
    pub facility: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            target: LogTarget::Stderr,
            facility: "mail".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailboxConfig {
    /// The depot, relative to the user's home (Binc's `path`).
    pub path: String,
    /// Create INBOX when it does not exist.
    pub auto_create_inbox: bool,
    /// Mailboxes subscribed automatically when a user has no subscriptions.
    pub auto_subscribe: Vec<String>,
}

impl Default for MailboxConfig {
    fn default() -> Self {
        MailboxConfig {
            path: "Maildir".into(),
            auto_create_inbox: true,
            auto_subscribe: vec!["INBOX".into()],
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Longest command line in bytes, literals excluded.
    pub max_line_length: usize,
    /// Largest literal (and so largest APPEND) in bytes.
    pub max_literal_size: u64,
    /// Deepest parenthesis nesting accepted in a command.
    pub max_nesting: usize,
    /// Open connections in total for `serve`; 0 means no limit.
    pub max_connections: usize,
    /// Open connections from one IP address for `serve`; 0 means no limit.
    pub max_connections_per_ip: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_line_length: 65536,
            max_literal_size: 64 * 1024 * 1024,
            max_nesting: 64,
            max_connections: 1000,
            max_connections_per_ip: 20,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Seconds of inactivity before an authenticated session is closed.
    pub idle_timeout: u64,
    /// Seconds allowed to authenticate.
    pub auth_timeout: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle_timeout: 1860,
            auth_timeout: 60,
        }
    }
}

/// The checkpassword chain (`bincimap up`) and privilege separation in
/// `serve`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChainConfig {
    /// `serve`: authenticate through this checkpassword program (which runs
    /// `bincimap imapd` as the user) instead of the password file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpassword: Option<PathBuf>,
    /// `serve` as root: run the sessions of password-file users that have a
    /// uid in a child `bincimap imapd` with that uid, gid and groups.
    pub privsep: bool,
    /// User the relay switches to once a session has started.
    pub relay_user: String,
    /// Empty directory the relay chroots into after login (Binc's jail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jail: Option<PathBuf>,
}

impl Default for ChainConfig {
    fn default() -> Self {
        ChainConfig {
            checkpassword: None,
            privsep: true,
            relay_user: "nobody".into(),
            jail: None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// Implicit-TLS listeners (port 993 style), e.g. `["0.0.0.0:993"]`.
    pub listen: Vec<String>,
    /// Do not offer STARTTLS on the plaintext listeners.
    pub disable_starttls: bool,
    /// PEM certificate chain, leaf first. None (with `key_file` None): a
    /// self-signed certificate made in the data directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of the certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
}

/// Why a configuration could not be used.
#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be read.
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Not TOML, an unknown key, or a value of the wrong type.
    Parse {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
    /// Well-formed but unacceptable value.
    Invalid {
        path: Option<PathBuf>,
        line: Option<usize>,
        key: String,
        message: String,
    },
    /// A path the configuration needs could not be worked out.
    NoDataDir,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, source } => {
                write!(f, "{}: cannot read config: {source}", path.display())
            }
            ConfigError::Parse {
                path,
                line,
                column,
                message,
            } => {
                write!(f, "{}", path.display())?;
                if let Some(l) = line {
                    write!(f, ":{l}")?;
                    if let Some(c) = column {
                        write!(f, ":{c}")?;
                    }
                }
                write!(f, ": {}", message.trim_end())
            }
            ConfigError::Invalid {
                path,
                line,
                key,
                message,
            } => {
                match path {
                    Some(p) => write!(f, "{}", p.display())?,
                    None => write!(f, "configuration")?,
                }
                if let Some(l) = line {
                    write!(f, ":{l}")?;
                }
                write!(f, ": {key}: {message}")
            }
            ConfigError::NoDataDir => write!(
                f,
                "no data directory: set server.data_dir, ${DATA_ENV}, $XDG_DATA_HOME or $HOME"
            ),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let upto = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = upto.bytes().filter(|&b| b == b'\n').count() + 1;
    let col = match upto.rfind('\n') {
        Some(nl) => upto.len().saturating_sub(nl),
        None => upto.len() + 1,
    };
    (line, col)
}

/// Finds the line on which `section.key` is set, for validation errors.
fn key_line(text: &str, dotted: &str) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text.to_string()).ok()?;
    let mut item = doc.as_item();
    for part in dotted.split('.') {
        item = item.get(part)?;
    }
    // A value's span; for tables the header's.
    let span = item
        .span()
        .or_else(|| item.as_table().and_then(|t| t.span()))?;
    Some(line_col(text, span.start).0)
}

impl Config {
    /// Reads, parses and validates a config file. Relative `data_dir` and
    /// `passwd_file` are taken relative to the file's directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut cfg = Config::parse(&text, path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        cfg.make_paths_absolute(base);
        Ok(cfg)
    }

    /// Parses and validates config text; `path` is only used in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let (line, column) = match e.span() {
                Some(span) => {
                    let (l, c) = line_col(text, span.start);
                    (Some(l), Some(c))
                }
                None => (None, None),
            };
            ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().to_string(),
            }
        })?;
        cfg.validate()
            .map_err(|(key, message)| ConfigError::Invalid {
                path: Some(path.to_path_buf()),
                line: key_line(text, key),
                key: key.to_string(),
                message,
            })?;
        Ok(cfg)
    }

    /// The configuration used when no file is given.
    pub fn embedded_default() -> Config {
        let mut c = Config::default();
        // IMAPS next to the plaintext port, with a self-signed certificate.
        c.tls.listen = vec!["127.0.0.1:1993".into()];
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            // Mail is never read as root. The embedded default is a loopback
            // demo, so started as root it runs as `nobody` with its data in
            // /var/lib/bincimap (root's home is not reachable by nobody); a
            // real install names its own mail user in `server.user`.
            c.server.user = Some("nobody".into());
            if std::env::var_os("BINCIMAP_DATA").is_none() {
                c.server.data_dir = Some(PathBuf::from("/var/lib/bincimap"));
            }
        }
        c
    }

    fn make_paths_absolute(&mut self, base: &Path) {
        if let Some(d) = &self.server.data_dir {
            if d.is_relative() {
                self.server.data_dir = Some(base.join(d));
            }
        }
        if let Some(p) = &self.auth.passwd_file {
            if p.is_relative() {
                self.auth.passwd_file = Some(base.join(p));
            }
        }
        for p in [&mut self.chain.checkpassword, &mut self.chain.jail]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        for f in [&mut self.tls.cert_file, &mut self.tls.key_file] {
            if let Some(p) = f.take() {
                *f = Some(if p.is_relative() { base.join(p) } else { p });
            }
        }
    }

    /// Checks values; on failure returns the dotted key and why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for l in &self.server.listen {
            if l.parse::<SocketAddr>().is_err() {
                return Err((
                    "server.listen",
                    format!(
                        "{l:?} is not an IP:PORT address (e.g. \"127.0.0.1:143\" or \"[::]:143\")"
                    ),
                ));
            }
        }
        for l in &self.tls.listen {
            if l.parse::<SocketAddr>().is_err() {
                return Err((
                    "tls.listen",
                    format!("{l:?} is not an IP:PORT address (e.g. \"0.0.0.0:993\")"),
                ));
            }
        }
        match (&self.tls.cert_file, &self.tls.key_file) {
            (Some(_), None) => {
                return Err(("tls.cert_file", "tls.key_file must be set too".into()))
            }
            (None, Some(_)) => {
                return Err(("tls.key_file", "tls.cert_file must be set too".into()))
            }
            _ => {}
        }
        if self.server.workers == 0 || self.server.workers > 1024 {
            return Err(("server.workers", "must be between 1 and 1024".into()));
        }
        for (key, v) in [
            ("server.user", &self.server.user),
            ("server.group", &self.server.group),
        ] {
            if v.as_deref()
                .is_some_and(|v| v.is_empty() || v.contains('\0'))
            {
                return Err((key, "must be a non-empty name or number".into()));
            }
        }
        if self.mailbox.path.is_empty() {
            return Err(("mailbox.path", "must not be empty".into()));
        }
        if self.mailbox.path.contains('\0') {
            return Err(("mailbox.path", "must not contain NUL".into()));
        }
        if self.limits.max_line_length == 0 {
            return Err(("limits.max_line_length", "must be greater than 0".into()));
        }
        if self.limits.max_literal_size == 0 {
            return Err(("limits.max_literal_size", "must be greater than 0".into()));
        }
        if self.limits.max_nesting == 0 {
            return Err(("limits.max_nesting", "must be greater than 0".into()));
        }
        let test_timeouts = std::env::var_os(TEST_TIMEOUTS_ENV).is_some_and(|v| v == "1");
        let (min_idle, min_auth) = if test_timeouts {
            (1, 1)
        } else {
            (MIN_IDLE_TIMEOUT, MIN_AUTH_TIMEOUT)
        };
        if self.auth.penalty_seconds > MAX_PENALTY {
            return Err((
                "auth.penalty_seconds",
                format!("must be at most {MAX_PENALTY}"),
            ));
        }
        if self.auth.throttle_failures > 0 && self.auth.throttle_window == 0 {
            return Err((
                "auth.throttle_window",
                "must be greater than 0 when throttle_failures is set".into(),
            ));
        }
        if !crate::server::log::valid_facility(&self.log.facility) {
            return Err((
                "log.facility",
                format!(
                    "{:?} is not one of mail, daemon, auth, authpriv, user, local0..local7",
                    self.log.facility
                ),
            ));
        }
        if self.session.idle_timeout < min_idle {
            return Err((
                "session.idle_timeout",
                format!(
                    "{} is too short: RFC 3501 §5.4 requires an autologout timer of at least {MIN_IDLE_TIMEOUT} seconds (30 minutes)",
                    self.session.idle_timeout
                ),
            ));
        }
        if self.session.auth_timeout < min_auth {
            return Err((
                "session.auth_timeout",
                format!(
                    "{} is too short: must be at least {MIN_AUTH_TIMEOUT} seconds",
                    self.session.auth_timeout
                ),
            ));
        }
        Ok(())
    }

    /// The listeners as socket addresses (validated at load).
    pub fn listen_addrs(&self) -> Result<Vec<SocketAddr>, ConfigError> {
        self.server
            .listen
            .iter()
            .map(|l| {
                l.parse::<SocketAddr>().map_err(|_| ConfigError::Invalid {
                    path: None,
                    line: None,
                    key: "server.listen".into(),
                    message: format!("{l:?} is not an IP:PORT address"),
                })
            })
            .collect()
    }

    /// The implicit-TLS listeners as socket addresses (validated at load).
    pub fn tls_listen_addrs(&self) -> Result<Vec<SocketAddr>, ConfigError> {
        self.tls
            .listen
            .iter()
            .map(|l| {
                l.parse::<SocketAddr>().map_err(|_| ConfigError::Invalid {
                    path: None,
                    line: None,
                    key: "tls.listen".into(),
                    message: format!("{l:?} is not an IP:PORT address"),
                })
            })
            .collect()
    }

    /// The certificate chain and key files: the configured ones, else the
    /// self-signed pair in the data directory (the bool is true then).
    pub fn tls_files(&self) -> Result<(PathBuf, PathBuf, bool), ConfigError> {
        match (&self.tls.cert_file, &self.tls.key_file) {
            (Some(c), Some(k)) => Ok((c.clone(), k.clone(), false)),
            _ => {
                let d = self.data_dir()?;
                Ok((d.join("tls-cert.pem"), d.join("tls-key.pem"), true))
            }
        }
    }

    /// The data directory: `server.data_dir`, else `$BINCIMAP_DATA`, else
    /// `$XDG_DATA_HOME/bincimap`, else `$HOME/.local/share/bincimap`.
    pub fn data_dir(&self) -> Result<PathBuf, ConfigError> {
        data_dir_from(self.server.data_dir.as_deref(), |k| std::env::var_os(k))
    }

    /// The password file: `auth.passwd_file`, else `<data>/passwd`.
    pub fn passwd_file(&self) -> Result<PathBuf, ConfigError> {
        match &self.auth.passwd_file {
            Some(p) => Ok(p.clone()),
            None => Ok(self.data_dir()?.join("passwd")),
        }
    }

    /// The configuration with every derived path filled in, for
    /// `check-config`.
    pub fn effective(&self) -> Config {
        let mut c = self.clone();
        if let Ok(d) = self.data_dir() {
            c.server.data_dir = Some(d);
        }
        if let Ok(p) = self.passwd_file() {
            c.auth.passwd_file = Some(p);
        }
        if let Ok((cert, key, _)) = self.tls_files() {
            c.tls.cert_file = Some(cert);
            c.tls.key_file = Some(key);
        }
        c
    }

    /// TOML text of this configuration.
    pub fn to_toml(&self) -> String {
        // Serialising plain structs of strings and numbers cannot fail; fall
        // back to the Debug form rather than panic if it ever does.
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot serialise: {e}\n"))
    }
}

fn data_dir_from(
    configured: Option<&Path>,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<PathBuf, ConfigError> {
    if let Some(d) = configured {
        return Ok(d.to_path_buf());
    }
    let nonempty = |k: &str| env(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = nonempty(DATA_ENV) {
        return Ok(d);
    }
    // XDG: a relative XDG_DATA_HOME is invalid and must be ignored.
    if let Some(x) = nonempty("XDG_DATA_HOME").filter(|p| p.is_absolute()) {
        return Ok(x.join("bincimap"));
    }
    if let Some(h) = nonempty("HOME") {
        return Ok(h.join(".local/share/bincimap"));
    }
    Err(ConfigError::NoDataDir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("test.toml"))
    }

    #[test]
    fn empty_file_is_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.server.listen, vec!["127.0.0.1:1143".to_string()]);
        assert_eq!(c.session.idle_timeout, 1860);
        assert_eq!(c.mailbox.path, "Maildir");
        assert!(!c.auth.allow_plaintext);
    }

    #[test]
    fn values_are_read() {
        let c = parse(
            "[server]\nlisten = [\"0.0.0.0:143\", \"[::]:143\"]\nworkers = 4\n\
             [auth]\nallow_plaintext = true\npasswd_file = \"/etc/bincimap/passwd\"\n\
             [mailbox]\npath = \"Mail\"\n[limits]\nmax_nesting = 10\n\
             [session]\nidle_timeout = 3600\n",
        )
        .unwrap();
        assert_eq!(c.server.listen.len(), 2);
        assert_eq!(c.server.workers, 4);
        assert!(c.auth.allow_plaintext);
        assert_eq!(
            c.auth.passwd_file.as_deref(),
            Some(Path::new("/etc/bincimap/passwd"))
        );
        assert_eq!(c.mailbox.path, "Mail");
        assert_eq!(c.limits.max_nesting, 10);
        assert_eq!(c.limits.max_line_length, 65536);
        assert_eq!(c.session.idle_timeout, 3600);
    }

    #[test]
    fn unknown_key_names_line() {
        let e = parse("[session]\nidle_timeout = 3600\nidel = 5\n").unwrap_err();
        let s = e.to_string();
        assert!(matches!(e, ConfigError::Parse { line: Some(3), .. }), "{s}");
        assert!(s.starts_with("test.toml:3:"), "{s}");
        assert!(s.contains("idel"), "{s}");
    }

    #[test]
    fn wrong_type_is_parse_error() {
        let e = parse("[limits]\n\nmax_nesting = \"ten\"\n").unwrap_err();
        assert!(matches!(e, ConfigError::Parse { line: Some(3), .. }), "{e}");
    }

    #[test]
    fn short_idle_timeout_rejected_with_line() {
        let e = parse("# c\n[session]\nidle_timeout = 60\n").unwrap_err();
        let s = e.to_string();
        assert!(
            matches!(&e, ConfigError::Invalid { key, line: Some(3), .. } if key == "session.idle_timeout"),
            "{s}"
        );
        assert!(s.contains("1800"), "{s}");
        assert!(parse("[session]\nidle_timeout = 1800\n").is_ok());
    }

    #[test]
    fn short_auth_timeout_rejected() {
        let e = parse("[session]\nauth_timeout = 9\n").unwrap_err();
        assert!(matches!(e, ConfigError::Invalid { ref key, .. } if key == "session.auth_timeout"));
        assert!(parse("[session]\nauth_timeout = 10\n").is_ok());
    }

    #[test]
    fn zero_limits_rejected() {
        for k in ["max_line_length", "max_literal_size", "max_nesting"] {
            let e = parse(&format!("[limits]\n{k} = 0\n")).unwrap_err();
            assert!(
                matches!(&e, ConfigError::Invalid { key, .. } if key == &format!("limits.{k}")),
                "{e}"
            );
        }
    }

    #[test]
    fn bad_listen_rejected() {
        let e = parse("[server]\nlisten = [\"localhost:143\"]\n").unwrap_err();
        assert!(
            matches!(&e, ConfigError::Invalid { key, line: Some(2), .. } if key == "server.listen"),
            "{e}"
        );
        let e = parse("[server]\nlisten = [\"127.0.0.1\"]\n").unwrap_err();
        assert!(matches!(e, ConfigError::Invalid { .. }));
    }

    #[test]
    fn negative_number_is_error_not_panic() {
        assert!(parse("[session]\nidle_timeout = -1\n").is_err());
    }

    #[test]
    fn data_dir_precedence() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        assert_eq!(
            data_dir_from(Some(Path::new("/d")), env(&[(DATA_ENV, "/x")])).unwrap(),
            PathBuf::from("/d")
        );
        assert_eq!(
            data_dir_from(None, env(&[(DATA_ENV, "/x"), ("HOME", "/h")])).unwrap(),
            PathBuf::from("/x")
        );
        assert_eq!(
            data_dir_from(None, env(&[("XDG_DATA_HOME", "/xdg"), ("HOME", "/h")])).unwrap(),
            PathBuf::from("/xdg/bincimap")
        );
        assert_eq!(
            data_dir_from(None, env(&[("XDG_DATA_HOME", "rel"), ("HOME", "/h")])).unwrap(),
            PathBuf::from("/h/.local/share/bincimap")
        );
        assert!(data_dir_from(None, env(&[])).is_err());
    }

    #[test]
    fn relative_paths_follow_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.toml");
        std::fs::write(
            &p,
            "[server]\ndata_dir = \"data\"\n[auth]\npasswd_file = \"pw\"\n",
        )
        .unwrap();
        let c = Config::load(&p).unwrap();
        assert_eq!(c.data_dir().unwrap(), dir.path().join("data"));
        assert_eq!(c.passwd_file().unwrap(), dir.path().join("pw"));
    }

    #[test]
    fn missing_file_is_read_error() {
        let e = Config::load(Path::new("/nonexistent/bincimap.toml")).unwrap_err();
        assert!(matches!(e, ConfigError::Read { .. }));
    }

    const EXAMPLE: &str = include_str!("../../bincimap.toml.example");

    /// The example with every `#key = value` line uncommented.
    fn example_uncommented() -> String {
        EXAMPLE
            .lines()
            .map(|l| match l.strip_prefix('#') {
                Some(rest) if rest.contains(" = ") && !rest.starts_with(' ') => rest,
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn example_file_is_the_defaults() {
        let c = parse(EXAMPLE).unwrap();
        assert_eq!(c.to_toml(), Config::default().to_toml());
        // Uncommented, it sets exactly the defaults (paths aside).
        let mut u = parse(&example_uncommented()).unwrap();
        u.server.data_dir = None;
        u.server.user = None;
        u.server.group = None;
        u.auth.passwd_file = None;
        u.tls.cert_file = None;
        u.tls.key_file = None;
        assert_eq!(u.to_toml(), Config::default().to_toml());
    }

    #[test]
    fn example_file_lists_every_key() {
        let mut full = Config::default();
        full.server.data_dir = Some(PathBuf::from("/d"));
        full.server.user = Some("vmail".into());
        full.server.group = Some("vmail".into());
        full.auth.passwd_file = Some(PathBuf::from("/p"));
        full.tls.cert_file = Some(PathBuf::from("/c"));
        full.tls.key_file = Some(PathBuf::from("/k"));
        let table: toml::Table = toml::from_str(&full.to_toml()).unwrap();
        let example: toml::Table = toml::from_str(&example_uncommented()).unwrap();
        for (section, keys) in &table {
            let keys = keys.as_table().unwrap();
            for k in keys.keys() {
                assert!(
                    example.get(section).and_then(|s| s.get(k)).is_some(),
                    "{section}.{k} missing from bincimap.toml.example"
                );
            }
        }
    }

    #[test]
    fn tls_section() {
        let c = parse("").unwrap();
        assert!(c.tls.listen.is_empty());
        assert!(!c.tls.disable_starttls);
        assert_eq!(
            Config::embedded_default().tls.listen,
            vec!["127.0.0.1:1993".to_string()]
        );
        let c = parse(
            "[tls]\nlisten = [\"0.0.0.0:993\"]\ncert_file = \"/c.pem\"\nkey_file = \"/k.pem\"\n\
             disable_starttls = true\n",
        )
        .unwrap();
        assert_eq!(c.tls_listen_addrs().unwrap().len(), 1);
        assert!(c.tls.disable_starttls);
        let (cert, key, default) = c.tls_files().unwrap();
        assert_eq!(
            (cert, key, default),
            (PathBuf::from("/c.pem"), PathBuf::from("/k.pem"), false)
        );
        let e = parse("[tls]\ncert_file = \"/c.pem\"\n").unwrap_err();
        assert!(
            matches!(&e, ConfigError::Invalid { key, line: Some(2), .. } if key == "tls.cert_file"),
            "{e}"
        );
        let e = parse("[tls]\nlisten = [\"localhost:993\"]\n").unwrap_err();
        assert!(matches!(&e, ConfigError::Invalid { key, .. } if key == "tls.listen"));
        let mut d = Config::default();
        d.server.data_dir = Some(PathBuf::from("/data"));
        let (cert, key, default) = d.tls_files().unwrap();
        assert!(default);
        assert_eq!(cert, PathBuf::from("/data/tls-cert.pem"));
        assert_eq!(key, PathBuf::from("/data/tls-key.pem"));
    }

    #[test]
    fn effective_round_trips() {
        let mut c = Config::default();
        c.server.data_dir = Some(PathBuf::from("/var/lib/bincimap"));
        let text = c.effective().to_toml();
        let back = parse(&text).unwrap();
        assert_eq!(
            back.server.data_dir,
            Some(PathBuf::from("/var/lib/bincimap"))
        );
        assert_eq!(
            back.auth.passwd_file,
            Some(PathBuf::from("/var/lib/bincimap/passwd"))
        );
        assert_eq!(back.session.idle_timeout, c.session.idle_timeout);
    }
}
