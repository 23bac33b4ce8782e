//! The framer: reads one complete command (line text plus any literals) from
//! the client, enforcing size limits, answering synchronizing literals with a
//! continuation, and spooling big literals to files.
//!
//! Policy on limits (the session turns the errors into responses):
//! - text longer than `max_line` (all text lines of one command together,
//!   literals excluded): the rest of the line is read and discarded, and any
//!   LITERAL+ literals the client will send anyway are discarded too;
//!   [`FrameError::LineTooLong`] -> `<tag> BAD Command line too long`.
//! - a synchronizing literal above `max_literal` (or pushing the command's
//!   literal total above it): no continuation is sent, so the client sends
//!   nothing more for this command; [`FrameError::LiteralTooLarge`] ->
//!   `<tag> NO [TOOBIG] Literal too large`.
//! - a non-synchronizing literal above `max_literal`: the client is already
//!   sending the bytes and we will not read gigabytes to stay in sync, so
//!   this is fatal: [`FrameError::NonSyncLiteralTooLarge`] -> `* BYE`.
//!
//! Empty lines between commands are skipped silently. EOF before a command
//! starts is `Ok(None)`; EOF inside one is an `UnexpectedEof` I/O error and
//! any file already spooled for it is deleted.

use super::{extract_tag, Part, RawCommand};
use crate::imap::command::LiteralData;
use std::path::{Path, PathBuf};
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};

/// Read buffer size; also the chunk size for spooling literals to files.
const BUF_SIZE: usize = 64 * 1024;

/// Bytes kept from the end of an over-long line to spot a literal marker.
const TAIL_KEEP: usize = 32;

/// The continuation sent before a synchronizing literal.
const CONTINUATION: &[u8] = b"+ Ready for literal data\r\n";

/// Size limits the framer enforces while reading.
#[derive(Debug, Clone, Copy)]
pub struct FramerLimits {
    /// Longest line of command text (literals excluded).
    pub max_line: usize,
    /// Largest literal accepted (also the cap on all literals of a command).
    pub max_literal: u64,
    /// Literals above this many bytes are spooled to a file (when a spool
    /// directory is given), so APPEND never holds a big message in memory.
    pub max_mem_literal: usize,
}

/// Why a command could not be framed. Only [`FrameError::Io`] and
/// [`FrameError::NonSyncLiteralTooLarge`] are fatal (see `is_fatal`).
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Recoverable: answer `<tag> BAD Command line too long` (or `* BAD`).
    #[error("Command line too long")]
    LineTooLong { tag: Option<String> },
    /// Recoverable: answer `<tag> NO [TOOBIG] Literal too large`.
    #[error("Literal too large")]
    LiteralTooLarge { tag: Option<String> },
    /// Fatal: answer `* BYE [TOOBIG] Literal too large` and close.
    #[error("Non-synchronizing literal too large")]
    NonSyncLiteralTooLarge { tag: Option<String> },
}

impl FrameError {
    /// True when the connection cannot continue after this error.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            FrameError::Io(_) | FrameError::NonSyncLiteralTooLarge { .. }
        )
    }

    /// The command's tag, when it could be read.
    pub fn tag(&self) -> Option<&str> {
        match self {
            FrameError::Io(_) => None,
            FrameError::LineTooLong { tag }
            | FrameError::LiteralTooLarge { tag }
            | FrameError::NonSyncLiteralTooLarge { tag } => tag.as_deref(),
        }
    }
}

/// A literal marker found at the end of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Marker {
    /// Where the marker starts in the line (at `~` or `{`).
    start: usize,
    /// The announced size; None if it overflows u64.
    len: Option<u64>,
    sync: bool,
    binary: bool,
}

/// Finds `{n}`, `{n+}`, `~{n}` or `~{n+}` at the very end of `line`.
fn find_marker(line: &[u8]) -> Option<Marker> {
    let body = line.strip_suffix(b"}")?;
    let (body, sync) = match body.strip_suffix(b"+") {
        Some(b) => (b, false),
        None => (body, true),
    };
    let open = memchr::memrchr(b'{', body)?;
    let digits = body.get(open + 1..)?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let len = digits.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    });
    let binary = open > 0 && body.get(open - 1) == Some(&b'~');
    Some(Marker {
        start: if binary { open - 1 } else { open },
        len,
        sync,
        binary,
    })
}

/// How reading one line ended.
enum LineEnd {
    /// A full line is in the buffer (terminator stripped).
    Complete,
    /// The line exceeded its limit; the rest was discarded. Holds the last
    /// bytes of the line (terminator stripped).
    TooLong(Vec<u8>),
    /// EOF; true when some bytes of the line had been read.
    Eof(bool),
}

/// Deletes a file being spooled unless disarmed (also on cancellation).
struct SpoolGuard(Option<PathBuf>);

