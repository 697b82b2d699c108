//! The worst bodies one signed-in client can send under the 1 MiB limit, through the work
//! the handlers do before the database (parse + check). Each must take well under 50 ms.
//!
//! `cargo bench --bench hostile_bodies`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quizcast::domain::import::Delimiter;
use quizcast::http::error::AppError;
use quizcast::http::quizzes::{parse_quiz, parse_word_list};
use serde_json::json;

const LIMIT: usize = 1 << 20;

/// One question with 100,000 distinct choices (the 170 s body of the quadratic check).
fn many_choices() -> Vec<u8> {
    let choices: Vec<String> = (0..100_000).map(|i| format!("c{i}")).collect();
    let q = json!({ "prompt": "p", "choices": choices, "correct_choice": 0 });
    json!({ "title": "t", "questions": [q] })
        .to_string()
        .into_bytes()
}

/// 12,000 questions, each wrong in every field.
fn many_invalid_questions() -> Vec<u8> {
    let q = json!({ "prompt": "", "choices": ["a"], "correct_choice": -1, "time_limit_ms": 1 });
    json!({ "title": "", "questions": vec![q; 12_000] })
        .to_string()
        .into_bytes()
}

/// 200 questions of 6 choices, each 500 characters long: the largest quiz that passes.
fn largest_valid() -> Vec<u8> {
    let text = |i: usize, j: usize| format!("{i}-{j}-{}", "x".repeat(490));
    let questions: Vec<_> = (0..200)
        .map(|i| {
            let choices: Vec<String> = (0..6).map(|j| text(i, j)).collect();
            json!({ "prompt": text(i, 9), "choices": choices, "correct_choice": 5 })
        })
        .collect();
    json!({ "title": "t", "questions": questions })
        .to_string()
        .into_bytes()
}

/// A word list filling the body limit: about 90,000 rows.
fn full_word_list() -> Vec<u8> {
    let mut text = String::with_capacity(LIMIT);
    for i in 0.. {
        let row = format!("word{i},meaning {i}\n");
        if text.len() + row.len() > LIMIT {
            break;
        }
        text.push_str(&row);
    }
    text.into_bytes()
}

fn status(r: &Result<quizcast::domain::quiz::Quiz, AppError>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => format!("{e:?}").chars().take(120).collect(),
    }
}

fn bodies(c: &mut Criterion) {
    let quizzes = [
        ("quiz: 100k choices in one question", many_choices()),
        ("quiz: 12,000 invalid questions", many_invalid_questions()),
        ("quiz: largest valid (200 x 6 x 500 chars)", largest_valid()),
    ];
    let mut group = c.benchmark_group("hostile_bodies");
    for (name, body) in &quizzes {
        assert!(body.len() <= LIMIT, "{name}: {} bytes", body.len());
        eprintln!(
            "{name}: {} bytes -> {}",
            body.len(),
            status(&parse_quiz(body, "author"))
        );
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(*name, |b| b.iter(|| parse_quiz(black_box(body), "author")));
    }
    let list = full_word_list();
    let parse = |body: &[u8]| parse_word_list(body, Delimiter::Comma, None, 4, "author");
    eprintln!(
        "word list: {} bytes -> {}",
        list.len(),
        status(&parse(&list))
    );
    group.throughput(Throughput::Bytes(list.len() as u64));
    group.bench_function("word list: 1 MiB of rows", |b| {
        b.iter(|| parse(black_box(&list)))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bodies
}
criterion_main!(benches);
