//! The per-Maildir state file `bincimap-state`.
//!
//! Text, one record per line, written atomically under the state lock:
//!
//! ```text
//! bincimap-state 1
//! V <uidvalidity> <uidnext> <highestmodseq> <first_recent_uid>
//! K <new: msec mnsec csec cnsec ino> <cur: same>      (or `K -`)
//! M <uid> <modseq> <savedate> <internaldate> <size> <rfc822size> <filename>
//! X <first uid> <last uid> <modseq>                   (expunge history)
//! E <number of M lines>
//! ```
//!
//! `K` is the stat of new/ and cur/ taken before the readdir that produced
//! the M lines; when it still matches the directories, the records are the
//! directory contents and a reader may skip the readdir. Filenames are the
//! last seen name (the unique part is what identifies a message; the flag
//! part is a hint). A file that fails to parse in any way is "corrupt": the
//! caller starts over with a larger UIDVALIDITY.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::flags::unique_of;
use crate::store::Uid;

pub const STATE_FILE: &str = "bincimap-state";
const MAGIC: &str = "bincimap-state 1";

/// Stat identity of one directory (mtime, ctime with nanoseconds, inode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DirKey {
    pub m_s: i64,
    pub m_ns: i64,
    pub c_s: i64,
    pub c_ns: i64,
    pub ino: u64,
}

impl DirKey {
    pub fn of(path: &Path) -> io::Result<DirKey> {
        let m = std::fs::metadata(path)?;
        Ok(DirKey {
            m_s: m.mtime(),
            m_ns: m.mtime_nsec(),
            c_s: m.ctime(),
            c_ns: m.ctime_nsec(),
            ino: m.ino(),
        })
    }

    /// A key may only be trusted to mean "unchanged" when the directory was
    /// last modified well before we looked: a change within the same
    /// timestamp tick as our stat would otherwise go unnoticed (1–2 s ticks
    /// on some filesystems, a jiffy on others).
    pub fn settled(&self, now: SystemTime) -> bool {
        let now = match now.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(_) => return false,
        };
        self.m_s.saturating_add(2) < now && self.c_s.saturating_add(2) < now
    }
}

/// new/ and cur/ keys together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DirKeys {
    pub new: DirKey,
    pub cur: DirKey,
}

impl DirKeys {
    pub fn of(dir: &Path) -> io::Result<DirKeys> {
        Ok(DirKeys {
            new: DirKey::of(&dir.join("new"))?,
            cur: DirKey::of(&dir.join("cur"))?,
        })
    }

    /// Some(self) when both are settled now, else None.
    pub fn trusted(self, now: SystemTime) -> Option<DirKeys> {
        (self.new.settled(now) && self.cur.settled(now)).then_some(self)
    }
}

/// Identity of the state file on disk, to notice rewrites by others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSig {
    pub ino: u64,
    pub m_s: i64,
    pub m_ns: i64,
    pub size: u64,
}

