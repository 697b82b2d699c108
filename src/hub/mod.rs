//! Topics and local fan-out. A session's topic carries its broadcast events and, filtered
//! by user, each player's private ones. Events arrive already encoded (`Frame`): fan-out
//! only clones an `Arc`. Every subscriber has a bounded queue that conflates snapshots
//! (`queue`); one that falls behind the log is dropped (its stream ends and the client
//! resumes with `Last-Event-ID`), and one whose connection stops taking bytes while frames
//! wait is cut (`stall`).
//! Depends on the domain's event names only, not on live state or HTTP.

pub mod frame;
pub mod presence;
pub mod queue;
pub mod redis;
pub mod stall;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use frame::{EncodedEvent, Frame};
use presence::Tracker;
use queue::{Queued, SendError};
use stall::{Liveness, Watched, clock_ms};

use crate::domain::event::EventKind;
use crate::domain::{SessionCode, UserId};

/// How a subscriber is connected; it matters for metrics only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Sse,
    Poll,
}

impl Transport {
    pub fn label(self) -> &'static str {
        match self {
            Transport::Sse => "sse",
            Transport::Poll => "poll",
        }
    }
}

struct Subscriber {
    user: Arc<str>,
    tx: queue::Sender,
    watch: Option<Arc<Liveness>>,
}

/// A topic's subscribers, indexed by user too: a private event costs O(that user's
/// connections), not O(everyone in the session).
#[derive(Default)]
struct Subscribers {
    all: HashMap<u64, Subscriber>,
    by_user: HashMap<Arc<str>, Vec<u64>>,
}

impl Subscribers {
    fn insert(&mut self, id: u64, sub: Subscriber) {
        self.by_user.entry(sub.user.clone()).or_default().push(id);
        self.all.insert(id, sub);
    }

    fn remove(&mut self, id: u64) {
        let Some(sub) = self.all.remove(&id) else {
            return;
        };
        if let Some(ids) = self.by_user.get_mut(&sub.user) {
            ids.retain(|i| *i != id);
            if ids.is_empty() {
                self.by_user.remove(&sub.user);
            }
        }
    }

    fn clear(&mut self) -> usize {
        let n = self.all.len();
        self.all.clear();
        self.by_user.clear();
        n
    }
}

#[derive(Default)]
struct Snapshots {
    leaderboard: Option<Frame>,
    presence: Option<Frame>,
}

/// One session's topic on this node.
pub struct Topic {
    subscribers: Mutex<Subscribers>,
    snapshots: Mutex<Snapshots>,
    presence: Mutex<Tracker>,
    /// Woken when who is connected changes, so the session's runner can send `presence`.
    pub presence_changed: Notify,
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Topic {
    fn new() -> Self {
        Self {
            subscribers: Mutex::new(Subscribers::default()),
            snapshots: Mutex::new(Snapshots::default()),
            presence: Mutex::new(Tracker::default()),
            presence_changed: Notify::new(),
        }
    }

    /// Sends to every subscriber (or only `user`'s); drops those that fell behind the log.
    fn fan_out(&self, frame: &Frame, only: Option<&str>) -> usize {
        let started = std::time::Instant::now();
        let now = clock_ms();
        let mut subs = guard(&self.subscribers);
        let mut delivered = 0;
        let mut slow = Vec::new();
        let mut send = |id: u64, sub: &Subscriber| match sub.tx.try_send(frame.clone()) {
            Ok(queued) => {
                delivered += 1;
                // A replaced snapshot is still one thing waiting, not two.
                if let (Some(w), Queued::Added) = (&sub.watch, queued) {
                    w.sent(now);
                }
            }
            Err(SendError::Full) => slow.push(id),
            Err(SendError::Closed) => {}
        };
        match only {
            None => subs.all.iter().for_each(|(id, sub)| send(*id, sub)),
            Some(user) => {
                for id in subs.by_user.get(user).into_iter().flatten() {
                    if let Some(sub) = subs.all.get(id) {
                        send(*id, sub);
                    }
                }
            }
        }
        for id in &slow {
            // Dropping the sender ends the stream once the queue drains.
            subs.remove(*id);
        }
        drop(subs);
        if !slow.is_empty() {
            metrics::counter!("quizcast_slow_subscribers_dropped_total")
                .increment(slow.len() as u64);
        }
        metrics::counter!("quizcast_events_delivered_total").increment(delivered as u64);
        if only.is_none() {
            metrics::histogram!("quizcast_fanout_seconds").record(started.elapsed().as_secs_f64());
        }
        delivered
    }

    /// Users with a live connection right now (or a recent poll).
    pub fn online_users(&self, now_ms: i64) -> Vec<UserId> {
        guard(&self.presence).online(now_ms)
    }

    /// Whether a poll-based presence will expire and needs a later re-check.
    pub fn next_presence_expiry(&self) -> Option<i64> {
        guard(&self.presence).next_expiry()
    }

    pub fn latest(&self, kind: EventKind) -> Option<Frame> {
        let snaps = guard(&self.snapshots);
        match kind {
            EventKind::Leaderboard => snaps.leaderboard.clone(),
            EventKind::Presence => snaps.presence.clone(),
            _ => None,
        }
    }

    /// Ends every stream of this topic (their clients reconnect, as the `retry:` advice they
    /// got says, and resume from their last id); used when live state is unreachable.
    pub fn disconnect_all(&self) -> usize {
        guard(&self.subscribers).clear()
    }

    /// Ends every stream `user` has open on this topic (the host removed them).
    pub fn disconnect_user(&self, user: &str) -> usize {
        let mut subs = guard(&self.subscribers);
        let ids = subs.by_user.get(user).cloned().unwrap_or_default();
        for id in &ids {
            // Dropping the sender ends the stream once its queue drains.
            subs.remove(*id);
        }
        ids.len()
    }

    pub fn has_subscriber(&self, user: &str) -> bool {
        guard(&self.subscribers).by_user.contains_key(user)
    }

    pub fn subscriber_count(&self) -> usize {
        guard(&self.subscribers).all.len()
    }
}

#[derive(Default)]
pub struct Hub {
    topics: Mutex<HashMap<SessionCode, Arc<Topic>>>,
    next_id: AtomicU64,
    buffer: usize,
    watched: Watched,
}

/// A live subscription; dropping it unsubscribes and updates presence.
pub struct Subscription {
    pub rx: queue::Receiver,
    topic: Arc<Topic>,
    id: u64,
    user: UserId,
    transport: Transport,
    watch: Option<(Arc<Liveness>, Watched)>,
}

impl Subscription {
    /// How its transport keeps up, when watched (`Hub::subscribe_watched`).
    pub fn liveness(&self) -> Option<&Liveness> {
        self.watch.as_ref().map(|(w, _)| &**w)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some((_, watched)) = &self.watch {
            guard(watched).remove(&self.id);
        }
        guard(&self.topic.subscribers).remove(self.id);
        let changed = guard(&self.topic.presence).disconnect(&self.user);
        if changed {
            self.topic.presence_changed.notify_one();
        }
        metrics::gauge!("quizcast_streams_active", "transport" => self.transport.label())
            .decrement(1.0);
    }
}

impl Hub {
    pub fn new(buffer: usize) -> Self {
        Self {
            topics: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            buffer: buffer.max(1),
            watched: Watched::default(),
        }
    }

