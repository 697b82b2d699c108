//! An HTTP/1.1 request head read by the accept loop itself, before hyper sees it: enough to
//! tell an event stream request (served on the socket directly) from any other (served by
//! hyper), and where the request ends. Anything unusual is left to hyper, which answers it
//! exactly as it answers every request.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version};

/// hyper's limit on the number of header lines; a head with more goes to hyper (→ 431).
const MAX_HEADERS: usize = 100;

/// What the accept loop does with a request whose head is complete.
#[derive(Debug)]
pub enum Head {
    /// A `GET` of a session's event stream with no body: the router answers it here, and
    /// an event stream response is written to the socket directly.
    EventStream {
        len: usize,
        request: Box<Request<Body>>,
    },
    /// Any other request hyper can serve alone: `len` head bytes, then `body` bytes.
    One {
        len: usize,
        body: usize,
        close: bool,
    },
    /// Chunked bodies, upgrades, HTTP/1.0, malformed heads: hyper serves the rest of the
    /// connection, as it would without this loop.
    Hyper,
}

/// Parses `buf`; `None` while the head is incomplete.
pub fn parse(buf: &[u8]) -> Option<Head> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return None,
        Err(_) => return Some(Head::Hyper),
    };
    if req.version != Some(1) {
        return Some(Head::Hyper);
    }
    let mut body = 0usize;
    let mut lengths = 0;
    let mut close = false;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            lengths += 1;
            match std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
            {
                Some(n) => body = n,
                None => return Some(Head::Hyper),
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding")
            || h.name.eq_ignore_ascii_case("upgrade")
        {
            return Some(Head::Hyper);
        } else if h.name.eq_ignore_ascii_case("connection") {
            close |= has_token(h.value, "close");
        }
    }
    if lengths > 1 {
        return Some(Head::Hyper);
    }
    let (Some(method), Some(path)) = (req.method, req.path) else {
        return Some(Head::Hyper);
    };
    if method == "GET" && body == 0 && is_event_route(path) {
        return Some(match request(path, req.headers) {
            Some(request) => Head::EventStream {
                len,
                request: Box::new(request),
            },
            None => Head::Hyper,
        });
    }
    Some(Head::One { len, body, close })
}

/// `/api/v1/sessions/{code}/events`, with or without a query (not `…/events/poll`).
fn is_event_route(target: &str) -> bool {
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    path.strip_prefix("/api/v1/sessions/")
        .and_then(|rest| rest.strip_suffix("/events"))
        .is_some_and(|code| !code.is_empty() && !code.contains('/'))
}

/// Whether a comma-separated header value holds `token` (case-insensitive).
fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// The `GET` request as hyper would have built it; `None` if a part is not valid HTTP.
fn request(path: &str, raw: &[httparse::Header<'_>]) -> Option<Request<Body>> {
    let uri: Uri = path.parse().ok()?;
    let mut headers = HeaderMap::with_capacity(raw.len());
    for h in raw {
        let name = HeaderName::from_bytes(h.name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(h.value).ok()?;
        headers.append(name, value);
    }
    let mut request = Request::new(Body::empty());
    *request.method_mut() = Method::GET;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = headers;
    Some(request)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn parsed(raw: &str) -> Head {
        parse(raw.as_bytes()).expect("a complete head")
    }

    #[test]
    fn an_event_stream_request_is_built_whole() {
        let raw = "GET /api/v1/sessions/K7P2QX/events?ticket=t HTTP/1.1\r\nHost: a\r\n\
                   Accept: text/event-stream\r\nCookie: a=1\r\nCookie: b=2\r\n\r\nnext";
        let Head::EventStream { len, request } = parsed(raw) else {
            panic!("an event stream request");
        };
        assert_eq!(len, raw.len() - "next".len());
        assert_eq!(request.uri(), "/api/v1/sessions/K7P2QX/events?ticket=t");
        assert_eq!(request.headers().get_all("cookie").iter().count(), 2);
        assert_eq!(request.headers()["accept"], "text/event-stream");
    }

    #[test]
    fn other_requests_are_measured_for_hyper() {
        let raw = "POST /api/v1/auth/guest HTTP/1.1\r\nContent-Length: 7\r\n\r\n";
        assert!(matches!(
            parsed(raw),
            Head::One { len, body: 7, close: false } if len == raw.len()
        ));
        for raw in [
            "GET /api/v1/sessions/K7P2QX/events/poll HTTP/1.1\r\n\r\n",
            "HEAD /api/v1/sessions/K7P2QX/events HTTP/1.1\r\n\r\n",
            "GET /api/v1/sessions//events HTTP/1.1\r\n\r\n",
            "GET /api/v1/sessions/a/b/events HTTP/1.1\r\n\r\n",
        ] {
            assert!(matches!(parsed(raw), Head::One { body: 0, .. }), "{raw}");
        }
        assert!(matches!(
            parsed("GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n"),
            Head::One { close: true, .. }
        ));
    }

    #[test]
    fn the_unusual_goes_to_hyper() {
        for raw in [
            "GET /api/v1/sessions/K7P2QX/events HTTP/1.0\r\n\r\n",
            "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            "GET /api/v1/sessions/K7P2QX/events HTTP/1.1\r\nContent-Length: 3\r\n\r\n",
            "NOT HTTP\r\n\r\n",
        ] {
            assert!(
                matches!(parsed(raw), Head::Hyper | Head::One { body: 3, .. }),
                "{raw}"
            );
        }
        assert!(parse(b"GET /api/v1/sess").is_none(), "incomplete");
    }

    proptest! {
        #[test]
        fn any_bytes_are_parsed_without_panicking(raw in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Some(Head::One { len, .. } | Head::EventStream { len, .. }) = parse(&raw) {
                prop_assert!(len <= raw.len());
            }
        }
    }
}
