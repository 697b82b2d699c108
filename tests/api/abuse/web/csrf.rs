//! A page on another origin (another port of the same host included) cannot make the
//! browser change anything with the `quiz_token` cookie; bearer tokens are not affected.

use reqwest::Method;
use serde_json::json;

use super::{cookie_post, with_cookie};
use crate::helpers::*;

#[tokio::test]
async fn cross_origin_cookie_requests_that_change_something_are_refused() {
    let app = spawn_app().await;
    let g = setup_game(&app, 1, 2, 20_000).await;
    let host = &g.host.token;
    let start = format!("/api/v1/sessions/{}/start", g.code);
    let other_port = format!("http://127.0.0.1:{}", app.addr.port() + 1);
    let other_host = "http://attacker.example".to_owned();
    let other_scheme = format!("https://127.0.0.1:{}", app.addr.port());

    let refused: &[(&str, Vec<(&str, &str)>)] = &[
        (
            "Origin of another port",
            vec![("origin", other_port.as_str())],
        ),
        (
            "Origin of another host",
            vec![("origin", other_host.as_str())],
        ),
        (
            "Origin over https (another scheme)",
            vec![("origin", other_scheme.as_str())],
        ),
        (
            "Origin: null (sandboxed frame, data: URL)",
            vec![("origin", "null")],
        ),
        (
            "no Origin, Sec-Fetch-Site: cross-site",
            vec![("sec-fetch-site", "cross-site")],
        ),
        (
            "no Origin, Sec-Fetch-Site: same-site",
            vec![("sec-fetch-site", "same-site")],
        ),
        (
            "no Origin, Sec-Fetch-Site: none",
            vec![("sec-fetch-site", "none")],
        ),
        ("neither header", vec![]),
        (
            "a foreign Origin wins over Sec-Fetch-Site",
            vec![
                ("origin", other_port.as_str()),
                ("sec-fetch-site", "same-origin"),
            ],
        ),
    ];
    for (what, headers) in refused {
        let r = cookie_post(&app, &start, host, headers, json!({})).await;
        let p = r.expect_problem(403, what);
        assert!(
            p["detail"].as_str().unwrap_or("").contains("origin"),
            "{what}: the problem says why: {p}"
        );
    }
    let st = app.state(host, &g.code).await;
    assert_eq!(st["status"], "lobby", "nothing started: {st}");

    // Other methods and routes are guarded the same way.
    let quiz = cookie_post(
        &app,
        "/api/v1/quizzes",
        host,
        &[("origin", &other_port)],
        quiz_body("Forged", 1, 20_000),
    )
    .await;
    quiz.expect_problem(403, "creating a quiz from another origin");
    let join = cookie_post(
        &app,
        &format!("/api/v1/sessions/{}/join", g.code),
        &g.players[0].token,
        &[("sec-fetch-site", "cross-site")],
        json!({}),
    )
    .await;
    join.expect_problem(403, "joining from another site");
    for method in [Method::PUT, Method::PATCH, Method::DELETE] {
        let req = with_cookie(
            &app,
            method.clone(),
            &start,
            host,
            &[("origin", &other_port)],
        );
        let r = send(
            req,
            &format!("{method} with the cookie from another origin"),
        )
        .await;
        assert!(
            [403, 405].contains(&r.status.as_u16()),
            "{method}: {} {}",
            r.status,
            r.text
        );
    }

    // Reading is not a state change: a cross-origin GET with the cookie still answers
    // (the browser keeps the reply from the other page: no CORS headers are ever sent).
    let req = with_cookie(
        &app,
        Method::GET,
        &format!("/api/v1/sessions/{}", g.code),
        host,
        &[("origin", &other_port)],
    );
    let r = send(req, "GET with the cookie from another origin").await;
    r.expect(200, "safe methods are not CSRF");
    assert!(
        r.header("access-control-allow-origin").is_empty(),
        "no CORS grant"
    );
}

#[tokio::test]
async fn same_origin_cookie_requests_and_bearer_requests_work() {
    let app = spawn_app().await;
    let g = setup_game(&app, 1, 3, 20_000).await;
    let host = &g.host.token;
    let cmd = |c: &str| format!("/api/v1/sessions/{}/{c}", g.code);

    let own = app.base_url.clone();
    let r = cookie_post(&app, &cmd("start"), host, &[("origin", &own)], json!({})).await;
    r.expect(200, "start with our own Origin");
    // Browsers write the origin in lower case without a default port; `localhost` is
    // another origin than 127.0.0.1 unless the request was sent there.
    let r = cookie_post(
        &app,
        &cmd("next"),
        host,
        &[("sec-fetch-site", "same-origin")],
        json!({}),
    )
    .await;
    r.expect(200, "no Origin but Sec-Fetch-Site: same-origin");
    let via_localhost = format!("localhost:{}", app.addr.port());
    let r = cookie_post(
        &app,
        &cmd("next"),
        host,
        &[
            ("origin", &format!("http://{via_localhost}")),
            ("host", &via_localhost),
        ],
        json!({}),
    )
    .await;
    r.expect(200, "the Origin of the Host the request was sent to");

    // Bearer tokens are what other sites' scripts would have to steal first: unaffected.
    let r = send(
        app.request(Method::POST, &cmd("next"), Some(host))
            .header("origin", "http://attacker.example")
            .header("sec-fetch-site", "cross-site")
            .json(&json!({})),
        "bearer from anywhere",
    )
    .await;
    r.expect(200, "a bearer request is not subject to the origin rule");
}

