#![cfg(feature = "fake-wristband")]
//! `Wristband::login()` through Rocket's local client against the fake Wristband: the
//! authorize URL and its parameters, tenant resolution and its precedence, the app-level
//! fallback, the login-state cookie (attributes, sealing, at most three), return URLs (open
//! redirects refused), custom state, repeated parameters, and hostile input.

use crate::support::auth_app;

use auth_app::{
    custom_login, get, get_on_host, location, login_state_codec, set_config, set_cookies, AuthApp,
    LOGIN_STATE_SECRET, SESSION_SECRET,
};
use oauth2::{PkceCodeChallenge, PkceCodeVerifier};
use rand::{Rng, SeedableRng};
use reqwest::Url;
use rocket::http::{Cookie, Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use serde_json::{json, Map, Value};
use wristband_rocket_session::testing::{Endpoint, FakeWristband, Reply};
use wristband_rocket_session::{
    AuthOptions, LoginConfig, SessionOptions, Wristband, WristbandError, WristbandRedirect,
    WristbandSession,
};

/// An app on the fake (a login-state secret, `/t/login`, no CSRF protection), with `configure`
/// applied to the fake's options.
async fn app(fake: &FakeWristband, configure: impl FnOnce(&mut AuthOptions)) -> Client {
    AuthApp { login_state_secret: Some(LOGIN_STATE_SECRET), ..AuthApp::new(routes![custom_login]) }
        .client(fake, configure)
        .await
}

fn params(url: &str) -> Vec<(String, String)> {
    Url::parse(url).unwrap().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn param(url: &str, name: &str) -> Option<String> {
    params(url).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

fn host_of(url: &str) -> String {
    let url = Url::parse(url).unwrap();
    match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap()),
        None => url.host_str().unwrap().to_string(),
    }
}

/// The login-state cookies a response set (not removals): `(name, value, header)`.
fn login_cookies(response: &LocalResponse<'_>) -> Vec<(String, String, String)> {
    set_cookies(response)
        .into_iter()
        .filter(|h| h.starts_with("login#") && !h.contains("Max-Age=0"))
        .map(|h| {
            let c = Cookie::parse(h.clone()).unwrap();
            (c.name().to_string(), c.value().to_string(), h)
        })
        .collect()
}

/// The names of the login-state cookies a response removed.
fn removed(response: &LocalResponse<'_>) -> Vec<String> {
    let mut names: Vec<String> = set_cookies(response)
        .into_iter()
        .filter(|h| h.contains("Max-Age=0"))
        .map(|h| Cookie::parse(h).unwrap().name().to_string())
        .collect();
    names.sort();
    names
}

/// Opens a login-state cookie as the app sealed it.
fn open(name: &str, value: &str) -> Map<String, Value> {
    login_state_codec(name).open(value).expect("the login state opens")
}

async fn error_code(response: LocalResponse<'_>) -> (Status, String) {
    let status = response.status();
    assert_eq!(response.headers().get_one("Cache-Control"), Some("no-store"));
    let body: Value = response.into_json().await.expect("a JSON body");
    (status, body["error"].as_str().unwrap().to_string())
}

#[rocket::async_test]
async fn login_redirects_to_the_tenant_authorize_page_with_every_parameter() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    let response = get(&client, "/auth/login?tenant_name=acme").await;
    let url = location(&response);
    assert_eq!(response.headers().get_one("Cache-Control"), Some("no-store"));
    assert_eq!(response.headers().get_one("Pragma"), Some("no-cache"));

    let parsed = Url::parse(&url).unwrap();
    assert_eq!(parsed.scheme(), "http");
    assert_eq!(host_of(&url), format!("acme.{}", fake.vanity_domain()));
    assert_eq!(parsed.path(), "/api/v1/oauth2/authorize");
    let keys: Vec<String> = params(&url).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "client_id",
            "redirect_uri",
            "response_type",
            "state",
            "scope",
            "code_challenge",
            "code_challenge_method",
            "nonce"
        ]
    );
    assert_eq!(param(&url, "client_id").unwrap(), "fake-client-id");
    assert_eq!(param(&url, "redirect_uri").unwrap(), "http://localhost:8000/auth/callback");
    assert_eq!(param(&url, "response_type").unwrap(), "code");
    assert_eq!(param(&url, "scope").unwrap(), "openid offline_access email");
    assert!(url.contains("scope=openid+offline_access+email"));
    assert_eq!(param(&url, "code_challenge_method").unwrap(), "S256");
    let state = param(&url, "state").unwrap();
    let nonce = param(&url, "nonce").unwrap();
    assert_eq!((state.len(), nonce.len()), (43, 43));
    assert_ne!(state, nonce);

    let cookies = login_cookies(&response);
    assert_eq!(cookies.len(), 1);
    let (name, value, _) = &cookies[0];
    let parts: Vec<&str> = name.split('#').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[1], state);
    let ms: i64 = parts[2].parse().unwrap();
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    assert!((now_ms - ms).abs() < 60_000);

    let login = open(name, value);
    assert_eq!(login["state"], state);
    assert_eq!(login["redirectUri"], "http://localhost:8000/auth/callback");
    assert!(!login.contains_key("returnUrl") && !login.contains_key("customState"));
    let verifier = login["codeVerifier"].as_str().unwrap().to_string();
    assert_eq!(verifier.len(), 43);
    let expected = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier));
    assert_eq!(param(&url, "code_challenge").unwrap(), expected.as_str());

    // Two logins: fresh state and verifier each time.
    let again = location(&get(&client, "/auth/login?tenant_name=acme").await);
    assert_ne!(param(&again, "state"), Some(state));
}

