//! The ID token check at the callback (OpenID Connect Core 1.0, §3.1.3.7): what Wristband's
//! SDK skips. A token endpoint answer completes a login only when its ID token is signed with
//! a key of Wristband's JWKS (RS256), names Wristband as issuer and this client in `aud`, has
//! not expired, and carries the `nonce` this login sent to the authorize endpoint, so that an
//! ID token from another login (another user's, or an old one of the same user's) cannot be
//! played into this one. An `azp` (authorized party) must be this client, and is required when
//! `aud` names several audiences. An `iat` (issued at) may not be in the future, nor more than
//! 10 minutes in the past, each beyond the 60 s leeway: Wristband issues the ID
//! token at the very token call the callback makes, so an older one was not issued for this
//! login. A token without `iat` is bounded by its `exp` alone.
//!
//! Without `openid` in `scopes` Wristband issues no ID token, and none is required.

use jsonwebtoken::{decode, decode_header, Algorithm, Validation};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::config::AuthState;
use super::jwt::{is_access_token_type, LEEWAY_SECS};

/// How long before the callback an ID token may have been issued (`iat`), besides the leeway:
/// 10 minutes, far more than the token call that issues it takes, and short enough that a
/// token kept from an earlier login is refused even while its `exp` is still ahead.
pub(crate) const MAX_ID_TOKEN_AGE_SECS: i64 = 600;

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
    check_azp(&claims, &state.options().client_id)?;
    check_iat(&claims, time::OffsetDateTime::now_utc().unix_timestamp())?;
    let sent = claims.get("nonce").and_then(Value::as_str).unwrap_or_default();
    if sent.is_empty() || !bool::from(sent.as_bytes().ct_eq(nonce.as_bytes())) {
        return Err("the id_token's nonce is not the one this login sent");
    }
    let sub = claims.get("sub").and_then(Value::as_str).filter(|s| !s.is_empty());
    Ok(Some(sub.ok_or("the id_token has no sub")?.to_string()))
}

/// OIDC Core §3.1.3.7 (4, 5): with several audiences `azp` must be present, and when present
/// it must be `client_id`. (`aud` already contains `client_id`.)
fn check_azp(claims: &Map<String, Value>, client_id: &str) -> Result<(), Refusal> {
    let several = matches!(claims.get("aud"), Some(Value::Array(list)) if list.len() > 1);
    match claims.get("azp") {
        None if several => Err("the id_token names several audiences but no azp"),
        None => Ok(()),
        Some(Value::String(azp)) if azp == client_id => Ok(()),
        Some(_) => Err("the id_token's azp is not this client"),
    }
}

/// `iat`, when present, is a number within `[now - MAX_ID_TOKEN_AGE_SECS - leeway, now +
/// leeway]`.
fn check_iat(claims: &Map<String, Value>, now: i64) -> Result<(), Refusal> {
    let Some(iat) = claims.get("iat") else { return Ok(()) };
    let iat = iat.as_f64().ok_or("the id_token's iat is not a number")?;
    let leeway = LEEWAY_SECS as f64;
    if iat > now as f64 + leeway {
        return Err("the id_token was issued in the future (iat)");
    }
    if iat < (now - MAX_ID_TOKEN_AGE_SECS) as f64 - leeway {
        return Err("the id_token was issued too long ago (iat)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn azp_is_needed_with_several_audiences_and_must_be_this_client() {
        let check = |c: Value| check_azp(&claims(c), "me");
        assert!(check(json!({ "aud": "me" })).is_ok());
        assert!(check(json!({ "aud": ["me"] })).is_ok());
        assert!(check(json!({ "aud": ["me", "other"], "azp": "me" })).is_ok());
        assert!(check(json!({ "aud": ["me", "other"] })).is_err());
        assert!(check(json!({ "aud": ["me", "other"], "azp": "other" })).is_err());
        assert!(check(json!({ "aud": "me", "azp": "other" })).is_err());
        assert!(check(json!({ "aud": "me", "azp": null })).is_err());
    }

    #[test]
    fn iat_bounds_are_the_leeway_ahead_and_ten_minutes_plus_the_leeway_behind() {
        let now = 1_700_000_000;
        let check = |iat: Value| check_iat(&claims(json!({ "iat": iat })), now);
        assert!(check_iat(&Map::new(), now).is_ok());
        assert!(check(json!(now)).is_ok());
        assert!(check(json!(now + 60)).is_ok());
        assert!(check(json!(now + 61)).is_err());
        assert!(check(json!(now - 660)).is_ok());
        assert!(check(json!(now - 661)).is_err());
        assert!(check(json!(now as f64 - 0.5)).is_ok());
        assert!(check(json!("now")).is_err());
    }
}
