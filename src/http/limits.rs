//! Rate limits and connection caps: answers per player, guest logins per client address,
//! unknown session codes looked up per user, open event streams per user.
//!
//! Embedded, each limit is this process's (`local`, governor). With Redis, each holds for
//! all nodes together (`shared`: one atomic script per check). When Redis does not answer
//! within `REDIS_WAIT`, a check falls back to this node's own limiter rather than failing
//! closed, limit by limit:
//! - answers: open, to the node's limiter: an answer is never refused because the limiter
//!   lost Redis, and a flood stays bounded per node;
//! - guest logins and code lookups: the node's limiter, so sign-in keeps working and a
//!   flood is bounded by nodes × the limit while Redis is away;
//! - streams: counted by the node alone (nodes × the cap at worst, until Redis returns).

mod local;
mod shared;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fred::prelude::Client;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::error::AppError;
use crate::config::Config;
use local::{Local, LocalPermit};
use shared::{Shared, SlotPermit};

/// How long a check waits for Redis before it falls back to this node's limiter.
const REDIS_WAIT: Duration = Duration::from_millis(500);
/// A stream slot in Redis lives this long unless its node renews it (every third of it).
const SLOT_TTL: Duration = Duration::from_secs(30);
/// How often idle keys of the in-process limiters are forgotten.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// What a refused stream is told to wait: streams end at unpredictable times.
const STREAM_RETRY_SECS: u64 = 5;

/// A rate: one request per `interval`, up to `burst` at once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rate {
    interval: Duration,
    burst: u32,
}

impl Rate {
    fn new(period: Duration, per_period: u32, burst: u32) -> Self {
        Self {
            interval: period / per_period.max(1),
            burst: burst.max(1),
        }
    }
}

/// The rate-limited kinds of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Answers,
    GuestLogins,
    Lookups,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Answers => "answers",
            Kind::GuestLogins => "guest_logins",
            Kind::Lookups => "lookups",
        }
    }
}

/// Where the limits live; handlers see only `Limits`.
enum Backend {
    InProcess,
    Redis(Box<Shared>),
}

pub struct Limits {
    answers: Rate,
    guests: Rate,
    lookups: Rate,
    max_streams: usize,
    local: Local,
    backend: Backend,
    /// Users refused a code lookup, and until when: meanwhile every `{code}` route answers
    /// them `429`, so a refusal never tells a guessed code from a real one.
    guessing: Mutex<HashMap<String, Instant>>,
}

fn limited(wait: Duration, what: &str) -> AppError {
    AppError::TooManyRequests {
        detail: format!("too many {what}; retry in {} ms", wait.as_millis().max(1)),
        retry_after_secs: wait.as_secs_f64().ceil() as u64,
    }
}

fn refused(kind: &'static str) {
    metrics::counter!("quizcast_rate_limited_total", "limit" => kind).increment(1);
}

/// Logs a fallback, at most once per 10 s: during an outage every check falls back.
fn fell_back(kind: &'static str, why: &dyn std::fmt::Display) {
    static LAST_WARNED: AtomicU64 = AtomicU64::new(0);
    let now = crate::hub::stall::clock_ms() + 10_000;
    let last = LAST_WARNED.load(Ordering::Relaxed);
    if now >= last + 10_000
        && LAST_WARNED
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::warn!(limit = kind, error = %why, "Redis did not answer a limit check; using this node's limiter");
    }
}

impl Limits {
    /// In-process limits, or, given a Redis client, limits shared by every node that uses
    /// the same Redis and `config.redis_prefix`.
    pub fn new(config: &Config, redis: Option<Client>) -> Self {
        let minute = Duration::from_secs(60);
        let answers = Rate::new(
            Duration::from_secs(1),
            config.answers_per_second,
            config.answers_burst,
        );
        let guests = Rate::new(
            minute,
            config.guest_logins_per_minute,
            config.guest_logins_per_minute,
        );
        let lookups = Rate::new(
            minute,
            config.code_lookups_per_minute,
            config.code_lookups_per_minute,
        );
        let backend = match redis {
            None => Backend::InProcess,
            Some(client) => Backend::Redis(Box::new(Shared::new(
                client,
                &config.redis_prefix,
                SLOT_TTL,
            ))),
        };
        Self {
            answers,
            guests,
            lookups,
            max_streams: config.streams_per_user.max(1),
            local: Local::new(answers, guests, lookups),
            backend,
            guessing: Mutex::new(HashMap::new()),
        }
    }

    /// Shortens or lengthens the life of unrenewed stream slots in Redis (tests of a dead
    /// node use a short one).
    pub fn with_slot_ttl(mut self, ttl: Duration) -> Self {
        if let Backend::Redis(shared) = &mut self.backend {
            shared.set_slot_ttl(ttl);
        }
        self
    }

    fn rate(&self, kind: Kind) -> Rate {
        match kind {
            Kind::Answers => self.answers,
            Kind::GuestLogins => self.guests,
            Kind::Lookups => self.lookups,
        }
    }