    /// Cuts, until `shutdown`, the watched subscribers whose transport took nothing for
    /// `timeout` while frames waited (see `stall`).
    pub fn cut_stalled(&self, timeout: Duration, shutdown: CancellationToken) -> JoinHandle<()> {
        stall::spawn_sweeper(self.watched.clone(), timeout, shutdown)
    }

    pub fn topic(&self, code: SessionCode) -> Arc<Topic> {
        guard(&self.topics)
            .entry(code)
            .or_insert_with(|| Arc::new(Topic::new()))
            .clone()
    }

    /// Forgets a session's topic (its subscribers keep their own handle until they go).
    pub fn forget(&self, code: SessionCode) {
        guard(&self.topics).remove(&code);
    }

    /// Subscribes `user` to the session's broadcast and private events. Live events queue
    /// up from this instant, so a caller can replay history afterwards without a gap.
    pub fn subscribe(&self, code: SessionCode, user: &str, transport: Transport) -> Subscription {
        self.subscribe_inner(code, user, transport, None)
    }

    /// `subscribe`, and `cut` is cancelled if the transport stops taking frames that wait
    /// (its owner then ends the connection, which drops the subscription).
    pub fn subscribe_watched(
        &self,
        code: SessionCode,
        user: &str,
        transport: Transport,
        cut: CancellationToken,
    ) -> Subscription {
        self.subscribe_inner(code, user, transport, Some(Arc::new(Liveness::new(cut))))
    }

    fn subscribe_inner(
        &self,
        code: SessionCode,
        user: &str,
        transport: Transport,
        watch: Option<Arc<Liveness>>,
    ) -> Subscription {
        let topic = self.topic(code);
        let (tx, rx) = queue::queue(self.buffer);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Some(w) = &watch {
            guard(&self.watched).insert(id, w.clone());
        }
        let sub = Subscriber {
            user: Arc::from(user),
            tx,
            watch: watch.clone(),
        };
        guard(&topic.subscribers).insert(id, sub);
        if guard(&topic.presence).connect(user) {
            topic.presence_changed.notify_one();
        }
        metrics::gauge!("quizcast_streams_active", "transport" => transport.label()).increment(1.0);
        Subscription {
            rx,
            topic,
            id,
            user: user.to_owned(),
            transport,
            watch: watch.map(|w| (w, self.watched.clone())),
        }
    }

