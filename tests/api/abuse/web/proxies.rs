//! `--trusted-proxies`: only a trusted peer's forwarded client address counts (for the
//! guest-login limit), and links follow the host the client used, never the bind address.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

async fn login_from(app: &TestApp, forwarded: &[(&str, &str)]) -> u16 {
    let mut req = app
        .request(Method::POST, "/api/v1/auth/guest", None)
        .json(&json!({ "display_name": "Ana" }));
    for (k, v) in forwarded {
        req = req.header(*k, *v);
    }
    let r = send(req, "guest login").await;
    if r.status != 201 {
        r.expect_problem(429, "a limited login");
    }
    r.status.as_u16()
}

#[tokio::test]
async fn a_trusted_proxys_clients_get_a_bucket_each() {
    // The tests connect from 127.0.0.1: here that is the proxy.
    let app = spawn_app_with(|c| {
        c.guest_logins_per_minute = 1;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()];
    })
    .await;
    let a = [("x-forwarded-for", "203.0.113.1")];
    let b = [("x-forwarded-for", "203.0.113.2")];
    assert_eq!(login_from(&app, &a).await, 201, "client A's first login");
    assert_eq!(login_from(&app, &a).await, 429, "client A's second login");
    assert_eq!(
        login_from(&app, &b).await,
        201,
        "client B has a bucket of its own"
    );
    // A client that writes its own X-Forwarded-For: our proxy appends the real address,
    // and that right-most untrusted one is what counts.
    let spoofed = [("x-forwarded-for", "198.51.100.77, 203.0.113.1")];
    assert_eq!(
        login_from(&app, &spoofed).await,
        429,
        "A cannot escape with a made-up hop"
    );
    let v6 = [("forwarded", r#"for="[2001:db8::5]:4711";proto=https"#)];
    assert_eq!(
        login_from(&app, &v6).await,
        201,
        "Forwarded: for= an IPv6 client"
    );
    assert_eq!(
        login_from(&app, &v6).await,
        429,
        "the same IPv6 client again"
    );
    // No forwarding header: the proxy's own bucket.
    assert_eq!(login_from(&app, &[]).await, 201, "the proxy itself");
    assert_eq!(login_from(&app, &[]).await, 429, "the proxy itself, again");
}

#[tokio::test]
async fn an_untrusted_peers_forwarding_headers_are_ignored() {
    let app = spawn_app_with(|c| {
        c.guest_logins_per_minute = 1;
        c.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
    })
    .await;
    assert_eq!(
        login_from(&app, &[("x-forwarded-for", "203.0.113.1")]).await,
        201
    );
    assert_eq!(
        login_from(&app, &[("x-forwarded-for", "203.0.113.2")]).await,
        429,
        "a peer outside --trusted-proxies shares its one bucket whatever it claims"
    );
    assert_eq!(
        login_from(&app, &[("forwarded", "for=203.0.113.3")]).await,
        429
    );
    let no_proxies = spawn_app_with(|c| c.guest_logins_per_minute = 1).await;
    assert_eq!(
        login_from(&no_proxies, &[("x-forwarded-for", "203.0.113.1")]).await,
        201
    );
    assert_eq!(
        login_from(&no_proxies, &[("x-forwarded-for", "203.0.113.2")]).await,
        429
    );
}

async fn links(app: &TestApp, headers: &[(&str, &str)]) -> (String, String) {
    let g = app.guest("Host").await;
    let quiz = app.create_quiz(&g.token, 1).await;
    let mut req = app
        .request(Method::POST, "/api/v1/sessions", Some(&g.token))
        .json(&json!({ "quiz_id": quiz }));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = send(req, "create session").await;
    let v = r.expect(201, "create session");
    (
        v["join_url"].as_str().unwrap().to_owned(),
        v["host_url"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn links_use_the_public_url_or_the_host_the_client_used() {
    let app = spawn_app_with(|c| c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    // The request's own Host.
    let (join, host) = links(&app, &[("host", "quiz.lan:8080")]).await;
    assert!(join.starts_with("http://quiz.lan:8080/join/"), "{join}");
    assert!(host.starts_with("http://quiz.lan:8080/host/"), "{host}");
    // What our proxy forwarded.
    let (join, _) = links(
        &app,
        &[
            ("x-forwarded-host", "quiz.example.com"),
            ("x-forwarded-proto", "https"),
        ],
    )
    .await;
    assert!(join.starts_with("https://quiz.example.com/join/"), "{join}");
    let (join, _) = links(
        &app,
        &[("x-forwarded-proto", "https"), ("host", "quiz.example.com")],
    )
    .await;
    assert!(
        join.starts_with("https://quiz.example.com/join/"),
        "proto only: {join}"
    );
    let (join, _) = links(
        &app,
        &[("forwarded", "for=203.0.113.1;host=play.example;proto=https")],
    )
    .await;
    assert!(
        join.starts_with("https://play.example/join/"),
        "Forwarded: {join}"
    );
    // A forwarded host that is not a host is not used.
    let (join, _) = links(&app, &[("x-forwarded-host", "evil.example/phish?")]).await;
    assert!(
        join.starts_with(&format!("http://{}/join/", app.addr)),
        "{join}"
    );

    // From an untrusted peer, forwarded values are not believed.
    let untrusted = spawn_app().await;
    let (join, _) = links(
        &untrusted,
        &[
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-proto", "https"),
        ],
    )
    .await;
    assert!(
        join.starts_with(&format!("http://{}/join/", untrusted.addr)),
        "{join}"
    );

    // PUBLIC_URL wins over everything.
    let public = spawn_app_with(|c| {
        c.public_url = Some("https://quiz.example.com/play/".into());
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let (join, host) = links(
        &public,
        &[("x-forwarded-host", "other.example"), ("host", "x.lan")],
    )
    .await;
    assert!(
        join.starts_with("https://quiz.example.com/play/join/"),
        "{join}"
    );
    assert!(
        host.starts_with("https://quiz.example.com/play/host/"),
        "{host}"
    );
}
