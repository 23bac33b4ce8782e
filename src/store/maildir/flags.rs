//! Maildir filename flags (`unique:2,FS`) and the per-Maildir keyword file.
//!
//! Standard letters: D=\Draft F=\Flagged P=Passed (kept, not shown) R=\Answered
//! S=\Seen T=\Deleted. Lower-case `a`..`z` are keywords 0..25 named in
//! `dovecot-keywords` (`N name` per line), Dovecot's format, so mailboxes
//! move between Dovecot and bincimap both ways. Keywords beyond 26 cannot be
//! stored: `store_flags`/`append` silently ignore them (documented choice).

use std::io;
use std::path::Path;

use crate::store::Flags;

pub const KEYWORDS_FILE: &str = "dovecot-keywords";
pub const MAX_KEYWORDS: usize = 26;

/// Splits a filename into the unique part and the flag letters after `:2,`.
/// A name without `:2,` has no flags; the unique part always ends at the
/// first `:` (Maildir's info separator).
pub fn split_name(fname: &str) -> (&str, Option<&str>) {
    match fname.find(':') {
        Some(i) => {
            let unique = fname.get(..i).unwrap_or(fname);
            let info = fname.get(i + 1..).unwrap_or("");
            (unique, info.strip_prefix("2,"))
        }
        None => (fname, None),
    }
}

/// The unique part of a filename.
pub fn unique_of(fname: &str) -> &str {
    split_name(fname).0
}

/// Letters of `letters` that we do not interpret (P, unknown upper-case and
/// other characters): they survive our renames untouched.
pub fn preserved(letters: &str) -> String {
    letters
        .chars()
        .filter(|c| !matches!(c, 'D' | 'F' | 'R' | 'S' | 'T' | 'a'..='z'))
        .collect()
}