    /// `Err(wait)` when `key` is over the rate of `kind`.
    async fn check(&self, kind: Kind, key: &str) -> Result<(), Duration> {
        if let Backend::Redis(shared) = &self.backend {
            match tokio::time::timeout(REDIS_WAIT, shared.check(kind, key, self.rate(kind))).await {
                Ok(Ok(verdict)) => return verdict,
                Ok(Err(e)) => fell_back(kind.label(), &e),
                Err(_) => fell_back(kind.label(), &"timed out"),
            }
        }
        self.local.check(kind, key)
    }

    pub async fn check_answer(&self, user: &str) -> Result<(), AppError> {
        self.check(Kind::Answers, user).await.map_err(|wait| {
            refused(Kind::Answers.label());
            limited(wait, "answers")
        })
    }

    pub async fn check_guest(&self, ip: IpAddr) -> Result<(), AppError> {
        self.check(Kind::GuestLogins, &ip.to_string())
            .await
            .map_err(|wait| {
                refused(Kind::GuestLogins.label());
                limited(wait, "guest logins")
            })
    }

    /// `429` while `user` is refused code lookups (checked before a `{code}` route runs).
    pub fn check_guessing(&self, user: &str) -> Result<(), AppError> {
        let mut guessing = self.guessing.lock().unwrap_or_else(|e| e.into_inner());
        let Some(until) = guessing.get(user).copied() else {
            return Ok(());
        };
        let now = Instant::now();
        if until <= now {
            guessing.remove(user);
            return Ok(());
        }
        refused(Kind::Lookups.label());
        Err(limited(until - now, "unknown session codes"))
    }

    /// Counts a request of `user` whose code named no session; `429` once over the rate.
    pub async fn count_unknown_code(&self, user: &str) -> Result<(), AppError> {
        self.check(Kind::Lookups, user).await.map_err(|wait| {
            self.guessing
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(user.to_owned(), Instant::now() + wait);
            refused(Kind::Lookups.label());
            limited(wait, "unknown session codes")
        })
    }

    /// Holds one of the user's stream slots (SSE or poll) until the permit is dropped.
    pub async fn open_stream(&self, user: &str) -> Result<StreamPermit, AppError> {
        let slot = match &self.backend {
            Backend::InProcess => None,
            Backend::Redis(shared) => {
                match tokio::time::timeout(REDIS_WAIT, shared.open_stream(user, self.max_streams))
                    .await
                {
                    Ok(Ok(Some(slot))) => Some(slot),
                    Ok(Ok(None)) => return Err(self.too_many_streams()),
                    Ok(Err(e)) => {
                        fell_back("streams", &e);
                        None
                    }
                    Err(_) => {
                        fell_back("streams", &"timed out");
                        None
                    }
                }
            }
        };
        // With a slot, Redis has decided; the node still counts, for when it falls back.
        let local = self
            .local
            .open_stream(user, self.max_streams, slot.is_none())
            .ok_or_else(|| self.too_many_streams())?;
        Ok(StreamPermit {
            _slot: slot,
            _local: local,
        })
    }

    fn too_many_streams(&self) -> AppError {
        refused("streams");
        AppError::TooManyRequests {
            detail: format!("at most {} open event streams per user", self.max_streams),
            retry_after_secs: STREAM_RETRY_SECS,
        }
    }

    /// Forgets idle keys of the in-process limiters.
    pub fn prune(&self) {
        self.local.prune();
        let now = Instant::now();
        self.guessing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, until| *until > now);
    }

    /// Prunes, and in Redis mode renews this node's stream slots and removes closed ones,
    /// until `shutdown`; then removes the slots of the streams that end within 5 s.
    pub fn maintain(self: Arc<Self>, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(async move {
            let shared = match &self.backend {
                Backend::Redis(shared) => Some(&**shared),
                Backend::InProcess => None,
            };
            let mut prune = tokio::time::interval(PRUNE_EVERY);
            let mut renew = tokio::time::interval(shared.map_or(PRUNE_EVERY, |s| s.renew_every()));
            loop {
                tokio::select! {
                    _ = prune.tick() => self.prune(),
                    _ = renew.tick(), if shared.is_some() => {
                        if let Some(s) = shared {
                            s.renew().await;
                        }
                    }
                    _ = closed(shared) => {
                        if let Some(s) = shared {
                            s.flush_closed().await;
                        }
                    }
                    _ = shutdown.cancelled() => break,
                }
            }
            let Some(shared) = shared else { return };
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            loop {
                shared.flush_closed().await;
                if !shared.has_open_slots()
                    || tokio::time::timeout_at(deadline, shared.closed().notified())
                        .await
                        .is_err()
                {
                    break;
                }
            }
        })
    }
}

/// Resolves when a Redis stream slot closed; never in-process.
async fn closed(shared: Option<&Shared>) {
    match shared {
        Some(s) => s.closed().notified().await,
        None => std::future::pending().await,
    }
}

/// One open event stream of a user, counted until dropped.
pub struct StreamPermit {
    _slot: Option<SlotPermit>,
    _local: LocalPermit,
}
