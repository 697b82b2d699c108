//! `quizcast loadtest` against a live server: a small game played end to end, every check of
//! the tool passing, and remote targets refused.

use std::process::Command;

use serde_json::Value;

use crate::helpers::*;

fn loadtest(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_quizcast"))
        .arg("loadtest")
        .args(args)
        .output()
        .expect("run quizcast loadtest")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_game_passes_every_check() {
    let app = spawn_app().await;
    let target = app.base_url.clone();
    let out = tokio::task::spawn_blocking(move || {
        loadtest(&[
            "--target",
            &target,
            "--players",
            "40",
            "--sessions",
            "2",
            "--questions",
            "2",
            "--window-ms",
            "300",
            "--reveal-ms",
            "0",
            "--poll-share",
            "0.25",
            "--quiet",
        ])
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "loadtest failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(report["passed"], true, "{report}");
    assert_eq!(report["connected"], 40);
    assert_eq!(report["answers_accepted"], 80, "{report}");
    assert_eq!(report["events_lost"], 0);
    assert_eq!(report["checks"]["stored_answers"], 80);
    assert_eq!(
        report["checks"]["leaderboard_total"], report["checks"]["stored_points"],
        "{report}"
    );
    // Every answer was seen on a leaderboard by all 20 subscribers of its session.
    assert_eq!(report["latency"]["answer_to_leaderboard"]["count"], 80 * 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn players_without_streams_only_answer_and_the_cost_per_answer_is_reported() {
    let app = spawn_app().await;
    let target = app.base_url.clone();
    // The server runs in this process.
    let pid = std::process::id().to_string();
    let out = tokio::task::spawn_blocking(move || {
        loadtest(&[
            "--target",
            &target,
            "--players",
            "30",
            "--questions",
            "2",
            "--window-ms",
            "300",
            "--reveal-ms",
            "0",
            "--no-stream",
            "--idle-secs",
            "1",
            "--server-pid",
            &pid,
            "--quiet",
        ])
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "loadtest failed: {stdout}");
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(report["passed"], true, "{report}");
    assert_eq!(report["answers_accepted"], 60, "{report}");
    assert_eq!(report["checks"]["stored_answers"], 60);
    assert_eq!(report["events_received"], 0, "no player had a stream");
    assert!(report["server"]["cpu_us_per_answer"].as_f64().unwrap() > 0.0);
    assert!(report["calibration_ms"].as_f64().unwrap() > 0.0);
    assert!(report["idle"]["secs"].as_f64().unwrap() >= 1.0);
}

#[test]
fn remote_targets_need_allow_remote() {
    let out = loadtest(&["--target", "http://192.0.2.1:8080", "--players", "1"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--allow-remote"), "{err}");
}
