//! The session state machine: `lobby → question → reveal → question → … → finished`.
//! `Phase` is the whole durable clock of a session; `Phase::apply` is the only way it moves,
//! and it is pure: the caller supplies the time and persists what comes back.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Lobby,
    Question,
    Reveal,
    Finished,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    pub status: Status,
    pub question_index: Option<u32>,
    pub opened_at: Option<Millis>,
    pub closes_at: Option<Millis>,
    /// When an `auto_advance` session moves on from a reveal.
    pub advance_at: Option<Millis>,
    pub finished_at: Option<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Host: open the first question.
    Start,
    /// Host: close the open question, or open the next, or finish after the last.
    Next,
    /// Host: finish now.
    End,
    /// Timer: the open question's time is up.
    Expire,
    /// Every player has answered question `index`.
    AllAnswered { index: u32 },
    /// Timer: the reveal's pause is over (auto-advance).
    Advance,
    /// Timer: nothing happened for `idle_ms` (see `Phase::idle_deadline`); the session
    /// finishes by itself, like a host's `End`.
    Idle { created_at: Millis, idle_ms: Millis },
}

impl Command {
    /// Host commands fail loudly when they do not apply; timer-driven ones are no-ops.
    pub fn is_host(self) -> bool {
        matches!(self, Command::Start | Command::Next | Command::End)
    }
}

/// What a transition did, in order; each becomes one log event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Opened { index: u32 },
    Closed { index: u32 },
    Finished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhaseError {
    #[error("the session has already started")]
    AlreadyStarted,
    #[error("the session has finished")]
    Finished,
}

/// What the state machine needs to know about the quiz being played.
pub trait Plan {
    fn question_count(&self) -> u32;
    fn time_limit_ms(&self, index: u32) -> u32;
    /// Pause after a reveal before moving on; `None` when the host drives.
    fn auto_advance_ms(&self) -> Option<u32>;
}

impl Phase {
    pub fn lobby() -> Self {
        Phase {
            status: Status::Lobby,
            question_index: None,
            opened_at: None,
            closes_at: None,
            advance_at: None,
            finished_at: None,
        }
    }

    /// The next instant a timer must act, if any.
    pub fn deadline(&self) -> Option<Millis> {
        match self.status {
            Status::Question => self.closes_at,
            Status::Reveal => self.advance_at,
            _ => None,
        }
    }

    /// The last sign of life: the session's creation, or a question opening or closing.
    /// Answers arrive only while a question is open, so none is ever later than that.
    pub fn last_activity(&self, created_at: Millis) -> Millis {
        [self.opened_at, self.closes_at]
            .into_iter()
            .flatten()
            .fold(created_at, Millis::max)
    }

    /// When a session with no host call and no answer (a forgotten lobby, an abandoned
    /// reveal) finishes by itself; `None` once finished.
    pub fn idle_deadline(&self, created_at: Millis, idle_ms: Millis) -> Option<Millis> {
        (self.status != Status::Finished).then(|| self.last_activity(created_at) + idle_ms)
    }

    /// Whether question `index` accepts answers at `now`.
    pub fn accepts(&self, index: u32, now: Millis) -> bool {
        self.status == Status::Question
            && self.question_index == Some(index)
            && self.closes_at.is_some_and(|c| now < c)
    }

