//! HTTP/1.1 over sockets bound to a chosen source address, so one machine can open more
//! connections to a loopback target than one address has ephemeral ports.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::sync::Mutex;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpSocket;
use tokio::sync::Semaphore;

pub type Sender = SendRequest<Full<Bytes>>;

/// One node to drive: where to connect and what to send as `Host`.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub host: String,
}

impl Target {
    pub fn parse(url: &str, allow_remote: bool) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("http://")
            .with_context(|| format!("{url}: only http:// targets are supported"))?;
        let host = rest.split('/').next().unwrap_or_default().to_owned();
        let with_port = if host.contains(':') {
            host.clone()
        } else {
            format!("{host}:80")
        };
        let addr = with_port
            .to_socket_addrs()
            .with_context(|| format!("resolving {host}"))?
            .next()
            .with_context(|| format!("{host} has no address"))?;
        if !addr.ip().is_loopback() && !allow_remote {
            bail!("{url} is not on this machine's loopback; pass --allow-remote to load it");
        }
        Ok(Self { addr, host })
    }

    pub fn parse_all(urls: &[String], allow_remote: bool) -> anyhow::Result<Vec<Self>> {
        urls.iter().map(|u| Self::parse(u, allow_remote)).collect()
    }
}

/// The source address of load connection `n` when the target is loopback: 127.1.0.0 and up,
/// `per` connections each (IPv4 loopback is the whole 127.0.0.0/8 on Linux).
pub fn source_for(target: &Target, n: usize, per: usize) -> Option<IpAddr> {
    if !target.addr.ip().is_loopback() || !target.addr.is_ipv4() {
        return None;
    }
    let k = (n / per.max(1)) as u32;
    let base = u32::from(Ipv4Addr::new(127, 1, 0, 0));
    Some(IpAddr::V4(Ipv4Addr::from(base + (k % 0x00fe_0000))))
}

pub async fn connect(target: &Target, source: Option<IpAddr>) -> anyhow::Result<Sender> {
    let socket = if target.addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(ip) = source {
        socket
            .bind(SocketAddr::new(ip, 0))
            .with_context(|| format!("binding {ip}"))?;
    }
    let stream = socket
        .connect(target.addr)
        .await
        .with_context(|| format!("connecting to {}", target.addr))?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

pub fn request(
    target: &Target,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Bytes>,
) -> Request<Full<Bytes>> {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("host", &target.host);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    b.body(Full::new(body.unwrap_or_default()))
        .expect("a well-formed request")
}

/// Sends a request and reads the whole reply.
pub async fn call(
    sender: &mut Sender,
    req: Request<Full<Bytes>>,
) -> anyhow::Result<(StatusCode, Bytes)> {
    sender.ready().await?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// Keep-alive connections to one node, shared by many short requests (answers).
pub struct Pool {
    target: Target,
    source: Option<IpAddr>,
    idle: Mutex<Vec<Sender>>,
    permits: Semaphore,
}

impl Pool {
    pub fn new(target: Target, source: Option<IpAddr>, size: usize) -> Self {
        Self {
            target,
            source,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size.max(1)),
        }
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Runs `req` on a pooled connection; `sent` is called right before it is written.
    pub async fn call(
        &self,
        req: Request<Full<Bytes>>,
        sent: impl FnOnce(),
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let _permit = self.permits.acquire().await?;
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut sender = match pooled {
            Some(s) if !s.is_closed() => s,
            _ => connect(&self.target, self.source).await?,
        };
        sender.ready().await?;
        sent();
        let out = call(&mut sender, req).await;
        if out.is_ok() {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(sender);
        }
        out
    }
}
