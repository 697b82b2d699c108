//! An incremental Server-Sent Events parser: bytes in, whole events out.

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Event {
    pub event: String,
    pub data: String,
    pub id: Option<String>,
}

#[derive(Default)]
pub struct Parser {
    buf: Vec<u8>,
    current: Event,
    has_field: bool,
}

impl Parser {
    /// Feeds a chunk; calls `emit` for every event it completes.
    pub fn feed(&mut self, chunk: &[u8], mut emit: impl FnMut(Event)) {
        self.buf.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(nl) = self.buf[start..].iter().position(|b| *b == b'\n') {
            let end = start + nl;
            let line = &self.buf[start..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                if self.has_field {
                    emit(std::mem::take(&mut self.current));
                    self.has_field = false;
                }
            } else if line[0] != b':' {
                let text = String::from_utf8_lossy(line);
                let (field, value) = match text.split_once(':') {
                    Some((f, v)) => (f.to_owned(), v.strip_prefix(' ').unwrap_or(v).to_owned()),
                    None => (text.into_owned(), String::new()),
                };
                match field.as_str() {
                    "event" => self.current.event = value,
                    "data" => {
                        if !self.current.data.is_empty() {
                            self.current.data.push('\n');
                        }
                        self.current.data.push_str(&value);
                    }
                    "id" => self.current.id = Some(value),
                    _ => {}
                }
                if field != "retry" {
                    self.has_field = true;
                }
            }
            start = end + 1;
        }
        self.buf.drain(..start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks() {
        let mut p = Parser::default();
        let mut out = Vec::new();
        p.feed(
            b"retry: 3000\n\nevent: heartbeat\ndata: {\"at\":\"2026-11-26T19:00:20Z\"}\n\nevent: leader",
            |e| out.push(e),
        );
        assert_eq!(out.len(), 1, "the heartbeat; the next event is incomplete");
        p.feed(
            b"board\ndata: {\"a\":1}\r\n\nid: 7\nevent: x\ndata: 1\ndata: 2\n\n",
            |e| out.push(e),
        );
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].event, "heartbeat");
        assert_eq!(out[0].id, None);
        assert_eq!(out[1].event, "leaderboard");
        assert_eq!(out[1].data, "{\"a\":1}");
        assert_eq!(out[2].id.as_deref(), Some("7"));
        assert_eq!(out[2].data, "1\n2");
    }
}
