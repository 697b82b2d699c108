//! Limits that hold across nodes, kept in Redis: one atomic script per check. Rates are
//! GCRA buckets with a TTL; each user's open streams are a sorted set of slots scored by
//! expiry, renewed in one batch per node every `slot_ttl / 3`, so the slots of a node that
//! dies free themselves within `slot_ttl`.
//! On Redis Cluster every script here takes exactly one key (a bucket, or one user's
//! slots) and reads time from `TIME` on that key's node, so no call spans two slots.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use fred::prelude::{Client, SortedSetsInterface};
use fred::types::scripts::Script;
use futures::StreamExt;
use tokio::sync::Notify;

use super::{Kind, Rate};

/// Redis calls in flight at once during a renewal or a flush.
const CONCURRENCY: usize = 32;

pub(super) struct Shared {
    client: Client,
    prefix: String,
    /// Names this node's slots (random per start).
    node: String,
    next_slot: AtomicU64,
    slot_ttl: Duration,
    gcra: Script,
    open: Script,
    renew: Script,
    slots: Arc<Slots>,
}

/// This node's stream slots: the open ones (renewed) and the closed ones not yet removed.
#[derive(Default)]
pub(super) struct Slots {
    registry: Mutex<Registry>,
    closed: Notify,
}

#[derive(Default)]
struct Registry {
    open: HashMap<u64, Arc<str>>,
    closed: Vec<(Arc<str>, u64)>,
}

impl Slots {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One stream slot in Redis; dropping it queues its removal.
pub(super) struct SlotPermit {
    slots: Arc<Slots>,
    user: Arc<str>,
    n: u64,
}

impl Drop for SlotPermit {
    fn drop(&mut self) {
        let mut registry = self.slots.lock();
        registry.open.remove(&self.n);
        registry.closed.push((self.user.clone(), self.n));
        drop(registry);
        self.slots.closed.notify_one();
    }
}

impl Shared {
    pub(super) fn new(client: Client, prefix: &str, slot_ttl: Duration) -> Self {
        Self {
            client,
            prefix: prefix.to_owned(),
            node: uuid::Uuid::new_v4().simple().to_string()[..12].to_owned(),
            next_slot: AtomicU64::new(1),
            slot_ttl,
            gcra: Script::from_lua(include_str!("gcra.lua")),
            open: Script::from_lua(include_str!("stream_open.lua")),
            renew: Script::from_lua(include_str!("stream_renew.lua")),
            slots: Arc::new(Slots::default()),
        }
    }

    pub(super) fn set_slot_ttl(&mut self, ttl: Duration) {
        self.slot_ttl = ttl.max(Duration::from_millis(30));
    }

    pub(super) fn renew_every(&self) -> Duration {
        self.slot_ttl / 3
    }

    /// Woken when a slot closes.
    pub(super) fn closed(&self) -> &Notify {
        &self.slots.closed
    }

    pub(super) fn has_open_slots(&self) -> bool {
        !self.slots.lock().open.is_empty()
    }

    fn streams_key(&self, user: &str) -> String {
        format!("{}:streams:{user}", self.prefix)
    }

    fn slot_id(&self, n: u64) -> String {
        format!("{}:{n}", self.node)
    }

    /// `Ok(Err(wait))` when `key` is over its rate; `Err` when Redis did not answer.
    pub(super) async fn check(
        &self,
        kind: Kind,
        key: &str,
        rate: Rate,
    ) -> Result<Result<(), Duration>, fred::error::Error> {
        let bucket = format!("{}:limit:{}:{key}", self.prefix, kind.label());
        let interval = rate.interval.as_micros().max(1).to_string();
        let wait: String = self
            .gcra
            .evalsha_with_reload(
                &self.client,
                vec![bucket],
                vec![interval, rate.burst.max(1).to_string()],
            )
            .await?;
        match wait.parse::<u64>() {
            Ok(0) | Err(_) => Ok(Ok(())),
            Ok(us) => Ok(Err(Duration::from_micros(us))),
        }
    }

    /// Takes a slot of `user` unless `max` are taken on all nodes together (`Ok(None)`).
    pub(super) async fn open_stream(
        &self,
        user: &str,
        max: usize,
    ) -> Result<Option<SlotPermit>, fred::error::Error> {
        let n = self.next_slot.fetch_add(1, Ordering::Relaxed);
        // This user's slots closed here but not yet removed go in the same script, so a
        // client that reconnects at once is not refused by its own previous stream.
        let mine: Vec<(Arc<str>, u64)> = {
            let mut registry = self.slots.lock();
            let (mine, others) = std::mem::take(&mut registry.closed)
                .into_iter()
                .partition(|(u, _)| &**u == user);
            registry.closed = others;
            mine
        };
        let mut args = vec![
            self.slot_id(n),
            max.to_string(),
            self.slot_ttl.as_millis().to_string(),
        ];
        args.extend(mine.iter().map(|(_, n)| self.slot_id(*n)));
        let taken: Result<i64, _> = self
            .open
            .evalsha_with_reload(&self.client, vec![self.streams_key(user)], args)
            .await;
        match taken {
            Ok(1) => {
                let user: Arc<str> = Arc::from(user);
                self.slots.lock().open.insert(n, user.clone());
                Ok(Some(SlotPermit {
                    slots: self.slots.clone(),
                    user,
                    n,
                }))
            }
            Ok(_) => Ok(None),
            Err(e) => {
                self.slots.lock().closed.extend(mine);
                Err(e)
            }
        }
    }

    /// Removes the slots closed since the last flush (on failure they expire by themselves).
    pub(super) async fn flush_closed(&self) {
        let closed = std::mem::take(&mut self.slots.lock().closed);
        let mut by_user: HashMap<Arc<str>, Vec<String>> = HashMap::new();
        for (user, n) in closed {
            by_user.entry(user).or_default().push(self.slot_id(n));
        }
        futures::stream::iter(by_user)
            .for_each_concurrent(CONCURRENCY, |(user, ids)| async move {
                let removed: Result<i64, _> = self.client.zrem(self.streams_key(&user), ids).await;
                if let Err(e) = removed {
                    tracing::debug!(error = %e, "removing closed stream slots");
                }
            })
            .await;
    }

    /// Extends every open slot of this node: one script per user, not one timer per stream.
    pub(super) async fn renew(&self) {
        let mut by_user: HashMap<Arc<str>, Vec<String>> = HashMap::new();
        for (n, user) in self.slots.lock().open.iter() {
            by_user
                .entry(user.clone())
                .or_default()
                .push(self.slot_id(*n));
        }
        let ttl = self.slot_ttl.as_millis().to_string();
        futures::stream::iter(by_user)
            .for_each_concurrent(CONCURRENCY, |(user, ids)| {
                let mut args = vec![ttl.clone()];
                args.extend(ids);
                async move {
                    let renewed: Result<i64, _> = self
                        .renew
                        .evalsha_with_reload(&self.client, vec![self.streams_key(&user)], args)
                        .await;
                    if let Err(e) = renewed {
                        tracing::debug!(error = %e, "renewing stream slots");
                    }
                }
            })
            .await;
    }
}
