//! A node dies mid-question: its clients move to another node and miss nothing, the
//! question still closes exactly once, and no accepted answer is lost.

use fred::prelude::*;
use serde_json::json;

use super::harness::{Api, cluster, log_ids, sse, until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_loses_nothing() {
    let Some((cluster, redis)) = cluster().await else {
        return;
    };
    let mut nodes = Vec::new();
    for i in 0..3 {
        nodes.push(cluster.start_node(&format!("node{i}")).await);
    }
    let api = Api::new();
    let (host, _) = api.guest(&nodes[0].url, "Host").await;
    let quiz = api.quiz(&nodes[0].url, &host, 2, 5_000).await;
    let code = api.session(&nodes[0].url, &host, &quiz).await;

    // Find the node that owns the session's clock: that is the one to kill.
    let lease_key = format!("{}:{{{code}}}:lease", cluster.prefix);
    let mut holder = None;
    for _ in 0..100 {
        let h: Option<String> = redis.get(&lease_key).await.unwrap();
        if h.is_some() {
            holder = h;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let holder = holder.expect("some node takes the lease");
    let victim = nodes.iter().position(|n| n.id == holder).unwrap();
    let survivor = &nodes[(victim + 1) % 3].url.clone();

    // Players listen on the victim and answer through a survivor; a watcher stays put.
    let mut players = Vec::new();
    for p in 0..4 {
        let (token, _) = api.guest(survivor, &format!("P{p}")).await;
        let (s, _) = api
            .call(
                "POST",
                &format!("{survivor}/api/v1/sessions/{code}/join"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(s, 200);
        let mut stream = sse(&api, &nodes[victim].url, &token, &code, None).await;
        until(&mut stream, "session_state").await;
        players.push((token, stream));
    }
    let (watcher, _) = api.guest(survivor, "Watcher").await;
    let mut watch = sse(&api, survivor, &watcher, &code, None).await;
    until(&mut watch, "session_state").await;

    let (s, state) = api
        .call(
            "POST",
            &format!("{survivor}/api/v1/sessions/{code}/start"),
            Some(&host),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let question_id = state["question"]["question_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut last_ids = Vec::new();
    for (_, stream) in players.iter_mut() {
        let seen = until(stream, "question_opened").await;
        last_ids.push(log_ids(&seen).last().cloned().unwrap());
    }
    // Three of four answer, so the question must close by its timer.
    let mut awarded = 0;
    for (token, _) in players.iter().take(3) {
        let (s, v) = api
            .call(
                "POST",
                &format!("{survivor}/api/v1/sessions/{code}/answers"),
                Some(token),
                Some(json!({"question_id": question_id, "choice": 0, "nonce": "x"})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        awarded += v["awarded_points"].as_u64().unwrap();
    }

    nodes[victim].child.start_kill().unwrap();
    nodes[victim].child.wait().await.unwrap();

    // Every client of the dead node resumes on a survivor from its last id.
    for ((token, _), last) in players.iter().zip(&last_ids) {
        let mut stream = sse(&api, survivor, token, &code, Some(last)).await;
        let seen = until(&mut stream, "question_closed").await;
        assert!(
            seen.iter().all(|e| e.event != "session_state"),
            "a resume is not a fresh start"
        );
        let closed: Vec<_> = seen
            .iter()
            .filter(|e| e.event == "question_closed")
            .collect();
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].data["answered"], 3, "no accepted answer was lost");
        assert_eq!(closed[0].data["answer_counts"], json!([3, 0, 0]));
    }
    // The clock moved to a live node and closed the question exactly once.
    let seen = until(&mut watch, "question_closed").await;
    assert_eq!(
        seen.iter().filter(|e| e.event == "question_closed").count(),
        1
    );
    let (s, _) = api
        .call(
            "POST",
            &format!("{survivor}/api/v1/sessions/{code}/end"),
            Some(&host),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let seen = until(&mut watch, "session_finished").await;
    assert!(
        seen.iter().all(|e| e.event != "question_closed"),
        "closed twice"
    );
    let (_, board) = api
        .call(
            "GET",
            &format!("{survivor}/api/v1/sessions/{code}/leaderboard?limit=100"),
            Some(&host),
            None,
        )
        .await;
    let total: u64 = board["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["score"].as_u64().unwrap())
        .sum();
    assert_eq!(total, awarded);
}

/// Users connected only to a node that dies drop out of `online` everywhere, in time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_users_go_offline() {
    let Some((cluster, _redis)) = cluster().await else {
        return;
    };
    let a = cluster.start_node("alive").await;
    let mut b = cluster.start_node("doomed").await;
    let api = Api::new();
    let (host, _) = api.guest(&a.url, "Host").await;
    let quiz = api.quiz(&a.url, &host, 1, 60_000).await;
    let code = api.session(&a.url, &host, &quiz).await;
    let (player, _) = api.guest(&a.url, "Ana").await;
    api.call(
        "POST",
        &format!("{}/api/v1/sessions/{code}/join", a.url),
        Some(&player),
        None,
    )
    .await;
    let mut watch = sse(&api, &a.url, &host, &code, None).await;
    let _on_b = sse(&api, &b.url, &player, &code, None).await;
    let seen = until_presence(&mut watch, 1).await;
    assert!(seen, "the player on node b shows as online on node a");
    b.child.start_kill().unwrap();
    b.child.wait().await.unwrap();
    let killed = std::time::Instant::now();
    assert!(until_presence(&mut watch, 0).await, "online never fell");
    let took = killed.elapsed();
    assert!(
        took < std::time::Duration::from_secs(30),
        "online fell after {took:?}"
    );
}

/// Reads until a `presence` event with `online == n` (within 40 s).
async fn until_presence(
    stream: &mut (impl futures::Stream<Item = super::harness::Event> + Unpin),
    n: u64,
) -> bool {
    use futures::StreamExt;
    tokio::time::timeout(std::time::Duration::from_secs(40), async {
        while let Some(e) = stream.next().await {
            if e.event == "presence" && e.data["online"] == n {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false)
}
