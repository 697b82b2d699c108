//! `GET …/events`: Server-Sent Events. Subscribe, catch up, then stream live frames as
//! their pre-encoded bytes, with a `: ping` when idle and a retry hint at shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use http_body::{Body as HttpBody, Frame as HttpFrame};
use tokio::time::{Instant, Sleep, sleep_until};
use tokio_util::sync::WaitForCancellationFutureOwned;

use super::AppState;
use super::auth::StreamUser;
use super::catchup;
use super::error::{AppResult, Problem};
use super::extract::Code;
use super::limits::StreamPermit;
use crate::hub::{Frame, Subscription, Transport};

/// Idle time before a `: ping` comment (the contract asks for one at least every 15 s).
const PING_EVERY: Duration = Duration::from_secs(10);
const RETRY: &[u8] = b"retry: 2000\n\n";
const PING: &[u8] = b": ping\n\n";
const BYE: &[u8] = b": server shutting down; reconnect\nretry: 1000\n\n";

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
/// or too old gets a fresh `session_state` instead. A `: ping` comment comes at least
/// every 15 s. A subscriber that cannot keep up is disconnected and should reconnect.
/// Browsers, whose EventSource cannot set headers, pass a stream ticket
/// (`POST …/ticket`) as `?ticket=`; `?access_token=` works too but puts a long-lived
/// token in the URL. Both are accepted on this route and `…/events/poll` only.
/// At most 5 open streams per user (default).
#[utoipa::path(get, path = "/api/v1/sessions/{code}/events", tag = "events",
    params(
        ("code" = String, Path, description = "Session code (case-insensitive)"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this log event id"),
        ("ticket" = Option<String>, Query, description = "Stream ticket from `POST …/ticket`, for clients that cannot set headers"),
        ("access_token" = Option<String>, Query, description = "Token, for clients that cannot set headers (prefer `ticket`)"),
    ),
    responses(
        (status = 200, description = "An event stream (`text/event-stream`); event payloads are the schemas `SessionState`, `QuestionOpened`, `QuestionClosed`, `Leaderboard`, `Presence`, `Score` and `AnswerCounts`",
            content_type = "text/event-stream", body = String),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Opened with the cookie by another origin's page", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown code", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many open streams", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []), ("ticket" = []), ("access_token" = [])))]
pub async fn events(
    State(state): State<AppState>,
    StreamUser(user): StreamUser,
    Code(code): Code,
    headers: HeaderMap,
) -> AppResult<Response> {
    let permit = state.limits.open_stream(&user.id)?;
    // Fail fast (404) before subscribing to a topic that does not exist.
    state.game.live.clock(code).await?;
    let last_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let sub = state.game.hub.subscribe(code, &user.id, Transport::Sse);
    let catchup = catchup::resume(&state.game, code, &user.id, last_id).await?;
    let mut head = Vec::with_capacity(RETRY.len() + 1024);
    head.extend_from_slice(RETRY);
    for f in &catchup.frames {
        head.extend_from_slice(&f.sse);
    }
    let stream = LiveStream {
        sub,
        watermark: catchup.watermark,
        shutdown: Box::pin(state.game.shutdown.clone().cancelled_owned()),
        ping: Box::pin(sleep_until(Instant::now() + PING_EVERY)),
        head: Some(Bytes::from(head)),
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

/// The response body: polled directly by hyper, so an idle stream is this struct and its
/// queue. hyper keeps polling while frames are ready and writes what it gathered at once
/// (vectored), so each frame is the shared encoded bytes, never copied per subscriber.
struct LiveStream {
    sub: Subscription,
    watermark: u64,
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    ping: Pin<Box<Sleep>>,
    head: Option<Bytes>,
    done: bool,
    _permit: StreamPermit,
}

impl LiveStream {
    fn fresh(&self, frame: &Frame) -> bool {
        frame.id.is_none_or(|id| id > self.watermark)
    }

    fn reset_ping(&mut self) {
        self.ping.as_mut().reset(Instant::now() + PING_EVERY);
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
            return Poll::Ready(Some(Ok(HttpFrame::data(head))));
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
                    if this.fresh(&frame) {
                        this.reset_ping();
                        return Poll::Ready(Some(Ok(HttpFrame::data(frame.sse.clone()))));
                    }
                }
                Poll::Pending => break,
            }
        }
        if this.ping.as_mut().poll(cx).is_ready() {
            this.reset_ping();
            return Poll::Ready(Some(Ok(HttpFrame::data(Bytes::from_static(PING)))));
        }
        Poll::Pending
    }
}
