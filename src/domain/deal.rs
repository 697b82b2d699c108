//! A session's own deal of a quiz: fresh question ids and an order of choices per question,
//! both derived from a secret per-session seed. Nothing learned elsewhere (the quiz's ids,
//! another session of the same quiz) tells the correct choice of a question that is open.
//! The deal is deterministic, so a restarted node, or any other node, re-deals the same
//! session from its stored seed; the words themselves are shared, never copied.

use std::fmt;
use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::quiz::{Question, Quiz};

/// 256 secret bits per session; stored as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DealSeed([u8; 32]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a deal seed is 64 hex digits")]
pub struct BadSeed;

impl DealSeed {
    pub fn random(rng: &mut impl Rng) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn parse(hex: &str) -> Result<Self, BadSeed> {
        let hex = hex.as_bytes();
        if hex.len() != 64 {
            return Err(BadSeed);
        }
        let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8).ok_or(BadSeed);
        let mut bytes = [0u8; 32];
        for (i, pair) in hex.chunks(2).enumerate() {
            bytes[i] = digit(pair[0])? << 4 | digit(pair[1])?;
        }
        Ok(Self(bytes))
    }
}

impl fmt::Display for DealSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for DealSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The seed decides every correct choice of the session: never in logs.
        f.write_str("DealSeed(..)")
    }
}

/// The quiz as this session plays it: same words, its own question ids and choice order.
/// The quiz id stays the quiz's own (results name the quiz they came from).
pub fn deal(quiz: &Arc<Quiz>, seed: &DealSeed) -> Quiz {
    let mut rng = ChaCha8Rng::from_seed(seed.0);
    let questions = quiz
        .questions
        .iter()
        .map(|q| {
            let mut id = [0u8; 16];
            rng.fill_bytes(&mut id);
            let mut order: Vec<usize> = (0..q.choices.len()).collect();
            order.shuffle(&mut rng);
            let correct = order
                .iter()
                .position(|&i| i == q.correct_choice as usize)
                .unwrap_or(0) as u32;
            Question {
                id: uuid::Builder::from_random_bytes(id).into_uuid(),
                index: q.index,
                prompt: q.prompt.clone(),
                choices: order.iter().map(|&i| q.choices[i].clone()).collect(),
                correct_choice: correct,
                time_limit_ms: q.time_limit_ms,
            }
        })
        .collect();
    Quiz {
        id: quiz.id,
        author_id: quiz.author_id.clone(),
        title: quiz.title.clone(),
        questions,
        demo: quiz.demo,
        dealt_from: Some(quiz.clone()),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use uuid::Uuid;

    use super::*;

    /// Same words and answers, none of the ids.
    fn is_dealt_from(quiz: &Quiz, dealt: &Quiz) -> bool {
        quiz.questions.len() == dealt.questions.len()
            && quiz.questions.iter().zip(&dealt.questions).all(|(a, b)| {
                a.id != b.id
                    && a.choices[a.correct_choice as usize] == b.choices[b.correct_choice as usize]
            })
    }

    fn quiz(n: usize, choices: usize) -> Arc<Quiz> {
        Arc::new(Quiz {
            dealt_from: None,
            id: Uuid::now_v7(),
            author_id: Some("author".into()),
            title: "t".into(),
            demo: false,
            questions: (0..n)
                .map(|i| Question {
                    id: Uuid::now_v7(),
                    index: i as u32,
                    prompt: format!("word {i}").into(),
                    choices: (0..choices)
                        .map(|c| Arc::from(format!("meaning {i}.{c}")))
                        .collect(),
                    correct_choice: (i % choices) as u32,
                    time_limit_ms: 20_000,
                })
                .collect(),
        })
    }

    #[test]
    fn the_same_seed_deals_the_same_and_shares_the_words() {
        let q = quiz(10, 4);
        let seed = DealSeed::random(&mut StdRng::seed_from_u64(1));
        let (a, b) = (deal(&q, &seed), deal(&q, &seed));
        assert_eq!(a, b);
        assert!(is_dealt_from(&q, &a));
        assert!(Arc::ptr_eq(&a.questions[3].prompt, &q.questions[3].prompt));
        let shared = a.questions[3]
            .choices
            .iter()
            .all(|c| q.questions[3].choices.iter().any(|o| Arc::ptr_eq(c, o)));
        assert!(shared, "choices are the quiz's own strings, reordered");
    }

    #[test]
    fn seeds_round_trip_through_hex_and_stay_out_of_logs() {
        let seed = DealSeed::random(&mut StdRng::seed_from_u64(2));
        let hex = seed.to_string();
        assert_eq!(hex.len(), 64);
        assert!(DealSeed::parse(&hex) == Ok(seed));
        assert_eq!(DealSeed::parse("zz"), Err(BadSeed));
        assert_eq!(DealSeed::parse(&"g".repeat(64)), Err(BadSeed));
        assert_eq!(format!("{seed:?}"), "DealSeed(..)");
    }

    #[test]
    fn sessions_differ_in_ids_and_in_where_the_answer_is() {
        let q = quiz(200, 4);
        let mut rng = StdRng::seed_from_u64(3);
        let a = deal(&q, &DealSeed::random(&mut rng));
        let b = deal(&q, &DealSeed::random(&mut rng));
        assert!(
            a.questions
                .iter()
                .zip(&b.questions)
                .all(|(x, y)| x.id != y.id)
        );
        let same_place = a
            .questions
            .iter()
            .zip(&b.questions)
            .filter(|(x, y)| x.correct_choice == y.correct_choice)
            .count();
        // Independent uniform positions among 4: about 50 of 200 coincide, never nearly all.
        assert!(same_place < 100, "{same_place} of 200 in the same place");
    }

    proptest! {
        #[test]
        fn a_deal_keeps_every_answer_right(seed in any::<[u8; 32]>(), n in 1usize..20, c in 2usize..=6) {
            let q = quiz(n, c);
            let d = deal(&q, &DealSeed(seed));
            prop_assert!(is_dealt_from(&q, &d));
            for (x, y) in q.questions.iter().zip(&d.questions) {
                let mut a: Vec<_> = x.choices.iter().map(|s| s.to_string()).collect();
                let mut b: Vec<_> = y.choices.iter().map(|s| s.to_string()).collect();
                a.sort();
                b.sort();
                prop_assert_eq!(a, b);
            }
        }
    }
}
