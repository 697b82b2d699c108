//! How nodes share live events through Redis. Nothing is published twice: every change is
//! written to Redis by the live state, and each node learns of it from keyspace
//! notifications (one pattern subscription per node), then reads what changed and fans
//! it out to its own subscribers. Presence entries name the node that recorded them and
//! count while its heartbeat does (`heartbeat`), so the users of a node that dies fade out;
//! a session's timers run on the node holding its lease.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use fred::clients::SubscriberClient;
use fred::prelude::*;
use fred::types::scripts::Script;

use super::heartbeat::Nodes;
use crate::domain::event::{Member, Score};
use crate::domain::{SessionCode, UserId};
use crate::live::LiveError;
use crate::live::redis::{RedisLive, timed};

/// How long a lease lasts without renewal: a dead holder's sessions move within this.
pub const LEASE_MS: u64 = 3_000;

fn unavailable(e: Error) -> LiveError {
    LiveError::Unavailable(format!("redis: {e}"))
}

/// An entry of a session's members stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Joined,
    Left,
    /// The host removed the player: their streams end on every node.
    Removed,
}

/// What changed, from the key a notification names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Phase,
    Log,
    Board,
    Members,
    Presence,
    Score(UserId),
    Other,
}

/// Parses `…{prefix}:{CODE}:part` from a keyspace notification's key.
pub fn parse_key(prefix: &str, key: &str) -> Option<(SessionCode, Change)> {
    let rest = key.strip_prefix(prefix)?.strip_prefix(":{")?;
    let (code, part) = rest.split_once("}:")?;
    let code = SessionCode::parse(code).ok()?;
    let change = match part {
        "phase" => Change::Phase,
        "log" => Change::Log,
        "board" | "players" => Change::Board,
        "members" => Change::Members,
        "presence" => Change::Presence,
        other => match other.strip_prefix("score:") {
            Some(user) => Change::Score(user.to_owned()),
            None => Change::Other,
        },
    };
    Some((code, change))
}

pub struct Shared {
    pub client: Client,
    pub live: Arc<RedisLive>,
    pub node: String,
    /// This process: `node` plus a nonce (see `heartbeat`).
    pub instance: String,
    pub prefix: String,
    lease: Script,
    presence: Script,
    members: Script,
    pub(super) heartbeat: Script,
    pub(super) nodes: Mutex<Nodes>,
}

impl Shared {
    pub fn new(client: Client, live: Arc<RedisLive>, node: String, prefix: String) -> Self {
        Self {
            client,
            live,
            instance: super::heartbeat::instance(&node),
            node,
            prefix,
            lease: Script::from_lua(include_str!("../live/lua/lease.lua")),
            presence: Script::from_lua(include_str!("../live/lua/presence.lua")),
            members: Script::from_lua(include_str!("../live/lua/members.lua")),
            heartbeat: Script::from_lua(include_str!("../live/lua/heartbeat.lua")),
            nodes: Mutex::new(Nodes::default()),
        }
    }

    /// Takes or renews the session's lease; `true` while this node holds it.
    pub async fn lease(&self, code: SessionCode) -> Result<bool, LiveError> {
        let held: i64 = timed(
            "lease",
            self.lease.evalsha_with_reload(
                &self.client,
                vec![self.live.key(code, "lease")],
                vec![self.node.clone(), LEASE_MS.to_string()],
            ),
        )
        .await
        .map_err(unavailable)?;
        Ok(held == 1)
    }

    /// Records which users are connected here (`+`/`-` changes) and returns everyone online
    /// on a node not known dead as of the last heartbeat.
    pub async fn presence(
        &self,
        code: SessionCode,
        changes: Vec<String>,
    ) -> Result<Vec<UserId>, LiveError> {
        let dead = self.nodes().dead;
        let mut args = Vec::with_capacity(2 + dead.len() + changes.len());
        args.push(self.instance.clone());
        args.push(dead.len().to_string());
        args.extend(dead.iter().cloned());
        args.extend(changes);
        timed(
            "presence",
            self.presence.evalsha_with_reload(
                &self.client,
                vec![self.live.key(code, "presence")],
                args,
            ),
        )
        .await
        .map_err(unavailable)
    }

    /// Joins, leaves and removals after `last` (or, with `None`, only the newest position).
    pub async fn members(
        &self,
        code: SessionCode,
        last: Option<&str>,
    ) -> Result<(String, Vec<(MemberChange, Member)>), LiveError> {
        let reply: Vec<String> = timed(
            "members",
            self.members.evalsha_with_reload(
                &self.client,
                vec![self.live.key(code, "members")],
                vec![last.unwrap_or("").to_owned()],
            ),
        )
        .await
        .map_err(unavailable)?;
        let mut items = reply.into_iter();
        let newest = items.next().unwrap_or_else(|| "0-0".into());
        let rest: Vec<String> = items.collect();
        let changes = rest
            .chunks(3)
            .filter_map(|t| match t {
                [op, user, name] => Some((
                    match op.as_str() {
                        "join" => MemberChange::Joined,
                        "remove" => MemberChange::Removed,
                        _ => MemberChange::Left,
                    },
                    Member {
                        user_id: user.clone(),
                        display_name: name.clone(),
                    },
                )),
                _ => None,
            })
            .collect();
        Ok((newest, changes))
    }

