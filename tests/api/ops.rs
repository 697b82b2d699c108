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
