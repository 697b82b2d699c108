//! Several real server processes on one Redis and one PostgreSQL: shared games, a node
//! killed mid-question, and Redis going quiet; and on a Redis Cluster the tests start
//! themselves: games on two shards, a primary killed mid-question. Without the services
//! the tests say `skipped: …`; under `CI=true` they fail instead.

mod failover;
mod harness;
mod outage;
#[path = "../common/redis_cluster.rs"]
mod redis_cluster;
mod reveal;
#[path = "../common/services.rs"]
mod services;
mod shard_failover;
mod shards;
mod three_nodes;
