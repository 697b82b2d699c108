//! One simulated player: guest login, join, one event stream (SSE or long-poll) kept open
//! for the whole game, and an answer to every question within the window.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::{Method, StatusCode};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::net::{self, Pool, Sender, Target};
use super::now_us;
use super::sse;

/// Reconnections a stream may need before the player gives up.
const MAX_DROPS: u32 = 5;
/// Low bits of a log id: its sequence within the session's log.
const SEQ_MASK: u64 = (1 << 20) - 1;

#[derive(Debug, Clone)]
pub struct PlayerPlan {
    pub idx: usize,
    pub code: String,
    pub target: usize,
    pub source: Option<IpAddr>,
    pub poll: bool,
    pub answers: bool,
    pub join: bool,
    /// Follows the session's events (SSE or long-poll); without, it only answers.
    pub stream: bool,
}

/// What every player of one load process shares.
pub struct Shared {
    pub targets: Vec<Target>,
    pub pools: Vec<Arc<Pool>>,
    pub correct: Vec<u32>,
    pub window_ms: u64,
    pub nchan_messages: Option<usize>,
    /// Questions per session.
    pub questions: usize,
    /// Questions opened so far, for players without a stream.
    pub opened: tokio::sync::watch::Sender<Vec<super::worker::Open>>,
    pub connected: AtomicUsize,
    pub answered: AtomicUsize,
    pub done: AtomicUsize,
    pub setup: tokio::sync::Semaphore,
    pub cancel: CancellationToken,
}

#[derive(Debug, Clone)]
pub struct AnswerRec {
    pub index: u32,
    pub send_us: u64,
    pub reply_us: u64,
    pub status: u16,
    pub version: u64,
    pub points: u64,
}

#[derive(Debug, Default)]
pub struct Record {
    pub code: String,
    pub connect_us: Option<u64>,
    /// `leaderboard` events: (received at, version).
    pub boards: Vec<(u64, u64)>,
    /// `question_opened` (or nchan message) arrivals: (question index, received at, sent at
    /// when the message says so).
    pub opened: Vec<(u32, u64, Option<u64>)>,
    pub log_seqs: Vec<u64>,
    pub finished_seq: Option<u64>,
    pub answers: Vec<AnswerRec>,
    pub drops: u32,
    pub events: u64,
    /// Events from the first question on (the deliveries the game itself caused).
    pub game_events: u64,
    pub failed: Option<String>,
    pub finished: bool,
    /// The player answered without an event stream.
    pub no_stream: bool,
}

#[derive(Deserialize)]
struct Token {
    token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Opened {
    index: u32,
    question_id: String,
    #[serde(default)]
    choices: Vec<String>,
}

#[derive(Deserialize)]
struct Versioned {
    version: u64,
}

#[derive(Deserialize)]
struct Reply {
    version: u64,
    awarded_points: u64,
}

#[derive(Deserialize)]
struct PollReply {
    events: Vec<PollEvent>,
    next: String,
}

#[derive(Deserialize)]
struct PollEvent {
    id: Option<u64>,
    event: String,
    data: Box<RawValue>,
}

#[derive(Deserialize)]
struct Stamped {
    t: u64,
}

struct Player {
    plan: PlayerPlan,
    shared: Arc<Shared>,
    token: String,
    rec: Record,
    pending: Vec<JoinHandle<Option<AnswerRec>>>,
    last_id: Option<u64>,
}

pub async fn run(plan: PlayerPlan, shared: Arc<Shared>) -> Record {
    let code = plan.code.clone();
    let mut p = Player {
        plan,
        shared: shared.clone(),
        token: String::new(),
        rec: Record::default(),
        pending: Vec::new(),
        last_id: None,
    };
    let outcome = tokio::select! {
        r = p.play() => r,
        _ = shared.cancel.cancelled() => Err(anyhow::anyhow!("stopped before the game finished")),
    };
    if let Err(e) = outcome {
        p.rec.failed = Some(format!("{e:#}"));
    }
    for h in p.pending.drain(..) {
        if let Ok(Some(a)) = h.await {
            p.rec.answers.push(a);
        }
    }
    shared.done.fetch_add(1, Ordering::Relaxed);
    p.rec.code = code;
    p.rec
}

impl Player {
    fn target(&self) -> &Target {
        &self.shared.targets[self.plan.target]
    }