#[rocket::async_test]
async fn login_state_cookie_attributes_are_exact() {
    let fake = FakeWristband::start().await;
    for secure in [false, true] {
        let client = app(&fake, |o| o.dangerously_disable_secure_cookies = !secure).await;
        let response = get(&client, "/auth/login?tenant_name=acme").await;
        let (_, _, header) = login_cookies(&response).pop().unwrap();
        let mut attributes: Vec<&str> = header.split("; ").skip(1).collect();
        attributes.sort_unstable();
        let mut expected = vec!["HttpOnly", "Max-Age=3600", "Path=/", "SameSite=Lax"];
        if secure {
            expected.push("Secure");
        }
        assert_eq!(attributes, expected, "secure = {secure}");
    }
}

#[rocket::async_test]
async fn custom_scopes_and_login_hint_are_sent() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |o| o.scopes = vec!["openid".into(), "roles".into()]).await;
    let url =
        location(&get(&client, "/auth/login?tenant_name=acme&login_hint=ada%2B1%40x.com").await);
    assert_eq!(param(&url, "scope").unwrap(), "openid roles");
    assert_eq!(params(&url).last().unwrap(), &("login_hint".to_string(), "ada+1@x.com".into()));
    assert!(url.ends_with("&login_hint=ada%2B1%40x.com"));
}

#[rocket::async_test]
async fn tenant_precedence_pairwise() {
    let fake = FakeWristband::start().await;
    let vanity = fake.vanity_domain();
    let client = app(&fake, |_| {}).await;
    let config = |domain: Option<&str>, name: Option<&str>| LoginConfig {
        default_tenant_custom_domain: domain.map(String::from),
        default_tenant_name: name.map(String::from),
        ..LoginConfig::default()
    };
    let cases: Vec<(&str, LoginConfig, String)> = vec![
        // The custom-domain parameter beats the tenant name parameter…
        (
            "tenant_custom_domain=auth.acme.com&tenant_name=globex",
            config(None, None),
            "auth.acme.com".into(),
        ),
        // …and every default.
        (
            "tenant_custom_domain=auth.acme.com",
            config(Some("d.com"), Some("dflt")),
            "auth.acme.com".into(),
        ),
        // The tenant name parameter beats both defaults.
        ("tenant_name=globex", config(Some("d.com"), Some("dflt")), format!("globex.{vanity}")),
        ("tenant_name=globex", config(None, Some("dflt")), format!("globex.{vanity}")),
        // The default custom domain beats the default tenant name.
        ("", config(Some("d.com"), Some("dflt")), "d.com".into()),
        ("", config(None, Some("dflt")), format!("dflt.{vanity}")),
    ];
    for (query, login_config, expected) in cases {
        set_config(&client, login_config);
        let url = location(&get(&client, &format!("/t/login?{query}")).await);
        assert_eq!(host_of(&url), expected, "query {query:?}");
        assert!(url.contains("/api/v1/oauth2/authorize?"));
    }
}

