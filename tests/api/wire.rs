//! HTTP/1.1 on the wire: event streams are written on the socket by the server itself
//! (`Connection: close`, body until the close), and every other request on the same
//! connection, before or pipelined, is served as before. Raw sockets, so what is checked
//! is exactly what a client receives.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// A client socket that reads replies one by one.
struct Wire {
    tcp: TcpStream,
    buf: Vec<u8>,
}

/// A reply head and, for replies with `Content-Length`, its body.
struct Raw {
    head: String,
    body: String,
}

impl Raw {
    fn status(&self) -> u16 {
        self.head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("a status line: {}", self.head))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

impl Wire {
    async fn open(app: &TestApp) -> Self {
        let tcp = within("connecting", TcpStream::connect(app.addr))
            .await
            .expect("connect");
        tcp.set_nodelay(true).expect("TCP_NODELAY");
        Self {
            tcp,
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.tcp.write_all(bytes).await.expect("write");
    }

    /// Reads more; false once the server closed.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        let n = within("bytes from the server", self.tcp.read(&mut chunk))
            .await
            .unwrap_or(0);
        self.buf.extend_from_slice(&chunk[..n]);
        n > 0
    }

    async fn head(&mut self) -> String {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head: Vec<u8> = self.buf.drain(..end + 4).collect();
                return String::from_utf8_lossy(&head).into_owned();
            }
            assert!(
                self.fill().await,
                "closed before a reply head: {:?}",
                String::from_utf8_lossy(&self.buf)
            );
        }
    }

    /// The next reply, whose body has a `Content-Length` (or none, for `HEAD` and 204).
    async fn reply(&mut self, head_request: bool) -> Raw {
        let mut raw = Raw {
            head: self.head().await,
            body: String::new(),
        };
        let len: usize = raw
            .header("content-length")
            .map_or(0, |v| v.parse().expect("a length"));
        let len = if head_request { 0 } else { len };
        while self.buf.len() < len {
            assert!(self.fill().await, "closed within a body");
        }
        let body: Vec<u8> = self.buf.drain(..len).collect();
        raw.body = String::from_utf8_lossy(&body).into_owned();
        raw
    }

    /// Reads an event stream until `text` has come.
    async fn until(&mut self, text: &str) -> String {
        loop {
            let got = String::from_utf8_lossy(&self.buf).into_owned();
            if got.contains(text) {
                return got;
            }
            assert!(self.fill().await, "closed before {text:?} came: {got}");
        }
    }

    /// Reads until the server closes; what came.
    async fn rest_until_close(&mut self) -> String {
        while self.fill().await {}
        String::from_utf8_lossy(&self.buf).into_owned()
    }
}

fn get(path: &str, token: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n")
}

fn events_request(code: &str, token: &str) -> String {
    format!(
        "GET /api/v1/sessions/{code}/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Accept: text/event-stream\r\n\r\n"
    )
}

