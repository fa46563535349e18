//! Wristband-style encrypted-cookie sessions and auth guards for [Rocket] 0.5.
//!
//! The whole session lives in one AES-256-GCM-sealed cookie (no server-side store), so any
//! number of app instances that share the secrets share the sessions. The cookie is opened
//! lazily, only when a handler touches the session, and written back in the response phase,
//! once, only when something changed.
//!
//! # Usage
//!
//! 1. Depend on the crate:
//!
//!    ```toml
//!    [dependencies]
//!    wristband-rocket-session = "0.1"
//!    ```
//!
//! 2. Attach the fairing, and register the JSON catchers if you want Wristband's error bodies:
//!
//!    ```rust,no_run
//!    # use rocket::{get, launch, routes};
//!    # #[get("/")] fn index() {}
//!    use wristband_rocket_session::{catchers, WristbandSession};
//!
//!    #[launch]
//!    fn rocket() -> _ {
//!        rocket::build()
//!            .attach(WristbandSession::fairing())
//!            .register("/", catchers())
//!            .mount("/", routes![index])
//!    }
//!    ```
//!
//! 3. Take [`Session`] or [`AuthenticatedSession`] in your handlers:
//!
//!    ```rust
//!    # use rocket::get;
//!    use wristband_rocket_session::{AuthenticatedSession, Session};
//!
//!    #[get("/visits")]
//!    fn visits(session: Session<'_>) -> String {
//!        let n: u64 = session.get("visits").unwrap().unwrap_or(0) + 1;
//!        session.insert("visits", n).unwrap();
//!        format!("{n}")
//!    }
//!
//!    #[get("/me")]
//!    fn me(session: AuthenticatedSession<'_>) -> String {
//!        session.user_id()
//!    }
//!    ```
//!
//! # Configuration
//!
//! Options come from the `wristband_session` table of the active [Rocket profile]: a per-profile
//! `Rocket.toml` keeps development convenient and production strict.
//!
//! ```toml
//! [default.wristband_session]
//! cookie_name = "session"
//! max_age = 3600
//! same_site = "lax"
//!
//! [debug.wristband_session]
//! secure = false            # plain http://127.0.0.1 in development
//!
//! [release.wristband_session]
//! secure = true             # the secret comes from the environment, never from this file
//! ```
//!
//! In production, set the secrets from the environment (Rocket reads every `ROCKET_*`
//! variable; this one holds the whole table and merges over `Rocket.toml`):
//!
//! ```sh
//! ROCKET_PROFILE=release ROCKET_WRISTBAND_SESSION='{secrets=["<32+ random characters>"]}' ./app
//! ```
//!
//! | key | type | default | |
//! | --- | --- | --- | --- |
//! | `secrets` | string or array of 1 to 3 strings | none | each at least 32 characters; the first seals, all open. Required in every profile but `debug`, where a random secret is generated at launch with a warning |
//! | `cookie_name` | string | `"session"` | RFC 6265 token characters except `%`; a `__Host-` name needs `secure = true`, `path = "/"` and no `domain`, a `__Secure-` name needs `secure = true` |
//! | `max_age` | integer (seconds) | `3600` | > 0; enforced inside the sealed cookie too |
//! | `path` | string | `"/"` | starts with `/` |
//! | `domain` | string | unset (host-only) | |
//! | `same_site` | `"lax"`, `"strict"`, `"none"` (any case) | `"lax"` | `none` requires `secure = true` |
//! | `secure` | bool | `true` | the repository's `Rocket.toml` sets `false` for `debug` only |
//! | `enable_csrf_protection` | bool | `false` | a CSRF token per login, checked by [`AuthenticatedSession`] on every method but `GET`, `HEAD`, `OPTIONS` and `TRACE` |
//! | `csrf_cookie_name` | string | `"CSRF-TOKEN"` | differs from `cookie_name`; same character and prefix rules |
//! | `csrf_cookie_domain` | string | falls back to `domain` | |
//! | `csrf_header_name` | string | `"X-CSRF-TOKEN"` | matched in any case |
//! | `csrf_check_all_methods` | bool | `false` | `true` checks the CSRF header on every method, `GET` included (Wristband's SDK behaviour); pages guarded by [`AuthenticatedSession`] then answer 403 to a browser's navigation |
//! | `max_cookie_chunks` | integer | `1` | 1 to 8; above 1 a large session is split over `name`, `name.1`, … |
//! | `renew_after` | integer (seconds) | `60` | ≥ 0; [`AuthenticatedSession`] re-issues the cookie only when at least this long has passed since it was issued; `0` = on every authenticated request |
//! | `revocation` | table: `url`, `sentinels` + `sentinel_master` or `cluster_nodes` (exactly one), `on_unavailable`, `key_prefix`, `refresh_coordination`; credentials `username`, `password`, `sentinel_username`, `sentinel_password`; TLS `tls_ca_file`, `tls_client_cert_file`, `tls_client_key_file` | unset (stateless) | cargo feature `redis`; see [Revocation](#revocation-cargo-feature-redis) and [`RevocationOptions`] |
//!
//! Every field of [`SessionOptions`] says the same with its `_Default:_`. From code, pass the
//! options to [`WristbandSession::custom()`] instead. An invalid configuration aborts launch
//! (`FailedFairings`) with one log line per problem, every problem at once, each naming the key,
//! the profile and the fix; so does an unknown key (a typo never silently falls back to a
//! default).
//!
//! ## How the defaults were chosen
//!
//! Secure unless you opt out: cookies are `HttpOnly`, `Secure`, `SameSite=Lax` and host-only,
//! sessions last an hour and the hour is enforced by the server, not only by the browser.
//! `secure = false` is for local HTTP development and belongs in the `debug` profile only
//! (browsers, Safari first, drop `Secure` cookies on `http://localhost`). No secret is ever
//! defaulted outside `debug`.
//!
//! # Security model
//!
//! - **Encrypted and authenticated**: the session (a JSON object) is sealed with AES-256-GCM
//!   under a key derived from each secret with HKDF-SHA256. Clients can neither read nor alter
//!   it; any change makes the cookie fail to open, and a cookie that fails to open is treated as
//!   no session (empty), never as an error.
//! - **Bound**: the format version, the key id and the cookie name are authenticated with the
//!   data, so a value cannot be replayed under another cookie name or read as another format.
//! - **Expiry inside the cookie**: issued-at and expires-at are sealed with the data; a value
//!   older than `max_age` is refused even if a client replays it, and one issued more than 60 s
//!   in the future (clock skew between instances) too.
//! - **Rotation**: up to three secrets. Put a new secret first: new cookies are sealed with it,
//!   cookies sealed with the others still open (chosen by key id, no trial decryption) and are
//!   re-sealed with the first the next time they are written. Drop the old secret after
//!   `max_age` has passed.
//! - **Nonce budget**: each seal uses a fresh random 96-bit nonce. With random nonces,
//!   AES-GCM keeps its guarantees (NIST SP 800-38D) for at most 2³² ≈ 4.3 billion seals per
//!   key; past that, the chance of two seals sharing a nonce, which would let anyone forge
//!   sessions, is no longer negligible. Count seals, not time: every write of a session is a
//!   seal, and so is every rolling renewal. Worked numbers:
//!   - `renew_after = 0` (renew on every authenticated request, Wristband's behaviour) at
//!     1,000 authenticated requests a second: 86.4 million seals a day, 2³² in about 50 days.
//!   - `renew_after = 60` (the default): an active session is re-sealed at most once a minute.
//!     100,000 users active 8 hours a day make at most 48 million renewals a day (2³² in about
//!     89 days); 10,000 such users, 4.8 million a day (about 2.4 years). Add the app's own
//!     writes (`insert`, logins) to those figures.
//!
//!   Estimate seals a day as (writes a day) + (active sessions × active minutes a day ×
//!   60 / `renew_after`), and rotate the first secret (see **Rotation**, it signs no one out)
//!   well before 2³² seals, e.g. at a quarter of it.
//! - **CSRF**: with `enable_csrf_protection`, each login gets a fresh 256-bit token, stored in
//!   the session and sent in a readable cookie; [`AuthenticatedSession`] requires it back in a
//!   header and compares in constant time. CSRF protects state-changing requests, so the header
//!   is checked on every method but `GET`, `HEAD`, `OPTIONS` and `TRACE` (OWASP's rule): a
//!   page guarded by [`AuthenticatedSession`] opens from a link or the redirect after sign-in,
//!   which can never carry the header. Keep those methods free of side effects, or set
//!   `csrf_check_all_methods = true` to check every method, as Wristband's SDKs do.
//! - **Nothing leaks**: `Debug` of options, secrets, codec and sessions shows no secret and no
//!   session data; log lines say why a cookie was refused but never show its content.
//!
//! The byte-level format, with test vectors, is in `docs/cookie-format.md`.
//!
//! # Rotating secrets across a fleet
//!
//! Instances that share `secrets` share sessions, so during a rotation every instance must
//! open every cookie any other instance seals. The first secret seals, all of them open; that
//! gives four steps, each deployed to one instance at a time (a rolling restart), while users
//! keep using the app. `tests/it/fleet.rs` runs exactly this with two instances restarted between
//! steps while three users keep writing, and checks which key sealed every cookie.
//!
//! | step | `secrets` on the instance | seals with | opens |
//! | --- | --- | --- | --- |
//! | 1 (today) | `["<old>"]` | old | old |
//! | 2 | `["<old>", "<new>"]` | old | old, new |
//! | 3 | `["<new>", "<old>"]` | new | new, old |
//! | 4 | `["<new>"]` | new | new |
//!
//! 1. Generate the new secret (32+ characters; `cargo run --example gen_secret`).
//! 2. Add it **second** on every instance. Nothing changes for users: cookies are still sealed
//!    with the old secret, but every instance can now open one sealed with the new. **Wait until
//!    every instance runs step 2** before any instance starts step 3.
//! 3. Put the new secret **first**, one instance at a time:
//!
//!    ```sh
//!    ROCKET_WRISTBAND_SESSION='{secrets=["<new>","<old>"]}' ./app
//!    ```
//!
//!    During the roll-out an instance on step 3 seals with the new secret while one still on
//!    step 2 seals with the old, and each opens what the other sealed, so a user whose requests
//!    alternate between them stays signed in (their cookie is simply re-sealed by whichever
//!    instance writes it). Skipping step 2 is what signs users out: an instance on step 3 beside
//!    one still on `["<old>"]` seals cookies the old instance cannot open, and every user it
//!    writes for gets an empty session (401 from [`AuthenticatedSession`]) on the other.
//! 4. Once `max_age` seconds have passed since the **last** instance started step 3, remove the
//!    old secret, one instance at a time. Expiry is sealed inside the cookie, so by then no
//!    cookie sealed with the old secret can still open anywhere: a user active in the meantime
//!    holds a cookie re-sealed with the new one (every write re-seals, and
//!    [`AuthenticatedSession`] re-issues a cookie older than `renew_after`); a user who was
//!    away longer than `max_age` had lost the session to expiry anyway. From step 4 on a cookie
//!    sealed with the old secret is refused (an empty session).
//!
//! Nobody is signed out at any step. Rotating to invalidate every session at once (a leaked
//! secret) is the opposite: replace the secret everywhere in one go (`["<new>"]`), which signs
//! everyone out.
//!
//! ## The sign-in secrets (cargo feature `auth`)
//!
//! `tests/it/fleet_auth.rs` shows each of these against `testing::FakeWristband`.
//!
//! - **`login_state_secret`** (in `wristband_auth`) is one string: it seals the login-state
//!   cookie, which only lives between a login and its callback (at most an hour). There is no
//!   staged rotation for it. Deploy the new one to every instance; while instances differ, a
//!   login started on an instance with the old secret and called back on one with the new gets
//!   `RedirectReason::InvalidLoginState` (the standard callback route sends the user back to
//!   the login URL) and completes on the second try. Signed-in users are not affected: sessions
//!   are sealed with `secrets`, not with it.
//! - **Not set**, the login-state secret is derived from the session's **first** secret, so a
//!   session rotation changes it at step 3 (steps 2 and 4 leave the first secret alone). While
//!   some instances are on step 2 and others on step 3, a login that starts on one and calls
//!   back on the other restarts once, as above; nobody signed in is signed out. Set
//!   `login_state_secret` explicitly to keep the two rotations apart.
//! - **`client_secret`** is one string per instance, and Wristband checks it. The rotation is
//!   Wristband's dashboard procedure: add a new client secret for the application there, deploy
//!   it to every instance, then revoke the old one. (Whether Wristband accepts the old and the
//!   new secret at the same time is Wristband's to document; if it does not, the failures below
//!   happen during the roll-out.) Never let an instance hold a client secret Wristband does not
//!   accept (one not yet added, or already revoked): each callback it handles fails with a 500
//!   `WristbandError` and writes no session (a session the user already had is untouched), and
//!   a token refresh it attempts gets Wristband's 401 `invalid_client`: that request answers
//!   401, but the session is kept (only `invalid_grant`, a dead refresh token, ends a session),
//!   so the user is signed in again as soon as a healthy instance serves them.
//!
//! # Revocation (cargo feature `redis`)
//!
//! ```toml
//! [dependencies]
//! wristband-rocket-session = { version = "0.1", features = ["redis"] }  # "auth", "redis" for both
//! ```
//!
//! A sealed cookie carries the whole session, so by itself a copied cookie stays valid until it
//! expires and a logout only clears one browser. With `features = ["redis"]` and a `revocation`
//! table, sessions can be revoked on every instance of a fleet, with **no network call per
//! request**:
//!
//! ```text
//! # Rocket.toml (not loaded by tests/it/doc_toml.rs: it needs the `redis` feature and a Redis)
//! [default.wristband_session.revocation]
//! url = "redis://127.0.0.1:6379"
//! on_unavailable = "refuse"        # or "accept"; see below
//! key_prefix = "wristband_session" # one per application sharing a Redis
//! refresh_coordination = true      # `auth`: one token call per refresh token across instances
//! ```
//!
//! - [`Session::revoke()`]: this session is refused on every instance from now on (and its
//!   cookies are removed in this browser). With the `auth` feature, `Wristband::logout()`
//!   revokes a signed-in session (`isAuthenticated`) too; logging out an anonymous session
//!   only removes its cookies, so anonymous clients cannot grow the revocation table.
//! - `Revocations` (a request guard, and `rocket.state::<Revocations>()` for background
//!   jobs): `Revocations::revoke_user_before()` refuses every session of a user issued before
//!   a time ("log out everywhere", a password change); `Revocations::revoke_session()` one
//!   session by its [`Session::session_id()`].
//!
//! **What it promises.** Every session written with revocation on carries a random 128-bit
//! `sessionId` and its `sessionIssuedAt` (ms) inside the sealed JSON (reserved keys; the
//! cookie format of `docs/cookie-format.md` is unchanged). A rolling re-seal keeps both; a
//! login, [`Session::clear()`] and a session started after [`Session::destroy()`] get a new
//! id. Every request that opens a session (an open-cache hit too) is checked against the
//! revocations this instance holds in memory: a revoked session opens empty and its cookies
//! are removed, like an expired one. A revocation holds on the instance that made it at once,
//! and on every other instance as soon as Redis' pub/sub delivers it: `tests/it/revocation.rs`
//! measures about 2 ms on one machine and requires under 1 s. An instance loads every
//! revocation at start, and after a dropped connection or a Redis restart it catches up
//! (subscribe, reload, write back what Redis lost) before it trusts its memory again; a
//! revocation made while Redis was unreachable holds where it was made, returns an error, and
//! is written to Redis when the instance reconnects. Sessions written before revocation was
//! turned on have no id: `Revocations::revoke_user_before()` still reaches them (by the
//! cookie's issued-at), [`Session::revoke()`] only destroys them.
//!
//! **Failure policy** (`on_unavailable`): what memory holds is enforced always. The policy
//! only decides what an instance does with a session that carries an id or a user while it
//! is *not caught up* (Redis unreachable at launch, connection lost, Redis restarting):
//!
//! - `"refuse"` (the default, fail closed): the request gets an empty session (401 from
//!   [`AuthenticatedSession`]), but the cookie is **kept**, so the user is signed in again the
//!   moment the instance has caught up. Chosen because revocation is a security control: a
//!   cookie revoked elsewhere while this instance was cut off (a leaked cookie, a fired
//!   employee) must not work again just because Redis is down, and an attacker who can break
//!   the link to Redis must not gain by it. The cost is availability: keep Redis available
//!   (a replica with Sentinel, or a managed service).
//! - `"accept"` (fail open): the session is accepted; an `error` line is logged when the
//!   instance loses track and a `warn` line (at most one a second, with a count) while it
//!   accepts unchecked sessions. Only revocations made elsewhere while this instance was not
//!   caught up can be missed, and only until it catches up.
//!
//! **Sizing.** Memory holds revocations, not sessions: a revoked session's entry is dropped
//! once its cookies would have expired anyway (`max_age` plus 60 s of clock skew after the
//! revocation), a user cut-off `max_age` + 60 s after its time or after it was made,
//! whichever is later: a session issued before a cut-off in the past may have been renewed
//! until the cut-off was made, and its last cookie lives that long (memory, Redis's key TTL
//! and what a catch-up loads all keep it so). 10,000 revoked sessions take about 530 KiB per
//! instance (measured: 540,688 bytes; `tests/it/revocation.rs` requires at most 1 MiB), so size
//! for (revocations a second × `max_age`). `Revocations::stats()` reports the table's size
//! (`entries`), and an instance logs a warning each time it grows past 1,000,000 entries.
//! Redis holds the same in two sorted sets, `<key_prefix>:revoked-sessions` and
//! `<key_prefix>:revoked-user-cutoffs` (pruned on every write, each key expiring with its
//! latest entry), and announces each revocation on the channel `<key_prefix>:revocations`.
//! The per-request cost is one read lock and two hash look-ups (`docs/benchmarks.md`). Turn
//! on Redis persistence (`appendonly yes`) so that a restart of Redis *and* of every instance
//! at once loses nothing; with one instance still running, it writes back what it holds.
//!
//! **Sentinel.** For a Redis that survives the loss of its master, give the sentinels instead
//! of `url` (exactly one of the two; setting both, neither, `sentinels` without
//! `sentinel_master` or an empty list aborts launch):
//!
//! ```text
//! # Rocket.toml (tests/it/sentinel.rs loads this block against a real master, replica and sentinels)
//! [default.wristband_session.revocation]
//! sentinels = ["redis://10.0.0.1:26379", "redis://10.0.0.2:26379", "redis://10.0.0.3:26379"]
//! sentinel_master = "mymaster"     # the name in the sentinels' `sentinel monitor` line
//! on_unavailable = "refuse"
//! ```
//!
//! **Cluster.** For Redis Cluster, give seed nodes instead (`url`, `sentinels` and
//! `cluster_nodes`: exactly one of the three). Any reachable node is enough; the `redis`
//! crate's cluster client learns the rest of the cluster from it:
//!
//! ```text
//! # Rocket.toml (tests/it/cluster.rs loads this block against a real six-node cluster)
//! [default.wristband_session.revocation]
//! cluster_nodes = ["redis://10.0.0.1:6379", "redis://10.0.0.2:6379", "redis://10.0.0.3:6379"]
//! on_unavailable = "refuse"
//! ```
//!
//! On a cluster the key and channel names carry the hash tag `{<key_prefix>}`
//! (`{wristband_session}:revoked-sessions`, `…:revoked-user-cutoffs`, `…:revocations`), so
//! that both sets, which one revocation's transaction writes, are in one slot; refresh
//! coordination's keys already share a tag. Single-server and Sentinel deployments keep the
//! names above.
//!
//! **TLS and ACL users.** `rediss://` is accepted wherever a Redis URL is (`url`, each of the
//! `sentinels` or `cluster_nodes`; with `rediss://` sentinels the master is reached over TLS
//! too). Server certificates are always verified, against the public roots or, with `tls_ca_file`, against
//! that PEM bundle alone; `tls_client_cert_file` + `tls_client_key_file` present a client
//! certificate (mutual TLS, `tls-auth-clients yes`). `username` + `password` sign in as an ACL
//! user and replace credentials written in a URL; `sentinel_username` + `sentinel_password`
//! are the sentinels' own. Passwords come from the environment, never a file in `release`; no
//! credential is ever printed. A certificate that does not verify is logged with the word
//! "certificate", the host, and the file or "the public roots" it was checked against; an
//! unreadable `tls_*` file aborts launch naming the key. `tests/redis_tls.rs` runs each case
//! against real servers with certificates made at test time.
//!
//! ```text
//! # Rocket.toml; the password from ROCKET_WRISTBAND_SESSION='{revocation={password="..."}}'
//! [release.wristband_session.revocation]
//! url = "rediss://redis.internal:6380"
//! username = "app"                        # an ACL user (`ACL SETUSER app on >... ~* &* +@all`)
//! tls_ca_file = "/etc/ssl/redis-ca.pem"   # a private CA; unset: the public roots
//! tls_client_cert_file = "/etc/ssl/app.crt"   # mutual TLS: both, or neither
//! tls_client_key_file = "/etc/ssl/app.key"
//! ```
//!
//! Each catch-up asks the sentinels where the master is (the `redis` crate's Sentinel client,
//! which checks with `ROLE` that the node it is given is a master). When the master dies, the
//! subscription ends and the instance asks again, every 0.1–0.25 s, until the sentinels have
//! promoted a replica; it then rebuilds its connections on the new master and catches up. The
//! catch-up writes back what the new master lacks: replication is asynchronous, so the last
//! revocations the old master took may never have reached the replica, and every instance
//! that holds them restores them. A revocation made during the failover holds on the instance
//! that made it, returns an error, and is written back the same way. So revocations flow
//! again as soon as the failover is done: `tests/it/sentinel.rs` kills the master of a local
//! deployment (one replica, three sentinels, `down-after-milliseconds` 1000) and measured
//! 2.35–2.6 s from the kill until a revocation made on one instance was refused by the other,
//! of which 2.2–2.4 s was the sentinels' own failover. A username and password in the first
//! sentinel URL that has one are used for the sentinels and for the master; no password
//! reaches a log line.
//!
//! **Why the `redis` crate** (1.x, with `tokio-comp`, `connection-manager`, `sentinel` and
//! `cluster-async`): it is the maintained async Redis client, runs on the tokio runtime Rocket
//! already has, its `ConnectionManager` reconnects by itself and multiplexes every revocation write over one
//! connection (no pool needed: there is one write per revocation, none per request), its
//! pub/sub connection is a dedicated one whose end tells the instance it lost track, and it
//! implements the Sentinel client protocol and a cluster client that follows slots and
//! failovers and delivers pub/sub over RESP3 (so this crate does not).
//!
//! # Limits
//!
//! - **Size**: browsers keep cookies up to about 4 KB. Each `Set-Cookie` header (name, value,
//!   attributes) is kept within 4096 bytes; sealing adds 49 bytes plus a third for base64, so
//!   one cookie holds about 2.9 KB of JSON. [`Session::insert()`] refuses data that would not
//!   fit ([`SessionError::TooLarge`]); `max_cookie_chunks` spreads a session over up to 8
//!   cookies.
//! - **No server-side revocation** (without the `revocation` table): a cookie is valid until it
//!   expires. [`Session::destroy()`] removes it from the browser, but a copy taken earlier
//!   opens until its expires-at. Keep `max_age` short (rolling sessions renew it, at most every
//!   `renew_after` seconds, on authenticated requests) and rotate the secrets to invalidate
//!   every session at once, or turn on [revocation](#revocation-cargo-feature-redis).
//!   Lowering `max_age` also cuts cookies already issued: a cookie opens only while its
//!   issued-at plus the *configured* `max_age` lies in the future.
//! - **Last write wins**: two concurrent requests of one browser each write their own version.
//!   A write leaves the browser with exactly the cookies it wrote (every other chunk name is
//!   removed, whether the request carried it or not), so one of two racing writes wins whole.
//!
//! # Signing in with Wristband (cargo feature `auth`)
//!
//! ```toml
//! [dependencies]
//! wristband-rocket-session = { version = "0.1", features = ["auth"] }
//! ```
//!
//! With `features = ["auth"]`, the crate also signs users in: the `WristbandAuth` fairing
//! (options in the `wristband_auth` table of each profile, every key documented on
//! `WristbandAuth`), the `Wristband` request guard with `login()`, `callback()` and `logout()`
//! (Wristband's OAuth2 authorization code flow with PKCE, its login-state cookie, tenant
//! resolution and token revocation), and `WristbandAuth::routes()` for the standard routes.
//! Then:
//!
//! - [`AuthenticatedSession`] refreshes expired tokens: when the session holds a refresh token
//!   and its `expiresAt` has passed, the guard gets new tokens from Wristband before it
//!   succeeds. Wristband rotates refresh tokens, so a refresh is retried only when it never
//!   reached Wristband (3 tries 100 ms apart while it cannot connect; never after a 5xx, a
//!   time-out or a 4xx), concurrent requests carrying the same one share **one** call (single
//!   flight, per process; across instances with Redis), and its result is remembered for 30
//!   seconds, so a request that still carries the old cookie gets the same new tokens instead
//!   of replaying a spent refresh token. A refused refresh token answers 401 (the session is
//!   removed when every instance saw the refusal through Redis); Wristband being down, slow
//!   or failing answers 401 and keeps the session.
//! - `WristbandJwt` authenticates API clients by `Authorization: Bearer <access token>`
//!   (RS256 against Wristband's JWKS, cached, re-fetched for a new key id at most 10 times a
//!   minute), and `AuthenticatedUser` accepts either, in the order of `auth_strategies`.
//! - `testing::FakeWristband` (cargo feature `fake-wristband`, which implies `auth`) is a fake
//!   Wristband server for your own tests; never for serving users.
//!
//! `cargo run --example wristband_app --features fake-wristband` signs in against a fake Wristband
//! started beside the app, with no account anywhere.
//!
//! # Coming from Wristband's NestJS/Express SDK
//!
//! | Wristband (`SessionOptions`, auth middleware) | this crate (`wristband_session` table) |
//! | --- | --- |
//! | `secrets` | `secrets` |
//! | `cookieName` | `cookie_name` |
//! | `maxAge` (seconds) | `max_age` (seconds) |
//! | `path`, `domain` | `path`, `domain` |
//! | `sameSite` | `same_site` |
//! | `secure` | `secure` |
//! | `enableCsrfProtection` | `enable_csrf_protection` |
//! | `csrfCookieName`, `csrfCookieDomain` | `csrf_cookie_name`, `csrf_cookie_domain` |
//! | `csrfTokenHeaderName` (auth middleware) | `csrf_header_name` (same table) |
//! | CSRF header checked on every method | `csrf_check_all_methods = true` (default: unsafe methods only) |
//! | `req.session.fromCallback(data, custom)` | [`Session::from_callback()`] |
//! | `req.session.getSessionResponse()` / `getTokenResponse()` | [`Session::session_response()`] / [`Session::token_response()`] |
//! | `req.session.save()` / `destroy()` | [`Session::save()`] / [`Session::destroy()`] (written once, in the response phase) |
//! | `createAuthMiddleware({ authStrategies: ['SESSION'] })` | the [`AuthenticatedSession`] guard |
//!
//! Deliberate differences: the CSRF token is compared in constant time, and by default only on
//! state-changing methods (not `GET`, `HEAD`, `OPTIONS`, `TRACE`); CSRF failures are 403, not 401; expiry is enforced inside the cookie; a login replaces the whole session; an
//! unauthenticated request is *forwarded* with 401, so a lower-ranked route can redirect to a
//! login page. Session cookies are not interchangeable with Wristband's TypeScript SDK.
//!
//! [Rocket]: https://rocket.rs
//! [Rocket profile]: https://rocket.rs/guide/v0.5/configuration/#profiles
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "auth")]
mod auth;
#[cfg(feature = "redis")]
mod revocation;
mod session;
pub mod testing;

#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub use auth::{
    bearer_token, AuthOptions, AuthStrategy, AuthenticatedUser, CallbackResult, LoginConfig,
    LogoutConfig, RedirectReason, TokenData, Wristband, WristbandAuth, WristbandError,
    WristbandJwt, WristbandJwtError, WristbandJwtValidator, WristbandRedirect, WristbandScheme,
};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use revocation::{RevocationStats, Revocations};
pub use session::authenticated::{catchers, AuthenticatedSession};
pub use session::codec::SessionCodec;
pub use session::error::{ConfigError, ConfigProblem, SessionError};
pub use session::fairing::WristbandSession;
pub use session::guard::Session;
pub use session::login_data::{
    CallbackData, SessionResponse, TokenResponse, UserInfo, UserInfoRole,
};
pub use session::options::{
    RevocationOptions, SameSiteOption, Secrets, SessionOptions, UnavailablePolicy,
};
