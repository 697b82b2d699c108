//! Measures how long an answer posted to node A takes to show in a `leaderboard` event on a
//! stream held by node B, and, for comparison, by node A itself.
//!
//! ```sh
//! cargo run --release --example cross_node_latency -- http://127.0.0.1:8081 http://127.0.0.1:8082
//! ```
//! Answers are spaced wider than the 200 ms coalescing window, so each is measured on its
//! own. Sessions have 10 players, so every answer enters the top 10 and is visible.

use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};

const PLAYERS: usize = 10;
const SESSIONS: usize = 4;

async fn post(http: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut req = http.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

async fn guest(http: &reqwest::Client, node: &str, name: &str) -> String {
    let v = post(
        http,
        format!("{node}/api/v1/auth/guest"),
        None,
        json!({"display_name": name}),
    )
    .await;
    v["token"].as_str().expect("token").to_owned()
}

/// One session of 10 players answering through `a`, watched from `watch`.
async fn measure(
    http: &reqwest::Client,
    a: &str,
    watch: &str,
    host: &str,
    quiz: &Value,
) -> Vec<f64> {
    let session = post(
        http,
        format!("{a}/api/v1/sessions"),
        Some(host),
        json!({"quiz_id": quiz}),
    )
    .await;
    let code = session["session_id"].as_str().expect("code").to_owned();
    let mut players = Vec::new();
    for i in 0..PLAYERS {
        let t = guest(http, a, &format!("P{i}")).await;
        post(
            http,
            format!("{a}/api/v1/sessions/{code}/join"),
            Some(&t),
            json!({}),
        )
        .await;
        players.push(t);
    }
    let watcher = guest(http, watch, "Watcher").await;
    let resp = http
        .get(format!("{watch}/api/v1/sessions/{code}/events"))
        .bearer_auth(&watcher)
        .send()
        .await
        .expect("stream");
    let mut events = resp.bytes_stream().eventsource();
    let started = post(
        http,
        format!("{a}/api/v1/sessions/{code}/start"),
        Some(host),
        json!({}),
    )
    .await;
    let question_id = started["question"]["question_id"]
        .as_str()
        .expect("question")
        .to_owned();
    let mut samples = Vec::new();
    for (k, token) in players.iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let sent = Instant::now();
        post(
            http,
            format!("{a}/api/v1/sessions/{code}/answers"),
            Some(token),
            json!({"question_id": question_id, "choice": 0}),
        )
        .await;
        let answered = sent.elapsed().as_secs_f64() * 1000.0;
        if std::env::var("VERBOSE").is_ok() {
            eprint!("post {answered:.1} ms; ");
        }
        loop {
            let e = tokio::time::timeout(Duration::from_secs(5), events.next())
                .await
                .expect("a leaderboard within 5 s")
                .expect("stream open")
                .expect("event");
            if e.event != "leaderboard" {
                continue;
            }
            let data: Value = serde_json::from_str(&e.data).expect("json");
            let scored = data["entries"].as_array().map_or(0, |rows| {
                rows.iter()
                    .filter(|r| r["score"].as_u64() > Some(0))
                    .count()
            });
            if scored == k + 1 {
                if std::env::var("VERBOSE").is_ok() {
                    eprintln!("event {:.1} ms", sent.elapsed().as_secs_f64() * 1000.0);
                }
                samples.push(sent.elapsed().as_secs_f64() * 1000.0);
                break;
            }
        }
    }
    samples
}

fn report(label: &str, mut samples: Vec<f64>) {
    samples.sort_by(f64::total_cmp);
    let at = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{label}: n={} p50={:.1} ms p90={:.1} ms p99={:.1} ms max={:.1} ms",
        samples.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        samples[samples.len() - 1]
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [a, b] = args.as_slice() else {
        eprintln!("usage: cross_node_latency NODE_A_URL NODE_B_URL");
        std::process::exit(2);
    };
    let http = reqwest::Client::new();
    let host = guest(&http, a, "Host").await;
    let quiz = post(&http, format!("{a}/api/v1/quizzes"), Some(&host), json!({"title": "latency",
        "questions": [{"prompt": "w", "choices": ["a", "b"], "correct_choice": 0, "time_limit_ms": 120000}]}))
        .await["quiz_id"]
        .clone();
    let (mut same, mut cross) = (Vec::new(), Vec::new());
    for _ in 0..SESSIONS {
        same.extend(measure(&http, a, a, &host, &quiz).await);
        cross.extend(measure(&http, a, b, &host, &quiz).await);
    }
    report("answer on A -> leaderboard on A", same);
    report("answer on A -> leaderboard on B", cross);
}
