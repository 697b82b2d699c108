//! `spawn_app()`: a real server on port 0 with a fresh SQLite file, and a client that talks
//! to it like any other: plain HTTP, Server-Sent Events and long-poll. Every wait is bounded.

mod binary;
mod game;
mod sse;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

pub use binary::*;
pub use game::*;
use quizcast::config::Config;
use quizcast::startup::Application;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

pub use sse::*;

/// The longest any single wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(10);
/// Choices per question of the quizzes built by `quiz_body`.
pub const CHOICES: usize = 4;

pub struct TestApp {
    pub addr: SocketAddr,
    pub base_url: String,
    pub client: reqwest::Client,
    pub _dir: TempDir,
}

#[derive(Debug, Clone)]
pub struct Guest {
    pub token: String,
    pub user_id: String,
    pub name: String,
}

/// A reply read in full: status, headers, text and (if it parses) JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts the status and returns the JSON body.
    pub fn expect(&self, status: u16, what: &str) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{what}: expected {status}, got {} with body {}",
            self.status,
            self.text
        );
        &self.json
    }

    /// Asserts an `application/problem+json` error with this status.
    pub fn expect_problem(&self, status: u16, what: &str) -> &Value {
        self.expect_problem_in(&[status], what)
    }

    /// Asserts a problem+json error whose status is one of `statuses`.
    pub fn expect_problem_in(&self, statuses: &[u16], what: &str) -> &Value {
        let got = self.status.as_u16();
        assert!(
            statuses.contains(&got),
            "{what}: expected one of {statuses:?}, got {got} with body {}",
            self.text
        );
        assert!(
            self.header("content-type")
                .starts_with("application/problem+json"),
            "{what}: error Content-Type should be application/problem+json, got {:?} (body {})",
            self.header("content-type"),
            self.text
        );
        let p = &self.json;
        assert!(p["type"].is_string(), "{what}: problem lacks `type`: {p}");
        assert!(p["title"].is_string(), "{what}: problem lacks `title`: {p}");
        assert!(
            p["detail"].is_string(),
            "{what}: problem lacks `detail`: {p}"
        );
        assert_eq!(p["status"], json!(got), "{what}: problem `status` member");
        p
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The same server with shared live state: Redis (fresh key prefix) and PostgreSQL (fresh
/// schema). `None` after printing `skipped: …` when they are not reachable (fails in CI).
pub async fn spawn_shared_app() -> Option<TestApp> {
    spawn_shared_app_with(|_| {}).await
}

/// `spawn_shared_app` with a configuration tweak.
pub async fn spawn_shared_app_with(tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let database_url = crate::services::fresh_postgres().await?;
    let (_, prefix) = crate::services::fresh_redis().await?;
    let redis_url = std::env::var("TEST_REDIS_URL")
        .unwrap_or_else(|_| crate::services::DEFAULT_REDIS.to_owned());
    Some(
        spawn_app_with(|c| {
            c.database_url = database_url;
            c.redis_url = Some(redis_url);
            c.redis_prefix = prefix;
            tweak(c);
        })
        .await,
    )
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut config = Config::for_sqlite_file(&dir.path().join("quizcast.db"));
    tweak(&mut config);
    let app = Application::build(config).await.expect("build the app");
    let addr = app.addr();
    tokio::spawn(async move {
        if let Err(e) = app.run_until_stopped().await {
            panic!("the server stopped with an error: {e:#}");
        }
    });
    TestApp {
        addr,
        base_url: format!("http://{addr}"),
        client: client(),
        _dir: dir,
    }
}

/// A client without a cookie store (a test decides which credentials it sends).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client")
}

/// Runs `fut`, failing with `what` when it takes longer than `WAIT`.
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out after {WAIT:?} waiting for {what}"))
}

/// Sends a request (bounded by `WAIT`) and reads the whole reply.
pub async fn send(req: RequestBuilder, what: &str) -> Reply {
    let resp = req
        .timeout(WAIT)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{what}: request failed: {e}"));
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("{what}: reading the body failed: {e}"));
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        text,
        json,
    }
}

/// A quiz of `n` questions; question `i` has choices `w{i}-0..3`, correct `correct(i)`.
pub fn quiz_body(title: &str, n: usize, time_limit_ms: u32) -> Value {
    let questions: Vec<Value> = (0..n)
        .map(|i| {
            let choices: Vec<String> = (0..CHOICES).map(|c| format!("w{i}-{c}")).collect();
            json!({ "prompt": format!("word {i}"), "choices": choices,
                    "correct_choice": correct(i), "time_limit_ms": time_limit_ms })
        })
        .collect();
    json!({ "title": title, "questions": questions })
}

/// The correct choice of question `index` in a `quiz_body` quiz.
pub fn correct(index: usize) -> u64 {
    ((index + 1) % CHOICES) as u64
}

/// Where choice `quiz_choice` of a `quiz_body` question (as authored) sits in the order the
/// session dealt; `question` is what the session shows (`question_opened` or `question`).
pub fn dealt(question: &Value, quiz_choice: u64) -> u64 {
    let word = format!("w{}-{quiz_choice}", question["index"]);
    question["choices"]
        .as_array()
        .and_then(|c| c.iter().position(|w| *w == json!(word)))
        .map_or(quiz_choice, |p| p as u64)
}

