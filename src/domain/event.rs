//! The shapes clients see: the `session_state` object, every event payload and the answer
//! result. Event names come from `EventKind::name`, never from input.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::session::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    SessionState,
    QuestionOpened,
    QuestionClosed,
    SessionFinished,
    Leaderboard,
    Presence,
    Score,
    Answers,
}

impl EventKind {
    pub const fn name(self) -> &'static str {
        match self {
            EventKind::SessionState => "session_state",
            EventKind::QuestionOpened => "question_opened",
            EventKind::QuestionClosed => "question_closed",
            EventKind::SessionFinished => "session_finished",
            EventKind::Leaderboard => "leaderboard",
            EventKind::Presence => "presence",
            EventKind::Score => "score",
            EventKind::Answers => "answers",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [
            EventKind::SessionState,
            EventKind::QuestionOpened,
            EventKind::QuestionClosed,
            EventKind::SessionFinished,
            EventKind::Leaderboard,
            EventKind::Presence,
            EventKind::Score,
            EventKind::Answers,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }

    /// Log events carry ids and are replayed; the rest are snapshots.
    pub const fn is_log(self) -> bool {
        matches!(
            self,
            EventKind::QuestionOpened | EventKind::QuestionClosed | EventKind::SessionFinished
        )
    }
}

/// `question_opened`: a question is open; its correct choice is never part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QuestionOpened {
    pub question_id: Uuid,
    /// 0-based.
    pub index: u32,
    pub prompt: String,
    pub choices: Vec<String>,
    pub time_limit_ms: u32,
    /// RFC 3339 UTC.
    pub closes_at: String,
}

/// `question_closed`: the reveal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QuestionClosed {
    pub question_id: Uuid,
    pub correct_choice: u32,
    /// How many players chose each choice, in choice order.
    pub answer_counts: Vec<u32>,
    /// How many players answered.
    pub answered: u32,
    /// Players in the session when it closed.
    pub players: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LeaderboardEntry {
    /// 1 + the number of players with a strictly higher score.
    pub rank: u32,
    pub user_id: String,
    pub display_name: String,
    pub score: u32,
}

/// `leaderboard` and `session_finished` events, and `GET …/leaderboard`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Leaderboard {
    /// Players in the session (joined and not left).
    pub players: u32,
    pub entries: Vec<LeaderboardEntry>,
    /// Grows with every join and every scored answer in the session; this board reflects
    /// every answer whose `version` is at most this.
    #[serde(default)]
    pub version: u64,
}

/// `GET …/players` (host only): the leaderboard with who has a live connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Roster {
    /// Players in the session (joined and not left).
    pub players: u32,
    /// How many of them have a live connection (SSE or poll) on any node.
    pub online: u32,
    pub entries: Vec<RosterEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RosterEntry {
    pub rank: u32,
    pub user_id: String,
    pub display_name: String,
    pub score: u32,
    /// The player has a live connection (SSE or poll) on some node.
    pub online: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Member {
    pub user_id: String,
    pub display_name: String,
}

/// `presence`: who is here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Presence {
    /// Joined players who have not left.
    pub players: u32,
    /// Players with a live connection (SSE or poll).
    pub online: u32,
    /// Who joined since the previous `presence` event (at most 50).
    pub joined: Vec<Member>,
    /// Who left explicitly since the previous `presence` event (at most 50).
    pub left: Vec<Member>,
}

/// `score`: the player's own standing (private).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Score {
    /// The question this reflects; `null` before the first answer.
    pub question_id: Option<Uuid>,
    /// `null` before the first answer and for a question left unanswered.
    pub correct: Option<bool>,
    pub awarded_points: u32,
    pub score: u32,
    pub rank: u32,
    pub streak: u32,
}

/// `answers`: how the open question is being answered so far. Private to the host (players
/// must not see which choice is popular), coalesced like `leaderboard`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AnswerCounts {
    pub question_id: Uuid,
    /// How many players chose each choice so far, in choice order.
    pub answer_counts: Vec<u32>,
    pub answered: u32,
    pub players: u32,
}

