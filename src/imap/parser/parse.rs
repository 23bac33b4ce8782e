//! The command parser: interprets the tokenizer's argument tree as one of
//! the RFC 3501 commands (plus `UID EXPUNGE`), producing a [`Command`].
//!
//! One function per command family; each consumes its arguments from an
//! [`Args`] cursor and ends with `a.end()`, so an extension (SEARCH RETURN,
//! LIST selection/return options, SELECT parameters, CREATE USE, STORE and
//! FETCH modifiers) is added where the marked "extension point" comments are.

use super::tokenizer::{read_quoted, tokenize, Arg};
use super::{extract_tag, is_atom_char, ErrorKind, ParseError, ParserLimits, Part};
use crate::imap::command::{
    Command, CommandBody, FetchAttr, Flag, LiteralData, SearchKey, Section, SectionText, SeqNum,
    SequenceSet, StatusItem, StoreOp,
};
use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone};

/// Deepest recursion of SEARCH keys: NOT/OR chains and lists together. Not
/// tied to `max_nesting` because long OR chains need no parentheses.
const MAX_SEARCH_DEPTH: usize = 256;

/// An error before the tag is attached.
struct E {
    message: String,
    code: Option<String>,
    kind: ErrorKind,
}

type R<T> = Result<T, E>;

fn bad<T>(message: impl Into<String>) -> R<T> {
    Err(E {
        message: message.into(),
        code: None,
        kind: ErrorKind::Bad,
    })
}

/// Client bytes for an error message: lossy, truncated, and with control
/// characters replaced so a literal's CRLF cannot inject a response line.
fn show(b: &[u8]) -> String {
    let s: String = String::from_utf8_lossy(b)
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().count() > 40 {
        let mut t: String = s.chars().take(40).collect();
        t.push_str("...");
        t
    } else {
        s
    }
}

fn upper(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_ascii_uppercase()
}

pub(super) fn parse(parts: Vec<Part>, limits: ParserLimits) -> Result<Command, ParseError> {
    let tag = match parts.first() {
        Some(Part::Text(t)) => extract_tag(t),
        _ => None,
    };
    let Some(tag) = tag else {
        return Err(ParseError {
            tag: None,
            code: None,
            message: "Invalid tag".into(),
            kind: ErrorKind::Bad,
        });
    };
    let with_tag = |e: E| ParseError {
        tag: Some(tag.clone()),
        code: e.code,
        message: e.message,
        kind: e.kind,
    };
    let args = tokenize(parts, tag.len(), limits.max_nesting)
        .or_else(bad)
        .map_err(&with_tag)?;
    let mut a = Args::new(args);
    let name = match a.next_opt() {
        Some(Arg::Atom(n)) => Ok(n),
        Some(_) => bad("Invalid command name"),
        None => bad("Missing command name"),
    }
    .map_err(&with_tag)?;
    let body = parse_body(&name, &mut a).map_err(with_tag)?;
    Ok(Command { tag, body })
}

/// A cursor over one level of arguments.
struct Args {
    items: std::iter::Peekable<std::vec::IntoIter<Arg>>,
}

impl Args {
    fn new(v: Vec<Arg>) -> Self {
        Args {
            items: v.into_iter().peekable(),
        }
    }
    fn next_opt(&mut self) -> Option<Arg> {
        self.items.next()
    }
    fn next(&mut self, what: &str) -> R<Arg> {
        match self.items.next() {
            Some(a) => Ok(a),
            None => bad(format!("Missing argument: {what}")),
        }
    }
    fn peek(&mut self) -> Option<&Arg> {
        self.items.peek()
    }
    fn remaining(&self) -> usize {
        self.items.len()
    }
    fn end(&mut self) -> R<()> {
        if self.items.peek().is_some() {
            return bad("Unexpected extra arguments");
        }
        Ok(())
    }
}