#[rocket::async_test]
async fn tenant_subdomains_win_and_the_tenant_name_parameter_is_then_ignored() {
    let fake = FakeWristband::start().await;
    let vanity = fake.vanity_domain();
    for placeholder in ["{tenant_name}", "{tenant_domain}"] {
        let client = app(&fake, |o| {
            o.parse_tenant_from_root_domain = Some("app.test".into());
            o.login_url = Some(format!("http://{placeholder}.app.test/auth/login"));
            o.redirect_uri = Some(format!("http://{placeholder}.app.test/auth/callback"));
        })
        .await;
        set_config(
            &client,
            LoginConfig { default_tenant_name: Some("dflt".into()), ..LoginConfig::default() },
        );
        // The subdomain beats the tenant_name parameter and the defaults (any port).
        let r = get_on_host(&client, "/t/login?tenant_name=globex", "acme.app.test:8000").await;
        let url = location(&r);
        assert_eq!(host_of(&url), format!("acme.{vanity}"));
        // The redirect URI is sent as configured, placeholder and all.
        assert_eq!(
            param(&url, "redirect_uri").unwrap(),
            format!("http://{placeholder}.app.test/auth/callback")
        );
        // The custom-domain parameter beats the subdomain.
        let r =
            get_on_host(&client, "/t/login?tenant_custom_domain=x.acme.com", "acme.app.test").await;
        assert_eq!(host_of(&location(&r)), "x.acme.com");
        // No subdomain: tenant_name is not used, the default is.
        let r = get_on_host(&client, "/t/login?tenant_name=globex", "app.test").await;
        assert_eq!(host_of(&location(&r)), format!("dflt.{vanity}"));
        // No subdomain, no default: the application-level login.
        set_config(&client, LoginConfig::default());
        let r = get_on_host(&client, "/t/login?tenant_name=globex", "app.test").await;
        assert_eq!(location(&r), format!("http://{vanity}/login?client_id=fake-client-id"));
    }
}

#[rocket::async_test]
async fn without_the_application_custom_domain_tenant_hosts_use_a_dash() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |o| o.is_application_custom_domain_active = Some(false)).await;
    let url = location(&get(&client, "/auth/login?tenant_name=acme").await);
    assert_eq!(host_of(&url), format!("acme-{}", fake.vanity_domain()));
}

#[rocket::async_test]
async fn no_tenant_falls_back_to_the_application_login_page() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    let response = get(&client, "/auth/login?return_url=/x").await;
    assert_eq!(location(&response), format!("{}/login?client_id=fake-client-id", fake.base_url()));
    assert_eq!(response.headers().get_one("Cache-Control"), Some("no-store"));
    assert!(set_cookies(&response).is_empty(), "no login-state cookie");

    // A custom application login page, from auto-configuration.
    let mut sdk = fake.sdk_configuration();
    sdk["customApplicationLoginPageUrl"] = "https://login.example.com/start".into();
    fake.set_sdk_configuration(sdk);
    let client = app(&fake, |_| {}).await;
    let url = location(&get(&client, "/auth/login").await);
    assert_eq!(url, "https://login.example.com/start?client_id=fake-client-id");

    // The client id is URL-encoded (auto-configuration off: the fake knows no such client).
    let client = app(&fake, |o| {
        o.client_id = "my client&id=1".into();
        o.auto_configure_enabled = false;
        o.login_url = Some("http://localhost:8000/auth/login".into());
        o.redirect_uri = Some("http://localhost:8000/auth/callback".into());
    })
    .await;
    let url = location(&get(&client, "/auth/login").await);
    assert_eq!(url, format!("{}/login?client_id=my+client%26id%3D1", fake.base_url()));
}

#[rocket::async_test]
async fn at_most_three_login_state_cookies() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    let with = |names: &[&str]| {
        let mut request = client.get("/auth/login?tenant_name=acme");
        for name in names {
            request = request.cookie(Cookie::new(name.to_string(), "v"));
        }
        request.dispatch()
    };
    // Three: the oldest (numerically: 900 < 3000 < 20000) goes, two stay, one is added.
    let response = with(&["login#c#20000", "login#a#900", "login#b#3000", "session-x"]).await;
    assert_eq!(removed(&response), ["login#a#900"]);
    assert_eq!(login_cookies(&response).len(), 1);
    assert_eq!(set_cookies(&response).len(), 2);
    // Five: three go.
    let response = with(&["login#a#1", "login#b#2", "login#c#3", "login#d#4", "login#e#5"]).await;
    assert_eq!(removed(&response), ["login#a#1", "login#b#2", "login#c#3"]);
    // Two: none goes.
    let response = with(&["login#a#1", "login#b#2"]).await;
    assert!(removed(&response).is_empty());
    assert_eq!(login_cookies(&response).len(), 1);
}

