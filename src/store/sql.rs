//! `Store` over sqlx's `Any` driver: the same SQL serves SQLite and PostgreSQL (times are
//! epoch milliseconds, booleans 0/1, ids text).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Row, Transaction};
use uuid::Uuid;

use super::{HistoryEntry, QuizSummary, Store, StoreError};
use crate::domain::quiz::{Question, Quiz};
use crate::domain::{Millis, SessionCode};
use crate::live::{AnswerRow, SessionResults, Standing};

#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    /// Quizzes never change once saved, so every session of a quiz shares one parse of it
    /// for as long as any holds it (the largest quiz is most of a megabyte).
    quizzes: Arc<Mutex<HashMap<Uuid, Weak<Quiz>>>>,
}

impl SqlStore {
    pub fn new(pool: AnyPool) -> Self {
        Self {
            pool,
            quizzes: Arc::default(),
        }
    }

    fn cached(&self, id: Uuid) -> Option<Arc<Quiz>> {
        let map = self.quizzes.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&id).and_then(Weak::upgrade)
    }

    /// Keeps the first parse if two readers raced; drops entries nobody holds any more.
    fn remember(&self, quiz: Quiz) -> Arc<Quiz> {
        let mut map = self.quizzes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(held) = map.get(&quiz.id).and_then(Weak::upgrade) {
            return held;
        }
        if map.len() >= 64 && map.len().is_power_of_two() {
            map.retain(|_, w| w.strong_count() > 0);
        }
        let quiz = Arc::new(quiz);
        map.insert(quiz.id, Arc::downgrade(&quiz));
        quiz
    }

    async fn load_quiz(&self, id: Uuid) -> Result<Option<Quiz>, StoreError> {
        let Some(row) = sqlx::query("SELECT author_id, title, demo FROM quizzes WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let questions = sqlx::query(
            "SELECT id, idx, prompt, choices, correct_choice, time_limit_ms
             FROM questions WHERE quiz_id = $1 ORDER BY idx",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(question_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Quiz {
            dealt_from: None,
            id,
            author_id: row.try_get("author_id")?,
            title: row.try_get("title")?,
            demo: row.try_get::<i64, _>("demo")? != 0,
            questions,
        }))
    }
}

fn parse_uuid(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("uuid {s:?}: {e}")))
}

fn question_from_row(row: &AnyRow) -> Result<Question, StoreError> {
    let choices: String = row.try_get("choices")?;
    Ok(Question {
        id: parse_uuid(row.try_get("id")?)?,
        index: row.try_get::<i64, _>("idx")? as u32,
        prompt: row.try_get("prompt")?,
        choices: serde_json::from_str(&choices)
            .map_err(|e| StoreError::Corrupt(format!("choices: {e}")))?,
        correct_choice: row.try_get::<i64, _>("correct_choice")? as u32,
        time_limit_ms: row.try_get::<i64, _>("time_limit_ms")? as u32,
    })
}

