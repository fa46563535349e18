use serde_json::{Map, Value};
use time::OffsetDateTime;
use wristband_rocket_session::{SessionCodec, SessionOptions};

#[test]
fn gen() {
    let s1 = "wristband-kat-secret-one-0123456789abcdef";
    let s2 = "rotated-secret·ß·東京·two-0123456789abcdef";
    let vs: Vec<(Vec<&str>, &str, i64, i64, &str, &str)> = vec![
        (
            vec![s1],
            "session",
            3600,
            1700000000,
            "000102030405060708090a0b",
            "{}",
        ),
        (
            vec![s1],
            "session",
            86400,
            1735689600,
            "ffeeddccbbaa998877665544",
            r#"{"visits":42}"#,
        ),
        (
            vec![s1],
            "session",
            1800,
            1767225600,
            "5f3a9c0e7b21d4886ea1c3f0",
            r#"{"accessToken":"eyJhbGciOiJSUzI1NiJ9.e30.c2ln","csrfToken":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","expiresAt":1767227400000,"identityProviderName":"wristband","isAuthenticated":true,"refreshToken":"rt_7Qm2xV9kLp","tenantCustomDomain":null,"tenantId":"tnt_4f2b9c","tenantName":"Café \"Zürich\" 東京 🎉","userId":"usr_8d1e3a"}"#,
        ),
        (
            vec![s2, s1],
            "wb_sess",
            60,
            1700000123,
            "a1b2c3d4e5f60718293a4b5c",
            r#"{"cart":[{"qty":2,"sku":"A-1"}],"flags":{"beta":true},"note":null,"ratio":0.5}"#,
        ),
    ];
    for (secrets, name, max_age, now, nonce, json) in vs {
        let options = SessionOptions {
            secrets: secrets
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .into(),
            cookie_name: name.into(),
            max_age,
            ..SessionOptions::default()
        };
        let codec = SessionCodec::new(&options).unwrap();
        let map: Map<String, Value> = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&map).unwrap(), json);
        let mut n = [0u8; 12];
        for i in 0..12 {
            n[i] = u8::from_str_radix(&nonce[2 * i..2 * i + 2], 16).unwrap();
        }
        let v = codec
            .seal_with_nonce_at(&map, OffsetDateTime::from_unix_timestamp(now).unwrap(), n)
            .unwrap();
        println!(
            "{} json_len={} value_len={}\n{}\n",
            name,
            json.len(),
            v.len(),
            v
        );
    }
}
