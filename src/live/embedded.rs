//! Embedded live state: sessions in memory, every change journalled to the database before it is
//! acknowledged, and read back at start-up. Locks are std mutexes held only for in-memory
//! work (never across `.await`); waiting for durability happens after they are released.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use async_trait::async_trait;

use super::record::{AnswerRecord, PlayerRecord, SessionRecord};
use super::{
    AnswerInput, AnswerOutcome, Applied, Clock, Joined, LiveError, LiveState, LogEntry, NewSession,
    Replay, SessionResults, event_id,
};
use crate::domain::deal::{DealSeed, deal};
use crate::domain::event::{
    AnswerCounts, AnswerResult, EventKind, Leaderboard, Score, SessionState,
};
use crate::domain::feedback::Feedback;
use crate::domain::session::{Command, Phase, Status};
use crate::domain::{DisplayName, Millis, SessionCode, UserId};
use crate::store::Store;
use crate::store::journal::{
    Journal, JournalFull, JournalOp, StoredAnswer, StoredSession, load_sessions,
};

/// How long a request waits for its change to be committed before answering 503.
const DURABLE_WAIT: Duration = Duration::from_secs(5);
/// Finished sessions whose results were not yet confirmed stored are restored this long.
const KEEP_FINISHED_MS: Millis = 24 * 3_600_000;

type Shared = Arc<Mutex<SessionRecord>>;

pub struct EmbeddedLive {
    sessions: RwLock<HashMap<SessionCode, Shared>>,
    /// Each host's unfinished sessions, for the quota.
    hosting: Mutex<HashMap<UserId, HashSet<SessionCode>>>,
    journal: Journal,
    auto_advance_ms: u32,
}

fn lock(record: &Shared) -> MutexGuard<'_, SessionRecord> {
    // A panic while holding the lock leaves plain data behind; keep serving it.
    record.lock().unwrap_or_else(|e| e.into_inner())
}

impl From<JournalFull> for LiveError {
    fn from(_: JournalFull) -> Self {
        LiveError::Unavailable("too many changes queued; retry shortly".into())
    }
}

fn phase_json(phase: &Phase) -> String {
    serde_json::to_string(phase).unwrap_or_default()
}

fn answer_op(code: SessionCode, a: &AnswerRecord) -> JournalOp {
    JournalOp::Answer {
        code: code.to_string(),
        index: i64::from(a.index),
        user_id: a.user_id.clone(),
        choice: i64::from(a.choice),
        nonce: a.nonce.clone(),
        answer_ms: a.answer_ms as i64,
        accepted_at: a.accepted_at,
        seq: a.seq as i64,
        result: serde_json::to_string(&a.result).unwrap_or_default(),
    }
}

/// An answer read back from the journal; `score` recomputes how it scored.
fn restored_answer(a: StoredAnswer) -> anyhow::Result<AnswerRecord> {
    Ok(AnswerRecord {
        user_id: a.user_id,
        index: a.index as u32,
        choice: a.choice as u32,
        nonce: a.nonce,
        answer_ms: a.answer_ms as u64,
        accepted_at: a.accepted_at,
        seq: a.seq as u64,
        journal_pos: 0,
        correct: false,
        awarded_points: 0,
        result: serde_json::from_str::<AnswerResult>(&a.result)?,
    })
}

fn player_op(code: SessionCode, user: &str, p: &PlayerRecord) -> JournalOp {
    JournalOp::Player {
        code: code.to_string(),
        user_id: user.to_owned(),
        display_name: p.display_name.clone(),
        join_seq: p.join_seq as i64,
        left: p.left,
        removed: p.removed,
    }
}

impl EmbeddedLive {
    /// Builds the live state from what the journal holds (sessions still running, and those
    /// finished within the last hour).
    pub async fn recover(
        journal: Journal,
        pool: &sqlx::AnyPool,
        store: &dyn Store,
        auto_advance_ms: u32,
        now: Millis,
    ) -> anyhow::Result<Self> {
        let mut sessions = HashMap::new();
        let mut hosting: HashMap<UserId, HashSet<SessionCode>> = HashMap::new();
        for stored in load_sessions(pool, now - KEEP_FINISHED_MS).await? {
            let code = stored.code.clone();
            match Self::restore(stored, store, auto_advance_ms).await {
                Ok(record) => {
                    if record.phase.status != Status::Finished {
                        hosting
                            .entry(record.host_id.clone())
                            .or_default()
                            .insert(record.code);
                    }
                    sessions.insert(record.code, Arc::new(Mutex::new(record)));
                }
                Err(e) => tracing::error!(%code, error = %e, "cannot restore session; skipped"),
            }
        }
        if !sessions.is_empty() {
            tracing::info!(sessions = sessions.len(), "restored live sessions");
        }
        Ok(Self {
            sessions: RwLock::new(sessions),
            hosting: Mutex::new(hosting),
            journal,
            auto_advance_ms,
        })
    }

