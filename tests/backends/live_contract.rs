//! The `LiveState` contract. Each backend provides a factory; calling it again gives a
//! second handle on the same backing data (a restarted process, or another node), which
//! must see everything the first one acknowledged.

use std::future::Future;
use std::sync::Arc;

use quizcast::demo;
use quizcast::domain::deal::{DealSeed, deal};
use quizcast::domain::event::{EventKind, LastAnswer};
use quizcast::domain::feedback::Feedback;
use quizcast::domain::session::{Command, Status};
use quizcast::domain::{DisplayName, SessionCode};
use quizcast::live::embedded::EmbeddedLive;
use quizcast::live::{AnswerInput, AnswerOutcome, LiveError, LiveState, NewSession, Replay};
use quizcast::store::Store;
use quizcast::store::db::connect;
use quizcast::store::journal::Journal;
use quizcast::store::sql::SqlStore;

use quizcast::live::redis::RedisLive;

use super::services::{fresh_postgres, fresh_redis};

fn name(n: &str) -> DisplayName {
    DisplayName::parse(n).unwrap()
}

fn input(user: &str, q: uuid::Uuid, choice: i64, nonce: Option<&str>) -> AnswerInput {
    AnswerInput {
        user_id: user.into(),
        question_id: q,
        choice,
        nonce: nonce.map(Into::into),
    }
}

/// Names are unique per session (case-insensitive), returning players keep theirs, and a
/// host's unfinished sessions are counted atomically against the quota.
async fn names_and_host_slots(live: &dyn LiveState) {
    let seed = DealSeed::parse(&"a7".repeat(32)).unwrap();
    let code = SessionCode::parse("NAMES2").unwrap();
    let t0 = 1_800_000_000_000;
    assert!(live.reserve_host_slot("host", code, 2, t0).await.unwrap());
    assert!(
        live.reserve_host_slot("host", code, 2, t0).await.unwrap(),
        "idempotent"
    );
    let other = SessionCode::parse("NAMES3").unwrap();
    assert!(live.reserve_host_slot("host", other, 2, t0).await.unwrap());
    let third = SessionCode::parse("NAMES4").unwrap();
    assert!(
        !live.reserve_host_slot("host", third, 2, t0).await.unwrap(),
        "over the quota"
    );
    assert!(
        live.reserve_host_slot("someone", third, 2, t0)
            .await
            .unwrap()
    );
    live.release_host_slot("host", other).await.unwrap();
    assert!(
        live.reserve_host_slot("host", third, 2, t0).await.unwrap(),
        "a freed slot"
    );

    live.create(NewSession {
        code,
        quiz: Arc::new(deal(&Arc::new(demo::demo_quiz()), &seed)),
        seed,
        host_id: "host".into(),
        auto_advance: false,
        max_players: 10,
        feedback: Feedback::Instant,
        created_at: t0,
    })
    .await
    .unwrap();
    let users = ["n1", "n2", "n3", "n4"];
    for (u, n) in users.iter().zip(["Ana", "ANA", "Ana", "Ben"]) {
        let n = DisplayName::parse(n).unwrap();
        assert!(live.join(code, u, &n).await.unwrap().changed);
    }
    let ids: Vec<String> = users.iter().map(|u| u.to_string()).collect();
    let shown = live.names(code, &ids).await.unwrap();
    assert_eq!(shown, ["Ana", "ANA (2)", "Ana (3)", "Ben"]);
    assert!(live.leave(code, "n2").await.unwrap());
    let again = DisplayName::parse("Zed").unwrap();
    assert!(live.join(code, "n2", &again).await.unwrap().changed);
    assert_eq!(live.names(code, &ids[1..2]).await.unwrap(), ["ANA (2)"]);
    let board = live.leaderboard(code, 0, 10).await.unwrap();
    let mut names: Vec<_> = board
        .entries
        .iter()
        .map(|e| e.display_name.as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["ANA (2)", "Ana", "Ana (3)", "Ben"]);
}

