//! The mail user of `serve` started as root: who it is (`server.user`,
//! `server.group`, else the owner of the data directory), handing the data
//! directory over to it, and dropping root for good when no session needs
//! another uid.
//!
//! The network-facing process must never read mail as root: either the
//! whole daemon becomes the mail user right after binding its listeners,
//! or (when system users or checkpassword need root to start sessions)
//! virtual users' sessions run in a child with the mail user's uid.

use std::ffi::CString;
use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::privsep::{self, Creds, PwKey};
use crate::config::Config;

/// The unprivileged user that owns virtual users' mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailUser {
    /// Name for log lines (the number when the user has no passwd entry).
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

impl MailUser {
    /// Credentials for a child: the uid, the gid and no other groups.
    pub fn creds(&self) -> Creds {
        Creds {
            uid: self.uid,
            gid: self.gid,
            groups: vec![self.gid],
        }
    }
}

impl fmt::Display for MailUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (uid {}, gid {})", self.name, self.uid, self.gid)
    }
}

/// The group database entry for a name or number.
fn lookup_group(group: &str) -> Option<u32> {
    if let Ok(n) = group.parse::<u32>() {
        return Some(n);
    }
    let c = CString::new(group).ok()?;
    // SAFETY: getgrnam_r writes only into `gr` and `buf`; we read the gid
    // (a plain integer) before either goes away.
    unsafe {
        let mut gr: libc::group = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 16384];
        let mut result: *mut libc::group = std::ptr::null_mut();
        let rc = libc::getgrnam_r(
            c.as_ptr(),
            &mut gr,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        );
        if rc != 0 || result.is_null() {
            return None;
        }
        Some(gr.gr_gid)
    }
}

/// Works out the mail user: `server.user` (a name or a uid), else the owner
/// of the data directory when that is not root. None: no non-root user can
/// be determined. Root itself is refused as `server.user`.
///
/// There is deliberately no fallback to `nobody`: `nobody` is shared by
/// unrelated daemons (and by NFS's root squashing), so mail owned by it
/// would be readable by every one of them.
pub fn resolve(config: &Config, data_dir: &Path) -> Result<Option<MailUser>, String> {
    let group = match &config.server.group {
        Some(g) => {
            Some(lookup_group(g).ok_or_else(|| format!("server.group: no such group {g:?}"))?)
        }
        None => None,
    };
    let user = match &config.server.user {
        Some(u) => {
            let pw = match u.parse::<u32>() {
                Ok(n) => privsep::getpw(PwKey::Uid(n)),
                Err(_) => privsep::getpw(PwKey::Name(u)),
            };
            match (pw, u.parse::<u32>()) {
                (Some(p), _) => MailUser {
                    name: p.name,
                    uid: p.uid,
                    gid: group.unwrap_or(p.gid),
                },
                (None, Ok(n)) => MailUser {
                    name: n.to_string(),
                    uid: n,
                    gid: group.ok_or_else(|| {
                        format!("server.user: uid {n} has no passwd entry; set server.group too")
                    })?,
                },
                (None, Err(_)) => return Err(format!("server.user: no such user {u:?}")),
            }
        }
        None => {
            let Ok(meta) = std::fs::metadata(data_dir) else {
                return Ok(None);
            };
            if meta.uid() == 0 {
                return Ok(None);
            }
            let pw = privsep::getpw(PwKey::Uid(meta.uid()));
            MailUser {
                name: pw
                    .as_ref()
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| meta.uid().to_string()),
                uid: meta.uid(),
                gid: group.or(pw.map(|p| p.gid)).unwrap_or(meta.gid()),
            }
        }
    };
    if user.uid == 0 {
        return Err(
            "server.user: must not be root (uid 0): mail is never read as root; name an unprivileged mail user"
                .into(),
        );
    }
    Ok(Some(user))
}

/// The first directory above `path` that the mail user could not search
/// (judged by owner, group and mode bits, as the kernel would for that
/// uid and gid without supplementary groups); None when all are fine.
/// Checked before anything is handed over, so an unusable data directory
/// is reported without changing any owner.
pub fn unsearchable_parent(path: &Path, user: &MailUser) -> Option<PathBuf> {
    let mut dir = path.parent();
    while let Some(d) = dir {
        if let Ok(m) = std::fs::metadata(d) {
            let mode = m.mode();
            let bit = if m.uid() == user.uid {
                mode & 0o100
            } else if m.gid() == user.gid {
                mode & 0o010
            } else {
                mode & 0o001
            };
            if bit == 0 {
                return Some(d.to_path_buf());
            }
        }
        dir = d.parent();
    }
    None
}

/// Hands `path` (and, for a directory, everything below it) to the mail
/// user where it is owned by root. Other owners are left alone; symbolic
/// links are changed themselves, never followed. Returns how many entries
/// changed. A missing `path` is not an error.
pub fn chown_root_owned(path: &Path, user: &MailUser) -> std::io::Result<usize> {
    let mut changed = 0usize;
    let mut todo: Vec<PathBuf> = vec![path.to_path_buf()];
    while let Some(p) = todo.pop() {
        let meta = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if meta.uid() == 0 {
            std::os::unix::fs::lchown(&p, Some(user.uid), Some(user.gid))?;
            changed = changed.saturating_add(1);
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(&p)? {
                todo.push(entry?.path());
            }
        }
    }
    Ok(changed)
}

