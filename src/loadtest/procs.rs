//! Load processes: how many, starting them, following their progress, collecting results.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::oneshot;

use super::args::LoadArgs;
use super::report::Phases;
use super::sysinfo;
use super::worker::{Finish, Plan, WorkerResult};

/// Descriptors a load process keeps for itself (runtime, pools, stdio).
const RESERVED_FDS: u64 = 300;

/// How many load processes `players` need under this machine's open-file limit.
pub fn process_count(players: usize, pooled: usize, asked: Option<usize>) -> anyhow::Result<usize> {
    let limit = super::raise_open_files();
    let per = limit.saturating_sub(RESERVED_FDS + pooled as u64).max(1) as usize;
    let needed = players.div_ceil(per).max(1);
    match asked {
        Some(n) if n < needed => bail!(
            "{players} players need at least {needed} load processes here \
             (open-file limit {limit}); pass --processes {needed} or more"
        ),
        Some(n) => Ok(n.max(1)),
        None => Ok(needed),
    }
}

/// Splits `players` over `n` processes: (first index, count).
pub fn split(players: usize, n: usize) -> Vec<(usize, usize)> {
    let base = players / n;
    let extra = players % n;
    let mut first = 0;
    (0..n)
        .map(|i| {
            let count = base + usize::from(i < extra);
            let slice = (first, count);
            first += count;
            slice
        })
        .collect()
}

/// Starts the load processes and waits until their players are connected; returns them,
/// the server's usage before and after, and how many players connected.
pub async fn launch(
    args: &LoadArgs,
    plans: Vec<Plan>,
    deadline: tokio::time::Instant,
) -> anyhow::Result<(Fleet, Phases, usize)> {
    let mut phases = Phases {
        base: sysinfo::total(&args.server_pid),
        ..Default::default()
    };
    let fleet = Fleet::start(plans, args.players, args.quiet)?;
    fleet.ready(deadline).await?;
    let connected = fleet.connected();
    phases.idle = sysinfo::total(&args.server_pid);
    Ok((fleet, phases, connected))
}

#[derive(Default)]
struct Progress {
    connected: AtomicUsize,
    answered: AtomicUsize,
    done: AtomicUsize,
    ready: AtomicUsize,
}

struct Proc {
    child: Child,
    stdin: ChildStdin,
    result: oneshot::Receiver<anyhow::Result<WorkerResult>>,
    progress: Arc<Progress>,
}

pub struct Fleet {
    procs: Vec<Proc>,
    pub bar: ProgressBar,
    players: usize,
}

impl Fleet {
    pub fn start(plans: Vec<Plan>, players: usize, quiet: bool) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("finding this program")?;
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(players as u64)
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            )
            .expect("static template"),
        );
        let mut procs = Vec::new();
        for plan in plans {
            let mut child = Command::new(&exe)
                .arg("loadtest")
                .arg("--worker")
                .arg(serde_json::to_string(&plan)?)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .context("starting a load process")?;
            let stdin = child.stdin.take().context("load process stdin")?;
            let stdout = child.stdout.take().context("load process stdout")?;
            let progress = Arc::new(Progress::default());
            let (tx, rx) = oneshot::channel();
            tokio::spawn(follow(stdout, progress.clone(), tx));
            procs.push(Proc {
                child,
                stdin,
                result: rx,
                progress,
            });
        }
        Ok(Self {
            procs,
            bar,
            players,
        })
    }

    fn sum(&self, f: impl Fn(&Progress) -> &AtomicUsize) -> usize {
        self.procs
            .iter()
            .map(|p| f(&p.progress).load(Ordering::Relaxed))
            .sum()
    }

    pub fn connected(&self) -> usize {
        self.sum(|p| &p.connected)
    }

    pub fn answered(&self) -> usize {
        self.sum(|p| &p.answered)
    }

    pub fn tick(&self, phase: &str) {
        self.bar.set_position(self.connected() as u64);
        self.bar.set_message(format!(
            "{phase}: {} connected, {} answers, {} done",
            self.connected(),
            self.answered(),
            self.sum(|p| &p.done)
        ));
    }

    /// Waits until every process has its players connected (or failed).
    pub async fn ready(&self, deadline: tokio::time::Instant) -> anyhow::Result<()> {
        while self.sum(|p| &p.ready) < self.procs.len() {
            self.tick("connecting");
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "only {} of {} players connected in time",
                    self.connected(),
                    self.players
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.tick("connected");
        Ok(())
    }

    /// Waits (at most `limit`) until every player has seen the end of the game.
    pub async fn settle(&self, limit: Duration) {
        let until = tokio::time::Instant::now() + limit;
        while self.sum(|p| &p.done) < self.players && tokio::time::Instant::now() < until {
            self.tick("finishing");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends one line to every load process.
    pub async fn announce(&mut self, line: &str) -> anyhow::Result<()> {
        for p in &mut self.procs {
            p.stdin.write_all(line.as_bytes()).await?;
            p.stdin.write_all(b"\n").await?;
            p.stdin.flush().await?;
        }
        Ok(())
    }

    /// Tells every process the game is over and collects their results.
    pub async fn finish(self, finish: &Finish) -> anyhow::Result<Vec<WorkerResult>> {
        let line = format!("finish {}\n", serde_json::to_string(finish)?);
        let mut out = Vec::new();
        for mut p in self.procs {
            p.stdin.write_all(line.as_bytes()).await?;
            p.stdin.flush().await?;
            out.push(
                p.result
                    .await
                    .context("a load process ended without a result")??,
            );
            let _ = p.child.wait().await;
        }
        self.bar.finish_and_clear();
        Ok(out)
    }
}

async fn follow(
    stdout: tokio::process::ChildStdout,
    progress: Arc<Progress>,
    tx: oneshot::Sender<anyhow::Result<WorkerResult>>,
) {
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(rest) = line.strip_prefix("progress ") {
            let n: Vec<usize> = rest.split(' ').filter_map(|x| x.parse().ok()).collect();
            if let [c, a, d] = n[..] {
                progress.connected.store(c, Ordering::Relaxed);
                progress.answered.store(a, Ordering::Relaxed);
                progress.done.store(d, Ordering::Relaxed);
            }
        } else if line == "ready" {
            progress.ready.store(1, Ordering::Relaxed);
        } else if let Some(json) = line.strip_prefix("result ") {
            let _ = tx.send(serde_json::from_str(json).map_err(Into::into));
            return;
        }
    }
    let _ = tx.send(Err(anyhow::anyhow!("a load process exited early")));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn players_split_evenly_and_completely() {
        let s = split(10, 3);
        assert_eq!(s, [(0, 4), (4, 3), (7, 3)]);
        assert_eq!(s.iter().map(|x| x.1).sum::<usize>(), 10);
    }
}
