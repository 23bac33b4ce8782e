//! End-to-end parser tests: wire bytes -> Framer -> parse_command.

use super::*;
use crate::imap::command::{
    CommandBody as C, FetchAttr as F, Flag, SearchKey as K, Section, SectionText, SeqNum,
    SequenceSet, StatusItem, StoreOp,
};
use chrono::{FixedOffset, NaiveDate, TimeZone};

const LIMITS: FramerLimits = FramerLimits {
    max_line: 8192,
    max_literal: 1 << 20,
    max_mem_literal: 1 << 20,
};

/// Frames `wire` (CRLF appended) and parses it.
fn p(wire: &str) -> Result<Command, ParseError> {
    p_bytes(format!("{wire}\r\n").as_bytes())
}

fn p_bytes(wire: &[u8]) -> Result<Command, ParseError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let raw = rt
        .block_on(async {
            let mut f = Framer::new(wire, LIMITS);
            f.read_command(&mut tokio::io::sink(), None).await
        })
        .unwrap()
        .unwrap();
    parse_command(raw)
}

fn body(wire: &str) -> C {
    match p(wire) {
        Ok(c) => c.body,
        Err(e) => panic!("{wire:?}: {e:?}"),
    }
}

fn err(wire: &str) -> String {
    match p(wire) {
        Ok(c) => panic!("{wire:?} parsed as {c:?}"),
        Err(e) => {
            assert_eq!(e.kind, ErrorKind::Bad, "{wire:?}");
            e.message
        }
    }
}

fn set(v: &[(u32, u32)]) -> SequenceSet {
    SequenceSet(
        v.iter()
            .map(|&(a, b)| {
                let n = |x| {
                    if x == 0 {
                        SeqNum::Star
                    } else {
                        SeqNum::Value(x)
                    }
                };
                (n(a), n(b))
            })
            .collect(),
    )
}

#[test]
fn simple_commands() {
    assert_eq!(
        p("a1 CAPABILITY").unwrap(),
        Command {
            tag: "a1".into(),
            body: C::Capability
        }
    );
    assert_eq!(body("x noop"), C::Noop);
    assert_eq!(body("x LoGoUt"), C::Logout);
    assert_eq!(body("x STARTTLS"), C::StartTls);
    assert_eq!(body("x CHECK"), C::Check);
    assert_eq!(body("x CLOSE"), C::Close);
    assert_eq!(body("x EXPUNGE"), C::Expunge);
    assert_eq!(err("x NOOP foo"), "Unexpected extra arguments");
    assert_eq!(p("a] NOOP").unwrap().tag, "a]");
}

#[test]
fn tags_and_names() {
    let e = p("+ NOOP").unwrap_err();
    assert_eq!((e.tag, e.message.as_str()), (None, "Invalid tag"));
    assert_eq!(p("a+b NOOP").unwrap_err().tag, None);
    assert_eq!(p("a*b NOOP").unwrap_err().tag, None);
    let e = p("t1 FOO bar").unwrap_err();
    assert_eq!(e.tag.as_deref(), Some("t1"));
    assert_eq!(e.message, "Unknown command FOO");
    assert_eq!(err("t1"), "Missing command name");
    assert_eq!(err("t1 \"NOOP\""), "Invalid command name");
    assert_eq!(err("t1 UID FOO 1"), "Unknown command UID FOO");
}

#[test]
fn login() {
    assert_eq!(
        body("a LOGIN fred \"s e\\\"cret\""),
        C::Login {
            user: b"fred".to_vec(),
            pass: b"s e\"cret".to_vec()
        }
    );
    assert_eq!(
        body("a LOGIN {4}\r\nfred {3+}\r\np\"w"),
        C::Login {
            user: b"fred".to_vec(),
            pass: b"p\"w".to_vec()
        }
    );
    assert_eq!(err("a LOGIN fred"), "Missing argument: password");
    assert_eq!(err("a LOGIN"), "Missing argument: user name");
    assert_eq!(err("a LOGIN (x) y"), "Invalid user name: expected a string");
}

