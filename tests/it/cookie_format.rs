//! Cookie format v1 (`docs/cookie-format.md`): the known-answer vectors, checked against the
//! crate's `SessionCodec` and against an independent implementation of the document written
//! here with the hkdf, sha2, aes-gcm and base64 crates; that the document quotes each vector
//! verbatim; the exact value length; every open-time rejection rule; rotation; and chunking
//! over `name`, `name.1`, … through a real Rocket.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use rocket::http::{Cookie, Status};
use rocket::local::asynchronous::Client;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use wristband_rocket_session::{Session, SessionCodec, SessionOptions, WristbandSession};

const DOC: &str = include_str!("../../docs/cookie-format.md");

/// The first secret of vectors 1 to 3, the second of vector 4.
const SECRET_ONE: &str = "wristband-kat-secret-one-0123456789abcdef";
/// Vector 4's sealing secret: 40 characters, 48 UTF-8 bytes.
const SECRET_TWO: &str = "rotated-secret·ß·東京·two-0123456789abcdef";

/// One known-answer vector, field for field as `docs/cookie-format.md` shows it.
struct Vector {
    secrets: &'static [&'static str],
    cookie_name: &'static str,
    max_age: u64,
    now: u64,
    nonce: &'static str,
    json: &'static str,
    key: &'static str,
    key_id: &'static str,
    value: &'static str,
}

const KEY_ONE: &str = "ed904fbeb0484e41fe8b154c03c38fab5e59242182ddfc045c094b1f79ed5a41";
const KEY_ID_ONE: &str = "4b096a8e";

const VECTOR_1: Vector = Vector {
    secrets: &[SECRET_ONE],
    cookie_name: "session",
    max_age: 3600,
    now: 1_700_000_000,
    nonce: "000102030405060708090a0b",
    json: "{}",
    key: KEY_ONE,
    key_id: KEY_ID_ONE,
    value: "AUsJao4AAQIDBAUGBwgJCgs_stQ_OEE9v1UaVqt4Luf58Tnk7CZSRBucZddYp11SbT8G",
};

const VECTOR_2: Vector = Vector {
    secrets: &[SECRET_ONE],
    cookie_name: "session",
    max_age: 86400,
    now: 1_735_689_600,
    nonce: "ffeeddccbbaa998877665544",
    json: r#"{"visits":42}"#,
    key: KEY_ONE,
    key_id: KEY_ID_ONE,
    value: "AUsJao7_7t3Mu6qZiHdmVUS97w6HmuJZpOvw5ME83zbksHngTX9qQGCKqxVHTn7S3vT_x4MWiPexSa5c3us",
};

const VECTOR_3: Vector = Vector {
    secrets: &[SECRET_ONE],
    cookie_name: "session",
    max_age: 1800,
    now: 1_767_225_600,
    nonce: "5f3a9c0e7b21d4886ea1c3f0",
    json: concat!(
        r#"{"accessToken":"eyJhbGciOiJSUzI1NiJ9.e30.c2ln","#,
        r#""csrfToken":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","#,
        r#""expiresAt":1767227400000,"identityProviderName":"wristband","#,
        r#""isAuthenticated":true,"refreshToken":"rt_7Qm2xV9kLp","tenantCustomDomain":null,"#,
        r#""tenantId":"tnt_4f2b9c","tenantName":"Café \"Zürich\" 東京 🎉","userId":"usr_8d1e3a"}"#,
    ),
    key: KEY_ONE,
    key_id: KEY_ID_ONE,
    value: concat!(
        "AUsJao5fOpwOeyHUiG6hw_BfprZmO1MRVY4fxR_E2wsnxc2EsTBohJozeZ7s8ZmlCMhVHO94AHkAZ_rjkcxUS9P",
        "qRRZ0pVO1l7D-BN9ZclsF_I9sTOaLVHpoyS-BlGG6RbRX_GMsx_FeRxGPPd83o3hN6hTxwD8qQJVy0EgRRUYZIAv",
        "3M0DJL7tvoqguOqj-1GJqHuHm8eoNVYNuKDUf5BinDg7GWX3WcA0nNsxE6Bln6FuYlac48XTFEsksB01j0MSYqMN",
        "sVqjM9awvMo8PGPzC2T9MGnMUETQ2Lsg_mQyUsF-OhEY9VXInHF_SkV7VODmFmxBbxEsKfk2kYj2eC3R-Y0GHdAc",
        "dwLvvBdP4RkMjw76HQIADKfqA8y3XTpfQXppmm89H499sI5WaVGTlyMRC2ONgxq6up9oUtj4oZvq-EXTNfOmZBhV",
        "dYSi8j3BXtHQqJKYFZRtyFVwkH2GdrihxtGErsg7siR5krkdUsINkGZduWtB8waZ84tLghsych5Es8Rs959yZkvq",
        "k3IH-d-7nH1Wl7Ug",
    ),
};

