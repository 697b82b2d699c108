//! One running session held in memory: the aggregate that enforces the rules in one place
//! (one answer per player per question, ranks, the log). Pure: callers persist what the
//! methods return and hold the lock only for the call.

use std::collections::HashMap;
use std::sync::Arc;

use crate::domain::event::{AnswerResult, EventKind, QuestionClosed, QuestionOpened, QuestionView};
use crate::domain::feedback::Feedback;
use crate::domain::leaderboard::{Board, Position};
use crate::domain::quiz::Quiz;
use crate::domain::scoring::{Streak, score_answer};
use crate::domain::session::{Command, Phase, Plan, Status, Step};
use crate::domain::standing::Outcome;
use crate::domain::unique_names::UniqueNames;
use crate::domain::{Millis, SessionCode, UserId, rfc3339};

use super::{
    AnswerInput, AnswerOutcome, AnswerRow, LiveError, LogEntry, Replay, SessionResults, event_id,
};

mod views;

pub const TOP: usize = 10;

#[derive(Debug, Clone)]
pub struct PlayerRecord {
    pub display_name: String,
    pub join_seq: u64,
    pub left: bool,
    /// Removed by the host: off the board for good, and may not join again.
    pub removed: bool,
    pub score: u32,
    pub reached: u64,
    pub streak: Streak,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AnswerRecord {
    pub user_id: UserId,
    pub index: u32,
    pub choice: u32,
    pub nonce: Option<String>,
    pub answer_ms: u64,
    pub accepted_at: Millis,
    /// Ordering of this answer among every change of the session.
    pub seq: u64,
    /// Position in the journal at which it becomes durable (0: already durable).
    pub journal_pos: u64,
    /// How it actually scored (set by `SessionRecord::score`).
    pub correct: bool,
    pub awarded_points: u32,
    /// The reply first given (in an `at_reveal` session it does not say how it scored).
    pub result: AnswerResult,
}

/// The standings as of the last reveal, kept while an `at_reveal` question is open and
/// until its close has been published: views show these, answers move only the real ones.
#[derive(Debug, Clone)]
struct Frozen {
    board: Board,
    /// Each player's position and streak when the question opened (later players had none).
    players: HashMap<UserId, (Position, Streak)>,
    /// The leaderboard `version` these standings reflect.
    version: u64,
}

#[derive(Debug)]
pub struct SessionRecord {
    pub code: SessionCode,
    pub quiz: Arc<Quiz>,
    pub host_id: UserId,
    pub auto_advance_ms: Option<u32>,
    pub max_players: u32,
    pub epoch: u64,
    pub created_at: Millis,
    pub feedback: Feedback,
    /// Takes no new players (those already in may come back).
    pub locked: bool,
    pub phase: Phase,
    pub players: HashMap<UserId, PlayerRecord>,
    names: UniqueNames,
    board: Board,
    /// Answers per question index.
    answers: Vec<HashMap<UserId, AnswerRecord>>,
    counts: Vec<Vec<u32>>,
    pub log: Vec<LogEntry>,
    next_seq: u64,
    frozen: Option<Frozen>,
}

/// The quiz as the state machine sees it, with the session's auto-advance pause.
pub struct QuizPlan<'a>(pub &'a Quiz, pub Option<u32>);

/// The question part of `session_state`: shown while open or revealed.
pub fn question_view(quiz: &Quiz, phase: &Phase, now: Millis) -> Option<QuestionView> {
    let (Status::Question | Status::Reveal, Some(i)) = (phase.status, phase.question_index) else {
        return None;
    };
    let q = quiz.question(i)?;
    let closes_at = phase.closes_at.unwrap_or(now);
    Some(QuestionView {
        question_id: q.id,
        index: i,
        prompt: q.prompt.to_string(),
        choices: q.choice_texts(),
        time_limit_ms: q.time_limit_ms,
        closes_at: rfc3339(closes_at),
        time_left_ms: if phase.status == Status::Question {
            (closes_at - now).max(0) as u64
        } else {
            0
        },
        correct_choice: None,
        answer_counts: None,
        answered: None,
    })
}

/// The `question_opened` payload: never the correct choice.
pub fn opened_event(q: &crate::domain::quiz::Question, closes_at: Millis) -> QuestionOpened {
    QuestionOpened {
        question_id: q.id,
        index: q.index,
        prompt: q.prompt.to_string(),
        choices: q.choice_texts(),
        time_limit_ms: q.time_limit_ms,
        closes_at: rfc3339(closes_at),
    }
}

impl Plan for QuizPlan<'_> {
    fn question_count(&self) -> u32 {
        self.0.question_count()
    }
    fn time_limit_ms(&self, index: u32) -> u32 {
        self.0.question(index).map_or(0, |q| q.time_limit_ms)
    }
    fn auto_advance_ms(&self) -> Option<u32> {
        self.1
    }
}