#[rocket::async_test]
async fn repeated_parameters_are_400() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    for query in [
        "tenant_name=a&tenant_name=b",
        "tenant_name=a&tenant_custom_domain=x.com&tenant_custom_domain=y.com",
        "tenant_name=a&return_url=/a&return_url=/b",
        "tenant_name=a&login_hint=a&login_hint=",
    ] {
        let response = get(&client, &format!("/auth/login?{query}")).await;
        assert!(set_cookies(&response).is_empty());
        assert_eq!(
            error_code(response).await,
            (Status::BadRequest, "duplicate_query_parameter".into()),
            "{query}"
        );
    }
}

#[rocket::async_test]
async fn malformed_tenants_are_400() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    for (query, code) in [
        ("tenant_name=evil.com%2F", "invalid_tenant_name"),
        ("tenant_name=a%40b", "invalid_tenant_name"),
        ("tenant_custom_domain=evil.com%2Fx%3F", "invalid_tenant_custom_domain"),
        ("tenant_custom_domain=a%40evil.com", "invalid_tenant_custom_domain"),
    ] {
        let response = get(&client, &format!("/auth/login?{query}")).await;
        assert_eq!(error_code(response).await, (Status::BadRequest, code.into()), "{query}");
    }
    // A malformed default from the app is the app's bug: 500.
    set_config(
        &client,
        LoginConfig { default_tenant_name: Some("a b".into()), ..LoginConfig::default() },
    );
    let response = get(&client, "/t/login").await;
    assert_eq!(
        error_code(response).await,
        (Status::InternalServerError, "invalid_default_tenant".into())
    );
}

#[rocket::async_test]
async fn return_url_and_custom_state_are_stored() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    let stored = |response: &LocalResponse<'_>| {
        let (name, value, _) = login_cookies(response).pop().unwrap();
        open(&name, &value)
    };
    // From the query.
    let r = get(&client, "/t/login?tenant_name=acme&return_url=%2Fsettings%3Ftab%3D2").await;
    assert_eq!(stored(&r)["returnUrl"], "/settings?tab=2");
    // LoginConfig wins over the query.
    set_config(
        &client,
        LoginConfig { return_url: Some("/from-config".into()), ..LoginConfig::default() },
    );
    let r = get(&client, "/t/login?tenant_name=acme&return_url=/from-query").await;
    assert_eq!(stored(&r)["returnUrl"], "/from-config");
    // An empty LoginConfig return URL drops the query's.
    set_config(&client, LoginConfig { return_url: Some(String::new()), ..LoginConfig::default() });
    let r = get(&client, "/t/login?tenant_name=acme&return_url=/from-query").await;
    assert!(!stored(&r).contains_key("returnUrl"));
    // Custom state, with a return URL.
    let custom = json!({ "plan": "pro", "n": [1, 2] }).as_object().cloned();
    set_config(
        &client,
        LoginConfig {
            custom_state: custom.clone(),
            return_url: Some("/r".into()),
            ..LoginConfig::default()
        },
    );
    let login = stored(&get(&client, "/t/login?tenant_name=acme").await);
    assert_eq!(login["customState"], Value::Object(custom.unwrap()));
    assert_eq!(login["returnUrl"], "/r");
    // An empty custom state is not stored.
    set_config(&client, LoginConfig { custom_state: Some(Map::new()), ..LoginConfig::default() });
    assert!(!stored(&get(&client, "/t/login?tenant_name=acme").await).contains_key("customState"));
}

#[rocket::async_test]
async fn return_urls_on_other_hosts_are_refused() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    let refused = [
        "%2F%2Fevil.com",
        "https%3A%2F%2Fevil.com",
        "%2F%5Cevil.com",
        "%2F%09%2Fevil.com",
        "https%3A%2F%2Flocalhost%40evil.com%2F",
        "javascript%3Aalert(1)",
        "evil.com",
    ];
    for url in refused {
        let response =
            get(&client, &format!("/auth/login?tenant_name=acme&return_url={url}")).await;
        assert!(set_cookies(&response).is_empty());
        assert_eq!(
            error_code(response).await,
            (Status::BadRequest, "invalid_return_url".into()),
            "{url}"
        );
    }
    // On `login_url`'s host (localhost:8000), the app's login and redirect hosts are allowed.
    let on_login_host = |url: &'static str| {
        let client = &client;
        async move {
            let uri = format!("/auth/login?tenant_name=acme&return_url={url}");
            get_on_host(client, &uri, "localhost:8000").await
        }
    };
    let response = on_login_host("http%3A%2F%2Flocalhost%3A8000%2Fhome").await;
    assert!(location(&response).contains("/api/v1/oauth2/authorize?"), "to Wristband");
    let response = on_login_host("https%3A%2F%2Fevil.com%2F").await;
    assert_eq!(error_code(response).await, (Status::BadRequest, "invalid_return_url".into()));
    // On another host the login first moves to `login_url`'s host, query unchanged, before
    // anything is checked or any cookie set.
    let uri = "/auth/login?tenant_name=acme&return_url=https%3A%2F%2Fevil.com%2F";
    let response = get_on_host(&client, uri, "app.example.com:8443").await;
    assert!(set_cookies(&response).is_empty());
    assert_eq!(location(&response), format!("http://localhost:8000{uri}"));
}

