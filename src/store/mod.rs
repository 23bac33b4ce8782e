//! Mail storage behind a small interface.
//!
//! Commands reach mail only through the two traits here: [`Store`] (a user's
//! depot: the set of mailboxes, subscriptions, APPEND, COPY, STATUS) and
//! [`Mailbox`] (one opened mailbox: its message list, flags, bodies, expunge).
//! The only implementation today is Maildir++ in [`maildir`]; IMAPdir fits
//! behind the same traits later.
//!
//! The store reports *current disk state*. Turning that into IMAP sequence
//! numbers and deciding when a client may be told about expunges is the
//! session's job, not the store's.

pub mod maildir;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::imap::command::{Flag, StoreOp};

pub type Uid = u32;

/// System flags as a bit set plus keywords. Keywords keep the case the client
/// first used; comparison is case-insensitive (RFC 3501 §2.3.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    pub system: u8,
    pub keywords: Vec<String>,
}

impl Flags {
    pub const SEEN: u8 = 1;
    pub const ANSWERED: u8 = 2;
    pub const FLAGGED: u8 = 4;
    pub const DELETED: u8 = 8;
    pub const DRAFT: u8 = 16;

    pub fn has(&self, bit: u8) -> bool {
        self.system & bit != 0
    }

    pub fn has_keyword(&self, k: &str) -> bool {
        self.keywords.iter().any(|x| x.eq_ignore_ascii_case(k))
    }

    /// Builds flags from client flags; `\Recent` and unknown `\X` are dropped
    /// (the handler rejects them before this where the RFC requires).
    pub fn from_client(list: &[Flag]) -> Flags {
        let mut f = Flags::default();
        for fl in list {
            match fl {
                Flag::Seen => f.system |= Self::SEEN,
                Flag::Answered => f.system |= Self::ANSWERED,
                Flag::Flagged => f.system |= Self::FLAGGED,
                Flag::Deleted => f.system |= Self::DELETED,
                Flag::Draft => f.system |= Self::DRAFT,
                Flag::Keyword(k) => {
                    if !f.has_keyword(k) {
                        f.keywords.push(k.clone())
                    }
                }
                Flag::Recent | Flag::Extension(_) => {}
            }
        }
        f
    }

    /// Applies a STORE operation; returns the new flags.
    pub fn apply(&self, op: StoreOp, other: &Flags) -> Flags {
        match op {
            StoreOp::Replace => other.clone(),
            StoreOp::Add => {
                let mut f = self.clone();
                f.system |= other.system;
                for k in &other.keywords {
                    if !f.has_keyword(k) {
                        f.keywords.push(k.clone());
                    }
                }
                f
            }
            StoreOp::Remove => {
                let mut f = self.clone();
                f.system &= !other.system;
                f.keywords.retain(|k| !other.has_keyword(k));
                f
            }
        }
    }

    /// The parenthesised IMAP list, e.g. `(\Seen \Recent $Label1)`.
    pub fn to_imap(&self, recent: bool) -> String {
        let mut parts: Vec<&str> = Vec::new();
        for (bit, name) in [
            (Self::ANSWERED, "\\Answered"),
            (Self::FLAGGED, "\\Flagged"),
            (Self::DELETED, "\\Deleted"),
            (Self::SEEN, "\\Seen"),
            (Self::DRAFT, "\\Draft"),
        ] {
            if self.has(bit) {
                parts.push(name);
            }
        }
        if recent {
            parts.push("\\Recent");
        }
        for k in &self.keywords {
            parts.push(k);
        }
        format!("({})", parts.join(" "))
    }
}

/// What the store knows about one message without opening it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    pub uid: Uid,
    pub flags: Flags,
    /// INTERNALDATE as Unix seconds (the file's mtime, as Binc and Dovecot use).
    pub internal_date: i64,
    /// Bytes on disk (LF line ends as stored), if known without a stat.
    pub size: Option<u64>,
    /// CONDSTORE mod-sequence of the last change; 0 until CONDSTORE lands.
    pub modseq: u64,
}

/// Counts for STATUS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusInfo {
    pub messages: u32,
    pub recent: u32,
    pub uid_next: Uid,
    pub uid_validity: u32,
    pub unseen: u32,
}

/// One mailbox in the depot, for LIST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxEntry {
    /// The IMAP name, e.g. `INBOX/Sent`.
    pub name: String,
    /// Some(true) when `new/` holds mail (\Marked), Some(false) when empty.
    pub marked: Option<bool>,
}