/// The reply to an accepted answer.
///
/// In an `at_reveal` session nothing in it tells whether the answer was right: `correct` and
/// `awarded_points` are `null`, and `score`, `rank` and `streak` are the player's as of the
/// last reveal; the `score` event after the question's `question_closed` tells the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AnswerResult {
    pub question_id: Uuid,
    /// `null` until the reveal in an `at_reveal` session.
    pub correct: Option<bool>,
    /// `null` until the reveal in an `at_reveal` session.
    pub awarded_points: Option<u32>,
    /// The player's total after this answer (`at_reveal`: as of the last reveal).
    pub score: u32,
    pub rank: u32,
    /// Correct answers in a row, including this one (`at_reveal`: as of the last reveal).
    pub streak: u32,
    /// This answer's place in the session's changes: a `leaderboard` whose `version` is at
    /// least this one reflects it.
    #[serde(default)]
    pub version: u64,
}

/// The open (or just revealed) question inside `session_state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QuestionView {
    pub question_id: Uuid,
    pub index: u32,
    pub prompt: String,
    pub choices: Vec<String>,
    pub time_limit_ms: u32,
    pub closes_at: String,
    /// Server-computed; 0 once closed.
    pub time_left_ms: u64,
    /// Only during the reveal: the correct choice (absent while the question is open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correct_choice: Option<u32>,
    /// Only during the reveal: how many players chose each choice, in choice order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_counts: Option<Vec<u32>>,
    /// Only during the reveal: how many players answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<u32>,
}

impl QuestionView {
    /// Adds what the reveal shows: the correct choice and how the room answered.
    pub fn revealed(mut self, correct_choice: u32, answer_counts: Vec<u32>) -> Self {
        self.answered = Some(answer_counts.iter().sum());
        self.correct_choice = Some(correct_choice);
        self.answer_counts = Some(answer_counts);
        self
    }
}

/// A player's own result for the revealed question (`you.last`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LastAnswer {
    /// The choice made, as an index into the question's `choices`.
    pub choice: u32,
    pub correct: bool,
    pub awarded_points: u32,
}

/// The caller's own standing inside `session_state`; `null` for a watcher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct You {
    pub joined: bool,
    pub score: u32,
    pub rank: u32,
    pub streak: u32,
    /// Only during the reveal: the player's result for the revealed question, `null` when
    /// they did not answer it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[schema(value_type = Option<LastAnswer>, nullable)]
    pub last: Option<Option<LastAnswer>>,
    /// The host removed this player from the session: they cannot join or follow it again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
}

/// A field that is present, even as `null`, is `Some` (`you.last` is `null` for a player
/// who did not answer, and absent outside the reveal).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `session_state`: everything a client needs to draw the session from scratch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionState {
    #[schema(example = "K7P2QX")]
    pub session_id: String,
    pub quiz_title: String,
    pub status: Status,
    /// `null` in the lobby; the last question's index once finished.
    pub question_index: Option<u32>,
    pub question_count: u32,
    /// Present while a question is open or revealed.
    pub question: Option<QuestionView>,
    pub players: u32,
    /// Top 10 (`at_reveal` sessions: as of the last reveal while a question is open).
    pub leaderboard: Vec<LeaderboardEntry>,
    pub you: Option<You>,
    /// The host locked the session: it takes no new players.
    #[serde(default)]
    pub locked: bool,
    /// The session moves on by itself a few seconds after each reveal.
    #[serde(default)]
    pub auto_advance: bool,
    /// During a reveal of an `auto_advance` session: when the next question opens (or the
    /// session finishes), RFC 3339 UTC; `null` otherwise.
    #[serde(default)]
    pub next_at: Option<String>,
}

impl SessionState {
    /// When an `auto_advance` reveal ends, for `next_at`.
    pub fn next_at(phase: &crate::domain::session::Phase) -> Option<String> {
        (phase.status == crate::domain::session::Status::Reveal)
            .then_some(phase.advance_at)
            .flatten()
            .map(crate::domain::rfc3339)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_only_state_changes_are_logged() {
        for kind in [
            EventKind::SessionState,
            EventKind::QuestionOpened,
            EventKind::QuestionClosed,
            EventKind::SessionFinished,
            EventKind::Leaderboard,
            EventKind::Presence,
            EventKind::Score,
            EventKind::Answers,
        ] {
            assert_eq!(EventKind::from_name(kind.name()), Some(kind));
        }
        assert!(EventKind::QuestionClosed.is_log());
        assert!(!EventKind::Leaderboard.is_log());
        assert!(!EventKind::Score.is_log());
    }
}
