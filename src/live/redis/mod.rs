//! Redis live state, shared by every node. All keys of a session carry the hash tag
//! `{CODE}` so a session lives on one Redis Cluster shard. Every write is one Lua script,
//! so it is atomic; scoring itself stays in the domain: a script gets the computed result
//! and only checks that what it was computed from has not changed.
//!
//! Keys (`P` is the prefix): `P:{C}:meta` hash (quiz, host, counters), `P:{C}:phase` the
//! session clock (JSON), `P:{C}:players` hash of player JSON, `P:{C}:board` sorted set
//! (score, then who reached it first), `P:{C}:answers` hash `index:user` → answer,
//! `P:{C}:counts` hash `index:choice` → n, `P:{C}:log` stream of log events,
//! `P:{C}:members` stream of joins, leaves and removals, `P:{C}:names` the names shown
//! (unique per session), `P:{C}:score:USER` the player's latest `score` snapshot,
//! `P:{C}:fboard` and `P:{C}:fplayers` the board and players as of the last reveal (kept
//! while an `at_reveal` question is open), `P:{C}:presence` and `P:{C}:lease`;
//! `P:sessions` set of live codes. The meta hash also holds `feedback`, `locked` and
//! `fseq` (the board version frozen with `fboard`).
//!
//! On Redis Cluster no script or MULTI may touch keys of two slots. Every script here
//! takes only keys of one session (all `{CODE}`, one slot), or one key. The keys outside a
//! session are each used alone, never with a session's keys in one call: `P:sessions` (a
//! plain SADD after the session's script created its keys, SREM after `forget` deleted
//! them, so a listed code always had its keys first) and `P:hosting:{USER}` (the host's
//! quota, tagged by the host: reserved by its own script before the session is created,
//! released by a separate ZREM after a failed creation or at the end; a reservation left
//! by a crash in between ages out of the set, see `HOSTING_TTL_MS`).
//!
//! Files: `model` (what Redis holds, as Rust reads it), `viewer` (one viewer's read),
//! `commands` (answers and phase commands), `reports` (whole-session reads: scores, counts,
//! results), `topology` (a cluster's nodes), `cluster` (waiting for a replica, readiness
//! of every shard); this one the `LiveState` impl and the keys.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fred::prelude::*;
use fred::types::scripts::Script;
use uuid::Uuid;

use super::record::{QuizPlan, TOP, opened_event};
use super::{
    AnswerInput, AnswerOutcome, AnswerRow, Applied, Clock, Joined, LiveError, LiveState,
    NewSession, Replay, SessionResults, event_id,
};
use crate::domain::deal::{DealSeed, deal};
use crate::domain::event::{
    AnswerCounts, AnswerResult, EventKind, LastAnswer, Leaderboard, Score, SessionState, You,
};
use crate::domain::leaderboard::{Board, Position};

use crate::domain::scoring::score_answer;
use crate::domain::session::{Command, Phase, Status, Step};
use crate::domain::unique_names::name_key;
use crate::domain::{DisplayName, Millis, SessionCode, UserId};
use crate::store::Store;

mod cluster;
mod commands;
mod model;
mod replica_wait;
mod reports;
pub mod topology;
mod viewer;
pub use cluster::ReplicaAck;
use model::{
    AnswerJson, Info, PlayerJson, answer_outcome, decode, parse_log, parse_page, status_of, text,
    unavailable,
};
use viewer::ViewerRead;

struct Scripts {
    create: Script,
    join: Script,
    leave: Script,
    answer: Script,
    apply: Script,
    read: Script,
    host_slot: Script,
    lock: Script,
}

/// A host's set of unfinished sessions forgets members this old (sessions whose keys
/// vanished without finishing); idle sessions finish long before.
const HOSTING_TTL_MS: Millis = 48 * 3_600_000;

pub struct RedisLive {
    client: Client,
    prefix: String,
    store: Arc<dyn Store>,
    auto_advance_ms: u32,
    info: Mutex<HashMap<SessionCode, Info>>,
    scripts: Scripts,
    /// Set on Redis Cluster: acknowledged writes wait for a replica (`cluster`).
    replica_ack: Option<ReplicaAck>,
}

