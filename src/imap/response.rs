//! Response formatting: IMAP strings, atoms, literals and NIL.
//!
//! Everything that writes client-visible data goes through these so quoting
//! is decided in one place: a quoted string when the bytes allow it, a
//! literal otherwise (CR, LF, NUL, 8-bit data, or long values).

/// Appends `s` as a quoted string when safe, else as a literal.
pub fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    let quotable = s.len() <= 4096
        && s.iter()
            .all(|&b| b != b'\r' && b != b'\n' && b != 0 && b < 0x80);
    if quotable {
        out.push(b'"');
        for &b in s {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        write_literal(out, s);
    }
}

/// Appends `s` as a literal `{n}\r\n<bytes>`.
pub fn write_literal(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
    out.extend_from_slice(s);
}

/// Appends NIL or a string.
pub fn write_nstring(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        None => out.extend_from_slice(b"NIL"),
        Some(s) => write_string(out, s),
    }
}

/// True for characters allowed in an atom (RFC 3501 ATOM-CHAR).
pub fn is_atom_char(b: u8) -> bool {
    b > 0x20 && b < 0x7f && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// Appends an astring: a bare atom when possible, else a string.
pub fn write_astring(out: &mut Vec<u8>, s: &[u8]) {
    if !s.is_empty() && s.iter().all(|&b| is_atom_char(b)) && !s.eq_ignore_ascii_case(b"NIL") {
        out.extend_from_slice(s);
    } else {
        write_string(out, s);
    }
}

/// Appends a mailbox name for LIST/LSUB/STATUS: an atom-like form where
/// possible (list-wildcards are allowed in LIST output), else a string.
pub fn write_mailbox(out: &mut Vec<u8>, name: &str) {
    let b = name.as_bytes();
    if !b.is_empty()
        && b.iter().all(|&c| is_atom_char(c) || c == b'%' || c == b'*')
        && !b.eq_ignore_ascii_case(b"NIL")
    {
        out.extend_from_slice(b);
    } else {
        write_string(out, b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_literals() {
        let mut o = Vec::new();
        write_string(&mut o, b"a \"b\" \\c");
        assert_eq!(o, b"\"a \\\"b\\\" \\\\c\"");
        o.clear();
        write_string(&mut o, b"x\r\ny");
        assert_eq!(o, b"{4}\r\nx\r\ny");
        o.clear();
        write_astring(&mut o, b"INBOX");
        assert_eq!(o, b"INBOX");
        o.clear();
        write_astring(&mut o, b"nil");
        assert_eq!(o, b"\"nil\"");
    }
}
