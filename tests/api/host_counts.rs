//! The host sees answers arrive while a question is open (`answers`); players never do.

use std::time::Duration;

use crate::helpers::*;

async fn host_sees_counts(app: TestApp) {
    let g = setup_game(&app, 3, 1, 60_000).await;
    let mut host = app.sse(&g.host.token, &g.code, None).await;
    let mut player = app.sse(&g.players[0].token, &g.code, None).await;
    host.next_named("session_state", Duration::from_secs(5))
        .await;
    player
        .next_named("session_state", Duration::from_secs(5))
        .await;
    let state = app.host(&g.host.token, &g.code, "start").await;
    let shown = state.expect(200, "start")["question"].clone();
    let question_id = shown["question_id"].as_str().unwrap().to_owned();
    app.answer(&g.players[0].token, &g.code, &question_id, correct(0), None)
        .await
        .expect(200, "first answer");
    let counts = host
        .until("answers with one answer", |seen| {
            seen.iter()
                .any(|e| e.event == "answers" && e.data["answered"] == 1)
        })
        .await;
    let first = counts.iter().rev().find(|e| e.event == "answers").unwrap();
    assert_eq!(first.data["question_id"], question_id.as_str());
    assert_eq!(first.data["players"], 3);
    assert_eq!(
        first.data["answer_counts"][dealt(&shown, correct(0)) as usize],
        1
    );
    app.answer(&g.players[1].token, &g.code, &question_id, wrong(0), None)
        .await
        .expect(200, "a wrong answer");
    host.until("answers with two answers", |seen| {
        seen.iter().any(|e| {
            e.event == "answers"
                && e.data["answered"] == 2
                && e.data["answer_counts"][dealt(&shown, wrong(0)) as usize] == 1
        })
    })
    .await;
    // Players get their own score and the leaderboard, never the counts.
    app.host(&g.host.token, &g.code, "next")
        .await
        .expect(200, "close");
    let seen = player
        .until("question_closed", |seen| {
            seen.iter().any(|e| e.event == "question_closed")
        })
        .await;
    assert!(
        seen.iter().all(|e| e.event != "answers"),
        "a player saw answer counts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_sees_answers_arrive() {
    host_sees_counts(spawn_app().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_sees_answers_arrive_across_nodes() {
    if let Some(app) = spawn_shared_app().await {
        host_sees_counts(app).await;
    }
}
