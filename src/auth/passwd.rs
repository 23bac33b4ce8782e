//! The password file authenticator for virtual users.
//!
//! Format, one user per line: `user:hash[:uid:gid:home]`; `#` starts a
//! comment line; blank lines are ignored. A Dovecot-style `{SCHEME}` prefix
//! on the hash is accepted. Malformed lines are skipped with a warning.
//!
//! The file is re-read when its mtime, size or inode changes: one stat()
//! per login, no restart needed after `bincimap passwd >> passwd`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use super::hash;
use super::{AuthedUser, Authenticator};
use crate::server::log;

/// One line of the password file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub hash: String,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub home: Option<PathBuf>,
}

/// True for names that are safe as one path component under `<data>/mail`.
pub fn valid_user_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name != "."
        && name != ".."
        && !name.contains(['/', ':'])
        && !name.chars().any(|c| c.is_control())
}

/// Parses one non-comment line; Err says why it was skipped.
fn parse_line(line: &str) -> Result<PasswdEntry, String> {
    // The home directory may itself contain ':', so it takes the rest.
    let mut f = line.splitn(5, ':');
    let name = f.next().unwrap_or("");
    if !valid_user_name(name) {
        return Err(format!("invalid user name {name:?}"));
    }
    let hash = hash::strip_scheme_prefix(f.next().unwrap_or(""));
    if hash::scheme_of(hash).is_none() {
        return Err(format!(
            "user {name:?}: unsupported or missing password hash (want $argon2id$, $6$, $5$ or $2b$)"
        ));
    }
    let num = |field: Option<&str>, what: &str| -> Result<Option<u32>, String> {
        match field {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse::<u32>()
                .map(Some)
                .map_err(|_| format!("user {name:?}: bad {what} {v:?}")),
        }
    };
    let uid = num(f.next(), "uid")?;
    let gid = num(f.next(), "gid")?;
    let home = match f.next() {
        None | Some("") => None,
        Some(h) if h.starts_with('/') => Some(PathBuf::from(h)),
        Some(h) => return Err(format!("user {name:?}: home {h:?} is not absolute")),
    };
    Ok(PasswdEntry {
        name: name.to_string(),
        hash: hash.to_string(),
        uid,
        gid,
        home,
    })
}

/// Parses a whole file. Returns the users and a warning per skipped line
/// (`path:line: why`). The first line for a user wins.
pub fn parse(text: &str, source: &Path) -> (HashMap<String, PasswdEntry>, Vec<String>) {
    let mut users = HashMap::new();
    let mut warnings = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let lineno = i + 1;
        match parse_line(line) {
            Ok(e) => {
                if users.contains_key(&e.name) {
                    warnings.push(format!(
                        "{}:{lineno}: duplicate user {:?} ignored",
                        source.display(),
                        e.name
                    ));
                } else {
                    users.insert(e.name.clone(), e);
                }
            }
            Err(why) => warnings.push(format!(
                "{}:{lineno}: {why}; line skipped",
                source.display()
            )),
        }
    }
    (users, warnings)
}

/// What identifies a version of the file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    mtime: Option<SystemTime>,
    len: u64,
    ino: u64,
}

fn stamp(path: &Path) -> std::io::Result<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path)?;
    Ok(Stamp {
        mtime: m.modified().ok(),
        len: m.len(),
        ino: m.ino(),
    })
}

struct Cache {
    stamp: Option<Stamp>,
    users: Arc<HashMap<String, PasswdEntry>>,
}

/// Authenticates against a password file.
pub struct PasswdFile {
    path: PathBuf,
    /// `mailbox.path`, joined to a user's home when the line gives one.
    mailbox_path: String,
    /// Virtual users without a home live in `<data_dir>/mail/<user>/Maildir`.
    data_dir: PathBuf,
    cache: Mutex<Cache>,
}

#[derive(Debug)]
pub struct PasswdError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl std::fmt::Display for PasswdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: cannot read password file: {}",
            self.path.display(),
            self.source
        )
    }
}

