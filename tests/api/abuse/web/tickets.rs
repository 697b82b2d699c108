//! Stream tickets: a short-lived credential for one session's two event routes and one
//! user, refused everywhere else, and a token is no ticket.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};

use super::{get_with, with_cookie};
use crate::helpers::*;

const SECRET: &str = "ticket-test-secret-ticket-test-secret";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn unix(at: &str) -> i64 {
    time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{at:?} is not RFC 3339: {e}"))
        .unix_timestamp()
}

async fn ticket(app: &TestApp, token: &str, code: &str) -> (String, String) {
    let r = app
        .post(
            &format!("/api/v1/sessions/{code}/ticket"),
            Some(token),
            json!({}),
        )
        .await;
    let v = r.expect(201, "a stream ticket");
    assert_eq!(
        r.header("cache-control"),
        "no-store",
        "tickets are not cached"
    );
    (
        v["ticket"].as_str().expect("ticket").to_owned(),
        v["expires_at"].as_str().expect("expires_at").to_owned(),
    )
}

async fn events_with(app: &TestApp, code: &str, query: &str) -> reqwest::Response {
    let url = app.url(&format!("/api/v1/sessions/{code}/events?{query}"));
    within(
        "the event stream's headers",
        app.client
            .get(url)
            .header("accept", "text/event-stream")
            .send(),
    )
    .await
    .expect("open the event stream")
}

async fn poll_with(app: &TestApp, code: &str, query: &str) -> Reply {
    get_with(
        app,
        &format!("/api/v1/sessions/{code}/events/poll?timeout_ms=0&{query}"),
        &[],
    )
    .await
}