    pub fn apply(
        &self,
        cmd: Command,
        now: Millis,
        plan: &impl Plan,
    ) -> Result<(Phase, Vec<Step>), PhaseError> {
        let unchanged = || Ok((self.clone(), Vec::new()));
        match (self.status, cmd) {
            (Status::Finished, c) if c.is_host() => Err(PhaseError::Finished),
            (Status::Finished, _) => unchanged(),
            (Status::Lobby, Command::Start | Command::Next) => Ok(self.open(0, now, plan)),
            (_, Command::Start) => Err(PhaseError::AlreadyStarted),
            (Status::Lobby, Command::End) => Ok(self.finish(now, Vec::new())),
            (Status::Question, Command::Next) => Ok(self.close(now, plan)),
            (Status::Question, Command::Expire) if self.closes_at.is_some_and(|c| now >= c) => {
                Ok(self.close(now, plan))
            }
            (Status::Question, Command::AllAnswered { index })
                if self.question_index == Some(index) =>
            {
                Ok(self.close(now, plan))
            }
            (Status::Question, Command::End) => {
                let (closed, steps) = self.close(now, plan);
                Ok(closed.finish(now, steps))
            }
            (Status::Reveal, Command::Next) => Ok(self.advance(now, plan)),
            (Status::Reveal, Command::Advance) if self.advance_at.is_some_and(|a| now >= a) => {
                Ok(self.advance(now, plan))
            }
            (Status::Reveal, Command::End) => Ok(self.finish(now, Vec::new())),
            (
                _,
                Command::Idle {
                    created_at,
                    idle_ms,
                },
            ) if self
                .idle_deadline(created_at, idle_ms)
                .is_some_and(|d| now >= d) =>
            {
                self.apply(Command::End, now, plan)
            }
            _ => unchanged(),
        }
    }

    fn open(&self, index: u32, now: Millis, plan: &impl Plan) -> (Phase, Vec<Step>) {
        let phase = Phase {
            status: Status::Question,
            question_index: Some(index),
            opened_at: Some(now),
            closes_at: Some(now + Millis::from(plan.time_limit_ms(index))),
            advance_at: None,
            finished_at: None,
        };
        (phase, vec![Step::Opened { index }])
    }

    fn close(&self, now: Millis, plan: &impl Plan) -> (Phase, Vec<Step>) {
        let index = self.question_index.unwrap_or(0);
        let phase = Phase {
            status: Status::Reveal,
            // A question closed early shows it closed at that instant.
            closes_at: Some(self.closes_at.map_or(now, |c| c.min(now))),
            advance_at: plan.auto_advance_ms().map(|ms| now + Millis::from(ms)),
            ..self.clone()
        };
        (phase, vec![Step::Closed { index }])
    }

    fn advance(&self, now: Millis, plan: &impl Plan) -> (Phase, Vec<Step>) {
        let next = self.question_index.map_or(0, |i| i + 1);
        if next < plan.question_count() {
            self.open(next, now, plan)
        } else {
            self.finish(now, Vec::new())
        }
    }

