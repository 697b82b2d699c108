//! The real binary killed with SIGKILL mid-question and started again on the same SQLite
//! file and port: the question, the accepted answer, nonce replays, `Last-Event-ID` resumes,
//! the question's timer and the tokens issued before the kill (default configuration: the
//! signing key is kept in the database) all survive.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_resumes_the_game() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("crash.db");
    let port = free_port();
    let mut child = start_binary(port, &db, &[]).await;
    let app = TestApp {
        addr: ([127, 0, 0, 1], port).into(),
        base_url: format!("http://127.0.0.1:{port}"),
        client: client(),
        _dir: tempfile::tempdir().expect("temp dir"),
    };

    let g = setup_game(&app, 2, 2, 5_000).await;
    let ana = &g.players[0];
    let mut sse = app.sse(&ana.token, &g.code, None).await;
    assert_eq!(sse.next().await.event, "session_state");
    let st = app.host(&g.host.token, &g.code, "start").await;
    let q = st.expect(200, "start")["question"]["question_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let opened = sse.next_named("question_opened", WAIT).await;
    let first = app
        .answer(&ana.token, &g.code, &q, correct(0), Some("crash-1"))
        .await;
    let first = first.expect(200, "answer before the crash").clone();
    let last_id = sse.last_id().expect("a log id");
    assert_eq!(Some(&last_id), opened.id.as_ref());
    drop(sse);

    child.kill().await.expect("SIGKILL the server");
    let mut child = start_binary(port, &db, &[]).await;

    let st = app.state(&ana.token, &g.code).await;
    assert!(
        st["status"] == "question" || st["status"] == "reveal",
        "the question survives the crash: {st}"
    );
    assert_eq!(st["question"]["question_id"], json!(q), "{st}");
    assert_eq!(
        st["you"]["score"], first["score"],
        "the answer still counts: {st}"
    );
    let board = app.leaderboard(&g.host.token, &g.code, 10, 0).await;
    let entry = board["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["user_id"] == json!(ana.user_id))
        .cloned();
    assert_eq!(
        entry.unwrap_or(Value::Null)["score"],
        first["score"],
        "{board}"
    );
    let retry = app
        .answer(&ana.token, &g.code, &q, correct(0), Some("crash-1"))
        .await;
    assert_eq!(
        retry.expect(200, "the nonce after the restart"),
        &first,
        "the same 200 body"
    );
    let again = app
        .answer(&ana.token, &g.code, &q, wrong(0), Some("crash-2"))
        .await;
    again.expect_problem_in(&[409, 422], "a second answer after the restart");

    // Resume the stream: no session_state, and the timer closes the question (Ben never answers).
    let mut sse = app.sse(&ana.token, &g.code, Some(&last_id)).await;
    let closed = sse
        .next_named("question_closed", Duration::from_secs(15))
        .await;
    assert!(
        !sse.names().contains(&"session_state".to_owned()),
        "a valid resume: {:?}",
        sse.names()
    );
    assert!(
        closed.id_num() > last_id.parse::<u64>().unwrap(),
        "ids continue upward"
    );
    assert_eq!(closed.data["question_id"], json!(q));
    assert_eq!(closed.data["answered"], 1);
    assert_eq!(closed.data["players"], 2);
    assert_eq!(app.state(&ana.token, &g.code).await["status"], "reveal");

    // The game goes on after the restart.
    let st = app.host(&g.host.token, &g.code, "next").await;
    assert_eq!(
        st.expect(200, "next after the restart")["question_index"],
        1
    );
    let opened = sse.next_named("question_opened", WAIT).await;
    assert!(opened.id_num() > closed.id_num());
    child.kill().await.expect("stop the server");
}
