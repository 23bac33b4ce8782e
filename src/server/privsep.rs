//! Child processes that carry a session: spawning a program (a checkpassword
//! program, or `bincimap imapd` itself) with its stdin/stdout on one end of
//! a socketpair, optional bytes on fd 3, and optionally another uid, gid and
//! supplementary groups; waiting for it to either start talking or exit; and
//! dropping the relay's own privileges once a session has started.
//!
//! This is how the network-facing process avoids touching mail as root: the
//! mail work happens in a child running with the user's credentials, and
//! the parent only moves bytes (see [`super::relay`]).

use std::ffi::{CString, OsString};
use std::fmt;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::UnixStream;
use tokio::process::{Child, Command};

/// Credentials for a child: it switches to these before exec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creds {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (the primary gid is added if missing).
    pub groups: Vec<u32>,
}

impl Creds {
    /// The credentials of system user `uid`: its gid unless `gid` is given,
    /// and its supplementary groups from the group database (computed here,
    /// before fork, because initgroups is not safe between fork and exec).
    pub fn for_uid(uid: u32, gid: Option<u32>) -> Creds {
        let pw = getpw(PwKey::Uid(uid));
        let gid = gid.or(pw.as_ref().map(|p| p.gid)).unwrap_or(uid);
        let mut groups = pw
            .as_ref()
            .map(|p| group_list(&p.name, gid))
            .unwrap_or_default();
        if !groups.contains(&gid) {
            groups.insert(0, gid);
        }
        Creds { uid, gid, groups }
    }
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct ChildSpec {
    /// Program and arguments; argv[0] is looked up in PATH.
    pub argv: Vec<OsString>,
    /// Variables set (on top of the inherited environment).
    pub env: Vec<(OsString, OsString)>,
    /// Bytes the child can read on fd 3 (checkpassword's interface).
    pub fd3: Option<Vec<u8>>,
    /// Switch to these credentials before exec (requires root).
    pub creds: Option<Creds>,
    /// Working directory; falls back to `/` when it cannot be entered.
    pub dir: Option<PathBuf>,
}

#[derive(Debug)]
pub enum SpawnError {
    /// The argv was empty or held a NUL byte.
    BadArgv,
    /// The program could not be started (missing, not executable, …).
    Exec(OsString, std::io::Error),
    Io(std::io::Error),
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::BadArgv => write!(f, "empty or invalid program arguments"),
            SpawnError::Exec(p, e) => write!(f, "cannot run {}: {e}", Path::new(p).display()),
            SpawnError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SpawnError {}

/// A running child and the parent's end of its stdin/stdout socket.
pub struct Spawned {
    pub child: Child,
    pub stream: UnixStream,
}

/// Starts the child. Must run inside a tokio runtime.
pub fn spawn(spec: &ChildSpec) -> Result<Spawned, SpawnError> {
    let (prog, args) = spec.argv.split_first().ok_or(SpawnError::BadArgv)?;
    if spec.argv.iter().any(|a| a.as_bytes().contains(&0)) {
        return Err(SpawnError::BadArgv);
    }
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(SpawnError::Io)?;
    let theirs = OwnedFd::from(theirs);
    let theirs_out = theirs.try_clone().map_err(SpawnError::Io)?;

    // fd 3: a pipe filled before the child starts; the data is small (user
    // and password are bounded by the caller), far below a pipe's capacity.
    let fd3_read: Option<OwnedFd> = match &spec.fd3 {
        None => None,
        Some(data) => {
            let mut fds = [0 as libc::c_int; 2];
            // SAFETY: pipe2 writes two fds into the array on success.
            if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
                return Err(SpawnError::Io(std::io::Error::last_os_error()));
            }
            // SAFETY: both fds were just created and are owned by nobody else.
            let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
            let mut w = std::fs::File::from(w);
            std::io::Write::write_all(&mut w, data).map_err(SpawnError::Io)?;
            drop(w); // EOF after the data, as checkpassword expects
            Some(r)
        }
    };

    let dir = spec
        .dir
        .as_ref()
        .and_then(|d| CString::new(d.as_os_str().as_bytes()).ok());
    let creds = spec.creds.clone();
    let fd3 = fd3_read.as_ref().map(|f| f.as_raw_fd());

