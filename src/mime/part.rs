//! The MIME part tree by byte offsets, built the way Dovecot's
//! message-parser.c walks a message: header lines (with the boundary check
//! at every line start), multipart boundaries (innermost, longest prefix),
//! epilogues, message/rfc822 children, digest defaults and the nesting cap.

use super::rfc822::{self, Address, Params};

/// Nesting limit (Dovecot's default max_nested_mime_parts).
pub(crate) const MAX_NESTED: usize = 100;
/// Total part limit (Dovecot's default max_total_mime_parts).
pub(crate) const MAX_TOTAL: usize = 10000;
/// Boundaries longer than this are truncated (Dovecot's
/// BOUNDARY_STRING_MAX_LEN, measured: 80).
const BOUNDARY_MAX: usize = 80;

/// One header field: name, unfolded-with-LF value, raw byte range.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub name: Vec<u8>,
    /// Value with continuation lines joined by "\n" (CRs dropped), leading
    /// LWSP of the first line skipped, as Dovecot's full_value.
    pub value: Vec<u8>,
    pub start: usize,
    pub end: usize,
}

/// Parsed header block.
#[derive(Debug, Clone, Default)]
pub(crate) struct Header {
    pub fields: Vec<Field>,
    /// Range of the blank line ending the header, if there was one.
    pub eoh: Option<(usize, usize)>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Envelope {
    pub date: Option<Vec<u8>>,
    pub subject: Option<Vec<u8>>,
    pub from: Option<Vec<Address>>,
    pub sender: Option<Vec<Address>>,
    pub reply_to: Option<Vec<Address>>,
    pub to: Option<Vec<Address>>,
    pub cc: Option<Vec<Address>>,
    pub bcc: Option<Vec<Address>>,
    pub in_reply_to: Option<Vec<u8>>,
    pub message_id: Option<Vec<u8>>,
}

/// Repeated address headers are concatenated, as in Dovecot.
fn append(list: &mut Option<Vec<Address>>, more: Option<Vec<Address>>) {
    if let Some(m) = more {
        list.get_or_insert_with(Vec::new).extend(m);
    }
}

impl Envelope {
    pub(crate) fn from_header(h: &Header) -> Envelope {
        let mut e = Envelope::default();
        for f in &h.fields {
            let n = f.name.to_ascii_lowercase();
            let v = &f.value;
            match n.as_slice() {
                b"date" => e.date = Some(v.clone()),
                b"subject" => e.subject = Some(v.clone()),
                b"message-id" => e.message_id = Some(v.clone()),
                b"in-reply-to" => e.in_reply_to = Some(v.clone()),
                b"from" => append(&mut e.from, rfc822::parse_addresses(v)),
                b"sender" => append(&mut e.sender, rfc822::parse_addresses(v)),
                b"reply-to" => append(&mut e.reply_to, rfc822::parse_addresses(v)),
                b"to" => append(&mut e.to, rfc822::parse_addresses(v)),
                b"cc" => append(&mut e.cc, rfc822::parse_addresses(v)),
                b"bcc" => append(&mut e.bcc, rfc822::parse_addresses(v)),
                _ => {}
            }
        }
        e
    }
}

/// Content-* data of a part (Dovecot's message_part_data).
#[derive(Debug, Clone, Default)]
pub(crate) struct PartData {
    pub content_type: Option<Vec<u8>>,
    pub subtype: Vec<u8>,
    pub params: Params,
    pub cte: Option<Vec<u8>>,
    pub id: Option<Vec<u8>>,
    pub description: Option<Vec<u8>>,
    pub md5: Option<Vec<u8>>,
    pub disposition: Option<(Vec<u8>, Params)>,
    pub language: Option<Vec<Vec<u8>>>,
    pub location: Option<Vec<u8>>,
}

impl PartData {
    fn add(&mut self, f: &Field) {
        let name = &f.name;
        let Some(rest) = name
            .get(..8)
            .filter(|p| p.eq_ignore_ascii_case(b"content-"))
            .and_then(|_| name.get(8..))
        else {
            return;
        };
        let rest = rest.to_ascii_lowercase();
        let v = &f.value;
        match rest.as_slice() {
            b"id" if self.id.is_none() => self.id = Some(cstr(v)),
            b"md5" if self.md5.is_none() => self.md5 = Some(cstr(v)),
            b"type" if self.content_type.is_none() => {
                let (t, s, p) = rfc822::parse_content_type(v);
                self.content_type = Some(t);
                self.subtype = s;
                self.params = p;
            }
            b"transfer-encoding" if self.cte.is_none() => self.cte = rfc822::parse_cte(v),
            b"language" if self.language.is_none() => self.language = rfc822::parse_language(v),
            b"location" if self.location.is_none() => self.location = Some(cstr(v)),
            b"description" if self.description.is_none() => self.description = Some(cstr(v)),
            b"disposition"
                if self
                    .disposition
                    .as_ref()
                    .map(|d| d.1.is_empty())
                    .unwrap_or(true) =>
            {
                if let Some(d) = rfc822::parse_disposition(v) {
                    self.disposition = Some(d);
                }
            }
            _ => {}
        }
    }
}

/// p_strndup semantics: stops at the first NUL.
fn cstr(v: &[u8]) -> Vec<u8> {
    match v.iter().position(|&c| c == 0) {
        Some(i) => v.get(..i).unwrap_or(&[]).to_vec(),
        None => v.to_vec(),
    }
}

pub(crate) const F_MULTIPART: u8 = 1;
pub(crate) const F_RFC822: u8 = 2;
pub(crate) const F_TEXT: u8 = 4;
const F_DIGEST: u8 = 8;
const F_IS_MIME: u8 = 16;

/// One MIME part, by offsets into the CRLF-normalised message.
#[derive(Debug, Clone, Default)]
pub(crate) struct Part {
    pub hdr_start: usize,
    pub body_start: usize,
    pub body_end: usize,
    pub flags: u8,
    pub header: Header,
    pub data: PartData,
    /// Set for the child of a message/rfc822 part (its ENVELOPE).
    pub envelope: Option<Envelope>,
    pub children: Vec<Part>,
}

impl Part {
    pub(crate) fn is_multipart(&self) -> bool {
        self.flags & F_MULTIPART != 0
    }
    pub(crate) fn is_rfc822(&self) -> bool {
        self.flags & F_RFC822 != 0
    }
}

struct Boundary {
    b: Vec<u8>,
    owner: usize,
}

/// Where a part's scan stopped: at a boundary line (owner id, offset of the
/// newline before it or of the line itself, epilogue flag, end of the
/// "--b[--]" token) or at end of input.
#[derive(Clone, Copy)]
enum Stop {
    Eof,
    Boundary {
        owner: usize,
        at: usize,
        line: usize,
        epilogue: bool,
    },
}

struct Ctx<'a> {
    d: &'a [u8],
    bounds: Vec<Boundary>,
    next_id: usize,
    total: usize,
}