impl RedisLive {
    pub fn new(client: Client, prefix: &str, store: Arc<dyn Store>, auto_advance_ms: u32) -> Self {
        Self {
            client,
            prefix: prefix.to_owned(),
            store,
            auto_advance_ms,
            info: Mutex::new(HashMap::new()),
            replica_ack: None,
            scripts: Scripts {
                create: Script::from_lua(include_str!("../lua/create.lua")),
                join: Script::from_lua(include_str!("../lua/join.lua")),
                leave: Script::from_lua(include_str!("../lua/leave.lua")),
                answer: Script::from_lua(include_str!("../lua/answer.lua")),
                apply: Script::from_lua(include_str!("../lua/apply.lua")),
                read: Script::from_lua(include_str!("../lua/read.lua")),
                host_slot: Script::from_lua(include_str!("../lua/host_slot.lua")),
                lock: Script::from_lua(include_str!("../lua/lock.lua")),
            },
        }
    }

    pub fn key(&self, code: SessionCode, part: &str) -> String {
        format!("{}:{{{code}}}:{part}", self.prefix)
    }

    /// Tagged by the host, so one script reaches it on any shard.
    fn hosting_key(&self, host: &str) -> String {
        format!("{}:hosting:{{{host}}}", self.prefix)
    }

    fn sessions_key(&self) -> String {
        format!("{}:sessions", self.prefix)
    }

    fn read_keys(&self, code: SessionCode) -> Vec<String> {
        [
            "meta", "phase", "players", "board", "answers", "log", "counts", "fboard", "fplayers",
        ]
        .iter()
        .map(|p| self.key(code, p))
        .collect()
    }

    async fn read(&self, code: SessionCode, args: Vec<String>) -> Result<Vec<Value>, LiveError> {
        let v: Value = timed(
            "read",
            self.scripts
                .read
                .evalsha_with_reload(&self.client, self.read_keys(code), args),
        )
        .await
        .map_err(unavailable)?;
        if v.is_null() {
            return Err(LiveError::NotFound);
        }
        Ok(v.into_array())
    }

    async fn info(&self, code: SessionCode) -> Result<Info, LiveError> {
        if let Some(i) = self
            .info
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&code)
        {
            return Ok(i.clone());
        }
        let meta: HashMap<String, String> = self
            .client
            .hgetall(self.key(code, "meta"))
            .await
            .map_err(unavailable)?;
        if meta.is_empty() {
            return Err(LiveError::NotFound);
        }
        let field = |k: &str| meta.get(k).cloned().unwrap_or_default();
        let quiz_id: Uuid = field("quiz_id")
            .parse()
            .map_err(|_| LiveError::Unavailable("bad quiz id in redis".into()))?;
        let quiz = self
            .store
            .quiz(quiz_id)
            .await
            .map_err(|e| LiveError::Unavailable(e.to_string()))?
            .ok_or_else(|| LiveError::Unavailable(format!("quiz {quiz_id} is gone")))?;
        let quiz = match meta.get("deal_seed") {
            Some(seed) => Arc::new(deal(
                &quiz,
                &DealSeed::parse(seed)
                    .map_err(|_| LiveError::Unavailable("bad deal seed in redis".into()))?,
            )),
            None => quiz,
        };
        let info = Info {
            quiz,
            host_id: field("host_id"),
            auto_advance: field("auto_advance") == "1",
            epoch: field("epoch").parse().unwrap_or(0),
            created_at: field("created_at").parse().unwrap_or(0),
        };
        self.info
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(code, info.clone());
        Ok(info)
    }

    async fn phase(&self, code: SessionCode) -> Result<(String, Phase), LiveError> {
        let raw: Option<String> = self
            .client
            .get(self.key(code, "phase"))
            .await
            .map_err(unavailable)?;
        let raw = raw.ok_or(LiveError::NotFound)?;
        let phase = decode(&raw)?;
        Ok((raw, phase))
    }

    /// A page of the board views show (`live`: the real one, even while it is hidden).
    async fn page(
        &self,
        code: SessionCode,
        offset: usize,
        limit: usize,
        live: bool,
    ) -> Result<Leaderboard, LiveError> {
        let v = self
            .read(
                code,
                vec![
                    "page".into(),
                    offset.to_string(),
                    limit.to_string(),
                    if live { "live" } else { "" }.into(),
                ],
            )
            .await?;
        Ok(parse_page(&v, offset))
    }

    /// The leave script, for a player leaving or the host removing them.
    async fn drop_player(
        &self,
        code: SessionCode,
        user: &str,
        how: &str,
    ) -> Result<String, LiveError> {
        let keys = ["meta", "players", "board", "members", "fboard"].map(|p| self.key(code, p));
        timed(
            "leave",
            self.scripts
                .leave
                .evalsha_with_reload(&self.client, keys.to_vec(), vec![user, how]),
        )
        .await
        .map_err(unavailable)
    }

    async fn all(
        &self,
        code: SessionCode,
    ) -> Result<
        (
            Phase,
            Vec<(String, PlayerJson)>,
            Vec<AnswerJson>,
            Vec<String>,
        ),
        LiveError,
    > {
        let v = self.read(code, vec!["all".into()]).await?;
        let phase = decode(&text(&v[0]).unwrap_or_default())?;
        let flat =
            |v: &Value| -> Vec<String> { v.clone().into_array().iter().filter_map(text).collect() };
        let players_flat = flat(&v[1]);
        let mut players = Vec::new();
        for pair in players_flat.chunks(2) {
            if let [user, raw] = pair {
                players.push((user.clone(), decode::<PlayerJson>(raw)?));
            }
        }
        let answers_flat = flat(&v[2]);
        let mut answers = Vec::new();
        let mut answer_users = Vec::new();
        for pair in answers_flat.chunks(2) {
            if let [key, raw] = pair {
                answers.push(decode::<AnswerJson>(raw)?);
                answer_users.push(
                    key.split_once(':')
                        .map(|(_, u)| u.to_owned())
                        .unwrap_or_default(),
                );
            }
        }
        Ok((phase, players, answers, answer_users))
    }
}

