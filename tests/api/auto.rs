//! Questions that close by themselves (time limit, everybody answered) and `auto_advance`
//! sessions that run to the end with no host command after `start`.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_closes_when_its_time_limit_passes() {
    let app = spawn_app().await;
    let g = setup_game(&app, 1, 2, 5_000).await;
    let mut sse = app.sse(&g.players[0].token, &g.code, None).await;
    assert_eq!(sse.next().await.event, "session_state");
    let started = Instant::now();
    let st = app.host(&g.host.token, &g.code, "start").await;
    let q1 = st.expect(200, "start")["question"]["question_id"].clone();
    let opened = sse.next_named("question_opened", WAIT).await;
    assert_eq!(opened.data["time_limit_ms"], 5_000);
    let closed = next_event_named(&mut sse, "question_closed", WAIT).await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(4_900),
        "closed after {took:?}, before its 5 s limit"
    );
    assert_eq!(closed.data["question_id"], q1);
    assert_eq!(closed.data["answered"], 0);
    assert_eq!(closed.data["players"], 1);
    assert_eq!(
        closed.data["correct_choice"],
        json!(dealt(&opened.data, correct(0)))
    );
    assert!(closed.id_num() > opened.id_num());
    let st = app.state(&g.host.token, &g.code).await;
    assert_eq!(
        st["status"], "reveal",
        "without auto_advance the session waits: {st}"
    );
    let late = app
        .answer(
            &g.players[0].token,
            &g.code,
            q1.as_str().unwrap(),
            correct(0),
            None,
        )
        .await;
    late.expect_problem(422, "answering after the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_closes_as_soon_as_every_player_answered() {
    let app = spawn_app().await;
    let g = setup_game(&app, 2, 1, 60_000).await;
    let mut sse = app.sse(&g.host.token, &g.code, None).await;
    let st = app.host(&g.host.token, &g.code, "start").await;
    let q = st.expect(200, "start")["question"]["question_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.answer(&g.players[0].token, &g.code, &q, correct(0), None)
        .await
        .expect(200, "first");
    let last = Instant::now();
    app.answer(&g.players[1].token, &g.code, &q, wrong(0), None)
        .await
        .expect(200, "second");
    let closed = sse
        .next_named("question_closed", Duration::from_secs(5))
        .await;
    assert!(
        last.elapsed() < Duration::from_secs(5),
        "well before the 60 s limit"
    );
    assert_eq!(closed.data["answered"], 2);
    assert_eq!(closed.data["players"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_advance_runs_the_session_to_its_end() {
    let app = spawn_app_with(|c| c.auto_advance_secs = 1).await;
    let host = app.guest("Host").await;
    let quiz = app.create_quiz_limit(&host.token, 2, 5_000).await;
    let body = json!({ "quiz_id": quiz, "auto_advance": true });
    let r = app.create_session_with(&host.token, body).await;
    let code = r.expect(201, "create session")["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let player = app.guest("Solo").await;
    app.join(&player.token, &code).await;
    let mut sse = app.sse(&player.token, &code, None).await;
    assert_eq!(sse.next().await.event, "session_state");
    app.host(&host.token, &code, "start")
        .await
        .expect(200, "start");

    let mut log: Vec<(SseEvent, SseEvent, Instant)> = Vec::new();
    for index in 0..2usize {
        let opened = sse.next_named("question_opened", WAIT).await;
        assert_eq!(opened.data["index"], json!(index));
        if let Some((_, _, revealed)) = log.last() {
            let gap = revealed.elapsed();
            assert!(
                gap >= Duration::from_millis(800),
                "next question {gap:?} after the reveal (1 s configured)"
            );
        }
        let q = opened.data["question_id"].as_str().unwrap().to_owned();
        let r = app
            .answer(&player.token, &code, &q, correct(index), None)
            .await;
        r.expect(200, "answer");
        let closed = sse.next_named("question_closed", WAIT).await;
        assert_eq!(closed.data["question_id"], json!(q));
        log.push((opened, closed, Instant::now()));
    }
    let finished = sse.next_named("session_finished", WAIT).await;
    let gap = log[1].2.elapsed();
    assert!(
        gap >= Duration::from_millis(800),
        "finished {gap:?} after the last reveal (1 s configured)"
    );
    assert_eq!(finished.data["players"], 1);
    let entries = finished.data["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["user_id"], json!(player.user_id));
    assert!(
        entries[0]["score"].as_u64().is_some_and(|s| s >= 200),
        "{finished:?}"
    );
    let ids: Vec<u64> = log
        .iter()
        .flat_map(|(o, c, _)| [o.id_num(), c.id_num()])
        .chain([finished.id_num()])
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");
    let st = app.state(&player.token, &code).await;
    assert_eq!(st["status"], "finished");
    assert_eq!(st["question_index"], 1);
}
