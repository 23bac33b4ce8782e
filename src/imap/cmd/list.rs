//! LIST and LSUB (RFC 3501 §6.3.8/§6.3.9): wildcard matching (`*`, `%`),
//! reference names, \Noselect for parents that exist only through their
//! children, and the CHILDREN attributes (RFC 3348).

use std::collections::{BTreeMap, BTreeSet};

use crate::imap::cmd::mailbox::canon;
use crate::imap::response::write_mailbox;
use crate::imap::session::{store_error, Session, Tagged};

const DELIM: char = '/';

/// Matches `name` against a LIST pattern; `%` stops at the delimiter.
pub fn pattern_matches(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|i| pattern_matches(rest, &name[i..])),
        Some((b'%', rest)) => {
            let stop = name
                .iter()
                .position(|&c| c == DELIM as u8)
                .unwrap_or(name.len());
            (0..=stop).any(|i| pattern_matches(rest, &name[i..]))
        }
        Some((&c, rest)) => match name.split_first() {
            Some((&n, nrest)) if n == c => pattern_matches(rest, nrest),
            _ => false,
        },
    }
}

/// Pattern matching is exponential in the worst case; cap the wildcards so
/// a hostile pattern cannot burn the CPU.
fn too_many_wildcards(p: &str) -> bool {
    p.bytes().filter(|&b| b == b'*' || b == b'%').count() > 8
}

fn parents(name: &str) -> impl Iterator<Item = &str> {
    name.char_indices()
        .filter(|&(_, c)| c == DELIM)
        .map(move |(i, _)| &name[..i])
}

pub fn list(s: &mut Session, reference: &str, pattern: &str, lsub: bool) -> Tagged {
    let Some(store) = s.store.as_ref() else {
        return Tagged::bad("Not logged in");
    };
    if !lsub && pattern.is_empty() {
        // RFC 3501: an empty pattern returns the delimiter and root.
        s.untagged("LIST (\\Noselect) \"/\" \"\"");
        return Tagged::ok("");
    }
    let full = canon(&format!("{reference}{pattern}"));
    if too_many_wildcards(&full) {
        return Tagged::bad("Too many wildcards in pattern");
    }
    let existing = match store.list() {
        Ok(l) => l,
        Err(e) => return store_error(&e, "NONEXISTENT"),
    };
    // name -> selectable
    let mut all: BTreeMap<String, bool> = BTreeMap::new();
    for e in &existing {
        all.insert(e.name.clone(), true);
    }
    let real: Vec<String> = all.keys().cloned().collect();
    for n in &real {
        for p in parents(n) {
            all.entry(p.to_string()).or_insert(false);
        }
    }
    let has_children = |n: &str| -> bool {
        all.range(format!("{n}/")..)
            .next()
            .map(|(k, _)| k.starts_with(&format!("{n}/")))
            .unwrap_or(false)
    };

    let mut out: Vec<(String, Vec<&str>)> = Vec::new();
    if lsub {
        let subs: BTreeSet<String> = match store.subscriptions() {
            Ok(v) => v.into_iter().map(|n| canon(&n)).collect(),
            Err(e) => return store_error(&e, "NONEXISTENT"),
        };
        let mut shown: BTreeSet<String> = BTreeSet::new();
        for n in &subs {
            if pattern_matches(full.as_bytes(), n.as_bytes()) {
                let mut attrs = vec![];
                if all.get(n) != Some(&true) {
                    attrs.push("\\Noselect");
                }
                out.push((n.clone(), attrs));
                shown.insert(n.clone());
            } else if full.ends_with('%') {
                // A parent matched by a trailing % is listed \Noselect when
                // only its children are subscribed (RFC 3501 §6.3.9).
                for p in parents(n) {
                    if !subs.contains(p)
                        && !shown.contains(p)
                        && pattern_matches(full.as_bytes(), p.as_bytes())
                    {
                        out.push((p.to_string(), vec!["\\Noselect"]));
                        shown.insert(p.to_string());
                    }
                }
            }
        }
    } else {
        for (n, selectable) in &all {
            if pattern_matches(full.as_bytes(), n.as_bytes()) {
                let mut attrs = vec![];
                if !selectable {
                    attrs.push("\\Noselect");
                }
                attrs.push(if has_children(n) {
                    "\\HasChildren"
                } else {
                    "\\HasNoChildren"
                });
                out.push((n.clone(), attrs));
            }
        }
    }
    // INBOX first, as clients expect.
    out.sort_by(|a, b| (a.0 != "INBOX", &a.0).cmp(&(b.0 != "INBOX", &b.0)));
    let verb = if lsub { "LSUB" } else { "LIST" };
    for (name, attrs) in out {
        let mut line = format!("{verb} ({}) \"/\" ", attrs.join(" ")).into_bytes();
        write_mailbox(&mut line, &name);
        s.out.extend_from_slice(b"* ");
        s.out.extend_from_slice(&line);
        s.out.extend_from_slice(b"\r\n");
    }
    Tagged::ok("")
}

#[cfg(test)]
mod tests {
    use super::pattern_matches as m;

    #[test]
    fn wildcards() {
        assert!(m(b"*", b"INBOX/a/b"));
        assert!(m(b"INBOX/%", b"INBOX/a"));
        assert!(!m(b"INBOX/%", b"INBOX/a/b"));
        assert!(m(b"INBOX/%/b", b"INBOX/a/b"));
        assert!(m(b"IN*X", b"INBOX"));
        assert!(!m(b"INBOX", b"INBOX/a"));
        assert!(m(b"%", b"INBOX"));
        assert!(!m(b"%", b"INBOX/a"));
    }
}
