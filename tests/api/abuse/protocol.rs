//! Abuse cases: the HTTP protocol itself. Request smuggling, oversized heads, and arbitrary
//! `Last-Event-ID`s and poll cursors get a clear answer, never a crash or a wrong replay.

use std::time::Duration;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// Sends raw bytes and reads until the server closes or `WAIT` passes.
async fn raw_exchange(app: &TestApp, request: &[u8]) -> String {
    let mut tcp = TcpStream::connect(app.addr).await.expect("connect");
    tcp.write_all(request).await.expect("write");
    let mut got = Vec::new();
    let _ = tokio::time::timeout(WAIT, tcp.read_to_end(&mut got)).await;
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn a_request_with_two_body_lengths_is_refused_not_smuggled() {
    let app = spawn_app().await;
    // Content-Length and Transfer-Encoding together: the classic CL.TE desync. The server
    // must not read a second request out of the first one's body.
    let smuggled = b"GET /api/v1/quizzes HTTP/1.1\r\nHost: x\r\n\r\n";
    let body = format!("0\r\n\r\n{}", String::from_utf8_lossy(smuggled));
    let req = format!(
        "POST /api/v1/auth/guest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n{body}",
        body.len()
    );
    let reply = raw_exchange(&app, req.as_bytes()).await;
    let statuses = reply.matches("HTTP/1.1 ").count();
    assert!(reply.starts_with("HTTP/1.1 4"), "refused: {reply}");
    assert_eq!(
        statuses, 1,
        "exactly one reply, no smuggled second one: {reply}"
    );
}

#[tokio::test]
async fn an_oversized_request_head_is_refused() {
    let app = spawn_app().await;
    let req = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(256 * 1024)
    );
    let reply = raw_exchange(&app, req.as_bytes()).await;
    // hyper answers 431 or closes the connection; it never serves the request.
    assert!(
        reply.is_empty() || reply.starts_with("HTTP/1.1 431"),
        "an oversized head is not served: {}",
        &reply[..reply.len().min(200)]
    );
    let ok = app.get("/healthz", None).await;
    ok.expect(200, "the server is still up");
}

/// Arbitrary `Last-Event-ID`s resume or start fresh, and arbitrary poll cursors are read or
/// refused with 400: never a 5xx, never a replay of another epoch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arbitrary_resume_ids_and_cursors_get_a_clear_answer() {
    let app = spawn_app().await;
    let g = setup_game(&app, 1, 2, 20_000).await;
    let ana = g.players[0].clone();
    let mut runner = TestRunner::new(ProptestConfig::default());
    let ids = prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        "[0-9]{1,30}",
        "[ -~]{0,64}",
    ];
    let pairs = (ids.clone(), ids);
    for _ in 0..48 {
        let (id, cursor) = pairs.new_tree(&mut runner).expect("a sample").current();
        let resp = app
            .request(
                reqwest::Method::GET,
                &format!("/api/v1/sessions/{}/events", g.code),
                Some(&ana.token),
            )
            .header("last-event-id", id.clone())
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("an answer");
        let status = resp.status().as_u16();
        assert!(
            status == 200 || status == 400,
            "Last-Event-ID {id:?}: {status}"
        );
        if status == 200 {
            let mut sse = Sse::new(resp);
            let first = sse.next().await;
            // A session with no log yet: any id is unknown or current, never a replay.
            assert!(
                matches!(
                    first.event.as_str(),
                    "session_state" | "leaderboard" | "presence" | "score"
                ),
                "Last-Event-ID {id:?} began with {}",
                first.event
            );
        }
        let path = format!(
            "/api/v1/sessions/{}/events/poll?timeout_ms=0&after={}",
            g.code,
            urlencode(&cursor)
        );
        let r = app.get(&path, Some(&ana.token)).await;
        match r.status.as_u16() {
            200 => assert!(r.json["events"].is_array(), "{}", r.text),
            400 => {
                r.expect_problem(400, &format!("cursor {cursor:?}"));
            }
            other => panic!("cursor {cursor:?}: {other} {}", r.text),
        }
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
