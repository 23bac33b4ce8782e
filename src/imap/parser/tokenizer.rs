//! The tokenizer: turns the parts of a framed command into a tree of
//! arguments (atoms, quoted strings, literals, parenthesised lists), like
//! Dovecot's generic `imap_arg` list. Command-specific syntax (sequence sets,
//! flags, dates, section specs) is interpreted later by `parse.rs`.
//!
//! Atoms are read leniently (Dovecot-style): any byte except SP, `(`, `)`,
//! `"`, `{` and controls, so LIST wildcards, `\Flags`, `]` and 8-bit mailbox
//! names come through; strict checks happen where the grammar demands them.
//! One special form: an atom whose prefix is a FETCH body att name
//! (`BODY[`, `BODY.PEEK[`, `BINARY[`...) takes everything up to the matching
//! `]` verbatim, spaces and parentheses included, so
//! `BODY[HEADER.FIELDS (A B)]<0.10>` is one atom.

use super::Part;
use crate::imap::command::LiteralData;

/// Default for the deepest parenthesis nesting; matches config
/// `limits.max_nesting`.
pub const DEFAULT_MAX_NESTING: usize = 64;

/// One argument of a command.
#[derive(Debug, PartialEq)]
pub enum Arg {
    Atom(Vec<u8>),
    Quoted(Vec<u8>),
    Literal { data: LiteralData, binary: bool },
    List(Vec<Arg>),
}

/// Fetch att names after which `[` opens a section that may hold spaces.
const SECTION_PREFIXES: &[&[u8]] = &[
    b"BODY",
    b"BODY.PEEK",
    b"BINARY",
    b"BINARY.PEEK",
    b"BINARY.SIZE",
];

/// Tokenizes `parts`, starting at byte `skip` of the first part (used to skip
/// the tag). Errors are plain messages; the caller adds the tag.
pub fn tokenize(parts: Vec<Part>, skip: usize, max_nesting: usize) -> Result<Vec<Arg>, String> {
    let mut stack: Vec<Vec<Arg>> = Vec::new();
    let mut cur: Vec<Arg> = Vec::new();
    for (i, part) in parts.into_iter().enumerate() {
        match part {
            Part::Text(ref text) => {
                let start = if i == 0 { skip.min(text.len()) } else { 0 };
                tokenize_text(text, start, &mut stack, &mut cur, max_nesting)?;
            }
            Part::Literal(data) => cur.push(Arg::Literal {
                data,
                binary: false,
            }),
            Part::Literal8(data) => cur.push(Arg::Literal { data, binary: true }),
        }
    }
    if !stack.is_empty() {
        return Err("Expected ')'".into());
    }
    Ok(cur)
}

fn tokenize_text(
    text: &[u8],
    mut pos: usize,
    stack: &mut Vec<Vec<Arg>>,
    cur: &mut Vec<Arg>,
    max_nesting: usize,
) -> Result<(), String> {
    while let Some(&b) = text.get(pos) {
        match b {
            b' ' => pos += 1,
            b'(' => {
                if stack.len() >= max_nesting {
                    return Err("Too deep nesting".into());
                }
                stack.push(std::mem::take(cur));
                pos += 1;
            }
            b')' => {
                let Some(parent) = stack.pop() else {
                    return Err("Unexpected ')'".into());
                };
                let list = std::mem::replace(cur, parent);
                cur.push(Arg::List(list));
                pos += 1;
            }
            b'"' => {
                let (s, next) = read_quoted(text, pos + 1)?;
                cur.push(Arg::Quoted(s));
                pos = next;
            }
            b'{' => return Err("Unexpected '{' (literal not at end of line)".into()),
            _ if b < 0x20 || b == 0x7f => {
                return Err("Invalid characters in atom".into());
            }
            _ => {
                let next = read_atom(text, pos)?;
                cur.push(Arg::Atom(text.get(pos..next).unwrap_or_default().to_vec()));
                pos = next;
            }
        }
    }
    Ok(())
}

/// Reads a quoted string's content starting after the opening quote; returns
/// the unescaped bytes and the position after the closing quote. 8-bit bytes
/// are accepted (UTF-8 in quoted strings, as Dovecot does).
pub(super) fn read_quoted(text: &[u8], mut pos: usize) -> Result<(Vec<u8>, usize), String> {
    let mut out = Vec::new();
    loop {
        match text.get(pos) {
            None => return Err("Missing '\"'".into()),
            Some(b'"') => return Ok((out, pos + 1)),
            Some(b'\\') => match text.get(pos + 1) {
                Some(&c @ (b'"' | b'\\')) => {
                    out.push(c);
                    pos += 2;
                }
                _ => return Err("Invalid escape in quoted string".into()),
            },
            Some(b'\r' | b'\n' | 0) => {
                return Err("Invalid characters in quoted string".into());
            }
            Some(&c) => {
                out.push(c);
                pos += 1;
            }
        }
    }
}

