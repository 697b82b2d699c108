//! The durable store: users, quizzes and the results of finished sessions. All SQL lives
//! below this module; callers see plain domain types. SQLite or PostgreSQL, one SQL dialect.

pub mod db;
pub mod journal;
pub mod sql;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use crate::domain::quiz::Quiz;
use crate::domain::{Millis, SessionCode};
use crate::live::SessionResults;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Config(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuizSummary {
    pub quiz_id: Uuid,
    pub title: String,
    pub question_count: u32,
    pub demo: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub code: String,
    pub quiz_title: String,
    pub finished_at: Millis,
    pub score: u32,
    pub rank: u32,
    pub players: u32,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn save_user(&self, id: &str, display_name: &str, now: Millis) -> Result<(), StoreError>;
    async fn save_quiz(&self, quiz: &Quiz, now: Millis) -> Result<(), StoreError>;
    /// A quiz, shared: every caller gets the same parse while any of them holds it.
    async fn quiz(&self, id: Uuid) -> Result<Option<Arc<Quiz>>, StoreError>;
    /// How many quizzes the author has saved (for the quota).
    async fn quiz_count(&self, author: &str) -> Result<u64, StoreError>;
    /// The token signing key: `candidate` is stored if none is yet, and the stored one is
    /// returned, so every process sharing the database signs alike.
    async fn signing_key(&self, candidate: &str, now: Millis) -> Result<String, StoreError>;
    /// The author's quizzes and every demo quiz, newest first.
    async fn quizzes_for(&self, author: &str) -> Result<Vec<QuizSummary>, StoreError>;
    /// Writes a finished session's results in one transaction; writing them again is a no-op.
    async fn save_results(&self, results: &SessionResults) -> Result<(), StoreError>;
    async fn results(&self, code: SessionCode) -> Result<Option<SessionResults>, StoreError>;
    /// The user's finished sessions, newest first.
    async fn history(&self, user: &str) -> Result<Vec<HistoryEntry>, StoreError>;
    async fn ping(&self) -> Result<(), StoreError>;
}
