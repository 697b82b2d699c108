//! Whole games on a Redis Cluster: three nodes serve sessions that live on different
//! shards, every node hearing every shard.

use std::time::Duration;

use serde_json::{Value, json};

use super::harness::{Api, Node, follow, on_redis_cluster};
use super::redis_cluster::RedisCluster;

const PLAYERS: usize = 9;
const QUESTIONS: usize = 2;

/// Creates sessions of `quiz` until two of them live on different primaries; returns
/// those two codes. A session's keys all carry `{CODE}`, so `{CODE}`'s slot is theirs.
pub async fn sessions_on_two_shards(
    api: &Api,
    node: &str,
    host: &str,
    quiz: &str,
    redis: &RedisCluster,
) -> Vec<(String, u16)> {
    let mut found: Vec<(String, u16)> = Vec::new();
    for _ in 0..15 {
        let code = api.session(node, host, quiz).await;
        let primary = redis.primary_of(&format!("{{{code}}}")).await;
        if found.iter().all(|(_, p)| *p != primary) {
            found.push((code, primary));
            if found.len() == 2 {
                return found;
            }
        }
    }
    panic!("15 sessions, all on one shard: {found:?}");
}

/// One game on `code`: players sign in on one node, join on the next, listen on the
/// third and answer through a node other than the one they listen on. Returns the points
/// the answer replies awarded and the player count.
async fn play(api: &Api, nodes: &[Node], host: &str, code: &str) -> (u64, Vec<Duration>) {
    let url = |i: usize| nodes[i % nodes.len()].url.clone();
    let mut players = Vec::new();
    for p in 0..PLAYERS {
        let (token, _) = api.guest(&url(p), &format!("P{p}")).await;
        let (s, v) = api
            .call(
                "POST",
                &format!("{}/api/v1/sessions/{code}/join", url(p + 1)),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(s, 200, "join: {v}");
        players.push(token);
    }
    // Subscribers on every node, players and a watcher each.
    let mut subscribers: Vec<Subscriber> = players
        .iter()
        .enumerate()
        .map(|(p, token)| (url(p + 2), token.clone(), None))
        .collect();
    for n in 0..nodes.len() {
        let (token, _) = api.guest(&url(n), &format!("W{n}")).await;
        subscribers.push((url(n), token, None));
    }
    let followers = subscribed(api, code, subscribers).await;

    let mut awarded = 0;
    let mut latencies = Vec::new();
    for q in 0..QUESTIONS {
        let verb = if q == 0 { "start" } else { "next" };
        let (s, state) = api
            .call(
                "POST",
                &format!("{}/api/v1/sessions/{code}/{verb}", url(q + 1)),
                Some(host),
                None,
            )
            .await;
        assert_eq!(s, 200, "open question {q}: {state}");
        let question_id = state["question"]["question_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let replies = futures::future::join_all(players.iter().enumerate().map(|(p, token)| {
            let api = api.clone();
            let node = url(p + q);
            let body =
                json!({"question_id": question_id, "choice": p % 2, "nonce": format!("{p}-{q}")});
            let token = token.clone();
            let code = code.to_owned();
            async move {
                let started = std::time::Instant::now();
                let reply = api
                    .call(
                        "POST",
                        &format!("{node}/api/v1/sessions/{code}/answers"),
                        Some(&token),
                        Some(body),
                    )
                    .await;
                (reply, started.elapsed())
            }
        }))
        .await;
        for ((s, v), took) in replies {
            latencies.push(took);
            assert_eq!(s, 200, "answer: {v}");
            awarded += v["awarded_points"].as_u64().unwrap();
        }
        // Everyone answered, so the question closes by itself; wait for that on a node
        // before moving on (the state says so once the close is applied).
        wait_status(api, &url(q + 2), host, code, "reveal").await;
    }
    let (s, v) = api
        .call(
            "POST",
            &format!("{}/api/v1/sessions/{code}/next", url(0)),
            Some(host),
            None,
        )
        .await;
    assert_eq!(s, 200, "finish: {v}");

    let mut logs = Vec::new();
    let mut finals = Vec::new();
    for f in followers {
        let seen = f.await.expect("a follower");
        assert_eq!(seen.restarts, 0, "a resume replayed");
        logs.push(seen.log);
        finals.push(seen.finished);
    }
    let names: Vec<&str> = logs[0].iter().map(|(_, e)| e.as_str()).collect();
    assert_eq!(
        names,
        [
            "question_opened",
            "question_closed",
            "question_opened",
            "question_closed",
            "session_finished"
        ],
    );
    assert!(
        logs.iter().all(|l| *l == logs[0]),
        "log ids differ across subscribers: {logs:?}"
    );
    assert!(
        finals.iter().all(|f| *f == finals[0]),
        "final standings differ"
    );
    (awarded, latencies)
}