#[test]
fn authenticate() {
    assert_eq!(
        body("a authenticate plain"),
        C::Authenticate {
            mechanism: "PLAIN".into(),
            initial: None
        }
    );
    assert_eq!(
        body("a AUTHENTICATE PLAIN AGZvbwBiYXI="),
        C::Authenticate {
            mechanism: "PLAIN".into(),
            initial: Some(b"\0foo\0bar".to_vec())
        }
    );
    assert_eq!(
        body("a AUTHENTICATE PLAIN ="),
        C::Authenticate {
            mechanism: "PLAIN".into(),
            initial: Some(vec![])
        }
    );
    assert_eq!(
        err("a AUTHENTICATE PLAIN !!"),
        "Invalid base64 in initial response"
    );
    assert_eq!(
        err("a AUTHENTICATE"),
        "Missing argument: authentication mechanism"
    );
    assert_eq!(
        err("a AUTHENTICATE PLAIN eA== y"),
        "Unexpected extra arguments"
    );
}

#[test]
fn mailbox_commands() {
    assert_eq!(
        body("a SELECT INBOX"),
        C::Select {
            mailbox: "INBOX".into(),
            read_only: false
        }
    );
    assert_eq!(
        body("a examine \"a b\""),
        C::Select {
            mailbox: "a b".into(),
            read_only: true
        }
    );
    assert_eq!(err("a SELECT"), "Missing argument: mailbox");
    assert_eq!(
        err("a SELECT x (CONDSTORE)"),
        "SELECT parameters are not supported"
    );
    assert_eq!(
        body("a CREATE foo/bar"),
        C::Create {
            mailbox: "foo/bar".into()
        }
    );
    assert_eq!(
        body("a DELETE {3}\r\nf o"),
        C::Delete {
            mailbox: "f o".into()
        }
    );
    assert_eq!(
        body("a RENAME a b"),
        C::Rename {
            from: "a".into(),
            to: "b".into()
        }
    );
    assert_eq!(err("a RENAME a"), "Missing argument: new mailbox name");
    assert_eq!(
        body("a SUBSCRIBE x"),
        C::Subscribe {
            mailbox: "x".into()
        }
    );
    assert_eq!(
        body("a UNSUBSCRIBE x"),
        C::Unsubscribe {
            mailbox: "x".into()
        }
    );
    assert_eq!(
        body("a CREATE Entw\u{fc}rfe"),
        C::Create {
            mailbox: "Entw\u{fc}rfe".into()
        }
    );
    assert_eq!(err("a CREATE a b"), "Unexpected extra arguments");
    assert!(p_bytes(b"a CREATE \"\xff\"\r\n")
        .unwrap_err()
        .message
        .contains("not UTF-8"));
}

#[test]
fn list_lsub() {
    assert_eq!(
        body("a LIST \"\" *"),
        C::List {
            reference: "".into(),
            pattern: "*".into(),
            lsub: false
        }
    );
    assert_eq!(
        body("a lsub foo/ %/x]"),
        C::List {
            reference: "foo/".into(),
            pattern: "%/x]".into(),
            lsub: true
        }
    );
    assert_eq!(err("a LIST \"\""), "Missing argument: mailbox pattern");
    assert_eq!(
        err("a LIST (SUBSCRIBED) \"\" *"),
        "LIST selection options are not supported"
    );
}

#[test]
fn status() {
    assert_eq!(
        body("a STATUS INBOX (MESSAGES recent UIDNEXT UIDVALIDITY UNSEEN)"),
        C::Status {
            mailbox: "INBOX".into(),
            items: vec![
                StatusItem::Messages,
                StatusItem::Recent,
                StatusItem::UidNext,
                StatusItem::UidValidity,
                StatusItem::Unseen
            ]
        }
    );
    assert_eq!(err("a STATUS INBOX ()"), "Empty status item list");
    assert_eq!(err("a STATUS INBOX (FOO)"), "Invalid status item: FOO");
    assert_eq!(
        err("a STATUS INBOX MESSAGES"),
        "Invalid status items: expected a list"
    );
    assert_eq!(err("a STATUS INBOX"), "Missing argument: status items");
    assert_eq!(err("a STATUS INBOX (MESSAGES"), "Expected ')'");
}

