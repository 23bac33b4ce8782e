//! Maildir++ storage: the [`Store`] implementation ([`MaildirStore`]) and
//! shared file helpers.
//!
//! Files per Maildir: `bincimap-state` (UIDs, modseqs, expunge history; see
//! [`state`]), `bincimap-state.lock` (flock), `dovecot-keywords` (keyword
//! letters, Dovecot's format). In the root: `subscriptions` (one name per
//! line; Binc's `.bincimap-subscribed` is read and retired).
//!
//! Without a state file, UIDs are imported from `dovecot-uidlist` or Binc's
//! `bincimap-cache` ([`import`]).
//!
//! Submodules: [`depot`] (names, LIST, CREATE/DELETE/RENAME, subscriptions),
//! [`mailbox`] (scan, the opened mailbox, delivery), [`state`], [`flags`],
//! [`lock`].

pub mod depot;
pub mod flags;
pub mod import;
pub mod lock;
pub mod mailbox;
pub mod state;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use mailbox::MaildirMailbox;

use super::{
    Flags, Mailbox, MailboxEntry, MessageSource, Result, StatusInfo, Store, StoreError, Uid,
};
use mailbox::{Core, Delivery};
use state::{DirKeys, FileSig, STATE_FILE};

/// Writes `dir/name` atomically: temp file in the same directory, fsync,
/// rename over, fsync the directory.
pub fn write_atomic(dir: &Path, name: &str, data: &[u8]) -> io::Result<()> {
    static N: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        "{name}.tmp.{}.{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let res = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, dir.join(name))?;
        fs::File::open(dir)?.sync_all()
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

fn hostname_part() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let h = hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "localhost".into());
        // Maildir convention: escape '/' and ':' in the host part.
        h.replace('/', "\\057").replace(':', "\\072")
    })
}

/// A new Maildir unique name, Dovecot style:
/// `<sec>.M<usec>P<pid>Q<n>R<rand>.<host>[,S=<size>][,W=<vsize>]`.
pub fn new_unique(size: Option<u64>, vsize: Option<u64>) -> String {
    static Q: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut s = format!(
        "{}.M{}P{}Q{}R{:08x}.{}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        Q.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>(),
        hostname_part()
    );
    if let Some(sz) = size {
        s.push_str(&format!(",S={sz}"));
    }
    if let Some(v) = vsize {
        s.push_str(&format!(",W={v}"));
    }
    s
}

fn system_time(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(secs.unsigned_abs()))
            .unwrap_or(UNIX_EPOCH)
    }
}

/// Hard-links `src` to `dst`; across filesystems (or where links are not
/// allowed) copies, fsyncs and sets the mtime to `mtime`.
pub fn link_or_copy(src: &Path, dst: &Path, mtime: i64) -> io::Result<()> {
    match fs::hard_link(src, dst) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(e),
        Err(_) => {
            let res = (|| {
                fs::copy(src, dst)?;
                let f = fs::OpenOptions::new().write(true).open(dst)?;
                f.set_modified(system_time(mtime))?;
                f.sync_all()
            })();
            if res.is_err() {
                let _ = fs::remove_file(dst);
            }
            res
        }
    }
}

/// STATUS results per mailbox directory, valid while new/, cur/ and the
/// state file stat the same (per process).
type StatusCache = HashMap<PathBuf, (DirKeys, Option<FileSig>, StatusInfo)>;

fn status_cache() -> std::sync::MutexGuard<'static, StatusCache> {
    static CACHE: OnceLock<Mutex<StatusCache>> = OnceLock::new();
    CACHE
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// A user's Maildir++ depot.
pub struct MaildirStore {
    pub root: PathBuf,
}

impl MaildirStore {
    /// Opens the depot rooted at the INBOX Maildir `root`, creating INBOX
    /// (cur/new/tmp) when `create_inbox` and it is missing.
    pub fn open(root: &Path, create_inbox: bool) -> Result<MaildirStore> {
        if !root.join("cur").is_dir() {
            if !create_inbox {
                return Err(StoreError::NotFound("INBOX".into()));
            }
            for sub in ["cur", "new", "tmp"] {
                let p = root.join(sub);
                fs::create_dir_all(&p)
                    .map_err(|e| StoreError::io(format!("creating {}", p.display()), e))?;
            }
        }
        Ok(MaildirStore {
            root: root.to_path_buf(),
        })
    }

    /// Opens a mailbox as the concrete type (tests, tools).
    pub fn open_maildir(&self, name: &str, read_only: bool) -> Result<MaildirMailbox> {
        let r = depot::resolve(&self.root, name)?;
        MaildirMailbox::open(&self.root, r.dir, &r.name, read_only)
    }
}

impl Store for MaildirStore {
    fn open(&self, name: &str, read_only: bool) -> Result<Box<dyn Mailbox>> {
        Ok(Box::new(self.open_maildir(name, read_only)?))
    }

    fn create(&self, name: &str) -> Result<()> {
        depot::create(&self.root, name)
    }

    fn delete(&self, name: &str) -> Result<()> {
        depot::delete(&self.root, name)
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        depot::rename(&self.root, from, to)
    }

    fn list(&self) -> Result<Vec<MailboxEntry>> {
        depot::list(&self.root)
    }

    fn exists(&self, name: &str) -> Result<bool> {
        Ok(depot::resolve(&self.root, name).is_ok_and(|r| r.dir.join("cur").is_dir()))
    }

    fn subscribe(&self, name: &str) -> Result<()> {
        depot::set_subscribed(&self.root, name, true)
    }

