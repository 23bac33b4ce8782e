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
//! `read_command` is not cancel-safe: if its future is dropped midway
//! (e.g. by a timeout) the partly read command is lost, so the session must
//! close the connection then. Spooled files are still deleted.
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

    /// The inner reader and the input buffered but not yet consumed, for
    /// handing a connection (with pipelined commands) to another process.
    pub fn into_parts(self) -> (R, Vec<u8>) {
        let pending = self.reader.buffer().to_vec();
        (self.reader.into_inner(), pending)
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
                    push_tail(&mut t, chunk);
                    tail = Some(t);
                    let room = limit.saturating_sub(line.len()).min(chunk.len());
                    line.extend_from_slice(chunk.get(..room).unwrap_or_default());
                }
                Some(t) => push_tail(t, chunk),
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

/// Appends `chunk` to `t`, keeping only the last TAIL_KEEP bytes (without
/// copying more of a big chunk than that).
fn push_tail(t: &mut Vec<u8>, chunk: &[u8]) {
    let from = chunk.len().saturating_sub(TAIL_KEEP);
    if from > 0 {
        t.clear();
    }
    t.extend_from_slice(chunk.get(from..).unwrap_or_default());
    if t.len() > TAIL_KEEP {
        t.drain(..t.len() - TAIL_KEEP);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: FramerLimits = FramerLimits {
        max_line: 100,
        max_literal: 1000,
        max_mem_literal: 10,
    };

    fn texts(raw: &RawCommand) -> Vec<String> {
        raw.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => format!("T:{}", String::from_utf8_lossy(t)),
                Part::Literal(LiteralData::Mem(m)) => format!("L:{}", String::from_utf8_lossy(m)),
                Part::Literal8(LiteralData::Mem(m)) => format!("L8:{}", String::from_utf8_lossy(m)),
                Part::Literal(LiteralData::File { len, .. })
                | Part::Literal8(LiteralData::File { len, .. }) => {
                    format!("F:{len}")
                }
            })
            .collect()
    }

    async fn next(
        f: &mut Framer<&[u8]>,
        out: &mut Vec<u8>,
    ) -> Result<Option<Vec<String>>, FrameError> {
        Ok(f.read_command(out, None).await?.map(|r| texts(&r)))
    }

    #[tokio::test]
    async fn pipelined_commands_and_literals() {
        let input: &[u8] =
            b"a NOOP\r\nb LOGIN {3}\r\nfoo {3+}\r\nbar\r\n\r\nc APPEND x ~{2}\r\n\0\n extra\nd CHECK\r\n";
        let mut f = Framer::new(input, LIMITS);
        let mut out = Vec::new();
        assert_eq!(
            next(&mut f, &mut out).await.unwrap().unwrap(),
            vec!["T:a NOOP"]
        );
        assert_eq!(
            next(&mut f, &mut out).await.unwrap().unwrap(),
            vec!["T:b LOGIN ", "L:foo", "T: ", "L:bar", "T:"]
        );
        // Exactly one continuation: the {3+} literal is non-synchronizing.
        assert_eq!(out, CONTINUATION);
        assert_eq!(
            next(&mut f, &mut out).await.unwrap().unwrap(),
            vec!["T:c APPEND x ", "L8:\0\n", "T: extra"]
        );
        assert_eq!(
            next(&mut f, &mut out).await.unwrap().unwrap(),
            vec!["T:d CHECK"]
        );
        assert!(next(&mut f, &mut out).await.unwrap().is_none());
    }

    #[test]
    fn markers() {
        let m = |s: &str| find_marker(s.as_bytes());
        assert_eq!(
            m("a {12}"),
            Some(Marker {
                start: 2,
                len: Some(12),
                sync: true,
                binary: false
            })
        );
        assert_eq!(
            m("a ~{0+}"),
            Some(Marker {
                start: 2,
                len: Some(0),
                sync: false,
                binary: true
            })
        );
        assert_eq!(m("a {99999999999999999999999}").map(|x| x.len), Some(None));
        assert_eq!(m("a {}"), None);
        assert_eq!(m("a {1a}"), None);
        assert_eq!(m("a {+}"), None);
        assert_eq!(m("a 1}"), None);
    }

    #[tokio::test]
    async fn line_too_long_is_recoverable() {
        let mut input = b"t1 SEARCH ".to_vec();
        input.extend(std::iter::repeat_n(b'x', 300));
        input.extend_from_slice(b"\r\nt2 NOOP\r\n");
        let mut f = Framer::new(&input[..], LIMITS);
        let mut out = Vec::new();
        match f.read_command(&mut out, None).await {
            Err(FrameError::LineTooLong { tag }) => assert_eq!(tag.as_deref(), Some("t1")),
            x => panic!("{x:?}"),
        }
        assert_eq!(
            next(&mut f, &mut out).await.unwrap().unwrap(),
            vec!["T:t2 NOOP"]
        );
        // Limit counts all text of one command, across literals.
        let mut input = b"t3 LOGIN {1}\r\nx ".to_vec();
        input.extend(std::iter::repeat_n(b'y', 95));
        input.extend_from_slice(b"\r\nt4 NOOP\r\n");
        let mut f = Framer::new(&input[..], LIMITS);
        match f.read_command(&mut out, None).await {
            Err(e @ FrameError::LineTooLong { .. }) => {
                assert_eq!(e.tag(), Some("t3"));
                assert!(!e.is_fatal());
            }
            x => panic!("{x:?}"),
        }
        assert_eq!(
            next(&mut f, &mut out).await.unwrap().unwrap(),
            vec!["T:t4 NOOP"]
        );
    }

    #[tokio::test]
    async fn line_too_long_skips_nonsync_literals() {
        let mut input = b"t1 X ".to_vec();
        input.extend(std::iter::repeat_n(b'x', 300));
        input.extend_from_slice(b" {5+}\r\n12\r\n4 {2+}\r\n\r\n\r\nt2 NOOP\r\n");
        let mut f = Framer::new(&input[..], LIMITS);
        let mut out = Vec::new();
        assert!(matches!(
            f.read_command(&mut out, None).await,
            Err(FrameError::LineTooLong { .. })
        ));
        assert_eq!(
            next(&mut f, &mut out).await.unwrap().unwrap(),
            vec!["T:t2 NOOP"]
        );
        assert!(out.is_empty());
    }

    #[tokio::test]
    async fn literal_too_large() {
        let input: &[u8] = b"t1 APPEND x {1001}\r\nt2 NOOP\r\n";
        let mut f = Framer::new(input, LIMITS);
        let mut out = Vec::new();
        match f.read_command(&mut out, None).await {
            Err(e @ FrameError::LiteralTooLarge { .. }) => {
                assert_eq!(e.tag(), Some("t1"));
                assert!(!e.is_fatal());
            }
            x => panic!("{x:?}"),
        }
        assert!(out.is_empty(), "no continuation for a refused literal");
        assert_eq!(
            next(&mut f, &mut out).await.unwrap().unwrap(),
            vec!["T:t2 NOOP"]
        );

        // The cap applies to all literals of a command together.
        let input: &[u8] = b"t1 X {600}\r\n";
        let mut big = input.to_vec();
        big.extend(std::iter::repeat_n(b'a', 600));
        big.extend_from_slice(b" {600}\r\nt2 NOOP\r\n");
        let mut f = Framer::new(&big[..], LIMITS);
        assert!(matches!(
            f.read_command(&mut out, None).await,
            Err(FrameError::LiteralTooLarge { .. })
        ));
        assert_eq!(
            next(&mut f, &mut out).await.unwrap().unwrap(),
            vec!["T:t2 NOOP"]
        );

        let input: &[u8] = b"t1 APPEND x {1001+}\r\nxxxx";
        let mut f = Framer::new(input, LIMITS);
        match f.read_command(&mut out, None).await {
            Err(e @ FrameError::NonSyncLiteralTooLarge { .. }) => {
                assert_eq!(e.tag(), Some("t1"));
                assert!(e.is_fatal());
            }
            x => panic!("{x:?}"),
        }
        let input: &[u8] = b"t1 APPEND x {99999999999999999999999}\r\n";
        let mut f = Framer::new(input, LIMITS);
        assert!(matches!(
            f.read_command(&mut out, None).await,
            Err(FrameError::LiteralTooLarge { .. })
        ));
    }

    #[tokio::test]
    async fn eof_handling() {
        let mut out = Vec::new();
        let mut f = Framer::new(&b""[..], LIMITS);
        assert!(next(&mut f, &mut out).await.unwrap().is_none());
        let mut f = Framer::new(&b"\r\n\r\n"[..], LIMITS);
        assert!(next(&mut f, &mut out).await.unwrap().is_none());
        for input in [&b"a NOOP"[..], b"a LOGIN {5}\r\nab", b"a LOGIN {1}\r\na"] {
            let mut f = Framer::new(input, LIMITS);
            match f.read_command(&mut out, None).await {
                Err(FrameError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof),
                x => panic!("{input:?}: {x:?}"),
            }
        }
    }

    #[tokio::test]
    async fn spooling() {
        let dir = tempfile::tempdir().unwrap();
        let mut input = b"a APPEND x {20}\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'm', 20));
        input.extend_from_slice(b" {3}\r\nabc\r\n");
        let mut f = Framer::new(&input[..], LIMITS);
        let mut out = Vec::new();
        let raw = f
            .read_command(&mut out, Some(dir.path()))
            .await
            .unwrap()
            .unwrap();
        // Small literals stay in memory; big ones are files.
        assert_eq!(
            texts(&raw),
            vec!["T:a APPEND x ", "F:20", "T: ", "L:abc", "T:"]
        );
        let Some(Part::Literal(LiteralData::File { path, .. })) = raw.parts.get(1) else {
            panic!()
        };
        assert!(path.starts_with(dir.path()));
        assert_eq!(std::fs::read(path).unwrap(), vec![b'm'; 20]);
        let path = path.clone();
        drop(raw);
        assert!(!path.exists(), "dropping a RawCommand deletes its files");

        // A successful APPEND keeps its file.
        let mut input = b"a APPEND x {20}\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'm', 20));
        input.extend_from_slice(b"\r\nb APPEND x {20}\r\n");
        input.extend(std::iter::repeat_n(b'm', 20));
        input.extend_from_slice(b" junk\r\nc LOGIN {11}\r\n");
        input.extend(std::iter::repeat_n(b'u', 11));
        input.extend_from_slice(b" p\r\nd APPEND x {20}\r\nshort");
        let mut f = Framer::new(&input[..], LIMITS);
        let raw = f
            .read_command(&mut out, Some(dir.path()))
            .await
            .unwrap()
            .unwrap();
        let cmd = super::super::parse_command(raw).unwrap();
        let crate::imap::command::CommandBody::Append {
            message: LiteralData::File { path, len },
            ..
        } = cmd.body
        else {
            panic!("{cmd:?}")
        };
        assert_eq!(len, 20);
        assert_eq!(std::fs::read(&path).unwrap().len(), 20);
        std::fs::remove_file(&path).unwrap();
        // A parse error deletes the spooled file.
        let raw = f
            .read_command(&mut out, Some(dir.path()))
            .await
            .unwrap()
            .unwrap();
        assert!(super::super::parse_command(raw).is_err());
        // A spooled literal where a string is expected is refused.
        let raw = f
            .read_command(&mut out, Some(dir.path()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            super::super::parse_command(raw).unwrap_err().message,
            "Invalid user name: too long"
        );
        // EOF in the middle of a spooled literal deletes the file.
        assert!(matches!(
            f.read_command(&mut out, Some(dir.path())).await,
            Err(FrameError::Io(_))
        ));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn read_line_and_discard() {
        let input: &[u8] = b"dGVzdA==\r\nDONE\nSTARTTLS-injected\r\n";
        let mut f = Framer::new(input, LIMITS);
        assert_eq!(f.read_line().await.unwrap().unwrap(), b"dGVzdA==");
        assert_eq!(f.read_line().await.unwrap().unwrap(), b"DONE");
        assert!(f.buffered() > 0);
        f.discard_buffered();
        assert_eq!(f.buffered(), 0);
        assert!(f.read_line().await.unwrap().is_none());
        let long = vec![b'x'; 200];
        let mut input = long.clone();
        input.extend_from_slice(b"\r\nok\r\n");
        let mut f = Framer::new(&input[..], LIMITS);
        assert!(matches!(
            f.read_line().await,
            Err(FrameError::LineTooLong { tag: None })
        ));
        assert_eq!(f.read_line().await.unwrap().unwrap(), b"ok");
    }

    #[tokio::test]
    async fn continuation_is_flushed_before_literal() {
        // Over a duplex pipe: the client only sends the literal after it has
        // seen the continuation, as a real synchronizing client would.
        let (client, server) = tokio::io::duplex(64);
        let (sr, mut sw) = tokio::io::split(server);
        let (mut cr, mut cw) = tokio::io::split(client);
        let client = tokio::spawn(async move {
            cw.write_all(b"a LOGIN {4}\r\n").await.unwrap();
            let mut buf = vec![0u8; CONTINUATION.len()];
            cr.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, CONTINUATION);
            cw.write_all(b"user pass\r\n").await.unwrap();
        });
        let mut f = Framer::new(sr, LIMITS);
        let raw = f.read_command(&mut sw, None).await.unwrap().unwrap();
        assert_eq!(texts(&raw), vec!["T:a LOGIN ", "L:user", "T: pass"]);
        client.await.unwrap();
    }
}
