//! Word-list import: `word,meaning` lines (CSV or TSV) become one question per word whose
//! wrong choices are other words' meanings.

use std::collections::HashSet;

use rand::Rng;
use rand::seq::SliceRandom;

use super::quiz::{MAX_CHOICES, MAX_QUESTIONS, MIN_CHOICES, QuestionDraft, QuizDraft};

pub const DEFAULT_CHOICES: usize = 4;
pub const DEFAULT_TITLE: &str = "Imported word list";
/// One question per row, so no more rows than a quiz has questions.
pub const MAX_ROWS: usize = MAX_QUESTIONS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    Comma,
    Tab,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    #[error("line {line}: expected `word{sep}meaning` with both parts non-empty")]
    BadLine { line: u64, sep: char },
    #[error("line {line}: {message}")]
    Unreadable { line: u64, message: String },
    #[error("choices must be {MIN_CHOICES}–{MAX_CHOICES}")]
    ChoicesOutOfRange,
    #[error("more than {MAX_ROWS} word pairs: a quiz holds at most {MAX_ROWS} questions")]
    TooManyRows,
    #[error("need at least {needed} pairs with distinct meanings, found {found}")]
    TooFewPairs { needed: usize, found: usize },
}

/// Whether `choices` per question is allowed; checked before the body is read.
pub fn check_choices(choices: usize) -> Result<(), ImportError> {
    if (MIN_CHOICES..=MAX_CHOICES).contains(&choices) {
        Ok(())
    } else {
        Err(ImportError::ChoicesOutOfRange)
    }
}

/// Parses `word,meaning` pairs, skipping blank lines. Reading stops at the first row past
/// `MAX_ROWS`, so a long list costs no more than a full one.
pub fn parse_pairs(text: &str, delimiter: Delimiter) -> Result<Vec<(String, String)>, ImportError> {
    let sep = match delimiter {
        Delimiter::Comma => ',',
        Delimiter::Tab => '\t',
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sep as u8)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut pairs = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| ImportError::Unreadable {
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        // csv trims ASCII whitespace only; quizzes compare choices trimmed of any.
        let (w, m) = match (record.get(0), record.get(1), record.len()) {
            (Some(w), Some(m), 2) => (w.trim(), m.trim()),
            _ => return Err(ImportError::BadLine { line, sep }),
        };
        if w.is_empty() || m.is_empty() {
            return Err(ImportError::BadLine { line, sep });
        }
        if pairs.len() == MAX_ROWS {
            return Err(ImportError::TooManyRows);
        }
        pairs.push((w.to_owned(), m.to_owned()));
    }
    Ok(pairs)
}

/// Builds the draft: one question per pair, `choices` options each, the right meaning at a
/// random position among meanings of other words. Linear in the pairs: each question draws
/// its wrong choices by index instead of scanning every meaning.
pub fn build_quiz(
    pairs: &[(String, String)],
    title: Option<&str>,
    choices: usize,
    rng: &mut impl Rng,
) -> Result<QuizDraft, ImportError> {
    check_choices(choices)?;
    if pairs.len() > MAX_ROWS {
        return Err(ImportError::TooManyRows);
    }
    let mut seen = HashSet::with_capacity(pairs.len());
    let meanings: Vec<&str> = pairs
        .iter()
        .map(|(_, m)| m.as_str())
        .filter(|m| seen.insert(*m))
        .collect();
    if pairs.len() < choices || meanings.len() < choices {
        return Err(ImportError::TooFewPairs {
            needed: choices,
            found: pairs.len().min(meanings.len()),
        });
    }
    let questions = pairs
        .iter()
        .map(|(word, meaning)| {
            let options = options_for(meaning, &meanings, choices, rng);
            let correct = options.iter().position(|o| o == meaning).unwrap_or(0);
            QuestionDraft {
                prompt: word.clone(),
                choices: options,
                correct_choice: correct as i64,
                time_limit_ms: None,
            }
        })
        .collect();
    Ok(QuizDraft {
        title: title
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or(DEFAULT_TITLE)
            .to_owned(),
        questions,
    })
}

