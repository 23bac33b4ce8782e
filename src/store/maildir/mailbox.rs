//! One Maildir: scanning (new/ → cur/, UID assignment, expunge detection),
//! the opened-mailbox handle ([`MaildirMailbox`]) and batch delivery into
//! cur/ used by APPEND, COPY and RENAME INBOX.
//!
//! Rules: UIDs are only assigned under the state lock after re-reading the
//! state; the directory listing is the truth for which messages exist and
//! their flags; the state file is the truth for UIDs. A handle skips all
//! work when new/ and cur/ stat the same as at its last scan (Binc's
//! two-stat rule), but only for directories whose timestamps had settled
//! (see [`super::state::DirKey::settled`]).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::flags::{
    self, flags_of, letters_for, make_name, preserved, split_name, unique_of, Keywords,
};
use super::lock::{self, LockGuard, LOCK_TIMEOUT};
use super::state::{self, DirKeys, FileSig, Record, State, STATE_FILE};
use crate::imap::command::StoreOp;
use crate::store::{Flags, Mailbox, MessageInfo, Result, StoreError, Uid};

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn ioe(ctx: &str, p: &Path, e: io::Error) -> StoreError {
    StoreError::io(format!("{ctx} {}", p.display()), e)
}

/// Message filenames in a Maildir subdirectory: dot files, names that are
/// not UTF-8 and names with line breaks (cannot be recorded) are skipped.
pub fn list_dir(p: &Path) -> Result<Vec<String>> {
    let rd = fs::read_dir(p).map_err(|e| ioe("reading", p, e))?;
    let mut out = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| ioe("reading", p, e))?;
        let Ok(name) = ent.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') || name.contains(['\n', '\r']) {
            continue;
        }
        // d_type comes with the entry: no extra syscall.
        if ent.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        out.push(name);
    }
    Ok(out)
}

/// True when `p` has at least one message entry (stops at the first).
pub fn has_entries(p: &Path) -> bool {
    let Ok(rd) = fs::read_dir(p) else {
        return false;
    };
    rd.flatten()
        .any(|e| !e.file_name().as_encoded_bytes().starts_with(b"."))
}

/// Removes files left in tmp/ for more than 36 hours (the Maildir rule):
/// crashed deliveries and spools. Best effort.
fn clean_tmp(tmp: &Path) {
    let Ok(rd) = fs::read_dir(tmp) else { return };
    let limit = SystemTime::now() - std::time::Duration::from_secs(36 * 3600);
    for ent in rd.flatten() {
        let Ok(meta) = ent.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let newest = [meta.modified().ok(), meta.accessed().ok()]
            .into_iter()
            .flatten()
            .max();
        if newest.is_some_and(|t| t < limit) {
            let _ = fs::remove_file(ent.path());
        }
    }
}

/// (mtime, size) of `name` in the open directory `dir`: fstatat avoids
/// resolving the whole path for each of many files.
fn stat_at(dir: &fs::File, name: &str) -> io::Result<(i64, u64)> {
    use std::os::unix::io::AsRawFd;
    let c = std::ffi::CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in name"))?;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: valid dir fd, NUL-terminated name, st is written on success.
    let r = unsafe { libc::fstatat(dir.as_raw_fd(), c.as_ptr(), st.as_mut_ptr(), 0) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstatat returned 0, so it filled the struct.
    let st = unsafe { st.assume_init() };
    Ok((st.st_mtime, u64::try_from(st.st_size).unwrap_or(0)))
}

/// (mtime, name, size) of each file in `dir`; vanished files are left
/// out. Many files are stat'ed on several threads (first scan of a big
/// Maildir is dominated by stat calls).
fn stat_all(dir: &Path, names: Vec<String>) -> Result<Vec<(i64, String, u64)>> {
    let dirf = fs::File::open(dir).map_err(|e| ioe("opening", dir, e))?;
    let one = |chunk: Vec<String>| -> Result<Vec<(i64, String, u64)>> {
        let mut out = Vec::with_capacity(chunk.len());
        for name in chunk {
            match stat_at(&dirf, &name) {
                Ok((mtime, size)) => out.push((mtime, name, size)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(ioe("stat", &dir.join(&name), e)),
            }
        }
        Ok(out)
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4);
    if names.len() < 4096 || threads < 2 {
        return one(names);
    }
    let per = names.len().div_ceil(threads);
    let mut chunks = Vec::new();
    let mut rest = names;
    while rest.len() > per {
        let tail = rest.split_off(per);
        chunks.push(rest);
        rest = tail;
    }
    chunks.push(rest);
    let results: Vec<Result<Vec<(i64, String, u64)>>> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks.into_iter().map(|c| s.spawn(|| one(c))).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(StoreError::io(
                        "stat",
                        io::Error::other("stat thread panicked"),
                    ))
                })
            })
            .collect()
    });
    let mut all = Vec::new();
    for r in results {
        all.extend(r?);
    }
    Ok(all)
}