async fn contract<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn LiveState>>,
{
    let live = make().await;
    names_and_host_slots(live.as_ref()).await;
    at_reveal(&make).await;
    lock_and_remove(&make).await;
    // Every backend must re-deal a session alike from its seed (the Redis one reads the
    // quiz back from the store and deals it again on each node).
    let seed = DealSeed::parse(&"5e".repeat(32)).unwrap();
    let quiz = Arc::new(deal(&Arc::new(demo::demo_quiz()), &seed));
    let code = SessionCode::parse("K7P2QX").unwrap();
    let t0 = 1_800_000_000_000;
    let session = NewSession {
        code,
        quiz: quiz.clone(),
        seed,
        host_id: "host".into(),
        auto_advance: false,
        max_players: 3,
        feedback: Feedback::Instant,
        created_at: t0,
    };
    live.create(session.clone()).await.unwrap();
    assert!(matches!(
        live.create(session).await,
        Err(LiveError::CodeTaken)
    ));
    let unknown = SessionCode::parse("ZZZZZZ").unwrap();
    assert!(matches!(
        live.state(unknown, None, t0).await,
        Err(LiveError::NotFound)
    ));

    // Joining is idempotent and bounded by max_players.
    for u in ["a", "b", "c"] {
        assert!(live.join(code, u, &name(u)).await.unwrap().changed);
    }
    assert!(!live.join(code, "a", &name("a")).await.unwrap().changed);
    assert!(matches!(
        live.join(code, "d", &name("d")).await,
        Err(LiveError::Full)
    ));
    let board = live.leaderboard(code, 0, 10).await.unwrap();
    assert_eq!(board.players, 3);
    let order: Vec<_> = board.entries.iter().map(|e| e.user_id.as_str()).collect();
    assert_eq!(order, ["a", "b", "c"], "join order breaks ties at 0");

    // Nothing is open before the start.
    let q0 = quiz.questions[0].id;
    assert!(matches!(
        live.answer(code, input("a", q0, 0, None), t0).await,
        Err(LiveError::NotOpen(_))
    ));

    let opened = live.apply(code, Command::Start, t0).await.unwrap();
    assert_eq!(opened.entries.len(), 1);
    assert_eq!(opened.entries[0].kind, EventKind::QuestionOpened);
    assert!(!opened.entries[0].data.contains("correct_choice"));
    let right = i64::from(quiz.questions[0].correct_choice);

    // Scored once: same nonce replays, anything else conflicts.
    let first = live
        .answer(code, input("b", q0, right, Some("n1")), t0 + 10_000)
        .await
        .unwrap();
    let AnswerOutcome::Accepted {
        result,
        all_answered,
        ..
    } = first
    else {
        panic!("expected an accepted answer, got {first:?}");
    };
    assert!(!all_answered);
    assert_eq!(
        (result.correct, result.awarded_points, result.rank),
        (Some(true), Some(125), 1)
    );
    assert_eq!(
        live.answer(code, input("b", q0, right, Some("n1")), t0 + 11_000)
            .await
            .unwrap(),
        AnswerOutcome::Replayed(result.clone())
    );
    assert_eq!(
        live.answer(code, input("b", q0, 0, Some("n2")), t0 + 11_000)
            .await
            .unwrap(),
        AnswerOutcome::Conflict(result.clone())
    );
    assert!(matches!(
        live.answer(code, input("x", q0, 0, None), t0 + 1).await,
        Err(LiveError::NotPlayer)
    ));
    assert!(matches!(
        live.answer(code, input("a", q0, 9, None), t0 + 1).await,
        Err(LiveError::InvalidChoice)
    ));
    assert!(matches!(
        live.answer(code, input("a", quiz.questions[1].id, 0, None), t0 + 1)
            .await,
        Err(LiveError::NotOpen(_))
    ));
    let wrong = (right + 1) % 4;
    live.answer(code, input("a", q0, wrong, None), t0 + 12_000)
        .await
        .unwrap();
    let last = live
        .answer(code, input("c", q0, right, None), t0 + 12_000)
        .await
        .unwrap();
    assert!(matches!(
        last,
        AnswerOutcome::Accepted {
            all_answered: true,
            ..
        }
    ));
    // Closed by time: answers after closes_at are refused.
    assert!(matches!(
        live.answer(code, input("a", q0, 0, None), t0 + 20_000)
            .await,
        Err(LiveError::NotOpen(_)) | Ok(AnswerOutcome::Conflict(_))
    ));

    let closed = live.apply(code, Command::Next, t0 + 13_000).await.unwrap();
    assert_eq!(closed.phase.status, Status::Reveal);
    let data: serde_json::Value = serde_json::from_str(&closed.entries[0].data).unwrap();
    assert_eq!(data["answered"], 3);
    assert_eq!(data["correct_choice"], right);
    assert_eq!(data["answer_counts"][right as usize], 2);

    // Ranks: b reached 125 first, c has 120; a has 0.
    let board = live.leaderboard(code, 0, 10).await.unwrap();
    let rows: Vec<_> = board
        .entries
        .iter()
        .map(|e| (e.user_id.as_str(), e.score, e.rank))
        .collect();
    assert_eq!(rows, [("b", 125, 1), ("c", 120, 2), ("a", 0, 3)]);
    let page = live.leaderboard(code, 1, 1).await.unwrap();
    assert_eq!(page.entries[0].user_id, "c");
    let score = live.score(code, "a").await.unwrap().unwrap();
    assert_eq!(
        (score.correct, score.awarded_points, score.rank),
        (Some(false), 0, 3)
    );
    assert!(live.score(code, "nobody").await.unwrap().is_none());

    // The log replays from any id it holds, and knows no other epoch.
    let first_id = opened.entries[0].id;
    assert_eq!(
        live.log_since(code, first_id).await.unwrap(),
        Replay::Entries(closed.entries.clone())
    );
    assert_eq!(
        live.log_since(code, closed.entries[0].id).await.unwrap(),
        Replay::Entries(vec![])
    );
    assert_eq!(
        live.log_since(code, first_id + 100).await.unwrap(),
        Replay::Unknown
    );
    assert_eq!(live.log_since(code, 7).await.unwrap(), Replay::Unknown);
    assert!(matches!(
        live.results(code).await,
        Err(LiveError::NotFinished)
    ));

    // Leaving keeps the score for the record but drops the player from the board.
    assert!(live.leave(code, "a").await.unwrap());
    assert!(!live.leave(code, "a").await.unwrap());
    assert_eq!(live.leaderboard(code, 0, 10).await.unwrap().players, 2);
    assert_eq!(live.player_ids(code).await.unwrap().len(), 2);

    // A second handle (restart or another node) sees everything acknowledged so far.
    let other = make().await;
    let (state, last_id) = other.state(code, Some("b"), t0 + 14_000).await.unwrap();
    assert_eq!(state.status, Status::Reveal);
    assert_eq!(
        state.you.as_ref().map(|y| (y.score, y.rank, y.streak)),
        Some((125, 1, 1))
    );
    assert_eq!(last_id, closed.entries[0].id);
    assert_eq!(
        other
            .answer(code, input("b", q0, right, Some("n1")), t0 + 15_000)
            .await
            .unwrap(),
        AnswerOutcome::Replayed(result)
    );

    let ended = live.apply(code, Command::End, t0 + 16_000).await.unwrap();
    assert_eq!(ended.entries[0].kind, EventKind::SessionFinished);
    assert!(matches!(
        live.apply(code, Command::Next, t0 + 17_000).await,
        Err(LiveError::Phase(_))
    ));
    assert!(matches!(
        live.join(code, "e", &name("e")).await,
        Err(LiveError::Finished)
    ));
    let results = live.results(code).await.unwrap();
    assert_eq!(
        results.standings.len(),
        3,
        "players who left stay in the results"
    );
    assert_eq!(results.answers.len(), 3);
    assert_eq!(results.last_index, Some(0));
    // The questions come with the results: the same words and right answers, in whatever
    // order the session showed its choices.
    let right = |q: &quizcast::domain::quiz::Question| {
        (
            q.prompt.clone(),
            q.choices[q.correct_choice as usize].clone(),
        )
    };
    assert_eq!(
        results.questions.iter().map(right).collect::<Vec<_>>(),
        quiz.questions.iter().map(right).collect::<Vec<_>>()
    );
    live.forget(code).await.unwrap();
    assert!(matches!(
        live.state(code, None, t0).await,
        Err(LiveError::NotFound)
    ));
}

