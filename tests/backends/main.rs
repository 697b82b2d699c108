//! Contract suites for the backends: every implementation of `Store` and `LiveState`
//! must pass the same tests. Services (PostgreSQL) are real; without them the tests say
//! `skipped: …`, and under `CI=true` they fail instead.

mod live_contract;
#[path = "../common/services.rs"]
mod services;
mod store_contract;
