//! Operations endpoints and the web client: health, readiness, Prometheus metrics, the
//! API docs and the HTML page at `/`.

use crate::helpers::*;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    assert!(
        app.addr.ip().is_loopback() && app.addr.port() != 0,
        "bound to a real port: {}",
        app.addr
    );
    app.get("/healthz", None).await.expect(200, "healthz");
    app.get("/readyz", None).await.expect(200, "readyz");
}

/// Every sample line is `name{labels} value`, every other non-empty line a `#` comment.
fn assert_prometheus(text: &str) {
    let mut samples = 0;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with('#') {
            assert!(
                line.starts_with("# HELP ")
                    || line.starts_with("# TYPE ")
                    || line.starts_with("# "),
                "comment line: {line}"
            );
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .unwrap_or_else(|| panic!("sample line: {line}"));
        let name = &line[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "metric name {name:?} in {line}"
        );
        let rest = &line[name_end..];
        let after_labels = match rest.strip_prefix('{') {
            Some(r) => &r[r.rfind('}').unwrap_or_else(|| panic!("labels in {line}")) + 1..],
            None => rest,
        };
        let value = after_labels
            .split_whitespace()
            .next()
            .unwrap_or_else(|| panic!("value in {line}"));
        let ok = value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value);
        assert!(ok, "sample value {value:?} in {line}");
        samples += 1;
    }
    assert!(samples > 0, "no samples in /metrics:\n{text}");
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let app = spawn_app().await;
    let g = app.guest("Metered").await;
    app.get("/api/v1/quizzes", Some(&g.token))
        .await
        .expect(200, "list quizzes");
    let r = app.get("/metrics", None).await;
    r.expect(200, "metrics");
    let ct = r.header("content-type");
    assert!(
        ct.starts_with("text/plain"),
        "Prometheus text Content-Type, got {ct:?}"
    );
    assert_prometheus(&r.text);
}

#[tokio::test]
async fn docs_and_the_web_client_are_html() {
    let app = spawn_app().await;
    for path in ["/docs", "/docs/", "/"] {
        let r = app.get(path, None).await;
        r.expect(200, path);
        let ct = r.header("content-type");
        assert!(ct.starts_with("text/html"), "{path}: Content-Type {ct:?}");
        assert!(
            r.text.to_lowercase().contains("<html"),
            "{path} is an HTML page"
        );
    }
    let docs = app.get("/docs/", None).await;
    assert!(
        docs.text.to_lowercase().contains("swagger") || docs.text.contains("openapi"),
        "the docs page renders the API description"
    );
    let g = app.guest("Web").await;
    let quiz = app.create_quiz(&g.token, 1).await;
    let body = serde_json::json!({ "quiz_id": quiz });
    let created = app.create_session_with(&g.token, body).await;
    let created = created.expect(201, "create session").clone();
    for key in ["join_url", "host_url"] {
        let url = created[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} in {created}"));
        let r = send(app.client.get(url), key).await;
        r.expect(200, &format!("GET {key} {url}"));
        assert!(
            r.header("content-type").starts_with("text/html"),
            "{key} opens the web client"
        );
    }
}

/// Every metric family the sources emit: the names in `counter!("…")`, `gauge!("…")` and
/// `histogram!("…")` under `src/`.
fn families_in_sources() -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read src/") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read a source file");
                for mac in ["counter!(", "gauge!(", "histogram!("] {
                    for (at, _) in text.match_indices(mac) {
                        let rest = text[at + mac.len()..].trim_start();
                        if let Some(lit) = rest.strip_prefix('"')
                            && let Some(end) = lit.find('"')
                        {
                            out.push(lit[..end].to_owned());
                        }
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut out,
    );
    out.sort();
    out.dedup();
    assert!(out.len() >= 10, "the scan finds the metrics: {out:?}");
    out
}

fn assert_every_family(text: &str, what: &str) {
    for name in families_in_sources() {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{what}: family {name} missing from the first scrape:\n{text}"
        );
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{what}: family {name} has no description"
        );
    }
}

/// The sample value of `name` (without labels) in a Prometheus text.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local addr").port()
}

/// The real binary on `port` and `db`, once `/healthz` answers; metrics are then untouched
/// by anything but start-up.
async fn start_binary(port: u16, db: &std::path::Path) -> tokio::process::Child {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_quizcast"))
        .arg("--addr")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--database-url")
        .arg(format!("sqlite://{}", db.display()))
        .env("JWT_SECRET", "metrics-test-secret-metrics-test")
        .env("METRICS_TOKEN", "scrape-me")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the quizcast binary");
    let http = client();
    let url = format!("http://127.0.0.1:{port}/healthz");
    for _ in 0..200 {
        if let Ok(r) = http
            .get(&url)
            .timeout(std::time::Duration::from_secs(1))
            .send()
            .await
            && r.status() == 200
        {
            return child;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the server on port {port} did not answer /healthz within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_scrape_lists_every_family_also_after_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("metrics.db");
    let port = free_port();
    let mut child = start_binary(port, &db).await;
    let app = TestApp {
        addr: ([127, 0, 0, 1], port).into(),
        base_url: format!("http://127.0.0.1:{port}"),
        client: client(),
        _dir: tempfile::tempdir().expect("temp dir"),
    };
    let scrape = || {
        send(
            app.client.get(app.url("/metrics")).bearer_auth("scrape-me"),
            "GET /metrics",
        )
    };
    let first = scrape().await;
    first.expect(200, "the first scrape of a fresh server");
    assert_prometheus(&first.text);
    assert_every_family(&first.text, "a fresh server");
    assert_eq!(sample(&first.text, "quizcast_sessions_live"), Some(0.0));

    // Two sessions are live; after a restart both are restored and counted.
    let g = setup_game(&app, 1, 2, 20_000).await;
    app.create_session(&g.host.token, &g.quiz_id).await;
    // Each session's runner is a task of its own: the gauge moves when it starts.
    let live_reaches = |n: f64, what: &'static str| async move {
        let mut last = String::new();
        for _ in 0..100 {
            last = scrape().await.text;
            if sample(&last, "quizcast_sessions_live") == Some(n) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{what}: quizcast_sessions_live never reached {n}:\n{last}");
    };
    live_reaches(2.0, "two new sessions").await;
    child.kill().await.expect("stop the server");
    let _child = start_binary(port, &db).await;
    let after = scrape().await;
    after.expect(200, "the first scrape after a restart");
    assert_every_family(&after.text, "a restarted server");
    assert_eq!(
        sample(&after.text, "quizcast_sessions_created_total"),
        Some(0.0)
    );
    live_reaches(2.0, "restored sessions are counted").await;
}

#[tokio::test]
async fn the_metrics_token_is_enforced() {
    let app = spawn_app_with(|c| c.metrics_token = Some("s3cret-scrape".into())).await;
    app.get("/metrics", None)
        .await
        .expect_problem(401, "no token");
    app.get("/metrics", Some("wrong"))
        .await
        .expect_problem(401, "a wrong token");
    app.get("/metrics", Some("s3cret-scrape-and-more"))
        .await
        .expect_problem(401, "a longer token");
    let r = send(
        app.client
            .get(app.url("/metrics"))
            .header("authorization", "Basic s3cret-scrape"),
        "another scheme",
    )
    .await;
    r.expect_problem(401, "another scheme");
    let r = app.get("/metrics", Some("s3cret-scrape")).await;
    r.expect(200, "the token");
    assert_prometheus(&r.text);
    // Without a configured token, /metrics stays open.
    spawn_app()
        .await
        .get("/metrics", None)
        .await
        .expect(200, "open by default");
}
