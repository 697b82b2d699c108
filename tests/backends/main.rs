//! Contract suites for the backends: every implementation of `Store`, `LiveState` and
//! `Limits` must pass the same tests. Services (PostgreSQL, Redis) are real; without them
//! the tests say `skipped: …`, and under `CI=true` they fail instead.

mod limits_contract;
mod live_contract;
mod presence_nodes;
#[path = "../common/services.rs"]
mod services;
mod store_contract;
