//! Keyspace notifications on Redis Cluster. They are node-local: a node only tells its own
//! subscribers about its own keys, and only once its `notify-keyspace-events` is set. So
//! this sets the flags on every node (replicas too, so a promoted one already sends them),
//! keeps one subscriber per serving primary, and follows the topology: when a replica is
//! promoted or slots move, it subscribes on the new primary and asks for a resync, since
//! whatever was written there before the subscription was heard by nobody.
//!
//! The topology comes from `CLUSTER NODES`, read at once when fred reports a cluster
//! change or a subscriber's connection ends, and otherwise every second (one small command
//! per node per second, whatever the number of sessions).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use fred::prelude::*;
use fred::types::config::ServerConfig;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::redis::{ChangeSink, enable_notifications, parse_key, session_pattern};
use crate::live::redis::topology::{
    Node, Replicas, parse_nodes, replicas_per_primary, serving_primaries,
};

/// How often the topology is read when nothing prompts it.
const TICK: Duration = Duration::from_secs(1);
/// Flags set on a node are checked again after this long (a restarted node forgets them).
const RECHECK: Duration = Duration::from_secs(30);
/// Bound on connecting to one node, setting its flags or subscribing there.
const NODE_TIMEOUT: Duration = Duration::from_secs(2);

/// One subscriber on one primary; ends when cancelled or when its connection drops.
struct Subscription {
    /// Tells this subscription's end from that of an earlier one on the same node.
    id: u64,
    cancel: CancellationToken,
}

struct Listener {
    command: Client,
    base: Config,
    prefix: String,
    sink: Weak<dyn ChangeSink>,
    replicas: Arc<Replicas>,
    shutdown: CancellationToken,
    subscriptions: HashMap<String, Subscription>,
    /// When each node's flags were last made sure of.
    flagged: HashMap<String, Instant>,
    ended_tx: mpsc::Sender<(String, u64)>,
    next_id: u64,
}

/// Subscribes on every serving primary and keeps following the cluster until `shutdown`.
/// The first subscriptions are in place when this returns.
pub async fn listen(
    command: Client,
    base: Config,
    prefix: String,
    sink: Weak<dyn ChangeSink>,
    replicas: Arc<Replicas>,
    shutdown: CancellationToken,
) -> anyhow::Result<JoinHandle<()>> {
    // One entry per primary at most, and the loop drains it every turn.
    let (ended_tx, mut ended_rx) = mpsc::channel(64);
    let mut changes = command.cluster_change_rx();
    let mut listener = Listener {
        command,
        base,
        prefix,
        sink,
        replicas,
        shutdown: shutdown.clone(),
        subscriptions: HashMap::new(),
        flagged: HashMap::new(),
        ended_tx,
        next_id: 0,
    };
    let primaries = listener.refresh().await?;
    if primaries == 0 {
        anyhow::bail!("the Redis Cluster at REDIS_URL has no primary serving slots");
    }
    Ok(tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
                change = changes.recv() => {
                    if let Err(tokio::sync::broadcast::error::RecvError::Closed) = change {
                        break;
                    }
                }
                Some((addr, id)) = ended_rx.recv() => {
                    if listener.subscriptions.get(&addr).is_some_and(|s| s.id == id) {
                        listener.subscriptions.remove(&addr);
                        // It may have restarted without the flags.
                        listener.flagged.remove(&addr);
                    }
                }
            }
            if let Err(e) = listener.refresh().await {
                tracing::warn!(error = %e, "reading the Redis Cluster topology failed");
            }
        }
        for (_, s) in listener.subscriptions.drain() {
            s.cancel.cancel();
        }
    }))
}