fn json(value: &impl serde::Serialize) -> Arc<str> {
    // Serialising our own plain structs cannot fail.
    serde_json::to_string(value).unwrap_or_default().into()
}

impl SessionRecord {
    pub fn new(
        code: SessionCode,
        quiz: Arc<Quiz>,
        host_id: UserId,
        auto_advance_ms: Option<u32>,
        max_players: u32,
        epoch: u64,
        created_at: Millis,
    ) -> Self {
        let n = quiz.questions.len();
        let counts = quiz
            .questions
            .iter()
            .map(|q| vec![0; q.choices.len()])
            .collect();
        Self {
            code,
            quiz,
            host_id,
            auto_advance_ms,
            max_players,
            epoch,
            created_at,
            feedback: Feedback::Instant,
            locked: false,
            phase: Phase::lobby(),
            players: HashMap::new(),
            names: UniqueNames::default(),
            board: Board::default(),
            answers: vec![HashMap::new(); n],
            counts,
            log: Vec::new(),
            next_seq: 1,
            frozen: None,
        }
    }

    fn take_seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    pub fn active_players(&self) -> u32 {
        self.board.len() as u32
    }

    pub fn last_event_id(&self) -> u64 {
        self.log.last().map_or(event_id(self.epoch, 0), |e| e.id)
    }

    // ---- players ------------------------------------------------------------------------

    /// Joins (or rejoins) a player. Returns the record to persist when something changed.
    pub fn join(&mut self, user: &str, name: &str) -> Result<Option<&PlayerRecord>, LiveError> {
        if self.phase.status == Status::Finished {
            return Err(LiveError::Finished);
        }
        match self.players.get(user) {
            Some(p) if p.removed => return Err(LiveError::Removed),
            Some(p) if !p.left => return Ok(None),
            Some(_) => {}
            None if self.locked => return Err(LiveError::Locked),
            None => {}
        }
        if self.active_players() >= self.max_players {
            return Err(LiveError::Full);
        }
        let seq = self.take_seq();
        // A returning player keeps the name they were shown with.
        let shown = match self.players.contains_key(user) {
            true => String::new(),
            false => self.names.claim(name),
        };
        let player = self
            .players
            .entry(user.to_owned())
            .or_insert_with(|| PlayerRecord {
                display_name: shown,
                join_seq: seq,
                left: false,
                removed: false,
                score: 0,
                reached: seq,
                streak: Streak::default(),
            });
        player.left = false;
        let pos = Position {
            score: player.score,
            reached: player.reached,
        };
        let join_seq = player.join_seq;
        self.board.set(user, pos);
        if let Some(f) = &mut self.frozen {
            // A player who came after the question opened had no standing then.
            let shown = f.players.get(user).map_or(
                Position {
                    score: 0,
                    reached: join_seq,
                },
                |(p, _)| *p,
            );
            f.board.set(user, shown);
        }
        Ok(self.players.get(user))
    }

    pub fn leave(&mut self, user: &str) -> Option<&PlayerRecord> {
        let player = self.players.get_mut(user).filter(|p| !p.left)?;
        player.left = true;
        self.off_boards(user);
        self.players.get(user)
    }

    /// The host removes a player for good. `Ok(true)` when they were not removed before.
    pub fn remove(&mut self, user: &str) -> Result<bool, LiveError> {
        let player = self.players.get_mut(user).ok_or(LiveError::NoSuchPlayer)?;
        if player.removed {
            return Ok(false);
        }
        player.removed = true;
        player.left = true;
        self.off_boards(user);
        Ok(true)
    }

    fn off_boards(&mut self, user: &str) {
        self.board.remove(user);
        if let Some(f) = &mut self.frozen {
            f.board.remove(user);
        }
    }

    /// Restores a player from storage (recovery).
    pub fn restore_player(
        &mut self,
        user: &str,
        name: &str,
        join_seq: u64,
        left: bool,
        removed: bool,
    ) {
        self.names.restore(name);
        self.next_seq = self.next_seq.max(join_seq + 1);
        self.players.insert(
            user.to_owned(),
            PlayerRecord {
                display_name: name.to_owned(),
                join_seq,
                left: left || removed,
                removed,
                score: 0,
                reached: join_seq,
                streak: Streak::default(),
            },
        );
        if !left && !removed {
            self.board.set(
                user,
                Position {
                    score: 0,
                    reached: join_seq,
                },
            );
        }
    }

    // ---- answers ------------------------------------------------------------------------

