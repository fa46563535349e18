//! [`SessionCodec`]: cookie format v1. Key derivation, seal and open; nothing request-shaped.
//!
//! Layout of the sealed bytes (see `docs/cookie-format.md`):
//!
//! ```text
//! version (1) | key id (4) | nonce (12) |
//!     AES-256-GCM( issued-at (8) | expires-at (8) | JSON ) | tag (16)
//! ```

use std::fmt;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use rand::RngCore;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::session::error::{ConfigError, ConfigProblem, SessionError};
use crate::session::options::SessionOptions;

/// The format version byte.
pub(crate) const VERSION: u8 = 1;
/// HKDF salt.
const HKDF_SALT: &[u8] = b"wristband-session-v1";
/// HKDF info.
const HKDF_INFO: &[u8] = b"aes-gcm-encryption";
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const TIMES_LEN: usize = 16;
/// Bytes before the ciphertext: version, key id, nonce.
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;
/// Everything a sealed session adds to its JSON.
pub(crate) const OVERHEAD: usize = HEADER_LEN + TIMES_LEN + TAG_LEN;
/// Each `Set-Cookie` header value (name, value and attributes) stays within this many bytes.
pub(crate) const HEADER_BUDGET: usize = 4096;
/// Issued-at may be this many seconds in the future (clock skew between app instances).
pub(crate) const MAX_FUTURE_SKEW_SECS: u64 = 60;

const _: () = assert!(OVERHEAD == 49);

/// Length of the base64url (unpadded) text of `n` bytes.
pub(crate) const fn encoded_len(n: usize) -> usize {
    (n * 4).div_ceil(3)
}

/// Why a cookie value was refused. Only for logs: never says anything about the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    TooLong,
    NotBase64,
    TooShort,
    Version,
    UnknownKey,
    Tag,
    Expired,
    FromTheFuture,
    NotJsonObject,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rejection::TooLong => "value longer than any session this configuration can write",
            Rejection::NotBase64 => "value is not unpadded base64url",
            Rejection::TooShort => "value too short to be a sealed session",
            Rejection::Version => "unsupported format version",
            Rejection::UnknownKey => "sealed with a key id no configured secret has",
            Rejection::Tag => "authentication tag mismatch (tampered, or another cookie's value)",
            Rejection::Expired => "session expired",
            Rejection::FromTheFuture => "issued-at lies more than 60 s in the future",
            Rejection::NotJsonObject => "plaintext is not a JSON object",
        })
    }
}

/// An opened session.
#[derive(Debug, PartialEq)]
pub(crate) struct Unsealed {
    pub(crate) session: Map<String, Value>,
    /// Which configured secret opened it (0 is the first).
    pub(crate) key_index: usize,
    /// The length of its JSON text.
    pub(crate) json_len: usize,
    /// When it was sealed, in Unix seconds.
    pub(crate) issued_at: u64,
    /// When it expires, in Unix seconds (sealed into it).
    pub(crate) expires_at: u64,
}

struct SealingKey {
    id: [u8; KEY_ID_LEN],
    cipher: Aes256Gcm,
    /// `0x01 | key id | cookie name`.
    aad: Vec<u8>,
}

/// Seals a session (a JSON object) into a cookie value and opens it again: cookie format v1.
///
/// Keys are derived once, in [`SessionCodec::new()`], from each configured secret with
/// HKDF-SHA256. The first secret seals; every secret opens, chosen by the key id in the value
/// (never by trial decryption). The codec knows nothing of requests, so tools, tests and other
/// frameworks can use it directly.
///
/// ```
/// use serde_json::{json, Map, Value};
/// use wristband_rocket_session::{SessionCodec, SessionOptions};
///
/// let options = SessionOptions {
///     secrets: "a-secret-of-at-least-32-characters!!".into(),
///     ..SessionOptions::default()
/// };
/// let codec = SessionCodec::new(&options)?;
/// let session: Map<String, Value> = json!({ "visits": 3 }).as_object().unwrap().clone();
///
/// let cookie_value = codec.seal(&session)?;
/// assert_eq!(codec.open(&cookie_value), Some(session));
/// assert_eq!(codec.open("tampered"), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SessionCodec {
    keys: Vec<SealingKey>,
    max_age: u64,
    max_value_len: usize,
}

impl fmt::Debug for SessionCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCodec")
            .field("keys", &format_args!("[redacted; {}]", self.keys.len()))
            .field("max_age", &self.max_age)
            .finish()
    }
}