impl FileSig {
    pub fn of_meta(m: &std::fs::Metadata) -> FileSig {
        FileSig {
            ino: m.ino(),
            m_s: m.mtime(),
            m_ns: m.mtime_nsec(),
            size: m.size(),
        }
    }
    /// None when the file does not exist.
    pub fn of(path: &Path) -> io::Result<Option<FileSig>> {
        match std::fs::metadata(path) {
            Ok(m) => Ok(Some(FileSig::of_meta(&m))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub uid: Uid,
    pub modseq: u64,
    pub save_date: i64,
    pub internal_date: i64,
    pub size: u64,
    /// RFC822.SIZE (CRLF); 0 = not known yet.
    pub vsize: u64,
    /// Last seen filename in cur/.
    pub fname: String,
}

impl Record {
    pub fn unique(&self) -> &str {
        unique_of(&self.fname)
    }
}

/// A run of expunged UIDs sharing one modseq.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpungedRange {
    pub first: Uid,
    pub last: Uid,
    pub modseq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub uid_validity: u32,
    pub uid_next: Uid,
    pub highest_modseq: u64,
    pub first_recent: Uid,
    pub keys: Option<DirKeys>,
    /// Ascending UID order.
    pub records: Vec<Record>,
    pub expunged: Vec<ExpungedRange>,
}

impl State {
    /// A fresh state; UIDVALIDITY is the current time, bumped above `old`.
    pub fn fresh(old: Option<u32>) -> State {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(1);
        // Never hand out the same UIDVALIDITY twice from one process, so a
        // mailbox deleted and re-created within a second still changes it.
        static LAST: AtomicU32 = AtomicU32::new(0);
        let floor = old.unwrap_or(0).max(LAST.load(Ordering::SeqCst));
        let uv = next_uidvalidity(now, floor);
        LAST.fetch_max(uv, Ordering::SeqCst);
        State {
            uid_validity: uv,
            uid_next: 1,
            highest_modseq: 1,
            first_recent: 1,
            keys: None,
            records: Vec::new(),
            expunged: Vec::new(),
        }
    }

    pub fn find(&self, uid: Uid) -> Option<usize> {
        self.records.binary_search_by_key(&uid, |r| r.uid).ok()
    }

    /// Records `uids` (ascending, no longer in `records`) as expunged at
    /// `modseq`, merging runs that no live message separates.
    pub fn record_expunged(&mut self, uids: &[Uid], modseq: u64) {
        for &u in uids {
            let merge = self
                .expunged
                .last()
                .is_some_and(|l| l.modseq == modseq && u > l.last && !self.live_between(l.last, u));
            if merge {
                if let Some(last) = self.expunged.last_mut() {
                    last.last = u;
                }
                continue;
            }
            self.expunged.push(ExpungedRange {
                first: u,
                last: u,
                modseq,
            });
        }
    }

    fn live_between(&self, a: Uid, b: Uid) -> bool {
        let i = self.records.partition_point(|r| r.uid <= a);
        self.records.get(i).is_some_and(|r| r.uid < b)
    }

    pub fn serialize(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.records.len() * 80);
        let _ = writeln!(out, "{MAGIC}");
        let _ = writeln!(
            out,
            "V {} {} {} {}",
            self.uid_validity, self.uid_next, self.highest_modseq, self.first_recent
        );
        match &self.keys {
            Some(k) => {
                let _ = writeln!(
                    out,
                    "K {} {} {} {} {} {} {} {} {} {}",
                    k.new.m_s,
                    k.new.m_ns,
                    k.new.c_s,
                    k.new.c_ns,
                    k.new.ino,
                    k.cur.m_s,
                    k.cur.m_ns,
                    k.cur.c_s,
                    k.cur.c_ns,
                    k.cur.ino
                );
            }
            None => out.extend_from_slice(b"K -\n"),
        }
        for r in &self.records {
            let _ = writeln!(
                out,
                "M {} {} {} {} {} {} {}",
                r.uid, r.modseq, r.save_date, r.internal_date, r.size, r.vsize, r.fname
            );
        }
        for x in &self.expunged {
            let _ = writeln!(out, "X {} {} {}", x.first, x.last, x.modseq);
        }
        let _ = writeln!(out, "E {}", self.records.len());
        out
    }

    /// Parses a state file. On failure returns the UIDVALIDITY if the
    /// header was readable, so the replacement can be made larger.
    pub fn parse(data: &[u8]) -> std::result::Result<State, Option<u32>> {
        let mut lines = data.split(|&b| b == b'\n');
        if lines.next() != Some(MAGIC.as_bytes()) {
            return Err(None);
        }
        let v = lines.next().ok_or(None)?;
        let mut f = Fields::new(v.strip_prefix(b"V ").ok_or(None)?);
        let uv = f.num().and_then(|n| u32::try_from(n).ok()).ok_or(None)?;
        let bad = Some(uv);
        let uid_next = f.u32().ok_or(bad)?;
        let highest_modseq = f.num().ok_or(bad)?;
        let first_recent = f.u32().ok_or(bad)?;
        if uv == 0 || uid_next == 0 || first_recent > uid_next || !f.done() {
            return Err(bad);
        }
        let k = lines.next().ok_or(bad)?;
        let keys = if k == b"K -" {
            None
        } else {
            let mut f = Fields::new(k.strip_prefix(b"K ").ok_or(bad)?);
            let mut key = || -> Option<DirKey> {
                Some(DirKey {
                    m_s: f.int()?,
                    m_ns: f.int()?,
                    c_s: f.int()?,
                    c_ns: f.int()?,
                    ino: f.num()?,
                })
            };
            let new = key().ok_or(bad)?;
            let cur = key().ok_or(bad)?;
            Some(DirKeys { new, cur })
        };
        let mut st = State {
            uid_validity: uv,
            uid_next,
            highest_modseq,
            first_recent,
            keys,
            records: Vec::new(),
            expunged: Vec::new(),
        };
        let mut ended = false;
        for line in lines {
            if ended {
                if line.is_empty() {
                    continue;
                }
                return Err(bad);
            }
            if let Some(rest) = line.strip_prefix(b"M ") {
                let mut f = Fields::new(rest);
                let uid = f.u32().ok_or(bad)?;
                let modseq = f.num().ok_or(bad)?;
                let save_date = f.int().ok_or(bad)?;
                let internal_date = f.int().ok_or(bad)?;
                let size = f.num().ok_or(bad)?;
                let vsize = f.num().ok_or(bad)?;
                let fname = std::str::from_utf8(f.rest()).map_err(|_| bad)?;
                let prev = st.records.last().map_or(0, |r| r.uid);
                if uid <= prev || uid >= uid_next || fname.is_empty() {
                    return Err(bad);
                }
                st.records.push(Record {
                    uid,
                    modseq,
                    save_date,
                    internal_date,
                    size,
                    vsize,
                    fname: fname.to_string(),
                });
            } else if let Some(rest) = line.strip_prefix(b"X ") {
                let mut f = Fields::new(rest);
                let first = f.u32().ok_or(bad)?;
                let last = f.u32().ok_or(bad)?;
                let modseq = f.num().ok_or(bad)?;
                if first > last || !f.done() {
                    return Err(bad);
                }
                st.expunged.push(ExpungedRange {
                    first,
                    last,
                    modseq,
                });
            } else if let Some(rest) = line.strip_prefix(b"E ") {
                let n = Fields::new(rest).num().ok_or(bad)?;
                if usize::try_from(n).ok() != Some(st.records.len()) {
                    return Err(bad);
                }
                ended = true;
            } else {
                return Err(bad);
            }
        }
        if !ended {
            return Err(bad);
        }
        Ok(st)
    }
}

/// The current time as UIDVALIDITY, but above `floor`.
fn next_uidvalidity(now_secs: u64, floor: u32) -> u32 {
    let uv = u32::try_from(now_secs).unwrap_or(u32::MAX).max(1);
    if uv <= floor {
        floor.saturating_add(1)
    } else {
        uv
    }
}

/// Reads the state file. Ok(None) = no file; Ok(Some((Err(old_uv), sig))) =
/// unparsable.
#[allow(clippy::type_complexity)]
pub fn read(dir: &Path) -> io::Result<Option<(std::result::Result<State, Option<u32>>, FileSig)>> {
    let path = dir.join(STATE_FILE);
    let mut f = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = f.metadata()?;
    let mut data = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    io::Read::read_to_end(&mut f, &mut data)?;
    Ok(Some((State::parse(&data), FileSig::of_meta(&meta))))
}

/// Writes the state atomically; returns the new file's signature.
pub fn write(dir: &Path, st: &State) -> io::Result<FileSig> {
    super::write_atomic(dir, STATE_FILE, &st.serialize())?;
    FileSig::of(&dir.join(STATE_FILE))?
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "state file vanished"))
}

