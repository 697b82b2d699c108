//! Abuse cases: fair play. Every session deals its own question ids and choice order, only a
//! quiz's author may host it, and a host never plays their own game, so no route tells
//! anyone the correct choice of an open question.

use serde_json::{Value, json};

use crate::helpers::*;

const QUESTIONS: usize = 12;

/// The words of a question's choices, in the order shown, and which word is right.
fn words(question: &Value) -> Vec<String> {
    question["choices"]
        .as_array()
        .expect("choices")
        .iter()
        .map(|c| c.as_str().expect("a choice").to_owned())
        .collect()
}

/// Starts a session of `quiz_id` and returns the first question as shown, then plays the
/// session to its end, collecting every question as it was shown.
async fn play_through(app: &TestApp, host: &Guest, quiz_id: &str) -> Vec<Value> {
    let code = app.create_session(&host.token, quiz_id).await;
    let mut shown = Vec::new();
    let mut st = app.host(&host.token, &code, "start").await;
    for i in 0..QUESTIONS {
        let q = st.expect(200, "open a question")["question"].clone();
        assert_eq!(q["index"], json!(i), "{q}");
        shown.push(q);
        app.host(&host.token, &code, "next")
            .await
            .expect(200, "reveal");
        st = app.host(&host.token, &code, "next").await;
    }
    shown
}

#[tokio::test]
async fn two_sessions_of_one_quiz_share_no_ids_and_deal_their_own_order() {
    let app = spawn_app().await;
    let host = app.guest("Author").await;
    let quiz_id = app.create_quiz(&host.token, QUESTIONS).await;
    let quiz = app
        .get(&format!("/api/v1/quizzes/{quiz_id}"), Some(&host.token))
        .await;
    let quiz = quiz.expect(200, "the author reads the quiz").clone();
    let a = play_through(&app, &host, &quiz_id).await;
    let b = play_through(&app, &host, &quiz_id).await;
    let mut moved = 0;
    for i in 0..QUESTIONS {
        let authored = &quiz["questions"][i];
        for q in [&a[i], &b[i]] {
            assert_ne!(
                q["question_id"], authored["question_id"],
                "a session reuses the quiz's id"
            );
            let mut shown = words(q);
            let mut original = words(authored);
            shown.sort();
            original.sort();
            assert_eq!(shown, original, "the same words, dealt");
        }
        assert_ne!(
            a[i]["question_id"], b[i]["question_id"],
            "two sessions share an id"
        );
        if words(&a[i]) != words(&b[i]) {
            moved += 1;
        }
    }
    // 12 questions of 4 choices each dealt alike by chance: (1/24)^12.
    assert!(moved > 0, "every question dealt the same in both sessions");
}

#[tokio::test]
async fn only_the_author_hosts_a_quiz_and_anyone_hosts_the_demo() {
    let app = spawn_app().await;
    let author = app.guest("Author").await;
    let copier = app.guest("Copier").await;
    let quiz_id = app.create_quiz(&author.token, 2).await;
    let r = app
        .create_session_with(&copier.token, json!({ "quiz_id": quiz_id }))
        .await;
    let p = r.expect_problem(403, "hosting another author's quiz");
    assert!(p["detail"].as_str().unwrap().contains("author"), "{p}");
    let list = app.get("/api/v1/quizzes", Some(&copier.token)).await;
    let demo = list.expect(200, "list")["quizzes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["demo"] == json!(true))
        .expect("the demo quiz")["quiz_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .create_session_with(&copier.token, json!({ "quiz_id": demo }))
        .await;
    r.expect(201, "anyone hosts the demo quiz");
}

#[tokio::test]
async fn a_host_never_plays_their_own_session() {
    let app = spawn_app().await;
    let g = setup_game(&app, 1, 2, 20_000).await;
    let path = format!("/api/v1/sessions/{}/join", g.code);
    let r = app.post(&path, Some(&g.host.token), json!({})).await;
    let p = r.expect_problem(403, "the host joins their own session");
    assert!(p["detail"].as_str().unwrap().contains("host"), "{p}");
    let st = app.state(&g.host.token, &g.code).await;
    assert_eq!(st["players"], 1, "the host is not a player: {st}");
    assert_eq!(st["you"], Value::Null, "{st}");
}

#[tokio::test]
async fn nothing_a_player_can_read_names_the_open_questions_answer() {
    let app = spawn_app().await;
    let g = setup_game(&app, 1, 2, 20_000).await;
    let ana = &g.players[0];
    let mut sse = app.sse(&ana.token, &g.code, None).await;
    let st = app.host(&g.host.token, &g.code, "start").await;
    st.expect(200, "start");
    let opened = sse.next_named("question_opened", WAIT).await;
    let reads = [
        format!("/api/v1/sessions/{}", g.code),
        format!("/api/v1/sessions/{}/leaderboard", g.code),
        format!("/api/v1/quizzes/{}", g.quiz_id),
        format!("/api/v1/sessions/{}/events/poll?timeout_ms=0", g.code),
    ];
    for path in &reads {
        let r = app.get(path, Some(&ana.token)).await;
        assert!(
            !r.text.contains("correct_choice"),
            "{path} shows a correct choice while the question is open: {}",
            r.text
        );
    }
    assert!(!opened.raw.contains("correct_choice"), "{}", opened.raw);
    let results = app
        .get(
            &format!("/api/v1/sessions/{}/results", g.code),
            Some(&ana.token),
        )
        .await;
    results.expect_problem(409, "results of a running session");
}