/// Returns the end position of the atom starting at `start`.
fn read_atom(text: &[u8], start: usize) -> Result<usize, String> {
    let mut pos = start;
    while let Some(&b) = text.get(pos) {
        match b {
            b' ' | b'(' | b')' | b'"' | b'{' => break,
            _ if b < 0x20 || b == 0x7f => break,
            b'[' if is_section_prefix(text.get(start..pos).unwrap_or_default()) => {
                pos = skip_section(text, pos + 1)?;
            }
            _ => pos += 1,
        }
    }
    Ok(pos)
}

fn is_section_prefix(prefix: &[u8]) -> bool {
    SECTION_PREFIXES
        .iter()
        .any(|p| p.eq_ignore_ascii_case(prefix))
}

/// Skips a section spec's content (after `[`) through the closing `]`,
/// stepping over quoted strings; returns the position after `]`.
fn skip_section(text: &[u8], mut pos: usize) -> Result<usize, String> {
    loop {
        match text.get(pos) {
            None => return Err("Missing ']'".into()),
            Some(b']') => return Ok(pos + 1),
            Some(b'"') => {
                let (_, next) = read_quoted(text, pos + 1)?;
                pos = next;
            }
            Some(&b) if b < 0x20 || b == 0x7f => {
                return Err("Invalid characters in section".into());
            }
            Some(_) => pos += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(s: &str) -> Result<Vec<Arg>, String> {
        tokenize(vec![Part::Text(s.as_bytes().to_vec())], 0, 4)
    }
    fn atom(s: &str) -> Arg {
        Arg::Atom(s.as_bytes().to_vec())
    }

    #[test]
    fn atoms_quoted_lists() {
        assert_eq!(
            tok(r#"a "b c\"\\" (x (y)) \Seen"#).unwrap(),
            vec![
                atom("a"),
                Arg::Quoted(br#"b c"\"#.to_vec()),
                Arg::List(vec![atom("x"), Arg::List(vec![atom("y")])]),
                atom("\\Seen"),
            ]
        );
        assert_eq!(tok("()").unwrap(), vec![Arg::List(vec![])]);
        assert_eq!(
            tok("1:*,3 %/x*").unwrap(),
            vec![atom("1:*,3"), atom("%/x*")]
        );
        assert_eq!(
            tok("\"h\u{e9}\"").unwrap(),
            vec![Arg::Quoted("h\u{e9}".into())]
        );
    }

    #[test]
    fn sections_are_one_atom() {
        assert_eq!(
            tok("(BODY.PEEK[HEADER.FIELDS (A \"B\")]<0.10> UID)").unwrap(),
            vec![Arg::List(vec![
                atom("BODY.PEEK[HEADER.FIELDS (A \"B\")]<0.10>"),
                atom("UID")
            ])]
        );
        // Not a fetch att: brackets are plain atom chars.
        assert_eq!(tok("a[b c]").unwrap(), vec![atom("a[b"), atom("c]")]);
        assert_eq!(tok("BODY[TEXT").unwrap_err(), "Missing ']'");
    }

    #[test]
    fn errors() {
        assert_eq!(tok("(a").unwrap_err(), "Expected ')'");
        assert_eq!(tok("a)").unwrap_err(), "Unexpected ')'");
        assert_eq!(tok("\"abc").unwrap_err(), "Missing '\"'");
        assert_eq!(
            tok("\"a\\b\"").unwrap_err(),
            "Invalid escape in quoted string"
        );
        assert_eq!(
            tok("\"a\rb\"").unwrap_err(),
            "Invalid characters in quoted string"
        );
        assert_eq!(tok("a\x01").unwrap_err(), "Invalid characters in atom");
        assert_eq!(tok("((((a))))").unwrap(), tok("((((a))))").unwrap());
        assert_eq!(tok("(((((a)))))").unwrap_err(), "Too deep nesting");
        assert!(tok("a {3}").is_err());
    }

    #[test]
    fn literals_between_text() {
        let parts = vec![
            Part::Text(b"(a ".to_vec()),
            Part::Literal(LiteralData::Mem(b"x y".to_vec())),
            Part::Text(b" b)".to_vec()),
            Part::Literal8(LiteralData::Mem(b"\0".to_vec())),
        ];
        assert_eq!(
            tokenize(parts, 0, 64).unwrap(),
            vec![
                Arg::List(vec![
                    atom("a"),
                    Arg::Literal {
                        data: LiteralData::Mem(b"x y".to_vec()),
                        binary: false
                    },
                    atom("b")
                ]),
                Arg::Literal {
                    data: LiteralData::Mem(b"\0".to_vec()),
                    binary: true
                }
            ]
        );
    }
}
