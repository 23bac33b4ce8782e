//! The per-Maildir state lock: `flock` on `bincimap-state.lock`.
//!
//! flock locks belong to an open file description, so two handles in one
//! process (threads) exclude each other just like two processes do. The lock
//! is never taken recursively: callers pass the guard down instead.

use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::store::{Result, StoreError};

pub const LOCK_FILE: &str = "bincimap-state.lock";
/// How long we wait for another process before giving up.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// Held lock; released on drop (closing the file releases it too).
#[derive(Debug)]
pub struct LockGuard {
    file: File,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // SAFETY: the fd is valid for the life of `self.file`.
        unsafe {
            libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

/// Takes the exclusive lock of the Maildir `dir`, polling until `timeout`.
pub fn lock(dir: &Path, timeout: Duration) -> Result<LockGuard> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| StoreError::io(format!("opening {}", path.display()), e))?;
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        // SAFETY: plain syscall on an fd we own.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r == 0 {
            return Ok(LockGuard { file });
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EWOULDBLOCK) | Some(libc::EINTR) => {}
            _ => return Err(StoreError::io(format!("locking {}", path.display()), err)),
        }
        if start.elapsed() >= timeout {
            return Err(StoreError::Locked(path.display().to_string()));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_times_out_then_succeeds() {
        let d = tempfile::tempdir().unwrap();
        let g = lock(d.path(), LOCK_TIMEOUT).unwrap();
        match lock(d.path(), Duration::from_millis(30)) {
            Err(StoreError::Locked(_)) => {}
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(g);
        assert!(lock(d.path(), Duration::from_millis(30)).is_ok());
    }
}
