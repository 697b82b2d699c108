//! A ready-made game (host, players, quiz, session) and checks of the contract's rules:
//! ranks, points, session codes.

use serde_json::{Value, json};

use super::{Guest, TestApp};
/// A session with a host, `n` players who joined, and a quiz of `questions` questions.
pub struct Game {
    pub host: Guest,
    pub players: Vec<Guest>,
    pub quiz_id: String,
    pub code: String,
}

pub async fn setup_game(app: &TestApp, n: usize, questions: usize, limit_ms: u32) -> Game {
    let host = app.guest("Host").await;
    let quiz_id = app
        .create_quiz_limit(&host.token, questions, limit_ms)
        .await;
    let code = app.create_session(&host.token, &quiz_id).await;
    let mut players = Vec::new();
    for i in 0..n {
        let p = app.guest(&format!("Player {i}")).await;
        app.join(&p.token, &code).await;
        players.push(p);
    }
    Game {
        host,
        players,
        quiz_id,
        code,
    }
}

/// Checks the contract's rank rule and order on a list of leaderboard entries.
pub fn assert_ranks(entries: &[Value], what: &str) {
    for (i, e) in entries.iter().enumerate() {
        let score = e["score"]
            .as_u64()
            .unwrap_or_else(|| panic!("{what}: score in {e}"));
        let higher = entries
            .iter()
            .filter(|o| o["score"].as_u64() > Some(score))
            .count();
        assert_eq!(
            e["rank"],
            json!(higher + 1),
            "{what}: rank of entry {i}: {entries:?}"
        );
        if i > 0 {
            let prev = entries[i - 1]["score"].as_u64().unwrap_or(0);
            assert!(prev >= score, "{what}: not ordered by score: {entries:?}");
        }
    }
}

/// Checks an answer reply against the scoring rule: `prior_streak` correct answers in a row
/// before this one, and the server-measured `t` at most `max_t` (time since the open was asked).
pub fn assert_points(reply: &Value, correct: bool, prior_streak: u64, max_t: std::time::Duration) {
    assert_eq!(reply["correct"], json!(correct), "correct in {reply}");
    let awarded = reply["awarded_points"].as_u64().expect("awarded_points");
    if !correct {
        assert_eq!(awarded, 0, "a wrong answer scores 0: {reply}");
        assert_eq!(
            reply["streak"],
            json!(0),
            "a wrong answer resets the streak: {reply}"
        );
        return;
    }
    assert_eq!(
        reply["streak"],
        json!(prior_streak + 1),
        "streak in {reply}"
    );
    let bonus = (10 * prior_streak).min(100);
    assert!(
        awarded >= 100 + bonus && awarded <= 150 + bonus,
        "points out of bounds: {reply}"
    );
    // 2 ms of slack for the server rounding its own instants to whole milliseconds.
    let t = ((max_t.as_millis() + 2) as f64).min(20_000.0);
    let least = 100 + (50.0 * (20_000.0 - t) / 20_000.0).round() as u64;
    assert!(
        awarded - bonus >= least,
        "answered within {max_t:?} so the speed part should be ≥ {least}: {reply}"
    );
}

/// The code alphabet of the contract.
pub const CODE_ALPHABET: &str = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

pub fn assert_code(code: &str) {
    assert_eq!(
        code.len(),
        6,
        "session code {code:?} should have 6 characters"
    );
    assert!(
        code.chars().all(|c| CODE_ALPHABET.contains(c)),
        "session code {code:?} uses characters outside {CODE_ALPHABET}"
    );
}
