//! Topics and local fan-out. A session's topic carries its broadcast events and, filtered
//! by user, each player's private ones. Events arrive already encoded (`Frame`): fan-out
//! only clones an `Arc`. Every subscriber has a bounded queue that conflates snapshots
//! (`queue`); one that falls behind the log is dropped (its stream ends and the client
//! resumes with `Last-Event-ID`), and one whose connection stops taking bytes while frames
//! wait is cut (`stall`).
//! Depends on the domain's event names only, not on live state or HTTP.

pub mod frame;
pub mod heartbeat;
pub mod pace;
pub mod presence;
pub mod queue;
pub mod redis;
pub mod redis_cluster;
pub mod stall;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use frame::{EncodedEvent, Frame};
use pace::{CHUNK, Pushed, Target};
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
    /// Ordered by id, so a paced broadcast can go on from where its last chunk ended.
    all: BTreeMap<u64, Subscriber>,
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

/// One frame handed to some subscribers; drops those that fell behind the log.
struct Delivery<'a> {
    frame: &'a Frame,
    now: u64,
    delivered: u64,
    slow: Vec<u64>,
}

impl<'a> Delivery<'a> {
    fn new(frame: &'a Frame) -> Self {
        Self {
            frame,
            now: clock_ms(),
            delivered: 0,
            slow: Vec::new(),
        }
    }

    fn send(&mut self, id: u64, sub: &Subscriber) {
        match sub.tx.try_send(self.frame.clone()) {
            Ok(queued) => {
                self.delivered += 1;
                // A replaced snapshot is still one thing waiting, not two.
                if let (Some(w), Queued::Added) = (&sub.watch, queued) {
                    w.sent(self.now);
                }
            }
            Err(SendError::Full) => self.slow.push(id),
            Err(SendError::Closed) => {}
        }
    }

