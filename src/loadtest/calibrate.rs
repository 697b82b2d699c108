//! A fixed CPU workload, timed: encoding and parsing a leaderboard-shaped JSON document and
//! hashing bytes, the kind of work a server does per event. Every run reports it, so
//! figures from machines of different speed can be put side by side.

use std::hint::black_box;
use std::time::Instant;

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Entry {
    rank: u32,
    user_id: String,
    display_name: String,
    score: u64,
}

#[derive(Serialize, Deserialize)]
struct Board {
    players: u32,
    entries: Vec<Entry>,
    version: u64,
}

fn workload() -> u64 {
    let board = Board {
        players: 10_000,
        entries: (0..10)
            .map(|i| Entry {
                rank: i + 1,
                user_id: format!("0190b6a4-7c3e-7000-8000-00000000{i:04}"),
                display_name: format!("Player {i}"),
                score: 1_000 - u64::from(i) * 37,
            })
            .collect(),
        version: 42,
    };
    let mut acc = 0u64;
    for round in 0..20_000u64 {
        let text = serde_json::to_string(black_box(&board)).unwrap_or_default();
        let back: Board = serde_json::from_str(&text).unwrap_or(Board {
            players: 0,
            entries: Vec::new(),
            version: 0,
        });
        // FNV-1a over the text: byte-at-a-time work the compiler cannot skip.
        let mut h = 0xcbf2_9ce4_8422_2325u64 ^ round;
        for b in text.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        acc = acc.wrapping_add(h ^ back.version ^ u64::from(back.players));
    }
    acc
}

/// Milliseconds the workload takes on one core here, best of three (less is faster).
pub fn calibration_ms() -> f64 {
    (0..3)
        .map(|_| {
            let started = Instant::now();
            black_box(workload());
            started.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_workload_is_deterministic() {
        assert_eq!(super::workload(), super::workload());
    }
}
