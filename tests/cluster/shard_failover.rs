//! A Redis Cluster primary dies (SIGKILL) mid-question while players answer on every
//! node: its replica takes over, every acknowledged answer is kept, the question closes
//! once, every subscriber gets the whole log in order (some resuming with
//! `Last-Event-ID` during the failover), and `/readyz` is green again on every node.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::{Mutex, watch};

use super::harness::{Api, Cut, on_redis_cluster};
use super::shards::{Subscriber, subscribed, wait_status};

const PLAYERS: usize = 12;
/// Answers acknowledged before the primary is killed.
const BEFORE_KILL: usize = 4;
/// How long a player keeps retrying an answer the server could not take.
const ANSWER_FOR: Duration = Duration::from_secs(40);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_primary_loses_no_acknowledged_answer() {
    tokio::time::timeout(Duration::from_secs(240), scenario())
        .await
        .expect("the shard failover scenario finished within 240 s");
}

async fn scenario() {
    let Some((cluster, mut redis)) = on_redis_cluster().await else {
        return;
    };
    let mut nodes = Vec::new();
    for i in 0..3 {
        nodes.push(cluster.start_node(&format!("node{i}")).await);
    }
    let url = |i: usize| nodes[i % 3].url.clone();
    let api = Api::new();
    let (host, _) = api.guest(&url(0), "Host").await;
    // Long enough that the question is still open after the failover: it closes when
    // every player has answered.
    let quiz = api.quiz(&url(0), &host, 1, 60_000).await;
    let code = api.session(&url(0), &host, &quiz).await;
    let victim = redis.primary_of(&format!("{{{code}}}")).await;

    let mut players = Vec::new();
    for p in 0..PLAYERS {
        let (token, _) = api.guest(&url(p), &format!("P{p}")).await;
        let (s, v) = api
            .call(
                "POST",
                &format!("{}/api/v1/sessions/{code}/join", url(p)),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(s, 200, "join: {v}");
        players.push(token);
    }
    // Every player listens on its node; every other one loses its stream right after the
    // kill and comes back with its last id once the question has closed, so the close
    // (written on the promoted replica) reaches it only by replay.
    let (cut_tx, cut_rx) = watch::channel(Cut::Keep);
    let subscribers: Vec<Subscriber> = players
        .iter()
        .enumerate()
        .map(|(p, t)| (url(p), t.clone(), (p % 2 == 0).then(|| cut_rx.clone())))
        .collect();
    let followers = subscribed(&api, &code, subscribers).await;

    let (s, state) = api
        .call(
            "POST",
            &format!("{}/api/v1/sessions/{code}/start", url(1)),
            Some(&host),
            None,
        )
        .await;
    assert_eq!(s, 200, "start: {state}");
    let question_id = state["question"]["question_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Players answer one after another through their own node, retrying what fails.
    let acked: Arc<Mutex<BTreeMap<usize, (u64, Instant)>>> = Arc::default();
    let (count_tx, mut count_rx) = watch::channel(0usize);
    let mut answering = Vec::new();
    for (p, token) in players.iter().enumerate() {
        let (api, node, token, code) = (api.clone(), url(p), token.clone(), code.clone());
        let body = json!({"question_id": question_id, "choice": 0, "nonce": format!("n{p}")});
        let acked = acked.clone();
        let count_tx = count_tx.clone();
        answering.push(tokio::spawn(async move {
            // Spread over about three seconds, so answers arrive before, during and
            // after the failover.
            tokio::time::sleep(Duration::from_millis(250 * p as u64)).await;
            let started = Instant::now();
            let mut refused = 0;
            while started.elapsed() < ANSWER_FOR {
                let sent = api
                    .http
                    .post(format!("{node}/api/v1/sessions/{code}/answers"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await;
                if let Ok(r) = sent {
                    let status = r.status().as_u16();
                    let v: serde_json::Value = r.json().await.unwrap_or_default();
                    if status == 200 {
                        let points = v["awarded_points"].as_u64().unwrap();
                        let mut a = acked.lock().await;
                        a.insert(p, (points, Instant::now()));
                        count_tx.send_replace(a.len());
                        return refused;
                    }
                    assert!(status >= 500 || status == 429, "player {p}: {status} {v}");
                }
                refused += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("player {p}: no answer accepted within {ANSWER_FOR:?}");
        }));
    }
    count_rx.wait_for(|n| *n >= BEFORE_KILL).await.unwrap();
    redis.kill(victim);
    let killed = Instant::now();
    cut_tx.send_replace(Cut::Drop);
    println!("killed primary {victim} after {BEFORE_KILL} answers");

    // /readyz on every node, until all three are green in one round.
    let mut was_red = false;
    let green = loop {
        let mut all = true;
        for n in &nodes {
            let (s, _) = api
                .call("GET", &format!("{}/readyz", n.url), None, None)
                .await;
            all &= s == 200;
        }
        was_red |= !all;
        if all && (was_red || killed.elapsed() > Duration::from_secs(10)) {
            break killed.elapsed();
        }
        assert!(
            killed.elapsed() < Duration::from_secs(20),
            "/readyz not green within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    redis.wait_ok().await;

    let mut refused = 0;
    for a in answering {
        refused += a.await.expect("a player finished");
    }
    let acked = acked.lock().await.clone();
    assert_eq!(acked.len(), PLAYERS, "every player got an answer in");
    let after_kill = acked.values().filter(|(_, t)| *t > killed).count();
    let first_after = acked
        .values()
        .filter(|(_, t)| *t > killed)
        .map(|(_, t)| t.duration_since(killed))
        .min();

    // Everyone answered: the question closes by itself; then the host ends the game.
    wait_status(&api, &url(2), &host, &code, "reveal").await;
    cut_tx.send_replace(Cut::Resume);
    let (s, v) = api
        .call(
            "POST",
            &format!("{}/api/v1/sessions/{code}/end", url(0)),
            Some(&host),
            None,
        )
        .await;
    assert_eq!(s, 200, "end: {v}");

    let mut logs = Vec::new();
    let (mut resumes, mut replayed) = (0, 0);
    for f in followers {
        let seen = f.await.expect("a follower");
        assert_eq!(
            seen.restarts, 0,
            "a resume started afresh instead of replaying"
        );
        let names: Vec<&str> = seen.log.iter().map(|(_, e)| e.as_str()).collect();
        assert_eq!(
            names,
            ["question_opened", "question_closed", "session_finished"]
        );
        let closed = &seen.payloads[1];
        assert_eq!(
            closed["answered"], PLAYERS,
            "every acknowledged answer is counted"
        );
        assert_eq!(closed["answer_counts"][0], PLAYERS);
        resumes += seen.resumes;
        replayed += seen.replayed;
        logs.push(seen.log);
    }
    assert!(
        logs.iter().all(|l| *l == logs[0]),
        "log ids differ: {logs:?}"
    );
    assert!(resumes >= PLAYERS / 2, "the cut streams resumed");
    assert!(
        replayed >= PLAYERS / 2,
        "each cut stream got the close by replay"
    );

    let awarded: u64 = acked.values().map(|(p, _)| p).sum();
    let (s, board) = api
        .call(
            "GET",
            &format!("{}/api/v1/sessions/{code}/leaderboard?limit=100", url(1)),
            Some(&host),
            None,
        )
        .await;
    assert_eq!(s, 200, "{board}");
    let total: u64 = board["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["score"].as_u64().unwrap())
        .sum();
    assert_eq!(
        total, awarded,
        "the board holds every acknowledged answer's points"
    );
    let mut kept = None;
    for _ in 0..200 {
        let (s, v) = api
            .call(
                "GET",
                &format!("{}/api/v1/sessions/{code}/results", url(2)),
                Some(&host),
                None,
            )
            .await;
        if s == 200 {
            kept = Some(v["answers"].as_array().unwrap().len());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let kept = kept.expect("results reached the database");
    assert_eq!(kept, acked.len(), "results hold every acknowledged answer");
    println!(
        "shard failover: /readyz green on all nodes {:.1} s after the kill (red seen: {was_red}); \
         answers acknowledged {} ({after_kill} after the kill, first {:.1} s after it, \
         {refused} refusals retried), kept {kept}; streams resumed {resumes}, \
         log events replayed on resume {replayed}",
        green.as_secs_f64(),
        acked.len(),
        first_after.map_or(0.0, |d| d.as_secs_f64()),
    );
}
