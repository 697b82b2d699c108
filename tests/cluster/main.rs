//! Several real server processes on one Redis and one PostgreSQL: shared games, a node
//! killed mid-question, and Redis going quiet. Without the services the tests say
//! `skipped: …`; under `CI=true` they fail instead.

mod failover;
mod harness;
mod outage;
mod reveal;
#[path = "../common/services.rs"]
mod services;
mod three_nodes;
