//! The long-poll fallback: a first `session_state` with a cursor, holding while nothing
//! happens, waking as soon as something does, a whole question followed by polling, and
//! bad cursors.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::*;

fn events(reply: &Reply) -> Vec<Value> {
    reply.json["events"]
        .as_array()
        .unwrap_or_else(|| panic!("no events in {}", reply.text))
        .clone()
}

fn next(reply: &Reply) -> String {
    let n = reply.json["next"]
        .as_str()
        .unwrap_or_else(|| panic!("no next in {}", reply.text));
    assert!(!n.is_empty(), "an empty cursor");
    n.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_poll_then_holding_while_nothing_happens() {
    let app = spawn_app().await;
    let host = app.guest("Host").await;
    let quiz = app.create_quiz(&host.token, 1).await;
    let code = app.create_session(&host.token, &quiz).await;
    let mut host_sse = app.sse(&host.token, &code, None).await;
    let player = app.guest("Player").await;
    app.join(&player.token, &code).await;
    // The join's coalesced snapshots go out first; after them the session is quiet.
    let quiet = |evs: &[SseEvent]| {
        ["leaderboard", "presence"]
            .iter()
            .all(|k| evs.iter().any(|e| e.event == *k && e.data["players"] == 1))
    };
    host_sse
        .until("the join's leaderboard and presence broadcasts", quiet)
        .await;
    let g = Game {
        host,
        players: vec![player],
        quiz_id: quiz,
        code,
    };
    let watcher = app.guest("Watcher").await;
    let r = app.poll(&watcher.token, &g.code, None, 300).await;
    r.expect(200, "first poll");
    let evs = events(&r);
    assert_eq!(evs.len(), 1, "one session_state: {}", r.text);
    assert_eq!(evs[0]["event"], "session_state");
    assert_eq!(evs[0]["id"], Value::Null);
    assert_eq!(evs[0]["data"]["status"], "lobby");
    assert_eq!(evs[0]["data"]["session_id"], json!(g.code));
    let cursor = next(&r);

    let t = Instant::now();
    let r = app.poll(&watcher.token, &g.code, Some(&cursor), 300).await;
    let held = t.elapsed();
    r.expect(200, "a poll with nothing new");
    assert_eq!(r.json["events"], json!([]), "nothing happened: {}", r.text);
    assert!(
        held >= Duration::from_millis(250),
        "returned after {held:?}, should hold ~300 ms"
    );
    assert!(
        held < Duration::from_secs(5),
        "held {held:?} for a 300 ms timeout"
    );
    let cursor = next(&r);

    for timeout in ["0", "-5"] {
        let t = Instant::now();
        let path = format!(
            "/api/v1/sessions/{}/events/poll?after={cursor}&timeout_ms={timeout}",
            g.code
        );
        let r = app.get(&path, Some(&watcher.token)).await;
        r.expect(
            200,
            &format!("timeout_ms={timeout} is clamped, not refused"),
        );
        assert_eq!(r.json["events"], json!([]));
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "timeout_ms={timeout} held {:?}",
            t.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holding_poll_wakes_when_a_question_opens() {
    let app = spawn_app().await;
    let g = setup_game(&app, 1, 1, 20_000).await;
    let watcher = app.guest("Watcher").await;
    let first = app.poll(&watcher.token, &g.code, None, 0).await;
    let cursor = next(&first);

    let (client, url, token) = (
        app.client.clone(),
        app.url(&format!(
            "/api/v1/sessions/{}/events/poll?after={cursor}&timeout_ms=20000",
            g.code
        )),
        watcher.token.clone(),
    );
    let waiting = tokio::spawn(async move {
        let r = send(client.get(url).bearer_auth(token), "a holding poll").await;
        (r, Instant::now())
    });
    let triggered = Instant::now();
    app.host(&g.host.token, &g.code, "start")
        .await
        .expect(200, "start");
    let (r, returned) = within("the holding poll", waiting)
        .await
        .expect("poll task");
    r.expect(200, "the woken poll");
    let took = returned.duration_since(triggered);
    assert!(
        took < Duration::from_secs(5),
        "the poll returned {took:?} after the start, timeout was 20 s"
    );
    let evs = events(&r);
    let opened = evs.iter().find(|e| e["event"] == "question_opened");
    let opened = opened.unwrap_or_else(|| panic!("question_opened in {}", r.text));
    assert!(
        opened["id"].as_u64().is_some(),
        "log events carry numeric ids: {opened}"
    );
    assert!(!r.text.contains("correct_choice"), "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_follows_a_question_by_polling() {
    let app = spawn_app().await;
    let g = setup_game(&app, 1, 2, 20_000).await;
    let player = &g.players[0];
    let r = app.poll(&player.token, &g.code, None, 0).await;
    let evs = events(&r);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["event"], "session_state");
    assert_eq!(evs[0]["data"]["you"]["joined"], true);
    let mut cursor = next(&r);
    let mut all: Vec<Value> = Vec::new();
    app.host(&g.host.token, &g.code, "start")
        .await
        .expect(200, "start");
    let opened = poll_until(
        &app,
        &player.token,
        &g.code,
        &mut cursor,
        &mut all,
        "question_opened",
    )
    .await;
    let q = opened["data"]["question_id"].as_str().unwrap().to_owned();
    let ans = app
        .answer(&player.token, &g.code, &q, correct(0), None)
        .await;
    let ans = ans.expect(200, "answer").clone();
    let closed = poll_until(
        &app,
        &player.token,
        &g.code,
        &mut cursor,
        &mut all,
        "question_closed",
    )
    .await;
    assert_eq!(
        closed["data"]["correct_choice"],
        json!(dealt(&opened["data"], correct(0)))
    );
    let score = all
        .iter()
        .rev()
        .find(|e| e["event"] == "score" && e["data"]["question_id"] == json!(q));
    let score = score.unwrap_or_else(|| panic!("a score event after the answer: {all:?}"));
    assert_eq!(score["data"]["awarded_points"], ans["awarded_points"]);
    assert_eq!(score["data"]["score"], ans["score"]);
    app.host(&g.host.token, &g.code, "end")
        .await
        .expect(200, "end");
    poll_until(
        &app,
        &player.token,
        &g.code,
        &mut cursor,
        &mut all,
        "session_finished",
    )
    .await;

    let mut last = 0;
    for e in &all {
        match e["event"].as_str().unwrap_or("") {
            "question_opened" | "question_closed" | "session_finished" => {
                let id = e["id"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("a log event without id: {e}"));
                assert!(id > last, "ids increase across polls: {all:?}");
                last = id;
            }
            _ => assert_eq!(e["id"], Value::Null, "snapshots carry id null: {e}"),
        }
    }
    let before_close: Vec<&Value> = all
        .iter()
        .take_while(|e| e["event"] != "question_closed")
        .collect();
    assert!(
        before_close
            .iter()
            .all(|e| !e.to_string().contains("correct_choice")),
        "{before_close:?}"
    );
}

/// Polls (chaining cursors) until an event named `name` arrives; keeps every event in `all`.
async fn poll_until(
    app: &TestApp,
    token: &str,
    code: &str,
    cursor: &mut String,
    all: &mut Vec<Value>,
    name: &str,
) -> Value {
    within(name, async {
        loop {
            let r = app.poll(token, code, Some(cursor), 5_000).await;
            r.expect(200, "poll");
            *cursor = next(&r);
            let evs = events(&r);
            check_reply_order(&evs);
            all.extend(evs.iter().cloned());
            if let Some(e) = evs.iter().find(|e| e["event"] == name) {
                break e.clone();
            }
        }
    })
    .await
}

/// Within one reply: log events first, then snapshots, the player's `score` last.
fn check_reply_order(evs: &[Value]) {
    let rank = |e: &Value| match e["event"].as_str().unwrap_or("") {
        "session_state" | "question_opened" | "question_closed" | "session_finished" => 0,
        "score" => 2,
        _ => 1,
    };
    let ranks: Vec<u8> = evs.iter().map(rank).collect();
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "reply order: {evs:?}"
    );
}

#[tokio::test]
async fn bad_cursors_and_callers() {
    let app = spawn_app().await;
    let g = setup_game(&app, 1, 1, 20_000).await;
    let token = &g.players[0].token;
    for bad in ["garbage", "1.2", "%20"] {
        let r = app.poll(token, &g.code, Some(bad), 0).await;
        r.expect_problem(400, &format!("after={bad}"));
    }
    let path = format!("/api/v1/sessions/{}/events/poll?timeout_ms=0", g.code);
    app.get(&path, None)
        .await
        .expect_problem(401, "poll without a token");
    let unknown = crate::rules::other_code(&g.code);
    let r = app.poll(token, &unknown, None, 0).await;
    r.expect_problem(404, "poll of an unknown session");
}
