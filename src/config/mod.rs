//! Configuration: the TOML file, its defaults, and the embedded default used
//! when `serve` runs without a config file.

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub auth: AuthConfig,
    pub mailbox: MailboxConfig,
    pub limits: LimitsConfig,
    pub session: SessionConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            server: ServerConfig::default(),
            auth: AuthConfig::default(),
            mailbox: MailboxConfig::default(),
            limits: LimitsConfig::default(),
            session: SessionConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Plaintext listeners, e.g. `["127.0.0.1:1143"]`.
    pub listen: Vec<String>,
    /// Where `serve` keeps its password file and, for virtual users, mail.
    pub data_dir: PathBuf,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: vec!["127.0.0.1:1143".into()],
            data_dir: PathBuf::from("bincimap-data"),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Password file: `user:hash[:uid:gid:home]` lines.
    pub passwd_file: Option<PathBuf>,
    /// Allow LOGIN/AUTHENTICATE PLAIN without TLS from non-loopback peers.
    pub allow_plaintext: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            passwd_file: None,
            allow_plaintext: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
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

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Longest command line in bytes, literals excluded.
    pub max_line_length: usize,
    /// Largest literal (and so largest APPEND) in bytes.
    pub max_literal_size: u64,
    /// Deepest parenthesis nesting accepted in a command.
    pub max_nesting: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_line_length: 65536,
            max_literal_size: 64 * 1024 * 1024,
            max_nesting: 64,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
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
