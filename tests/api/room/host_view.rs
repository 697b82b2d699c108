//! What the host's and the big screen's pages need: who is online, when an `auto_advance`
//! reveal ends, and a big-screen link for another device that watches and does nothing else.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_sees_who_is_online() {
    who_is_online(spawn_app().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_sees_who_is_online_on_redis_and_postgres() {
    if let Some(app) = spawn_shared_app().await {
        who_is_online(app).await;
    }
}

async fn roster(app: &TestApp, token: &str, code: &str, query: &str) -> Reply {
    app.get(
        &format!("/api/v1/sessions/{code}/players{query}"),
        Some(token),
    )
    .await
}

/// Reads the roster until `done` holds for it.
async fn roster_until(
    app: &TestApp,
    token: &str,
    code: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    within(what, async {
        loop {
            let r = roster(app, token, code, "").await;
            let body = r.expect(200, "the roster").clone();
            if done(&body) {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

fn online_of(roster: &Value, user: &str) -> Option<bool> {
    roster["entries"]
        .as_array()?
        .iter()
        .find(|e| e["user_id"] == json!(user))?["online"]
        .as_bool()
}

async fn who_is_online(app: TestApp) {
    let g = setup_game(&app, 2, 1, 20_000).await;
    let (ana, ben) = (&g.players[0], &g.players[1]);
    let code = g.code.as_str();

    roster(&app, &ana.token, code, "")
        .await
        .expect_problem(403, "a player reading the roster");
    for q in ["?limit=0", "?limit=101", "?offset=-1"] {
        roster(&app, &g.host.token, code, q)
            .await
            .expect_problem(400, q);
    }
    roster(&app, &g.host.token, "ZZZZZZ", "")
        .await
        .expect_problem(404, "an unknown code");

    // Nobody connected: both listed, both offline.
    let r = roster(&app, &g.host.token, code, "").await;
    let r = r.expect(200, "the roster");
    assert_eq!(r["players"], 2);
    assert_eq!(r["online"], 0);
    assert_eq!(r["entries"].as_array().map(Vec::len), Some(2), "{r}");
    assert_eq!(online_of(r, &ana.user_id), Some(false));

    // Ana's stream makes her online, Ben stays offline.
    let mut sse = app.sse(&ana.token, code, None).await;
    assert_eq!(sse.next().await.event, "session_state");
    let r = roster_until(&app, &g.host.token, code, "Ana online", |r| {
        online_of(r, &ana.user_id) == Some(true)
    })
    .await;
    assert_eq!(r["online"], 1, "{r}");
    assert_eq!(online_of(&r, &ben.user_id), Some(false), "{r}");

    // Paging keeps the leaderboard's order.
    let page = roster(&app, &g.host.token, code, "?limit=1&offset=1").await;
    let page = page.expect(200, "page 2");
    assert_eq!(page["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["entries"][0]["rank"], 1, "both at 0: {page}");

    // Her stream closes: offline again.
    drop(sse);
    roster_until(&app, &g.host.token, code, "Ana offline", |r| {
        online_of(r, &ana.user_id) == Some(false) && r["online"] == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auto_advance_reveal_says_when_it_ends() {
    next_at(spawn_app_with(|c| c.auto_advance_secs = 3).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auto_advance_reveal_says_when_it_ends_on_redis_and_postgres() {
    if let Some(app) = spawn_shared_app_with(|c| c.auto_advance_secs = 3).await {
        next_at(app).await;
    }
}

async fn next_at(app: TestApp) {
    let host = app.guest("Host").await;
    let quiz = app.create_quiz_limit(&host.token, 2, 20_000).await;
    let mut codes = Vec::new();
    for auto in [true, false] {
        let body = json!({ "quiz_id": quiz, "auto_advance": auto });
        let r = app.create_session_with(&host.token, body).await;
        let code = r.expect(201, "create session")["session_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let st = app.state(&host.token, &code).await;
        assert_eq!(st["auto_advance"], json!(auto), "{st}");
        assert_eq!(st["next_at"], Value::Null, "lobby: {st}");
        codes.push(code);
    }
    for (code, auto) in codes.iter().zip([true, false]) {
        let player = app.guest("Solo").await;
        app.join(&player.token, code).await;
        let st = app.host(&host.token, code, "start").await;
        let st = st.expect(200, "start");
        assert_eq!(st["next_at"], Value::Null, "question: {st}");
        let q = st["question"]["question_id"].as_str().unwrap().to_owned();
        app.answer(&player.token, code, &q, correct(0), None)
            .await
            .expect(200, "answer");
        // The only player answered: the question closes at once.
        let st = within("the reveal", async {
            loop {
                let st = app.state(&player.token, code).await;
                if st["status"] == "reveal" {
                    return st;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        let now = OffsetDateTime::now_utc();
        if auto {
            let at = st["next_at"]
                .as_str()
                .unwrap_or_else(|| panic!("next_at in {st}"));
            let at = OffsetDateTime::parse(at, &Rfc3339).expect("RFC 3339");
            let left = at - now;
            assert!(
                left > time::Duration::ZERO && left <= time::Duration::seconds(3),
                "the next question opens 3 s after the reveal, {left} from now"
            );
        } else {
            assert_eq!(st["next_at"], Value::Null, "the host drives: {st}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_link_watches_as_the_host_and_does_nothing_else() {
    let app = spawn_app().await;
    // Two players, one answers: the question stays open while the counts go out.
    let g = setup_game(&app, 2, 2, 20_000).await;
    let other = setup_game(&app, 0, 1, 20_000).await;
    let code = g.code.as_str();
    let path = format!("/api/v1/sessions/{code}/screen");

    app.post(&path, Some(&g.players[0].token), json!({}))
        .await
        .expect_problem(403, "a player asking for a screen link");
    let link = app.post(&path, Some(&g.host.token), json!({})).await;
    let link = link.expect(201, "a screen link").clone();
    let token = link["token"].as_str().expect("token").to_owned();
    let url = link["url"].as_str().expect("url");
    assert_eq!(url, format!("{}/screen/{code}#watch={token}", app.base_url));
    assert!(
        link["expires_at"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z'))
    );

    // It reads its session, the host's roster included, and asks for stream tickets.
    let st = app.state(&token, code).await;
    assert_eq!(st["session_id"], json!(code));
    assert_eq!(st["you"], Value::Null, "the screen is not a player");
    roster(&app, &token, &code.to_lowercase(), "")
        .await
        .expect(200, "the roster, code in any case");
    app.post(
        &format!("/api/v1/sessions/{code}/ticket"),
        Some(&token),
        json!({}),
    )
    .await
    .expect(201, "a stream ticket");

    // It changes nothing and reads nothing else.
    for (method, p) in [
        (Method::POST, format!("/api/v1/sessions/{code}/start")),
        (Method::POST, format!("/api/v1/sessions/{code}/end")),
        (Method::POST, format!("/api/v1/sessions/{code}/join")),
        (Method::POST, format!("/api/v1/sessions/{code}/screen")),
        (Method::PATCH, format!("/api/v1/sessions/{code}")),
        (
            Method::DELETE,
            format!("/api/v1/sessions/{code}/players/{}", g.players[0].user_id),
        ),
        (Method::POST, "/api/v1/sessions".to_owned()),
        (Method::POST, "/api/v1/quizzes".to_owned()),
        (Method::GET, "/api/v1/quizzes".to_owned()),
        (Method::GET, format!("/api/v1/quizzes/{}", g.quiz_id)),
        (Method::GET, "/api/v1/me/history".to_owned()),
        (Method::GET, format!("/api/v1/sessions/{}", other.code)),
        (
            Method::GET,
            format!("/api/v1/sessions/{}/events/poll?timeout_ms=0", other.code),
        ),
    ] {
        let r = send(
            app.request(method.clone(), &p, Some(&token))
                .json(&json!({ "locked": true })),
            &format!("{method} {p}"),
        )
        .await;
        r.expect_problem(403, &format!("the screen link on {method} {p}"));
    }
    assert_eq!(
        app.state(&g.host.token, code).await["status"],
        "lobby",
        "nothing started"
    );
    assert_eq!(
        app.state(&g.host.token, code).await["locked"],
        false,
        "nothing locked"
    );

    // Its stream gets what the host's does: the answer counts while a question is open.
    let mut screen = app.sse(&token, code, None).await;
    assert_eq!(screen.next().await.event, "session_state");
    let st = app.host(&g.host.token, code, "start").await;
    let q = st.expect(200, "start")["question"]["question_id"]
        .as_str()
        .unwrap()
        .to_owned();
    screen.next_named("question_opened", WAIT).await;
    let mut player = app.sse(&g.players[0].token, code, None).await;
    assert_eq!(player.next().await.event, "session_state");
    app.answer(&g.players[0].token, code, &q, wrong(0), None)
        .await
        .expect(200, "answer");
    let counts = screen.next_named("answers", WAIT).await;
    assert_eq!(counts.data["answered"], 1, "{:?}", counts.data);
    // A screen (re)opened mid-question gets the counts right after its `session_state`.
    let mut again = app.sse(&token, code, None).await;
    assert_eq!(again.next().await.event, "session_state");
    let counts = again.next().await;
    assert_eq!(counts.event, "answers");
    assert_eq!(counts.data["answered"], 1, "{:?}", counts.data);
    // A player's stream never carries them.
    app.host(&g.host.token, code, "next")
        .await
        .expect(200, "close");
    let closed = player.next_named("question_closed", WAIT).await;
    assert!(closed.data["answered"] == 1);
    assert!(
        !player.names().iter().any(|n| n == "answers"),
        "{:?}",
        player.names()
    );
}
