//! The rules around a running game: one answer per question (nonce retries, 409 with the
//! first result, concurrent duplicates), 422/403/401/404 on answers, host-only commands,
//! joining (idempotent, full, finished, case-insensitive codes) and leaving.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_counts_once_and_retries_are_safe() {
    let app = spawn_app().await;
    let g = setup_game(&app, 2, 2, 20_000).await;
    let (ana, ben) = (&g.players[0], &g.players[1]);
    let watcher = app.guest("Watcher").await;
    let quiz = app
        .get(
            &format!("/api/v1/quizzes/{}", g.quiz_id),
            Some(&g.host.token),
        )
        .await;
    let quiz = quiz.expect(200, "GET quiz").clone();
    let q2 = quiz["questions"][1]["question_id"]
        .as_str()
        .expect("q2 id")
        .to_owned();
    assert_eq!(quiz["questions"][1]["index"], 1, "indexes are 0-based");

    let mut host_sse = app.sse(&g.host.token, &g.code, None).await;
    let st = app.host(&g.host.token, &g.code, "start").await;
    let q1 = st.expect(200, "start")["question"]["question_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let first = app
        .answer(&ana.token, &g.code, &q1, correct(0), Some("c0ffee-1"))
        .await;
    let first = first.expect(200, "first answer").clone();
    let retry = app
        .answer(&ana.token, &g.code, &q1, correct(0), Some("c0ffee-1"))
        .await;
    assert_eq!(
        retry.expect(200, "same nonce again"),
        &first,
        "a retry returns the same body"
    );
    for (what, nonce) in [("another nonce", Some("c0ffee-2")), ("no nonce", None)] {
        let again = app.answer(&ana.token, &g.code, &q1, wrong(0), nonce).await;
        let p = again.expect_problem(409, &format!("second answer with {what}"));
        assert_eq!(
            p["first_result"], first,
            "409 carries the first result ({what})"
        );
    }

    let wrong_q = app
        .answer(
            &ana.token,
            &g.code,
            &uuid::Uuid::new_v4().to_string(),
            0,
            None,
        )
        .await;
    wrong_q.expect_problem(422, "an unknown question_id");
    let not_yet = app.answer(&ben.token, &g.code, &q2, 0, None).await;
    not_yet.expect_problem(422, "a question not yet open");
    let out_of_range = app
        .answer(&ben.token, &g.code, &q1, CHOICES as u64, None)
        .await;
    out_of_range.expect_problem(422, "choice out of range");
    let host_answers = app.answer(&g.host.token, &g.code, &q1, 0, None).await;
    host_answers.expect_problem(403, "the host is not a player");
    let watcher_answers = app.answer(&watcher.token, &g.code, &q1, 0, None).await;
    watcher_answers.expect_problem(403, "a watcher is not a player");
    let body = json!({ "question_id": q1, "choice": 0 });
    let path = format!("/api/v1/sessions/{}/answers", g.code);
    app.post(&path, None, body.clone())
        .await
        .expect_problem(401, "no token");
    app.post(&path, Some("not-a-jwt"), body.clone())
        .await
        .expect_problem(401, "a bad token");
    let unknown = other_code(&g.code);
    let r = app
        .post(
            &format!("/api/v1/sessions/{unknown}/answers"),
            Some(&ben.token),
            body,
        )
        .await;
    r.expect_problem(404, "an unknown session");

    // Ben sends five different answers at once: exactly one counts.
    let tries = (0..5).map(|i| {
        let nonce = format!("ben-{i}");
        let (app, token, code, q1) = (&app, &ben.token, &g.code, &q1);
        async move {
            app.answer(token, code, q1, i % CHOICES as u64, Some(&nonce))
                .await
        }
    });
    let replies = join_all(tries).await;
    let ok: Vec<&Value> = replies
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| &r.json)
        .collect();
    assert_eq!(
        ok.len(),
        1,
        "exactly one of five concurrent answers counts: {replies:?}"
    );
    for r in replies.iter().filter(|r| r.status != 200) {
        let p = r.expect_problem_in(&[409, 422], "a concurrent duplicate");
        if r.status == 409 {
            assert_eq!(
                &p["first_result"], ok[0],
                "409 names the answer that counted"
            );
        }
    }

    // Both players answered: the question is closed, a stored nonce still replays.
    let closed = host_sse.next_named("question_closed", WAIT).await;
    assert_eq!(closed.data["answered"], 2, "{closed:?}");
    assert_eq!(app.state(&ana.token, &g.code).await["status"], "reveal");
    let late = app
        .answer(&ana.token, &g.code, &q1, correct(0), Some("c0ffee-1"))
        .await;
    assert_eq!(late.expect(200, "a nonce retried after the close"), &first);
    let late = app
        .answer(&ana.token, &g.code, &q1, correct(0), Some("c0ffee-3"))
        .await;
    late.expect_problem_in(&[409, 422], "a new answer after the close");
    let board = app.leaderboard(&ana.token, &g.code, 10, 0).await;
    let ana_entry = board["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["user_id"] == json!(ana.user_id));
    assert_eq!(
        ana_entry.expect("Ana listed")["score"],
        first["score"],
        "retries never add points"
    );
}

