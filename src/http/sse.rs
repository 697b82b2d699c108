//! `GET …/events`: Server-Sent Events. Subscribe, catch up, then stream live frames as
//! their pre-encoded bytes, with a `heartbeat` event when idle and a retry hint at shutdown.
//! The connection gets a small send buffer and is cut if its reader stalls (`hub::stall`).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use http_body::{Body as HttpBody, Frame as HttpFrame};
use serde::Serialize;
use tokio::time::{Instant, Sleep, sleep_until};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use utoipa::ToSchema;

use super::AppState;
use super::auth::StreamUser;
use super::catchup;
use super::error::{AppResult, Problem};
use super::extract::Code;
use super::limits::StreamPermit;
use super::socket::Connection;
use crate::domain::rfc3339;
use crate::game::now_ms;
use crate::hub::stall::clock_ms;
use crate::hub::{Frame, Subscription, Transport};

const RETRY: &[u8] = b"retry: 2000\n\n";
const BYE: &[u8] = b": server shutting down; reconnect\nretry: 1000\n\n";

/// The `heartbeat` event: sent whenever an event stream has been idle for 15 s, so a page
/// can tell a live stream from one a proxy holds back (pages never see comment lines).
#[derive(Debug, Serialize, ToSchema)]
pub struct Heartbeat {
    /// The server's time (RFC 3339, UTC).
    #[schema(example = "2026-11-26T19:00:20.000Z")]
    pub at: String,
}

/// A `heartbeat` frame: no `id:` (it is not part of the log).
fn heartbeat_frame() -> Bytes {
    let data = serde_json::to_string(&Heartbeat {
        at: rfc3339(now_ms()),
    })
    .unwrap_or_else(|_| "{}".into());
    Bytes::from(format!("event: heartbeat\ndata: {data}\n\n"))
}

