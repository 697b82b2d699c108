//! How the rest of the game pokes a session's runner without a queue that could grow:
//! flags plus one `Notify` (a wake-up is never lost, and many collapse into one).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::domain::event::Member;

/// Most names listed in one `presence` event's `joined` or `left`.
pub const MAX_LISTED: usize = 50;

#[derive(Debug, Default)]
pub struct PresenceDelta {
    pub joined: Vec<Member>,
    pub left: Vec<Member>,
}

#[derive(Debug, Default)]
pub struct Signals {
    pub wake: Notify,
    state: AtomicBool,
    leaderboard: AtomicBool,
    /// When the oldest change not yet in a sent `leaderboard` was heard of (for metrics).
    leaderboard_since: Mutex<Option<Instant>>,
    presence: Mutex<PresenceDelta>,
    /// Shared mode: the session's log, members or other nodes' presence changed.
    log: AtomicBool,
    members: AtomicBool,
    remote_presence: AtomicBool,
    /// Shared mode: this node's presence entries must be written again.
    rewrite_presence: AtomicBool,
    /// Shared mode: players whose `score` snapshot changed, to deliver here.
    scores: Mutex<std::collections::HashSet<String>>,
}

impl Signals {
    pub fn state_changed(&self) {
        self.state.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    pub fn leaderboard_changed(&self) {
        self.mark_leaderboard();
        self.wake.notify_one();
    }

    fn mark_leaderboard(&self) {
        self.leaderboard_since
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(Instant::now);
        self.leaderboard.store(true, Ordering::Release);
    }

    pub fn log_changed(&self) {
        self.log.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    pub fn members_changed(&self) {
        self.members.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    pub fn remote_presence_changed(&self) {
        self.remote_presence.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    pub fn rewrite_presence(&self) {
        self.rewrite_presence.store(true, Ordering::Release);
        self.remote_presence_changed();
    }

    pub fn take_rewrite_presence(&self) -> bool {
        self.rewrite_presence.swap(false, Ordering::AcqRel)
    }

    /// After a lost subscription: anything may have changed.
    pub fn everything_changed(&self) {
        for flag in [
            &self.state,
            &self.leaderboard,
            &self.log,
            &self.members,
            &self.remote_presence,
            // Redis may have restarted empty: this node's presence entries are gone.
            &self.rewrite_presence,
        ] {
            flag.store(true, Ordering::Release);
        }
        self.wake.notify_one();
    }

    pub fn score_changed(&self, user: String) {
        self.scores
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(user);
        self.wake.notify_one();
    }

    pub fn take_scores(&self) -> std::collections::HashSet<String> {
        std::mem::take(&mut *self.scores.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn take_log(&self) -> bool {
        self.log.swap(false, Ordering::AcqRel)
    }

    pub fn take_members(&self) -> bool {
        self.members.swap(false, Ordering::AcqRel)
    }

    pub fn take_remote_presence(&self) -> bool {
        self.remote_presence.swap(false, Ordering::AcqRel)
    }

    pub fn joined(&self, member: Member) {
        self.with_delta(|d| {
            d.left.retain(|m| m.user_id != member.user_id);
            if d.joined.len() < MAX_LISTED {
                d.joined.push(member);
            }
        });
    }

    pub fn left(&self, member: Member) {
        self.with_delta(|d| {
            d.joined.retain(|m| m.user_id != member.user_id);
            if d.left.len() < MAX_LISTED {
                d.left.push(member);
            }
        });
    }

    fn with_delta(&self, f: impl FnOnce(&mut PresenceDelta)) {
        f(&mut self.presence.lock().unwrap_or_else(|e| e.into_inner()));
        // Membership changes move the leaderboard's `players` too.
        self.mark_leaderboard();
        self.wake.notify_one();
    }

    pub fn take_state(&self) -> bool {
        self.state.swap(false, Ordering::AcqRel)
    }

    /// Whether the leaderboard changed, and since when.
    pub fn take_leaderboard(&self) -> Option<Instant> {
        if !self.leaderboard.swap(false, Ordering::AcqRel) {
            return None;
        }
        let since = self
            .leaderboard_since
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        Some(since.unwrap_or_else(Instant::now))
    }

    /// The names gathered since the last call, or `None` when nobody came or went.
    pub fn take_presence(&self) -> Option<PresenceDelta> {
        let mut d = self.presence.lock().unwrap_or_else(|e| e.into_inner());
        if d.joined.is_empty() && d.left.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut d))
        }
    }
}
