//! SEARCH evaluation: decides whether one message matches a [`SearchKey`].
//!
//! Keys are weighted as Binc did (flags and UIDs cost nothing, headers need a
//! header parse, TEXT/BODY need the whole message) and AND lists are evaluated
//! cheapest first, so expensive keys only run on messages the cheap ones let
//! through. [`needs`] tells the session how much of a message a key can
//! touch, so it can parse only the header when that is enough.
//!
//! Semantics follow Dovecot 2.3 (checked against it):
//! - strings match as case-insensitive substrings after `fold::fold`
//!   (titlecase-like mapping plus canonical decomposition; no accent
//!   stripping, no whitespace collapsing except on the Subject side of
//!   SUBJECT);
//! - FROM/TO/CC/BCC match the normalised address form of `address`;
//!   HEADER matches the decoded, unfolded field value as is, and an empty
//!   value matches any message that has the field (as does an empty string
//!   with FROM/SUBJECT/...);
//! - BEFORE/ON/SINCE use the calendar date of INTERNALDATE in the server's
//!   local timezone; SENTBEFORE/SENTON/SENTSINCE use the Date: field's own
//!   calendar date, and a message without a valid Date: counts as sent on
//!   1-Jan-1970 (Dovecot's date 0; it does *not* fall back to INTERNALDATE).
//!
//! Message data comes from [`Message`]: `date()` for SENT*, and `raw()`,
//! which `view` reads the way Dovecot's SEARCH does (its unfolding, every
//! part's header for TEXT, text/* *and* message/* bodies for BODY, its
//! base64/QP/Content-Type quirks); RFC 2047 and charset decoding are the
//! mime module's. `Message::header_values`/`body_text` are not used: they
//! differ from Dovecot's SEARCH view in these details.
//!
//! Dovecot's answers to the dovecot_diff.py battery on CPython's email
//! corpus, and to many probes, are kept as tests (src/search/tests.rs); the
//! `probe_harness` test prints our answers for any directory and query list
//! so they can be diffed against Dovecot by hand.
//!
//! Known differences: an RFC 2047 word in an unknown charset (we keep lossy
//! text, Dovecot matches nothing in it); NUL bytes in header fields (the
//! mime module shows them as 0x80, so we cannot end a value there as
//! Dovecot does).

mod address;
mod fold;
mod view;

use chrono::{NaiveDate, TimeZone};

use crate::imap::command::SearchKey;
use crate::mime::Message;
use crate::store::{Flags, MessageInfo, StoreError};

/// Numbers that `*` resolves against.
#[derive(Debug, Clone, Copy)]
pub struct SearchCtx {
    pub max_seq: u32,
    pub max_uid: u32,
}

/// One message being tested; message data is loaded lazily.
pub trait Candidate {
    fn seq(&self) -> u32;
    fn info(&self) -> &MessageInfo;
    fn recent(&self) -> bool;
    /// RFC822.SIZE (CRLF size).
    fn rfc822_size(&mut self) -> Result<u64, crate::store::StoreError>;
    /// The parsed message; loaded on first use.
    fn message(&mut self) -> Result<&Message, crate::store::StoreError>;
}

/// How much of a message a search key may need, cheapest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// Flags, UID, sequence number, INTERNALDATE: the index is enough.
    Nothing,
    /// RFC822.SIZE.
    Size,
    /// The top-level header (`Message::parse_header_only` suffices).
    Header,
    /// The whole message (BODY, TEXT).
    Full,
}

/// The most `key` can need of a message. OR/NOT count every branch, since
/// any of them may run.
pub fn needs(key: &SearchKey) -> Need {
    use SearchKey::*;
    match key {
        All | Answered | Deleted | Draft | Flagged | Seen | Unanswered | Undeleted | Undraft
        | Unflagged | Unseen | Recent | New | Old | Keyword(_) | Unkeyword(_) | Uid(_) | Seq(_)
        | Before(_) | On(_) | Since(_) => Need::Nothing,
        Larger(_) | Smaller(_) => Need::Size,
        Bcc(_)
        | Cc(_)
        | From(_)
        | To(_)
        | Subject(_)
        | Header(_, _)
        | SentBefore(_)
        | SentOn(_)
        | SentSince(_) => Need::Header,
        Body(_) | Text(_) => Need::Full,
        Not(k) => needs(k),
        Or(a, b) => needs(a).max(needs(b)),
        And(list) => list.iter().map(needs).max().unwrap_or(Need::Nothing),
    }
}

