//! 200 players in one session, each with an open event stream, all answering the same
//! question at once: every answer counts exactly once and everybody sees the same board.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use serde_json::{Value, json};

use crate::helpers::*;

const PLAYERS: usize = 200;
/// Requests in flight at once (each SSE stream holds one more connection on both ends).
const CONCURRENCY: usize = 24;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_players_answer_at_once() {
    let began = Instant::now();
    let app = spawn_app_with(|c| {
        c.guest_logins_per_minute = 100_000;
    })
    .await;
    let host = app.guest("Host").await;
    let quiz = app.create_quiz(&host.token, 1).await;
    let code = app.create_session(&host.token, &quiz).await;

    let app_ref = &app;
    let code_ref = code.as_str();
    let players: Vec<(Guest, Sse)> = stream::iter(0..PLAYERS)
        .map(|i| async move {
            let p = app_ref.guest(&format!("P{i:03}")).await;
            app_ref.join(&p.token, code_ref).await;
            let mut sse = app_ref.sse(&p.token, code_ref, None).await;
            let first = sse.next().await;
            assert_eq!(first.event, "session_state", "first event of player {i}");
            (p, sse)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    assert_eq!(players.len(), PLAYERS);

    // Every subscriber waits for the end on its own task.
    let mut watchers = Vec::new();
    let mut guests = Vec::new();
    for (p, mut sse) in players {
        guests.push(p);
        watchers.push(tokio::spawn(async move {
            let fin = sse
                .next_named("session_finished", Duration::from_secs(30))
                .await;
            fin.data["entries"].clone()
        }));
    }

    let mut host_sse = app.sse(&host.token, &code, None).await;
    let st = app.host(&host.token, &code, "start").await;
    let q = st.expect(200, "start")["question"]["question_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let q_ref = q.as_str();
    let replies: Vec<(String, Reply)> = stream::iter(guests.iter().enumerate())
        .map(|(i, p)| async move {
            let choice = if i % 3 == 0 { wrong(0) } else { correct(0) };
            let nonce = format!("load-{i}");
            let r = app_ref
                .answer(&p.token, code_ref, q_ref, choice, Some(&nonce))
                .await;
            (p.user_id.clone(), r)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut total = 0;
    let mut answered = HashSet::new();
    for (uid, r) in &replies {
        let v = r.expect(200, "an answer under load");
        assert!(answered.insert(uid.clone()), "one reply per player");
        let pts = v["awarded_points"].as_u64().expect("awarded_points");
        assert_eq!(v["correct"], json!(pts > 0), "{v}");
        total += pts;
    }
    assert_eq!(answered.len(), PLAYERS, "every answer 200 exactly once");

    // Everyone answered, so the question closes by itself; then the host ends.
    let closed = host_sse.next_named("question_closed", WAIT).await;
    assert_eq!(closed.data["answered"], json!(PLAYERS));
    assert_eq!(closed.data["players"], json!(PLAYERS));
    let counts: u64 = closed.data["answer_counts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_u64)
        .sum();
    assert_eq!(counts, PLAYERS as u64, "{closed:?}");
    assert_eq!(app.state(&host.token, &code).await["status"], "reveal");
    let st = app.host(&host.token, &code, "next").await;
    assert_eq!(
        st.expect(200, "next after the last reveal")["status"],
        "finished"
    );

    let mut seen = HashSet::new();
    let mut sum = 0;
    let mut players_field = None;
    for offset in [0, 100, 200] {
        let page = app.leaderboard(&host.token, &code, 100, offset).await;
        players_field = Some(page["players"].clone());
        for e in page["entries"].as_array().expect("entries") {
            assert!(
                seen.insert(e["user_id"].as_str().unwrap().to_owned()),
                "listed twice: {e}"
            );
            sum += e["score"].as_u64().unwrap();
        }
    }
    assert_eq!(players_field, Some(json!(PLAYERS)));
    assert_eq!(seen.len(), PLAYERS, "every player on the board");
    assert_eq!(sum, total, "the board adds up to the points awarded");

    let mut tops: Vec<Value> = Vec::new();
    for w in watchers {
        tops.push(
            within("a subscriber's session_finished", w)
                .await
                .expect("subscriber task"),
        );
    }
    let top = app.leaderboard(&host.token, &code, 10, 0).await["entries"].clone();
    assert_eq!(top.as_array().map(Vec::len), Some(10));
    for (i, t) in tops.iter().enumerate() {
        assert_eq!(t, &top, "subscriber {i} saw a different top 10");
    }
    assert!(
        began.elapsed() < Duration::from_secs(60),
        "the load test took {:?}",
        began.elapsed()
    );
}
