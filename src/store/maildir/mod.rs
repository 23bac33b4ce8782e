//! Maildir++ depot (stub; being written).

use std::path::{Path, PathBuf};

pub struct MaildirStore {
    pub root: PathBuf,
}

impl MaildirStore {
    /// Opens the depot rooted at the INBOX Maildir `root`, creating INBOX
    /// (cur/new/tmp) when `create_inbox` and it is missing.
    pub fn open(root: &Path, create_inbox: bool) -> super::Result<MaildirStore> {
        let _ = create_inbox;
        Ok(MaildirStore {
            root: root.to_path_buf(),
        })
    }
}
