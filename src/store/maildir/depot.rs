//! The Maildir++ depot: IMAP names ↔ folder directories, LIST, CREATE,
//! DELETE, RENAME and subscriptions.
//!
//! INBOX is the root Maildir; `INBOX/a/b` is the folder `.a.b` in the root
//! (Courier/Dovecot/Binc layout), delimiter `/`. Every other mailbox lives
//! under `INBOX/`. Parents are implicit: a name with children but no
//! directory of its own is a \Noselect parent. Directories whose name starts
//! with `..` are ours (trash during DELETE, staging during CREATE) and never
//! show up as mailboxes.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::flags::{preserved, split_name, KEYWORDS_FILE};
use super::mailbox::{has_entries, Core, Delivery};
use super::{lock, write_atomic};
use crate::store::{MailboxEntry, Result, StoreError};

pub const SUBSCRIPTIONS: &str = "subscriptions";
pub const BINC_SUBSCRIPTIONS: &str = ".bincimap-subscribed";

/// A validated mailbox name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Canonical IMAP name (`INBOX` upper-cased).
    pub name: String,
    /// `.a.b`, or empty for INBOX.
    pub folder: String,
    pub dir: PathBuf,
}

impl Resolved {
    pub fn is_inbox(&self) -> bool {
        self.folder.is_empty()
    }
}

fn invalid(why: impl Into<String>) -> StoreError {
    StoreError::InvalidName(why.into())
}

/// Upper-cases a leading `INBOX` (as a whole first component).
pub fn canonical(name: &str) -> String {
    match name.get(..5) {
        Some(head)
            if head.eq_ignore_ascii_case("INBOX")
                && matches!(name.as_bytes().get(5), None | Some(b'/')) =>
        {
            format!("INBOX{}", name.get(5..).unwrap_or(""))
        }
        _ => name.to_string(),
    }
}

/// Maps an IMAP name to its directory, rejecting anything that is not a
/// plain `INBOX[/comp...]` name.
pub fn resolve(root: &Path, name: &str) -> Result<Resolved> {
    if name.chars().any(|c| c.is_control()) {
        return Err(invalid("control characters are not allowed"));
    }
    let name = canonical(name);
    let (head, rest) = match name.split_once('/') {
        Some((h, r)) => (h, Some(r)),
        None => (name.as_str(), None),
    };
    if head != "INBOX" {
        return Err(invalid(format!("{name} must be under INBOX/")));
    }
    let Some(rest) = rest else {
        return Ok(Resolved {
            name,
            folder: String::new(),
            dir: root.to_path_buf(),
        });
    };
    let mut folder = String::with_capacity(rest.len() + 1);
    for comp in rest.split('/') {
        if comp.is_empty() {
            return Err(invalid(format!(
                "{name}: empty hierarchy level (\"//\" or trailing \"/\")"
            )));
        }
        if comp.contains('.') {
            return Err(invalid(format!("{name}: \".\" is not allowed in names")));
        }
        folder.push('.');
        folder.push_str(comp);
    }
    if folder.len() > 255 {
        return Err(invalid(format!("{name}: name too long")));
    }
    let dir = root.join(&folder);
    Ok(Resolved { name, folder, dir })
}

/// The directory of an existing (selectable) mailbox.
pub fn resolve_existing(root: &Path, name: &str) -> Result<PathBuf> {
    let r = resolve(root, name)?;
    if r.dir.join("cur").is_dir() {
        Ok(r.dir)
    } else {
        Err(StoreError::NotFound(r.name))
    }
}

/// `.a.b` → `INBOX/a/b`; None for anything else (incl. our `..` names).
pub fn folder_to_name(entry: &str) -> Option<String> {
    let rest = entry.strip_prefix('.')?;
    if rest.is_empty() || rest.split('.').any(|c| c.is_empty()) {
        return None;
    }
    if rest.chars().any(|c| c.is_control() || c == '/') {
        return None;
    }
    Some(format!("INBOX/{}", rest.replace('.', "/")))
}

/// Folder entries (`.x...`) of the root directory.
fn folder_entries(root: &Path) -> Result<Vec<String>> {
    let rd =
        fs::read_dir(root).map_err(|e| StoreError::io(format!("listing {}", root.display()), e))?;
    let mut out = Vec::new();
    for ent in rd.flatten() {
        if let Ok(n) = ent.file_name().into_string() {
            if folder_to_name(&n).is_some() {
                out.push(n);
            }
        }
    }
    Ok(out)
}

fn children(root: &Path, folder: &str) -> Result<Vec<String>> {
    let prefix = format!("{folder}.");
    Ok(folder_entries(root)?
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .collect())
}

fn rand_tag() -> String {
    format!("{:016x}", rand::random::<u64>())
}

