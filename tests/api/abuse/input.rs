//! Abuse cases: input. The worst bodies one signed-in client can send under the body limit
//! are answered at once with the right status and a small problem; the server keeps
//! answering others meanwhile; display names cannot hide or disguise text.

use serde_json::{Value, json};

use crate::helpers::*;

const LIMIT: usize = 1 << 20;
/// No error body may grow with the request: "a few KB" at most.
const SMALL: usize = 4 * 1024;

/// Asserts a problem+json answer with this status and a small body.
fn small_problem(r: &Reply, status: u16, what: &str) -> String {
    r.expect_problem(status, what);
    assert!(
        r.text.len() < SMALL,
        "{what}: a {} byte error body",
        r.text.len()
    );
    r.json["detail"].as_str().unwrap_or_default().to_owned()
}

fn quiz(questions: Vec<Value>) -> Value {
    json!({ "title": "Hostile", "questions": questions })
}

/// One question with 100,000 distinct choices, just under 1 MiB.
fn many_choices() -> String {
    let choices: Vec<String> = (0..100_000).map(|i| format!("c{i}")).collect();
    let body = quiz(vec![
        json!({ "prompt": "p", "choices": choices, "correct_choice": 0 }),
    ])
    .to_string();
    assert!(body.len() < LIMIT);
    body
}

/// 12,000 questions, each wrong in every field.
fn many_invalid_questions() -> String {
    let q = json!({ "prompt": "", "choices": ["a"], "correct_choice": -1, "time_limit_ms": 1 });
    let body = quiz(vec![q; 12_000]).to_string();
    assert!(body.len() < LIMIT);
    body
}

/// Word-list rows `w{i},m{i}` filling `bytes`.
fn rows_filling(bytes: usize) -> String {
    let mut text = String::new();
    for i in 0.. {
        let row = format!("w{i},m{i}\n");
        if text.len() + row.len() > bytes {
            break;
        }
        text.push_str(&row);
    }
    text
}

