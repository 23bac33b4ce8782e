//! RFC 822/2822/2045 lexical parsing the way Dovecot's lib-mail does it
//! (rfc822-parser.c, rfc2231-parser.c, message-address.c): comments, atoms,
//! quoted strings, MIME tokens, Content-Type parameters with RFC 2231
//! continuations, and address lists for ENVELOPE. Every function works on a
//! cursor over a byte slice and never indexes past its end.

/// A cursor over a header value; `last_comment` keeps the text of the last
/// comment skipped (Dovecot uses it as the display name of `a@b (Name)`).
pub(crate) struct Parser<'a> {
    d: &'a [u8],
    pub(crate) pos: usize,
    pub(crate) last_comment: Option<Vec<u8>>,
}

/// atext per Dovecot's rfc822_atext_chars: 1 = atext, 2 = alnum, 4 = atext
/// that is a MIME tspecial ('/', '=', '?'). 8-bit bytes count as atext.
fn atext_class(c: u8) -> u8 {
    match c {
        b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' => 2,
        b'/' | b'=' | b'?' => 4,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'^' | b'_' | b'`'
        | b'{' | b'|' | b'}' | b'~' => 1,
        0x80..=0xff => 1,
        _ => 0,
    }
}

pub(crate) fn is_atext(c: u8) -> bool {
    atext_class(c) != 0
}

fn is_token_char(c: u8) -> bool {
    (atext_class(c) & 3) != 0 || c == b'.'
}

impl<'a> Parser<'a> {
    pub(crate) fn new(d: &'a [u8]) -> Self {
        Parser {
            d,
            pos: 0,
            last_comment: None,
        }
    }

    pub(crate) fn with_comments(d: &'a [u8]) -> Self {
        Parser {
            d,
            pos: 0,
            last_comment: Some(Vec::new()),
        }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.d.get(self.pos).copied()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.d.len()
    }

    /// 1 = more data, 0 = end, -1 = broken.
    fn more(&self) -> i32 {
        if self.at_end() {
            0
        } else {
            1
        }
    }

