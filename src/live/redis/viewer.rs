//! The per-viewer read: phase, the player's record, rank and the answers a `score`
//! snapshot needs, in one script call.

use fred::prelude::*;

use super::RedisLive;
use super::model::{AnswerJson, Info, PlayerJson, decode, parse_page, text};
use crate::domain::SessionCode;
use crate::domain::event::{Leaderboard, Score};
use crate::domain::session::Phase;
use crate::domain::standing::{self, PlayerStanding};
use crate::live::LiveError;

impl RedisLive {
    /// The viewer read: phase, the player (if any), rank, and the snapshot pieces.
    /// `live`: the real standings even while an `at_reveal` question hides them (to score).
    pub(super) async fn viewer(
        &self,
        code: SessionCode,
        user: &str,
        with_top: bool,
        live: bool,
        most_choices: usize,
    ) -> Result<ViewerRead, LiveError> {
        let v = self
            .read(
                code,
                vec![
                    "viewer".into(),
                    user.to_owned(),
                    if with_top { "1" } else { "0" }.into(),
                    if live { "live" } else { "" }.into(),
                    most_choices.to_string(),
                ],
            )
            .await?;
        let phase: Phase = decode(&text(&v[0]).unwrap_or_default())?;
        let player = match text(&v[1]) {
            Some(raw) => Some(decode::<PlayerJson>(&raw)?),
            None => None,
        };
        let answer = |i: usize| -> Result<Option<AnswerJson>, LiveError> {
            text(&v[i])
                .map(|raw| decode::<AnswerJson>(&raw))
                .transpose()
        };
        let top = match v.get(5) {
            Some(Value::Array(items)) => Some(parse_page(items, 0)),
            _ => None,
        };
        Ok(ViewerRead {
            rank: v[2].as_i64().unwrap_or(0) as u32,
            now_answer: answer(3)?,
            prev_answer: answer(4)?,
            top,
            logseq: v.get(6).and_then(Value::as_i64).unwrap_or(0) as u64,
            locked: v.get(7).and_then(text).is_some_and(|l| l == "1"),
            counts: match v.get(8) {
                Some(Value::Array(items)) => Some(
                    items
                        .iter()
                        .map(|n| n.as_i64().unwrap_or(0) as u32)
                        .collect(),
                ),
                _ => None,
            },
            phase,
            player,
        })
    }

    pub(super) fn snapshot(info: &Info, r: &ViewerRead) -> Option<Score> {
        let p = r.player.as_ref()?;
        let answered_open = r.now_answer.is_some();
        let settled = standing::settled_index(&r.phase, answered_open).map(|i| {
            let answer = if Some(i) == r.phase.question_index {
                r.now_answer.as_ref()
            } else {
                r.prev_answer.as_ref()
            };
            (
                i,
                info.quiz.questions[i as usize].id,
                answer.map(AnswerJson::outcome),
            )
        });
        let standing = PlayerStanding {
            score: p.s,
            streak: p.streak(),
            rank: r.rank,
            answered_any: p.a,
        };
        Some(standing::snapshot(&standing, settled))
    }
}

pub(super) struct ViewerRead {
    pub(super) phase: Phase,
    pub(super) player: Option<PlayerJson>,
    pub(super) rank: u32,
    pub(super) now_answer: Option<AnswerJson>,
    pub(super) prev_answer: Option<AnswerJson>,
    pub(super) top: Option<Leaderboard>,
    pub(super) logseq: u64,
    pub(super) locked: bool,
    /// During a reveal: answers per choice to the revealed question.
    pub(super) counts: Option<Vec<u32>>,
}