/// A wrong choice of question `index` in a `quiz_body` quiz.
pub fn wrong(index: usize) -> u64 {
    (correct(index) + 1) % CHOICES as u64
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let req = self.client.request(method, self.url(path));
        match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        send(
            self.request(Method::GET, path, token),
            &format!("GET {path}"),
        )
        .await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        let req = self.request(Method::POST, path, token).json(&body);
        send(req, &format!("POST {path}")).await
    }

    /// POST with a raw body and content type.
    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let req = self
            .request(Method::POST, path, token)
            .header(CONTENT_TYPE, content_type)
            .body(body);
        send(req, &format!("POST {path}")).await
    }

    pub async fn guest(&self, name: &str) -> Guest {
        let r = self
            .post("/api/v1/auth/guest", None, json!({ "display_name": name }))
            .await;
        let v = r.expect(201, "guest login");
        Guest {
            token: v["token"].as_str().expect("token").to_owned(),
            user_id: v["user_id"].as_str().expect("user_id").to_owned(),
            name: v["display_name"].as_str().expect("display_name").to_owned(),
        }
    }

    /// A quiz of `n` questions with a 20 s time limit; returns its id.
    pub async fn create_quiz(&self, token: &str, n: usize) -> String {
        self.create_quiz_limit(token, n, 20_000).await
    }

    pub async fn create_quiz_limit(&self, token: &str, n: usize, time_limit_ms: u32) -> String {
        let body = quiz_body("Test words", n, time_limit_ms);
        let r = self.post("/api/v1/quizzes", Some(token), body).await;
        let v = r.expect(201, "create quiz");
        assert_eq!(v["question_count"], json!(n), "question_count: {v}");
        v["quiz_id"].as_str().expect("quiz_id").to_owned()
    }

    /// A session of `quiz_id` (no auto-advance); returns its code.
    pub async fn create_session(&self, token: &str, quiz_id: &str) -> String {
        let r = self
            .create_session_with(token, json!({ "quiz_id": quiz_id, "auto_advance": false }))
            .await;
        let v = r.expect(201, "create session");
        v["session_id"].as_str().expect("session_id").to_owned()
    }

    pub async fn create_session_with(&self, token: &str, body: Value) -> Reply {
        self.post("/api/v1/sessions", Some(token), body).await
    }

    /// Joins and returns the `session_state` reply.
    pub async fn join(&self, token: &str, code: &str) -> Value {
        let path = format!("/api/v1/sessions/{code}/join");
        let r = self.post(&path, Some(token), json!({})).await;
        r.expect(200, "join").clone()
    }

    pub async fn answer(
        &self,
        token: &str,
        code: &str,
        question_id: &str,
        choice: u64,
        nonce: Option<&str>,
    ) -> Reply {
        let choice = self.dealt_choice(token, code, question_id, choice).await;
        let mut body = json!({ "question_id": question_id, "choice": choice });
        if let Some(n) = nonce {
            body["nonce"] = json!(n);
        }
        let path = format!("/api/v1/sessions/{code}/answers");
        self.post(&path, Some(token), body).await
    }

    /// `choice` counts in the quiz as authored (word `w{i}-{choice}`). Each session deals
    /// its own order, so, like a player, this reads the choices shown and picks that word.
    /// A question that is not the one shown keeps the number as given.
    async fn dealt_choice(&self, token: &str, code: &str, question_id: &str, choice: u64) -> u64 {
        let r = self
            .get(&format!("/api/v1/sessions/{code}"), Some(token))
            .await;
        match r.json.get("question") {
            Some(q) if q["question_id"] == json!(question_id) => dealt(q, choice),
            _ => choice,
        }
    }

    /// A host command: `start`, `next` or `end`.
    pub async fn host(&self, token: &str, code: &str, cmd: &str) -> Reply {
        let path = format!("/api/v1/sessions/{code}/{cmd}");
        self.post(&path, Some(token), json!({})).await
    }

    /// `GET /sessions/{code}` (asserting 200).
    pub async fn state(&self, token: &str, code: &str) -> Value {
        let r = self
            .get(&format!("/api/v1/sessions/{code}"), Some(token))
            .await;
        r.expect(200, "GET session").clone()
    }

    pub async fn leaderboard(&self, token: &str, code: &str, limit: u32, offset: u32) -> Value {
        let path = format!("/api/v1/sessions/{code}/leaderboard?limit={limit}&offset={offset}");
        self.get(&path, Some(token))
            .await
            .expect(200, "leaderboard")
            .clone()
    }

    /// One long-poll request.
    pub async fn poll(
        &self,
        token: &str,
        code: &str,
        after: Option<&str>,
        timeout_ms: u64,
    ) -> Reply {
        let mut path = format!("/api/v1/sessions/{code}/events/poll?timeout_ms={timeout_ms}");
        if let Some(a) = after {
            path.push_str("&after=");
            path.push_str(a);
        }
        self.get(&path, Some(token)).await
    }

    /// Opens an event stream, asserting a `200 text/event-stream` answer.
    pub async fn sse(&self, token: &str, code: &str, last_event_id: Option<&str>) -> Sse {
        let resp = self.sse_response(token, code, last_event_id).await;
        assert_eq!(resp.status(), StatusCode::OK, "opening the event stream");
        Sse::new(resp)
    }

    /// Opens an event stream and returns the raw response, whatever its status.
    pub async fn sse_response(
        &self,
        token: &str,
        code: &str,
        last_event_id: Option<&str>,
    ) -> reqwest::Response {
        let path = format!("/api/v1/sessions/{code}/events");
        let mut req = self
            .request(Method::GET, &path, Some(token))
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        within("the event stream's headers", req.send())
            .await
            .expect("open the event stream")
    }
}