#[async_trait]
impl LiveState for RedisLive {
    async fn create(&self, s: NewSession) -> Result<(), LiveError> {
        let epoch = (s.created_at / 1000).max(1) as u64;
        let phase = serde_json::to_string(&Phase::lobby()).unwrap_or_default();
        let created: i64 = timed(
            "create",
            self.scripts.create.evalsha_with_reload(
                &self.client,
                vec![self.key(s.code, "meta"), self.key(s.code, "phase")],
                vec![
                    s.quiz.id.to_string(),
                    s.host_id.clone(),
                    if s.auto_advance { "1" } else { "0" }.to_owned(),
                    s.max_players.to_string(),
                    epoch.to_string(),
                    s.created_at.to_string(),
                    phase,
                    s.seed.to_string(),
                    s.feedback.as_str().to_owned(),
                ],
            ),
        )
        .await
        .map_err(unavailable)?;
        if created == 0 {
            return Err(LiveError::CodeTaken);
        }
        let _: i64 = self
            .client
            .sadd(self.sessions_key(), s.code.to_string())
            .await
            .map_err(unavailable)?;
        // Two shards in a cluster: the session's and the one holding `P:sessions`.
        self.replicated(s.code).await;
        self.replicated_key(&self.sessions_key()).await;
        Ok(())
    }

    async fn state(
        &self,
        code: SessionCode,
        viewer: Option<&str>,
        now: Millis,
    ) -> Result<(SessionState, u64), LiveError> {
        let info = self.info(code).await?;
        let most = most_choices(&info);
        let r = self
            .viewer(code, viewer.unwrap_or(""), true, false, most)
            .await?;
        let top = r.top.clone().unwrap_or(Leaderboard {
            players: 0,
            entries: Vec::new(),
            version: 0,
        });
        // During a reveal: the revealed question, how the room answered and how you did.
        let revealed = r
            .phase
            .question_index
            .filter(|_| r.phase.status == Status::Reveal)
            .and_then(|i| info.quiz.question(i));
        let you = Self::snapshot(&info, &r).and_then(|score| {
            let p = r.player.as_ref()?;
            Some(You {
                joined: !p.l,
                score: p.s,
                rank: score.rank,
                streak: score.streak,
                last: revealed.map(|_| {
                    r.now_answer.as_ref().map(|a| {
                        let o = a.outcome();
                        LastAnswer {
                            choice: a.choice,
                            correct: o.correct,
                            awarded_points: o.awarded_points,
                        }
                    })
                }),
                removed: p.k,
            })
        });
        let question = super::record::question_view(&info.quiz, &r.phase, now).map(|view| {
            match (revealed, &r.counts) {
                (Some(q), Some(counts)) => {
                    let counts = counts.iter().take(q.choices.len()).copied().collect();
                    view.revealed(q.correct_choice, counts)
                }
                _ => view,
            }
        });
        let state = SessionState {
            session_id: code.to_string(),
            quiz_title: info.quiz.title.clone(),
            status: r.phase.status,
            question_index: r.phase.question_index,
            question_count: info.quiz.question_count(),
            question,
            players: top.players,
            leaderboard: top.entries,
            you,
            locked: r.locked,
            auto_advance: info.auto_advance,
            next_at: SessionState::next_at(&r.phase),
        };
        Ok((state, event_id(info.epoch, r.logseq)))
    }

