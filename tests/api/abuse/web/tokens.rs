//! Tokens that are not ours (forged, `alg: none`, expired, tampered) are 401 wherever they
//! are presented, and a token in the URL counts on the two event routes only.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};

use super::{get_with, with_cookie};
use crate::helpers::*;

const SECRET: &str = "token-test-secret-token-test-secret";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An unsigned JWT (`alg: none`, empty signature).
pub fn alg_none(claims: &Value) -> String {
    let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64(&serde_json::to_vec(claims).expect("claims"));
    format!("{header}.{payload}.")
}

fn sign(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_that_are_not_ours_are_refused_everywhere() {
    let app = spawn_app_with(|c| c.jwt_secret = Some(SECRET.into())).await;
    let g = setup_game(&app, 1, 1, 20_000).await;
    let ana = &g.players[0];
    let claims = json!({ "sub": ana.user_id, "name": "Ana", "exp": now() + 3600 });

    let mut tampered_payload: Vec<String> = ana.token.split('.').map(str::to_owned).collect();
    tampered_payload[1] = b64(&serde_json::to_vec(&json!({
        "sub": g.host.user_id, "name": "Host", "exp": now() + 3600 }))
    .unwrap());
    let tampered_payload = tampered_payload.join(".");
    let mut tampered_sig = ana.token.clone();
    let last = tampered_sig.pop().expect("a character");
    tampered_sig.push(if last == 'A' { 'B' } else { 'A' });
    let alg_variants: Vec<String> = ["none", "None", "NONE", "nOnE"]
        .iter()
        .map(|alg| {
            let header = b64(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#).as_bytes());
            let payload = b64(&serde_json::to_vec(&claims).unwrap());
            format!("{header}.{payload}.")
        })
        .collect();
    let mut bad: Vec<(String, String)> = vec![
        (
            "signed with another secret".into(),
            sign(&claims, "another-secret-another-secret"),
        ),
        (
            "expired".into(),
            sign(
                &json!({ "sub": ana.user_id, "name": "Ana", "exp": now() - 3600 }),
                SECRET,
            ),
        ),
        (
            "another user's claims under Ana's signature".into(),
            tampered_payload,
        ),
        ("a changed signature".into(), tampered_sig),
        ("alg none with Ana's signature".into(), {
            let mut parts: Vec<&str> = ana.token.split('.').collect();
            let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
            parts[0] = &header;
            parts.join(".")
        }),
        (
            "no exp".into(),
            sign(&json!({ "sub": ana.user_id, "name": "Ana" }), SECRET),
        ),
        (
            "empty subject".into(),
            sign(&json!({ "sub": "", "exp": now() + 60 }), SECRET),
        ),
        ("RS256 without a configured key".into(), {
            let header = b64(br#"{"alg":"RS256","typ":"JWT"}"#);
            let payload = b64(&serde_json::to_vec(&claims).unwrap());
            format!("{header}.{payload}.c2lnbmF0dXJl")
        }),
        ("two parts".into(), "eyJhbGciOiJIUzI1NiJ9.e30".into()),
        ("garbage".into(), "garbage".into()),
    ];
    for (i, t) in alg_variants.into_iter().enumerate() {
        bad.push((format!("alg none variant {i}"), t));
    }

    let state = format!("/api/v1/sessions/{}", g.code);
    let events = format!("{state}/events");
    for (what, token) in &bad {
        app.get(&state, Some(token))
            .await
            .expect_problem(401, &format!("bearer: {what}"));
        send(with_cookie(&app, Method::GET, &state, token, &[]), what)
            .await
            .expect_problem(401, &format!("cookie: {what}"));
        app.post(&format!("{state}/join"), Some(token), json!({}))
            .await
            .expect_problem(401, &format!("join: {what}"));
        get_with(
            &app,
            &format!("{events}/poll?timeout_ms=0&access_token={token}"),
            &[],
        )
        .await
        .expect_problem(401, &format!("poll access_token: {what}"));
        get_with(&app, &format!("{events}?access_token={token}"), &[])
            .await
            .expect_problem(401, &format!("events access_token: {what}"));
    }
    // Nothing above joined anyone.
    let st = app.state(&ana.token, &g.code).await;
    assert_eq!(st["players"], json!(1), "{st}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_in_the_url_counts_on_the_event_routes_only() {
    let app = spawn_app().await;
    let g = setup_game(&app, 1, 1, 20_000).await;
    let ana = &g.players[0];
    let t = &ana.token;
    let s = format!("/api/v1/sessions/{}", g.code);

    // Elsewhere it is ignored, so the request has no credential at all.
    for path in [
        s.clone(),
        format!("{s}/leaderboard"),
        "/api/v1/quizzes".to_owned(),
        "/api/v1/me/history".to_owned(),
    ] {
        get_with(&app, &format!("{path}?access_token={t}"), &[])
            .await
            .expect_problem(401, &format!("GET {path}?access_token="));
    }
    for path in [
        format!("{s}/join"),
        format!("{s}/ticket"),
        format!("{s}/leave"),
    ] {
        let r = send(
            app.request(Method::POST, &format!("{path}?access_token={t}"), None)
                .json(&json!({})),
            &path,
        )
        .await;
        r.expect_problem(401, &format!("POST {path}?access_token="));
    }
    let r = send(
        app.request(
            Method::POST,
            &format!("{s}/start?access_token={}", g.host.token),
            None,
        )
        .json(&json!({})),
        "start",
    )
    .await;
    r.expect_problem(401, "the host's token in a URL starts nothing");
    assert_eq!(app.state(t, &g.code).await["status"], "lobby");

    // On the event routes it is accepted.
    let resp = within(
        "SSE with access_token",
        app.client
            .get(app.url(&format!("{s}/events?access_token={t}")))
            .send(),
    )
    .await
    .expect("send");
    assert_eq!(resp.status(), 200, "SSE with ?access_token=");
    let mut sse = Sse::new(resp);
    assert_eq!(sse.next().await.event, "session_state");
    let r = get_with(
        &app,
        &format!("{s}/events/poll?timeout_ms=0&access_token={t}"),
        &[],
    )
    .await;
    r.expect(200, "poll with ?access_token=");
}
