//! Guest login, the token (an HS256 JWT with `sub`, `name`, `exp`), where tokens are
//! looked for (header, cookie, query: the first present decides) and the rate limits.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const SECRET: &str = "auth-test-secret-auth-test-secret";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn sign(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign a token")
}

#[tokio::test]
async fn a_guest_gets_a_signed_token_and_a_cookie() {
    let app = spawn_app_with(|c| c.jwt_secret = Some(SECRET.into())).await;
    let r = app
        .post(
            "/api/v1/auth/guest",
            None,
            json!({ "display_name": "  Ana  " }),
        )
        .await;
    let v = r.expect(201, "guest login").clone();
    assert_eq!(v["display_name"], "Ana", "names are trimmed");
    let token = v["token"].as_str().expect("token");
    let user_id = v["user_id"].as_str().expect("user_id");

    let cookie = r
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|h| h.to_str().ok())
        .find(|c| c.starts_with("quiz_token="))
        .unwrap_or_else(|| panic!("a quiz_token cookie in {:?}", r.headers));
    assert!(
        cookie.starts_with(&format!("quiz_token={token}")),
        "the cookie holds the token: {cookie}"
    );
    let lower = cookie.to_lowercase();
    assert!(lower.contains("httponly"), "HttpOnly: {cookie}");
    assert!(lower.contains("samesite=lax"), "SameSite=Lax: {cookie}");

    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<Value>(
        token,
        &DecodingKey::from_secret(SECRET.as_bytes()),
        &validation,
    )
    .expect("an HS256 JWT signed with the server's secret");
    assert_eq!(data.header.alg, Algorithm::HS256);
    let claims = data.claims;
    assert_eq!(claims["sub"], json!(user_id));
    assert_eq!(claims["name"], "Ana");
    let exp = claims["exp"].as_u64().expect("exp");
    let twelve_h = 12 * 3600;
    assert!(
        exp.abs_diff(now() + twelve_h) < 120,
        "exp about 12 h from now: {exp}"
    );
    let expires_at = v["expires_at"].as_str().expect("expires_at");
    let parsed =
        time::OffsetDateTime::parse(expires_at, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("expires_at {expires_at:?} is not RFC 3339: {e}"));
    assert_eq!(parsed.offset(), time::UtcOffset::UTC, "UTC: {expires_at}");
    assert!(
        (parsed.unix_timestamp() as u64).abs_diff(exp) <= 1,
        "expires_at matches exp"
    );
}

