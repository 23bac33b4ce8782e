//! The selected mailbox as the client sees it: sequence numbers, the flags
//! last reported, and \Recent. The store reports disk state; this module
//! turns differences between the two into EXISTS/RECENT/EXPUNGE/FETCH
//! responses at the moments RFC 3501 §7 allows, and caches parsed messages
//! so repeated FETCHes of one message parse it at most twice (header, full).

use std::sync::Arc;

use crate::imap::command::{SeqNum, SequenceSet};
use crate::imap::session::{Session, State, Tagged};
use crate::mime::Message;
use crate::store::{Flags, Mailbox, MessageInfo, StoreError, Uid};

/// One message as the client knows it; its sequence number is its index + 1.
#[derive(Debug, Clone)]
pub struct ViewEntry {
    pub uid: Uid,
    pub flags: Flags,
    pub recent: bool,
}

/// A small cache of parsed messages (Binc kept three).
#[derive(Default)]
pub struct MessageCache {
    entries: Vec<(Uid, bool, Arc<Message>)>,
}

const CACHE_SIZE: usize = 8;

impl MessageCache {
    fn get(&mut self, uid: Uid, full: bool) -> Option<Arc<Message>> {
        let pos = self
            .entries
            .iter()
            .position(|(u, f, _)| *u == uid && (*f || !full))?;
        let e = self.entries.remove(pos);
        let m = e.2.clone();
        self.entries.push(e);
        Some(m)
    }

    fn put(&mut self, uid: Uid, full: bool, m: Arc<Message>) {
        self.entries.retain(|(u, _, _)| *u != uid);
        if self.entries.len() >= CACHE_SIZE {
            self.entries.remove(0);
        }
        self.entries.push((uid, full, m));
    }
}

pub struct Selected {
    pub mailbox: Box<dyn Mailbox>,
    pub view: Vec<ViewEntry>,
    /// Keywords as last announced in FLAGS.
    pub keywords: Vec<String>,
    pub cache: MessageCache,
    /// Set by our own writes so the next announce compares view and store
    /// even when the two-stat check sees nothing new.
    pub dirty: bool,
}

impl Selected {
    pub fn new(mailbox: Box<dyn Mailbox>) -> Selected {
        let view = mailbox
            .messages()
            .iter()
            .map(|m| ViewEntry {
                uid: m.uid,
                flags: m.flags.clone(),
                recent: mailbox.is_recent(m.uid),
            })
            .collect();
        let keywords = mailbox.keywords();
        Selected {
            mailbox,
            view,
            keywords,
            cache: MessageCache::default(),
            dirty: false,
        }
    }

    /// The store's record for a UID, if the message still exists.
    pub fn info(&self, uid: Uid) -> Option<&MessageInfo> {
        let msgs = self.mailbox.messages();
        msgs.binary_search_by_key(&uid, |m| m.uid)
            .ok()
            .and_then(|i| msgs.get(i))
    }

    /// Largest UID in the view (for `*` in UID sets).
    pub fn max_uid(&self) -> Uid {
        self.view.last().map(|e| e.uid).unwrap_or(0)
    }