async fn insert_results(
    tx: &mut Transaction<'_, Any>,
    r: &SessionResults,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO results (code, quiz_id, quiz_title, host_id, finished_at, players,
             question_count, last_index, questions)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (code) DO NOTHING",
    )
    .bind(r.code.as_str())
    .bind(r.quiz_id.to_string())
    .bind(&r.quiz_title)
    .bind(&r.host_id)
    .bind(r.finished_at)
    .bind(r.standings.len() as i64)
    .bind(i64::from(r.question_count))
    .bind(r.last_index.map(i64::from))
    .bind(
        serde_json::to_string(&r.questions)
            .map_err(|e| StoreError::Corrupt(format!("questions: {e}")))?,
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(false);
    }
    for (i, s) in r.standings.iter().enumerate() {
        sqlx::query(
            "INSERT INTO result_standings (code, position, user_id, display_name, rank, score)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(r.code.as_str())
        .bind(i as i64)
        .bind(&s.user_id)
        .bind(&s.display_name)
        .bind(i64::from(s.rank))
        .bind(i64::from(s.score))
        .execute(&mut **tx)
        .await?;
    }
    for (i, a) in r.answers.iter().enumerate() {
        sqlx::query(
            "INSERT INTO result_answers (code, position, user_id, display_name, question_id, idx,
                 choice, correct, awarded_points, answer_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(r.code.as_str())
        .bind(i as i64)
        .bind(&a.user_id)
        .bind(&a.display_name)
        .bind(a.question_id.to_string())
        .bind(i64::from(a.index))
        .bind(i64::from(a.choice))
        .bind(i64::from(a.correct))
        .bind(i64::from(a.awarded_points))
        .bind(a.answer_ms as i64)
        .execute(&mut **tx)
        .await?;
    }
    Ok(true)
}

#[async_trait]
impl Store for SqlStore {
    async fn save_user(&self, id: &str, display_name: &str, now: Millis) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, display_name, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name",
        )
        .bind(id)
        .bind(display_name)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn save_quiz(&self, quiz: &Quiz, now: Millis) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO quizzes (id, author_id, title, demo, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(quiz.id.to_string())
        .bind(quiz.author_id.clone())
        .bind(&quiz.title)
        .bind(i64::from(quiz.demo))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for q in &quiz.questions {
            sqlx::query(
                "INSERT INTO questions (id, quiz_id, idx, prompt, choices, correct_choice, time_limit_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(q.id.to_string())
            .bind(quiz.id.to_string())
            .bind(i64::from(q.index))
            .bind(q.prompt.as_ref())
            .bind(serde_json::to_string(&q.choices).unwrap_or_default())
            .bind(i64::from(q.correct_choice))
            .bind(i64::from(q.time_limit_ms))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn quiz(&self, id: Uuid) -> Result<Option<Arc<Quiz>>, StoreError> {
        if let Some(quiz) = self.cached(id) {
            return Ok(Some(quiz));
        }
        Ok(self.load_quiz(id).await?.map(|q| self.remember(q)))
    }

    async fn quiz_count(&self, author: &str) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM quizzes WHERE author_id = $1")
            .bind(author)
            .fetch_one(&self.pool)
            .await?;
        Ok(n.max(0) as u64)
    }

    async fn signing_key(&self, candidate: &str, now: Millis) -> Result<String, StoreError> {
        // Whoever inserts first wins; every node then reads the same key.
        sqlx::query(
            "INSERT INTO server_secrets (name, value, created_at) VALUES ('jwt_hs256', $1, $2)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(candidate)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = 'jwt_hs256'")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn quizzes_for(&self, author: &str) -> Result<Vec<QuizSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT q.id, q.title, q.demo, (SELECT COUNT(*) FROM questions WHERE quiz_id = q.id) AS n
             FROM quizzes q WHERE q.author_id = $1 OR q.demo = 1
             ORDER BY q.demo DESC, q.created_at DESC",
        )
        .bind(author)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(QuizSummary {
                    quiz_id: parse_uuid(row.try_get("id")?)?,
                    title: row.try_get("title")?,
                    demo: row.try_get::<i64, _>("demo")? != 0,
                    question_count: row.try_get::<i64, _>("n")? as u32,
                })
            })
            .collect()
    }

    async fn save_results(&self, results: &SessionResults) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if insert_results(&mut tx, results).await? {
            tx.commit().await?;
        }
        Ok(())
    }

    async fn results(&self, code: SessionCode) -> Result<Option<SessionResults>, StoreError> {
        let Some(head) = sqlx::query(
            "SELECT quiz_id, quiz_title, host_id, finished_at, question_count, last_index, questions
             FROM results WHERE code = $1",
        )
        .bind(code.as_str())
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let standings = sqlx::query(
            "SELECT user_id, display_name, rank, score FROM result_standings
             WHERE code = $1 ORDER BY position",
        )
        .bind(code.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Standing {
                rank: r.try_get::<i64, _>("rank")? as u32,
                user_id: r.try_get("user_id")?,
                display_name: r.try_get("display_name")?,
                score: r.try_get::<i64, _>("score")? as u32,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let answers = sqlx::query(
            "SELECT user_id, display_name, question_id, idx, choice, correct, awarded_points, answer_ms
             FROM result_answers WHERE code = $1 ORDER BY position",
        )
        .bind(code.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(AnswerRow {
                user_id: r.try_get("user_id")?,
                display_name: r.try_get("display_name")?,
                question_id: parse_uuid(r.try_get("question_id")?)?,
                index: r.try_get::<i64, _>("idx")? as u32,
                choice: r.try_get::<i64, _>("choice")? as u32,
                correct: r.try_get::<i64, _>("correct")? != 0,
                awarded_points: r.try_get::<i64, _>("awarded_points")? as u32,
                answer_ms: r.try_get::<i64, _>("answer_ms")? as u64,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some(SessionResults {
            code,
            quiz_id: parse_uuid(head.try_get("quiz_id")?)?,
            quiz_title: head.try_get("quiz_title")?,
            host_id: head.try_get("host_id")?,
            finished_at: head.try_get("finished_at")?,
            question_count: head.try_get::<i64, _>("question_count")? as u32,
            last_index: head
                .try_get::<Option<i64>, _>("last_index")?
                .map(|i| i as u32),
            standings,
            answers,
            questions: serde_json::from_str(&head.try_get::<String, _>("questions")?)
                .map_err(|e| StoreError::Corrupt(format!("questions: {e}")))?,
        }))
    }

    async fn history(&self, user: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.code, r.quiz_title, r.finished_at, r.players, s.score, s.rank
             FROM result_standings s JOIN results r ON r.code = s.code
             WHERE s.user_id = $1 ORDER BY r.finished_at DESC, r.code",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(HistoryEntry {
                    code: r.try_get("code")?,
                    quiz_title: r.try_get("quiz_title")?,
                    finished_at: r.try_get("finished_at")?,
                    players: r.try_get::<i64, _>("players")? as u32,
                    score: r.try_get::<i64, _>("score")? as u32,
                    rank: r.try_get::<i64, _>("rank")? as u32,
                })
            })
            .collect()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
