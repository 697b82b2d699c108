//! One runner per session on this node. It sends the coalesced `leaderboard` and
//! `presence` snapshots (at most one of each per window, only when they changed) and,
//! on the node that owns the session's clock, fires its timers (question close,
//! auto-advance). With shared state it also follows the session's log and members in Redis
//! and delivers them here, and takes part in the lease that decides who owns the clock.
//! It sleeps until something is due.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use super::signals::{MAX_LISTED, PresenceDelta, Signals};
use super::{Game, now_ms};
use crate::domain::event::{EventKind, Presence};
use crate::domain::session::{Command, Status};
use crate::domain::{Millis, SessionCode};
use crate::hub::redis::{MemberChange, Shared};
use crate::hub::{EncodedEvent, Topic, pace};
use crate::live::Replay;
use crate::live::record::TOP;

/// The shortest snapshot window. It widens to twice what the last broadcast took to reach
/// every subscriber here (`pace::window`): a node that falls behind sends fewer snapshots
/// rather than a backlog, and answers, which never wait on it, keep their share of the CPU.
pub const COALESCE: Duration = Duration::from_millis(200);
/// How long a finished session stays in live state once its results are stored.
const LINGER: Duration = Duration::from_secs(600);
/// Shared mode: how often the lease is taken or renewed.
const LEASE_EVERY: Duration = Duration::from_millis(1_000);

fn instant_at(ms: Millis) -> Instant {
    // One extra millisecond: the timer must not fire before the wall-clock deadline.
    let delta = ms - now_ms() + 1;
    Instant::now() + Duration::from_millis(delta.max(0) as u64)
}

struct Runner {
    game: Arc<Game>,
    code: SessionCode,
    topic: Arc<Topic>,
    shared: Option<Arc<Shared>>,
    last_leaderboard: Option<Arc<str>>,
    last_presence: Option<(u32, u32)>,
    last_counts: Option<Arc<str>>,
    host_id: String,
    pending: PresenceDelta,
    /// Shared mode: the last log id delivered here, the members stream position, and the
    /// users this node has recorded as connected.
    log_at: u64,
    members_at: Option<String>,
    recorded_online: HashSet<String>,
    online: Vec<String>,
}

/// Counts the sessions this node runs, for as long as their runner lives.
struct LiveGauge;

impl LiveGauge {
    fn start() -> Self {
        metrics::gauge!("quizcast_sessions_live").increment(1.0);
        LiveGauge
    }
}

impl Drop for LiveGauge {
    fn drop(&mut self) {
        metrics::gauge!("quizcast_sessions_live").decrement(1.0);
    }
}

