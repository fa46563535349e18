//! The managed configuration: options, codec, and the `Set-Cookie` headers they imply
//! (attributes, chunk names, size budget, removal cookies), all computed once at ignite.

use rocket::http::{Cookie, CookieJar};
use rocket::time::Duration;

use crate::session::codec::{SessionCodec, HEADER_BUDGET};
use crate::session::open_cache::OpenCache;
use crate::session::options::SessionOptions;
use crate::session::revocation_hook::RevocationHook;

/// Everything a request needs to read and write the session, managed by the fairing.
pub(crate) struct SessionConfig {
    pub(crate) options: SessionOptions,
    pub(crate) codec: SessionCodec,
    /// Values that opened recently (see `open_cache`).
    pub(crate) opened: OpenCache,
    /// The revocation check, when the `revocation` table is set (see `revocation_hook`).
    pub(crate) revocation: Option<RevocationHook>,
    /// `name`, `name.1`, … up to `max_cookie_chunks`.
    chunk_names: Vec<String>,
    /// The attributes after the value, `; HttpOnly; SameSite=Lax; …; Max-Age=3600`.
    session_attrs: String,
    /// The same for the CSRF cookie (not HttpOnly, its own domain).
    csrf_attrs: String,
    /// A ready removal header per chunk name.
    removals: Vec<String>,
    csrf_removal: String,
}

/// Formats a cookie with the options' attributes; the value is left empty.
fn attributes(
    name: &str,
    options: &SessionOptions,
    http_only: bool,
    domain: Option<&str>,
) -> Cookie<'static> {
    let mut cookie = Cookie::build((name.to_string(), ""))
        .http_only(http_only)
        .same_site(options.same_site.to_cookie())
        .secure(options.secure)
        .path(options.path.clone())
        .max_age(Duration::seconds(options.max_age))
        .build();
    if let Some(domain) = domain {
        cookie.set_domain(domain.to_string());
    }
    cookie
}

fn suffix(cookie: &Cookie<'_>) -> String {
    // `name=` then the attributes: keep what follows the (empty) value.
    let text = cookie.to_string();
    text[cookie.name().len() + 1..].to_string()
}

fn removal(mut cookie: Cookie<'static>) -> String {
    cookie.make_removal();
    cookie.to_string()
}

impl SessionConfig {
    pub(crate) fn new(options: SessionOptions, codec: SessionCodec) -> Self {
        let chunk_names: Vec<String> = (0..options.max_cookie_chunks)
            .map(|i| match i {
                0 => options.cookie_name.clone(),
                i => format!("{}.{i}", options.cookie_name),
            })
            .collect();
        let domain = options.domain.as_deref();
        let csrf_domain = options.csrf_cookie_domain.as_deref().or(domain);
        let session_cookie = attributes(&chunk_names[0], &options, true, domain);
        let csrf_cookie = attributes(&options.csrf_cookie_name, &options, false, csrf_domain);
        let removals = chunk_names
            .iter()
            .map(|name| removal(attributes(name, &options, true, domain)))
            .collect();
        let mut config = SessionConfig {
            session_attrs: suffix(&session_cookie),
            csrf_attrs: suffix(&csrf_cookie),
            csrf_removal: removal(csrf_cookie),
            removals,
            chunk_names,
            codec,
            options,
            opened: OpenCache::default(),
            revocation: None,
        };
        // Open only what this configuration can write back: a value that fits the reader but
        // not the writer (after `domain` was added, `secure` turned on, fewer chunks, or
        // between instances configured differently) would otherwise open on every request and
        // fail on every write until it expired.
        let capacity = config.capacity_total();
        config.codec.limit_value_len(capacity);
        config
    }

    /// How many value bytes all chunks together can carry.
    fn capacity_total(&self) -> usize {
        (0..self.chunk_names.len()).map(|i| self.capacity(i)).sum()
    }

    /// How many value bytes chunk `i` can carry within the header budget.
    fn capacity(&self, i: usize) -> usize {
        HEADER_BUDGET.saturating_sub(self.chunk_names[i].len() + 1 + self.session_attrs.len())
    }

