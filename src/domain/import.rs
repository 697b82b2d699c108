//! Word-list import: `word,meaning` lines (CSV or TSV) become one question per word whose
//! wrong choices are other words' meanings.

use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};

use super::quiz::{QuestionDraft, QuizDraft};

pub const DEFAULT_CHOICES: usize = 4;
pub const DEFAULT_TITLE: &str = "Imported word list";

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
    #[error("choices must be 2–6")]
    ChoicesOutOfRange,
    #[error("need at least {needed} pairs with distinct meanings, found {found}")]
    TooFewPairs { needed: usize, found: usize },
}

/// Parses `word,meaning` pairs, skipping blank lines.
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
        match (record.get(0), record.get(1), record.len()) {
            (Some(w), Some(m), 2) if !w.is_empty() && !m.is_empty() => {
                pairs.push((w.to_owned(), m.to_owned()))
            }
            _ => return Err(ImportError::BadLine { line, sep }),
        }
    }
    Ok(pairs)
}

/// Builds the draft: one question per pair, `choices` options each, the right meaning at a
/// random position among meanings of other words.
pub fn build_quiz(
    pairs: &[(String, String)],
    title: Option<&str>,
    choices: usize,
    rng: &mut impl Rng,
) -> Result<QuizDraft, ImportError> {
    if !(2..=6).contains(&choices) {
        return Err(ImportError::ChoicesOutOfRange);
    }
    let mut meanings: Vec<&str> = pairs.iter().map(|(_, m)| m.as_str()).collect();
    meanings.sort_unstable();
    meanings.dedup();
    if pairs.len() < choices || meanings.len() < choices {
        return Err(ImportError::TooFewPairs {
            needed: choices,
            found: pairs.len().min(meanings.len()),
        });
    }
    let questions = pairs
        .iter()
        .map(|(word, meaning)| {
            let others: Vec<&str> = meanings.iter().copied().filter(|m| m != meaning).collect();
            let mut options: Vec<String> = others
                .choose_multiple(rng, choices - 1)
                .map(|m| (*m).to_owned())
                .collect();
            options.push(meaning.clone());
            options.shuffle(rng);
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