fn io_at(ctx: &str, p: &Path) -> impl FnOnce(io::Error) -> StoreError {
    let s = format!("{ctx} {}", p.display());
    move |e| StoreError::io(s, e)
}

/// Removes our staging/trash directories left by a crash (older than an
/// hour, so a DELETE in progress elsewhere is never disturbed).
fn clean_leftovers(root: &Path) {
    let Ok(rd) = fs::read_dir(root) else { return };
    let limit = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for ent in rd.flatten() {
        let name = ent.file_name();
        let b = name.as_encoded_bytes();
        if !(b.starts_with(b"..bincimap-trash.") || b.starts_with(b"..bincimap-new.")) {
            continue;
        }
        if ent
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < limit)
        {
            let _ = fs::remove_dir_all(ent.path());
        }
    }
}

pub fn list(root: &Path) -> Result<Vec<MailboxEntry>> {
    clean_leftovers(root);
    let mut out = vec![MailboxEntry {
        name: "INBOX".into(),
        marked: Some(has_entries(&root.join("new"))),
    }];
    for n in folder_entries(root)? {
        let dir = root.join(&n);
        if !dir.join("cur").is_dir() {
            continue;
        }
        if let Some(name) = folder_to_name(&n) {
            out.push(MailboxEntry {
                name,
                marked: Some(has_entries(&dir.join("new"))),
            });
        }
    }
    Ok(out)
}

/// Makes cur/new/tmp and `maildirfolder` in a staging directory, then
/// renames it into place so nobody sees a half-made mailbox.
pub fn create(root: &Path, name: &str) -> Result<()> {
    let trimmed = match name.strip_suffix('/') {
        Some(t) if !t.is_empty() => t,
        _ => name,
    };
    let r = resolve(root, trimmed)?;
    if r.is_inbox() || r.dir.exists() {
        return Err(StoreError::AlreadyExists(r.name));
    }
    let stage = root.join(format!("..bincimap-new.{}", rand_tag()));
    let made = (|| -> io::Result<()> {
        fs::create_dir(&stage)?;
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir(stage.join(sub))?;
        }
        fs::File::create(stage.join("maildirfolder"))?;
        Ok(())
    })();
    if let Err(e) = made {
        let _ = fs::remove_dir_all(&stage);
        return Err(StoreError::io(format!("creating {}", r.name), e));
    }
    // rename() would replace an empty directory: check again right before.
    if r.dir.exists() {
        let _ = fs::remove_dir_all(&stage);
        return Err(StoreError::AlreadyExists(r.name));
    }
    match fs::rename(&stage, &r.dir) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::remove_dir_all(&stage);
            if matches!(e.raw_os_error(), Some(libc::ENOTEMPTY) | Some(libc::EEXIST)) {
                Err(StoreError::AlreadyExists(r.name))
            } else {
                Err(StoreError::io(format!("creating {}", r.name), e))
            }
        }
    }
}

/// DELETE. The folder directory is renamed to a trash name first, so a
/// half-deleted mailbox is never visible, then removed.
pub fn delete(root: &Path, name: &str) -> Result<()> {
    let r = resolve(root, name)?;
    if r.is_inbox() {
        return Err(StoreError::Cannot("INBOX cannot be deleted".into()));
    }
    let has_children = !children(root, &r.folder)?.is_empty();
    let selectable = r.dir.join("cur").is_dir();
    if !selectable {
        if has_children {
            return Err(StoreError::Cannot(
                "Name has inferior hierarchical names".into(),
            ));
        }
        if !r.dir.exists() {
            return Err(StoreError::NotFound(r.name));
        }
    }
    // With children the name stays visible as an implicit \Noselect parent.
    let trash = root.join(format!("..bincimap-trash.{}", rand_tag()));
    fs::rename(&r.dir, &trash).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            StoreError::NotFound(r.name.clone())
        } else {
            StoreError::io(format!("deleting {}", r.name), e)
        }
    })?;
    fs::remove_dir_all(&trash).map_err(io_at("removing", &trash))
}

