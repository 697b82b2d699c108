//! After a game: results as JSON and CSV (409 before the end, host and players only),
//! `me/history` newest first, and leaderboard paging with `limit`/`offset`.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_history_and_leaderboard_pages() {
    let app = spawn_app().await;
    let g = setup_game(&app, 3, 2, 20_000).await;
    let p = &g.players;
    let watcher = app.guest("Watcher").await;
    let results = format!("/api/v1/sessions/{}/results", g.code);
    let lobby = app.leaderboard(&watcher.token, &g.code, 10, 0).await;
    let order: Vec<&Value> = lobby["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["user_id"])
        .collect();
    let joined: Vec<Value> = p.iter().map(|x| json!(x.user_id)).collect();
    assert_eq!(
        order,
        joined.iter().collect::<Vec<_>>(),
        "every player listed with 0, in join order"
    );
    assert!(
        lobby["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["rank"] == 1 && e["score"] == 0),
        "{lobby}"
    );
    app.get(&results, Some(&g.host.token))
        .await
        .expect_problem(409, "results in the lobby");

    let mut host_sse = app.sse(&g.host.token, &g.code, None).await;
    let st = app.host(&g.host.token, &g.code, "start").await;
    let shown1 = st.expect(200, "start")["question"].clone();
    let q1 = shown1["question_id"].as_str().unwrap().to_owned();
    app.get(&results, Some(&p[0].token))
        .await
        .expect_problem(409, "results while playing");
    let mut awarded: HashMap<(String, String), (u64, u64)> = HashMap::new();
    for (i, choice) in [correct(0), wrong(0), correct(0)].into_iter().enumerate() {
        let r = app.answer(&p[i].token, &g.code, &q1, choice, None).await;
        let pts = r.expect(200, "answer q1")["awarded_points"]
            .as_u64()
            .unwrap();
        let choice = dealt(&shown1, choice);
        awarded.insert((p[i].user_id.clone(), q1.clone()), (choice, pts));
    }
    let closed1 = host_sse.next_named("question_closed", WAIT).await.data;
    let st = app.host(&g.host.token, &g.code, "next").await;
    let shown2 = st.expect(200, "next")["question"].clone();
    let q2 = shown2["question_id"].as_str().unwrap().to_owned();
    let r = app
        .answer(&p[0].token, &g.code, &q2, correct(1), None)
        .await;
    let pts = r.expect(200, "answer q2")["awarded_points"]
        .as_u64()
        .unwrap();
    let choice = dealt(&shown2, correct(1));
    awarded.insert((p[0].user_id.clone(), q2.clone()), (choice, pts));
    app.host(&g.host.token, &g.code, "end")
        .await
        .expect(200, "end");
    let closed2 = host_sse.next_named("question_closed", WAIT).await.data;

    let res = app.get(&results, Some(&g.host.token)).await;
    let res = res.expect(200, "results for the host").clone();
    assert_eq!(res["session_id"], json!(g.code));
    assert_eq!(res["quiz_title"], "Test words");
    assert!(
        res["finished_at"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z') || s.contains('+')),
        "{res}"
    );
    assert_eq!(res["players"], 3);
    let standings = res["standings"].as_array().expect("standings");
    assert_eq!(standings.len(), 3);
    assert_ranks(standings, "results standings");
    let answers = res["answers"].as_array().expect("answers");
    assert_eq!(answers.len(), awarded.len(), "one row per answer: {res}");
    let mut totals: HashMap<String, u64> = p.iter().map(|x| (x.user_id.clone(), 0)).collect();
    for a in answers {
        let key = (
            a["user_id"].as_str().unwrap().to_owned(),
            a["question_id"].as_str().unwrap().to_owned(),
        );
        let (choice, pts) = awarded
            .get(&key)
            .unwrap_or_else(|| panic!("unexpected answer row {a}"));
        assert_eq!(a["choice"], json!(choice), "{a}");
        assert_eq!(a["awarded_points"], json!(pts), "{a}");
        assert_eq!(a["correct"], json!(*pts > 0), "{a}");
        assert_eq!(a["index"], json!(if key.1 == q1 { 0 } else { 1 }), "{a}");
        assert!(a["answer_ms"].as_u64().is_some_and(|t| t <= 20_000), "{a}");
        if *pts > 0 {
            // The formula, from the server-measured t (q2 was player 0's second in a row).
            let t = a["answer_ms"].as_u64().unwrap().min(20_000) as f64;
            let prior = u64::from(key.0 == p[0].user_id && key.1 == q2);
            let speed = (50.0 * (20_000.0 - t) / 20_000.0).round() as u64;
            assert_eq!(*pts, 100 + speed + 10 * prior, "points from answer_ms: {a}");
        }
        assert!(
            a["display_name"]
                .as_str()
                .is_some_and(|n| n.starts_with("Player")),
            "{a}"
        );
        *totals.get_mut(&key.0).unwrap() += pts;
    }
    for s in standings {
        assert_eq!(
            s["score"],
            json!(totals[s["user_id"].as_str().unwrap()]),
            "standing {s}"
        );
    }
    let as_player = app.get(&results, Some(&p[1].token)).await;
    assert_eq!(as_player.expect(200, "results for a player"), &res);
    app.get(&results, Some(&watcher.token))
        .await
        .expect_problem(403, "results for an outsider");

    // The words: exactly the questions as the session showed and revealed them.
    let questions = res["questions"].as_array().expect("questions");
    assert_eq!(questions.len(), 2, "both opened questions: {res}");
    for (q, (shown, closed)) in questions
        .iter()
        .zip([(&shown1, &closed1), (&shown2, &closed2)])
    {
        assert_eq!(q["question_id"], shown["question_id"], "{q}");
        assert_eq!(q["index"], shown["index"], "{q}");
        assert_eq!(q["prompt"], shown["prompt"], "{q}");
        assert_eq!(q["choices"], shown["choices"], "{q}");
        assert_eq!(q["correct_choice"], closed["correct_choice"], "{q}");
    }
    // Totals per player: (correct, answered).
    let expected = [(2, 2), (0, 1), (1, 1)];
    for (player, (right, answered)) in p.iter().zip(expected) {
        let s = standings
            .iter()
            .find(|s| s["user_id"] == json!(player.user_id))
            .expect("a standing per player");
        assert_eq!(s["correct"], right, "{s}");
        assert_eq!(s["answered"], answered, "{s}");
        assert_eq!(s["display_name"], json!(player.name), "{s}");
    }

    let csv = app
        .get(&format!("{results}?format=csv"), Some(&g.host.token))
        .await;
    csv.expect(200, "results as CSV");
    assert!(
        csv.header("content-type").starts_with("text/csv"),
        "{:?}",
        csv.header("content-type")
    );
    let (header, rows) = parse_csv(&csv.text);
    assert_eq!(
        header,
        [
            "rank",
            "player",
            "score",
            "question_index",
            "prompt",
            "choice",
            "correct_choice",
            "correct",
            "points",
            "answer_ms"
        ]
    );
    assert_eq!(
        rows.len(),
        3 * 2,
        "one row per player and question:\n{}",
        csv.text
    );
    // Rows follow the standings, each player's questions in order.
    for (row, (s, q)) in rows.iter().zip(
        standings
            .iter()
            .flat_map(|s| questions.iter().map(move |q| (s, q))),
    ) {
        let words = |i: &Value| q["choices"][i.as_u64().unwrap() as usize].clone();
        assert_eq!(row[0], s["rank"].to_string(), "{row:?}");
        assert_eq!(json!(row[1]), s["display_name"], "{row:?}");
        assert_eq!(row[2], s["score"].to_string(), "{row:?}");
        assert_eq!(row[3], q["index"].to_string(), "{row:?}");
        assert_eq!(json!(row[4]), q["prompt"], "{row:?}");
        assert_eq!(json!(row[6]), words(&q["correct_choice"]), "{row:?}");
        let answer = answers
            .iter()
            .find(|a| a["user_id"] == s["user_id"] && a["question_id"] == q["question_id"]);
        match answer {
            Some(a) => {
                assert_eq!(json!(row[5]), words(&a["choice"]), "{row:?}");
                assert_eq!(row[7], a["correct"].to_string(), "{row:?}");
                assert_eq!(row[8], a["awarded_points"].to_string(), "{row:?}");
                assert_eq!(row[9], a["answer_ms"].to_string(), "{row:?}");
            }
            None => assert_eq!(
                [&row[5], &row[7], &row[8], &row[9]],
                ["", "", "", ""],
                "unanswered: empty cells {row:?}"
            ),
        }
    }
    let unanswered = rows.iter().filter(|r| r[5].is_empty()).count();
    assert_eq!(unanswered, 2, "players 1 and 2 skipped question 2");

    // Leaderboard pages.
    let full = app.leaderboard(&watcher.token, &g.code, 10, 0).await;
    let page1 = app.leaderboard(&watcher.token, &g.code, 2, 0).await;
    let page2 = app.leaderboard(&watcher.token, &g.code, 2, 2).await;
    for page in [&full, &page1, &page2] {
        assert_eq!(page["players"], 3, "{page}");
    }
    assert_eq!(page1["entries"].as_array().map(Vec::len), Some(2));
    assert_eq!(page2["entries"].as_array().map(Vec::len), Some(1));
    let joined: Vec<Value> = page1["entries"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page2["entries"].as_array().unwrap())
        .cloned()
        .collect();
    assert_eq!(
        &joined,
        full["entries"].as_array().unwrap(),
        "pages add up to the whole board"
    );
    let beyond = app.leaderboard(&watcher.token, &g.code, 10, 5).await;
    assert_eq!(beyond["entries"], json!([]), "{beyond}");
    app.leaderboard(&watcher.token, &g.code, 100, 0).await;
    for bad in ["limit=0", "limit=101", "limit=abc", "offset=-1"] {
        let r = app
            .get(
                &format!("/api/v1/sessions/{}/leaderboard?{bad}", g.code),
                Some(&watcher.token),
            )
            .await;
        r.expect_problem_in(&[400, 422], &format!("leaderboard?{bad}"));
    }

    // History: a second, later session for player 0; newest first.
    let empty = app.get("/api/v1/me/history", Some(&watcher.token)).await;
    assert_eq!(
        empty.expect(200, "history of a non-player")["sessions"],
        json!([])
    );
    let code2 = app.create_session(&g.host.token, &g.quiz_id).await;
    app.join(&p[0].token, &code2).await;
    app.host(&g.host.token, &code2, "start")
        .await
        .expect(200, "start 2");
    app.host(&g.host.token, &code2, "end")
        .await
        .expect(200, "end 2");
    let hist = app.get("/api/v1/me/history", Some(&p[0].token)).await;
    let hist = hist.expect(200, "history").clone();
    let sessions = hist["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 2, "{hist}");
    assert_eq!(
        sessions[0]["session_id"],
        json!(code2),
        "newest first: {hist}"
    );
    assert_eq!(sessions[1]["session_id"], json!(g.code), "{hist}");
    assert!(
        sessions[0]["finished_at"].as_str() >= sessions[1]["finished_at"].as_str(),
        "{hist}"
    );
    assert_eq!(sessions[0]["score"], 0);
    assert_eq!(sessions[0]["players"], 1);
    assert_eq!(sessions[0]["rank"], 1);
    assert_eq!(sessions[1]["score"], json!(totals[&p[0].user_id]));
    assert_eq!(sessions[1]["players"], 3);
    assert_eq!(sessions[1]["quiz_title"], "Test words");
    let rank0 = standings
        .iter()
        .find(|s| s["user_id"] == json!(p[0].user_id))
        .unwrap()["rank"]
        .clone();
    assert_eq!(sessions[1]["rank"], rank0);
}

/// The header and rows of a CSV body.
fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .expect("a CSV header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("a CSV row").iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_cells_never_start_a_formula() {
    let app = spawn_app().await;
    let host = app.guest("Host").await;
    let body = json!({ "title": "=cmd|' /C calc'!A0", "questions": [
        { "prompt": "=SUM(A1:A9)", "choices": ["-1", "@x", "+2", "=3"], "correct_choice": 2 },
    ] });
    let r = app.post("/api/v1/quizzes", Some(&host.token), body).await;
    let quiz_id = r.expect(201, "create quiz")["quiz_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = app.create_session(&host.token, &quiz_id).await;
    let names = ["=HYPERLINK(\"http://x\")", "+1", "-2", "@a"];
    let mut players = Vec::new();
    for name in names {
        let g = app.guest(name).await;
        assert_eq!(g.name, name);
        app.join(&g.token, &code).await;
        players.push(g);
    }
    let st = app.host(&host.token, &code, "start").await;
    let q = st.expect(200, "start")["question"].clone();
    let qid = q["question_id"].as_str().unwrap();
    let choices: Vec<&str> = q["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for (i, g) in players.iter().enumerate().take(3) {
        app.answer(&g.token, &code, qid, i as u64, None)
            .await
            .expect(200, "answer");
    }
    app.host(&host.token, &code, "end").await.expect(200, "end");

    let path = format!("/api/v1/sessions/{code}/results?format=csv");
    let csv = app.get(&path, Some(&host.token)).await;
    csv.expect(200, "CSV");
    let (_, rows) = parse_csv(&csv.text);
    assert_eq!(rows.len(), names.len(), "{}", csv.text);
    for row in &rows {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a live formula: {cell:?} in {row:?}"
            );
        }
        let name = row[1].strip_prefix('\'').expect("the name is escaped");
        assert!(names.contains(&name), "{row:?}");
        assert_eq!(row[4], "'=SUM(A1:A9)");
    }
    for (i, g) in players.iter().enumerate().take(3) {
        let row = rows
            .iter()
            .find(|r| r[1] == format!("'{}", g.name))
            .expect("a row per player");
        assert_eq!(row[5], format!("'{}", choices[i]), "{row:?}");
        assert_eq!(row[6], "'+2", "{row:?}");
    }
    // The JSON keeps the words as they are.
    let res = app
        .get(
            &format!("/api/v1/sessions/{code}/results"),
            Some(&host.token),
        )
        .await;
    let res = res.expect(200, "JSON results");
    assert_eq!(res["questions"][0]["prompt"], "=SUM(A1:A9)");
    assert!(
        res["standings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["display_name"] == names[0])
    );
}