    fn unsubscribe(&self, name: &str) -> Result<()> {
        depot::set_subscribed(&self.root, name, false)
    }

    fn subscriptions(&self) -> Result<Vec<String>> {
        depot::subscriptions(&self.root)
    }

    fn status(&self, name: &str) -> Result<StatusInfo> {
        let r = depot::resolve(&self.root, name)?;
        // The stats of new/ and cur/ double as the existence check, so an
        // unchanged mailbox costs three stat calls (new/, cur/, state).
        let keys = match DirKeys::of(&r.dir) {
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound(r.name))
            }
            Err(e) => return Err(StoreError::io("stat", e)),
        };
        let sig = FileSig::of(&r.dir.join(STATE_FILE)).map_err(|e| StoreError::io("stat", e))?;
        if let Some((k, s, info)) = status_cache().get(&r.dir) {
            if *k == keys && *s == sig {
                return Ok(*info);
            }
        }
        // Read-only: counting must not claim \Recent.
        let mb = MaildirMailbox::open(&self.root, r.dir.clone(), &r.name, true)?;
        let st = mb.state();
        let count = |f: &dyn Fn(&state::Record) -> bool| -> u32 {
            u32::try_from(st.records.iter().filter(|r| f(r)).count()).unwrap_or(u32::MAX)
        };
        let info = StatusInfo {
            messages: u32::try_from(st.records.len()).unwrap_or(u32::MAX),
            recent: count(&|r| r.uid >= st.first_recent),
            uid_next: st.uid_next,
            uid_validity: st.uid_validity,
            unseen: u32::try_from(
                mb.messages()
                    .iter()
                    .filter(|m| !m.flags.has(Flags::SEEN))
                    .count(),
            )
            .unwrap_or(u32::MAX),
        };
        if let Some(k) = mb.dir_keys() {
            status_cache().insert(r.dir.clone(), (k, mb.core.sig, info));
        }
        Ok(info)
    }

    fn append(
        &self,
        name: &str,
        source: MessageSource<'_>,
        flags: &Flags,
        internal_date: Option<i64>,
    ) -> Result<(u32, Uid)> {
        let dir = depot::resolve_existing(&self.root, name)?;
        let date = internal_date.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
                .unwrap_or(0)
        });
        let tmpdir = dir.join("tmp");
        // Written under a provisional name, renamed to carry its sizes; the
        // file is stored with LF line ends like every Maildir MDA (and
        // Dovecot) writes, so qmail-pop3d and mutt read it unchanged.
        let provisional = new_unique(None, None);
        let tmp_path = tmpdir.join(&provisional);
        let res = (|| -> io::Result<(u64, u64)> {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp_path)?;
            let sizes = match source {
                MessageSource::Bytes(b) => write_lf(b, &mut f)?,
                MessageSource::File(src) => write_lf(fs::File::open(src)?, &mut f)?,
            };
            f.set_modified(system_time(date))?;
            f.sync_all()?;
            Ok(sizes)
        })();
        let (size, vsize) = match res {
            Ok(s) => s,
            Err(e) => {
                let _ = fs::remove_file(&tmp_path);
                return Err(StoreError::io(format!("writing {}", tmp_path.display()), e));
            }
        };
        if let MessageSource::File(src) = source {
            let _ = fs::remove_file(src);
        }
        let unique = new_unique(Some(size), Some(vsize));
        if let Err(e) = fs::rename(&tmp_path, tmpdir.join(&unique)) {
            let _ = fs::remove_file(&tmp_path);
            return Err(StoreError::io(
                format!("renaming {}", tmp_path.display()),
                e,
            ));
        }
        let mut core = Core::new(dir);
        let got = core.deliver(vec![Delivery {
            tmp_name: unique.clone(),
            unique,
            flags: flags.clone(),
            keep: String::new(),
            internal_date: date,
            size,
            vsize,
        }])?;
        match got.first().copied().flatten() {
            Some(uid) => Ok((core.state.uid_validity, uid)),
            None => Err(StoreError::io(
                "delivering",
                io::Error::new(io::ErrorKind::NotFound, "temporary file vanished"),
            )),
        }
    }

    fn spool_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }
}

/// Copies a message converting CRLF to LF, in chunks; returns (size on
/// disk, RFC822 size with CRLF line ends).
fn write_lf(mut r: impl io::Read, w: &mut fs::File) -> io::Result<(u64, u64)> {
    let mut inbuf = vec![0u8; 64 * 1024];
    let mut out: Vec<u8> = Vec::with_capacity(64 * 1024);
    let (mut size, mut lfs, mut pending_cr) = (0u64, 0u64, false);
    // Last byte written, so a LF after a kept CR is not counted as bare.
    let mut last = 0u8;
    loop {
        let n = r.read(&mut inbuf)?;
        if n == 0 {
            break;
        }
        out.clear();
        for &b in inbuf.get(..n).unwrap_or(&[]) {
            if pending_cr {
                pending_cr = false;
                if b != b'\n' {
                    out.push(b'\r');
                    last = b'\r';
                }
            }
            if b == b'\r' {
                pending_cr = true;
                continue;
            }
            if b == b'\n' && last != b'\r' {
                lfs += 1;
            }
            out.push(b);
            last = b;
        }
        w.write_all(&out)?;
        size += out.len() as u64;
    }
    if pending_cr {
        w.write_all(b"\r")?;
        size += 1;
    }
    Ok((size, size + lfs))
}
