//! CSRF tokens: creation (random, 256 bits, hex) and constant-time comparison.

use rand::RngCore;
use subtle::ConstantTimeEq;

/// Hex digits in a CSRF token (256 random bits).
pub(crate) const TOKEN_HEX_LEN: usize = 64;

/// A fresh random token from the thread-local CSPRNG (seeded from the OS).
pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_HEX_LEN / 2];
    rand::thread_rng().fill_bytes(&mut bytes);
    let mut token = String::with_capacity(TOKEN_HEX_LEN);
    for b in bytes {
        use std::fmt::Write;
        let _ = write!(token, "{b:02x}");
    }
    token
}

/// Whether the header value equals the session's token, in time independent of where they
/// differ. A missing side never matches.
pub(crate) fn matches(session_token: Option<&str>, header: Option<&str>) -> bool {
    match (session_token, header) {
        (Some(token), Some(header)) if !token.is_empty() => {
            bool::from(token.as_bytes().ct_eq(header.as_bytes()))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_hex_of_the_right_length_and_differ() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.len(), TOKEN_HEX_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
    }

    #[test]
    fn comparison() {
        let t = new_token();
        assert!(matches(Some(&t), Some(&t)));
        let mut other = t.clone().into_bytes();
        other[10] = if other[10] == b'a' { b'b' } else { b'a' };
        assert!(!matches(Some(&t), Some(std::str::from_utf8(&other).unwrap())));
        assert!(!matches(Some(&t), Some(&t[..63])));
        assert!(!matches(Some(&t), Some(&t.to_uppercase())) || t == t.to_uppercase());
        assert!(!matches(None, Some(&t)));
        assert!(!matches(Some(&t), None));
        assert!(!matches(Some(""), Some("")));
    }
}
