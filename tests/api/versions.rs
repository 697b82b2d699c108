//! `version` ties an accepted answer to the first `leaderboard` that reflects it, and the
//! operator metrics that follow an answer to its broadcast appear in `/metrics`.

use std::time::Duration;

use crate::helpers::*;

async fn boards_carry_answer_versions(app: TestApp, shared: bool) {
    let g = setup_game(&app, 2, 1, 60_000).await;
    let mut watcher = app.sse(&g.players[1].token, &g.code, None).await;
    watcher
        .next_named("session_state", Duration::from_secs(5))
        .await;
    let state = app.host(&g.host.token, &g.code, "start").await;
    let question_id = state.expect(200, "start")["question"]["question_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = app
        .answer(
            &g.players[0].token,
            &g.code,
            &question_id,
            correct(0),
            Some("v-1"),
        )
        .await;
    let reply = reply.expect(200, "answer").clone();
    let version = reply["version"]
        .as_u64()
        .expect("version in the answer reply");
    assert!(version > 0, "versions start after the joins: {reply}");
    let score = reply["score"].clone();
    let seen = watcher
        .until("a leaderboard reflecting the answer", |seen| {
            seen.iter()
                .any(|e| e.event == "leaderboard" && e.data["version"].as_u64() >= Some(version))
        })
        .await;
    let board = seen
        .iter()
        .find(|e| e.event == "leaderboard" && e.data["version"].as_u64() >= Some(version))
        .unwrap();
    assert_eq!(
        board.data["entries"][0]["score"], score,
        "a board at or past the answer's version holds its points: {}",
        board.data
    );
    // Every earlier board predates the answer.
    for e in seen.iter().filter(|e| e.event == "leaderboard") {
        if e.data["version"].as_u64() < Some(version) {
            assert_eq!(e.data["entries"][0]["score"], 0, "{}", e.data);
        }
    }
    // A retry returns the same version; the GET leaderboard is at least as new.
    let again = app
        .answer(
            &g.players[0].token,
            &g.code,
            &question_id,
            correct(0),
            Some("v-1"),
        )
        .await;
    assert_eq!(again.expect(200, "retry")["version"], version);
    let now = app.leaderboard(&g.host.token, &g.code, 10, 0).await;
    assert!(now["version"].as_u64() >= Some(version), "{now}");

    let metrics = app.get("/metrics", None).await;
    metrics.expect(200, "metrics");
    for name in [
        "quizcast_answers_total{outcome=\"accepted\"}",
        "quizcast_streams_active{transport=\"sse\"}",
        "quizcast_fanout_seconds_count",
        "quizcast_answer_broadcast_seconds_count",
        "quizcast_sessions_live",
    ] {
        assert!(metrics.text.contains(name), "{name} in /metrics");
    }
    if shared {
        assert!(
            metrics
                .text
                .contains("quizcast_redis_command_seconds_count{op=\"answer\"}"),
            "Redis latency by operation in /metrics"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaderboards_say_which_answers_they_reflect() {
    boards_carry_answer_versions(spawn_app().await, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaderboards_say_which_answers_they_reflect_across_nodes() {
    if let Some(app) = spawn_shared_app().await {
        boards_carry_answer_versions(app, true).await;
    }
}
