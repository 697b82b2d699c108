//! Event-stream injection: text that players and authors control (display names, prompts,
//! choices) never ends an SSE frame or starts a field of its own.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::*;

const SECRET: &str = "inject-test-secret-inject-test-secret";
const KNOWN: &[&str] = &[
    "session_state",
    "question_opened",
    "question_closed",
    "session_finished",
    "leaderboard",
    "presence",
    "score",
    "answers",
    "heartbeat",
];
const PAYLOAD: &str = "\n\nevent: injected\ndata: {\"pwned\":true}\nid: 999999\n\n";

fn assert_clean(events: &[SseEvent]) {
    for e in events {
        assert!(
            KNOWN.contains(&e.event.as_str()),
            "an injected event: {e:?}"
        );
        assert!(e.data.get("pwned").is_none(), "injected data: {e:?}");
        assert_ne!(e.id.as_deref(), Some("999999"), "an injected id: {e:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_cannot_carry_line_breaks_into_a_stream() {
    let app = spawn_app_with(|c| c.jwt_secret = Some(SECRET.into())).await;
    for name in [
        format!("Eve{PAYLOAD}"),
        "Eve\revent: injected".to_owned(),
        "Eve\r\n\r\ndata: x".to_owned(),
    ] {
        app.post("/api/v1/auth/guest", None, json!({ "display_name": name }))
            .await
            .expect_problem(422, &format!("guest name {name:?}"));
    }
    let g = setup_game(&app, 0, 1, 20_000).await;
    let mut sse = app.sse(&g.host.token, &g.code, None).await;
    assert_eq!(sse.next().await.event, "session_state");

    // A name that looks like a field, on one line, is just a name.
    let eve = app.guest("event: injected").await;
    app.join(&eve.token, &g.code).await;
    // A token signed with our secret whose `name` has line breaks: the name is not used.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let forged = jsonwebtoken::encode(
        &Header::default(),
        &json!({ "sub": "mallory-id", "name": format!("M{PAYLOAD}"), "exp": now + 600 }),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    app.join(&forged, &g.code).await;

    let got = sse
        .until("both joins in presence", |evs| {
            let names: Vec<Value> = evs
                .iter()
                .filter(|e| e.event == "presence")
                .flat_map(|e| e.data["joined"].as_array().cloned().unwrap_or_default())
                .map(|m| m["display_name"].clone())
                .collect();
            names.len() >= 2
        })
        .await;
    assert_clean(&got);
    let names: Vec<String> = got
        .iter()
        .filter(|e| e.event == "presence")
        .flat_map(|e| e.data["joined"].as_array().cloned().unwrap_or_default())
        .filter_map(|m| m["display_name"].as_str().map(str::to_owned))
        .collect();
    assert!(names.iter().any(|n| n == "event: injected"), "{names:?}");
    assert!(
        names.iter().all(|n| !n.contains('\n') && !n.contains('\r')),
        "no line break reaches a name: {names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_and_choices_cannot_split_a_frame() {
    let app = spawn_app().await;
    let host = app.guest("Host").await;
    let prompt = format!("word{PAYLOAD}");
    let choices = vec![
        format!("a{PAYLOAD}"),
        "b\r\rretry: 1\r".to_owned(),
        "c\r\n: comment\r\n".to_owned(),
        "d".to_owned(),
    ];
    let quiz = json!({ "title": format!("T{PAYLOAD}"), "questions": [
        { "prompt": prompt, "choices": choices, "correct_choice": 0, "time_limit_ms": 20000 } ] });
    let r = app.post("/api/v1/quizzes", Some(&host.token), quiz).await;
    if r.status == 422 {
        // Refusing such text at the door is as good as encoding it.
        r.expect_problem(422, "a quiz with line breaks");
        return;
    }
    let quiz_id = r.expect(201, "a quiz with line breaks")["quiz_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = app.create_session(&host.token, &quiz_id).await;
    let player = app.guest("Ana").await;
    app.join(&player.token, &code).await;
    let mut sse = app.sse(&player.token, &code, None).await;
    let first = sse.next().await;
    assert_eq!(first.event, "session_state");
    app.host(&host.token, &code, "start")
        .await
        .expect(200, "start");
    let opened = sse.next_named("question_opened", WAIT).await;
    // The text arrives whole, inside one event's JSON.
    assert_eq!(
        opened.data["prompt"].as_str(),
        Some(prompt.trim()),
        "{:?}",
        opened.raw
    );
    let mut sent: Vec<String> = choices.iter().map(|c| c.trim().to_owned()).collect();
    sent.sort();
    let mut got: Vec<String> = opened.data["choices"]
        .as_array()
        .expect("choices")
        .iter()
        .map(|c| c.as_str().unwrap_or("").to_owned())
        .collect();
    got.sort();
    assert_eq!(got, sent, "every choice whole");
    assert!(
        !opened.raw.contains('\n') && !opened.raw.contains('\r'),
        "one data line"
    );
    app.host(&host.token, &code, "next")
        .await
        .expect(200, "reveal");
    let closed = sse.next_named("question_closed", WAIT).await;
    assert!(sse.retry.is_none_or(|r| r != 1), "no injected retry advice");
    let mut all = sse.seen.clone();
    all.push(closed);
    assert_clean(&all);
    assert!(
        sse.comments.iter().all(|c| !c.contains("comment")),
        "no injected comment: {:?}",
        sse.comments
    );
}
