//! The quiz-shaped run: set up a quiz and sessions, start the load processes, play the host
//! through every question, then check the results against what the players were told.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail};
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::args::LoadArgs;
use super::idle;
use super::net::{self, Sender, Target};
use super::now_us;
use super::procs::{self, Fleet};
use super::report::{self, Checks};
use super::sysinfo;
use super::worker::{Finish, Plan};

const CHOICES: u32 = 4;

/// The host's own connection to the first node.
/// Choice `n` of question `i` in the load tool's quiz. Sessions deal choices in an order of
/// their own, so players find the right one by its words, as people do.
pub fn meaning(i: u32, n: u32) -> String {
    format!("meaning {i}.{n}")
}

pub struct Host {
    target: Target,
    sender: Sender,
    token: String,
}

impl Host {
    pub async fn sign_in(target: Target) -> anyhow::Result<Self> {
        let sender = net::connect(&target, None).await?;
        let mut host = Self {
            target,
            sender,
            token: String::new(),
        };
        let reply = host
            .call(
                Method::POST,
                "/api/v1/auth/guest",
                Some(json!({ "display_name": "Load host" })),
            )
            .await?;
        host.token = expect(reply, StatusCode::CREATED, "guest login")?["token"]
            .as_str()
            .context("token in the login reply")?
            .to_owned();
        Ok(host)
    }

    async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        if self.sender.is_closed() {
            self.sender = net::connect(&self.target, None).await?;
        }
        let token = (!self.token.is_empty()).then_some(self.token.as_str());
        let req = net::request(
            &self.target,
            method,
            path,
            token,
            body.map(|b| b.to_string().into()),
        );
        let (status, bytes) = net::call(&mut self.sender, req).await?;
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, value))
    }
}

fn expect(reply: (StatusCode, Value), want: StatusCode, what: &str) -> anyhow::Result<Value> {
    if reply.0 != want {
        bail!("{what}: {} {}", reply.0, reply.1);
    }
    Ok(reply.1)
}