const VECTOR_4: Vector = Vector {
    secrets: &[SECRET_TWO, SECRET_ONE],
    cookie_name: "wb_sess",
    max_age: 60,
    now: 1_700_000_123,
    nonce: "a1b2c3d4e5f60718293a4b5c",
    json: r#"{"cart":[{"qty":2,"sku":"A-1"}],"flags":{"beta":true},"note":null,"ratio":0.5}"#,
    key: "ebc9e38b7dd473f3b95a4ff9e7d3b95d3a5d2761a148a99d6afef807b42cbd5c",
    key_id: "4f9249b8",
    value: concat!(
        "AU-SSbihssPU5fYHGCk6S1yt0WUIzf_BRcEqmaO6e7WfVbpolAoUWN-e_IwxRyD5c49aLnfFnMst2qUnmI55LcX4",
        "ICbaaA1KCE2V3AR4vNPLiXlyHKRHad5bB0PG0EdPm7qHMNxT_kD_RPlUSVF_bGZ0WUbE6KY0PcVTYgYzIQ",
    ),
};

const VECTORS: [&Vector; 4] = [&VECTOR_1, &VECTOR_2, &VECTOR_3, &VECTOR_4];

impl Vector {
    fn options(&self) -> SessionOptions {
        SessionOptions {
            secrets: self.secrets.iter().map(|s| s.to_string()).collect::<Vec<_>>().into(),
            cookie_name: self.cookie_name.into(),
            max_age: self.max_age as i64,
            ..SessionOptions::default()
        }
    }

    fn codec(&self) -> SessionCodec {
        SessionCodec::new(&self.options()).expect("vector options are valid")
    }

    fn nonce(&self) -> [u8; 12] {
        unhex(self.nonce).try_into().expect("12-byte nonce")
    }

    fn session(&self) -> Map<String, Value> {
        serde_json::from_str(self.json).expect("vector JSON is an object")
    }

    /// The text block `docs/cookie-format.md` shows for this vector.
    fn doc_block(&self) -> String {
        let mut block = String::from("```text\n");
        for secret in self.secrets {
            block += &format!("secret:      {secret}\n");
        }
        block += &format!("cookie name: {}\n", self.cookie_name);
        block += &format!("max_age:     {}\n", self.max_age);
        block += &format!("now:         {}\n", self.now);
        block += &format!("nonce:       {}\n", self.nonce);
        block += &format!("json:        {}\n", self.json);
        block += &format!("derived key: {}\n", self.key);
        block += &format!("key id:      {}\n", self.key_id);
        block += &format!("issued-at:   {}\n", self.now);
        block += &format!("expires-at:  {}\n", self.now + self.max_age);
        block += &format!("value:       {}\n", self.value);
        block + "```\n"
    }
}

fn at(secs: u64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs as i64).expect("valid timestamp")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The document, section 1, re-implemented: the key and key id of `secret`.
fn spec_key(secret: &str) -> ([u8; 32], [u8; 4]) {
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(b"wristband-session-v1"), secret.as_bytes())
        .expand(b"aes-gcm-encryption", &mut key)
        .expect("32-byte HKDF output");
    let digest = Sha256::digest(key);
    (key, [digest[0], digest[1], digest[2], digest[3]])
}

/// The document, section 2, re-implemented: every stage of a seal, from raw `json` bytes.
struct SpecSeal {
    aad: Vec<u8>,
    plaintext: Vec<u8>,
    sealed: Vec<u8>,
    value: String,
}

fn spec_seal(
    secret: &str,
    cookie_name: &str,
    issued_at: u64,
    expires_at: u64,
    nonce: [u8; 12],
    json: &[u8],
) -> SpecSeal {
    spec_seal_version(1, secret, cookie_name, issued_at, expires_at, nonce, json)
}