#[test]
fn append() {
    assert_eq!(
        body("a APPEND INBOX {5}\r\nhello"),
        C::Append {
            mailbox: "INBOX".into(),
            flags: vec![],
            date: None,
            message: LiteralData::Mem(b"hello".to_vec())
        }
    );
    let C::Append {
        flags,
        date,
        message,
        ..
    } = body("a APPEND x (\\Seen $Junk) \" 7-Feb-1994 21:52:25 -0800\" {2+}\r\nhi")
    else {
        panic!()
    };
    assert_eq!(flags, vec![Flag::Seen, Flag::Keyword("$Junk".into())]);
    let tz = FixedOffset::west_opt(8 * 3600).unwrap();
    assert_eq!(
        date,
        Some(tz.with_ymd_and_hms(1994, 2, 7, 21, 52, 25).unwrap())
    );
    assert_eq!(message, LiteralData::Mem(b"hi".to_vec()));
    let C::Append { date, .. } = body("a APPEND x \"17-jul-2020 01:02:03 +0130\" ~{1}\r\n\0")
    else {
        panic!()
    };
    let tz = FixedOffset::east_opt(3600 + 1800).unwrap();
    assert_eq!(
        date,
        Some(tz.with_ymd_and_hms(2020, 7, 17, 1, 2, 3).unwrap())
    );
    let C::Append { date, .. } = body("a APPEND x \"1-Jan-2000 00:00:00 +0000\" {0}\r\n") else {
        panic!()
    };
    assert!(date.is_some());
    for bad_date in [
        "32-Jan-2000 00:00:00 +0000",
        "01-Foo-2000 00:00:00 +0000",
        "01-Jan-2000 24:00:00 +0000",
        "01-Jan-2000 00:00:00 0000",
        "01-Jan-2000 00:00:00 +0060",
        "01-Jan-2000 0:00:00 +0000",
        "01-Jan-00 00:00:00 +0000",
        "01-Jan-2000",
    ] {
        assert_eq!(
            err(&format!("a APPEND x \"{bad_date}\" {{1}}\r\nx")),
            "Invalid date-time",
            "{bad_date}"
        );
    }
    assert_eq!(
        err("a APPEND x \"hello\""),
        "Message must be sent as a literal"
    );
    assert_eq!(err("a APPEND x (\\Seen)"), "Missing argument: message");
    assert_eq!(
        err("a APPEND x (\\Seen) hello"),
        "Message must be sent as a literal"
    );
    assert_eq!(
        err("a APPEND x {1}\r\na {1}\r\nb"),
        "Unexpected extra arguments"
    );
    assert_eq!(
        err("a APPEND x (\\Seen foo\\) {1}\r\na"),
        "Invalid flag: foo\\"
    );
}