    pub fn answer(&mut self, input: &AnswerInput, now: Millis) -> Result<AnswerOutcome, LiveError> {
        let Some(player) = self.players.get(&input.user_id) else {
            return Err(LiveError::NotPlayer);
        };
        if player.left {
            return Err(LiveError::NotPlayer);
        }
        let Some(question) = self.quiz.question_by_id(input.question_id) else {
            return Err(LiveError::NotOpen(
                "question_id is not a question of this session",
            ));
        };
        let (index, question_id, n_choices) = (question.index, question.id, question.choices.len());
        if let Some(first) = self.answers[index as usize].get(&input.user_id) {
            let same_nonce = input.nonce.is_some() && first.nonce == input.nonce;
            return Ok(if same_nonce {
                AnswerOutcome::Replayed(first.result.clone())
            } else {
                AnswerOutcome::Conflict(first.result.clone())
            });
        }
        if !self.phase.accepts(index, now) {
            return Err(LiveError::NotOpen("the question is not open"));
        }
        if input.choice < 0 || input.choice as usize >= n_choices {
            return Err(LiveError::InvalidChoice);
        }
        let opened_at = self.phase.opened_at.unwrap_or(now);
        let record = AnswerRecord {
            user_id: input.user_id.clone(),
            index,
            choice: input.choice as u32,
            nonce: input.nonce.clone(),
            answer_ms: (now - opened_at).max(0) as u64,
            accepted_at: now,
            seq: self.take_seq(),
            journal_pos: 0,
            correct: false,
            awarded_points: 0,
            result: AnswerResult {
                question_id,
                correct: None,
                awarded_points: None,
                score: 0,
                rank: 0,
                streak: 0,
                version: 0,
            },
        };
        let result = self.score(record);
        let answered = self.answers[index as usize].len() as u32;
        Ok(AnswerOutcome::Accepted {
            result,
            index,
            all_answered: answered >= self.active_players(),
        })
    }

    /// Scores an answer (new, or restored from storage with its stored reply) and keeps it.
    pub fn score(&mut self, mut record: AnswerRecord) -> AnswerResult {
        let index = record.index;
        let correct_choice = self.quiz.questions[index as usize].correct_choice;
        let Some(player) = self.players.get_mut(&record.user_id) else {
            return record.result;
        };
        let scored = score_answer(
            player.streak,
            index,
            record.choice,
            correct_choice,
            record.answer_ms,
        );
        player.streak = scored.streak;
        if scored.awarded_points > 0 {
            player.score += scored.awarded_points;
            player.reached = record.seq;
        }
        let pos = Position {
            score: player.score,
            reached: player.reached,
        };
        let (score, left) = (player.score, player.left);
        if !left {
            self.board.set(&record.user_id, pos);
        }
        self.next_seq = self.next_seq.max(record.seq + 1);
        if let Some(n) = self.counts[index as usize].get_mut(record.choice as usize) {
            *n += 1;
        }
        record.correct = scored.correct;
        record.awarded_points = scored.awarded_points;
        // A restored answer keeps the reply it was first given (rank at that time).
        if record.result.rank == 0 {
            let question_id = record.result.question_id;
            record.result = match self.frozen.is_some() {
                // Nothing in the reply may tell whether it was right before the reveal.
                true => {
                    let shown = self.shown(&record.user_id);
                    AnswerResult {
                        question_id,
                        correct: None,
                        awarded_points: None,
                        score: shown.score,
                        rank: shown.rank,
                        streak: shown.streak.as_of(shown.settled),
                        version: record.seq,
                    }
                }
                false => AnswerResult {
                    question_id,
                    correct: Some(scored.correct),
                    awarded_points: Some(scored.awarded_points),
                    score,
                    rank: self.board.rank_of_score(score),
                    streak: scored.streak.count,
                    version: record.seq,
                },
            };
        }
        let result = record.result.clone();
        self.answers[index as usize].insert(record.user_id.clone(), record);
        result
    }

    pub fn set_journal_pos(&mut self, index: u32, user: &str, pos: u64) {
        if let Some(a) = self
            .answers
            .get_mut(index as usize)
            .and_then(|a| a.get_mut(user))
        {
            a.journal_pos = pos;
        }
    }

    /// Where the player's answer to `question_id` becomes durable (0: it already is).
    pub fn journal_pos_of(&self, question_id: uuid::Uuid, user: &str) -> u64 {
        self.quiz
            .question_by_id(question_id)
            .and_then(|q| self.answer_record(q.index, user))
            .map_or(0, |a| a.journal_pos)
    }

    pub fn answer_record(&self, index: u32, user: &str) -> Option<&AnswerRecord> {
        self.answers.get(index as usize)?.get(user)
    }

    // ---- phase and log ------------------------------------------------------------------

