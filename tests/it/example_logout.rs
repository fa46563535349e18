#![cfg(feature = "fake-wristband")]
//! The `wristband_app` example's pages sign out with `POST /auth/logout`, a form carrying the
//! session's CSRF token: without the token (or with a wrong one) nobody is signed out (403, no
//! refresh token revoked, no cookie removed); with the token the page wrote, the session ends
//! and the browser goes on to Wristband's logout. `GET /auth/logout` (Wristband's SDKs' way,
//! which any site can trigger) is still there.

use crate::wristband_app;

use rocket::http::{ContentType, Cookie, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use wristband_rocket_session::testing::{callback_data, Endpoint, FakeWristband, LocalRequestExt};

/// The `csrf_token` field of the page's sign-out form.
fn form_token(page: &str) -> String {
    let start = page.find("name=\"csrf_token\" value=\"").expect("a sign-out form") + 25;
    let end = page[start..].find('"').expect("the end of the value") + start;
    page[start..end].to_string()
}

/// The `Set-Cookie` headers of a response.
fn set_cookies(response: &LocalResponse<'_>) -> Vec<String> {
    response.headers().get("Set-Cookie").map(str::to_string).collect()
}

/// The browser's session cookies: `POST /auth/logout` with them and `body` (a form), no header.
async fn post_logout(
    client: &Client,
    browser: &[Cookie<'static>],
    body: Option<&str>,
) -> (Status, Vec<String>, String) {
    let mut request = client.post("/auth/logout").cookies(browser.to_vec());
    if let Some(body) = body {
        request = request.header(ContentType::Form).body(body);
    }
    let response = request.dispatch().await;
    let status = response.status();
    let cookies = set_cookies(&response);
    let location = response.headers().get_one("Location").unwrap_or_default().to_string();
    let body = response.into_string().await.unwrap_or_default();
    (status, cookies, format!("{location}{body}"))
}

#[rocket::async_test]
async fn pages_sign_out_with_a_csrf_checked_post() {
    let fake = FakeWristband::start().await;
    let client = Client::untracked(wristband_app::app(Some(&fake))).await.expect("launches");
    let mut login = callback_data("user-1", "tenant-1");
    login.tenant_name = "acme".into();
    let refresh = login.refresh_token.clone().unwrap();
    // One signed-in browser: the session cookies sealed for this login (with its CSRF token).
    let browser: Vec<Cookie<'static>> = {
        let request = client.get("/").logged_in_as(&login);
        request.inner().cookies().iter().map(|c| c.clone().into_owned()).collect()
    };
    assert!(!browser.is_empty());

    // Both pages sign out with the form, not a link to the GET.
    let home = client.get("/").cookies(browser.clone()).dispatch().await;
    let home = home.into_string().await.unwrap();
    assert!(home.contains("<form method=\"post\" action=\"/auth/logout\""), "{home}");
    assert!(!home.contains("href=\"/auth/logout\""), "{home}");
    let token = form_token(&home);
    assert_eq!(token.len(), 64, "the session's CSRF token: {token}");
    let protected = client.get("/protected").cookies(browser.clone()).dispatch().await;
    let protected = protected.into_string().await.unwrap();
    assert_eq!(form_token(&protected), token);
    assert!(!protected.contains("href=\"/auth/logout\""), "{protected}");

    // No form, an empty field, a wrong token, a token of the right length but not this one:
    // refused, and nothing happens.
    let wrong = "0".repeat(64);
    for body in [
        None,
        Some(""),
        Some("csrf_token="),
        Some("csrf_token=abc"),
        Some(&*format!("csrf_token={wrong}")),
    ] {
        let (status, cookies, answer) = post_logout(&client, &browser, body).await;
        assert_eq!(status, Status::Forbidden, "{body:?}: {answer}");
        assert!(answer.contains("csrf_failed"), "{body:?}: {answer}");
        assert!(cookies.iter().all(|c| !c.starts_with("session=")), "{body:?}: {cookies:?}");
    }
    assert_eq!(fake.calls(Endpoint::Revoke), 0, "a refused logout revoked a token");

    // The page's token: signed out, on to Wristband's logout.
    let (status, cookies, location) =
        post_logout(&client, &browser, Some(&format!("csrf_token={token}"))).await;
    assert_eq!(status, Status::Found, "{location}");
    let logout =
        format!("{}/api/v1/logout?client_id={}", fake.tenant_url("acme"), fake.client_id());
    assert!(location.starts_with(&logout), "{location}");
    assert!(cookies.iter().any(|c| c.starts_with("session=;")), "{cookies:?}");
    assert_eq!(fake.revoked_tokens(), std::slice::from_ref(&refresh));

    // The GET is still served (links, scripts, the README's curl walk-through).
    let response = client.get("/auth/logout").cookies(browser).dispatch().await;
    assert_eq!(response.status(), Status::Found);
    assert_eq!(fake.revoked_tokens(), [refresh.clone(), refresh]);
}
