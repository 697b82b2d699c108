//! `GET …/events/poll`: the long-poll fallback. Replies at once when anything is newer
//! than the cursor, otherwise holds until something happens or the timeout passes.
//! The cursor names the last log id and fingerprints of the snapshots the client has,
//! so any node can answer it.

use std::time::Duration;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::StreamUser;
use super::catchup;
use super::error::{AppError, AppResult, Problem};
use super::extract::{AppQuery, Code};
use crate::domain::SessionCode;
use crate::domain::event::EventKind;
use crate::game::{Game, GameError, now_ms};
use crate::hub::{Frame, Transport};
use crate::live::Replay;

pub const MAX_TIMEOUT_MS: i64 = 30_000;
pub const DEFAULT_TIMEOUT_MS: i64 = 25_000;
/// A poll keeps its client online this long after it returns.
const ONLINE_GRACE_MS: i64 = 35_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PollParams {
    /// The `next` of the previous reply; omit on the first request.
    pub after: Option<String>,
    /// How long to hold when nothing is new: clamped to 0–30000, default 25000.
    pub timeout_ms: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PollEvent {
    /// The log id for log events; `null` for snapshots and private events.
    pub id: Option<u64>,
    /// `session_state`, `question_opened`, `question_closed`, `session_finished`,
    /// `leaderboard`, `presence`, `score` (player) or `answers` (host).
    pub event: &'static str,
    /// The same payload the SSE event carries.
    #[schema(value_type = Object)]
    pub data: Box<RawValue>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PollReply {
    pub events: Vec<PollEvent>,
    /// Opaque cursor to pass back as `after`.
    pub next: String,
}

/// What a client has seen: the last log id and a fingerprint of each snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Cursor {
    log: u64,
    leaderboard: u64,
    presence: u64,
    score: u64,
    answers: u64,
}

impl Cursor {
    fn encode(&self) -> String {
        format!(
            "{}.{:x}.{:x}.{:x}.{:x}",
            self.log, self.leaderboard, self.presence, self.score, self.answers
        )
    }

    fn parse(s: &str) -> Option<Cursor> {
        let mut parts = s.split('.');
        let log = parts.next()?.parse().ok()?;
        let mut hex = || u64::from_str_radix(parts.next()?, 16).ok();
        let c = Cursor {
            log,
            leaderboard: hex()?,
            presence: hex()?,
            score: hex()?,
            answers: hex()?,
        };
        parts.next().is_none().then_some(c)
    }
}

/// FNV-1a: stable across processes, so a cursor from one node is understood by another.
fn fingerprint(data: &str) -> u64 {
    data.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn to_event(frame: &Frame) -> PollEvent {
    PollEvent {
        id: frame.id,
        event: frame.kind.name(),
        data: RawValue::from_string(frame.data.to_string())
            .unwrap_or_else(|_| RawValue::NULL.to_owned()),
    }
}

/// Everything newer than `cursor`, and the cursor after it.
async fn gather(
    game: &Game,
    code: SessionCode,
    user: &str,
    cursor: Cursor,
) -> Result<(Vec<Frame>, Cursor), GameError> {
    let mut next = cursor;
    let mut frames = match game.live.log_since(code, cursor.log).await? {
        Replay::Unknown => {
            let fresh = catchup::fresh(game, code, user).await?;
            next.log = fresh.watermark;
            return Ok((fresh.frames, next));
        }
        Replay::Entries(entries) => {
            if let Some(last) = entries.last() {
                next.log = last.id;
            }
            entries
                .into_iter()
                .map(|e| crate::hub::EncodedEvent::new(Some(e.id), e.kind, e.data))
                .collect::<Vec<_>>()
        }
    };
    for snap in catchup::snapshots_cached(game, code, user).await? {
        let fp = fingerprint(&snap.data);
        let seen = match snap.kind {
            EventKind::Leaderboard => &mut next.leaderboard,
            EventKind::Presence => &mut next.presence,
            EventKind::Score => &mut next.score,
            EventKind::Answers => &mut next.answers,
            _ => continue,
        };
        if *seen != fp {
            *seen = fp;
            frames.push(snap);
        }
    }
    Ok((frames, next))
}

/// Long-poll for events (for networks whose proxies break streaming).
///
/// Replies at once when anything is newer than `after`: missed log events in order, then
/// the newest snapshot of each kind that changed, then the player's `score` if it changed.
/// Otherwise holds until something happens or `timeout_ms` passes (then `events: []`).
/// Without `after`, the reply holds one `session_state` event. A cursor that cannot be
/// parsed is `400`; one too old to replay gets a fresh `session_state`. Like `…/events`,
/// takes a stream ticket as `?ticket=` (or a token as `?access_token=`) besides the header. A player the host
/// removed gets `403`.
#[utoipa::path(get, path = "/api/v1/sessions/{code}/events/poll", tag = "events",
    params(("code" = String, Path, description = "Session code (case-insensitive)"), PollParams,
        ("ticket" = Option<String>, Query, description = "Stream ticket from `POST …/ticket`, for clients that cannot set headers"),
        ("access_token" = Option<String>, Query, description = "Token, for clients that cannot set headers (prefer `ticket`)"),
    ),
    responses(
        (status = 200, description = "Events newer than the cursor", body = PollReply),
        (status = 400, description = "Bad cursor or timeout", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Opened with the cookie by another origin's page, or the host removed the caller from the session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown code", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many open streams", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []), ("ticket" = []), ("access_token" = [])))]
pub async fn poll(
    State(state): State<AppState>,
    StreamUser(user): StreamUser,
    Code(code): Code,
    AppQuery(params): AppQuery<PollParams>,
) -> AppResult<axum::Json<PollReply>> {
    let cursor = match params.after.as_deref() {
        None => None,
        Some(raw) => Some(
            Cursor::parse(raw).ok_or_else(|| AppError::BadRequest("unreadable cursor".into()))?,
        ),
    };
    let timeout = params
        .timeout_ms
        .unwrap_or(DEFAULT_TIMEOUT_MS)
        .clamp(0, MAX_TIMEOUT_MS);
    let _permit = state.limits.open_stream(&user.id).await?;
    let game = &state.game;
    game.may_watch(code, &user.id).await?;
    let Some(cursor) = cursor else {
        let fresh = catchup::fresh(game, code, &user.id).await?;
        let mut next = Cursor {
            log: fresh.watermark,
            ..Cursor::default()
        };
        // The snapshots inside session_state count as seen.
        for snap in catchup::snapshots_cached(game, code, &user.id).await? {
            let fp = fingerprint(&snap.data);
            match snap.kind {
                EventKind::Leaderboard => next.leaderboard = fp,
                EventKind::Presence => next.presence = fp,
                EventKind::Score => next.score = fp,
                EventKind::Answers => next.answers = fp,
                _ => {}
            }
        }
        game.hub
            .touch_poll(code, &user.id, now_ms() + ONLINE_GRACE_MS);
        return Ok(reply(&fresh.frames, next));
    };
    // Subscribe before looking, so a change between the look and the wait still wakes us.
    let mut sub = game.hub.subscribe(code, &user.id, Transport::Poll);
    let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout as u64);
    let (mut frames, mut next) = gather(game, code, &user.id, cursor).await?;
    while frames.is_empty() {
        tokio::select! {
            woke = sub.rx.recv() => {
                if woke.is_none() {
                    break;
                }
                // Collapse a burst into one look.
                while sub.rx.try_recv().is_ok() {}
                (frames, next) = gather(game, code, &user.id, cursor).await?;
            }
            _ = tokio::time::sleep_until(deadline) => break,
            _ = game.shutdown.cancelled() => break,
        }
    }
    // Stay online before the subscription goes, so presence does not flicker.
    game.hub
        .touch_poll(code, &user.id, now_ms() + ONLINE_GRACE_MS);
    drop(sub);
    Ok(reply(&frames, next))
}

fn reply(frames: &[Frame], next: Cursor) -> axum::Json<PollReply> {
    axum::Json(PollReply {
        events: frames.iter().map(to_event).collect(),
        next: next.encode(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor {
            log: 1_858_000_000_000_001,
            leaderboard: 0xdead,
            presence: 0,
            score: u64::MAX,
            answers: 7,
        };
        assert_eq!(Cursor::parse(&c.encode()), Some(c));
        for bad in ["", "x", "1.2.3.4", "1.2.3.4.5.6", "1.g.0.0.0", "-1.0.0.0.0"] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_not_without_panicking(s in ".{0,200}") {
            let _ = Cursor::parse(&s);
        }

        #[test]
        fn every_cursor_round_trips(log: u64, leaderboard: u64, presence: u64, score: u64, answers: u64) {
            let c = Cursor { log, leaderboard, presence, score, answers };
            proptest::prop_assert_eq!(Cursor::parse(&c.encode()), Some(c));
        }
    }

    #[test]
    fn fingerprints_are_stable() {
        assert_eq!(fingerprint(""), 0xcbf2_9ce4_8422_2325);
        assert_ne!(fingerprint("{\"a\":1}"), fingerprint("{\"a\":2}"));
    }
}
