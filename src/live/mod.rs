//! Live state of running sessions: phase, players, answers, leaderboard and the event log.
//! Behind `LiveState` so the embedded backend (memory + SQLite journal) and a shared one
//! (Redis) are interchangeable. It must not depend on HTTP or on the hub.

pub mod embedded;
pub mod record;
pub mod redis;

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::deal::DealSeed;
use crate::domain::event::{
    AnswerCounts, AnswerResult, EventKind, Leaderboard, Score, SessionState,
};
use crate::domain::feedback::Feedback;
use crate::domain::quiz::Quiz;
use crate::domain::session::{Command, Phase, PhaseError};
use crate::domain::{DisplayName, Millis, SessionCode, UserId};

/// Log ids carry the log's epoch in their high bits, so ids from a lost log never match
/// a new one, and still increase within a session.
pub const SEQ_BITS: u32 = 20;

pub fn event_id(epoch: u64, seq: u64) -> u64 {
    (epoch << SEQ_BITS) | seq
}

pub fn split_event_id(id: u64) -> (u64, u64) {
    (id >> SEQ_BITS, id & ((1 << SEQ_BITS) - 1))
}

/// One entry of a session's log, already serialised.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub id: u64,
    pub kind: EventKind,
    pub data: Arc<str>,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub code: SessionCode,
    /// The quiz as this session deals it (`deal(quiz, seed)`).
    pub quiz: Arc<Quiz>,
    /// Kept with the session so a restarted or another node deals the same.
    pub seed: DealSeed,
    pub host_id: UserId,
    pub auto_advance: bool,
    pub max_players: u32,
    pub feedback: Feedback,
    pub created_at: Millis,
}

#[derive(Debug, Clone)]
pub struct AnswerInput {
    pub user_id: UserId,
    pub question_id: uuid::Uuid,
    pub choice: i64,
    pub nonce: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AnswerOutcome {
    /// Scored now. `all_answered` tells the caller the question may close.
    Accepted {
        result: AnswerResult,
        index: u32,
        all_answered: bool,
    },
    /// The same nonce again: the stored reply.
    Replayed(AnswerResult),
    /// A different second answer: the first reply.
    Conflict(AnswerResult),
}

/// What `log_since` finds.
#[derive(Debug, Clone, PartialEq)]
pub enum Replay {
    /// Every entry after the given id, in order (possibly none).
    Entries(Vec<LogEntry>),
    /// The id belongs to another epoch, is ahead of the log, or is no longer kept.
    Unknown,
}

/// The outcome of a command: the new phase and the log entries it appended.
#[derive(Debug, Clone)]
pub struct Applied {
    pub phase: Phase,
    pub entries: Vec<LogEntry>,
}

/// A session's clock as the runner needs it.
#[derive(Debug, Clone)]
pub struct Clock {
    pub phase: Phase,
    pub host_id: UserId,
    pub question_count: u32,
    pub created_at: Millis,
}

/// Everything kept of a finished session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionResults {
    pub code: SessionCode,
    pub quiz_id: uuid::Uuid,
    pub quiz_title: String,
    pub host_id: UserId,
    pub finished_at: Millis,
    pub question_count: u32,
    /// The index of the last question opened (`null` if none was).
    pub last_index: Option<u32>,
    pub standings: Vec<Standing>,
    pub answers: Vec<AnswerRow>,
    /// The questions as this session played them (ids, choice order, correct choice), so
    /// results can show words. Empty for results stored before they were kept.
    pub questions: Vec<crate::domain::quiz::Question>,
}