    async fn restore(
        s: StoredSession,
        store: &dyn Store,
        auto_advance_ms: u32,
    ) -> anyhow::Result<SessionRecord> {
        let code = SessionCode::parse(&s.code)?;
        let quiz = store
            .quiz(s.quiz_id.parse()?)
            .await?
            .ok_or_else(|| anyhow::anyhow!("quiz {} is gone", s.quiz_id))?;
        let quiz = match &s.deal_seed {
            Some(seed) => Arc::new(deal(&quiz, &DealSeed::parse(seed)?)),
            None => quiz,
        };
        let mut record = SessionRecord::new(
            code,
            quiz,
            s.host_id,
            s.auto_advance.then_some(auto_advance_ms),
            s.max_players as u32,
            s.epoch as u64,
            s.created_at,
        );
        record.feedback = Feedback::from_stored(s.feedback.as_deref());
        record.locked = s.locked;
        for p in &s.players {
            record.restore_player(
                &p.user_id,
                &p.display_name,
                p.join_seq as u64,
                p.left,
                p.removed,
            );
        }
        let phase: Phase = serde_json::from_str(&s.phase)?;
        // Answers to a question still open in an `at_reveal` session come after the
        // standings views show, as they did before the restart.
        let open = phase
            .question_index
            .filter(|_| record.feedback.hides(&phase));
        let (hidden, settled): (Vec<_>, Vec<_>) = s
            .answers
            .into_iter()
            .partition(|a| open == Some(a.index as u32));
        let first_hidden = hidden.iter().map(|a| a.seq as u64).min();
        record.phase = phase;
        for a in settled {
            record.score(restored_answer(a)?);
        }
        if open.is_some() {
            record.freeze(first_hidden);
        }
        for a in hidden {
            record.score(restored_answer(a)?);
        }

        let mut log = Vec::with_capacity(s.log.len());
        for (seq, name, data) in s.log {
            let kind = EventKind::from_name(&name)
                .ok_or_else(|| anyhow::anyhow!("unknown event {name}"))?;
            log.push(LogEntry {
                id: event_id(record.epoch, seq as u64),
                kind,
                data: data.into(),
            });
        }
        record.restore_log(log);
        Ok(record)
    }

    fn get(&self, code: SessionCode) -> Result<Shared, LiveError> {
        let map = self.sessions.read().unwrap_or_else(|e| e.into_inner());
        map.get(&code).cloned().ok_or(LiveError::NotFound)
    }

    async fn durable(&self, pos: u64) -> Result<(), LiveError> {
        if self.journal.durable(pos, DURABLE_WAIT).await {
            Ok(())
        } else {
            Err(LiveError::Unavailable(
                "the change is not stored yet; retry (answers: with the same nonce)".into(),
            ))
        }
    }

    fn read<T>(
        &self,
        code: SessionCode,
        f: impl FnOnce(&SessionRecord) -> T,
    ) -> Result<T, LiveError> {
        let shared = self.get(code)?;
        let record = lock(&shared);
        Ok(f(&record))
    }
}

#[async_trait]
impl LiveState for EmbeddedLive {
    async fn create(&self, s: NewSession) -> Result<(), LiveError> {
        let epoch = (s.created_at / 1000).max(1) as u64;
        let mut record = SessionRecord::new(
            s.code,
            s.quiz.clone(),
            s.host_id.clone(),
            s.auto_advance.then_some(self.auto_advance_ms),
            s.max_players,
            epoch,
            s.created_at,
        );
        record.feedback = s.feedback;
        let pos = {
            let mut map = self.sessions.write().unwrap_or_else(|e| e.into_inner());
            if map.contains_key(&s.code) {
                return Err(LiveError::CodeTaken);
            }
            let pos = self.journal.reserve()?.send(vec![JournalOp::Session {
                code: s.code.to_string(),
                quiz_id: s.quiz.id.to_string(),
                host_id: s.host_id,
                auto_advance: s.auto_advance,
                max_players: i64::from(s.max_players),
                epoch: epoch as i64,
                created_at: s.created_at,
                phase: phase_json(&record.phase),
                deal_seed: s.seed.to_string(),
                feedback: s.feedback.as_str(),
            }]);
            map.insert(s.code, Arc::new(Mutex::new(record)));
            pos
        };
        self.durable(pos).await
    }