/// `,W=<n>` (RFC822 size) from the unique part of a filename.
fn w_size(fname: &str) -> Option<u64> {
    size_field(fname, ",W=")
}

/// `,S=<n>` (physical size) from the unique part of a filename.
fn s_size(fname: &str) -> Option<u64> {
    size_field(fname, ",S=")
}

/// The number after `key` (`,S=` or `,W=`) in the unique part of a name.
fn size_field(fname: &str, key: &str) -> Option<u64> {
    let u = unique_of(fname);
    let i = u.find(key)?;
    let rest = u.get(i + key.len()..)?;
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest.get(..end)?.parse().ok()
}

/// Size with every bare LF counted as CRLF. `prev_cr` carries "last byte
/// was CR" across chunks.
pub fn crlf_size(data: &[u8], prev_cr: &mut bool) -> u64 {
    let mut extra = 0u64;
    for i in memchr::memchr_iter(b'\n', data) {
        let before = match i.checked_sub(1) {
            None => *prev_cr,
            Some(j) => data.get(j) == Some(&b'\r'),
        };
        if !before {
            extra += 1;
        }
    }
    if let Some(&b) = data.last() {
        *prev_cr = b == b'\r';
    }
    (data.len() as u64).saturating_add(extra)
}

/// RFC822 size of a whole file.
pub fn file_crlf_size(p: &Path) -> io::Result<u64> {
    use std::io::Read;
    let mut f = fs::File::open(p)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    let mut prev_cr = false;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        total = total.saturating_add(crlf_size(buf.get(..n).unwrap_or(&[]), &mut prev_cr));
    }
}

/// Result of a scan for the handle.
pub struct ScanOut {
    /// Keys to compare against next time (None = must rescan).
    pub keys: Option<DirKeys>,
    /// UIDs this scan claimed as \Recent: [first, end).
    pub claimed: Option<(Uid, Uid)>,
}

/// A message about to enter cur/: it sits in `tmp/<tmp_name>`.
pub struct Delivery {
    pub tmp_name: String,
    pub unique: String,
    pub flags: Flags,
    /// Uninterpreted letters to keep (e.g. `P`).
    pub keep: String,
    pub internal_date: i64,
    pub size: u64,
    pub vsize: u64,
}

/// The on-disk side of one Maildir: its state and keyword table.
pub struct Core {
    pub dir: PathBuf,
    pub state: State,
    /// Signature of the state file our in-memory copy came from.
    pub sig: Option<FileSig>,
    /// Whether `state` came from disk (or our own write).
    pub loaded: bool,
    pub kw: Keywords,
    /// RFC822 sizes learned since the last write, persisted on the next one.
    pub pending_vsize: HashMap<Uid, u64>,
}

enum Refresh {
    Ok,
    Missing,
    Corrupt(Option<u32>),
}

impl Core {
    pub fn new(dir: PathBuf) -> Core {
        Core {
            dir,
            state: State::fresh(None),
            sig: None,
            loaded: false,
            kw: Keywords::default(),
            pending_vsize: HashMap::new(),
        }
    }

    pub fn lock(&self) -> Result<LockGuard> {
        lock::lock(&self.dir, LOCK_TIMEOUT)
    }

    fn refresh(&mut self) -> Result<Refresh> {
        let path = self.dir.join(STATE_FILE);
        let sig = FileSig::of(&path).map_err(|e| ioe("stat", &path, e))?;
        if sig.is_none() {
            return Ok(Refresh::Missing);
        }
        if self.loaded && sig == self.sig {
            return Ok(Refresh::Ok);
        }
        match state::read(&self.dir).map_err(|e| ioe("reading", &path, e))? {
            None => Ok(Refresh::Missing),
            Some((Ok(st), sig)) => {
                self.state = st;
                self.sig = Some(sig);
                self.loaded = true;
                Ok(Refresh::Ok)
            }
            Some((Err(old), _)) => Ok(Refresh::Corrupt(old)),
        }
    }

