//! The real `quizcast` binary on a port of its own, for what only a separate process shows:
//! a SIGKILL and restart, or the memory one process holds.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::client;

pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local addr").port()
}

/// Starts the binary with the default configuration (plus `env`) on `port` and an SQLite
/// file, and waits until `/healthz` answers.
pub async fn start_binary(port: u16, db: &Path, env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_quizcast"));
    command
        .arg("--addr")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--database-url")
        .arg(format!("sqlite://{}", db.display()))
        // Default configuration: no JWT_SECRET, so the key lives in the database.
        .env_remove("JWT_SECRET")
        .env("GUEST_LOGINS_PER_MINUTE", "1000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for (k, v) in env {
        command.env(k, v);
    }
    let child = command.spawn().expect("start the quizcast binary");
    let http = client();
    let url = format!("http://127.0.0.1:{port}/healthz");
    for _ in 0..200 {
        if let Ok(r) = http.get(&url).timeout(Duration::from_secs(1)).send().await
            && r.status() == 200
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server on port {port} did not answer /healthz within 10 s");
}

/// Resident memory of a process, in KiB (Linux).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc status")
}
