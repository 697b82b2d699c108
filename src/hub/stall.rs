//! Stalled readers: a subscriber whose transport has taken nothing for a while although
//! frames wait for it. The queue alone cannot tell (a reader that stopped can hold a queue
//! below its bound forever), so each watched subscriber counts what was queued and what
//! the transport took, and one sweep per node cuts the connections that stalled: no timer
//! per stream, and it works whether or not anything is still being published.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Milliseconds on a monotonic clock shared by the hub and the transports.
pub fn clock_ms() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// What a watched subscriber's queue and transport have done, and how to end it.
#[derive(Debug, Default)]
pub struct Liveness {
    sent: AtomicU64,
    taken: AtomicU64,
    /// When the queue last went from empty to holding something.
    waiting_since: AtomicU64,
    /// When the transport last took something.
    last_taken: AtomicU64,
    /// Cancelled to end the subscriber's connection.
    cut: CancellationToken,
}

impl Liveness {
    pub fn new(cut: CancellationToken) -> Self {
        Self {
            cut,
            ..Self::default()
        }
    }

    /// Something was queued for the transport (by fan-out, or a catch-up it writes itself).
    pub fn sent(&self, now: u64) {
        if self.sent.load(Ordering::Acquire) == self.taken.load(Ordering::Acquire) {
            self.waiting_since.store(now, Ordering::Release);
        }
        self.sent.fetch_add(1, Ordering::AcqRel);
    }

    /// The transport took one queued item: its connection is accepting bytes.
    pub fn taken(&self, now: u64) {
        self.last_taken.store(now, Ordering::Release);
        self.taken.fetch_add(1, Ordering::AcqRel);
    }

    /// Something has waited, with nothing taken, for at least `timeout_ms`.
    pub fn stalled(&self, now: u64, timeout_ms: u64) -> bool {
        let waiting = self.sent.load(Ordering::Acquire) > self.taken.load(Ordering::Acquire);
        let since = self
            .waiting_since
            .load(Ordering::Acquire)
            .max(self.last_taken.load(Ordering::Acquire));
        waiting && now.saturating_sub(since) >= timeout_ms
    }
}

/// Every watched subscriber of this node, by subscription id.
pub(crate) type Watched = Arc<Mutex<HashMap<u64, Arc<Liveness>>>>;

/// Cuts the connections of stalled subscribers; returns how many it cut.
pub(crate) fn sweep(watched: &Watched, now: u64, timeout_ms: u64) -> usize {
    let stalled: Vec<Arc<Liveness>> = watched
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .filter(|w| !w.cut.is_cancelled() && w.stalled(now, timeout_ms))
        .cloned()
        .collect();
    for w in &stalled {
        w.cut.cancel();
    }
    if !stalled.is_empty() {
        metrics::counter!("quizcast_slow_subscribers_dropped_total")
            .increment(stalled.len() as u64);
        tracing::info!(
            count = stalled.len(),
            "closed event streams whose readers took nothing"
        );
    }
    stalled.len()
}

/// Sweeps every `timeout / 6` (at most 5 s) until `shutdown`.
pub(crate) fn spawn_sweeper(
    watched: Watched,
    timeout: Duration,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    let timeout_ms = timeout.as_millis().max(1) as u64;
    let period = (timeout / 6).clamp(Duration::from_millis(20), Duration::from_secs(5));
    tokio::spawn(async move {
        let mut every = tokio::time::interval(period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {
                    sweep(&watched, clock_ms(), timeout_ms);
                }
                _ = shutdown.cancelled() => return,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_waiting_without_progress_is_a_stall() {
        let w = Liveness::new(CancellationToken::new());
        assert!(!w.stalled(100_000, 30_000), "nothing queued");
        w.sent(1_000);
        assert!(!w.stalled(30_999, 30_000));
        assert!(w.stalled(31_000, 30_000), "queued at 1 s, nothing taken");
        w.taken(20_000);
        w.sent(20_000);
        assert!(
            !w.stalled(31_000, 30_000),
            "took something at 20 s: progress"
        );
        w.taken(25_000);
        assert!(!w.stalled(100_000, 30_000), "everything taken");
        w.sent(90_000);
        assert!(
            !w.stalled(100_000, 30_000),
            "the wait starts when the queue fills again"
        );
        assert!(w.stalled(120_000, 30_000));
    }

    #[test]
    fn a_sweep_cuts_the_stalled_once() {
        let watched: Watched = Arc::default();
        let stuck = Arc::new(Liveness::new(CancellationToken::new()));
        let reading = Arc::new(Liveness::new(CancellationToken::new()));
        stuck.sent(0);
        reading.sent(0);
        reading.taken(50);
        {
            let mut map = watched.lock().unwrap();
            map.insert(1, stuck.clone());
            map.insert(2, reading.clone());
        }
        assert_eq!(sweep(&watched, 100, 100), 1);
        assert!(stuck.cut.is_cancelled());
        assert!(!reading.cut.is_cancelled());
        assert_eq!(sweep(&watched, 200, 100), 0, "already cut");
    }
}
