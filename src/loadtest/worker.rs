//! A load process: runs its share of the players, reports progress on stdout, and when the
//! coordinator says the game is over, reduces what its players saw to one result line.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;

use super::net::{self, Pool, Target};
use super::player::{self, PlayerPlan, Record, Shared};
use super::stats::Hist;

/// Player set-ups (connect, login, join) in flight at once per process.
const SETUP_CONCURRENCY: usize = 256;
/// How long players get to see the end of the game once the coordinator has.
const FINISH_GRACE: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub targets: Vec<String>,
    pub allow_remote: bool,
    pub codes: Vec<String>,
    pub first: usize,
    pub count: usize,
    pub poll_share: f64,
    pub answer_share: f64,
    pub window_ms: u64,
    pub answer_connections: usize,
    pub players_per_address: usize,
    pub correct: Vec<u32>,
    /// Players sign in and stream without joining.
    #[serde(default)]
    pub watch_only: bool,
    /// Players answer without an event stream; questions come as `open` lines on stdin.
    #[serde(default)]
    pub no_stream: bool,
    /// nchan mode: messages each subscriber waits for.
    pub nchan_messages: Option<usize>,
}

/// Sent by the coordinator when a question opens, for players without a stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Open {
    pub code: String,
    pub question: player::Opened,
}

