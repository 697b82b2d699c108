//! A table of bad requests, each answered with the right status as problem+json, and a
//! server that is still healthy afterwards.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

struct Case {
    name: &'static str,
    method: Method,
    path: String,
    content_type: &'static str,
    body: Vec<u8>,
    auth: bool,
    expect: &'static [u16],
}

fn case(name: &'static str, path: &str, body: impl Into<Vec<u8>>, expect: &'static [u16]) -> Case {
    Case {
        name,
        method: Method::POST,
        path: path.to_owned(),
        content_type: "application/json",
        body: body.into(),
        auth: true,
        expect,
    }
}

fn json_case(name: &'static str, path: &str, body: Value, expect: &'static [u16]) -> Case {
    case(name, path, body.to_string(), expect)
}

fn get(name: &'static str, path: &str, expect: &'static [u16]) -> Case {
    Case {
        method: Method::GET,
        ..case(name, path, "", expect)
    }
}

fn quiz_with(edit: impl FnOnce(&mut Value)) -> Value {
    let mut q = quiz_body("Bad", 1, 20_000);
    edit(&mut q["questions"][0]);
    q
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_problem_answers() {
    let app = spawn_app_with(|c| c.guest_logins_per_minute = 100_000).await;
    let g = setup_game(&app, 1, 1, 20_000).await;
    let st = app.host(&g.host.token, &g.code, "start").await;
    let q = st.expect(200, "start")["question"]["question_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let max = 1usize << 20;
    let huge = json!({ "display_name": "x".repeat(max + 1024) }).to_string();
    let huge_quiz = json!({ "title": "t".repeat(max + 1024), "questions": [] }).to_string();

    let guest = "/api/v1/auth/guest";
    let quizzes = "/api/v1/quizzes";
    let answers = format!("/api/v1/sessions/{}/answers", g.code);
    let answer = |choice: Value| json!({ "question_id": q, "choice": choice });
    let many: Vec<Value> = (0..201)
        .map(|_| quiz_body("x", 1, 20_000)["questions"][0].clone())
        .collect();
    let cases = vec![
        case("guest: not JSON", guest, "hello", &[400]),
        case(
            "guest: truncated JSON",
            guest,
            r#"{"display_name":"#,
            &[400],
        ),
        case(
            "guest: invalid UTF-8",
            guest,
            b"{\"display_name\":\"\xff\xfe\"}".to_vec(),
            &[400],
        ),
        json_case(
            "guest: name of the wrong type",
            guest,
            json!({ "display_name": 5 }),
            &[422],
        ),
        json_case("guest: no name", guest, json!({}), &[422]),
        json_case("guest: a JSON array", guest, json!([]), &[422]),
        json_case(
            "guest: empty name",
            guest,
            json!({ "display_name": "" }),
            &[422],
        ),
        json_case(
            "guest: blank name",
            guest,
            json!({ "display_name": "   " }),
            &[422],
        ),
        json_case(
            "guest: 33 characters",
            guest,
            json!({ "display_name": "é".repeat(33) }),
            &[422],
        ),
        json_case(
            "guest: a bell",
            guest,
            json!({ "display_name": "a\u{7}b" }),
            &[422],
        ),
        json_case(
            "guest: a newline",
            guest,
            json!({ "display_name": "a\nb" }),
            &[422],
        ),
        case("guest: body over max_body_bytes", guest, huge, &[413]),
        Case {
            content_type: "text/plain",
            ..json_case(
                "guest: not declared JSON",
                guest,
                json!({ "display_name": "Ana" }),
                &[400, 415],
            )
        },
        case("quiz: not JSON", quizzes, "title=Latin", &[400]),
        json_case(
            "quiz: one choice",
            quizzes,
            quiz_with(|q| q["choices"] = json!(["only"])),
            &[422],
        ),
        json_case(
            "quiz: seven choices",
            quizzes,
            quiz_with(|q| q["choices"] = json!(["a", "b", "c", "d", "e", "f", "g"])),
            &[422],
        ),
        json_case(
            "quiz: duplicate choices",
            quizzes,
            quiz_with(|q| q["choices"] = json!(["same", "same", "other"])),
            &[422],
        ),
        json_case(
            "quiz: an empty choice",
            quizzes,
            quiz_with(|q| q["choices"] = json!(["", "b"])),
            &[422],
        ),
        json_case(
            "quiz: correct_choice out of range",
            quizzes,
            quiz_with(|q| q["correct_choice"] = json!(4)),
            &[422],
        ),
        json_case(
            "quiz: negative correct_choice",
            quizzes,
            quiz_with(|q| q["correct_choice"] = json!(-1)),
            &[422],
        ),
        json_case(
            "quiz: time_limit 100",
            quizzes,
            quiz_with(|q| q["time_limit_ms"] = json!(100)),
            &[422],
        ),
        json_case(
            "quiz: time_limit 120001",
            quizzes,
            quiz_with(|q| q["time_limit_ms"] = json!(120_001)),
            &[422],
        ),
        json_case(
            "quiz: prompt of 501 characters",
            quizzes,
            quiz_with(|q| q["prompt"] = json!("p".repeat(501))),
            &[422],
        ),
        json_case(
            "quiz: no questions",
            quizzes,
            json!({ "title": "Empty", "questions": [] }),
            &[422],
        ),
        json_case(
            "quiz: 201 questions",
            quizzes,
            json!({ "title": "Many", "questions": many }),
            &[422],
        ),
        json_case(
            "quiz: title of the wrong type",
            quizzes,
            json!({ "title": 7, "questions": [] }),
            &[422],
        ),
        case("quiz: body over max_body_bytes", quizzes, huge_quiz, &[413]),
        Case {
            content_type: "text/csv",
            ..case(
                "import: two pairs for four choices",
                "/api/v1/quizzes/import",
                "a,b\nc,d\n",
                &[422],
            )
        },
        Case {
            content_type: "text/csv",
            ..case(
                "import: three pairs for choices=4",
                "/api/v1/quizzes/import?choices=4",
                "a,1\nb,2\nc,3\n",
                &[422],
            )
        },
        Case {
            content_type: "text/csv",
            ..case("import: empty", "/api/v1/quizzes/import", "", &[422])
        },
        Case {
            content_type: "text/csv",
            ..case(
                "import: choices=1",
                "/api/v1/quizzes/import?choices=1",
                "a,1\nb,2\nc,3\n",
                &[400, 422],
            )
        },
        case("session: not JSON", "/api/v1/sessions", "{", &[400]),
        json_case(
            "session: quiz_id of the wrong type",
            "/api/v1/sessions",
            json!({ "quiz_id": 5 }),
            &[422],
        ),
        json_case(
            "session: an unknown quiz",
            "/api/v1/sessions",
            json!({ "quiz_id": uuid::Uuid::new_v4() }),
            &[404],
        ),
        get(
            "session: code with look-alikes",
            "/api/v1/sessions/0OIL11",
            &[404],
        ),
        get("session: code too short", "/api/v1/sessions/ABC", &[404]),
        get("session: code too long", "/api/v1/sessions/ABCDEFG", &[404]),
        json_case(
            "join: code with look-alikes",
            "/api/v1/sessions/0OIL11/join",
            json!({}),
            &[404],
        ),
        case("answer: not JSON", &answers, "choice=1", &[400]),
        case(
            "answer: invalid UTF-8",
            &answers,
            b"{\"question_id\":\"\xc3\x28\",\"choice\":1}".to_vec(),
            &[400],
        ),
        json_case(
            "answer: choice out of range",
            &answers,
            answer(json!(CHOICES)),
            &[422],
        ),
        json_case("answer: choice 99", &answers, answer(json!(99)), &[422]),
        json_case(
            "answer: negative choice",
            &answers,
            answer(json!(-1)),
            &[422],
        ),
        json_case(
            "answer: choice of the wrong type",
            &answers,
            answer(json!("a")),
            &[422],
        ),
        json_case(
            "answer: no question_id",
            &answers,
            json!({ "choice": 0 }),
            &[422],
        ),
        json_case(
            "answer: nonce of 65 characters",
            &answers,
            json!({ "question_id": q, "choice": 0, "nonce": "n".repeat(65) }),
            &[422],
        ),
        get("an unknown API route", "/api/v1/nope", &[404]),
        get("an unknown route", "/nope/nope", &[404]),
        Case {
            method: Method::DELETE,
            ..get("a wrong method", quizzes, &[405])
        },
        get("GET on a POST route", guest, &[405]),
    ];

    for c in cases {
        let mut req = app.client.request(c.method.clone(), app.url(&c.path));
        if c.auth {
            req = req.bearer_auth(&g.players[0].token);
        }
        if !c.body.is_empty() || c.method == Method::POST {
            req = req
                .header("content-type", c.content_type)
                .body(c.body.clone());
        }
        let r = send(req, c.name).await;
        r.expect_problem_in(c.expect, c.name);
    }

    // Nothing above was counted as an answer, and the server is fine.
    let r = app
        .answer(&g.players[0].token, &g.code, &q, correct(0), None)
        .await;
    r.expect(200, "a good answer after the bad ones");
    app.get("/healthz", None)
        .await
        .expect(200, "healthz after bad input");
    app.guest("Still works").await;
}

#[tokio::test]
async fn names_at_the_limits_are_accepted() {
    let app = spawn_app().await;
    let g = app.guest(&"é".repeat(32)).await;
    assert_eq!(g.name.chars().count(), 32);
    let g = app.guest("  Ana  ").await;
    assert_eq!(g.name, "Ana", "display names are trimmed");
    let quiz = quiz_with(|q| {
        q["choices"] = json!(["a", "b"]);
        q["correct_choice"] = json!(1);
        q["time_limit_ms"] = json!(5_000);
        q["prompt"] = json!("p".repeat(500));
    });
    let r = app.post("/api/v1/quizzes", Some(&g.token), quiz).await;
    r.expect(201, "a quiz at the limits");
    let mut no_limit = quiz_body("Default", 1, 20_000);
    no_limit["questions"][0]
        .as_object_mut()
        .unwrap()
        .remove("time_limit_ms");
    let r = app.post("/api/v1/quizzes", Some(&g.token), no_limit).await;
    let id = r.expect(201, "a quiz without time_limit_ms")["quiz_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let quiz = app
        .get(&format!("/api/v1/quizzes/{id}"), Some(&g.token))
        .await;
    assert_eq!(
        quiz.expect(200, "GET quiz")["questions"][0]["time_limit_ms"],
        20_000,
        "the default limit"
    );
}
