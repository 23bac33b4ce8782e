//! Password hashes: verification of the schemes a password file may hold
//! (argon2 PHC strings, SHA-512-crypt `$6$`, SHA-256-crypt `$5$`, bcrypt
//! `$2a$/$2b$/$2y$`) and creation of new argon2id hashes.
//!
//! Passwords are bytes: IMAP passwords need not be UTF-8.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use subtle::ConstantTimeEq;

/// The hash schemes understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Argon2,
    Sha512Crypt,
    Sha256Crypt,
    Bcrypt,
}

/// Recognises a hash by its prefix; None for anything else.
pub fn scheme_of(hash: &str) -> Option<Scheme> {
    if hash.starts_with("$argon2id$")
        || hash.starts_with("$argon2i$")
        || hash.starts_with("$argon2d$")
    {
        Some(Scheme::Argon2)
    } else if hash.starts_with("$6$") {
        Some(Scheme::Sha512Crypt)
    } else if hash.starts_with("$5$") {
        Some(Scheme::Sha256Crypt)
    } else if hash.starts_with("$2b$") || hash.starts_with("$2y$") || hash.starts_with("$2a$") {
        Some(Scheme::Bcrypt)
    } else {
        None
    }
}

/// Strips a Dovecot-style `{SCHEME}` prefix (e.g. `{ARGON2ID}$argon2id$...`,
/// `{SHA512-CRYPT}$6$...`) so Dovecot password files' hashes work as is.
pub fn strip_scheme_prefix(hash: &str) -> &str {
    if let Some(rest) = hash.strip_prefix('{') {
        if let Some(end) = rest.find('}') {
            let after = rest.get(end + 1..).unwrap_or("");
            if after.starts_with('$') {
                return after;
            }
        }
    }
    hash
}

/// True when `pass` matches `hash`. Malformed hashes never match.
pub fn verify(hash: &str, pass: &[u8]) -> bool {
    match scheme_of(hash) {
        Some(Scheme::Argon2) => match PasswordHash::new(hash) {
            Ok(parsed) => Argon2::default().verify_password(pass, &parsed).is_ok(),
            Err(_) => false,
        },
        Some(Scheme::Sha512Crypt) => verify_sha_crypt(hash, pass, "6"),
        Some(Scheme::Sha256Crypt) => verify_sha_crypt(hash, pass, "5"),
        Some(Scheme::Bcrypt) => bcrypt::verify(pass, hash).unwrap_or(false),
        None => false,
    }
}

/// SHA-crypt (Drepper) check on raw bytes: `$id$[rounds=N$]salt$hash`.
/// Done here rather than with sha-crypt's `*_check` because those take the
/// password as `&str`.
fn verify_sha_crypt(hash: &str, pass: &[u8], id: &str) -> bool {
    let mut parts = hash.split('$');
    if parts.next() != Some("") || parts.next() != Some(id) {
        return false;
    }
    let Some(mut next) = parts.next() else {
        return false;
    };
    let mut rounds = 5000usize;
    if let Some(r) = next.strip_prefix("rounds=") {
        let Ok(n) = r.parse::<usize>() else {
            return false;
        };
        // glibc clamps out-of-range rounds rather than rejecting them.
        rounds = n.clamp(1000, 999_999_999);
        let Some(n) = parts.next() else {
            return false;
        };
        next = n;
    }
    let salt = next;
    let Some(expected) = parts.next() else {
        return false;
    };
    if parts.next().is_some() {
        return false;
    }
    let computed = if id == "6" {
        sha_crypt::Sha512Params::new(rounds)
            .ok()
            .and_then(|p| sha_crypt::sha512_crypt_b64(pass, salt.as_bytes(), &p).ok())
    } else {
        sha_crypt::Sha256Params::new(rounds)
            .ok()
            .and_then(|p| sha_crypt::sha256_crypt_b64(pass, salt.as_bytes(), &p).ok())
    };
    match computed {
        Some(c) => c.len() == expected.len() && bool::from(c.as_bytes().ct_eq(expected.as_bytes())),
        None => false,
    }
}

#[derive(Debug)]
pub struct HashError(String);

impl std::fmt::Display for HashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot hash password: {}", self.0)
    }
}

impl std::error::Error for HashError {}

/// A new argon2id PHC hash with the crate's default (OWASP) parameters.
pub fn hash_password(pass: &[u8]) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(pass, &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Generated with `openssl passwd -6 -salt saltsalt secret` and `-5`.
    const SHA512: &str = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";
    const SHA256: &str = "$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA";

    #[test]
    fn argon2id_round_trip() {
        let h = hash_password(b"secret").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify(&h, b"secret"));
        assert!(!verify(&h, b"Secret"));
        assert!(!verify(&h, b""));
    }

    #[test]
    fn sha512_crypt() {
        assert!(verify(SHA512, b"secret"));
        assert!(!verify(SHA512, b"secreT"));
    }

    #[test]
    fn sha256_crypt() {
        assert!(verify(SHA256, b"secret"));
        assert!(!verify(SHA256, b"wrong"));
    }

    #[test]
    fn sha512_crypt_with_rounds() {
        // `perl -e 'print crypt("secret", q($6$rounds=10000$saltsalt))'`
        let h = "$6$rounds=10000$saltsalt$WowrPBpEDVlCoruBosYlrZycTCx3//TyDHYqEhX9DUHHt0XTztUqzQDDUuvUGRA8aUe9p55hcAxeGcu58sm3u.";
        assert!(verify(h, b"secret"));
        assert!(!verify(h, b"secrets"));
    }

    #[test]
    fn bcrypt_verifies() {
        let h = bcrypt::hash_with_salt(b"secret", 4, [7u8; 16])
            .unwrap()
            .format_for_version(bcrypt::Version::TwoB);
        assert!(h.starts_with("$2b$"));
        assert!(verify(&h, b"secret"));
        assert!(!verify(&h, b"secret2"));
        // libxcrypt: `perl -e 'print crypt("secret", q($2b$04$abcdefghijklmnopqrstuu))'`
        let x = "$2b$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW";
        assert!(verify(x, b"secret"));
        assert!(!verify(x, b"secreu"));
    }

    #[test]
    fn malformed_never_matches() {
        for h in [
            "",
            "secret",
            "$6$",
            "$6$salt",
            "$6$rounds=x$salt$hash",
            "$5$salt$short",
            "$argon2id$garbage",
            "$2b$99$x",
            "$1$salt$md5notsupported",
        ] {
            assert!(!verify(h, b"secret"), "{h}");
        }
    }

    #[test]
    fn dovecot_prefix_stripped() {
        assert_eq!(strip_scheme_prefix("{SHA512-CRYPT}$6$a$b"), "$6$a$b");
        assert_eq!(strip_scheme_prefix("$6$a$b"), "$6$a$b");
        assert_eq!(strip_scheme_prefix("{PLAIN}secret"), "{PLAIN}secret");
    }
}
