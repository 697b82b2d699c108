//! Response headers: the pages' Content-Security-Policy (no inline script, no framing),
//! nosniff and Referrer-Policy, `no-store` on API replies with tokens or personal data, the
//! cookie's `Secure`, and asset names that cannot leave the embedded set.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// The CSP's directives as (name, sources).
fn directives(csp: &str) -> Vec<(String, Vec<String>)> {
    csp.split(';')
        .filter_map(|d| {
            let mut words = d.split_whitespace();
            let name = words.next()?.to_ascii_lowercase();
            Some((name, words.map(str::to_owned).collect()))
        })
        .collect()
}

fn sources<'a>(csp: &'a [(String, Vec<String>)], name: &str) -> Option<&'a Vec<String>> {
    csp.iter().find(|(n, _)| n == name).map(|(_, s)| s)
}

fn assert_page_headers(r: &Reply, what: &str) {
    assert!(
        r.header("content-type").starts_with("text/html"),
        "{what}: HTML"
    );
    assert_eq!(r.header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(r.header("referrer-policy"), "no-referrer", "{what}");
    let csp = directives(r.header("content-security-policy"));
    assert_eq!(
        sources(&csp, "frame-ancestors").map(Vec::as_slice),
        Some(&["'none'".to_owned()][..]),
        "{what}: frame-ancestors 'none' in {csp:?}"
    );
    let scripts = sources(&csp, "script-src")
        .or_else(|| sources(&csp, "default-src"))
        .unwrap_or_else(|| panic!("{what}: script sources in {csp:?}"));
    for forbidden in [
        "'unsafe-inline'",
        "'unsafe-eval'",
        "*",
        "data:",
        "http:",
        "https:",
    ] {
        assert!(
            !scripts.iter().any(|s| s == forbidden),
            "{what}: script-src allows {forbidden}: {scripts:?}"
        );
    }
    assert!(
        sources(&csp, "object-src").is_some()
            || sources(&csp, "default-src").is_some_and(|d| d == &["'none'"]),
        "{what}: plugins are off: {csp:?}"
    );
}

/// Every `<script>` of a page loads a file; no element has an inline event handler.
fn assert_no_inline_script(html: &str, what: &str) {
    let lower = html.to_ascii_lowercase();
    for (i, _) in lower.match_indices("<script") {
        let tag_end = lower[i..].find('>').map_or(lower.len(), |e| i + e);
        let tag = &lower[i..tag_end];
        assert!(
            tag.contains(" src="),
            "{what}: inline <script> at {i}: {tag}"
        );
        let body_start = (tag_end + 1).min(lower.len());
        let body_end = lower[body_start..]
            .find("</script>")
            .map_or(body_start, |e| body_start + e);
        assert!(
            lower[body_start..body_end].trim().is_empty(),
            "{what}: a script with a src has no body"
        );
    }
    for word in lower.split(|c: char| c.is_whitespace() || c == '<') {
        let is_handler = word.starts_with("on")
            && word.contains('=')
            && word[2..word.find('=').unwrap_or(2)]
                .chars()
                .all(|c| c.is_ascii_alphabetic());
        assert!(!is_handler, "{what}: inline handler {word:?}");
        assert!(!word.starts_with("style="), "{what}: inline style {word:?}");
    }
    assert!(!lower.contains("javascript:"), "{what}: javascript: URL");
}

#[tokio::test]
async fn pages_carry_a_strict_policy_and_scripts_are_files() {
    let app = spawn_app().await;
    for path in ["/", "/join/ABCDEF", "/host/ABCDEF", "/screen/ABCDEF"] {
        let r = app.get(path, None).await;
        r.expect(200, path);
        assert_page_headers(&r, path);
        let csp = directives(r.header("content-security-policy"));
        let styles = sources(&csp, "style-src").expect("style-src");
        assert!(
            !styles.iter().any(|s| s == "'unsafe-inline'"),
            "{path}: the web client needs no inline style: {styles:?}"
        );
        assert_no_inline_script(&r.text, path);
    }
    // The API docs (Swagger UI) have their own policy, still without inline script.
    let r = app.get("/docs/", None).await;
    r.expect(200, "/docs/");
    assert_page_headers(&r, "/docs/");
    assert_no_inline_script(&r.text, "/docs/");
    for script in [
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "swagger-initializer.js",
    ] {
        assert!(r.text.contains(script), "the docs load {script}");
        let s = app.get(&format!("/docs/{script}"), None).await;
        s.expect(200, script);
        assert_eq!(s.header("x-content-type-options"), "nosniff", "{script}");
    }
    let init = app.get("/docs/swagger-initializer.js", None).await;
    assert!(
        init.text.contains("/openapi.json"),
        "the docs read our document"
    );
    assert!(
        init.text.contains(r#""validatorUrl": "none""#),
        "no image from the online validator: {}",
        init.text
    );

    // Assets: nosniff, their own types.
    for (asset, ct) in [
        ("app.js", "text/javascript"),
        ("app.css", "text/css"),
        ("live.js", "text/javascript"),
    ] {
        let r = app.get(&format!("/assets/{asset}"), None).await;
        r.expect(200, asset);
        assert!(r.header("content-type").starts_with(ct), "{asset}");
        assert_eq!(r.header("x-content-type-options"), "nosniff", "{asset}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_replies_with_tokens_or_personal_data_are_not_stored() {
    let app = spawn_app().await;
    let g = setup_game(&app, 1, 1, 20_000).await;
    let (host, ana) = (&g.host.token, &g.players[0].token);
    let s = format!("/api/v1/sessions/{}", g.code);

    let login = app
        .post(
            "/api/v1/auth/guest",
            None,
            json!({ "display_name": "Cache" }),
        )
        .await;
    login.expect(201, "guest");
    let mut replies = vec![("guest login", login)];
    replies.push((
        "ticket",
        app.post(&format!("{s}/ticket"), Some(ana), json!({})).await,
    ));
    replies.push(("session state", app.get(&s, Some(ana)).await));
    replies.push((
        "join",
        app.post(&format!("{s}/join"), Some(ana), json!({})).await,
    ));
    replies.push((
        "leaderboard",
        app.get(&format!("{s}/leaderboard"), Some(ana)).await,
    ));
    replies.push((
        "poll",
        app.get(&format!("{s}/events/poll?timeout_ms=0"), Some(ana))
            .await,
    ));
    let st = app.host(host, &g.code, "start").await;
    let q = st.json["question"]["question_id"]
        .as_str()
        .unwrap()
        .to_owned();
    replies.push(("host command", st));
    replies.push((
        "answer",
        app.answer(ana, &g.code, &q, correct(0), None).await,
    ));
    app.host(host, &g.code, "end").await.expect(200, "end");
    replies.push((
        "results",
        app.get(&format!("{s}/results"), Some(host)).await,
    ));
    replies.push(("history", app.get("/api/v1/me/history", Some(ana)).await));
    replies.push(("an error", app.get(&s, None).await));
    for (what, r) in &replies {
        assert!(r.status.as_u16() < 500, "{what}: {}", r.text);
        assert_eq!(
            r.header("cache-control"),
            "no-store",
            "{what} ({})",
            r.status
        );
        assert_eq!(r.header("x-content-type-options"), "nosniff", "{what}");
    }
    // The event stream keeps the contract's `no-cache` (proxies must not buffer it).
    let sse = app.sse(ana, &g.code, None).await;
    let cc = sse
        .headers
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert_eq!(cc, "no-cache");
}

fn token_cookie(r: &Reply) -> String {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|h| h.to_str().ok())
        .find(|c| c.starts_with("quiz_token="))
        .unwrap_or_else(|| panic!("a quiz_token cookie in {:?}", r.headers))
        .to_owned()
}

fn is_secure(cookie: &str) -> bool {
    cookie
        .split(';')
        .any(|attr| attr.trim().eq_ignore_ascii_case("secure"))
}

#[tokio::test]
async fn the_cookie_is_secure_when_clients_use_https() {
    let body = json!({ "display_name": "Ana" });
    let plain = spawn_app().await;
    let r = plain.post("/api/v1/auth/guest", None, body.clone()).await;
    r.expect(201, "guest");
    assert!(
        !is_secure(&token_cookie(&r)),
        "http: no Secure (browsers would drop it)"
    );

    let https = spawn_app_with(|c| c.public_url = Some("https://quiz.example.com".into())).await;
    let r = https.post("/api/v1/auth/guest", None, body.clone()).await;
    r.expect(201, "guest");
    let cookie = token_cookie(&r);
    assert!(is_secure(&cookie), "https public URL: Secure: {cookie}");
    for attr in ["httponly", "samesite=lax", "path=/"] {
        assert!(
            cookie.to_ascii_lowercase().contains(attr),
            "{attr} in {cookie}"
        );
    }

    // Behind a trusted proxy that terminates TLS.
    let proxied =
        spawn_app_with(|c| c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let r = send(
        proxied
            .request(Method::POST, "/api/v1/auth/guest", None)
            .header("x-forwarded-proto", "https")
            .json(&body),
        "guest via a TLS proxy",
    )
    .await;
    r.expect(201, "guest");
    assert!(is_secure(&token_cookie(&r)), "forwarded https: Secure");
}

/// Sends one raw request line (no URL normalisation on the way) and reads the reply.
async fn raw_get(app: &TestApp, target: &str) -> (u16, String) {
    let mut conn = within("connect", TcpStream::connect(app.addr))
        .await
        .expect("connect");
    let req = format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        app.addr
    );
    within("write", conn.write_all(req.as_bytes()))
        .await
        .expect("write");
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut buf))
        .await
        .expect("the reply within 10 s")
        .expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status line in {text:?}"));
    (status, text)
}

#[tokio::test]
async fn asset_names_cannot_leave_the_embedded_set() {
    let app = spawn_app().await;
    let (ok, text) = raw_get(&app, "/assets/app.js").await;
    assert_eq!(ok, 200, "{text}");
    for target in [
        "/assets/../Cargo.toml",
        "/assets/..%2fCargo.toml",
        "/assets/..%2F..%2FCargo.toml",
        "/assets/%2e%2e/%2e%2e/Cargo.toml",
        "/assets/%2e%2e%2f%2e%2e%2fsrc%2fmain.rs",
        "/assets/..%5c..%5cCargo.toml",
        "/assets/....//....//Cargo.toml",
        "/assets/app.js%00.png",
        "/assets/%2fetc%2fpasswd",
        "/assets//etc/passwd",
        "/assets/../../../../../../etc/passwd",
        "/assets/./app.js/..",
        "/assets/APP.JS",
        "/assets/index.html",
        "/assets/",
    ] {
        let (status, text) = raw_get(&app, target).await;
        assert_eq!(status, 404, "{target}: {text}");
        assert!(
            text.to_ascii_lowercase()
                .contains("content-type: application/problem+json"),
            "{target}: problem+json: {text}"
        );
        for secret in ["[package]", "root:", "fn main", "import "] {
            assert!(!text.contains(secret), "{target} leaked {secret:?}");
        }
    }
}