    async fn state(
        &self,
        code: SessionCode,
        viewer: Option<&str>,
        now: Millis,
    ) -> Result<(SessionState, u64), LiveError> {
        self.read(code, |r| (r.state(viewer, now), r.last_event_id()))
    }

    async fn clock(&self, code: SessionCode) -> Result<Clock, LiveError> {
        self.read(code, |r| Clock {
            phase: r.phase.clone(),
            host_id: r.host_id.clone(),
            question_count: r.quiz.question_count(),
            created_at: r.created_at,
        })
    }

    async fn reserve_host_slot(
        &self,
        host: &str,
        code: SessionCode,
        max: u32,
        _now: Millis,
    ) -> Result<bool, LiveError> {
        let mut hosting = self.hosting.lock().unwrap_or_else(|e| e.into_inner());
        let mine = hosting.entry(host.to_owned()).or_default();
        if mine.len() >= max as usize && !mine.contains(&code) {
            return Ok(false);
        }
        mine.insert(code);
        Ok(true)
    }

    async fn release_host_slot(&self, host: &str, code: SessionCode) -> Result<(), LiveError> {
        let mut hosting = self.hosting.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mine) = hosting.get_mut(host) {
            mine.remove(&code);
            if mine.is_empty() {
                hosting.remove(host);
            }
        }
        Ok(())
    }

    async fn join(
        &self,
        code: SessionCode,
        user: &str,
        name: &DisplayName,
    ) -> Result<Joined, LiveError> {
        let shared = self.get(code)?;
        let pos = {
            let mut r = lock(&shared);
            if r.players.get(user).is_some_and(|p| !p.left) {
                return Ok(Joined { changed: false });
            }
            let reservation = self.journal.reserve()?;
            let Some(p) = r.join(user, name.as_str())? else {
                return Ok(Joined { changed: false });
            };
            reservation.send(vec![player_op(code, user, p)])
        };
        self.durable(pos).await?;
        Ok(Joined { changed: true })
    }

    async fn leave(&self, code: SessionCode, user: &str) -> Result<bool, LiveError> {
        let shared = self.get(code)?;
        let pos = {
            let mut r = lock(&shared);
            if r.players.get(user).is_none_or(|p| p.left) {
                return Ok(false);
            }
            let reservation = self.journal.reserve()?;
            let Some(p) = r.leave(user) else {
                return Ok(false);
            };
            reservation.send(vec![player_op(code, user, p)])
        };
        self.durable(pos).await?;
        Ok(true)
    }

    async fn set_locked(&self, code: SessionCode, locked: bool) -> Result<(), LiveError> {
        let shared = self.get(code)?;
        let pos = {
            let mut r = lock(&shared);
            if r.locked == locked {
                return Ok(());
            }
            let reservation = self.journal.reserve()?;
            r.locked = locked;
            reservation.send(vec![JournalOp::Lock {
                code: code.to_string(),
                locked,
            }])
        };
        self.durable(pos).await
    }

    async fn remove(&self, code: SessionCode, user: &str) -> Result<bool, LiveError> {
        let shared = self.get(code)?;
        let pos = {
            let mut r = lock(&shared);
            let reservation = self.journal.reserve()?;
            if !r.remove(user)? {
                return Ok(false);
            }
            let Some(p) = r.players.get(user) else {
                return Ok(false);
            };
            reservation.send(vec![player_op(code, user, p)])
        };
        self.durable(pos).await?;
        Ok(true)
    }

    async fn is_removed(&self, code: SessionCode, user: &str) -> Result<bool, LiveError> {
        self.read(code, |r| r.players.get(user).is_some_and(|p| p.removed))
    }

    async fn revealed(&self, code: SessionCode) -> Result<(), LiveError> {
        let shared = self.get(code)?;
        lock(&shared).reveal();
        Ok(())
    }

    async fn answer(
        &self,
        code: SessionCode,
        input: AnswerInput,
        now: Millis,
    ) -> Result<AnswerOutcome, LiveError> {
        let shared = self.get(code)?;
        let (outcome, pos) = {
            let mut r = lock(&shared);
            let reservation = self.journal.reserve()?;
            let outcome = r.answer(&input, now)?;
            let pos = match &outcome {
                AnswerOutcome::Accepted { index, .. } => {
                    let index = *index;
                    let op = r
                        .answer_record(index, &input.user_id)
                        .map(|a| answer_op(code, a));
                    let pos = reservation.send(op.into_iter().collect());
                    r.set_journal_pos(index, &input.user_id, pos);
                    pos
                }
                // A retry must not be acknowledged before the first answer is stored.
                AnswerOutcome::Replayed(res) | AnswerOutcome::Conflict(res) => {
                    r.journal_pos_of(res.question_id, &input.user_id)
                }
            };
            (outcome, pos)
        };
        self.durable(pos).await?;
        Ok(outcome)
    }

    async fn apply(
        &self,
        code: SessionCode,
        cmd: Command,
        now: Millis,
    ) -> Result<Applied, LiveError> {
        let shared = self.get(code)?;
        let (applied, pos) = {
            let mut r = lock(&shared);
            let reservation = self.journal.reserve()?;
            let entries = r.apply(cmd, now)?;
            let applied = Applied {
                phase: r.phase.clone(),
                entries,
            };
            if applied.entries.is_empty() {
                return Ok(applied);
            }
            let mut ops = vec![JournalOp::Phase {
                code: code.to_string(),
                phase: phase_json(&r.phase),
                finished_at: r.phase.finished_at,
            }];
            ops.extend(applied.entries.iter().map(|e| JournalOp::Log {
                code: code.to_string(),
                seq: super::split_event_id(e.id).1 as i64,
                event: e.kind.name(),
                data: e.data.clone(),
            }));
            (applied, reservation.send(ops))
        };
        self.durable(pos).await?;
        Ok(applied)
    }

    async fn leaderboard(
        &self,
        code: SessionCode,
        offset: usize,
        limit: usize,
    ) -> Result<Leaderboard, LiveError> {
        self.read(code, |r| r.leaderboard(offset, limit))
    }

    async fn score(&self, code: SessionCode, user: &str) -> Result<Option<Score>, LiveError> {
        self.read(code, |r| r.score_of(user))
    }

    async fn scores(&self, code: SessionCode) -> Result<Vec<(UserId, Score)>, LiveError> {
        self.read(code, |r| r.active_scores())
    }

    async fn log_since(&self, code: SessionCode, after: u64) -> Result<Replay, LiveError> {
        self.read(code, |r| r.log_since(after))
    }

    async fn open_counts(&self, code: SessionCode) -> Result<Option<AnswerCounts>, LiveError> {
        self.read(code, |r| r.open_counts())
    }

    async fn results(&self, code: SessionCode) -> Result<SessionResults, LiveError> {
        self.read(code, |r| r.results())?
            .ok_or(LiveError::NotFinished)
    }

    async fn names(&self, code: SessionCode, users: &[UserId]) -> Result<Vec<String>, LiveError> {
        self.read(code, |r| {
            users
                .iter()
                .map(|u| {
                    r.players
                        .get(u)
                        .map(|p| p.display_name.clone())
                        .unwrap_or_default()
                })
                .collect()
        })
    }

    async fn player_ids(&self, code: SessionCode) -> Result<Vec<UserId>, LiveError> {
        self.read(code, |r| {
            r.players
                .iter()
                .filter(|(_, p)| !p.left)
                .map(|(u, _)| u.clone())
                .collect()
        })
    }

    async fn sessions(&self) -> Result<Vec<SessionCode>, LiveError> {
        let map = self.sessions.read().unwrap_or_else(|e| e.into_inner());
        Ok(map.keys().copied().collect())
    }

    async fn forget(&self, code: SessionCode) -> Result<(), LiveError> {
        let pos = {
            let mut map = self.sessions.write().unwrap_or_else(|e| e.into_inner());
            if map.remove(&code).is_none() {
                return Ok(());
            }
            self.journal.reserve()?.send(vec![JournalOp::Forget {
                code: code.to_string(),
            }])
        };
        self.durable(pos).await
    }

    async fn ping(&self) -> Result<(), LiveError> {
        if self.journal.healthy() {
            Ok(())
        } else {
            Err(LiveError::Unavailable("journal commits are failing".into()))
        }
    }
}
