//! What clients are shown of a session: leaderboard pages, a player's standing and `score`
//! snapshot, `session_state` with the reveal. While an `at_reveal` question is open (and
//! until its close is out) they show the standings frozen when it opened.

use super::{Outcome, SessionRecord, TOP, question_view};
use crate::domain::Millis;
use crate::domain::UserId;
use crate::domain::event::{
    AnswerCounts, LastAnswer, Leaderboard, LeaderboardEntry, Score, SessionState, You,
};
use crate::domain::leaderboard::Board;
use crate::domain::scoring::Streak;
use crate::domain::session::Status;
use crate::domain::standing;

/// A player's standing as a view shows it.
pub(super) struct Shown {
    pub(super) score: u32,
    pub(super) streak: Streak,
    pub(super) rank: u32,
    pub(super) answered_any: bool,
    /// The question whose result it reflects.
    pub(super) settled: Option<u32>,
}

impl SessionRecord {
    /// The board views show, and the `version` it reflects.
    fn shown_board(&self) -> (&Board, u64) {
        match &self.frozen {
            Some(f) if self.phase.status != Status::Finished => (&f.board, f.version),
            _ => (&self.board, self.next_seq - 1),
        }
    }

    pub(super) fn board_page(
        &self,
        board: &Board,
        version: u64,
        offset: usize,
        limit: usize,
    ) -> Leaderboard {
        let entries = board
            .page(offset, limit)
            .into_iter()
            .map(|r| LeaderboardEntry {
                display_name: self
                    .players
                    .get(&r.user_id)
                    .map(|p| p.display_name.clone())
                    .unwrap_or_default(),
                rank: r.rank,
                user_id: r.user_id,
                score: r.score,
            })
            .collect();
        Leaderboard {
            players: self.active_players(),
            entries,
            version,
        }
    }

    pub fn leaderboard(&self, offset: usize, limit: usize) -> Leaderboard {
        let (board, version) = self.shown_board();
        self.board_page(board, version, offset, limit)
    }

    /// The player's standing as views show it: as of the last reveal while frozen.
    pub(super) fn shown(&self, user: &str) -> Shown {
        let (board, _) = self.shown_board();
        let player = self.players.get(user);
        match (&self.frozen, player) {
            (Some(f), Some(_)) if self.phase.status != Status::Finished => {
                // A player who came after the question opened had nothing then.
                let (score, streak) = f
                    .players
                    .get(user)
                    .map_or((0, Streak::default()), |(p, s)| (p.score, *s));
                let open = self.phase.question_index.unwrap_or(0) as usize;
                Shown {
                    score,
                    streak,
                    rank: board.rank_of_score(score),
                    answered_any: self.answers[..open].iter().any(|a| a.contains_key(user)),
                    settled: self.phase.question_index.and_then(|i| i.checked_sub(1)),
                }
            }
            (_, p) => {
                let score = p.map_or(0, |p| p.score);
                let answered_open = self
                    .phase
                    .question_index
                    .is_some_and(|i| self.answer_record(i, user).is_some());
                Shown {
                    score,
                    streak: p.map_or_else(Streak::default, |p| p.streak),
                    rank: board.rank_of_score(score),
                    answered_any: self.answers.iter().any(|a| a.contains_key(user)),
                    settled: standing::settled_index(&self.phase, answered_open),
                }
            }
        }
    }

    pub fn score_of(&self, user: &str) -> Option<Score> {
        self.players.get(user)?;
        let shown = self.shown(user);
        let settled = shown.settled.map(|i| {
            let outcome = self.answer_record(i, user).map(|a| Outcome {
                correct: a.correct,
                awarded_points: a.awarded_points,
            });
            (i, self.quiz.questions[i as usize].id, outcome)
        });
        let standing = standing::PlayerStanding {
            score: shown.score,
            streak: shown.streak,
            rank: shown.rank,
            answered_any: shown.answered_any,
        };
        Some(standing::snapshot(&standing, settled))
    }

    pub fn open_counts(&self) -> Option<AnswerCounts> {
        let index = self
            .phase
            .question_index
            .filter(|_| self.phase.status == Status::Question)?;
        Some(AnswerCounts {
            question_id: self.quiz.questions[index as usize].id,
            answer_counts: self.counts[index as usize].clone(),
            answered: self.answers[index as usize].len() as u32,
            players: self.active_players(),
        })
    }

    pub fn active_scores(&self) -> Vec<(UserId, Score)> {
        self.players
            .iter()
            .filter(|(_, p)| !p.left)
            .filter_map(|(u, _)| Some((u.clone(), self.score_of(u)?)))
            .collect()
    }

    /// The question being revealed, if the session is in a reveal.
    fn revealed_index(&self) -> Option<u32> {
        self.phase
            .question_index
            .filter(|_| self.phase.status == Status::Reveal)
    }

    pub fn state(&self, viewer: Option<&str>, now: Millis) -> SessionState {
        let revealed = self.revealed_index();
        let question = question_view(&self.quiz, &self.phase, now).map(|view| match revealed {
            Some(i) => view.revealed(
                self.quiz.questions[i as usize].correct_choice,
                self.counts[i as usize].clone(),
            ),
            None => view,
        });
        let you = viewer.and_then(|u| {
            let p = self.players.get(u)?;
            let score = self.score_of(u)?;
            let last = revealed.map(|i| {
                self.answer_record(i, u).map(|a| LastAnswer {
                    choice: a.choice,
                    correct: a.correct,
                    awarded_points: a.awarded_points,
                })
            });
            Some(You {
                joined: !p.left,
                score: score.score,
                rank: score.rank,
                streak: score.streak,
                last,
                removed: p.removed,
            })
        });
        SessionState {
            session_id: self.code.to_string(),
            quiz_title: self.quiz.title.clone(),
            status: self.phase.status,
            question_index: self.phase.question_index,
            question_count: self.quiz.question_count(),
            question,
            players: self.active_players(),
            leaderboard: self.leaderboard(0, TOP).entries,
            you,
            locked: self.locked,
            auto_advance: self.auto_advance_ms.is_some(),
            next_at: SessionState::next_at(&self.phase),
        }
    }
}
