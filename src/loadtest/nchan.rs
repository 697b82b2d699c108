//! The comparison run against nginx + nchan: the same subscribers on `/sub/<channel>`, and
//! the coordinator publishing timestamped messages to `/pub/<channel>` in rounds.

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use hyper::{Method, StatusCode};
use tokio::time::Instant;

use super::args::LoadArgs;
use super::net::{self, Pool, Target};
use super::now_us;
use super::procs;
use super::report::{self, Checks};
use super::sysinfo;
use super::worker::{Finish, Plan};

pub async fn run(args: LoadArgs) -> anyhow::Result<()> {
    let calibration_ms = tokio::task::spawn_blocking(super::calibrate::calibration_ms).await?;
    let deadline = Instant::now() + Duration::from_secs(args.max_secs);
    let targets = Target::parse_all(&args.target, args.allow_remote)?;
    let channels: Vec<String> = (0..args.sessions.max(1)).map(|i| format!("c{i}")).collect();
    let n = procs::process_count(args.players, 0, args.processes)?;
    let plans = procs::split(args.players, n)
        .into_iter()
        .map(|(first, count)| Plan {
            targets: args.target.clone(),
            allow_remote: args.allow_remote,
            codes: channels.clone(),
            first,
            count,
            poll_share: 0.0,
            answer_share: 0.0,
            window_ms: 0,
            answer_connections: 1,
            players_per_address: args.players_per_address,
            correct: Vec::new(),
            watch_only: false,
            no_stream: false,
            nchan_messages: Some(args.messages),
        })
        .collect();
    let (fleet, mut phases, connected) = procs::launch(&args, plans, deadline).await?;
    phases.game_start = phases.idle;
    let started = Instant::now();
    let pool = Arc::new(Pool::new(targets[0].clone(), None, 32));
    let pad = "x".repeat(args.message_bytes.saturating_sub(40));
    for round in 0..args.messages {
        let sends = channels.iter().map(|ch| {
            let pool = pool.clone();
            let pad = pad.clone();
            async move {
                let body = format!("{{\"t\":{},\"pad\":\"{pad}\"}}", now_us());
                let req = net::request(
                    pool.target(),
                    Method::POST,
                    &format!("/pub/{ch}"),
                    None,
                    Some(body.into()),
                );
                pool.call(req, || {}).await
            }
        });
        for r in futures::future::join_all(sends).await {
            let (status, _) = r?;
            if !(status.is_success() || status == StatusCode::ACCEPTED) {
                bail!("publishing: {status}");
            }
        }
        fleet.tick(&format!("round {}", round + 1));
        tokio::time::sleep(Duration::from_millis(args.publish_interval_ms)).await;
    }
    let game_secs = started.elapsed().as_secs_f64();
    fleet.settle(Duration::from_secs(10)).await;
    phases.game_end = sysinfo::total(&args.server_pid);
    let results = fleet.finish(&Finish::default()).await?;
    let merged = report::merge(results);
    let mut summary = report::Summary::build(
        &args,
        n,
        connected,
        game_secs,
        phases,
        Checks::default(),
        merged,
    );
    summary.calibration_ms = calibration_ms;
    summary.print();
    if !summary.passed {
        std::process::exit(2);
    }
    Ok(())
}