    /// Under the lock: current state from disk, or a fresh one (with a
    /// larger UIDVALIDITY than any we know of) when missing or corrupt.
    /// Returns true when a fresh state was made (it must be written).
    pub fn refresh_locked(&mut self, _g: &LockGuard) -> Result<bool> {
        let old = match self.refresh()? {
            Refresh::Ok => return Ok(false),
            Refresh::Missing if !self.loaded => {
                // First time bincimap sees this Maildir: keep the UIDs
                // another server handed out.
                if let Some(st) = super::import::import(&self.dir) {
                    self.state = st;
                    self.loaded = true;
                    self.sig = None;
                    return Ok(true);
                }
                None
            }
            Refresh::Missing => None,
            Refresh::Corrupt(old) => old,
        };
        let known = self.loaded.then_some(self.state.uid_validity);
        let old = old.max(known);
        self.state = State::fresh(old);
        self.loaded = true;
        self.sig = None;
        Ok(true)
    }

    /// Writes the state (merging learned sizes). Call with the lock held.
    pub fn write(&mut self, _g: &LockGuard) -> Result<()> {
        for (uid, v) in self.pending_vsize.drain() {
            if let Some(i) = self.state.find(uid) {
                if let Some(r) = self.state.records.get_mut(i) {
                    r.vsize = v;
                }
            }
        }
        let sig = state::write(&self.dir, &self.state)
            .map_err(|e| ioe("writing state in", &self.dir, e))?;
        self.sig = Some(sig);
        Ok(())
    }

    fn load_keywords(&mut self) -> Result<()> {
        self.kw =
            Keywords::load(&self.dir).map_err(|e| ioe("reading keywords in", &self.dir, e))?;
        Ok(())
    }

    /// Finds the current filename of `unique` in cur/ (one readdir).
    pub fn find_current(&self, unique: &str) -> Result<Option<String>> {
        Ok(list_dir(&self.dir.join("cur"))?
            .into_iter()
            .find(|n| unique_of(n) == unique))
    }

