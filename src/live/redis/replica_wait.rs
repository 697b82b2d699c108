//! One `WAIT` at a time per primary, shared by every write that finished before it was
//! sent. `WAIT` blocks the connection it arrives on (fred keeps one per primary), so one
//! per write would line every command to that shard up behind a replication round trip
//! each; shared, a burst of answers costs one round trip. Group commit, as the journal does.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// The batches of every primary, by address.
#[derive(Default)]
pub struct Batches {
    by_primary: Mutex<HashMap<String, Arc<Batch>>>,
}

impl Batches {
    pub fn of(&self, addr: &str) -> Arc<Batch> {
        self.by_primary
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(addr.to_owned())
            .or_default()
            .clone()
    }
}

pub struct Batch {
    /// Writes that finished and asked to be covered, numbered from 1.
    issued: AtomicU64,
    /// The highest number a returned `WAIT` covered.
    covered: watch::Sender<u64>,
    /// A `WAIT` is on its way.
    in_flight: AtomicBool,
}

impl Default for Batch {
    fn default() -> Self {
        Self {
            issued: AtomicU64::new(0),
            covered: watch::Sender::new(0),
            in_flight: AtomicBool::new(false),
        }
    }
}

/// Clears `in_flight` and wakes the waiters however the leader's future ends (a cancelled
/// request included), so nobody waits for a `WAIT` that will never return.
struct Leading<'a>(&'a Batch);

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        self.0.in_flight.store(false, Ordering::SeqCst);
        self.0.covered.send_modify(|_| {});
    }
}

impl Batch {
    /// Returns once a `WAIT` sent after this call began has returned. The caller's write
    /// finished before the call, so that `WAIT` covered it. `send` sends one `WAIT`.
    pub async fn covered<F, Fut>(&self, send: F)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = ()>,
    {
        let mine = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let mut rx = self.covered.subscribe();
        loop {
            if *rx.borrow_and_update() >= mine {
                return;
            }
            if !self.in_flight.swap(true, Ordering::SeqCst) {
                let _leading = Leading(self);
                // Every number issued by now belongs to a write that already finished.
                let upto = self.issued.load(Ordering::SeqCst);
                send().await;
                self.covered.send_modify(|c| *c = (*c).max(upto));
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn writers_during_a_wait_share_the_next_one() {
        let batch = Arc::new(Batch::default());
        let sent = Arc::new(AtomicUsize::new(0));
        let (release_tx, release_rx) = watch::channel(0u32);
        let send = {
            let sent = sent.clone();
            move || {
                let sent = sent.clone();
                let mut release = release_rx.clone();
                async move {
                    let n = sent.fetch_add(1, Ordering::SeqCst) as u32 + 1;
                    let _ = release.wait_for(|r| *r >= n).await;
                }
            }
        };
        // The first writer leads a WAIT that is held until released.
        let first = tokio::spawn({
            let (batch, send) = (batch.clone(), send.clone());
            async move { batch.covered(send).await }
        });
        while sent.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        // Ten more writers finish while it is out: they must not ride on it.
        let rest: Vec<_> = (0..10)
            .map(|_| {
                let (batch, send) = (batch.clone(), send.clone());
                tokio::spawn(async move { batch.covered(send).await })
            })
            .collect();
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(
            rest.iter().all(|t| !t.is_finished()),
            "covered by an earlier WAIT"
        );
        release_tx.send_replace(1);
        first.await.unwrap();
        // One more WAIT covers all ten.
        while sent.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        release_tx.send_replace(2);
        for t in rest {
            t.await.unwrap();
        }
        assert_eq!(sent.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_cancelled_leader_hands_over() {
        let batch = Arc::new(Batch::default());
        let leader = tokio::spawn({
            let batch = batch.clone();
            async move { batch.covered(std::future::pending::<()>).await }
        });
        while !batch.in_flight.load(Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        let follower = tokio::spawn({
            let batch = batch.clone();
            async move { batch.covered(|| async {}).await }
        });
        leader.abort();
        tokio::time::timeout(std::time::Duration::from_secs(5), follower)
            .await
            .expect("the follower led a WAIT of its own")
            .unwrap();
    }
}
