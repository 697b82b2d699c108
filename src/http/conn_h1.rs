//! One plain HTTP/1.1 connection, request by request: the loop reads each request head
//! itself into a small buffer. An event stream request goes to the router here, and an
//! event stream response is written on the socket directly (`stream_out`), so an idle
//! subscriber holds no hyper buffers. Every other request, and every other answer, is
//! served by hyper exactly as before, one request at a time: hyper gets the bytes already
//! read, sees the input end where the request ends, answers, and hands the socket back.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, header};
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncReadExt;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::request_head::{self, Head};
use super::rewind::Rewind;
use super::serve::{HEADER_TIMEOUT, MAX_BUF, serve_http1};
use super::socket::{Connection, Io};
use super::stream_out;

/// A request head larger than this goes to hyper, which refuses it as it always did.
const MAX_HEAD: usize = MAX_BUF;
/// What one read asks for; most heads fit in one.
const READ_CHUNK: usize = 2048;
/// A body its handler left unread is read and dropped up to this size, so the connection
/// can stay open; past it the connection closes.
const MAX_DRAIN: usize = 64 * 1024;

/// Serves `io` until the client leaves, an event stream ends, or `shutdown`.
pub async fn serve(
    io: Io,
    router: Router,
    peer: SocketAddr,
    connection: Connection,
    shutdown: CancellationToken,
) {
    let mut io = io;
    let mut read = Vec::new();
    let cut = connection.cut_token();
    loop {
        let deadline = Instant::now() + HEADER_TIMEOUT;
        let head = tokio::select! {
            head = tokio::time::timeout_at(deadline, read_head(&mut io, &mut read)) => head,
            // Between requests: nothing is lost by closing now.
            _ = shutdown.cancelled() => return,
        };
        // hyper closes on a late head too, without an answer.
        let Ok(Ok(Some(head))) = head else {
            return;
        };
        let (len, body, close, answer) = match head {
            Head::Hyper => {
                let io = TokioIo::new(Rewind::new(io, read, None));
                return Box::pin(serve_http1(io, router, peer, connection, shutdown, false)).await;
            }
            Head::One { len, body, close } => (len, body, close, None),
            Head::EventStream { len, mut request } => {
                extend(&mut request, peer, &connection);
                // Boxed like hyper's state below: the router's future is large and over
                // once the answer is made.
                let response = match Box::pin(router.clone().oneshot(*request)).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                if stream_out::is_event_stream(&response) {
                    // Nothing may follow an event stream request on its connection.
                    drop(read);
                    return stream_out::send(io, response, cut).await;
                }
                // Refused (401, 404, 429…): hyper writes the answer, as for any request.
                (len, 0, false, Some(response))
            }
        };
        let one = Rewind::new(io, std::mem::take(&mut read), Some(len + body));
        let service = OneRequest::new(router.clone(), peer, connection.clone(), answer);
        let closing = service.closing.clone();
        // Boxed: hyper's connection state is large, and an idle event stream's task should
        // not carry room for it.
        let Some((back, rest, unread)) = Box::pin(serve_one(one, service, &cut, &shutdown)).await
        else {
            return;
        };
        io = back;
        read = rest;
        if close || closing.load(Ordering::Acquire) || shutdown.is_cancelled() {
            return;
        }
        if unread > 0 && !drain(&mut io, unread).await {
            return;
        }
    }
}

/// Reads until `read` holds a complete head; `None` if the client closed first.
async fn read_head(io: &mut Io, read: &mut Vec<u8>) -> std::io::Result<Option<Head>> {
    loop {
        if !read.is_empty() {
            if let Some(head) = request_head::parse(read) {
                return Ok(Some(head));
            }
            if read.len() >= MAX_HEAD {
                return Ok(Some(Head::Hyper));
            }
        }
        read.reserve(READ_CHUNK.min(MAX_HEAD - read.len()));
        if io.read_buf(read).await? == 0 {
            return Ok(None);
        }
    }
}

