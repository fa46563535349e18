//! What the handlers read from a request, taken without ever failing (so that every call is
//! counted and scripted): the host, the `Authorization` header, the decoded query or form body,
//! and HTTP Basic client credentials.

use std::collections::HashSet;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use oauth2::url::form_urlencoded;
use rocket::data::{Data, ToByteUnit};
use rocket::http::{ContentType, RawStr};
use rocket::request::{FromRequest, Outcome};
use rocket::Request;
use subtle::ConstantTimeEq;

/// The largest form body read.
const BODY_LIMIT_KIB: usize = 64;

/// Decoded `name=value` pairs (a query or a form body).
#[derive(Debug, Default, Clone)]
pub(super) struct Params(pub(super) Vec<(String, String)>);

impl Params {
    /// Decodes `application/x-www-form-urlencoded` text.
    pub(super) fn parse(raw: &[u8]) -> Params {
        Params(form_urlencoded::parse(raw).into_owned().collect())
    }

    /// The (first) value of `name`.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The (first) value of `name`, if not empty.
    pub(super) fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// The first name given more than once (OAuth2 forbids repeating a parameter).
    pub(super) fn repeated(&self) -> Option<&str> {
        let mut seen = HashSet::new();
        self.0.iter().map(|(name, _)| name.as_str()).find(|name| !seen.insert(*name))
    }
}

/// The parts of a request the handlers use.
#[derive(Debug)]
pub(super) struct Call {
    /// The `Host` header's domain, lowercased (`None` without a `Host`).
    pub(super) domain: Option<String>,
    /// The `Host` header's port.
    pub(super) port: Option<u16>,
    /// The first `Authorization` header.
    pub(super) authorization: Option<String>,
    /// The decoded query.
    pub(super) query: Params,
    /// Whether the body is declared `application/x-www-form-urlencoded`.
    pub(super) is_form: bool,
}

impl Call {
    /// `host[:port]` as the client sent it (lowercased), if any.
    pub(super) fn authority(&self) -> Option<String> {
        let domain = self.domain.as_deref()?;
        Some(match self.port {
            Some(port) => format!("{domain}:{port}"),
            None => domain.to_string(),
        })
    }

    /// The Bearer token of the `Authorization` header.
    pub(super) fn bearer(&self) -> Option<&str> {
        let (scheme, token) = self.authorization.as_deref()?.trim().split_once(' ')?;
        let token = token.trim();
        (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
    }

    /// Whether the `Authorization` header holds HTTP Basic credentials of this client
    /// (RFC 6749 §2.3.1: each part may be form-encoded before base64). Constant-time compares.
    pub(super) fn has_client_credentials(&self, client_id: &str, client_secret: &str) -> bool {
        let Some((id, secret)) = self.basic_credentials() else {
            return false;
        };
        matches_credential(&id, client_id) & matches_credential(&secret, client_secret)
    }

    fn basic_credentials(&self) -> Option<(String, String)> {
        let (scheme, encoded) = self.authorization.as_deref()?.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        Some((id.to_string(), secret.to_string()))
    }
}

/// `sent` equals `expected`, raw or once form-decoded; constant-time.
fn matches_credential(sent: &str, expected: &str) -> bool {
    let raw: bool = sent.as_bytes().ct_eq(expected.as_bytes()).into();
    let decoded: bool = match RawStr::new(sent).url_decode() {
        Ok(decoded) => decoded.as_bytes().ct_eq(expected.as_bytes()).into(),
        Err(_) => false,
    };
    raw | decoded
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Call {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let host = request.host();
        let query =
            request.uri().query().map(|q| Params::parse(q.as_str().as_bytes())).unwrap_or_default();
        Outcome::Success(Call {
            domain: host.map(|h| h.domain().as_str().to_ascii_lowercase()),
            port: host.and_then(|h| h.port()),
            authorization: request.headers().get_one("Authorization").map(str::to_string),
            query,
            is_form: request
                .content_type()
                .is_some_and(|ct| ct.media_type() == ContentType::Form.media_type()),
        })
    }
}

/// Reads and decodes a form body; `None` when it is larger than the limit.
pub(super) async fn read_form(data: Data<'_>) -> Option<Params> {
    let body = data.open(BODY_LIMIT_KIB.kibibytes()).into_bytes().await.ok()?;
    body.is_complete().then(|| Params::parse(&body.value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(authorization: &str) -> Call {
        Call {
            domain: None,
            port: None,
            authorization: Some(authorization.into()),
            query: Params::default(),
            is_form: true,
        }
    }

    #[test]
    fn repeated_parameters_are_found() {
        assert_eq!(Params::parse(b"a=1&b=2&a=3").repeated(), Some("a"));
        assert_eq!(Params::parse(b"a=1&b=2").repeated(), None);
        assert_eq!(Params::parse(b"a=1&b=2&c&b").repeated(), Some("b"));
    }

    #[test]
    fn values_are_form_decoded() {
        let params = Params::parse(b"redirect_uri=http%3A%2F%2Fx%2Fcb&scope=openid+email");
        assert_eq!(params.get("redirect_uri"), Some("http://x/cb"));
        assert_eq!(params.get("scope"), Some("openid email"));
    }

    #[test]
    fn basic_credentials_raw_or_form_encoded() {
        let raw = format!("Basic {}", STANDARD.encode("my id:s3cr:et"));
        assert!(call(&raw).has_client_credentials("my id", "s3cr:et"));
        let encoded = format!("basic {}", STANDARD.encode("my+id:s3cr%3Aet"));
        assert!(call(&encoded).has_client_credentials("my id", "s3cr:et"));
        let wrong = format!("Basic {}", STANDARD.encode("my id:nope"));
        assert!(!call(&wrong).has_client_credentials("my id", "s3cr:et"));
        assert!(!call("Basic !!!not-base64").has_client_credentials("my id", "s3cr:et"));
        assert!(!call("Bearer abc").has_client_credentials("my id", "s3cr:et"));
    }

    #[test]
    fn bearer_tokens_are_read_case_insensitively() {
        assert_eq!(call("bearer abc").bearer(), Some("abc"));
        assert_eq!(call("Bearer ").bearer(), None);
        assert_eq!(call("Basic abc").bearer(), None);
    }
}
