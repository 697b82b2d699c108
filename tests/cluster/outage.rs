//! Redis goes quiet (paused) and then away (restarted): the node answers 503 quickly,
//! says so on /readyz, and recovers by itself, notifications included.

use std::process::Stdio;
use std::time::{Duration, Instant};

use fred::prelude::*;
use serde_json::json;
use tokio::process::{Child, Command};

use super::harness::{Api, Cluster, free_port, sse, until};
use super::services::fresh_postgres;

fn private_redis(port: u16) -> Child {
    Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server is installed")
}

async fn wait_ready(api: &Api, node: &str, want: u16) {
    for _ in 0..300 {
        let (s, _) = api.call("GET", &format!("{node}/readyz"), None, None).await;
        if s == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("/readyz never became {want}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outages_mean_quick_503s_and_recovery() {
    // Every step is bounded, but a stuck step must fail the run, never hang it.
    tokio::time::timeout(Duration::from_secs(150), outage_scenario())
        .await
        .expect("the outage scenario finished within 150 s");
}

/// `CLIENT PAUSE` through redis-cli, whose reply comes at once: fred's `client_pause` here
/// often got no reply within its 5 s command timeout (while `PING` on the same client did).
fn pause_redis(port: u16, ms: u64) {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string(), "CLIENT", "PAUSE", &ms.to_string()])
        .output()
        .expect("run redis-cli");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "OK",
        "CLIENT PAUSE: {out:?}"
    );
}

async fn outage_scenario() {
    let Some(database_url) = fresh_postgres().await else {
        return;
    };
    // Our own redis-server on a free port (retrying if another process took the port).
    let (port, mut redis_server, _probe) = 'start: {
        for _ in 0..5 {
            let port = free_port();
            let mut server = private_redis(port);
            let url = format!("redis://127.0.0.1:{port}");
            let client = Builder::from_config(Config::from_url(&url).unwrap())
                .with_performance_config(|p| p.default_command_timeout = Duration::from_secs(5))
                .build()
                .unwrap();
            for _ in 0..100 {
                if server.try_wait().unwrap().is_some() {
                    break;
                }
                if client.init().await.is_ok() {
                    break 'start (port, server, client);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        panic!("could not start a private redis-server");
    };
    let redis_url = format!("redis://127.0.0.1:{port}");
    let cluster = Cluster {
        redis_url,
        prefix: "outage".into(),
        database_url,
    };
    let node = cluster.start_node("solo").await;
    let api = Api::new();
    let (host, _) = api.guest(&node.url, "Host").await;
    let (player, _) = api.guest(&node.url, "Ana").await;
    let quiz = api.quiz(&node.url, &host, 1, 60_000).await;
    let code = api.session(&node.url, &host, &quiz).await;
    api.call(
        "POST",
        &format!("{}/api/v1/sessions/{code}/join", node.url),
        Some(&player),
        None,
    )
    .await;
    let (_, state) = api
        .call(
            "POST",
            &format!("{}/api/v1/sessions/{code}/start", node.url),
            Some(&host),
            None,
        )
        .await;
    let question_id = state["question"]["question_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = json!({"question_id": question_id, "choice": 0, "nonce": "n"});

    let mut stream = sse(&api, &node.url, &player, &code, None).await;
    until(&mut stream, "session_state").await;

    // Paused: a 503 problem within a few seconds, never a hang or a 500.
    // Long enough for every check below to see Redis silent, whatever the machine load.
    pause_redis(port, 8_000);
    let started = Instant::now();
    let (s, v) = api
        .call(
            "POST",
            &format!("{}/api/v1/sessions/{code}/answers", node.url),
            Some(&player),
            Some(answer.clone()),
        )
        .await;
    assert_eq!(s, 503, "{v}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(v["status"], 503);
    wait_ready(&api, &node.url, 503).await;
    // Open streams end (after the `retry:` advice they got at the start) instead of hanging.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while futures::StreamExt::next(&mut stream).await.is_some() {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the stream stayed open while Redis was unreachable"
    );
    // The pause ends: the same retry is accepted, without restarting the node.
    wait_ready(&api, &node.url, 200).await;
    let (s, v) = api
        .call(
            "POST",
            &format!("{}/api/v1/sessions/{code}/answers", node.url),
            Some(&player),
            Some(answer),
        )
        .await;
    assert_eq!(s, 200, "{v}");

    // Restarted (it keeps nothing): the node reconnects, re-enables notifications, and a
    // new game streams live again.
    redis_server.start_kill().unwrap();
    redis_server.wait().await.unwrap();
    wait_ready(&api, &node.url, 503).await;
    let _redis_server = private_redis(port);
    wait_ready(&api, &node.url, 200).await;
    let mut created = None;
    for _ in 0..100 {
        let (s, v) = api
            .call(
                "POST",
                &format!("{}/api/v1/sessions", node.url),
                Some(&host),
                Some(json!({"quiz_id": quiz})),
            )
            .await;
        if s == 201 {
            created = v["session_id"].as_str().map(str::to_owned);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let code = created.expect("sessions can be created again");
    let after = Builder::from_config(Config::from_url(&cluster.redis_url).unwrap())
        .with_performance_config(|p| p.default_command_timeout = Duration::from_secs(5))
        .build()
        .unwrap();
    after.init().await.unwrap();
    let mut enabled = false;
    for _ in 0..100 {
        let flags: Vec<String> = after.config_get("notify-keyspace-events").await.unwrap();
        if flags.get(1).is_some_and(|f| f.contains('K')) {
            enabled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        enabled,
        "the node re-enables keyspace notifications after a Redis restart"
    );
    let mut stream = sse(&api, &node.url, &player, &code, None).await;
    until(&mut stream, "session_state").await;
    api.call(
        "POST",
        &format!("{}/api/v1/sessions/{code}/join", node.url),
        Some(&player),
        None,
    )
    .await;
    api.call(
        "POST",
        &format!("{}/api/v1/sessions/{code}/start", node.url),
        Some(&host),
        None,
    )
    .await;
    until(&mut stream, "question_opened").await;
}
