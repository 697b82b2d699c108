//! Where a request comes from and where it was sent: the client's address, this server's
//! own origin as the client sees it (for the cookie's CSRF rule) and the base of the links
//! the server hands out.
//!
//! "As the client sees it" is, in order: `PUBLIC_URL` when set; the host and scheme a
//! trusted proxy forwarded; the request's own `Host` with the scheme it arrived on. Never
//! the bind address, which behind a proxy is an address nobody outside can reach.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::AppState;
use super::error::AppError;
use super::proxy;

fn peer(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// The scheme the connection itself carries. HTTP/1.1 requests do not name one (the
/// server marks those that came over its own TLS); HTTP/2 requests do (`:scheme`).
fn own_scheme(parts: &Parts) -> &'static str {
    if parts.extensions.get::<super::serve::OverTls>().is_some() {
        return "https";
    }
    parts
        .uri
        .scheme_str()
        .and_then(proxy::scheme)
        .unwrap_or("http")
}

/// The `Host` header (or the HTTP/2 authority), if it is fit for a URL.
fn own_host(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .filter(|h| proxy::valid_host(h))
}

/// The scheme and host the client used: forwarded by a trusted proxy, else the request's own.
fn site(parts: &Parts, state: &AppState) -> (&'static str, Option<String>) {
    let (host, scheme) = match peer(parts) {
        Some(peer) => proxy::forwarded_site(peer, &parts.headers, &state.config.trusted_proxies),
        None => (None, None),
    };
    (
        scheme.unwrap_or_else(|| own_scheme(parts)),
        host.or_else(|| own_host(parts)),
    )
}

/// `scheme://host[:port]`, lower-case, without the scheme's default port: how browsers
/// write `Origin`.
fn origin(scheme: &str, host: &str) -> String {
    let host = host.to_ascii_lowercase();
    let host = match scheme {
        "https" => host.strip_suffix(":443").unwrap_or(&host),
        _ => host.strip_suffix(":80").unwrap_or(&host),
    };
    format!("{scheme}://{host}")
}

/// The origin of an absolute URL such as `PUBLIC_URL` (its path is not part of it).
pub fn origin_of_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = proxy::scheme(scheme)?;
    let host = rest.split(['/', '?', '#']).next()?;
    proxy::valid_host(host).then(|| origin(scheme, host))
}

/// Every origin this request may legitimately come from: the public URL's, the one the
/// client used (forwarded or not) and the request's own `Host`. Each is a place the
/// browser itself sent this request to, so a page elsewhere cannot pass for one of them.
fn own_origins(parts: &Parts, state: &AppState) -> Vec<String> {
    let mut out = Vec::with_capacity(3);
    if let Some(o) = state.public_url.as_deref().and_then(origin_of_url) {
        out.push(o);
    }
    if let (scheme, Some(host)) = site(parts, state) {
        out.push(origin(scheme, &host));
    }
    if let Some(host) = own_host(parts) {
        out.push(origin(own_scheme(parts), &host));
    }
    out
}

/// What the browser says about where a request was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provenance {
    /// `Origin` is one of ours, or (without `Origin`) `Sec-Fetch-Site: same-origin`.
    SameOrigin,
    /// Another origin (including another port or scheme of the same host).
    CrossOrigin,
    /// No `Origin` and no `Sec-Fetch-Site` (or `none`, a typed URL): not a page's request.
    Unknown,
}

pub fn provenance(parts: &Parts, state: &AppState) -> Provenance {
    if let Some(o) = parts.headers.get(header::ORIGIN) {
        let Some(claimed) = o.to_str().ok().and_then(origin_of_url) else {
            return Provenance::CrossOrigin; // `null`, or nothing we could match
        };
        return if own_origins(parts, state).contains(&claimed) {
            Provenance::SameOrigin
        } else {
            Provenance::CrossOrigin
        };
    }
    match parts
        .headers
        .get("sec-fetch-site")
        .map(|v| v.as_bytes().to_ascii_lowercase())
        .as_deref()
    {
        None | Some(b"none") => Provenance::Unknown,
        Some(b"same-origin") => Provenance::SameOrigin,
        Some(_) => Provenance::CrossOrigin,
    }
}

/// Base of `join_url` and `host_url`: `PUBLIC_URL`, else the client's own view of this
/// server; the bind address only for a request that names no host at all (HTTP/1.0).
pub fn link_base(parts: &Parts, state: &AppState) -> String {
    if let Some(url) = &state.public_url {
        return url.to_string();
    }
    match site(parts, state) {
        (scheme, Some(host)) => format!("{scheme}://{host}"),
        (_, None) => state.bind_url.to_string(),
    }
}

/// Whether the client reaches this server over HTTPS (then the cookie is `Secure`).
pub fn over_https(parts: &Parts, state: &AppState) -> bool {
    state.public_url.as_deref().is_some_and(|u| {
        u.get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
    }) || site(parts, state).0 == "https"
}

/// The client's address: the TCP peer, or what a trusted proxy forwarded (see `proxy`).
pub struct ClientIp(pub IpAddr);

impl<S> FromRequestParts<S> for ClientIp
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        // Without connection info (a router driven in-process) nobody is trusted.
        let ip = match peer(parts) {
            Some(peer) => proxy::client_ip(peer, &parts.headers, &state.config.trusted_proxies),
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        Ok(ClientIp(ip))
    }
}

/// The base URL for links in replies (see `link_base`).
pub struct LinkBase(pub String);

impl<S> FromRequestParts<S> for LinkBase
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        Ok(LinkBase(link_base(parts, &state)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised_like_browsers_write_them() {
        assert_eq!(origin("http", "Example.COM:80"), "http://example.com");
        assert_eq!(origin("https", "example.com:443"), "https://example.com");
        assert_eq!(origin("http", "example.com:443"), "http://example.com:443");
        assert_eq!(origin("http", "[::1]:8080"), "http://[::1]:8080");
        assert_eq!(
            origin_of_url("https://quiz.example.com/base/path?x#y").as_deref(),
            Some("https://quiz.example.com")
        );
        assert_eq!(
            origin_of_url("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        for bad in [
            "null",
            "",
            "ftp://x",
            "http://",
            "http://a b",
            "http://u@evil",
            "x",
        ] {
            assert_eq!(origin_of_url(bad), None, "{bad:?}");
        }
    }
}
