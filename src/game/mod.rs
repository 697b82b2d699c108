//! The game service: what HTTP handlers call. It drives live state, publishes what changed
//! to the hub, and keeps one runner per session for timers and coalesced snapshots.
//! Rules live in the domain; storage in `live` and `store`; this module only orchestrates.

mod runner;
pub mod signals;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::domain::deal::{DealSeed, deal};
use crate::domain::event::{
    AnswerResult, EventKind, Member, Presence, Roster, RosterEntry, Score, SessionState,
};
use crate::domain::feedback::Feedback;
use crate::domain::quiz::Quiz;
use crate::domain::session::Command;
use crate::domain::{DisplayName, Millis, SessionCode, UserId};
use crate::hub::redis::{Change, ChangeSink, Shared};
use crate::hub::{EncodedEvent, Hub};
use crate::live::{AnswerInput, AnswerOutcome, Applied, LiveError, LiveState, NewSession};
use crate::store::Store;
use signals::Signals;

pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

#[derive(Debug, thiserror::Error)]
pub enum GameError {
    #[error(transparent)]
    Live(#[from] LiveError),
    #[error("only the host may do this")]
    NotHost,
    #[error("could not allocate a session code")]
    NoCode,
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("only the quiz's author may start sessions of it")]
    NotAuthor,
    #[error("the host never plays their own session")]
    HostCannotPlay,
    #[error("quota reached: at most {limit} {what}")]
    Quota { what: &'static str, limit: u64 },
}

/// How a new session plays.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub auto_advance: bool,
    pub max_players: u32,
    pub feedback: Feedback,
}

/// What one user may hold, and how long a session may sit idle.
#[derive(Debug, Clone, Copy)]
pub struct Quotas {
    pub sessions_per_host: u32,
    pub quizzes_per_author: u64,
    /// A session with no host call and no answer for this long finishes by itself.
    pub idle_ms: Millis,
}

pub struct Game {
    pub live: Arc<dyn LiveState>,
    pub store: Arc<dyn Store>,
    pub hub: Arc<Hub>,
    runners: Mutex<HashMap<SessionCode, Arc<Signals>>>,
    pub shutdown: CancellationToken,
    tasks: TaskTracker,
    /// Set when live state is shared through Redis with other nodes.
    pub shared: Option<Arc<Shared>>,
    pub quotas: Quotas,
    me: Weak<Game>,
}