/// `meaning` and `choices - 1` other distinct meanings, shuffled. Draws `choices` distinct
/// meanings and drops `meaning` if drawn, else a random one: every set of others is as likely.
/// `meanings` are distinct, hold `meaning` and at least `choices` items.
fn options_for(
    meaning: &str,
    meanings: &[&str],
    choices: usize,
    rng: &mut impl Rng,
) -> Vec<String> {
    let mut drawn = rand::seq::index::sample(rng, meanings.len(), choices).into_vec();
    let drop = match drawn.iter().position(|&k| meanings[k] == meaning) {
        Some(at) => at,
        None => rng.random_range(0..drawn.len()),
    };
    drawn.swap_remove(drop);
    let mut options: Vec<String> = drawn.iter().map(|&k| meanings[k].to_owned()).collect();
    options.push(meaning.to_owned());
    options.shuffle(rng);
    options
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const WORDS: &str = "benevolent,kind\nmorose, gloomy\n\nlaconic,brief\nverbose,wordy\n";

    #[test]
    fn parses_csv_and_tsv() {
        let pairs = parse_pairs(WORDS, Delimiter::Comma).unwrap();
        assert_eq!(pairs.len(), 4);
        assert_eq!(pairs[1], ("morose".into(), "gloomy".into()));
        let tsv = parse_pairs("a\tb\nc\td", Delimiter::Tab).unwrap();
        assert_eq!(
            tsv,
            vec![("a".into(), "b".into()), ("c".into(), "d".into())]
        );
        let quoted = parse_pairs("\"ad hoc\",\"for this, only\"", Delimiter::Comma).unwrap();
        assert_eq!(quoted[0].1, "for this, only");
    }

    #[test]
    fn rejects_bad_lines() {
        assert!(matches!(
            parse_pairs("a,b\nlonely\n", Delimiter::Comma),
            Err(ImportError::BadLine { line: 2, .. })
        ));
        assert!(parse_pairs("a,b,c", Delimiter::Comma).is_err());
        assert!(parse_pairs("a,", Delimiter::Comma).is_err());
    }

    #[test]
    fn builds_questions_with_other_words_meanings() {
        let pairs = parse_pairs(WORDS, Delimiter::Comma).unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let draft = build_quiz(&pairs, Some("GRE"), 3, &mut rng).unwrap();
        assert_eq!(draft.title, "GRE");
        for (q, (word, meaning)) in draft.questions.iter().zip(&pairs) {
            assert_eq!(&q.prompt, word);
            assert_eq!(q.choices.len(), 3);
            assert_eq!(&q.choices[q.correct_choice as usize], meaning);
            let mut distinct = q.choices.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), 3);
        }
        assert!(draft.validate(None).is_ok());
    }

    fn rows(n: usize) -> String {
        (0..n).map(|i| format!("w{i},m{i}\n")).collect()
    }

    #[test]
    fn reading_stops_at_the_row_past_the_cap() {
        assert_eq!(
            parse_pairs(&rows(MAX_ROWS), Delimiter::Comma)
                .unwrap()
                .len(),
            200
        );
        // A bad line after row 201 is never reached.
        let text = format!("{}lonely\n", rows(MAX_ROWS + 1));
        assert_eq!(
            parse_pairs(&text, Delimiter::Comma),
            Err(ImportError::TooManyRows)
        );
        // Blank lines are not rows.
        let spaced = rows(MAX_ROWS).replace('\n', "\n\n");
        assert!(parse_pairs(&spaced, Delimiter::Comma).is_ok());
    }

    #[test]
    fn a_full_list_builds_a_valid_quiz_with_distinct_options() {
        let pairs = parse_pairs(&rows(MAX_ROWS), Delimiter::Comma).unwrap();
        let mut rng = StdRng::seed_from_u64(3);
        for choices in 2..=6 {
            let draft = build_quiz(&pairs, None, choices, &mut rng).unwrap();
            assert_eq!(draft.title, DEFAULT_TITLE);
            for (q, (_, meaning)) in draft.questions.iter().zip(&pairs) {
                assert_eq!(q.choices.len(), choices);
                assert_eq!(&q.choices[q.correct_choice as usize], meaning);
            }
            assert!(draft.validate(None).is_ok());
        }
        assert_eq!(
            build_quiz(&[pairs.clone(), pairs].concat(), None, 4, &mut rng).unwrap_err(),
            ImportError::TooManyRows
        );
    }

    #[test]
    fn every_other_meaning_can_be_drawn() {
        let pairs = parse_pairs("a,1\nb,2\nc,3\nd,4", Delimiter::Comma).unwrap();
        let mut rng = StdRng::seed_from_u64(5);
        let mut seen = HashSet::new();
        for _ in 0..200 {
            let draft = build_quiz(&pairs, None, 2, &mut rng).unwrap();
            let q = &draft.questions[0];
            seen.insert(q.choices[1 - q.correct_choice as usize].clone());
        }
        let mut seen: Vec<_> = seen.into_iter().collect();
        seen.sort();
        assert_eq!(seen, ["2", "3", "4"]);
    }

    #[test]
    fn needs_enough_pairs() {
        let pairs = parse_pairs("a,x\nb,y\nc,x", Delimiter::Comma).unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            build_quiz(&pairs, None, 3, &mut rng).unwrap_err(),
            ImportError::TooFewPairs {
                needed: 3,
                found: 2
            }
        );
        assert_eq!(
            build_quiz(&pairs, None, 7, &mut rng).unwrap_err(),
            ImportError::ChoicesOutOfRange
        );
    }
}
