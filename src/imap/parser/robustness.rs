//! Fuzz-like robustness tests with a fixed seed: many random and mutated
//! inputs go through the tokenizer/parser and the framer; nothing may panic,
//! the framer must always make progress, and no spooled file may leak.

use super::*;
use crate::imap::command::CommandBody;

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const CORPUS: &[&str] = &[
    "a1 CAPABILITY\r\n",
    "a LOGIN {4}\r\nfred \"sec ret\"\r\n",
    "a AUTHENTICATE PLAIN AGZvbwBiYXI=\r\n",
    "a SELECT INBOX\r\n",
    "a LIST \"\" %/*\r\n",
    "a STATUS INBOX (MESSAGES UNSEEN UIDNEXT)\r\n",
    "a APPEND x (\\Seen $k) \" 7-Feb-1994 21:52:25 -0800\" {5+}\r\nhello\r\n",
    "a APPEND x ~{3}\r\n\0\0\0\r\n",
    "a SEARCH CHARSET UTF-8 OR (FROM x SINCE 1-Jan-2000) NOT UID 1:*,5 HEADER X y\r\n",
    "a UID SEARCH 1,3:* LARGER 10 KEYWORD $Junk SUBJECT {3}\r\nabc\r\n",
    "a FETCH 1:* (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From \"To\")]<0.100> BODY[2.MIME] UID)\r\n",
    "a UID FETCH 1 FULL\r\n",
    "a STORE 1:3 +FLAGS.SILENT (\\Deleted kw)\r\n",
    "a UID COPY 1:* \"Sent Items\"\r\n",
    "a UID EXPUNGE 4:7\r\n",
    "a RENAME a b\r\nb NOOP\r\n",
];

const DICT: &[&[u8]] = &[
    b"(",
    b")",
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b"<",
    b">",
    b"*",
    b":",
    b",",
    b" ",
    b"\r\n",
    b"\n",
    b"\r",
    b"{3}\r\n",
    b"{2+}\r\n",
    b"~{1}\r\n",
    b"{99999999999999999999}\r\n",
    b"0",
    b"4294967296",
    b"NOT ",
    b"OR ",
    b"NIL",
    b"BODY[",
    b"\0",
    b"\xff",
    b"\xc3\xa9",
    b".",
    b"((((((((((",
    b"=",
    b"UID ",
    b"-",
];

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..=rng.below(4) {
        let pos = rng.below(v.len() + 1);
        match rng.below(5) {
            0 => {
                if let Some(b) = v.get_mut(pos) {
                    *b = rng.next() as u8;
                }
            }
            1 => {
                let d = DICT[rng.below(DICT.len())];
                v.splice(pos..pos, d.iter().copied());
            }
            2 => {
                let end = (pos + rng.below(8)).min(v.len());
                v.drain(pos..end);
            }
            3 => {
                let other = CORPUS[rng.below(CORPUS.len())].as_bytes();
                let from = rng.below(other.len());
                let to = (from + rng.below(20)).min(other.len());
                v.splice(pos..pos, other[from..to].iter().copied());
            }
            _ => {
                // Repeat a slice to stress nesting and lengths.
                let end = (pos + rng.below(4)).min(v.len());
                let piece = v[pos..end].to_vec();
                for _ in 0..rng.below(100) {
                    v.splice(pos..pos, piece.iter().copied());
                }
            }
        }
    }
    v
}

fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    (0..rng.below(64)).map(|_| rng.next() as u8).collect()
}

#[test]
fn parser_never_panics() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut ok = 0;
    for i in 0..30_000 {
        let input = if i % 5 == 0 {
            random_bytes(&mut rng)
        } else {
            let base = CORPUS[rng.below(CORPUS.len())].as_bytes();
            // Turn the wire form into fuzz form: literal markers become 0xFF.
            let mut v = mutate(&mut rng, base);
            if rng.below(2) == 0 {
                v.retain(|&b| b != b'\r' && b != b'\n');
            }
            v
        };
        let raw = raw_command_from_fuzz_input(&input);
        let limits = ParserLimits {
            max_nesting: 1 + rng.below(70),
        };
        if parse_command_with(raw, limits).is_ok() {
            ok += 1;
        }
    }
    // The mutations are mild enough that some inputs still parse.
    assert!(ok > 100, "only {ok} inputs parsed");
}

#[tokio::test]
async fn framer_never_panics_or_leaks() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5eed_5678_abcd_0002);
    let mut commands = 0;
    for i in 0..3_000 {
        let mut input = Vec::new();
        for _ in 0..=rng.below(3) {
            let base = CORPUS[rng.below(CORPUS.len())].as_bytes();
            if i % 7 == 0 {
                input.extend(random_bytes(&mut rng));
            } else {
                input.extend(mutate(&mut rng, base));
            }
        }
        let limits = FramerLimits {
            max_line: 1 + rng.below(200),
            max_literal: rng.below(50) as u64,
            max_mem_literal: rng.below(4),
        };
        let mut f = Framer::new(&input[..], limits);
        let mut out = Vec::new();
        // Every call consumes input, so this many calls always reach EOF.
        let mut finished = false;
        for _ in 0..=input.len() + 1 {
            match f.read_command(&mut out, Some(dir.path())).await {
                Ok(None) => {
                    finished = true;
                    break;
                }
                Ok(Some(raw)) => {
                    commands += 1;
                    if let Ok(Command {
                        body:
                            CommandBody::Append {
                                message: LiteralData::File { path, .. },
                                ..
                            },
                        ..
                    }) = parse_command(raw)
                    {
                        std::fs::remove_file(path).unwrap();
                    }
                }
                Err(e) if e.is_fatal() => {
                    finished = true;
                    break;
                }
                Err(_) => {}
            }
        }
        assert!(finished, "framer made no progress on {input:?}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "spooled file leaked for {input:?}"
        );
    }
    assert!(commands > 1000);
}
