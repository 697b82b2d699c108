//! What a Redis Cluster looks like from `CLUSTER NODES`: which nodes serve slots, which are
//! replicas of whom, which are down. Parsed here, used by the cluster listener (where to
//! subscribe, where to set notification flags) and by writes that wait for a replica.

use std::collections::HashMap;
use std::sync::RwLock;

/// One line of `CLUSTER NODES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub host: String,
    pub port: u16,
    pub primary: bool,
    /// Marked failing (`fail` or `fail?`) or without an address.
    pub down: bool,
    /// The primary's id, for a replica.
    pub primary_id: Option<String>,
    /// A primary that owns at least one slot.
    pub serves_slots: bool,
}

impl Node {
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Parses `CLUSTER NODES`; lines it cannot read are skipped.
/// `<id> <ip:port@cport[,hostname]> <flags> <primary> <ping> <pong> <epoch> <link> <slot>…`
pub fn parse_nodes(text: &str) -> Vec<Node> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 8 {
                return None;
            }
            let addr = f[1].split(['@', ',']).next()?;
            let (host, port) = addr.rsplit_once(':')?;
            let port: u16 = port.parse().ok()?;
            let flags: Vec<&str> = f[2].split(',').collect();
            let has = |flag: &str| flags.contains(&flag);
            Some(Node {
                id: f[0].to_owned(),
                host: host.to_owned(),
                port,
                primary: has("master"),
                down: has("fail") || has("fail?") || has("noaddr") || host.is_empty() || port == 0,
                primary_id: (f[3] != "-").then(|| f[3].to_owned()),
                serves_slots: f.len() > 8 && f[8..].iter().any(|s| !s.starts_with('[')),
            })
        })
        .collect()
}

/// Primaries that serve slots and are up: where notifications come from.
pub fn serving_primaries(nodes: &[Node]) -> Vec<&Node> {
    nodes
        .iter()
        .filter(|n| n.primary && n.serves_slots && !n.down)
        .collect()
}

/// Live replicas per primary address.
pub fn replicas_per_primary(nodes: &[Node]) -> HashMap<String, usize> {
    let by_id: HashMap<&str, &Node> = nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let mut out: HashMap<String, usize> = serving_primaries(nodes)
        .into_iter()
        .map(|p| (p.addr(), 0))
        .collect();
    for n in nodes.iter().filter(|n| !n.primary && !n.down) {
        if let Some(p) = n.primary_id.as_deref().and_then(|id| by_id.get(id))
            && let Some(count) = out.get_mut(&p.addr())
        {
            *count += 1;
        }
    }
    out
}

/// The replicas each primary had when the cluster was last looked at, so a write waits for
/// one only where one exists (a shard whose replica was just promoted has none until a
/// new one joins, and waiting there would only add the timeout to every write).
#[derive(Debug, Default)]
pub struct Replicas {
    by_primary: RwLock<HashMap<String, usize>>,
}

impl Replicas {
    pub fn set(&self, map: HashMap<String, usize>) {
        *self.by_primary.write().unwrap_or_else(|e| e.into_inner()) = map;
    }

    /// Live replicas of the primary at `addr` (`0` if unknown).
    pub fn of(&self, addr: &str) -> usize {
        self.by_primary
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(addr)
            .copied()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AFTER_FAILOVER: &str = "\
a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460
b2 127.0.0.1:7001@17001 master,fail - 1 0 2 disconnected
c3 127.0.0.1:7002@17002 master - 0 0 3 connected 10923-16383
d4 127.0.0.1:7003@17003 slave a1 0 0 1 connected
e5 127.0.0.1:7004@17004 master - 0 0 7 connected 5461-10922
f6 127.0.0.1:7005@17005 slave c3 0 0 3 connected
g7 :0@0 slave,noaddr c3 0 0 3 disconnected
";

    #[test]
    fn a_promoted_replica_serves_and_the_failed_primary_does_not() {
        let nodes = parse_nodes(AFTER_FAILOVER);
        assert_eq!(nodes.len(), 7);
        let serving: Vec<String> = serving_primaries(&nodes).iter().map(|n| n.addr()).collect();
        assert_eq!(
            serving,
            ["127.0.0.1:7000", "127.0.0.1:7002", "127.0.0.1:7004"]
        );
        let replicas = replicas_per_primary(&nodes);
        assert_eq!(replicas["127.0.0.1:7000"], 1);
        assert_eq!(
            replicas["127.0.0.1:7002"], 1,
            "the noaddr replica does not count"
        );
        assert_eq!(
            replicas["127.0.0.1:7004"], 0,
            "a promoted replica has none yet"
        );
    }

    #[test]
    fn hostnames_and_migrating_slots_are_read() {
        let nodes = parse_nodes(
            "a1 10.0.0.1:6379@16379,redis-a master - 0 0 1 connected [5-<-b2]\n\
             b2 10.0.0.2:6379@16379 master - 0 0 2 connected 0-4 [5->-a1]\n\
             garbage\n",
        );
        assert_eq!(nodes[0].addr(), "10.0.0.1:6379");
        assert!(
            !nodes[0].serves_slots,
            "an importing slot is not served yet"
        );
        assert!(nodes[1].serves_slots);
    }
}