    fn skip_comment(&mut self) -> i32 {
        // at '('
        if let Some(c) = self.last_comment.as_mut() {
            c.clear();
        }
        self.pos += 1;
        let mut start = self.pos;
        let mut level = 1;
        while let Some(c) = self.peek() {
            match c {
                b'(' => level += 1,
                b')' => {
                    level -= 1;
                    if level == 0 {
                        if let Some(lc) = self.last_comment.as_mut() {
                            lc.extend_from_slice(self.d.get(start..self.pos).unwrap_or(&[]));
                        }
                        self.pos += 1;
                        return self.more();
                    }
                }
                b'\n' => {
                    if let Some(lc) = self.last_comment.as_mut() {
                        let mut end = self.pos;
                        if end > start && self.d.get(end - 1) == Some(&b'\r') {
                            end -= 1;
                        }
                        lc.extend_from_slice(self.d.get(start..end).unwrap_or(&[]));
                        start = self.pos + 1;
                    }
                }
                b'\\' => {
                    self.pos += 1;
                    if self.at_end() {
                        return -1;
                    }
                    if let Some(lc) = self.last_comment.as_mut() {
                        lc.extend_from_slice(self.d.get(start..self.pos - 1).unwrap_or(&[]));
                        start = self.pos;
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
        -1
    }

    /// Skips whitespace (incl. CR/LF) and comments.
    pub(crate) fn skip_lwsp(&mut self) -> i32 {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'(' => {
                    if self.skip_comment() < 0 {
                        return -1;
                    }
                }
                _ => break,
            }
        }
        self.more()
    }

    pub(crate) fn parse_atom(&mut self, out: &mut Vec<u8>) -> i32 {
        match self.peek() {
            Some(c) if is_atext(c) => {}
            _ => return -1,
        }
        let start = self.pos;
        while matches!(self.peek(), Some(c) if is_atext(c)) {
            self.pos += 1;
        }
        out.extend_from_slice(self.d.get(start..self.pos).unwrap_or(&[]));
        if self.at_end() {
            return 0;
        }
        self.skip_lwsp()
    }

    pub(crate) fn parse_dot_atom(&mut self, out: &mut Vec<u8>) -> i32 {
        match self.peek() {
            Some(c) if is_atext(c) => {}
            _ => return -1,
        }
        let mut start = self.pos;
        self.pos += 1;
        loop {
            if self.at_end() {
                out.extend_from_slice(self.d.get(start..self.pos).unwrap_or(&[]));
                return 0;
            }
            if matches!(self.peek(), Some(c) if is_atext(c)) {
                self.pos += 1;
                continue;
            }
            if start == self.pos {
                return -1;
            }
            out.extend_from_slice(self.d.get(start..self.pos).unwrap_or(&[]));
            let ret = self.skip_lwsp();
            if ret <= 0 {
                return ret;
            }
            if self.peek() != Some(b'.') {
                return 1;
            }
            self.pos += 1;
            out.push(b'.');
            if self.skip_lwsp() <= 0 {
                return -1;
            }
            start = self.pos;
        }
    }

    /// MIME token (RFC 2045), may be empty; returns the skip_lwsp result.
    pub(crate) fn parse_mime_token(&mut self, out: &mut Vec<u8>) -> i32 {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if is_token_char(c)) {
            self.pos += 1;
        }
        out.extend_from_slice(self.d.get(start..self.pos).unwrap_or(&[]));
        if self.at_end() {
            return 0;
        }
        self.skip_lwsp()
    }

    pub(crate) fn parse_quoted_string(&mut self, out: &mut Vec<u8>) -> i32 {
        // at '"'
        self.pos += 1;
        let mut start = self.pos;
        while let Some(c) = self.peek() {
            match c {
                b'"' => {
                    out.extend_from_slice(self.d.get(start..self.pos).unwrap_or(&[]));
                    self.pos += 1;
                    return self.skip_lwsp();
                }
                b'\n' => {
                    let mut end = self.pos;
                    if end > start && self.d.get(end - 1) == Some(&b'\r') {
                        end -= 1;
                    }
                    out.extend_from_slice(self.d.get(start..end).unwrap_or(&[]));
                    start = self.pos + 1;
                }
                b'\\' => {
                    self.pos += 1;
                    if self.at_end() {
                        return -1;
                    }
                    out.extend_from_slice(self.d.get(start..self.pos - 1).unwrap_or(&[]));
                    start = self.pos;
                }
                _ => {}
            }
            self.pos += 1;
        }
        -1
    }

    /// Dovecot's rfc822_parse_atom_or_dot: atext and dots, may be empty.
    fn parse_atom_or_dot(&mut self, out: &mut Vec<u8>) -> i32 {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if is_atext(c) || c == b'.') {
            self.pos += 1;
        }
        out.extend_from_slice(self.d.get(start..self.pos).unwrap_or(&[]));
        if self.at_end() {
            return 0;
        }
        self.skip_lwsp()
    }

    /// A phrase of words (atoms with dots, quoted strings) joined by one
    /// space; like Dovecot it may be empty.
    pub(crate) fn parse_phrase(&mut self, out: &mut Vec<u8>) -> i32 {
        if self.at_end() {
            return 0;
        }
        if self.peek() == Some(b'.') {
            return -1;
        }
        loop {
            let ret = if self.peek() == Some(b'"') {
                self.parse_quoted_string(out)
            } else {
                self.parse_atom_or_dot(out)
            };
            if ret <= 0 {
                return ret;
            }
            match self.peek() {
                Some(c) if is_atext(c) || c == b'"' || c == b'.' => {}
                _ => break,
            }
            out.push(b' ');
        }
        self.skip_lwsp()
    }

    fn parse_domain_literal(&mut self, out: &mut Vec<u8>) -> i32 {
        // at '['
        let mut start = self.pos;
        while let Some(c) = self.peek() {
            match c {
                b'\\' => {
                    self.pos += 1;
                    if self.at_end() {
                        break;
                    }
                }
                b'[' if self.pos != start => return -1,
                b']' => {
                    out.extend_from_slice(self.d.get(start..=self.pos).unwrap_or(&[]));
                    self.pos += 1;
                    return self.skip_lwsp();
                }
                b'\n' => {
                    let mut end = self.pos;
                    if end > start && self.d.get(end - 1) == Some(&b'\r') {
                        end -= 1;
                    }
                    out.extend_from_slice(self.d.get(start..end).unwrap_or(&[]));
                    start = self.pos + 1;
                }
                _ => {}
            }
            self.pos += 1;
        }
        -1
    }

