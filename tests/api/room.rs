//! A game a room can trust: `at_reveal` feedback (nothing tells who was right before the
//! close), the reveal in `session_state` for a page loaded during it, the host's lock and
//! remove, and getting in: the QR code of the join link, `/join`, `GET /api/v1/server`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

mod host_view;
mod joining;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_at_reveal_game_tells_nothing_before_the_close() {
    at_reveal_game(spawn_app().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_at_reveal_game_on_redis_and_postgres() {
    if let Some(app) = spawn_shared_app().await {
        at_reveal_game(app).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_locks_and_removes() {
    lock_and_remove(spawn_app().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_locks_and_removes_on_redis_and_postgres() {
    if let Some(app) = spawn_shared_app().await {
        lock_and_remove(app).await;
    }
}

async fn patch(app: &TestApp, token: &str, code: &str, body: Value) -> Reply {
    let req = app
        .request(
            Method::PATCH,
            &format!("/api/v1/sessions/{code}"),
            Some(token),
        )
        .json(&body);
    send(req, "PATCH session").await
}

async fn remove(app: &TestApp, token: &str, code: &str, user: &str) -> Reply {
    let path = format!("/api/v1/sessions/{code}/players/{user}");
    send(
        app.request(Method::DELETE, &path, Some(token)),
        "DELETE player",
    )
    .await
}

/// Every `score` and `leaderboard` event among `events`, with where it came.
fn moves(events: &[SseEvent]) -> Vec<(usize, &SseEvent)> {
    events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.event == "score" || e.event == "leaderboard")
        .collect()
}

fn scores_of(board: &Value) -> Vec<u64> {
    board["entries"]
        .as_array()
        .map(|es| es.iter().filter_map(|e| e["score"].as_u64()).collect())
        .unwrap_or_default()
}

async fn at_reveal_game(app: TestApp) {
    let host = app.guest("Host").await;
    let quiz_id = app.create_quiz(&host.token, 2).await;
    let body = json!({ "quiz_id": quiz_id, "feedback": "at_reveal" });
    let created = app.create_session_with(&host.token, body).await;
    let code = created.expect(201, "create an at_reveal session")["session_id"]
        .as_str()
        .expect("session_id")
        .to_owned();
    let bad = json!({ "quiz_id": quiz_id, "feedback": "sometimes" });
    app.create_session_with(&host.token, bad)
        .await
        .expect_problem(422, "an unknown feedback");
    let (ana, ben, cy) = (
        app.guest("Ana").await,
        app.guest("Ben").await,
        app.guest("Cy").await,
    );
    for p in [&ana, &ben, &cy] {
        app.join(&p.token, &code).await;
    }
    let mut host_sse = app.sse(&host.token, &code, None).await;
    let mut ana_sse = app.sse(&ana.token, &code, None).await;
    assert_eq!(ana_sse.next().await.event, "session_state");
    assert_eq!(host_sse.next().await.event, "session_state");

    // Question 1: Ana right, Ben wrong, Cy silent. Nothing tells who was right.
    let st = app.host(&host.token, &code, "start").await;
    let q = st.expect(200, "start")["question"].clone();
    let q1 = q["question_id"].as_str().expect("question_id").to_owned();
    ana_sse.next_named("question_opened", WAIT).await;
    let from = ana_sse.seen.len();
    let ana1 = app
        .answer(&ana.token, &code, &q1, correct(0), Some("a1"))
        .await;
    let ana1 = ana1.expect(200, "Ana answers").clone();
    assert_eq!(ana1["correct"], Value::Null, "{ana1}");
    assert_eq!(ana1["awarded_points"], Value::Null, "{ana1}");
    assert_eq!(
        (&ana1["score"], &ana1["rank"], &ana1["streak"]),
        (&json!(0), &json!(1), &json!(0)),
        "standing as of the last reveal (none yet): {ana1}"
    );
    let again = app
        .answer(&ana.token, &code, &q1, correct(0), Some("a1"))
        .await;
    assert_eq!(again.expect(200, "a retry").clone(), ana1, "the same reply");
    let ben1 = app.answer(&ben.token, &code, &q1, wrong(0), None).await;
    let ben1 = ben1.expect(200, "Ben answers").clone();
    assert_eq!((&ben1["correct"], &ben1["rank"]), (&Value::Null, &json!(1)));
    // The host's counts go out in the same flush as any leaderboard would: once the host
    // sees both answers, a board that moved would be in Ana's stream already.
    host_sse
        .until("the host's counts with both answers", |evs| {
            evs.iter()
                .any(|e| e.event == "answers" && e.data["answered"] == json!(2))
        })
        .await;
    let board = app.leaderboard(&host.token, &code, 10, 0).await;
    assert_eq!(scores_of(&board), [0, 0, 0], "no moving board: {board}");
    let mid = app.state(&ana.token, &code).await;
    assert_eq!(mid["you"]["score"], 0, "{mid}");
    assert!(
        mid["you"].get("last").is_none(),
        "no result while open: {mid}"
    );
    assert!(mid["question"].get("correct_choice").is_none(), "{mid}");
    assert!(mid["question"].get("answer_counts").is_none(), "{mid}");
    assert!(
        mid["leaderboard"]
            .as_array()
            .is_some_and(|es| es.iter().all(|e| e["score"] == 0)),
        "{mid}"
    );

    let st = app.host(&host.token, &code, "next").await;
    assert_eq!(st.expect(200, "close q1")["status"], "reveal");
    let got = ana_sse
        .until("Ana's score after the close", |evs| {
            evs.iter().any(|e| e.event == "question_closed")
                && evs.iter().any(|e| e.event == "score")
        })
        .await;
    let events = &ana_sse.seen[from..];
    let closed_at = events
        .iter()
        .position(|e| e.event == "question_closed")
        .expect("question_closed");
    for (i, e) in moves(events) {
        let moved = e.event == "score" || scores_of(&e.data).iter().any(|s| *s > 0);
        assert!(
            !moved || i > closed_at,
            "{} before question_closed: {e:?}; events {:?}",
            e.event,
            names(events)
        );
    }
    let score = got.iter().find(|e| e.event == "score").expect("score");
    assert_eq!(score.data["question_id"], json!(q1));
    assert_eq!(score.data["correct"], true, "{score:?}");
    let awarded1 = score.data["awarded_points"].as_u64().expect("points");
    assert!(awarded1 >= 100, "{score:?}");
    assert_eq!(score.data["score"], json!(awarded1));
    let moved = |evs: &[SseEvent]| {
        evs.iter()
            .any(|e| e.event == "leaderboard" && scores_of(&e.data).contains(&awarded1))
    };
    if !moved(&ana_sse.seen[from..]) {
        ana_sse.until("a leaderboard that moved", moved).await;
    }

    // A page loaded during the reveal shows it.
    let as_ben = app.state(&ben.token, &code).await;
    let shown = &as_ben["question"];
    let right = dealt(&q, correct(0));
    assert_eq!(shown["correct_choice"], json!(right), "{as_ben}");
    let mut counts = vec![0; CHOICES];
    counts[right as usize] = 1;
    counts[dealt(&q, wrong(0)) as usize] = 1;
    assert_eq!(shown["answer_counts"], json!(counts), "{as_ben}");
    assert_eq!(shown["answered"], 2);
    assert_eq!(
        as_ben["you"]["last"],
        json!({ "choice": dealt(&q, wrong(0)), "correct": false, "awarded_points": 0 })
    );
    let as_ana = app.state(&ana.token, &code).await;
    assert_eq!(
        as_ana["you"]["last"],
        json!({ "choice": right, "correct": true, "awarded_points": awarded1 })
    );
    assert_eq!(as_ana["you"]["score"], json!(awarded1));
    let as_cy = app.state(&cy.token, &code).await;
    let last = as_cy["you"].get("last");
    assert_eq!(last, Some(&Value::Null), "Cy did not answer: {as_cy}");
    let as_host = app.state(&host.token, &code).await;
    assert_eq!(as_host["you"], Value::Null);
    assert_eq!(as_host["question"]["correct_choice"], json!(right));

    // Question 2: Ana right again; the reply shows her standing as of the reveal.
    let st = app.host(&host.token, &code, "next").await;
    let q2 = st.expect(200, "open q2")["question"]["question_id"]
        .as_str()
        .expect("q2")
        .to_owned();
    let ana2 = app.answer(&ana.token, &code, &q2, correct(1), None).await;
    let ana2 = ana2.expect(200, "Ana answers q2").clone();
    assert_eq!(
        (
            &ana2["correct"],
            &ana2["score"],
            &ana2["rank"],
            &ana2["streak"]
        ),
        (&Value::Null, &json!(awarded1), &json!(1), &json!(1)),
        "{ana2}"
    );
    let st = app.host(&host.token, &code, "end").await;
    assert_eq!(st.expect(200, "end")["status"], "finished");
    let tail = ana_sse
        .until("session_finished and Ana's second score", |evs| {
            evs.iter().any(|e| e.event == "session_finished")
                && evs
                    .iter()
                    .any(|e| e.event == "score" && e.data["question_id"] == json!(q2))
        })
        .await;
    let awarded2 = tail
        .iter()
        .find(|e| e.event == "score" && e.data["question_id"] == json!(q2))
        .and_then(|e| e.data["awarded_points"].as_u64())
        .expect("points for q2");
    assert!(awarded2 >= 110, "a streak of one adds 10: {awarded2}");
    let finished = tail
        .iter()
        .find(|e| e.event == "session_finished")
        .expect("session_finished");
    let top = &finished.data["entries"][0];
    assert_eq!(top["user_id"], json!(ana.user_id), "{finished:?}");
    assert_eq!(top["score"], json!(awarded1 + awarded2), "totals add up");
}

async fn lock_and_remove(app: TestApp) {
    let g = setup_game(&app, 2, 2, 20_000).await;
    let (ana, ben) = (&g.players[0], &g.players[1]);
    let code = g.code.as_str();

    // Lock: only the host, with a well-formed body.
    patch(&app, &ana.token, code, json!({ "locked": true }))
        .await
        .expect_problem(403, "a player locking");
    for body in [
        json!({}),
        json!({ "locked": "yes" }),
        json!({ "locked": true, "colour": "red" }),
    ] {
        patch(&app, &g.host.token, code, body.clone())
            .await
            .expect_problem(422, &format!("PATCH {body}"));
    }
    let st = patch(&app, &g.host.token, code, json!({ "locked": true })).await;
    assert_eq!(st.expect(200, "lock")["locked"], true);
    assert_eq!(app.state(&ana.token, code).await["locked"], true);
    let cy = app.guest("Cy").await;
    let join = |token: String| {
        let path = format!("/api/v1/sessions/{code}/join");
        let app = &app;
        async move { app.post(&path, Some(&token), json!({})).await }
    };
    join(cy.token.clone())
        .await
        .expect_problem(403, "a new player in a locked session");
    app.post(
        &format!("/api/v1/sessions/{code}/leave"),
        Some(&ana.token),
        json!({}),
    )
    .await
    .expect(204, "Ana leaves");
    let back = join(ana.token.clone()).await;
    assert_eq!(back.expect(200, "Ana comes back")["you"]["joined"], true);
    let st = patch(&app, &g.host.token, code, json!({ "locked": false })).await;
    assert_eq!(st.expect(200, "unlock")["locked"], false);
    join(cy.token.clone())
        .await
        .expect(200, "Cy joins once unlocked");

    // Remove: Ben's stream ends, the room hears he left, and he stays out.
    let mut host_sse = app.sse(&g.host.token, code, None).await;
    let mut ben_sse = app.sse(&ben.token, code, None).await;
    assert_eq!(ben_sse.next().await.event, "session_state");
    remove(&app, &ana.token, code, &ben.user_id)
        .await
        .expect_problem(403, "a player removing another");
    remove(&app, &g.host.token, code, &ben.user_id)
        .await
        .expect(204, "the host removes Ben");
    while ben_sse.try_next(WAIT).await.is_some() {}
    assert!(ben_sse.ended, "Ben's stream ends");
    host_sse
        .until("presence listing Ben as left", |evs| {
            evs.iter().any(|e| {
                e.event == "presence"
                    && e.data["left"]
                        .as_array()
                        .is_some_and(|l| l.iter().any(|m| m["user_id"] == json!(ben.user_id)))
            })
        })
        .await;
    let board = app.leaderboard(&g.host.token, code, 10, 0).await;
    assert_eq!(board["players"], 2, "{board}");
    assert!(
        board["entries"]
            .as_array()
            .is_some_and(|es| es.iter().all(|e| e["user_id"] != json!(ben.user_id))),
        "{board}"
    );
    join(ben.token.clone())
        .await
        .expect_problem(403, "a removed player joining again");
    let again = app.sse_response(&ben.token, code, None).await;
    assert_eq!(again.status(), 403, "a removed player's stream is refused");
    app.poll(&ben.token, code, None, 0)
        .await
        .expect_problem(403, "a removed player polling");
    let st = app.state(&ben.token, code).await;
    assert_eq!(
        (&st["you"]["joined"], &st["you"]["removed"]),
        (&json!(false), &json!(true)),
        "{st}"
    );
    remove(&app, &g.host.token, code, &ben.user_id)
        .await
        .expect(204, "removing again");
    remove(&app, &g.host.token, code, "nobody-at-all")
        .await
        .expect_problem(404, "removing someone who never joined");
    remove(&app, &g.host.token, "ZZZZZZ", &ana.user_id)
        .await
        .expect_problem(404, "an unknown session");
}