impl Game {
    pub fn new(
        live: Arc<dyn LiveState>,
        store: Arc<dyn Store>,
        hub: Arc<Hub>,
        shutdown: CancellationToken,
        shared: Option<Arc<Shared>>,
        quotas: Quotas,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            live,
            store,
            hub,
            runners: Mutex::new(HashMap::new()),
            shutdown,
            tasks: TaskTracker::new(),
            shared,
            quotas,
            me: me.clone(),
        })
    }

    /// Starts runners for every session the live state holds (after a restart). With
    /// shared state, keeps doing so, so some node always runs each session's clock.
    pub async fn resume(self: &Arc<Self>) -> Result<usize, GameError> {
        if let Some(shared) = &self.shared {
            // Alive before any presence entry names this node.
            shared.beat(now_ms()).await?;
            self.tasks
                .spawn(heartbeat(Arc::downgrade(self), self.shutdown.clone()));
        }
        let codes = self.live.sessions().await?;
        for code in &codes {
            self.ensure_runner(*code).await?;
        }
        if self.shared.is_some() {
            let me = Arc::downgrade(self);
            let shutdown = self.shutdown.clone();
            self.tasks.spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(2));
                loop {
                    tokio::select! {
                        _ = every.tick() => {}
                        _ = shutdown.cancelled() => return,
                    }
                    let Some(game) = me.upgrade() else { return };
                    if let Ok(codes) = game.live.sessions().await {
                        for code in codes {
                            let _ = game.ensure_runner(code).await;
                        }
                    }
                }
            });
        }
        Ok(codes.len())
    }

    /// Shared mode: which nodes are alive changed, or this node's own entries must be
    /// written again; every runner here re-reads (and then rewrites) its presence.
    fn nodes_changed(&self, rewrite: bool) {
        let runners = self.runners.lock().unwrap_or_else(|e| e.into_inner());
        for signals in runners.values() {
            if rewrite {
                signals.rewrite_presence();
            } else {
                signals.remote_presence_changed();
            }
        }
    }

    /// Makes sure this node runs the session's runner. With shared state the runner
    /// follows the log from the current position, taken here, before any caller subscribes.
    pub async fn ensure_runner(self: &Arc<Self>, code: SessionCode) -> Result<(), GameError> {
        if self.signals(code).is_some() {
            return Ok(());
        }
        let from = match self.shared {
            Some(_) => self.live.state(code, None, now_ms()).await?.1,
            None => 0,
        };
        self.start_runner(code, from);
        Ok(())
    }

    /// Waits for every runner to stop (after `shutdown` is cancelled).
    pub async fn stopped(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }

    fn start_runner(self: &Arc<Self>, code: SessionCode, log_from: u64) {
        let signals = {
            let mut runners = self.runners.lock().unwrap_or_else(|e| e.into_inner());
            if runners.contains_key(&code) {
                return;
            }
            let signals = Arc::new(Signals::default());
            runners.insert(code, signals.clone());
            signals
        };
        let game = self.clone();
        self.tasks.spawn(async move {
            runner::run(game.clone(), code, signals, log_from).await;
            game.runners
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&code);
        });
    }

    fn signals(&self, code: SessionCode) -> Option<Arc<Signals>> {
        self.runners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&code)
            .cloned()
    }

    pub async fn create_session(
        self: &Arc<Self>,
        quiz: Arc<Quiz>,
        host_id: UserId,
        settings: Settings,
    ) -> Result<SessionCode, GameError> {
        let Settings {
            auto_advance,
            max_players,
            feedback,
        } = settings;
        // Hosting a copy of someone else's quiz would reveal its answers to the copier.
        if !quiz.demo && quiz.author_id.as_deref() != Some(host_id.as_str()) {
            return Err(GameError::NotAuthor);
        }
        let seed = DealSeed::random(&mut rand::rng());
        let quiz = Arc::new(deal(&quiz, &seed));
        for _ in 0..16 {
            let code = SessionCode::random(&mut rand::rng());
            if self.store.results(code).await?.is_some() {
                continue;
            }
            let max = self.quotas.sessions_per_host;
            if !self
                .live
                .reserve_host_slot(&host_id, code, max, now_ms())
                .await?
            {
                return Err(GameError::Quota {
                    what: "unfinished sessions per host",
                    limit: u64::from(max),
                });
            }
            let session = NewSession {
                code,
                quiz: quiz.clone(),
                seed,
                host_id: host_id.clone(),
                auto_advance,
                max_players,
                feedback,
                created_at: now_ms(),
            };
            match self.live.create(session).await {
                Ok(()) => {
                    self.ensure_runner(code).await?;
                    metrics::counter!("quizcast_sessions_created_total").increment(1);
                    return Ok(code);
                }
                Err(e) => {
                    self.live.release_host_slot(&host_id, code).await?;
                    match e {
                        LiveError::CodeTaken => continue,
                        e => return Err(e.into()),
                    }
                }
            }
        }
        Err(GameError::NoCode)
    }

    pub async fn state(
        &self,
        code: SessionCode,
        viewer: Option<&str>,
    ) -> Result<(SessionState, u64), GameError> {
        match self.live.state(code, viewer, now_ms()).await {
            Err(LiveError::NotFound) => {
                // A finished session that left live state: its results tell the final state.
                let results = self.store.results(code).await?.ok_or(LiveError::NotFound)?;
                Ok((final_state(&results, viewer), 0))
            }
            other => Ok(other?),
        }
    }

    /// The users with a live connection to `code` on any node (players or not).
    async fn online_users(&self, code: SessionCode) -> Result<HashSet<String>, GameError> {
        Ok(match &self.shared {
            Some(shared) => shared.presence(code, Vec::new()).await?,
            None => self.hub.topic(code).online_users(now_ms()),
        }
        .into_iter()
        .collect())
    }

    /// Who is here right now: current counts, and the names the last `presence` event listed.
    pub async fn presence_now(&self, code: SessionCode) -> Result<Presence, GameError> {
        let players: HashSet<String> = self.live.player_ids(code).await?.into_iter().collect();
        let online = self.online_users(code).await?;
        let online = players.iter().filter(|u| online.contains(*u)).count() as u32;
        let last: Option<Presence> = self
            .hub
            .topic(code)
            .latest(EventKind::Presence)
            .and_then(|f| serde_json::from_str(&f.data).ok());
        let (joined, left) = last.map(|p| (p.joined, p.left)).unwrap_or_default();
        Ok(Presence {
            players: players.len() as u32,
            online,
            joined,
            left,
        })
    }

    /// Host: a page of the leaderboard with who is online.
    pub async fn roster(
        &self,
        code: SessionCode,
        host: &str,
        offset: usize,
        limit: usize,
    ) -> Result<Roster, GameError> {
        self.check_host(code, host).await?;
        let players = self.live.player_ids(code).await?;
        let online = self.online_users(code).await?;
        let board = self.live.leaderboard(code, offset, limit).await?;
        Ok(Roster {
            players: board.players,
            online: players.iter().filter(|u| online.contains(*u)).count() as u32,
            entries: board
                .entries
                .into_iter()
                .map(|e| RosterEntry {
                    online: online.contains(&e.user_id),
                    rank: e.rank,
                    user_id: e.user_id,
                    display_name: e.display_name,
                    score: e.score,
                })
                .collect(),
        })
    }

    /// Drops a finished session from live state (its results are stored).
    async fn forget(&self, code: SessionCode) {
        if let Err(e) = self.live.forget(code).await {
            tracing::warn!(%code, error = %e, "forgetting a finished session failed");
        }
        self.hub.forget(code);
    }

    pub async fn join(
        &self,
        code: SessionCode,
        user: &str,
        name: &DisplayName,
    ) -> Result<SessionState, GameError> {
        // A host who also played would see every answer before the room does.
        if self.live.clock(code).await?.host_id == user {
            return Err(GameError::HostCannotPlay);
        }
        let joined = self.live.join(code, user, name).await?;
        if joined.changed
            && self.shared.is_none()
            && let Some(s) = self.signals(code)
        {
            s.joined(Member {
                user_id: user.to_owned(),
                display_name: name.to_string(),
            });
        }
        Ok(self.live.state(code, Some(user), now_ms()).await?.0)
    }

    pub async fn leave(&self, code: SessionCode, user: &str) -> Result<(), GameError> {
        if self.live.leave(code, user).await? && self.shared.is_none() {
            let name = self
                .live
                .names(code, &[user.to_owned()])
                .await?
                .pop()
                .unwrap_or_default();
            if let Some(s) = self.signals(code) {
                s.left(Member {
                    user_id: user.to_owned(),
                    display_name: name,
                });
            }
        }
        Ok(())
    }

    pub async fn answer(
        self: &Arc<Self>,
        code: SessionCode,
        input: AnswerInput,
    ) -> Result<AnswerOutcome, GameError> {
        let user = input.user_id.clone();
        let outcome = self.live.answer(code, input, now_ms()).await?;
        let label = match &outcome {
            AnswerOutcome::Accepted { .. } => "accepted",
            AnswerOutcome::Replayed(_) => "replayed",
            AnswerOutcome::Conflict(_) => "conflict",
        };
        metrics::counter!("quizcast_answers_total", "outcome" => label).increment(1);
        if let AnswerOutcome::Accepted {
            result,
            index,
            all_answered,
        } = &outcome
        {
            // Shared state: the answer's own write notifies every node, this one included.
            if self.shared.is_none() {
                self.publish_answer(code, &user, result);
            }
            if *all_answered {
                let game = self.clone();
                let index = *index;
                tokio::spawn(async move {
                    if let Err(e) = game.apply(code, Command::AllAnswered { index }).await {
                        tracing::warn!(%code, error = %e, "closing an answered question failed");
                    }
                });
            }
        }
        Ok(outcome)
    }

    fn publish_answer(&self, code: SessionCode, user: &str, result: &AnswerResult) {
        // An `at_reveal` reply says nothing of the result: the `score` waits for the close.
        if let (Some(correct), Some(awarded_points)) = (result.correct, result.awarded_points) {
            let score = Score {
                question_id: Some(result.question_id),
                correct: Some(correct),
                awarded_points,
                score: result.score,
                rank: result.rank,
                streak: result.streak,
            };
            self.hub
                .publish_private(code, user, EncodedEvent::of(None, EventKind::Score, &score));
        }
        // The host's answer counts move either way.
        if let Some(s) = self.signals(code) {
            s.leaderboard_changed();
        }
    }

    /// A host command: checks the caller, applies it, returns the new state.
    pub async fn host(
        self: &Arc<Self>,
        code: SessionCode,
        user: &str,
        cmd: Command,
    ) -> Result<SessionState, GameError> {
        let clock = self.live.clock(code).await?;
        if clock.host_id != user {
            return Err(GameError::NotHost);
        }
        self.apply(code, cmd).await?;
        Ok(self.live.state(code, Some(user), now_ms()).await?.0)
    }

    /// Host: locks the session to new players (or opens it again).
    pub async fn set_locked(
        &self,
        code: SessionCode,
        user: &str,
        locked: bool,
    ) -> Result<SessionState, GameError> {
        self.check_host(code, user).await?;
        self.live.set_locked(code, locked).await?;
        Ok(self.live.state(code, Some(user), now_ms()).await?.0)
    }

    /// Host: removes a player for good. They leave the board, are listed in the next
    /// `presence` as left, and their open streams end here (other nodes end theirs when
    /// they read the removal from the members stream).
    pub async fn remove_player(
        &self,
        code: SessionCode,
        host: &str,
        player: &str,
    ) -> Result<(), GameError> {
        self.check_host(code, host).await?;
        if self.live.remove(code, player).await? && self.shared.is_none() {
            let name = self
                .live
                .names(code, &[player.to_owned()])
                .await?
                .pop()
                .unwrap_or_default();
            if let Some(s) = self.signals(code) {
                s.left(Member {
                    user_id: player.to_owned(),
                    display_name: name,
                });
            }
        }
        // Also on a repeat: a stream opened in between must not outlive the removal.
        self.hub.disconnect_user(code, player);
        Ok(())
    }

    /// Whether `user` may follow the session's events: anyone may, except a player the host
    /// removed. `NotFound` for an unknown code.
    pub async fn may_watch(&self, code: SessionCode, user: &str) -> Result<(), GameError> {
        self.live.clock(code).await?;
        match self.live.is_removed(code, user).await? {
            true => Err(LiveError::Removed.into()),
            false => Ok(()),
        }
    }

    pub async fn check_host(&self, code: SessionCode, user: &str) -> Result<(), GameError> {
        if self.live.clock(code).await?.host_id != user {
            return Err(GameError::NotHost);
        }
        Ok(())
    }

    /// Applies a command and publishes what it logged. Used by hosts and by runners.
    pub async fn apply(
        self: &Arc<Self>,
        code: SessionCode,
        cmd: Command,
    ) -> Result<Applied, GameError> {
        let applied = self.live.apply(code, cmd, now_ms()).await?;
        if applied
            .entries
            .iter()
            .any(|e| e.kind == EventKind::SessionFinished)
        {
            if let Ok(clock) = self.live.clock(code).await {
                self.live.release_host_slot(&clock.host_id, code).await?;
            }
            // Stored before anyone hears of the finish, so results and history are there
            // for whoever asks next (the runner retries if this attempt fails).
            self.save_results_once(code).await;
        }
        for entry in &applied.entries {
            // Shared state: runners on every node follow the log and publish it.
            if self.shared.is_none() {
                let frame = EncodedEvent::new(Some(entry.id), entry.kind, entry.data.clone());
                self.hub.publish(code, frame);
            }
            // Out now: views may show the standings the close settled, and each player
            // hears how they did.
            match entry.kind {
                EventKind::QuestionClosed => {
                    self.live.revealed(code).await?;
                    self.publish_scores(code).await?;
                }
                EventKind::SessionFinished => self.live.revealed(code).await?,
                _ => {}
            }
        }
        if !applied.entries.is_empty()
            && let Some(s) = self.signals(code)
        {
            s.state_changed();
            s.log_changed();
        }
        Ok(applied)
    }

    /// Sends every player their `score` snapshot (after a question closes).
    async fn publish_scores(&self, code: SessionCode) -> Result<(), GameError> {
        let scores = self.live.scores(code).await?;
        if let Some(shared) = &self.shared {
            shared.write_scores(code, &scores).await?;
            return Ok(());
        }
        for (user, score) in scores {
            self.hub.publish_private(
                code,
                &user,
                EncodedEvent::of(None, EventKind::Score, &score),
            );
        }
        Ok(())
    }

    /// Saves a new quiz unless its author already has as many as the quota allows.
    pub async fn save_quiz(&self, quiz: &Quiz) -> Result<(), GameError> {
        let limit = self.quotas.quizzes_per_author;
        if let Some(author) = &quiz.author_id
            && self.store.quiz_count(author).await? >= limit
        {
            return Err(GameError::Quota {
                what: "quizzes per author",
                limit,
            });
        }
        self.store.save_quiz(quiz, now_ms()).await?;
        Ok(())
    }

    /// Writes a finished session's results to the store, retrying until it works or the
    /// server stops (the live state keeps them meanwhile).
    async fn save_results_once(&self, code: SessionCode) {
        let attempt = async {
            let results = self.live.results(code).await?;
            self.store.save_results(&results).await?;
            Ok::<_, GameError>(())
        };
        if let Err(e) = attempt.await {
            tracing::warn!(%code, error = %e, "saving results failed; the runner retries");
        }
    }

    /// Returns whether they are stored.
    async fn save_results(&self, code: SessionCode) -> bool {
        let mut backoff = Duration::from_millis(100);
        loop {
            let attempt = async {
                let results = self.live.results(code).await?;
                self.store.save_results(&results).await?;
                Ok::<_, GameError>(())
            };
            match attempt.await {
                Ok(()) => return true,
                Err(e) => tracing::warn!(%code, error = %e, "saving results failed; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = self.shutdown.cancelled() => return false,
            }
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }
}

/// Shared mode: renews this node's heartbeat every `BEAT_EVERY` until shutdown, and tells
/// the runners when another node came or went (see `hub::heartbeat`).
async fn heartbeat(game: Weak<Game>, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(crate::hub::heartbeat::BEAT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        let Some(game) = game.upgrade() else { return };
        let Some(shared) = &game.shared else { return };
        match shared.beat(now_ms()).await {
            Ok(beat) if beat.lapsed => {
                tracing::warn!(node = %shared.instance, "heartbeat had lapsed; recording presence again");
                game.nodes_changed(true);
            }
            Ok(beat) if beat.changed => game.nodes_changed(false),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "node heartbeat failed"),
        }
    }
}