impl SessionCodec {
    /// Validates `options` and derives one key per secret.
    ///
    /// # Errors
    ///
    /// Any problem [`SessionOptions::validate()`] finds, and two secrets whose derived key ids
    /// collide.
    ///
    /// ```
    /// use wristband_rocket_session::{SessionCodec, SessionOptions};
    ///
    /// let options = SessionOptions {
    ///     secrets: "a-secret-of-at-least-32-characters!!".into(),
    ///     ..SessionOptions::default()
    /// };
    /// assert!(SessionCodec::new(&options).is_ok());
    ///
    /// let short = SessionOptions { secrets: "too short".into(), ..options };
    /// let err = SessionCodec::new(&short).unwrap_err();
    /// assert_eq!(err.problems()[0].key, "secrets");
    /// ```
    pub fn new(options: &SessionOptions) -> Result<Self, ConfigError> {
        options.validate()?;
        let cookie_name = options.cookie_name.as_bytes();
        let keys: Vec<SealingKey> = options
            .secrets
            .as_slice()
            .iter()
            .map(|secret| {
                let mut key = [0u8; 32];
                Hkdf::<Sha256>::new(Some(HKDF_SALT), secret.as_bytes())
                    .expand(HKDF_INFO, &mut key)
                    .expect("32 bytes is a valid HKDF-SHA256 output length");
                let digest = Sha256::digest(key);
                let mut id = [0u8; KEY_ID_LEN];
                id.copy_from_slice(&digest[..KEY_ID_LEN]);
                let mut aad = Vec::with_capacity(1 + KEY_ID_LEN + cookie_name.len());
                aad.push(VERSION);
                aad.extend_from_slice(&id);
                aad.extend_from_slice(cookie_name);
                let cipher = Aes256Gcm::new(&key.into());
                SealingKey { id, cipher, aad }
            })
            .collect();
        for (i, key) in keys.iter().enumerate() {
            if keys[..i].iter().any(|k| k.id == key.id) {
                let problem = ConfigProblem::new(
                    "secrets",
                    format!(
                        "secret #{} derives the same key id as an earlier one; replace it",
                        i + 1
                    ),
                );
                return Err(ConfigError::invalid(None, vec![problem]));
            }
        }
        Ok(SessionCodec {
            keys,
            max_age: options.max_age as u64,
            // A cookie value can never be longer than every chunk's full header budget.
            max_value_len: HEADER_BUDGET * options.max_cookie_chunks,
        })
    }

    /// Lowers the longest value [`SessionCodec::open()`] accepts to `len`: the fairing sets it
    /// to what the configured cookie attributes and chunks can write back, so a value that
    /// opens can always be re-issued.
    pub(crate) fn limit_value_len(&mut self, len: usize) {
        self.max_value_len = self.max_value_len.min(len);
    }

    /// The session lifetime in seconds that [`SessionCodec::seal()`] writes into a value.
    ///
    /// ```
    /// use wristband_rocket_session::{SessionCodec, SessionOptions};
    ///
    /// let options = SessionOptions {
    ///     secrets: "a-secret-of-at-least-32-characters!!".into(),
    ///     max_age: 900,
    ///     ..SessionOptions::default()
    /// };
    /// assert_eq!(SessionCodec::new(&options)?.max_age(), 900);
    /// # Ok::<(), wristband_rocket_session::ConfigError>(())
    /// ```
    pub fn max_age(&self) -> u64 {
        self.max_age
    }

    /// The exact length of the cookie value [`SessionCodec::seal()`] produces for a session
    /// whose JSON text is `json_len` bytes long.
    ///
    /// ```
    /// # use wristband_rocket_session::SessionCodec;
    /// assert_eq!(SessionCodec::sealed_len(1024), 1431);
    /// ```
    pub const fn sealed_len(json_len: usize) -> usize {
        encoded_len(OVERHEAD + json_len)
    }

