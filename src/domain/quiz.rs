//! Quizzes as authored (`QuizDraft`, straight from JSON) and as validated (`Quiz`). Only a
//! `Quiz` can be stored or played, so every later step may trust its invariants.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub const MAX_QUESTIONS: usize = 200;
pub const MIN_CHOICES: usize = 2;
pub const MAX_CHOICES: usize = 6;
pub const MAX_TEXT_CHARS: usize = 500;
pub const MIN_TIME_LIMIT_MS: u32 = 5_000;
pub const MAX_TIME_LIMIT_MS: u32 = 120_000;
pub const DEFAULT_TIME_LIMIT_MS: u32 = 20_000;

/// A quiz as submitted by its author.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuizDraft {
    /// 1–500 characters.
    #[schema(example = "Latin roots")]
    pub title: String,
    /// 1–200 questions.
    pub questions: Vec<QuestionDraft>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionDraft {
    /// The word or phrase asked about, 1–500 characters.
    #[schema(example = "benevolent")]
    pub prompt: String,
    /// 2–6 distinct, non-empty choices of at most 500 characters.
    #[schema(example = json!(["kind", "angry", "sleepy", "loud"]))]
    pub choices: Vec<String>,
    /// 0-based index into `choices`.
    #[schema(example = 0)]
    pub correct_choice: i64,
    /// 5000–120000, default 20000.
    #[schema(example = 20000)]
    pub time_limit_ms: Option<i64>,
}

/// A question as played. Text is shared (`Arc<str>`): every session of a quiz deals its own
/// copy of the questions (ids, choice order) without copying the words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub id: Uuid,
    pub index: u32,
    pub prompt: Arc<str>,
    pub choices: Vec<Arc<str>>,
    pub correct_choice: u32,
    pub time_limit_ms: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quiz {
    pub id: Uuid,
    pub author_id: Option<String>,
    pub title: String,
    pub questions: Vec<Question>,
    pub demo: bool,
    /// For a session's deal, the quiz as authored: held so that every session of a quiz
    /// keeps one shared parse alive, and the store hands that same parse to the next.
    pub dealt_from: Option<Arc<Quiz>>,
}

/// Every problem found in a draft, each naming the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join("; "))]
pub struct InvalidQuiz(pub Vec<String>);

fn check_text(errors: &mut Vec<String>, field: &str, text: &str) {
    if text.trim().is_empty() {
        errors.push(format!("{field} must not be empty"));
    } else if text.chars().count() > MAX_TEXT_CHARS {
        errors.push(format!(
            "{field} must be at most {MAX_TEXT_CHARS} characters"
        ));
    }
}

impl QuizDraft {
    /// Validates the draft and gives every question a fresh id.
    pub fn validate(self, author_id: Option<String>) -> Result<Quiz, InvalidQuiz> {
        let mut errors = Vec::new();
        check_text(&mut errors, "title", &self.title);
        if self.questions.is_empty() || self.questions.len() > MAX_QUESTIONS {
            errors.push(format!("questions must hold 1–{MAX_QUESTIONS} items"));
        }
        let mut questions = Vec::with_capacity(self.questions.len());
        for (i, q) in self.questions.into_iter().enumerate() {
            let at = format!("questions[{i}]");
            check_text(&mut errors, &format!("{at}.prompt"), &q.prompt);
            if !(MIN_CHOICES..=MAX_CHOICES).contains(&q.choices.len()) {
                errors.push(format!(
                    "{at}.choices must hold {MIN_CHOICES}–{MAX_CHOICES} items"
                ));
            }
            for (j, c) in q.choices.iter().enumerate() {
                check_text(&mut errors, &format!("{at}.choices[{j}]"), c);
                if q.choices[..j]
                    .iter()
                    .any(|earlier| earlier.trim() == c.trim())
                {
                    errors.push(format!("{at}.choices[{j}] repeats an earlier choice"));
                }
            }
            if q.correct_choice < 0 || q.correct_choice as usize >= q.choices.len() {
                errors.push(format!("{at}.correct_choice must index into choices"));
            }
            let limit = q.time_limit_ms.unwrap_or(i64::from(DEFAULT_TIME_LIMIT_MS));
            if !(i64::from(MIN_TIME_LIMIT_MS)..=i64::from(MAX_TIME_LIMIT_MS)).contains(&limit) {
                errors.push(format!(
                    "{at}.time_limit_ms must be {MIN_TIME_LIMIT_MS}–{MAX_TIME_LIMIT_MS}"
                ));
            }
            questions.push(Question {
                id: Uuid::now_v7(),
                index: i as u32,
                prompt: q.prompt.trim().into(),
                choices: q.choices.iter().map(|c| c.trim().into()).collect(),
                correct_choice: q.correct_choice.clamp(0, i64::from(u32::MAX)) as u32,
                time_limit_ms: limit.clamp(0, i64::from(u32::MAX)) as u32,
            });
        }
        if !errors.is_empty() {
            return Err(InvalidQuiz(errors));
        }
        Ok(Quiz {
            id: Uuid::now_v7(),
            author_id,
            title: self.title.trim().to_owned(),
            questions,
            demo: false,
            dealt_from: None,
        })
    }
}