/// Where a subscriber listens, its token, and what may cut its stream.
pub type Subscriber = (
    String,
    String,
    Option<tokio::sync::watch::Receiver<super::harness::Cut>>,
);

/// Starts following `code` for each subscriber and returns once every stream is open.
pub async fn subscribed(
    api: &Api,
    code: &str,
    subscribers: Vec<Subscriber>,
) -> Vec<tokio::task::JoinHandle<super::harness::Followed>> {
    let mut followers = Vec::new();
    let mut ready = Vec::new();
    for (node, token, cut) in subscribers {
        let (tx, rx) = tokio::sync::oneshot::channel();
        followers.push(tokio::spawn(follow(
            api.clone(),
            node,
            token,
            code.to_owned(),
            Duration::from_secs(120),
            tx,
            cut,
        )));
        ready.push(rx);
    }
    for r in ready {
        tokio::time::timeout(super::harness::WAIT, r)
            .await
            .expect("a stream opened in time")
            .expect("the follower is running");
    }
    followers
}

pub async fn wait_status(api: &Api, node: &str, token: &str, code: &str, want: &str) -> Value {
    for _ in 0..400 {
        let (s, v) = api
            .call(
                "GET",
                &format!("{node}/api/v1/sessions/{code}"),
                Some(token),
                None,
            )
            .await;
        if s == 200 && v["status"] == want {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("session {code} never reached {want:?} on {node}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_play_on_two_shards() {
    let Some((cluster, redis)) = on_redis_cluster().await else {
        return;
    };
    let mut nodes = Vec::new();
    for i in 0..3 {
        nodes.push(cluster.start_node(&format!("node{i}")).await);
    }
    let api = Api::new();
    let (host, _) = api.guest(&nodes[0].url, "Host").await;
    let quiz = api.quiz(&nodes[0].url, &host, QUESTIONS, 60_000).await;
    let sessions = sessions_on_two_shards(&api, &nodes[1].url, &host, &quiz, &redis).await;
    assert_ne!(sessions[0].1, sessions[1].1);

    let games = futures::future::join_all(
        sessions
            .iter()
            .map(|(code, _)| play(&api, &nodes, &host, code)),
    )
    .await;
    // What waiting for a replica costs, from the nodes' own timings.
    let mut wait = (0.0, 0.0);
    let mut answer = (0.0, 0.0);
    for node in &nodes {
        let text = api
            .http
            .get(format!("{}/metrics", node.url))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .unwrap_or_default();
        let read = |op: &str, part: &str| -> f64 {
            let name = format!("quizcast_redis_command_seconds_{part}{{op=\"{op}\"}}");
            text.lines()
                .find_map(|l| l.strip_prefix(name.as_str()))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0.0)
        };
        wait.0 += read("wait", "sum");
        wait.1 += read("wait", "count");
        answer.0 += read("answer", "sum");
        answer.1 += read("answer", "count");
    }
    println!(
        "replica acknowledgement: {} WAITs, mean {:.2} ms; answer script: {} calls, mean {:.2} ms",
        wait.1,
        1000.0 * wait.0 / wait.1.max(1.0),
        answer.1,
        1000.0 * answer.0 / answer.1.max(1.0),
    );
    let mut latencies: Vec<Duration> = games.iter().flat_map(|(_, l)| l.clone()).collect();
    latencies.sort();
    println!(
        "answers through the API: {} (9 at once per session), median {:.1} ms, max {:.1} ms",
        latencies.len(),
        latencies[latencies.len() / 2].as_secs_f64() * 1000.0,
        latencies[latencies.len() - 1].as_secs_f64() * 1000.0,
    );
    for ((code, _), (awarded, _)) in sessions.iter().zip(games) {
        for node in &nodes {
            let (s, board) = api
                .call(
                    "GET",
                    &format!("{}/api/v1/sessions/{code}/leaderboard?limit=100", node.url),
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
            assert_eq!(total, awarded, "{code} on {}", node.url);
        }
        let mut stored = false;
        for _ in 0..200 {
            let (s, v) = api
                .call(
                    "GET",
                    &format!("{}/api/v1/sessions/{code}/results", nodes[2].url),
                    Some(&host),
                    None,
                )
                .await;
            if s == 200 {
                assert_eq!(v["answers"].as_array().unwrap().len(), PLAYERS * QUESTIONS);
                stored = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(stored, "results of {code} never reached the database");
    }
}
