//! The hot path in isolation: scoring an answer, encoding an event once, and fanning one
//! encoded event out to 10,000 in-process subscribers.
//!
//! `cargo bench --bench hot_path`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use quizcast::domain::SessionCode;
use quizcast::domain::event::{EventKind, Leaderboard, LeaderboardEntry};
use quizcast::domain::scoring::{Streak, score_answer};
use quizcast::hub::{EncodedEvent, Hub, Transport};

fn scoring(c: &mut Criterion) {
    let streak = Streak {
        count: 3,
        last_index: Some(4),
    };
    c.bench_function("score_answer", |b| {
        b.iter(|| score_answer(black_box(streak), black_box(5), 1, 1, black_box(7_345)))
    });
}

fn top10() -> Leaderboard {
    Leaderboard {
        players: 10_000,
        entries: (0..10)
            .map(|i| LeaderboardEntry {
                rank: i + 1,
                user_id: format!("01a21a0c-0000-7000-8000-{i:012}"),
                display_name: format!("Player number {i}"),
                score: 2_500 - i * 10,
            })
            .collect(),
        version: 20_000,
    }
}

fn encoding(c: &mut Criterion) {
    let board = top10();
    c.bench_function("encode_leaderboard_once", |b| {
        b.iter(|| EncodedEvent::of(None, EventKind::Leaderboard, black_box(&board)))
    });
}

fn fan_out(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let mut group = c.benchmark_group("fan_out");
    for subscribers in [1_000u64, 10_000] {
        let hub = Hub::new(4);
        let code = SessionCode::parse("K7P2QX").expect("code");
        let mut subs: Vec<_> = (0..subscribers)
            .map(|i| hub.subscribe(code, &format!("u{i}"), Transport::Sse))
            .collect();
        let topic = hub.topic(code);
        let frame = EncodedEvent::of(None, EventKind::Leaderboard, &top10());
        group.throughput(Throughput::Elements(subscribers));
        group.bench_with_input(
            BenchmarkId::from_parameter(subscribers),
            &subscribers,
            |b, _| {
                b.iter(|| {
                    runtime.block_on(async {
                        // Paced: handed out in chunks by the topic's drain task.
                        hub.publish(code, frame.clone());
                        topic.delivered().await;
                    });
                    // Drain so queues never fill and every iteration delivers to everyone.
                    for s in subs.iter_mut() {
                        let _ = s.rx.try_recv();
                    }
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, scoring, encoding, fan_out);
criterion_main!(benches);
