//! Address normalisation for SEARCH FROM/TO/CC/BCC.
//!
//! Dovecot does not match these keys against the field as written: it parses
//! the raw field into addresses and rewrites them in one canonical form, then
//! decodes encoded words and matches the key as a substring of that. Observed
//! against Dovecot 2.3, the form is
//!
//! ```text
//! "Doe, John" <john@x.org>, <bob@y.org>, Grp: <a@b.c>, Ann <d@e.f>;, List:;
//! ```
//!
//! - every address is `<mailbox@domain>` (route as `<@route:mailbox@domain>`),
//!   preceded by `name ` when there is a display name (or, failing that, a
//!   comment: `a@b (Barry)` becomes `Barry <a@b>`);
//! - a name is quoted (with `\"` and `\\` escaped) when it holds anything
//!   outside RFC 5322 atext (space included, 8-bit not), except that a name
//!   containing an encoded word (`=?`) is never quoted, so it still decodes;
//! - a missing local part or domain becomes `MISSING_MAILBOX` /
//!   `MISSING_DOMAIN`, a phrase with no address is `"name" <MISSING_MAILBOX@MISSING_DOMAIN>`,
//!   and an empty element between commas (`a@b, , c@d`) is a missing address;
//!   an unclosed `<a@b` has the domain `SYNTAX_ERROR`;
//! - groups are `Name: members;` (`Name:;` when empty).
//!
//! So `FROM "Barry A. Warsaw <barry"` does not match (the name is quoted),
//! and `TO "x@y.org, bob"` does not either (`<bob@y.org>`).

/// One parsed address-list element.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Mailbox {
        name: String,
        route: String,
        mailbox: String,
        domain: String,
    },
    GroupStart(String),
    GroupEnd,
}

const MISSING_MAILBOX: &str = "MISSING_MAILBOX";
const MISSING_DOMAIN: &str = "MISSING_DOMAIN";
const SYNTAX_ERROR: &str = "SYNTAX_ERROR";

/// Rewrites a raw address field (already unfolded) into Dovecot's
/// normalised form; encoded words are left for the caller to decode.
pub fn normalize(raw: &str) -> String {
    let items = Parser::new(raw.as_bytes()).list();
    write(&items)
}

fn write(items: &[Item]) -> String {
    let mut out = String::new();
    let mut first = true;
    let mut group_empty = false;
    for item in items {
        match item {
            Item::GroupStart(name) => {
                if !first {
                    out.push_str(", ");
                }
                push_phrase(&mut out, name);
                out.push(':');
                first = true;
                group_empty = true;
            }
            Item::GroupEnd => {
                out.push(';');
                first = false;
                group_empty = false;
            }
            Item::Mailbox {
                name,
                route,
                mailbox,
                domain,
            } => {
                if group_empty {
                    out.push(' ');
                    group_empty = false;
                } else if !first {
                    out.push_str(", ");
                }
                first = false;
                if !name.is_empty() {
                    push_phrase(&mut out, name);
                    out.push(' ');
                }
                out.push('<');
                if !route.is_empty() {
                    out.push_str(route);
                    out.push(':');
                }
                push_local(&mut out, mailbox);
                out.push('@');
                out.push_str(domain);
                out.push('>');
            }
        }
    }
    out
}

/// RFC 5322 atext; 8-bit counts as atext too (Dovecot writes `Zoë <z@x>`
/// and `<bar\x80ry@x>` unquoted).
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || !c.is_ascii() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

fn push_phrase(out: &mut String, name: &str) {
    if name.contains("=?") || (!name.is_empty() && name.chars().all(is_atext)) {
        out.push_str(name);
    } else {
        push_quoted(out, name);
    }
}

fn push_local(out: &mut String, local: &str) {
    if local
        .split('.')
        .all(|w| !w.is_empty() && w.chars().all(is_atext))
    {
        out.push_str(local);
    } else {
        push_quoted(out, local);
    }
}

/// A lenient RFC 5322 address-list parser (obsolete forms included).
struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    /// The last comment skipped, a display name of last resort.
    comment: Option<String>,
    /// A quoted string ran to the end of the field.
    unterminated: bool,
}

impl<'a> Parser<'a> {
    fn new(s: &'a [u8]) -> Self {
        Parser {
            s,
            pos: 0,
            comment: None,
            unterminated: false,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn text(&self, from: usize, to: usize) -> String {
        String::from_utf8_lossy(self.s.get(from..to).unwrap_or_default()).into_owned()
    }

    /// Skips whitespace and comments, remembering the last comment.
    fn cfws(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.pos += 1,
                Some(b'(') => {
                    let c = self.comment_text();
                    let c = c.trim().to_string();
                    if !c.is_empty() {
                        self.comment = Some(c);
                    }
                }
                _ => return,
            }
        }
    }

