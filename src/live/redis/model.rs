//! What Redis holds for a session, as Rust sees it, and how replies are read back.

use std::sync::Arc;

use fred::prelude::*;

use super::super::{AnswerOutcome, LiveError, LogEntry, event_id};
use crate::domain::Millis;
use crate::domain::event::{AnswerResult, EventKind, Leaderboard, LeaderboardEntry};
use crate::domain::quiz::Quiz;
use crate::domain::scoring::Streak;
use crate::domain::standing::Outcome;

/// Board scores pack (score, who reached it first) into one double: score * 2^32 + rest.
const SHIFT: f64 = 4_294_967_296.0;

pub(super) fn unavailable(e: Error) -> LiveError {
    LiveError::Unavailable(format!("redis: {e}"))
}

/// What never changes about a session, cached per node.
#[derive(Clone)]
pub(super) struct Info {
    pub(super) quiz: Arc<Quiz>,
    pub(super) host_id: String,
    pub(super) auto_advance: bool,
    pub(super) epoch: u64,
    pub(super) created_at: Millis,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct PlayerJson {
    pub(super) n: String,
    pub(super) j: u64,
    pub(super) l: bool,
    /// Removed by the host.
    #[serde(default)]
    pub(super) k: bool,
    pub(super) s: u32,
    pub(super) r: u64,
    pub(super) c: u32,
    pub(super) x: i64,
    #[serde(default)]
    pub(super) a: bool,
}

impl PlayerJson {
    pub(super) fn streak(&self) -> Streak {
        Streak {
            count: self.c,
            last_index: u32::try_from(self.x).ok(),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct AnswerJson {
    pub(super) index: u32,
    pub(super) choice: u32,
    pub(super) nonce: Option<String>,
    pub(super) answer_ms: u64,
    pub(super) accepted_at: Millis,
    pub(super) seq: u64,
    /// How it actually scored; the reply (`result`) may not say (`at_reveal`).
    #[serde(default)]
    pub(super) correct: Option<bool>,
    #[serde(default)]
    pub(super) points: Option<u32>,
    pub(super) result: AnswerResult,
}

impl AnswerJson {
    /// How it scored (answers stored before `correct`/`points` existed: from the reply).
    pub(super) fn outcome(&self) -> Outcome {
        Outcome {
            correct: self.correct.or(self.result.correct).unwrap_or_default(),
            awarded_points: self
                .points
                .or(self.result.awarded_points)
                .unwrap_or_default(),
        }
    }
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, LiveError> {
    serde_json::from_str(raw).map_err(|e| LiveError::Unavailable(format!("bad data in redis: {e}")))
}

pub(super) fn text(v: &Value) -> Option<String> {
    if v.is_null() { None } else { v.as_string() }
}

pub(super) fn parse_page(v: &[Value], offset: usize) -> Leaderboard {
    let players = v.first().and_then(Value::as_i64).unwrap_or(0) as u32;
    let first_rank = v.get(1).and_then(Value::as_i64).unwrap_or(0) as u32;
    let rows: Vec<String> = v
        .get(2)
        .map(|r| r.clone().into_array().iter().filter_map(text).collect())
        .unwrap_or_default();
    let names: Vec<String> = v
        .get(3)
        .map(|r| {
            r.clone()
                .into_array()
                .iter()
                .map(|n| text(n).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    let mut entries = Vec::with_capacity(rows.len() / 2);
    let mut rank = first_rank;
    let mut prev = None;
    for (i, pair) in rows.chunks(2).enumerate() {
        let [user, composite] = pair else { continue };
        let score = (composite.parse::<f64>().unwrap_or(0.0) / SHIFT).floor() as u32;
        if prev.is_some_and(|p| p != score) {
            rank = (offset + i + 1) as u32;
        }
        prev = Some(score);
        entries.push(LeaderboardEntry {
            rank,
            user_id: user.clone(),
            display_name: names.get(i).cloned().unwrap_or_default(),
            score,
        });
    }
    let version = v.get(4).and_then(Value::as_u64).unwrap_or(0);
    Leaderboard {
        players,
        entries,
        version,
    }
}

pub(super) fn status_of(reply: &Value) -> String {
    match reply {
        Value::Array(items) => items.first().and_then(text).unwrap_or_default(),
        other => text(other).unwrap_or_default(),
    }
}

pub(super) fn answer_outcome(first: AnswerJson, nonce: &Option<String>) -> AnswerOutcome {
    if nonce.is_some() && first.nonce == *nonce {
        AnswerOutcome::Replayed(first.result)
    } else {
        AnswerOutcome::Conflict(first.result)
    }
}

/// Log entries from `seq, event, data` triples.
pub(super) fn parse_log(epoch: u64, items: &[String]) -> Vec<LogEntry> {
    items
        .chunks(3)
        .filter_map(|t| {
            let [seq, event, data] = t else { return None };
            Some(LogEntry {
                id: event_id(epoch, seq.parse().ok()?),
                kind: EventKind::from_name(event)?,
                data: data.as_str().into(),
            })
        })
        .collect()
}