    /// Seals `session` now, with a random nonce: it expires `max_age` seconds from now.
    ///
    /// # Errors
    ///
    /// [`SessionError::Json`] if a value cannot be serialized (not possible for a
    /// `serde_json::Map`, but kept for the signature's honesty).
    ///
    /// ```
    /// # use wristband_rocket_session::{SessionCodec, SessionOptions};
    /// # let options = SessionOptions {
    /// #     secrets: "a-secret-of-at-least-32-characters!!".into(),
    /// #     ..SessionOptions::default()
    /// # };
    /// # let codec = SessionCodec::new(&options)?;
    /// use serde_json::json;
    ///
    /// let session = json!({ "cart": [1, 2] }).as_object().unwrap().clone();
    /// let first = codec.seal(&session)?;
    /// let second = codec.seal(&session)?;
    /// // A fresh random nonce each time: sealing the same session twice gives two values.
    /// assert_ne!(first, second);
    /// assert_eq!(first.len(), SessionCodec::sealed_len(r#"{"cart":[1,2]}"#.len()));
    /// assert_eq!(codec.open(&second), Some(session));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// There is no way to choose the nonce: one reused nonce would let anyone forge sessions.
    ///
    /// ```compile_fail
    /// # use wristband_rocket_session::{SessionCodec, SessionOptions};
    /// # let options = SessionOptions {
    /// #     secrets: "a-secret-of-at-least-32-characters!!".into(),
    /// #     ..SessionOptions::default()
    /// # };
    /// # let codec = SessionCodec::new(&options).unwrap();
    /// let now = time::OffsetDateTime::now_utc();
    /// let _ = codec.seal_with_nonce_at(&serde_json::Map::new(), now, [0; 12]);
    /// ```
    pub fn seal(&self, session: &Map<String, Value>) -> Result<String, SessionError> {
        self.seal_at(session, OffsetDateTime::now_utc())
    }