#[test]
fn fetch_items() {
    let f = |w: &str| match body(w) {
        C::Fetch { items, .. } => items,
        x => panic!("{x:?}"),
    };
    assert_eq!(
        body("a FETCH 1:* FAST"),
        C::Fetch {
            uid: false,
            set: set(&[(1, 0)]),
            items: vec![F::Flags, F::InternalDate, F::Rfc822Size]
        }
    );
    assert_eq!(
        f("a FETCH 1 all"),
        vec![F::Flags, F::InternalDate, F::Rfc822Size, F::Envelope]
    );
    assert_eq!(
        f("a FETCH 1 FULL"),
        vec![
            F::Flags,
            F::InternalDate,
            F::Rfc822Size,
            F::Envelope,
            F::Body
        ]
    );
    assert_eq!(
        f("a FETCH 1 (envelope FLAGS INTERNALDATE RFC822 RFC822.HEADER RFC822.SIZE RFC822.TEXT BODY BODYSTRUCTURE UID)"),
        vec![
            F::Envelope,
            F::Flags,
            F::InternalDate,
            F::Rfc822,
            F::Rfc822Header,
            F::Rfc822Size,
            F::Rfc822Text,
            F::Body,
            F::BodyStructure,
            F::Uid
        ]
    );
    assert_eq!(err("a FETCH 1 (FAST)"), "Invalid fetch attribute: FAST");
    assert_eq!(err("a FETCH 1 ()"), "Empty fetch attribute list");
    assert_eq!(err("a FETCH 1 FOO"), "Invalid fetch attribute: FOO");
    assert_eq!(err("a FETCH 1"), "Missing argument: fetch attributes");
    assert_eq!(err("a FETCH"), "Missing argument: sequence set");
    assert_eq!(err("a FETCH 0 FLAGS"), "Invalid sequence set: 0");
    assert_eq!(err("a FETCH 1:x FLAGS"), "Invalid sequence set: 1:x");
    assert_eq!(err("a FETCH 1,,2 FLAGS"), "Invalid sequence set: 1,,2");
    assert_eq!(
        err("a FETCH 4294967296 FLAGS"),
        "Invalid sequence set: 4294967296"
    );
    assert_eq!(err("a FETCH 1 FLAGS UID"), "Unexpected extra arguments");
    assert_eq!(
        body("a UID FETCH 4294967295,5:2,* (UID)"),
        C::Fetch {
            uid: true,
            set: set(&[(4294967295, 4294967295), (5, 2), (0, 0)]),
            items: vec![F::Uid]
        }
    );
}

#[test]
fn fetch_sections() {
    let one = |att: &str| match body(&format!("a FETCH 1 ({att})")) {
        C::Fetch { mut items, .. } if items.len() == 1 => items.remove(0),
        x => panic!("{x:?}"),
    };
    let sec = |peek, part: Vec<u32>, text, partial| F::BodySection {
        peek,
        section: Section { part, text },
        partial,
    };
    assert_eq!(one("BODY[]"), sec(false, vec![], None, None));
    assert_eq!(
        one("body.peek[]<0.100>"),
        sec(true, vec![], None, Some((0, 100)))
    );
    assert_eq!(one("BODY[1.2.3]"), sec(false, vec![1, 2, 3], None, None));
    assert_eq!(
        one("BODY[HEADER]"),
        sec(false, vec![], Some(SectionText::Header), None)
    );
    assert_eq!(
        one("BODY[text]<5.1>"),
        sec(false, vec![], Some(SectionText::Text), Some((5, 1)))
    );
    assert_eq!(
        one("BODY[2.MIME]"),
        sec(false, vec![2], Some(SectionText::Mime), None)
    );
    assert_eq!(
        one("BODY[1.HEADER]"),
        sec(false, vec![1], Some(SectionText::Header), None)
    );
    assert_eq!(
        one("BODY.PEEK[HEADER.FIELDS (From \"To\" x-y)]"),
        sec(
            true,
            vec![],
            Some(SectionText::HeaderFields(vec![
                "From".into(),
                "To".into(),
                "x-y".into()
            ])),
            None
        )
    );
    assert_eq!(
        one("BODY[1.HEADER.FIELDS.NOT (SUBJECT)]<10.20>"),
        sec(
            false,
            vec![1],
            Some(SectionText::HeaderFieldsNot(vec!["SUBJECT".into()])),
            Some((10, 20))
        )
    );
    // Several sections in one list, and a single one without parentheses.
    match body("a FETCH 1 BODY[HEADER.FIELDS (A B)]") {
        C::Fetch { items, .. } => assert_eq!(items.len(), 1),
        x => panic!("{x:?}"),
    }
    match body("a FETCH 1 (BODY[1] BODY.PEEK[2] UID)") {
        C::Fetch { items, .. } => assert_eq!(items.len(), 3),
        x => panic!("{x:?}"),
    }
    for (att, msg) in [
        ("BODY[0]", "Invalid section part number: 0"),
        ("BODY[1.0]", "Invalid section part number: 1.0"),
        ("BODY[MIME]", "Invalid section: MIME"),
        ("BODY[1.]", "Invalid section: 1."),
        ("BODY[FOO]", "Invalid section: FOO"),
        ("BODY[HEADER.FIELDS]", "Invalid section: HEADER.FIELDS"),
        ("BODY[HEADER.FIELDS ()]", "Empty header field list"),
        ("BODY[HEADER.FIELDS A]", "Invalid header field list"),
        ("BODY[HEADER x]", "Invalid section: HEADER x"),
        ("BODY[]<0.0>", "Invalid partial: <0.0>"),
        ("BODY[]<0>", "Invalid partial: <0>"),
        ("BODY[]<1.x>", "Invalid partial: <1.x>"),
        ("BODY[]x", "Invalid partial: x"),
        ("BODY.PEEK", "Invalid fetch attribute: BODY.PEEK"),
        ("RFC822.PEEK[]", "Invalid fetch attribute: RFC822.PEEK[]"),
        ("BODY[TEXT", "Missing ']'"),
    ] {
        assert_eq!(err(&format!("a FETCH 1 ({att})")), msg, "{att}");
    }
}