impl std::error::Error for PasswdError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// An argon2id hash of a random password, verified against when the user is
/// unknown so that case costs what a wrong password costs.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut pw = [0u8; 24];
        rand::Rng::fill(&mut rand::thread_rng(), &mut pw[..]);
        // Hashing with fixed inputs cannot fail; an empty string (which
        // never verifies) is only the unreachable fallback.
        hash::hash_password(&pw).unwrap_or_default()
    })
}

impl PasswdFile {
    /// Opens and reads the file now, so a missing file is a startup error.
    pub fn open(
        path: &Path,
        mailbox_path: &str,
        data_dir: &Path,
    ) -> Result<PasswdFile, PasswdError> {
        let pf = PasswdFile {
            path: path.to_path_buf(),
            mailbox_path: mailbox_path.to_string(),
            data_dir: data_dir.to_path_buf(),
            cache: Mutex::new(Cache {
                stamp: None,
                users: Arc::new(HashMap::new()),
            }),
        };
        let st = stamp(path).map_err(|source| PasswdError {
            path: path.to_path_buf(),
            source,
        })?;
        let users = pf.read().map_err(|source| PasswdError {
            path: path.to_path_buf(),
            source,
        })?;
        if let Ok(mut c) = pf.cache.lock() {
            c.stamp = Some(st);
            c.users = Arc::new(users);
        }
        // Pay for the dummy hash at startup, not on the first bad login.
        let _ = dummy_hash();
        Ok(pf)
    }

    fn read(&self) -> std::io::Result<HashMap<String, PasswdEntry>> {
        let text = std::fs::read_to_string(&self.path)?;
        let (users, warnings) = parse(&text, &self.path);
        for w in warnings {
            log::warn(w);
        }
        Ok(users)
    }

    /// The current users, re-reading the file if it changed. If it became
    /// unreadable the last good copy stays in use.
    fn users(&self) -> Arc<HashMap<String, PasswdEntry>> {
        let mut cache = match self.cache.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        match stamp(&self.path) {
            Ok(st) if cache.stamp != Some(st) => match self.read() {
                Ok(users) => {
                    log::server(format_args!("reloaded {}", self.path.display()));
                    cache.stamp = Some(st);
                    cache.users = Arc::new(users);
                }
                Err(e) => log::warn(format_args!(
                    "{}: cannot re-read password file: {e}; keeping the previous one",
                    self.path.display()
                )),
            },
            Ok(_) => {}
            Err(e) => log::warn(format_args!(
                "{}: cannot stat password file: {e}; keeping the previous one",
                self.path.display()
            )),
        }
        Arc::clone(&cache.users)
    }

    /// Where a user's depot is.
    pub fn maildir_for(&self, e: &PasswdEntry) -> PathBuf {
        match &e.home {
            Some(h) => h.join(&self.mailbox_path),
            None => self.data_dir.join("mail").join(&e.name).join("Maildir"),
        }
    }

    /// How many users the file holds now.
    pub fn user_count(&self) -> usize {
        self.users().len()
    }

    /// The depots of the users without a uid of their own (virtual users),
    /// which the mail user of a root-started `serve` must own.
    pub fn virtual_maildirs(&self) -> Vec<PathBuf> {
        self.users()
            .values()
            .filter(|e| e.uid.is_none())
            .map(|e| self.maildir_for(e))
            .collect()
    }

    /// Looks a user up without checking a password.
    pub fn lookup(&self, user: &str) -> Option<PasswdEntry> {
        self.users().get(user).cloned()
    }
}

impl Authenticator for PasswdFile {
    fn verify(&self, user: &str, pass: &[u8]) -> Option<AuthedUser> {
        let users = self.users();
        match users.get(user) {
            Some(e) => {
                if hash::verify(&e.hash, pass) {
                    Some(AuthedUser {
                        name: e.name.clone(),
                        maildir: self.maildir_for(e),
                        uid: e.uid,
                        gid: e.gid,
                    })
                } else {
                    None
                }
            }
            None => {
                // Same work as a wrong password, same answer.
                let _ = hash::verify(dummy_hash(), pass);
                None
            }
        }
    }