/// A valid code that is not `code`.
pub fn other_code(code: &str) -> String {
    if code == "ZZZZZZ" {
        "YYYYYY".into()
    } else {
        "ZZZZZZ".into()
    }
}

#[tokio::test]
async fn only_the_host_drives_and_codes_are_case_insensitive() {
    let app = spawn_app().await;
    let g = setup_game(&app, 1, 2, 20_000).await;
    let player = &g.players[0];
    let watcher = app.guest("Watcher").await;
    for cmd in ["start", "next", "end"] {
        app.host(&player.token, &g.code, cmd)
            .await
            .expect_problem(403, &format!("{cmd} by a player"));
        app.host(&watcher.token, &g.code, cmd)
            .await
            .expect_problem(403, &format!("{cmd} by a watcher"));
    }
    assert_eq!(
        app.state(&player.token, &g.code).await["status"],
        "lobby",
        "nothing moved"
    );
    let lower = g.code.to_lowercase();
    let st = app.state(&watcher.token, &lower).await;
    assert_eq!(
        st["session_id"],
        json!(g.code),
        "codes are case-insensitive on input"
    );
    let st = app.join(&watcher.token, &lower).await;
    assert_eq!(st["players"], 2, "{st}");
    let st = app.host(&g.host.token, &lower, "start").await;
    assert_eq!(
        st.expect(200, "start by lower-case code")["status"],
        "question"
    );

    let unknown = other_code(&g.code);
    app.get(&format!("/api/v1/sessions/{unknown}"), Some(&player.token))
        .await
        .expect_problem(404, "GET unknown code");
    let r = app
        .post(
            &format!("/api/v1/sessions/{unknown}/join"),
            Some(&player.token),
            json!({}),
        )
        .await;
    r.expect_problem(404, "join unknown code");
    let r = app
        .get(&format!("/api/v1/sessions/{}", g.code), Some("x.y.z"))
        .await;
    r.expect_problem(401, "GET session with a bad token");
}

#[tokio::test]
async fn joining_a_full_or_finished_session_and_leaving() {
    let app = spawn_app().await;
    let host = app.guest("Host").await;
    let quiz = app.create_quiz(&host.token, 1).await;
    let body = json!({ "quiz_id": quiz, "auto_advance": false, "max_players": 1 });
    let r = app.create_session_with(&host.token, body).await;
    let code = r.expect(201, "create session")["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut host_sse = app.sse(&host.token, &code, None).await;
    let ana = app.guest("Ana").await;
    let ben = app.guest("Ben").await;
    app.join(&ana.token, &code).await;
    app.join(&ana.token, &code).await; // idempotent, does not take a second seat
    let path = format!("/api/v1/sessions/{code}/join");
    app.post(&path, Some(&ben.token), json!({}))
        .await
        .expect_problem(403, "join a full session");

    let r = app
        .post(
            &format!("/api/v1/sessions/{code}/leave"),
            Some(&ana.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 204, "leave: {}", r.text);
    assert_eq!(
        app.state(&host.token, &code).await["players"],
        0,
        "players after a leave"
    );
    let left = |evs: &[SseEvent]| {
        evs.iter().any(|e| {
            e.event == "presence"
                && e.data["left"]
                    .as_array()
                    .is_some_and(|l| l.iter().any(|m| m["user_id"] == json!(ana.user_id)))
        })
    };
    let got = host_sse
        .until("a presence event listing Ana in `left`", left)
        .await;
    let presence = got.iter().rev().find(|e| e.event == "presence").unwrap();
    assert_eq!(presence.data["players"], 0, "{presence:?}");
    let st = app.join(&ben.token, &code).await;
    assert_eq!(st["players"], 1, "the seat is free again: {st}");

    app.host(&host.token, &code, "start")
        .await
        .expect(200, "start");
    let st = app.host(&host.token, &code, "end").await;
    assert_eq!(st.expect(200, "end")["status"], "finished");
    app.post(&path, Some(&ana.token), json!({}))
        .await
        .expect_problem(409, "join a finished session");
}
