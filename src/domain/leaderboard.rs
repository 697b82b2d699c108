//! Leaderboard order and rank. Order: score descending, then who reached that score first
//! (a sequence number taken when the score changed, or at join for 0). Rank: 1 + the number
//! of players with a strictly higher score, so equal scores share a rank.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use super::UserId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub score: u32,
    /// When the player reached `score`; lower comes first among equals.
    pub reached: u64,
}

/// One ranked row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked {
    pub rank: u32,
    pub user_id: UserId,
    pub score: u32,
}

/// An ordered board with rank queries. Reads of the top are O(k); a rank is
/// O(number of distinct higher scores), which stays small in a quiz.
#[derive(Debug, Default, Clone)]
pub struct Board {
    positions: HashMap<UserId, Position>,
    order: BTreeSet<(Reverse<u32>, u64, UserId)>,
    per_score: BTreeMap<u32, u32>,
    total: u64,
}

impl Board {
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// Sum of every listed player's score.
    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn get(&self, user: &str) -> Option<Position> {
        self.positions.get(user).copied()
    }

    /// Puts a player on the board at `pos`, replacing any earlier position.
    pub fn set(&mut self, user: &str, pos: Position) {
        self.remove(user);
        self.order
            .insert((Reverse(pos.score), pos.reached, user.to_owned()));
        *self.per_score.entry(pos.score).or_default() += 1;
        self.total += u64::from(pos.score);
        self.positions.insert(user.to_owned(), pos);
    }

    pub fn remove(&mut self, user: &str) -> Option<Position> {
        let old = self.positions.remove(user)?;
        self.order
            .remove(&(Reverse(old.score), old.reached, user.to_owned()));
        if let Some(n) = self.per_score.get_mut(&old.score) {
            *n -= 1;
            if *n == 0 {
                self.per_score.remove(&old.score);
            }
        }
        self.total -= u64::from(old.score);
        Some(old)
    }

    /// 1 + the number of players with a strictly higher score.
    pub fn rank_of_score(&self, score: u32) -> u32 {
        let above: u32 = self
            .per_score
            .range((Bound::Excluded(score), Bound::Unbounded))
            .map(|(_, n)| *n)
            .sum();
        1 + above
    }

    pub fn rank(&self, user: &str) -> Option<u32> {
        self.positions
            .get(user)
            .map(|p| self.rank_of_score(p.score))
    }

    /// Rows `offset..offset+limit` in board order.
    pub fn page(&self, offset: usize, limit: usize) -> Vec<Ranked> {
        let mut rows = Vec::with_capacity(limit.min(self.len()));
        let mut iter = self.order.iter().skip(offset);
        // Rank of the first row needs a count; the rest follow from order.
        let Some((Reverse(first_score), _, first_user)) = iter.next() else {
            return rows;
        };
        if limit == 0 {
            return rows;
        }
        let mut rank = self.rank_of_score(*first_score);
        let mut prev_score = *first_score;
        rows.push(Ranked {
            rank,
            user_id: first_user.clone(),
            score: *first_score,
        });
        for (i, (Reverse(score), _, user)) in iter.take(limit - 1).enumerate() {
            if *score != prev_score {
                // Every row before this one has a strictly higher score.
                rank = (offset + i + 2) as u32;
                prev_score = *score;
            }
            rows.push(Ranked {
                rank,
                user_id: user.clone(),
                score: *score,
            });
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pos(score: u32, reached: u64) -> Position {
        Position { score, reached }
    }

    #[test]
    fn orders_by_score_then_who_reached_it_first() {
        let mut b = Board::default();
        b.set("a", pos(0, 1));
        b.set("b", pos(0, 2));
        b.set("c", pos(150, 5));
        b.set("d", pos(150, 4));
        let page = b.page(0, 10);
        let ids: Vec<_> = page.iter().map(|r| r.user_id.as_str()).collect();
        assert_eq!(ids, ["d", "c", "a", "b"]);
        let ranks: Vec<_> = page.iter().map(|r| r.rank).collect();
        assert_eq!(ranks, [1, 1, 3, 3]);
        assert_eq!(b.rank("b"), Some(3));
        assert_eq!(b.total(), 300);
    }

    #[test]
    fn pages_keep_ranks() {
        let mut b = Board::default();
        for (i, s) in [300, 200, 200, 100, 0].into_iter().enumerate() {
            b.set(&format!("u{i}"), pos(s, i as u64));
        }
        let p = b.page(2, 2);
        assert_eq!(p.iter().map(|r| r.rank).collect::<Vec<_>>(), [2, 4]);
        assert!(b.page(5, 2).is_empty());
        assert!(b.page(0, 0).is_empty());
    }

    proptest! {
        #[test]
        fn rank_rule_and_total_hold(ops in proptest::collection::vec((0u8..20, 0u32..500), 1..200)) {
            let mut b = Board::default();
            let mut model: HashMap<String, u32> = HashMap::new();
            for (seq, (user, add)) in ops.into_iter().enumerate() {
                let user = format!("u{user}");
                let score = model.get(&user).copied().unwrap_or(0) + add;
                model.insert(user.clone(), score);
                b.set(&user, pos(score, seq as u64));
            }
            prop_assert_eq!(b.total(), model.values().map(|s| u64::from(*s)).sum::<u64>());
            let all = b.page(0, usize::MAX);
            prop_assert_eq!(all.len(), model.len());
            for row in &all {
                let higher = model.values().filter(|s| **s > row.score).count() as u32;
                prop_assert_eq!(row.rank, 1 + higher);
                prop_assert_eq!(b.rank(&row.user_id), Some(row.rank));
            }
            for pair in all.windows(2) {
                prop_assert!(pair[0].score >= pair[1].score);
            }
        }
    }
}
