//! Reads that gather a whole session: every player's `score` snapshot, the open question's
//! answer counts, and a finished session's results.

use super::*;

impl RedisLive {
    pub(super) async fn read_scores(
        &self,
        code: SessionCode,
    ) -> Result<Vec<(UserId, Score)>, LiveError> {
        let info = self.info(code).await?;
        let (phase, players, answers, answer_users) = self.all(code).await?;
        let mut board = Board::default();
        for (user, p) in players.iter().filter(|(_, p)| !p.l) {
            board.set(
                user,
                Position {
                    score: p.s,
                    reached: p.r,
                },
            );
        }
        let by_key: HashMap<(u32, &str), &AnswerJson> = answers
            .iter()
            .zip(&answer_users)
            .map(|(a, u)| ((a.index, u.as_str()), a))
            .collect();
        let mut out = Vec::with_capacity(board.len());
        for (user, p) in players.iter().filter(|(_, p)| !p.l) {
            let answer_at = |i: u32| by_key.get(&(i, user.as_str())).copied();
            let open = phase.question_index.and_then(answer_at);
            let prev = phase
                .question_index
                .and_then(|i| i.checked_sub(1))
                .and_then(answer_at);
            let r = ViewerRead {
                phase: phase.clone(),
                player: Some(p.clone()),
                rank: board.rank_of_score(p.s),
                now_answer: open.cloned(),
                prev_answer: prev.cloned(),
                top: None,
                logseq: 0,
                locked: false,
                counts: None,
            };
            if let Some(score) = Self::snapshot(&info, &r) {
                out.push((user.clone(), score));
            }
        }
        Ok(out)
    }

    pub(super) async fn read_open_counts(
        &self,
        code: SessionCode,
    ) -> Result<Option<AnswerCounts>, LiveError> {
        let info = self.info(code).await?;
        let (_, phase) = self.phase(code).await?;
        let Some(index) = phase
            .question_index
            .filter(|_| phase.status == Status::Question)
        else {
            return Ok(None);
        };
        let q = &info.quiz.questions[index as usize];
        let v = self
            .read(
                code,
                vec![
                    "counts".into(),
                    index.to_string(),
                    q.choices.len().to_string(),
                ],
            )
            .await?;
        let n = |v: &Value| v.as_i64().unwrap_or(0) as u32;
        let counts: Vec<u32> = v
            .first()
            .map(|c| c.clone().into_array().iter().map(n).collect())
            .unwrap_or_default();
        Ok(Some(AnswerCounts {
            question_id: q.id,
            answer_counts: counts,
            answered: v.get(1).map_or(0, n),
            players: v.get(2).map_or(0, n),
        }))
    }

    pub(super) async fn read_results(
        &self,
        code: SessionCode,
    ) -> Result<SessionResults, LiveError> {
        let info = self.info(code).await?;
        let (phase, players, answers, answer_users) = self.all(code).await?;
        let finished_at = phase.finished_at.ok_or(LiveError::NotFinished)?;
        // A player the host removed is gone from the record too.
        let players: Vec<(String, PlayerJson)> =
            players.into_iter().filter(|(_, p)| !p.k).collect();
        let standings = crate::live::standings(players.iter().map(|(user, p)| {
            let position = Position {
                score: p.s,
                reached: p.r,
            };
            (user.as_str(), p.n.as_str(), position)
        }));
        let names: HashMap<&str, &str> = players
            .iter()
            .map(|(u, p)| (u.as_str(), p.n.as_str()))
            .collect();
        let name = |u: &str| names.get(u).map(|n| (*n).to_owned()).unwrap_or_default();
        let mut rows: Vec<(&AnswerJson, &String)> = answers
            .iter()
            .zip(&answer_users)
            .filter(|(_, u)| names.contains_key(u.as_str()))
            .collect();
        rows.sort_by_key(|(a, _)| (a.index, a.seq));
        let answers = rows
            .into_iter()
            .map(|(a, u)| AnswerRow {
                user_id: u.clone(),
                display_name: name(u),
                question_id: a.result.question_id,
                index: a.index,
                choice: a.choice,
                correct: a.outcome().correct,
                awarded_points: a.outcome().awarded_points,
                answer_ms: a.answer_ms,
            })
            .collect();
        Ok(SessionResults {
            code,
            quiz_id: info.quiz.id,
            quiz_title: info.quiz.title.clone(),
            host_id: info.host_id,
            finished_at,
            question_count: info.quiz.question_count(),
            last_index: phase.question_index,
            standings,
            answers,
            questions: info.quiz.questions.clone(),
        })
    }
}