fn parse_body(name: &[u8], a: &mut Args) -> R<CommandBody> {
    use CommandBody as C;
    let up = upper(name);
    let body = match up.as_str() {
        "CAPABILITY" => C::Capability,
        "NOOP" => C::Noop,
        "LOGOUT" => C::Logout,
        "STARTTLS" => C::StartTls,
        "CHECK" => C::Check,
        "CLOSE" => C::Close,
        "EXPUNGE" => C::Expunge,
        "LOGIN" => C::Login {
            user: astring(a.next("user name")?, "user name")?,
            pass: astring(a.next("password")?, "password")?,
        },
        "AUTHENTICATE" => parse_authenticate(a)?,
        "SELECT" => parse_select(a, false)?,
        "EXAMINE" => parse_select(a, true)?,
        // Extension point: CREATE mailbox (USE (\Drafts ...)).
        "CREATE" => C::Create {
            mailbox: mailbox(a.next("mailbox")?)?,
        },
        "DELETE" => C::Delete {
            mailbox: mailbox(a.next("mailbox")?)?,
        },
        "RENAME" => C::Rename {
            from: mailbox(a.next("mailbox")?)?,
            to: mailbox(a.next("new mailbox name")?)?,
        },
        "SUBSCRIBE" => C::Subscribe {
            mailbox: mailbox(a.next("mailbox")?)?,
        },
        "UNSUBSCRIBE" => C::Unsubscribe {
            mailbox: mailbox(a.next("mailbox")?)?,
        },
        "LIST" => parse_list(a, false)?,
        "LSUB" => parse_list(a, true)?,
        "STATUS" => parse_status(a)?,
        "APPEND" => parse_append(a)?,
        "SEARCH" => parse_search(a, false)?,
        "FETCH" => parse_fetch(a, false)?,
        "STORE" => parse_store(a, false)?,
        "COPY" => parse_copy(a, false)?,
        "UID" => {
            let sub = match a.next("command")? {
                Arg::Atom(s) => s,
                _ => return bad("Invalid command after UID"),
            };
            match upper(&sub).as_str() {
                "SEARCH" => parse_search(a, true)?,
                "FETCH" => parse_fetch(a, true)?,
                "STORE" => parse_store(a, true)?,
                "COPY" => parse_copy(a, true)?,
                "EXPUNGE" => C::UidExpunge {
                    set: seq_set_arg(a.next("sequence set")?)?,
                },
                _ => return bad(format!("Unknown command UID {}", show(&sub))),
            }
        }
        _ => return bad(format!("Unknown command {}", show(name))),
    };
    a.end()?;
    Ok(body)
}

// ---- argument converters -------------------------------------------------

/// astring (atom, quoted or in-memory literal) as bytes.
fn astring(arg: Arg, what: &str) -> R<Vec<u8>> {
    match arg {
        Arg::Atom(v) | Arg::Quoted(v) => Ok(v),
        Arg::Literal {
            data: LiteralData::Mem(v),
            binary: false,
        } => Ok(v),
        Arg::Literal { binary: true, .. } => {
            bad(format!("Invalid {what}: literal8 not allowed here"))
        }
        Arg::Literal { .. } => bad(format!("Invalid {what}: too long")),
        Arg::List(_) => bad(format!("Invalid {what}: expected a string")),
    }
}

fn utf8(v: Vec<u8>, what: &str) -> R<String> {
    match String::from_utf8(v) {
        Ok(s) => Ok(s),
        Err(_) => bad(format!("Invalid {what}: not UTF-8")),
    }
}

fn mailbox(arg: Arg) -> R<String> {
    utf8(astring(arg, "mailbox")?, "mailbox")
}

/// An atom made of strict ATOM-CHARs (keywords, mechanism names).
fn strict_atom(arg: Arg, what: &str) -> R<String> {
    match arg {
        Arg::Atom(v) if !v.is_empty() && v.iter().all(|&b| is_atom_char(b)) => utf8(v, what),
        Arg::Atom(v) => bad(format!("Invalid {what}: {}", show(&v))),
        _ => bad(format!("Invalid {what}")),
    }
}

fn digits_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

