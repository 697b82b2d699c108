//! The socket as hyper sees it when the accept loop has already read part of the
//! connection: the bytes read first, then the socket. With a limit, hyper sees the input
//! end where its request ends, so it answers that one request and hands the socket back
//! (`without_shutdown`) for the loop to read the next head itself.

use std::io::IoSlice;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub struct Rewind<I> {
    pub io: I,
    read: Vec<u8>,
    pos: usize,
    /// Bytes hyper may still read, `None` for the whole connection.
    left: Option<usize>,
}

impl<I> Rewind<I> {
    /// `read` (bytes already taken from `io`) comes first; `limit` bounds what hyper sees.
    pub fn new(io: I, read: Vec<u8>, limit: Option<usize>) -> Self {
        Self {
            io,
            read,
            pos: 0,
            left: limit,
        }
    }

    /// Bytes of the limited request hyper did not read (a body its handler left unread).
    pub fn unread(&self) -> usize {
        self.left.unwrap_or(0)
    }

    /// The socket and whatever was read past this request (a pipelined next request).
    pub fn into_parts(mut self) -> (I, Vec<u8>) {
        let rest = if self.pos == 0 {
            self.read
        } else {
            self.read.split_off(self.pos)
        };
        (self.io, rest)
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Rewind<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let room = this
            .left
            .map_or(buf.remaining(), |l| l.min(buf.remaining()));
        if room == 0 {
            // The end of this request: hyper answers it and then finds the input closed.
            return Poll::Ready(Ok(()));
        }
        let n = if this.pos < this.read.len() {
            let n = room.min(this.read.len() - this.pos);
            buf.put_slice(&this.read[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == this.read.len() {
                this.read = Vec::new();
                this.pos = 0;
            }
            n
        } else if room == buf.remaining() {
            let before = buf.filled().len();
            std::task::ready!(Pin::new(&mut this.io).poll_read(cx, buf))?;
            buf.filled().len() - before
        } else {
            let mut limited = ReadBuf::new(buf.initialize_unfilled_to(room));
            std::task::ready!(Pin::new(&mut this.io).poll_read(cx, &mut limited))?;
            let n = limited.filled().len();
            buf.advance(n);
            n
        };
        if let Some(left) = &mut this.left {
            *left -= n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Rewind<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    #[tokio::test]
    async fn read_bytes_come_first_and_the_limit_ends_the_input() {
        let socket: &[u8] = b"lo world, and the next request";
        let mut r = Rewind::new(socket, b"hel".to_vec(), Some(8));
        let mut got = Vec::new();
        r.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"hello wo");
        assert_eq!(r.unread(), 0);
        let (rest, _) = r.into_parts();
        assert_eq!(rest, b"rld, and the next request");
    }

    #[tokio::test]
    async fn bytes_read_past_the_request_are_handed_back() {
        let mut r = Rewind::new(&b""[..], b"GET /a\nGET /b\n".to_vec(), Some(7));
        let mut got = Vec::new();
        r.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"GET /a\n");
        assert_eq!(r.into_parts().1, b"GET /b\n");
    }

    #[tokio::test]
    async fn without_a_limit_everything_is_read() {
        let mut r = Rewind::new(&b" world"[..], b"hello".to_vec(), None);
        let mut got = String::new();
        r.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "hello world");
    }
}
