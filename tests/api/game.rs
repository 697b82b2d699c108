//! A whole game: a host and three players over HTTP and SSE. Every event kind, increasing
//! ids, scoring and streaks, the rank rule, private score events, and the correct choice
//! never reaching a client before its question closes.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::*;

mod streams;

const CLOSE_FAST: Duration = Duration::from_secs(5);

fn no_correct_choice(text: &str, what: &str) {
    assert!(
        !text.contains("correct_choice"),
        "{what} must not carry `correct_choice` while the question is open: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_game_over_http_and_sse() {
    whole_game(spawn_app().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_game_on_redis_and_postgres() {
    if let Some(app) = crate::helpers::spawn_shared_app().await {
        whole_game(app).await;
    }
}

async fn whole_game(app: TestApp) {
    let host = app.guest("Host").await;
    let quiz_id = app.create_quiz(&host.token, 3).await;
    let body = json!({ "quiz_id": quiz_id, "auto_advance": false, "max_players": 10 });
    let created = app.create_session_with(&host.token, body).await;
    let created = created.expect(201, "create session").clone();
    let code = created["session_id"]
        .as_str()
        .expect("session_id")
        .to_owned();
    assert_code(&code);
    for key in ["join_url", "host_url"] {
        let url = created[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} in {created}"));
        assert!(
            url.starts_with("http://") || url.starts_with("https://"),
            "{key} absolute: {url}"
        );
        assert!(url.contains(&code), "{key} should name the session: {url}");
    }

    // The host watches from the lobby on; Ana subscribes before she joins.
    let mut host_sse = app.sse(&host.token, &code, None).await;
    let lobby = host_sse.next().await;
    assert_eq!(lobby.event, "session_state");
    assert!(
        lobby.id.is_none(),
        "session_state is a snapshot without id: {lobby:?}"
    );
    assert!(host_sse.retry.is_some(), "a `retry:` line comes on connect");
    let s = &lobby.data;
    assert_eq!(s["session_id"], json!(code));
    assert_eq!(s["status"], "lobby");
    assert_eq!(s["quiz_title"], "Test words");
    assert_eq!(s["question_count"], 3);
    assert_eq!(
        s["question_index"],
        Value::Null,
        "no index in the lobby: {s}"
    );
    assert_eq!(s["question"], Value::Null, "no question in the lobby: {s}");
    assert_eq!(s["you"], Value::Null, "the host is a watcher: {s}");
    assert_eq!(s["players"], 0);

    let ana = app.guest("Ana").await;
    let ben = app.guest("Ben").await;
    let cy = app.guest("Cy").await;
    let mut ana_sse = app.sse(&ana.token, &code, None).await;
    assert_eq!(ana_sse.next().await.event, "session_state");
    for (i, p) in [&ana, &ben, &cy].into_iter().enumerate() {
        let st = app.join(&p.token, &code).await;
        assert_eq!(st["status"], "lobby");
        assert_eq!(
            st["players"],
            json!(i + 1),
            "players after {} joined: {st}",
            p.name
        );
        assert_eq!(st["you"]["joined"], true);
        assert_eq!(st["you"]["score"], 0);
        assert_eq!(st["you"]["streak"], 0);
    }
    let again = app.join(&ana.token, &code).await;
    assert_eq!(again["players"], 3, "joining again is idempotent: {again}");
    let mut ben_sse = app.sse(&ben.token, &code, None).await;
    let mut cy_sse = app.sse(&cy.token, &code, None).await;
    for sse in [&mut ben_sse, &mut cy_sse] {
        let first = sse.next().await;
        assert_eq!(first.event, "session_state");
        assert_eq!(first.data["you"]["joined"], true, "{first:?}");
    }

    // Presence reaches the host: everybody joined, listed by id and name.
    let joined_all = |evs: &[SseEvent]| {
        let ids: HashSet<&str> = evs
            .iter()
            .filter(|e| e.event == "presence")
            .flat_map(|e| e.data["joined"].as_array().into_iter().flatten())
            .filter_map(|j| j["user_id"].as_str())
            .collect();
        [&ana, &ben, &cy]
            .iter()
            .all(|p| ids.contains(p.user_id.as_str()))
    };
    let got = host_sse
        .until("presence listing the three players", joined_all)
        .await;
    let last_presence = got
        .iter()
        .rev()
        .find(|e| e.event == "presence")
        .expect("presence");
    assert_eq!(last_presence.data["players"], 3, "{last_presence:?}");
    assert!(
        last_presence.data["online"]
            .as_u64()
            .is_some_and(|n| n <= 3)
    );
    assert!(last_presence.data["left"].is_array(), "{last_presence:?}");

    // Question 1: everybody answers, so it closes by itself.
    let opened_at = Instant::now();
    let st = app.host(&host.token, &code, "start").await;
    let st = st.expect(200, "start").clone();
    no_correct_choice(&st.to_string(), "the start reply");
    assert_eq!(st["status"], "question");
    assert_eq!(st["question_index"], 0);
    let q = &st["question"];
    assert_eq!(q["index"], 0);
    assert_eq!(q["choices"].as_array().map(Vec::len), Some(CHOICES));
    assert_eq!(q["time_limit_ms"], 20_000);
    assert!(q["closes_at"].is_string() && q["time_left_ms"].as_u64().is_some_and(|t| t <= 20_000));
    let q1 = q["question_id"].as_str().expect("question_id").to_owned();

    for (who, sse) in [
        ("host", &mut host_sse),
        ("ana", &mut ana_sse),
        ("ben", &mut ben_sse),
        ("cy", &mut cy_sse),
    ] {
        let e = sse.next_named("question_opened", WAIT).await;
        no_correct_choice(&e.raw, &format!("question_opened to {who}"));
        assert_eq!(e.data["question_id"], json!(q1));
        assert_eq!(e.data["index"], 0);
        assert!(
            e.data["prompt"].is_string() && e.data["closes_at"].is_string(),
            "{e:?}"
        );
        assert_eq!(e.data["time_limit_ms"], 20_000);
        e.id_num();
    }
    let as_player = app
        .get(&format!("/api/v1/quizzes/{quiz_id}"), Some(&ana.token))
        .await;
    no_correct_choice(
        &as_player.expect(200, "GET quiz as a player").to_string(),
        "GET quiz by a non-author",
    );
    let as_author = app
        .get(&format!("/api/v1/quizzes/{quiz_id}"), Some(&host.token))
        .await;
    let as_author = as_author.expect(200, "GET quiz as its author");
    assert_eq!(
        as_author["questions"][0]["correct_choice"],
        json!(correct(0))
    );
    let snapshot = app
        .get(&format!("/api/v1/sessions/{code}"), Some(&ana.token))
        .await;
    no_correct_choice(&snapshot.text, "GET session");

    let mut awarded: HashMap<(String, String), u64> = HashMap::new();
    let ana1 = app
        .answer(&ana.token, &code, &q1, correct(0), Some("ana-q1"))
        .await;
    let ana1 = ana1.expect(200, "Ana answers q1").clone();
    assert_points(&ana1, true, 0, opened_at.elapsed());
    assert_eq!(ana1["question_id"], json!(q1));
    assert_eq!(ana1["score"], ana1["awarded_points"]);
    assert_eq!(ana1["rank"], 1);
    no_correct_choice(&ana1.to_string(), "an answer reply");
    let ben1 = app.answer(&ben.token, &code, &q1, wrong(0), None).await;
    let ben1 = ben1.expect(200, "Ben answers q1").clone();
    assert_points(&ben1, false, 0, opened_at.elapsed());
    assert_eq!(ben1["score"], 0);
    assert_eq!(ben1["rank"], 2, "Ben is behind Ana only: {ben1}");
    let still = app.state(&host.token, &code).await;
    assert_eq!(
        still["status"], "question",
        "one player has not answered yet: {still}"
    );
    let cy_at = Instant::now();
    let cy1 = app.answer(&cy.token, &code, &q1, correct(0), None).await;
    let cy1 = cy1.expect(200, "Cy answers q1").clone();
    assert_points(&cy1, true, 0, opened_at.elapsed());
    for (p, r) in [(&ana, &ana1), (&ben, &ben1), (&cy, &cy1)] {
        awarded.insert(
            (p.user_id.clone(), q1.clone()),
            r["awarded_points"].as_u64().unwrap(),
        );
    }

    let closed = host_sse.next_named("question_closed", CLOSE_FAST).await;
    assert!(
        cy_at.elapsed() < CLOSE_FAST,
        "closes as soon as every player answered"
    );
    assert_eq!(closed.data["question_id"], json!(q1));
    assert_eq!(closed.data["correct_choice"], json!(dealt(q, correct(0))));
    let mut counts = vec![0; CHOICES];
    counts[dealt(q, correct(0)) as usize] = 2;
    counts[dealt(q, wrong(0)) as usize] = 1;
    assert_eq!(closed.data["answer_counts"], json!(counts));
    assert_eq!(closed.data["answered"], 3);
    assert_eq!(closed.data["players"], 3);
    let reveal = app.state(&ana.token, &code).await;
    assert_eq!(reveal["status"], "reveal", "{reveal}");
    assert_eq!(reveal["question_index"], 0);
    let board = app.leaderboard(&host.token, &code, 10, 0).await;
    let entries = board["entries"].as_array().expect("entries").clone();
    assert_eq!(board["players"], 3);
    assert_ranks(&entries, "after q1");
    assert_eq!(
        entries[2]["user_id"],
        json!(ben.user_id),
        "Ben, with 0, is last: {board}"
    );
    assert_eq!(entries[2]["rank"], 3);
    if ana1["score"] == cy1["score"] {
        assert_eq!(
            entries[0]["user_id"],
            json!(ana.user_id),
            "Ana reached the tie first"
        );
    }

    // Question 2: Ana and Ben right, Cy silent; the host closes it.
    let opened_at = Instant::now();
    let st = app.host(&host.token, &code, "next").await;
    let st = st.expect(200, "next opens q2").clone();
    assert_eq!(st["status"], "question");
    assert_eq!(st["question_index"], 1);
    let q2 = st["question"]["question_id"]
        .as_str()
        .expect("q2")
        .to_owned();
    no_correct_choice(&st.to_string(), "the next reply");
    let ana2 = app.answer(&ana.token, &code, &q2, correct(1), None).await;
    let ana2 = ana2.expect(200, "Ana answers q2").clone();
    assert_points(&ana2, true, 1, opened_at.elapsed());
    let ben2 = app.answer(&ben.token, &code, &q2, correct(1), None).await;
    let ben2 = ben2.expect(200, "Ben answers q2").clone();
    assert_points(&ben2, true, 0, opened_at.elapsed());
    let st = app.host(&host.token, &code, "next").await;
    assert_eq!(st.expect(200, "next closes q2")["status"], "reveal");
    let closed2 = host_sse.next_named("question_closed", WAIT).await;
    assert_eq!(closed2.data["question_id"], json!(q2));
    assert_eq!(closed2.data["answered"], 2);
    assert_eq!(closed2.data["players"], 3);
    let late = app.answer(&cy.token, &code, &q2, correct(1), None).await;
    late.expect_problem(422, "answering a closed question");
    awarded.insert(
        (ana.user_id.clone(), q2.clone()),
        ana2["awarded_points"].as_u64().unwrap(),
    );
    awarded.insert(
        (ben.user_id.clone(), q2.clone()),
        ben2["awarded_points"].as_u64().unwrap(),
    );

    // Question 3: Cy right (streak restarts after the miss), Ana wrong; the host ends.
    let opened_at = Instant::now();
    let st = app.host(&host.token, &code, "next").await;
    let q3 = st.expect(200, "next opens q3")["question"]["question_id"]
        .as_str()
        .expect("q3")
        .to_owned();
    let cy3 = app.answer(&cy.token, &code, &q3, correct(2), None).await;
    let cy3 = cy3.expect(200, "Cy answers q3").clone();
    assert_points(&cy3, true, 0, opened_at.elapsed());
    let ana3 = app.answer(&ana.token, &code, &q3, wrong(2), None).await;
    let ana3 = ana3.expect(200, "Ana answers q3").clone();
    assert_points(&ana3, false, 2, opened_at.elapsed());
    assert_eq!(
        ana3["score"], ana2["score"],
        "a wrong answer keeps the score"
    );
    awarded.insert(
        (cy.user_id.clone(), q3.clone()),
        cy3["awarded_points"].as_u64().unwrap(),
    );
    awarded.insert((ana.user_id.clone(), q3.clone()), 0);
    let st = app.host(&host.token, &code, "end").await;
    assert_eq!(st.expect(200, "end")["status"], "finished");

    let tail = host_sse
        .until("session_finished", |e| {
            e.iter().any(|e| e.event == "session_finished")
        })
        .await;
    let logs: Vec<&SseEvent> = tail.iter().filter(|e| e.is_log()).collect();
    let log_names: Vec<&str> = logs.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        log_names,
        ["question_opened", "question_closed", "session_finished"]
    );
    assert_eq!(
        logs[1].data["question_id"],
        json!(q3),
        "end closes the open question first"
    );
    let totals: HashMap<&str, u64> = [&ana, &ben, &cy]
        .iter()
        .map(|p| {
            (
                p.user_id.as_str(),
                awarded
                    .iter()
                    .filter(|((u, _), _)| u == &p.user_id)
                    .map(|(_, v)| v)
                    .sum(),
            )
        })
        .collect();
    let finished = &logs[2].data;
    assert_eq!(finished["players"], 3);
    let fin_entries = finished["entries"].as_array().expect("entries");
    assert_eq!(fin_entries.len(), 3);
    assert_ranks(fin_entries, "session_finished");
    for e in fin_entries {
        let uid = e["user_id"].as_str().unwrap();
        assert_eq!(e["score"], json!(totals[uid]), "final score of {e}");
    }
    let end_state = app.state(&ana.token, &code).await;
    assert_eq!(end_state["status"], "finished");
    assert_eq!(
        end_state["question_index"], 2,
        "the last question's index once finished"
    );
    assert_eq!(end_state["question"], Value::Null);
    assert_eq!(
        end_state["you"]["score"],
        json!(totals[ana.user_id.as_str()])
    );

    // The newest leaderboard snapshot ends up with the final scores.
    let final_board = |e: &SseEvent| {
        e.event == "leaderboard"
            && e.data["entries"].as_array().is_some_and(|es| {
                es.len() == 3
                    && es
                        .iter()
                        .all(|x| x["score"] == json!(totals[x["user_id"].as_str().unwrap_or("")]))
            })
    };
    if !host_sse
        .seen
        .iter()
        .rev()
        .find(|e| e.event == "leaderboard")
        .is_some_and(final_board)
    {
        host_sse
            .until("a leaderboard with the final scores", |evs| {
                evs.iter().any(final_board)
            })
            .await;
    }

    let players = [
        (&ana, &mut ana_sse),
        (&ben, &mut ben_sse),
        (&cy, &mut cy_sse),
    ];
    streams::check(&host_sse, players, &awarded).await;
}
