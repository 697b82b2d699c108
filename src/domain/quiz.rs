//! Quizzes as authored (`QuizDraft`, straight from JSON) and as validated (`Quiz`). Only a
//! `Quiz` can be stored or played, so every later step may trust its invariants.

use std::collections::HashSet;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
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
    #[serde(deserialize_with = "first_questions")]
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
    #[serde(deserialize_with = "first_choices")]
    pub choices: Vec<String>,
    /// 0-based index into `choices`.
    #[schema(example = 0)]
    pub correct_choice: i64,
    /// 5000–120000, default 20000.
    #[schema(example = 20000)]
    pub time_limit_ms: Option<i64>,
}

/// Reads a JSON list keeping its first `N` items; the rest are skipped unread. Keeping one
/// more than a limit allows is enough to refuse the list, and a list of 100,000 items then
/// costs a scan of its bytes rather than 100,000 values.
struct FirstItems<T, const N: usize>(PhantomData<T>);

impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for FirstItems<T, N> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(N));
        while items.len() < N {
            match seq.next_element()? {
                Some(item) => items.push(item),
                None => return Ok(items),
            }
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(items)
    }
}

fn first_questions<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<QuestionDraft>, D::Error> {
    d.deserialize_seq(FirstItems::<QuestionDraft, { MAX_QUESTIONS + 1 }>(
        PhantomData,
    ))
}

fn first_choices<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    d.deserialize_seq(FirstItems::<String, { MAX_CHOICES + 1 }>(PhantomData))
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

/// A `422` names at most this many problems, so its size does not grow with the body's.
pub const MAX_PROBLEMS: usize = 20;

/// The problems found in a draft, each naming the field it concerns: at most
/// `MAX_PROBLEMS`, and `more` when checking stopped with others left unnamed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}", .problems.join("; "), if *.more { "; and more" } else { "" })]
pub struct InvalidQuiz {
    pub problems: Vec<String>,
    pub more: bool,
}

/// Checking stops at the first problem past `MAX_PROBLEMS`.
struct Stop;

#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn push(&mut self, problem: String) -> Result<(), Stop> {
        if self.0.len() == MAX_PROBLEMS {
            return Err(Stop);
        }
        self.0.push(problem);
        Ok(())
    }
}

enum TextProblem {
    Empty,
    TooLong,
}

impl std::fmt::Display for TextProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TextProblem::Empty => f.write_str("must not be empty"),
            TextProblem::TooLong => write!(f, "must be at most {MAX_TEXT_CHARS} characters"),
        }
    }
}

/// What is wrong with a text field, if anything. Counting stops at the first character past
/// the limit, so a megabyte-long string costs no more than a short one.
fn text_problem(text: &str) -> Option<TextProblem> {
    let text = text.trim();
    if text.is_empty() {
        Some(TextProblem::Empty)
    } else if text.len() > MAX_TEXT_CHARS && text.chars().nth(MAX_TEXT_CHARS).is_some() {
        Some(TextProblem::TooLong)
    } else {
        None
    }
}

impl QuizDraft {
    /// Validates the draft and gives every question a fresh id.
    ///
    /// Counts and sizes come first and a question whose choice count is wrong is not
    /// examined further, so the work is linear in the body and a `422` stays small.
    pub fn validate(self, author_id: Option<String>) -> Result<Quiz, InvalidQuiz> {
        let mut problems = Problems::default();
        let more = self.check(&mut problems).is_err();
        if !problems.0.is_empty() {
            return Err(InvalidQuiz {
                problems: problems.0,
                more,
            });
        }
        Ok(self.into_quiz(author_id))
    }

    fn check(&self, problems: &mut Problems) -> Result<(), Stop> {
        if let Some(what) = text_problem(&self.title) {
            problems.push(format!("title {what}"))?;
        }
        let n = self.questions.len();
        if !(1..=MAX_QUESTIONS).contains(&n) {
            // The questions of a quiz that cannot be stored are not worth examining.
            return problems.push(format!("questions must hold 1–{MAX_QUESTIONS} items"));
        }
        for (i, q) in self.questions.iter().enumerate() {
            q.check(i, problems)?;
        }
        Ok(())
    }

    /// The checked draft as a quiz: text trimmed, fresh ids.
    fn into_quiz(self, author_id: Option<String>) -> Quiz {
        let questions = self
            .questions
            .into_iter()
            .enumerate()
            .map(|(i, q)| Question {
                id: Uuid::now_v7(),
                index: i as u32,
                prompt: q.prompt.trim().into(),
                choices: q.choices.iter().map(|c| c.trim().into()).collect(),
                correct_choice: q.correct_choice.clamp(0, i64::from(u32::MAX)) as u32,
                time_limit_ms: q.time_limit().clamp(0, i64::from(u32::MAX)) as u32,
            })
            .collect();
        Quiz {
            id: Uuid::now_v7(),
            author_id,
            title: self.title.trim().to_owned(),
            questions,
            demo: false,
            dealt_from: None,
        }
    }
}

impl QuestionDraft {
    fn time_limit(&self) -> i64 {
        self.time_limit_ms
            .unwrap_or(i64::from(DEFAULT_TIME_LIMIT_MS))
    }

