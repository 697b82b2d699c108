//! The connection a request arrived on: the handle a handler gets (`Connection`) and the
//! socket that applies what it asked (`Io`): on HTTP/1.1 an event stream gets a small
//! kernel send buffer, and a connection cut for a stalled reader resets.

use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

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
pub struct Io {
    stream: TcpStream,
    conn: Arc<ConnState>,
    tuned: bool,
}

impl Io {
    pub fn new(stream: TcpStream, connection: &Connection) -> Self {
        Self {
            stream,
            conn: connection.inner.clone(),
            tuned: false,
        }
    }

    /// Ready once the client closed its side or the socket failed; whatever else the client
    /// sends meanwhile is read and dropped (nothing may follow an event stream request).
    pub fn poll_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut sink = [0u8; 64];
        loop {
            if self.stream.poll_read_ready(cx).is_ready() {
                match self.stream.try_read(&mut sink) {
                    Ok(0) => return Poll::Ready(()),
                    Ok(_) => continue,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(_) => return Poll::Ready(()),
                }
            }
            return Poll::Pending;
        }
    }

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

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

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

    #[tokio::test]
    async fn a_client_that_closes_is_seen_and_its_bytes_dropped() {
        let (server, mut client) = pair().await;
        let io = Io::new(server, &Connection::default());
        client.write_all(b"stray bytes").await.unwrap();
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        // The stray bytes are read and dropped; the socket stays open.
        for _ in 0..100 {
            tokio::task::yield_now().await;
            assert!(io.poll_closed(&mut cx).is_pending());
        }
        drop(client);
        tokio::time::timeout(
            Duration::from_secs(5),
            std::future::poll_fn(|cx| io.poll_closed(cx)),
        )
        .await
        .expect("the close is seen");
    }
}