pub async fn run(args: LoadArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_secs);
    let targets = Target::parse_all(&args.target, args.allow_remote)?;
    if args.players == 0 || args.sessions == 0 || args.questions == 0 {
        bail!("--players, --sessions and --questions must be at least 1");
    }
    // Timed first, while the machine is quiet.
    let calibration_ms = tokio::task::spawn_blocking(super::calibrate::calibration_ms).await?;
    let mut host = Host::sign_in(targets[0].clone()).await?;
    // Generous: a question closes as soon as every player has answered anyway.
    let time_limit = (args.window_ms + 20_000).clamp(5_000, 120_000);
    let correct: Vec<u32> = (0..args.questions as u32).map(|i| i % CHOICES).collect();
    let questions: Vec<Value> = correct
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let choices: Vec<String> = (0..CHOICES).map(|n| meaning(i as u32, n)).collect();
            json!({ "prompt": format!("word {i}"), "choices": choices,
                    "correct_choice": c, "time_limit_ms": time_limit })
        })
        .collect();
    let quiz = host
        .call(
            Method::POST,
            "/api/v1/quizzes",
            Some(json!({ "title": "Load test", "questions": questions })),
        )
        .await?;
    let quiz_id = expect(quiz, StatusCode::CREATED, "create quiz")?["quiz_id"].clone();
    let per_session = args.players.div_ceil(args.sessions) as u64;
    let mut codes = Vec::new();
    for _ in 0..args.sessions {
        let body = json!({ "quiz_id": quiz_id, "max_players": per_session.max(1) });
        let reply = host
            .call(Method::POST, "/api/v1/sessions", Some(body))
            .await?;
        let created = expect(reply, StatusCode::CREATED, "create session")?;
        codes.push(
            created["session_id"]
                .as_str()
                .context("session code")?
                .to_owned(),
        );
    }

    let pooled = args.answer_connections * targets.len();
    let n = procs::process_count(args.players, pooled, args.processes)?;
    let plans = procs::split(args.players, n)
        .into_iter()
        .map(|(first, count)| Plan {
            targets: args.target.clone(),
            allow_remote: args.allow_remote,
            codes: codes.clone(),
            first,
            count,
            poll_share: args.poll_share,
            answer_share: args.answer_share,
            window_ms: args.window_ms,
            answer_connections: args.answer_connections,
            players_per_address: args.players_per_address,
            correct: correct.clone(),
            watch_only: args.watch_only,
            no_stream: args.no_stream,
            nchan_messages: None,
        })
        .collect();
    let (mut fleet, mut phases, connected) = procs::launch(&args, plans, deadline).await?;
    let idle = match args.idle_secs {
        0 => None,
        secs => {
            fleet.tick(&format!("idle for {secs} s"));
            Some(idle::hold(secs, &args.server_pid, args.redis_stats.as_deref()).await?)
        }
    };
    let mut joined = 0;
    for code in &codes {
        let reply = host
            .call(Method::GET, &format!("/api/v1/sessions/{code}"), None)
            .await?;
        joined += expect(reply, StatusCode::OK, "session state")?["players"]
            .as_u64()
            .unwrap_or(0);
    }

    let game_started = Instant::now();
    phases.game_start = sysinfo::total(&args.server_pid);
    let mut opened_us: HashMap<String, Vec<u64>> = HashMap::new();
    let answering = args.answer_share > 0.0 && !args.watch_only;
    for q in 0..args.questions {
        let cmd = if q == 0 { "start" } else { "next" };
        for code in &codes {
            opened_us.entry(code.clone()).or_default().push(now_us());
            let path = format!("/api/v1/sessions/{code}/{cmd}");
            let reply = host.call(Method::POST, &path, None).await?;
            let state = expect(reply, StatusCode::OK, "open a question")?;
            if args.no_stream {
                // Players without a stream learn of the question from here.
                let open = json!({ "code": code, "question": state["question"] });
                fleet.announce(&format!("open {open}")).await?;
            }
        }
        fleet.tick(&format!("question {}", q + 1));
        if answering {
            wait_closed(&mut host, &codes, &fleet, q, time_limit).await?;
        } else {
            tokio::time::sleep(Duration::from_millis(args.window_ms)).await;
            for code in &codes {
                // A session without players closes its question by itself.
                if status(&mut host, code).await? == "question" {
                    let path = format!("/api/v1/sessions/{code}/next");
                    let reply = host.call(Method::POST, &path, None).await?;
                    expect(reply, StatusCode::OK, "close")?;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(args.reveal_ms)).await;
    }
    for code in &codes {
        if status(&mut host, code).await? != "finished" {
            let path = format!("/api/v1/sessions/{code}/next");
            let reply = host.call(Method::POST, &path, None).await?;
            expect(reply, StatusCode::OK, "finish")?;
        }
    }
    let game_secs = game_started.elapsed().as_secs_f64();
    fleet.settle(Duration::from_secs(10)).await;
    phases.game_end = sysinfo::total(&args.server_pid);
    let results = fleet
        .finish(&Finish {
            opened_us: opened_us.clone(),
        })
        .await?;
    let merged = report::merge(results);

    let mut checks = Checks {
        joined: if args.watch_only {
            connected as u64
        } else {
            joined
        },
        ..Default::default()
    };
    for code in codes.iter().filter(|_| !args.watch_only) {
        let stored = stored_results(&mut host, code).await?;
        let standings: u64 = stored["standings"]
            .as_array()
            .map_or(0, |s| s.iter().filter_map(|e| e["score"].as_u64()).sum());
        let answers = stored["answers"].as_array().cloned().unwrap_or_default();
        let awarded: u64 = answers
            .iter()
            .filter_map(|a| a["awarded_points"].as_u64())
            .sum();
        checks.leaderboard_total += standings;
        checks.stored_points += awarded;
        checks.stored_answers += answers.len() as u64;
        checks.sessions_consistent &= standings == awarded
            && merged.points_by_session.get(code).copied().unwrap_or(0) == standings
            && merged.accepted_by_session.get(code).copied().unwrap_or(0) == answers.len() as u64;
    }
    let mut summary =
        report::Summary::build(&args, n, connected, game_secs, phases, checks, merged);
    summary.calibration_ms = calibration_ms;
    summary.idle = idle;
    summary.print();
    if !summary.passed {
        std::process::exit(2);
    }
    Ok(())
}

async fn status(host: &mut Host, code: &str) -> anyhow::Result<String> {
    let reply = host
        .call(Method::GET, &format!("/api/v1/sessions/{code}"), None)
        .await?;
    let state = expect(reply, StatusCode::OK, "session state")?;
    Ok(state["status"].as_str().unwrap_or_default().to_owned())
}

/// Waits until every session's open question has closed (all answered, or time is up).
async fn wait_closed(
    host: &mut Host,
    codes: &[String],
    fleet: &Fleet,
    q: usize,
    time_limit: u64,
) -> anyhow::Result<()> {
    let until = Instant::now() + Duration::from_millis(time_limit + 5_000);
    for code in codes {
        loop {
            let reply = host
                .call(Method::GET, &format!("/api/v1/sessions/{code}"), None)
                .await?;
            let state = expect(reply, StatusCode::OK, "session state")?;
            let still_open = state["status"] == "question" && state["question_index"] == q;
            if !still_open {
                break;
            }
            if Instant::now() > until {
                bail!("question {q} of {code} did not close in time");
            }
            fleet.tick(&format!("question {}", q + 1));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

/// The stored results (shared deployments may take a moment to store them).
async fn stored_results(host: &mut Host, code: &str) -> anyhow::Result<Value> {
    let path = format!("/api/v1/sessions/{code}/results");
    for _ in 0..50 {
        let reply = host.call(Method::GET, &path, None).await?;
        if reply.0 == StatusCode::OK {
            return Ok(reply.1);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("{code}: results were not stored")
}