/// Where an APPENDed message comes from.
#[derive(Debug, Clone, Copy)]
pub enum MessageSource<'a> {
    Bytes(&'a [u8]),
    /// A spooled file; the store may rename it away (it is the command's).
    File(&'a Path),
}

#[derive(Debug)]
pub enum StoreError {
    /// No such mailbox (`NO [NONEXISTENT]`).
    NotFound(String),
    /// CREATE/RENAME target exists (`NO [ALREADYEXISTS]`).
    AlreadyExists(String),
    /// The name cannot be a mailbox here (`NO [CANNOT]`); text says why.
    InvalidName(String),
    /// The operation is not allowed on this mailbox (`NO [CANNOT]`),
    /// e.g. DELETE INBOX or DELETE of a \Noselect parent without children.
    Cannot(String),
    /// A message the session still lists is gone from disk
    /// (`NO [EXPUNGEISSUED]`).
    MessageGone(Uid),
    /// A write on a mailbox opened with EXAMINE.
    ReadOnly,
    /// The state file or a lock could not be taken in time.
    Locked(String),
    /// Any I/O failure, with what we were doing.
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl StoreError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> StoreError {
        StoreError::Io {
            context: context.into(),
            source,
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotFound(n) => write!(f, "Mailbox doesn't exist: {n}"),
            StoreError::AlreadyExists(n) => write!(f, "Mailbox already exists: {n}"),
            StoreError::InvalidName(why) => write!(f, "Invalid mailbox name: {why}"),
            StoreError::Cannot(why) => write!(f, "{why}"),
            StoreError::MessageGone(uid) => write!(f, "Message UID {uid} has been expunged"),
            StoreError::ReadOnly => write!(f, "Mailbox is read-only"),
            StoreError::Locked(what) => write!(f, "Timed out waiting for lock: {what}"),
            StoreError::Io { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for StoreError {}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A user's depot: every mailbox of one user.
pub trait Store: Send {
    /// The hierarchy delimiter, `/`.
    fn delimiter(&self) -> char {
        '/'
    }
    /// Opens a mailbox for SELECT (`read_only` false) or EXAMINE. Opening
    /// performs the first sync.
    fn open(&self, name: &str, read_only: bool) -> Result<Box<dyn Mailbox>>;
    fn create(&self, name: &str) -> Result<()>;
    /// Deletes a mailbox. With children it keeps the directory as a
    /// \Noselect parent per RFC 3501 §6.3.4; without, it removes it.
    fn delete(&self, name: &str) -> Result<()>;
    /// Renames a mailbox and its children. Renaming INBOX moves its messages
    /// into a new mailbox and leaves INBOX empty.
    fn rename(&self, from: &str, to: &str) -> Result<()>;
    /// Every mailbox that exists on disk (selectable or \Noselect parents
    /// that exist as directories), unsorted; LIST does pattern matching.
    fn list(&self) -> Result<Vec<MailboxEntry>>;
    /// True when the name is a selectable mailbox.
    fn exists(&self, name: &str) -> Result<bool>;
    fn subscribe(&self, name: &str) -> Result<()>;
    fn unsubscribe(&self, name: &str) -> Result<()>;
    fn subscriptions(&self) -> Result<Vec<String>>;
    /// STATUS; two stat() calls and no readdir when nothing changed since
    /// this process last looked.
    fn status(&self, name: &str) -> Result<StatusInfo>;
    /// Delivers a message; returns (UIDVALIDITY, UID). `internal_date` is
    /// Unix seconds; None means now.
    fn append(
        &self,
        name: &str,
        source: MessageSource<'_>,
        flags: &Flags,
        internal_date: Option<i64>,
    ) -> Result<(u32, Uid)>;
    /// A directory on the same filesystem as the mail where the session may
    /// spool large literals so APPEND can rename rather than copy.
    fn spool_dir(&self) -> PathBuf;
}

/// One opened mailbox. All lists are in ascending UID order.
pub trait Mailbox: Send {
    fn name(&self) -> &str;
    fn read_only(&self) -> bool;
    fn uid_validity(&self) -> u32;
    fn uid_next(&self) -> Uid;
    /// Rechecks the disk: new deliveries get UIDs (under the state lock),
    /// flag changes and expunges by others become visible. Costs two stat()
    /// calls and nothing else when neither `new/` nor `cur/` changed.
    /// Returns true if anything changed.
    fn sync(&mut self) -> Result<bool>;
    /// The messages as of the last sync (or of our own writes since).
    fn messages(&self) -> &[MessageInfo];
    /// \Recent for this session: exactly one session sees each message as
    /// recent (the first read-write session to sync after its delivery).
    fn is_recent(&self, uid: Uid) -> bool;
    /// Keywords defined in this mailbox, for the FLAGS response.
    fn keywords(&self) -> Vec<String>;
    /// Opens the message file (following renames done by flag changes).
    fn open_message(&mut self, uid: Uid) -> Result<std::fs::File>;
    /// RFC822.SIZE: the size with CRLF line ends; cached after first use.
    fn rfc822_size(&mut self, uid: Uid) -> Result<u64>;
    /// Changes flags; returns the UIDs whose flags changed with new flags.
    /// Other sessions' changes are re-read first so none is clobbered.
    fn store_flags(
        &mut self,
        uids: &[Uid],
        op: StoreOp,
        flags: &Flags,
    ) -> Result<Vec<(Uid, Flags)>>;
    /// Removes messages flagged \Deleted (only those in `only` if given);
    /// returns the expunged UIDs. Records them in the expunge history.
    fn expunge(&mut self, only: Option<&[Uid]>) -> Result<Vec<Uid>>;
    /// Copies messages to another mailbox of the same store (hard links
    /// where possible); returns (source UID, new UID) pairs and the
    /// destination's UIDVALIDITY.
    fn copy_to(&mut self, uids: &[Uid], dest: &str) -> Result<(u32, Vec<(Uid, Uid)>)>;
}
