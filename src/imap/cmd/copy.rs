//! COPY and UID COPY (RFC 3501 §6.4.7): flags travel with the message,
//! \Recent is set anew in the destination.

use crate::imap::command::SequenceSet;
use crate::imap::session::{store_error, Session, Tagged};

pub fn copy(s: &mut Session, uid: bool, set: &SequenceSet, dest: &str) -> Tagged {
    let Some(sel) = s.selected.as_mut() else {
        return Tagged::bad("No mailbox selected");
    };
    let idx = match sel.resolve(set, uid) {
        Ok(i) => i,
        Err(t) => return t,
    };
    let uids = sel.uids_at(&idx);
    if uids.is_empty() {
        return Tagged::ok("No messages copied");
    }
    match sel.mailbox.copy_to(&uids, dest) {
        Ok((validity, pairs)) => {
            sel.dirty = true;
            if pairs.is_empty() {
                return Tagged::ok("");
            }
            let (src, dst) = uid_sets(&pairs);
            Tagged::Ok(
                Some(format!("COPYUID {validity} {src} {dst}")),
                "COPY completed".into(),
            )
        }
        Err(e) => store_error(&e, "TRYCREATE"),
    }
}

/// Formats (source, destination) UID pairs as two sets in matching order,
/// collapsing runs where both sides are consecutive (`1:3,7` / `10:12,13`).
pub fn uid_sets(pairs: &[(u32, u32)]) -> (String, String) {
    let mut runs: Vec<(u32, u32, u32)> = Vec::new(); // (src start, dst start, length)
    for &(a, b) in pairs {
        match runs.last_mut() {
            Some((s0, d0, n)) if s0.checked_add(*n) == Some(a) && d0.checked_add(*n) == Some(b) => {
                *n += 1
            }
            _ => runs.push((a, b, 1)),
        }
    }
    let fmt = |start: u32, n: u32| {
        if n == 1 {
            start.to_string()
        } else {
            format!("{start}:{}", start + (n - 1))
        }
    };
    let src: Vec<String> = runs.iter().map(|&(s0, _, n)| fmt(s0, n)).collect();
    let dst: Vec<String> = runs.iter().map(|&(_, d0, n)| fmt(d0, n)).collect();
    (src.join(","), dst.join(","))
}

#[cfg(test)]
mod tests {
    #[test]
    fn uid_sets_collapse_runs() {
        let (s, d) = super::uid_sets(&[(1, 10), (2, 11), (3, 12), (7, 13), (9, 14)]);
        assert_eq!(s, "1:3,7,9");
        assert_eq!(d, "10:12,13,14");
    }
}
