//! Behaviour tests of the Maildir++ store on temporary directories.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::depot::{folder_to_name, resolve};
use super::state::{State, STATE_FILE};
use super::*;
use crate::imap::command::StoreOp;

fn store() -> (tempfile::TempDir, MaildirStore) {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("Maildir");
    let s = MaildirStore::open(&root, true).unwrap();
    (d, s)
}

/// Simulates an MTA: write into tmp/, rename into new/.
fn deliver(dir: &Path, name: &str, body: &str) {
    let tmp = dir.join("tmp").join(name);
    fs::write(&tmp, body).unwrap();
    fs::rename(&tmp, dir.join("new").join(name)).unwrap();
}

fn uids(mb: &dyn Mailbox) -> Vec<Uid> {
    mb.messages().iter().map(|m| m.uid).collect()
}

fn seen() -> Flags {
    Flags {
        system: Flags::SEEN,
        keywords: vec![],
    }
}

#[test]
fn names_map_and_reject() {
    let root = Path::new("/m");
    let r = resolve(root, "inbox/a/b").unwrap();
    assert_eq!(r.name, "INBOX/a/b");
    assert_eq!(r.dir, PathBuf::from("/m/.a.b"));
    assert!(resolve(root, "Inbox").unwrap().is_inbox());
    for bad in [
        "foo",
        "INBOXfoo/x",
        "/INBOX",
        "INBOX/",
        "INBOX//a",
        "INBOX/a/",
        "INBOX/a.b",
        "INBOX/..",
        "INBOX/a\nb",
        "INBOX/a\0",
        "",
    ] {
        assert!(
            matches!(resolve(root, bad), Err(StoreError::InvalidName(_))),
            "{bad:?} accepted"
        );
    }
    match resolve(root, "Trash") {
        Err(StoreError::InvalidName(m)) => assert!(m.contains("must be under INBOX/")),
        other => panic!("{other:?}"),
    }
    assert_eq!(folder_to_name(".a.b").as_deref(), Some("INBOX/a/b"));
    assert_eq!(folder_to_name("..trash"), None);
    assert_eq!(folder_to_name(".a..b"), None);
    assert_eq!(folder_to_name("."), None);
    assert_eq!(folder_to_name("cur"), None);
}

fn names(s: &MaildirStore) -> Vec<String> {
    let mut v: Vec<String> = s.list().unwrap().into_iter().map(|e| e.name).collect();
    v.sort();
    v
}

