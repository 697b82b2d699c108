//! An event encoded once: its JSON payload and its complete SSE frame. Every subscriber
//! gets a clone of the same `Arc`; SSE writes `sse` as is, long-poll embeds `data` raw.

use std::sync::Arc;

use bytes::Bytes;

use crate::domain::event::EventKind;

pub type Frame = Arc<EncodedEvent>;

#[derive(Debug)]
pub struct EncodedEvent {
    /// Log position for log events; `None` for snapshots and private events.
    pub id: Option<u64>,
    pub kind: EventKind,
    /// Compact JSON (never contains a newline).
    pub data: Arc<str>,
    /// `id:`, `event:` and `data:` lines followed by a blank line.
    pub sse: Bytes,
}

impl EncodedEvent {
    pub fn new(id: Option<u64>, kind: EventKind, data: Arc<str>) -> Frame {
        // Names are static identifiers and ids are numbers, so no line can be injected;
        // compact JSON escapes newlines inside strings, so data is one line.
        let mut sse = String::with_capacity(data.len() + 48);
        if let Some(id) = id {
            sse.push_str("id: ");
            sse.push_str(&id.to_string());
            sse.push('\n');
        }
        sse.push_str("event: ");
        sse.push_str(kind.name());
        sse.push_str("\ndata: ");
        sse.push_str(&data);
        sse.push_str("\n\n");
        Arc::new(EncodedEvent {
            id,
            kind,
            data,
            sse: Bytes::from(sse),
        })
    }

    pub fn of(id: Option<u64>, kind: EventKind, payload: &impl serde::Serialize) -> Frame {
        let data = serde_json::to_string(payload).unwrap_or_else(|_| "null".into());
        Self::new(id, kind, data.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_single_data_lines() {
        let f = EncodedEvent::of(
            Some(7),
            EventKind::Presence,
            &serde_json::json!({"n": "a\nb"}),
        );
        assert_eq!(
            std::str::from_utf8(&f.sse).unwrap(),
            "id: 7\nevent: presence\ndata: {\"n\":\"a\\nb\"}\n\n"
        );
        let s = EncodedEvent::new(None, EventKind::Score, "{}".into());
        assert!(s.sse.starts_with(b"event: score\n"));
    }
}