    /// The whole budget, in bytes of `Set-Cookie` header values.
    pub(crate) fn limit(&self) -> usize {
        HEADER_BUDGET * self.chunk_names.len()
    }

    /// The bytes of `Set-Cookie` header values a sealed value of `value_len` bytes needs,
    /// counted over every configured chunk (as the limit is): `Err(size)` if over the limit.
    pub(crate) fn check_value_len(&self, value_len: usize) -> Result<(), usize> {
        let capacity = self.capacity_total();
        if value_len <= capacity {
            Ok(())
        } else {
            // Everything past the capacity is over the limit, byte for byte.
            Err(self.limit() + (value_len - capacity))
        }
    }

    /// A sealed `value` split over the chunk names, in order: `(name, piece)` pairs. `None` if
    /// it does not fit.
    pub(crate) fn split<'s, 'v>(&'s self, value: &'v str) -> Option<Vec<(&'s str, &'v str)>> {
        self.check_value_len(value.len()).ok()?;
        let mut pieces = Vec::with_capacity(1);
        let mut rest = value;
        for (i, name) in self.chunk_names.iter().enumerate() {
            if rest.is_empty() && i > 0 {
                break;
            }
            // base64url is ASCII: any byte index is a char boundary.
            let (piece, tail) = rest.split_at(rest.len().min(self.capacity(i)));
            pieces.push((name.as_str(), piece));
            rest = tail;
        }
        Some(pieces)
    }

    /// The `Set-Cookie` values for a sealed `value`, split over chunks, in order.
    /// `None` if it does not fit.
    pub(crate) fn session_headers(&self, value: &str) -> Option<Vec<String>> {
        let pieces = self.split(value)?;
        let headers = pieces
            .into_iter()
            .map(|(name, piece)| {
                let mut header =
                    String::with_capacity(name.len() + 1 + piece.len() + self.session_attrs.len());
                header.push_str(name);
                header.push('=');
                header.push_str(piece);
                header.push_str(&self.session_attrs);
                header
            })
            .collect();
        Some(headers)
    }

    /// The CSRF cookie carrying `token`.
    pub(crate) fn csrf_header(&self, token: &str) -> String {
        format!("{}={token}{}", self.options.csrf_cookie_name, self.csrf_attrs)
    }

    /// The removal header for chunk `i` (0 is the base cookie).
    pub(crate) fn removal_header(&self, i: usize) -> &str {
        &self.removals[i]
    }

    /// The removal header for the CSRF cookie.
    pub(crate) fn csrf_removal_header(&self) -> &str {
        &self.csrf_removal
    }

    /// How many of the session's cookies, `name`, `name.1`, …, the request carried in a row.
    pub(crate) fn chunks_present(&self, jar: &CookieJar<'_>) -> usize {
        self.chunk_names.iter().take_while(|name| jar.get(name).is_some()).count()
    }

    /// Whether the request carried any of the session's chunk cookies, in a row or not.
    pub(crate) fn any_chunk_present(&self, jar: &CookieJar<'_>) -> bool {
        self.chunk_names.iter().any(|name| jar.get(name).is_some())
    }

    /// The session cookie's value as the request carried it: the chunks joined in order.
    /// `None` when the request had no session cookie.
    pub(crate) fn presented_value<'j>(
        &self,
        jar: &'j CookieJar<'_>,
    ) -> Option<std::borrow::Cow<'j, str>> {
        let Some(first) = jar.get(&self.chunk_names[0]) else {
            return self.any_chunk_present(jar).then(|| "".into());
        };
        // The common case, one cookie: two look-ups, nothing copied.
        if self.chunk_names.get(1).is_none_or(|second| jar.get(second).is_none()) {
            return Some(first.value().into());
        }
        let n = self.chunks_present(jar);
        Some(
            self.chunk_names[..n]
                .iter()
                .filter_map(|name| jar.get(name).map(|c| c.value()))
                .collect::<String>()
                .into(),
        )
    }

    pub(crate) fn chunk_count(&self) -> usize {
        self.chunk_names.len()
    }
}