#[tokio::test]
async fn the_public_url_and_a_trusted_proxys_host_are_our_origin() {
    let app = spawn_app_with(|c| {
        c.public_url = Some("https://quiz.example.com/".into());
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let g = setup_game(&app, 0, 3, 20_000).await;
    let host = &g.host.token;
    let cmd = |c: &str| format!("/api/v1/sessions/{}/{c}", g.code);
    let r = cookie_post(
        &app,
        &cmd("start"),
        host,
        &[("origin", "https://quiz.example.com")],
        json!({}),
    )
    .await;
    r.expect(200, "the public URL's origin");
    let r = cookie_post(
        &app,
        &cmd("next"),
        host,
        &[
            ("origin", "https://play.example.org:8443"),
            ("x-forwarded-host", "play.example.org:8443"),
            ("x-forwarded-proto", "https"),
        ],
        json!({}),
    )
    .await;
    r.expect(200, "the host and scheme our proxy forwarded");
    let r = cookie_post(
        &app,
        &cmd("next"),
        host,
        &[
            ("origin", "http://play.example.org:8443"),
            ("x-forwarded-host", "play.example.org:8443"),
            ("x-forwarded-proto", "https"),
        ],
        json!({}),
    )
    .await;
    r.expect_problem(403, "the forwarded host over another scheme");

    // From a peer that is not a trusted proxy, forwarded headers mean nothing.
    let untrusted =
        spawn_app_with(|c| c.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()]).await;
    let g = setup_game(&untrusted, 0, 1, 20_000).await;
    let r = cookie_post(
        &untrusted,
        &format!("/api/v1/sessions/{}/start", g.code),
        &g.host.token,
        &[
            ("origin", "https://attacker.example"),
            ("x-forwarded-host", "attacker.example"),
            ("x-forwarded-proto", "https"),
        ],
        json!({}),
    )
    .await;
    r.expect_problem(403, "forwarded headers from an untrusted peer");
}

#[tokio::test]
async fn guest_login_sets_the_cookie_only_for_our_own_pages() {
    let app = spawn_app().await;
    let cookie_of = |r: &Reply| {
        r.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|h| h.to_str().ok())
            .find(|c| c.starts_with("quiz_token="))
            .map(str::to_owned)
    };
    let login = |headers: Vec<(&'static str, String)>| {
        let mut req = app
            .request(Method::POST, "/api/v1/auth/guest", None)
            .json(&json!({ "display_name": "Ana" }));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        send(req, "guest login")
    };
    // A script or curl (no browser headers), or our own page: token and cookie.
    let r = login(vec![]).await;
    r.expect(201, "guest login without browser headers");
    assert!(cookie_of(&r).is_some(), "cookie for a non-browser client");
    let r = login(vec![("origin", app.base_url.clone())]).await;
    r.expect(201, "guest login from our page");
    assert!(cookie_of(&r).is_some(), "cookie for our own page");
    // Another origin's page: the token (it could sign in by itself anyway), no cookie, so
    // it cannot plant an identity of its choosing in the visitor's browser.
    for headers in [
        vec![("origin", "http://attacker.example".to_owned())],
        vec![("sec-fetch-site", "cross-site".to_owned())],
        vec![("sec-fetch-site", "same-site".to_owned())],
    ] {
        let r = login(headers.clone()).await;
        let v = r.expect(201, "guest login from another origin");
        assert!(v["token"].is_string(), "{headers:?}: the token is returned");
        assert_eq!(cookie_of(&r), None, "{headers:?}: no cookie");
    }
}

#[tokio::test]
async fn another_origins_page_cannot_hold_a_users_streams_with_the_cookie() {
    let app = spawn_app().await;
    let g = setup_game(&app, 1, 1, 20_000).await;
    let ana = &g.players[0].token;
    let events = format!("/api/v1/sessions/{}/events", g.code);
    let other = format!("http://127.0.0.1:{}", app.addr.port() + 1);
    for (path, accept) in [
        (events.clone(), "text/event-stream"),
        (format!("{events}/poll?timeout_ms=0"), "application/json"),
    ] {
        let cross = with_cookie(
            &app,
            Method::GET,
            &path,
            ana,
            &[("origin", &other), ("accept", accept)],
        );
        send(cross, "a cross-origin stream with the cookie")
            .await
            .expect_problem(403, &format!("{path} from another origin"));
        let cross = with_cookie(
            &app,
            Method::GET,
            &path,
            ana,
            &[("sec-fetch-site", "same-site")],
        );
        send(cross, "a same-site stream with the cookie")
            .await
            .expect_problem(403, &format!("{path} from a same-site page"));
    }
    // Our own page (EventSource sends Sec-Fetch-Site, and Origin only cross-origin).
    let own = with_cookie(
        &app,
        Method::GET,
        &events,
        ana,
        &[("sec-fetch-site", "same-origin")],
    )
    .send();
    let resp = within("an own-origin stream", own).await.expect("send");
    assert_eq!(
        resp.status(),
        200,
        "our own page opens a stream with the cookie"
    );
    let mut sse = Sse::new(resp);
    assert_eq!(sse.next().await.event, "session_state");
    let poll = with_cookie(
        &app,
        Method::GET,
        &format!("{events}/poll?timeout_ms=0"),
        ana,
        &[],
    );
    send(poll, "a poll with the cookie and no browser headers")
        .await
        .expect(200, "a client that is not a page");
}
