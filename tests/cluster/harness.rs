//! Starting nodes as child processes and talking to them like any client would.

use std::process::Stdio;
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

pub const WAIT: Duration = Duration::from_secs(20);

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub struct Node {
    pub child: Child,
    pub url: String,
    pub id: String,
}

pub struct Cluster {
    pub redis_url: String,
    pub prefix: String,
    pub database_url: String,
}

impl Cluster {
    pub async fn start_node(&self, id: &str) -> Node {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_quizcast"))
            .arg("--addr")
            .arg(format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", &self.database_url)
            .env("REDIS_URL", &self.redis_url)
            .env("REDIS_PREFIX", &self.prefix)
            .env("NODE_ID", id)
            // No JWT_SECRET: the nodes agree on the key kept in the shared database.
            .env_remove("JWT_SECRET")
            .env("GUEST_LOGINS_PER_MINUTE", "100000")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start a node");
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(r) = http.get(format!("{url}/readyz")).send().await
                && r.status().is_success()
            {
                return Node {
                    child,
                    url,
                    id: id.to_owned(),
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("node {id} did not become ready at {url}");
    }
}

#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
}

impl Api {
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .expect("client"),
        }
    }

    pub async fn call(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method.parse().expect("method"), url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn guest(&self, node: &str, name: &str) -> (String, String) {
        let (s, v) = self
            .call(
                "POST",
                &format!("{node}/api/v1/auth/guest"),
                None,
                Some(json!({"display_name": name})),
            )
            .await;
        assert_eq!(s, 201, "guest login: {v}");
        (
            v["token"].as_str().unwrap().to_owned(),
            v["user_id"].as_str().unwrap().to_owned(),
        )
    }

    /// A quiz of `n` questions whose correct choice is always 0.
    pub async fn quiz(&self, node: &str, token: &str, n: usize, limit_ms: u32) -> String {
        let questions: Vec<Value> = (0..n)
            .map(|i| {
                json!({"prompt": format!("word {i}"), "choices": ["right", "wrong", "other"],
                            "correct_choice": 0, "time_limit_ms": limit_ms})
            })
            .collect();
        let (s, v) = self
            .call(
                "POST",
                &format!("{node}/api/v1/quizzes"),
                Some(token),
                Some(json!({"title": "cluster", "questions": questions})),
            )
            .await;
        assert_eq!(s, 201, "create quiz: {v}");
        v["quiz_id"].as_str().unwrap().to_owned()
    }

    pub async fn session(&self, node: &str, token: &str, quiz: &str) -> String {
        let (s, v) = self
            .call(
                "POST",
                &format!("{node}/api/v1/sessions"),
                Some(token),
                Some(json!({"quiz_id": quiz})),
            )
            .await;
        assert_eq!(s, 201, "create session: {v}");
        v["session_id"].as_str().unwrap().to_owned()
    }
}

/// One SSE event.
#[derive(Debug, Clone)]
pub struct Event {
    pub event: String,
    pub id: Option<String>,
    pub data: Value,
}

pub async fn sse(
    api: &Api,
    node: &str,
    token: &str,
    code: &str,
    last_id: Option<&str>,
) -> impl Stream<Item = Event> + Unpin + use<> {
    let mut req = api
        .http
        .get(format!("{node}/api/v1/sessions/{code}/events"))
        .bearer_auth(token)
        .header("accept", "text/event-stream")
        .timeout(Duration::from_secs(120));
    if let Some(id) = last_id {
        req = req.header("last-event-id", id);
    }
    let resp = req.send().await.expect("open the stream");
    assert_eq!(resp.status(), 200, "SSE status");
    Box::pin(
        resp.bytes_stream()
            .eventsource()
            .filter_map(|e| async move {
                let e = e.ok()?;
                Some(Event {
                    event: e.event,
                    id: (!e.id.is_empty()).then_some(e.id),
                    data: serde_json::from_str(&e.data).unwrap_or(Value::Null),
                })
            }),
    )
}

/// Reads events until one named `name` arrives (bounded by `WAIT`); returns all read.
pub async fn until(stream: &mut (impl Stream<Item = Event> + Unpin), name: &str) -> Vec<Event> {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(WAIT, async {
        while let Some(e) = stream.next().await {
            let done = e.event == name;
            seen.push(e);
            if done {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        matches!(found, Ok(true)),
        "no {name} within {WAIT:?}; saw {:?}",
        seen.iter().map(|e| e.event.as_str()).collect::<Vec<_>>()
    );
    seen
}

/// Ids of log events in order. (eventsource-stream repeats the last id on later events,
/// as browsers do with `lastEventId`, so snapshots are told apart by name.)
pub fn log_ids(events: &[Event]) -> Vec<String> {
    const LOG: [&str; 3] = ["question_opened", "question_closed", "session_finished"];
    events
        .iter()
        .filter(|e| LOG.contains(&e.event.as_str()))
        .filter_map(|e| e.id.clone())
        .collect()
}

/// Services for a cluster test: a fresh PostgreSQL schema, a fresh Redis prefix, and a
/// Redis client for looking inside. `None` (after saying so) without the services.
pub async fn cluster() -> Option<(Cluster, fred::prelude::Client)> {
    let database_url = super::services::fresh_postgres().await?;
    let (client, prefix) = super::services::fresh_redis().await?;
    let redis_url = std::env::var("TEST_REDIS_URL")
        .unwrap_or_else(|_| super::services::DEFAULT_REDIS.to_owned());
    Some((
        Cluster {
            redis_url,
            prefix,
            database_url,
        },
        client,
    ))
}

/// Services on a Redis Cluster of its own (three primaries, three replicas) and a fresh
/// PostgreSQL schema. `None` (after saying so) without `redis-server` or PostgreSQL.
pub async fn on_redis_cluster() -> Option<(Cluster, super::redis_cluster::RedisCluster)> {
    let redis = super::redis_cluster::RedisCluster::start().await?;
    let database_url = super::services::fresh_postgres().await?;
    Some((
        Cluster {
            redis_url: redis.url(),
            prefix: format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            database_url,
        },
        redis,
    ))
}

/// Steps of a simulated network loss (see `follow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    Keep,
    Drop,
    Resume,
}

/// What one subscriber saw of a session, to its end.
#[derive(Debug, Default)]
pub struct Followed {
    /// Log events in the order received: (id, name).
    pub log: Vec<(String, String)>,
    /// Times the stream ended and was resumed with `Last-Event-ID`.
    pub resumes: usize,
    /// Log events that came in a resumed stream's replay (before anything live).
    pub replayed: usize,
    /// Fresh `session_state` snapshots after the first (a resume that could not replay).
    pub restarts: usize,
    /// The data of each log event, beside `log`.
    pub payloads: Vec<Value>,
    pub finished: Value,
}

/// Opens a stream, retrying while the node answers anything but 200 (within `WAIT`).
async fn open(
    api: &Api,
    node: &str,
    token: &str,
    code: &str,
    last_id: Option<&str>,
) -> impl Stream<Item = Event> + Unpin + use<> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let mut req = api
            .http
            .get(format!("{node}/api/v1/sessions/{code}/events"))
            .bearer_auth(token)
            .header("accept", "text/event-stream")
            .timeout(Duration::from_secs(120));
        if let Some(id) = last_id {
            req = req.header("last-event-id", id);
        }
        match req.send().await {
            Ok(resp) if resp.status() == 200 => {
                return Box::pin(
                    resp.bytes_stream()
                        .eventsource()
                        .filter_map(|e| async move {
                            let e = e.ok()?;
                            Some(Event {
                                event: e.event,
                                id: (!e.id.is_empty()).then_some(e.id),
                                data: serde_json::from_str(&e.data).unwrap_or(Value::Null),
                            })
                        }),
                );
            }
            other => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the stream did not open within {WAIT:?}: {:?}",
                    other.map(|r| r.status())
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Follows a session's stream until `session_finished`, resuming with the last log id
/// whenever the stream ends, as `EventSource` does. Bounded by `limit`. `ready` fires at
/// the first event, when the subscription is in place. With `cut`, the stream is dropped
/// once it reads `Cut::Drop` and resumed once it reads `Cut::Resume`, as a client that
/// loses its network for a while.
pub async fn follow(
    api: Api,
    node: String,
    token: String,
    code: String,
    limit: Duration,
    ready: tokio::sync::oneshot::Sender<()>,
    mut cut: Option<tokio::sync::watch::Receiver<Cut>>,
) -> Followed {
    const LOG: [&str; 3] = ["question_opened", "question_closed", "session_finished"];
    let mut out = Followed::default();
    let mut ready = Some(ready);
    let run = async {
        let mut last: Option<String> = None;
        let mut states = 0;
        loop {
            let resumed = last.is_some();
            let mut stream = open(&api, &node, &token, &code, last.as_deref()).await;
            let mut live = false;
            loop {
                let cutting = async {
                    match cut.as_mut() {
                        Some(c) => {
                            let _ = c.wait_for(|v| *v != Cut::Keep).await;
                        }
                        None => std::future::pending().await,
                    }
                };
                let e = tokio::select! {
                    e = stream.next() => e,
                    _ = cutting => {
                        if let Some(mut c) = cut.take() {
                            drop(stream);
                            let _ = c.wait_for(|v| *v == Cut::Resume).await;
                        }
                        break;
                    }
                };
                let Some(e) = e else { break };
                if let Some(r) = ready.take() {
                    let _ = r.send(());
                }
                if e.event == "session_state" {
                    states += 1;
                    if states > 1 {
                        out.restarts += 1;
                    }
                }
                if LOG.contains(&e.event.as_str()) {
                    let id = e.id.clone().unwrap_or_default();
                    if resumed && !live {
                        out.replayed += 1;
                    }
                    out.log.push((id.clone(), e.event.clone()));
                    out.payloads.push(e.data.clone());
                    last = Some(id);
                    if e.event == "session_finished" {
                        out.finished = e.data;
                        return;
                    }
                } else {
                    // A snapshot after the replay: the stream is live.
                    live = true;
                }
            }
            out.resumes += 1;
        }
    };
    if tokio::time::timeout(limit, run).await.is_err() {
        panic!("no session_finished on {node} within {limit:?}: {out:?}");
    }
    out
}
