//! The `Store` contract, run against SQLite and PostgreSQL.

use quizcast::demo;
use quizcast::domain::SessionCode;
use quizcast::domain::quiz::{QuestionDraft, QuizDraft};
use quizcast::live::{AnswerRow, SessionResults, Standing};
use quizcast::store::Store;
use quizcast::store::db::connect;
use quizcast::store::sql::SqlStore;
use sqlx::AnyPool;

use super::services::fresh_postgres;

fn draft(title: &str) -> QuizDraft {
    QuizDraft {
        title: title.into(),
        questions: (0..3)
            .map(|i| QuestionDraft {
                prompt: format!("word {i}"),
                choices: vec!["a".into(), "b".into(), "c, with comma".into()],
                correct_choice: i,
                time_limit_ms: Some(5_000 + i * 1000),
            })
            .collect(),
    }
}

fn results(code: &str, finished_at: i64, users: &[(&str, u32)]) -> SessionResults {
    let quiz = demo::demo_quiz();
    // As a session played them: its own order of choices, so not the quiz's.
    let questions = quiz
        .questions
        .iter()
        .take(3)
        .map(|q| {
            let mut q = q.clone();
            q.choices.reverse();
            q.correct_choice = q.choices.len() as u32 - 1 - q.correct_choice;
            q.id = uuid::Uuid::now_v7();
            q
        })
        .collect();
    SessionResults {
        code: SessionCode::parse(code).unwrap(),
        quiz_id: quiz.id,
        quiz_title: quiz.title.clone(),
        host_id: "host".into(),
        finished_at,
        question_count: quiz.question_count(),
        last_index: Some(2),
        standings: users
            .iter()
            .enumerate()
            .map(|(i, (u, s))| Standing {
                rank: i as u32 + 1,
                user_id: (*u).into(),
                display_name: format!("Name {u}"),
                score: *s,
            })
            .collect(),
        answers: users
            .iter()
            .map(|(u, s)| AnswerRow {
                user_id: (*u).into(),
                display_name: format!("Name {u}"),
                question_id: quiz.questions[0].id,
                index: 0,
                choice: 1,
                correct: *s > 0,
                awarded_points: *s,
                answer_ms: 1234,
            })
            .collect(),
        questions,
    }
}

async fn contract(store: &dyn Store, pool: &AnyPool) {
    store.ping().await.unwrap();
    demo::seed(store, 1).await.unwrap();
    demo::seed(store, 2).await.unwrap(); // idempotent
    store.save_user("u1", "Ana", 10).await.unwrap();
    store.save_user("u1", "Ana B", 11).await.unwrap();

    // Quizzes round-trip with their questions in order; lists hold the author's and demo.
    let quiz = draft("Latin").validate(Some("u1".into())).unwrap();
    store.save_quiz(&quiz, 100).await.unwrap();
    let back = store.quiz(quiz.id).await.unwrap().unwrap();
    assert_eq!(*back, quiz);
    // One parse shared by every holder (sessions of a quiz share its words).
    let again = store.quiz(quiz.id).await.unwrap().unwrap();
    assert!(std::sync::Arc::ptr_eq(&back, &again));
    assert_eq!(store.quiz_count("u1").await.unwrap(), 1);
    assert_eq!(store.quiz_count("nobody").await.unwrap(), 0);

    // The signing key: the first candidate is kept, later ones get it back.
    let key = store.signing_key("first-candidate", 1).await.unwrap();
    assert_eq!(key, "first-candidate");
    assert_eq!(
        store.signing_key("second", 2).await.unwrap(),
        "first-candidate"
    );
    assert!(store.quiz(uuid::Uuid::new_v4()).await.unwrap().is_none());
    let other = draft("Greek").validate(Some("u2".into())).unwrap();
    store.save_quiz(&other, 200).await.unwrap();
    let list = store.quizzes_for("u1").await.unwrap();
    let titles: Vec<_> = list.iter().map(|q| (q.title.as_str(), q.demo)).collect();
    assert_eq!(
        titles,
        [("Demo: English vocabulary", true), ("Latin", false)]
    );
    assert_eq!(list[1].question_count, 3);

    // Results: written once, read back equal, history newest first.
    let first = results("AAAAAA", 1_000, &[("u1", 250), ("u2", 0)]);
    store.save_results(&first).await.unwrap();
    let mut again = first.clone();
    again.quiz_title = "changed".into();
    store.save_results(&again).await.unwrap();
    let back = store.results(first.code).await.unwrap().unwrap();
    assert_eq!(back, first);
    assert_eq!(
        back.questions.len(),
        3,
        "the questions are kept with the results"
    );
    assert_eq!(
        &*back.questions[0].choices[0], "loud",
        "in the session's order"
    );
    // Results stored before questions were kept read back with none.
    sqlx::query(
        "INSERT INTO results (code, quiz_id, quiz_title, host_id, finished_at, players,
             question_count, last_index)
         VALUES ('DDDDDD', '00000000-0000-0000-0000-000000000000', 'Old', 'host', 500, 0, 3, 2)",
    )
    .execute(pool)
    .await
    .unwrap();
    let old = store
        .results(SessionCode::parse("DDDDDD").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.quiz_title, "Old");
    assert!(old.questions.is_empty());
    let second = results("BBBBBB", 2_000, &[("u2", 100), ("u1", 50)]);
    store.save_results(&second).await.unwrap();
    assert!(
        store
            .results(SessionCode::parse("CCCCCC").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let history = store.history("u1").await.unwrap();
    let rows: Vec<_> = history
        .iter()
        .map(|h| (h.code.as_str(), h.score, h.rank, h.players))
        .collect();
    assert_eq!(rows, [("BBBBBB", 50, 2, 2), ("AAAAAA", 250, 1, 2)]);
    assert!(store.history("nobody").await.unwrap().is_empty());
}

#[tokio::test]
async fn sqlite_store_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let (pool, _) = connect(&url, None).await.unwrap();
    contract(&SqlStore::new(pool.clone()), &pool).await;
}

#[tokio::test]
async fn postgres_store_meets_the_contract() {
    let Some(url) = fresh_postgres().await else {
        return;
    };
    let (pool, _) = connect(&url, None).await.unwrap();
    contract(&SqlStore::new(pool.clone()), &pool).await;
}