    let mut cmd = Command::new(prog);
    cmd.args(args)
        .stdin(Stdio::from(theirs))
        .stdout(Stdio::from(theirs_out))
        .stderr(Stdio::inherit())
        .kill_on_drop(false);
    for (k, v) in &spec.env {
        cmd.env(k, v);
    }
    // SAFETY: the closure runs between fork and exec and only makes
    // async-signal-safe system calls on data prepared before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(fd) = fd3 {
                if fd == 3 {
                    // dup2 onto itself keeps FD_CLOEXEC: clear it instead.
                    if libc::fcntl(3, libc::F_SETFD, 0) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                } else if libc::dup2(fd, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if let Some(c) = &creds {
                let n = c.groups.len();
                if libc::setgroups(n, c.groups.as_ptr()) != 0
                    || libc::setgid(c.gid) != 0
                    || libc::setuid(c.uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
            let entered = match &dir {
                Some(d) => libc::chdir(d.as_ptr()) == 0,
                None => false,
            };
            if !entered && dir.is_some() {
                libc::chdir(c"/".as_ptr());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|e| SpawnError::Exec(prog.clone(), e))?;
    drop(fd3_read);
    ours.set_nonblocking(true).map_err(SpawnError::Io)?;
    let stream = UnixStream::from_std(ours).map_err(SpawnError::Io)?;
    Ok(Spawned { child, stream })
}

/// How a freshly spawned child went.
#[derive(Debug)]
pub enum Start {
    /// It wrote its first bytes: the session is running.
    Talking(Vec<u8>),
    /// It exited (or closed its output) without writing anything.
    Exited(ExitStatus),
    /// Neither within the time allowed; the child has been killed.
    TimedOut,
}

/// Waits for the first output byte or the exit of the child. A child that
/// started a session writes first (the tagged OK); a checkpassword program
/// that refused exits without writing.
pub async fn wait_start(sp: &mut Spawned, limit: Duration) -> Start {
    let mut buf = vec![0u8; 8192];
    let first = tokio::time::timeout(limit, sp.stream.read(&mut buf)).await;
    match first {
        Ok(Ok(n)) if n > 0 => {
            buf.truncate(n);
            Start::Talking(buf)
        }
        Ok(_) => match tokio::time::timeout(limit, sp.child.wait()).await {
            Ok(Ok(st)) => Start::Exited(st),
            _ => {
                let _ = sp.child.start_kill();
                let _ = sp.child.wait().await;
                Start::TimedOut
            }
        },
        Err(_) => {
            let _ = sp.child.start_kill();
            let _ = sp.child.wait().await;
            Start::TimedOut
        }
    }
}

/// A passwd entry, the parts we use.
#[derive(Debug, Clone)]
pub struct Pw {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

pub enum PwKey<'a> {
    Uid(u32),
    Name(&'a str),
}

/// Looks up the system user database (getpwuid_r / getpwnam_r).
pub fn getpw(key: PwKey<'_>) -> Option<Pw> {
    let cname = match &key {
        PwKey::Name(n) => Some(CString::new(*n).ok()?),
        PwKey::Uid(_) => None,
    };
    // SAFETY: the *_r calls write only into `pw` and `buf`; strings read
    // from `pw` point into `buf`, which outlives their use here.
    unsafe {
        let mut pw: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 16384];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = match (&key, &cname) {
            (PwKey::Uid(u), _) => {
                libc::getpwuid_r(*u, &mut pw, buf.as_mut_ptr(), buf.len(), &mut result)
            }
            (PwKey::Name(_), Some(c)) => libc::getpwnam_r(
                c.as_ptr(),
                &mut pw,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            ),
            (PwKey::Name(_), None) => return None,
        };
        if rc != 0 || result.is_null() || pw.pw_name.is_null() {
            return None;
        }
        let name = std::ffi::CStr::from_ptr(pw.pw_name)
            .to_string_lossy()
            .into_owned();
        let home = if pw.pw_dir.is_null() {
            PathBuf::new()
        } else {
            PathBuf::from(std::ffi::OsStr::from_bytes(
                std::ffi::CStr::from_ptr(pw.pw_dir).to_bytes(),
            ))
        };
        Some(Pw {
            name,
            uid: pw.pw_uid,
            gid: pw.pw_gid,
            home,
        })
    }
}

/// The groups `user` belongs to (getgrouplist), including `gid`.
fn group_list(user: &str, gid: u32) -> Vec<u32> {
    let Ok(cuser) = CString::new(user) else {
        return vec![gid];
    };
    let mut n: libc::c_int = 64;
    for _ in 0..4 {
        let mut groups = vec![0 as libc::gid_t; usize::try_from(n).unwrap_or(64)];
        let mut count = n;
        // SAFETY: groups has room for `count` entries; getgrouplist updates
        // count to the number needed.
        let rc =
            unsafe { libc::getgrouplist(cuser.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
        if rc >= 0 {
            groups.truncate(usize::try_from(count).unwrap_or(0));
            return groups;
        }
        n = count.max(n.saturating_mul(2));
    }
    vec![gid]
}

/// The effective uid of this process.
pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// Drops root once a relay no longer needs it: optionally chroot into
/// `jail`, then switch to `user` (or uid/gid 65534 when it does not exist).
/// A no-op when not running as root.
pub fn drop_privileges(user: &str, jail: Option<&Path>) -> std::io::Result<()> {
    if euid() != 0 {
        return Ok(());
    }
    let (uid, gid) = getpw(PwKey::Name(user))
        .map(|p| (p.uid, p.gid))
        .unwrap_or((65534, 65534));
    let jail = match jail {
        Some(j) => Some(
            CString::new(j.as_os_str().as_bytes())
                .map_err(|_| std::io::Error::other("jail path contains NUL"))?,
        ),
        None => None,
    };
    // SAFETY: plain system calls on valid, NUL-terminated strings; glibc
    // applies setgid/setuid to every thread of the process.
    unsafe {
        if let Some(j) = &jail {
            if libc::chroot(j.as_ptr()) != 0 || libc::chdir(c"/".as_ptr()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        let groups = [gid];
        if libc::setgroups(1, groups.as_ptr()) != 0
            || libc::setgid(gid) != 0
            || libc::setuid(uid) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn child_reads_fd3_and_talks_on_stdout() {
        rt().block_on(async {
            let spec = ChildSpec {
                argv: vec!["sh".into(), "-c".into(), "cat <&3; echo \"$X\"".into()],
                env: vec![("X".into(), "env-ok".into())],
                fd3: Some(b"user\0pass\0".to_vec()),
                ..Default::default()
            };
            let mut sp = spawn(&spec).unwrap();
            let mut all = Vec::new();
            sp.stream.read_to_end(&mut all).await.unwrap();
            assert_eq!(all, b"user\0pass\0env-ok\n");
            assert!(sp.child.wait().await.unwrap().success());
        });
    }

    #[test]
    fn silent_exit_is_reported_with_its_code() {
        rt().block_on(async {
            let spec = ChildSpec {
                argv: vec!["sh".into(), "-c".into(), "exit 111".into()],
                ..Default::default()
            };
            let mut sp = spawn(&spec).unwrap();
            match wait_start(&mut sp, Duration::from_secs(30)).await {
                Start::Exited(st) => assert_eq!(st.code(), Some(111)),
                other => panic!("{other:?}"),
            }
        });
    }

    #[test]
    fn first_bytes_mean_talking() {
        rt().block_on(async {
            let spec = ChildSpec {
                argv: vec!["sh".into(), "-c".into(), "printf 'a1 OK'; read x".into()],
                ..Default::default()
            };
            let mut sp = spawn(&spec).unwrap();
            match wait_start(&mut sp, Duration::from_secs(30)).await {
                Start::Talking(b) => assert_eq!(b, b"a1 OK"),
                other => panic!("{other:?}"),
            }
            drop(sp.stream);
            let _ = sp.child.wait().await;
        });
    }

    #[test]
    fn missing_program_is_an_exec_error() {
        rt().block_on(async {
            let spec = ChildSpec {
                argv: vec!["/nonexistent/checkpassword".into()],
                ..Default::default()
            };
            assert!(matches!(spawn(&spec), Err(SpawnError::Exec(..))));
            assert!(matches!(
                spawn(&ChildSpec::default()),
                Err(SpawnError::BadArgv)
            ));
        });
    }

    #[test]
    fn root_lookup() {
        let pw = getpw(PwKey::Uid(0)).unwrap();
        assert_eq!(pw.name, "root");
        assert_eq!(getpw(PwKey::Name("root")).unwrap().uid, 0);
        assert!(Creds::for_uid(0, None).groups.contains(&0));
    }
}
