//! The legacy Binc IMAP `bincimap.conf` reader: parses Binc's
//! `Section { key words = value, ... }` syntax and maps the keys onto our
//! [`Config`], with one warning (naming file, line, section and key) for
//! every key that has no effect here.
//!
//! Syntax, as Binc's config parser accepted it: a section is one or more
//! words followed by `{ ... }`; an entry is words, `=`, and a value that is
//! `"quoted"` (backslash escapes), `<hex bytes>` or a bare word; entries are
//! separated by `,` (optional). Comments: `//` and `#` and `;` to the end of
//! the line, `/* ... */`. Later entries win over earlier ones.

use std::path::Path;

use super::{Config, ConfigError, LogTarget, MIN_AUTH_TIMEOUT, MIN_IDLE_TIMEOUT};

/// One `key = value` inside a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub section: String,
    pub key: String,
    pub value: String,
    /// 1-based line of the key.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Str(String),
    LBrace,
    RBrace,
    Eq,
    Comma,
}

/// A syntax error: line and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, SyntaxError> {
    Err(SyntaxError {
        line,
        message: message.into(),
    })
}

fn tokenize(text: &str) -> Result<Vec<(Tok, usize)>, SyntaxError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0usize;
    let mut line = 1usize;
    let at = |j: usize| chars.get(j).copied();
    while let Some(c) = at(i) {
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '/' if at(i + 1) == Some('/') => {
                while at(i).is_some_and(|c| c != '\n') {
                    i += 1;
                }
            }
            '#' | ';' => {
                while at(i).is_some_and(|c| c != '\n') {
                    i += 1;
                }
            }
            '/' if at(i + 1) == Some('*') => {
                let start = line;
                i += 2;
                loop {
                    match at(i) {
                        None => return err(start, "unterminated /* comment"),
                        Some('*') if at(i + 1) == Some('/') => {
                            i += 2;
                            break;
                        }
                        Some('\n') => {
                            line += 1;
                            i += 1;
                        }
                        Some(_) => i += 1,
                    }
                }
            }
            '{' | '}' | '=' | ',' => {
                let t = match c {
                    '{' => Tok::LBrace,
                    '}' => Tok::RBrace,
                    '=' => Tok::Eq,
                    _ => Tok::Comma,
                };
                out.push((t, line));
                i += 1;
            }
            '"' => {
                let start = line;
                let mut s = String::new();
                i += 1;
                loop {
                    match at(i) {
                        None => return err(start, "unterminated quoted string"),
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('\\') => {
                            match at(i + 1) {
                                Some('n') => s.push('\n'),
                                Some('t') => s.push('\t'),
                                Some(e) => s.push(e),
                                None => return err(start, "unterminated quoted string"),
                            }
                            i += 2;
                        }
                        Some(ch) => {
                            if ch == '\n' {
                                line += 1;
                            }
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push((Tok::Str(s), start));
            }
            '<' => {
                let start = line;
                let mut hex = String::new();
                i += 1;
                loop {
                    match at(i) {
                        None => return err(start, "unterminated <hex> value"),
                        Some('>') => {
                            i += 1;
                            break;
                        }
                        Some(h) if h.is_ascii_hexdigit() => {
                            hex.push(h);
                            i += 1;
                        }
                        Some(h) if h.is_whitespace() => {
                            if h == '\n' {
                                line += 1;
                            }
                            i += 1;
                        }
                        Some(h) => return err(line, format!("{h:?} in <hex> value")),
                    }
                }
                out.push((Tok::Str(decode_hex(&hex, start)?), start));
            }
            _ => {
                let mut w = String::new();
                while let Some(ch) = at(i) {
                    let comment = ch == '/' && matches!(at(i + 1), Some('/') | Some('*'));
                    if ch.is_whitespace() || "{}=,\"<#;".contains(ch) || comment {
                        break;
                    }
                    w.push(ch);
                    i += 1;
                }
                out.push((Tok::Word(w), line));
            }
        }
    }
    Ok(out)
}

fn decode_hex(hex: &str, line: usize) -> Result<String, SyntaxError> {
    if !hex.len().is_multiple_of(2) {
        return err(line, "odd number of digits in <hex> value");
    }
    let bytes: Vec<u8> = hex
        .as_bytes()
        .chunks(2)
        .filter_map(|p| std::str::from_utf8(p).ok())
        .filter_map(|p| u8::from_str_radix(p, 16).ok())
        .collect();
    String::from_utf8(bytes).or_else(|_| err(line, "<hex> value is not UTF-8"))
}

/// Parses the file into entries, in order.
pub fn parse_entries(text: &str) -> Result<Vec<Entry>, SyntaxError> {
    let toks = tokenize(text)?;
    let mut it = toks.into_iter().peekable();
    let mut entries = Vec::new();
    let last_line = text.lines().count().max(1);
    // Collects consecutive words into one name ("allow plain auth ...").
    let words = |it: &mut std::iter::Peekable<std::vec::IntoIter<(Tok, usize)>>| {
        let mut name: Vec<String> = Vec::new();
        let mut line = None;
        while let Some((Tok::Word(_), l)) = it.peek() {
            line.get_or_insert(*l);
            if let Some((Tok::Word(w), _)) = it.next() {
                name.push(w);
            }
        }
        (name.join(" "), line)
    };
    while it.peek().is_some() {
        let (section, sline) = words(&mut it);
        let Some(sline) = sline else {
            let l = it.peek().map(|(_, l)| *l).unwrap_or(last_line);
            return err(l, "expected a section name");
        };
        match it.next() {
            Some((Tok::LBrace, _)) => {}
            Some((_, l)) => return err(l, format!("expected '{{' after section {section:?}")),
            None => return err(sline, format!("expected '{{' after section {section:?}")),
        }
        loop {
            match it.peek() {
                Some((Tok::RBrace, _)) => {
                    it.next();
                    break;
                }
                Some((Tok::Comma, _)) => {
                    it.next();
                    continue;
                }
                None => {
                    return err(
                        sline,
                        format!("section {section:?} is not closed with '}}'"),
                    )
                }
                _ => {}
            }
            let (key, kline) = words(&mut it);
            let Some(kline) = kline else {
                let l = it.peek().map(|(_, l)| *l).unwrap_or(last_line);
                return err(l, format!("expected a key in section {section:?}"));
            };
            match it.next() {
                Some((Tok::Eq, _)) => {}
                _ => return err(kline, format!("expected '=' after {key:?}")),
            }
            let value = match it.next() {
                Some((Tok::Str(s), _)) | Some((Tok::Word(s), _)) => s,
                _ => return err(kline, format!("expected a value for {key:?}")),
            };
            entries.push(Entry {
                section: section.clone(),
                key,
                value,
                line: kline,
            });
        }
    }
    Ok(entries)
}

/// True when `text` (from `path`) is a Binc config rather than TOML: the
/// name ends in `.conf`, or the file starts with `Words {`.
pub fn is_legacy(path: &Path, text: &str) -> bool {
    if path.extension().is_some_and(|e| e == "conf") {
        return true;
    }
    let Ok(toks) = tokenize(text) else {
        return false;
    };
    let mut words = 0;
    for (t, _) in toks {
        match t {
            Tok::Word(w) if !w.starts_with('[') => words += 1,
            Tok::LBrace => return words > 0,
            _ => return false,
        }
    }
    false
}

/// A Binc yes/no; Binc itself treated everything but "yes" as no.
fn yes_no(e: &Entry, warn: &mut Vec<String>, path: &Path) -> bool {
    match e.value.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" => true,
        "no" | "false" | "0" | "" => false,
        _ => {
            warn.push(format!(
                "{}: value {:?} is not yes or no; taken as no",
                place(path, e),
                e.value
            ));
            false
        }
    }
}

