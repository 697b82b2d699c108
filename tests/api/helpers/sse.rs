//! The client side of Server-Sent Events: a small parser that keeps each event's own
//! `id:` (None for snapshots), the `retry:` advice and comments, with bounded reads.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::WAIT;
/// One server-sent event. `id` is the event's own `id:` line (None when it has none).
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub event: String,
    pub data: Value,
    pub raw: String,
    pub id: Option<String>,
}

impl SseEvent {
    pub fn id_num(&self) -> u64 {
        let id = self
            .id
            .as_deref()
            .unwrap_or_else(|| panic!("{self:?} has no id"));
        id.parse()
            .unwrap_or_else(|_| panic!("event id {id:?} is not a decimal number"))
    }

    pub fn is_log(&self) -> bool {
        matches!(
            self.event.as_str(),
            "question_opened" | "question_closed" | "session_finished"
        )
    }
}

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// A typed event stream over one SSE response; `seen` keeps every event returned.
pub struct Sse {
    pub headers: HeaderMap,
    body: ByteStream,
    buf: String,
    ready: VecDeque<SseEvent>,
    pub retry: Option<u64>,
    pub comments: Vec<String>,
    pub seen: Vec<SseEvent>,
    pub ended: bool,
}

impl Sse {
    pub fn new(resp: reqwest::Response) -> Self {
        let headers = resp.headers().clone();
        let ct = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            ct.starts_with("text/event-stream"),
            "SSE Content-Type: {ct:?}"
        );
        Self {
            headers,
            body: Box::pin(resp.bytes_stream()),
            buf: String::new(),
            ready: VecDeque::new(),
            retry: None,
            comments: Vec::new(),
            seen: Vec::new(),
            ended: false,
        }
    }

    /// The next event, or `None` when the server ends the stream; panics after `limit`.
    pub async fn try_next(&mut self, limit: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(e) = self.ready.pop_front() {
                self.seen.push(e.clone());
                return Some(e);
            }
            if self.ended {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => panic!("no event within {limit:?}; seen so far: {:?}", self.names()),
                Ok(None) | Ok(Some(Err(_))) => self.ended = true,
                Ok(Some(Ok(chunk))) => {
                    self.buf.push_str(&String::from_utf8_lossy(&chunk));
                    self.parse();
                }
            }
        }
    }

    /// The next event (panics if the stream ends or nothing comes within `WAIT`).
    pub async fn next(&mut self) -> SseEvent {
        match self.try_next(WAIT).await {
            Some(e) => e,
            None => panic!("the event stream ended; seen: {:?}", self.names()),
        }
    }

    /// Skips events until one named `name` arrives within `limit`.
    pub async fn next_named(&mut self, name: &str, limit: Duration) -> SseEvent {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            assert!(
                !left.is_zero(),
                "no `{name}` event within {limit:?}; seen: {:?}",
                self.names()
            );
            match self.try_next(left).await {
                Some(e) if e.event == name => return e,
                Some(_) => {}
                None => panic!("stream ended before `{name}`; seen: {:?}", self.names()),
            }
        }
    }

    /// Reads events until `done` holds for the events read by this call.
    pub async fn until(&mut self, what: &str, done: impl Fn(&[SseEvent]) -> bool) -> Vec<SseEvent> {
        let mut got = Vec::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        while !done(&got) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {what}; got {:?}",
                names(&got)
            );
            match self.try_next(left).await {
                Some(e) => got.push(e),
                None => panic!(
                    "stream ended while waiting for {what}; got {:?}",
                    names(&got)
                ),
            }
        }
        got
    }

    pub fn names(&self) -> Vec<String> {
        names(&self.seen)
    }

    /// The id of the newest log event returned so far.
    pub fn last_id(&self) -> Option<String> {
        self.seen.iter().rev().find_map(|e| e.id.clone())
    }

    fn parse(&mut self) {
        if self.buf.contains('\r') {
            self.buf = self.buf.replace("\r\n", "\n").replace('\r', "\n");
        }
        while let Some(end) = self.buf.find("\n\n") {
            let frame: String = self.buf.drain(..end + 2).collect();
            let (mut event, mut data, mut id, mut any_data) = (None, String::new(), None, false);
            for line in frame.lines() {
                if let Some(c) = line.strip_prefix(':') {
                    self.comments.push(c.trim().to_owned());
                    continue;
                }
                let (field, value) = match line.split_once(':') {
                    Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                    None => (line, ""),
                };
                match field {
                    "event" => event = Some(value.to_owned()),
                    "id" => id = Some(value.to_owned()),
                    "retry" => self.retry = value.parse().ok(),
                    "data" => {
                        if any_data {
                            data.push('\n');
                        }
                        data.push_str(value);
                        any_data = true;
                    }
                    _ => {}
                }
            }
            if any_data {
                let parsed = serde_json::from_str(&data)
                    .unwrap_or_else(|e| panic!("event data is not JSON ({e}): {data}"));
                self.ready.push_back(SseEvent {
                    event: event.unwrap_or_else(|| "message".into()),
                    data: parsed,
                    raw: data,
                    id,
                });
            }
        }
    }
}

pub fn names(events: &[SseEvent]) -> Vec<String> {
    events.iter().map(|e| e.event.clone()).collect()
}

/// The brief's spelling of `Sse::next_named`.
pub async fn next_event_named(sse: &mut Sse, name: &str, limit: Duration) -> SseEvent {
    sse.next_named(name, limit).await
}

/// Asserts the log events among `events` carry strictly increasing numeric ids and the
/// snapshot events carry none.
pub fn assert_ids(events: &[SseEvent], who: &str) {
    let mut last: Option<u64> = None;
    for e in events {
        if e.is_log() {
            let id = e.id_num();
            if let Some(prev) = last {
                assert!(id > prev, "{who}: id {id} of {} not above {prev}", e.event);
            }
            last = Some(id);
        } else {
            assert!(
                e.id.is_none(),
                "{who}: {} should have no id: {e:?}",
                e.event
            );
        }
    }
}