    /// Scan without the lock. None when the lock is needed (new mail,
    /// unknown or missing files, external flag changes, recent to claim).
    pub fn scan_unlocked(&mut self, claim_recent: bool) -> Result<Option<ScanOut>> {
        let pre = DirKeys::of(&self.dir).map_err(|e| ioe("stat", &self.dir, e))?;
        let now = SystemTime::now();
        match self.refresh()? {
            Refresh::Ok => {}
            _ => return Ok(None),
        }
        if claim_recent && self.state.first_recent < self.state.uid_next {
            return Ok(None);
        }
        self.load_keywords()?;
        if self.state.keys == Some(pre) {
            // Another scan recorded exactly this directory state.
            return Ok(Some(ScanOut {
                keys: pre.trusted(now),
                claimed: None,
            }));
        }
        if has_entries(&self.dir.join("new")) {
            return Ok(None);
        }
        let cur = list_dir(&self.dir.join("cur"))?;
        if cur.len() != self.state.records.len() {
            return Ok(None);
        }
        let map: HashMap<&str, usize> = self
            .state
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.unique(), i))
            .collect();
        let mut hit = vec![false; self.state.records.len()];
        let mut renamed: Vec<(usize, usize)> = Vec::new();
        for (ci, name) in cur.iter().enumerate() {
            let Some(&ri) = map.get(unique_of(name)) else {
                return Ok(None);
            };
            let Some(h) = hit.get_mut(ri) else {
                return Ok(None);
            };
            if *h {
                return Ok(None);
            }
            *h = true;
            let Some(rec) = self.state.records.get(ri) else {
                return Ok(None);
            };
            if rec.fname != *name {
                if split_name(&rec.fname).1.unwrap_or("") != split_name(name).1.unwrap_or("") {
                    // Flags changed behind our back: bump modseq under lock.
                    return Ok(None);
                }
                renamed.push((ri, ci));
            }
        }
        drop(map);
        let mut cur = cur;
        for (ri, ci) in renamed {
            if let (Some(r), Some(n)) = (self.state.records.get_mut(ri), cur.get_mut(ci)) {
                r.fname = std::mem::take(n);
            }
        }
        let keys = pre.trusted(now);
        if keys.is_some() && self.state.keys != keys {
            self.record_keys(keys);
        }
        Ok(Some(ScanOut {
            keys,
            claimed: None,
        }))
    }

    /// Best effort: records settled directory keys found by an unlocked
    /// scan so later opens can skip the readdir. Only if nobody rewrote the
    /// state since we read it (then our records still describe `keys`).
    fn record_keys(&mut self, keys: Option<DirKeys>) {
        let Ok(g) = lock::lock(&self.dir, std::time::Duration::from_millis(50)) else {
            return;
        };
        let path = self.dir.join(STATE_FILE);
        if FileSig::of(&path).ok().flatten() != self.sig || self.sig.is_none() {
            return;
        }
        self.state.keys = keys;
        let _ = self.write(&g);
    }

    /// The full scan under the lock: new/ → cur/, UIDs for unknown files,
    /// expunges of vanished ones, recent claim; writes the state if needed.
    pub fn scan_locked(&mut self, claim_recent: bool, g: &LockGuard) -> Result<ScanOut> {
        let mut dirty = self.refresh_locked(g)?;
        self.load_keywords()?;
        let pre = DirKeys::of(&self.dir).map_err(|e| ioe("stat", &self.dir, e))?;
        let now = SystemTime::now();
        let newdir = self.dir.join("new");
        let curdir = self.dir.join("cur");
        for name in list_dir(&newdir)? {
            let (unique, letters) = split_name(&name);
            let target = make_name(unique, letters.unwrap_or(""));
            match fs::rename(newdir.join(&name), curdir.join(&target)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(ioe("moving", &newdir.join(&name), e)),
            }
        }
        let mut cur = list_dir(&curdir)?;
        let nrec = self.state.records.len();
        let mut hit: Vec<Option<usize>> = vec![None; nrec];
        let mut unknown: Vec<usize> = Vec::new();
        // Second entries for a unique name: (index, Ok(record) or
        // Err(position in `unknown`)).
        let mut dups: Vec<(usize, std::result::Result<usize, usize>)> = Vec::new();
        {
            let map: HashMap<&str, usize> = self
                .state
                .records
                .iter()
                .enumerate()
                .map(|(i, r)| (r.unique(), i))
                .collect();
            let mut unknown_seen: HashMap<&str, usize> = HashMap::new();
            for (ci, name) in cur.iter().enumerate() {
                let u = unique_of(name);
                match map.get(u) {
                    Some(&ri) => match hit.get_mut(ri) {
                        Some(h @ None) => *h = Some(ci),
                        _ => dups.push((ci, Ok(ri))),
                    },
                    None => match unknown_seen.get(u) {
                        Some(&ui) => dups.push((ci, Err(ui))),
                        None => {
                            unknown_seen.insert(u, unknown.len());
                            unknown.push(ci);
                        }
                    },
                }
            }
            if hit.iter().any(|h| h.is_none()) {
                // A concurrent rename can hide a file from one readdir: look
                // again before calling anything expunged.
                let again = list_dir(&curdir)?;
                let mut extra = Vec::new();
                for name in again {
                    if let Some(&ri) = map.get(unique_of(&name)) {
                        if let Some(h @ None) = hit.get_mut(ri) {
                            *h = Some(cur.len() + extra.len());
                            extra.push(name);
                        }
                    }
                }
                drop(map);
                drop(unknown_seen);
                cur.extend(extra);
            }
        }
        // A file renamed during the readdir can be listed under both names:
        // only a name that still exists counts, and only two existing files
        // are a real duplicate (that one gets a new unique name below).
        let exists = |n: &str| fs::symlink_metadata(curdir.join(n)).is_ok();
        let mut true_dups = Vec::new();
        for (dci, first) in dups {
            let Some(dname) = cur.get(dci) else { continue };
            let slot = match first {
                Ok(ri) => hit.get_mut(ri).and_then(|h| h.as_mut()),
                Err(ui) => unknown.get_mut(ui),
            };
            let Some(slot) = slot else { continue };
            let fname = cur.get(*slot).map(String::as_str).unwrap_or("");
            if fname == dname || !exists(dname) {
                continue;
            }
            if exists(fname) {
                true_dups.push(dci);
            } else {
                *slot = dci;
            }
        }
        // Known messages: keep, follow renames; collect vanished ones.
        let old = std::mem::take(&mut self.state.records);
        let mut records = Vec::with_capacity(old.len() + unknown.len());
        let mut gone = Vec::new();
        for (rec, h) in old.into_iter().zip(hit) {
            let mut rec = rec;
            match h.and_then(|ci| cur.get_mut(ci)) {
                Some(name) => {
                    if rec.fname != *name {
                        if split_name(&rec.fname).1.unwrap_or("")
                            != split_name(name).1.unwrap_or("")
                        {
                            self.state.highest_modseq = self.state.highest_modseq.saturating_add(1);
                            rec.modseq = self.state.highest_modseq;
                        }
                        rec.fname = std::mem::take(name);
                        dirty = true;
                    }
                    if rec.size == 0 && rec.internal_date == 0 {
                        // Imported record (or a truly empty 1970 file).
                        if let Ok(m) = fs::metadata(curdir.join(&rec.fname)) {
                            use std::os::unix::fs::MetadataExt;
                            rec.size = m.size();
                            rec.internal_date = m.mtime();
                            dirty |= rec.size != 0 || rec.internal_date != 0;
                        }
                    }
                    records.push(rec);
                }
                None => gone.push(rec.uid),
            }
        }
        self.state.records = records;
        // Duplicated unique names get a new unique name, then a UID.
        let mut fresh: Vec<String> = Vec::new();
        for ci in true_dups {
            let Some(name) = cur.get(ci) else { continue };
            let letters = split_name(name).1.unwrap_or("");
            let size = s_size(name);
            let newname = make_name(&super::new_unique(size, w_size(name)), letters);
            match fs::rename(curdir.join(name), curdir.join(&newname)) {
                Ok(()) => fresh.push(newname),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(ioe("renaming", &curdir.join(name), e)),
            }
        }
        for ci in unknown {
            if let Some(n) = cur.get_mut(ci) {
                fresh.push(std::mem::take(n));
            }
        }
        if !fresh.is_empty() {
            let mut items = stat_all(&curdir, fresh)?;
            items.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
            let save = now_secs();
            self.state.highest_modseq = self.state.highest_modseq.saturating_add(1);
            for (mtime, name, size) in items {
                let uid = self.state.uid_next;
                let Some(next) = uid.checked_add(1) else {
                    return Err(StoreError::Cannot("Mailbox is out of UIDs".into()));
                };
                self.state.uid_next = next;
                let vsize = w_size(&name).unwrap_or(0);
                self.state.records.push(Record {
                    uid,
                    modseq: self.state.highest_modseq,
                    save_date: save,
                    internal_date: mtime,
                    size,
                    vsize,
                    fname: name,
                });
            }
            dirty = true;
        }
        if !gone.is_empty() {
            self.state.highest_modseq = self.state.highest_modseq.saturating_add(1);
            let m = self.state.highest_modseq;
            self.state.record_expunged(&gone, m);
            dirty = true;
        }
        let mut claimed = None;
        if claim_recent && self.state.first_recent < self.state.uid_next {
            claimed = Some((self.state.first_recent, self.state.uid_next));
            self.state.first_recent = self.state.uid_next;
            dirty = true;
        }
        let keys = pre.trusted(now);
        if self.state.keys != keys {
            self.state.keys = keys;
            dirty = true;
        }
        if dirty || !self.pending_vsize.is_empty() {
            self.write(g)?;
        }
        Ok(ScanOut { keys, claimed })
    }

    /// Moves delivered files from tmp/ into cur/ and gives them UIDs in
    /// order, in one state write. Returns the UIDs (None for an item whose
    /// tmp file vanished).
    pub fn deliver(&mut self, items: Vec<Delivery>) -> Result<Vec<Option<Uid>>> {
        let g = self.lock()?;
        if self.refresh_locked(&g)? {
            // A fresh state: write it first so the UIDVALIDITY is fixed even
            // if a move below fails.
            self.write(&g)?;
        }
        self.load_keywords()?;
        let tmpdir = self.dir.join("tmp");
        let curdir = self.dir.join("cur");
        let mut out = Vec::with_capacity(items.len());
        let mut err = None;
        let save = now_secs();
        let modseq = self.state.highest_modseq.saturating_add(1);
        let mut any = false;
        for d in items {
            if err.is_some() {
                let _ = fs::remove_file(tmpdir.join(&d.tmp_name));
                continue;
            }
            let (letters, added) = letters_for(&d.flags, &mut self.kw, &d.keep);
            if added {
                if let Err(e) = self.kw.save(&self.dir) {
                    err = Some(ioe("writing keywords in", &self.dir, e));
                    let _ = fs::remove_file(tmpdir.join(&d.tmp_name));
                    continue;
                }
            }
            let fname = make_name(&d.unique, &letters);
            let uid = self.state.uid_next;
            let Some(next) = uid.checked_add(1) else {
                err = Some(StoreError::Cannot("Mailbox is out of UIDs".into()));
                let _ = fs::remove_file(tmpdir.join(&d.tmp_name));
                continue;
            };
            match fs::rename(tmpdir.join(&d.tmp_name), curdir.join(&fname)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    out.push(None);
                    continue;
                }
                Err(e) => {
                    err = Some(ioe("moving into", &curdir, e));
                    let _ = fs::remove_file(tmpdir.join(&d.tmp_name));
                    continue;
                }
            }
            self.state.uid_next = next;
            self.state.records.push(Record {
                uid,
                modseq,
                save_date: save,
                internal_date: d.internal_date,
                size: d.size,
                vsize: d.vsize,
                fname,
            });
            any = true;
            out.push(Some(uid));
        }
        if any {
            self.state.highest_modseq = modseq;
            self.write(&g)?;
        }
        match err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }
}

