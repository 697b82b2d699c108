//! Abuse cases: what one user may hold. Sessions per host and quizzes per author are capped
//! (`403` naming the quota), idle sessions finish by themselves, and every session of a quiz
//! shares one copy of its words.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::*;

async fn session_quota(app: TestApp) {
    let host = app.guest("Host").await;
    let quiz_id = app.create_quiz(&host.token, 2).await;
    // Ten at once against a quota of three: exactly three pass, whatever the interleaving.
    let tries =
        (0..10).map(|_| app.create_session_with(&host.token, json!({ "quiz_id": quiz_id })));
    let replies = join_all(tries).await;
    let created: Vec<&Reply> = replies.iter().filter(|r| r.status == 201).collect();
    assert_eq!(
        created.len(),
        3,
        "quota of 3: {:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in replies.iter().filter(|r| r.status != 201) {
        let p = r.expect_problem(403, "over the session quota");
        assert!(
            p["detail"]
                .as_str()
                .unwrap()
                .contains("unfinished sessions per host"),
            "the quota is named: {p}"
        );
    }
    // Another host is not affected; a finished session frees its slot.
    let other = app.guest("Other").await;
    let theirs = app.create_quiz(&other.token, 2).await;
    app.create_session(&other.token, &theirs).await;
    let code = created[0].json["session_id"].as_str().unwrap();
    app.host(&host.token, code, "end")
        .await
        .expect(200, "end one");
    app.create_session_with(&host.token, json!({ "quiz_id": quiz_id }))
        .await
        .expect(201, "a slot freed by the finished session");
}

#[tokio::test]
async fn a_host_has_at_most_the_quota_of_unfinished_sessions() {
    session_quota(spawn_app_with(|c| c.max_sessions_per_host = 3).await).await;
}

#[tokio::test]
async fn the_session_quota_holds_across_nodes_on_redis() {
    let Some(app) = spawn_shared_app_with(|c| c.max_sessions_per_host = 3).await else {
        return;
    };
    session_quota(app).await;
}

#[tokio::test]
async fn an_author_keeps_at_most_the_quota_of_quizzes() {
    let app = spawn_app_with(|c| c.max_quizzes_per_author = 2).await;
    let author = app.guest("Author").await;
    app.create_quiz(&author.token, 1).await;
    app.create_quiz(&author.token, 1).await;
    let r = app
        .post(
            "/api/v1/quizzes",
            Some(&author.token),
            quiz_body("Third", 1, 20_000),
        )
        .await;
    let p = r.expect_problem(403, "a third quiz over a quota of two");
    assert!(
        p["detail"].as_str().unwrap().contains("quizzes per author"),
        "{p}"
    );
    let csv = "a,1\nb,2\nc,3\nd,4\n";
    let r = app
        .post_raw(
            "/api/v1/quizzes/import",
            Some(&author.token),
            "text/csv",
            csv,
        )
        .await;
    r.expect_problem(403, "an imported quiz counts too");
    let other = app.guest("Other").await;
    app.create_quiz(&other.token, 1).await;
}

async fn idle_lobby_finishes(app: TestApp) {
    let host = app.guest("Host").await;
    let quiz_id = app.create_quiz(&host.token, 2).await;
    let code = app.create_session(&host.token, &quiz_id).await;
    let ana = app.guest("Ana").await;
    app.join(&ana.token, &code).await;
    let mut sse = app.sse(&ana.token, &code, None).await;
    assert_eq!(sse.next().await.event, "session_state");
    // Nobody starts it: after the idle time (1 s here) it finishes by itself.
    let finished = sse.next_named("session_finished", WAIT).await;
    assert_eq!(finished.data["players"], 1, "{}", finished.raw);
    let st = app.state(&ana.token, &code).await;
    assert_eq!(st["status"], "finished", "{st}");
    let path = format!("/api/v1/sessions/{code}/join");
    let late = app.guest("Late").await;
    app.post(&path, Some(&late.token), json!({}))
        .await
        .expect_problem(409, "joining a session that finished by itself");
    let results = app
        .get(
            &format!("/api/v1/sessions/{code}/results"),
            Some(&host.token),
        )
        .await;
    results.expect(200, "an idle session's results are kept like any other");
}

#[tokio::test]
async fn a_lobby_left_alone_finishes_by_itself() {
    idle_lobby_finishes(spawn_app_with(|c| c.session_idle_secs = 1).await).await;
}

#[tokio::test]
async fn a_lobby_left_alone_finishes_by_itself_on_redis() {
    let Some(app) = spawn_shared_app_with(|c| c.session_idle_secs = 1).await else {
        return;
    };
    idle_lobby_finishes(app).await;
}

/// The largest valid quiz: 200 questions, six choices, every text 500 characters.
fn largest_quiz() -> Value {
    let text = |q: usize, c: usize| format!("{q}.{c} {}", "x".repeat(500 - 8));
    let questions: Vec<Value> = (0..200)
        .map(|q| {
            let choices: Vec<String> = (0..6).map(|c| text(q, c + 1)).collect();
            json!({ "prompt": text(q, 0), "choices": choices, "correct_choice": q % 6 })
        })
        .collect();
    json!({ "title": "Largest", "questions": questions })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_sessions_of_the_largest_quiz_share_its_words() {
    // A process of its own, so its memory is this test's alone.
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let child = start_binary(port, &dir.path().join("mem.db"), &[]).await;
    let pid = child.id().expect("pid");
    let app = TestApp {
        addr: ([127, 0, 0, 1], port).into(),
        base_url: format!("http://127.0.0.1:{port}"),
        client: client(),
        _dir: tempfile::tempdir().expect("temp dir"),
    };
    let host = app.guest("Host").await;
    let body = largest_quiz();
    assert!(body.to_string().len() < 1 << 20, "under the body limit");
    let r = app.post("/api/v1/quizzes", Some(&host.token), body).await;
    let quiz_id = r.expect(201, "the largest quiz")["quiz_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = rss_kib(pid);
    for _ in 0..20 {
        app.create_session(&host.token, &quiz_id).await;
    }
    let grew = rss_kib(pid).saturating_sub(before);
    // One copy of the quiz is about 700 KiB of words; twenty copies would be 14 MiB.
    assert!(
        grew < 8 * 1024,
        "20 sessions of the largest quiz cost {grew} KiB"
    );
}