async fn embedded(url: String) {
    let (pool, _) = connect(&url, None).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(SqlStore::new(pool.clone()));
    demo::seed(store.as_ref(), 0).await.unwrap();
    contract(|| {
        let (pool, store) = (pool.clone(), store.clone());
        async move {
            // A new journal and a fresh recovery: what a restarted process would build.
            let (journal, _writer) = Journal::start(pool.clone(), 1024);
            let live =
                EmbeddedLive::recover(journal, &pool, store.as_ref(), 5_000, 1_800_000_000_000)
                    .await
                    .unwrap();
            Arc::new(live) as Arc<dyn LiveState>
        }
    })
    .await;
}

#[tokio::test]
async fn embedded_live_on_sqlite_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    embedded(format!("sqlite://{}", dir.path().join("live.db").display())).await;
}

#[tokio::test]
async fn embedded_live_on_postgres_meets_the_contract() {
    if let Some(url) = fresh_postgres().await {
        embedded(url).await;
    }
}

#[tokio::test]
async fn redis_live_meets_the_contract() {
    let Some((client, prefix)) = fresh_redis().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let (pool, _) = connect(&url, None).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(SqlStore::new(pool));
    demo::seed(store.as_ref(), 0).await.unwrap();
    contract(|| {
        let (client, prefix, store) = (client.clone(), prefix.clone(), store.clone());
        // Each handle has its own caches, like another node on the same Redis.
        async move { Arc::new(RedisLive::new(client, &prefix, store, 5_000)) as Arc<dyn LiveState> }
    })
    .await;
}

