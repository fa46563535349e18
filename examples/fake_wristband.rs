//! A standalone fake Wristband, for a frontend dev server, a service in another language, or a
//! Rust app run separately: it serves Wristband's endpoints on a fixed port until stopped
//! (Ctrl-C), and prints what to configure.
//!
//! ```sh
//! cargo run --example fake_wristband --features fake-wristband
//! cargo run --example fake_wristband --features fake-wristband -- \
//!     --port 9400 --app http://localhost:3000 \
//!     --user ada:acme:admin,viewer --user bob:globex:viewer
//! ```
//!
//! Options (all optional):
//!
//! | option | meaning | default |
//! | --- | --- | --- |
//! | `--port <port>` | where it listens (`127.0.0.1`); the vanity domain is `localhost:<port>` | `9400` |
//! | `--app <origin>` | the app's origin: its login URL is `<origin>/auth/login`, its redirect URI `<origin>/auth/callback` | `http://localhost:8000` |
//! | `--login-url <url>`, `--redirect-uri <url>` | the app's URLs one by one (`{tenant_name}` placeholders allowed) | from `--app` |
//! | `--user <id>:<tenant>[:<role>,<role>…]` | a user the sign-in page offers (repeatable, in order); roles are short names such as `admin` | one user, `fake-user-1` |
//! | `--auto-approve` | sign the first user in without showing the sign-in page | the page is shown |
//!
//! It is the crate's `testing::FakeWristband`: it signs anyone in, and anyone who can reach it
//! gets tokens from it. For local development only.

use std::process::ExitCode;

use wristband_rocket_session::testing::{FakeUser, FakeWristband};

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub struct Options {
    pub port: u16,
    pub login_url: String,
    pub redirect_uri: String,
    pub users: Vec<FakeUser>,
    pub auto_approve: bool,
}

/// The usage text.
pub const USAGE: &str = "\
usage: fake_wristband [--port <port>] [--app <origin>] [--login-url <url>] [--redirect-uri <url>]
                      [--user <id>:<tenant>[:<role>,<role>...]]... [--auto-approve]

  --port          where to listen on 127.0.0.1 (default 9400)
  --app           the app's origin (default http://localhost:8000): login URL <origin>/auth/login,
                  redirect URI <origin>/auth/callback
  --login-url     the app's login URL ({tenant_name} placeholder allowed)
  --redirect-uri  the app's redirect URI ({tenant_name} placeholder allowed)
  --user          a user to offer on the sign-in page, e.g. ada:acme:admin,viewer (repeatable)
  --auto-approve  sign the first user in at once, without the sign-in page";

/// `id:tenant[:role,role…]` as a [`FakeUser`].
pub fn parse_user(spec: &str) -> Result<FakeUser, String> {
    let mut parts = spec.splitn(3, ':');
    let id = parts.next().unwrap_or_default().trim();
    let tenant = parts.next().unwrap_or_default().trim();
    if id.is_empty() || tenant.is_empty() {
        return Err(format!("--user {spec:?}: expected <id>:<tenant>[:<role>,<role>...]"));
    }
    let user = FakeUser::new(id, tenant);
    Ok(match parts.next() {
        Some(roles) => {
            user.with_roles(roles.split(',').map(str::trim).filter(|role| !role.is_empty()))
        }
        None => user,
    })
}

/// Reads the command line (without the program name).
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut args = args.into_iter();
    let mut port = 9400;
    let mut origin = "http://localhost:8000".to_string();
    let (mut login_url, mut redirect_uri) = (None, None);
    let mut users = Vec::new();
    let mut auto_approve = false;
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name.to_string(), Some(value.into())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline.clone().or_else(|| args.next()).ok_or_else(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "--port" => {
                let text = value("--port")?;
                port = text.parse().map_err(|_| format!("--port {text:?}: not a port number"))?;
            }
            "--app" => origin = value("--app")?.trim_end_matches('/').to_string(),
            "--login-url" => login_url = Some(value("--login-url")?),
            "--redirect-uri" => redirect_uri = Some(value("--redirect-uri")?),
            "--user" => users.push(parse_user(&value("--user")?)?),
            "--auto-approve" => auto_approve = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(Options {
        port,
        login_url: login_url.unwrap_or_else(|| format!("{origin}/auth/login")),
        redirect_uri: redirect_uri.unwrap_or_else(|| format!("{origin}/auth/callback")),
        users,
        auto_approve,
    })
}