fn spec_seal_version(
    version: u8,
    secret: &str,
    cookie_name: &str,
    issued_at: u64,
    expires_at: u64,
    nonce: [u8; 12],
    json: &[u8],
) -> SpecSeal {
    let (key, key_id) = spec_key(secret);
    let aad = [&[version][..], &key_id, cookie_name.as_bytes()].concat();
    let plaintext = [&issued_at.to_be_bytes()[..], &expires_at.to_be_bytes(), json].concat();
    let cipher = Aes256Gcm::new_from_slice(&key).expect("32-byte key");
    let ciphertext_and_tag = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: &plaintext, aad: &aad })
        .expect("AES-GCM encrypts");
    let sealed = [&[version][..], &key_id, &nonce, &ciphertext_and_tag].concat();
    let value = URL_SAFE_NO_PAD.encode(&sealed);
    SpecSeal { aad, plaintext, sealed, value }
}

/// A session whose compact JSON text is exactly `len` bytes (`len` is 2 or at least 6).
fn session_of_json_len(len: usize) -> Map<String, Value> {
    let value = match len {
        2 => json!({}),
        6 => json!({"": 0}),
        7 => json!({"a": 0}),
        _ => json!({ "k": "x".repeat(len - 8) }),
    };
    let session = value.as_object().expect("object").clone();
    assert_eq!(serde_json::to_vec(&session).unwrap().len(), len);
    session
}

// (a) The crate's own seal of each vector's inputs with the vector's nonce is checked by the
// unit test `codec::tests::seals_the_documented_vectors`: choosing a nonce is possible only
// inside the crate's unit tests, so no application can reuse one.

// (b) The crate's codec opens each value back to exactly the vector's JSON text.
#[test]
fn codec_opens_every_vector_to_its_json() {
    for v in VECTORS {
        let opened = v.codec().open_at(v.value, at(v.now)).expect("vector opens at its `now`");
        assert_eq!(opened, v.session());
        assert_eq!(serde_json::to_string(&opened).unwrap(), v.json);
    }
}

// (c) The document, implemented independently of the codec, gives the same key, key id and
// value; and it opens each value into the documented layout.
#[test]
fn independent_implementation_of_the_document_agrees() {
    for v in VECTORS {
        let (key, key_id) = spec_key(v.secrets[0]);
        assert_eq!(hex(&key), v.key);
        assert_eq!(hex(&key_id), v.key_id);
        let expires_at = v.now + v.max_age;
        let spec =
            spec_seal(v.secrets[0], v.cookie_name, v.now, expires_at, v.nonce(), v.json.as_bytes());
        assert_eq!(spec.value, v.value, "vector with JSON {}", v.json);

        // Open by hand: header fields at their documented offsets, then the plaintext.
        let bytes = URL_SAFE_NO_PAD.decode(v.value).unwrap();
        assert_eq!(bytes.len(), 49 + v.json.len());
        assert_eq!(bytes[0], 1);
        assert_eq!(hex(&bytes[1..5]), v.key_id);
        assert_eq!(hex(&bytes[5..17]), v.nonce);
        let aad = [&[1u8][..], &key_id, v.cookie_name.as_bytes()].concat();
        let plaintext = Aes256Gcm::new_from_slice(&key)
            .unwrap()
            .decrypt(Nonce::from_slice(&bytes[5..17]), Payload { msg: &bytes[17..], aad: &aad })
            .expect("tag verifies");
        assert_eq!(plaintext[..8], v.now.to_be_bytes());
        assert_eq!(plaintext[8..16], expires_at.to_be_bytes());
        assert_eq!(&plaintext[16..], v.json.as_bytes());
    }
}

// (d) Each vector opens exactly for issued-at - 60 <= now < expires-at.
#[test]
fn every_vector_opens_only_within_its_lifetime() {
    for v in VECTORS {
        let codec = v.codec();
        let (issued, expires) = (v.now, v.now + v.max_age);
        assert!(codec.open_at(v.value, at(expires - 1)).is_some());
        assert_eq!(codec.open_at(v.value, at(expires)), None, "expires-at <= now");
        assert_eq!(codec.open_at(v.value, at(expires + 1)), None);
        assert!(codec.open_at(v.value, at(issued - 60)).is_some());
        assert_eq!(codec.open_at(v.value, at(issued - 61)), None, "issued-at > now + 60");
    }
}

