//! What a (re)connecting client gets before live events, shared by SSE and long-poll:
//! either the log entries it missed plus the current snapshots, or a fresh
//! `session_state`. The caller subscribes first, so nothing falls between the two; the
//! `watermark` tells it which buffered log events it already has.

use crate::domain::SessionCode;
use crate::domain::event::EventKind;
use crate::game::{Game, GameError};
use crate::hub::{EncodedEvent, Frame};
use crate::live::record::TOP;
use crate::live::{LiveError, Replay};

pub struct Catchup {
    pub frames: Vec<Frame>,
    /// The last log id the frames account for.
    pub watermark: u64,
}

/// A fresh start: one `session_state` for this viewer, then for the host the open
/// question's answer counts (a host page reloaded mid-question shows them at once).
pub async fn fresh(game: &Game, code: SessionCode, user: &str) -> Result<Catchup, GameError> {
    let (state, watermark) = game.state(code, Some(user)).await?;
    let mut frames = vec![EncodedEvent::of(None, EventKind::SessionState, &state)];
    frames.extend(host_counts(game, code, user).await?);
    Ok(Catchup { frames, watermark })
}

/// The host's `answers` snapshot while a question is open.
async fn host_counts(
    game: &Game,
    code: SessionCode,
    user: &str,
) -> Result<Option<Frame>, GameError> {
    match game.live.clock(code).await {
        Ok(clock) if clock.host_id == user => {}
        // A finished session that left live state has no open question.
        Ok(_) | Err(LiveError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    Ok(game
        .live
        .open_counts(code)
        .await?
        .map(|counts| EncodedEvent::of(None, EventKind::Answers, &counts)))
}

/// The current snapshot of each kind: leaderboard, presence, and the user's own score.
/// Read now rather than taken from the last broadcast, which may lag by a coalescing tick.
pub async fn snapshots(
    game: &Game,
    code: SessionCode,
    user: &str,
) -> Result<Vec<Frame>, GameError> {
    let board = game.live.leaderboard(code, 0, TOP).await?;
    let presence = game.presence_now(code).await?;
    let frames = vec![
        EncodedEvent::of(None, EventKind::Leaderboard, &board),
        EncodedEvent::of(None, EventKind::Presence, &presence),
    ];
    with_private(game, code, user, frames).await
}

/// Appends the viewer's own snapshots: answer counts for the host, the player's score.
async fn with_private(
    game: &Game,
    code: SessionCode,
    user: &str,
    mut frames: Vec<Frame>,
) -> Result<Vec<Frame>, GameError> {
    frames.extend(host_counts(game, code, user).await?);
    if let Some(score) = game.live.score(code, user).await? {
        frames.push(EncodedEvent::of(None, EventKind::Score, &score));
    }
    Ok(frames)
}

/// Like `snapshots`, but the broadcast kinds come from the newest `leaderboard` and
/// `presence` this node has sent, when there is one: a long-poll that wakes on every
/// broadcast would otherwise recount everyone online for every poll. They can lag by a
/// coalescing tick, and the next broadcast wakes the poll with the newer one.
pub async fn snapshots_cached(
    game: &Game,
    code: SessionCode,
    user: &str,
) -> Result<Vec<Frame>, GameError> {
    let topic = game.hub.topic(code);
    let (board, presence) = (
        topic.latest(EventKind::Leaderboard),
        topic.latest(EventKind::Presence),
    );
    let (Some(board), Some(presence)) = (board, presence) else {
        return snapshots(game, code, user).await;
    };
    with_private(game, code, user, vec![board, presence]).await
}

/// Resumes after `last_id` when the log still has it; otherwise starts fresh.
pub async fn resume(
    game: &Game,
    code: SessionCode,
    user: &str,
    last_id: Option<u64>,
) -> Result<Catchup, GameError> {
    let Some(last_id) = last_id else {
        return fresh(game, code, user).await;
    };
    match game.live.log_since(code, last_id).await? {
        Replay::Unknown => fresh(game, code, user).await,
        Replay::Entries(entries) => {
            let watermark = entries.last().map_or(last_id, |e| e.id);
            metrics::counter!("quizcast_replays_total").increment(1);
            metrics::histogram!("quizcast_replay_events").record(entries.len() as f64);
            let mut frames: Vec<Frame> = entries
                .into_iter()
                .map(|e| EncodedEvent::new(Some(e.id), e.kind, e.data))
                .collect();
            frames.extend(snapshots(game, code, user).await?);
            Ok(Catchup { frames, watermark })
        }
    }
}