fn digits_u32(s: &[u8]) -> Option<u32> {
    digits_u64(s).and_then(|n| u32::try_from(n).ok())
}

fn number(arg: Arg, what: &str) -> R<u64> {
    match arg {
        Arg::Atom(v) => match digits_u64(&v) {
            Some(n) => Ok(n),
            None => bad(format!("Invalid {what}: {}", show(&v))),
        },
        _ => bad(format!("Invalid {what}")),
    }
}

fn seq_num(s: &[u8]) -> Option<SeqNum> {
    if s == b"*" {
        return Some(SeqNum::Star);
    }
    match digits_u32(s) {
        Some(n) if n > 0 => Some(SeqNum::Value(n)),
        _ => None,
    }
}

/// A sequence set such as `1:5,7,9:*` (nonzero 32-bit numbers).
pub(super) fn parse_seq_set(s: &[u8]) -> Option<SequenceSet> {
    let mut out = Vec::new();
    for item in s.split(|&b| b == b',') {
        let mut ends = item.splitn(2, |&b| b == b':');
        let a = seq_num(ends.next()?)?;
        let b = match ends.next() {
            Some(b) => seq_num(b)?,
            None => a,
        };
        out.push((a, b));
    }
    Some(SequenceSet(out))
}

fn seq_set_arg(arg: Arg) -> R<SequenceSet> {
    match arg {
        Arg::Atom(v) => match parse_seq_set(&v) {
            Some(s) => Ok(s),
            None => bad(format!("Invalid sequence set: {}", show(&v))),
        },
        Arg::Quoted(v) => bad(format!("Invalid sequence set: \"{}\"", show(&v))),
        _ => bad("Invalid sequence set"),
    }
}

fn flag(arg: Arg) -> R<Flag> {
    let Arg::Atom(v) = arg else {
        return bad("Invalid flag");
    };
    let valid = |s: &[u8]| !s.is_empty() && s.iter().all(|&b| is_atom_char(b));
    if let Some(name) = v.strip_prefix(b"\\") {
        if !valid(name) {
            return bad(format!("Invalid flag: {}", show(&v)));
        }
        Ok(match upper(name).as_str() {
            "SEEN" => Flag::Seen,
            "ANSWERED" => Flag::Answered,
            "FLAGGED" => Flag::Flagged,
            "DELETED" => Flag::Deleted,
            "DRAFT" => Flag::Draft,
            "RECENT" => Flag::Recent,
            _ => Flag::Extension(utf8(name.to_vec(), "flag")?),
        })
    } else if valid(&v) {
        Ok(Flag::Keyword(utf8(v, "flag")?))
    } else {
        bad(format!("Invalid flag: {}", show(&v)))
    }
}

fn flag_list(arg: Arg) -> R<Vec<Flag>> {
    match arg {
        Arg::List(items) => items.into_iter().map(flag).collect(),
        _ => bad("Invalid flag list"),
    }
}

