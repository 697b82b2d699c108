//! The built-in demo quiz, present on every fresh install so a new user can play at once.

use uuid::Uuid;

use crate::domain::quiz::{DEFAULT_TIME_LIMIT_MS, Question, Quiz};
use crate::store::{Store, StoreError};

/// Fixed ids, so every node and every restart agree on the demo quiz.
pub const DEMO_QUIZ_ID: Uuid = Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_d301);

const WORDS: &[(&str, [&str; 4], u32)] = &[
    (
        "benevolent",
        ["kind and generous", "angry", "sleepy", "loud"],
        0,
    ),
    (
        "ephemeral",
        ["heavy", "lasting a very short time", "ancient", "colourful"],
        1,
    ),
    (
        "gregarious",
        ["shy", "greedy", "fond of company", "gloomy"],
        2,
    ),
    (
        "laconic",
        ["using very few words", "lazy", "milky", "talkative"],
        0,
    ),
    (
        "meticulous",
        ["careless", "very careful and precise", "musical", "tiny"],
        1,
    ),
    (
        "obstinate",
        ["obvious", "flexible", "stubborn", "hidden"],
        2,
    ),
    (
        "ubiquitous",
        ["rare", "found everywhere", "unique", "curious"],
        1,
    ),
    (
        "candid",
        [
            "sweet",
            "truthful and straightforward",
            "secretive",
            "bright",
        ],
        1,
    ),
    (
        "frugal",
        ["fruity", "wasteful", "sparing with money", "fragile"],
        2,
    ),
    (
        "zealous",
        ["jealous", "full of energy for a cause", "lazy", "calm"],
        1,
    ),
    (
        "lucid",
        [
            "lucky",
            "clear and easy to understand",
            "slippery",
            "confused",
        ],
        1,
    ),
    (
        "resilient",
        ["quick to recover", "resentful", "silent", "brittle"],
        0,
    ),
];

pub fn demo_quiz() -> Quiz {
    Quiz {
        dealt_from: None,
        id: DEMO_QUIZ_ID,
        author_id: None,
        title: "Demo: English vocabulary".into(),
        demo: true,
        questions: WORDS
            .iter()
            .enumerate()
            .map(|(i, (word, choices, correct))| Question {
                id: Uuid::from_u128(0xd301_0000_0000_4000_8000_0000_0000_0000 + i as u128),
                index: i as u32,
                prompt: (*word).into(),
                choices: choices.iter().map(|c| (*c).into()).collect(),
                correct_choice: *correct,
                time_limit_ms: DEFAULT_TIME_LIMIT_MS,
            })
            .collect(),
    }
}

/// Stores the demo quiz unless it is already there.
/// Nodes starting together may race to insert it: losing that race is fine.
pub async fn seed(store: &dyn Store, now: i64) -> Result<(), StoreError> {
    if store.quiz(DEMO_QUIZ_ID).await?.is_some() {
        return Ok(());
    }
    match store.save_quiz(&demo_quiz(), now).await {
        Err(_) if store.quiz(DEMO_QUIZ_ID).await?.is_some() => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::quiz::{QuestionDraft, QuizDraft};

    #[test]
    fn the_demo_quiz_passes_validation() {
        let quiz = demo_quiz();
        assert!(quiz.questions.len() >= 10);
        let draft = QuizDraft {
            title: quiz.title.clone(),
            questions: quiz
                .questions
                .iter()
                .map(|q| QuestionDraft {
                    prompt: q.prompt.to_string(),
                    choices: q.choice_texts(),
                    correct_choice: i64::from(q.correct_choice),
                    time_limit_ms: Some(i64::from(q.time_limit_ms)),
                })
                .collect(),
        };
        assert!(draft.validate(None).is_ok());
    }
}