#[rocket::async_test]
async fn a_custom_state_too_large_for_the_cookie_is_the_apps_error() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    let custom = json!({ "blob": "x".repeat(3000) }).as_object().cloned();
    set_config(&client, LoginConfig { custom_state: custom, ..LoginConfig::default() });
    let response = get(&client, "/t/login?tenant_name=acme").await;
    assert!(set_cookies(&response).is_empty());
    assert_eq!(
        error_code(response).await,
        (Status::InternalServerError, "login_state_too_large".into())
    );
}

#[rocket::async_test]
async fn an_unreachable_configuration_is_500() {
    let fake = FakeWristband::start().await;
    fake.script(
        Endpoint::SdkConfiguration,
        [Reply::Status(503), Reply::Status(503), Reply::Status(503)],
    );
    let client = app(&fake, |_| {}).await;
    let response = get(&client, "/auth/login?tenant_name=acme").await;
    assert_eq!(
        error_code(response).await,
        (Status::InternalServerError, "configuration_error".into())
    );
    // Fetched again on the next use.
    assert_eq!(get(&client, "/auth/login?tenant_name=acme").await.status(), Status::Found);
}

/// Any query string, `Host` or cookies a client sends: a redirect or a 400, never a 5xx.
#[rocket::async_test]
async fn hostile_input_never_gives_a_5xx() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let keys = ["tenant_name", "tenant_custom_domain", "return_url", "login_hint", "x", ""];
    let atoms = [
        "%FF",
        "%00",
        "%2F",
        "%5C",
        "%0D%0A",
        "+",
        "=",
        "a",
        "Z",
        "-",
        ".",
        "%E2%82%AC",
        "%25",
        ":",
        "@",
        "//",
    ];
    for round in 0..300 {
        let mut query = String::new();
        for _ in 0..rng.gen_range(0..6) {
            let key = keys[rng.gen_range(0..keys.len())];
            let len = rng.gen_range(0..if round % 50 == 0 { 3000 } else { 12 });
            let value: String = (0..len).map(|_| atoms[rng.gen_range(0..atoms.len())]).collect();
            query.push_str(&format!("{key}={value}&"));
        }
        let mut request = client.get(format!("/auth/login?{query}"));
        for i in 0..rng.gen_range(0..5) {
            let value: String = (0..rng.gen_range(0..200))
                .map(|_| rng.gen_range('!'..='~'))
                .filter(|c| *c != ';')
                .collect();
            request =
                request.cookie(Cookie::new(format!("login#{i}#{}", rng.r#gen::<u32>()), value));
        }
        if round % 3 == 0 {
            request = request.header(Header::new("Host", "weird..host"));
        }
        let status = request.dispatch().await.status();
        assert!(matches!(status.code, 302 | 400), "query {query:?} gave {status}");
    }
}

#[rocket::async_test]
async fn a_route_using_wristband_without_the_fairing_aborts_launch() {
    #[get("/login")]
    async fn login(wristband: Wristband<'_>) -> Result<WristbandRedirect, WristbandError> {
        wristband.login(LoginConfig::default()).await
    }
    let session = SessionOptions { secrets: SESSION_SECRET.into(), ..SessionOptions::default() };
    let figment = rocket::Config::figment().merge(("log_level", "off"));
    let rocket = rocket::custom(figment)
        .attach(WristbandSession::custom(session))
        .mount("/", routes![login]);
    let error = Client::untracked(rocket).await.unwrap_err();
    assert!(matches!(error.kind(), rocket::error::ErrorKind::SentinelAborts(_)), "{error:?}");
}
