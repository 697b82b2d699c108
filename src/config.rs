//! Command-line flags and environment variables. The doc comments are the `--help` text.
//! Owns nothing but parsing; every other module receives a built `Config`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use crate::http::cidr::Cidr;

/// quizcast: a real-time vocabulary quiz server (HTTP API, Server-Sent Events, long-poll).
#[derive(Debug, Clone, Parser)]
#[command(name = "quizcast", version, about, long_about = None)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "QUIZ_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Durable store. `sqlite://FILE` (created on first start) for a single node.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://quizcast.db")]
    pub database_url: String,

    /// Database connections this node keeps open (default: 4 for SQLite, 16 for PostgreSQL).
    /// With many nodes, keep nodes × this under PostgreSQL's `max_connections`.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS")]
    pub database_max_connections: Option<u32>,

    /// Redis for shared live state across nodes. Unset: live state and pub/sub stay in-process.
    /// A Redis Cluster: `redis-cluster://host:port?node=host2:port2&node=…` (any nodes).
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// On Redis Cluster, how long an acknowledged write (an answer, a join, a phase move)
    /// waits for a replica to have it (`WAIT 1 <ms>`), so a primary's crash cannot lose
    /// it; 0 acknowledges without waiting. Ignored on a single Redis.
    #[arg(long, env = "REDIS_REPLICA_ACK_MS", default_value_t = 200)]
    pub redis_replica_ack_ms: u64,

    /// Prefix of every Redis key this deployment uses (several deployments can share a Redis).
    #[arg(long, env = "REDIS_PREFIX", default_value = "quizcast")]
    pub redis_prefix: String,

    /// This node's name in leases and presence (default: random per start).
    #[arg(long, env = "NODE_ID")]
    pub node_id: Option<String>,

    /// HS256 secret for the tokens this server issues. Unset: a key generated on first start
    /// and kept in the database, shared by every node using it (tokens survive restarts).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// PEM public key of an external identity provider (RS256 or EdDSA tokens are then accepted).
    #[arg(long, env = "JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<PathBuf>,

    /// Required `iss` of external tokens.
    #[arg(long, env = "JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// Required `aud` of external tokens.
    #[arg(long, env = "JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// Allow `POST /api/v1/auth/guest`.
    #[arg(long, env = "GUEST_LOGIN", default_value_t = true, action = clap::ArgAction::Set)]
    pub guest_login: bool,

    /// Lifetime of guest tokens, in seconds.
    #[arg(long, env = "TOKEN_TTL_SECS", default_value_t = 12 * 3600)]
    pub token_ttl_secs: u64,

    /// Answers per second per player (sustained).
    #[arg(long, env = "ANSWERS_PER_SECOND", default_value_t = 5)]
    pub answers_per_second: u32,

    /// Answers a player may send in a burst.
    #[arg(long, env = "ANSWERS_BURST", default_value_t = 10)]
    pub answers_burst: u32,

    /// Guest logins per minute per client address.
    #[arg(long, env = "GUEST_LOGINS_PER_MINUTE", default_value_t = 20)]
    pub guest_logins_per_minute: u32,

    /// Open event streams (SSE and long-polls) per user.
    #[arg(long, env = "STREAMS_PER_USER", default_value_t = 5)]
    pub streams_per_user: usize,

    /// Requests per minute per user naming a session code that does not exist (then `429`).
    #[arg(long, env = "CODE_LOOKUPS_PER_MINUTE", default_value_t = 30)]
    pub code_lookups_per_minute: u32,

    /// Idle time before an event stream gets a `heartbeat` event, in ms (tests shorten it).
    #[arg(long, env = "HEARTBEAT_MS", default_value_t = 15_000, hide = true)]
    pub heartbeat_ms: u64,

    /// An event stream whose connection takes no bytes for this long while events wait is
    /// closed, in ms (tests shorten it).
    #[arg(long, env = "STALL_TIMEOUT_MS", default_value_t = 30_000, hide = true)]
    pub stall_timeout_ms: u64,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,

    /// Log events queued per subscriber before it is dropped as too slow (snapshots do not
    /// count: a newer one replaces the one waiting).
    #[arg(long, env = "SUBSCRIBER_BUFFER", default_value_t = 256)]
    pub subscriber_buffer: usize,

    /// Seconds after a reveal before the next question opens in `auto_advance` sessions.
    #[arg(long, env = "AUTO_ADVANCE_SECS", default_value_t = 5)]
    pub auto_advance_secs: u64,

    /// Unfinished sessions one host may have at a time (`403` beyond).
    #[arg(long, env = "MAX_SESSIONS_PER_HOST", default_value_t = 20)]
    pub max_sessions_per_host: u32,

    /// Quizzes one author may keep (`403` beyond).
    #[arg(long, env = "MAX_QUIZZES_PER_AUTHOR", default_value_t = 500)]
    pub max_quizzes_per_author: u64,

    /// A session with no host call and no answer (a lobby never started, an abandoned
    /// reveal) for this many seconds finishes by itself.
    #[arg(long, env = "SESSION_IDLE_SECS", default_value_t = 7200)]
    pub session_idle_secs: u64,

    /// TLS certificate chain (PEM, leaf first). With `--tls-key`, the server speaks HTTPS,
    /// offering HTTP/2 (every tab's event stream over one connection) and HTTP/1.1 on the
    /// same port.
    #[arg(long, env = "TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// TLS private key (PEM: PKCS#8, PKCS#1 or SEC1), for `--tls-cert`.
    #[arg(long, env = "TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Base URL clients reach this server at (e.g. `https://quiz.example.com`): the base of
    /// `join_url` and `host_url`, an origin the cookie's CSRF rule accepts, and with https
    /// the cookie is `Secure`. Unset: each request's own host (forwarded or not).
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Reverse proxies whose forwarded headers are believed, as CIDRs separated by commas
    /// (e.g. `10.0.0.0/8,::1`): for requests from these peers the client address comes from
    /// `X-Forwarded-For` (else `Forwarded: for=`) and the client's host and scheme from
    /// `X-Forwarded-Host`/`-Proto` (else `Forwarded`). Unset: nobody's are.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<Cidr>,

    /// Bearer token `GET /metrics` requires. Unset: `/metrics` is open.
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Lifetime of stream tickets, in seconds.
    #[arg(long, env = "STREAM_TICKET_TTL_SECS", default_value_t = 15 * 60, hide = true)]
    pub stream_ticket_ttl_secs: u64,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Config {
    /// A configuration for tests and embedding: port 0 on loopback, the given SQLite file,
    /// in-process live state, a fixed secret, defaults otherwise.
    pub fn for_sqlite_file(path: &std::path::Path) -> Self {
        let mut config = Config::parse_from(["quizcast"]);
        config.addr = "127.0.0.1:0".parse().expect("static address");
        config.database_url = format!("sqlite://{}", path.display());
        // Embedded, whatever the environment says.
        config.redis_url = None;
        config.jwt_secret = Some("test-secret-test-secret-test-secret".into());
        config
    }
}
