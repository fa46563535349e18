//! The fake's origin: the scheme and `host[:port]` under which it is known. By default that is
//! where it listens, `http://localhost:<port>`; a test that puts it behind a TLS proxy sets a
//! public URL instead ([`FakeWristband::set_public_url`](super::FakeWristband::set_public_url)),
//! which becomes the issuer of its tokens, its vanity domain and the base of every URL it hands
//! out that names itself.

use oauth2::url::Url;

/// A public origin set by the test: `http(s)://host[:port]`, nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PublicOrigin {
    /// `http` or `https`.
    pub(super) scheme: String,
    /// `host[:port]`, lowercased, the port only when it is not the scheme's default.
    pub(super) authority: String,
    /// The host alone, lowercased (what a `Host` header's domain is compared with).
    pub(super) domain: String,
}

impl PublicOrigin {
    /// Reads `http(s)://host[:port]` (a trailing `/` allowed); refuses anything with a user,
    /// a path, a query or a fragment, and says why.
    pub(super) fn parse(text: &str) -> Result<PublicOrigin, String> {
        let url = Url::parse(text.trim()).map_err(|e| format!("not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("the scheme must be http or https".into());
        }
        let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
            return Err("there is no host".into());
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err("a user or password is not allowed".into());
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(
                "only scheme, host and port are allowed (no path, query or fragment)".into()
            );
        }
        let domain = host.to_ascii_lowercase();
        let authority = match url.port() {
            Some(port) => format!("{domain}:{port}"),
            None => domain.clone(),
        };
        Ok(PublicOrigin { scheme: url.scheme().to_string(), authority, domain })
    }
}

#[cfg(test)]
mod tests {
    use super::PublicOrigin;

    #[test]
    fn origins_keep_scheme_host_and_a_non_default_port() {
        let origin = PublicOrigin::parse("https://Auth.Example.test/").unwrap();
        assert_eq!(
            origin,
            PublicOrigin {
                scheme: "https".into(),
                authority: "auth.example.test".into(),
                domain: "auth.example.test".into(),
            }
        );
        let origin = PublicOrigin::parse("https://auth.example.test:8443").unwrap();
        assert_eq!(
            (origin.authority.as_str(), origin.domain.as_str()),
            ("auth.example.test:8443", "auth.example.test")
        );
        // The default port is not written.
        assert_eq!(PublicOrigin::parse("http://a.test:80").unwrap().authority, "a.test");
    }

    #[test]
    fn anything_more_than_an_origin_is_refused() {
        for bad in [
            "auth.example.test",
            "ftp://auth.example.test",
            "https://auth.example.test/base",
            "https://auth.example.test/?x=1",
            "https://auth.example.test/#f",
            "https://user:pw@auth.example.test",
            "https://",
            "",
        ] {
            assert!(PublicOrigin::parse(bad).is_err(), "{bad}");
        }
    }
}
