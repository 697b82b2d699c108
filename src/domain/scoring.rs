//! Server-authoritative scoring, exactly as the contract states:
//! `points = 100 + round(50 * (20000 - min(t, 20000)) / 20000) + min(100, 10 * streak)` when
//! correct, 0 when wrong, where `streak` counts the correct answers in a row immediately before.

/// Answers at or after this many milliseconds earn no speed bonus.
pub const SPEED_WINDOW_MS: u64 = 20_000;
pub const BASE_POINTS: u32 = 100;
pub const MAX_SPEED_BONUS: u32 = 50;
pub const MAX_STREAK_BONUS: u32 = 100;
/// The most a single answer can earn.
pub const MAX_POINTS: u32 = BASE_POINTS + MAX_SPEED_BONUS + MAX_STREAK_BONUS;

/// Points for one answer. `t_ms` is measured by the server from the question's opening.
pub fn points(correct: bool, t_ms: u64, streak_before: u32) -> u32 {
    if !correct {
        return 0;
    }
    let remaining = SPEED_WINDOW_MS - t_ms.min(SPEED_WINDOW_MS);
    // round(50 * remaining / 20000) half away from zero, in integers: remaining / 400.
    let speed = ((remaining + 200) / 400) as u32;
    BASE_POINTS + speed + MAX_STREAK_BONUS.min(10u32.saturating_mul(streak_before))
}

/// A player's run of correct answers: its length and the question index it ends at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Streak {
    pub count: u32,
    pub last_index: Option<u32>,
}

impl Streak {
    /// The streak that counts for an answer to question `index`: only a run ending at the
    /// question immediately before it.
    pub fn before(&self, index: u32) -> u32 {
        match self.last_index {
            Some(last) if index > 0 && last == index - 1 => self.count,
            _ => 0,
        }
    }

    /// The run after answering question `index`.
    pub fn after(&self, index: u32, correct: bool) -> Streak {
        if correct {
            Streak {
                count: self.before(index) + 1,
                last_index: Some(index),
            }
        } else {
            Streak::default()
        }
    }

    /// The streak to show once question `index` is the latest one settled for the player.
    pub fn as_of(&self, index: Option<u32>) -> u32 {
        match (self.last_index, index) {
            (Some(last), Some(i)) if last == i => self.count,
            _ => 0,
        }
    }
}

/// The outcome of scoring one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scored {
    pub correct: bool,
    pub awarded_points: u32,
    pub streak: Streak,
}

pub fn score_answer(
    streak: Streak,
    index: u32,
    chosen: u32,
    correct_choice: u32,
    t_ms: u64,
) -> Scored {
    let correct = chosen == correct_choice;
    Scored {
        correct,
        awarded_points: points(correct, t_ms, streak.before(index)),
        streak: streak.after(index, correct),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn boundary_table() {
        let cases = [
            // (correct, t, streak_before, expected)
            (false, 0, 5, 0),
            (true, 0, 0, 150),
            (true, 20_000, 0, 100),
            (true, 25_000, 0, 100),
            (true, 10_000, 0, 125),
            // 50 * 19800 / 20000 = 49.5 → 50 (half away from zero)
            (true, 200, 0, 150),
            // 50 * 19799 / 20000 = 49.4975 → 49
            (true, 201, 0, 149),
            // 50 * 19400 / 20000 = 48.5 → 49
            (true, 600, 0, 149),
            (true, 0, 3, 180),
            (true, 0, 10, 250),
            (true, 0, 11, 250),
            (true, 0, u32::MAX, 250),
        ];
        for (correct, t, streak, expected) in cases {
            assert_eq!(
                points(correct, t, streak),
                expected,
                "{correct} {t} {streak}"
            );
        }
    }

    #[test]
    fn streak_counts_only_consecutive_questions() {
        let s = Streak::default();
        let s = s.after(0, true);
        assert_eq!(s.before(1), 1);
        let s = s.after(1, true);
        assert_eq!(s.before(2), 2);
        // Question 2 unanswered: the run no longer counts for question 3.
        assert_eq!(s.before(3), 0);
        assert_eq!(s.after(3, true).count, 1);
        assert_eq!(s.after(2, false), Streak::default());
    }

    #[test]
    fn streak_shown_resets_when_a_question_was_missed() {
        let s = Streak::default().after(0, true).after(1, true);
        assert_eq!(s.as_of(Some(1)), 2);
        assert_eq!(s.as_of(Some(2)), 0);
        assert_eq!(s.as_of(None), 0);
    }

    proptest! {
        #[test]
        fn points_within_bounds(correct: bool, t in 0u64..100_000, streak in 0u32..1000) {
            let p = points(correct, t, streak);
            if correct {
                prop_assert!((BASE_POINTS..=MAX_POINTS).contains(&p));
            } else {
                prop_assert_eq!(p, 0);
            }
        }

        #[test]
        fn faster_never_earns_less(t1 in 0u64..30_000, t2 in 0u64..30_000, streak in 0u32..20) {
            let (fast, slow) = if t1 <= t2 { (t1, t2) } else { (t2, t1) };
            prop_assert!(points(true, fast, streak) >= points(true, slow, streak));
        }

        #[test]
        fn matches_float_formula(t in 0u64..30_000, streak in 0u32..20) {
            let exact = 50.0 * (20_000.0 - (t.min(20_000) as f64)) / 20_000.0;
            let expected = 100 + exact.round() as u32 + (10 * streak).min(100);
            prop_assert_eq!(points(true, t, streak), expected);
        }
    }
}
