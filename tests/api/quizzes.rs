//! Quizzes: create, list (own plus the demo), read (only the author sees answers),
//! CSV/TSV import, and the demo quiz a fresh install can play at once.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn create_list_and_read_quizzes() {
    let app = spawn_app().await;
    let ana = app.guest("Ana").await;
    let ben = app.guest("Ben").await;
    let r = app
        .post(
            "/api/v1/quizzes",
            Some(&ana.token),
            quiz_body("Latin roots", 3, 15_000),
        )
        .await;
    let v = r.expect(201, "create quiz").clone();
    assert_eq!(v["title"], "Latin roots");
    assert_eq!(v["question_count"], 3);
    let id = v["quiz_id"].as_str().expect("quiz_id").to_owned();

    let mine = app.get("/api/v1/quizzes", Some(&ana.token)).await;
    let mine = mine.expect(200, "list as Ana")["quizzes"]
        .as_array()
        .expect("quizzes")
        .clone();
    let own = mine
        .iter()
        .find(|q| q["quiz_id"] == json!(id))
        .expect("Ana's quiz is listed");
    assert_eq!(own["title"], "Latin roots");
    assert_eq!(own["question_count"], 3);
    assert_eq!(own["demo"], false);
    assert!(
        mine.iter().any(|q| q["demo"] == true),
        "the demo quiz is listed: {mine:?}"
    );
    let theirs = app.get("/api/v1/quizzes", Some(&ben.token)).await;
    let theirs = theirs.expect(200, "list as Ben")["quizzes"]
        .as_array()
        .expect("quizzes")
        .clone();
    assert!(
        theirs.iter().all(|q| q["quiz_id"] != json!(id)),
        "Ben does not list Ana's quiz"
    );
    assert!(
        theirs.iter().any(|q| q["demo"] == true),
        "Ben sees the demo quiz too"
    );

    let as_author = app
        .get(&format!("/api/v1/quizzes/{id}"), Some(&ana.token))
        .await;
    let as_author = as_author.expect(200, "GET quiz as author").clone();
    assert_eq!(as_author["quiz_id"], json!(id));
    assert_eq!(as_author["title"], "Latin roots");
    let qs = as_author["questions"].as_array().expect("questions");
    assert_eq!(qs.len(), 3);
    for (i, q) in qs.iter().enumerate() {
        assert_eq!(q["index"], json!(i), "0-based indexes: {q}");
        assert_eq!(q["prompt"], json!(format!("word {i}")));
        assert_eq!(q["choices"].as_array().map(Vec::len), Some(CHOICES));
        assert_eq!(q["time_limit_ms"], 15_000);
        assert_eq!(
            q["correct_choice"],
            json!(correct(i)),
            "the author sees the answer"
        );
        assert!(q["question_id"].is_string());
    }
    let as_other = app
        .get(&format!("/api/v1/quizzes/{id}"), Some(&ben.token))
        .await;
    as_other.expect(200, "any signed-in user may read a quiz");
    assert!(
        !as_other.text.contains("correct_choice"),
        "nobody else sees answers: {}",
        as_other.text
    );
    let ids = |v: &Value| {
        v["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["question_id"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&as_other.json), ids(&as_author));

    let unknown = uuid::Uuid::new_v4();
    app.get(&format!("/api/v1/quizzes/{unknown}"), Some(&ana.token))
        .await
        .expect_problem(404, "an unknown quiz");
    app.get(&format!("/api/v1/quizzes/{id}"), None)
        .await
        .expect_problem(401, "reading a quiz needs a token");
}

async fn import(app: &TestApp, token: &str, query: &str, ct: &str, body: &str) -> Value {
    let r = app
        .post_raw(
            &format!("/api/v1/quizzes/import{query}"),
            Some(token),
            ct,
            body.to_owned(),
        )
        .await;
    r.expect(201, &format!("import ({ct})")).clone()
}

#[tokio::test]
async fn csv_and_tsv_imports_build_questions_from_pairs() {
    let app = spawn_app().await;
    let ana = app.guest("Ana").await;
    let pairs = [
        ("benevolent", "kind"),
        ("irate", "angry"),
        ("somnolent", "sleepy"),
        ("strident", "loud"),
        ("laconic", "brief"),
    ];
    let csv: String = pairs.iter().map(|(w, m)| format!("{w},{m}\n")).collect();
    let v = import(
        &app,
        &ana.token,
        "?title=Latin%20roots&choices=3",
        "text/csv",
        &csv,
    )
    .await;
    assert_eq!(v["title"], "Latin roots");
    assert_eq!(v["question_count"], pairs.len());
    let quiz = app
        .get(
            &format!("/api/v1/quizzes/{}", v["quiz_id"].as_str().unwrap()),
            Some(&ana.token),
        )
        .await;
    let quiz = quiz.expect(200, "GET imported quiz").clone();
    let meanings: HashMap<&str, &str> = pairs.iter().copied().collect();
    let all: Vec<&str> = pairs.iter().map(|p| p.1).collect();
    for q in quiz["questions"].as_array().expect("questions") {
        let word = q["prompt"].as_str().expect("prompt");
        let meaning = meanings
            .get(word)
            .unwrap_or_else(|| panic!("a prompt per word, got {word:?}"));
        let choices: Vec<&str> = q["choices"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(choices.len(), 3, "choices=3: {q}");
        let c = q["correct_choice"]
            .as_u64()
            .expect("the author sees correct_choice") as usize;
        assert_eq!(
            choices[c], *meaning,
            "the correct choice is the word's meaning: {q}"
        );
        assert!(
            choices.iter().all(|ch| all.contains(ch)),
            "wrong choices are other meanings: {q}"
        );
        let mut distinct = choices.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 3, "distinct choices: {q}");
    }

    let tsv: String = pairs.iter().map(|(w, m)| format!("{w}\t{m}\n")).collect();
    let v = import(&app, &ana.token, "", "text/tab-separated-values", &tsv).await;
    assert_eq!(v["question_count"], pairs.len());
    let quiz = app
        .get(
            &format!("/api/v1/quizzes/{}", v["quiz_id"].as_str().unwrap()),
            Some(&ana.token),
        )
        .await;
    let first = &quiz.expect(200, "GET TSV quiz")["questions"][0];
    assert_eq!(
        first["choices"].as_array().map(Vec::len),
        Some(4),
        "choices default to 4"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_quiz_can_be_played_at_once() {
    let app = spawn_app().await;
    let host = app.guest("Host").await;
    let list = app.get("/api/v1/quizzes", Some(&host.token)).await;
    let quizzes = list.expect(200, "list")["quizzes"]
        .as_array()
        .unwrap()
        .clone();
    let demo = quizzes
        .iter()
        .find(|q| q["demo"] == true)
        .expect("a demo quiz on a fresh install");
    assert!(demo["question_count"].as_u64().is_some_and(|n| n >= 1));
    let demo_id = demo["quiz_id"].as_str().unwrap();
    let read = app
        .get(&format!("/api/v1/quizzes/{demo_id}"), Some(&host.token))
        .await;
    assert!(
        !read
            .expect(200, "read the demo")
            .to_string()
            .contains("correct_choice"),
        "nobody authored the demo"
    );
    let code = app.create_session(&host.token, demo_id).await;
    let player = app.guest("Player").await;
    app.join(&player.token, &code).await;
    let st = app.host(&host.token, &code, "start").await;
    let st = st.expect(200, "start the demo").clone();
    assert_eq!(st["status"], "question");
    assert_eq!(st["question_count"], demo["question_count"]);
    let q = st["question"]["question_id"].as_str().unwrap();
    let r = app.answer(&player.token, &code, q, 0, None).await;
    r.expect(200, "answer a demo question");
}
