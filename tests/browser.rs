//! The web client in a real browser. Starts a server on a free port, then runs the
//! Playwright suite in `tests/browser/*.test.mjs` with Node's test runner, passing the
//! server's URL (`QUIZCAST_URL`) and the server binary (`QUIZCAST_BIN`, for the test that
//! stops and restarts its own server). Screenshots go to `test-artifacts/`.
//!
//! Needs `/usr/bin/chromium`, `node` and `npm ci` (playwright-core); the proxy tests also
//! need nginx (`nginx-light`) and the HTTP/2 test `openssl`. Without them the test says
//! what is missing and passes, except with `CI=true`, where it fails.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use quizcast::config::Config;
use quizcast::startup::Application;

const CHROMIUM: &str = "/usr/bin/chromium";
/// The whole suite takes about 320 s on two busy cores (the files run one after another);
/// past this something hangs.
const SUITE_LIMIT: Duration = Duration::from_secs(540);

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Reports a missing prerequisite: skip locally, fail in CI.
fn unavailable(what: &str) {
    if in_ci() {
        panic!("{what} (CI=true requires it)");
    }
    println!("skipped: {what}");
}

fn node_works() -> bool {
    std::process::Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn suite_files(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("tests/browser"))
        .expect("tests/browser exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".test.mjs"))
        })
        .collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_client_in_a_real_browser() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !Path::new(CHROMIUM).exists() {
        return unavailable(&format!("chromium not found at {CHROMIUM}"));
    }
    if !node_works() {
        return unavailable("node not found on PATH");
    }
    if !root.join("node_modules/playwright-core").is_dir() {
        return unavailable("playwright-core not found in node_modules (run `npm ci`)");
    }
    let files = suite_files(root);
    assert!(!files.is_empty(), "no tests/browser/*.test.mjs");

    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut config = Config::for_sqlite_file(&dir.path().join("browser.db"));
    // Every page of every test signs in as a guest from 127.0.0.1.
    config.guest_logins_per_minute = 10_000;
    let app = Application::build(config).await.expect("the server starts");
    let url = format!("http://{}", app.addr());
    let stop = app.shutdown_token();
    let server = tokio::spawn(app.run_until_stopped());

    let run = tokio::process::Command::new("node")
        .arg("--test")
        .arg("--test-reporter=spec")
        .args(&files)
        .current_dir(root)
        .env("QUIZCAST_URL", &url)
        .env("QUIZCAST_BIN", env!("CARGO_BIN_EXE_quizcast"))
        .env("QUIZCAST_ARTIFACTS", root.join("test-artifacts"))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .status();
    let status = tokio::time::timeout(SUITE_LIMIT, run).await;

    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    let status = status
        .unwrap_or_else(|_| panic!("the browser suite did not finish within {SUITE_LIMIT:?}"))
        .expect("node runs");
    assert!(status.success(), "the browser suite failed ({status})");
}