#[test]
fn store() {
    assert_eq!(
        body("a STORE 1:3 +FLAGS (\\Deleted)"),
        C::Store {
            uid: false,
            set: set(&[(1, 3)]),
            op: StoreOp::Add,
            silent: false,
            flags: vec![Flag::Deleted]
        }
    );
    assert_eq!(
        body("a UID STORE * -flags.silent \\seen \\Answered \\Flagged \\Draft \\Recent \\X kw"),
        C::Store {
            uid: true,
            set: set(&[(0, 0)]),
            op: StoreOp::Remove,
            silent: true,
            flags: vec![
                Flag::Seen,
                Flag::Answered,
                Flag::Flagged,
                Flag::Draft,
                Flag::Recent,
                Flag::Extension("X".into()),
                Flag::Keyword("kw".into())
            ]
        }
    );
    assert_eq!(
        body("a STORE 1 FLAGS ()"),
        C::Store {
            uid: false,
            set: set(&[(1, 1)]),
            op: StoreOp::Replace,
            silent: false,
            flags: vec![]
        }
    );
    assert_eq!(err("a STORE 1 FLAGS"), "Missing argument: flags");
    assert_eq!(err("a STORE 1 LABELS (x)"), "Invalid store item: LABELS");
    assert_eq!(
        err("a STORE 1 FLAGS (\\Seen) x"),
        "Unexpected extra arguments"
    );
    assert_eq!(err("a STORE 1 FLAGS (\"x\")"), "Invalid flag");
    assert_eq!(err("a STORE 1 FLAGS (\\)"), "Invalid flag: \\");
    assert_eq!(err("a STORE 1 FLAGS (a%)"), "Invalid flag: a%");
}

#[test]
fn copy_and_uid() {
    assert_eq!(
        body("a COPY 2:4 \"Sent Items\""),
        C::Copy {
            uid: false,
            set: set(&[(2, 4)]),
            mailbox: "Sent Items".into()
        }
    );
    assert_eq!(
        body("a uid copy 1 x"),
        C::Copy {
            uid: true,
            set: set(&[(1, 1)]),
            mailbox: "x".into()
        }
    );
    assert_eq!(
        body("a UID EXPUNGE 1:5"),
        C::UidExpunge {
            set: set(&[(1, 5)])
        }
    );
    assert_eq!(err("a UID EXPUNGE"), "Missing argument: sequence set");
    assert_eq!(err("a COPY 1"), "Missing argument: mailbox");
    assert_eq!(err("a UID"), "Missing argument: command");
}

fn search(w: &str) -> (Option<String>, K) {
    match body(w) {
        C::Search { charset, key, .. } => (charset, key),
        x => panic!("{x:?}"),
    }
}