    fn finish(&self, now: Millis, mut steps: Vec<Step>) -> (Phase, Vec<Step>) {
        steps.push(Step::Finished);
        let phase = Phase {
            status: Status::Finished,
            advance_at: None,
            finished_at: Some(now),
            ..self.clone()
        };
        (phase, steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TestPlan {
        count: u32,
        auto: Option<u32>,
    }

    impl Plan for TestPlan {
        fn question_count(&self) -> u32 {
            self.count
        }
        fn time_limit_ms(&self, _: u32) -> u32 {
            10_000
        }
        fn auto_advance_ms(&self) -> Option<u32> {
            self.auto
        }
    }

    const HOST: TestPlan = TestPlan {
        count: 2,
        auto: None,
    };

    fn run(phase: &Phase, cmd: Command, now: Millis) -> (Phase, Vec<Step>) {
        phase.apply(cmd, now, &HOST).unwrap()
    }

    #[test]
    fn host_drives_a_whole_game() {
        let p = Phase::lobby();
        let (p, s) = run(&p, Command::Start, 1_000);
        assert_eq!(s, [Step::Opened { index: 0 }]);
        assert_eq!((p.status, p.closes_at), (Status::Question, Some(11_000)));
        assert!(p.accepts(0, 10_999) && !p.accepts(0, 11_000) && !p.accepts(1, 2_000));
        let (p, s) = run(&p, Command::Next, 2_000);
        assert_eq!(s, [Step::Closed { index: 0 }]);
        assert_eq!((p.status, p.closes_at), (Status::Reveal, Some(2_000)));
        let (p, s) = run(&p, Command::Next, 3_000);
        assert_eq!(s, [Step::Opened { index: 1 }]);
        let (p, _) = run(&p, Command::Next, 4_000);
        let (p, s) = run(&p, Command::Next, 5_000);
        assert_eq!(s, [Step::Finished]);
        assert_eq!(p.question_index, Some(1));
        assert_eq!(p.finished_at, Some(5_000));
        assert_eq!(
            p.apply(Command::Next, 6_000, &HOST),
            Err(PhaseError::Finished)
        );
    }

    #[test]
    fn end_closes_an_open_question_first() {
        let (p, _) = run(&Phase::lobby(), Command::Start, 0);
        let (p, s) = run(&p, Command::End, 1);
        assert_eq!(s, [Step::Closed { index: 0 }, Step::Finished]);
        assert_eq!(p.status, Status::Finished);
        let (_, s) = run(&Phase::lobby(), Command::End, 1);
        assert_eq!(s, [Step::Finished]);
    }

    #[test]
    fn timers_close_once_and_never_early() {
        let (p, _) = run(&Phase::lobby(), Command::Start, 0);
        assert_eq!(run(&p, Command::Expire, 9_999).1, []);
        let (closed, s) = run(&p, Command::Expire, 10_000);
        assert_eq!(s, [Step::Closed { index: 0 }]);
        assert_eq!(run(&closed, Command::Expire, 10_001).1, []);
        assert_eq!(
            run(&closed, Command::AllAnswered { index: 0 }, 10_001).1,
            []
        );
        assert_eq!(run(&p, Command::AllAnswered { index: 1 }, 1).1, []);
        assert_eq!(run(&p, Command::AllAnswered { index: 0 }, 1).1.len(), 1);
    }

    #[test]
    fn start_twice_is_an_error() {
        let (p, _) = run(&Phase::lobby(), Command::Start, 0);
        assert_eq!(
            p.apply(Command::Start, 1, &HOST),
            Err(PhaseError::AlreadyStarted)
        );
    }

    #[test]
    fn auto_advance_runs_to_the_end() {
        let plan = TestPlan {
            count: 2,
            auto: Some(5_000),
        };
        let (p, _) = Phase::lobby().apply(Command::Start, 0, &plan).unwrap();
        let (p, _) = p.apply(Command::Expire, 10_000, &plan).unwrap();
        assert_eq!(p.deadline(), Some(15_000));
        assert_eq!(p.apply(Command::Advance, 14_999, &plan).unwrap().1, []);
        let (p, s) = p.apply(Command::Advance, 15_000, &plan).unwrap();
        assert_eq!(s, [Step::Opened { index: 1 }]);
        let (p, _) = p.apply(Command::Expire, 25_000, &plan).unwrap();
        let (p, s) = p.apply(Command::Advance, 30_000, &plan).unwrap();
        assert_eq!(s, [Step::Finished]);
        assert_eq!(p.deadline(), None);
    }

    #[test]
    fn idle_sessions_finish_by_themselves_and_only_when_idle() {
        let idle = |created_at| Command::Idle {
            created_at,
            idle_ms: 1_000,
        };
        // A lobby nobody started: idle from its creation.
        let lobby = Phase::lobby();
        assert_eq!(lobby.idle_deadline(100, 1_000), Some(1_100));
        assert_eq!(run(&lobby, idle(100), 1_099).1, []);
        let (p, s) = run(&lobby, idle(100), 1_100);
        assert_eq!((p.status, s), (Status::Finished, vec![Step::Finished]));
        assert_eq!(p.idle_deadline(100, 1_000), None);
        assert_eq!(run(&p, idle(100), 9_999).1, []);
        // An abandoned reveal: idle from when its question closed.
        let (p, _) = run(&Phase::lobby(), Command::Start, 5_000);
        let (p, _) = run(&p, Command::Next, 6_000);
        assert_eq!(p.last_activity(100), 6_000);
        assert_eq!(run(&p, idle(100), 6_999).1, []);
        assert_eq!(run(&p, idle(100), 7_000).1, [Step::Finished]);
        // An open question is never idle before it closes.
        let (open, _) = run(&Phase::lobby(), Command::Start, 5_000);
        assert_eq!(open.idle_deadline(100, 1_000), Some(16_000));
    }
}
