//! One runner per session on this node: fires its timers (question close, auto-advance)
//! and sends the coalesced `leaderboard` and `presence` snapshots, at most one of each per
//! `COALESCE` and only when they changed. It sleeps until something is due.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use super::signals::{MAX_LISTED, PresenceDelta, Signals};
use super::{Game, now_ms};
use crate::domain::event::{EventKind, Presence};
use crate::domain::session::{Command, Status};
use crate::domain::{Millis, SessionCode};
use crate::hub::EncodedEvent;
use crate::live::record::TOP;

pub const COALESCE: Duration = Duration::from_millis(200);
/// How long a finished session stays in live state once its results are stored.
const LINGER: Duration = Duration::from_secs(600);

fn instant_at(ms: Millis) -> Instant {
    let delta = ms - now_ms();
    Instant::now() + Duration::from_millis(delta.max(0) as u64)
}

struct Snapshots {
    last_leaderboard: Option<Arc<str>>,
    last_presence: Option<(u32, u32)>,
    pending: PresenceDelta,
}

pub async fn run(game: Arc<Game>, code: SessionCode, signals: Arc<Signals>) {
    let topic = game.hub.topic(code);
    let mut snaps = Snapshots {
        last_leaderboard: None,
        last_presence: None,
        pending: PresenceDelta::default(),
    };
    let mut clock = match game.live.clock(code).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(%code, error = %e, "runner cannot read its session");
            return;
        }
    };
    let (mut lb_dirty, mut presence_dirty) = (true, true);
    let mut last_flush = Instant::now() - COALESCE;
    loop {
        if clock.phase.status == Status::Finished {
            flush(&game, code, &mut snaps, lb_dirty, presence_dirty).await;
            if game.save_results(code).await {
                // Late readers still get live snapshots for a while; then only the results.
                tokio::select! {
                    _ = tokio::time::sleep(LINGER) => game.forget(code).await,
                    _ = game.shutdown.cancelled() => {}
                }
            }
            return;
        }
        let deadline = clock.phase.deadline().map(instant_at);
        let expiry = topic.next_presence_expiry().map(instant_at);
        let flush_at = (lb_dirty || presence_dirty).then(|| last_flush + COALESCE);
        tokio::select! {
            _ = game.shutdown.cancelled() => return,
            _ = signals.wake.notified() => {}
            _ = topic.presence_changed.notified() => presence_dirty = true,
            _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                let cmd = if clock.phase.status == Status::Question {
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
                flush(&game, code, &mut snaps, lb_dirty, presence_dirty).await;
                lb_dirty = false;
                presence_dirty = false;
                last_flush = Instant::now();
            }
        }
        if signals.take_state() {
            match game.live.clock(code).await {
                Ok(c) => clock = c,
                Err(e) => tracing::warn!(%code, error = %e, "reading the session clock failed"),
            }
            lb_dirty = true;
        }
        lb_dirty |= signals.take_leaderboard();
        if let Some(delta) = signals.take_presence() {
            merge(&mut snaps.pending, delta);
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

async fn flush(game: &Game, code: SessionCode, snaps: &mut Snapshots, lb: bool, presence: bool) {
    if lb {
        match game.live.leaderboard(code, 0, TOP).await {
            Ok(board) => {
                let data: Arc<str> = serde_json::to_string(&board).unwrap_or_default().into();
                if snaps.last_leaderboard.as_ref() != Some(&data) {
                    snaps.last_leaderboard = Some(data.clone());
                    game.hub
                        .publish(code, EncodedEvent::new(None, EventKind::Leaderboard, data));
                }
            }
            Err(e) => tracing::warn!(%code, error = %e, "leaderboard read failed"),
        }
    }
    if presence {
        match game.live.player_ids(code).await {
            Ok(ids) => {
                let players: HashSet<String> = ids.into_iter().collect();
                let online = game
                    .hub
                    .topic(code)
                    .online_users(now_ms())
                    .iter()
                    .filter(|u| players.contains(*u))
                    .count() as u32;
                let counts = (players.len() as u32, online);
                let delta = std::mem::take(&mut snaps.pending);
                let listed = !delta.joined.is_empty() || !delta.left.is_empty();
                if listed || snaps.last_presence != Some(counts) {
                    snaps.last_presence = Some(counts);
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
}
