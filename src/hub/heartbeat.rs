//! Shared mode: which nodes are alive. Each node renews one heartbeat (`{prefix}:nodes`,
//! instance → expiry) every `BEAT_EVERY`, and a session's presence entries name the
//! instance that recorded them, so a user counts as online while a node not known dead has
//! them.
//! Keeping presence fresh costs one command per node, not one per connected user; the users
//! of a node that dies drop out once its heartbeat lapses and the others notice, within
//! `NODE_TTL_MS + BEAT_EVERY`. The instance is the node's name plus a nonce drawn at start,
//! so a restarted node never passes for its former self.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fred::prelude::*;

use super::redis::Shared;
use crate::domain::Millis;
use crate::live::LiveError;
use crate::live::redis::timed;

/// How long a heartbeat lasts.
pub const NODE_TTL_MS: Millis = 15_000;
/// How often each node renews its heartbeat and reads everyone else's.
pub const BEAT_EVERY: Duration = Duration::from_secs(5);
/// A node dead this long is forgotten (every presence read meanwhile dropped its entries).
const FORGET_MS: Millis = 3_600_000;

/// The nodes as the last heartbeat saw them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Nodes {
    pub live: Arc<[String]>,
    pub dead: Arc<[String]>,
}

/// What a heartbeat found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Beat {
    /// Which nodes are alive changed since the last beat: every session's online count may have.
    pub changed: bool,
    /// This node's heartbeat had lapsed (or this is its first): others may have dropped its
    /// presence entries, so they must be written again.
    pub lapsed: bool,
}

/// Splits the script's flat `[instance, expiry, …]` list at `now`.
fn split(flat: &[String], now: Millis) -> Nodes {
    let (mut live, mut dead) = (Vec::new(), Vec::new());
    for pair in flat.chunks(2) {
        if let [instance, expiry] = pair {
            match expiry.parse::<f64>() {
                Ok(e) if e > now as f64 => live.push(instance.clone()),
                _ => dead.push(instance.clone()),
            }
        }
    }
    live.sort_unstable();
    dead.sort_unstable();
    Nodes {
        live: live.into(),
        dead: dead.into(),
    }
}

pub(crate) fn nodes_key(prefix: &str) -> String {
    // Outside the session keys' `prefix:{` pattern: a heartbeat wakes no session runner.
    format!("{prefix}:nodes")
}

impl Shared {
    /// Renews this node's heartbeat and reads every node's.
    pub async fn beat(&self, now: Millis) -> Result<Beat, LiveError> {
        let reply: Vec<String> = timed(
            "heartbeat",
            self.heartbeat.evalsha_with_reload(
                &self.client,
                vec![nodes_key(&self.prefix)],
                vec![
                    self.instance.clone(),
                    now.to_string(),
                    (now + NODE_TTL_MS).to_string(),
                    (now - FORGET_MS).to_string(),
                ],
            ),
        )
        .await
        .map_err(|e: Error| LiveError::Unavailable(format!("redis: {e}")))?;
        let lapsed = reply.first().is_none_or(|w| w != "1");
        let nodes = split(reply.get(1..).unwrap_or_default(), now);
        let changed = {
            let mut seen = lock(&self.nodes);
            let changed = *seen != nodes;
            *seen = nodes;
            changed
        };
        Ok(Beat { changed, lapsed })
    }

    /// The nodes as the last heartbeat saw them.
    pub fn nodes(&self) -> Nodes {
        lock(&self.nodes).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fresh instance name for a node called `node`.
pub fn instance(node: &str) -> String {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    format!("{node}.{}", &nonce[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_heartbeats_are_dead() {
        let flat: Vec<String> = ["b.1", "2000", "a.1", "999", "c.1", "1000"]
            .map(String::from)
            .into();
        let nodes = split(&flat, 1000);
        assert_eq!(&*nodes.live, ["b.1"]);
        assert_eq!(&*nodes.dead, ["a.1", "c.1"]);
        assert_ne!(instance("n1"), instance("n1"));
        assert!(instance("n1").starts_with("n1."));
    }
}