#[test]
fn create_delete_rename() {
    let (_d, s) = store();
    let root = s.root.clone();
    assert!(matches!(
        s.create("INBOX"),
        Err(StoreError::AlreadyExists(_))
    ));
    s.create("INBOX/a/b").unwrap(); // parent stays implicit
    assert!(root.join(".a.b/cur").is_dir());
    assert!(root.join(".a.b/maildirfolder").is_file());
    assert!(!root.join(".a").exists());
    assert_eq!(names(&s), vec!["INBOX", "INBOX/a/b"]);
    assert!(!s.exists("INBOX/a").unwrap());
    // \Noselect parent with children cannot be deleted.
    assert!(matches!(s.delete("INBOX/a"), Err(StoreError::Cannot(_))));
    s.create("INBOX/x/").unwrap();
    assert!(s.exists("INBOX/x").unwrap());
    assert!(matches!(
        s.create("inbox/x"),
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(s.delete("INBOX"), Err(StoreError::Cannot(_))));
    assert!(matches!(
        s.delete("INBOX/nope"),
        Err(StoreError::NotFound(_))
    ));
    // Delete with children: messages go, children stay.
    s.create("INBOX/a").unwrap();
    s.append(
        "INBOX/a",
        MessageSource::Bytes(b"x\n"),
        &Flags::default(),
        None,
    )
    .unwrap();
    s.delete("INBOX/a").unwrap();
    assert_eq!(names(&s), vec!["INBOX", "INBOX/a/b", "INBOX/x"]);
    // No trash left behind.
    assert!(fs::read_dir(&root).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("..")));
    // Rename with children.
    s.create("INBOX/a").unwrap();
    s.create("INBOX/a/b/c").unwrap();
    assert!(matches!(
        s.rename("INBOX/a", "INBOX/x"),
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(
        s.rename("INBOX/q", "INBOX/r"),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.rename("INBOX/a", "INBOX/a/z"),
        Err(StoreError::Cannot(_))
    ));
    s.rename("INBOX/a", "INBOX/z/y").unwrap();
    assert_eq!(
        names(&s),
        vec![
            "INBOX",
            "INBOX/x",
            "INBOX/z/y",
            "INBOX/z/y/b",
            "INBOX/z/y/b/c"
        ]
    );
    let mut open = s.open("INBOX/x", false).unwrap();
    s.delete("INBOX/x").unwrap();
    assert!(!s.exists("INBOX/x").unwrap());
    assert!(matches!(open.sync(), Err(StoreError::NotFound(_))));
}

#[test]
fn rename_inbox_moves_messages() {
    let (_d, s) = store();
    s.create("INBOX/child").unwrap();
    let f = Flags {
        system: Flags::FLAGGED,
        keywords: vec!["$Work".into()],
    };
    let (_, u1) = s
        .append("INBOX", MessageSource::Bytes(b"one\n"), &f, Some(1000))
        .unwrap();
    let (_, u2) = s
        .append("INBOX", MessageSource::Bytes(b"two\n"), &seen(), None)
        .unwrap();
    assert!(u1 < u2);
    deliver(&s.root, "1.new.host", "three\n");
    s.rename("INBOX", "INBOX/old").unwrap();
    let inbox = s.open("INBOX", true).unwrap();
    assert!(inbox.messages().is_empty());
    assert!(inbox.uid_next() > u2, "INBOX must not reuse UIDs");
    let old = s.open("INBOX/old", true).unwrap();
    let m = old.messages();
    assert_eq!(m.len(), 3);
    assert!(m[0].flags.has(Flags::FLAGGED) && m[0].flags.has_keyword("$work"));
    assert_eq!(m[0].internal_date, 1000);
    assert!(m[1].flags.has(Flags::SEEN));
    assert!(s.exists("INBOX/child").unwrap());
    assert!(matches!(
        s.rename("INBOX", "INBOX/old"),
        Err(StoreError::AlreadyExists(_))
    ));
}

#[test]
fn subscriptions_file_and_binc_migration() {
    let (_d, s) = store();
    fs::write(s.root.join(".bincimap-subscribed"), "INBOX\nINBOX/old\n").unwrap();
    assert_eq!(s.subscriptions().unwrap(), vec!["INBOX", "INBOX/old"]);
    s.subscribe("inbox/new").unwrap(); // nonexistent is fine
    s.subscribe("INBOX/new").unwrap();
    s.unsubscribe("INBOX/old").unwrap();
    assert_eq!(s.subscriptions().unwrap(), vec!["INBOX", "INBOX/new"]);
    let text = fs::read_to_string(s.root.join("subscriptions")).unwrap();
    assert_eq!(text, "INBOX\nINBOX/new\n");
    assert!(!s.root.join(".bincimap-subscribed").exists());
}

#[test]
fn append_reopen_keeps_uids_and_dates() {
    let (_d, s) = store();
    let (uv, u1) = s
        .append(
            "INBOX",
            MessageSource::Bytes(b"a\nb\n"),
            &seen(),
            Some(123456),
        )
        .unwrap();
    let spool = s.spool_dir().join("spooled");
    fs::write(&spool, b"hello\r\nworld\n").unwrap();
    let (uv2, u2) = s
        .append(
            "INBOX",
            MessageSource::File(&spool),
            &Flags::default(),
            None,
        )
        .unwrap();
    assert!(!spool.exists(), "spooled file is consumed");
    assert_eq!(uv, uv2);
    assert_eq!((u1, u2), (1, 2));
    let old_tmp = s.spool_dir().join("stale");
    fs::write(&old_tmp, b"x").unwrap();
    let f = fs::File::options().write(true).open(&old_tmp).unwrap();
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 3600);
    f.set_times(fs::FileTimes::new().set_accessed(past).set_modified(past))
        .unwrap();
    let fresh_tmp = s.spool_dir().join("fresh");
    fs::write(&fresh_tmp, b"x").unwrap();
    let mut mb = s.open("INBOX", false).unwrap();
    assert!(
        !old_tmp.exists() && fresh_tmp.exists(),
        "tmp/ cleaned after 36 h"
    );
    assert_eq!(mb.uid_validity(), uv);
    assert_eq!(uids(&*mb), vec![1, 2]);
    assert_eq!(mb.messages()[0].internal_date, 123456);
    assert!(mb.messages()[0].flags.has(Flags::SEEN));
    assert_eq!(mb.rfc822_size(1).unwrap(), 6);
    assert_eq!(mb.rfc822_size(2).unwrap(), 14);
    let mut body = String::new();
    mb.open_message(2)
        .unwrap()
        .read_to_string(&mut body)
        .unwrap();
    // Stored with LF line ends, as Maildir MDAs write.
    assert_eq!(body, "hello\nworld\n");
    drop(mb);
    // The state survives; a fresh handle sees the same UIDs.
    let mb = s.open("INBOX", true).unwrap();
    assert_eq!(uids(&*mb), vec![1, 2]);
    assert_eq!(mb.uid_next(), 3);
    assert!(matches!(
        s.append(
            "INBOX/none",
            MessageSource::Bytes(b"x"),
            &Flags::default(),
            None
        ),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn external_delivery_and_recent() {
    let (_d, s) = store();
    let mut a = s.open("INBOX", false).unwrap();
    let mut ro = s.open("INBOX", true).unwrap();
    assert!(!a.sync().unwrap());
    deliver(&s.root, "100.A.host", "one\n");
    deliver(&s.root, "101.B.host,S=4:2,S", "two\n");
    assert!(a.sync().unwrap());
    assert_eq!(uids(&*a), vec![1, 2]);
    assert!(a.is_recent(1) && a.is_recent(2));
    assert!(a.messages()[1].flags.has(Flags::SEEN));
    assert!(fs::read_dir(s.root.join("new")).unwrap().next().is_none());
    assert!(s.root.join("cur/100.A.host:2,").exists());
    // EXAMINE sees them but never as recent; a second read-write session
    // doesn't get them either.
    assert!(ro.sync().unwrap());
    assert!(!ro.is_recent(1));
    let b = s.open("INBOX", false).unwrap();
    assert_eq!(uids(&*b), vec![1, 2]);
    assert!(!b.is_recent(1));
    let st = s.status("INBOX").unwrap();
    assert_eq!(
        (st.messages, st.recent, st.unseen, st.uid_next),
        (2, 0, 1, 3)
    );
    deliver(&s.root, "102.C.host", "three\n");
    let st = s.status("INBOX").unwrap();
    assert_eq!((st.messages, st.recent, st.uid_next), (3, 1, 4));
    // STATUS did not claim it: the next read-write sync does.
    assert!(a.sync().unwrap());
    assert!(a.is_recent(3));
    let st = s.status("INBOX").unwrap();
    assert_eq!(st.recent, 0);
}

#[test]
fn flags_round_trip_and_external_changes() {
    let (_d, s) = store();
    for i in 0..3 {
        deliver(&s.root, &format!("{i}.M.host"), "x\n");
    }
    let mut a = s.open("INBOX", false).unwrap();
    let kw = Flags {
        system: Flags::ANSWERED | Flags::DELETED,
        keywords: vec!["$Label1".into(), "Todo".into()],
    };
    let ch = a.store_flags(&[1, 2], StoreOp::Add, &kw).unwrap();
    assert_eq!(ch.len(), 2);
    assert!(ch[0].1.has(Flags::ANSWERED) && ch[0].1.has_keyword("todo"));
    assert!(s.root.join("cur/0.M.host:2,RTab").exists());
    assert_eq!(a.keywords(), vec!["$Label1", "Todo"]);
    // Same again: nothing changes.
    assert!(a.store_flags(&[1], StoreOp::Add, &kw).unwrap().is_empty());
    let m1 = a.messages()[0].modseq;
    let ch = a
        .store_flags(
            &[1],
            StoreOp::Remove,
            &Flags {
                system: 0,
                keywords: vec!["$label1".into()],
            },
        )
        .unwrap();
    assert_eq!(ch.len(), 1);
    assert!(!ch[0].1.has_keyword("$Label1"));
    assert!(a.messages()[0].modseq > m1);
    assert!(s.root.join("cur/0.M.host:2,RTb").exists());
    // Another session sees it all from the filenames.
    let mut b = s.open("INBOX", false).unwrap();
    assert_eq!(b.messages()[0].flags, a.messages()[0].flags);
    // A MUA renames a file (flag change) behind our back.
    fs::rename(
        s.root.join("cur/2.M.host:2,"),
        s.root.join("cur/2.M.host:2,FS"),
    )
    .unwrap();
    assert!(b.sync().unwrap());
    assert_eq!(b.messages()[2].uid, 3);
    assert!(b.messages()[2].flags.has(Flags::FLAGGED | Flags::SEEN));
    // open_message follows a rename it has not seen yet.
    fs::rename(
        s.root.join("cur/2.M.host:2,FS"),
        s.root.join("cur/2.M.host:2,S"),
    )
    .unwrap();
    let mut body = String::new();
    b.open_message(3)
        .unwrap()
        .read_to_string(&mut body)
        .unwrap();
    assert_eq!(body, "x\n");
    // store_flags on a stale name finds the file again.
    fs::rename(
        s.root.join("cur/2.M.host:2,S"),
        s.root.join("cur/2.M.host:2,DS"),
    )
    .unwrap();
    let ch = a.store_flags(&[3], StoreOp::Replace, &seen()).unwrap();
    assert_eq!(ch.len(), 1);
    assert!(s.root.join("cur/2.M.host:2,S").exists());
    // Read-only handles cannot write.
    let mut ro = s.open("INBOX", true).unwrap();
    assert!(matches!(
        ro.store_flags(&[1], StoreOp::Add, &seen()),
        Err(StoreError::ReadOnly)
    ));
    assert!(matches!(ro.expunge(None), Err(StoreError::ReadOnly)));
    // Gone message.
    fs::remove_file(s.root.join("cur/2.M.host:2,S")).unwrap();
    assert!(matches!(b.open_message(3), Err(StoreError::MessageGone(3))));
}

#[test]
fn expunge_records_history() {
    let (_d, s) = store();
    for i in 0..6 {
        s.append(
            "INBOX",
            MessageSource::Bytes(b"m\n"),
            &Flags::default(),
            None,
        )
        .unwrap();
        let _ = i;
    }
    let mut a = s.open("INBOX", false).unwrap();
    let del = Flags {
        system: Flags::DELETED,
        keywords: vec![],
    };
    a.store_flags(&[2, 3, 5, 6], StoreOp::Add, &del).unwrap();
    // Restricted to some UIDs (UID EXPUNGE).
    assert_eq!(a.expunge(Some(&[3, 4, 5])).unwrap(), vec![3, 5]);
    assert_eq!(uids(&*a), vec![1, 2, 4, 6]);
    assert_eq!(a.expunge(None).unwrap(), vec![2, 6]);
    assert_eq!(uids(&*a), vec![1, 4]);
    // External removal is noticed and recorded too.
    let mut b = s.open_maildir("INBOX", false).unwrap();
    let f = fs::read_dir(s.root.join("cur"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains(b.unique_name(4).unwrap()))
        .unwrap();
    fs::remove_file(f).unwrap();
    assert!(b.sync().unwrap());
    assert_eq!(uids(&b), vec![1]);
    let st = State::parse(&fs::read(s.root.join(STATE_FILE)).unwrap()).unwrap();
    let mut exp: Vec<Uid> = st.expunged.iter().flat_map(|r| r.first..=r.last).collect();
    exp.sort();
    assert_eq!(exp, vec![2, 3, 4, 5, 6]);
    assert!(st.expunged.iter().all(|r| r.modseq <= st.highest_modseq));
    // UIDs are never reused.
    let (_, u) = s
        .append(
            "INBOX",
            MessageSource::Bytes(b"n\n"),
            &Flags::default(),
            None,
        )
        .unwrap();
    assert_eq!(u, 7);
}

#[test]
fn corrupt_state_gets_new_larger_uidvalidity() {
    let (_d, s) = store();
    for _ in 0..3 {
        s.append(
            "INBOX",
            MessageSource::Bytes(b"m\n"),
            &Flags::default(),
            None,
        )
        .unwrap();
    }
    let uv = s.open("INBOX", true).unwrap().uid_validity();
    // Corrupt the record part but keep the header readable.
    let p = s.root.join(STATE_FILE);
    let mut text = fs::read_to_string(&p).unwrap();
    text = text.replace("\nM 2 ", "\nM x ");
    fs::write(&p, text).unwrap();
    let mb = s.open("INBOX", true).unwrap();
    assert!(mb.uid_validity() > uv);
    assert_eq!(mb.messages().len(), 3);
    let uv2 = mb.uid_validity();
    // Total garbage: still a new, larger one (from the in-memory value).
    let mut mb = mb;
    fs::write(&p, b"\x00\xffgarbage").unwrap();
    mb.sync().ok();
    let mut mb2 = s.open("INBOX", true).unwrap();
    assert!(mb2.uid_validity() != uv2 || mb.uid_validity() > uv2);
    assert_eq!(mb2.messages().len(), 3);
    assert!(!mb2.sync().unwrap());
}

#[test]
fn copy_keeps_flags_and_dates() {
    let (_d, s) = store();
    s.create("INBOX/dst").unwrap();
    let f = Flags {
        system: Flags::SEEN,
        keywords: vec!["Blue".into()],
    };
    s.append("INBOX", MessageSource::Bytes(b"a\n"), &f, Some(5000))
        .unwrap();
    s.append(
        "INBOX",
        MessageSource::Bytes(b"b\n"),
        &Flags::default(),
        Some(6000),
    )
    .unwrap();
    let mut a = s.open("INBOX", false).unwrap();
    let (uv, pairs) = a.copy_to(&[1, 2, 99], "INBOX/dst").unwrap();
    assert_eq!(pairs, vec![(1, 1), (2, 2)]);
    let d = s.open("INBOX/dst", false).unwrap();
    assert_eq!(d.uid_validity(), uv);
    let m = d.messages();
    assert!(m[0].flags.has(Flags::SEEN) && m[0].flags.has_keyword("blue"));
    assert_eq!((m[0].internal_date, m[1].internal_date), (5000, 6000));
    assert!(d.is_recent(1));
    assert!(matches!(
        a.copy_to(&[1], "INBOX/none"),
        Err(StoreError::NotFound(_))
    ));
    // Copy into the same mailbox gets new UIDs.
    let (_, pairs) = a.copy_to(&[1], "INBOX").unwrap();
    assert_eq!(pairs, vec![(1, 3)]);
    assert!(a.sync().unwrap());
    assert_eq!(uids(&*a), vec![1, 2, 3]);
}

#[test]
fn status_cache_follows_changes() {
    let (_d, s) = store();
    s.create("INBOX/s").unwrap();
    let st = s.status("INBOX/s").unwrap();
    assert_eq!(st.messages, 0);
    let dir = s.root.join(".s");
    deliver(&dir, "1.a.h", "x\n");
    assert_eq!(s.status("INBOX/s").unwrap().messages, 1);
    s.append("INBOX/s", MessageSource::Bytes(b"y\n"), &seen(), None)
        .unwrap();
    let st = s.status("INBOX/s").unwrap();
    assert_eq!(
        (st.messages, st.unseen, st.recent, st.uid_next),
        (2, 1, 2, 3)
    );
    assert!(matches!(
        s.status("INBOX/nope"),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn list_marks_new_mail() {
    let (_d, s) = store();
    s.create("INBOX/a").unwrap();
    deliver(&s.root.join(".a"), "1.x.h", "x\n");
    fs::create_dir(s.root.join(".notmailbox")).unwrap();
    fs::write(s.root.join(".file"), "").unwrap();
    let l = s.list().unwrap();
    assert_eq!(l.len(), 2);
    let a = l.iter().find(|e| e.name == "INBOX/a").unwrap();
    assert_eq!(a.marked, Some(true));
    assert_eq!(
        l.iter().find(|e| e.name == "INBOX").unwrap().marked,
        Some(false)
    );
}

/// The child process of `concurrent_handles_and_processes`: appends and
/// syncs, then prints its view (`U uv`, `M uid unique`, `R uid`).
#[test]
fn child_worker() {
    let Ok(root) = std::env::var("BINC_CHILD_ROOT") else {
        return;
    };
    let s = MaildirStore::open(Path::new(&root), false).unwrap();
    let mut mb = s.open_maildir("INBOX", false).unwrap();
    let mut out = String::new();
    let mut seen_map: HashMap<Uid, String> = HashMap::new();
    for i in 0..40 {
        mb.sync().unwrap();
        for m in mb.messages() {
            let u = mb.unique_name(m.uid).unwrap().to_string();
            let prev = seen_map.insert(m.uid, u.clone());
            assert!(prev.is_none_or(|p| p == u), "uid {} changed name", m.uid);
        }
        let body = format!("child {i}\n");
        s.append(
            "INBOX",
            MessageSource::Bytes(body.as_bytes()),
            &Flags::default(),
            None,
        )
        .unwrap();
    }
    mb.sync().unwrap();
    out.push_str(&format!("U {}\n", mb.uid_validity()));
    for m in mb.messages() {
        out.push_str(&format!("M {} {}\n", m.uid, mb.unique_name(m.uid).unwrap()));
        if mb.is_recent(m.uid) {
            out.push_str(&format!("R {}\n", m.uid));
        }
    }
    println!("BEGIN\n{out}END");
}

#[test]
fn concurrent_handles_and_processes() {
    let (_d, s) = store();
    let root = s.root.clone();
    let done = Arc::new(AtomicBool::new(false));
    const DELIVERIES: usize = 150;
    // MTA thread.
    let mta = {
        let root = root.clone();
        std::thread::spawn(move || {
            for i in 0..DELIVERIES {
                deliver(&root, &format!("{i}.mta{i}.host"), "delivered\n");
                if i % 10 == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
        })
    };
    // A MUA renaming files in cur/ (flag changes) without any lock.
    let mua = {
        let root = root.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let cur = root.join("cur");
            let mut n = 0u32;
            while !done.load(Ordering::SeqCst) {
                let names: Vec<String> = fs::read_dir(&cur)
                    .unwrap()
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect();
                for name in names.iter().step_by(7) {
                    let (u, l) = super::flags::split_name(name);
                    let l = l.unwrap_or("");
                    let nl = if l.contains('F') {
                        l.replace('F', "")
                    } else {
                        super::flags::sorted_letters(&format!("{l}F"))
                    };
                    let _ = fs::rename(cur.join(name), cur.join(format!("{u}:2,{nl}")));
                    n += 1;
                }
                std::thread::sleep(std::time::Duration::from_millis(3));
            }
            n
        })
    };
    // A second process.
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store::maildir::tests::child_worker",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("BINC_CHILD_ROOT", &root)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Two session threads: sync, append, flag.
    let mut workers = Vec::new();
    for w in 0..2 {
        let root = root.clone();
        let done = done.clone();
        workers.push(std::thread::spawn(move || {
            let s = MaildirStore::open(&root, false).unwrap();
            let mut mb = s.open_maildir("INBOX", false).unwrap();
            let mut map: HashMap<Uid, String> = HashMap::new();
            let mut appended = Vec::new();
            let mut i = 0;
            loop {
                let finishing = done.load(Ordering::SeqCst);
                mb.sync().unwrap();
                for m in mb.messages() {
                    let u = mb.unique_name(m.uid).unwrap().to_string();
                    let prev = map.insert(m.uid, u.clone());
                    assert!(prev.is_none_or(|p| p == u), "uid {} changed name", m.uid);
                }
                if finishing {
                    break;
                }
                if i < 30 {
                    let (_, uid) = s
                        .append(
                            "INBOX",
                            MessageSource::Bytes(b"w\n"),
                            &Flags::default(),
                            None,
                        )
                        .unwrap();
                    appended.push(uid);
                }
                let some: Vec<Uid> = mb
                    .messages()
                    .iter()
                    .map(|m| m.uid)
                    .filter(|u| u % 2 == w)
                    .collect();
                mb.store_flags(&some, StoreOp::Add, &seen()).unwrap();
                i += 1;
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            let recent: Vec<Uid> = mb
                .messages()
                .iter()
                .map(|m| m.uid)
                .filter(|&u| mb.is_recent(u))
                .collect();
            (map, appended, recent)
        }));
    }
    mta.join().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "child failed");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let body = text
        .split("BEGIN\n")
        .nth(1)
        .expect("child output")
        .split("END")
        .next()
        .unwrap();
    // Let the workers run a little more, then have them finish.
    std::thread::sleep(std::time::Duration::from_millis(50));
    done.store(true, Ordering::SeqCst);
    let results: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let renames = mua.join().unwrap();
    assert!(renames > 0);

    let fin = s.open_maildir("INBOX", true).unwrap();
    let final_map: BTreeMap<Uid, String> = fin
        .messages()
        .iter()
        .map(|m| (m.uid, fin.unique_name(m.uid).unwrap().to_string()))
        .collect();
    // Every file exactly once, with one UID.
    let total = DELIVERIES + 40 + results.iter().map(|r| r.1.len()).sum::<usize>();
    assert_eq!(final_map.len(), total);
    assert_eq!(
        fin.uid_next() as usize,
        total + 1,
        "a UID was handed out twice"
    );
    let names: HashSet<&String> = final_map.values().collect();
    assert_eq!(names.len(), total, "a file got two UIDs");
    assert_eq!(fs::read_dir(root.join("cur")).unwrap().count(), total);
    for i in 0..DELIVERIES {
        assert!(names.contains(&format!("{i}.mta{i}.host")));
    }
    // All handles agree on uid → name.
    let mut recent_count: HashMap<Uid, usize> = HashMap::new();
    for (map, appended, recent) in &results {
        for (u, n) in map {
            assert_eq!(final_map.get(u), Some(n), "handles disagree on uid {u}");
        }
        for u in appended {
            assert!(final_map.contains_key(u));
        }
        for u in recent {
            *recent_count.entry(*u).or_default() += 1;
        }
    }
    let mut child_uv = 0;
    for line in body.lines() {
        let mut it = line.splitn(3, ' ');
        match (it.next(), it.next(), it.next()) {
            (Some("U"), Some(uv), None) => child_uv = uv.parse().unwrap(),
            (Some("M"), Some(u), Some(n)) => {
                let u: Uid = u.parse().unwrap();
                assert_eq!(
                    final_map.get(&u).map(|s| s.as_str()),
                    Some(n),
                    "child disagrees on {u}"
                );
            }
            (Some("R"), Some(u), None) => *recent_count.entry(u.parse().unwrap()).or_default() += 1,
            _ => {}
        }
    }
    assert_eq!(child_uv, fin.uid_validity());
    // \Recent: every message recent in exactly one session.
    for u in final_map.keys() {
        assert_eq!(
            recent_count.get(u).copied().unwrap_or(0),
            1,
            "uid {u} recent count"
        );
    }
}

/// 100,000 messages; run with BINC_BIG=1 (prints timings, asserts nothing
/// about time).
#[test]
fn big_mailbox_timings() {
    if std::env::var("BINC_BIG").ok().as_deref() != Some("1") {
        return;
    }
    let (_d, s) = store();
    let cur = s.root.join("cur");
    let t = std::time::Instant::now();
    for i in 0..100_000u32 {
        fs::write(
            cur.join(format!("{}.M{i}P1.host,S=10:2,S", 1_600_000_000 + i)),
            b"0123456789",
        )
        .unwrap();
    }
    println!("create 100k files: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let mb = s.open_maildir("INBOX", true).unwrap();
    println!("first open (no state): {:?}", t.elapsed());
    assert_eq!(mb.messages().len(), 100_000);
    drop(mb);
    let t = std::time::Instant::now();
    let mut mb = s.open_maildir("INBOX", true).unwrap();
    println!("warm open: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    mb.sync().unwrap();
    println!("sync (dirs fresh, rescan): {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let st = State::parse(&fs::read(s.root.join(STATE_FILE)).unwrap()).unwrap();
    println!(
        "state parse only: {:?} ({} records)",
        t.elapsed(),
        st.records.len()
    );
    let t = std::time::Instant::now();
    let _ = s.status("INBOX").unwrap();
    let _ = s.status("INBOX").unwrap();
    println!("2x status: {:?}", t.elapsed());
    // Let directory timestamps settle so the stat-only paths apply.
    std::thread::sleep(std::time::Duration::from_millis(3100));
    let _ = s.status("INBOX").unwrap();
    let t = std::time::Instant::now();
    let mut mb = s.open_maildir("INBOX", true).unwrap();
    println!("warm open, settled (no readdir): {:?}", t.elapsed());
    let t = std::time::Instant::now();
    assert!(!mb.sync().unwrap());
    println!("sync, settled (two stats): {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let _ = s.status("INBOX").unwrap();
    println!("status, settled (cached): {:?}", t.elapsed());
}

/// Once the directories' timestamps have settled, an unchanged mailbox is
/// two stat() calls: even a clobbered state file goes unread.
#[test]
fn settled_mailbox_sync_is_two_stats() {
    let (_d, s) = store();
    s.append("INBOX", MessageSource::Bytes(b"m\n"), &seen(), None)
        .unwrap();
    s.create("INBOX/other").unwrap();
    let dir = s.root.join(".other");
    deliver(&dir, "1.x.h", "x\n");
    // Settle: directory timestamps must be >2 s old to be trusted.
    std::thread::sleep(std::time::Duration::from_millis(3100));
    let mut mb = s.open_maildir("INBOX", false).unwrap();
    // The open's scan wrote state without touching new/ or cur/; a second
    // handle can now open from the state file alone.
    let uv = mb.uid_validity();
    assert_eq!(s.status("INBOX/other").unwrap().messages, 1);
    let other = s.open_maildir("INBOX/other", false).unwrap();
    drop(other);
    std::thread::sleep(std::time::Duration::from_millis(3100));
    assert_eq!(s.status("INBOX/other").unwrap().recent, 0);
    let p = s.root.join(STATE_FILE);
    let saved = fs::read(&p).unwrap();
    fs::write(&p, b"garbage").unwrap();
    assert!(!mb.sync().unwrap());
    assert_eq!(mb.uid_validity(), uv);
    fs::write(&p, &saved).unwrap();
    // A change is still seen.
    deliver(&s.root, "2.y.h", "y\n");
    assert!(mb.sync().unwrap());
    assert_eq!(uids(&mb), vec![1, 2]);
    // Warm open with settled dirs: records come from the state's K line.
    let ost = s.root.join(".other").join(STATE_FILE);
    let st = State::parse(&fs::read(&ost).unwrap()).unwrap();
    assert!(st.keys.is_some(), "settled keys recorded");
    let o = s.open_maildir("INBOX/other", true).unwrap();
    assert_eq!(uids(&o), vec![1]);
    assert!(!o.is_recent(1));
}

/// Two existing files with one unique name (a crashed MUA) both get UIDs;
/// one is given a new unique name so UIDs stay unambiguous.
#[test]
fn duplicate_unique_names_are_split() {
    let (_d, s) = store();
    let cur = s.root.join("cur");
    fs::write(cur.join("5.dup.host:2,S"), "a\n").unwrap();
    fs::write(cur.join("5.dup.host:2,F"), "b\n").unwrap();
    let mb = s.open_maildir("INBOX", false).unwrap();
    assert_eq!(uids(&mb), vec![1, 2]);
    let (a, b) = (mb.unique_name(1).unwrap(), mb.unique_name(2).unwrap());
    assert_ne!(a, b);
    assert!(a == "5.dup.host" || b == "5.dup.host");
    assert_eq!(fs::read_dir(&cur).unwrap().count(), 2);
    let mb2 = s.open_maildir("INBOX", true).unwrap();
    assert_eq!(mb2.unique_name(1), mb.unique_name(1));
}

#[test]
fn recreated_mailbox_gets_new_uidvalidity() {
    let (_d, s) = store();
    s.create("INBOX/r").unwrap();
    let (uv1, _) = s
        .append(
            "INBOX/r",
            MessageSource::Bytes(b"a\n"),
            &Flags::default(),
            None,
        )
        .unwrap();
    s.delete("INBOX/r").unwrap();
    s.create("INBOX/r").unwrap();
    let (uv2, uid) = s
        .append(
            "INBOX/r",
            MessageSource::Bytes(b"b\n"),
            &Flags::default(),
            None,
        )
        .unwrap();
    assert_eq!(uid, 1);
    assert_ne!(uv1, uv2);
}

#[test]
fn keywords_beyond_26_are_ignored_and_sizes_persist() {
    let (_d, s) = store();
    deliver(&s.root, "1.k.host", "a\nb\n");
    fs::create_dir(s.root.join("cur").join("not-a-message")).unwrap();
    let mut mb = s.open_maildir("INBOX", false).unwrap();
    assert_eq!(uids(&mb), vec![1]);
    let many = Flags {
        system: 0,
        keywords: (0..30).map(|i| format!("kw{i}")).collect(),
    };
    let ch = mb.store_flags(&[1], StoreOp::Add, &many).unwrap();
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0].1.keywords.len(), 26);
    assert_eq!(mb.keywords().len(), 26);
    assert!(!mb.messages()[0].flags.has_keyword("kw29"));
    // RFC822.SIZE computed once, then written with the next state write.
    assert_eq!(mb.rfc822_size(1).unwrap(), 6);
    mb.store_flags(&[1], StoreOp::Add, &seen()).unwrap();
    let st = State::parse(&fs::read(s.root.join(STATE_FILE)).unwrap()).unwrap();
    assert_eq!(st.records[0].vsize, 6);
}

#[test]
fn dovecot_uids_are_kept_on_migration() {
    let (_d, s) = store();
    let cur = s.root.join("cur");
    fs::write(cur.join("100.a.host,S=2:2,S"), "a\n").unwrap();
    fs::write(cur.join("101.b.host:2,"), "bb\n").unwrap();
    deliver(&s.root, "102.c.host", "c\n");
    fs::write(
        s.root.join("dovecot-uidlist"),
        "3 V1234 N20 G00\n7 :100.a.host,S=2\n12 W3 :101.b.host\n",
    )
    .unwrap();
    let mb = s.open_maildir("INBOX", false).unwrap();
    assert_eq!(mb.uid_validity(), 1234);
    assert_eq!(uids(&mb), vec![7, 12, 20]);
    assert!(mb.messages()[0].flags.has(Flags::SEEN));
    assert_eq!(mb.messages()[1].size, Some(3));
    assert!(mb.messages()[1].internal_date > 0);
    assert!(!mb.is_recent(7) && mb.is_recent(20));
    assert_eq!(mb.uid_next(), 21);
}

#[test]
fn crlf_size_across_chunks() {
    let mut cr = false;
    let a = mailbox::crlf_size(b"a\r", &mut cr);
    let b = mailbox::crlf_size(b"\nb\n", &mut cr);
    assert_eq!(a + b, 6); // "a\r\nb\n": one bare LF
    assert_eq!(mailbox::crlf_size(b"\n\n", &mut false), 4);
}

#[test]
fn append_stores_lf_line_ends_and_crlf_size() {
    let t = tempfile::tempdir().unwrap();
    let store = MaildirStore::open(&t.path().join("Maildir"), true).unwrap();
    let msg = b"Subject: x\r\n\r\nline1\r\nline2\r\n";
    store
        .append("INBOX", MessageSource::Bytes(msg), &Flags::default(), None)
        .unwrap();
    let mut mb = store.open("INBOX", true).unwrap();
    let uid = mb.messages()[0].uid;
    let mut on_disk = Vec::new();
    std::io::Read::read_to_end(&mut mb.open_message(uid).unwrap(), &mut on_disk).unwrap();
    assert_eq!(on_disk, b"Subject: x\n\nline1\nline2\n");
    assert_eq!(mb.rfc822_size(uid).unwrap(), msg.len() as u64);
}
