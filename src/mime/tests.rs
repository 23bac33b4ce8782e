//! Unit tests for the mime module; expected values were checked against
//! Dovecot 2.3 with tests/tools/mime_vs_dovecot.py.

use super::decode::{decode_2047, decode_base64, decode_qp, parse_date};
use super::*;
use crate::imap::command::{Section, SectionText};

fn sec(part: &[u32], text: Option<SectionText>) -> Section {
    Section {
        part: part.to_vec(),
        text,
    }
}

fn s(v: Option<Vec<u8>>) -> String {
    String::from_utf8_lossy(&v.expect("section exists")).into_owned()
}

const MULTI: &str = "From: \"Doe, John\" <john@example.com>\n\
To: a@b.c, Group: x@y.z, q@r.s;\n\
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=  hi\n\
Date: Tue, 1 Jul 2003 10:52:37 +0200\n\
Message-ID: <m1@example.com>\n\
MIME-Version: 1.0\n\
Content-Type: multipart/mixed; boundary=\"XX\"\n\
\n\
preamble\n\
--XX\n\
Content-Type: text/plain; charset=iso-8859-1\n\
Content-Transfer-Encoding: quoted-printable\n\
\n\
caf=E9 =\n\
cr=E8me\n\
--XX\n\
Content-Type: message/rfc822\n\
\n\
From: inner@example.com\n\
Subject: inner\n\
\n\
inner body\n\
--XX\n\
Content-Type: application/octet-stream\n\
Content-Transfer-Encoding: base64\n\
Content-Disposition: attachment; filename=\"a.bin\"\n\
\n\
SGVsbG8=\n\
--XX--\n\
epilogue\n";

#[test]
fn crlf_normalisation_and_sizes() {
    let m = Message::parse(b"Subject: x\n\nline1\nline2\n".to_vec());
    assert_eq!(m.raw(), b"Subject: x\r\n\r\nline1\r\nline2\r\n");
    assert_eq!(
        m.body_structure(false),
        "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 14 2)"
    );
}

#[test]
fn envelope_fields_and_groups() {
    let m = Message::parse(MULTI.as_bytes().to_vec());
    assert_eq!(
        m.envelope(),
        "(\"Tue, 1 Jul 2003 10:52:37 +0200\" \"=?utf-8?q?Gr=C3=BC=C3=9Fe?= hi\" \
         ((\"Doe, John\" NIL \"john\" \"example.com\")) \
         ((\"Doe, John\" NIL \"john\" \"example.com\")) \
         ((\"Doe, John\" NIL \"john\" \"example.com\")) \
         ((NIL NIL \"a\" \"b.c\")(NIL NIL \"Group\" NIL)(NIL NIL \"x\" \"y.z\")(NIL NIL \"q\" \"r.s\")(NIL NIL NIL NIL)) \
         NIL NIL NIL \"<m1@example.com>\")"
    );
}

#[test]
fn envelope_missing_parts() {
    let m = Message::parse(b"To: plain, <>\nCc:\nFrom: a@b (Comment Name)\n\n".to_vec());
    let e = m.envelope();
    assert!(e.contains("((NIL NIL \"plain\" \"MISSING_DOMAIN\")(NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\"))"), "{e}");
    assert!(e.contains("((\"Comment Name\" NIL \"a\" \"b\"))"), "{e}");
    // empty Cc is NIL
    assert!(e.ends_with("NIL NIL NIL NIL)"), "{e}");
}

#[test]
fn bodystructure_multipart() {
    let m = Message::parse(MULTI.as_bytes().to_vec());
    let bs = m.body_structure(true);
    assert!(bs.starts_with("((\"text\" \"plain\" (\"charset\" \"iso-8859-1\") NIL NIL \"quoted-printable\" 17 1 NIL NIL NIL NIL)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 53 (NIL \"inner\" ((NIL NIL \"inner\" \"example.com\"))"), "{bs}");
    assert!(bs.contains("(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)"), "{bs}");
    assert!(bs.contains("(\"application\" \"octet-stream\" NIL NIL NIL \"base64\" 8 NIL (\"attachment\" (\"filename\" \"a.bin\")) NIL NIL)"), "{bs}");
    assert!(
        bs.ends_with(" \"mixed\" (\"boundary\" \"XX\") NIL NIL NIL)"),
        "{bs}"
    );
    let b = m.body_structure(false);
    assert!(b.ends_with(" \"mixed\")"), "{b}");
    assert!(!b.contains("boundary"));
}