/// An opened mailbox.
pub struct MaildirMailbox {
    name: String,
    /// The depot root (INBOX Maildir), to resolve COPY targets.
    root: PathBuf,
    read_only: bool,
    pub(crate) core: Core,
    /// Keys seen at the last scan, when trustworthy.
    keys: Option<DirKeys>,
    infos: Vec<MessageInfo>,
    recent: Vec<(Uid, Uid)>,
}

impl MaildirMailbox {
    /// Opens and performs the first sync.
    pub fn open(root: &Path, dir: PathBuf, name: &str, read_only: bool) -> Result<MaildirMailbox> {
        if !dir.join("cur").is_dir() {
            return Err(StoreError::NotFound(name.to_string()));
        }
        let mut mb = MaildirMailbox {
            name: name.to_string(),
            root: root.to_path_buf(),
            read_only,
            core: Core::new(dir),
            keys: None,
            infos: Vec::new(),
            recent: Vec::new(),
        };
        mb.rescan()?;
        if !read_only {
            clean_tmp(&mb.core.dir.join("tmp"));
        }
        Ok(mb)
    }

    /// The state as last seen (for STATUS).
    pub fn state(&self) -> &State {
        &self.core.state
    }

    /// The unique part of a message's filename (tools, tests).
    pub fn unique_name(&self, uid: Uid) -> Option<&str> {
        let i = self.core.state.find(uid)?;
        self.core.state.records.get(i).map(|r| r.unique())
    }