    fn has_other_uids(&self, uid: u32) -> bool {
        self.users()
            .values()
            .any(|e| e.uid.is_some_and(|u| u != uid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA512: &str = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";
    const SHA256: &str = "$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA";

    #[test]
    fn parses_fields_comments_and_blanks() {
        let text = format!(
            "# comment\n\n  \nalice:{SHA512}\nbob:{SHA256}:1001:1002:/home/bob\r\ncarol:{{SHA512-CRYPT}}{SHA512}::\n"
        );
        let (u, w) = parse(&text, Path::new("pw"));
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(u.len(), 3);
        let bob = &u["bob"];
        assert_eq!(bob.uid, Some(1001));
        assert_eq!(bob.gid, Some(1002));
        assert_eq!(bob.home.as_deref(), Some(Path::new("/home/bob")));
        assert_eq!(u["alice"].uid, None);
        assert_eq!(u["carol"].hash, SHA512);
    }

    #[test]
    fn malformed_lines_skipped_with_warning() {
        let text = format!(
            "good:{SHA512}\nnohash\nplain:secret\n../evil:{SHA512}\nbaduid:{SHA512}:x:1\nrelhome:{SHA512}:1:1:home\n:{SHA512}\ngood:{SHA256}\n"
        );
        let (u, w) = parse(&text, Path::new("pw"));
        assert_eq!(u.len(), 1);
        assert_eq!(u["good"].hash, SHA512, "first line for a user wins");
        assert_eq!(w.len(), 7, "{w:?}");
        assert!(w[0].starts_with("pw:2:"), "{w:?}");
    }

    fn file_with(text: &str) -> (tempfile::TempDir, PasswdFile) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("passwd");
        std::fs::write(&p, text).unwrap();
        let pf = PasswdFile::open(&p, "Maildir", &dir.path().join("data")).unwrap();
        (dir, pf)
    }

    #[test]
    fn verifies_each_scheme() {
        let argon = hash::hash_password(b"secret").unwrap();
        let (dir, pf) = file_with(&format!(
            "a:{argon}\ns6:{SHA512}\ns5:{SHA256}:10:20:/home/s5\n"
        ));
        let a = pf.verify("a", b"secret").unwrap();
        assert_eq!(a.name, "a");
        assert_eq!(a.maildir, dir.path().join("data/mail/a/Maildir"));
        assert_eq!(a.uid, None);
        assert!(pf.verify("s6", b"secret").is_some());
        let s5 = pf.verify("s5", b"secret").unwrap();
        assert_eq!(s5.maildir, PathBuf::from("/home/s5/Maildir"));
        assert_eq!((s5.uid, s5.gid), (Some(10), Some(20)));
    }

    #[test]
    fn wrong_password_and_unknown_user_fail() {
        let (_d, pf) = file_with(&format!("s6:{SHA512}\n"));
        assert!(pf.verify("s6", b"wrong").is_none());
        assert!(pf.verify("s6", b"").is_none());
        assert!(pf.verify("nobody", b"secret").is_none());
        assert!(pf.verify("S6", b"secret").is_none());
    }

    #[test]
    fn reloads_when_file_changes() {
        let (dir, pf) = file_with(&format!("s6:{SHA512}\n"));
        assert!(pf.verify("s5", b"secret").is_none());
        // A different size guarantees a new stamp even within one mtime tick.
        std::fs::write(
            dir.path().join("passwd"),
            format!("# now with s5\ns5:{SHA256}\n"),
        )
        .unwrap();
        assert!(pf.verify("s5", b"secret").is_some());
        assert!(pf.verify("s6", b"secret").is_none());
    }

    #[test]
    fn vanished_file_keeps_last_good_copy() {
        let (dir, pf) = file_with(&format!("s6:{SHA512}\n"));
        std::fs::remove_file(dir.path().join("passwd")).unwrap();
        assert!(pf.verify("s6", b"secret").is_some());
        assert_eq!(pf.user_count(), 1);
    }

    #[test]
    fn missing_file_is_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(PasswdFile::open(&dir.path().join("nope"), "Maildir", dir.path()).is_err());
    }

    #[test]
    fn user_names() {
        assert!(valid_user_name("alice"));
        assert!(valid_user_name("a.b@example.org"));
        for bad in ["", ".", "..", "a/b", "a:b", "a\nb", "a\0b"] {
            assert!(!valid_user_name(bad), "{bad:?}");
        }
    }
}