/// Final standings of every player who ever joined, in leaderboard order.
pub fn standings<'a>(
    players: impl IntoIterator<Item = (&'a str, &'a str, crate::domain::leaderboard::Position)>,
) -> Vec<Standing> {
    let mut board = crate::domain::leaderboard::Board::default();
    let mut names = std::collections::HashMap::new();
    for (user, name, position) in players {
        board.set(user, position);
        names.insert(user, name);
    }
    board
        .page(0, usize::MAX)
        .into_iter()
        .map(|r| Standing {
            rank: r.rank,
            display_name: names
                .get(r.user_id.as_str())
                .map_or_else(String::new, |n| (*n).to_owned()),
            user_id: r.user_id,
            score: r.score,
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub rank: u32,
    pub user_id: UserId,
    pub display_name: String,
    pub score: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRow {
    pub user_id: UserId,
    pub display_name: String,
    pub question_id: uuid::Uuid,
    pub index: u32,
    pub choice: u32,
    pub correct: bool,
    pub awarded_points: u32,
    pub answer_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("no session with that code")]
    NotFound,
    #[error("the session has finished")]
    Finished,
    #[error("the session is full")]
    Full,
    #[error("the session is locked: the host lets no new players in")]
    Locked,
    #[error("the host removed you from this session")]
    Removed,
    #[error("no such player in this session")]
    NoSuchPlayer,
    #[error("only players of this session may answer")]
    NotPlayer,
    #[error("{0}")]
    NotOpen(&'static str),
    #[error("choice must index into the question's choices")]
    InvalidChoice,
    #[error(transparent)]
    Phase(#[from] PhaseError),
    #[error("that session code is taken")]
    CodeTaken,
    #[error("the session has not finished yet")]
    NotFinished,
    #[error("live state unavailable: {0}")]
    Unavailable(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// First join, or a return after leaving.
    pub changed: bool,
}

#[async_trait]
pub trait LiveState: Send + Sync + 'static {
    async fn create(&self, session: NewSession) -> Result<(), LiveError>;
    /// The snapshot for `viewer` and the id of the last log entry it reflects.
    async fn state(
        &self,
        code: SessionCode,
        viewer: Option<&str>,
        now: Millis,
    ) -> Result<(SessionState, u64), LiveError>;
    async fn clock(&self, code: SessionCode) -> Result<Clock, LiveError>;
    /// Counts `code` among `host`'s unfinished sessions unless they already number `max`
    /// (then `false`). Atomic, so parallel requests cannot pass the quota together.
    async fn reserve_host_slot(
        &self,
        host: &str,
        code: SessionCode,
        max: u32,
        now: Millis,
    ) -> Result<bool, LiveError>;
    /// The session no longer counts against its host (it finished, or was never created).
    async fn release_host_slot(&self, host: &str, code: SessionCode) -> Result<(), LiveError>;
    async fn join(
        &self,
        code: SessionCode,
        user: &str,
        name: &DisplayName,
    ) -> Result<Joined, LiveError>;
    /// `true` when the user was a player and now is not.
    async fn leave(&self, code: SessionCode, user: &str) -> Result<bool, LiveError>;
    /// Locks (or unlocks) the session: a locked one takes no new players.
    async fn set_locked(&self, code: SessionCode, locked: bool) -> Result<(), LiveError>;
    /// Removes a player for good: off the board, and no joining again. `true` when they
    /// were not removed before; `NoSuchPlayer` for someone who never joined.
    async fn remove(&self, code: SessionCode, user: &str) -> Result<bool, LiveError>;
    /// Whether the host removed `user` from the session.
    async fn is_removed(&self, code: SessionCode, user: &str) -> Result<bool, LiveError>;
    /// Called once a question's `question_closed` (or `session_finished`) is published:
    /// an `at_reveal` session's views may show the real standings from now on. Backends
    /// that switch atomically with the close may ignore it.
    async fn revealed(&self, code: SessionCode) -> Result<(), LiveError>;
    async fn answer(
        &self,
        code: SessionCode,
        input: AnswerInput,
        now: Millis,
    ) -> Result<AnswerOutcome, LiveError>;
    async fn apply(
        &self,
        code: SessionCode,
        cmd: Command,
        now: Millis,
    ) -> Result<Applied, LiveError>;
    async fn leaderboard(
        &self,
        code: SessionCode,
        offset: usize,
        limit: usize,
    ) -> Result<Leaderboard, LiveError>;
    /// The player's `score` snapshot; `None` for someone who never joined.
    async fn score(&self, code: SessionCode, user: &str) -> Result<Option<Score>, LiveError>;
    /// Every active player's `score` snapshot.
    async fn scores(&self, code: SessionCode) -> Result<Vec<(UserId, Score)>, LiveError>;
    async fn log_since(&self, code: SessionCode, after: u64) -> Result<Replay, LiveError>;
    /// Answers so far to the open question; `None` when no question is open.
    async fn open_counts(&self, code: SessionCode) -> Result<Option<AnswerCounts>, LiveError>;
    async fn results(&self, code: SessionCode) -> Result<SessionResults, LiveError>;
    /// Display names of the given users, for presence lists.
    async fn names(&self, code: SessionCode, users: &[UserId]) -> Result<Vec<String>, LiveError>;
    /// Ids of the players who have joined and not left.
    async fn player_ids(&self, code: SessionCode) -> Result<Vec<UserId>, LiveError>;
    /// Every session held, finished ones included (their results may still need saving).
    async fn sessions(&self) -> Result<Vec<SessionCode>, LiveError>;
    /// Drops a finished session whose results are stored.
    async fn forget(&self, code: SessionCode) -> Result<(), LiveError>;
    async fn ping(&self) -> Result<(), LiveError>;
}