impl Listener {
    /// Reads the topology, sets flags where needed, subscribes on new primaries, drops
    /// subscriptions on nodes that no longer serve slots. Returns the primaries listened to.
    async fn refresh(&mut self) -> anyhow::Result<usize> {
        let text: String = tokio::time::timeout(NODE_TIMEOUT, self.command.cluster_nodes())
            .await
            .map_err(|_| anyhow::anyhow!("CLUSTER NODES timed out"))??;
        let nodes = parse_nodes(&text);
        self.replicas.set(replicas_per_primary(&nodes));

        for node in nodes.iter().filter(|n| !n.down) {
            let addr = node.addr();
            let fresh = self
                .flagged
                .get(&addr)
                .is_some_and(|t| t.elapsed() < RECHECK);
            if fresh {
                continue;
            }
            match self.set_flags(node).await {
                Ok(()) => {
                    self.flagged.insert(addr, Instant::now());
                }
                Err(e) => {
                    tracing::warn!(node = %addr, error = %e, "setting notify-keyspace-events failed")
                }
            }
        }

        let serving: HashSet<String> = serving_primaries(&nodes).iter().map(|n| n.addr()).collect();
        // fred updates its routing on redirections and reconnections; make sure it also
        // follows a failover it has not run into yet (readiness pings every primary).
        let routed: HashSet<String> = self
            .command
            .cached_cluster_state()
            .map(|s| s.unique_primary_nodes())
            .unwrap_or_default()
            .iter()
            .map(|s| format!("{}:{}", s.host, s.port))
            .collect();
        if routed != serving {
            match tokio::time::timeout(NODE_TIMEOUT, self.command.sync_cluster()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(error = %e, "refreshing the cluster routing failed"),
                Err(_) => tracing::debug!("refreshing the cluster routing timed out"),
            }
        }
        self.subscriptions.retain(|addr, s| {
            let keep = serving.contains(addr);
            if !keep {
                s.cancel.cancel();
            }
            keep
        });
        let mut added = false;
        for node in serving_primaries(&nodes) {
            let addr = node.addr();
            if self.subscriptions.contains_key(&addr) {
                continue;
            }
            match self.subscribe(node).await {
                Ok(s) => {
                    tracing::info!(node = %addr, "listening to keyspace notifications");
                    self.subscriptions.insert(addr, s);
                    added = true;
                }
                Err(e) => tracing::warn!(node = %addr, error = %e, "subscribing failed"),
            }
        }
        if added && let Some(sink) = self.sink.upgrade() {
            // Writes on a primary before its subscription reached nobody: re-read.
            sink.resync();
        }
        Ok(self.subscriptions.len())
    }

    /// A config for one node, with the URL's credentials and settings.
    fn config_for(&self, node: &Node) -> Config {
        let mut config = self.base.clone();
        config.server = ServerConfig::Centralized {
            server: Server::new(node.host.clone(), node.port),
        };
        config
    }

    /// Sets the flags through a short-lived connection (a replica is not reachable
    /// through the cluster client, which talks to primaries).
    async fn set_flags(&self, node: &Node) -> anyhow::Result<()> {
        let client = Builder::from_config(self.config_for(node))
            .with_connection_config(|c| c.connection_timeout = NODE_TIMEOUT)
            .with_performance_config(|p| p.default_command_timeout = NODE_TIMEOUT)
            .build()?;
        let result = tokio::time::timeout(NODE_TIMEOUT * 2, async {
            client.init().await?;
            enable_notifications(&client).await
        })
        .await
        .map_err(|_| anyhow::anyhow!("timed out"))
        .and_then(|r| r);
        let _ = tokio::time::timeout(NODE_TIMEOUT, client.quit()).await;
        result
    }

    /// One subscriber on `node`, without reconnection of its own: when its connection
    /// ends, the loop reads the topology again and subscribes wherever the slots are now.
    async fn subscribe(&mut self, node: &Node) -> anyhow::Result<Subscription> {
        let addr = node.addr();
        let subscriber = Builder::from_config(self.config_for(node))
            .with_connection_config(|c| c.connection_timeout = NODE_TIMEOUT)
            .with_performance_config(|p| p.default_command_timeout = NODE_TIMEOUT)
            .build_subscriber_client()?;
        let mut events = subscriber.keyspace_event_rx();
        let connection = tokio::time::timeout(NODE_TIMEOUT, subscriber.init())
            .await
            .map_err(|_| anyhow::anyhow!("connecting timed out"))??;
        // The single-Redis pattern: session keys only (cluster nodes have one database).
        let subscribed = tokio::time::timeout(
            NODE_TIMEOUT,
            subscriber.psubscribe(session_pattern(&self.prefix)),
        )
        .await;
        if !matches!(subscribed, Ok(Ok(()))) {
            let _ = tokio::time::timeout(NODE_TIMEOUT, subscriber.quit()).await;
            anyhow::bail!("PSUBSCRIBE failed or timed out");
        }
        let cancel = self.shutdown.child_token();
        let stop = cancel.clone();
        let sink = self.sink.clone();
        let prefix = self.prefix.clone();
        let ended = self.ended_tx.clone();
        self.next_id += 1;
        let id = self.next_id;
        tokio::spawn(async move {
            let mut connection = connection;
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = &mut connection => {
                        tracing::warn!(node = %addr, "keyspace subscription lost");
                        let _ = ended.try_send((addr.clone(), id));
                        break;
                    }
                    event = events.recv() => {
                        let Some(sink) = sink.upgrade() else { break };
                        match event {
                            Ok(e) => {
                                if let Some((code, change)) = e.key.as_str().and_then(|k| parse_key(&prefix, k)) {
                                    sink.changed(code, change);
                                }
                            }
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                                tracing::warn!(missed = n, node = %addr, "keyspace notifications lagged; resyncing");
                                sink.resync();
                            }
                            Err(_) => break,
                        }
                    }
                }
            }
            let _ = tokio::time::timeout(NODE_TIMEOUT, subscriber.quit()).await;
        });
        Ok(Subscription { id, cancel })
    }
}