/// The status of an event-stream answer, with its problem+json body when it is an error.
async fn refused(resp: reqwest::Response, what: &str) {
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = within("the body", resp.text()).await.unwrap_or_default();
    assert_eq!(status, 401, "{what}: {text}");
    assert!(ct.starts_with("application/problem+json"), "{what}: {ct}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_opens_its_sessions_event_routes_for_its_user() {
    let app = spawn_app().await;
    let g = setup_game(&app, 1, 1, 20_000).await;
    let ana = &g.players[0];
    let (t, expires_at) = ticket(&app, &ana.token, &g.code).await;
    let left = unix(&expires_at) - now() as i64;
    assert!(
        (14 * 60..=15 * 60 + 5).contains(&left),
        "valid 15 minutes: {expires_at}"
    );

    // SSE: the first event is this user's session_state.
    let resp = events_with(&app, &g.code, &format!("ticket={t}")).await;
    assert_eq!(resp.status(), 200, "SSE with ?ticket=");
    let mut sse = Sse::new(resp);
    let first = sse.next().await;
    assert_eq!(first.event, "session_state");
    assert_eq!(
        first.data["you"]["joined"],
        json!(true),
        "the ticket is Ana's: {}",
        first.data
    );
    // …and live events follow.
    app.host(&g.host.token, &g.code, "start")
        .await
        .expect(200, "start");
    sse.next_named("question_opened", WAIT).await;

    // Long-poll: the same ticket, the same user.
    let r = poll_with(&app, &g.code, &format!("ticket={t}")).await;
    let v = r.expect(200, "poll with ?ticket=");
    assert_eq!(v["events"][0]["event"], "session_state", "{v}");
    assert_eq!(v["events"][0]["data"]["you"]["joined"], json!(true), "{v}");
    assert_eq!(r.header("cache-control"), "no-store");

    // A watcher's ticket is the watcher's.
    let watcher = app.guest("Watcher").await;
    let (w, _) = ticket(&app, &watcher.token, &g.code).await;
    let v = poll_with(&app, &g.code, &format!("ticket={w}")).await;
    assert_eq!(
        v.expect(200, "watcher poll")["events"][0]["data"]["you"],
        Value::Null
    );

    // The session must exist.
    app.post(
        "/api/v1/sessions/ZZZZZZ/ticket",
        Some(&ana.token),
        json!({}),
    )
    .await
    .expect_problem(404, "a ticket for an unknown session");
    app.post(
        &format!("/api/v1/sessions/{}/ticket", g.code),
        None,
        json!({}),
    )
    .await
    .expect_problem(401, "a ticket needs a token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_is_good_for_nothing_else() {
    let app = spawn_app_with(|c| c.jwt_secret = Some(SECRET.into())).await;
    let g = setup_game(&app, 1, 1, 20_000).await;
    let other = app.create_session(&g.host.token, &g.quiz_id).await;
    let ana = &g.players[0];
    let (t, _) = ticket(&app, &ana.token, &g.code).await;

    // Another session's event routes.
    refused(
        events_with(&app, &other, &format!("ticket={t}")).await,
        "SSE of another session",
    )
    .await;
    poll_with(&app, &other, &format!("ticket={t}"))
        .await
        .expect_problem(401, "poll of another session");
    // The same session, other routes: as a bearer, a cookie, or in the query.
    let state = format!("/api/v1/sessions/{}", g.code);
    app.get(&state, Some(&t))
        .await
        .expect_problem(401, "a ticket as a bearer token");
    let r = send(
        with_cookie(&app, Method::GET, &state, &t, &[]),
        "a ticket as the cookie",
    )
    .await;
    r.expect_problem(401, "a ticket as the cookie");
    get_with(&app, &format!("{state}?ticket={t}"), &[])
        .await
        .expect_problem(401, "?ticket= off the event routes is ignored");
    app.post(&format!("{state}/ticket"), Some(&t), json!({}))
        .await
        .expect_problem(401, "a ticket cannot buy a ticket");
    // Nor does it pass as an access_token on the event routes.
    refused(
        events_with(&app, &g.code, &format!("access_token={t}")).await,
        "ticket as access_token",
    )
    .await;

    // A token is no ticket.
    refused(
        events_with(&app, &g.code, &format!("ticket={}", ana.token)).await,
        "a token as ?ticket=",
    )
    .await;

    // Forged: the ticket's claims signed with the server's token secret, alg none, a
    // changed session in an unchanged signature, garbage.
    let claims = json!({ "sub": ana.user_id, "name": "Ana", "exp": now() + 600, "iat": now(),
                         "aud": "quizcast:stream-ticket", "sid": g.code });
    let forged = jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign");
    let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
    let payload = super::tokens::b64(
        &serde_json::to_vec(&json!({
        "sub": ana.user_id, "name": "Ana", "exp": now() + 600, "iat": now(),
        "aud": "quizcast:stream-ticket", "sid": other }))
        .unwrap(),
    );
    parts[1] = payload;
    let moved = parts.join(".");
    let none = super::tokens::alg_none(&claims);
    for (what, bad) in [
        ("signed with the token secret", forged.as_str()),
        ("moved to another session", moved.as_str()),
        ("alg: none", none.as_str()),
        ("garbage", "not-a-ticket"),
        ("empty", ""),
    ] {
        refused(
            events_with(&app, &g.code, &format!("ticket={bad}")).await,
            what,
        )
        .await;
        poll_with(&app, &g.code, &format!("ticket={bad}"))
            .await
            .expect_problem(401, what);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_ticket_is_refused() {
    let app = spawn_app_with(|c| {
        c.jwt_secret = Some(SECRET.into());
        c.stream_ticket_ttl_secs = 1;
    })
    .await;
    let g = setup_game(&app, 1, 1, 20_000).await;
    let (t, expires_at) = ticket(&app, &g.players[0].token, &g.code).await;
    // Expiry is a matter of the clock: wait until it has passed (tickets get no leeway).
    let wait = (unix(&expires_at) + 1 - now() as i64).max(0) as u64;
    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(100)).await;
    refused(
        events_with(&app, &g.code, &format!("ticket={t}")).await,
        "an expired ticket",
    )
    .await;
    poll_with(&app, &g.code, &format!("ticket={t}"))
        .await
        .expect_problem(401, "an expired ticket on poll");

    // A ticket never outlives the token it was asked with.
    let short = jsonwebtoken::encode(
        &Header::default(),
        &json!({ "sub": g.players[0].user_id, "name": "Ana", "exp": now() + 30 }),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign");
    let long_app = spawn_app_with(|c| c.jwt_secret = Some(SECRET.into())).await;
    let g2 = setup_game(&long_app, 0, 1, 20_000).await;
    let (_, until) = ticket(&long_app, &short, &g2.code).await;
    assert!(
        unix(&until) <= (now() + 30) as i64,
        "capped by the token: {until}"
    );
}
