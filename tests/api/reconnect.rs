//! Reconnecting an event stream: `Last-Event-ID` replays exactly the missed log events,
//! then the snapshots, then live events; unknown ids get a fresh `session_state`.
//! Also the stream's headers, token sources, heartbeats and the per-user stream limit.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

fn log_pairs(events: &[SseEvent]) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e.is_log())
        .map(|e| (e.event.clone(), e.id.clone().expect("log events have ids")))
        .collect()
}

/// Reads until a leaderboard, presence and (for a player) score snapshot have arrived,
/// asserting nothing else comes first.
async fn snapshots(sse: &mut Sse, player: bool) -> Vec<SseEvent> {
    let mut want: HashSet<&str> = ["leaderboard", "presence"].into();
    if player {
        want.insert("score");
    }
    let got = sse
        .until("the leaderboard, presence and score snapshots", |evs| {
            want.iter().all(|w| evs.iter().any(|e| e.event == *w))
        })
        .await;
    for e in &got {
        assert!(
            want.contains(e.event.as_str()),
            "only snapshots after the replay, got {e:?}"
        );
        assert!(e.id.is_none(), "snapshots carry no id: {e:?}");
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_replays_exactly_what_was_missed() {
    let app = spawn_app().await;
    let g = setup_game(&app, 2, 3, 20_000).await;
    let (ana, ben) = (&g.players[0], &g.players[1]);
    let mut host_sse = app.sse(&g.host.token, &g.code, None).await;
    let mut ana_sse = app.sse(&ana.token, &g.code, None).await;
    assert_eq!(ana_sse.next().await.event, "session_state");
    app.host(&g.host.token, &g.code, "start")
        .await
        .expect(200, "start");
    let opened = ana_sse.next_named("question_opened", WAIT).await;
    let last_seen = ana_sse.last_id().expect("an id");
    assert_eq!(opened.id.as_deref(), Some(last_seen.as_str()));
    let q1 = opened.data["question_id"].as_str().unwrap().to_owned();
    host_sse.next_named("question_opened", WAIT).await;
    drop(ana_sse);

    // While Ana is away: q1 closes (both answered), q2 opens and closes.
    let ana1 = app.answer(&ana.token, &g.code, &q1, correct(0), None).await;
    let ana1 = ana1.expect(200, "Ana answers").clone();
    app.answer(&ben.token, &g.code, &q1, wrong(0), None)
        .await
        .expect(200, "Ben answers");
    let missed_from = host_sse.seen.len();
    host_sse.next_named("question_closed", WAIT).await;
    app.host(&g.host.token, &g.code, "next")
        .await
        .expect(200, "open q2");
    host_sse.next_named("question_opened", WAIT).await;
    app.host(&g.host.token, &g.code, "next")
        .await
        .expect(200, "close q2");
    host_sse.next_named("question_closed", WAIT).await;
    let missed = log_pairs(&host_sse.seen[missed_from..]);
    assert_eq!(missed.len(), 3, "{missed:?}");

    let mut back = app.sse(&ana.token, &g.code, Some(&last_seen)).await;
    let mut replay = Vec::new();
    for _ in 0..missed.len() {
        replay.push(back.next().await);
    }
    assert_eq!(
        log_pairs(&replay),
        missed,
        "exactly the missed log events, in order, same ids"
    );
    assert_eq!(replay[0].data["question_id"], json!(q1));
    assert_eq!(
        replay[0].data["correct_choice"],
        json!(dealt(&opened.data, correct(0)))
    );
    let snaps = snapshots(&mut back, true).await;
    let score = snaps.iter().rev().find(|e| e.event == "score").unwrap();
    assert_eq!(
        score.data["score"], ana1["score"],
        "the score snapshot: {score:?}"
    );

    // Resuming from the newest id: nothing to replay, snapshots only, then live.
    let newest = back.last_id().expect("an id");
    let mut again = app.sse(&ana.token, &g.code, Some(&newest)).await;
    snapshots(&mut again, true).await;
    app.host(&g.host.token, &g.code, "next")
        .await
        .expect(200, "open q3");
    app.host(&g.host.token, &g.code, "end")
        .await
        .expect(200, "end");
    for sse in [&mut back, &mut again] {
        sse.until("session_finished", |e| {
            e.iter().any(|e| e.event == "session_finished")
        })
        .await;
        assert!(
            !sse.names().contains(&"session_state".to_owned()),
            "a valid resume gets no session_state"
        );
        assert_ids(&sse.seen, "resumed stream");
    }
    host_sse
        .until("session_finished", |e| {
            e.iter().any(|e| e.event == "session_finished")
        })
        .await;
    let after = |s: &Sse, from: &str| -> Vec<(String, String)> {
        let from: u64 = from.parse().unwrap();
        log_pairs(&s.seen)
            .into_iter()
            .filter(|(_, id)| id.parse::<u64>().unwrap() > from)
            .collect()
    };
    let live = after(&host_sse, &newest);
    assert_eq!(live.len(), 3, "q3 opened, closed, finished: {live:?}");
    assert_eq!(
        after(&again, &newest),
        live,
        "the second resume gets the live events once"
    );
    assert_eq!(
        after(&back, &last_seen),
        [missed, live].concat(),
        "no gap, no duplicate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_snapshots_are_current_right_after_a_change() {
    let app = spawn_app().await;
    let g = setup_game(&app, 2, 2, 20_000).await;
    let ana = &g.players[0];
    let mut sse = app.sse(&ana.token, &g.code, None).await;
    let st = app.host(&g.host.token, &g.code, "start").await;
    let q = st.expect(200, "start")["question"]["question_id"]
        .as_str()
        .unwrap()
        .to_owned();
    sse.next_named("question_opened", WAIT).await;
    let last = sse.last_id().expect("an id");
    drop(sse);
    let mine = app.answer(&ana.token, &g.code, &q, correct(0), None).await;
    let mine = mine.expect(200, "answer").clone();

    // Resume at once, before any coalesced broadcast could carry the change.
    let mut back = app.sse(&ana.token, &g.code, Some(&last)).await;
    let snaps = snapshots(&mut back, true).await;
    let find = |k: &str| snaps.iter().find(|e| e.event == k).cloned().unwrap();
    let board = find("leaderboard");
    assert_eq!(
        board.data["players"], 2,
        "the current leaderboard on resume, got {board:?}"
    );
    let entry = board.data["entries"]
        .as_array()
        .and_then(|es| es.first().cloned())
        .unwrap_or_default();
    assert_eq!(entry["user_id"], json!(ana.user_id), "Ana leads: {board:?}");
    assert_eq!(
        entry["score"], mine["score"],
        "the current leaderboard on resume: {board:?}"
    );
    let presence = find("presence");
    assert_eq!(
        presence.data["players"], 2,
        "the current presence on resume, got {presence:?}"
    );
    assert_eq!(find("score").data["score"], mine["score"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_or_garbage_ids_get_a_fresh_session_state() {
    let app = spawn_app().await;
    let g = setup_game(&app, 1, 1, 20_000).await;
    app.host(&g.host.token, &g.code, "start")
        .await
        .expect(200, "start");
    let watcher = app.guest("Watcher").await;
    for (who, token) in [("watcher", &watcher.token), ("player", &g.players[0].token)] {
        for id in ["999999999999999999", "garbage"] {
            let mut sse = app.sse(token, &g.code, Some(id)).await;
            let first = sse.next().await;
            assert_eq!(
                first.event, "session_state",
                "{who} resuming from {id:?}: {first:?}"
            );
            assert_eq!(first.data["status"], "question");
            assert!(!first.raw.contains("correct_choice"), "{first:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_headers_tokens_and_the_stream_limit() {
    let app = spawn_app_with(|c| c.streams_per_user = 2).await;
    let g = setup_game(&app, 1, 1, 20_000).await;
    let token = &g.players[0].token;
    let first = app.sse(token, &g.code, None).await;
    let h = |name: &str| {
        first
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    assert!(
        h("cache-control").contains("no-cache"),
        "Cache-Control: {:?}",
        h("cache-control")
    );
    assert_eq!(h("x-accel-buffering"), "no");

    // EventSource style: the token in the query string.
    let url = app.url(&format!(
        "/api/v1/sessions/{}/events?access_token={token}",
        g.code
    ));
    let resp = within("a stream with access_token", app.client.get(url).send())
        .await
        .expect("send");
    assert_eq!(resp.status(), 200, "access_token in the query is accepted");
    let mut second = Sse::new(resp);
    assert_eq!(second.next().await.event, "session_state");

    // A third stream of the same user is refused.
    let third = app.sse_response(token, &g.code, None).await;
    let third = send_back(third).await;
    third.expect_problem(429, "a third stream with streams_per_user = 2");
    let other = app.sse(&g.host.token, &g.code, None).await;
    drop(other);

    // Closing a stream frees its slot.
    drop(first);
    let reopened = within("a freed stream slot", async {
        loop {
            let resp = app.sse_response(token, &g.code, None).await;
            if resp.status() == 200 {
                break resp;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert_eq!(Sse::new(reopened).next().await.event, "session_state");

    let bad = app.sse_response("nope", &g.code, None).await;
    send_back(bad)
        .await
        .expect_problem(401, "a stream with a bad token");
    let unknown = crate::rules::other_code(&g.code);
    let missing = app.sse_response(&g.host.token, &unknown, None).await;
    send_back(missing)
        .await
        .expect_problem(404, "a stream of an unknown session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_counts_live_connections() {
    let app = spawn_app().await;
    let g = setup_game(&app, 1, 1, 20_000).await;
    let mut host_sse = app.sse(&g.host.token, &g.code, None).await;
    let online = |n: u64| {
        move |evs: &[SseEvent]| {
            evs.iter()
                .rev()
                .find(|e| e.event == "presence")
                .is_some_and(|e| e.data["online"] == n && e.data["players"] == 1)
        }
    };
    let player = app.sse(&g.players[0].token, &g.code, None).await;
    host_sse
        .until("presence with the player online", online(1))
        .await;
    drop(player);
    host_sse
        .until("presence with the player offline again", online(0))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_stream_gets_heartbeat_events() {
    let every = Duration::from_millis(500);
    let app = spawn_app_with(|c| c.heartbeat_ms = every.as_millis() as u64).await;
    let g = setup_game(&app, 1, 1, 20_000).await;
    let mut sse = app.sse(&g.players[0].token, &g.code, None).await;
    assert_eq!(sse.next().await.event, "session_state");
    let before = time::OffsetDateTime::now_utc();
    let mut beats = Vec::new();
    for _ in 0..2 {
        let beat = sse.next_named("heartbeat", WAIT).await;
        assert_eq!(beat.id, None, "a heartbeat is not a log event: {beat:?}");
        let at = beat.data["at"].as_str().expect("`at`");
        let at = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("`at` is not RFC 3339 ({e}): {beat:?}"));
        assert!(
            at >= before - Duration::from_secs(1) && at <= time::OffsetDateTime::now_utc(),
            "`at` is the server's current time: {at}"
        );
        beats.push(at);
    }
    assert!(
        beats[1] - beats[0] >= every - Duration::from_millis(50),
        "one per idle interval: {beats:?}"
    );
    assert_eq!(sse.retry, Some(2000), "the retry advice on connect stays");
    assert!(
        sse.comments.is_empty(),
        "heartbeats replace comment pings: {:?}",
        sse.comments
    );
}

/// Reads a finished response into a `Reply`.
async fn send_back(resp: reqwest::Response) -> Reply {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = within("an error body", resp.text())
        .await
        .unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or_default();
    Reply {
        status,
        headers,
        text,
        json,
    }
}
