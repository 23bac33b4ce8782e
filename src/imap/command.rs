//! The command AST: what a client asked for, after tokenizing and parsing.
//!
//! The parser (`imap::parser`) produces these; the command handlers in
//! `imap::cmd` consume them. Nothing here does I/O. The shapes leave room for
//! the extension syntax on the roadmap (SEARCH RETURN, LIST selection/return
//! options, SELECT parameters, literal8), so adding them later extends enums
//! rather than rewriting handlers.

use chrono::{DateTime, FixedOffset, NaiveDate};
use std::path::PathBuf;

/// One complete tagged command.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub tag: String,
    pub body: CommandBody,
}

/// A mailbox name exactly as the client sent it (modified UTF-7 on the wire,
/// but 8-bit names are passed through). `INBOX` case-folding is the store's job.
pub type MailboxName = String;

/// Data of a literal as the framer received it: small ones in memory, large
/// ones spooled to a temporary file so a 50 MB APPEND is never held in memory.
#[derive(Debug, Clone, PartialEq)]
pub enum LiteralData {
    Mem(Vec<u8>),
    /// A spooled literal. The file belongs to the command; whoever consumes it
    /// (APPEND) may rename it away, otherwise the session deletes it.
    File {
        path: PathBuf,
        len: u64,
    },
}

