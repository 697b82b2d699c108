//! When players learn how they did. `instant`: each answer's reply and `score` event say
//! at once whether it was right, and the leaderboard moves as answers come in. `at_reveal`:
//! nothing tells who was right until the question closes, so a room cannot read the answer
//! off a neighbour's phone or the big screen; scores are still computed at acceptance.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::session::{Phase, Status};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Feedback {
    /// Answers are scored and shown at once.
    #[default]
    Instant,
    /// Results and leaderboard moves wait for the question to close.
    AtReveal,
}

impl Feedback {
    /// The stored spelling (the same as the JSON one).
    pub const fn as_str(self) -> &'static str {
        match self {
            Feedback::Instant => "instant",
            Feedback::AtReveal => "at_reveal",
        }
    }

    /// Reads a stored value; anything unknown (older rows have none) is `instant`.
    pub fn from_stored(s: Option<&str>) -> Self {
        match s {
            Some("at_reveal") => Feedback::AtReveal,
            _ => Feedback::Instant,
        }
    }

    /// Whether views must show the standings as of the last reveal right now: only while a
    /// question is open in an `at_reveal` session.
    pub fn hides(self, phase: &Phase) -> bool {
        self == Feedback::AtReveal && phase.status == Status::Question
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_open_question_of_an_at_reveal_session_hides() {
        let open = Phase {
            status: Status::Question,
            question_index: Some(0),
            ..Phase::lobby()
        };
        let reveal = Phase {
            status: Status::Reveal,
            ..open.clone()
        };
        assert!(Feedback::AtReveal.hides(&open));
        assert!(!Feedback::AtReveal.hides(&reveal));
        assert!(!Feedback::AtReveal.hides(&Phase::lobby()));
        assert!(!Feedback::Instant.hides(&open));
    }

    #[test]
    fn stored_values_round_trip_and_default_to_instant() {
        for f in [Feedback::Instant, Feedback::AtReveal] {
            assert_eq!(Feedback::from_stored(Some(f.as_str())), f);
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(json, format!("\"{}\"", f.as_str()));
        }
        assert_eq!(Feedback::from_stored(None), Feedback::Instant);
        assert_eq!(Feedback::from_stored(Some("later")), Feedback::Instant);
    }
}
