//! The embedded backend's journal: every change to a live session is written to the database
//! before it is acknowledged. One writer task commits whatever has queued up in a single
//! transaction (group commit), so a burst of answers costs a few commits, not one each.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::{Any, AnyPool, Row, Transaction};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::StoreError;
use crate::domain::Millis;

/// Most operations committed in one transaction.
const MAX_BATCH: usize = 1024;

#[derive(Debug, Clone)]
pub enum JournalOp {
    Session {
        code: String,
        quiz_id: String,
        host_id: String,
        auto_advance: bool,
        max_players: i64,
        epoch: i64,
        created_at: Millis,
        phase: String,
        deal_seed: String,
        feedback: &'static str,
    },
    Phase {
        code: String,
        phase: String,
        finished_at: Option<Millis>,
    },
    Player {
        code: String,
        user_id: String,
        display_name: String,
        join_seq: i64,
        left: bool,
        removed: bool,
    },
    /// The host locked or unlocked the session to new players.
    Lock { code: String, locked: bool },
    Answer {
        code: String,
        index: i64,
        user_id: String,
        choice: i64,
        nonce: Option<String>,
        answer_ms: i64,
        accepted_at: Millis,
        seq: i64,
        result: String,
    },
    Log {
        code: String,
        seq: i64,
        event: &'static str,
        data: Arc<str>,
    },
    /// Drops a finished session's live rows (its results are in the store by then).
    Forget { code: String },
}

#[derive(Debug, thiserror::Error)]
#[error("the journal queue is full")]
pub struct JournalFull;

struct Inner {
    tx: mpsc::Sender<(u64, Vec<JournalOp>)>,
    /// Last position handed out; taken together with the send so positions stay in order.
    next: Mutex<u64>,
    committed: watch::Receiver<u64>,
    healthy: Arc<AtomicBool>,
}

pub struct Reservation<'a> {
    permit: mpsc::Permit<'a, (u64, Vec<JournalOp>)>,
    next: std::sync::MutexGuard<'a, u64>,
}

impl Reservation<'_> {
    /// Queues the operations; returns the position to wait for with `Journal::durable`.
    pub fn send(mut self, ops: Vec<JournalOp>) -> u64 {
        *self.next += 1;
        let pos = *self.next;
        self.permit.send((pos, ops));
        pos
    }
}

#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

impl Journal {
    pub fn start(pool: AnyPool, capacity: usize) -> (Journal, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(capacity);
        let (committed_tx, committed) = watch::channel(0);
        let healthy = Arc::new(AtomicBool::new(true));
        let journal = Journal {
            inner: Arc::new(Inner {
                tx,
                next: Mutex::new(0),
                committed,
                healthy: healthy.clone(),
            }),
        };
        // The writer ends once every handle (and so the sender) is dropped.
        let writer = tokio::spawn(write_loop(pool, rx, committed_tx, healthy));
        (journal, writer)
    }

    /// Reserves room for one submission. Never blocks, so it may be taken while holding a
    /// session's lock, before changing memory: a full queue then rejects the change cleanly,
    /// and journal order equals the order of changes in memory.
    pub fn reserve(&self) -> Result<Reservation<'_>, JournalFull> {
        let next = self.inner.next.lock().unwrap_or_else(|e| e.into_inner());
        let permit = self.inner.tx.try_reserve().map_err(|_| JournalFull)?;
        Ok(Reservation { permit, next })
    }

    /// Waits until everything up to `pos` is committed; `false` on timeout.
    pub async fn durable(&self, pos: u64, timeout: Duration) -> bool {
        if pos == 0 || *self.inner.committed.borrow() >= pos {
            return true;
        }
        let mut rx = self.inner.committed.clone();
        matches!(
            tokio::time::timeout(timeout, rx.wait_for(|c| *c >= pos)).await,
            Ok(Ok(_))
        )
    }

    pub fn healthy(&self) -> bool {
        self.inner.healthy.load(Ordering::Relaxed)
    }
}

