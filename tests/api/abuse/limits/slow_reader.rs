//! A client that opens an event stream and then never reads: the server's send buffer is
//! small, so its own bounded queue fills, and after the stall timeout (shortened here) the
//! connection is closed and the user's stream slot freed. One that only falls behind gets
//! every log event and the newest snapshots, not every one in between.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::read_reply;
use crate::helpers::*;

const QUESTIONS: usize = 40;

/// A quiz whose events are as large as the rules allow (500-character strings).
fn big_quiz() -> Value {
    let long = |tag: String| format!("{tag}-{}", "x".repeat(490));
    let questions: Vec<Value> = (0..QUESTIONS)
        .map(|i| {
            let choices: Vec<String> = (0..4).map(|c| long(format!("w{i}-{c}"))).collect();
            json!({ "prompt": long(format!("p{i}")), "choices": choices,
                    "correct_choice": 0, "time_limit_ms": 120_000 })
        })
        .collect();
    json!({ "title": "Long words", "questions": questions })
}

/// `(event, id, data)` of each complete event in `raw` (an SSE body read so far).
fn events(raw: &str) -> Vec<(String, Option<String>, String)> {
    let mut out = Vec::new();
    let complete = raw.rfind("\n\n").map_or("", |end| &raw[..end]);
    for block in complete.split("\n\n") {
        let (mut event, mut id, mut data) = (None, None, None);
        for line in block.lines() {
            match line.split_once(": ") {
                Some(("event", v)) => event = Some(v.to_owned()),
                Some(("id", v)) => id = Some(v.to_owned()),
                Some(("data", v)) => data = Some(v.to_owned()),
                _ => {}
            }
        }
        if let (Some(event), Some(data)) = (event, data) {
            out.push((event, id, data));
        }
    }
    out
}

/// Opens `GET …/events` on a socket with a small receive buffer and reads only the head.
async fn open_and_stop_reading(app: &TestApp, token: &str, code: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let mut stream = within("connecting", socket.connect(app.addr))
        .await
        .expect("connect");
    let request = format!(
        "GET /api/v1/sessions/{code}/events HTTP/1.1\r\nHost: {}\r\n\
         Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n",
        app.addr
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = within("the response head", stream.read(&mut byte))
            .await
            .expect("read");
        assert_eq!(n, 1, "the connection closed before the head ended");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_cut_and_its_slot_freed() {
    let app = spawn_app_with(|c| {
        c.stall_timeout_ms = 1_000;
        c.streams_per_user = 1;
    })
    .await;
    let host = app.guest("Host").await;
    let quiz = app
        .post("/api/v1/quizzes", Some(&host.token), big_quiz())
        .await;
    let quiz_id = quiz.expect(201, "a quiz of long words")["quiz_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = app.create_session(&host.token, &quiz_id).await;
    let player = app.guest("Sleepy").await;
    app.join(&player.token, &code).await;

    let mut stuck = open_and_stop_reading(&app, &player.token, &code).await;
    let second = read_reply(app.sse_response(&player.token, &code, None).await).await;
    second.expect_problem(429, "a second stream while the cap of 1 is held");

    // About 200 KB of events: more than the socket buffers on both sides hold.
    app.host(&host.token, &code, "start")
        .await
        .expect(200, "start");
    for _ in 0..(2 * QUESTIONS - 1) {
        app.host(&host.token, &code, "next")
            .await
            .expect(200, "next");
    }

    // The stalled stream is cut, so the user may open one again.
    let reopened = within("the stalled stream's slot to be freed", async {
        loop {
            let resp = app.sse_response(&player.token, &code, None).await;
            if resp.status() == StatusCode::OK {
                break resp;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert_eq!(Sse::new(reopened).next().await.event, "session_state");

    // What the kernel had buffered, then the end (a reset, or EOF): never the whole game.
    let mut got = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    within("the cut connection to end", async {
        loop {
            match stuck.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
    })
    .await;
    println!("read {got} bytes before the end");
    // The game's events come to about 120 KB.
    assert!(
        got < 100_000,
        "the server buffered {got} bytes for a reader that never read"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_is_behind_gets_every_log_event_and_the_newest_snapshots() {
    let app = spawn_app().await;
    let host = app.guest("Host").await;
    let quiz = app
        .post("/api/v1/quizzes", Some(&host.token), big_quiz())
        .await;
    let quiz_id = quiz.expect(201, "a quiz of long words")["quiz_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = app.create_session(&host.token, &quiz_id).await;
    let mut players = Vec::new();
    for i in 0..5 {
        let p = app.guest(&format!("Quick {i}")).await;
        app.join(&p.token, &code).await;
        players.push(p);
    }
    let watcher = app.guest("Behind").await;
    let mut behind = open_and_stop_reading(&app, &watcher.token, &code).await;
    let mut live = app.sse(&host.token, &code, None).await;

    // The big log events fill the socket buffers, so the rest waits in the server's queue.
    app.host(&host.token, &code, "start")
        .await
        .expect(200, "start");
    for _ in 0..(2 * (QUESTIONS - 1)) {
        app.host(&host.token, &code, "next")
            .await
            .expect(200, "next");
    }
    // Five score changes on the last question, each seen live before the next.
    let state = app.state(&host.token, &code).await;
    let question = state["question"]["question_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for p in &players {
        let reply = app.answer(&p.token, &code, &question, 0, None).await;
        let version = reply.expect(200, "an answer")["version"].as_u64().unwrap();
        live.until("the leaderboard with that answer", |evs| {
            evs.iter()
                .any(|e| e.event == "leaderboard" && e.data["version"].as_u64() >= Some(version))
        })
        .await;
    }
    app.host(&host.token, &code, "end").await.expect(200, "end");
    live.next_named("session_finished", WAIT).await;

    // Now the reader catches up.
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    within("the reader that was behind to see the end", async {
        while !String::from_utf8_lossy(&raw).contains("event: session_finished") {
            let n = stuck_read(&mut behind, &mut buf).await;
            raw.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    let got = events(&String::from_utf8_lossy(&raw));
    let ids = |evs: Vec<Option<String>>| evs.into_iter().flatten().collect::<Vec<_>>();
    let live_ids = ids(live.seen.iter().map(|e| e.id.clone()).collect());
    let got_ids = ids(got.iter().map(|(_, id, _)| id.clone()).collect());
    assert_eq!(got_ids, live_ids, "every log event, in order");
    let boards_after_last_open = |names: Vec<(&str, &str)>| {
        let last_open = names
            .iter()
            .rposition(|(e, _)| *e == "question_opened")
            .expect("a question_opened");
        names[last_open..]
            .iter()
            .filter(|(e, _)| *e == "leaderboard")
            .map(|(_, d)| d.to_string())
            .collect::<Vec<_>>()
    };
    let live_boards = boards_after_last_open(
        live.seen
            .iter()
            .map(|e| (e.event.as_str(), e.raw.as_str()))
            .collect(),
    );
    let got_boards = boards_after_last_open(
        got.iter()
            .map(|(e, _, d)| (e.as_str(), d.as_str()))
            .collect(),
    );
    assert!(live_boards.len() >= 5, "live: {live_boards:?}");
    assert_eq!(
        got_boards.len(),
        1,
        "behind, the five leaderboards conflate into the newest: {got_boards:?}"
    );
    assert_eq!(got_boards.last(), live_boards.last(), "the newest one");
}

async fn stuck_read(stream: &mut TcpStream, buf: &mut [u8]) -> usize {
    let n = stream.read(buf).await.expect("read the stream");
    assert!(n > 0, "the stream ended early");
    n
}