    /// Reads a (nested) comment starting at `(`; returns its inside.
    fn comment_text(&mut self) -> String {
        let mut depth = 0usize;
        let mut out: Vec<u8> = Vec::new();
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'(' => {
                    if depth > 0 {
                        out.push(b);
                    }
                    depth += 1;
                }
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                    out.push(b);
                }
                b'\\' => {
                    if let Some(n) = self.peek() {
                        out.push(n);
                        self.pos += 1;
                    }
                }
                _ => out.push(b),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Reads a quoted string starting at `"`; returns its unescaped inside.
    fn quoted(&mut self) -> String {
        self.pos += 1;
        let mut out: Vec<u8> = Vec::new();
        let mut closed = false;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'"' => {
                    closed = true;
                    break;
                }
                b'\\' => {
                    if let Some(n) = self.peek() {
                        out.push(n);
                        self.pos += 1;
                    }
                }
                b'\r' | b'\n' => {}
                _ => out.push(b),
            }
        }
        if !closed {
            self.unterminated = true;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn is_special(b: u8) -> bool {
        matches!(
            b,
            b'(' | b')'
                | b'<'
                | b'>'
                | b'['
                | b']'
                | b':'
                | b';'
                | b'@'
                | b'\\'
                | b','
                | b'.'
                | b'"'
                | b' '
                | b'\t'
                | b'\r'
                | b'\n'
        )
    }

    /// Reads an atom (8-bit bytes allowed) at the current position.
    fn atom(&mut self) -> Option<String> {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if Self::is_special(b) {
                break;
            }
            self.pos += 1;
        }
        (self.pos > start).then(|| self.text(start, self.pos))
    }

    /// A word: atom or quoted string.
    fn word(&mut self) -> Option<String> {
        match self.peek() {
            Some(b'"') => Some(self.quoted()),
            _ => self.atom(),
        }
    }

    /// obs-phrase: words (and dots) joined by single spaces.
    fn phrase(&mut self) -> String {
        let mut out = String::new();
        loop {
            self.cfws();
            match self.peek() {
                Some(b'.') => {
                    self.pos += 1;
                    out.push('.');
                }
                Some(b'"') | Some(_) => {
                    let before = self.pos;
                    match self.word() {
                        Some(w) => {
                            if !out.is_empty() {
                                out.push(' ');
                            }
                            out.push_str(&w);
                        }
                        None => {
                            self.pos = before;
                            return out;
                        }
                    }
                }
                None => return out,
            }
        }
    }

    /// Local part: words joined by dots. As in Dovecot, a dot must follow
    /// its word directly (`john . doe` is not a local part).
    fn local_part(&mut self) -> String {
        let mut out = String::new();
        self.cfws();
        while let Some(w) = self.word() {
            out.push_str(&w);
            if self.peek() != Some(b'.') {
                break;
            }
            self.pos += 1;
            out.push('.');
            self.cfws();
        }
        out
    }

    /// Domain: dotted atoms (dots directly after their atom) or a literal.
    fn domain(&mut self) -> String {
        self.cfws();
        if self.peek() == Some(b'[') {
            let start = self.pos;
            while let Some(b) = self.peek() {
                self.pos += 1;
                if b == b']' {
                    break;
                }
            }
            return self.text(start, self.pos);
        }
        let mut out = String::new();
        while let Some(a) = self.atom() {
            out.push_str(&a);
            if self.peek() != Some(b'.') {
                return out;
            }
            self.pos += 1;
            out.push('.');
            self.cfws();
        }
        // Empty, or a dot with nothing after it (`a@b.`): Dovecot reports
        // the domain as missing.
        String::new()
    }

    fn at_separator(&mut self) -> bool {
        self.cfws();
        matches!(self.peek(), None | Some(b',' | b';'))
    }

    /// `<[@route,@route:]addr-spec>` with the `<` current.
    fn angle_addr(&mut self, name: String) -> Item {
        self.pos += 1;
        self.cfws();
        let mut route = String::new();
        if self.peek() == Some(b'@') {
            let start = self.pos;
            while let Some(b) = self.peek() {
                if b == b':' || b == b'>' {
                    break;
                }
                self.pos += 1;
            }
            route = self.text(start, self.pos).replace([' ', '\t'], "");
            if self.peek() == Some(b':') {
                self.pos += 1;
            }
        }
        self.cfws();
        if self.peek() == Some(b'>') {
            self.pos += 1;
            return mailbox_item(name, route, String::new(), String::new());
        }
        let local = self.local_part();
        self.cfws();
        if self.peek() != Some(b'@') {
            // Dovecot: `<a . b @ c>` is MISSING_MAILBOX@SYNTAX_ERROR.
            while let Some(b) = self.peek() {
                self.pos += 1;
                if b == b'>' {
                    break;
                }
            }
            return mailbox_item(name, route, String::new(), SYNTAX_ERROR.into());
        }
        self.pos += 1;
        let mut domain = self.domain();
        self.cfws();
        if self.peek() == Some(b'>') {
            self.pos += 1;
        } else {
            // Dovecot marks an unclosed angle address this way.
            domain = SYNTAX_ERROR.into();
        }
        mailbox_item(name, route, local, domain)
    }

    /// One mailbox; the flag is false when junk follows it, which ends the
    /// list (Dovecot keeps what it parsed and drops the rest:
    /// `a@b@c, d@e` is just `<a@b>`).
    fn mailbox(&mut self) -> (Item, bool) {
        let (item, ok) = self.mailbox_inner();
        if self.unterminated {
            // Dovecot: `"Joe` is one missing address and the end.
            return (
                mailbox_item(String::new(), String::new(), String::new(), String::new()),
                false,
            );
        }
        (item, ok)
    }

    fn mailbox_inner(&mut self) -> (Item, bool) {
        self.comment = None;
        let start = self.pos;
        let local = self.local_part();
        self.cfws();
        if self.peek() == Some(b'@') {
            self.pos += 1;
            let domain = self.domain();
            let ok = self.at_separator();
            let name = self.comment.take().unwrap_or_default();
            return (mailbox_item(name, String::new(), local, domain), ok);
        }
        if !local.is_empty() && matches!(self.peek(), None | Some(b',' | b';')) {
            let name = self.comment.take().unwrap_or_default();
            return (
                mailbox_item(name, String::new(), local, String::new()),
                true,
            );
        }
        // Not an addr-spec: a name-addr, or a bare phrase.
        self.pos = start;
        self.comment = None;
        let phrase = self.phrase();
        self.cfws();
        let item = if self.peek() == Some(b'<') {
            self.angle_addr(phrase)
        } else {
            mailbox_item(phrase, String::new(), String::new(), String::new())
        };
        let ok = self.at_separator();
        (item, ok)
    }

    /// The phrase and colon of a group at the current position, if any.
    fn at_group(&mut self) -> Option<String> {
        let start = self.pos;
        let phrase = self.phrase();
        self.cfws();
        if self.peek() == Some(b':') {
            self.pos += 1;
            return Some(phrase);
        }
        self.pos = start;
        None
    }

    fn list(&mut self) -> Vec<Item> {
        let mut items = Vec::new();
        // Whether an element is expected (after a comma, or at the start).
        let mut expect = true;
        loop {
            self.cfws();
            let Some(b) = self.peek() else { break };
            let before = self.pos;
            if b == b',' {
                self.pos += 1;
                // `a, , b` and `, a`: an empty element is a missing address
                // (a trailing comma adds nothing).
                if expect {
                    items.push(mailbox_item(
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                    ));
                }
                expect = true;
                continue;
            }
            expect = false;
            let ok = if let Some(name) = self.at_group() {
                items.push(Item::GroupStart(name));
                let ok = self.group_members(&mut items);
                items.push(Item::GroupEnd);
                ok
            } else {
                let (item, ok) = self.mailbox();
                items.push(item);
                if ok && self.peek() == Some(b';') {
                    self.pos += 1;
                }
                ok
            };
            if !ok || self.pos == before {
                break;
            }
        }
        items
    }

    /// Members up to `;`; false when junk ended the whole list.
    fn group_members(&mut self, items: &mut Vec<Item>) -> bool {
        loop {
            self.cfws();
            match self.peek() {
                None => return true,
                Some(b';') => {
                    self.pos += 1;
                    return true;
                }
                Some(b',') => self.pos += 1,
                Some(_) => {
                    let before = self.pos;
                    let (item, ok) = self.mailbox();
                    items.push(item);
                    if !ok || self.pos == before {
                        return false;
                    }
                }
            }
        }
    }
}

