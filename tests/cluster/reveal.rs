//! Two nodes, one `at_reveal` game: players answer on one node and listen on the other,
//! which learns the board from Redis. Nothing moves there before `question_closed`.

use futures::StreamExt;
use serde_json::{Value, json};

use super::harness::{Api, Event, cluster, sse, until};

const PLAYERS: usize = 3;

fn moved(e: &Event) -> bool {
    e.event == "score"
        || (e.event == "leaderboard"
            && e.data["entries"]
                .as_array()
                .is_some_and(|es| es.iter().any(|x| x["score"] != json!(0))))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_at_reveal_board_moves_only_after_the_close_on_every_node() {
    let Some((cluster, _redis)) = cluster().await else {
        return;
    };
    let (a, b) = (
        cluster.start_node("reveal-a").await,
        cluster.start_node("reveal-b").await,
    );
    let api = Api::new();
    let (host, _) = api.guest(&a.url, "Host").await;
    let quiz = api.quiz(&a.url, &host, 1, 60_000).await;
    let (s, v) = api
        .call(
            "POST",
            &format!("{}/api/v1/sessions", a.url),
            Some(&host),
            Some(json!({ "quiz_id": quiz, "feedback": "at_reveal" })),
        )
        .await;
    assert_eq!(s, 201, "create session: {v}");
    let code = v["session_id"].as_str().expect("code").to_owned();
    let mut players = Vec::new();
    for p in 0..PLAYERS {
        let (token, _) = api.guest(&a.url, &format!("P{p}")).await;
        let join = format!("{}/api/v1/sessions/{code}/join", a.url);
        assert_eq!(api.call("POST", &join, Some(&token), None).await.0, 200);
        players.push(token);
    }
    let mut host_b = sse(&api, &b.url, &host, &code, None).await;
    let mut player_b = sse(&api, &b.url, &players[0], &code, None).await;
    until(&mut host_b, "session_state").await;
    until(&mut player_b, "session_state").await;

    let start = format!("{}/api/v1/sessions/{code}/start", a.url);
    let (s, state) = api.call("POST", &start, Some(&host), None).await;
    assert_eq!(s, 200, "start: {state}");
    let q = state["question"].clone();
    // The quiz's correct choice is "right"; find it in this session's deal.
    let right = q["choices"]
        .as_array()
        .and_then(|c| c.iter().position(|w| w == "right"))
        .expect("the right word");
    let mut seen = until(&mut player_b, "question_opened").await;
    // Two of three answer (both right) on node A; the question stays open.
    for token in &players[..2] {
        let url = format!("{}/api/v1/sessions/{code}/answers", a.url);
        let body = json!({ "question_id": q["question_id"], "choice": right });
        let (s, reply) = api.call("POST", &url, Some(token), Some(body)).await;
        assert_eq!(s, 200, "answer: {reply}");
        assert_eq!(reply["correct"], Value::Null, "{reply}");
    }
    // Node B sends the host's counts in the same flush as any board: once they show both
    // answers, a board that moved would already be on the player's stream.
    loop {
        let e = tokio::time::timeout(std::time::Duration::from_secs(10), host_b.next())
            .await
            .expect("the host's counts on node B")
            .expect("an event");
        if e.event == "answers" && e.data["answered"] == json!(2) {
            break;
        }
    }
    let next = format!("{}/api/v1/sessions/{code}/next", a.url);
    assert_eq!(api.call("POST", &next, Some(&host), None).await.0, 200);
    seen.extend(until(&mut player_b, "question_closed").await);
    let early: Vec<&Event> = seen.iter().filter(|e| moved(e)).collect();
    assert!(
        early.is_empty(),
        "moved before question_closed on node B: {early:?}"
    );
    let after = until(&mut player_b, "score").await;
    let score = after.last().expect("score");
    assert_eq!(score.data["correct"], true, "{score:?}");
}