async fn write_loop(
    pool: AnyPool,
    mut rx: mpsc::Receiver<(u64, Vec<JournalOp>)>,
    committed: watch::Sender<u64>,
    healthy: Arc<AtomicBool>,
) {
    let mut batch: Vec<(u64, Vec<JournalOp>)> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut ops = first.1.len();
        batch.push(first);
        while ops < MAX_BATCH {
            match rx.try_recv() {
                Ok(item) => {
                    ops += item.1.len();
                    batch.push(item);
                }
                Err(_) => break,
            }
        }
        let last = batch.last().map_or(0, |b| b.0);
        let mut backoff = Duration::from_millis(20);
        // Nothing waiting on this batch has been acknowledged: keep it and retry.
        while let Err(e) = write_batch(&pool, &batch).await {
            healthy.store(false, Ordering::Relaxed);
            tracing::error!(error = %e, "journal commit failed; retrying");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
        healthy.store(true, Ordering::Relaxed);
        batch.clear();
        committed.send_replace(last);
    }
}

async fn write_batch(pool: &AnyPool, batch: &[(u64, Vec<JournalOp>)]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for op in batch.iter().flat_map(|(_, ops)| ops) {
        write_op(&mut tx, op).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn write_op(tx: &mut Transaction<'_, Any>, op: &JournalOp) -> Result<(), StoreError> {
    let query = match op {
        JournalOp::Session {
            code,
            quiz_id,
            host_id,
            auto_advance,
            max_players,
            epoch,
            created_at,
            phase,
            deal_seed,
            feedback,
        } => sqlx::query(
            "INSERT INTO live_sessions (code, quiz_id, host_id, auto_advance, max_players, epoch, created_at, phase, deal_seed, feedback)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(code)
        .bind(quiz_id)
        .bind(host_id)
        .bind(i64::from(*auto_advance))
        .bind(max_players)
        .bind(epoch)
        .bind(created_at)
        .bind(phase)
        .bind(deal_seed)
        .bind(*feedback),
        JournalOp::Phase {
            code,
            phase,
            finished_at,
        } => sqlx::query("UPDATE live_sessions SET phase = $2, finished_at = $3 WHERE code = $1")
            .bind(code)
            .bind(phase)
            .bind(finished_at),
        JournalOp::Player {
            code,
            user_id,
            display_name,
            join_seq,
            left,
            removed,
        } => sqlx::query(
            "INSERT INTO live_players (code, user_id, display_name, join_seq, left_session, removed)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (code, user_id) DO UPDATE SET left_session = excluded.left_session,
                 removed = excluded.removed",
        )
        .bind(code)
        .bind(user_id)
        .bind(display_name)
        .bind(join_seq)
        .bind(i64::from(*left))
        .bind(i64::from(*removed)),
        JournalOp::Lock { code, locked } => {
            sqlx::query("UPDATE live_sessions SET locked = $2 WHERE code = $1")
                .bind(code)
                .bind(i64::from(*locked))
        }
        JournalOp::Answer {
            code,
            index,
            user_id,
            choice,
            nonce,
            answer_ms,
            accepted_at,
            seq,
            result,
        } => sqlx::query(
            "INSERT INTO live_answers (code, idx, user_id, choice, nonce, answer_ms, accepted_at, seq, result)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(code)
        .bind(index)
        .bind(user_id)
        .bind(choice)
        .bind(nonce)
        .bind(answer_ms)
        .bind(accepted_at)
        .bind(seq)
        .bind(result),
        JournalOp::Log {
            code,
            seq,
            event,
            data,
        } => sqlx::query("INSERT INTO live_log (code, seq, event, data) VALUES ($1, $2, $3, $4)")
            .bind(code)
            .bind(seq)
            .bind(*event)
            .bind(data.as_ref()),
        JournalOp::Forget { code } => {
            sqlx::query("DELETE FROM live_sessions WHERE code = $1").bind(code)
        }
    };
    query.execute(&mut **tx).await?;
    Ok(())
}

// ---- reading back after a restart -------------------------------------------------------

#[derive(Debug, Clone)]
pub struct StoredSession {
    pub code: String,
    pub quiz_id: String,
    pub host_id: String,
    pub auto_advance: bool,
    pub max_players: i64,
    pub epoch: i64,
    pub created_at: Millis,
    pub phase: String,
    /// `None` for sessions created before deals existed: they play the quiz as authored.
    pub deal_seed: Option<String>,
    pub feedback: Option<String>,
    pub locked: bool,
    pub players: Vec<StoredPlayer>,
    pub answers: Vec<StoredAnswer>,
    pub log: Vec<(i64, String, String)>,
}

#[derive(Debug, Clone)]
pub struct StoredPlayer {
    pub user_id: String,
    pub display_name: String,
    pub join_seq: i64,
    pub left: bool,
    pub removed: bool,
}

#[derive(Debug, Clone)]
pub struct StoredAnswer {
    pub index: i64,
    pub user_id: String,
    pub choice: i64,
    pub nonce: Option<String>,
    pub answer_ms: i64,
    pub accepted_at: Millis,
    pub seq: i64,
    pub result: String,
}

/// Sessions not finished, or finished after `finished_since`, with everything they hold.
pub async fn load_sessions(
    pool: &AnyPool,
    finished_since: Millis,
) -> Result<Vec<StoredSession>, StoreError> {
    let heads = sqlx::query(
        "SELECT code, quiz_id, host_id, auto_advance, max_players, epoch, created_at, phase,
             deal_seed, feedback, locked
         FROM live_sessions WHERE finished_at IS NULL OR finished_at >= $1",
    )
    .bind(finished_since)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(heads.len());
    for h in heads {
        let code: String = h.try_get("code")?;
        let players = sqlx::query(
            "SELECT user_id, display_name, join_seq, left_session, removed FROM live_players
             WHERE code = $1 ORDER BY join_seq",
        )
        .bind(&code)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(StoredPlayer {
                user_id: r.try_get("user_id")?,
                display_name: r.try_get("display_name")?,
                join_seq: r.try_get("join_seq")?,
                left: r.try_get::<i64, _>("left_session")? != 0,
                removed: r.try_get::<i64, _>("removed")? != 0,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let answers = sqlx::query(
            "SELECT idx, user_id, choice, nonce, answer_ms, accepted_at, seq, result
             FROM live_answers WHERE code = $1 ORDER BY seq",
        )
        .bind(&code)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(StoredAnswer {
                index: r.try_get("idx")?,
                user_id: r.try_get("user_id")?,
                choice: r.try_get("choice")?,
                nonce: r.try_get("nonce")?,
                answer_ms: r.try_get("answer_ms")?,
                accepted_at: r.try_get("accepted_at")?,
                seq: r.try_get("seq")?,
                result: r.try_get("result")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let log = sqlx::query("SELECT seq, event, data FROM live_log WHERE code = $1 ORDER BY seq")
            .bind(&code)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("seq")?, r.try_get("event")?, r.try_get("data")?)))
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        out.push(StoredSession {
            quiz_id: h.try_get("quiz_id")?,
            host_id: h.try_get("host_id")?,
            auto_advance: h.try_get::<i64, _>("auto_advance")? != 0,
            max_players: h.try_get("max_players")?,
            epoch: h.try_get("epoch")?,
            created_at: h.try_get("created_at")?,
            phase: h.try_get("phase")?,
            deal_seed: h.try_get("deal_seed")?,
            feedback: h.try_get("feedback")?,
            locked: h.try_get::<i64, _>("locked")? != 0,
            code,
            players,
            answers,
            log,
        });
    }
    Ok(out)
}