    async fn clock(&self, code: SessionCode) -> Result<Clock, LiveError> {
        let info = self.info(code).await?;
        let (_, phase) = self.phase(code).await?;
        Ok(Clock {
            phase,
            host_id: info.host_id,
            question_count: info.quiz.question_count(),
            created_at: info.created_at,
        })
    }

    async fn reserve_host_slot(
        &self,
        host: &str,
        code: SessionCode,
        max: u32,
        now: Millis,
    ) -> Result<bool, LiveError> {
        let reserved: i64 = timed(
            "host_slot",
            self.scripts.host_slot.evalsha_with_reload(
                &self.client,
                vec![self.hosting_key(host)],
                vec![
                    code.to_string(),
                    now.to_string(),
                    max.to_string(),
                    (now - HOSTING_TTL_MS).to_string(),
                    HOSTING_TTL_MS.to_string(),
                ],
            ),
        )
        .await
        .map_err(unavailable)?;
        Ok(reserved == 1)
    }

    async fn release_host_slot(&self, host: &str, code: SessionCode) -> Result<(), LiveError> {
        let _: i64 = self
            .client
            .zrem(self.hosting_key(host), code.to_string())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn join(
        &self,
        code: SessionCode,
        user: &str,
        name: &DisplayName,
    ) -> Result<Joined, LiveError> {
        let keys = [
            "meta", "phase", "players", "board", "members", "names", "fboard", "fplayers",
        ]
        .map(|p| self.key(code, p));
        let key = name_key(name.as_str());
        let reply: String = timed(
            "join",
            self.scripts.join.evalsha_with_reload(
                &self.client,
                keys.to_vec(),
                vec![user, name.as_str(), key.as_str()],
            ),
        )
        .await
        .map_err(unavailable)?;
        if reply == "CHANGED" || reply == "SAME" {
            self.replicated(code).await;
        }
        match reply.as_str() {
            "CHANGED" => Ok(Joined { changed: true }),
            "SAME" => Ok(Joined { changed: false }),
            "FULL" => Err(LiveError::Full),
            "LOCKED" => Err(LiveError::Locked),
            "REMOVED" => Err(LiveError::Removed),
            "FINISHED" => Err(LiveError::Finished),
            _ => Err(LiveError::NotFound),
        }
    }

    async fn leave(&self, code: SessionCode, user: &str) -> Result<bool, LiveError> {
        match self.drop_player(code, user, "leave").await?.as_str() {
            "CHANGED" => Ok(true),
            "SAME" => Ok(false),
            _ => Err(LiveError::NotFound),
        }
    }

    async fn set_locked(&self, code: SessionCode, locked: bool) -> Result<(), LiveError> {
        let done: i64 = timed(
            "lock",
            self.scripts.lock.evalsha_with_reload(
                &self.client,
                vec![self.key(code, "meta")],
                vec![if locked { "1" } else { "0" }],
            ),
        )
        .await
        .map_err(unavailable)?;
        if done == 0 {
            return Err(LiveError::NotFound);
        }
        Ok(())
    }

    async fn remove(&self, code: SessionCode, user: &str) -> Result<bool, LiveError> {
        match self.drop_player(code, user, "remove").await?.as_str() {
            "CHANGED" => Ok(true),
            "SAME" => Ok(false),
            "NOPLAYER" => Err(LiveError::NoSuchPlayer),
            _ => Err(LiveError::NotFound),
        }
    }

    async fn is_removed(&self, code: SessionCode, user: &str) -> Result<bool, LiveError> {
        let raw: Option<String> = self
            .client
            .hget(self.key(code, "players"), user)
            .await
            .map_err(unavailable)?;
        Ok(raw
            .and_then(|raw| decode::<PlayerJson>(&raw).ok())
            .is_some_and(|p| p.k))
    }

    /// The apply script switches views back to the real standings with the close itself.
    async fn revealed(&self, _code: SessionCode) -> Result<(), LiveError> {
        Ok(())
    }

    async fn answer(
        &self,
        code: SessionCode,
        input: AnswerInput,
        now: Millis,
    ) -> Result<AnswerOutcome, LiveError> {
        self.write_answer(code, input, now).await
    }

    async fn apply(
        &self,
        code: SessionCode,
        cmd: Command,
        now: Millis,
    ) -> Result<Applied, LiveError> {
        self.write_phase(code, cmd, now).await
    }

    async fn leaderboard(
        &self,
        code: SessionCode,
        offset: usize,
        limit: usize,
    ) -> Result<Leaderboard, LiveError> {
        self.page(code, offset, limit, false).await
    }

    async fn score(&self, code: SessionCode, user: &str) -> Result<Option<Score>, LiveError> {
        let info = self.info(code).await?;
        let r = self.viewer(code, user, false, false, 0).await?;
        Ok(Self::snapshot(&info, &r))
    }

    async fn scores(&self, code: SessionCode) -> Result<Vec<(UserId, Score)>, LiveError> {
        self.read_scores(code).await
    }

    async fn log_since(&self, code: SessionCode, after: u64) -> Result<Replay, LiveError> {
        let info = self.info(code).await?;
        let (epoch, seq) = super::split_event_id(after);
        if epoch != info.epoch {
            return Ok(Replay::Unknown);
        }
        let v = self.read(code, vec!["log".into(), seq.to_string()]).await?;
        let items: Vec<String> = v.iter().filter_map(text).collect();
        if items.first().map(String::as_str) != Some("OK") {
            return Ok(Replay::Unknown);
        }
        Ok(Replay::Entries(parse_log(info.epoch, &items[1..])))
    }

    async fn open_counts(&self, code: SessionCode) -> Result<Option<AnswerCounts>, LiveError> {
        self.read_open_counts(code).await
    }

    async fn results(&self, code: SessionCode) -> Result<SessionResults, LiveError> {
        self.read_results(code).await
    }

    async fn names(&self, code: SessionCode, users: &[UserId]) -> Result<Vec<String>, LiveError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let raw: Vec<Option<String>> = self
            .client
            .hmget(self.key(code, "players"), users.to_vec())
            .await
            .map_err(unavailable)?;
        Ok(raw
            .into_iter()
            .map(|r| {
                r.and_then(|r| decode::<PlayerJson>(&r).ok())
                    .map(|p| p.n)
                    .unwrap_or_default()
            })
            .collect())
    }

