//! What the live state does differently on Redis Cluster.
//!
//! Readiness: every shard must answer, since each holds some sessions; a primary that died
//! makes the node not ready until its replica has taken over its slots.
//!
//! Durability: replication is asynchronous: a primary that crashes right after a
//! write may take it along, and its promoted replica never saw it. An answer acknowledged
//! with 200 and then lost would break the promise that every accepted answer counts, and a
//! lost log entry would hand its id to a different event. So in cluster mode the writes a
//! client is told about (session creation, joins, answers, phase moves) wait, before the
//! reply, until one replica has them (`WAIT 1 <ms>`), where the shard has a replica.
//! Concurrent writes share one `WAIT` per primary (`replica_wait`).
//! Past the timeout the write is acknowledged anyway (the shard is degraded; refusing would
//! turn a slow replica into an outage) and `quizcast_redis_replica_ack_missed_total` counts it.

use std::sync::Arc;

use fred::prelude::*;
use fred::util::redis_keyslot;

use super::replica_wait::Batches;
use super::topology::Replicas;
use super::{LiveError, RedisLive};
use crate::domain::SessionCode;

/// What a write waits for: one replica of its shard, at most `timeout_ms`.
pub struct ReplicaAck {
    pub replicas: Arc<Replicas>,
    pub timeout_ms: u64,
    pub batches: Batches,
}

impl ReplicaAck {
    pub fn new(replicas: Arc<Replicas>, timeout_ms: u64) -> Self {
        Self {
            replicas,
            timeout_ms,
            batches: Batches::default(),
        }
    }
}

impl RedisLive {
    /// `PING` on every primary the client routes to.
    pub(super) async fn ping_every_primary(&self) -> Result<(), LiveError> {
        let primaries = self
            .client
            .cached_cluster_state()
            .map(|s| s.unique_primary_nodes())
            .unwrap_or_default();
        if primaries.is_empty() {
            return Err(LiveError::Unavailable(
                "redis: no cluster primary known".into(),
            ));
        }
        let pings = primaries.into_iter().map(|server| async move {
            let reply: Result<Value, _> = self.client.with_cluster_node(&server).ping(None).await;
            reply.map_err(|e| (server, e))
        });
        for reply in futures::future::join_all(pings).await {
            if let Err((server, e)) = reply {
                return Err(LiveError::Unavailable(format!(
                    "redis: cluster node {server}: {e}"
                )));
            }
        }
        Ok(())
    }

    /// Makes acknowledged writes wait for a replica (cluster mode).
    pub fn with_replica_ack(mut self, ack: ReplicaAck) -> Self {
        self.replica_ack = Some(ack);
        self
    }

    /// Waits until a replica of `code`'s shard has every write made so far on it. `WAIT`
    /// goes to the primary that owns the session's slot, on the same connection the write
    /// used, so it covers that write.
    pub(super) async fn replicated(&self, code: SessionCode) {
        if self.replica_ack.is_some() {
            self.replicated_key(&self.key(code, "meta")).await;
        }
    }

    /// The same for the shard that holds `key`.
    pub(super) async fn replicated_key(&self, key: &str) {
        let Some(ack) = &self.replica_ack else { return };
        let slot = redis_keyslot(key.as_bytes());
        let Some(server) = self
            .client
            .cached_cluster_state()
            .and_then(|s| s.get_server(slot).cloned())
        else {
            return;
        };
        let addr = format!("{}:{}", server.host, server.port);
        if ack.replicas.of(&addr) == 0 {
            metrics::counter!("quizcast_redis_replica_ack_missed_total").increment(1);
            return;
        }
        let send = || async {
            let started = std::time::Instant::now();
            let acked: Result<i64, _> = self
                .client
                .with_cluster_node(&server)
                .wait(1, ack.timeout_ms as i64)
                .await;
            metrics::histogram!("quizcast_redis_command_seconds", "op" => "wait")
                .record(started.elapsed().as_secs_f64());
            match acked {
                Ok(n) if n >= 1 => {}
                Ok(_) => metrics::counter!("quizcast_redis_replica_ack_missed_total").increment(1),
                Err(e) => {
                    metrics::counter!("quizcast_redis_replica_ack_missed_total").increment(1);
                    tracing::debug!(error = %e, "WAIT for a replica failed");
                }
            }
        };
        ack.batches.of(&addr).covered(send).await;
    }
}
