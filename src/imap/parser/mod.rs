//! Framing and parsing of client input: the [`Framer`] turns the byte stream
//! into complete commands (line text plus literals), the tokenizer turns a
//! [`RawCommand`] into a tree of arguments, and the command parser turns that
//! into a [`Command`].
//!
//! The design follows Dovecot's `imap-parser.c` in spirit: literal-aware,
//! incremental framing with hard limits, then a generic argument tree that
//! command-specific code interprets. We wrote our own instead of using
//! imap-codec 2.0 because that crate is still alpha and lacks ESEARCH,
//! LIST-EXTENDED and `CREATE ... USE`, all of which the roadmap needs; with
//! our own parser adding them is a local change (see the extension points in
//! `parse.rs`: `parse_select`, `parse_list`, `parse_search`).
//!
//! Ownership of spooled literals: a [`RawCommand`] deletes any spooled
//! literal files it still owns when dropped, and [`parse_command`] deletes
//! every spooled file except the one it hands back inside a successful
//! `APPEND`. So the only file the session must ever clean up is the one in
//! `CommandBody::Append::message` (if the handler does not rename it away).

mod framer;
mod parse;
mod tokenizer;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod robustness;

pub use framer::{FrameError, Framer, FramerLimits};
pub use tokenizer::{tokenize, Arg, DEFAULT_MAX_NESTING};

use crate::imap::command::{Command, LiteralData};

/// One piece of a command as framed: line text (line terminator and the
/// trailing literal marker `{n}` stripped) or a literal's bytes.
#[derive(Debug)]
pub enum Part {
    Text(Vec<u8>),
    /// A literal sent as `{n}` or `{n+}`.
    Literal(LiteralData),
    /// A literal8 sent as `~{n}` or `~{n+}` (RFC 3516 BINARY); may hold NULs.
    Literal8(LiteralData),
}

/// A whole command as received, before parsing. Dropping it deletes any
/// spooled literal files still in it.
#[derive(Debug, Default)]
pub struct RawCommand {
    pub parts: Vec<Part>,
}

impl RawCommand {
    /// The tag, if the command starts with a syntactically valid one.
    pub fn tag(&self) -> Option<String> {
        match self.parts.first() {
            Some(Part::Text(t)) => extract_tag(t),
            _ => None,
        }
    }
}

impl Drop for RawCommand {
    fn drop(&mut self) {
        for p in &self.parts {
            if let Part::Literal(LiteralData::File { path, .. })
            | Part::Literal8(LiteralData::File { path, .. }) = p
            {
                // Best effort: the file may already have been moved away.
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// How the session must answer a [`ParseError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// `<tag> BAD [code] message` (syntax error).
    Bad,
    /// `<tag> NO [code] message`: well-formed but refused, e.g. an unknown
    /// SEARCH charset (`NO [BADCHARSET (US-ASCII UTF-8)]`).
    No,
}

/// A syntax error; `tag` is set when the tag could be read. Without a tag the
/// session answers `* BAD message`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub tag: Option<String>,
    /// Response code without brackets, e.g. `BADCHARSET (US-ASCII UTF-8)`.
    pub code: Option<String>,
    pub message: String,
    pub kind: ErrorKind,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parser settings that come from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ParserLimits {
    /// Deepest parenthesis nesting (config `limits.max_nesting`).
    pub max_nesting: usize,
}

impl Default for ParserLimits {
    fn default() -> Self {
        ParserLimits {
            max_nesting: DEFAULT_MAX_NESTING,
        }
    }
}

/// Parses one framed command with the default limits.
pub fn parse_command(raw: RawCommand) -> Result<Command, ParseError> {
    parse_command_with(raw, ParserLimits::default())
}

/// Parses one framed command. On error every spooled literal file of `raw` is
/// deleted; on success only the APPEND message file (if any) survives.
pub fn parse_command_with(
    mut raw: RawCommand,
    limits: ParserLimits,
) -> Result<Command, ParseError> {
    let parts = std::mem::take(&mut raw.parts);
    let files: Vec<std::path::PathBuf> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Literal(LiteralData::File { path, .. })
            | Part::Literal8(LiteralData::File { path, .. }) => Some(path.clone()),
            _ => None,
        })
        .collect();
    let result = parse::parse(parts, limits);
    if !files.is_empty() {
        let keep = match &result {
            Ok(Command {
                body:
                    crate::imap::command::CommandBody::Append {
                        message: LiteralData::File { path, .. },
                        ..
                    },
                ..
            }) => Some(path.clone()),
            _ => None,
        };
        for f in files {
            if Some(&f) != keep.as_ref() {
                let _ = std::fs::remove_file(&f);
            }
        }
    }
    result
}

/// Builds a [`RawCommand`] from arbitrary bytes, for the fuzz target and
/// the robustness tests: 0xFF separates parts, which alternate text and
/// literal; a literal part starting with 0xFE becomes a literal8.
#[doc(hidden)]
pub fn raw_command_from_fuzz_input(data: &[u8]) -> RawCommand {
    let parts = data
        .split(|&b| b == 0xff)
        .enumerate()
        .map(|(i, seg)| {
            if i % 2 == 0 {
                Part::Text(seg.to_vec())
            } else if let Some(rest) = seg.strip_prefix(&[0xfe]) {
                Part::Literal8(LiteralData::Mem(rest.to_vec()))
            } else {
                Part::Literal(LiteralData::Mem(seg.to_vec()))
            }
        })
        .collect();
    RawCommand { parts }
}

/// True for bytes allowed in a tag: ASTRING-CHAR except `+` (RFC 3501).
pub(crate) fn is_tag_char(b: u8) -> bool {
    is_atom_char(b) && b != b'+' || b == b']'
}

/// RFC 3501 ATOM-CHAR: any 7-bit CHAR except atom-specials.
pub(crate) fn is_atom_char(b: u8) -> bool {
    (0x21..0x7f).contains(&b)
        && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// The tag at the start of a command line, if valid.
pub(crate) fn extract_tag(line: &[u8]) -> Option<String> {
    let end = memchr::memchr(b' ', line).unwrap_or(line.len());
    let tag = line.get(..end)?;
    if tag.is_empty() || !tag.iter().all(|&b| is_tag_char(b)) {
        return None;
    }
    // All tag chars are ASCII, so this cannot fail.
    String::from_utf8(tag.to_vec()).ok()
}
