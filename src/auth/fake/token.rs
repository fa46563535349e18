//! `POST /api/v1/oauth2/token`: the `authorization_code` grant (HTTP Basic, PKCE S256,
//! `redirect_uri` equal to the authorize request's, code used once) and the `refresh_token`
//! grant (HTTP Basic, the token rotates: the old one is spent).
//!
//! A code whose check fails (PKCE, `redirect_uri`) is not consumed, so a test may try again.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rocket::data::Data;
use rocket::State;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::answer::Answer;
use super::request::{Call, Params};
use super::routes::client_form;
use super::script::Endpoint;
use super::state::{Holder, SharedState};

fn invalid_grant(description: &str) -> Answer {
    Answer::oauth_error(400, "invalid_grant", Some(description))
}

/// `base64url(sha256(verifier)) == challenge`, in constant time.
fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

fn code_grant(shared: &SharedState, form: &Params) -> Answer {
    let Some(code) = form.non_empty("code") else {
        return Answer::invalid_request("code is missing");
    };
    let Some(verifier) = form.non_empty("code_verifier") else {
        return Answer::invalid_request("code_verifier is missing");
    };
    let redirect_uri = form.get("redirect_uri").unwrap_or_default();
    let grant = {
        let mut inner = shared.lock();
        let Some(grant) = inner.codes.get(code) else {
            return invalid_grant("unknown, expired or already used authorization code");
        };
        if !pkce_matches(verifier, &grant.code_challenge) {
            return invalid_grant("PKCE verification failed");
        }
        if redirect_uri != grant.redirect_uri {
            return invalid_grant("redirect_uri does not match the authorization request");
        }
        match inner.codes.remove(code) {
            Some(grant) => grant,
            None => return invalid_grant("unknown, expired or already used authorization code"),
        }
    };
    let holder = Holder { user: grant.user, scope: grant.scope, auth_time: grant.auth_time };
    match shared.token_response(holder, grant.nonce.as_deref()) {
        Ok(body) => Answer::json(200, &body),
        Err(_) => Answer::server_error(),
    }
}

fn refresh_grant(shared: &SharedState, form: &Params) -> Answer {
    let Some(token) = form.non_empty("refresh_token") else {
        return Answer::invalid_request("refresh_token is missing");
    };
    let holder = {
        let mut inner = shared.lock();
        let revoked = inner.revoked.iter().any(|t| t == token);
        let Some(entry) = inner.refresh_tokens.get_mut(token) else {
            return invalid_grant("unknown refresh token");
        };
        if revoked {
            return invalid_grant("refresh token revoked");
        }
        if entry.spent {
            return invalid_grant("refresh token already used");
        }
        entry.spent = true;
        let holder = entry.holder.clone();
        inner.refresh_tokens_spent += 1;
        holder
    };
    match shared.token_response(holder, None) {
        Ok(body) => Answer::json(200, &body),
        Err(_) => Answer::server_error(),
    }
}

/// `POST /api/v1/oauth2/token`.
#[rocket::post("/api/v1/oauth2/token", data = "<data>")]
pub(super) async fn token(call: Call, shared: &State<SharedState>, data: Data<'_>) -> Answer {
    let (form, late) = match client_form(&call, shared, Endpoint::Token, data).await {
        Ok(form) => form,
        Err(answer) => return answer,
    };
    let answer = if let Some(name) = form.repeated() {
        Answer::invalid_request(&format!("parameter {name} is repeated"))
    } else {
        match form.get("grant_type") {
            Some("authorization_code") => code_grant(shared, &form),
            Some("refresh_token") => refresh_grant(shared, &form),
            Some(_) => Answer::oauth_error(400, "unsupported_grant_type", None),
            None => Answer::invalid_request("grant_type is missing"),
        }
    };
    late.wait().await;
    answer
}

#[cfg(test)]
mod tests {
    use super::pkce_matches;

    #[test]
    fn pkce_matches_an_independently_computed_challenge() {
        // `printf %s <verifier> | openssl dgst -sha256 -binary | base64`, made URL-safe, unpadded.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r7wW1gFWFOEjXk";
        assert!(pkce_matches(verifier, "bwWFMyPfdG9qreDhH2lmftFx_dFeLDalzcT1gb_j68g"));
        assert!(!pkce_matches(verifier, "bwWFMyPfdG9qreDhH2lmftFx_dFeLDalzcT1gb_j68h"));
        assert!(!pkce_matches("another-verifier", "bwWFMyPfdG9qreDhH2lmftFx_dFeLDalzcT1gb_j68g"));
    }
}
