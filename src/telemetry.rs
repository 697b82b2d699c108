//! Logging and metrics set-up. Both are process-wide, so each is installed once. Every
//! metric family is described and registered at zero when the recorder is installed, so
//! the first scrape (also right after a restart) lists them all.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// The Prometheus recorder; the first call installs it.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".into()),
                    &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5],
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("quizcast_replay_events".into()),
                        &[0.0, 1.0, 2.0, 5.0, 10.0, 50.0, 100.0, 500.0],
                    )
                })
                .map(|b| b.build_recorder())
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            // Fails only if another recorder is installed; then ours just stays empty.
            let _ = metrics::set_global_recorder(recorder);
            register_families();
            handle
        })
        .clone()
}

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One metric family: its name, kind, help text, and a label with the values it is
/// registered at (at zero) before anything happens.
struct Family {
    name: &'static str,
    kind: Kind,
    help: &'static str,
    label: Option<(&'static str, &'static [&'static str])>,
}

const fn family(name: &'static str, kind: Kind, help: &'static str) -> Family {
    Family {
        name,
        kind,
        help,
        label: None,
    }
}

const fn labelled(
    name: &'static str,
    kind: Kind,
    help: &'static str,
    label: &'static str,
    values: &'static [&'static str],
) -> Family {
    Family {
        name,
        kind,
        help,
        label: Some((label, values)),
    }
}

/// Every family the code emits. A test reads the sources for `counter!`, `gauge!` and
/// `histogram!` names and checks a fresh server's first scrape has each.
const FAMILIES: &[Family] = &[
    labelled(
        "quizcast_streams_active",
        Kind::Gauge,
        "Open event streams (SSE) and long-polls in progress on this node",
        "transport",
        &["sse", "poll"],
    ),
    family(
        "quizcast_sessions_live",
        Kind::Gauge,
        "Sessions whose runner (timers, coalescing) lives on this node, restored ones included",
    ),
    family(
        "quizcast_sessions_created_total",
        Kind::Counter,
        "Sessions created on this node",
    ),
    labelled(
        "quizcast_answers_total",
        Kind::Counter,
        "Answers by outcome: accepted, replayed (same nonce) or conflict (a second answer)",
        "outcome",
        &["accepted", "replayed", "conflict"],
    ),
    labelled(
        "quizcast_rejections_total",
        Kind::Counter,
        "Error replies (problem+json) by status",
        "status",
        &[
            "400", "401", "403", "404", "405", "409", "413", "415", "422", "429", "500", "503",
        ],
    ),
    labelled(
        "quizcast_rate_limited_total",
        Kind::Counter,
        "Requests refused by a rate limit or cap, by limit",
        "limit",
        &["answers", "guest_logins", "streams"],
    ),
    labelled(
        "quizcast_events_published_total",
        Kind::Counter,
        "Events handed to the hub, by event name",
        "event",
        &[
            "session_state",
            "question_opened",
            "question_closed",
            "session_finished",
            "leaderboard",
            "presence",
            "score",
            "answers",
        ],
    ),
    family(
        "quizcast_events_delivered_total",
        Kind::Counter,
        "Events queued to local subscribers",
    ),
    family(
        "quizcast_fanout_seconds",
        Kind::Histogram,
        "Time from publishing a broadcast event to handing it to the last local subscriber",
    ),
    family(
        "quizcast_slow_subscribers_dropped_total",
        Kind::Counter,
        "Subscribers disconnected because their queue was full",
    ),
    family(
        "quizcast_answer_broadcast_seconds",
        Kind::Histogram,
        "From a change accepted (or heard of from Redis) to the leaderboard carrying it leaving this node",
    ),
    labelled(
        "quizcast_redis_command_seconds",
        Kind::Histogram,
        "Redis round trips by operation (Redis mode only)",
        "op",
        &[
            "create", "join", "leave", "answer", "apply", "read", "lease", "presence", "members",
            "scores", "wait",
        ],
    ),
    family(
        "quizcast_redis_replica_ack_missed_total",
        Kind::Counter,
        "Writes acknowledged on Redis Cluster without a replica confirming them (none, or too slow)",
    ),
    family(
        "quizcast_replays_total",
        Kind::Counter,
        "Resumes served from the log (Last-Event-ID or a poll cursor)",
    ),
    family(
        "quizcast_replay_events",
        Kind::Histogram,
        "Log entries sent per resume",
    ),
];

fn register_families() {
    for f in FAMILIES {
        match f.kind {
            Kind::Counter => metrics::describe_counter!(f.name, f.help),
            Kind::Gauge => metrics::describe_gauge!(f.name, f.help),
            Kind::Histogram => metrics::describe_histogram!(f.name, f.help),
        }
        let labels: Vec<Option<(&'static str, &'static str)>> = match f.label {
            None => vec![None],
            Some((key, values)) => values.iter().map(|v| Some((key, *v))).collect(),
        };
        for label in labels {
            let labels: Vec<metrics::Label> = label
                .into_iter()
                .map(|(k, v)| metrics::Label::new(k, v))
                .collect();
            // Registering is enough to be rendered; a zero increment makes the value explicit.
            match f.kind {
                Kind::Counter => metrics::counter!(f.name, labels).increment(0),
                Kind::Gauge => metrics::gauge!(f.name, labels).increment(0.0),
                Kind::Histogram => drop(metrics::histogram!(f.name, labels)),
            }
        }
    }
}