fn session(code: &str, seed_byte: &str, feedback: Feedback, max_players: u32) -> NewSession {
    let seed = DealSeed::parse(&seed_byte.repeat(32)).unwrap();
    NewSession {
        code: SessionCode::parse(code).unwrap(),
        quiz: Arc::new(deal(&Arc::new(demo::demo_quiz()), &seed)),
        seed,
        host_id: "host".into(),
        auto_advance: false,
        max_players,
        feedback,
        created_at: 1_800_000_000_000,
    }
}

fn accepted(outcome: AnswerOutcome) -> quizcast::domain::event::AnswerResult {
    match outcome {
        AnswerOutcome::Accepted { result, .. } => result,
        other => panic!("expected an accepted answer, got {other:?}"),
    }
}

/// `at_reveal`: while a question is open, views (leaderboard, state, score snapshot, the
/// answer reply) show the standings as of the last reveal, also on a second handle (after a
/// restart, or on another node); the close shows the real ones, computed at acceptance.
/// During the reveal, state carries the correct choice, the counts and the player's result.
async fn at_reveal<F, Fut>(make: &F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn LiveState>>,
{
    let live = make().await;
    let s = session("RV7ABC", "3c", Feedback::AtReveal, 10);
    let (code, quiz, t0) = (s.code, s.quiz.clone(), s.created_at);
    live.create(s).await.unwrap();
    for u in ["a", "b"] {
        live.join(code, u, &name(u)).await.unwrap();
    }
    live.apply(code, Command::Start, t0).await.unwrap();
    let (q0, q1) = (&quiz.questions[0], &quiz.questions[1]);
    let right0 = i64::from(q0.correct_choice);
    let a0 = accepted(
        live.answer(code, input("a", q0.id, right0, Some("a0")), t0 + 1_000)
            .await
            .unwrap(),
    );
    assert_eq!(
        (a0.correct, a0.awarded_points, a0.score, a0.rank, a0.streak),
        (None, None, 0, 1, 0),
        "a reply that tells nothing: {a0:?}"
    );
    let b0 = accepted(
        live.answer(code, input("b", q0.id, (right0 + 1) % 4, None), t0 + 1_500)
            .await
            .unwrap(),
    );
    assert_eq!((b0.correct, b0.awarded_points), (None, None));
    let board = live.leaderboard(code, 0, 10).await.unwrap();
    assert!(
        board.entries.iter().all(|e| e.score == 0),
        "the board does not move while the question is open: {board:?}"
    );
    assert!(
        board.version < a0.version,
        "the board does not reflect the answer yet"
    );
    let snap = live.score(code, "a").await.unwrap().unwrap();
    assert_eq!(
        (snap.question_id, snap.correct, snap.score),
        (None, None, 0)
    );
    let (st, _) = live.state(code, Some("a"), t0 + 2_000).await.unwrap();
    assert_eq!(
        st.you.as_ref().map(|y| (y.score, y.last.clone())),
        Some((0, None))
    );
    assert!(
        st.question
            .as_ref()
            .is_some_and(|q| q.correct_choice.is_none())
    );

    // The close: the real standings, scored at acceptance (t = 1000 ms: 148 points).
    live.apply(code, Command::Next, t0 + 3_000).await.unwrap();
    live.revealed(code).await.unwrap();
    let board = live.leaderboard(code, 0, 10).await.unwrap();
    let rows: Vec<_> = board
        .entries
        .iter()
        .map(|e| (e.user_id.as_str(), e.score))
        .collect();
    assert_eq!(rows, [("a", 148), ("b", 0)]);
    assert!(board.version >= b0.version);
    let snap = live.score(code, "a").await.unwrap().unwrap();
    assert_eq!(
        (
            snap.question_id,
            snap.correct,
            snap.awarded_points,
            snap.score
        ),
        (Some(q0.id), Some(true), 148, 148)
    );
    // The reveal, for a page loaded now.
    let (st, _) = live.state(code, Some("b"), t0 + 3_500).await.unwrap();
    let q = st.question.expect("the revealed question");
    assert_eq!(q.correct_choice, Some(q0.correct_choice));
    assert_eq!(q.answered, Some(2));
    let mut counts = vec![0; q0.choices.len()];
    counts[right0 as usize] = 1;
    counts[((right0 + 1) % 4) as usize] = 1;
    assert_eq!(q.answer_counts, Some(counts));
    let last = st.you.expect("b is a player").last;
    assert_eq!(
        last,
        Some(Some(LastAnswer {
            choice: ((right0 + 1) % 4) as u32,
            correct: false,
            awarded_points: 0
        }))
    );
    let (watcher, _) = live.state(code, None, t0 + 3_500).await.unwrap();
    assert!(watcher.you.is_none());
    assert_eq!(
        watcher.question.and_then(|q| q.correct_choice),
        Some(q0.correct_choice)
    );

    // Question 2: a answers, c joins mid-question; a second handle shows the same.
    live.apply(code, Command::Next, t0 + 4_000).await.unwrap();
    let (st, _) = live.state(code, Some("b"), t0 + 4_100).await.unwrap();
    assert_eq!(st.you.and_then(|y| y.last), None, "no result while open");
    let right1 = i64::from(q1.correct_choice);
    let a1 = accepted(
        live.answer(code, input("a", q1.id, right1, Some("a1")), t0 + 5_000)
            .await
            .unwrap(),
    );
    assert_eq!(
        (a1.correct, a1.awarded_points, a1.score, a1.rank, a1.streak),
        (None, None, 148, 1, 1),
        "standing as of the last reveal: {a1:?}"
    );
    live.join(code, "c", &name("c")).await.unwrap();
    let other = make().await;
    for (who, handle) in [("this handle", &live), ("another handle", &other)] {
        let board = handle.leaderboard(code, 0, 10).await.unwrap();
        let rows: Vec<_> = board
            .entries
            .iter()
            .map(|e| (e.user_id.as_str(), e.score))
            .collect();
        assert_eq!(rows, [("a", 148), ("b", 0), ("c", 0)], "{who}");
        assert!(board.version < a1.version, "{who}: {board:?}");
        let (st, _) = handle.state(code, Some("a"), t0 + 5_500).await.unwrap();
        let you = st.you.expect("a is a player");
        assert_eq!((you.score, you.rank, you.streak), (148, 1, 1), "{who}");
        let snap = handle.score(code, "a").await.unwrap().unwrap();
        assert_eq!((snap.question_id, snap.score), (Some(q0.id), 148), "{who}");
    }
    assert_eq!(
        other
            .answer(code, input("a", q1.id, right1, Some("a1")), t0 + 6_000)
            .await
            .unwrap(),
        AnswerOutcome::Replayed(a1.clone()),
        "a retry gets the reply first given"
    );
    other.apply(code, Command::End, t0 + 7_000).await.unwrap();
    other.revealed(code).await.unwrap();
    let board = other.leaderboard(code, 0, 1).await.unwrap();
    assert!(board.entries[0].score > 148 + 100, "{board:?}");
    let results = other.results(code).await.unwrap();
    let a_rows: Vec<_> = results
        .answers
        .iter()
        .filter(|r| r.user_id == "a")
        .map(|r| (r.correct, r.awarded_points > 0))
        .collect();
    assert_eq!(
        a_rows,
        [(true, true), (true, true)],
        "results say how answers scored"
    );
    assert_eq!(
        results.standings.iter().map(|s| s.score).max(),
        Some(board.entries[0].score)
    );
}

/// Lock: no new players, returning ones welcome. Remove: off the board for good, no joining
/// again, gone from the results. Both seen by a second handle.
async fn lock_and_remove<F, Fut>(make: &F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn LiveState>>,
{
    let live = make().await;
    let s = session("RM7ABC", "4d", Feedback::Instant, 10);
    let (code, quiz, t0) = (s.code, s.quiz.clone(), s.created_at);
    live.create(s).await.unwrap();
    for u in ["a", "b"] {
        live.join(code, u, &name(u)).await.unwrap();
    }
    live.set_locked(code, true).await.unwrap();
    assert!(matches!(
        live.join(code, "c", &name("c")).await,
        Err(LiveError::Locked)
    ));
    assert!(live.leave(code, "a").await.unwrap());
    assert!(
        live.join(code, "a", &name("a")).await.unwrap().changed,
        "a comes back"
    );
    assert!(live.state(code, None, t0).await.unwrap().0.locked);
    let unknown = SessionCode::parse("ZZZZZZ").unwrap();
    assert!(matches!(
        live.set_locked(unknown, true).await,
        Err(LiveError::NotFound)
    ));

    live.apply(code, Command::Start, t0).await.unwrap();
    let q0 = &quiz.questions[0];
    live.answer(
        code,
        input("b", q0.id, i64::from(q0.correct_choice), None),
        t0 + 1,
    )
    .await
    .unwrap();
    assert!(live.remove(code, "b").await.unwrap());
    assert!(
        !live.remove(code, "b").await.unwrap(),
        "removing again is a no-op"
    );
    assert!(matches!(
        live.remove(code, "nobody").await,
        Err(LiveError::NoSuchPlayer)
    ));
    assert!(matches!(
        live.join(code, "b", &name("b")).await,
        Err(LiveError::Removed)
    ));
    assert!(matches!(
        live.answer(code, input("b", quiz.questions[0].id, 0, None), t0 + 2)
            .await,
        Err(LiveError::NotPlayer) | Ok(AnswerOutcome::Conflict(_))
    ));
    let board = live.leaderboard(code, 0, 10).await.unwrap();
    assert_eq!(board.players, 1);
    assert!(board.entries.iter().all(|e| e.user_id != "b"));
    assert_eq!(live.player_ids(code).await.unwrap(), ["a"]);
    assert!(live.is_removed(code, "b").await.unwrap());
    assert!(!live.is_removed(code, "a").await.unwrap());
    let you = live
        .state(code, Some("b"), t0 + 3)
        .await
        .unwrap()
        .0
        .you
        .unwrap();
    assert!(you.removed && !you.joined, "{you:?}");

    let other = make().await;
    assert!(other.is_removed(code, "b").await.unwrap());
    assert!(other.state(code, None, t0 + 4).await.unwrap().0.locked);
    assert!(matches!(
        other.join(code, "c", &name("c")).await,
        Err(LiveError::Locked)
    ));
    other.set_locked(code, false).await.unwrap();
    assert!(other.join(code, "c", &name("c")).await.unwrap().changed);
    assert!(!other.state(code, None, t0 + 5).await.unwrap().0.locked);
    other.apply(code, Command::End, t0 + 6).await.unwrap();
    let results = other.results(code).await.unwrap();
    assert!(
        results.standings.iter().all(|s| s.user_id != "b")
            && results.answers.iter().all(|a| a.user_id != "b"),
        "a removed player is gone from the results: {results:?}"
    );
}