    /// Ends every stream `user` has open on the session on this node.
    pub fn disconnect_user(&self, code: SessionCode, user: &str) -> usize {
        self.topic(code).disconnect_user(user)
    }

    /// Keeps a poll client counted as online between its requests.
    pub fn touch_poll(&self, code: SessionCode, user: &str, until_ms: i64) {
        let topic = self.topic(code);
        if guard(&topic.presence).touch(user, until_ms) {
            topic.presence_changed.notify_one();
        }
    }

    pub fn publish(&self, code: SessionCode, frame: Frame) -> usize {
        metrics::counter!("quizcast_events_published_total", "event" => frame.kind.name())
            .increment(1);
        let topic = self.topic(code);
        {
            let mut snaps = guard(&topic.snapshots);
            match frame.kind {
                EventKind::Leaderboard => snaps.leaderboard = Some(frame.clone()),
                EventKind::Presence => snaps.presence = Some(frame.clone()),
                _ => {}
            }
        }
        topic.fan_out(&frame, None)
    }

    pub fn publish_private(&self, code: SessionCode, user: &str, frame: Frame) -> usize {
        metrics::counter!("quizcast_events_published_total", "event" => frame.kind.name())
            .increment(1);
        self.topic(code).fan_out(&frame, Some(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code() -> SessionCode {
        SessionCode::parse("ABCDEF").unwrap()
    }

    fn frame(n: u64) -> Frame {
        EncodedEvent::new(Some(n), EventKind::QuestionOpened, "{}".into())
    }

    #[tokio::test]
    async fn broadcasts_share_one_encoding() {
        let hub = Hub::new(8);
        let mut a = hub.subscribe(code(), "a", Transport::Sse);
        let mut b = hub.subscribe(code(), "b", Transport::Sse);
        assert_eq!(hub.publish(code(), frame(1)), 2);
        let fa = a.rx.recv().await.unwrap();
        let fb = b.rx.recv().await.unwrap();
        assert!(Arc::ptr_eq(&fa, &fb));
    }

    #[tokio::test]
    async fn private_events_reach_only_their_user() {
        let hub = Hub::new(8);
        let mut a = hub.subscribe(code(), "a", Transport::Sse);
        let mut b = hub.subscribe(code(), "b", Transport::Sse);
        let score = EncodedEvent::new(None, EventKind::Score, "{}".into());
        assert_eq!(hub.publish_private(code(), "b", score), 1);
        assert!(a.rx.try_recv().is_err());
        assert_eq!(b.rx.recv().await.unwrap().kind, EventKind::Score);
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_dropped_not_buffered() {
        let hub = Hub::new(2);
        let mut slow = hub.subscribe(code(), "slow", Transport::Sse);
        let mut fast = hub.subscribe(code(), "fast", Transport::Sse);
        for n in 1..=5 {
            hub.publish(code(), frame(n));
            let got = fast.rx.recv().await.unwrap();
            assert_eq!(got.id, Some(n));
        }
        // The two queued frames drain, then the stream ends.
        assert_eq!(slow.rx.recv().await.unwrap().id, Some(1));
        assert_eq!(slow.rx.recv().await.unwrap().id, Some(2));
        assert!(slow.rx.recv().await.is_none());
        assert_eq!(hub.topic(code()).subscriber_count(), 1);
    }

    #[tokio::test]
    async fn a_watched_subscriber_that_takes_nothing_is_cut() {
        let hub = Hub::new(8);
        let (stuck_cut, reader_cut) = (CancellationToken::new(), CancellationToken::new());
        let stuck = hub.subscribe_watched(code(), "a", Transport::Sse, stuck_cut.clone());
        let mut reader = hub.subscribe_watched(code(), "b", Transport::Sse, reader_cut.clone());
        let _unwatched = hub.subscribe(code(), "c", Transport::Sse);
        hub.publish(code(), frame(1));
        let now = clock_ms();
        assert!(reader.rx.recv().await.is_some());
        reader.liveness().unwrap().taken(now);
        assert_eq!(stall::sweep(&hub.watched, now + 29_000, 30_000), 0);
        assert_eq!(stall::sweep(&hub.watched, now + 31_000, 30_000), 1);
        assert!(stuck_cut.is_cancelled());
        assert!(!reader_cut.is_cancelled());
        drop(stuck);
        assert_eq!(
            hub.watched.lock().unwrap().len(),
            1,
            "a dropped subscription is unwatched"
        );
    }

    #[tokio::test]
    async fn presence_follows_connections() {
        let hub = Hub::new(2);
        let topic = hub.topic(code());
        let first = hub.subscribe(code(), "a", Transport::Sse);
        let second = hub.subscribe(code(), "a", Transport::Sse);
        assert_eq!(topic.online_users(0), ["a"]);
        drop(first);
        assert_eq!(topic.online_users(0), ["a"]);
        drop(second);
        assert!(topic.online_users(0).is_empty());
    }
}