// The document quotes every vector, and vector 1's byte breakdown, verbatim.
#[test]
fn document_quotes_every_vector_verbatim() {
    for v in VECTORS {
        assert!(DOC.contains(v.value), "doc lacks the value {}", v.value);
        assert!(DOC.contains(&format!("key id:      {}\n", v.key_id)), "doc lacks {}", v.key_id);
        assert!(DOC.contains(&v.doc_block()), "doc lacks the block:\n{}", v.doc_block());
    }
    // Built from the independent implementation, not from the codec.
    let v = &VECTOR_1;
    let spec = spec_seal(v.secrets[0], v.cookie_name, v.now, v.now + v.max_age, v.nonce(), b"{}");
    let tag_at = spec.sealed.len() - 16;
    let breakdown = format!(
        "aad:         {}\nplaintext:   {}\nversion:     {}\nkey id:      {}\nnonce:       {}\n\
         ciphertext:  {}\ntag:         {}\n",
        hex(&spec.aad),
        hex(&spec.plaintext),
        hex(&spec.sealed[..1]),
        hex(&spec.sealed[1..5]),
        hex(&spec.sealed[5..17]),
        hex(&spec.sealed[17..tag_at]),
        hex(&spec.sealed[tag_at..]),
    );
    assert!(DOC.contains(&breakdown), "doc lacks the breakdown:\n{breakdown}");
    // The length examples the document gives.
    for (json_len, len) in [(2, 68), (13, 83), (1024, 1431), (3023, 4096)] {
        assert_eq!(SessionCodec::sealed_len(json_len), len);
        assert!(DOC.contains(&format!("| {json_len} ")) && DOC.contains(&format!("| {len} ")));
    }
}

// `sealed_len` is the exact length of real seals, and matches ceil((49 + n) * 4 / 3).
#[test]
fn sealed_len_matches_real_seals() {
    let codec = VECTOR_1.codec();
    let sizes = [2, 6, 7].into_iter().chain((8..=3000).step_by(7)).chain([1023, 1024, 1025, 3000]);
    for json_len in sizes {
        let session = session_of_json_len(json_len);
        let value = codec.seal_at(&session, at(VECTOR_1.now)).unwrap();
        assert_eq!(value.len(), SessionCodec::sealed_len(json_len), "JSON of {json_len} bytes");
        assert_eq!(value.len(), ((49 + json_len) * 4).div_ceil(3));
    }
    let value = codec.seal_at(&session_of_json_len(1024), at(VECTOR_1.now)).unwrap();
    assert_eq!(value.len(), 1431);
}