fn number(e: &Entry, path: &Path) -> Result<u64, ConfigError> {
    e.value
        .trim()
        .parse::<u64>()
        .map_err(|_| ConfigError::Invalid {
            path: Some(path.to_path_buf()),
            line: Some(e.line),
            key: format!("{} {{ {} }}", e.section, e.key),
            message: format!("{:?} is not a number of seconds", e.value),
        })
}

/// `file:line: Section: key` for warnings.
fn place(path: &Path, e: &Entry) -> String {
    format!("{}:{}: {}: {}", path.display(), e.line, e.section, e.key)
}

/// Normalises a name for matching: lower case, single spaces.
fn norm(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

/// Maps parsed Binc settings onto the defaults; returns the configuration
/// and one warning per key without effect.
pub fn map_entries(entries: &[Entry], path: &Path) -> Result<(Config, Vec<String>), ConfigError> {
    let mut cfg = Config::default();
    let mut warn: Vec<String> = Vec::new();
    // Our dotted key -> the legacy line that set it, for validation errors.
    let mut lines: Vec<(&'static str, usize)> = Vec::new();
    for e in entries {
        let section = norm(&e.section);
        let key = norm(&e.key);
        let value = e.value.trim();
        let no_effect = |why: &str| format!("{}: no effect: {why}", place(path, e));
        match (section.as_str(), key.as_str()) {
            ("authentication", "allow plain auth in non ssl") => {
                cfg.auth.allow_plaintext = yes_no(e, &mut warn, path);
            }
            ("authentication", "auth penalty") => {
                cfg.auth.penalty_seconds = number(e, path)?;
                lines.push(("auth.penalty_seconds", e.line));
            }
            ("authentication", "disable starttls") => {
                cfg.tls.disable_starttls = yes_no(e, &mut warn, path);
            }
            ("log", "type") => match value.to_ascii_lowercase().as_str() {
                "syslog" => cfg.log.target = LogTarget::Syslog,
                "multilog" | "stderr" => cfg.log.target = LogTarget::Stderr,
                _ => warn.push(no_effect(&format!(
                    "unknown log type {value:?} (syslog, multilog or stderr); logging to stderr"
                ))),
            },
            ("log", "syslog facility") => {
                let f = value.to_ascii_lowercase();
                let f = f.strip_prefix("log_").unwrap_or(&f).to_string();
                if crate::server::log::valid_facility(&f) {
                    cfg.log.facility = f;
                } else {
                    warn.push(no_effect(&format!(
                        "unknown syslog facility {value:?}; using {:?}",
                        cfg.log.facility
                    )));
                }
            }
            ("log", "environment ip variable") => {
                if value != "TCPREMOTEIP" {
                    warn.push(no_effect(
                        "the peer address is always taken from TCPREMOTEIP (or the socket)",
                    ));
                }
            }
            ("mailbox", "depot") => {
                if !value.eq_ignore_ascii_case("Maildir++") {
                    warn.push(no_effect(&format!(
                        "depot {value:?} is not supported; mail is kept as Maildir++"
                    )));
                }
            }
            ("mailbox", "type") => {
                if !value.eq_ignore_ascii_case("Maildir") {
                    warn.push(no_effect(&format!(
                        "mailbox type {value:?} is not supported; only Maildir"
                    )));
                }
            }
            ("mailbox", "path") => {
                cfg.mailbox.path = value.to_string();
                lines.push(("mailbox.path", e.line));
            }
            ("mailbox", "auto create inbox") => {
                cfg.mailbox.auto_create_inbox = yes_no(e, &mut warn, path);
            }
            ("mailbox", "auto subscribe mailboxes") => {
                cfg.mailbox.auto_subscribe = value
                    .split(',')
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .map(String::from)
                    .collect();
            }
            ("mailbox", "umask") => warn.push(no_effect(
                "mail files and directories are always created private to the user",
            )),
            ("session", "idle timeout") => {
                let v = number(e, path)?;
                if v < MIN_IDLE_TIMEOUT {
                    warn.push(format!(
                        "{}: {v} raised to {MIN_IDLE_TIMEOUT} (RFC 3501 §5.4 minimum)",
                        place(path, e)
                    ));
                }
                cfg.session.idle_timeout = v.max(MIN_IDLE_TIMEOUT);
            }
            ("session", "auth timeout") => {
                let v = number(e, path)?;
                if v < MIN_AUTH_TIMEOUT {
                    warn.push(format!(
                        "{}: {v} raised to {MIN_AUTH_TIMEOUT}",
                        place(path, e)
                    ));
                }
                cfg.session.auth_timeout = v.max(MIN_AUTH_TIMEOUT);
            }
            ("session", "transfer timeout") => {
                warn.push(no_effect("the idle timeout covers stalled transfers"))
            }
            ("session", "transfer buffer size") => {
                warn.push(no_effect("buffers are sized automatically"))
            }
            ("security", _) => warn.push(no_effect(
                "no chroot jail; privileges are dropped as configured by the service",
            )),
            ("ssl", "pem file") => {
                // Binc's PEM file holds the certificate and the key together;
                // the TLS loader picks each out of the same file.
                if !value.is_empty() {
                    let base = path.parent().unwrap_or(Path::new("."));
                    let pem = base.join(value);
                    cfg.tls.cert_file = Some(pem.clone());
                    cfg.tls.key_file = Some(pem);
                }
            }
            ("ssl", _) => warn.push(no_effect(
                "TLS uses rustls with its own safe defaults (TLS 1.2+, no client certificates)",
            )),
            _ => warn.push(format!("{}: unknown key, ignored", place(path, e))),
        }
    }
    cfg.validate()
        .map_err(|(key, message)| ConfigError::Invalid {
            path: Some(path.to_path_buf()),
            line: lines.iter().rev().find(|(k, _)| *k == key).map(|(_, l)| *l),
            key: key.to_string(),
            message,
        })?;
    Ok((cfg, warn))
}

/// Parses and maps legacy config text; `path` is used in messages.
pub fn parse(text: &str, path: &Path) -> Result<(Config, Vec<String>), ConfigError> {
    let entries = parse_entries(text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        line: Some(e.line),
        column: None,
        message: e.message,
    })?;
    map_entries(&entries, path)
}

/// Loads a config file of either kind: a Binc `bincimap.conf` (see
/// [`is_legacy`]) with its warnings, or our TOML with none.
pub fn load_any(path: &Path) -> Result<(Config, Vec<String>), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if is_legacy(path, &text) {
        parse(&text, path)
    } else {
        Config::load(path).map(|c| (c, Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Close to the bincimap.conf Binc IMAP 1.2 shipped.
    const BINC: &str = r#"/* -*- mode:c++;c-basic-offset:4 -*- */
/* --------------------------------------------------------------------
 *  Filename:
 *    bincimap.conf
 *  Description:
 *    Configuration file for Binc IMAP
 * ------------------------------------------------------------------ */

//----------------------------------------------------------------------
Authentication {
    allow plain auth in non ssl = "yes",  /* allow plaintext login */
    auth penalty = 2,                     // seconds
    disable starttls = "no"
}

//----------------------------------------------------------------------
Security {
    jail path = "/bin",
    jail user = "nobody",
    jail group = "nobody"
}

//----------------------------------------------------------------------
Log {
    type = "syslog",
    environment ip variable = "TCPREMOTEIP",
    syslog facility = "LOG_DAEMON"
}

//----------------------------------------------------------------------
Mailbox {
    depot = "Maildir++",
    type = "Maildir",
    path = "Mail",
    auto create inbox = "yes",
    auto subscribe mailboxes = "INBOX,INBOX/Sent,INBOX/Drafts",
    umask = "077"
}

//----------------------------------------------------------------------
Session {
    idle timeout = 3600,
    auth timeout = 30,
    transfer timeout = 1200,
    transfer buffer size = 1024
}

//----------------------------------------------------------------------
SSL {
    pem file = "/usr/local/etc/bincimap.pem",
    ca file = "",
    cipher list = "!ADH:RC4+RSA:HIGH:MEDIUM:LOW:EXP:+SSLv2:+EXP",
    verify peer = "no"
}
"#;

    fn p() -> &'static Path {
        Path::new("bincimap.conf")
    }

    #[test]
    fn realistic_file_maps_and_warns() {
        let (c, w) = parse(BINC, p()).unwrap();
        assert!(c.auth.allow_plaintext);
        assert_eq!(c.auth.penalty_seconds, 2);
        assert_eq!(c.log.target, LogTarget::Syslog);
        assert_eq!(c.log.facility, "daemon");
        assert_eq!(c.mailbox.path, "Mail");
        assert!(c.mailbox.auto_create_inbox);
        assert_eq!(
            c.mailbox.auto_subscribe,
            vec!["INBOX", "INBOX/Sent", "INBOX/Drafts"]
        );
        assert_eq!(c.session.idle_timeout, 3600);
        assert_eq!(c.session.auth_timeout, 30);
        // One warning per key without effect, each naming its key and line.
        assert!(!c.tls.disable_starttls);
        let pem = Some(std::path::PathBuf::from("/usr/local/etc/bincimap.pem"));
        assert_eq!(c.tls.cert_file, pem);
        assert_eq!(c.tls.key_file, pem);
        let keys = [
            ("jail path", 18),
            ("jail user", 19),
            ("jail group", 20),
            ("umask", 37),
            ("transfer timeout", 44),
            ("transfer buffer size", 45),
            ("ca file", 51),
            ("cipher list", 52),
            ("verify peer", 53),
        ];
        assert_eq!(w.len(), keys.len(), "{w:#?}");
        for (k, line) in keys {
            assert!(
                w.iter()
                    .any(|l| l.contains(&format!(":{line}: ")) && l.contains(&format!(": {k}: "))),
                "{k} at {line}: {w:#?}"
            );
        }
    }

    #[test]
    fn syntax_forms() {
        let e = parse_entries(
            "Mailbox { path = Maildir  auto create inbox = <796573> ; trailing comment\n # more\n}\n\
             Session{idle timeout=2000,}",
        )
        .unwrap();
        let kv: Vec<(&str, &str, &str)> = e
            .iter()
            .map(|e| (e.section.as_str(), e.key.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(
            kv,
            vec![
                ("Mailbox", "path", "Maildir"),
                ("Mailbox", "auto create inbox", "yes"),
                ("Session", "idle timeout", "2000"),
            ]
        );
        let e = parse_entries("A { k = \"q\\\"uote\" }").unwrap();
        assert_eq!(e.first().unwrap().value, "q\"uote");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        for (text, line) in [
            ("A {\n k = \"open\n", 2),
            ("A {\n k = 1\n", 1),
            ("A {\n k 1\n}", 2),
            ("\n/* never closed", 2),
            ("A {\n k = <4>\n}", 2),
            ("= {}", 1),
        ] {
            let e = parse_entries(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e:?}");
        }
        let e = parse("X {\n a = b\n", p()).unwrap_err();
        assert!(e.to_string().starts_with("bincimap.conf:1:"), "{e}");
    }

    #[test]
    fn unknown_keys_and_bad_values() {
        let (c, w) = parse(
            "Mailbox { auto create inbox = \"maybe\", depot = \"IMAPdir\" }\nFoo { bar = 1 }\nSession { idle timeout = 60 }",
            p(),
        )
        .unwrap();
        assert!(!c.mailbox.auto_create_inbox);
        assert_eq!(c.session.idle_timeout, MIN_IDLE_TIMEOUT);
        assert_eq!(w.len(), 4, "{w:#?}");
        assert!(
            w.iter().any(|l| l.contains("Foo: bar: unknown key")),
            "{w:#?}"
        );
        assert!(w
            .iter()
            .any(|l| l.contains("depot") && l.contains("IMAPdir")));
        let e = parse("Authentication {\n auth penalty = soon\n}", p()).unwrap_err();
        assert!(
            matches!(e, ConfigError::Invalid { line: Some(2), .. }),
            "{e}"
        );
        let e = parse("Authentication {\n auth penalty = 600\n}", p()).unwrap_err();
        assert!(
            matches!(&e, ConfigError::Invalid { line: Some(2), key, .. } if key == "auth.penalty_seconds"),
            "{e}"
        );
    }

    #[test]
    fn tls_keys() {
        let (c, w) = parse(
            "Authentication { disable starttls = \"yes\" }\nSSL { pem file = \"certs/b.pem\" }\n",
            Path::new("/etc/binc/bincimap.conf"),
        )
        .unwrap();
        assert!(w.is_empty(), "{w:#?}");
        assert!(c.tls.disable_starttls);
        let pem = Some(std::path::PathBuf::from("/etc/binc/certs/b.pem"));
        assert_eq!(c.tls.cert_file, pem);
        assert_eq!(c.tls.key_file, pem);
    }

    #[test]
    fn detection() {
        assert!(is_legacy(Path::new("x.conf"), ""));
        assert!(is_legacy(Path::new("x"), BINC));
        assert!(!is_legacy(
            Path::new("x.toml"),
            "[auth]\nallow_plaintext = true\n"
        ));
        assert!(!is_legacy(
            Path::new("x"),
            "# c\n[limits]\nmax_nesting = 3\n"
        ));
        assert!(!is_legacy(Path::new("x"), "a = { b = 1 }\n"));
        assert!(!is_legacy(Path::new("x"), ""));
    }

    #[test]
    fn empty_legacy_file_is_defaults() {
        let (c, w) = parse("// nothing\n", p()).unwrap();
        assert!(w.is_empty());
        assert_eq!(c.to_toml(), Config::default().to_toml());
    }
}