/// Live events of a session.
///
/// One connection carries the session's broadcast events and, for a player, the player's
/// private `score` events. The first event of a new connection is `session_state`.
///
/// Log events (with `id:`): `question_opened` (`QuestionOpened`), `question_closed`
/// (`QuestionClosed`), `session_finished` (`Leaderboard`). Ids are decimal numbers that
/// increase within the session. Snapshot events (no `id:`, the newest replaces earlier
/// ones): `leaderboard` (`Leaderboard`, at most one per 200 ms), `presence` (`Presence`,
/// likewise); private to the player, `score` (`Score`); private to the host, `answers`
/// (`AnswerCounts`: answers per choice so far while a question is open, coalesced like
/// `leaderboard`; players never see which choice is popular).
///
/// Reconnecting with `Last-Event-ID` replays every missed log event in order, then the
/// current `leaderboard`, `presence`, `score` (player) and `answers` (host), then live
/// events; an id that is unknown
/// or too old gets a fresh `session_state` instead.
///
/// Whenever 15 s pass without another event, a `heartbeat` event (`Heartbeat`, no `id:`)
/// comes, so a client can tell a live stream from one a proxy holds back: no event at all
/// for 35 s means the stream is stalled. The stream opens with `retry:` advice.
///
/// A subscriber that cannot keep up with the log is disconnected and should reconnect
/// (resuming with `Last-Event-ID`), and so is a connection that accepts no bytes for 30 s
/// while events wait for it: the server never buffers without bound.
/// A player the host removed gets `403` (their open streams end at the removal).
/// Browsers, whose EventSource cannot set headers, pass a stream ticket
/// (`POST …/ticket`) as `?ticket=`; `?access_token=` works too but puts a long-lived
/// token in the URL. Both are accepted on this route and `…/events/poll` only.
/// At most 5 open streams (SSE and polls) per user (default), counted over all nodes.
#[utoipa::path(get, path = "/api/v1/sessions/{code}/events", tag = "events",
    params(
        ("code" = String, Path, description = "Session code (case-insensitive)"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this log event id"),
        ("ticket" = Option<String>, Query, description = "Stream ticket from `POST …/ticket`, for clients that cannot set headers"),
        ("access_token" = Option<String>, Query, description = "Token, for clients that cannot set headers (prefer `ticket`)"),
    ),
    responses(
        (status = 200, description = "An event stream (`text/event-stream`); event payloads are the schemas `SessionState`, `QuestionOpened`, `QuestionClosed`, `Leaderboard`, `Presence`, `Score`, `AnswerCounts` and `Heartbeat`",
            content_type = "text/event-stream", body = String),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Opened with the cookie by another origin's page, or the host removed the caller from the session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown code", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many open streams", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []), ("ticket" = []), ("access_token" = [])))]
pub async fn events(
    State(state): State<AppState>,
    StreamUser(user): StreamUser,
    Code(code): Code,
    connection: Option<Extension<Connection>>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let permit = state.limits.open_stream(&user.id).await?;
    // Fail fast (404, or 403 for a removed player) before subscribing.
    state.game.may_watch(code, &user.id).await?;
    let last_id = resume_from(&headers);
    // Served by `serve`, the connection can be cut when its reader stalls.
    let cut = connection
        .as_ref()
        .map_or_else(CancellationToken::new, |Extension(c)| c.cut_token());
    let sub = state
        .game
        .hub
        .subscribe_watched(code, &user.id, Transport::Sse, cut);
    let catchup = catchup::resume(&state.game, code, &user.id, last_id).await?;
    let mut head = Vec::with_capacity(RETRY.len() + 1024);
    head.extend_from_slice(RETRY);
    for f in &catchup.frames {
        head.extend_from_slice(&f.sse);
    }
    // The catch-up waits for the reader like any queued frame.
    if let Some(w) = sub.liveness() {
        w.sent(clock_ms());
    }
    if let Some(Extension(c)) = &connection {
        c.streaming();
    }
    let heartbeat_every = Duration::from_millis(state.config.heartbeat_ms.max(1));
    let stream = LiveStream {
        sub,
        watermark: catchup.watermark,
        shutdown: Box::pin(state.game.shutdown.clone().cancelled_owned()),
        heartbeat: Box::pin(sleep_until(Instant::now() + heartbeat_every)),
        heartbeat_every,
        head: Some(Bytes::from(head)),
        head_out: false,
        done: false,
        _permit: permit,
    };
    let body = Body::new(stream);
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// The log id a reconnecting client asks to resume after. Anything but a plain number is
/// treated as no id at all: the client gets a fresh `session_state`.
fn resume_from(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// The response body: polled directly by hyper, so an idle stream is this struct and its
/// queue. hyper keeps polling while frames are ready and writes what it gathered at once
/// (vectored), so each frame is the shared encoded bytes, never copied per subscriber.
struct LiveStream {
    sub: Subscription,
    watermark: u64,
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    heartbeat: Pin<Box<Sleep>>,
    heartbeat_every: Duration,
    head: Option<Bytes>,
    /// The head was handed to hyper; being polled again means it was taken.
    head_out: bool,
    done: bool,
    _permit: StreamPermit,
}

impl LiveStream {
    fn fresh(&self, frame: &Frame) -> bool {
        frame.id.is_none_or(|id| id > self.watermark)
    }

    fn reset_heartbeat(&mut self) {
        let at = Instant::now() + self.heartbeat_every;
        self.heartbeat.as_mut().reset(at);
    }

    /// hyper asks for more only when it has room, so whatever it takes is progress.
    fn took(&self) {
        if let Some(w) = self.sub.liveness() {
            w.taken(clock_ms());
        }
    }
}

impl HttpBody for LiveStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<HttpFrame<Bytes>, Infallible>>> {
        let this = &mut *self;
        if let Some(head) = this.head.take() {
            this.head_out = true;
            return Poll::Ready(Some(Ok(HttpFrame::data(head))));
        }
        if std::mem::take(&mut this.head_out) {
            this.took();
        }
        if this.done {
            return Poll::Ready(None);
        }
        if this.shutdown.as_mut().poll(cx).is_ready() {
            this.done = true;
            return Poll::Ready(Some(Ok(HttpFrame::data(Bytes::from_static(BYE)))));
        }
        loop {
            match this.sub.rx.poll_recv(cx) {
                // Dropped as a slow subscriber; ending the stream makes it reconnect.
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(frame)) => {
                    this.took();
                    if this.fresh(&frame) {
                        this.reset_heartbeat();
                        return Poll::Ready(Some(Ok(HttpFrame::data(frame.sse.clone()))));
                    }
                }
                Poll::Pending => break,
            }
        }
        if this.heartbeat.as_mut().poll(cx).is_ready() {
            this.reset_heartbeat();
            return Poll::Ready(Some(Ok(HttpFrame::data(heartbeat_frame()))));
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    use super::*;

    fn with_id(raw: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_bytes(raw) {
            h.insert("last-event-id", v);
        }
        h
    }

    #[test]
    fn only_plain_numbers_resume() {
        assert_eq!(resume_from(&with_id(b" 42 ")), Some(42));
        assert_eq!(
            resume_from(&with_id(b"18446744073709551615")),
            Some(u64::MAX)
        );
        for bad in [
            &b"18446744073709551616"[..],
            b"-1",
            b"1e3",
            b"",
            b"\xff",
            b"4 2",
        ] {
            assert_eq!(resume_from(&with_id(bad)), None, "{bad:?}");
        }
        assert_eq!(resume_from(&HeaderMap::new()), None);
    }

    proptest! {
        #[test]
        fn any_header_bytes_are_read_without_panicking(raw in proptest::collection::vec(any::<u8>(), 0..300)) {
            let got = resume_from(&with_id(&raw));
            if let Some(id) = got {
                let text = String::from_utf8_lossy(&raw);
                prop_assert_eq!(text.trim().parse::<u64>().ok(), Some(id));
            }
        }
    }
}
