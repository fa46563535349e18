//! [`Answer`]: every response the fake sends (JSON, empty, HTML page, redirect).

use std::io::Cursor;

use rocket::http::{ContentType, Header, Status};
use rocket::response::{self, Responder, Response};
use rocket::Request;
use serde_json::{json, Value};

use super::script::Reply;

/// A response of the fake.
#[derive(Debug)]
pub(super) struct Answer {
    status: Status,
    content_type: Option<ContentType>,
    body: Option<String>,
    headers: Vec<Header<'static>>,
}

/// `code` as a status; a code outside 100–999 becomes 500.
fn status(code: u16) -> Status {
    if (100..=999).contains(&code) {
        Status::new(code)
    } else {
        Status::InternalServerError
    }
}

impl Answer {
    fn new(status: Status) -> Answer {
        Answer { status, content_type: None, body: None, headers: Vec::new() }
    }

    /// `status`, empty body.
    pub(super) fn empty(code: u16) -> Answer {
        Answer::new(status(code))
    }

    /// `status` with a JSON body; never cached (OAuth2 token answers must not be).
    pub(super) fn json(code: u16, body: &Value) -> Answer {
        let mut answer = Answer::new(status(code));
        answer.content_type = Some(ContentType::JSON);
        answer.body = Some(body.to_string());
        answer.headers.push(Header::new("Cache-Control", "no-store"));
        answer.headers.push(Header::new("Pragma", "no-cache"));
        answer
    }

    /// An OAuth2 error body: `{"error": .., "error_description": ..}`.
    pub(super) fn oauth_error(code: u16, error: &str, description: Option<&str>) -> Answer {
        let mut body = json!({ "error": error });
        if let Some(description) = description {
            body["error_description"] = description.into();
        }
        Answer::json(code, &body)
    }

    /// 401 `invalid_client`, asking for HTTP Basic.
    pub(super) fn invalid_client() -> Answer {
        let mut answer =
            Answer::oauth_error(401, "invalid_client", Some("Client authentication failed"));
        answer.headers.push(Header::new("WWW-Authenticate", "Basic realm=\"wristband\""));
        answer
    }

    /// 401 `invalid_token`, for a missing, unknown, expired or revoked Bearer token.
    pub(super) fn invalid_token() -> Answer {
        let mut answer = Answer::oauth_error(401, "invalid_token", None);
        answer.headers.push(Header::new("WWW-Authenticate", "Bearer error=\"invalid_token\""));
        answer
    }

    /// 400 `invalid_request` with a description.
    pub(super) fn invalid_request(description: &str) -> Answer {
        Answer::oauth_error(400, "invalid_request", Some(description))
    }

    /// 500 `server_error` (the fake failed to sign a token).
    pub(super) fn server_error() -> Answer {
        Answer::oauth_error(500, "server_error", None)
    }

    /// A redirect (`302`, or `303` after a form post) to an absolute URL.
    pub(super) fn redirect(code: u16, location: &str) -> Answer {
        let mut answer = Answer::new(status(code));
        answer.headers.push(Header::new("Location", location.to_string()));
        answer.headers.push(Header::new("Cache-Control", "no-store"));
        answer
    }

    /// A small self-contained HTML page shaped like a hosted login page: a centred card with
    /// the fake's banner, `title` as its heading, then `body_html` (inline CSS only, no
    /// external assets).
    pub(super) fn html(code: u16, title: &str, body_html: &str) -> Answer {
        let mut answer = Answer::new(status(code));
        answer.content_type = Some(ContentType::HTML);
        answer.body = Some(format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title} \u{b7} Fake Wristband</title>\n<style>{PAGE_CSS}</style></head>\n\
             <body><main class=\"card\">\n\
             <p class=\"brand\">Fake Wristband <span class=\"badge\">development only</span></p>\n\
             <h1>{title}</h1>\n{body_html}\n</main></body></html>\n",
            title = escape(title),
        ));
        answer.headers.push(Header::new("Cache-Control", "no-store"));
        answer
    }

    /// An HTML error page: the OAuth2 error code and a sentence.
    pub(super) fn error_page(code: u16, error: &str, description: &str) -> Answer {
        let body = format!(
            "<p id=\"error\">{}</p>\n<p id=\"error_description\">{}</p>",
            escape(error),
            escape(description)
        );
        Answer::html(code, "Something went wrong", &body)
    }

    /// What a scripted reply sends (`Delay` sends nothing: `None`).
    pub(super) fn scripted(reply: &Reply) -> Option<Answer> {
        match reply {
            Reply::Status(code) => Some(Answer::empty(*code)),
            Reply::Json(code, body) => Some(Answer::json(*code, body)),
            Reply::InvalidGrant(description) => {
                Some(Answer::oauth_error(400, "invalid_grant", description.as_deref()))
            }
            Reply::Delay(_) | Reply::LateAnswer(_) => None,
        }
    }
}

/// The pages' style sheet (inline: the fake serves no assets).
const PAGE_CSS: &str = "\
*{box-sizing:border-box}\
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;\
background:#eef1f6;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2433}\
.card{width:100%;max-width:420px;margin:24px;padding:32px 36px;background:#fff;border-radius:12px;\
box-shadow:0 8px 28px rgba(20,30,60,.12)}\
.brand{margin:0 0 4px;font-size:13px;font-weight:600;letter-spacing:.04em;text-transform:uppercase;\
color:#5b6478}\
.badge{margin-left:6px;padding:1px 7px;border-radius:9px;background:#fff3cd;color:#7a5a00;\
font-size:11px;text-transform:none;letter-spacing:0}\
h1{margin:0 0 18px;font-size:24px;line-height:1.25}\
p{margin:0 0 12px}.app{color:#5b6478;font-size:14px}\
.detail{display:block;color:#5b6478;font-size:13px}\
fieldset{margin:0 0 18px;padding:0;border:0}legend{margin-bottom:8px;font-weight:600}\
.choice{display:flex;gap:10px;align-items:flex-start;font-weight:400;padding:10px 12px;margin-bottom:8px;\
border:1px solid #d5dae4;border-radius:8px;cursor:pointer}\
.choice:has(input:checked){border-color:#3652d9;background:#f3f5ff}\
.choice input{margin-top:5px}.who{display:block;font-weight:600}\
label{font-weight:600}\
input[type=text]{display:block;width:100%;margin-top:6px;padding:10px 12px;font:inherit;\
border:1px solid #c3c9d6;border-radius:8px}\
input[type=text]:focus{outline:2px solid #3652d9;border-color:#3652d9}\
button{width:100%;padding:11px;font:inherit;font-weight:600;color:#fff;background:#3652d9;\
border:0;border-radius:8px;cursor:pointer}button:hover{background:#2841b8}\
#error,[role=alert]{padding:10px 12px;border-radius:8px;background:#fdecec;color:#9b1c1c}\
a{color:#3652d9}";

/// Escapes text for HTML content and double-quoted attributes.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl<'r> Responder<'r, 'static> for Answer {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build();
        response.status(self.status);
        if let Some(content_type) = self.content_type {
            response.header(content_type);
        }
        for header in self.headers {
            response.header_adjoin(header);
        }
        if let Some(body) = self.body {
            response.sized_body(body.len(), Cursor::new(body));
        }
        response.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_characters() {
        assert_eq!(
            escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn out_of_range_status_codes_become_500() {
        assert_eq!(status(42), Status::InternalServerError);
        assert_eq!(status(1000), Status::InternalServerError);
        assert_eq!(status(503), Status::ServiceUnavailable);
    }
}