impl Question {
    /// The choices as owned strings, for replies and events.
    pub fn choice_texts(&self) -> Vec<String> {
        self.choices.iter().map(|c| c.to_string()).collect()
    }
}

impl Quiz {
    pub fn question(&self, index: u32) -> Option<&Question> {
        self.questions.get(index as usize)
    }

    pub fn question_by_id(&self, id: Uuid) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }

    pub fn question_count(&self) -> u32 {
        self.questions.len() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn draft(choices: &[&str], correct: i64, limit: Option<i64>) -> QuizDraft {
        QuizDraft {
            title: "Latin roots".into(),
            questions: vec![QuestionDraft {
                prompt: "benevolent".into(),
                choices: choices.iter().map(|c| c.to_string()).collect(),
                correct_choice: correct,
                time_limit_ms: limit,
            }],
        }
    }

    #[test]
    fn accepts_a_valid_quiz_with_default_limit() {
        let quiz = draft(&["kind", "angry"], 1, None).validate(None).unwrap();
        assert_eq!(quiz.questions[0].time_limit_ms, DEFAULT_TIME_LIMIT_MS);
        assert_eq!(quiz.questions[0].correct_choice, 1);
        assert_eq!(quiz.question_count(), 1);
    }

    #[test]
    fn rejects_each_rule() {
        let cases: Vec<(QuizDraft, &str)> = vec![
            (draft(&["kind"], 0, None), "choices must hold"),
            (draft(&["kind", "kind "], 0, None), "repeats"),
            (draft(&["kind", ""], 0, None), "must not be empty"),
            (draft(&["kind", "angry"], 2, None), "correct_choice"),
            (draft(&["kind", "angry"], -1, None), "correct_choice"),
            (draft(&["kind", "angry"], 0, Some(4_999)), "time_limit_ms"),
            (draft(&["kind", "angry"], 0, Some(120_001)), "time_limit_ms"),
            (draft(&["kind", &"x".repeat(501)], 0, None), "at most 500"),
            (
                QuizDraft {
                    title: " ".into(),
                    questions: vec![],
                },
                "title must not be empty",
            ),
        ];
        for (d, needle) in cases {
            let err = d.validate(None).unwrap_err().to_string();
            assert!(err.contains(needle), "{err} lacks {needle}");
        }
    }

    #[test]
    fn limits_at_the_edges_pass() {
        assert!(draft(&["a", "b"], 0, Some(5_000)).validate(None).is_ok());
        assert!(draft(&["a", "b"], 0, Some(120_000)).validate(None).is_ok());
        let six = ["a", "b", "c", "d", "e", "f"];
        assert!(draft(&six, 5, None).validate(None).is_ok());
    }
}