#[tokio::test]
async fn the_first_token_present_decides() {
    let app = spawn_app_with(|c| c.jwt_secret = Some(SECRET.into())).await;
    let ana = app.guest("Ana").await;
    let ben = app.guest("Ben").await;
    let quiz = app.create_quiz(&ana.token, 1).await;
    let lists_anas_quiz = |r: &Reply| {
        r.json["quizzes"]
            .as_array()
            .is_some_and(|qs| qs.iter().any(|q| q["quiz_id"] == json!(quiz)))
    };
    let list = |bearer: Option<&str>, cookie: Option<&str>, query: Option<&str>| {
        let mut path = "/api/v1/quizzes".to_owned();
        if let Some(q) = query {
            path = format!("{path}?access_token={q}");
        }
        let mut req = app.request(Method::GET, &path, bearer);
        if let Some(c) = cookie {
            req = req.header("cookie", format!("quiz_token={c}"));
        }
        send(req, "GET /api/v1/quizzes")
    };

    let r = list(Some(&ana.token), None, None).await;
    r.expect(200, "bearer");
    assert!(lists_anas_quiz(&r), "the bearer token identifies Ana");
    let r = list(None, Some(&ana.token), None).await;
    r.expect(200, "cookie");
    assert!(lists_anas_quiz(&r), "the cookie identifies Ana");
    // Query tokens count on the two event routes only (see abuse::web).
    let r = list(None, None, Some(&ana.token)).await;
    r.expect_problem(401, "access_token is ignored off the event routes");
    let r = list(Some(&ana.token), Some(&ben.token), Some(&ben.token)).await;
    r.expect(200, "bearer first");
    assert!(lists_anas_quiz(&r), "the header decides");
    let r = list(None, Some(&ben.token), Some(&ana.token)).await;
    r.expect(200, "cookie before query");
    assert!(
        !lists_anas_quiz(&r),
        "the cookie (Ben) decides over the query (Ana)"
    );

    list(None, None, None).await.expect_problem(401, "no token");
    list(Some("garbage"), Some(&ana.token), None)
        .await
        .expect_problem(401, "a bad header never falls through");
    list(None, Some("garbage"), Some(&ana.token))
        .await
        .expect_problem(401, "a bad cookie never falls through");
    list(None, None, Some("garbage"))
        .await
        .expect_problem(401, "a query token off the event routes");

    let mut tampered = ana.token.clone();
    let last = tampered.pop().expect("a character");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    list(Some(&tampered), None, None)
        .await
        .expect_problem(401, "a tampered signature");
    let claims = json!({ "sub": ana.user_id, "name": "Ana", "exp": now() + 3600 });
    list(
        Some(&sign(&claims, "some-other-secret-some-other")),
        None,
        None,
    )
    .await
    .expect_problem(401, "a token signed with another secret");
    let expired = json!({ "sub": ana.user_id, "name": "Ana", "exp": now() - 3600 });
    list(Some(&sign(&expired, SECRET)), None, None)
        .await
        .expect_problem(401, "an expired token");
    let r = list(Some(&sign(&claims, SECRET)), None, None).await;
    r.expect(200, "a token the server's secret signed");
    assert!(lists_anas_quiz(&r));
}

#[tokio::test]
async fn guest_logins_are_rate_limited() {
    let app = spawn_app_with(|c| c.guest_logins_per_minute = 3).await;
    for i in 0..3 {
        app.guest(&format!("G{i}")).await;
    }
    let r = app
        .post(
            "/api/v1/auth/guest",
            None,
            json!({ "display_name": "One too many" }),
        )
        .await;
    r.expect_problem(429, "the fourth login in a minute");
    let retry = r.header("retry-after");
    assert!(
        retry.parse::<u64>().is_ok_and(|s| s <= 60),
        "Retry-After in seconds: {retry:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_rate_limited() {
    let app = spawn_app_with(|c| {
        c.answers_per_second = 1;
        c.answers_burst = 2;
    })
    .await;
    let g = setup_game(&app, 2, 1, 20_000).await;
    let st = app.host(&g.host.token, &g.code, "start").await;
    let q = st.expect(200, "start")["question"]["question_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = &g.players[0].token;
    let first = app
        .answer(token, &g.code, &q, correct(0), Some("rl-0"))
        .await;
    first.expect(200, "the first answer");
    let mut limited = None;
    for i in 1..8 {
        let r = app
            .answer(token, &g.code, &q, correct(0), Some(&format!("rl-{i}")))
            .await;
        if r.status == 429 {
            limited = Some(r);
            break;
        }
        r.expect_problem(409, "a second answer within the burst");
    }
    let r = limited.expect("429 once the burst of 2 at 1/s is spent");
    r.expect_problem(429, "rate limited answer");
    assert!(
        !r.header("retry-after").is_empty(),
        "429 carries Retry-After"
    );
    let board = app.leaderboard(token, &g.code, 10, 0).await;
    assert_eq!(
        board["entries"][0]["score"], first.json["score"],
        "limits never lose the accepted answer"
    );
}

#[tokio::test]
async fn guest_login_can_be_turned_off() {
    let app = spawn_app_with(|c| c.guest_login = false).await;
    let r = app
        .post("/api/v1/auth/guest", None, json!({ "display_name": "Ana" }))
        .await;
    r.expect_problem_in(&[403, 404], "guest login turned off");
}
