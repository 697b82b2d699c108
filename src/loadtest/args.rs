//! `quizcast loadtest` flags. The doc comments are the `--help` text.

use clap::Parser;

/// Drives a running quizcast deployment (or nginx + nchan, for comparison) through its
/// public API: players join, stream events, answer in quiz-shaped bursts; prints a summary
/// and one JSON line.
#[derive(Debug, Clone, Parser)]
#[command(name = "quizcast loadtest")]
pub struct LoadArgs {
    /// Base URL of each node; players are spread over them round-robin, the host uses the first.
    #[arg(long, value_delimiter = ',', default_value = "http://127.0.0.1:8080")]
    pub target: Vec<String>,

    /// Players in all (each has its own event stream).
    #[arg(long, default_value_t = 1000)]
    pub players: usize,

    /// Sessions the players are spread over.
    #[arg(long, default_value_t = 1)]
    pub sessions: usize,

    /// Questions per session.
    #[arg(long, default_value_t = 3)]
    pub questions: usize,

    /// Every player answers within this many milliseconds of seeing a question (uniformly).
    #[arg(long, default_value_t = 2000)]
    pub window_ms: u64,

    /// Share of players that answer (the rest only watch).
    #[arg(long, default_value_t = 1.0)]
    pub answer_share: f64,

    /// Subscribers only watch: they sign in and stream but do not join (measures what a
    /// connection costs, apart from a player's state). No questions are played.
    #[arg(long)]
    pub watch_only: bool,

    /// Players answer without any event stream (they learn each question from the load
    /// tool's host): measures what answering alone costs the server, reported as server
    /// CPU-µs per accepted answer.
    #[arg(long, conflicts_with_all = ["watch_only", "nchan"])]
    pub no_stream: bool,

    /// Hold this many seconds with every player connected, before the game, and report
    /// the server's CPU over that span (and, with `--redis-stats`, Redis commands per second).
    #[arg(long, default_value_t = 0)]
    pub idle_secs: u64,

    /// Redis to read `INFO commandstats` from around the idle span (`--idle-secs`).
    #[arg(long)]
    pub redis_stats: Option<String>,

    /// Only time the fixed CPU workload every run reports (`calibration_ms`) and exit: it
    /// lets figures from different machines be compared.
    #[arg(long)]
    pub calibrate: bool,

    /// Share of players on the long-poll transport instead of SSE.
    #[arg(long, default_value_t = 0.0)]
    pub poll_share: f64,

    /// Milliseconds of reveal between a question closing and the next opening.
    #[arg(long, default_value_t = 1000)]
    pub reveal_ms: u64,

    /// Keep-alive connections per node for answers, per load process.
    #[arg(long, default_value_t = 128)]
    pub answer_connections: usize,

    /// Load processes (default: as few as the open-file limit allows).
    #[arg(long)]
    pub processes: Option<usize>,

    /// Players per source address (loopback targets), below the guest-login limit per address.
    #[arg(long, default_value_t = 16)]
    pub players_per_address: usize,

    /// Server process ids to sample for RSS and CPU (comma-separated; same machine only).
    #[arg(long, value_delimiter = ',')]
    pub server_pid: Vec<u32>,

    /// Give up after this many seconds in all.
    #[arg(long, default_value_t = 600)]
    pub max_secs: u64,

    /// Allow targets that are not on this machine's loopback.
    #[arg(long)]
    pub allow_remote: bool,

    /// The targets are nginx + nchan (`/pub/<id>`, `/sub/<id>`): subscribers only, and the
    /// coordinator publishes `--messages` events per channel (fan-out comparison).
    #[arg(long)]
    pub nchan: bool,

    /// nchan mode: messages published per channel.
    #[arg(long, default_value_t = 20)]
    pub messages: usize,

    /// nchan mode: bytes per published message.
    #[arg(long, default_value_t = 300)]
    pub message_bytes: usize,

    /// nchan mode: milliseconds between publishing rounds.
    #[arg(long, default_value_t = 200)]
    pub publish_interval_ms: u64,

    /// No progress bar (for logs and scripts).
    #[arg(long)]
    pub quiet: bool,

    /// Internal: run as a load process of a coordinator (JSON plan).
    #[arg(long, hide = true)]
    pub worker: Option<String>,
}
