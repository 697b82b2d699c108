//! The accept loop: HTTP/1.1 connections served by hyper directly, so the per-connection
//! buffers can be capped (an idle event stream is most of what a connection costs), and a
//! handler can tune the connection it answers on (`Connection`): an event stream gets a
//! small kernel send buffer, and is cut when its reader stops taking bytes.

use std::io::IoSlice;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// hyper's smallest read buffer: request heads are far smaller, and a streaming
/// connection then keeps 8 KiB instead of growing to 16 KiB.
const MAX_BUF: usize = 8192;
/// A client must send its request head within this time.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// The send buffer an event stream's socket asks for; Linux doubles it for its own
/// bookkeeping, so 32 KiB in all. That holds a few of the largest frames, so a reader that
/// keeps up never waits on it (events are a few KiB a second at most), while a reader that
/// stopped pins 32 KiB of kernel memory instead of the up to 4 MiB autotuning grants, and
/// the server's own bounded queue is what fills (and what `hub::stall` watches).
pub const STREAM_SEND_BUFFER: usize = 16 * 1024;

/// The connection a request arrived on, as seen by its handler (a request extension).
#[derive(Clone, Default)]
pub struct Connection {
    inner: Arc<ConnState>,
}

#[derive(Default)]
struct ConnState {
    streaming: AtomicBool,
    cut: CancellationToken,
}

impl Connection {
    /// This connection carries an event stream: its send buffer shrinks before the
    /// response is written.
    pub fn streaming(&self) {
        self.inner.streaming.store(true, Ordering::Release);
    }

    /// Cancelling it closes the connection at once, with a reset (unsent bytes are dropped).
    pub fn cut_token(&self) -> CancellationToken {
        self.inner.cut.clone()
    }
}

/// The socket, applying what the handler asked of its `Connection`.
struct Io {
    stream: TcpStream,
    conn: Arc<ConnState>,
    tuned: bool,
}

impl Io {
    fn tune(&mut self) {
        if !self.tuned && self.conn.streaming.load(Ordering::Acquire) {
            self.tuned = true;
            if let Err(e) = SockRef::from(&self.stream).set_send_buffer_size(STREAM_SEND_BUFFER) {
                tracing::debug!(error = %e, "setting an event stream's send buffer");
            }
        }
    }
}

impl AsyncRead for Io {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.tune();
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.tune();
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

impl Drop for Io {
    fn drop(&mut self) {
        // A cut connection resets: what its reader never took is freed now, not after the
        // kernel's own timeouts.
        if self.conn.cut.is_cancelled() {
            let _ = SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        }
    }
}

/// Serves until `shutdown`, then lets open connections finish (event streams end on
/// their own with a retry hint) and returns once all are closed.
pub async fn serve(listener: TcpListener, router: Router, shutdown: CancellationToken) {
    let connections = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors, usually: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        // Events are small writes; without TCP_NODELAY, Nagle holds some back for an ACK.
        let _ = stream.set_nodelay(true);
        let connection = Connection::default();
        let cut = connection.cut_token();
        let io = Io {
            stream,
            conn: connection.inner.clone(),
            tuned: false,
        };
        let service = router
            .clone()
            .map_request(move |mut req: axum::http::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                req.extensions_mut().insert(connection.clone());
                req
            });
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let mut builder = http1::Builder::new();
            builder
                .max_buf_size(MAX_BUF)
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            let conn =
                builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
            tokio::pin!(conn);
            // A cut drops the connection (and with it the response body and its permits).
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = cut.cancelled() => {}
                _ = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = cut.cancelled() => {}
                    }
                }
            }
        });
    }
    connections.close();
    connections.wait().await;
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        (accepted.unwrap().0, client.unwrap())
    }

    fn send_buffer(io: &Io) -> usize {
        SockRef::from(&io.stream).send_buffer_size().unwrap()
    }

    #[tokio::test]
    async fn an_event_stream_gets_a_small_send_buffer_before_its_first_write() {
        let (server, _client) = pair().await;
        let connection = Connection::default();
        let mut io = Io {
            stream: server,
            conn: connection.inner.clone(),
            tuned: false,
        };
        io.write_all(b"HTTP/1.1 200 OK\r\n").await.unwrap();
        let before = send_buffer(&io);
        connection.streaming();
        io.write_all(b"content-type: text/event-stream\r\n\r\n")
            .await
            .unwrap();
        let after = send_buffer(&io);
        // Linux reports twice what was asked (its bookkeeping share); loopback autotuning
        // had grown it to megabytes.
        assert!(
            after <= 2 * STREAM_SEND_BUFFER,
            "send buffer {before} → {after}"
        );
    }

    #[tokio::test]
    async fn a_cut_connection_resets() {
        let (server, mut client) = pair().await;
        let connection = Connection::default();
        let io = Io {
            stream: server,
            conn: connection.inner.clone(),
            tuned: false,
        };
        connection.cut_token().cancel();
        drop(io);
        let mut buf = [0u8; 8];
        let read = tokio::io::AsyncReadExt::read(&mut client, &mut buf).await;
        assert_eq!(
            read.map_err(|e| e.kind()),
            Err(std::io::ErrorKind::ConnectionReset)
        );
    }
}