/// Binc's cost of evaluating `key` on one message.
pub fn weight(key: &SearchKey) -> u32 {
    use SearchKey::*;
    match key {
        All | Answered | Deleted | Draft | Flagged | Seen | Unanswered | Undeleted | Undraft
        | Unflagged | Unseen | Recent | New | Old | Uid(_) | Seq(_) | Before(_) | On(_)
        | Since(_) => 1,
        Bcc(_) | Cc(_) | From(_) | To(_) | Subject(_) | SentBefore(_) | SentOn(_)
        | SentSince(_) => 2,
        Header(_, _) | Keyword(_) | Unkeyword(_) => 3,
        Body(_) | Text(_) | Larger(_) | Smaller(_) => 4,
        Not(k) => weight(k).saturating_add(1),
        Or(a, b) => weight(a).saturating_add(weight(b)),
        And(list) => list
            .iter()
            .fold(0u32, |acc, k| acc.saturating_add(weight(k))),
    }
}

/// Reorders AND lists cheapest first (Binc's weights) and puts the cheaper
/// side of an OR first; nested ANDs are flattened. Call once per SEARCH.
pub fn optimize(key: SearchKey) -> SearchKey {
    match key {
        SearchKey::And(list) => {
            let mut flat = Vec::with_capacity(list.len());
            for k in list {
                match optimize(k) {
                    SearchKey::And(inner) => flat.extend(inner),
                    other => flat.push(other),
                }
            }
            if flat.len() == 1 {
                if let Some(only) = flat.pop() {
                    return only;
                }
            }
            // Stable, so equal weights keep the client's order.
            flat.sort_by_key(weight);
            SearchKey::And(flat)
        }
        SearchKey::Or(a, b) => {
            let (a, b) = (optimize(*a), optimize(*b));
            if weight(&b) < weight(&a) {
                SearchKey::Or(Box::new(b), Box::new(a))
            } else {
                SearchKey::Or(Box::new(a), Box::new(b))
            }
        }
        SearchKey::Not(k) => SearchKey::Not(Box::new(optimize(*k))),
        other => other,
    }
}

/// True if the candidate matches `key`.
pub fn matches(
    key: &SearchKey,
    c: &mut dyn Candidate,
    ctx: &SearchCtx,
) -> Result<bool, crate::store::StoreError> {
    use SearchKey::*;
    let flag = |c: &dyn Candidate, bit: u8| c.info().flags.has(bit);
    Ok(match key {
        All => true,
        Answered => flag(c, Flags::ANSWERED),
        Unanswered => !flag(c, Flags::ANSWERED),
        Deleted => flag(c, Flags::DELETED),
        Undeleted => !flag(c, Flags::DELETED),
        Draft => flag(c, Flags::DRAFT),
        Undraft => !flag(c, Flags::DRAFT),
        Flagged => flag(c, Flags::FLAGGED),
        Unflagged => !flag(c, Flags::FLAGGED),
        Seen => flag(c, Flags::SEEN),
        Unseen => !flag(c, Flags::SEEN),
        Recent => c.recent(),
        New => c.recent() && !flag(c, Flags::SEEN),
        Old => !c.recent(),
        Keyword(k) => c.info().flags.has_keyword(k),
        Unkeyword(k) => !c.info().flags.has_keyword(k),
        // With max 0 (empty mailbox) `*` is 0, which no message has.
        Uid(set) => set.contains(c.info().uid, ctx.max_uid),
        Seq(set) => set.contains(c.seq(), ctx.max_seq),
        Before(d) => internal_date(c.info()) < *d,
        On(d) => internal_date(c.info()) == *d,
        Since(d) => internal_date(c.info()) >= *d,
        Larger(n) => c.rfc822_size()? > *n,
        Smaller(n) => c.rfc822_size()? < *n,
        SentBefore(d) => sent_date(c.message()?) < *d,
        SentOn(d) => sent_date(c.message()?) == *d,
        SentSince(d) => sent_date(c.message()?) >= *d,
        From(s) => address_matches(c.message()?, "From", s),
        To(s) => address_matches(c.message()?, "To", s),
        Cc(s) => address_matches(c.message()?, "Cc", s),
        Bcc(s) => address_matches(c.message()?, "Bcc", s),
        Subject(s) => {
            let key = fold::fold(s);
            view::values(c.message()?.raw(), "Subject")
                .iter()
                .any(|v| fold::contains_folded(&fold::compress_lwsp(v), &key))
        }
        Header(name, s) => {
            let key = fold::fold(s);
            view::values(c.message()?.raw(), name)
                .iter()
                .any(|v| fold::contains_folded(v, &key))
        }
        Body(s) => {
            let key = fold::fold(s);
            key.is_empty()
                || fold::contains_folded(&view::search_text(c.message()?.raw()).body, &key)
        }
        Text(s) => {
            let key = fold::fold(s);
            if key.is_empty() {
                true
            } else {
                let t = view::search_text(c.message()?.raw());
                fold::contains_folded(&t.headers, &key) || fold::contains_folded(&t.body, &key)
            }
        }
        Not(k) => !matches(k, c, ctx)?,
        Or(a, b) => matches(a, c, ctx)? || matches(b, c, ctx)?,
        And(list) => {
            for k in list {
                if !matches(k, c, ctx)? {
                    return Ok(false);
                }
            }
            true
        }
    })
}