    pub fn apply(&mut self, cmd: Command, now: Millis) -> Result<Vec<LogEntry>, LiveError> {
        let plan = QuizPlan(&self.quiz, self.auto_advance_ms);
        let (phase, steps) = self.phase.apply(cmd, now, &plan)?;
        self.phase = phase;
        let mut entries = Vec::with_capacity(steps.len());
        for step in steps {
            let (kind, data) = match step {
                Step::Opened { index } => {
                    match self.feedback {
                        Feedback::AtReveal => self.freeze(None),
                        Feedback::Instant => self.frozen = None,
                    }
                    let q = &self.quiz.questions[index as usize];
                    let payload = opened_event(q, self.phase.closes_at.unwrap_or(now));
                    (EventKind::QuestionOpened, json(&payload))
                }
                Step::Closed { index } => {
                    let q = &self.quiz.questions[index as usize];
                    let payload = QuestionClosed {
                        question_id: q.id,
                        correct_choice: q.correct_choice,
                        answer_counts: self.counts[index as usize].clone(),
                        answered: self.answers[index as usize].len() as u32,
                        players: self.active_players(),
                    };
                    (EventKind::QuestionClosed, json(&payload))
                }
                // The final standings, whatever a view still shows until the close is out.
                Step::Finished => (
                    EventKind::SessionFinished,
                    json(&self.board_page(&self.board, self.next_seq - 1, 0, TOP)),
                ),
            };
            let entry = self.push_log(kind, data);
            entries.push(entry);
        }
        Ok(entries)
    }

    /// Keeps the standings as they are now for views (an `at_reveal` question opens).
    /// `first_hidden` is the `version` of the first answer they must not reflect, when
    /// rebuilt after a restart (joins since the opening have moved the counter on).
    pub fn freeze(&mut self, first_hidden: Option<u64>) {
        let players = self
            .players
            .iter()
            .map(|(u, p)| {
                let pos = Position {
                    score: p.score,
                    reached: p.reached,
                };
                (u.clone(), (pos, p.streak))
            })
            .collect();
        let now = self.next_seq - 1;
        self.frozen = Some(Frozen {
            board: self.board.clone(),
            players,
            version: first_hidden.map_or(now, |v| now.min(v.saturating_sub(1))),
        });
    }

    /// The question's close has been published: views may show the real standings now.
    pub fn reveal(&mut self) {
        self.frozen = None;
    }

    fn push_log(&mut self, kind: EventKind, data: Arc<str>) -> LogEntry {
        let seq = self.log.len() as u64 + 1;
        let entry = LogEntry {
            id: event_id(self.epoch, seq),
            kind,
            data,
        };
        self.log.push(entry.clone());
        entry
    }

    /// Restores the log from storage (recovery); entries must come in order.
    pub fn restore_log(&mut self, entries: Vec<LogEntry>) {
        self.log = entries;
    }

    pub fn log_since(&self, after: u64) -> Replay {
        let (epoch, seq) = super::split_event_id(after);
        if epoch != self.epoch || seq > self.log.len() as u64 {
            return Replay::Unknown;
        }
        Replay::Entries(self.log[seq as usize..].to_vec())
    }

    pub fn results(&self) -> Option<SessionResults> {
        let finished_at = self.phase.finished_at?;
        // A player the host removed is gone from the record too.
        let kept = |user: &str| self.players.get(user).is_some_and(|p| !p.removed);
        let standings = super::standings(self.players.iter().filter(|(_, p)| !p.removed).map(
            |(user, p)| {
                let position = Position {
                    score: p.score,
                    reached: p.reached,
                };
                (user.as_str(), p.display_name.as_str(), position)
            },
        ));
        let name = |u: &str| {
            self.players
                .get(u)
                .map(|p| p.display_name.clone())
                .unwrap_or_default()
        };
        let mut answers: Vec<&AnswerRecord> = self
            .answers
            .iter()
            .flat_map(|a| a.values())
            .filter(|a| kept(&a.user_id))
            .collect();
        answers.sort_by_key(|a| (a.index, a.seq));
        let answers = answers
            .into_iter()
            .map(|a| AnswerRow {
                user_id: a.user_id.clone(),
                display_name: name(&a.user_id),
                question_id: a.result.question_id,
                index: a.index,
                choice: a.choice,
                correct: a.correct,
                awarded_points: a.awarded_points,
                answer_ms: a.answer_ms,
            })
            .collect();
        Some(SessionResults {
            code: self.code,
            quiz_id: self.quiz.id,
            quiz_title: self.quiz.title.clone(),
            host_id: self.host_id.clone(),
            finished_at,
            question_count: self.quiz.question_count(),
            last_index: self.phase.question_index,
            standings,
            answers,
            questions: self.quiz.questions.clone(),
        })
    }
}