    /// At '@'.
    pub(crate) fn parse_domain(&mut self, out: &mut Vec<u8>) -> i32 {
        self.pos += 1;
        if self.skip_lwsp() <= 0 {
            return -1;
        }
        if self.peek() == Some(b'[') {
            self.parse_domain_literal(out)
        } else {
            self.parse_dot_atom(out)
        }
    }

    /// `; name=value` (Dovecot's rfc822_parse_content_param). 0 = no more,
    /// 1 = got one, -1 = broken.
    fn parse_content_param(&mut self) -> (i32, Vec<u8>, Vec<u8>) {
        let mut key = Vec::new();
        let mut value = Vec::new();
        if self.at_end() {
            return (0, key, value);
        }
        if self.peek() != Some(b';') {
            return (-1, key, value);
        }
        self.pos += 1;
        if self.skip_lwsp() <= 0 {
            return (-1, key, value);
        }
        // an empty name is accepted, as in Dovecot ("; =x")
        if self.parse_mime_token(&mut key) <= 0 {
            return (-1, key, value);
        }
        if self.peek() != Some(b'=') {
            return (-1, key, value);
        }
        self.pos += 1;
        let mut ret = self.skip_lwsp();
        if ret <= 0 {
            // broken / no value
        } else if self.peek() == Some(b'"') {
            ret = self.parse_quoted_string(&mut value);
        } else if self.peek() == Some(b'=') {
            // workaround for broken input: name==?utf-8?b?...?=
            while let Some(c) = self.peek() {
                if matches!(c, b';' | b' ' | b'\t' | b'\r' | b'\n') {
                    break;
                }
                value.push(c);
                self.pos += 1;
            }
        } else {
            ret = self.parse_mime_token(&mut value);
        }
        (if ret < 0 { -1 } else { 1 }, key, value)
    }
}

/// A parameter list as Dovecot's rfc2231_parse returns it: plain parameters
/// in order, then merged RFC 2231 continuations sorted by name.
pub(crate) fn parse_params(p: &mut Parser) -> Vec<(Vec<u8>, Vec<u8>)> {
    struct Cont {
        key: Vec<u8>,
        idx: u32,
        extended: bool,
        value: Vec<u8>,
    }
    let mut result = Vec::new();
    let mut conts: Vec<Cont> = Vec::new();
    let mut idx: u32 = 0;
    loop {
        let (ret, key, value) = p.parse_content_param();
        if ret == 0 {
            break;
        }
        if ret < 0 {
            if p.at_end() {
                break;
            }
            p.pos += 1;
            continue;
        }
        let mut plain = true;
        if let Some(star) = key.iter().position(|&c| c == b'*') {
            // Dovecot keeps the index of the previous parameter when this
            // one has none ("title*" after "name*1" becomes "title*1*").
            let mut i = star;
            if key.get(star + 1).is_some() {
                i = star + 1;
                idx = 0;
                while let Some(&c) = key.get(i) {
                    if !c.is_ascii_digit() {
                        break;
                    }
                    idx = idx.saturating_mul(10).saturating_add(u32::from(c - b'0'));
                    i += 1;
                }
            }
            let mut extended = false;
            if key.get(i) == Some(&b'*') {
                extended = true;
                i += 1;
            }
            if i >= key.len() {
                plain = false;
                conts.push(Cont {
                    key: key.get(..star).unwrap_or(&[]).to_vec(),
                    idx,
                    extended,
                    value: value.clone(),
                });
            }
        }
        if plain {
            result.push((key, value));
        }
    }
    if conts.is_empty() {
        return result;
    }
    conts.sort_by(|a, b| {
        a.key
            .to_ascii_lowercase()
            .cmp(&b.key.to_ascii_lowercase())
            .then(a.idx.cmp(&b.idx))
    });
    let mut i = 0;
    while i < conts.len() {
        let mut j = i;
        let mut ok = true;
        let mut have_ext = false;
        let mut next_idx = 0u32;
        let first_key = conts.get(i).map(|c| c.key.clone()).unwrap_or_default();
        while let Some(c) = conts.get(j) {
            if !c.key.eq_ignore_ascii_case(&first_key) {
                break;
            }
            if c.idx != next_idx {
                ok = false;
            }
            if c.extended {
                have_ext = true;
            }
            next_idx = next_idx.saturating_add(1);
            j += 1;
        }
        let group = conts.get(i..j).unwrap_or(&[]);
        if !ok {
            for c in group {
                let mut k = c.key.clone();
                k.extend_from_slice(format!("*{}", c.idx).as_bytes());
                if c.extended {
                    k.push(b'*');
                }
                result.push((k, c.value.clone()));
            }
        } else {
            let mut v = Vec::new();
            if have_ext && !group.first().map(|c| c.extended).unwrap_or(false) {
                v.extend_from_slice(b"''");
            }
            for c in group {
                if !c.extended && have_ext {
                    for &b in &c.value {
                        if b == b'%' {
                            v.extend_from_slice(b"%25");
                        } else {
                            v.push(b);
                        }
                    }
                } else {
                    v.extend_from_slice(&c.value);
                }
            }
            let mut k = first_key.clone();
            if have_ext {
                k.push(b'*');
            }
            result.push((k, v));
        }
        i = j;
    }
    result
}