    /// The last seen filename of a message in cur/ (tools, tests).
    pub fn file_name(&self, uid: Uid) -> Option<&str> {
        let i = self.core.state.find(uid)?;
        self.core.state.records.get(i).map(|r| r.fname.as_str())
    }

    pub fn dir_keys(&self) -> Option<DirKeys> {
        self.keys
    }

    fn rescan(&mut self) -> Result<bool> {
        let claim = !self.read_only;
        let out = match self.core.scan_unlocked(claim)? {
            Some(o) => o,
            None => {
                let g = self.core.lock()?;
                self.core.scan_locked(claim, &g)?
            }
        };
        self.keys = out.keys;
        if let Some(r) = out.claimed {
            self.recent.push(r);
        }
        Ok(self.rebuild())
    }

    /// Rebuilds the message list from the state; true if it changed.
    fn rebuild(&mut self) -> bool {
        let kw = &self.core.kw;
        let infos: Vec<MessageInfo> = self
            .core
            .state
            .records
            .iter()
            .map(|r| MessageInfo {
                uid: r.uid,
                flags: flags_of(&r.fname, kw),
                internal_date: r.internal_date,
                size: Some(r.size),
                modseq: r.modseq,
            })
            .collect();
        let changed = infos != self.infos;
        self.infos = infos;
        changed
    }

    fn index(&self, uid: Uid) -> Option<usize> {
        self.core.state.find(uid)
    }

    fn path_of(&self, fname: &str) -> PathBuf {
        self.core.dir.join("cur").join(fname)
    }
}