/// Sent by the coordinator once every session has finished.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Finish {
    /// Per session code, when the host sent the request that opened each question (µs).
    pub opened_us: HashMap<String, Vec<u64>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct QuestionLoad {
    pub first_send_us: u64,
    pub last_reply_us: u64,
    pub accepted: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WorkerResult {
    pub players: u64,
    pub connected: u64,
    pub failed: u64,
    pub drops: u64,
    pub events: u64,
    pub game_events: u64,
    pub answers_sent: u64,
    pub statuses: BTreeMap<u16, u64>,
    pub points_by_session: BTreeMap<String, u64>,
    pub accepted_by_session: BTreeMap<String, u64>,
    /// (answer, subscriber) pairs where no leaderboard ever reflected the answer.
    pub unreflected: u64,
    /// Log ids a subscriber should have seen and did not.
    pub log_missing: u64,
    pub subscribers_incomplete: u64,
    pub per_question: BTreeMap<u32, QuestionLoad>,
    pub hist: BTreeMap<String, String>,
    pub errors: Vec<String>,
}

pub async fn run(plan: Plan) -> anyhow::Result<()> {
    super::raise_open_files();
    let targets = Target::parse_all(&plan.targets, plan.allow_remote)?;
    let pools = targets
        .iter()
        .map(|t| Arc::new(Pool::new(t.clone(), None, plan.answer_connections)))
        .collect();
    let shared = Arc::new(Shared {
        targets: targets.clone(),
        pools,
        correct: plan.correct.clone(),
        window_ms: plan.window_ms,
        nchan_messages: plan.nchan_messages,
        questions: plan.correct.len(),
        opened: tokio::sync::watch::Sender::new(Vec::new()),
        connected: AtomicUsize::new(0),
        answered: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        setup: tokio::sync::Semaphore::new(SETUP_CONCURRENCY),
        cancel: CancellationToken::new(),
    });
    let mut handles = Vec::with_capacity(plan.count);
    for i in plan.first..plan.first + plan.count {
        let target = i % targets.len();
        let fraction = |share: f64| (i as f64 * 0.618_034).fract() < share;
        let p = PlayerPlan {
            idx: i,
            code: plan.codes[i % plan.codes.len()].clone(),
            target,
            source: net::source_for(&targets[target], i, plan.players_per_address),
            poll: fraction(plan.poll_share),
            answers: !plan.watch_only && (i as f64 * 0.414_214).fract() < plan.answer_share,
            join: !plan.watch_only,
            stream: !plan.no_stream,
        };
        handles.push(tokio::spawn(player::run(p, shared.clone())));
    }
    let progress = tokio::spawn(report_progress(shared.clone(), plan.count));
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut finish = Finish::default();
    while let Some(line) = stdin.next_line().await? {
        if let Some(json) = line.strip_prefix("finish ") {
            finish = serde_json::from_str(json)?;
            break;
        }
        if let Some(json) = line.strip_prefix("open ") {
            let open: Open = serde_json::from_str(json)?;
            shared.opened.send_modify(|all| all.push(open));
        }
    }
    // The coordinator has seen the end; give streams a moment to deliver it too.
    let all_done = async {
        while shared.done.load(Ordering::Relaxed) < plan.count {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    if tokio::time::timeout(FINISH_GRACE, all_done).await.is_err() {
        shared.cancel.cancel();
    }
    let mut records = Vec::with_capacity(plan.count);
    for h in handles {
        if let Ok(r) = h.await {
            records.push(r);
        }
    }
    progress.abort();
    let result = reduce(&records, &finish, plan.nchan_messages.is_some());
    println!("result {}", serde_json::to_string(&result)?);
    Ok(())
}

async fn report_progress(shared: Arc<Shared>, count: usize) {
    let mut ready_sent = false;
    loop {
        let connected = shared.connected.load(Ordering::Relaxed);
        let done = shared.done.load(Ordering::Relaxed);
        let answered = shared.answered.load(Ordering::Relaxed);
        println!("progress {connected} {answered} {done}");
        if !ready_sent && connected + done >= count {
            println!("ready");
            ready_sent = true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn reduce(records: &[Record], finish: &Finish, nchan: bool) -> WorkerResult {
    let mut out = WorkerResult {
        players: records.len() as u64,
        ..Default::default()
    };
    let mut connect = Hist::default();
    let mut answer = Hist::default();
    let mut board = Hist::default();
    let mut opened = Hist::default();
    // This process's accepted answers per session, by version, to match against boards.
    let mut by_session: HashMap<&str, Vec<(u64, u64)>> = HashMap::new();
    for r in records {
        if let Some(us) = r.connect_us {
            out.connected += 1;
            connect.record_us(us);
        }
        if let Some(e) = &r.failed {
            out.failed += 1;
            if out.errors.len() < 5 {
                out.errors.push(e.clone());
            }
        }
        out.drops += u64::from(r.drops);
        out.events += r.events;
        out.game_events += r.game_events;
        for a in &r.answers {
            out.answers_sent += 1;
            *out.statuses.entry(a.status).or_default() += 1;
            if a.status != 200 {
                continue;
            }
            answer.record_us(a.reply_us.saturating_sub(a.send_us));
            *out.points_by_session.entry(r.code.clone()).or_default() += a.points;
            *out.accepted_by_session.entry(r.code.clone()).or_default() += 1;
            by_session
                .entry(r.code.as_str())
                .or_default()
                .push((a.version, a.send_us));
            let q = out.per_question.entry(a.index).or_default();
            q.first_send_us = if q.first_send_us == 0 {
                a.send_us
            } else {
                q.first_send_us.min(a.send_us)
            };
            q.last_reply_us = q.last_reply_us.max(a.reply_us);
            q.accepted += 1;
        }
    }
    for list in by_session.values_mut() {
        list.sort_unstable();
    }
    for r in records {
        let sent = finish.opened_us.get(&r.code);
        for (index, at, stamped) in &r.opened {
            let from = stamped.or_else(|| sent.and_then(|s| s.get(*index as usize).copied()));
            if let Some(from) = from {
                opened.record_us(at.saturating_sub(from));
            }
        }
        // Without a stream there is no board to time nor log to check.
        if nchan || r.connect_us.is_none() || r.no_stream {
            continue;
        }
        // Every answer of the session, at this subscriber: the first board at or past its
        // version reflects it.
        let answers = by_session
            .get(r.code.as_str())
            .map_or(&[][..], Vec::as_slice);
        let mut k = 0;
        for (at, version) in &r.boards {
            while k < answers.len() && answers[k].0 <= *version {
                board.record_us(at.saturating_sub(answers[k].1));
                k += 1;
            }
        }
        out.unreflected += (answers.len() - k) as u64;
        let mut seqs = r.log_seqs.clone();
        seqs.sort_unstable();
        seqs.dedup();
        let last = r.finished_seq.or(seqs.last().copied()).unwrap_or(0);
        let missing = last.saturating_sub(seqs.len() as u64);
        out.log_missing += missing;
        if missing > 0 || !r.finished {
            out.subscribers_incomplete += 1;
        }
    }
    for (name, h) in [
        ("connect", connect),
        ("answer", answer),
        ("answer_to_leaderboard", board),
        ("question_opened", opened),
    ] {
        out.hist.insert(name.into(), h.encode());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadtest::player::AnswerRec;

    fn answer(version: u64, send_us: u64) -> AnswerRec {
        AnswerRec {
            index: 0,
            send_us,
            reply_us: send_us + 500,
            status: 200,
            version,
            points: 100,
        }
    }

    fn subscriber(boards: Vec<(u64, u64)>, seqs: Vec<u64>, finished: u64) -> Record {
        Record {
            code: "ABCDEF".into(),
            connect_us: Some(1_000),
            boards,
            log_seqs: seqs,
            finished_seq: Some(finished),
            finished: true,
            ..Default::default()
        }
    }

    #[test]
    fn each_answer_is_timed_to_the_first_board_that_reflects_it() {
        let mut a = subscriber(vec![(10_000, 5), (20_000, 7)], vec![1, 2, 3], 3);
        a.answers = vec![answer(5, 9_000), answer(6, 15_000)];
        let mut b = subscriber(vec![(30_000, 6)], vec![1, 2, 3], 3);
        b.answers = vec![answer(7, 16_000)];
        let r = reduce(&[a, b], &Finish::default(), false);
        // a: v5 -> 1 ms, v6 -> 5 ms, v7 -> 4 ms; b: v5 -> 21 ms, v6 -> 15 ms, v7 never.
        let h = Hist::decode(&r.hist["answer_to_leaderboard"]).unwrap();
        assert_eq!(h.0.len(), 5);
        assert_eq!(r.unreflected, 1);
        assert_eq!(h.summary().max_ms.round(), 21.0);
        assert_eq!(r.accepted_by_session["ABCDEF"], 3);
        assert_eq!(r.points_by_session["ABCDEF"], 300);
        assert_eq!(r.log_missing, 0);
    }

    #[test]
    fn gaps_in_the_log_count_as_lost_events() {
        let complete = subscriber(vec![], vec![1, 2, 3, 4], 4);
        let gappy = subscriber(vec![], vec![1, 3, 4], 4);
        let mut unfinished = subscriber(vec![], vec![1, 2], 2);
        unfinished.finished = false;
        let r = reduce(&[complete, gappy, unfinished], &Finish::default(), false);
        assert_eq!(r.log_missing, 1);
        assert_eq!(r.subscribers_incomplete, 2);
    }
}