fn key(w: &str) -> K {
    search(&format!("a SEARCH {w}")).1
}

#[test]
fn search_every_key() {
    let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
    let s = |x: &str| x.to_string();
    let cases: Vec<(&str, K)> = vec![
        ("ALL", K::All),
        ("answered", K::Answered),
        ("BCC bob", K::Bcc(s("bob"))),
        ("BEFORE 1-Feb-1994", K::Before(d(1994, 2, 1))),
        ("BODY \"x y\"", K::Body(s("x y"))),
        ("CC {3}\r\na b", K::Cc(s("a b"))),
        ("DELETED", K::Deleted),
        ("DRAFT", K::Draft),
        ("FLAGGED", K::Flagged),
        ("FROM alice", K::From(s("alice"))),
        ("HEADER X-Spam yes", K::Header(s("X-Spam"), s("yes"))),
        ("HEADER Subject \"\"", K::Header(s("Subject"), s(""))),
        ("KEYWORD $Junk", K::Keyword(s("$Junk"))),
        ("LARGER 1000", K::Larger(1000)),
        ("NEW", K::New),
        ("NOT SEEN", K::Not(Box::new(K::Seen))),
        ("OLD", K::Old),
        ("ON \"07-Feb-1994\"", K::On(d(1994, 2, 7))),
        (
            "OR SEEN FLAGGED",
            K::Or(Box::new(K::Seen), Box::new(K::Flagged)),
        ),
        ("RECENT", K::Recent),
        ("SEEN", K::Seen),
        ("SENTBEFORE 1-jan-2000", K::SentBefore(d(2000, 1, 1))),
        ("SENTON 31-Dec-1999", K::SentOn(d(1999, 12, 31))),
        ("SENTSINCE 1-Mar-2020", K::SentSince(d(2020, 3, 1))),
        ("SINCE 29-Feb-2020", K::Since(d(2020, 2, 29))),
        ("SMALLER 5", K::Smaller(5)),
        ("SUBJECT hi", K::Subject(s("hi"))),
        ("TEXT x", K::Text(s("x"))),
        ("TO y", K::To(s("y"))),
        ("UID 1:*", K::Uid(set(&[(1, 0)]))),
        ("UNANSWERED", K::Unanswered),
        ("UNDELETED", K::Undeleted),
        ("UNDRAFT", K::Undraft),
        ("UNFLAGGED", K::Unflagged),
        ("UNKEYWORD foo", K::Unkeyword(s("foo"))),
        ("UNSEEN", K::Unseen),
        ("2,4:*", K::Seq(set(&[(2, 2), (4, 0)]))),
        ("*", K::Seq(set(&[(0, 0)]))),
    ];
    for (w, want) in cases {
        assert_eq!(key(w), want, "{w}");
    }
}

