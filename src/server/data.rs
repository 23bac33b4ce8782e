//! The data directory of `serve`: created on demand (mode 0700), with a
//! password file holding one demo user on first start and a welcome message
//! in that user's INBOX, so `bincimap serve` works with no setup at all.

use std::fmt;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rand::Rng;

use crate::auth::hash;

/// The demo user's name.
pub const DEMO_USER: &str = "demo";

#[derive(Debug)]
pub enum DataError {
    Io {
        context: String,
        source: std::io::Error,
    },
    Hash(hash::HashError),
    Store(crate::store::StoreError),
    /// The self-signed certificate could not be generated.
    Cert(String),
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Io { context, source } => write!(f, "{context}: {source}"),
            DataError::Hash(e) => write!(f, "{e}"),
            DataError::Store(e) => write!(f, "{e}"),
            DataError::Cert(e) => write!(f, "cannot generate a self-signed certificate: {e}"),
        }
    }
}

impl std::error::Error for DataError {}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> DataError {
    let context = context.into();
    move |source| DataError::Io { context, source }
}

/// Creates a directory and its parents with mode 0700 (existing ones are
/// left as they are).
pub fn ensure_dir(path: &Path) -> Result<(), DataError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io_err(format!("cannot create {}", path.display())))
}

/// A freshly created demo account.
#[derive(Debug, Clone)]
pub struct DemoUser {
    pub name: String,
    pub password: String,
    pub passwd_file: PathBuf,
}

/// A random password from an unambiguous alphabet (no 0/O, 1/l/I).
pub fn random_password(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| {
            let i = rng.gen_range(0..ALPHABET.len());
            char::from(ALPHABET.get(i).copied().unwrap_or(b'x'))
        })
        .collect()
}

/// Creates `passwd_file` with one demo user unless it exists. Returns the
/// new account, or None when the file was already there.
pub fn create_demo_passwd(passwd_file: &Path) -> Result<Option<DemoUser>, DataError> {
    if passwd_file.exists() {
        return Ok(None);
    }
    if let Some(parent) = passwd_file.parent() {
        ensure_dir(parent)?;
    }
    let password = random_password(16);
    let hashed = hash::hash_password(password.as_bytes()).map_err(DataError::Hash)?;
    // create_new: if another process won the race, keep its file.
    let mut f = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(passwd_file)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => {
            return Err(io_err(format!("cannot create {}", passwd_file.display()))(
                e,
            ))
        }
    };
    let text = format!(
        "# bincimap password file: one `user:hash[:uid:gid:home]` per line.\n\
         # Make a hash with `bincimap passwd --user NAME` and append the line.\n\
         {DEMO_USER}:{hashed}\n"
    );
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(io_err(format!("cannot write {}", passwd_file.display())))?;
    Ok(Some(DemoUser {
        name: DEMO_USER.to_string(),
        password,
        passwd_file: passwd_file.to_path_buf(),
    }))
}

/// Creates a self-signed certificate (`cert`, mode 0644) and its key
/// (`key`, mode 0600) unless the certificate exists. Returns true when it
/// made them. The names are `localhost`, this host's name and the loopback
/// addresses, which is what a client of the embedded default connects to.
pub fn ensure_self_signed_cert(cert: &Path, key: &Path) -> Result<bool, DataError> {
    if cert.exists() && key.exists() {
        return Ok(false);
    }
    let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    let host = host_name();
    if host != "localhost" {
        names.push(host);
    }
    let made =
        rcgen::generate_simple_self_signed(names).map_err(|e| DataError::Cert(e.to_string()))?;
    // The key first, so a certificate never exists without its key; both go
    // through a temporary file and a rename so a crash leaves no half file.
    write_atomically(key, made.signing_key.serialize_pem().as_bytes(), 0o600)?;
    write_atomically(cert, made.cert.pem().as_bytes(), 0o644)?;
    Ok(true)
}

