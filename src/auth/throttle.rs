//! Per-IP throttling of failed logins: after `auth.throttle_failures`
//! failures from one address within `auth.throttle_window` seconds, further
//! attempts from it are refused (`NO [UNAVAILABLE]`) without checking any
//! password, until the oldest failure ages out. A successful login clears
//! the address. State is process-wide ([`global`]) so every session of a
//! `serve` shares it; `up`/`imapd` processes each see only their own.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Addresses tracked before expired entries are swept, bounding memory
/// under a spray of source addresses.
const SWEEP_AT: usize = 4096;
/// Hard cap on tracked addresses; beyond it the oldest entry is dropped.
const MAX_TRACKED: usize = 65536;

/// Failure times per address (each deque holds at most `max` entries).
#[derive(Debug, Default)]
pub struct Throttle {
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl Throttle {
    pub fn new() -> Throttle {
        Throttle::default()
    }

    /// True when `ip` has `max` or more failures younger than `window`.
    pub fn is_blocked(&self, ip: IpAddr, max: u32, window: Duration, now: Instant) -> bool {
        if max == 0 {
            return false;
        }
        let Ok(mut map) = self.failures.lock() else {
            return false;
        };
        let Some(q) = map.get_mut(&ip) else {
            return false;
        };
        expire(q, window, now);
        let blocked = q.len() >= max as usize;
        if q.is_empty() {
            map.remove(&ip);
        }
        blocked
    }

    /// Records one failed attempt from `ip`.
    pub fn record_failure(&self, ip: IpAddr, max: u32, window: Duration, now: Instant) {
        if max == 0 {
            return;
        }
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        if map.len() >= SWEEP_AT && !map.contains_key(&ip) {
            map.retain(|_, q| {
                expire(q, window, now);
                !q.is_empty()
            });
            if map.len() >= MAX_TRACKED {
                // Forget the address whose latest failure is oldest.
                let oldest = map
                    .iter()
                    .min_by_key(|(_, q)| q.back().copied())
                    .map(|(k, _)| *k);
                if let Some(k) = oldest {
                    map.remove(&k);
                }
            }
        }
        let q = map.entry(ip).or_default();
        expire(q, window, now);
        q.push_back(now);
        while q.len() > max as usize {
            q.pop_front();
        }
    }

    /// Forgets `ip`'s failures (after a successful login).
    pub fn clear(&self, ip: IpAddr) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&ip);
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.failures.lock().map(|m| m.len()).unwrap_or(0)
    }
}

fn expire(q: &mut VecDeque<Instant>, window: Duration, now: Instant) {
    while q
        .front()
        .is_some_and(|&t| now.saturating_duration_since(t) >= window)
    {
        q.pop_front();
    }
}

/// The process-wide throttle used by the sessions.
pub fn global() -> &'static Throttle {
    static T: OnceLock<Throttle> = OnceLock::new();
    T.get_or_init(Throttle::new)
}

/// The IP address in a session's peer string (`ip:port` or a bare `ip`,
/// as `up` takes it from `TCPREMOTEIP`); None for `stdio` and the like.
pub fn peer_ip(peer: &str) -> Option<IpAddr> {
    peer.parse::<std::net::SocketAddr>()
        .map(|sa| sa.ip())
        .ok()
        .or_else(|| peer.parse::<IpAddr>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Duration = Duration::from_secs(300);

    #[test]
    fn blocks_after_max_failures_within_window() {
        let t = Throttle::new();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(!t.is_blocked(ip, 3, W, t0), "blocked after {i}");
            t.record_failure(ip, 3, W, t0 + Duration::from_secs(i));
        }
        assert!(t.is_blocked(ip, 3, W, t0 + Duration::from_secs(10)));
        assert!(!t.is_blocked(other, 3, W, t0 + Duration::from_secs(10)));
        // Just before the first failure ages out the IP is still blocked;
        // once it has, one more attempt is allowed.
        assert!(t.is_blocked(ip, 3, W, t0 + W - Duration::from_secs(1)));
        assert!(!t.is_blocked(ip, 3, W, t0 + W));
    }

    #[test]
    fn success_clears_and_zero_disables() {
        let t = Throttle::new();
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        let now = Instant::now();
        t.record_failure(ip, 1, W, now);
        assert!(t.is_blocked(ip, 1, W, now));
        t.clear(ip);
        assert!(!t.is_blocked(ip, 1, W, now));
        t.record_failure(ip, 0, W, now);
        assert!(!t.is_blocked(ip, 0, W, now));
        assert_eq!(t.tracked(), 0);
    }

    #[test]
    fn memory_is_bounded() {
        let t = Throttle::new();
        let now = Instant::now();
        for i in 0..(SWEEP_AT as u32 + 10) {
            let ip = IpAddr::from(i.to_be_bytes());
            t.record_failure(ip, 5, W, now);
        }
        // All still young: nothing swept, but never above the cap.
        assert!(t.tracked() <= MAX_TRACKED);
        // Later, a new address sweeps the expired ones.
        t.record_failure("198.51.100.1".parse().unwrap(), 5, W, now + W);
        assert_eq!(t.tracked(), 1);
    }

    #[test]
    fn peer_ip_forms() {
        assert_eq!(
            peer_ip("127.0.0.1:5000"),
            Some("127.0.0.1".parse().unwrap())
        );
        assert_eq!(peer_ip("[::1]:5000"), Some("::1".parse().unwrap()));
        assert_eq!(peer_ip("192.0.2.9"), Some("192.0.2.9".parse().unwrap()));
        assert_eq!(peer_ip("stdio"), None);
    }
}
