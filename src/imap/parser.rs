//! Framing and parsing of client input (stub; being written).

use crate::imap::command::{Command, LiteralData};

/// One piece of a command as framed: line text (CRLF stripped) or a literal.
#[derive(Debug)]
pub enum Part {
    Text(Vec<u8>),
    Literal(LiteralData),
}

/// A whole command as received, before parsing.
#[derive(Debug, Default)]
pub struct RawCommand {
    pub parts: Vec<Part>,
}

/// A syntax error; `tag` is set when the tag could be read.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub tag: Option<String>,
    pub code: Option<String>,
    pub message: String,
}

pub fn parse_command(raw: RawCommand) -> Result<Command, ParseError> {
    let _ = raw;
    todo!()
}

/// Size limits the framer enforces while reading.
#[derive(Debug, Clone, Copy)]
pub struct FramerLimits {
    /// Longest line of command text (literals excluded).
    pub max_line: usize,
    /// Largest literal accepted.
    pub max_literal: u64,
    /// Literals above this many bytes are spooled to a file (when a spool
    /// directory is given), so APPEND never holds a big message in memory.
    pub max_mem_literal: usize,
}

#[derive(Debug)]
pub enum FrameError {
    Io(std::io::Error),
}

/// Reads complete commands (lines plus literals) from the client.
pub struct Framer<R> {
    reader: R,
    limits: FramerLimits,
}

impl<R: tokio::io::AsyncRead + Unpin> Framer<R> {
    pub fn new(reader: R, limits: FramerLimits) -> Self {
        Framer { reader, limits }
    }

    /// Reads one command. Sends `+ ` continuations for synchronizing
    /// literals on `w`. Returns Ok(None) at end of input.
    pub async fn read_command<W: tokio::io::AsyncWrite + Unpin>(
        &mut self,
        w: &mut W,
        spool: Option<&std::path::Path>,
    ) -> Result<Option<RawCommand>, FrameError> {
        let _ = (w, spool, &self.reader, self.limits);
        todo!()
    }

    /// Reads one raw line (CRLF stripped), for AUTHENTICATE and IDLE.
    pub async fn read_line(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        todo!()
    }
}
