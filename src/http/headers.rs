//! Response headers that every reply of a kind carries, set in one place so a new route
//! cannot forget them:
//! - every reply: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`;
//! - HTML: a `Content-Security-Policy` without inline script and with
//!   `frame-ancestors 'none'` (the web client's, or the API docs' own);
//! - `/api/` replies: `Cache-Control: no-store` unless the route set its own (event streams
//!   say `no-cache`): they carry tokens, names, scores and answers.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The web client: its own scripts and styles only (styles set from script through the
/// CSSOM are allowed by any policy), the inline SVG favicon, API calls to itself.
const APP_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Swagger UI: its own scripts, but it writes `style` attributes in rendered markup and
/// uses data: images in its stylesheet.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; \
style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub async fn security_headers(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let api = path.starts_with("/api/");
    let docs = path == "/docs" || path.starts_with("/docs/");
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let html = h
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if html {
        let csp = if docs { DOCS_CSP } else { APP_CSP };
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    if api && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