impl Drop for SpoolGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Reads complete commands (lines plus literals) from the client.
pub struct Framer<R> {
    reader: BufReader<R>,
    limits: FramerLimits,
    spool_seq: u64,
}

impl<R: AsyncRead + Unpin> Framer<R> {
    pub fn new(reader: R, limits: FramerLimits) -> Self {
        Framer {
            reader: BufReader::with_capacity(BUF_SIZE, reader),
            limits,
            spool_seq: 0,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> FramerLimits {
        self.limits
    }

    /// Bytes read from the client but not yet consumed.
    pub fn buffered(&self) -> usize {
        self.reader.buffer().len()
    }

    /// Drops input buffered but not yet consumed; used right after STARTTLS
    /// so plaintext pipelined behind it cannot be injected into the TLS
    /// session.
    pub fn discard_buffered(&mut self) {
        let n = self.reader.buffer().len();
        std::pin::Pin::new(&mut self.reader).consume(n);
    }

    pub fn get_ref(&self) -> &R {
        self.reader.get_ref()
    }

    pub fn get_mut(&mut self) -> &mut R {
        self.reader.get_mut()
    }

    /// The inner reader; buffered input is dropped.
    pub fn into_inner(self) -> R {
        self.reader.into_inner()
    }

    /// Reads one command. Sends `+ ` continuations for synchronizing
    /// literals on `w`. Returns Ok(None) at end of input.
    pub async fn read_command<W: AsyncWrite + Unpin>(
        &mut self,
        w: &mut W,
        spool: Option<&Path>,
    ) -> Result<Option<RawCommand>, FrameError> {
        // Built in place so that an error or a cancelled future deletes the
        // files spooled so far (RawCommand's Drop).
        let mut raw = RawCommand::default();
        let mut text_total = 0usize;
        let mut literal_total = 0u64;
        loop {
            let mut line = Vec::new();
            let limit = self.limits.max_line.saturating_sub(text_total);
            match self.read_line_limited(&mut line, limit).await? {
                LineEnd::Eof(partial) => {
                    if raw.parts.is_empty() && !partial {
                        return Ok(None);
                    }
                    return Err(FrameError::Io(std::io::ErrorKind::UnexpectedEof.into()));
                }
                LineEnd::TooLong(tail) => {
                    let tag = raw.tag().or_else(|| {
                        if raw.parts.is_empty() && line.contains(&b' ') {
                            extract_tag(&line)
                        } else {
                            None
                        }
                    });
                    drop(raw);
                    return Err(match self.discard_rest(find_marker(&tail)).await {
                        Ok(()) => FrameError::LineTooLong { tag },
                        Err(FrameError::NonSyncLiteralTooLarge { .. }) => {
                            FrameError::NonSyncLiteralTooLarge { tag }
                        }
                        Err(e) => e,
                    });
                }
                LineEnd::Complete => {}
            }
            if raw.parts.is_empty() && line.is_empty() {
                continue; // blank line between commands
            }
            text_total = text_total.saturating_add(line.len());
            let Some(m) = find_marker(&line) else {
                raw.parts.push(Part::Text(line));
                return Ok(Some(raw));
            };
            line.truncate(m.start);
            raw.parts.push(Part::Text(line));
            let len = match m.len {
                Some(len)
                    if len <= self.limits.max_literal
                        && literal_total.saturating_add(len) <= self.limits.max_literal =>
                {
                    len
                }
                _ => {
                    let tag = raw.tag();
                    return Err(if m.sync {
                        FrameError::LiteralTooLarge { tag }
                    } else {
                        FrameError::NonSyncLiteralTooLarge { tag }
                    });
                }
            };
            literal_total += len;
            if m.sync {
                w.write_all(CONTINUATION).await?;
                w.flush().await?;
            }
            let data = match spool {
                Some(dir) if len > self.limits.max_mem_literal as u64 => {
                    self.spool_literal(dir, len).await?
                }
                _ => LiteralData::Mem(self.read_mem_literal(len).await?),
            };
            raw.parts.push(if m.binary {
                Part::Literal8(data)
            } else {
                Part::Literal(data)
            });
        }
    }

    /// Reads one raw line (CRLF stripped), for AUTHENTICATE and IDLE.
    /// Returns Ok(None) at end of input; a line above `max_line` is
    /// discarded and reported as [`FrameError::LineTooLong`].
    pub async fn read_line(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let mut line = Vec::new();
        match self
            .read_line_limited(&mut line, self.limits.max_line)
            .await?
        {
            LineEnd::Complete => Ok(Some(line)),
            LineEnd::TooLong(_) => Err(FrameError::LineTooLong { tag: None }),
            LineEnd::Eof(_) => Ok(None),
        }
    }

    /// Appends one line (without CRLF or bare LF) to `line`, at most `limit`
    /// bytes of it; beyond that the line is consumed and discarded.
    async fn read_line_limited(
        &mut self,
        line: &mut Vec<u8>,
        limit: usize,
    ) -> std::io::Result<LineEnd> {
        let mut tail: Option<Vec<u8>> = None;
        let mut seen_any = false;
        loop {
            let buf = self.reader.fill_buf().await?;
            if buf.is_empty() {
                return Ok(LineEnd::Eof(seen_any));
            }
            seen_any = true;
            let (chunk, used, done) = match memchr::memchr(b'\n', buf) {
                Some(i) => (buf.get(..i).unwrap_or_default(), i + 1, true),
                None => (buf, buf.len(), false),
            };
            match tail.as_mut() {
                None if line.len() + chunk.len() <= limit.saturating_add(1) => {
                    // +1: a CR before LF does not count against the limit.
                    line.extend_from_slice(chunk);
                }
                None => {
                    // Over the limit: `line` keeps its beginning (for the
                    // tag), `tail` follows the end (for a literal marker).
                    let from = line.len().saturating_sub(TAIL_KEEP);
                    let mut t = line.get(from..).unwrap_or_default().to_vec();
                    t.extend_from_slice(chunk);
                    keep_tail(&mut t);
                    tail = Some(t);
                }
                Some(t) => {
                    t.extend_from_slice(chunk);
                    keep_tail(t);
                }
            }
            std::pin::Pin::new(&mut self.reader).consume(used);
            if done {
                break;
            }
        }
        match tail {
            Some(mut t) => {
                if t.last() == Some(&b'\r') {
                    t.pop();
                }
                Ok(LineEnd::TooLong(t))
            }
            None => {
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.len() > limit {
                    let from = line.len().saturating_sub(TAIL_KEEP);
                    return Ok(LineEnd::TooLong(
                        line.get(from..).unwrap_or_default().to_vec(),
                    ));
                }
                Ok(LineEnd::Complete)
            }
        }
    }

    /// After an over-long line: discards the LITERAL+ literals (and the lines
    /// after them) that the client sends regardless. A synchronizing literal
    /// ends the command, since we never send its continuation.
    async fn discard_rest(&mut self, mut marker: Option<Marker>) -> Result<(), FrameError> {
        while let Some(m) = marker {
            if m.sync {
                return Ok(());
            }
            let len = match m.len {
                Some(len) if len <= self.limits.max_literal => len,
                _ => return Err(FrameError::NonSyncLiteralTooLarge { tag: None }),
            };
            let skipped =
                tokio::io::copy(&mut (&mut self.reader).take(len), &mut tokio::io::sink()).await?;
            if skipped < len {
                return Err(FrameError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            let mut scratch = Vec::new();
            marker = match self.read_line_limited(&mut scratch, 0).await? {
                LineEnd::Eof(_) => {
                    return Err(FrameError::Io(std::io::ErrorKind::UnexpectedEof.into()))
                }
                LineEnd::Complete => None,
                LineEnd::TooLong(t) => find_marker(&t),
            };
        }
        Ok(())
    }

    async fn read_mem_literal(&mut self, len: u64) -> Result<Vec<u8>, FrameError> {
        // Grows as data arrives: a client announcing a big literal and
        // sending nothing does not make us allocate it all up front.
        let mut data =
            Vec::with_capacity(usize::try_from(len.min(BUF_SIZE as u64)).unwrap_or(BUF_SIZE));
        let got = (&mut self.reader).take(len).read_to_end(&mut data).await?;
        if (got as u64) < len {
            return Err(FrameError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        Ok(data)
    }

    /// Streams a literal into a new uniquely named file in `dir`, straight
    /// from the read buffer (64 KiB at a time).
    async fn spool_literal(&mut self, dir: &Path, len: u64) -> Result<LiteralData, FrameError> {
        self.spool_seq = self.spool_seq.wrapping_add(1);
        let name = format!(
            "bincimap-literal-{}-{}-{:016x}",
            std::process::id(),
            self.spool_seq,
            rand::random::<u64>()
        );
        let path = dir.join(name);
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        let mut guard = SpoolGuard(Some(path));
        let copied = tokio::io::copy_buf(&mut (&mut self.reader).take(len), &mut file).await?;
        if copied < len {
            return Err(FrameError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        file.flush().await?;
        drop(file);
        let path = guard.0.take().unwrap_or_default();
        Ok(LiteralData::File { path, len })
    }
}

/// Keeps only the last TAIL_KEEP bytes of `t`.
fn keep_tail(t: &mut Vec<u8>) {
    if t.len() > TAIL_KEEP {
        t.drain(..t.len() - TAIL_KEEP);
    }
}