fn line_end(d: &[u8], pos: usize) -> usize {
    match d.get(pos..).and_then(|s| memchr::memchr(b'\n', s)) {
        Some(i) => pos + i + 1,
        None => d.len(),
    }
}

impl Ctx<'_> {
    /// Dovecot's boundary_line_find at a line start: innermost boundary
    /// with the longest prefix match.
    fn boundary_at(&self, pos: usize) -> Option<(usize, bool)> {
        if self.bounds.is_empty() || self.total >= MAX_TOTAL {
            return None;
        }
        let rest = self.d.get(pos..)?;
        if rest.len() < 2 || rest.first() != Some(&b'-') || rest.get(1) != Some(&b'-') {
            return None;
        }
        let data = rest.get(2..)?;
        let mut len = match memchr::memchr(b'\n', data) {
            Some(i) => i,
            None => data.len(),
        };
        if len > 0 && data.get(len - 1) == Some(&b'\r') {
            len -= 1;
        }
        let trailing = len > 2 && data.get(len - 2..len) == Some(b"--");
        let mut best: Option<usize> = None;
        for (i, b) in self.bounds.iter().enumerate().rev() {
            let bl = b.b.len();
            if bl <= len
                && data.get(..bl) == Some(b.b.as_slice())
                && best
                    .and_then(|k| self.bounds.get(k))
                    .map(|x| x.b.len() < bl)
                    .unwrap_or(true)
            {
                best = Some(i);
                if bl == len || (trailing && bl + 2 == len) {
                    break;
                }
            }
        }
        let i = best?;
        let bl = self.bounds.get(i)?.b.len();
        let epi = data.get(bl..bl + 2) == Some(b"--");
        Some((i, epi))
    }

    fn stop_at(&self, line_start: usize, first_line: bool, bi: usize, epi: bool) -> Stop {
        let mut at = line_start;
        if !first_line && at > 0 && self.d.get(at - 1) == Some(&b'\n') {
            at -= 1;
            if at > 0 && self.d.get(at - 1) == Some(&b'\r') {
                at -= 1;
            }
        }
        Stop::Boundary {
            owner: self.bounds.get(bi).map(|b| b.owner).unwrap_or(usize::MAX),
            at,
            line: line_start,
            epilogue: epi,
        }
    }

    /// Scans body lines from `pos` (a line start) to the next boundary.
    fn scan(&self, pos: usize) -> Stop {
        let mut p = pos;
        let mut first = true;
        loop {
            if p >= self.d.len() {
                return Stop::Eof;
            }
            if let Some((bi, epi)) = self.boundary_at(p) {
                return self.stop_at(p, first, bi, epi);
            }
            first = false;
            p = line_end(self.d, p);
        }
    }

    /// Parses header lines from `pos`; stops at the blank line, EOF, or a
    /// boundary line (returned).
    fn header(&self, pos: usize) -> (Header, usize, Option<Stop>) {
        let mut h = Header::default();
        let mut p = pos;
        let mut first = true;
        loop {
            if p >= self.d.len() {
                return (h, p, None);
            }
            if let Some((bi, epi)) = self.boundary_at(p) {
                // The newline before the boundary is cut from this header,
                // but (as in Dovecot) it stays in the enclosing bodies: the
                // returned stop is at the boundary line itself.
                let cut = self.stop_at(p, first, bi, epi);
                let end = match cut {
                    Stop::Boundary { at, .. } => at,
                    Stop::Eof => p,
                };
                let stop = self.stop_at(p, true, bi, epi);
                return (h, end.max(pos), Some(stop));
            }
            first = false;
            let le = line_end(self.d, p);
            let line = self.d.get(p..le).unwrap_or(&[]);
            if line == b"\r\n" || line == b"\n" {
                h.eoh = Some((p, le));
                return (h, le, None);
            }
            // collect continuation lines
            let mut end = le;
            let mut value = Vec::new();
            let content = strip_nl(line);
            let (name, first_val) = match memchr::memchr(b':', content) {
                Some(c) => {
                    let mut n = c;
                    while n > 0 && matches!(content.get(n - 1), Some(b' ' | b'\t')) {
                        n -= 1;
                    }
                    let v = content.get(c + 1..).unwrap_or(&[]);
                    let mut s = 0;
                    while matches!(v.get(s), Some(b' ' | b'\t')) {
                        s += 1;
                    }
                    if s == v.len() && s > 0 {
                        s = 1;
                    }
                    (
                        // names are C strings in Dovecot: a NUL ends them
                        cstr(content.get(..n).unwrap_or(&[])),
                        v.get(s..).unwrap_or(&[]),
                    )
                }
                // a line without ':' matches no field name (Dovecot)
                None => (Vec::new(), &[][..]),
            };
            value.extend_from_slice(first_val);
            while end < self.d.len() && matches!(self.d.get(end), Some(b' ' | b'\t')) {
                let e2 = line_end(self.d, end);
                value.push(b'\n');
                value.extend_from_slice(strip_nl(self.d.get(end..e2).unwrap_or(&[])));
                end = e2;
            }
            h.fields.push(Field {
                name,
                value,
                start: p,
                end,
            });
            p = end;
        }
    }

    /// Parses one part starting at `pos`.
    fn part(
        &mut self,
        pos: usize,
        depth: usize,
        is_mime: bool,
        parent_digest: bool,
        parent_rfc822: bool,
    ) -> (Part, Stop) {
        self.total += 1;
        let mut part = Part {
            hdr_start: pos,
            ..Part::default()
        };
        if is_mime {
            part.flags |= F_IS_MIME;
        }
        // the parser's own Content-Type view (first one wins)
        let (header, body_start, hstop) = self.header(pos);
        let mut seen_ct = false;
        let mut boundary: Option<Vec<u8>> = None;
        for f in &header.fields {
            if f.name.eq_ignore_ascii_case(b"mime-version") {
                part.flags |= F_IS_MIME;
            } else if f.name.eq_ignore_ascii_case(b"content-type") {
                part.flags |= F_IS_MIME;
                if seen_ct {
                    continue;
                }
                seen_ct = true;
                let (ct, ret, b) = rfc822::content_type_for_flags(&f.value);
                let lc = ct.to_ascii_lowercase();
                if lc == b"message/rfc822" {
                    part.flags |= F_RFC822;
                } else if lc.starts_with(b"text") && (lc.len() == 4 || lc.get(4) == Some(&b'/')) {
                    part.flags |= F_TEXT;
                } else if lc.starts_with(b"multipart/") && depth + 1 < MAX_NESTED {
                    part.flags |= F_MULTIPART;
                    if lc.get(10..) == Some(b"digest") {
                        part.flags |= F_DIGEST;
                    }
                }
                if ret >= 0 && part.flags & F_MULTIPART != 0 {
                    boundary = b.map(|mut b| {
                        b.truncate(BOUNDARY_MAX);
                        b
                    });
                }
            }
        }
        for f in &header.fields {
            if parent_rfc822 || f.name.len() >= 8 {
                part.data.add(f);
            }
        }
        if parent_rfc822 {
            part.envelope = Some(Envelope::from_header(&header));
        }
        if part.flags & F_IS_MIME == 0 {
            part.flags = 0;
            boundary = None;
            part.data = PartData::default();
        }
        if !seen_ct || part.flags & F_IS_MIME == 0 {
            if parent_digest {
                part.flags |= F_RFC822;
            } else {
                part.flags |= F_TEXT;
            }
        }
        part.header = header;
        part.body_start = body_start;
        if let Some(stop) = hstop {
            // header cut short by a boundary: no body
            part.body_end = body_start;
            self.empty_child(&mut part, depth);
            return (part, stop);
        }
        // Dovecot checks for a boundary once more right after the blank
        // line; a parent's boundary there takes the blank line as its
        // preceding newline (own multipart boundary excluded).
        if let Some((eoh_start, eoh_end)) = part.header.eoh {
            let own = boundary.clone();
            let level = self.bounds.len();
            if let Some(b) = own {
                self.bounds.push(Boundary {
                    b,
                    owner: usize::MAX - 1,
                });
            }
            let hit = self.boundary_at(eoh_end);
            self.bounds.truncate(level);
            if let Some((bi, epi)) = hit {
                if bi < level {
                    part.header.eoh = None;
                    part.body_start = eoh_start;
                    part.body_end = eoh_start;
                    self.empty_child(&mut part, depth);
                    let stop = self.stop_at(eoh_end, true, bi, epi);
                    return (part, stop);
                }
            }
        }
        let stop;
        if let Some(b) = boundary {
            let id = self.next_id;
            self.next_id += 1;
            let level = self.bounds.len();
            self.bounds.push(Boundary { b, owner: id });
            let digest = part.flags & F_DIGEST != 0;
            let mut s = self.scan(body_start);
            loop {
                match s {
                    Stop::Eof => break,
                    Stop::Boundary {
                        owner,
                        line,
                        epilogue,
                        ..
                    } => {
                        if owner != id {
                            break;
                        }
                        if epilogue {
                            // the rest of the "--b--" line is skipped; the
                            // next line starts afresh (its newline is not
                            // a boundary's)
                            self.bounds.truncate(level);
                            let after = line_end(self.d, line);
                            s = self.scan(after);
                            continue;
                        }
                        self.bounds.truncate(level + 1);
                        let child_start = line_end(self.d, line);
                        if self.d.get(child_start.wrapping_sub(1)) != Some(&b'\n') {
                            // boundary line cut by EOF: no part follows
                            s = Stop::Eof;
                            break;
                        }
                        let (child, cs) = self.part(child_start, depth + 1, true, digest, false);
                        part.children.push(child);
                        s = cs;
                    }
                }
            }
            self.bounds.truncate(level);
            stop = s;
        } else if part.flags & F_RFC822 != 0 && depth + 1 < MAX_NESTED && self.total < MAX_TOTAL {
            let (child, cs) = self.part(body_start, depth + 1, false, false, true);
            part.children.push(child);
            stop = cs;
        } else {
            part.flags &= !F_RFC822;
            stop = self.scan(body_start);
        }
        part.body_end = match stop {
            Stop::Eof => self.d.len(),
            Stop::Boundary { at, .. } => at.max(body_start),
        };
        fix_ends(&mut part);
        (part, stop)
    }
}

