//! The idle span (`--idle-secs`): every player connected and nothing happening. What a
//! deployment costs at rest: the server's CPU and, when asked, the commands Redis served.

use std::time::Duration;

use fred::prelude::*;
use fred::types::InfoKind;
use serde::Serialize;

use super::sysinfo;

#[derive(Debug, Clone, Serialize)]
pub struct Idle {
    pub secs: f64,
    pub server_cpu_s: f64,
    /// Commands per second Redis served over the span (all clients, from `INFO commandstats`).
    pub redis_commands_per_s: Option<f64>,
}

/// Sums `calls=` over every `cmdstat_` line.
fn total_calls(info: &str) -> u64 {
    info.lines()
        .filter(|l| l.starts_with("cmdstat_"))
        .filter_map(|l| {
            l.split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

async fn redis_calls(client: &Client) -> anyhow::Result<u64> {
    let info: String = client.info(Some(InfoKind::CommandStats)).await?;
    Ok(total_calls(&info))
}

/// Waits `secs` and reports what the servers (and Redis) did meanwhile.
pub async fn hold(secs: u64, server_pids: &[u32], redis: Option<&str>) -> anyhow::Result<Idle> {
    let client = match redis {
        Some(url) => {
            let client = Builder::from_config(Config::from_url(url)?).build()?;
            client.init().await?;
            Some(client)
        }
        None => None,
    };
    let calls_before = match &client {
        Some(c) => Some(redis_calls(c).await?),
        None => None,
    };
    let cpu_before = sysinfo::total(server_pids).cpu_s;
    let started = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let cpu_after = sysinfo::total(server_pids).cpu_s;
    let elapsed = started.elapsed().as_secs_f64();
    let redis_commands_per_s = match (&client, calls_before) {
        // The one INFO of the first reading is in the count; it is negligible.
        (Some(c), Some(before)) => {
            Some(redis_calls(c).await?.saturating_sub(before) as f64 / elapsed)
        }
        _ => None,
    };
    Ok(Idle {
        secs: elapsed,
        server_cpu_s: cpu_after - cpu_before,
        redis_commands_per_s,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn calls_are_summed_over_commands() {
        let info = "# Commandstats\r\ncmdstat_get:calls=12,usec=30,usec_per_call=2.5\r\n\
                    cmdstat_evalsha:calls=3,usec=9,usec_per_call=3.0\r\n";
        assert_eq!(super::total_calls(info), 15);
    }
}