    fn finish(self, subs: &mut Subscribers) {
        for id in &self.slow {
            // Dropping the sender ends the stream once the queue drains.
            subs.remove(*id);
        }
        if !self.slow.is_empty() {
            metrics::counter!("quizcast_slow_subscribers_dropped_total")
                .increment(self.slow.len() as u64);
        }
        metrics::counter!("quizcast_events_delivered_total").increment(self.delivered);
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
    /// Publishes not yet handed to every subscriber.
    backlog: Mutex<pace::Backlog>,
    drained: Notify,
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
            backlog: Mutex::new(pace::Backlog::default()),
            drained: Notify::new(),
            presence_changed: Notify::new(),
        }
    }

    /// Queues `frame` for its target; a drain task hands it out (see `pace`).
    fn enqueue(self: &Arc<Self>, frame: Frame, target: Target) {
        let pushed = guard(&self.backlog).push(frame, target, Instant::now());
        match pushed {
            Pushed::Queued => {}
            Pushed::StartDrain => match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn(self.clone().drain());
                }
                // Outside a runtime (never in the server) there is nobody to yield to.
                Err(_) => {
                    let mut job = None;
                    while self.deliver_some(&mut job) {}
                }
            },
            Pushed::Overflow => {
                let ended = self.disconnect_all();
                metrics::counter!("quizcast_slow_subscribers_dropped_total")
                    .increment(ended as u64);
                tracing::warn!(ended, "fan-out fell too far behind the log; ended streams");
            }
        }
    }

    async fn drain(self: Arc<Self>) {
        let mut job = None;
        while self.deliver_some(&mut job) {
            tokio::task::yield_now().await;
        }
        self.drained.notify_waiters();
    }

    /// Hands out up to `CHUNK` frames (a chunk of a broadcast, or private events); returns
    /// whether more may wait. `job` is the publish under way and the subscriber id it got
    /// to. Only the topic's one drain task calls it, so publishes stay in order.
    fn deliver_some(&self, job: &mut Option<(pace::Pending, u64)>) -> bool {
        let mut budget = CHUNK;
        while budget > 0 {
            if job.is_none() {
                *job = guard(&self.backlog).pop().map(|p| (p, 0));
            }
            let Some((p, from)) = job.as_mut() else {
                return false;
            };
            match &p.target {
                Target::All => {
                    let (visited, next) = self.send_range(&p.frame, *from, budget);
                    budget = budget.saturating_sub(visited.max(1));
                    match next {
                        Some(n) => *from = n,
                        None => {
                            let now = Instant::now();
                            let took = guard(&self.backlog).finished(p.at, now);
                            metrics::histogram!("quizcast_fanout_seconds")
                                .record(took.as_secs_f64());
                            *job = None;
                        }
                    }
                }
                Target::User(user) => {
                    let visited = self.send_user(&p.frame, user);
                    budget = budget.saturating_sub(visited.max(1));
                    *job = None;
                }
            }
        }
        true
    }

    /// Sends to at most `max` subscribers from id `from` on; returns how many it visited
    /// and the id to go on from, if any are left. Subscribers added meanwhile with a higher
    /// id get the frame too: they had subscribed before it reached them, and the transport
    /// skips log ids its catch-up already had.
    fn send_range(&self, frame: &Frame, from: u64, max: usize) -> (usize, Option<u64>) {
        let mut subs = guard(&self.subscribers);
        let mut batch = Delivery::new(frame);
        let mut visited = 0;
        let mut next = None;
        for (id, sub) in subs.all.range(from..) {
            if visited == max {
                next = Some(*id);
                break;
            }
            visited += 1;
            batch.send(*id, sub);
        }
        batch.finish(&mut subs);
        (visited, next)
    }

    fn send_user(&self, frame: &Frame, user: &str) -> usize {
        let mut subs = guard(&self.subscribers);
        let mut batch = Delivery::new(frame);
        let ids = subs.by_user.get(user).cloned().unwrap_or_default();
        for id in &ids {
            if let Some(sub) = subs.all.get(id) {
                batch.send(*id, sub);
            }
        }
        batch.finish(&mut subs);
        ids.len()
    }

    /// Waits until everything published so far has been handed out.
    pub async fn delivered(&self) {
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if guard(&self.backlog).is_idle() {
                return;
            }
            drained.await;
        }
    }

    /// How long broadcasts take to reach every subscriber here (see `pace::window`).
    pub fn fanout_lag(&self) -> Duration {
        guard(&self.backlog).lag(Instant::now())
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

    /// Publishes to every subscriber of the session here; the frame is handed out paced,
    /// in publish order (see `pace`).
    pub fn publish(&self, code: SessionCode, frame: Frame) {
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
        topic.enqueue(frame, Target::All);
    }

    /// Publishes to `user`'s connections only, in order with the session's broadcasts.
    pub fn publish_private(&self, code: SessionCode, user: &str, frame: Frame) {
        metrics::counter!("quizcast_events_published_total", "event" => frame.kind.name())
            .increment(1);
        self.topic(code)
            .enqueue(frame, Target::User(Arc::from(user)));
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
        hub.publish(code(), frame(1));
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
        hub.publish_private(code(), "b", score);
        assert_eq!(b.rx.recv().await.unwrap().kind, EventKind::Score);
        hub.topic(code()).delivered().await;
        assert!(a.rx.try_recv().is_err());
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

    fn board(version: u64) -> Frame {
        EncodedEvent::new(None, EventKind::Leaderboard, version.to_string().into())
    }

    #[tokio::test]
    async fn paced_fanouts_keep_each_subscribers_log_in_order() {
        let hub = Hub::new(8);
        let mut subs: Vec<Subscription> = (0..3 * pace::CHUNK + 17)
            .map(|n| hub.subscribe(code(), &format!("u{n}"), Transport::Sse))
            .collect();
        for n in 1..=3 {
            hub.publish(code(), board(n));
            hub.publish(code(), frame(n));
        }
        hub.publish(code(), board(4));
        hub.publish_private(
            code(),
            "u5",
            EncodedEvent::new(None, EventKind::Score, "{}".into()),
        );
        hub.topic(code()).delivered().await;
        for (n, sub) in subs.iter_mut().enumerate() {
            let got: Vec<String> = std::iter::from_fn(|| sub.rx.try_recv().ok())
                .map(|f| match f.id {
                    Some(id) => format!("log{id}"),
                    None => format!("{}{}", f.kind.name(), f.data),
                })
                .collect();
            // Boards published while earlier ones still waited were replaced, in the
            // backlog or in the subscriber's queue; log events never are.
            let mut want = vec!["log1", "log2", "log3", "leaderboard4"];
            if n == 5 {
                want.push("score{}");
            }
            let logs_and_last: Vec<&str> = got
                .iter()
                .map(String::as_str)
                .filter(|e| e.starts_with("log") || *e == "leaderboard4" || *e == "score{}")
                .collect();
            assert_eq!(logs_and_last, want, "subscriber {n} got {got:?}");
            assert!(
                got.iter().filter(|e| e.starts_with("leaderboard")).count() <= 4,
                "at most one board per log gap: {got:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_big_fanout_lets_other_tasks_run_between_chunks() {
        let hub = Arc::new(Hub::new(8));
        let mut subs: Vec<Subscription> = (0..4 * pace::CHUNK)
            .map(|n| hub.subscribe(code(), &format!("u{n}"), Transport::Sse))
            .collect();
        hub.publish(code(), frame(1));
        // Spawned after the publish, on the same (single) thread: it runs before the
        // broadcast is over only if the fan-out yields.
        let probe = tokio::spawn(async {});
        probe.await.unwrap();
        let reached = subs.iter_mut().filter_map(|s| s.rx.try_recv().ok()).count();
        assert!(
            reached < subs.len(),
            "another task ran only after all {reached} were reached"
        );
        hub.topic(code()).delivered().await;
        let rest = subs.iter_mut().filter_map(|s| s.rx.try_recv().ok()).count();
        assert_eq!(reached + rest, subs.len());
        assert!(hub.topic(code()).fanout_lag() > Duration::ZERO);
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