/// Switches the whole process (every thread) to the mail user for good:
/// supplementary groups, gid, uid; then checks that real, effective and
/// saved ids are all the new ones and that root cannot be regained.
pub fn drop_to(user: &MailUser) -> std::io::Result<()> {
    let groups = [user.gid];
    // SAFETY: plain system calls; glibc applies setgid/setuid to every
    // thread of the process.
    unsafe {
        if libc::setgroups(1, groups.as_ptr()) != 0
            || libc::setgid(user.gid) != 0
            || libc::setuid(user.uid) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    verify_dropped(user)
}

/// Fails unless every uid and gid of the process is the mail user's and
/// setuid(0) is refused.
fn verify_dropped(user: &MailUser) -> std::io::Result<()> {
    let (mut r, mut e, mut s) = (0, 0, 0);
    let (mut rg, mut eg, mut sg) = (0, 0, 0);
    // SAFETY: the calls only write the integers passed by reference.
    let ok = unsafe {
        libc::getresuid(&mut r, &mut e, &mut s) == 0
            && libc::getresgid(&mut rg, &mut eg, &mut sg) == 0
    };
    if !ok {
        return Err(std::io::Error::last_os_error());
    }
    if [r, e, s] != [user.uid; 3] || [rg, eg, sg] != [user.gid; 3] {
        return Err(std::io::Error::other(format!(
            "ids after the switch are uid {r}/{e}/{s}, gid {rg}/{eg}/{sg}"
        )));
    }
    // SAFETY: setuid(0) must fail now; if it did not, we are root again
    // and say so.
    if unsafe { libc::setuid(0) } == 0 {
        return Err(std::io::Error::other("root could be regained"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(user: Option<&str>, group: Option<&str>) -> Config {
        let mut c = Config::default();
        c.server.user = user.map(String::from);
        c.server.group = group.map(String::from);
        c
    }

    #[test]
    fn root_is_never_the_mail_user() {
        let dir = tempfile::tempdir().unwrap();
        assert!(resolve(&cfg(Some("root"), None), dir.path()).is_err());
        assert!(resolve(&cfg(Some("0"), Some("0")), dir.path()).is_err());
        assert!(resolve(&cfg(Some("no-such-user-xyz"), None), dir.path()).is_err());
        assert!(resolve(&cfg(Some("4242"), None), dir.path()).is_err());
        assert!(resolve(&cfg(Some("nobody"), Some("no-such-group-xyz")), dir.path()).is_err());
    }

    #[test]
    fn configured_and_default_users() {
        let dir = tempfile::tempdir().unwrap();
        let u = resolve(&cfg(Some("4242"), Some("4343")), dir.path())
            .unwrap()
            .unwrap();
        assert_eq!((u.uid, u.gid), (4242, 4343));
        assert_eq!(u.creds().groups, vec![4343]);
        // Unset: the data directory's owner, unless that is root.
        let owner = std::fs::metadata(dir.path()).unwrap().uid();
        let d = resolve(&cfg(None, None), dir.path()).unwrap();
        if owner == 0 {
            assert_eq!(d, None);
        } else {
            assert_eq!(d.unwrap().uid, owner);
        }
        assert_eq!(
            resolve(&cfg(None, None), &dir.path().join("missing")).unwrap(),
            None
        );
    }

    #[test]
    fn parents_must_be_searchable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let locked = dir.path().join("locked");
        let data = locked.join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
        let stranger = MailUser {
            name: "t".into(),
            uid: 4242,
            gid: 4242,
        };
        assert_eq!(unsearchable_parent(&data, &stranger), Some(locked.clone()));
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o711)).unwrap();
        assert_eq!(unsearchable_parent(&data, &stranger), None);
    }

    #[test]
    fn chown_only_touches_root_owned_entries() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("mail/u/Maildir/cur");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("m1"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).unwrap();
        let me = unsafe { libc::geteuid() };
        let user = MailUser {
            name: "t".into(),
            uid: 4242,
            gid: 4242,
        };
        if me != 0 {
            // Nothing is root-owned here: nothing changes, nothing fails.
            assert_eq!(chown_root_owned(dir.path(), &user).unwrap(), 0);
            return;
        }
        let n = chown_root_owned(dir.path(), &user).unwrap();
        assert_eq!(n, 7, "dir, mail, u, Maildir, cur, m1, link");
        assert_eq!(std::fs::metadata(sub.join("m1")).unwrap().uid(), 4242);
        // The link target was not followed.
        assert_eq!(std::fs::metadata("/etc/passwd").unwrap().uid(), 0);
        assert_eq!(chown_root_owned(dir.path(), &user).unwrap(), 0);
        assert_eq!(
            chown_root_owned(&dir.path().join("gone"), &user).unwrap(),
            0
        );
    }
}