// Rules 2 to 6 and 9 of section 5, each on an otherwise valid value.
#[test]
fn every_format_rejection_rule_refuses() {
    let v = &VECTOR_2;
    let codec = v.codec();
    let now = at(v.now);
    assert!(codec.open_at(v.value, now).is_some());

    // 2: other alphabets, padding, a 4k + 1 length, non-zero unused bits (the value is 83
    // characters, so its last one carries 2 unused bits: `s` is 0b101100, `t` 0b101101).
    assert!(v.value.contains('_') && v.value.ends_with('s'));
    let not_base64 = [
        v.value.replace('_', "/"),
        format!("{}=", v.value),
        v.value[..v.value.len() - 2].to_string(),
        format!("{}t", &v.value[..v.value.len() - 1]),
        format!("{} ", v.value),
    ];
    for value in &not_base64 {
        assert_eq!(codec.open_at(value, now), None, "{value}");
    }
    // 3: 48 bytes are too short; 49 is the minimum length with a JSON text of 0 bytes (which is
    // then refused by rule 9).
    let bytes = URL_SAFE_NO_PAD.decode(v.value).unwrap();
    assert_eq!(codec.open_at(&URL_SAFE_NO_PAD.encode(&bytes[..48]), now), None);
    let empty = spec_seal(v.secrets[0], v.cookie_name, v.now, v.now + 60, v.nonce(), b"");
    assert_eq!(empty.sealed.len(), 49);
    assert_eq!(codec.open_at(&empty.value, now), None);
    // 4: version 2, even when the tag is computed over it.
    let v2 = spec_seal_version(2, v.secrets[0], v.cookie_name, v.now, v.now + 60, v.nonce(), b"{}");
    assert_eq!(codec.open_at(&v2.value, now), None);
    // 5: a key id no configured secret has.
    let stranger = "another-secret-of-at-least-32-characters";
    let unknown = spec_seal(stranger, v.cookie_name, v.now, v.now + 60, v.nonce(), b"{}");
    assert_eq!(codec.open_at(&unknown.value, now), None);
    // 6: any flipped bit after the header, or a value moved to another cookie name.
    for i in [17, 30, bytes.len() - 1] {
        let mut tampered = bytes.clone();
        tampered[i] ^= 0x01;
        assert_eq!(codec.open_at(&URL_SAFE_NO_PAD.encode(&tampered), now), None, "byte {i}");
    }
    let renamed =
        SessionCodec::new(&SessionOptions { cookie_name: "other".into(), ..v.options() }).unwrap();
    assert_eq!(renamed.open_at(v.value, now), None);
    // 9: valid seals of JSON texts that are not one object; whitespace around an object is fine.
    for json in [&b"[1,2]"[..], b"42", b"\"s\"", b"null", b"{", b"{}{}", b"\xff\xfe"] {
        let sealed = spec_seal(v.secrets[0], v.cookie_name, v.now, v.now + 60, v.nonce(), json);
        assert_eq!(codec.open_at(&sealed.value, now), None, "{}", String::from_utf8_lossy(json));
    }
    let spaced = b" { \"visits\" : 42 }\n";
    let sealed = spec_seal(v.secrets[0], v.cookie_name, v.now, v.now + 60, v.nonce(), spaced);
    assert_eq!(codec.open_at(&sealed.value, now), Some(v.session()));
}

// Rule 1: a value longer than 4096 x max_cookie_chunks characters is refused even when it is a
// valid seal; 3023 bytes of JSON give exactly 4096 characters, 3024 give 4098.
#[test]
fn values_longer_than_the_chunk_budget_are_refused() {
    let one = VECTOR_1.codec();
    let two =
        SessionCodec::new(&SessionOptions { max_cookie_chunks: 2, ..VECTOR_1.options() }).unwrap();
    let now = at(VECTOR_1.now);
    let fits = one.seal_at(&session_of_json_len(3023), now).unwrap();
    assert_eq!(fits.len(), 4096);
    assert!(one.open_at(&fits, now).is_some());
    let too_long = one.seal_at(&session_of_json_len(3024), now).unwrap();
    assert_eq!(too_long.len(), 4098);
    assert_eq!(one.open_at(&too_long, now), None);
    assert!(two.open_at(&too_long, now).is_some());
    assert_eq!(two.open_at(&"A".repeat(2 * 4096 + 1), now), None);
}

// Section 6: the first secret seals, every secret opens, chosen by key id.
#[test]
fn rotation_opens_by_key_id() {
    let v = &VECTOR_4;
    // Vector 4's secrets under the name `session` still open vectors 1 to 3.
    let rotated =
        SessionCodec::new(&SessionOptions { cookie_name: "session".into(), ..v.options() })
            .unwrap();
    for old in [&VECTOR_1, &VECTOR_2, &VECTOR_3] {
        assert_eq!(rotated.open_at(old.value, at(old.now)), Some(old.session()));
    }
    // New seals carry the first secret's key id.
    let fresh = rotated.seal_at(&v.session(), at(v.now)).unwrap();
    assert_eq!(hex(&URL_SAFE_NO_PAD.decode(&fresh).unwrap()[1..5]), v.key_id);
    // The secrets in the other order still open vector 4; the second secret alone does not,
    // and neither do vector 4's secrets under another cookie name.
    let reordered = SessionCodec::new(&SessionOptions {
        secrets: vec![SECRET_ONE.to_string(), SECRET_TWO.to_string()].into(),
        ..v.options()
    })
    .unwrap();
    assert_eq!(reordered.open_at(v.value, at(v.now)), Some(v.session()));
    let dropped =
        SessionCodec::new(&SessionOptions { secrets: SECRET_ONE.into(), ..v.options() }).unwrap();
    assert_eq!(dropped.open_at(v.value, at(v.now)), None);
    assert_eq!(rotated.open_at(v.value, at(v.now)), None);
}