fn rows(n: usize, meaning_len: usize) -> String {
    (0..n)
        .map(|i| format!("w{i},{i}{}\n", "m".repeat(meaning_len)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worst_case_quiz_bodies_get_small_problems() {
    let app = spawn_app().await;
    let g = app.guest("Mallory").await;
    let t = Some(g.token.as_str());
    let post = |body: String| app.post_raw("/api/v1/quizzes", t, "application/json", body);

    let d = small_problem(&post(many_choices()).await, 422, "100k choices");
    assert_eq!(
        d, "questions[0].choices must hold 2–6 items",
        "one problem for the count, the choices not examined"
    );
    let d = small_problem(&post(many_invalid_questions()).await, 422, "12k questions");
    assert!(d.contains("questions must hold 1–200 items"), "{d}");

    // 200 questions with every field wrong, texts of 600 characters: 1,600 problems once.
    let long = "x".repeat(600);
    let q = json!({ "prompt": long, "choices": [long, long, long, long, long, long],
                    "correct_choice": 9, "time_limit_ms": 0 });
    let body = quiz(vec![q; 200]).to_string();
    assert!(body.len() < LIMIT);
    let d = small_problem(&post(body).await, 422, "200 invalid questions");
    assert_eq!(d.matches("; ").count(), 20, "20 problems, then more: {d}");
    assert!(d.ends_with("; and more"), "{d}");

    // serde quotes the offending value or field name: the detail is cut short.
    let huge = "z".repeat(900_000);
    let mut wrong_type = quiz_body("t", 1, 20_000);
    wrong_type["questions"][0]["correct_choice"] = json!(huge);
    small_problem(
        &post(wrong_type.to_string()).await,
        422,
        "a huge wrong-typed value",
    );
    let mut unknown = quiz_body("t", 1, 20_000);
    unknown[huge.as_str()] = json!(1);
    small_problem(
        &post(unknown.to_string()).await,
        422,
        "a huge unknown field",
    );
    let questions_string = json!({ "title": "t", "questions": huge }).to_string();
    small_problem(&post(questions_string).await, 422, "questions as a string");

    let full = many_choices();
    let truncated = full[..full.len() - 10].to_owned();
    small_problem(&post(truncated).await, 400, "truncated JSON");
    let over = format!("{}{}", many_choices(), " ".repeat(LIMIT));
    small_problem(&post(over).await, 413, "over the body limit");

    // The valid case still works, on either side of the offload threshold.
    app.create_quiz(&g.token, 1).await;
    app.create_quiz(&g.token, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worst_case_word_lists_get_small_problems() {
    let app = spawn_app().await;
    let g = app.guest("Mallory").await;
    let t = Some(g.token.as_str());
    let app = &app;
    let import = move |query: &'static str, body: String| async move {
        let path = format!("/api/v1/quizzes/import{query}");
        app.post_raw(&path, t, "text/csv", body).await
    };

    let full = rows_filling(LIMIT);
    let d = small_problem(&import("", full.clone()).await, 422, "1 MiB of rows");
    assert!(d.contains("more than 200"), "{d}");
    let d = small_problem(&import("", rows(201, 1)).await, 422, "201 rows");
    assert!(d.contains("more than 200"), "{d}");
    let d = small_problem(&import("?choices=7", full).await, 422, "choices=7");
    assert!(d.contains("choices must be 2–6"), "{d}");
    // 200 rows whose meanings are all too long: one problem per choice, 20 named.
    let d = small_problem(&import("", rows(200, 600)).await, 422, "long meanings");
    assert!(d.ends_with("; and more"), "{d}");
    let over = rows_filling(LIMIT + 4096);
    small_problem(&import("", over).await, 413, "over the body limit");
    let r = app
        .post_raw(
            "/api/v1/quizzes/import",
            t,
            "text/csv",
            b"w,m\n\xff\xfe,x\n".to_vec(),
        )
        .await;
    small_problem(&r, 400, "invalid UTF-8");

    let r = import("?title=Full", rows(200, 1)).await;
    assert_eq!(r.expect(201, "200 rows")["question_count"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_while_hostile_bodies_are_checked() {
    let app = spawn_app().await;
    let g = app.guest("Mallory").await;
    let hostile = |body: String| {
        let req = app
            .request(reqwest::Method::POST, "/api/v1/quizzes", Some(&g.token))
            .header("content-type", "application/json")
            .body(body);
        tokio::spawn(send(req, "a hostile quiz"))
    };
    let first = hostile(many_choices());
    let second = hostile(many_invalid_questions());
    let health = app.get("/healthz", None).await;
    health.expect(200, "healthz while two hostile bodies are in flight");
    for (r, what) in [(first, "100k choices"), (second, "12k questions")] {
        let r = within(what, r).await.expect("the request task");
        small_problem(&r, 422, what);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_that_hide_or_disguise_text_are_refused() {
    let app = spawn_app_with(|c| c.guest_logins_per_minute = 10_000).await;
    let login =
        |name: String| app.post("/api/v1/auth/guest", None, json!({ "display_name": name }));
    let hidden = [
        ("right-to-left override", '\u{202E}'),
        ("left-to-right embedding", '\u{202A}'),
        ("first strong isolate", '\u{2068}'),
        ("pop directional isolate", '\u{2069}'),
        ("zero-width space", '\u{200B}'),
        ("zero-width joiner", '\u{200D}'),
        ("word joiner", '\u{2060}'),
        ("byte order mark", '\u{FEFF}'),
        ("soft hyphen", '\u{AD}'),
        ("line separator", '\u{2028}'),
        ("paragraph separator", '\u{2029}'),
        ("escape", '\u{1B}'),
        ("delete", '\u{7F}'),
        ("next line", '\u{85}'),
    ];
    for (what, c) in hidden {
        let r = login(format!("Ana{c}Admin")).await;
        let d = small_problem(&r, 422, what);
        assert!(
            d.contains(&format!("U+{:04X}", u32::from(c))),
            "{what}: the detail names the character: {d}"
        );
    }
    small_problem(&login("\u{FEFF}".into()).await, 422, "only a BOM");
    small_problem(&login("é".repeat(33)).await, 422, "33 characters");
    small_problem(&login("x".repeat(900_000)).await, 422, "900 KB");

    for name in ["José Ñúñez", "Zoë 🎉", "🇪🇸 Lucía", "李小龍"] {
        let r = login(name.into()).await;
        assert_eq!(r.expect(201, name)["display_name"], name);
    }
    let emoji = "🦊".repeat(32);
    assert_eq!(
        login(emoji.clone()).await.expect(201, "32 emoji")["display_name"],
        json!(emoji)
    );
    // Decomposed accents come back composed (NFC), and count once each.
    let r = login(format!("  {}  ", "e\u{301}".repeat(32))).await;
    assert_eq!(
        r.expect(201, "decomposed accents")["display_name"],
        json!("é".repeat(32))
    );
}