/// Flags from filename letters.
pub fn parse_letters(letters: &str, kw: &Keywords) -> Flags {
    let mut f = Flags::default();
    for c in letters.chars() {
        match c {
            'D' => f.system |= Flags::DRAFT,
            'F' => f.system |= Flags::FLAGGED,
            'R' => f.system |= Flags::ANSWERED,
            'S' => f.system |= Flags::SEEN,
            'T' => f.system |= Flags::DELETED,
            'a'..='z' => {
                let idx = (c as usize).saturating_sub('a' as usize);
                if let Some(name) = kw.name(idx) {
                    if !f.has_keyword(name) {
                        f.keywords.push(name.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    f
}

/// Flags of a filename (no `:2,` → none).
pub fn flags_of(fname: &str, kw: &Keywords) -> Flags {
    match split_name(fname).1 {
        Some(l) => parse_letters(l, kw),
        None => Flags::default(),
    }
}

/// The sorted letter string for `flags` plus `keep` (preserved letters).
/// Keywords missing from `kw` are added when there is room; the rest are
/// dropped. Returns (letters, keywords file changed).
pub fn letters_for(flags: &Flags, kw: &mut Keywords, keep: &str) -> (String, bool) {
    let mut out: Vec<u8> = keep.bytes().filter(|b| b.is_ascii_graphic()).collect();
    for (bit, c) in [
        (Flags::DRAFT, b'D'),
        (Flags::FLAGGED, b'F'),
        (Flags::ANSWERED, b'R'),
        (Flags::SEEN, b'S'),
        (Flags::DELETED, b'T'),
    ] {
        if flags.has(bit) {
            out.push(c);
        }
    }
    let mut changed = false;
    for k in &flags.keywords {
        let idx = match kw.index_of(k) {
            Some(i) => Some(i),
            None => {
                let i = kw.add(k);
                changed |= i.is_some();
                i
            }
        };
        if let Some(i) = idx {
            if let Ok(b) = u8::try_from(i) {
                out.push(b'a'.saturating_add(b));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    (String::from_utf8_lossy(&out).into_owned(), changed)
}

/// `letters` sorted ASCII (Maildir requires sorted flag letters).
pub fn sorted_letters(letters: &str) -> String {
    let mut b: Vec<u8> = letters.bytes().collect();
    b.sort_unstable();
    b.dedup();
    String::from_utf8_lossy(&b).into_owned()
}

/// `unique:2,letters`.
pub fn make_name(unique: &str, letters: &str) -> String {
    let mut s = String::with_capacity(unique.len() + 3 + letters.len());
    s.push_str(unique);
    s.push_str(":2,");
    s.push_str(letters);
    s
}

/// Keyword index ↔ name table of one Maildir.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keywords {
    names: Vec<Option<String>>,
}

impl Keywords {
    /// Reads `dovecot-keywords`; a missing file is an empty table and bad
    /// lines are skipped (the file is shared with other software).
    pub fn load(dir: &Path) -> io::Result<Keywords> {
        let text = match std::fs::read(dir.join(KEYWORDS_FILE)) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Keywords::default()),
            Err(e) => return Err(e),
        };
        let mut kw = Keywords::default();
        for line in String::from_utf8_lossy(&text).lines() {
            let mut it = line.splitn(2, ' ');
            let (Some(n), Some(name)) = (it.next(), it.next()) else {
                continue;
            };
            let Ok(n) = n.parse::<usize>() else { continue };
            let name = name.trim_end_matches('\r');
            if n >= MAX_KEYWORDS || name.is_empty() || kw.index_of(name).is_some() {
                continue;
            }
            if kw.names.len() <= n {
                kw.names.resize(n + 1, None);
            }
            if let Some(slot) = kw.names.get_mut(n) {
                *slot = Some(name.to_string());
            }
        }
        Ok(kw)
    }

    /// Writes the table atomically (temp file, fsync, rename).
    pub fn save(&self, dir: &Path) -> io::Result<()> {
        let mut out = String::new();
        for (i, n) in self.names.iter().enumerate() {
            if let Some(n) = n {
                out.push_str(&format!("{i} {n}\n"));
            }
        }
        super::write_atomic(dir, KEYWORDS_FILE, out.as_bytes())
    }

    pub fn name(&self, idx: usize) -> Option<&str> {
        self.names.get(idx).and_then(|n| n.as_deref())
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names
            .iter()
            .position(|n| n.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name)))
    }

    /// Adds a keyword in the first free slot; None when all 26 are taken.
    pub fn add(&mut self, name: &str) -> Option<usize> {
        if let Some(i) = self.index_of(name) {
            return Some(i);
        }
        // The file is line- and space-separated; IMAP atoms never need these.
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        if let Some(i) = self.names.iter().position(|n| n.is_none()) {
            if let Some(slot) = self.names.get_mut(i) {
                *slot = Some(name.to_string());
            }
            return Some(i);
        }
        if self.names.len() < MAX_KEYWORDS {
            self.names.push(Some(name.to_string()));
            return Some(self.names.len() - 1);
        }
        None
    }

    pub fn names(&self) -> Vec<String> {
        self.names.iter().flatten().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_letters() {
        assert_eq!(split_name("123.abc:2,FS"), ("123.abc", Some("FS")));
        assert_eq!(split_name("123.abc"), ("123.abc", None));
        assert_eq!(split_name("123.abc:1,x"), ("123.abc", None));
        let mut kw = Keywords::default();
        let f = Flags {
            system: Flags::SEEN | Flags::DELETED | Flags::ANSWERED,
            keywords: vec!["$Junk".into(), "Work".into()],
        };
        let (l, changed) = letters_for(&f, &mut kw, "P");
        assert!(changed);
        assert_eq!(l, "PRSTab");
        let back = parse_letters(&l, &kw);
        assert_eq!(back.system, f.system);
        assert!(back.has_keyword("$junk") && back.has_keyword("WORK"));
        assert_eq!(preserved("PRSTabX"), "PX");
    }

    #[test]
    fn keyword_file_round_trip_and_limit() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join(KEYWORDS_FILE),
            "0 $Junk\n3 Later\nbad\n99 x\n",
        )
        .unwrap();
        let mut kw = Keywords::load(d.path()).unwrap();
        assert_eq!(kw.index_of("$junk"), Some(0));
        assert_eq!(kw.index_of("later"), Some(3));
        assert_eq!(kw.add("New"), Some(1));
        kw.save(d.path()).unwrap();
        let kw2 = Keywords::load(d.path()).unwrap();
        assert_eq!(kw, kw2);
        let mut full = Keywords::default();
        for i in 0..26 {
            assert_eq!(full.add(&format!("k{i}")), Some(i));
        }
        assert_eq!(full.add("one-too-many"), None);
        assert_eq!(Keywords::default().add("two words"), None);
        let f = Flags {
            system: 0,
            keywords: vec!["k25".into(), "one-too-many".into()],
        };
        assert_eq!(letters_for(&f, &mut full, "").0, "z");
    }
}