#[test]
fn search_structure() {
    assert_eq!(key("SEEN FLAGGED"), K::And(vec![K::Seen, K::Flagged]));
    assert_eq!(key("(SEEN)"), K::Seen);
    assert_eq!(
        key("OR (SEEN FROM x) NOT (UID 5) 1:3"),
        K::And(vec![
            K::Or(
                Box::new(K::And(vec![K::Seen, K::From("x".into())])),
                Box::new(K::Not(Box::new(K::Uid(set(&[(5, 5)])))))
            ),
            K::Seq(set(&[(1, 3)]))
        ])
    );
    assert_eq!(
        key("OR OR SEEN DRAFT DELETED"),
        K::Or(
            Box::new(K::Or(Box::new(K::Seen), Box::new(K::Draft))),
            Box::new(K::Deleted)
        )
    );
    match body("a UID SEARCH ALL") {
        C::Search { uid, .. } => assert!(uid),
        x => panic!("{x:?}"),
    }
    for (w, msg) in [
        ("a SEARCH", "Missing argument: search key"),
        ("a SEARCH FOO", "Unknown search key: FOO"),
        ("a SEARCH OR SEEN", "Missing argument: search key"),
        ("a SEARCH NOT", "Missing argument: search key"),
        ("a SEARCH FROM", "Missing argument: search string"),
        ("a SEARCH HEADER x", "Missing argument: search string"),
        ("a SEARCH BEFORE 1-Foo-2000", "Invalid date: 1-Foo-2000"),
        ("a SEARCH SINCE 30-Feb-2020", "Invalid date: 30-Feb-2020"),
        ("a SEARCH ON 1-Jan-20", "Invalid date: 1-Jan-20"),
        ("a SEARCH LARGER x", "Invalid size: x"),
        ("a SEARCH LARGER", "Missing argument: size"),
        ("a SEARCH UID 0", "Invalid sequence set: 0"),
        ("a SEARCH 1:x", "Invalid sequence set: 1:x"),
        ("a SEARCH ()", "Empty search key list"),
        ("a SEARCH \"SEEN\"", "Invalid search key"),
        ("a SEARCH KEYWORD \\Seen", "Invalid keyword: \\Seen"),
        ("a SEARCH (SEEN", "Expected ')'"),
        ("a SEARCH SEEN)", "Unexpected ')'"),
    ] {
        assert_eq!(err(w), msg, "{w}");
    }
    // NOT chains are bounded without parentheses.
    let deep = format!("a SEARCH {}SEEN", "NOT ".repeat(1000));
    assert_eq!(err(&deep), "Too deep nesting");
    let ok = format!("a SEARCH {}SEEN", "NOT ".repeat(100));
    assert!(p(&ok).is_ok());
}

#[test]
fn search_charset() {
    assert_eq!(
        search("a SEARCH CHARSET utf-8 SUBJECT \"h\u{e9}\""),
        (Some("utf-8".into()), K::Subject("h\u{e9}".into()))
    );
    assert_eq!(
        search("a SEARCH charset US-ASCII ALL"),
        (Some("US-ASCII".into()), K::All)
    );
    // ISO-8859-1 is converted to UTF-8.
    let c = p_bytes(b"a SEARCH CHARSET ISO-8859-1 BODY {1}\r\n\xe9\r\n").unwrap();
    match c.body {
        C::Search { key, .. } => assert_eq!(key, K::Body("\u{e9}".into())),
        x => panic!("{x:?}"),
    }
    let e = p("a SEARCH CHARSET X-KLINGON ALL").unwrap_err();
    assert_eq!(e.kind, ErrorKind::No);
    assert_eq!(e.code.as_deref(), Some("BADCHARSET (US-ASCII UTF-8)"));
    assert_eq!(e.tag.as_deref(), Some("a"));
    assert_eq!(err("a SEARCH CHARSET"), "Missing argument: charset");
    // Client bytes echoed in messages never carry CR/LF.
    let e = p("a SEARCH CHARSET {6}\r\nx\r\n* x ALL").unwrap_err();
    assert_eq!(e.message, "Unsupported charset x??* x");
}

#[test]
fn nesting_limit() {
    let ok = format!("a SEARCH {}SEEN{}", "(".repeat(64), ")".repeat(64));
    assert!(p(&ok).is_ok());
    let deep = format!("a SEARCH {}SEEN{}", "(".repeat(65), ")".repeat(65));
    assert_eq!(err(&deep), "Too deep nesting");
    let mut raw = RawCommand::default();
    raw.parts.push(Part::Text(b"a SEARCH ((SEEN))".to_vec()));
    let e = parse_command_with(raw, ParserLimits { max_nesting: 1 }).unwrap_err();
    assert_eq!(e.message, "Too deep nesting");
}

#[test]
fn literal_as_arguments() {
    // A literal can appear anywhere a string can, including inside lists.
    assert_eq!(
        key("(SUBJECT {2}\r\nab FROM c)"),
        K::And(vec![K::Subject("ab".into()), K::From("c".into())])
    );
    assert_eq!(
        err("a LOGIN ~{1}\r\nx y"),
        "Invalid user name: literal8 not allowed here"
    );
}