    async fn play(&mut self) -> anyhow::Result<()> {
        let started = now_us();
        let mut sender = {
            let shared = self.shared.clone();
            let _permit = shared.setup.acquire().await?;
            let mut sender = net::connect(self.target(), self.plan.source).await?;
            if self.shared.nchan_messages.is_none() {
                self.sign_in(&mut sender).await?;
            }
            sender
        };
        if !self.plan.stream {
            return self.answer_only(started).await;
        }
        loop {
            let ended = if self.shared.nchan_messages.is_some() {
                self.stream(&mut sender, &format!("/sub/{}", self.plan.code), started)
                    .await
            } else if self.plan.poll {
                self.poll(&mut sender, started).await
            } else {
                let path = format!("/api/v1/sessions/{}/events", self.plan.code);
                self.stream(&mut sender, &path, started).await
            };
            if self.rec.finished {
                return Ok(());
            }
            self.rec.drops += 1;
            if self.rec.drops > MAX_DROPS {
                return ended.and_then(|_| bail!("stream ended {MAX_DROPS} times"));
            }
            sender = net::connect(self.target(), self.plan.source).await?;
        }
    }

    async fn sign_in(&mut self, sender: &mut Sender) -> anyhow::Result<()> {
        let name = format!("Load {}", self.plan.idx);
        let body = serde_json::json!({ "display_name": name }).to_string();
        let body = Bytes::from(body);
        let (status, body) = self
            .call_retrying(sender, Method::POST, "/api/v1/auth/guest", None, body)
            .await?;
        if status != StatusCode::CREATED {
            bail!("guest login: {status} {}", String::from_utf8_lossy(&body));
        }
        self.token = serde_json::from_slice::<Token>(&body)?.token;
        if !self.plan.join {
            return Ok(());
        }
        let path = format!("/api/v1/sessions/{}/join", self.plan.code);
        let token = self.token.clone();
        let (status, body) = self
            .call_retrying(
                sender,
                Method::POST,
                &path,
                Some(&token),
                Bytes::from_static(b"{}"),
            )
            .await?;
        if status != StatusCode::OK {
            bail!("join: {status} {}", String::from_utf8_lossy(&body));
        }
        Ok(())
    }