/// Content-Type value split as Dovecot does: (type, subtype, params);
/// params are not parsed when the type itself is broken.
pub(crate) fn parse_content_type(value: &[u8]) -> (Vec<u8>, Vec<u8>, Params) {
    let mut p = Parser::new(value);
    p.skip_lwsp();
    let mut s = Vec::new();
    let ret = content_type_inner(&mut p, &mut s);
    let (ty, sub) = match s.iter().position(|&c| c == b'/') {
        Some(i) => (
            s.get(..i).unwrap_or(&[]).to_vec(),
            s.get(i + 1..).unwrap_or(&[]).to_vec(),
        ),
        None => (s.clone(), Vec::new()),
    };
    if ret < 0 {
        return (ty, sub, Vec::new());
    }
    let params = parse_params(&mut p);
    (ty, sub, params)
}

fn content_type_inner(p: &mut Parser, s: &mut Vec<u8>) -> i32 {
    if p.skip_lwsp() <= 0 {
        return -1;
    }
    if p.parse_mime_token(s) <= 0 || s.is_empty() {
        return -1;
    }
    if p.peek() != Some(b'/') {
        // Dovecot forgets the type here (but not when the value ended)
        s.clear();
        return -1;
    }
    p.pos += 1;
    if p.skip_lwsp() <= 0 {
        // "text/" with nothing after it voids the type too
        s.clear();
        return -1;
    }
    s.push(b'/');
    let before = s.len();
    let ret = p.parse_mime_token(s);
    // an empty subtype, a broken comment, or anything but ';' after it
    // voids the type
    if s.len() == before || ret < 0 || (ret > 0 && p.peek() != Some(b';')) {
        s.clear();
        return -1;
    }
    ret
}

/// The bare type/subtype (for the parser's flags) and whether it parsed.
pub(crate) fn content_type_for_flags(value: &[u8]) -> (Vec<u8>, i32, Option<Vec<u8>>) {
    let mut p = Parser::new(value);
    p.skip_lwsp();
    let mut s = Vec::new();
    let ret = content_type_inner(&mut p, &mut s);
    let mut boundary = None;
    if ret >= 0 {
        for (k, v) in parse_params(&mut p) {
            if k.eq_ignore_ascii_case(b"boundary") {
                boundary = Some(v);
                break;
            }
        }
    }
    (s, ret, boundary)
}

/// Content-Transfer-Encoding: one token and nothing else, else None.
pub(crate) fn parse_cte(value: &[u8]) -> Option<Vec<u8>> {
    let mut p = Parser::new(value);
    p.skip_lwsp();
    let mut s = Vec::new();
    if p.parse_mime_token(&mut s) >= 0 && p.skip_lwsp() == 0 && !s.is_empty() {
        Some(s)
    } else {
        None
    }
}

pub(crate) type Params = Vec<(Vec<u8>, Vec<u8>)>;

/// Content-Disposition: (token, params), None when broken.
pub(crate) fn parse_disposition(value: &[u8]) -> Option<(Vec<u8>, Params)> {
    let mut p = Parser::new(value);
    p.skip_lwsp();
    let mut s = Vec::new();
    if p.parse_mime_token(&mut s) < 0 {
        return None;
    }
    let params = parse_params(&mut p);
    Some((s, params))
}

