//! Merging the load processes' results, checking them, and printing a summary for people
//! and one JSON line for scripts.

use std::collections::BTreeMap;

use serde::Serialize;

use super::args::LoadArgs;
use super::stats::{self, Hist};
use super::sysinfo::Usage;
use super::worker::{QuestionLoad, WorkerResult};

/// Server usage at the points of a run.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Phases {
    pub base: Usage,
    pub idle: Usage,
    pub game_start: Usage,
    pub game_end: Usage,
}

/// What the server stored, checked against what players were told.
#[derive(Debug, Clone, Serialize)]
pub struct Checks {
    pub joined: u64,
    pub leaderboard_total: u64,
    pub stored_points: u64,
    pub stored_answers: u64,
    pub sessions_consistent: bool,
}

impl Default for Checks {
    fn default() -> Self {
        Self {
            joined: 0,
            leaderboard_total: 0,
            stored_points: 0,
            stored_answers: 0,
            sessions_consistent: true,
        }
    }
}

pub struct Merged {
    pub r: WorkerResult,
    pub hists: BTreeMap<String, Hist>,
    pub points_by_session: BTreeMap<String, u64>,
    pub accepted_by_session: BTreeMap<String, u64>,
}

pub fn merge(results: Vec<WorkerResult>) -> Merged {
    let mut r = WorkerResult::default();
    let mut hists: BTreeMap<String, Hist> = BTreeMap::new();
    for w in results {
        r.players += w.players;
        r.connected += w.connected;
        r.failed += w.failed;
        r.drops += w.drops;
        r.events += w.events;
        r.game_events += w.game_events;
        r.answers_sent += w.answers_sent;
        r.unreflected += w.unreflected;
        r.log_missing += w.log_missing;
        r.subscribers_incomplete += w.subscribers_incomplete;
        for (k, v) in w.statuses {
            *r.statuses.entry(k).or_default() += v;
        }
        for (k, v) in w.points_by_session {
            *r.points_by_session.entry(k).or_default() += v;
        }
        for (k, v) in w.accepted_by_session {
            *r.accepted_by_session.entry(k).or_default() += v;
        }
        for (k, q) in w.per_question {
            let m = r.per_question.entry(k).or_insert(QuestionLoad {
                first_send_us: u64::MAX,
                ..Default::default()
            });
            m.first_send_us = m.first_send_us.min(q.first_send_us);
            m.last_reply_us = m.last_reply_us.max(q.last_reply_us);
            m.accepted += q.accepted;
        }
        for (k, v) in &w.hist {
            if let Ok(h) = Hist::decode(v) {
                hists.entry(k.clone()).or_default().merge(&h);
            }
        }
        r.errors
            .extend(w.errors.into_iter().take(5 - r.errors.len().min(5)));
    }
    Merged {
        points_by_session: r.points_by_session.clone(),
        accepted_by_session: r.accepted_by_session.clone(),
        r,
        hists,
    }
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub mode: &'static str,
    pub targets: Vec<String>,
    pub players: usize,
    pub sessions: usize,
    pub questions: usize,
    pub window_ms: u64,
    pub poll_share: f64,
    pub processes: usize,
    pub connected: usize,
    pub failed: u64,
    pub streams_dropped: u64,
    pub events_received: u64,
    pub game_deliveries: u64,
    pub events_lost: u64,
    pub subscribers_incomplete: u64,
    pub answers_sent: u64,
    pub answers_accepted: u64,
    pub answer_statuses: BTreeMap<u16, u64>,
    pub unreflected_pairs: u64,
    /// Accepted answers per second over each question's burst (first send to last reply).
    pub answers_per_s: Vec<f64>,
    pub latency: BTreeMap<String, stats::Summary>,
    pub game_secs: f64,
    /// The fixed CPU workload's time on this machine (`--calibrate`), in milliseconds.
    pub calibration_ms: f64,
    pub server: Option<Server>,
    pub idle: Option<super::idle::Idle>,
    pub checks: Option<Checks>,
    pub errors: Vec<String>,
    pub passed: bool,
}

#[derive(Debug, Serialize)]
pub struct Server {
    pub phases: Phases,
    pub rss_kib_per_idle_subscriber: f64,
    pub game_cpu_s: f64,
    pub deliveries_per_cpu_s: f64,
    /// Server CPU over the game per accepted answer (everything the game cost included).
    pub cpu_us_per_answer: f64,
}