/// The `session_state` of a finished session, rebuilt from its stored results.
fn final_state(r: &crate::live::SessionResults, viewer: Option<&str>) -> SessionState {
    use crate::domain::event::{LeaderboardEntry, You};
    let entry = |s: &crate::live::Standing| LeaderboardEntry {
        rank: s.rank,
        user_id: s.user_id.clone(),
        display_name: s.display_name.clone(),
        score: s.score,
    };
    SessionState {
        session_id: r.code.to_string(),
        quiz_title: r.quiz_title.clone(),
        status: crate::domain::session::Status::Finished,
        question_index: r.last_index,
        question_count: r.question_count,
        question: None,
        players: r.standings.len() as u32,
        leaderboard: r
            .standings
            .iter()
            .take(crate::live::record::TOP)
            .map(entry)
            .collect(),
        you: viewer.and_then(|v| {
            let s = r.standings.iter().find(|s| s.user_id == v)?;
            Some(You {
                joined: true,
                score: s.score,
                rank: s.rank,
                streak: 0,
                last: None,
                removed: false,
            })
        }),
        locked: false,
        auto_advance: false,
        next_at: None,
    }
}

impl ChangeSink for Game {
    fn changed(&self, code: SessionCode, change: Change) {
        let Some(signals) = self.signals(code) else {
            // A session this node has not seen yet: start following it.
            if let Some(game) = self.me.upgrade() {
                tokio::spawn(async move {
                    let _ = game.ensure_runner(code).await;
                });
            }
            return;
        };
        match change {
            Change::Phase => signals.state_changed(),
            Change::Log => signals.log_changed(),
            Change::Board => signals.leaderboard_changed(),
            Change::Members => signals.members_changed(),
            Change::Presence => signals.remote_presence_changed(),
            // Delivered by the runner after it follows the log, so a player never sees
            // the new score before the question_closed that caused it.
            Change::Score(user) => {
                if self.hub.topic(code).has_subscriber(&user) {
                    signals.score_changed(user);
                }
            }
            Change::Other => {}
        }
    }

    fn resync(&self) {
        let runners = self.runners.lock().unwrap_or_else(|e| e.into_inner());
        for signals in runners.values() {
            signals.everything_changed();
        }
    }
}