    fn check(&self, i: usize, problems: &mut Problems) -> Result<(), Stop> {
        if let Some(what) = text_problem(&self.prompt) {
            problems.push(format!("questions[{i}].prompt {what}"))?;
        }
        let n = self.choices.len();
        if (MIN_CHOICES..=MAX_CHOICES).contains(&n) {
            let mut seen = HashSet::with_capacity(n);
            for (j, c) in self.choices.iter().enumerate() {
                if let Some(what) = text_problem(c) {
                    problems.push(format!("questions[{i}].choices[{j}] {what}"))?;
                } else if !seen.insert(c.trim()) {
                    problems.push(format!(
                        "questions[{i}].choices[{j}] repeats an earlier choice"
                    ))?;
                }
            }
            if usize::try_from(self.correct_choice).map_or(true, |c| c >= n) {
                problems.push(format!(
                    "questions[{i}].correct_choice must index into choices"
                ))?;
            }
        } else {
            problems.push(format!(
                "questions[{i}].choices must hold {MIN_CHOICES}–{MAX_CHOICES} items"
            ))?;
        }
        if !(i64::from(MIN_TIME_LIMIT_MS)..=i64::from(MAX_TIME_LIMIT_MS))
            .contains(&self.time_limit())
        {
            problems.push(format!(
                "questions[{i}].time_limit_ms must be {MIN_TIME_LIMIT_MS}–{MAX_TIME_LIMIT_MS}"
            ))?;
        }
        Ok(())
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

    fn problems(d: QuizDraft) -> InvalidQuiz {
        d.validate(None).expect_err("an invalid draft")
    }

    #[test]
    fn a_wrong_choice_count_is_one_problem_and_its_choices_are_not_examined() {
        let many = vec!["same"; 100_000];
        let err = problems(draft(&many, 0, None));
        assert_eq!(err.problems, ["questions[0].choices must hold 2–6 items"]);
        assert!(!err.more);
        let err = problems(draft(&[], 0, None));
        assert_eq!(err.problems.len(), 1, "{err}");
    }

    #[test]
    fn long_lists_are_read_only_past_their_limit() {
        let body = serde_json::json!({ "title": "t", "questions": [
            { "prompt": "p", "choices": (0..1000).map(|i| i.to_string()).collect::<Vec<_>>(),
              "correct_choice": 0 },
            { "prompt": "p", "choices": ["a", "b", "c", "d", "e", "f", "g", 5, null, {}],
              "correct_choice": 0 },
        ] });
        let draft: QuizDraft = serde_json::from_value(body).unwrap();
        assert_eq!(draft.questions[0].choices.len(), MAX_CHOICES + 1);
        let err: Result<QuizDraft, _> = serde_json::from_str(
            r#"{"title":"t","questions":[{"prompt":"p","choices":["a",5],"correct_choice":0}]}"#,
        );
        assert!(err.is_err(), "items within the limit are still typed");
        let many = serde_json::json!({ "title": "t", "questions": vec![1; 12_000] });
        let err: Result<QuizDraft, _> = serde_json::from_value(many);
        assert!(err.is_err(), "question 0 is not a question");
        let q = serde_json::json!({ "prompt": "p", "choices": ["a", "b"], "correct_choice": 0 });
        let mut questions = vec![q; MAX_QUESTIONS + 1];
        questions.push(serde_json::json!("not read"));
        let draft: QuizDraft =
            serde_json::from_value(serde_json::json!({ "title": "t", "questions": questions }))
                .unwrap();
        assert_eq!(draft.questions.len(), MAX_QUESTIONS + 1);
        assert_eq!(
            problems(draft).problems,
            ["questions must hold 1–200 items"]
        );
    }

    #[test]
    fn too_many_questions_is_one_problem() {
        let q = draft(&["", ""], -1, Some(0)).questions[0].clone();
        let err = problems(QuizDraft {
            title: "t".into(),
            questions: vec![q; 12_000],
        });
        assert_eq!(err.problems, ["questions must hold 1–200 items"]);
    }

    #[test]
    fn at_most_twenty_problems_then_and_more() {
        let q = draft(&["", ""], -1, Some(0)).questions[0].clone();
        let err = problems(QuizDraft {
            title: "t".into(),
            questions: vec![q; 200],
        });
        assert_eq!(err.problems.len(), MAX_PROBLEMS);
        assert!(err.more);
        assert!(err.to_string().ends_with("; and more"), "{err}");
        // Exactly twenty problems: all named, no "and more".
        let q = draft(&["a", "b"], 5, None).questions[0].clone();
        let err = problems(QuizDraft {
            title: "t".into(),
            questions: vec![q; MAX_PROBLEMS],
        });
        assert_eq!(err.problems.len(), MAX_PROBLEMS);
        assert!(!err.more, "{err}");
        assert!(!err.to_string().contains("and more"));
    }

    #[test]
    fn text_is_measured_in_characters_after_trimming() {
        let ok = "é".repeat(MAX_TEXT_CHARS);
        assert!(draft(&[&ok, "b"], 0, None).validate(None).is_ok());
        let padded = format!("  {ok}\t");
        let quiz = draft(&[&padded, "b"], 0, None).validate(None).unwrap();
        assert_eq!(&*quiz.questions[0].choices[0], ok);
        let long = "é".repeat(1_000_000);
        let err = problems(draft(&[&long, "b"], 0, None));
        assert_eq!(
            err.problems,
            ["questions[0].choices[0] must be at most 500 characters"]
        );
    }

    #[test]
    fn duplicates_are_found_after_trimming_and_named_once_each() {
        let err = problems(draft(&["a", " a", "b", "a "], 0, None));
        assert_eq!(
            err.problems,
            [
                "questions[0].choices[1] repeats an earlier choice",
                "questions[0].choices[3] repeats an earlier choice"
            ]
        );
    }

    #[test]
    fn limits_at_the_edges_pass() {
        assert!(draft(&["a", "b"], 0, Some(5_000)).validate(None).is_ok());
        assert!(draft(&["a", "b"], 0, Some(120_000)).validate(None).is_ok());
        let six = ["a", "b", "c", "d", "e", "f"];
        assert!(draft(&six, 5, None).validate(None).is_ok());
    }
}
