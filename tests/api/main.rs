//! Black-box tests of quizcast through HTTP, Server-Sent Events and long-poll, against a
//! server on port 0 (and, in `crash`, the real binary). `helpers` holds `spawn_app()`;
//! `spawn_shared_app()` runs the same server on Redis and PostgreSQL.

mod abuse;
mod auth;
mod auto;
mod bad_input;
mod crash;
mod game;
mod helpers;
mod host_counts;
mod load;
mod loadtest;
mod openapi;
mod ops;
mod poll;
mod quizzes;
mod reconnect;
mod results;
mod room;
mod rules;
#[path = "../common/services.rs"]
mod services;
mod versions;
mod wire;
