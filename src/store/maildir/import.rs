//! Keeping UIDs across a migration: when a Maildir has no `bincimap-state`
//! yet, UIDVALIDITY, UIDNEXT and uid → unique name are taken from Dovecot's
//! `dovecot-uidlist` (versions 1 and 3) or Binc IMAP's `bincimap-cache` +
//! `bincimap-uidvalidity`, so clients keep their caches.
//!
//! Imported records carry only the UID and unique name; the scan that
//! follows fills in filename, size and date (it treats records with size 0
//! and date 0 as "not yet stat'ed"). Anything unparsable means "no import":
//! the scan then numbers messages afresh.

use std::path::Path;

use super::state::{Record, State};
use crate::store::Uid;

pub const DOVECOT_UIDLIST: &str = "dovecot-uidlist";
pub const BINC_CACHE: &str = "bincimap-cache";
pub const BINC_UIDVALIDITY: &str = "bincimap-uidvalidity";

/// An imported state for `dir`, if another server left one.
pub fn import(dir: &Path) -> Option<State> {
    if let Ok(data) = std::fs::read(dir.join(DOVECOT_UIDLIST)) {
        if let Some(st) = parse_dovecot(&String::from_utf8_lossy(&data)) {
            return Some(st);
        }
    }
    let uv = std::fs::read(dir.join(BINC_UIDVALIDITY)).ok()?;
    let cache = std::fs::read(dir.join(BINC_CACHE)).unwrap_or_default();
    parse_binc(
        &String::from_utf8_lossy(&uv),
        &String::from_utf8_lossy(&cache),
    )
}

fn finish(uv: u32, uid_next: Uid, mut pairs: Vec<(Uid, String)>) -> Option<State> {
    if uv == 0 || uid_next == 0 {
        return None;
    }
    pairs.sort_by_key(|p| p.0);
    let mut st = State::fresh(None);
    st.uid_validity = uv;
    let mut next = uid_next;
    for (uid, unique) in pairs {
        if uid == 0 || st.records.last().is_some_and(|r| r.uid >= uid) || unique.is_empty() {
            continue;
        }
        if unique.contains(['\n', '\r', '/']) {
            continue;
        }
        next = next.max(uid.saturating_add(1));
        st.records.push(Record {
            uid,
            modseq: 1,
            save_date: 0,
            internal_date: 0,
            size: 0,
            vsize: 0,
            fname: unique,
        });
    }
    st.uid_next = next;
    // Imported messages were seen by the old server: not \Recent.
    st.first_recent = next;
    Some(st)
}

/// `dovecot-uidlist`: v3 `3 V<uv> N<next> ...` then `<uid> [ext...] :<name>`;
/// v1 `1 <uv> <next>` then `<uid> <name>`.
pub fn parse_dovecot(text: &str) -> Option<State> {
    let mut lines = text.lines();
    let header = lines.next()?;
    let mut f = header.split_whitespace();
    let version = f.next()?;
    let (uv, next) = match version {
        "1" => (f.next()?.parse().ok()?, f.next()?.parse().ok()?),
        "3" => {
            let (mut uv, mut next) = (None, None);
            for field in f {
                if let Some(v) = field.strip_prefix('V') {
                    uv = v.parse().ok();
                } else if let Some(n) = field.strip_prefix('N') {
                    next = n.parse().ok();
                }
            }
            (uv?, next?)
        }
        _ => return None,
    };
    let mut pairs = Vec::new();
    for line in lines {
        let line = line.trim_end_matches('\r');
        let Some((uid, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(uid) = uid.parse::<Uid>() else {
            continue;
        };
        let name = if version == "3" {
            match rest.find(':') {
                Some(i) => rest.get(i + 1..).unwrap_or(""),
                None => continue,
            }
        } else {
            rest
        };
        // Dovecot stores the base name; cut any flag info anyway.
        let unique = super::flags::unique_of(name);
        pairs.push((uid, unique.to_string()));
    }
    finish(uv, next, pairs)
}

/// `key = value` pairs of a Binc storage section body.
fn binc_fields(body: &str) -> Vec<(String, String)> {
    body.split([',', '\n'])
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

/// Binc: `depot { _uidvalidity = N, _uidnext = N, ... }` and cache sections
/// `n { _UID = u, _ID = unique, ... }`.
pub fn parse_binc(uvfile: &str, cache: &str) -> Option<State> {
    let (mut uv, mut next) = (None, None);
    let body = uvfile.split_once('{')?.1.split('}').next()?;
    for (k, v) in binc_fields(body) {
        match k.as_str() {
            "_uidvalidity" => uv = v.parse().ok(),
            "_uidnext" => next = v.parse().ok(),
            _ => {}
        }
    }
    let mut pairs = Vec::new();
    for section in cache.split('}') {
        let Some((_, body)) = section.split_once('{') else {
            continue;
        };
        let (mut uid, mut id) = (None, None);
        for (k, v) in binc_fields(body) {
            match k.as_str() {
                "_UID" => uid = v.parse::<Uid>().ok(),
                "_ID" => id = Some(v),
                _ => {}
            }
        }
        if let (Some(u), Some(i)) = (uid, id) {
            pairs.push((u, super::flags::unique_of(&i).to_string()));
        }
    }
    finish(uv?, next?, pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dovecot_v3_and_v1() {
        let st = parse_dovecot(
            "3 V1700000000 N7 G0123456789abcdef\n1 :100.a.host\n4 W120 S118 :101.b.host\n",
        )
        .unwrap();
        assert_eq!(st.uid_validity, 1700000000);
        assert_eq!(st.uid_next, 7);
        assert_eq!(st.first_recent, 7);
        let got: Vec<(Uid, &str)> = st
            .records
            .iter()
            .map(|r| (r.uid, r.fname.as_str()))
            .collect();
        assert_eq!(got, vec![(1, "100.a.host"), (4, "101.b.host")]);
        let st = parse_dovecot("1 42 3\n1 9.x.h:2,S\n").unwrap();
        assert_eq!((st.uid_validity, st.uid_next), (42, 3));
        assert_eq!(st.records[0].fname, "9.x.h");
        assert!(parse_dovecot("garbage").is_none());
    }

    #[test]
    fn binc_files() {
        let st = parse_binc(
            "depot {\n _uidvalidity = 1043255436,\n _uidnext = 4,\n _version = 1.0.5\n}\n",
            "0 {\n _UID = 1,\n _Size = 10,\n _ID = 100.a.host,\n _InternalDate = 5\n}\n1 {\n _UID = 3,\n _ID = \"101.b.host\"\n}\ndepot {\n _version = 1.0.5\n}\n",
        )
        .unwrap();
        assert_eq!((st.uid_validity, st.uid_next), (1043255436, 4));
        let got: Vec<(Uid, &str)> = st
            .records
            .iter()
            .map(|r| (r.uid, r.fname.as_str()))
            .collect();
        assert_eq!(got, vec![(1, "100.a.host"), (3, "101.b.host")]);
    }
}
