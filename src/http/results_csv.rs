//! Results as a spreadsheet: one row per player and opened question, unanswered ones
//! included, with the words. Rows are written a chunk at a time as the client reads them,
//! so the report of a large session never sits whole in memory, and no cell can start a
//! formula.

use std::borrow::Cow;
use std::collections::HashMap;

use axum::body::{Body, Bytes};

use crate::domain::quiz::Question;
use crate::live::SessionResults;

pub const HEADER: [&str; 10] = [
    "rank",
    "player",
    "score",
    "question_index",
    "prompt",
    "choice",
    "correct_choice",
    "correct",
    "points",
    "answer_ms",
];

/// Rows per chunk handed to the connection: at most a few hundred KB.
const CHUNK_ROWS: usize = 256;

/// `text` as a cell no spreadsheet reads as a formula: one that begins with `=`, `+`, `-`,
/// `@`, tab or carriage return gets a leading `'`.
pub fn cell(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The CSV body of `r`.
pub fn body(r: SessionResults) -> Body {
    let report = Report::new(r);
    Body::from_stream(futures::stream::unfold(report, |mut report| async move {
        report.next_chunk().map(|chunk| (chunk, report))
    }))
}

struct Report {
    r: SessionResults,
    /// Questions opened: indices `0..opened`.
    opened: usize,
    /// Position in `r.questions` of each question index.
    questions: HashMap<u32, usize>,
    /// Position in `r.answers` of each user's answer to each question index.
    answers: HashMap<String, HashMap<u32, usize>>,
    /// The next row to write; the header goes first.
    next: usize,
    header_written: bool,
}

impl Report {
    fn new(r: SessionResults) -> Self {
        let opened = r.last_index.map_or(0, |i| i as usize + 1);
        let questions = r
            .questions
            .iter()
            .enumerate()
            .map(|(k, q)| (q.index, k))
            .collect();
        let mut answers: HashMap<String, HashMap<u32, usize>> = HashMap::new();
        for (k, a) in r.answers.iter().enumerate() {
            answers
                .entry(a.user_id.clone())
                .or_default()
                .insert(a.index, k);
        }
        Self {
            r,
            opened,
            questions,
            answers,
            next: 0,
            header_written: false,
        }
    }

    fn rows(&self) -> usize {
        self.r.standings.len() * self.opened
    }

    fn next_chunk(&mut self) -> Option<Result<Bytes, csv::Error>> {
        if self.header_written && self.next >= self.rows() {
            return None;
        }
        Some(self.write_chunk().map(Bytes::from))
    }

    fn write_chunk(&mut self) -> Result<Vec<u8>, csv::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        if !self.header_written {
            w.write_record(HEADER)?;
            self.header_written = true;
        }
        let end = (self.next + CHUNK_ROWS).min(self.rows());
        for n in self.next..end {
            for c in self.row(n) {
                w.write_field(cell(&c).as_ref())?;
            }
            w.write_record(None::<&[u8]>)?;
        }
        self.next = end;
        w.into_inner().map_err(|e| e.into_error().into())
    }

    /// Row `n`: player `n / opened` in standings order, question `n % opened`.
    fn row(&self, n: usize) -> [String; 10] {
        let s = &self.r.standings[n / self.opened];
        let index = (n % self.opened) as u32;
        let q = self.questions.get(&index).map(|&k| &self.r.questions[k]);
        let a = self
            .answers
            .get(s.user_id.as_str())
            .and_then(|by_index| by_index.get(&index))
            .map(|&k| &self.r.answers[k]);
        let blank = String::new;
        [
            s.rank.to_string(),
            s.display_name.clone(),
            s.score.to_string(),
            index.to_string(),
            q.map_or_else(blank, |q| q.prompt.to_string()),
            a.map_or_else(blank, |a| word(q, a.choice)),
            q.map_or_else(blank, |q| word(Some(q), q.correct_choice)),
            a.map_or_else(blank, |a| a.correct.to_string()),
            a.map_or_else(blank, |a| a.awarded_points.to_string()),
            a.map_or_else(blank, |a| a.answer_ms.to_string()),
        ]
    }
}