    /// Like a client that honours `503`/`429`: retries a few times, backing off.
    async fn call_retrying(
        &self,
        sender: &mut Sender,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Bytes,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut wait = Duration::from_millis(200);
        for _ in 0..5 {
            let req = net::request(
                self.target(),
                method.clone(),
                path,
                token,
                Some(body.clone()),
            );
            let reply = net::call(sender, req).await?;
            let busy = reply.0 == StatusCode::SERVICE_UNAVAILABLE
                || reply.0 == StatusCode::TOO_MANY_REQUESTS;
            if !busy {
                return Ok(reply);
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
        let req = net::request(self.target(), method, path, token, Some(body));
        net::call(sender, req).await
    }

    /// Answers each question the coordinator announces, with no event stream.
    async fn answer_only(&mut self, started: u64) -> anyhow::Result<()> {
        self.rec.no_stream = true;
        self.rec.connect_us = Some(now_us().saturating_sub(started));
        self.shared.connected.fetch_add(1, Ordering::Relaxed);
        let mut opened = self.shared.opened.subscribe();
        let mut next = 0;
        loop {
            let mine: Vec<Opened> = opened
                .borrow_and_update()
                .iter()
                .filter(|o| o.code == self.plan.code && o.question.index >= next)
                .map(|o| o.question.clone())
                .collect();
            for q in mine {
                next = q.index + 1;
                if self.plan.answers {
                    self.answer(q);
                }
            }
            if next as usize >= self.shared.questions {
                self.rec.finished = true;
                return Ok(());
            }
            opened.changed().await?;
        }
    }

    /// One SSE connection, until the game finishes or the stream ends.
    async fn stream(
        &mut self,
        sender: &mut Sender,
        path: &str,
        started: u64,
    ) -> anyhow::Result<()> {
        let mut req = net::request(self.target(), Method::GET, path, Some(&self.token), None);
        req.headers_mut()
            .insert("accept", "text/event-stream".parse().expect("static"));
        if let Some(id) = self.last_id {
            req.headers_mut()
                .insert("last-event-id", id.to_string().parse().expect("digits"));
        }
        sender.ready().await?;
        let resp = sender.send_request(req).await?;
        if resp.status() != StatusCode::OK {
            bail!("event stream: {}", resp.status());
        }
        // nchan sends no event until something is published: the headers are the connect.
        if self.shared.nchan_messages.is_some() && self.rec.connect_us.is_none() {
            self.rec.connect_us = Some(now_us().saturating_sub(started));
            self.shared.connected.fetch_add(1, Ordering::Relaxed);
        }
        let mut body = resp.into_body();
        let mut parser = sse::Parser::default();
        let mut events = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.context("reading the event stream")?;
            let Some(chunk) = frame.data_ref() else {
                continue;
            };
            parser.feed(chunk, |e| events.push(e));
            let now = now_us();
            for e in events.drain(..) {
                let id = e.id.as_deref().and_then(|i| i.parse().ok());
                self.on_event(&e.event, id, &e.data, now, started);
            }
            if self.rec.finished {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Long-polls until the game finishes.
    async fn poll(&mut self, sender: &mut Sender, started: u64) -> anyhow::Result<()> {
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!(
                "/api/v1/sessions/{}/events/poll?timeout_ms=25000",
                self.plan.code
            );
            if let Some(c) = &cursor {
                path.push_str("&after=");
                path.push_str(c);
            }
            let req = net::request(self.target(), Method::GET, &path, Some(&self.token), None);
            let (status, body) = net::call(sender, req).await?;
            if status != StatusCode::OK {
                bail!("poll: {status} {}", String::from_utf8_lossy(&body));
            }
            let reply: PollReply = serde_json::from_slice(&body)?;
            let now = now_us();
            for e in &reply.events {
                self.on_event(&e.event, e.id, e.data.get(), now, started);
            }
            if self.rec.finished {
                return Ok(());
            }
            cursor = Some(reply.next);
        }
    }

    fn on_event(&mut self, name: &str, id: Option<u64>, data: &str, now: u64, started: u64) {
        // Heartbeats only say the stream is alive; they are not part of the game.
        if name == "heartbeat" {
            return;
        }
        if self.rec.connect_us.is_none() {
            self.rec.connect_us = Some(now.saturating_sub(started));
            self.shared.connected.fetch_add(1, Ordering::Relaxed);
        }
        self.rec.events += 1;
        if let Some(total) = self.shared.nchan_messages {
            let sent = serde_json::from_str::<Stamped>(data).ok().map(|s| s.t);
            self.rec.game_events += 1;
            self.rec
                .opened
                .push((self.rec.opened.len() as u32, now, sent));
            self.rec.finished = self.rec.opened.len() >= total;
            return;
        }
        if !self.rec.opened.is_empty() || name == "question_opened" {
            self.rec.game_events += 1;
        }
        if let Some(id) = id {
            self.last_id = Some(id);
            self.rec.log_seqs.push(id & SEQ_MASK);
        }
        match name {
            "leaderboard" => {
                if let Ok(v) = serde_json::from_str::<Versioned>(data) {
                    self.rec.boards.push((now, v.version));
                }
            }
            "question_opened" => {
                if let Ok(q) = serde_json::from_str::<Opened>(data) {
                    self.rec.opened.push((q.index, now, None));
                    if self.plan.answers {
                        self.answer(q);
                    }
                }
            }
            "session_finished" => {
                // Its final standings are the last leaderboard: they reflect every answer.
                if let Ok(v) = serde_json::from_str::<Versioned>(data) {
                    self.rec.boards.push((now, v.version));
                }
                self.rec.finished = true;
                self.rec.finished_seq = id.map(|i| i & SEQ_MASK);
            }
            _ => {}
        }
    }

    fn answer(&mut self, q: Opened) {
        let shared = self.shared.clone();
        let pool = shared.pools[self.plan.target].clone();
        let token = self.token.clone();
        let code = self.plan.code.clone();
        let authored = shared.correct.get(q.index as usize).copied().unwrap_or(0);
        let word = super::coordinator::meaning(q.index, authored);
        let correct = q
            .choices
            .iter()
            .position(|c| *c == word)
            .map_or(authored, |p| p as u32);
        let (delay, choice) = {
            let mut rng = rand::rng();
            let delay = rng.random_range(0..shared.window_ms.max(1));
            // Seven in ten answer correctly.
            let choice = if rng.random_bool(0.7) {
                correct
            } else {
                (correct + 1) % 4
            };
            (delay, choice)
        };
        let nonce = format!("{}-{}", self.plan.idx, q.index);
        self.pending.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            let body = serde_json::json!({
                "question_id": q.question_id, "choice": choice, "nonce": nonce,
            });
            let path = format!("/api/v1/sessions/{code}/answers");
            let req = net::request(
                pool.target(),
                Method::POST,
                &path,
                Some(&token),
                Some(body.to_string().into()),
            );
            let mut send_us = 0;
            let out = pool.call(req, || send_us = now_us()).await;
            let reply_us = now_us();
            shared.answered.fetch_add(1, Ordering::Relaxed);
            let (status, body) = match out {
                Ok((s, b)) => (s.as_u16(), b),
                Err(_) => (0, Bytes::new()),
            };
            let parsed = serde_json::from_slice::<Reply>(&body).ok();
            Some(AnswerRec {
                index: q.index,
                send_us,
                reply_us,
                status,
                version: parsed.as_ref().map_or(0, |r| r.version),
                points: parsed.as_ref().map_or(0, |r| r.awarded_points),
            })
        }));
    }
}
