//! The Wristband-shaped session payloads the benchmarks seal, shared by `benches/codec.rs` and
//! `benches/server/src/main.rs` (included with `#[path]`). The Node side reads the same JSON from
//! `bench_server payload`, so every implementation seals the same bytes.
//!
//! Deterministic: the same data on every run.

#![allow(dead_code)]

use serde_json::{json, Map, Value};

/// Base64url characters, as JWTs and opaque tokens use.
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `len` pseudo-random base64url characters from `seed` (a 32-bit LCG, reproducible).
pub fn token(seed: u32, len: usize) -> String {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ALPHABET[(state >> 26) as usize] as char
        })
        .collect()
}

/// An 800-character JWT-shaped access token: header, claims and signature, dot-separated.
pub fn access_token() -> String {
    format!("eyJhbGciOiJSUzI1NiJ9.{}.{}", token(1, 520), token(2, 258))
}

/// The session a Wristband login leaves behind, with an 800-character access token:
/// about 1.1 KB of JSON.
pub fn wristband_session() -> Map<String, Value> {
    let value = json!({
        "isAuthenticated": true,
        "accessToken": access_token(),
        "expiresAt": 1_767_225_600_000_i64,
        "userId": token(3, 26).to_lowercase(),
        "tenantId": token(4, 26).to_lowercase(),
        "tenantName": "acme",
        "identityProviderName": "wristband",
        "refreshToken": token(5, 32),
        "csrfToken": "5f3a9c0e7b1d4a2f8c6e0b9d3a7f1c5e2b8d4f0a6c9e3b7d1f5a8c2e6b0d4f9a",
    });
    value.as_object().expect("an object").clone()
}

/// The login session plus custom fields an application keeps (profile, roles, preferences):
/// about 2.7 KB of JSON.
pub fn wristband_session_with_custom_fields() -> Map<String, Value> {
    let mut session = wristband_session();
    let roles: Vec<Value> = (0..7)
        .map(|i| {
            json!({
                "id": token(10 + i, 26).to_lowercase(),
                "name": format!("app:invotastic:role-{i}"),
                "displayName": format!("Invotastic Role {i}"),
            })
        })
        .collect();
    let custom = json!({
        "email": "ada.lovelace@acme-industries.example",
        "fullName": "Ada Lovelace",
        "locale": "en-GB",
        "timezone": "Europe/London",
        "tenantCustomDomain": "billing.acme-industries.example",
        "roles": roles,
        "permissions": (0..24).map(|i| format!("invoices:action-{i:02}")).collect::<Vec<_>>(),
        "preferences": {"theme": "dark", "pageSize": 50, "currency": "GBP", "beta": true},
        "lastLoginAt": 1_767_222_000_000_i64,
        "loginCount": 137,
        "cartId": token(30, 40),
    });
    for (key, value) in custom.as_object().expect("an object") {
        session.insert(key.clone(), value.clone());
    }
    session
}