    /// Like [`SessionCodec::seal()`] with the clock set to `now`.
    ///
    /// # Errors
    ///
    /// As [`SessionCodec::seal()`].
    ///
    /// ```
    /// # use wristband_rocket_session::{SessionCodec, SessionOptions};
    /// # let options = SessionOptions {
    /// #     secrets: "a-secret-of-at-least-32-characters!!".into(),
    /// #     ..SessionOptions::default()
    /// # };
    /// # let codec = SessionCodec::new(&options)?;
    /// use serde_json::Map;
    /// use time::OffsetDateTime;
    ///
    /// let issued = OffsetDateTime::from_unix_timestamp(1_700_000_000)?;
    /// let value = codec.seal_at(&Map::new(), issued)?;
    /// // Sealed in November 2023 for an hour: expired now, valid at the time.
    /// assert_eq!(codec.open(&value), None);
    /// assert_eq!(codec.open_at(&value, issued), Some(Map::new()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn seal_at(
        &self,
        session: &Map<String, Value>,
        now: OffsetDateTime,
    ) -> Result<String, SessionError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        self.seal_inner(session, now, nonce, None)
    }

    /// Seals with a caller-chosen nonce, for the known-answer vectors of
    /// `docs/cookie-format.md` in this crate's own unit tests only: it does not exist outside
    /// them. Reusing a nonce under one secret destroys the secrecy and integrity of every
    /// session sealed with it.
    #[cfg(test)]
    pub(crate) fn seal_with_nonce_at(
        &self,
        session: &Map<String, Value>,
        now: OffsetDateTime,
        nonce: [u8; NONCE_LEN],
    ) -> Result<String, SessionError> {
        self.seal_inner(session, now, nonce, None)
    }

    /// Seals now, sizing the buffer for `json_len` bytes of JSON when the caller knows it.
    pub(crate) fn seal_sized(
        &self,
        session: &Map<String, Value>,
        json_len: Option<usize>,
    ) -> Result<String, SessionError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        self.seal_inner(session, OffsetDateTime::now_utc(), nonce, json_len)
    }

    fn seal_inner(
        &self,
        session: &Map<String, Value>,
        now: OffsetDateTime,
        nonce: [u8; NONCE_LEN],
        json_len: Option<usize>,
    ) -> Result<String, SessionError> {
        let key = &self.keys[0];
        let issued_at = unix_seconds(now);
        let expires_at = issued_at.saturating_add(self.max_age);

        let mut buf = Vec::with_capacity(OVERHEAD + json_len.unwrap_or(3072));
        buf.push(VERSION);
        buf.extend_from_slice(&key.id);
        buf.extend_from_slice(&nonce);
        buf.extend_from_slice(&issued_at.to_be_bytes());
        buf.extend_from_slice(&expires_at.to_be_bytes());
        serde_json::to_writer(&mut buf, session).map_err(|_| SessionError::Json {
            key: String::new(),
            type_name: std::any::type_name::<Map<String, Value>>(),
        })?;

        let tag = key
            .cipher
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), &key.aad, &mut buf[HEADER_LEN..])
            .expect("AES-GCM seals any cookie-sized plaintext");
        buf.extend_from_slice(&tag);
        Ok(URL_SAFE_NO_PAD.encode(&buf))
    }

    /// Opens a cookie value sealed by this configuration. `None` for anything else: not
    /// base64url, another version, an unknown key, a failed tag, an expired or future-dated
    /// session, or a plaintext that is not a JSON object. Never panics.
    ///
    /// ```
    /// use serde_json::{json, Map, Value};
    /// use wristband_rocket_session::{SessionCodec, SessionOptions};
    ///
    /// const OLD: &str = "an-old-secret-of-at-least-32-characters";
    /// const NEW: &str = "a-new-secret-of-at-least-32-characters";
    /// let options = |secrets: Vec<&str>| SessionOptions {
    ///     secrets: secrets.into_iter().map(String::from).collect::<Vec<_>>().into(),
    ///     ..SessionOptions::default()
    /// };
    /// let session: Map<String, Value> = json!({ "userId": "u1" }).as_object().unwrap().clone();
    /// let value = SessionCodec::new(&options(vec![OLD]))?.seal(&session)?;
    ///
    /// // Rotation: with the new secret first, a value sealed with the old one still opens.
    /// assert_eq!(SessionCodec::new(&options(vec![NEW, OLD]))?.open(&value), Some(session));
    /// // Once the old secret is dropped, it no longer does.
    /// assert_eq!(SessionCodec::new(&options(vec![NEW]))?.open(&value), None);
    /// // A value is bound to its cookie name: under another name it does not open either.
    /// let renamed = SessionOptions { cookie_name: "other".into(), ..options(vec![OLD]) };
    /// assert_eq!(SessionCodec::new(&renamed)?.open(&value), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(&self, value: &str) -> Option<Map<String, Value>> {
        self.open_at(value, OffsetDateTime::now_utc())
    }

    /// Like [`SessionCodec::open()`] with the clock set to `now`.
    ///
    /// ```
    /// # use wristband_rocket_session::{SessionCodec, SessionOptions};
    /// # let options = SessionOptions {
    /// #     secrets: "a-secret-of-at-least-32-characters!!".into(),
    /// #     ..SessionOptions::default()
    /// # };
    /// # let codec = SessionCodec::new(&options)?;
    /// use serde_json::Map;
    /// use time::OffsetDateTime;
    ///
    /// let at = |secs: i64| OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap();
    /// let value = codec.seal_at(&Map::new(), at(0))?;
    /// // Valid for `max_age` (3600 s by default)…
    /// assert!(codec.open_at(&value, at(3599)).is_some());
    /// assert!(codec.open_at(&value, at(3600)).is_none());
    /// // …and refused when issued more than 60 s in the future (clock skew).
    /// assert!(codec.open_at(&value, at(-60)).is_some());
    /// assert!(codec.open_at(&value, at(-61)).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_at(&self, value: &str, now: OffsetDateTime) -> Option<Map<String, Value>> {
        self.unseal(value, now).ok().map(|unsealed| unsealed.session)
    }

    /// Opens `value`, saying why not when it cannot, and which secret (index) opened it.
    pub(crate) fn unseal(&self, value: &str, now: OffsetDateTime) -> Result<Unsealed, Rejection> {
        self.unseal_inner(value, now, true)
    }

    /// [`unseal`](Self::unseal) without the expiry check: what an expired cookie held, for
    /// cleaning up after it (logout revokes its refresh token). Never for authenticating.
    pub(crate) fn unseal_expired_too(
        &self,
        value: &str,
        now: OffsetDateTime,
    ) -> Result<Unsealed, Rejection> {
        self.unseal_inner(value, now, false)
    }

    fn unseal_inner(
        &self,
        value: &str,
        now: OffsetDateTime,
        check_expiry: bool,
    ) -> Result<Unsealed, Rejection> {
        if value.len() > self.max_value_len {
            return Err(Rejection::TooLong);
        }
        let mut buf = URL_SAFE_NO_PAD.decode(value).map_err(|_| Rejection::NotBase64)?;
        if buf.len() < OVERHEAD {
            return Err(Rejection::TooShort);
        }
        if buf[0] != VERSION {
            return Err(Rejection::Version);
        }
        let index = self
            .keys
            .iter()
            .position(|k| k.id[..] == buf[1..1 + KEY_ID_LEN])
            .ok_or(Rejection::UnknownKey)?;
        let key = &self.keys[index];

        let (head, rest) = buf.split_at_mut(HEADER_LEN);
        let (ciphertext, tag) = rest.split_at_mut(rest.len() - TAG_LEN);
        let nonce = Nonce::from_slice(&head[1 + KEY_ID_LEN..]);
        key.cipher
            .decrypt_in_place_detached(nonce, &key.aad, ciphertext, Tag::from_slice(tag))
            .map_err(|_| Rejection::Tag)?;

        let (times, json) = ciphertext.split_at(TIMES_LEN);
        let issued_at = u64::from_be_bytes(times[..8].try_into().expect("8 bytes"));
        let expires_at = u64::from_be_bytes(times[8..].try_into().expect("8 bytes"));
        let now = unix_seconds(now);
        // The sealed expiry, and the configured `max_age` counted from issued-at: lowering
        // `max_age` shortens the life of cookies already issued.
        if check_expiry && (expires_at <= now || issued_at.saturating_add(self.max_age) <= now) {
            return Err(Rejection::Expired);
        }
        if issued_at > now.saturating_add(MAX_FUTURE_SKEW_SECS) {
            return Err(Rejection::FromTheFuture);
        }
        // One UTF-8 check of the whole text, then a parse that need not check each string.
        let text = std::str::from_utf8(json).map_err(|_| Rejection::NotJsonObject)?;
        let session = serde_json::from_str(text).map_err(|_| Rejection::NotJsonObject)?;
        Ok(Unsealed { session, key_index: index, json_len: json.len(), issued_at, expires_at })
    }
}