impl Mailbox for MaildirMailbox {
    fn name(&self) -> &str {
        &self.name
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn uid_validity(&self) -> u32 {
        self.core.state.uid_validity
    }

    fn uid_next(&self) -> Uid {
        self.core.state.uid_next
    }

    fn sync(&mut self) -> Result<bool> {
        let now = DirKeys::of(&self.core.dir).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                // Deleted or renamed away by another session.
                StoreError::NotFound(self.name.clone())
            } else {
                ioe("stat", &self.core.dir, e)
            }
        })?;
        if self.keys == Some(now) {
            return Ok(false);
        }
        let uv = self.core.state.uid_validity;
        let changed = self.rescan()?;
        Ok(changed || uv != self.core.state.uid_validity)
    }

    fn messages(&self) -> &[MessageInfo] {
        &self.infos
    }

    fn is_recent(&self, uid: Uid) -> bool {
        self.recent.iter().any(|&(a, b)| uid >= a && uid < b)
    }

    fn keywords(&self) -> Vec<String> {
        self.core.kw.names()
    }

    fn open_message(&mut self, uid: Uid) -> Result<fs::File> {
        let i = self.index(uid).ok_or(StoreError::MessageGone(uid))?;
        let fname = self
            .core
            .state
            .records
            .get(i)
            .map(|r| r.fname.clone())
            .ok_or(StoreError::MessageGone(uid))?;
        match fs::File::open(self.path_of(&fname)) {
            Ok(f) => return Ok(f),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(ioe("opening", &self.path_of(&fname), e)),
        }
        // Renamed by a flag change elsewhere: look it up once.
        let Some(now) = self.core.find_current(unique_of(&fname))? else {
            return Err(StoreError::MessageGone(uid));
        };
        let p = self.path_of(&now);
        let f = match fs::File::open(&p) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::MessageGone(uid))
            }
            Err(e) => return Err(ioe("opening", &p, e)),
        };
        if let Some(r) = self.core.state.records.get_mut(i) {
            r.fname = now;
        }
        Ok(f)
    }

    fn rfc822_size(&mut self, uid: Uid) -> Result<u64> {
        let i = self.index(uid).ok_or(StoreError::MessageGone(uid))?;
        let rec = self
            .core
            .state
            .records
            .get(i)
            .ok_or(StoreError::MessageGone(uid))?;
        if rec.vsize != 0 {
            return Ok(rec.vsize);
        }
        if let Some(&v) = self.core.pending_vsize.get(&uid) {
            return Ok(v);
        }
        if let Some(w) = w_size(&rec.fname) {
            return Ok(w);
        }
        let mut f = self.open_message(uid)?;
        let mut total = 0u64;
        let mut prev_cr = false;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = io::Read::read(&mut f, &mut buf)
                .map_err(|e| StoreError::io(format!("reading message {uid}"), e))?;
            if n == 0 {
                break;
            }
            total = total.saturating_add(crlf_size(buf.get(..n).unwrap_or(&[]), &mut prev_cr));
        }
        if let Some(r) = self.core.state.records.get_mut(i) {
            r.vsize = total;
        }
        self.core.pending_vsize.insert(uid, total);
        Ok(total)
    }

    fn store_flags(
        &mut self,
        uids: &[Uid],
        op: StoreOp,
        flags: &Flags,
    ) -> Result<Vec<(Uid, Flags)>> {
        if self.read_only {
            return Err(StoreError::ReadOnly);
        }
        self.sync()?;
        let g = self.core.lock()?;
        let before = self.core.sig;
        let reset = self.core.refresh_locked(&g)?;
        if reset || self.core.sig != before {
            // Someone else wrote meanwhile: rescan under this lock.
            let out = self.core.scan_locked(true, &g)?;
            if let Some(r) = out.claimed {
                self.recent.push(r);
            }
        } else {
            self.core.load_keywords()?;
        }
        let curdir = self.core.dir.join("cur");
        let mut changed = Vec::new();
        let mut sorted: Vec<Uid> = uids.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        for uid in sorted {
            let Some(i) = self.core.state.find(uid) else {
                continue;
            };
            let mut retried = false;
            while let Some(fname) = self.core.state.records.get(i).map(|r| r.fname.clone()) {
                let (unique, letters) = split_name(&fname);
                let had_info = letters.is_some();
                let old_letters = letters.unwrap_or("");
                let old = flags::parse_letters(old_letters, &self.core.kw);
                let new = old.apply(op, flags);
                let (new_letters, added) =
                    letters_for(&new, &mut self.core.kw, &preserved(old_letters));
                if new_letters == old_letters && had_info {
                    break;
                }
                if added {
                    self.core
                        .kw
                        .save(&self.core.dir)
                        .map_err(|e| ioe("writing keywords in", &self.core.dir, e))?;
                }
                let newname = make_name(unique, &new_letters);
                let unique = unique.to_string();
                match fs::rename(curdir.join(&fname), curdir.join(&newname)) {
                    Ok(()) => {
                        let changed_flags = flags::parse_letters(&new_letters, &self.core.kw);
                        let st = &mut self.core.state;
                        st.highest_modseq = st.highest_modseq.saturating_add(1);
                        let m = st.highest_modseq;
                        if let Some(r) = st.records.get_mut(i) {
                            r.fname = newname;
                            r.modseq = m;
                        }
                        // Adding a bare ":2," is not a flag change.
                        if changed_flags != old {
                            changed.push((uid, changed_flags));
                        }
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound && !retried => {
                        retried = true;
                        match self.core.find_current(&unique)? {
                            Some(n) => {
                                if let Some(r) = self.core.state.records.get_mut(i) {
                                    r.fname = n;
                                }
                            }
                            None => break,
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                    Err(e) => return Err(ioe("renaming", &curdir.join(&unique), e)),
                }
            }
        }
        self.core.write(&g)?;
        drop(g);
        self.rebuild();
        Ok(changed)
    }

    fn expunge(&mut self, only: Option<&[Uid]>) -> Result<Vec<Uid>> {
        if self.read_only {
            return Err(StoreError::ReadOnly);
        }
        let g = self.core.lock()?;
        let out = self.core.scan_locked(true, &g)?;
        if let Some(r) = out.claimed {
            self.recent.push(r);
        }
        self.keys = out.keys;
        let only: Option<HashSet<Uid>> = only.map(|o| o.iter().copied().collect());
        let curdir = self.core.dir.join("cur");
        let mut gone = Vec::new();
        for rec in &self.core.state.records {
            if only.as_ref().is_some_and(|o| !o.contains(&rec.uid)) {
                continue;
            }
            let (unique, letters) = split_name(&rec.fname);
            if !letters.unwrap_or("").contains('T') {
                continue;
            }
            match fs::remove_file(curdir.join(&rec.fname)) {
                Ok(()) => gone.push(rec.uid),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    match self.core.find_current(unique)? {
                        Some(n) if split_name(&n).1.unwrap_or("").contains('T') => {
                            match fs::remove_file(curdir.join(&n)) {
                                Ok(()) => gone.push(rec.uid),
                                Err(e) if e.kind() == io::ErrorKind::NotFound => gone.push(rec.uid),
                                Err(e) => return Err(ioe("removing", &curdir.join(&n), e)),
                            }
                        }
                        // Undeleted elsewhere meanwhile: keep it.
                        Some(_) => {}
                        None => gone.push(rec.uid),
                    }
                }
                Err(e) => return Err(ioe("removing", &curdir.join(&rec.fname), e)),
            }
        }
        if !gone.is_empty() {
            let set: HashSet<Uid> = gone.iter().copied().collect();
            let st = &mut self.core.state;
            st.records.retain(|r| !set.contains(&r.uid));
            st.highest_modseq = st.highest_modseq.saturating_add(1);
            let m = st.highest_modseq;
            st.record_expunged(&gone, m);
            self.core.write(&g)?;
        }
        drop(g);
        self.rebuild();
        Ok(gone)
    }

    fn copy_to(&mut self, uids: &[Uid], dest: &str) -> Result<(u32, Vec<(Uid, Uid)>)> {
        let dest_dir = super::depot::resolve_existing(&self.root, dest)?;
        // Keywords may have been added by others since our last scan.
        self.core.load_keywords()?;
        let mut dest_core = Core::new(dest_dir.clone());
        let tmpdir = dest_dir.join("tmp");
        let mut items = Vec::new();
        let mut srcs = Vec::new();
        let mut sorted: Vec<Uid> = uids.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        for uid in sorted {
            let Some(i) = self.index(uid) else { continue };
            let Some(rec) = self.core.state.records.get(i) else {
                continue;
            };
            let (mut fname, internal_date, size, vsize) =
                (rec.fname.clone(), rec.internal_date, rec.size, rec.vsize);
            let vsize = if vsize != 0 {
                Some(vsize)
            } else {
                w_size(&fname)
            };
            let unique = super::new_unique(Some(size), vsize);
            let target = tmpdir.join(&unique);
            let mut ok = super::link_or_copy(&self.path_of(&fname), &target, internal_date);
            if matches!(&ok, Err(e) if e.kind() == io::ErrorKind::NotFound) {
                if let Some(n) = self.core.find_current(unique_of(&fname))? {
                    fname = n;
                    ok = super::link_or_copy(&self.path_of(&fname), &target, internal_date);
                }
            }
            match ok {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => {
                    for d in &items {
                        let d: &Delivery = d;
                        let _ = fs::remove_file(tmpdir.join(&d.tmp_name));
                    }
                    return Err(ioe("copying to", &target, e));
                }
            }
            let letters = split_name(&fname).1.unwrap_or("");
            items.push(Delivery {
                tmp_name: unique.clone(),
                unique,
                flags: flags::parse_letters(letters, &self.core.kw),
                keep: preserved(letters),
                internal_date,
                size,
                vsize: vsize.unwrap_or(0),
            });
            srcs.push(uid);
        }
        let got = dest_core.deliver(items)?;
        let pairs = srcs
            .into_iter()
            .zip(got)
            .filter_map(|(s, d)| d.map(|d| (s, d)))
            .collect();
        Ok((dest_core.state.uid_validity, pairs))
    }
}