/// The head of an event stream the server writes itself, and the start of its body.
fn assert_own_stream(head: &str) {
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    let lower = head.to_ascii_lowercase();
    for expected in [
        "content-type: text/event-stream",
        "cache-control: no-cache",
        "x-accel-buffering: no",
        "x-request-id: ",
        "connection: close",
        "date: ",
    ] {
        assert!(lower.contains(expected), "{expected} in {head}");
    }
    assert!(
        !lower.contains("transfer-encoding"),
        "close-delimited: {head}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_request_head_split_over_many_reads_opens_the_stream() {
    let app = spawn_app().await;
    let g = setup_game(&app, 1, 1, 20_000).await;
    let request = events_request(&g.code, &g.players[0].token);
    let mut wire = Wire::open(&app).await;
    for piece in request.as_bytes().chunks(7) {
        wire.send(piece).await;
        // Pacing only, so the server meets the head in several reads; nothing waits on it.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let head = wire.head().await;
    assert_own_stream(&head);
    let body = wire.until("event: session_state").await;
    assert!(body.starts_with("retry: 2000\n\n"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_requests_before_the_stream_share_its_connection() {
    let app = spawn_app().await;
    let g = setup_game(&app, 0, 1, 20_000).await;
    let ana = app.guest("Ana").await;
    let mut wire = Wire::open(&app).await;
    // A request with a body, a bodiless one, then the stream: one connection throughout.
    let join = format!(
        "POST /api/v1/sessions/{}/join HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}",
        g.code, ana.token
    );
    wire.send(join.as_bytes()).await;
    let joined = wire.reply(false).await;
    assert_eq!(joined.status(), 200, "{} {}", joined.head, joined.body);
    assert!(joined.body.contains("\"joined\":true"), "{}", joined.body);
    assert_ne!(
        joined.header("connection"),
        Some("close"),
        "{}",
        joined.head
    );
    wire.send(get("/healthz", &ana.token).as_bytes()).await;
    assert_eq!(wire.reply(false).await.status(), 200);
    wire.send(events_request(&g.code, &ana.token).as_bytes())
        .await;
    assert_own_stream(&wire.head().await);
    wire.until("event: session_state").await;
    // A live event reaches this connection.
    app.host(&g.host.token, &g.code, "start")
        .await
        .expect(200, "start");
    wire.until("event: question_opened").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order() {
    let app = spawn_app().await;
    let ana = app.guest("Ana").await;
    let mut wire = Wire::open(&app).await;
    let body = r#"{"display_name":"Bo"}"#;
    let login = format!(
        "POST /api/v1/auth/guest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let batch = format!(
        "{}{login}{}",
        get("/healthz", &ana.token),
        get("/api/v1/quizzes", &ana.token)
    );
    wire.send(batch.as_bytes()).await;
    let first = wire.reply(false).await;
    assert_eq!(first.status(), 200, "{}", first.head);
    let second = wire.reply(false).await;
    assert_eq!(second.status(), 201, "{} {}", second.head, second.body);
    assert!(second.body.contains("\"Bo\""), "{}", second.body);
    let third = wire.reply(false).await;
    assert_eq!(third.status(), 200, "{}", third.head);
    assert!(third.body.contains("\"quizzes\""), "{}", third.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_stream_is_an_ordinary_reply_and_the_connection_stays_open() {
    let app = spawn_app().await;
    let g = setup_game(&app, 1, 1, 20_000).await;
    let ana = &g.players[0];
    let mut wire = Wire::open(&app).await;
    // No token: 401.
    let anonymous = format!(
        "GET /api/v1/sessions/{}/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n",
        g.code
    );
    wire.send(anonymous.as_bytes()).await;
    let refused = wire.reply(false).await;
    assert_eq!(refused.status(), 401, "{}", refused.head);
    assert_eq!(
        refused.header("content-type"),
        Some("application/problem+json")
    );
    assert!(refused.body.contains("\"status\":401"), "{}", refused.body);
    // An unknown code: 404, on the same connection.
    wire.send(events_request("ZZZZZZ", &ana.token).as_bytes())
        .await;
    let unknown = wire.reply(false).await;
    assert_eq!(unknown.status(), 404, "{} {}", unknown.head, unknown.body);
    assert!(unknown.body.contains("\"status\":404"), "{}", unknown.body);
    // And then the stream itself.
    wire.send(events_request(&g.code, &ana.token).as_bytes())
        .await;
    assert_own_stream(&wire.head().await);
    wire.until("event: session_state").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_methods_on_the_stream_route_are_answered_as_before() {
    let app = spawn_app().await;
    let g = setup_game(&app, 1, 1, 20_000).await;
    let token = &g.players[0].token;
    let path = format!("/api/v1/sessions/{}/events", g.code);
    let mut wire = Wire::open(&app).await;
    let post = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: 2\r\n\r\n{{}}"
    );
    wire.send(post.as_bytes()).await;
    let r = wire.reply(false).await;
    assert_eq!(r.status(), 405, "{} {}", r.head, r.body);
    assert!(
        r.header("allow").is_some_and(|a| a.contains("GET")),
        "{}",
        r.head
    );
    // HEAD is served by hyper like any request: a stream's head with no body, and the
    // connection goes on.
    let head = format!("HEAD {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n");
    wire.send(head.as_bytes()).await;
    let r = wire.reply(true).await;
    assert_eq!(r.status(), 200, "{}", r.head);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    assert_eq!(r.header("connection"), None, "{}", r.head);
    wire.send(get("/healthz", token).as_bytes()).await;
    let r = wire.reply(false).await;
    assert_eq!(r.status(), 200, "nothing came between the two: {}", r.head);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_its_stream_frees_its_slot() {
    let app = spawn_app_with(|c| c.streams_per_user = 1).await;
    let g = setup_game(&app, 1, 1, 20_000).await;
    let token = &g.players[0].token;
    let mut wire = Wire::open(&app).await;
    wire.send(events_request(&g.code, token).as_bytes()).await;
    assert_own_stream(&wire.head().await);
    wire.until("event: session_state").await;
    drop(wire);
    // The server sees the close at once (not at the next heartbeat): the one slot is free.
    within("the slot to come free", async {
        loop {
            let mut again = Wire::open(&app).await;
            again.send(events_request(&g.code, token).as_bytes()).await;
            let head = again.head().await;
            if head.starts_with("HTTP/1.1 200") {
                return;
            }
            assert!(head.starts_with("HTTP/1.1 429"), "{head}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_an_own_stream_with_the_retry_hint_and_a_close() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = quizcast::config::Config::for_sqlite_file(&dir.path().join("quizcast.db"));
    let server = quizcast::startup::Application::build(config)
        .await
        .expect("build the app");
    let addr = server.addr();
    let shutdown = server.shutdown_token();
    let stopped = tokio::spawn(server.run_until_stopped());
    let app = TestApp {
        addr,
        base_url: format!("http://{addr}"),
        client: client(),
        _dir: dir,
    };
    let g = setup_game(&app, 1, 1, 20_000).await;
    let mut wire = Wire::open(&app).await;
    wire.send(events_request(&g.code, &g.players[0].token).as_bytes())
        .await;
    assert_own_stream(&wire.head().await);
    wire.until("event: session_state").await;
    shutdown.cancel();
    let rest = wire.rest_until_close().await;
    assert!(rest.ends_with("retry: 1000\n\n"), "{rest}");
    within("the server to stop", stopped)
        .await
        .expect("the server task")
        .expect("a clean stop");
}