/// The text of choice `i`, or its number for results stored without their questions.
fn word(q: Option<&Question>, i: u32) -> String {
    q.and_then(|q| q.choices.get(i as usize))
        .map_or_else(|| i.to_string(), |w| w.to_string())
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use uuid::Uuid;

    use super::*;
    use crate::domain::SessionCode;
    use crate::live::{AnswerRow, Standing};

    #[test]
    fn formula_starts_are_escaped() {
        for text in [
            "=1+1",
            "+1",
            "-2",
            "@a",
            "\tx",
            "\rx",
            "=HYPERLINK(\"http://x\")",
        ] {
            assert_eq!(cell(text), format!("'{text}"));
        }
        for text in ["", "Ana", "1", "a=b", " =x", "'quoted"] {
            assert_eq!(cell(text), text);
        }
    }

    fn results(players: usize, questions: u32, last_index: Option<u32>) -> SessionResults {
        let question = |i: u32| Question {
            id: Uuid::from_u128(u128::from(i)),
            index: i,
            prompt: format!("word {i}").into(),
            choices: vec![format!("right {i}").into(), format!("wrong {i}").into()],
            correct_choice: 0,
            time_limit_ms: 20_000,
        };
        let user = |p: usize| format!("u{p}");
        SessionResults {
            code: SessionCode::parse("AAAAAA").unwrap(),
            quiz_id: Uuid::nil(),
            quiz_title: "t".into(),
            host_id: "h".into(),
            finished_at: 0,
            question_count: questions,
            last_index,
            standings: (0..players)
                .map(|p| Standing {
                    rank: p as u32 + 1,
                    user_id: user(p),
                    display_name: format!("-p{p}"),
                    score: 100,
                })
                .collect(),
            // Player p answers question 0 only, with choice p % 2.
            answers: (0..players)
                .map(|p| AnswerRow {
                    user_id: user(p),
                    display_name: format!("-p{p}"),
                    question_id: Uuid::from_u128(0),
                    index: 0,
                    choice: (p % 2) as u32,
                    correct: p % 2 == 0,
                    awarded_points: if p % 2 == 0 { 100 } else { 0 },
                    answer_ms: 1_000,
                })
                .collect(),
            questions: (0..questions).map(question).collect(),
        }
    }

    fn rows(r: SessionResults) -> Vec<Vec<String>> {
        let mut report = Report::new(r);
        let mut text = Vec::new();
        let mut chunks = 0;
        while let Some(chunk) = report.next_chunk() {
            text.extend_from_slice(&chunk.unwrap());
            chunks += 1;
        }
        assert!(chunks >= 1);
        let mut reader = csv::Reader::from_reader(text.as_slice());
        assert_eq!(reader.headers().unwrap(), HEADER.as_slice());
        reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect()
    }

    #[test]
    fn one_row_per_player_and_opened_question_across_chunks() {
        let rows = rows(results(300, 3, Some(1)));
        assert_eq!(rows.len(), 600, "question 2 never opened");
        assert_eq!(
            rows[0],
            [
                "1", "'-p0", "100", "0", "word 0", "right 0", "right 0", "true", "100", "1000"
            ]
        );
        assert_eq!(
            rows[1],
            ["1", "'-p0", "100", "1", "word 1", "", "right 1", "", "", ""]
        );
        assert_eq!(rows[2][5], "wrong 0");
        assert_eq!(rows[599][1], "'-p299");
    }

    #[test]
    fn a_session_ended_in_the_lobby_has_only_the_header() {
        assert!(rows(results(3, 3, None)).is_empty());
    }

    #[test]
    fn results_stored_without_questions_keep_their_numbers() {
        let mut r = results(1, 2, Some(1));
        r.questions.clear();
        let rows = rows(r);
        assert_eq!(
            rows[0],
            ["1", "'-p0", "100", "0", "", "0", "", "true", "100", "1000"]
        );
        assert_eq!(rows.len(), 2);
    }

    #[tokio::test]
    async fn the_body_streams_every_chunk() {
        let mut stream = body(results(600, 1, Some(0))).into_data_stream();
        let mut chunks = 0;
        let mut bytes = 0;
        while let Some(chunk) = stream.next().await {
            bytes += chunk.unwrap().len();
            chunks += 1;
        }
        assert_eq!(chunks, 3, "600 rows in chunks of {CHUNK_ROWS}");
        assert!(bytes > 600 * 20);
    }
}