/// Content-Language: a comma-separated list of atoms.
pub(crate) fn parse_language(value: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut p = Parser::new(value);
    let mut langs = Vec::new();
    p.skip_lwsp();
    while !p.at_end() {
        let mut s = Vec::new();
        if p.parse_atom(&mut s) < 0 {
            break;
        }
        langs.push(s);
        if p.peek() != Some(b',') {
            break;
        }
        p.pos += 1;
        p.skip_lwsp();
    }
    if langs.is_empty() {
        None
    } else {
        Some(langs)
    }
}

/// One ENVELOPE address: (name, route, mailbox, host); `None` is NIL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub name: Option<Vec<u8>>,
    pub route: Option<Vec<u8>>,
    pub mailbox: Option<Vec<u8>>,
    pub domain: Option<Vec<u8>>,
}

struct AddrParser<'a> {
    p: Parser<'a>,
    addr: Address,
    invalid: bool,
    out: Vec<Address>,
}

impl AddrParser<'_> {
    fn push(&mut self) {
        self.out.push(std::mem::take(&mut self.addr));
        self.invalid = false;
    }

    fn push_fixed(&mut self) {
        if self.addr.mailbox.is_none() {
            self.addr.mailbox = Some(b"MISSING_MAILBOX".to_vec());
        }
        if self
            .addr
            .domain
            .as_ref()
            .map(|d| d.is_empty())
            .unwrap_or(true)
        {
            self.addr.domain = Some(b"MISSING_DOMAIN".to_vec());
        }
        self.push();
    }

    /// local-part: a quoted string, or Dovecot's non-strict dot-atom
    /// (leading, trailing and repeated dots allowed, no spaces after dots).
    fn local_part(&mut self) -> i32 {
        let mut s = Vec::new();
        let ret = if self.p.peek() == Some(b'"') {
            self.p.parse_quoted_string(&mut s)
        } else {
            let mut ret = -1;
            loop {
                while self.p.peek() == Some(b'.') {
                    s.push(b'.');
                    self.p.pos += 1;
                    if self.p.at_end() {
                        self.addr.mailbox = Some(s);
                        return 0;
                    }
                    ret = 1;
                }
                if self.p.peek() == Some(b'@') {
                    break;
                }
                ret = self.p.parse_atom(&mut s);
                if !(ret > 0 && self.p.peek() == Some(b'.')) {
                    break;
                }
            }
            ret
        };
        if ret < 0 {
            return -1;
        }
        self.addr.mailbox = Some(s);
        ret
    }

    fn domain(&mut self) -> i32 {
        let mut s = Vec::new();
        let ret = self.p.parse_domain(&mut s);
        if ret < 0 {
            return -1;
        }
        self.addr.domain = Some(s);
        ret
    }

    fn domain_list(&mut self) -> i32 {
        let mut s = Vec::new();
        loop {
            if self.p.at_end() {
                return 0;
            }
            if self.p.peek() != Some(b'@') {
                break;
            }
            if !s.is_empty() {
                s.push(b',');
            }
            s.push(b'@');
            let ret = self.p.parse_domain(&mut s);
            if ret <= 0 {
                return ret;
            }
            while self.p.skip_lwsp() > 0 && self.p.peek() == Some(b',') {
                self.p.pos += 1;
            }
        }
        self.addr.route = Some(s);
        1
    }

    fn angle_addr(&mut self) -> i32 {
        self.p.pos += 1; // '<'
        if self.p.skip_lwsp() <= 0 {
            return -1;
        }
        if self.p.peek() == Some(b'@') {
            if self.domain_list() > 0 && self.p.peek() == Some(b':') {
                self.p.pos += 1;
            } else {
                self.addr.route = Some(b"INVALID_ROUTE".to_vec());
                if self.p.at_end() {
                    return -1;
                }
            }
            if self.p.skip_lwsp() <= 0 {
                return -1;
            }
        }
        if self.p.peek() != Some(b'>') {
            if self.local_part() <= 0 {
                return -1;
            }
            if self.p.peek() == Some(b'@') && self.domain() <= 0 {
                return -1;
            }
        }
        if self.p.peek() != Some(b'>') {
            return -1;
        }
        self.p.pos += 1;
        self.p.skip_lwsp()
    }

    fn name_addr(&mut self) -> i32 {
        if self.p.peek() == Some(b'<') {
            self.addr.name = None;
        } else {
            let mut s = Vec::new();
            if self.p.parse_phrase(&mut s) <= 0 || self.p.peek() != Some(b'<') {
                return -1;
            }
            // `"" <a@b>` has no display name
            self.addr.name = if s.is_empty() { None } else { Some(s) };
        }
        if self.angle_addr() < 0 {
            self.addr.domain = Some(b"SYNTAX_ERROR".to_vec());
            self.invalid = true;
        }
        if self.p.at_end() {
            0
        } else {
            1
        }
    }

    fn addr_spec(&mut self) -> i32 {
        if let Some(c) = self.p.last_comment.as_mut() {
            c.clear();
        }
        let quoted = self.p.peek() == Some(b'"');
        let mut ret = self.local_part();
        let mut ret2 = -2;
        if ret <= 0 {
            self.invalid = true;
        }
        if ret != 0 && self.p.peek() == Some(b'@') {
            ret2 = self.domain();
            if ret2 <= 0 {
                ret = ret2;
            }
        }
        let comment = self.p.last_comment.clone().unwrap_or_default();
        if !comment.is_empty() {
            self.addr.name = Some(comment);
        } else if ret2 == -2 {
            let mut s = self.addr.mailbox.clone().unwrap_or_default();
            s.push(b' ');
            let orig = s.len();
            let _ = self.p.parse_phrase(&mut s);
            if s.len() != orig {
                self.addr.mailbox = None;
                self.addr.name = Some(s);
            } else if !quoted {
                self.addr.domain = Some(Vec::new());
            }
            self.invalid = true;
            ret = -1;
        }
        ret
    }

    fn mailbox(&mut self) -> i32 {
        let start = self.p.pos;
        let saved = self.addr.clone();
        let mut ret = self.name_addr();
        if ret < 0 {
            self.p.pos = start;
            self.addr = saved;
            ret = self.addr_spec();
            // a lone word or "Display Name" is a name without an address
            if self.invalid
                && self.addr.name.is_none()
                && self.addr.mailbox.is_some()
                && self.addr.domain.is_none()
            {
                self.addr.name = self.addr.mailbox.take();
            }
        }
        self.push_fixed();
        ret
    }

    fn group(&mut self) -> i32 {
        let mut s = Vec::new();
        if self.p.parse_phrase(&mut s) <= 0 || self.p.peek() != Some(b':') {
            return -1;
        }
        self.p.pos += 1;
        let mut ret = self.p.skip_lwsp();
        self.addr.mailbox = Some(s);
        self.push();
        if ret > 0 && self.p.peek() != Some(b';') {
            loop {
                let _ = self.mailbox();
                if self.p.peek() != Some(b',') {
                    break;
                }
                self.p.pos += 1;
                if self.p.skip_lwsp() <= 0 {
                    ret = -1;
                    break;
                }
            }
        }
        if ret >= 0 {
            if self.p.peek() != Some(b';') {
                ret = -1;
            } else {
                self.p.pos += 1;
                ret = self.p.skip_lwsp();
            }
        }
        self.push();
        if ret == 0 {
            0
        } else {
            1
        }
    }

    fn address(&mut self) -> i32 {
        let start = self.p.pos;
        let ret = self.group();
        if ret < 0 {
            self.p.pos = start;
            self.addr = Address::default();
            return self.mailbox();
        }
        ret
    }
}

/// Parses an address header value like Dovecot's message_address_parse with
/// FILL_MISSING; an empty list is None (NIL in ENVELOPE).
pub(crate) fn parse_addresses(value: &[u8]) -> Option<Vec<Address>> {
    let mut ap = AddrParser {
        p: Parser::with_comments(value),
        addr: Address::default(),
        invalid: false,
        out: Vec::new(),
    };
    if ap.p.skip_lwsp() <= 0 {
        return None;
    }
    let mut guard = 0usize;
    loop {
        guard += 1;
        if guard > value.len() + 2 {
            break;
        }
        if ap.address() == 0 {
            break;
        }
        if ap.p.peek() != Some(b',') {
            break;
        }
        ap.p.pos += 1;
        let r = ap.p.skip_lwsp();
        if r <= 0 {
            if r < 0 {
                ap.push_fixed();
            }
            break;
        }
    }
    let _ = ap.invalid;
    if ap.out.is_empty() {
        None
    } else {
        Some(ap.out)
    }
}
