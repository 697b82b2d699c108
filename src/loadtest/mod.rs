//! `quizcast loadtest`: a load generator that speaks only the public API. A coordinator
//! sets up the quiz and sessions, plays the host and starts load processes (this same
//! binary with `--worker`), each below the open-file limit, which run the players.

mod args;
mod calibrate;
mod coordinator;
mod idle;
mod nchan;
mod net;
mod player;
mod procs;
mod report;
mod sse;
mod stats;
mod sysinfo;
mod worker;

use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;

pub use args::LoadArgs;

/// Runs the load tool with `argv` (its first element is the program name).
pub fn main(argv: Vec<std::ffi::OsString>) -> anyhow::Result<()> {
    let args = LoadArgs::parse_from(argv);
    if args.calibrate {
        let ms = calibrate::calibration_ms();
        println!("calibration: {ms:.1} ms (a fixed CPU workload on one core; less is faster)");
        println!("{}", serde_json::json!({ "calibration_ms": ms }));
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match &args.worker {
            Some(plan) => worker::run(serde_json::from_str(plan)?).await,
            None if args.nchan => nchan::run(args).await,
            None => coordinator::run(args).await,
        }
    })
}

/// Wall-clock microseconds: comparable between the load processes on one machine.
pub(crate) fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Raises this process's open-file limit to its hard limit; returns the new soft limit.
pub(crate) fn raise_open_files() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024)
}