fn month(m: &[u8]) -> Option<u32> {
    const MONTHS: [&[u8]; 12] = [
        b"JAN", b"FEB", b"MAR", b"APR", b"MAY", b"JUN", b"JUL", b"AUG", b"SEP", b"OCT", b"NOV",
        b"DEC",
    ];
    MONTHS
        .iter()
        .position(|x| x.eq_ignore_ascii_case(m))
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// `d-Mon-yyyy` or `dd-Mon-yyyy`.
pub(super) fn parse_date(s: &[u8]) -> Option<NaiveDate> {
    let mut it = s.split(|&b| b == b'-');
    let (d, m, y) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || d.is_empty() || d.len() > 2 || y.len() != 4 {
        return None;
    }
    let year = i32::try_from(digits_u32(y)?).ok()?;
    NaiveDate::from_ymd_opt(year, month(m)?, digits_u32(d)?)
}

/// `dd-Mon-yyyy hh:mm:ss +zzzz`; the day may be space-padded or 1 digit.
pub(super) fn parse_date_time(s: &[u8]) -> Option<DateTime<FixedOffset>> {
    let s = s.strip_prefix(b" ").unwrap_or(s);
    let mut it = s.split(|&b| b == b' ');
    let (date, time, zone) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let date = parse_date(date)?;
    let t: Vec<&[u8]> = time.split(|&b| b == b':').collect();
    let [h, m, sec] = t.as_slice() else {
        return None;
    };
    if h.len() != 2 || m.len() != 2 || sec.len() != 2 {
        return None;
    }
    let time = NaiveTime::from_hms_opt(digits_u32(h)?, digits_u32(m)?, digits_u32(sec)?)?;
    let (sign, z) = zone.split_first()?;
    let sign = match sign {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    if z.len() != 4 {
        return None;
    }
    let zh = i32::try_from(digits_u32(z.get(..2)?)?).ok()?;
    let zm = i32::try_from(digits_u32(z.get(2..)?)?).ok()?;
    if zm >= 60 {
        return None;
    }
    let offset = FixedOffset::east_opt(sign * (zh * 3600 + zm * 60))?;
    offset.from_local_datetime(&date.and_time(time)).single()
}

// ---- commands --------------------------------------------------------------

fn parse_authenticate(a: &mut Args) -> R<CommandBody> {
    let mechanism = strict_atom(
        a.next("authentication mechanism")?,
        "authentication mechanism",
    )?
    .to_ascii_uppercase();
    let initial = match a.next_opt() {
        None => None,
        Some(Arg::Atom(v)) if v == b"=" => Some(Vec::new()),
        Some(Arg::Atom(v)) => match base64::engine::general_purpose::STANDARD.decode(&v) {
            Ok(d) => Some(d),
            Err(_) => return bad("Invalid base64 in initial response"),
        },
        Some(_) => return bad("Invalid initial response"),
    };
    Ok(CommandBody::Authenticate { mechanism, initial })
}

fn parse_select(a: &mut Args, read_only: bool) -> R<CommandBody> {
    let mailbox = mailbox(a.next("mailbox")?)?;
    // Extension point: SELECT parameters, e.g. (CONDSTORE) or (QRESYNC ...).
    if let Some(Arg::List(_)) = a.peek() {
        return bad("SELECT parameters are not supported");
    }
    Ok(CommandBody::Select { mailbox, read_only })
}

fn parse_list(a: &mut Args, lsub: bool) -> R<CommandBody> {
    // Extension point: LIST-EXTENDED selection options come as a list before
    // the reference, patterns may be a list, RETURN (...) follows them.
    let reference = match a.next("reference")? {
        Arg::List(_) => return bad("LIST selection options are not supported"),
        x => utf8(astring(x, "reference")?, "reference")?,
    };
    let pattern = match a.next("mailbox pattern")? {
        Arg::List(_) => return bad("Multiple LIST patterns are not supported"),
        x => utf8(astring(x, "mailbox pattern")?, "mailbox pattern")?,
    };
    Ok(CommandBody::List {
        reference,
        pattern,
        lsub,
    })
}

fn parse_status(a: &mut Args) -> R<CommandBody> {
    let mailbox = mailbox(a.next("mailbox")?)?;
    let Arg::List(items) = a.next("status items")? else {
        return bad("Invalid status items: expected a list");
    };
    if items.is_empty() {
        return bad("Empty status item list");
    }
    let items = items
        .into_iter()
        .map(|i| match i {
            Arg::Atom(v) => match upper(&v).as_str() {
                "MESSAGES" => Ok(StatusItem::Messages),
                "RECENT" => Ok(StatusItem::Recent),
                "UIDNEXT" => Ok(StatusItem::UidNext),
                "UIDVALIDITY" => Ok(StatusItem::UidValidity),
                "UNSEEN" => Ok(StatusItem::Unseen),
                _ => bad(format!("Invalid status item: {}", show(&v))),
            },
            _ => bad("Invalid status item"),
        })
        .collect::<R<Vec<_>>>()?;
    Ok(CommandBody::Status { mailbox, items })
}

/// APPEND mailbox [flags] [date-time] literal. The message must be a literal
/// (or a literal8): RFC 3501 requires it and a quoted string cannot carry
/// CRLF line ends anyway.
fn parse_append(a: &mut Args) -> R<CommandBody> {
    let mailbox = mailbox(a.next("mailbox")?)?;
    let mut flags = Vec::new();
    if let Some(Arg::List(_)) = a.peek() {
        flags = flag_list(a.next("flags")?)?;
    }
    let mut date = None;
    if a.remaining() >= 2 {
        if let Some(Arg::Quoted(_)) = a.peek() {
            if let Arg::Quoted(q) = a.next("date-time")? {
                match parse_date_time(&q) {
                    Some(d) => date = Some(d),
                    None => return bad("Invalid date-time"),
                }
            }
        }
    }
    let message = match a.next("message")? {
        Arg::Literal { data, .. } => data,
        Arg::List(_) => return bad("Invalid message: expected a literal"),
        _ => return bad("Message must be sent as a literal"),
    };
    // Extension point: MULTIAPPEND (further messages follow here).
    Ok(CommandBody::Append {
        mailbox,
        flags,
        date,
        message,
    })
}

fn parse_copy(a: &mut Args, uid: bool) -> R<CommandBody> {
    let set = seq_set_arg(a.next("sequence set")?)?;
    let mailbox = mailbox(a.next("mailbox")?)?;
    Ok(CommandBody::Copy { uid, set, mailbox })
}

fn parse_store(a: &mut Args, uid: bool) -> R<CommandBody> {
    let set = seq_set_arg(a.next("sequence set")?)?;
    // Extension point: STORE modifiers such as (UNCHANGEDSINCE n).
    let item = match a.next("store item")? {
        Arg::Atom(v) => upper(&v),
        _ => return bad("Invalid store item"),
    };
    let (op, rest) = if let Some(r) = item.strip_prefix('+') {
        (StoreOp::Add, r)
    } else if let Some(r) = item.strip_prefix('-') {
        (StoreOp::Remove, r)
    } else {
        (StoreOp::Replace, item.as_str())
    };
    let (name, silent) = match rest.strip_suffix(".SILENT") {
        Some(n) => (n, true),
        None => (rest, false),
    };
    if name != "FLAGS" {
        return bad(format!("Invalid store item: {}", show(item.as_bytes())));
    }
    let flags = match a.peek() {
        Some(Arg::List(_)) => flag_list(a.next("flags")?)?,
        None => return bad("Missing argument: flags"),
        Some(_) => {
            let mut v = Vec::new();
            while let Some(f) = a.next_opt() {
                v.push(flag(f)?);
            }
            v
        }
    };
    Ok(CommandBody::Store {
        uid,
        set,
        op,
        silent,
        flags,
    })
}

fn parse_fetch(a: &mut Args, uid: bool) -> R<CommandBody> {
    let set = seq_set_arg(a.next("sequence set")?)?;
    let items = match a.next("fetch attributes")? {
        Arg::Atom(v) => match upper(&v).as_str() {
            "ALL" => vec![
                FetchAttr::Flags,
                FetchAttr::InternalDate,
                FetchAttr::Rfc822Size,
                FetchAttr::Envelope,
            ],
            "FAST" => vec![
                FetchAttr::Flags,
                FetchAttr::InternalDate,
                FetchAttr::Rfc822Size,
            ],
            "FULL" => vec![
                FetchAttr::Flags,
                FetchAttr::InternalDate,
                FetchAttr::Rfc822Size,
                FetchAttr::Envelope,
                FetchAttr::Body,
            ],
            _ => vec![fetch_att(&v)?],
        },
        Arg::List(items) => {
            if items.is_empty() {
                return bad("Empty fetch attribute list");
            }
            items
                .into_iter()
                .map(|i| match i {
                    Arg::Atom(v) => fetch_att(&v),
                    _ => bad("Invalid fetch attribute"),
                })
                .collect::<R<Vec<_>>>()?
        }
        _ => return bad("Invalid fetch attribute"),
    };
    // Extension point: FETCH modifiers such as (CHANGEDSINCE n).
    Ok(CommandBody::Fetch { uid, set, items })
}

fn fetch_att(v: &[u8]) -> R<FetchAttr> {
    let invalid = || bad(format!("Invalid fetch attribute: {}", show(v)));
    let Some(open) = memchr::memchr(b'[', v) else {
        return match upper(v).as_str() {
            "ENVELOPE" => Ok(FetchAttr::Envelope),
            "FLAGS" => Ok(FetchAttr::Flags),
            "INTERNALDATE" => Ok(FetchAttr::InternalDate),
            "RFC822" => Ok(FetchAttr::Rfc822),
            "RFC822.HEADER" => Ok(FetchAttr::Rfc822Header),
            "RFC822.SIZE" => Ok(FetchAttr::Rfc822Size),
            "RFC822.TEXT" => Ok(FetchAttr::Rfc822Text),
            "BODY" => Ok(FetchAttr::Body),
            "BODYSTRUCTURE" => Ok(FetchAttr::BodyStructure),
            "UID" => Ok(FetchAttr::Uid),
            _ => invalid(),
        };
    };
    let peek = match upper(v.get(..open).unwrap_or_default()).as_str() {
        "BODY" => false,
        "BODY.PEEK" => true,
        _ => return invalid(),
    };
    let rest = v.get(open + 1..).unwrap_or_default();
    let Some(close) = section_end(rest) else {
        return bad("Missing ']'");
    };
    let section = parse_section(rest.get(..close).unwrap_or_default())?;
    let after = rest.get(close + 1..).unwrap_or_default();
    let partial = if after.is_empty() {
        None
    } else {
        Some(parse_partial(after)?)
    };
    Ok(FetchAttr::BodySection {
        peek,
        section,
        partial,
    })
}

/// Index of the `]` closing a section, skipping quoted strings.
fn section_end(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        match b {
            b']' => return Some(i),
            b'"' => i = read_quoted(s, i + 1).ok()?.1,
            _ => i += 1,
        }
    }
    None
}

/// `<start.length>` with a nonzero length.
fn parse_partial(s: &[u8]) -> R<(u32, u32)> {
    let invalid = || bad(format!("Invalid partial: {}", show(s)));
    let Some(inner) = s.strip_prefix(b"<").and_then(|x| x.strip_suffix(b">")) else {
        return invalid();
    };
    let mut it = inner.splitn(2, |&b| b == b'.');
    let (Some(a), Some(b)) = (it.next(), it.next()) else {
        return invalid();
    };
    match (digits_u32(a), digits_u32(b)) {
        (Some(start), Some(len)) if len > 0 => Ok((start, len)),
        _ => invalid(),
    }
}

/// The inside of `BODY[...]`.
fn parse_section(s: &[u8]) -> R<Section> {
    let invalid = || bad(format!("Invalid section: {}", show(s)));
    let mut part = Vec::new();
    let mut rest = s;
    while rest.first().is_some_and(u8::is_ascii_digit) {
        let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        match digits_u32(rest.get(..n).unwrap_or_default()) {
            Some(p) if p > 0 => part.push(p),
            _ => return bad(format!("Invalid section part number: {}", show(s))),
        }
        rest = rest.get(n..).unwrap_or_default();
        if rest.is_empty() {
            return Ok(Section { part, text: None });
        }
        match rest.strip_prefix(b".") {
            Some(r) if !r.is_empty() => rest = r,
            _ => return invalid(),
        }
    }
    if rest.is_empty() {
        return Ok(Section { part, text: None });
    }
    let (kw, fields) = match memchr::memchr(b' ', rest) {
        Some(i) => (
            rest.get(..i).unwrap_or_default(),
            Some(rest.get(i + 1..).unwrap_or_default()),
        ),
        None => (rest, None),
    };
    let text = match (upper(kw).as_str(), fields) {
        ("HEADER", None) => SectionText::Header,
        ("TEXT", None) => SectionText::Text,
        ("MIME", None) if !part.is_empty() => SectionText::Mime,
        ("HEADER.FIELDS", Some(f)) => SectionText::HeaderFields(header_list(f)?),
        ("HEADER.FIELDS.NOT", Some(f)) => SectionText::HeaderFieldsNot(header_list(f)?),
        _ => return invalid(),
    };
    Ok(Section {
        part,
        text: Some(text),
    })
}

/// `(name name ...)`: header field names as atoms or quoted strings.
fn header_list(s: &[u8]) -> R<Vec<String>> {
    let Some(inner) = s.strip_prefix(b"(").and_then(|x| x.strip_suffix(b")")) else {
        return bad("Invalid header field list");
    };
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = inner.get(i) {
        match b {
            b' ' => i += 1,
            b'"' => {
                let Ok((v, next)) = read_quoted(inner, i + 1) else {
                    return bad("Invalid header field list");
                };
                out.push(utf8(v, "header field name")?);
                i = next;
            }
            _ => {
                let n = inner
                    .get(i..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|&&c| c != b' ')
                    .count();
                let name = inner.get(i..i + n).unwrap_or_default();
                if !name.iter().all(|&c| is_atom_char(c) || c == b']') {
                    return bad(format!("Invalid header field name: {}", show(name)));
                }
                out.push(utf8(name.to_vec(), "header field name")?);
                i += n;
            }
        }
    }
    if out.is_empty() {
        return bad("Empty header field list");
    }
    Ok(out)
}

// ---- SEARCH ------------------------------------------------------------------

/// How search strings are converted to UTF-8.
enum Charset {
    Utf8,
    Other(&'static encoding_rs::Encoding),
}

impl Charset {
    fn from_name(name: &str) -> R<Charset> {
        let up = name.to_ascii_uppercase();
        if up == "UTF-8" || up == "US-ASCII" || up == "UTF8" {
            return Ok(Charset::Utf8);
        }
        match encoding_rs::Encoding::for_label(name.as_bytes()) {
            Some(enc) if enc == encoding_rs::UTF_8 => Ok(Charset::Utf8),
            Some(enc) => Ok(Charset::Other(enc)),
            None => Err(E {
                message: format!("Unsupported charset {}", show(name.as_bytes())),
                code: Some("BADCHARSET (US-ASCII UTF-8)".into()),
                kind: ErrorKind::No,
            }),
        }
    }

    fn decode(&self, v: Vec<u8>) -> String {
        match self {
            Charset::Utf8 => match String::from_utf8(v) {
                Ok(s) => s,
                // Invalid UTF-8 is replaced rather than refused, like Dovecot.
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            },
            Charset::Other(enc) => enc.decode_without_bom_handling(&v).0.into_owned(),
        }
    }
}

fn parse_search(a: &mut Args, uid: bool) -> R<CommandBody> {
    // Extension point: ESEARCH `RETURN (MIN MAX COUNT ALL)` goes first.
    let mut charset = None;
    let mut cs = Charset::Utf8;
    if let Some(Arg::Atom(v)) = a.peek() {
        if v.eq_ignore_ascii_case(b"CHARSET") {
            a.next_opt();
            let name =
                String::from_utf8_lossy(&astring(a.next("charset")?, "charset")?).into_owned();
            cs = Charset::from_name(&name)?;
            charset = Some(name);
        }
    }
    if a.remaining() == 0 {
        return bad("Missing argument: search key");
    }
    let mut keys = Vec::new();
    while let Some(arg) = a.next_opt() {
        keys.push(search_key(&cs, arg, a, 0)?);
    }
    let key = if keys.len() == 1 {
        keys.pop().unwrap_or(SearchKey::All)
    } else {
        SearchKey::And(keys)
    };
    Ok(CommandBody::Search { uid, charset, key })
}

fn search_key(cs: &Charset, arg: Arg, a: &mut Args, depth: usize) -> R<SearchKey> {
    use SearchKey as K;
    if depth >= MAX_SEARCH_DEPTH {
        return bad("Too deep nesting");
    }
    let v = match arg {
        Arg::Atom(v) => v,
        Arg::List(items) => {
            let mut sub = Args::new(items);
            let mut keys = Vec::new();
            while let Some(x) = sub.next_opt() {
                keys.push(search_key(cs, x, &mut sub, depth + 1)?);
            }
            return match keys.len() {
                0 => bad("Empty search key list"),
                1 => Ok(keys.pop().unwrap_or(K::All)),
                _ => Ok(K::And(keys)),
            };
        }
        _ => return bad("Invalid search key"),
    };
    let up = upper(&v);
    // Only the recursive keys are handled here; the rest live in a separate
    // non-inlined function so each recursion level needs little stack.
    Ok(match up.as_str() {
        "NOT" => {
            let k = a.next("search key")?;
            K::Not(Box::new(search_key(cs, k, a, depth + 1)?))
        }
        "OR" => {
            let k1 = a.next("search key")?;
            let k1 = search_key(cs, k1, a, depth + 1)?;
            let k2 = a.next("search key")?;
            let k2 = search_key(cs, k2, a, depth + 1)?;
            K::Or(Box::new(k1), Box::new(k2))
        }
        _ => return simple_key(cs, &up, &v, a),
    })
}

#[inline(never)]
fn simple_key(cs: &Charset, up: &str, v: &[u8], a: &mut Args) -> R<SearchKey> {
    use SearchKey as K;
    let string = |a: &mut Args| -> R<String> {
        Ok(cs.decode(astring(a.next("search string")?, "search string")?))
    };
    let date = |a: &mut Args| -> R<NaiveDate> {
        match a.next("date")? {
            Arg::Atom(d) | Arg::Quoted(d) => match parse_date(&d) {
                Some(d) => Ok(d),
                None => bad(format!("Invalid date: {}", show(&d))),
            },
            _ => bad("Invalid date"),
        }
    };
    Ok(match up {
        "ALL" => K::All,
        "ANSWERED" => K::Answered,
        "DELETED" => K::Deleted,
        "DRAFT" => K::Draft,
        "FLAGGED" => K::Flagged,
        "NEW" => K::New,
        "OLD" => K::Old,
        "RECENT" => K::Recent,
        "SEEN" => K::Seen,
        "UNANSWERED" => K::Unanswered,
        "UNDELETED" => K::Undeleted,
        "UNDRAFT" => K::Undraft,
        "UNFLAGGED" => K::Unflagged,
        "UNSEEN" => K::Unseen,
        "BCC" => K::Bcc(string(a)?),
        "BODY" => K::Body(string(a)?),
        "CC" => K::Cc(string(a)?),
        "FROM" => K::From(string(a)?),
        "SUBJECT" => K::Subject(string(a)?),
        "TEXT" => K::Text(string(a)?),
        "TO" => K::To(string(a)?),
        "HEADER" => {
            let field = string(a)?;
            K::Header(field, string(a)?)
        }
        "BEFORE" => K::Before(date(a)?),
        "ON" => K::On(date(a)?),
        "SINCE" => K::Since(date(a)?),
        "SENTBEFORE" => K::SentBefore(date(a)?),
        "SENTON" => K::SentOn(date(a)?),
        "SENTSINCE" => K::SentSince(date(a)?),
        "KEYWORD" => K::Keyword(strict_atom(a.next("keyword")?, "keyword")?),
        "UNKEYWORD" => K::Unkeyword(strict_atom(a.next("keyword")?, "keyword")?),
        "LARGER" => K::Larger(number(a.next("size")?, "size")?),
        "SMALLER" => K::Smaller(number(a.next("size")?, "size")?),
        "UID" => K::Uid(seq_set_arg(a.next("UID set")?)?),
        _ if v.first().is_some_and(|&b| b.is_ascii_digit() || b == b'*') => {
            match parse_seq_set(v) {
                Some(s) => K::Seq(s),
                None => return bad(format!("Invalid sequence set: {}", show(v))),
            }
        }
        _ => return bad(format!("Unknown search key: {}", show(v))),
    })
}