pub async fn run(game: Arc<Game>, code: SessionCode, signals: Arc<Signals>, log_from: u64) {
    let _live = LiveGauge::start();
    let shared = game.shared.clone();
    let mut r = Runner {
        topic: game.hub.topic(code),
        game: game.clone(),
        code,
        shared: shared.clone(),
        last_leaderboard: None,
        last_presence: None,
        last_counts: None,
        host_id: String::new(),
        pending: PresenceDelta::default(),
        log_at: log_from,
        members_at: None,
        recorded_online: HashSet::new(),
        online: Vec::new(),
    };
    let mut clock = match game.live.clock(code).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(%code, error = %e, "runner cannot read its session");
            return;
        }
    };
    r.host_id = clock.host_id.clone();
    if let Some(shared) = &shared {
        r.members_at = shared.members(code, None).await.ok().map(|m| m.0);
    }
    // Embedded: this node owns every clock. Shared: whoever holds the lease.
    let mut owner = shared.is_none();
    let (mut lb_dirty, mut presence_dirty) = (true, true);
    // The oldest change waiting for a `leaderboard`, for the answer→broadcast histogram.
    let mut lb_since: Option<Instant> = None;
    // Each kind has its own window: a presence event never holds back a leaderboard.
    let (mut last_lb, mut last_presence) = (Instant::now() - COALESCE, Instant::now() - COALESCE);
    let mut lease_at = Instant::now();
    loop {
        if clock.phase.status == Status::Finished {
            r.follow_log().await;
            r.flush(lb_dirty, presence_dirty).await;
            if owner && game.save_results(code).await {
                // Late readers still get live snapshots for a while; then only the results.
                tokio::select! {
                    _ = tokio::time::sleep(LINGER) => game.forget(code).await,
                    _ = game.shutdown.cancelled() => {}
                }
            }
            return;
        }
        let idle_ms = game.quotas.idle_ms;
        let idle_at = clock.phase.idle_deadline(clock.created_at, idle_ms);
        let due = match (clock.phase.deadline(), idle_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let deadline = due.filter(|_| owner).map(instant_at);
        let expiry = r.topic.next_presence_expiry().map(instant_at);
        let window = pace::window(COALESCE, r.topic.fanout_lag());
        let lb_at = lb_dirty.then(|| last_lb + window);
        let presence_due = presence_dirty.then(|| last_presence + window);
        let flush_at = match (lb_at, presence_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        tokio::select! {
            _ = game.shutdown.cancelled() => return,
            _ = signals.wake.notified() => {}
            _ = r.topic.presence_changed.notified() => {
                r.record_presence(false).await;
                presence_dirty = true;
            }
            _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                let cmd = if idle_at.is_some_and(|d| now_ms() >= d) {
                    Command::Idle { created_at: clock.created_at, idle_ms }
                } else if clock.phase.status == Status::Question {
                    Command::Expire
                } else {
                    Command::Advance
                };
                if let Err(e) = game.apply(code, cmd).await {
                    tracing::warn!(%code, error = %e, "timer transition failed; retrying");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                signals.state_changed();
            }
            _ = sleep_until(expiry.unwrap_or_else(Instant::now)), if expiry.is_some() => {
                presence_dirty = true;
            }
            _ = sleep_until(flush_at.unwrap_or_else(Instant::now)), if flush_at.is_some() => {
                // The window counts from the last event sent: a check that found nothing
                // new (one write can wake us twice) must not delay the next real change.
                // It is read again: a broadcast still under way may have widened it.
                let now = Instant::now();
                let window = pace::window(COALESCE, r.topic.fanout_lag());
                let do_lb = lb_dirty && last_lb + window <= now;
                let do_presence = presence_dirty && last_presence + window <= now;
                let (lb_sent, presence_sent) = r.flush(do_lb, do_presence).await;
                if lb_sent {
                    last_lb = now;
                    if let Some(since) = lb_since.take() {
                        metrics::histogram!("quizcast_answer_broadcast_seconds")
                            .record(since.elapsed().as_secs_f64());
                    }
                } else if do_lb {
                    lb_since = None;
                }
                if presence_sent {
                    last_presence = now;
                }
                lb_dirty &= !do_lb;
                presence_dirty &= !do_presence;
            }
            _ = sleep_until(lease_at), if shared.is_some() => {
                lease_at = Instant::now() + LEASE_EVERY;
                if let Some(shared) = &shared {
                    let held = match shared.lease(code).await {
                        Ok(held) => held,
                        Err(e) => {
                            // Without Redis this node cannot serve the session: end its
                            // streams so clients retry (and find a node that can).
                            let ended = r.topic.disconnect_all();
                            if ended > 0 {
                                tracing::warn!(%code, error = %e, ended, "live state unreachable; ended streams");
                            }
                            false
                        }
                    };
                    if held && !owner {
                        tracing::info!(%code, node = %shared.node, "took over the session's clock");
                        signals.state_changed();
                    }
                    owner = held;
                }
            }
        }
        if signals.take_state() {
            match game.live.clock(code).await {
                Ok(c) => clock = c,
                Err(e) => tracing::warn!(%code, error = %e, "reading the session clock failed"),
            }
            lb_dirty = true;
            signals.log_changed();
        }
        if signals.take_log() {
            r.follow_log().await;
        }
        r.deliver_scores(signals.take_scores()).await;
        if let Some(since) = signals.take_leaderboard() {
            lb_dirty = true;
            lb_since.get_or_insert(since);
        }
        if let Some(delta) = signals.take_presence() {
            merge(&mut r.pending, delta);
            presence_dirty = true;
        }
        if signals.take_members() {
            r.follow_members().await;
            presence_dirty = true;
            lb_dirty = true;
        }
        if signals.take_remote_presence() {
            r.record_presence(signals.take_rewrite_presence()).await;
            presence_dirty = true;
        }
    }
}

fn merge(into: &mut PresenceDelta, from: PresenceDelta) {
    for m in from.joined {
        into.left.retain(|x| x.user_id != m.user_id);
        if into.joined.len() < MAX_LISTED && !into.joined.contains(&m) {
            into.joined.push(m);
        }
    }
    for m in from.left {
        into.joined.retain(|x| x.user_id != m.user_id);
        if into.left.len() < MAX_LISTED && !into.left.contains(&m) {
            into.left.push(m);
        }
    }
}

impl Runner {
    /// Shared mode: publishes log entries written by any node since the last one seen here.
    async fn follow_log(&mut self) {
        if self.shared.is_none() {
            return;
        }
        match self.game.live.log_since(self.code, self.log_at).await {
            Ok(Replay::Entries(entries)) => {
                for e in entries {
                    if e.kind == EventKind::SessionFinished {
                        self.await_results().await;
                    }
                    self.log_at = e.id;
                    self.game
                        .hub
                        .publish(self.code, EncodedEvent::new(Some(e.id), e.kind, e.data));
                }
            }
            Ok(Replay::Unknown) => {
                // The log was lost or trimmed past us: clients must start afresh.
                tracing::warn!(code = %self.code, "session log position lost; resetting");
                if let Ok((_, last)) = self.game.live.state(self.code, None, now_ms()).await {
                    self.log_at = last;
                }
            }
            Err(e) => tracing::warn!(code = %self.code, error = %e, "following the log failed"),
        }
    }

    /// Shared mode: the node that finished the session stores its results right after;
    /// give it a moment so clients that hear of the finish find their results and history.
    async fn await_results(&self) {
        for _ in 0..40 {
            if matches!(self.game.store.results(self.code).await, Ok(Some(_))) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Shared mode: delivers the `score` snapshots of players connected here.
    async fn deliver_scores(&self, users: HashSet<String>) {
        let Some(shared) = &self.shared else { return };
        for user in users {
            match shared.read_score(self.code, &user).await {
                Ok(Some(data)) => {
                    let frame = EncodedEvent::new(None, EventKind::Score, data.into());
                    self.game.hub.publish_private(self.code, &user, frame);
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(code = %self.code, error = %e, "reading a score failed"),
            }
        }
    }

    /// Shared mode: joins and leaves from any node, for the next `presence`.
    async fn follow_members(&mut self) {
        let Some(shared) = &self.shared else { return };
        match shared
            .members(self.code, self.members_at.as_deref().or(Some("0-0")))
            .await
        {
            Ok((at, changes)) => {
                self.members_at = Some(at);
                let mut delta = PresenceDelta::default();
                for (change, m) in changes {
                    match change {
                        MemberChange::Joined => delta.joined.push(m),
                        MemberChange::Left => delta.left.push(m),
                        MemberChange::Removed => {
                            self.game.hub.disconnect_user(self.code, &m.user_id);
                            delta.left.push(m);
                        }
                    }
                }
                merge(&mut self.pending, delta);
            }
            Err(e) => tracing::warn!(code = %self.code, error = %e, "reading members failed"),
        }
    }

    /// Shared mode: records who connected here or left since the last call (everyone here
    /// when `rewrite`) and reads who is online on any live node.
    async fn record_presence(&mut self, rewrite: bool) {
        let Some(shared) = &self.shared else { return };
        let now = now_ms();
        let here: HashSet<String> = self.topic.online_users(now).into_iter().collect();
        let mut changes: Vec<String> = here
            .iter()
            .filter(|u| rewrite || !self.recorded_online.contains(*u))
            .map(|u| format!("+{u}"))
            .collect();
        changes.extend(
            self.recorded_online
                .iter()
                .filter(|u| !here.contains(*u))
                .map(|u| format!("-{u}")),
        );
        match shared.presence(self.code, changes).await {
            Ok(online) => {
                self.recorded_online = here;
                self.online = online;
            }
            Err(e) => tracing::warn!(code = %self.code, error = %e, "recording presence failed"),
        }
    }

    /// The host's live `answers` counts while a question is open (answers move the board).
    async fn send_counts(&mut self) {
        if !self.topic.has_subscriber(&self.host_id) {
            return;
        }
        match self.game.live.open_counts(self.code).await {
            Ok(Some(counts)) => {
                let data: Arc<str> = serde_json::to_string(&counts).unwrap_or_default().into();
                if self.last_counts.as_ref() != Some(&data) {
                    self.last_counts = Some(data.clone());
                    let frame = EncodedEvent::new(None, EventKind::Answers, data);
                    self.game
                        .hub
                        .publish_private(self.code, &self.host_id, frame);
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(code = %self.code, error = %e, "answer counts read failed"),
        }
    }

    /// Sends what changed; returns whether a leaderboard and a presence event were sent.
    async fn flush(&mut self, lb: bool, presence: bool) -> (bool, bool) {
        let (game, code) = (self.game.clone(), self.code);
        let (mut lb_sent, mut presence_sent) = (false, false);
        // Shared mode: a node with nobody connected to this session has nothing to send.
        if self.shared.is_some() && self.topic.subscriber_count() == 0 {
            return (lb_sent, presence_sent);
        }
        if lb {
            let board = game.live.leaderboard(code, 0, TOP).await;
            // Shared mode: a board read after a question closed goes out after that
            // `question_closed` (an `at_reveal` board moves only then), so publish the log
            // up to now first.
            self.follow_log().await;
            match board {
                Ok(board) => {
                    let data: Arc<str> = serde_json::to_string(&board).unwrap_or_default().into();
                    if self.last_leaderboard.as_ref() != Some(&data) {
                        lb_sent = true;
                        self.last_leaderboard = Some(data.clone());
                        game.hub
                            .publish(code, EncodedEvent::new(None, EventKind::Leaderboard, data));
                    }
                }
                Err(e) => tracing::warn!(%code, error = %e, "leaderboard read failed"),
            }
            self.send_counts().await;
        }
        if presence {
            match game.live.player_ids(code).await {
                Ok(ids) => {
                    let players: HashSet<String> = ids.into_iter().collect();
                    let online_users = match self.shared {
                        Some(_) => self.online.clone(),
                        None => self.topic.online_users(now_ms()),
                    };
                    let online = online_users.iter().filter(|u| players.contains(*u)).count();
                    let counts = (players.len() as u32, online as u32);
                    let delta = std::mem::take(&mut self.pending);
                    let listed = !delta.joined.is_empty() || !delta.left.is_empty();
                    if listed || self.last_presence != Some(counts) {
                        presence_sent = true;
                        self.last_presence = Some(counts);
                        let event = Presence {
                            players: counts.0,
                            online: counts.1,
                            joined: delta.joined,
                            left: delta.left,
                        };
                        game.hub
                            .publish(code, EncodedEvent::of(None, EventKind::Presence, &event));
                    }
                }
                Err(e) => tracing::warn!(%code, error = %e, "presence read failed"),
            }
        }
        (lb_sent, presence_sent)
    }
}
