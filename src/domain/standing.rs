//! A player's `score` snapshot: which question it reflects and what it says. Shared by
//! every live-state backend so they cannot drift apart.

use uuid::Uuid;

use super::event::Score;
use super::scoring::Streak;
use super::session::{Phase, Status};

/// The question whose result the snapshot reflects: the open one once answered, else the
/// one before it; the revealed (or last) one otherwise.
pub fn settled_index(phase: &Phase, answered_open: bool) -> Option<u32> {
    let index = phase.question_index?;
    match phase.status {
        Status::Question if !answered_open => index.checked_sub(1),
        _ => Some(index),
    }
}

/// How an answer actually scored (the reply may not have said, in an `at_reveal` session).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub correct: bool,
    pub awarded_points: u32,
}

pub struct PlayerStanding {
    pub score: u32,
    pub streak: Streak,
    pub rank: u32,
    /// Whether the player has answered any question yet.
    pub answered_any: bool,
}

/// `settled` is the settled question's id and the player's answer to it, if any.
pub fn snapshot(player: &PlayerStanding, settled: Option<(u32, Uuid, Option<Outcome>)>) -> Score {
    match settled.filter(|_| player.answered_any) {
        None => Score {
            question_id: None,
            correct: None,
            awarded_points: 0,
            score: player.score,
            rank: player.rank,
            streak: 0,
        },
        Some((index, question_id, answer)) => Score {
            question_id: Some(question_id),
            correct: answer.map(|a| a.correct),
            awarded_points: answer.map_or(0, |a| a.awarded_points),
            score: player.score,
            rank: player.rank,
            streak: player.streak.as_of(Some(index)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(status: Status, index: Option<u32>) -> Phase {
        Phase {
            status,
            question_index: index,
            ..Phase::lobby()
        }
    }

    #[test]
    fn settles_on_the_right_question() {
        assert_eq!(settled_index(&phase(Status::Lobby, None), false), None);
        assert_eq!(
            settled_index(&phase(Status::Question, Some(0)), false),
            None
        );
        assert_eq!(
            settled_index(&phase(Status::Question, Some(2)), false),
            Some(1)
        );
        assert_eq!(
            settled_index(&phase(Status::Question, Some(2)), true),
            Some(2)
        );
        assert_eq!(
            settled_index(&phase(Status::Reveal, Some(2)), false),
            Some(2)
        );
    }

    #[test]
    fn before_any_answer_the_snapshot_is_empty() {
        let p = PlayerStanding {
            score: 0,
            streak: Streak::default(),
            rank: 3,
            answered_any: false,
        };
        let s = snapshot(&p, Some((1, Uuid::nil(), None)));
        assert_eq!((s.question_id, s.correct, s.rank), (None, None, 3));
        let p = PlayerStanding {
            answered_any: true,
            ..p
        };
        let s = snapshot(&p, Some((1, Uuid::nil(), None)));
        assert_eq!(
            (s.question_id, s.correct, s.streak),
            (Some(Uuid::nil()), None, 0)
        );
    }
}
