//! The end-of-game checks of every stream of `a_whole_game_over_http_and_sse`: ids, event
//! kinds, the same log on every stream, `score` events private to their player, and no
//! `correct_choice` outside `question_closed`.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::no_correct_choice;
use crate::helpers::*;

/// `awarded` maps (user id, question id) to the points the answer reply gave.
pub(super) async fn check(
    host_sse: &Sse,
    players: [(&Guest, &mut Sse); 3],
    awarded: &HashMap<(String, String), u64>,
) {
    // Every stream: ids, kinds, the same log ids everywhere, privacy of `score`.
    let host_logs: Vec<(String, String)> = host_sse
        .seen
        .iter()
        .filter(|e| e.is_log())
        .map(|e| (e.event.clone(), e.id.clone().unwrap()))
        .collect();
    assert_ids(&host_sse.seen, "host");
    assert!(
        !host_sse.names().contains(&"score".to_owned()),
        "a watcher gets no score events"
    );
    let mut kinds: HashSet<String> = host_sse.names().into_iter().collect();
    let mut first_player = true;
    for (p, sse) in players {
        sse.until("session_finished", |e| {
            e.iter().any(|e| e.event == "session_finished")
        })
        .await;
        assert_ids(&sse.seen, &p.name);
        let logs: Vec<(String, String)> = sse
            .seen
            .iter()
            .filter(|e| e.is_log())
            .map(|e| (e.event.clone(), e.id.clone().unwrap()))
            .collect();
        assert_eq!(
            logs, host_logs,
            "{}: the same log events with the same ids",
            p.name
        );
        kinds.extend(sse.names());
        if first_player {
            // After q1 closed, the first player got a score snapshot with her rank.
            let after_close = sse
                .seen
                .iter()
                .skip_while(|e| e.event != "question_closed")
                .find(|e| e.event == "score");
            let after_close = after_close.expect("a score event right after question_closed");
            assert!(
                after_close.data["rank"].as_u64().is_some(),
                "{after_close:?}"
            );
            first_player = false;
        }
        for e in &sse.seen {
            if e.event != "question_closed" {
                no_correct_choice(&e.raw, &format!("{} to {}", e.event, p.name));
            }
            if e.event == "score" {
                match e.data["question_id"].as_str() {
                    None => {
                        assert_eq!(e.data["correct"], Value::Null, "{e:?}");
                        assert_eq!(e.data["awarded_points"], 0, "{e:?}");
                    }
                    Some(q) => {
                        // An unanswered question scores 0 for this player.
                        let mine = awarded.get(&(p.user_id.clone(), q.to_owned())).copied();
                        assert_eq!(
                            e.data["awarded_points"].as_u64(),
                            Some(mine.unwrap_or(0)),
                            "{}'s own score: {e:?}",
                            p.name
                        );
                    }
                }
            }
        }
    }
    for kind in [
        "session_state",
        "question_opened",
        "question_closed",
        "session_finished",
        "leaderboard",
        "presence",
        "score",
    ] {
        assert!(
            kinds.contains(kind),
            "no `{kind}` event reached any client: {kinds:?}"
        );
    }
    for e in &host_sse.seen {
        if e.event != "question_closed" {
            no_correct_choice(&e.raw, &format!("{} to the host", e.event));
        }
    }
}