/// Evaluates `key` (call [`optimize`] first) over `candidates` and returns
/// the sequence numbers, or the UIDs when `uid`, of those that match, in
/// candidate order. A message that vanished from disk simply does not
/// match, as in Dovecot; any other error aborts the search.
pub fn search<'a, I>(
    key: &SearchKey,
    candidates: I,
    ctx: &SearchCtx,
    uid: bool,
) -> Result<Vec<u32>, StoreError>
where
    I: IntoIterator<Item = &'a mut dyn Candidate>,
{
    let mut out = Vec::new();
    for c in candidates {
        match matches(key, &mut *c, ctx) {
            Ok(true) => out.push(if uid { c.info().uid } else { c.seq() }),
            Ok(false) | Err(StoreError::MessageGone(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The calendar date of INTERNALDATE in the server's timezone.
fn internal_date(info: &MessageInfo) -> NaiveDate {
    chrono::Local
        .timestamp_opt(info.internal_date, 0)
        .earliest()
        .map(|t| t.date_naive())
        .unwrap_or(NaiveDate::MIN)
}

/// The Date: field's calendar date in its own timezone; 1-Jan-1970 when the
/// field is missing or unparsable (Dovecot's date 0). Dovecot keeps the
/// sent date as an unsigned 32-bit time, so a date before 1970 (or after
/// 2106) wraps around, and we do the same: `Date: 13 Feb 1969` matches
/// `SENTSINCE 2-Jul-2003` there.
fn sent_date(m: &Message) -> NaiveDate {
    let epoch = chrono::DateTime::UNIX_EPOCH.date_naive();
    let Some(d) = m.date() else {
        return epoch;
    };
    let t = d.timestamp();
    if (0..=i64::from(u32::MAX)).contains(&t) {
        return d.date_naive();
    }
    let wrapped = i64::from(t as u32) + i64::from(d.offset().local_minus_utc());
    chrono::DateTime::from_timestamp(wrapped, 0)
        .map(|x| x.date_naive())
        .unwrap_or(epoch)
}

/// FROM/TO/CC/BCC: the key against each field's normalised address form.
fn address_matches(m: &Message, field: &str, key: &str) -> bool {
    let fields = view::raw_values(m.raw(), field);
    if fields.is_empty() {
        return false;
    }
    let key = fold::fold(key);
    if key.is_empty() {
        return true;
    }
    fields.iter().any(|raw| {
        let text = String::from_utf8_lossy(raw);
        let normal = crate::mime::decode::decode_2047(address::normalize(&text).as_bytes());
        fold::contains_folded(&normal, &key)
    })
}

#[cfg(test)]
mod tests;
