//! The ID token check at the callback (OpenID Connect Core 1.0, §3.1.3.7): what Wristband's
//! SDK skips. A token endpoint answer completes a login only when its ID token is signed with
//! a key of Wristband's JWKS (RS256), names Wristband as issuer and this client in `aud`, has
//! not expired, and carries the `nonce` this login sent to the authorize endpoint, so that an
//! ID token from another login (another user's, or an old one of the same user's) cannot be
//! played into this one.
//!
//! Without `openid` in `scopes` Wristband issues no ID token, and none is required.

use jsonwebtoken::{decode, decode_header, Algorithm, Validation};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::config::AuthState;
use super::jwt::{is_access_token_type, LEEWAY_SECS};

/// Why an ID token was refused, for the debug log (never the token or a claim's value).
pub(crate) type Refusal = &'static str;

/// Checks the ID token of a token answer against the `nonce` the login sent. `Ok` holds the
/// token's `sub`, which userinfo's must equal (OIDC Core §5.3.2); `None` when no ID token
/// was issued (no `openid` scope).
pub(crate) async fn check(
    state: &AuthState,
    id_token: Option<&str>,
    nonce: &str,
) -> Result<Option<String>, Refusal> {
    let Some(token) = id_token.filter(|t| !t.is_empty()) else {
        return if state.options().scopes.iter().any(|s| s == "openid") {
            Err("the token answer has no id_token although the `openid` scope was asked for")
        } else {
            Ok(None)
        };
    };
    let header = decode_header(token).map_err(|_| "the id_token is not a JWT")?;
    if header.alg != Algorithm::RS256 {
        return Err("the id_token is not signed with RS256");
    }
    if is_access_token_type(header.typ.as_deref()) {
        return Err("the id_token is an access token (typ at+JWT)");
    }
    let kid = header.kid.ok_or("the id_token names no key (kid)")?;
    let key = state
        .jwks
        .key(state.http(), &kid)
        .await
        .ok_or("the id_token's key is not in Wristband's JWKS")?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = LEEWAY_SECS;
    validation.set_issuer(&[state.wristband_base()]);
    validation.set_audience(&[state.options().client_id.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let claims = decode::<Map<String, Value>>(token, &key, &validation)
        .map_err(|_| "the id_token's signature, issuer, audience or expiry is wrong")?
        .claims;
    let sent = claims.get("nonce").and_then(Value::as_str).unwrap_or_default();
    if sent.is_empty() || !bool::from(sent.as_bytes().ct_eq(nonce.as_bytes())) {
        return Err("the id_token's nonce is not the one this login sent");
    }
    let sub = claims.get("sub").and_then(Value::as_str).filter(|s| !s.is_empty());
    Ok(Some(sub.ok_or("the id_token has no sub")?.to_string()))
}
