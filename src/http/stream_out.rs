//! An event stream response written on its socket by the server itself: the head, then
//! each frame of the body as the body yields it, with no buffer of its own. hyper would
//! keep a read and a write buffer per connection for as long as the stream lasts; here an
//! idle stream is the socket, its body, and nothing else. The body is delimited by the
//! connection's close (`Connection: close`), which every SSE client and proxy accepts.

use std::future::Future;
use std::io::IoSlice;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::response::Parts;
use axum::http::{StatusCode, header};
use axum::response::Response;
use bytes::Buf;
use http_body::Body as HttpBody;
use tokio::io::AsyncWrite;
use tokio_util::sync::CancellationToken;

use super::socket::Io;

/// Frames gathered into one vectored write, at most.
const BATCH: usize = 16;

/// Whether `response` is an event stream this server writes itself.
pub fn is_event_stream(response: &Response) -> bool {
    response.status() == StatusCode::OK
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
}

/// Writes `response` on `io` until its body ends, the client leaves, or `cut` is
/// cancelled (then `io` is dropped at once and resets; see `socket::Io`).
pub async fn send(io: Io, response: Response, cut: CancellationToken) {
    let (parts, body) = response.into_parts();
    let mut pending = Vec::with_capacity(BATCH);
    pending.push(Bytes::from(encode_head(&parts)));
    let pump = Pump {
        io,
        body,
        pending,
        ended: false,
    };
    tokio::select! {
        _ = pump => {}
        _ = cut.cancelled() => {}
    }
}

/// The status line and headers, with `Connection: close` and a `Date`.
fn encode_head(parts: &Parts) -> Vec<u8> {
    let mut head = Vec::with_capacity(512);
    head.extend_from_slice(b"HTTP/1.1 ");
    head.extend_from_slice(parts.status.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(
        parts
            .status
            .canonical_reason()
            .unwrap_or_default()
            .as_bytes(),
    );
    head.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        if name == header::CONNECTION || name == header::CONTENT_LENGTH {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"connection: close\r\ndate: ");
    head.extend_from_slice(httpdate::fmt_http_date(std::time::SystemTime::now()).as_bytes());
    head.extend_from_slice(b"\r\n\r\n");
    head
}

/// Moves frames from the body to the socket. The body is polled again only once what it
/// gave was written, as hyper does: a body that is taken from is a reader keeping up
/// (`hub::stall`), so a reader that stops shows as a stall.
struct Pump {
    io: Io,
    body: Body,
    /// Frames taken from the body and not yet written (the first maybe in part); empty,
    /// and without capacity, while the stream idles.
    pending: Vec<Bytes>,
    ended: bool,
}

impl Future for Pump {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if this.io.poll_closed(cx).is_ready() {
            return Poll::Ready(());
        }
        loop {
            if this.pending.is_empty() {
                if !this.ended {
                    this.gather(cx);
                }
                if this.pending.is_empty() {
                    if !this.ended {
                        // Idle: keep no buffer while waiting.
                        this.pending = Vec::new();
                        return Poll::Pending;
                    }
                    // The end of the body: a FIN marks the end of the response.
                    return Pin::new(&mut this.io).poll_shutdown(cx).map(|_| ());
                }
            }
            let mut slices = [IoSlice::new(&[]); BATCH];
            for (slice, frame) in slices.iter_mut().zip(&this.pending) {
                *slice = IoSlice::new(frame);
            }
            let count = this.pending.len().min(BATCH);
            match Pin::new(&mut this.io).poll_write_vectored(cx, &slices[..count]) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0) | Err(_)) => return Poll::Ready(()),
                Poll::Ready(Ok(n)) => this.advance(n),
            }
        }
    }
}

impl Pump {
    /// Takes every frame the body has ready, up to a batch.
    fn gather(&mut self, cx: &mut Context<'_>) {
        while self.pending.len() < BATCH {
            match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data()
                        && !data.is_empty()
                    {
                        self.pending.push(data);
                    }
                }
                Poll::Ready(Some(Err(_)) | None) => {
                    self.ended = true;
                    return;
                }
                Poll::Pending => return,
            }
        }
    }

    /// Drops what a write of `n` bytes took from the front of `pending`.
    fn advance(&mut self, mut n: usize) {
        let done = self
            .pending
            .iter()
            .take_while(|frame| {
                if n >= frame.len() {
                    n -= frame.len();
                    true
                } else {
                    false
                }
            })
            .count();
        self.pending.drain(..done);
        if let Some(first) = self.pending.first_mut() {
            first.advance(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_head_names_every_header_and_closes() {
        let mut response = Response::new(Body::empty());
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
        h.append("x-a", HeaderValue::from_static("1"));
        h.append("x-a", HeaderValue::from_static("2"));
        assert!(is_event_stream(&response));
        let (parts, _) = response.into_parts();
        let head = String::from_utf8(encode_head(&parts)).unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"));
        assert!(head.contains("x-a: 1\r\nx-a: 2\r\n"));
        assert!(head.contains("connection: close\r\ndate: "));
        assert!(!head.contains("keep-alive"));
        assert!(head.ends_with(" GMT\r\n\r\n"));
    }

    #[test]
    fn other_responses_are_not_streams() {
        let mut response = Response::new(Body::empty());
        assert!(!is_event_stream(&response), "no content type");
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        assert!(!is_event_stream(&response), "an error");
    }
}
