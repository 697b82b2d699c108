//! Property tests: arbitrary quiz bodies and word lists never panic the parsers, and an
//! invalid one names at most `MAX_PROBLEMS` problems.

use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Map, Value};

use super::import::{self, Delimiter, ImportError};
use super::quiz::{
    InvalidQuiz, MAX_CHOICES, MAX_PROBLEMS, MAX_QUESTIONS, MIN_CHOICES, Quiz, QuizDraft,
};

/// Short, empty, blank, repeated and over-long strings.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ab ]{0,3}",
        ".{0,12}",
        Just(String::new()),
        Just("x".repeat(501)),
        Just(format!(" {} ", "é".repeat(500))),
    ]
}

/// Numbers around every limit, and absurd ones.
fn number() -> impl Strategy<Value = i64> {
    prop_oneof![-2i64..8, 4_990i64..5_010, 119_990i64..120_010, any::<i64>()]
}

/// A body shaped like a quiz, right or wrong in every field.
fn draft_shaped() -> impl Strategy<Value = Value> {
    let question = (
        text(),
        prop::collection::vec(text(), 0..9),
        number(),
        prop::option::of(number()),
        any::<bool>(),
    )
        .prop_map(|(prompt, choices, correct, limit, extra)| {
            let mut q = serde_json::json!({
                "prompt": prompt, "choices": choices, "correct_choice": correct,
            });
            if let Some(l) = limit {
                q["time_limit_ms"] = l.into();
            }
            if extra {
                q["surprise"] = true.into();
            }
            q
        });
    (text(), prop::collection::vec(question, 0..30)).prop_map(
        |(title, questions)| serde_json::json!({ "title": title, "questions": questions }),
    )
}

/// Any JSON value, with the quiz's field names among the keys.
fn json_ish() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        number().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    let key = prop_oneof![
        Just("title".to_owned()),
        Just("questions".to_owned()),
        Just("prompt".to_owned()),
        Just("choices".to_owned()),
        Just("correct_choice".to_owned()),
        Just("time_limit_ms".to_owned()),
        ".{0,8}",
    ];
    leaf.prop_recursive(5, 96, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// What every outcome of `validate` must satisfy.
fn check_outcome(outcome: Result<Quiz, InvalidQuiz>) -> Result<(), TestCaseError> {
    match outcome {
        Err(e) => {
            prop_assert!(!e.problems.is_empty());
            prop_assert!(e.problems.len() <= MAX_PROBLEMS);
            prop_assert!(!e.more || e.problems.len() == MAX_PROBLEMS);
        }
        Ok(quiz) => {
            prop_assert!((1..=MAX_QUESTIONS).contains(&quiz.questions.len()));
            for q in &quiz.questions {
                prop_assert!((MIN_CHOICES..=MAX_CHOICES).contains(&q.choices.len()));
                prop_assert!((q.correct_choice as usize) < q.choices.len());
                let mut distinct = q.choices.clone();
                distinct.sort();
                distinct.dedup();
                prop_assert_eq!(distinct.len(), q.choices.len());
            }
        }
    }
    Ok(())
}

fn parse_and_check(body: &str) -> Result<(), TestCaseError> {
    if let Ok(draft) = serde_json::from_str::<QuizDraft>(body) {
        check_outcome(draft.validate(None))?;
    }
    Ok(())
}

/// A word list: pairs, some broken, some blank, with either separator.
fn word_list() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        4 => ("[a-z]{1,6}", "[a-z ]{0,6}").prop_map(|(w, m)| format!("{w},{m}")),
        1 => ("[a-z]{1,6}", "[a-z]{1,6}").prop_map(|(w, m)| format!("{w}\t{m}")),
        1 => Just(String::new()),
        1 => ".{0,10}",
        1 => Just(format!("w,{}", "m".repeat(501))),
    ];
    prop::collection::vec(line, 0..260).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn quiz_shaped_bodies_never_panic(body in draft_shaped()) {
        parse_and_check(&body.to_string())?;
    }

    #[test]
    fn json_ish_bodies_never_panic(body in json_ish()) {
        parse_and_check(&body.to_string())?;
    }

    #[test]
    fn arbitrary_text_never_panics(body in ".{0,200}") {
        parse_and_check(&body)?;
    }

    #[test]
    fn word_lists_never_panic(
        text in prop_oneof![word_list(), ".{0,400}"],
        tab in any::<bool>(),
        choices in 0usize..9,
        seed in any::<u64>(),
    ) {
        let delimiter = if tab { Delimiter::Tab } else { Delimiter::Comma };
        match import::parse_pairs(&text, delimiter) {
            Ok(pairs) => {
                prop_assert!(pairs.len() <= import::MAX_ROWS);
                let mut rng = StdRng::seed_from_u64(seed);
                match import::build_quiz(&pairs, None, choices, &mut rng) {
                    Ok(draft) => check_outcome(draft.validate(None))?,
                    Err(ImportError::ChoicesOutOfRange) => {
                        prop_assert!(!(MIN_CHOICES..=MAX_CHOICES).contains(&choices))
                    }
                    Err(_) => {}
                }
            }
            Err(ImportError::TooManyRows) => {
                let rows = text.lines().filter(|l| !l.trim().is_empty()).count();
                prop_assert!(rows > import::MAX_ROWS);
            }
            Err(_) => {}
        }
    }
}