/// Starts the fake `options` describe.
pub async fn start(options: &Options) -> FakeWristband {
    let fake = FakeWristband::start_on(options.port).await;
    fake.set_app_urls(&options.login_url, &options.redirect_uri);
    fake.set_auto_approve(options.auto_approve);
    if !options.users.is_empty() {
        fake.set_users(options.users.iter().cloned());
    }
    fake
}

/// What to tell the developer: the client's credentials, the vanity domain, the URLs.
pub fn summary(fake: &FakeWristband) -> String {
    let base = fake.base_url();
    let mut text = format!(
        "Fake Wristband listening on {base} (development only: it signs anyone in)\n\
         \n\
         client_id:     {client_id}\n\
         client_secret: {secret}\n\
         vanity domain: {vanity} (scheme http)\n\
         \n\
         SDK configuration: {base}/api/v1/clients/{client_id}/sdk-configuration\n\
         authorize:         {base}/api/v1/oauth2/authorize\n\
         token:             {base}/api/v1/oauth2/token\n\
         userinfo:          {base}/api/v1/oauth2/userinfo\n\
         JWKS:              {base}/api/v1/oauth2/jwks\n\
         logout:            {base}/api/v1/logout\n\
         tenant discovery:  {base}/login?client_id={client_id}\n\
         tenant acme:       {acme}\n\
         \n\
         app login URL:     {login}\n\
         app redirect URI:  {redirect}\n\
         \n\
         users:\n",
        client_id = fake.client_id(),
        secret = fake.client_secret(),
        vanity = fake.vanity_domain(),
        acme = fake.tenant_url("acme"),
        login = fake.sdk_configuration()["loginUrl"].as_str().unwrap_or_default(),
        redirect = fake.sdk_configuration()["redirectUri"].as_str().unwrap_or_default(),
    );
    for user in fake.users() {
        let tenant = user.tenant_name.as_deref().unwrap_or("(the host's)");
        text.push_str(&format!(
            "  {} (tenant {tenant}, tnt_id {}): roles {}\n",
            user.user_id,
            user.tenant_id,
            user.role_names().join(", ")
        ));
    }
    text.push_str(&format!(
        "\nFor this crate, in Rocket.toml:\n\
         [debug.wristband_auth]\n\
         client_id = \"{}\"\n\
         client_secret = \"{}\"\n\
         wristband_application_vanity_domain = \"{}\"\n\
         wristband_scheme = \"http\"\n\
         dangerously_disable_secure_cookies = true\n",
        fake.client_id(),
        fake.client_secret(),
        fake.vanity_domain(),
    ));
    text
}

#[rocket::main]
async fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(why) if why.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(why) => {
            eprintln!("fake_wristband: {why}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let fake = start(&options).await;
    println!("{}", summary(&fake));
    println!("Stop it with Ctrl-C.");
    // The fake serves for as long as `fake` lives: until the process is stopped.
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn the_command_line_is_read() {
        let options = parse(args(
            "--port 9500 --app http://localhost:3000/ --user ada:acme:admin,viewer --user=bob:globex",
        ))
        .unwrap();
        assert_eq!(options.port, 9500);
        assert_eq!(options.login_url, "http://localhost:3000/auth/login");
        assert_eq!(options.redirect_uri, "http://localhost:3000/auth/callback");
        assert_eq!(options.users.len(), 2);
        assert_eq!(options.users[0].role_names(), ["admin", "viewer"]);
        assert_eq!(options.users[1].tenant_name.as_deref(), Some("globex"));
        assert!(!options.auto_approve);
        assert!(parse(args("--port x")).is_err());
        assert!(parse(args("--user ada")).is_err());
        assert!(parse(args("--what")).is_err());
    }
}