#[test]
fn bodystructure_quirks() {
    // multipart without boundary: a fake empty text part
    let m = Message::parse(b"Content-Type: multipart/mixed\n\nx\n".to_vec());
    assert_eq!(
        m.body_structure(false),
        "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\")"
    );
    // type without '/' followed by parameters is forgotten
    let m = Message::parse(b"Content-Type: text; charset=x\n\nx\n".to_vec());
    assert_eq!(
        m.body_structure(false),
        "(\"\" \"\" NIL NIL NIL \"7bit\" 3)"
    );
    // RFC 2231 continuations merge; default charset appended
    let m = Message::parse(
        b"Content-Type: text/plain; name*0=\"a\"; name*1=\"b\"; format=flowed\n\nx\n".to_vec(),
    );
    assert_eq!(
        m.body_structure(false),
        "(\"text\" \"plain\" (\"format\" \"flowed\" \"name\" \"ab\" \"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1)"
    );
}

#[test]
fn sections() {
    let m = Message::parse(MULTI.as_bytes().to_vec());
    assert!(s(m.section(&sec(&[], Some(SectionText::Header)))).ends_with("boundary=\"XX\"\r\n\r\n"));
    assert!(s(m.section(&sec(&[], Some(SectionText::Text)))).starts_with("preamble\r\n--XX"));
    assert_eq!(s(m.section(&sec(&[1], None))), "caf=E9 =\r\ncr=E8me");
    assert_eq!(
        s(m.section(&sec(&[1], Some(SectionText::Mime)))),
        "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    );
    assert_eq!(
        s(m.section(&sec(&[2], Some(SectionText::Header)))),
        "From: inner@example.com\r\nSubject: inner\r\n\r\n"
    );
    assert_eq!(
        s(m.section(&sec(&[2], Some(SectionText::Text)))),
        "inner body"
    );
    assert_eq!(s(m.section(&sec(&[2, 1], None))), "inner body");
    assert_eq!(
        s(m.section(&sec(
            &[],
            Some(SectionText::HeaderFields(vec![
                "subject".into(),
                "x-nope".into()
            ]))
        ))),
        "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=  hi\r\n\r\n"
    );
    let not = s(m.section(&sec(
        &[],
        Some(SectionText::HeaderFieldsNot(vec![
            "From".into(),
            "To".into(),
        ])),
    )));
    assert!(not.starts_with("Subject:") && not.ends_with("\"XX\"\r\n\r\n"));
    // nonexistent parts
    assert!(m.section(&sec(&[9], None)).is_none());
    assert!(m.section(&sec(&[1, 2], None)).is_none());
    assert!(m.section(&sec(&[1], Some(SectionText::Header))).is_none());
    // single part: 1 is the body, 1.MIME the header
    let m = Message::parse(b"Subject: x\n\nbody\n".to_vec());
    assert_eq!(s(m.section(&sec(&[1], None))), "body\r\n");
    assert_eq!(
        s(m.section(&sec(&[1], Some(SectionText::Mime)))),
        "Subject: x\r\n\r\n"
    );
    assert!(m.section(&sec(&[2], None)).is_none());
}

#[test]
fn date_header() {
    let m = Message::parse(MULTI.as_bytes().to_vec());
    let d = m.date().expect("date");
    assert_eq!(d.to_rfc3339(), "2003-07-01T10:52:37+02:00");
}

#[test]
fn rfc2047() {
    assert_eq!(
        decode_2047(b"=?iso-8859-1?q?caf=E9?= =?utf-8?b?w6k=?="),
        "caféé"
    );
    assert_eq!(decode_2047(b"a =?UTF-8?Q?b_c?= d"), "a b c d");
    assert_eq!(decode_2047(b"=?x-unknown?q?ok?="), "ok");
    assert_eq!(decode_2047(b"=?bad"), "=?bad");
    assert_eq!(decode_2047(b"=?koi8-r?b?8MLB?="), "Пба");
    // Dovecot quirks: leading whitespace before a word is dropped, words
    // may touch text, spaces inside the text are allowed
    assert_eq!(decode_2047(b"  =?utf-8?q?x?=y"), "xy");
    assert_eq!(decode_2047(b"=?utf-8?q?a b?="), "a b");
    assert_eq!(
        decode_2047(b"=?utf-8?x?a?= =?utf-8?q?b?="),
        "=?utf-8?x?a?= b"
    );
}

#[test]
fn qp_and_base64() {
    assert_eq!(decode_qp(b"a=3Db=\r\nc= \r\nd=ZZ"), b"a=bcd=ZZ");
    assert_eq!(decode_base64(b"SGVs\r\nbG8=garbage"), b"Hello");
    assert_eq!(decode_base64(b"!!SGVsbG8"), b"Hello");
}

#[test]
fn dates() {
    let d = parse_date(b"Thu, 13 Feb 1969 23:32 -0330 (Newfoundland Time)").expect("d");
    assert_eq!(d.to_rfc3339(), "1969-02-13T23:32:00-03:30");
    let d = parse_date(b"1 Jan 01 00:01 EST").expect("d");
    assert_eq!(d.to_rfc3339(), "2001-01-01T00:01:00-05:00");
    assert!(parse_date(b"garbage").is_none());
    // Dovecot's grammar: weekday needs a comma, '.' is a time separator,
    // military zones, 2-digit years pivot at 70
    assert!(parse_date(b"Mon 1 Jan 2001 00:00 +0000").is_none());
    let d = parse_date(b"2 Mar 69 10.20.30 Z").expect("d");
    assert_eq!(d.to_rfc3339(), "2069-03-02T10:20:30+00:00");
    let d = parse_date(b"2 Mar 70 10:20 B").expect("d");
    assert_eq!(d.to_rfc3339(), "1970-03-02T10:20:00+02:00");
    let d = parse_date(b"Fri, 4 May 2001 14:05:44 -0400").expect("d");
    assert_eq!(d.to_rfc3339(), "2001-05-04T14:05:44-04:00");
}

#[test]
fn malformed_structure() {
    // boundary inside a part header ends the header; CRLF goes to the boundary
    let m = Message::parse(
        b"Content-Type: multipart/mixed; boundary=X\n\n--X\nContent-Type: text/plain\nbar\n\n--X--\n"
            .to_vec(),
    );
    assert_eq!(
        s(m.section(&sec(&[1], Some(SectionText::Mime)))),
        "Content-Type: text/plain\r\nbar\r\n"
    );
    // no blank line: all header
    let m = Message::parse(b"From: a@b\nSubject: x\n".to_vec());
    assert_eq!(s(m.section(&sec(&[], Some(SectionText::Text)))), "");
    assert_eq!(
        s(m.section(&sec(
            &[],
            Some(SectionText::HeaderFields(vec!["from".into()]))
        ))),
        "From: a@b\r\n\r\n"
    );
    // missing final boundary, nested deep multipart: bounded, no panic
    let mut deep = String::from("Content-Type: multipart/mixed; boundary=b0\n\n");
    for i in 0..150 {
        deep.push_str(&format!(
            "--b{i}\nContent-Type: multipart/mixed; boundary=b{}\n\n",
            i + 1
        ));
    }
    let m = Message::parse(deep.into_bytes());
    let bs = m.body_structure(true);
    assert!(bs.contains("\"application\" \"octet-stream\""), "depth cap");
    // NUL bytes are shown as 0x80
    let m = Message::parse(b"Subject: a\0b\n\nx\0y".to_vec());
    assert_eq!(
        m.section(&sec(&[], Some(SectionText::Text))),
        Some(b"x\x80y".to_vec())
    );
    assert!(m.envelope().contains("a\u{fffd}b"));
}

#[test]
fn header_only() {
    let full = MULTI.as_bytes().to_vec();
    let end = header_end(&full);
    let h = Message::parse_header_only(full.get(..end).unwrap_or(&[]).to_vec());
    let m = Message::parse(full);
    assert_eq!(h.envelope(), m.envelope());
    assert_eq!(h.date(), m.date());
    assert_eq!(
        h.section(&sec(&[], Some(SectionText::Header))),
        m.section(&sec(&[], Some(SectionText::Header)))
    );
    assert_eq!(header_end(b"A: b\n\nbody"), 6);
    assert_eq!(header_end(b"A: b\r\n\r\nbody"), 8);
    assert_eq!(header_end(b"A: b\n"), 5);
}

/// Deterministic mutation fuzzing: whatever the bytes, nothing panics and
/// every section stays within the message.
#[test]
fn never_panics_on_garbage() {
    let seeds: [&[u8]; 3] = [
        MULTI.as_bytes(),
        b"Content-Type: message/rfc822\n\nContent-Type: multipart/digest; boundary=a\n\n--a\n\n--a--",
        b"From: \"x\\\" (y <z@\nTo: ;;,,:<>@@\nContent-Type: text/plain; a*0*=x; a*2=y; a*=z\n\n",
    ];
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    for seed in seeds {
        for _ in 0..300 {
            let mut v = seed.to_vec();
            for _ in 0..8 {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                if v.is_empty() {
                    break;
                }
                let i = (rng as usize) % v.len();
                let choices = b"\n\r-:;\"()<>@,= \0\x80=?B?";
                v[i] = choices[(rng >> 32) as usize % choices.len()];
                if rng.is_multiple_of(5) {
                    v.truncate(i);
                }
            }
            let m = Message::parse(v);
            let _ = m.envelope();
            let _ = m.body_structure(true);
            let _ = m.date();
            for p in [vec![], vec![1], vec![1, 1], vec![2, 1], vec![3]] {
                for t in [
                    None,
                    Some(SectionText::Header),
                    Some(SectionText::Text),
                    Some(SectionText::Mime),
                ] {
                    if let Some(d) = m.section(&sec(&p, t)) {
                        assert!(d.len() <= m.raw().len());
                    }
                }
            }
        }
    }
}

#[test]
fn plain_7bit_is_canonical() {
    // Dovecot caches a "plain 7bit" flag and answers in canonical form
    let m = Message::parse(
        b"MIME-Version: 1.0\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\nContent-Transfer-Encoding: 7BIT\n\nx\n"
            .to_vec(),
    );
    assert_eq!(
        m.body_structure(true),
        "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 NIL NIL NIL NIL)"
    );
    // anything more keeps the header's spelling
    let m = Message::parse(
        b"MIME-Version: 1.0\nContent-Type: Text/Html\nContent-Transfer-Encoding: 7Bit\n\nx\n"
            .to_vec(),
    );
    assert_eq!(
        m.body_structure(false),
        "(\"Text\" \"Html\" (\"charset\" \"us-ascii\") NIL NIL \"7Bit\" 3 1)"
    );
}

#[test]
fn colonless_lines_and_nested_header_fields() {
    // "Content-Type" without a colon is not a Content-Type
    let m = Message::parse(b"Content-Type\nMIME-Version: 1.0\n\nx".to_vec());
    assert!(m.body_structure(false).starts_with("(\"text\" \"plain\""));
    // ...and matches no HEADER.FIELDS name, but .NOT keeps it
    let m = Message::parse(b"From\nTo: a@b\n\nx".to_vec());
    assert_eq!(
        s(m.section(&sec(
            &[],
            Some(SectionText::HeaderFields(vec!["FROM".into()]))
        ))),
        "\r\n"
    );
    assert_eq!(
        s(m.section(&sec(
            &[],
            Some(SectionText::HeaderFieldsNot(vec!["TO".into()]))
        ))),
        "From\r\n\r\n"
    );
    // an embedded message's HEADER.FIELDS reads on to the next blank line
    let m = Message::parse(
        b"Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: message/rfc822\n\nSubject: s\n--o\nX-Next: 1\n\nb\n--o--\n"
            .to_vec(),
    );
    assert_eq!(
        s(m.section(&sec(
            &[1],
            Some(SectionText::HeaderFieldsNot(vec!["SUBJECT".into()]))
        ))),
        "--o\r\nX-Next: 1\r\n\r\n"
    );
    assert_eq!(
        s(m.section(&sec(&[1], Some(SectionText::Header)))),
        "Subject: s"
    );
}
