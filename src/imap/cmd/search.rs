//! SEARCH and UID SEARCH (RFC 3501 §6.4.4). Evaluation lives in
//! [`crate::search`]; this module walks the view and feeds it candidates
//! whose message data is loaded only if a key needs it.

use std::sync::Arc;

use crate::imap::command::SearchKey;
use crate::imap::session::{store_error, Session, Tagged};
use crate::imap::view::Selected;
use crate::mime::Message;
use crate::search::{self, Candidate, SearchCtx};
use crate::store::{MessageInfo, StoreError};

struct Cand<'a> {
    sel: &'a mut Selected,
    seq: u32,
    info: MessageInfo,
    recent: bool,
    full: bool,
    msg: Option<Arc<Message>>,
}

impl Candidate for Cand<'_> {
    fn seq(&self) -> u32 {
        self.seq
    }
    fn info(&self) -> &MessageInfo {
        &self.info
    }
    fn recent(&self) -> bool {
        self.recent
    }
    fn rfc822_size(&mut self) -> Result<u64, StoreError> {
        self.sel.mailbox.rfc822_size(self.info.uid)
    }
    fn message(&mut self) -> Result<&Message, StoreError> {
        let m = match self.msg.take() {
            Some(m) => m,
            None => self.sel.message(self.info.uid, self.full)?,
        };
        Ok(self.msg.insert(m))
    }
}

pub fn search(s: &mut Session, uid: bool, _charset: Option<String>, key: SearchKey) -> Tagged {
    let Some(sel) = s.selected.as_mut() else {
        return Tagged::bad("No mailbox selected");
    };
    let key = search::optimize(key);
    let full = search::needs(&key) == search::Need::Full;
    let ctx = SearchCtx {
        max_seq: sel.view.len() as u32,
        max_uid: sel.max_uid(),
    };
    let mut hits: Vec<u32> = Vec::new();
    for i in 0..sel.view.len() {
        let Some(e) = sel.view.get(i) else { break };
        let (u, recent) = (e.uid, e.recent);
        // Messages expunged by others but not yet announced never match.
        let Some(info) = sel.info(u).cloned() else {
            continue;
        };
        let mut c = Cand {
            sel,
            seq: i as u32 + 1,
            info,
            recent,
            full,
            msg: None,
        };
        match search::matches(&key, &mut c, &ctx) {
            Ok(true) => hits.push(if uid { u } else { i as u32 + 1 }),
            Ok(false) | Err(StoreError::MessageGone(_)) => {}
            Err(e) => return store_error(&e, "NONEXISTENT"),
        }
    }
    let mut line = String::from("SEARCH");
    for h in hits {
        line.push(' ');
        line.push_str(&h.to_string());
    }
    s.untagged(&line);
    Tagged::ok("")
}
