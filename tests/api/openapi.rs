//! The served OpenAPI document equals the committed `openapi/openapi.json` and describes
//! every path of the contract.

use std::path::PathBuf;

use serde_json::Value;

use crate::helpers::*;

const UPDATE_HINT: &str = "run: UPDATE_OPENAPI=1 cargo test --test api openapi";

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("openapi")
        .join("openapi.json")
}

async fn served() -> Value {
    let app = spawn_app().await;
    let r = app.get("/openapi.json", None).await;
    r.expect(200, "GET /openapi.json").clone()
}

#[tokio::test]
async fn the_committed_openapi_document_is_current() {
    let doc = served().await;
    let path = committed_path();
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        let mut text = serde_json::to_string_pretty(&doc).expect("serialise");
        text.push('\n');
        std::fs::create_dir_all(path.parent().unwrap()).expect("create openapi/");
        std::fs::write(&path, text).expect("write openapi/openapi.json");
        return;
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; {UPDATE_HINT}", path.display()));
    let committed: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}; {UPDATE_HINT}", path.display()));
    assert!(
        committed == doc,
        "openapi/openapi.json differs from the document the server generates; {UPDATE_HINT}"
    );
}

#[tokio::test]
async fn every_contract_path_is_described() {
    let doc = served().await;
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')),
        "an OpenAPI 3 document"
    );
    let s = "/api/v1/sessions/{code}";
    let expected = [
        ("post", "/api/v1/auth/guest".to_owned()),
        ("post", "/api/v1/quizzes".into()),
        ("get", "/api/v1/quizzes".into()),
        ("post", "/api/v1/quizzes/import".into()),
        ("get", "/api/v1/quizzes/{quiz_id}".into()),
        ("post", "/api/v1/sessions".into()),
        ("get", s.into()),
        ("post", format!("{s}/join")),
        ("post", format!("{s}/leave")),
        ("post", format!("{s}/start")),
        ("post", format!("{s}/next")),
        ("post", format!("{s}/end")),
        ("get", format!("{s}/leaderboard")),
        ("post", format!("{s}/answers")),
        ("get", format!("{s}/results")),
        ("get", format!("{s}/events")),
        ("get", format!("{s}/events/poll")),
        ("post", format!("{s}/ticket")),
        ("get", "/api/v1/me/history".into()),
        ("get", "/healthz".into()),
        ("get", "/readyz".into()),
        ("get", "/metrics".into()),
    ];
    let paths = doc["paths"].as_object().expect("paths");
    let mut missing = Vec::new();
    for (method, path) in &expected {
        if paths.get(path).and_then(|p| p.get(*method)).is_none() {
            missing.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    assert!(
        missing.is_empty(),
        "the OpenAPI document lacks: {missing:?}; has {:?}",
        paths.keys().collect::<Vec<_>>()
    );
}