    /// Resolves a set to view indices in ascending order. Sequence numbers
    /// out of range are a BAD (RFC 3501 §9 "valid sequence numbers"); UIDs
    /// that don't exist are ignored.
    pub fn resolve(&self, set: &SequenceSet, uid: bool) -> Result<Vec<usize>, Tagged> {
        let n = self.view.len() as u32;
        let mut out = Vec::new();
        if uid {
            let max = self.max_uid();
            // `n:*` with n above every UID still means the highest UID.
            for (lo, hi) in set.ranges(max) {
                let start = self.view.partition_point(|e| e.uid < lo);
                for (i, e) in self.view.iter().enumerate().skip(start) {
                    if e.uid > hi {
                        break;
                    }
                    out.push(i);
                }
            }
        } else {
            for &(a, b) in &set.0 {
                for v in [a, b] {
                    if let SeqNum::Value(x) = v {
                        if x > n {
                            return Err(Tagged::bad("Invalid sequence number: out of range"));
                        }
                    }
                }
                if n == 0 {
                    return Err(Tagged::bad("No messages in mailbox"));
                }
            }
            for (lo, hi) in set.ranges(n) {
                for s in lo.max(1)..=hi.min(n) {
                    out.push((s - 1) as usize);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// The UIDs of view indices (as returned by [`Selected::resolve`]).
    pub fn uids_at(&self, idx: &[usize]) -> Vec<Uid> {
        idx.iter()
            .filter_map(|&i| self.view.get(i))
            .map(|e| e.uid)
            .collect()
    }

    /// Returns the parsed message, from the cache when possible. With
    /// `full` false only the header is read and parsed (Binc's promise: a
    /// message is parsed at most twice, header then whole).
    pub fn message(&mut self, uid: Uid, full: bool) -> Result<Arc<Message>, StoreError> {
        if let Some(m) = self.cache.get(uid, full) {
            return Ok(m);
        }
        let mut f = self.mailbox.open_message(uid)?;
        let m = if full {
            let mut raw = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut raw)
                .map_err(|e| StoreError::io(format!("reading message UID {uid}"), e))?;
            Message::parse(raw)
        } else {
            Message::parse_header_only(read_header(&mut f, uid)?)
        };
        let m = Arc::new(m);
        self.cache.put(uid, full, m.clone());
        Ok(m)
    }
}

/// Reads a message file up to and including the blank line that ends its
/// header, in chunks, so header-only work never reads a large body.
fn read_header(f: &mut std::fs::File, uid: Uid) -> Result<Vec<u8>, StoreError> {
    use std::io::Read;
    let mut raw: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    loop {
        let n = f
            .read(&mut chunk)
            .map_err(|e| StoreError::io(format!("reading message UID {uid}"), e))?;
        let scan_from = raw.len().saturating_sub(3);
        raw.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
        if n == 0 {
            return Ok(raw);
        }
        // Find the blank line only in the new bytes (plus overlap).
        let tail = raw.get(scan_from..).unwrap_or(&[]);
        if memchr::memmem::find(tail, b"\n\n").is_some()
            || memchr::memmem::find(tail, b"\n\r\n").is_some()
            || scan_from == 0 && (raw.starts_with(b"\n") || raw.starts_with(b"\r\n"))
        {
            let end = crate::mime::header_end(&raw);
            raw.truncate(end);
            return Ok(raw);
        }
    }
}

fn flags_lists(keywords: &[String]) -> (String, String) {
    let mut base = String::from("\\Answered \\Flagged \\Deleted \\Seen \\Draft");
    for k in keywords {
        base.push(' ');
        base.push_str(k);
    }
    (format!("({base})"), format!("({base} \\*)"))
}

/// Writes the FLAGS and PERMANENTFLAGS responses for the selected mailbox.
pub fn write_flags(s: &mut Session) {
    let Some(sel) = s.selected.as_ref() else {
        return;
    };
    let read_only = sel.mailbox.read_only();
    let (flags, perm) = flags_lists(&sel.keywords);
    s.untagged(&format!("FLAGS {flags}"));
    if read_only {
        s.untagged("OK [PERMANENTFLAGS ()] Read-only mailbox.");
    } else {
        s.untagged(&format!("OK [PERMANENTFLAGS {perm}] Flags permitted."));
    }
}

/// Brings the client's view up to date with the store: EXPUNGE (only when
/// `allow_expunge`), FETCH FLAGS for flag changes by others, FLAGS when new
/// keywords appeared, then EXISTS and RECENT for new messages.
pub fn announce_changes(s: &mut Session, allow_expunge: bool) {
    let Some(sel) = s.selected.as_mut() else {
        return;
    };
    let validity = sel.mailbox.uid_validity();
    let changed = match sel.mailbox.sync() {
        Ok(c) => c,
        Err(StoreError::NotFound(_)) => {
            // Deleted or renamed under us: the client's view is void.
            s.selected = None;
            s.untagged("BYE Selected mailbox was deleted or renamed");
            s.state = State::Logout;
            return;
        }
        Err(e) => {
            crate::imap::log_line(&format!("sync failed: {e}"));
            false
        }
    };
    if sel.mailbox.uid_validity() != validity {
        // The state was rebuilt; every UID the client holds is void.
        s.selected = None;
        s.untagged("BYE Mailbox UIDVALIDITY changed, please reconnect");
        s.state = State::Logout;
        return;
    }
    if !changed && !sel.dirty {
        return;
    }
    let mut lines: Vec<String> = Vec::new();
    let msgs = sel.mailbox.messages();
    // Expunges we may not report yet keep the view dirty, so the next
    // command that may report them does, even if the disk is quiet by then.
    let mut pending_expunge = false;

    if !allow_expunge {
        pending_expunge = sel
            .view
            .iter()
            .any(|e| msgs.binary_search_by_key(&e.uid, |m| m.uid).is_err());
    } else {
        let gone: Vec<usize> = sel
            .view
            .iter()
            .enumerate()
            .filter(|(_, e)| msgs.binary_search_by_key(&e.uid, |m| m.uid).is_err())
            .map(|(i, _)| i)
            .collect();
        // Highest first, so each number is still right when the client
        // applies it.
        for &i in gone.iter().rev() {
            lines.push(format!("{} EXPUNGE", i + 1));
        }
        if !gone.is_empty() {
            let mut k = 0;
            let mut idx = 0;
            sel.view.retain(|_| {
                let keep = gone.get(k) != Some(&idx);
                if !keep {
                    k += 1;
                }
                idx += 1;
                keep
            });
        }
    }

    let kws = sel.mailbox.keywords();
    let new_keywords = kws
        .iter()
        .any(|k| !sel.keywords.iter().any(|x| x.eq_ignore_ascii_case(k)));

    for (i, e) in sel.view.iter_mut().enumerate() {
        if let Ok(p) = msgs.binary_search_by_key(&e.uid, |m| m.uid) {
            if let Some(m) = msgs.get(p) {
                if m.flags != e.flags {
                    e.flags = m.flags.clone();
                    lines.push(format!(
                        "{} FETCH (FLAGS {})",
                        i + 1,
                        e.flags.to_imap(e.recent)
                    ));
                }
            }
        }
    }

    let last = sel.max_uid();
    let mut added = 0;
    for m in msgs.iter().filter(|m| m.uid > last) {
        sel.view.push(ViewEntry {
            uid: m.uid,
            flags: m.flags.clone(),
            recent: sel.mailbox.is_recent(m.uid),
        });
        added += 1;
    }
    sel.dirty = pending_expunge;
    let exists = sel.view.len();
    let recent = sel.view.iter().filter(|e| e.recent).count();
    if new_keywords {
        let mut all = sel.keywords.clone();
        for k in kws {
            if !all.iter().any(|x| x.eq_ignore_ascii_case(&k)) {
                all.push(k);
            }
        }
        sel.keywords = all;
    }

    if new_keywords {
        write_flags(s);
    }
    for l in lines {
        s.untagged(&l);
    }
    if added > 0 {
        s.untagged(&format!("{exists} EXISTS"));
        s.untagged(&format!("{recent} RECENT"));
    }
}