impl LiteralData {
    pub fn len(&self) -> u64 {
        match self {
            LiteralData::Mem(v) => v.len() as u64,
            LiteralData::File { len, .. } => *len,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CommandBody {
    // Any state
    Capability,
    Noop,
    Logout,
    // Not authenticated
    Login {
        user: Vec<u8>,
        pass: Vec<u8>,
    },
    /// AUTHENTICATE mechanism [initial-response]; the exchange itself is run
    /// by the session because it needs raw continuation lines.
    Authenticate {
        mechanism: String,
        initial: Option<Vec<u8>>,
    },
    StartTls,
    // Authenticated
    Select {
        mailbox: MailboxName,
        read_only: bool,
    },
    Create {
        mailbox: MailboxName,
    },
    Delete {
        mailbox: MailboxName,
    },
    Rename {
        from: MailboxName,
        to: MailboxName,
    },
    Subscribe {
        mailbox: MailboxName,
    },
    Unsubscribe {
        mailbox: MailboxName,
    },
    List {
        reference: MailboxName,
        pattern: MailboxName,
        lsub: bool,
    },
    Status {
        mailbox: MailboxName,
        items: Vec<StatusItem>,
    },
    Append {
        mailbox: MailboxName,
        flags: Vec<Flag>,
        date: Option<DateTime<FixedOffset>>,
        message: LiteralData,
    },
    // Selected
    Check,
    Close,
    Expunge,
    /// `UID EXPUNGE set` (UIDPLUS); parsed now so the handler slot exists.
    UidExpunge {
        set: SequenceSet,
    },
    Search {
        uid: bool,
        charset: Option<String>,
        key: SearchKey,
    },
    Fetch {
        uid: bool,
        set: SequenceSet,
        items: Vec<FetchAttr>,
    },
    Store {
        uid: bool,
        set: SequenceSet,
        op: StoreOp,
        silent: bool,
        flags: Vec<Flag>,
    },
    Copy {
        uid: bool,
        set: SequenceSet,
        mailbox: MailboxName,
    },
}

impl CommandBody {
    /// The command name as it appears in tagged responses ("FETCH completed").
    pub fn name(&self) -> &'static str {
        use CommandBody::*;
        match self {
            Capability => "CAPABILITY",
            Noop => "NOOP",
            Logout => "LOGOUT",
            Login { .. } => "LOGIN",
            Authenticate { .. } => "AUTHENTICATE",
            StartTls => "STARTTLS",
            Select {
                read_only: false, ..
            } => "SELECT",
            Select {
                read_only: true, ..
            } => "EXAMINE",
            Create { .. } => "CREATE",
            Delete { .. } => "DELETE",
            Rename { .. } => "RENAME",
            Subscribe { .. } => "SUBSCRIBE",
            Unsubscribe { .. } => "UNSUBSCRIBE",
            List { lsub: false, .. } => "LIST",
            List { lsub: true, .. } => "LSUB",
            Status { .. } => "STATUS",
            Append { .. } => "APPEND",
            Check => "CHECK",
            Close => "CLOSE",
            Expunge => "EXPUNGE",
            UidExpunge { .. } => "UID EXPUNGE",
            Search { uid: false, .. } => "SEARCH",
            Search { uid: true, .. } => "UID SEARCH",
            Fetch { uid: false, .. } => "FETCH",
            Fetch { uid: true, .. } => "UID FETCH",
            Store { uid: false, .. } => "STORE",
            Store { uid: true, .. } => "UID STORE",
            Copy { uid: false, .. } => "COPY",
            Copy { uid: true, .. } => "UID COPY",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusItem {
    Messages,
    Recent,
    UidNext,
    UidValidity,
    Unseen,
}

/// A flag as sent by a client. System flags keep their backslash; keywords
/// are atoms without one. `\Recent` is representable so STORE can reject it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    Seen,
    Answered,
    Flagged,
    Deleted,
    Draft,
    Recent,
    Keyword(String),
    /// Any other `\Something`, kept so handlers can reject it precisely.
    Extension(String),
}

impl Flag {
    /// The wire form, e.g. `\Seen` or `$Label1`.
    pub fn as_imap(&self) -> String {
        match self {
            Flag::Seen => "\\Seen".into(),
            Flag::Answered => "\\Answered".into(),
            Flag::Flagged => "\\Flagged".into(),
            Flag::Deleted => "\\Deleted".into(),
            Flag::Draft => "\\Draft".into(),
            Flag::Recent => "\\Recent".into(),
            Flag::Keyword(k) => k.clone(),
            Flag::Extension(e) => format!("\\{e}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    Replace,
    Add,
    Remove,
}

/// One end of a sequence range: a number or `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqNum {
    Value(u32),
    Star,
}

impl SeqNum {
    fn resolve(self, max: u32) -> u32 {
        match self {
            SeqNum::Value(v) => v,
            SeqNum::Star => max,
        }
    }
}

/// A sequence set such as `1:5,7,9:*`. Used for both sequence numbers and
/// UIDs; `*` means the largest number in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceSet(pub Vec<(SeqNum, SeqNum)>);

impl SequenceSet {
    /// True if `n` is in the set, with `*` standing for `max`. A range is
    /// inclusive and unordered (`5:2` is `2:5`), per RFC 3501 §9.
    pub fn contains(&self, n: u32, max: u32) -> bool {
        self.0.iter().any(|&(a, b)| {
            let (a, b) = (a.resolve(max), b.resolve(max));
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            lo <= n && n <= hi
        })
    }

    /// Ranges resolved against `max`, each as (lo, hi) with lo <= hi.
    pub fn ranges(&self, max: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.0.iter().map(move |&(a, b)| {
            let (a, b) = (a.resolve(max), b.resolve(max));
            if a <= b {
                (a, b)
            } else {
                (b, a)
            }
        })
    }
}

/// A FETCH data item (macros ALL/FAST/FULL are expanded by the parser).
#[derive(Debug, Clone, PartialEq)]
pub enum FetchAttr {
    Envelope,
    Flags,
    InternalDate,
    Rfc822,
    Rfc822Header,
    Rfc822Size,
    Rfc822Text,
    /// `BODY` without a section: the non-extensible BODYSTRUCTURE.
    Body,
    BodyStructure,
    Uid,
    /// `BODY[section]<partial>` or `BODY.PEEK[...]`.
    BodySection {
        peek: bool,
        section: Section,
        partial: Option<(u32, u32)>,
    },
}

/// A body section specifier: a part path (`1.2.3`, empty for the whole
/// message) and an optional text part.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    pub part: Vec<u32>,
    pub text: Option<SectionText>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText {
    Header,
    /// Field names as sent; matching is case-insensitive.
    HeaderFields(Vec<String>),
    HeaderFieldsNot(Vec<String>),
    Text,
    Mime,
}

impl Section {
    /// The wire form inside the brackets, as echoed in FETCH responses, e.g.
    /// `1.2.HEADER.FIELDS (FROM SUBJECT)`.
    pub fn to_imap(&self) -> String {
        let mut s: String = self
            .part
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(".");
        if let Some(t) = &self.text {
            if !s.is_empty() {
                s.push('.');
            }
            match t {
                SectionText::Header => s.push_str("HEADER"),
                SectionText::Text => s.push_str("TEXT"),
                SectionText::Mime => s.push_str("MIME"),
                SectionText::HeaderFields(f) | SectionText::HeaderFieldsNot(f) => {
                    s.push_str(if matches!(t, SectionText::HeaderFields(_)) {
                        "HEADER.FIELDS ("
                    } else {
                        "HEADER.FIELDS.NOT ("
                    });
                    s.push_str(
                        &f.iter()
                            .map(|x| x.to_ascii_uppercase())
                            .collect::<Vec<_>>()
                            .join(" "),
                    );
                    s.push(')');
                }
            }
        }
        s
    }
}

/// A SEARCH key (RFC 3501 §6.4.4). Strings are already converted to UTF-8
/// from the command's CHARSET. A top-level list of keys is `And`.
#[derive(Debug, Clone, PartialEq)]
pub enum SearchKey {
    All,
    Answered,
    Bcc(String),
    Before(NaiveDate),
    Body(String),
    Cc(String),
    Deleted,
    Draft,
    Flagged,
    From(String),
    Header(String, String),
    Keyword(String),
    Larger(u64),
    New,
    Not(Box<SearchKey>),
    Old,
    On(NaiveDate),
    Or(Box<SearchKey>, Box<SearchKey>),
    Recent,
    Seen,
    SentBefore(NaiveDate),
    SentOn(NaiveDate),
    SentSince(NaiveDate),
    Since(NaiveDate),
    Smaller(u64),
    Subject(String),
    Text(String),
    To(String),
    Uid(SequenceSet),
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unkeyword(String),
    Unseen,
    /// A bare sequence set: message sequence numbers.
    Seq(SequenceSet),
    And(Vec<SearchKey>),
}
