//! A Rust-only smoke test of `bincimap imapd`: a PREAUTH session on stdio over a temporary home, driven by a
//! short raw transcript (greeting, SELECT, APPEND with a literal, FETCH, LOGOUT).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(30);

struct Session {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Session {
    fn start(home: &std::path::Path) -> Session {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bincimap"))
            .arg("imapd")
            .env_clear()
            .env("HOME", home)
            .env("USER", "smoke")
            .env("PATH", "/usr/bin:/bin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn bincimap imapd");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        // a reader thread, so that a silent server makes the test fail after TIMEOUT instead of hanging
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                match r.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Session {
            child,
            stdin,
            lines,
        }
    }

    fn line(&mut self) -> String {
        match self.lines.recv_timeout(TIMEOUT) {
            Ok(l) => l,
            Err(e) => {
                let _ = self.child.kill();
                panic!("no line from the server: {e}");
            }
        }
    }

    fn send(&mut self, data: &[u8]) {
        self.stdin.write_all(data).expect("write");
        self.stdin.flush().expect("flush");
    }

    /// Lines up to and including the one that starts with `tag `.
    fn until(&mut self, tag: &str) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let l = self.line();
            let done = l.starts_with(&format!("{tag} "));
            out.push(l);
            if done {
                return out;
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn stdio_transcript() {
    let home = tempfile::tempdir().expect("tempdir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(home.path().join("Maildir").join(sub)).expect("mkdir");
    }
    let mut s = Session::start(home.path());

    let greeting = s.line();
    assert!(greeting.starts_with("* PREAUTH"), "greeting: {greeting}");

    s.send(b"a1 SELECT INBOX\r\n");
    let sel = s.until("a1");
    assert!(sel.iter().any(|l| l == "* 0 EXISTS\r\n"), "{sel:?}");
    assert!(
        sel.iter().any(|l| l.starts_with("* OK [UIDVALIDITY ")),
        "{sel:?}"
    );
    let last = sel.last().map(String::as_str).unwrap_or("");
    assert!(last.starts_with("a1 OK [READ-WRITE]"), "{last}");

    let msg = b"From: smoke@example.com\r\nSubject: smoke test\r\n\r\nHello from Rust.\r\n";
    s.send(format!("a2 APPEND INBOX (\\Flagged) {{{}}}\r\n", msg.len()).as_bytes());
    let cont = s.line();
    assert!(cont.starts_with('+'), "continuation: {cont}");
    s.send(msg);
    s.send(b"\r\n");
    let app = s.until("a2");
    assert!(
        app.last().is_some_and(|l| l.starts_with("a2 OK")),
        "{app:?}"
    );
    assert!(app.iter().any(|l| l == "* 1 EXISTS\r\n"), "{app:?}");

    s.send(b"a3 FETCH 1 (FLAGS RFC822.SIZE BODY.PEEK[])\r\n");
    let f = s.until("a3");
    let text = f.concat();
    assert!(text.starts_with("* 1 FETCH ("), "{text}");
    assert!(text.contains("\\Flagged"), "{text}");
    assert!(
        text.contains(&format!("RFC822.SIZE {}", msg.len())),
        "{text}"
    );
    assert!(
        text.contains(&format!("BODY[] {{{}}}\r\n", msg.len())),
        "{text}"
    );
    assert!(
        text.contains(std::str::from_utf8(msg).unwrap_or("")),
        "{text}"
    );
    assert!(f.last().is_some_and(|l| l.starts_with("a3 OK")), "{f:?}");

    s.send(b"a4 LOGOUT\r\n");
    let bye = s.until("a4");
    assert!(bye.iter().any(|l| l.starts_with("* BYE")), "{bye:?}");
    assert!(
        bye.last().is_some_and(|l| l.starts_with("a4 OK")),
        "{bye:?}"
    );
    let status = s.child.wait().expect("wait");
    assert!(status.success(), "imapd exit status {status}");

    let files = std::fs::read_dir(home.path().join("Maildir").join("cur"))
        .expect("cur")
        .chain(std::fs::read_dir(home.path().join("Maildir").join("new")).expect("new"))
        .count();
    assert_eq!(files, 1, "the appended message is one file in the Maildir");
}