impl Summary {
    pub fn build(
        args: &LoadArgs,
        processes: usize,
        connected: usize,
        game_secs: f64,
        phases: Phases,
        checks: Checks,
        m: Merged,
    ) -> Self {
        let r = &m.r;
        let accepted = r.statuses.get(&200).copied().unwrap_or(0);
        let server = (!args.server_pid.is_empty()).then(|| {
            let cpu = phases.game_end.cpu_s - phases.game_start.cpu_s;
            Server {
                phases,
                rss_kib_per_idle_subscriber: phases.idle.rss_kib.saturating_sub(phases.base.rss_kib)
                    as f64
                    / connected.max(1) as f64,
                game_cpu_s: cpu,
                deliveries_per_cpu_s: if cpu > 0.0 {
                    r.game_events as f64 / cpu
                } else {
                    0.0
                },
                cpu_us_per_answer: if accepted > 0 {
                    cpu * 1e6 / accepted as f64
                } else {
                    0.0
                },
            }
        });
        let answers_per_s = r
            .per_question
            .values()
            .map(|q| {
                let secs = q.last_reply_us.saturating_sub(q.first_send_us) as f64 / 1e6;
                if secs > 0.0 {
                    q.accepted as f64 / secs
                } else {
                    0.0
                }
            })
            .collect();
        let quiz = !args.nchan;
        let expected_answers = if quiz && args.answer_share > 0.0 && !args.watch_only {
            r.answers_sent
        } else {
            accepted
        };
        let checks_ok = !quiz
            || (checks.sessions_consistent
                && checks.leaderboard_total == checks.stored_points
                && checks.stored_answers == accepted
                && checks.joined as usize >= connected);
        let passed = r.failed == 0
            && r.log_missing == 0
            && r.subscribers_incomplete == 0
            && r.unreflected == 0
            && accepted == expected_answers
            && checks_ok;
        Self {
            mode: if args.nchan { "nchan" } else { "quiz" },
            targets: args.target.clone(),
            players: args.players,
            sessions: args.sessions,
            questions: args.questions,
            window_ms: args.window_ms,
            poll_share: args.poll_share,
            processes,
            connected,
            failed: r.failed,
            streams_dropped: r.drops,
            events_received: r.events,
            game_deliveries: r.game_events,
            events_lost: r.log_missing,
            subscribers_incomplete: r.subscribers_incomplete,
            answers_sent: r.answers_sent,
            answers_accepted: accepted,
            answer_statuses: r.statuses.clone(),
            unreflected_pairs: r.unreflected,
            answers_per_s,
            latency: m
                .hists
                .iter()
                .map(|(k, h)| (k.clone(), h.summary()))
                .collect(),
            game_secs,
            calibration_ms: 0.0,
            server,
            idle: None,
            checks: quiz.then_some(checks),
            errors: r.errors.clone(),
            passed,
        }
    }

    pub fn print(&self) {
        println!(
            "quizcast loadtest ({}): {} players over {} session(s) on {} node(s), {} process(es)",
            self.mode,
            self.players,
            self.sessions,
            self.targets.len(),
            self.processes
        );
        println!(
            "  connected {}  failed {}  streams dropped {}  events received {}",
            self.connected, self.failed, self.streams_dropped, self.events_received
        );
        for (name, s) in &self.latency {
            println!("  {name:<22} {s}");
        }
        if self.mode == "quiz" {
            println!(
                "  answers: sent {}  accepted {}  statuses {:?}",
                self.answers_sent, self.answers_accepted, self.answer_statuses
            );
            let rates: Vec<String> = self
                .answers_per_s
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect();
            println!(
                "  accepted answers/s per question burst: {}",
                rates.join(", ")
            );
            println!(
                "  lost log events {}  incomplete subscribers {}  answers never on a leaderboard {}",
                self.events_lost, self.subscribers_incomplete, self.unreflected_pairs
            );
        }
        if let Some(c) = &self.checks {
            println!(
                "  stored: {} answers, {} points awarded, leaderboard total {}, per session consistent: {}",
                c.stored_answers, c.stored_points, c.leaderboard_total, c.sessions_consistent
            );
        }
        if let Some(i) = &self.idle {
            let redis = i
                .redis_commands_per_s
                .map(|r| format!(", Redis {r:.1} commands/s"))
                .unwrap_or_default();
            println!(
                "  idle {:.0} s: server {:.2} CPU-s{redis}",
                i.secs, i.server_cpu_s
            );
        }
        if let Some(s) = &self.server {
            if s.cpu_us_per_answer > 0.0 {
                println!(
                    "  server: {:.0} CPU-µs per accepted answer",
                    s.cpu_us_per_answer
                );
            }
            println!(
                "  server: {:.2} KiB RSS per idle subscriber (RSS {} -> {} KiB), {:.2} CPU-s in the game, {:.0} deliveries per CPU-second ({} deliveries)",
                s.rss_kib_per_idle_subscriber,
                s.phases.base.rss_kib,
                s.phases.idle.rss_kib,
                s.game_cpu_s,
                s.deliveries_per_cpu_s,
                self.game_deliveries
            );
        }
        if self.calibration_ms > 0.0 {
            println!(
                "  calibration: {:.1} ms for the fixed workload on this machine",
                self.calibration_ms
            );
        }
        for e in &self.errors {
            println!("  error: {e}");
        }
        println!("  {}", if self.passed { "PASSED" } else { "FAILED" });
        println!("{}", serde_json::to_string(self).unwrap_or_default());
    }
}