fn unix_seconds(t: OffsetDateTime) -> u64 {
    u64::try_from(t.unix_timestamp()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn options(secrets: &[&str]) -> SessionOptions {
        SessionOptions {
            secrets: secrets.iter().map(|s| s.to_string()).collect::<Vec<_>>().into(),
            ..SessionOptions::default()
        }
    }

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccccccccccccccc";

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(secs).unwrap()
    }

    #[test]
    fn round_trip_and_exact_length() {
        let codec = SessionCodec::new(&options(&[A])).unwrap();
        let session = map(json!({"a": 1, "b": "two", "c": [true, null]}));
        let value = codec.seal_at(&session, at(1_000)).unwrap();
        let json_len = serde_json::to_vec(&session).unwrap().len();
        assert_eq!(value.len(), SessionCodec::sealed_len(json_len));
        let unsealed = codec.unseal(&value, at(1_000)).unwrap();
        assert_eq!((unsealed.session, unsealed.key_index), (session, 0));
        assert_eq!(unsealed.json_len, json_len);
    }

    #[test]
    fn nonces_differ_per_seal() {
        let codec = SessionCodec::new(&options(&[A])).unwrap();
        let session = map(json!({}));
        assert_ne!(codec.seal(&session).unwrap(), codec.seal(&session).unwrap());
    }

    #[test]
    fn expiry_is_enforced_inside_the_cookie() {
        let codec = SessionCodec::new(&options(&[A])).unwrap();
        let value = codec.seal_at(&map(json!({})), at(1_000)).unwrap();
        assert!(codec.unseal(&value, at(1_000 + 3599)).is_ok());
        assert_eq!(codec.unseal(&value, at(1_000 + 3600)), Err(Rejection::Expired));
    }

    #[test]
    fn future_skew_of_sixty_seconds_is_tolerated_and_no_more() {
        let codec = SessionCodec::new(&options(&[A])).unwrap();
        let value = codec.seal_at(&map(json!({})), at(10_000)).unwrap();
        assert!(codec.unseal(&value, at(10_000 - 60)).is_ok());
        assert_eq!(codec.unseal(&value, at(10_000 - 61)), Err(Rejection::FromTheFuture));
    }

    #[test]
    fn rotation_opens_by_key_id() {
        let old = SessionCodec::new(&options(&[C])).unwrap();
        let value = old.seal(&map(json!({"k": 1}))).unwrap();
        let rotated = SessionCodec::new(&options(&[A, B, C])).unwrap();
        assert_eq!(rotated.unseal(&value, OffsetDateTime::now_utc()).unwrap().key_index, 2);
        let dropped = SessionCodec::new(&options(&[A, B])).unwrap();
        assert_eq!(dropped.unseal(&value, OffsetDateTime::now_utc()), Err(Rejection::UnknownKey));
    }

    #[test]
    fn value_is_bound_to_the_cookie_name() {
        let codec = SessionCodec::new(&options(&[A])).unwrap();
        let other =
            SessionCodec::new(&SessionOptions { cookie_name: "other".into(), ..options(&[A]) })
                .unwrap();
        let value = codec.seal(&map(json!({}))).unwrap();
        assert_eq!(other.unseal(&value, OffsetDateTime::now_utc()), Err(Rejection::Tag));
    }

    #[test]
    fn each_rejection_reason() {
        let codec = SessionCodec::new(&options(&[A])).unwrap();
        let now = OffsetDateTime::now_utc();
        let good = URL_SAFE_NO_PAD.decode(codec.seal(&map(json!({}))).unwrap()).unwrap();
        assert_eq!(codec.unseal("not base64!", now), Err(Rejection::NotBase64));
        assert_eq!(codec.unseal("", now), Err(Rejection::TooShort));
        assert_eq!(codec.unseal(&"A".repeat(5000), now), Err(Rejection::TooLong));
        let mut v2 = good.clone();
        v2[0] = 2;
        assert_eq!(codec.unseal(&URL_SAFE_NO_PAD.encode(&v2), now), Err(Rejection::Version));
        let mut unknown = good.clone();
        unknown[1] ^= 1;
        assert_eq!(
            codec.unseal(&URL_SAFE_NO_PAD.encode(&unknown), now),
            Err(Rejection::UnknownKey)
        );
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(codec.unseal(&URL_SAFE_NO_PAD.encode(&flipped), now), Err(Rejection::Tag));
    }

    #[test]
    fn non_object_json_is_rejected() {
        let codec = SessionCodec::new(&options(&[A])).unwrap();
        let key = &codec.keys[0];
        let now = OffsetDateTime::now_utc();
        for json in [&b"[1,2]"[..], b"42", b"\"s\"", b"null", b"{", b"\xff\xfe"] {
            let mut buf = vec![VERSION];
            buf.extend_from_slice(&key.id);
            buf.extend_from_slice(&[7u8; NONCE_LEN]);
            buf.extend_from_slice(&unix_seconds(now).to_be_bytes());
            buf.extend_from_slice(&(unix_seconds(now) + 100).to_be_bytes());
            buf.extend_from_slice(json);
            let tag = key
                .cipher
                .encrypt_in_place_detached(
                    Nonce::from_slice(&[7u8; NONCE_LEN]),
                    &key.aad,
                    &mut buf[HEADER_LEN..],
                )
                .unwrap();
            buf.extend_from_slice(&tag);
            assert_eq!(
                codec.unseal(&URL_SAFE_NO_PAD.encode(&buf), now),
                Err(Rejection::NotJsonObject)
            );
        }
    }

    /// The crate's seal, given a vector's nonce, gives the vector's value; the vectors are
    /// those of `docs/cookie-format.md` (also opened and re-derived independently by
    /// `tests/it/cookie_format.rs`).
    #[test]
    fn seals_the_documented_vectors() {
        let doc = include_str!("../../docs/cookie-format.md");
        let secret = "wristband-kat-secret-one-0123456789abcdef";
        let vectors: [(i64, i64, [u8; 12], &str, &str); 2] = [
            (
                3600,
                1_700_000_000,
                [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
                "{}",
                "AUsJao4AAQIDBAUGBwgJCgs_stQ_OEE9v1UaVqt4Luf58Tnk7CZSRBucZddYp11SbT8G",
            ),
            (
                86400,
                1_735_689_600,
                [0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44],
                r#"{"visits":42}"#,
                "AUsJao7_7t3Mu6qZiHdmVUS97w6HmuJZpOvw5ME83zbksHngTX9qQGCKqxVHTn7S3vT_x4MWiPexSa5c3us",
            ),
        ];
        for (max_age, now, nonce, json, value) in vectors {
            let codec = SessionCodec::new(&SessionOptions { max_age, ..options(&[secret]) })
                .expect("valid options");
            let session: Map<String, Value> = serde_json::from_str(json).unwrap();
            let sealed = codec.seal_with_nonce_at(&session, at(now), nonce).unwrap();
            assert_eq!(sealed, value);
            assert!(doc.contains(value), "the document still shows {value}");
        }
    }

    #[test]
    fn debug_shows_no_key_material() {
        let codec = SessionCodec::new(&options(&[A])).unwrap();
        let text = format!("{codec:?}");
        assert!(!text.contains("aaaa"), "{text}");
        assert!(text.contains("redacted"));
    }
}
