//! Three nodes serve one game: players sign in, join, listen and answer on different nodes.

use serde_json::json;

use super::harness::{Api, Event, cluster, log_ids, sse, until};

const PLAYERS: usize = 30;
const QUESTIONS: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_one_game() {
    let Some((cluster, _redis)) = cluster().await else {
        return;
    };
    let mut nodes = Vec::new();
    for i in 0..3 {
        nodes.push(cluster.start_node(&format!("node{i}")).await);
    }
    let url = |i: usize| nodes[i % 3].url.clone();
    let api = Api::new();
    let (host, _) = api.guest(&url(0), "Host").await;
    let quiz = api.quiz(&url(0), &host, QUESTIONS, 60_000).await;
    let code = api.session(&url(0), &host, &quiz).await;

    // Each player signs in on one node, joins on the next, listens on the third.
    let mut players = Vec::new();
    for p in 0..PLAYERS {
        let (token, user) = api.guest(&url(p), &format!("P{p}")).await;
        let (s, v) = api
            .call(
                "POST",
                &format!("{}/api/v1/sessions/{code}/join", url(p + 1)),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(s, 200, "join: {v}");
        let stream = sse(&api, &url(p + 2), &token, &code, None).await;
        players.push((token, user, stream));
    }
    let mut listeners = Vec::new();
    for (token, user, mut stream) in players {
        let first = until(&mut stream, "session_state").await;
        assert_eq!(first[0].event, "session_state");
        listeners.push((token, user, stream));
    }
    let mut watchers = Vec::new();
    for n in 0..3 {
        let (token, _) = api.guest(&url(n), &format!("Watcher{n}")).await;
        watchers.push(sse(&api, &url(n), &token, &code, None).await);
    }

    let mut awarded_total = 0u64;
    for q in 0..QUESTIONS {
        let (s, state) = api
            .call(
                "POST",
                &format!(
                    "{}/api/v1/sessions/{code}/{}",
                    url(q + 1),
                    if q == 0 { "start" } else { "next" }
                ),
                Some(&host),
                None,
            )
            .await;
        assert_eq!(s, 200, "open question {q}: {state}");
        let question_id = state["question"]["question_id"]
            .as_str()
            .unwrap()
            .to_owned();
        // Every player answers through a different node than the one they listen on.
        let answers = futures::future::join_all(listeners.iter().enumerate().map(|(p, (token, _, _))| {
            let api = api.clone();
            let node = url(p + q);
            let code = code.clone();
            let question_id = question_id.clone();
            let token = token.clone();
            async move {
                api.call("POST", &format!("{node}/api/v1/sessions/{code}/answers"), Some(&token),
                         Some(json!({"question_id": question_id, "choice": p % 2, "nonce": format!("{p}-{q}")})))
                    .await
            }
        }))
        .await;
        for (s, v) in &answers {
            assert_eq!(*s, 200, "answer: {v}");
            awarded_total += v["awarded_points"].as_u64().unwrap();
        }
        // Everyone answered: the question closes by itself, once, seen on every node.
        for (_, _, stream) in listeners.iter_mut() {
            let seen = until(stream, "question_closed").await;
            let closed = seen.iter().filter(|e| e.event == "question_closed").count();
            assert_eq!(closed, 1);
        }
        if q + 1 == QUESTIONS {
            let (s, v) = api
                .call(
                    "POST",
                    &format!("{}/api/v1/sessions/{code}/next", url(q + 2)),
                    Some(&host),
                    None,
                )
                .await;
            assert_eq!(s, 200, "finish: {v}");
        }
    }

    // Every subscriber on every node saw the same log, ids and all, and the same result.
    let mut logs = Vec::new();
    let mut finals = Vec::new();
    for (_, _, stream) in listeners.iter_mut() {
        let seen = until(stream, "session_finished").await;
        finals.push(seen.last().unwrap().data.clone());
    }
    for stream in watchers.iter_mut() {
        let seen: Vec<Event> = until(stream, "session_finished").await;
        assert!(
            !seen
                .iter()
                .any(|e| e.event == "question_opened" && e.data.get("correct_choice").is_some())
        );
        logs.push(log_ids(&seen));
        finals.push(seen.last().unwrap().data.clone());
    }
    assert_eq!(
        logs[0].len(),
        2 * QUESTIONS + 1,
        "opened + closed per question, then finished: {logs:?}"
    );
    assert!(
        logs.iter().all(|l| *l == logs[0]),
        "log ids differ across nodes: {logs:?}"
    );
    assert!(
        finals.iter().all(|f| *f == finals[0]),
        "final leaderboards differ"
    );

    // The leaderboard adds up, whichever node is asked.
    for n in 0..3 {
        let (s, board) = api
            .call(
                "GET",
                &format!("{}/api/v1/sessions/{code}/leaderboard?limit=100", url(n)),
                Some(&host),
                None,
            )
            .await;
        assert_eq!(s, 200);
        assert_eq!(board["players"], PLAYERS);
        let total: u64 = board["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["score"].as_u64().unwrap())
            .sum();
        assert_eq!(total, awarded_total);
    }
    // Results reach PostgreSQL once the clock's owner stores them.
    let mut stored = false;
    for _ in 0..100 {
        let (s, v) = api
            .call(
                "GET",
                &format!("{}/api/v1/sessions/{code}/results", url(1)),
                Some(&host),
                None,
            )
            .await;
        if s == 200 {
            assert_eq!(v["answers"].as_array().unwrap().len(), PLAYERS * QUESTIONS);
            stored = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(stored, "results never became available");
}
