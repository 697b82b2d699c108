//! The accept loop. Plain HTTP/1.1 connections go to `conn_h1`, which writes event streams
//! on the socket itself and lets hyper serve every other request with capped buffers (an
//! idle event stream is most of what a connection costs). A handler can tune the
//! connection it answers on (`socket::Connection`): on HTTP/1.1 an event stream gets a
//! small kernel send buffer, and is cut when its reader stops taking bytes. With TLS,
//! ALPN picks HTTP/2 or HTTP/1.1 per connection, and hyper serves both (a TLS session
//! keeps buffers of its own anyway; see `serve_http2` for what a cut means when streams
//! share a socket).

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use std::convert::Infallible;
use std::future::Future;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::response::Response;
use http_body::{Body as HttpBody, Frame as HttpFrame};
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use super::conn_h1;
use super::socket::{Connection, Io};

/// hyper's smallest read buffer: request heads are far smaller, and a streaming
/// connection then keeps 8 KiB instead of growing to 16 KiB.
pub(super) const MAX_BUF: usize = 8192;
/// A client must send its request head within this time.
pub(super) const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// HTTP/2: what hyper buffers per stream ahead of the peer's flow-control window (h2's
/// default is 400 KiB): the per-stream counterpart of the small send buffer above.
const H2_SEND_BUFFER: usize = 64 * 1024;
/// HTTP/2: a PING after this much silence from the peer…
const H2_PING_EVERY: Duration = Duration::from_secs(20);
/// …and the connection is closed if its answer takes longer than this (a peer that stopped
/// reading cannot answer).
const H2_PING_TIMEOUT: Duration = Duration::from_secs(20);

/// Serves until `shutdown`, then lets open connections finish (event streams end on
/// their own with a retry hint) and returns once all are closed. With `tls`, every
/// connection is HTTPS and speaks HTTP/2 or HTTP/1.1 as its ALPN chose.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    tls: Option<TlsAcceptor>,
) {
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
        let io = Io::new(stream, &connection);
        let router = router.clone();
        let shutdown = shutdown.clone();
        // Two kinds of task: a plain connection's future stays small (an idle event
        // stream's task is part of what it costs) and carries no room for a TLS handshake.
        let Some(tls) = tls.clone() else {
            connections.spawn(conn_h1::serve(io, router, peer, connection, shutdown));
            continue;
        };
        connections.spawn(async move {
            let stream = match tokio::time::timeout(HEADER_TIMEOUT, tls.accept(io)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => return tracing::debug!(error = %e, "TLS handshake failed"),
                Err(_) => return tracing::debug!("TLS handshake timed out"),
            };
            if stream.get_ref().1.alpn_protocol() == Some(b"h2".as_slice()) {
                serve_http2(TokioIo::new(stream), router, peer, shutdown).await;
            } else {
                serve_http1(
                    TokioIo::new(stream),
                    router,
                    peer,
                    connection,
                    shutdown,
                    true,
                )
                .await;
            }
        });
    }
    connections.close();
    connections.wait().await;
}

/// Marks a request that arrived over this server's own TLS.
#[derive(Debug, Clone, Copy)]
pub struct OverTls;

/// One HTTP/1.1 connection: small buffers, and the handler's `Connection` is this socket
/// (an event stream shrinks its send buffer; a stalled one is cut with the connection).
pub(super) async fn serve_http1<I>(
    io: TokioIo<I>,
    router: Router,
    peer: SocketAddr,
    connection: Connection,
    shutdown: CancellationToken,
    over_tls: bool,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let cut = connection.cut_token();
    let service = router.map_request(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
        if over_tls {
            // HTTP/1.1 requests name no scheme; origin checks and links need to know.
            req.extensions_mut().insert(OverTls);
        }
        req.extensions_mut().insert(connection.clone());
        req
    });
    let mut builder = http1::Builder::new();
    builder
        .max_buf_size(MAX_BUF)
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let conn = builder.serve_connection(io, TowerToHyperService::new(service));
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
}

/// One HTTP/2 connection. Many streams share its socket, so nothing per stream touches
/// the socket: an event stream keeps the connection's send buffer (shrinking it would
/// slow every other stream), and a stalled event stream ends alone (`CutBody`), not the
/// connection. A peer that stops reading altogether stalls every stream at once; h2
/// keep-alive pings close such a connection. Per stream, hyper buffers at most
/// `H2_SEND_BUFFER` beyond what the peer's flow-control window lets through, so a stalled
/// stream pins that much, plus its bounded queue, until the peer resets or leaves.
async fn serve_http2<I>(
    io: TokioIo<I>,
    router: Router,
    peer: SocketAddr,
    shutdown: CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = tower::service_fn(move |mut req: Request<Incoming>| {
        // Each stream its own `Connection`: `streaming()` then tunes nothing, and a cut
        // ends this response only.
        let connection = Connection::default();
        let cut = connection.cut_token();
        req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
        req.extensions_mut().insert(connection);
        let call = router.clone().oneshot(req);
        async move {
            let res: Response = call.await?;
            Ok::<_, Infallible>(res.map(|body| Body::new(CutBody::new(body, cut))))
        }
    });
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_send_buf_size(H2_SEND_BUFFER)
        .keep_alive_interval(Some(H2_PING_EVERY))
        .keep_alive_timeout(H2_PING_TIMEOUT);
    let conn = builder.serve_connection(io, TowerToHyperService::new(service));
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.as_mut().await;
        }
    }
}

/// A response body that ends with an error (hyper resets the stream) once its `cut` is
/// cancelled: the HTTP/2 form of cutting a stalled event stream.
struct CutBody {
    inner: Body,
    cut: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl CutBody {
    fn new(inner: Body, cut: CancellationToken) -> Self {
        Self {
            inner,
            cut: Box::pin(cut.cancelled_owned()),
        }
    }
}

impl HttpBody for CutBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<HttpFrame<Bytes>, axum::Error>>> {
        if self.cut.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(axum::Error::new(
                "event stream cut: its reader stalled",
            ))));
        }
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cut_ends_an_http2_response_body_with_an_error() {
        use futures::FutureExt;
        use http_body_util::BodyExt;

        let cut = CancellationToken::new();
        let idle = Body::from_stream(futures::stream::pending::<Result<Bytes, Infallible>>());
        let mut body = CutBody::new(idle, cut.clone());
        assert!(
            body.frame().now_or_never().is_none(),
            "an idle stream waits"
        );
        cut.cancel();
        let ended = body.frame().await;
        assert!(
            matches!(ended, Some(Err(_))),
            "a cut stream ends with an error"
        );
    }
}
