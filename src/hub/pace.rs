//! Paced fan-out. A broadcast is handed to a topic's subscribers `CHUNK` at a time, with a
//! yield to the runtime between chunks, so requests (answers above all) run in between
//! instead of queueing behind ten thousand pushes and the socket writes they wake. The
//! publisher only appends to the topic's backlog; one drain task per topic at a time takes
//! it in order, so a subscriber never gets a later event before an earlier one.
//! Snapshots waiting in the backlog conflate as in a subscriber's queue (the newest of a
//! kind, per user for private ones, replaces the older and goes to the back). How long the
//! last broadcast took to reach everyone is kept: the session's runner widens its snapshot
//! window from it (`window`), so a node that falls behind sends fewer boards.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Frame;
use crate::domain::event::EventKind;

/// Subscribers handed a frame between two yields.
pub const CHUNK: usize = 256;
/// Log frames that may wait in one topic's backlog. More means the node cannot keep up with
/// the session at all: its streams end and their clients resume from their last id.
pub const MAX_LOGS: usize = 1024;

/// The snapshot window of a session: `base`, or twice what the last broadcast took to be
/// handed to every subscriber when that is longer.
pub fn window(base: Duration, fanout: Duration) -> Duration {
    base.max(fanout.saturating_mul(2))
}

/// Who a published frame is for.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    All,
    User(Arc<str>),
}

pub(crate) struct Pending {
    pub frame: Frame,
    pub target: Target,
    /// When it was published.
    pub at: Instant,
}

type SnapshotKey = (EventKind, Option<Arc<str>>);

fn key(frame: &Frame, target: &Target) -> SnapshotKey {
    let user = match target {
        Target::All => None,
        Target::User(u) => Some(u.clone()),
    };
    (frame.kind, user)
}

/// What `Backlog::push` asks of the publisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// No drain task runs: start one.
    StartDrain,
    /// The running drain task will get to it.
    Queued,
    /// Too many log frames wait: the backlog was emptied; end the topic's streams.
    Overflow,
}

/// A topic's publishes not yet handed to every subscriber.
#[derive(Default)]
pub(crate) struct Backlog {
    /// Conflated snapshots leave a `None` behind, so positions stay valid.
    slots: VecDeque<Option<Pending>>,
    /// The position of `slots[0]` since the topic began.
    head: u64,
    /// Where the waiting snapshot of each kind (and user) is.
    snapshots: HashMap<SnapshotKey, u64>,
    logs: usize,
    draining: bool,
    /// When the broadcast being handed out now was published.
    current: Option<Instant>,
    /// How long the last finished broadcast took, from publish to its last subscriber.
    last: Duration,
}

impl Backlog {
    pub fn push(&mut self, frame: Frame, target: Target, at: Instant) -> Pushed {
        if frame.kind.is_log() {
            if self.logs >= MAX_LOGS {
                self.slots.clear();
                self.snapshots.clear();
                self.logs = 0;
                return Pushed::Overflow;
            }
            self.logs += 1;
        } else {
            let pos = self.head + self.slots.len() as u64;
            if let Some(old) = self.snapshots.insert(key(&frame, &target), pos)
                && let Some(slot) = self.slots.get_mut((old - self.head) as usize)
            {
                *slot = None;
            }
        }
        self.slots.push_back(Some(Pending { frame, target, at }));
        if self.draining {
            Pushed::Queued
        } else {
            self.draining = true;
            Pushed::StartDrain
        }
    }

    /// The oldest waiting publish; `None` (and the drain task ends) when nothing waits.
    pub fn pop(&mut self) -> Option<Pending> {
        while let Some(slot) = self.slots.pop_front() {
            let pos = self.head;
            self.head += 1;
            let Some(p) = slot else { continue };
            if p.frame.kind.is_log() {
                self.logs -= 1;
            } else {
                let k = key(&p.frame, &p.target);
                if self.snapshots.get(&k) == Some(&pos) {
                    self.snapshots.remove(&k);
                }
            }
            if matches!(p.target, Target::All) {
                self.current = Some(p.at);
            }
            return Some(p);
        }
        self.draining = false;
        None
    }