impl Ctx<'_> {
    /// A message/rfc822 part whose body was cut off still gets its (empty)
    /// message child, as in Dovecot.
    fn empty_child(&mut self, part: &mut Part, depth: usize) {
        if part.flags & F_RFC822 == 0 {
            return;
        }
        if depth + 1 >= MAX_NESTED || self.total >= MAX_TOTAL {
            part.flags &= !F_RFC822;
            return;
        }
        self.total += 1;
        let at = part.body_start;
        part.children.push(Part {
            hdr_start: at,
            body_start: at,
            body_end: at,
            flags: F_TEXT,
            envelope: Some(Envelope::default()),
            ..Part::default()
        });
    }
}

/// Children of a part never extend past it.
fn fix_ends(part: &mut Part) {
    let end = part.body_end;
    for c in &mut part.children {
        if c.body_end > end {
            c.body_end = end;
        }
    }
}

fn strip_nl(line: &[u8]) -> &[u8] {
    let mut l = line;
    if let Some(x) = l.strip_suffix(b"\n") {
        l = x;
        if let Some(y) = l.strip_suffix(b"\r") {
            l = y;
        }
    }
    l
}

/// Builds the part tree of a CRLF-normalised message.
pub(crate) fn parse(d: &[u8]) -> Part {
    let mut ctx = Ctx {
        d,
        bounds: Vec::new(),
        next_id: 0,
        total: 0,
    };
    ctx.part(0, 0, false, false, false).0
}

/// Parses only a header block (for header-only FETCH/SEARCH).
pub(crate) fn parse_header(d: &[u8]) -> (Header, usize) {
    let ctx = Ctx {
        d,
        bounds: Vec::new(),
        next_id: 0,
        total: 0,
    };
    let (h, end, _) = ctx.header(0);
    (h, end)
}
