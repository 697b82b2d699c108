//! Abuse cases: limits. With two nodes on one Redis a user still gets 5 streams in all
//! and a burst of 10 answers in all, an address 20 guest logins in all; unknown session
//! codes are limited per user; a reader that stops reading is cut and its slot freed.

mod slow_reader;

use std::time::Duration;

use futures::future::join_all;
use quizcast::config::Config;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// Two servers sharing one Redis prefix and one PostgreSQL schema, like two nodes behind
/// a load balancer; `None` (after saying so) without those services.
async fn two_nodes(tweak: impl Fn(&mut Config)) -> Option<(TestApp, TestApp)> {
    let database_url = crate::services::fresh_postgres().await?;
    let (_, prefix) = crate::services::fresh_redis().await?;
    let redis_url = std::env::var("TEST_REDIS_URL")
        .unwrap_or_else(|_| crate::services::DEFAULT_REDIS.to_owned());
    let node = |c: &mut Config| {
        c.database_url = database_url.clone();
        c.redis_url = Some(redis_url.clone());
        c.redis_prefix = prefix.clone();
        tweak(c);
    };
    let a = spawn_app_with(node).await;
    let b = spawn_app_with(node).await;
    Some((a, b))
}

/// Reads a response that is not a stream (a refused one) in full.
async fn read_reply(resp: reqwest::Response) -> Reply {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = within("an error body", resp.text())
        .await
        .unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or_default();
    Reply {
        status,
        headers,
        text,
        json,
    }
}

fn assert_limited(r: &Reply, what: &str) {
    r.expect_problem(429, what);
    let retry = r.header("retry-after");
    assert!(
        retry.parse::<u64>().is_ok_and(|s| (1..=60).contains(&s)),
        "{what}: Retry-After in seconds, got {retry:?}"
    );
}

/// An unknown code in the contract's alphabet (`n` < 30^6).
fn unknown_code(n: u32) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut n = n;
    (0..6)
        .map(|_| {
            let c = ALPHABET[(n % 30) as usize] as char;
            n /= 30;
            c
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_streams_per_user_over_two_nodes_not_ten() {
    let Some((a, b)) = two_nodes(|_| {}).await else {
        return;
    };
    let g = setup_game(&a, 1, 1, 20_000).await;
    let token = &g.players[0].token;
    let mut streams = Vec::new();
    for node in [&a, &a, &a, &b, &b] {
        let mut s = node.sse(token, &g.code, None).await;
        assert_eq!(s.next().await.event, "session_state");
        streams.push(s);
    }
    for (node, name) in [(&a, "a"), (&b, "b")] {
        let sixth = read_reply(node.sse_response(token, &g.code, None).await).await;
        assert_limited(&sixth, &format!("a sixth stream on node {name}"));
    }
    let poll = b.poll(token, &g.code, None, 0).await;
    assert_limited(&poll, "a poll while 5 streams are open");
    a.sse(&g.host.token, &g.code, None).await;

    // Closing a stream on one node frees a slot on the other.
    drop(streams.remove(0));
    let reopened = within("a freed slot on the other node", async {
        loop {
            let resp = b.sse_response(token, &g.code, None).await;
            if resp.status() == StatusCode::OK {
                break resp;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert_eq!(Sse::new(reopened).next().await.event, "session_state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_ten_answers_over_two_nodes_not_twenty() {
    let Some((a, b)) = two_nodes(|_| {}).await else {
        return;
    };
    let g = setup_game(&a, 1, 1, 20_000).await;
    let st = a.host(&g.host.token, &g.code, "start").await;
    let q = st.expect(200, "start")["question"]["question_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = &g.players[0].token;
    let nonces: Vec<String> = (0..20).map(|i| format!("burst-{i}")).collect();
    let replies = join_all(nonces.iter().enumerate().map(|(i, nonce)| {
        let node = if i % 2 == 0 { &a } else { &b };
        node.answer(token, &g.code, &q, correct(0), Some(nonce))
    }))
    .await;
    let limited: Vec<&Reply> = replies.iter().filter(|r| r.status == 429).collect();
    let admitted = replies.len() - limited.len();
    // 10 at once, and one more per 200 ms while the burst is being sent.
    assert!(
        (10..=11).contains(&admitted),
        "admitted {admitted} of 20 answers split over two nodes (burst 10 in all)"
    );
    for r in limited {
        assert_limited(r, "an answer over the burst");
    }
    let accepted = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(accepted, 1, "the first answer counts, the others are 409");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_logins_and_code_lookups_are_limited_over_two_nodes() {
    let Some((a, b)) = two_nodes(|c| {
        c.guest_logins_per_minute = 3;
        c.code_lookups_per_minute = 4;
    })
    .await
    else {
        return;
    };
    let eve = a.guest("Eve").await;
    b.guest("Eve 2").await;
    a.guest("Eve 3").await;
    for (node, name) in [(&b, "b"), (&a, "a")] {
        let r = node
            .post(
                "/api/v1/auth/guest",
                None,
                json!({ "display_name": "One more" }),
            )
            .await;
        assert_limited(
            &r,
            &format!("a fourth login from one address, on node {name}"),
        );
    }

    for (i, node) in [&a, &b, &a, &b].into_iter().enumerate() {
        let path = format!("/api/v1/sessions/{}", unknown_code(i as u32));
        node.get(&path, Some(&eve.token))
            .await
            .expect_problem(404, "an unknown code within the limit");
    }
    let path = format!("/api/v1/sessions/{}", unknown_code(99));
    assert_limited(
        &a.get(&path, Some(&eve.token)).await,
        "a fifth unknown code over two nodes",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_31st_unknown_code_in_a_minute_is_refused() {
    let app = spawn_app().await;
    let g = setup_game(&app, 1, 1, 20_000).await;
    let eve = app.guest("Eve").await;
    let routes = ["", "/join", "/leaderboard", "/events/poll?timeout_ms=0"];
    for i in 0..30 {
        let code = unknown_code(i);
        let route = routes[i as usize % routes.len()];
        let path = format!("/api/v1/sessions/{code}{route}");
        let r = if route == "/join" {
            app.post(&path, Some(&eve.token), json!({})).await
        } else {
            app.get(&path, Some(&eve.token)).await
        };
        r.expect_problem(404, &format!("unknown code {i} via {route:?}"));
    }
    let r = app
        .get(
            &format!("/api/v1/sessions/{}", unknown_code(30)),
            Some(&eve.token),
        )
        .await;
    assert_limited(&r, "the 31st unknown code");
    // Meanwhile a real code gets the same answer: a refusal tells nothing.
    let real = app
        .get(&format!("/api/v1/sessions/{}", g.code), Some(&eve.token))
        .await;
    assert_limited(&real, "a real code while refused");
    // Others are not affected.
    let ana = &g.players[0];
    app.get(
        &format!("/api/v1/sessions/{}", unknown_code(31)),
        Some(&ana.token),
    )
    .await
    .expect_problem(404, "another user's unknown code");
    app.state(&ana.token, &g.code).await;
}