/// RENAME, children included. INBOX: messages move to the new mailbox.
pub fn rename(root: &Path, from: &str, to: &str) -> Result<()> {
    let f = resolve(root, from)?;
    let t = resolve(root, to)?;
    if t.is_inbox() {
        return Err(StoreError::AlreadyExists(t.name));
    }
    if f.is_inbox() {
        return rename_inbox(root, &t);
    }
    if t.folder == f.folder || t.folder.starts_with(&format!("{}.", f.folder)) {
        return Err(StoreError::Cannot(
            "Can't rename a mailbox to itself or under itself".into(),
        ));
    }
    if t.dir.exists() {
        return Err(StoreError::AlreadyExists(t.name));
    }
    let kids = children(root, &f.folder)?;
    let src_exists = f.dir.exists();
    if !src_exists && kids.is_empty() {
        return Err(StoreError::NotFound(f.name));
    }
    let mut moves = Vec::new();
    if src_exists {
        moves.push((f.dir.clone(), t.dir.clone()));
    }
    for k in &kids {
        let suffix = k.get(f.folder.len()..).unwrap_or("");
        let target = root.join(format!("{}{}", t.folder, suffix));
        if target.exists() {
            let name = folder_to_name(&format!("{}{}", t.folder, suffix)).unwrap_or_default();
            return Err(StoreError::AlreadyExists(name));
        }
        moves.push((root.join(k), target));
    }
    for (a, b) in moves {
        fs::rename(&a, &b).map_err(io_at("renaming", &a))?;
    }
    Ok(())
}

/// RENAME INBOX: create the target, move every INBOX message there in UID
/// order keeping flags; INBOX stays, empty, and keeps its children.
fn rename_inbox(root: &Path, t: &Resolved) -> Result<()> {
    create(root, &t.name)?;
    match fs::copy(root.join(KEYWORDS_FILE), t.dir.join(KEYWORDS_FILE)) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(StoreError::io("copying keywords", e)),
    }
    let mut inbox = Core::new(root.to_path_buf());
    let g = inbox.lock()?;
    inbox.scan_locked(false, &g)?;
    let cur = root.join("cur");
    let tmp = t.dir.join("tmp");
    let mut items = Vec::new();
    let mut moved = Vec::new();
    let kw = inbox.kw.clone();
    for rec in &inbox.state.records {
        let (unique, letters) = split_name(&rec.fname);
        match fs::rename(cur.join(&rec.fname), tmp.join(unique)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io(format!("moving {}", rec.fname), e)),
        }
        let letters = letters.unwrap_or("");
        moved.push(rec.uid);
        items.push(Delivery {
            tmp_name: unique.to_string(),
            unique: unique.to_string(),
            flags: super::flags::parse_letters(letters, &kw),
            keep: preserved(letters),
            internal_date: rec.internal_date,
            size: rec.size,
            vsize: rec.vsize,
        });
    }
    if !moved.is_empty() {
        let st = &mut inbox.state;
        st.records.retain(|r| moved.binary_search(&r.uid).is_err());
        st.highest_modseq = st.highest_modseq.saturating_add(1);
        let m = st.highest_modseq;
        st.record_expunged(&moved, m);
        inbox.write(&g)?;
    }
    drop(g);
    let mut dest = Core::new(t.dir.clone());
    dest.deliver(items)?;
    Ok(())
}

fn read_lines(path: &Path, out: &mut Vec<String>) -> Result<bool> {
    let data = match fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(StoreError::io(format!("reading {}", path.display()), e)),
    };
    for line in String::from_utf8_lossy(&data).lines() {
        let line = line.trim_end_matches('\r');
        // Skip Dovecot's version header ("V\t2") and blank lines.
        if line.is_empty() || line.starts_with("V\t") {
            continue;
        }
        // Dovecot's v2 file separates levels with TAB.
        let name = canonical(&line.replace('\t', "/"));
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(true)
}

/// Subscribed names: `subscriptions` plus Binc's `.bincimap-subscribed`.
pub fn subscriptions(root: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    read_lines(&root.join(SUBSCRIPTIONS), &mut out)?;
    read_lines(&root.join(BINC_SUBSCRIPTIONS), &mut out)?;
    Ok(out)
}

/// Adds or removes a name (under the INBOX state lock, so concurrent
/// sessions don't lose updates). The Binc file is folded in and retired.
pub fn set_subscribed(root: &Path, name: &str, on: bool) -> Result<()> {
    if name.is_empty() || name.chars().any(|c| c.is_control()) {
        return Err(invalid("control characters are not allowed"));
    }
    let name = canonical(name);
    let _g = lock::lock(root, lock::LOCK_TIMEOUT)?;
    let mut list = subscriptions(root)?;
    let had = list.contains(&name);
    if on && !had {
        list.push(name);
    } else if !on {
        list.retain(|n| *n != name);
    }
    let mut text = String::new();
    for n in &list {
        text.push_str(n);
        text.push('\n');
    }
    write_atomic(root, SUBSCRIPTIONS, text.as_bytes())
        .map_err(io_at("writing subscriptions in", root))?;
    let binc = root.join(BINC_SUBSCRIPTIONS);
    if binc.exists() {
        let _ = fs::rename(&binc, root.join(format!("{BINC_SUBSCRIPTIONS}.migrated")));
    }
    Ok(())
}