    /// Writes players' `score` snapshots; every node with their connections delivers them.
    pub async fn write_scores(
        &self,
        code: SessionCode,
        scores: &[(UserId, Score)],
    ) -> Result<(), LiveError> {
        let pipeline = self.client.pipeline();
        for (user, score) in scores {
            let _: () = pipeline
                .set(
                    self.live.key(code, &format!("score:{user}")),
                    serde_json::to_string(score).unwrap_or_default(),
                    None,
                    None,
                    false,
                )
                .await
                .map_err(unavailable)?;
        }
        let _: Vec<Value> = timed("scores", pipeline.all()).await.map_err(unavailable)?;
        Ok(())
    }

    pub async fn read_score(
        &self,
        code: SessionCode,
        user: &str,
    ) -> Result<Option<String>, LiveError> {
        self.client
            .get(self.live.key(code, &format!("score:{user}")))
            .await
            .map_err(unavailable)
    }
}

/// Who receives what the listener hears.
pub trait ChangeSink: Send + Sync + 'static {
    fn changed(&self, code: SessionCode, change: Change);
    /// The subscription was (re)established: anything may have been missed.
    fn resync(&self);
}

/// Makes sure Redis sends the notifications nodes rely on: K (keyspace), $ strings,
/// h hashes, z sorted sets, t streams, g generic. Keeps any flags already set.
pub async fn enable_notifications(client: &Client) -> anyhow::Result<()> {
    let current: Vec<String> = client
        .config_get("notify-keyspace-events")
        .await
        .map_err(|e| anyhow::anyhow!("reading notify-keyspace-events: {e}"))?;
    let mut flags: String = current.get(1).cloned().unwrap_or_default();
    let has_all = flags.contains('A');
    for f in ['K', '$', 'h', 'z', 't', 'g'] {
        let covered = flags.contains(f) || (has_all && f != 'K');
        if !covered {
            flags.push(f);
        }
    }
    client
        .config_set("notify-keyspace-events", flags.clone())
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot enable keyspace notifications ({e}); set `notify-keyspace-events K$hztg` \
                 in the Redis configuration"
            )
        })?;
    tracing::debug!(%flags, "keyspace notifications enabled");
    Ok(())
}

/// The keyspace channels of every session key under `prefix` (`prefix:{CODE}:part`), and of
/// nothing else: rate-limit buckets and node heartbeats change often and concern no runner.
pub fn session_pattern(prefix: &str) -> String {
    format!("__keyspace@*__:{prefix}:{{*")
}

/// Subscribes once per node to every session key under `prefix` and forwards what changed.
/// Runs until the subscriber client is dropped or `sink` is gone.
pub async fn listen(
    subscriber: SubscriberClient,
    command: Client,
    prefix: String,
    sink: Weak<dyn ChangeSink>,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let mut events = subscriber.keyspace_event_rx();
    let mut reconnects = subscriber.reconnect_rx();
    subscriber.init().await?;
    let _manager = subscriber.manage_subscriptions();
    subscriber.psubscribe(session_pattern(&prefix)).await?;
    let handle = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                event = events.recv() => {
                    let Some(sink) = sink.upgrade() else { return };
                    match event {
                        Ok(e) => {
                            if let Some((code, change)) = e.key.as_str().and_then(|k| parse_key(&prefix, k)) {
                                sink.changed(code, change);
                            }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "keyspace notifications lagged; resyncing");
                            sink.resync();
                        }
                        Err(_) => return,
                    }
                }
                server = reconnects.recv() => {
                    if server.is_err() { return; }
                    // A restarted Redis forgets CONFIG SET, and pub/sub lost what happened meanwhile.
                    if let Err(e) = enable_notifications(&command).await {
                        tracing::error!(error = %e, "re-enabling keyspace notifications failed");
                    }
                    let Some(sink) = sink.upgrade() else { return };
                    sink.resync();
                }
            }
        }
    });
    // Keep the subscriber alive for as long as the listener runs.
    let keep = subscriber.clone();
    let handle = tokio::spawn(async move {
        let _ = handle.await;
        drop(keep);
    });
    Ok(handle)
}

/// Retry pause for shared-state operations that failed.
pub const RETRY: Duration = Duration::from_millis(500);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_session_and_part() {
        let code = SessionCode::parse("K7P2QX").unwrap();
        assert_eq!(
            parse_key("qc", "qc:{K7P2QX}:log"),
            Some((code, Change::Log))
        );
        assert_eq!(
            parse_key("qc", "qc:{K7P2QX}:players"),
            Some((code, Change::Board))
        );
        assert_eq!(
            parse_key("qc", "qc:{K7P2QX}:score:u-1"),
            Some((code, Change::Score("u-1".into())))
        );
        assert_eq!(parse_key("qc", "other:{K7P2QX}:log"), None);
        assert_eq!(parse_key("qc", "qc:sessions"), None);
        assert_eq!(parse_key("qc", "qc:{0OOOOO}:log"), None);
    }

    #[test]
    fn the_pattern_matches_session_keys_only() {
        assert_eq!(session_pattern("qc"), "__keyspace@*__:qc:{*");
        assert!(!super::super::heartbeat::nodes_key("qc").starts_with("qc:{"));
    }
}