#[rocket::post("/blob/<n>")]
fn put_blob(session: Session<'_>, n: usize) -> String {
    match session.insert("blob", "x".repeat(n)) {
        Ok(()) => "stored".into(),
        Err(e) => e.to_string(),
    }
}

#[rocket::get("/blob")]
fn get_blob(session: Session<'_>) -> String {
    match session.get::<String>("blob") {
        Ok(Some(blob)) => blob.len().to_string(),
        _ => "none".into(),
    }
}

fn chunked_options() -> SessionOptions {
    SessionOptions {
        secrets: SECRET_ONE.into(),
        secure: false,
        max_cookie_chunks: 3,
        ..SessionOptions::default()
    }
}

async fn chunked_client() -> Client {
    let figment = rocket::Config::figment().merge(("log_level", "off"));
    let rocket = rocket::custom(figment)
        .attach(WristbandSession::custom(chunked_options()))
        .mount("/", rocket::routes![put_blob, get_blob]);
    Client::tracked(rocket).await.expect("valid rocket")
}

// Section 4: a large session is sealed once under the base name and split, in order, over
// `session`, `session.1`, …; each header stays within 4096 bytes; reading joins them.
#[rocket::async_test]
async fn large_sessions_are_split_in_order_and_joined() {
    let client = chunked_client().await;
    // Store 9000 bytes: JSON `{"blob":"x…x"}` is 9011 bytes, so the value is 12080 characters,
    // more than two 4096-byte headers can carry.
    let response = client.post("/blob/9000").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    let headers: Vec<String> = response.headers().get("Set-Cookie").map(String::from).collect();
    assert_eq!(response.into_string().await.as_deref(), Some("stored"));

    let mut names = Vec::new();
    let mut joined = String::new();
    for header in &headers {
        assert!(header.len() <= 4096, "header of {} bytes", header.len());
        let (name, rest) = header.split_once('=').unwrap();
        let value = rest.split(';').next().unwrap();
        names.push(name.to_string());
        joined.push_str(value);
    }
    assert_eq!(names, ["session", "session.1", "session.2"]);
    // The writer fills every chunk but the last up to the header budget.
    assert_eq!(headers.iter().map(String::len).take(2).collect::<Vec<_>>(), [4096, 4096]);
    assert_eq!(joined.len(), SessionCodec::sealed_len(9011));
    assert_eq!(joined.len(), 12080);
    // The joined text is one value sealed under the base name.
    let codec = SessionCodec::new(&chunked_options()).unwrap();
    let opened = codec.open(&joined).expect("joined chunks open as one value");
    assert_eq!(opened.get("blob").and_then(Value::as_str).map(str::len), Some(9000));

    // The tracked client sends all three chunks back; the server joins them.
    let response = client.get("/blob").dispatch().await;
    assert_eq!(response.into_string().await.as_deref(), Some("9000"));

    // Pieces sent under the wrong names, or without the base cookie, do not open.
    let pieces: Vec<&str> =
        headers.iter().map(|h| h.split_once('=').unwrap().1.split(';').next().unwrap()).collect();
    let fresh = chunked_client().await;
    let swapped = fresh
        .get("/blob")
        .cookie(Cookie::new("session", pieces[1].to_string()))
        .cookie(Cookie::new("session.1", pieces[0].to_string()))
        .cookie(Cookie::new("session.2", pieces[2].to_string()))
        .dispatch()
        .await;
    assert_eq!(swapped.into_string().await.as_deref(), Some("none"));
    let fresh = chunked_client().await;
    let headless = fresh
        .get("/blob")
        .cookie(Cookie::new("session.1", pieces[1].to_string()))
        .cookie(Cookie::new("session.2", pieces[2].to_string()))
        .dispatch()
        .await;
    assert_eq!(headless.into_string().await.as_deref(), Some("none"));
    // Joining stops at the first missing chunk: `session` + `session.2` is not the value.
    let fresh = chunked_client().await;
    let gap = fresh
        .get("/blob")
        .cookie(Cookie::new("session", pieces[0].to_string()))
        .cookie(Cookie::new("session.2", pieces[2].to_string()))
        .dispatch()
        .await;
    assert_eq!(gap.into_string().await.as_deref(), Some("none"));
}