/// Reads and drops `n` bytes of a body nobody read; false if the client does not send
/// them in time, or they are too many.
async fn drain(io: &mut Io, n: usize) -> bool {
    if n > MAX_DRAIN {
        return false;
    }
    let mut sink = (&mut *io).take(n as u64);
    matches!(
        tokio::time::timeout(HEADER_TIMEOUT, tokio::io::copy(&mut sink, &mut tokio::io::sink())).await,
        Ok(Ok(copied)) if copied == n as u64
    )
}

/// hyper serves the one request `io` holds; then the socket, what was read past the
/// request, and how much of its body was left unread. `None` if the connection is over.
async fn serve_one(
    io: Rewind<Io>,
    service: OneRequest,
    cut: &CancellationToken,
    shutdown: &CancellationToken,
) -> Option<(Io, Vec<u8>, usize)> {
    let mut builder = http1::Builder::new();
    builder
        .max_buf_size(MAX_BUF)
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        // The input ends after the request: hyper still answers it.
        .half_close(true);
    let mut conn = builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
    let done = tokio::select! {
        done = std::future::poll_fn(|cx| conn.poll_without_shutdown(cx)) => done,
        _ = cut.cancelled() => return None,
        _ = shutdown.cancelled() => {
            Pin::new(&mut conn).graceful_shutdown();
            tokio::select! {
                _ = std::future::poll_fn(|cx| conn.poll_without_shutdown(cx)) => {}
                _ = cut.cancelled() => {}
            }
            return None;
        }
    };
    if let Err(e) = done {
        tracing::debug!(error = %e, "HTTP/1.1 connection ended");
        return None;
    }
    let parts = conn.into_parts();
    let unread = parts.io.inner().unread();
    let (io, mut rest) = parts.io.into_inner().into_parts();
    if !parts.read_buf.is_empty() {
        let mut all = parts.read_buf.to_vec();
        all.append(&mut rest);
        rest = all;
    }
    Some((io, rest, unread))
}

/// Adds what the handlers learn from the connection, as `serve_http1` does.
fn extend<B>(request: &mut Request<B>, peer: SocketAddr, connection: &Connection) {
    request
        .extensions_mut()
        .insert(ConnectInfo::<SocketAddr>(peer));
    request.extensions_mut().insert(connection.clone());
}

/// The service hyper calls for its one request: the router, or an answer already made
/// (an event stream request the router refused). Notes whether the answer closes the
/// connection.
#[derive(Clone)]
struct OneRequest {
    router: Router,
    peer: SocketAddr,
    connection: Connection,
    answer: Arc<Mutex<Option<Response>>>,
    closing: Arc<AtomicBool>,
}

impl OneRequest {
    fn new(
        router: Router,
        peer: SocketAddr,
        connection: Connection,
        answer: Option<Response>,
    ) -> Self {
        Self {
            router,
            peer,
            connection,
            answer: Arc::new(Mutex::new(answer)),
            closing: Arc::default(),
        }
    }
}

type Answering = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl tower::Service<Request<Incoming>> for OneRequest {
    type Response = Response;
    type Error = Infallible;
    type Future = Answering;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<Incoming>) -> Answering {
        let made = self.answer.lock().unwrap_or_else(|e| e.into_inner()).take();
        let closing = self.closing.clone();
        extend(&mut request, self.peer, &self.connection);
        let router = self.router.clone();
        Box::pin(async move {
            let response = match made {
                Some(response) => response,
                None => router.oneshot(request.map(Body::new)).await?,
            };
            let closes = response
                .headers()
                .get(header::CONNECTION)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
            closing.store(closes, Ordering::Release);
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    /// Every idle event stream keeps its connection's task: hyper's state, the head
    /// buffer and the router call are not part of it.
    #[tokio::test]
    async fn a_connection_task_is_small() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (_client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let connection = Connection::default();
        let io = Io::new(accepted.unwrap().0, &connection);
        let task = serve(
            io,
            Router::new(),
            addr,
            connection,
            CancellationToken::new(),
        );
        let size = std::mem::size_of_val(&task);
        eprintln!("a connection task: {size} bytes");
        assert!(size <= 1280, "a connection task: {size} bytes");
    }
}
