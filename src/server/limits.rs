//! Connection limits for `serve`: at most `limits.max_connections` open
//! connections in total and `limits.max_connections_per_ip` from one
//! address (0: no limit). [`ConnLimits::acquire`] hands out a
//! [`ConnGuard`] that holds the slot until the connection ends, however it
//! ends (RAII); a connection over a limit gets [`refuse`]d with
//! `* BYE Too many connections`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;

/// The counters shared by every listener of one `serve`.
#[derive(Debug)]
pub struct ConnLimits {
    max_total: usize,
    max_per_ip: usize,
    state: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Total,
    PerIp,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Total => write!(f, "too many connections in total"),
            Refusal::PerIp => write!(f, "too many connections from this address"),
        }
    }
}

/// One admitted connection's slot; released on drop.
#[derive(Debug)]
pub struct ConnGuard {
    limits: Arc<ConnLimits>,
    ip: IpAddr,
}

/// IPv4-mapped IPv6 addresses count as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

impl ConnLimits {
    pub fn new(max_total: usize, max_per_ip: usize) -> Arc<ConnLimits> {
        Arc::new(ConnLimits {
            max_total,
            max_per_ip,
            state: Mutex::new(Counts::default()),
        })
    }

    /// Takes a slot for a connection from `ip`, or says which limit is hit.
    pub fn acquire(self: &Arc<Self>, ip: IpAddr) -> Result<ConnGuard, Refusal> {
        let ip = canonical(ip);
        // A poisoned lock means a panic while counting; the counts are
        // plain integers, still usable.
        let mut c = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if self.max_total > 0 && c.total >= self.max_total {
            return Err(Refusal::Total);
        }
        let n = c.per_ip.get(&ip).copied().unwrap_or(0);
        if self.max_per_ip > 0 && n >= self.max_per_ip {
            return Err(Refusal::PerIp);
        }
        c.total = c.total.saturating_add(1);
        c.per_ip.insert(ip, n.saturating_add(1));
        Ok(ConnGuard {
            limits: Arc::clone(self),
            ip,
        })
    }

    /// Open connections in total and from `ip`.
    pub fn counts(&self, ip: IpAddr) -> (usize, usize) {
        let c = self.state.lock().unwrap_or_else(|p| p.into_inner());
        (c.total, c.per_ip.get(&canonical(ip)).copied().unwrap_or(0))
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let mut c = self.limits.state.lock().unwrap_or_else(|p| p.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_ip.remove(&self.ip);
            }
        }
    }
}

/// Tells a connection over a limit why and closes it. Bounded in time so a
/// peer that does not read cannot pin the task.
pub async fn refuse<W: tokio::io::AsyncWrite + Unpin>(mut stream: W) {
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        stream.write_all(b"* BYE Too many connections\r\n").await?;
        stream.shutdown().await
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn per_ip_limit_and_release() {
        let l = ConnLimits::new(0, 2);
        let a = l.acquire(ip("192.0.2.1")).unwrap();
        let b = l.acquire(ip("192.0.2.1")).unwrap();
        assert_eq!(l.acquire(ip("192.0.2.1")).unwrap_err(), Refusal::PerIp);
        // Mapped form is the same address.
        assert_eq!(
            l.acquire(ip("::ffff:192.0.2.1")).unwrap_err(),
            Refusal::PerIp
        );
        let other = l.acquire(ip("192.0.2.2")).unwrap();
        drop(a);
        let c = l.acquire(ip("192.0.2.1")).unwrap();
        assert_eq!(l.counts(ip("192.0.2.1")), (3, 2));
        drop((b, c, other));
        assert_eq!(l.counts(ip("192.0.2.1")), (0, 0));
        assert!(l.state.lock().unwrap().per_ip.is_empty());
    }

    #[test]
    fn total_limit() {
        let l = ConnLimits::new(2, 0);
        let _a = l.acquire(ip("192.0.2.1")).unwrap();
        let b = l.acquire(ip("192.0.2.2")).unwrap();
        assert_eq!(l.acquire(ip("192.0.2.3")).unwrap_err(), Refusal::Total);
        drop(b);
        assert!(l.acquire(ip("192.0.2.3")).is_ok());
    }

    #[test]
    fn zero_means_unlimited() {
        let l = ConnLimits::new(0, 0);
        let v: Vec<_> = (0..100).map(|_| l.acquire(ip("::1")).unwrap()).collect();
        assert_eq!(l.counts(ip("::1")), (100, 100));
        drop(v);
        assert_eq!(l.counts(ip("::1")), (0, 0));
    }

    #[tokio::test]
    async fn refuse_says_bye() {
        use tokio::io::AsyncReadExt;
        let (a, mut b) = tokio::io::duplex(256);
        refuse(a).await;
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"* BYE Too many connections\r\n");
    }
}