/// A mailbox item, with Dovecot's placeholders for missing parts.
fn mailbox_item(name: String, route: String, mailbox: String, domain: String) -> Item {
    Item::Mailbox {
        name,
        route,
        mailbox: if mailbox.is_empty() {
            MISSING_MAILBOX.into()
        } else {
            mailbox
        },
        domain: if domain.is_empty() {
            MISSING_DOMAIN.into()
        } else {
            domain
        },
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn plain_and_named() {
        assert_eq!(normalize(" a@b.org"), "<a@b.org>");
        assert_eq!(normalize("Ann <ann@example.com>"), "Ann <ann@example.com>");
        assert_eq!(
            normalize("John Smith <js@x.org>"),
            "\"John Smith\" <js@x.org>"
        );
        assert_eq!(
            normalize("\"Doe, John\" <john@x.org>, bob@y.org"),
            "\"Doe, John\" <john@x.org>, <bob@y.org>"
        );
        assert_eq!(
            normalize("\"Q\\\"uoted\" <q@x.org>"),
            "\"Q\\\"uoted\" <q@x.org>"
        );
        assert_eq!(
            normalize("Zoë Müller <zm@x.org>"),
            "\"Zoë Müller\" <zm@x.org>"
        );
    }

    #[test]
    fn comment_becomes_name() {
        assert_eq!(
            normalize("barry@python.org (Barry A. Warsaw)"),
            "\"Barry A. Warsaw\" <barry@python.org>"
        );
        assert_eq!(normalize("Name (cmt) <a@b.c> (trailing)"), "Name <a@b.c>");
    }

    #[test]
    fn encoded_names_stay_unquoted() {
        assert_eq!(
            normalize("=?ISO-8859-1?Q?Zo=EB?= Smith <zoe@example.com>"),
            "=?ISO-8859-1?Q?Zo=EB?= Smith <zoe@example.com>"
        );
        assert_eq!(
            normalize("\"=?UTF-8?Q?Zo=C3=AB?=\" <q@q.org>"),
            "=?UTF-8?Q?Zo=C3=AB?= <q@q.org>"
        );
    }

    #[test]
    fn groups() {
        assert_eq!(normalize("Undisclosed:;"), "Undisclosed:;");
        assert_eq!(
            normalize("Grp: x@y.org, \"Doe, J\" <z@w.org>;, last@l.org"),
            "Grp: <x@y.org>, \"Doe, J\" <z@w.org>;, <last@l.org>"
        );
    }

    #[test]
    fn broken_addresses() {
        assert_eq!(
            normalize("<@route:r@r.org>, broken@, ,@nolocal.org, just text"),
            "<@route:r@r.org>, <broken@MISSING_DOMAIN>, <MISSING_MAILBOX@MISSING_DOMAIN>, \
             <MISSING_MAILBOX@nolocal.org>, \"just text\" <MISSING_MAILBOX@MISSING_DOMAIN>"
        );
        assert_eq!(normalize("single"), "<single@MISSING_DOMAIN>");
        assert_eq!(
            normalize("a@b, , c@d,"),
            "<a@b>, <MISSING_MAILBOX@MISSING_DOMAIN>, <c@d>"
        );
        assert_eq!(normalize("<>"), "<MISSING_MAILBOX@MISSING_DOMAIN>");
        assert_eq!(normalize("Foo Bar <a@b.c"), "\"Foo Bar\" <a@SYNTAX_ERROR>");
        // Junk after an address ends the list; strict dots (Dovecot).
        assert_eq!(normalize("a@b.c continued weirdly"), "<a@b.c>");
        assert_eq!(
            normalize("a@[127.0.0.1], a@b@c, @route-only, \"unbalanced <x@y>"),
            "<a@[127.0.0.1]>, <a@b>"
        );
        assert_eq!(
            normalize("Name <a . b @ c . d>"),
            "Name <MISSING_MAILBOX@SYNTAX_ERROR>"
        );
        assert_eq!(
            normalize("a@b.c (c1) (c2), <a@b> trailing junk, x@y;"),
            "c2 <a@b.c>, <a@b>"
        );
        assert_eq!(
            normalize("john . doe @ x . org (comment here) (second)"),
            "\"john. doe\" <MISSING_MAILBOX@MISSING_DOMAIN>"
        );
        assert_eq!(normalize("group:;, other:a@b"), "group:;, other: <a@b>;");
        assert_eq!(
            normalize("a@b, ,"),
            "<a@b>, <MISSING_MAILBOX@MISSING_DOMAIN>"
        );
        assert_eq!(normalize("\"\" <e@f.g>"), "<e@f.g>");
        assert_eq!(normalize(""), "");
        // Unbalanced syntax must not hang or panic.
        for s in [
            "\"", "(", "<", "a@", "@", ":", ";", ",,", "a <b@c", "g: a@b", "((x)",
        ] {
            let _ = normalize(s);
        }
    }
}