/// Writes `data` to `path` via `path.tmp.PID` and a rename.
fn write_atomically(path: &Path, data: &[u8], mode: u32) -> Result<(), DataError> {
    if let Some(parent) = path.parent() {
        ensure_dir(parent)?;
    }
    let mut tmp_name = path.as_os_str().to_os_string();
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = PathBuf::from(tmp_name);
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io_err(format!("cannot create {}", tmp.display())))?;
    f.write_all(data)
        .and_then(|_| f.sync_all())
        .map_err(io_err(format!("cannot write {}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(io_err(format!("cannot create {}", path.display())))
}

/// This host's name, made safe for Maildir file names and addresses.
pub fn host_name() -> String {
    let h = hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default();
    let clean: String = h
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .collect();
    if clean.is_empty() {
        "localhost".into()
    } else {
        clean
    }
}

/// The welcome message (RFC 5322, LF line ends as stored in a Maildir).
pub fn welcome_message(user: &str, host: &str, now: chrono::DateTime<chrono::Local>) -> String {
    let date = now.format("%a, %d %b %Y %H:%M:%S %z");
    let id = format!(
        "{}.{}.{:08x}@{host}",
        now.timestamp(),
        std::process::id(),
        rand::thread_rng().gen::<u32>()
    );
    format!(
        "Date: {date}\n\
         From: bincimap <postmaster@{host}>\n\
         To: {user} <{user}@{host}>\n\
         Subject: Welcome to bincimap\n\
         Message-ID: <{id}>\n\
         MIME-Version: 1.0\n\
         Content-Type: text/plain; charset=us-ascii\n\
         Content-Transfer-Encoding: 7bit\n\
         \n\
         Hello {user},\n\
         \n\
         this is your bincimap server. If you can read this, your mail client\n\
         is talking IMAP to it and everything works.\n\
         \n\
         Users are listed in the password file; add one with\n\
         \n\
         \x20   bincimap passwd --user NAME >> PASSWD_FILE\n\
         \n\
         and see doc/config.md for the configuration file.\n\
         \n\
         -- \n\
         bincimap\n"
    )
}

/// Delivers the welcome message into the INBOX at `maildir`.
///
/// The store is opened first so it creates INBOX its own way; the message is
/// then delivered the way an MTA does (write to `tmp/`, rename into `new/`),
/// which every Maildir reader, ours included, picks up on its next sync.
pub fn deliver_welcome(maildir: &Path, user: &str) -> Result<PathBuf, DataError> {
    crate::store::maildir::MaildirStore::open(maildir, true).map_err(DataError::Store)?;
    for sub in ["cur", "new", "tmp"] {
        ensure_dir(&maildir.join(sub))?;
    }
    let host = host_name();
    let now = chrono::Local::now();
    let msg = welcome_message(user, &host, now);
    let unique = format!(
        "{}.M{}P{}R{:08x}.{host}",
        now.timestamp(),
        now.timestamp_subsec_micros(),
        std::process::id(),
        rand::thread_rng().gen::<u32>()
    );
    let tmp = maildir.join("tmp").join(&unique);
    let new = maildir.join("new").join(&unique);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io_err(format!("cannot create {}", tmp.display())))?;
    f.write_all(msg.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(io_err(format!("cannot write {}", tmp.display())))?;
    std::fs::rename(&tmp, &new).map_err(io_err(format!("cannot deliver {}", new.display())))?;
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn demo_passwd_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("data/passwd");
        let demo = create_demo_passwd(&p).unwrap().unwrap();
        assert_eq!(demo.name, "demo");
        assert_eq!(demo.password.len(), 16);
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = std::fs::metadata(dir.path().join("data"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dmode, 0o700);
        // The password verifies through the real authenticator.
        let pf = crate::auth::passwd::PasswdFile::open(&p, "Maildir", dir.path()).unwrap();
        use crate::auth::Authenticator;
        assert!(pf.verify("demo", demo.password.as_bytes()).is_some());
        assert!(create_demo_passwd(&p).unwrap().is_none());
    }

    #[test]
    fn self_signed_cert_created_once_with_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("d/tls-cert.pem");
        let key = dir.path().join("d/tls-key.pem");
        assert!(ensure_self_signed_cert(&cert, &key).unwrap());
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let c1 = std::fs::read_to_string(&cert).unwrap();
        assert!(c1.starts_with("-----BEGIN CERTIFICATE-----"), "{c1}");
        assert!(std::fs::read_to_string(&key)
            .unwrap()
            .contains("PRIVATE KEY-----"));
        // Existing files are kept.
        assert!(!ensure_self_signed_cert(&cert, &key).unwrap());
        assert_eq!(std::fs::read_to_string(&cert).unwrap(), c1);
        // And the pair loads as a TLS configuration.
        assert!(crate::server::tls::load_server_config(&cert, &key).is_ok());
    }

    #[test]
    fn welcome_is_delivered_to_new() {
        let dir = tempfile::tempdir().unwrap();
        let md = dir.path().join("mail/demo/Maildir");
        let path = deliver_welcome(&md, "demo").unwrap();
        assert_eq!(path.parent().unwrap(), md.join("new"));
        let text = std::fs::read_to_string(&path).unwrap();
        for h in [
            "Date: ",
            "From: ",
            "To: demo <demo@",
            "Subject: Welcome",
            "Message-ID: <",
            "MIME-Version: 1.0",
            "Content-Type: text/plain",
        ] {
            assert!(text.contains(h), "missing {h}");
        }
        assert!(text.contains("\n\nHello demo"));
        assert_eq!(std::fs::read_dir(md.join("tmp")).unwrap().count(), 0);
    }
}
