//! Fixtures shared by the fuzz targets and the seed-corpus generator: one fixed configuration,
//! a fixed clock, and the only values that may ever open in a fuzz run.
//!
//! The targets open with [`NOW`] (`open_at`), so their known-good values stay valid however
//! long a run lasts, and also with the real clock (`open`), where every value has expired.

use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use wristband_rocket_session::{SessionCodec, SessionOptions};

/// The fixed secret every target's codec uses.
pub const SECRET: &str = "fuzzing-secret-0123456789-abcdefghijklmnop";
/// The fuzzing clock, in Unix seconds (2026-01-01T00:00:00Z): values are sealed and opened at
/// this instant.
pub const NOW_SECS: i64 = 1_767_225_600;
/// Access-token lengths of the known-good sessions (JSON from about 300 B to 1.8 KB).
pub const TOKEN_LENS: [usize; 4] = [0, 16, 700, 1500];

/// [`NOW_SECS`] as a time.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW_SECS).expect("a valid instant")
}

/// The options of the fuzzed configuration, with up to `max_cookie_chunks` chunks.
pub fn options(max_cookie_chunks: usize) -> SessionOptions {
    SessionOptions { secrets: SECRET.into(), max_cookie_chunks, ..SessionOptions::default() }
}

/// A codec for [`options`].
pub fn codec(max_cookie_chunks: usize) -> SessionCodec {
    SessionCodec::new(&options(max_cookie_chunks)).expect("valid fuzzing options")
}

/// The session a Wristband login leaves, its access token `token_len` characters long.
pub fn wristband_session(token_len: usize) -> Map<String, Value> {
    let token: String = (0..token_len).map(|i| (b'A' + (i * 7 % 26) as u8) as char).collect();
    let value = json!({
        "isAuthenticated": true,
        "accessToken": token,
        "expiresAt": 1_767_229_200_000_i64,
        "userId": "5q2ba6eqkbfwtpnjzjbzfbmgoq",
        "tenantId": "lu4a47jcm2ejayovsgbgbpkihb",
        "tenantName": "acme-industries",
        "identityProviderName": "wristband",
        "refreshToken": "r3fr3sh-t0k3n-0123456789",
        "csrfToken": "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
    });
    value.as_object().expect("an object").clone()
}

/// The known-good values: one session per [`TOKEN_LENS`] entry, sealed by `codec` at [`now`]
/// (with a random nonce each, as every seal), so that a fuzz target knows exactly which inputs
/// may open.
pub fn known_values(codec: &SessionCodec) -> Vec<(String, Map<String, Value>)> {
    TOKEN_LENS
        .iter()
        .map(|&token_len| {
            let session = wristband_session(token_len);
            let value = codec.seal_at(&session, now()).expect("seals");
            (value, session)
        })
        .collect()
}