    /// A broadcast published at `at` has reached every subscriber.
    pub fn finished(&mut self, at: Instant, now: Instant) -> Duration {
        self.current = None;
        self.last = now.saturating_duration_since(at);
        self.last
    }

    /// How far behind broadcasts are: the last one's time, or the one under way's so far.
    pub fn lag(&self, now: Instant) -> Duration {
        let running = self
            .current
            .map_or(Duration::ZERO, |at| now.saturating_duration_since(at));
        self.last.max(running)
    }

    pub fn is_idle(&self) -> bool {
        !self.draining
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::EncodedEvent;

    fn log(n: u64) -> Frame {
        EncodedEvent::new(Some(n), EventKind::QuestionOpened, "{}".into())
    }

    fn snap(kind: EventKind, data: &str) -> Frame {
        EncodedEvent::new(None, kind, data.into())
    }

    fn drain(b: &mut Backlog) -> Vec<String> {
        std::iter::from_fn(|| b.pop())
            .map(|p| {
                let who = match p.target {
                    Target::All => String::new(),
                    Target::User(u) => format!("@{u}"),
                };
                match p.frame.id {
                    Some(id) => id.to_string(),
                    None => format!("{}{}{who}", p.frame.kind.name(), p.frame.data),
                }
            })
            .collect()
    }

    #[test]
    fn the_window_is_the_base_or_twice_the_last_fanout() {
        let base = Duration::from_millis(200);
        assert_eq!(window(base, Duration::ZERO), base);
        assert_eq!(window(base, Duration::from_millis(100)), base);
        assert_eq!(
            window(base, Duration::from_millis(101)),
            Duration::from_millis(202)
        );
        assert_eq!(window(base, Duration::from_secs(3)), Duration::from_secs(6));
        assert_eq!(window(base, Duration::MAX), Duration::MAX);
    }

    #[test]
    fn logs_keep_their_order_and_waiting_snapshots_conflate() {
        let mut b = Backlog::default();
        let now = Instant::now();
        let ana: Arc<str> = "ana".into();
        assert_eq!(
            b.push(snap(EventKind::Leaderboard, "1"), Target::All, now),
            Pushed::StartDrain
        );
        b.push(log(1), Target::All, now);
        b.push(snap(EventKind::Score, "1"), Target::User(ana.clone()), now);
        b.push(snap(EventKind::Score, "1"), Target::User("bo".into()), now);
        assert_eq!(
            b.push(snap(EventKind::Leaderboard, "2"), Target::All, now),
            Pushed::Queued
        );
        b.push(log(2), Target::All, now);
        b.push(snap(EventKind::Score, "2"), Target::User(ana), now);
        assert_eq!(
            drain(&mut b),
            ["1", "score1@bo", "leaderboard2", "2", "score2@ana"]
        );
        assert!(b.is_idle(), "an empty backlog ends its drain task");
        assert_eq!(
            b.push(log(3), Target::All, now),
            Pushed::StartDrain,
            "the next publish starts another"
        );
    }

    #[test]
    fn too_many_waiting_logs_empty_the_backlog() {
        let mut b = Backlog::default();
        let now = Instant::now();
        for n in 0..MAX_LOGS as u64 {
            assert_ne!(b.push(log(n), Target::All, now), Pushed::Overflow);
        }
        b.push(snap(EventKind::Presence, "1"), Target::All, now);
        assert_eq!(b.push(log(9_999), Target::All, now), Pushed::Overflow);
        assert!(b.pop().is_none());
        b.push(snap(EventKind::Presence, "2"), Target::All, now);
        assert_eq!(drain(&mut b), ["presence2"]);
    }

    #[test]
    fn lag_counts_the_broadcast_under_way() {
        let mut b = Backlog::default();
        let t0 = Instant::now();
        b.push(snap(EventKind::Leaderboard, "1"), Target::All, t0);
        let p = b.pop().unwrap();
        assert_eq!(
            b.lag(t0 + Duration::from_millis(300)),
            Duration::from_millis(300)
        );
        b.finished(p.at, t0 + Duration::from_millis(400));
        assert_eq!(
            b.lag(t0 + Duration::from_secs(9)),
            Duration::from_millis(400)
        );
    }
}
