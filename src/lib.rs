//! quizcast: a real-time vocabulary quiz server.
//!
//! - `domain`: the rules (scoring, session state machine, leaderboard, validation); no I/O.
//! - `live`: running sessions' state behind `LiveState` (embedded: memory + SQLite journal).
//! - `store`: durable data behind `Store` (users, quizzes, results); all SQL lives here.
//! - `hub`: topics and local fan-out of pre-encoded events with bounded queues.
//! - `game`: the service handlers call; one runner per session for timers and coalescing.
//! - `http`: axum routes, auth, limits, SSE and long-poll transports, OpenAPI, the accept
//!   loop (HTTP/1.1, and HTTP/2 over native TLS).
//! - `config`, `startup`, `telemetry`: wiring.

pub mod config;
pub mod demo;
pub mod domain;
pub mod game;
pub mod http;
pub mod hub;
pub mod live;
pub mod loadtest;
pub mod startup;
pub mod store;
pub mod telemetry;