/// Space-separated numeric fields without allocation.
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    fn new(rest: &'a [u8]) -> Self {
        Fields { rest }
    }
    fn token(&mut self) -> Option<&'a [u8]> {
        let end = self
            .rest
            .iter()
            .position(|&b| b == b' ')
            .unwrap_or(self.rest.len());
        let (tok, rest) = self.rest.split_at(end);
        self.rest = rest.strip_prefix(b" ").unwrap_or(rest);
        (!tok.is_empty()).then_some(tok)
    }
    fn num(&mut self) -> Option<u64> {
        let t = self.token()?;
        if t.len() > 19 {
            return None;
        }
        let mut n: u64 = 0;
        for &b in t {
            if !b.is_ascii_digit() {
                return None;
            }
            n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        }
        Some(n)
    }
    fn u32(&mut self) -> Option<u32> {
        self.num().and_then(|n| u32::try_from(n).ok())
    }
    fn int(&mut self) -> Option<i64> {
        if self.rest.first() == Some(&b'-') {
            self.rest = self.rest.get(1..)?;
            let n = i64::try_from(self.num()?).ok()?;
            Some(-n)
        } else {
            i64::try_from(self.num()?).ok()
        }
    }
    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.rest)
    }
    fn done(&self) -> bool {
        self.rest.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> State {
        let mut st = State::fresh(None);
        st.uid_next = 10;
        st.first_recent = 7;
        st.highest_modseq = 5;
        st.keys = Some(DirKeys {
            new: DirKey {
                m_s: 1,
                m_ns: 2,
                c_s: 3,
                c_ns: 4,
                ino: 5,
            },
            cur: DirKey {
                m_s: -6,
                m_ns: 7,
                c_s: 8,
                c_ns: 9,
                ino: 10,
            },
        });
        for uid in [2u32, 5, 9] {
            st.records.push(Record {
                uid,
                modseq: 3,
                save_date: 100,
                internal_date: -5,
                size: 42,
                vsize: 0,
                fname: format!("17.M1P2.host with space {uid}:2,S"),
            });
        }
        st.record_expunged(&[1], 4);
        st.record_expunged(&[3, 4, 6], 5);
        st
    }

    #[test]
    fn round_trip() {
        let st = sample();
        let text = st.serialize();
        let back = State::parse(&text).unwrap();
        assert_eq!(back, st);
        assert_eq!(back.records[0].unique(), "17.M1P2.host with space 2");
        // 3 and 4 merge (no live message between), 6 does not (5 lives).
        assert_eq!(
            back.expunged,
            vec![
                ExpungedRange {
                    first: 1,
                    last: 1,
                    modseq: 4
                },
                ExpungedRange {
                    first: 3,
                    last: 4,
                    modseq: 5
                },
                ExpungedRange {
                    first: 6,
                    last: 6,
                    modseq: 5
                },
            ]
        );
    }

    #[test]
    fn garbage_is_rejected_with_old_uidvalidity() {
        let st = sample();
        let text = st.serialize();
        // Truncated (no E line).
        let cut = &text[..text.len() - 4];
        assert_eq!(State::parse(cut), Err(Some(st.uid_validity)));
        assert_eq!(State::parse(b"hello"), Err(None));
        let dup = String::from_utf8(text.clone())
            .unwrap()
            .replace("M 5 ", "M 2 ");
        assert!(State::parse(dup.as_bytes()).is_err());
        assert_eq!(next_uidvalidity(100, 200), 201);
        assert_eq!(next_uidvalidity(300, 200), 300);
        let a = State::fresh(None);
        let b = State::fresh(Some(a.uid_validity));
        assert!(b.uid_validity > a.uid_validity);
    }
}