    async fn player_ids(&self, code: SessionCode) -> Result<Vec<UserId>, LiveError> {
        self.client
            .zrange(self.key(code, "board"), 0, -1, None, false, None, false)
            .await
            .map_err(unavailable)
    }

    async fn sessions(&self) -> Result<Vec<SessionCode>, LiveError> {
        let codes: Vec<String> = self
            .client
            .smembers(self.sessions_key())
            .await
            .map_err(unavailable)?;
        Ok(codes
            .iter()
            .filter_map(|c| SessionCode::parse(c).ok())
            .collect())
    }

    async fn forget(&self, code: SessionCode) -> Result<(), LiveError> {
        let users: Vec<String> = self
            .client
            .hkeys(self.key(code, "players"))
            .await
            .map_err(unavailable)?;
        let mut keys: Vec<String> = [
            "meta", "phase", "players", "board", "answers", "counts", "log", "members", "presence",
            "lease", "names", "fboard", "fplayers",
        ]
        .iter()
        .map(|p| self.key(code, p))
        .collect();
        keys.extend(users.iter().map(|u| self.key(code, &format!("score:{u}"))));
        let _: i64 = self.client.del(keys).await.map_err(unavailable)?;
        let _: i64 = self
            .client
            .srem(self.sessions_key(), code.to_string())
            .await
            .map_err(unavailable)?;
        self.info
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&code);
        Ok(())
    }

    async fn ping(&self) -> Result<(), LiveError> {
        if self.client.is_clustered() {
            return self.ping_every_primary().await;
        }
        let _: Value = self.client.ping(None).await.map_err(unavailable)?;
        Ok(())
    }
}

/// The most choices any question of the session has (how many counts a reveal reads).
fn most_choices(info: &Info) -> usize {
    info.quiz
        .questions
        .iter()
        .map(|q| q.choices.len())
        .max()
        .unwrap_or(0)
}

/// Awaits one Redis round trip and records how long it took, by operation.
pub(crate) async fn timed<T>(op: &'static str, call: impl std::future::Future<Output = T>) -> T {
    let started = std::time::Instant::now();
    let out = call.await;
    metrics::histogram!("quizcast_redis_command_seconds", "op" => op)
        .record(started.elapsed().as_secs_f64());
    out
}
