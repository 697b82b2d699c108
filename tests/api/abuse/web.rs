//! Abuse cases: the web. Cross-site requests riding on the cookie, tokens in URLs, stream
//! tickets, forged tokens, response headers, forwarded addresses, path traversal and
//! event-stream injection.

mod csrf;
mod headers;
mod injection;
mod proxies;
mod tickets;
mod tokens;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

/// A request authenticated by the `quiz_token` cookie only, with extra headers.
pub fn with_cookie(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    let mut req = app
        .request(method, path, None)
        .header("cookie", format!("quiz_token={token}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req
}

/// POST with a JSON body, the cookie as credential, and extra headers.
pub async fn cookie_post(
    app: &TestApp,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> Reply {
    let req = with_cookie(app, Method::POST, path, token, headers).json(&body);
    send(req, &format!("POST {path} with the cookie")).await
}

/// GET with extra headers and no credential of its own.
pub async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = app.request(Method::GET, path, None);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    send(req, &format!("GET {path}")).await
}
