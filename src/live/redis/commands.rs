//! The two writes whose result the domain computes: an answer (scored in Rust, kept by
//! `answer.lua` only if nothing it was scored from changed) and a phase command (the state
//! machine in Rust, `apply.lua` compare-and-set on the phase). Both retry a lost race.

use super::*;

impl RedisLive {
    pub(super) async fn write_answer(
        &self,
        code: SessionCode,
        input: AnswerInput,
        now: Millis,
    ) -> Result<AnswerOutcome, LiveError> {
        let info = self.info(code).await?;
        let Some(q) = info.quiz.question_by_id(input.question_id) else {
            return Err(LiveError::NotOpen(
                "question_id is not a question of this session",
            ));
        };
        let user = input.user_id.as_str();
        for _ in 0..3 {
            let r = self.viewer(code, user, false, true, 0).await?;
            let Some(player) = r.player.as_ref().filter(|p| !p.l) else {
                return Err(LiveError::NotPlayer);
            };
            let first = if r.phase.question_index == Some(q.index) {
                r.now_answer.clone()
            } else {
                let raw: Option<String> = self
                    .client
                    .hget(self.key(code, "answers"), format!("{}:{user}", q.index))
                    .await
                    .map_err(unavailable)?;
                raw.map(|raw| decode::<AnswerJson>(&raw)).transpose()?
            };
            if let Some(first) = first {
                return Ok(answer_outcome(first, &input.nonce));
            }
            if !r.phase.accepts(q.index, now) {
                return Err(LiveError::NotOpen("the question is not open"));
            }
            if input.choice < 0 || input.choice as usize >= q.choices.len() {
                return Err(LiveError::InvalidChoice);
            }
            let opened_at = r.phase.opened_at.unwrap_or(now);
            let t = (now - opened_at).max(0) as u64;
            let scored = score_answer(
                player.streak(),
                q.index,
                input.choice as u32,
                q.correct_choice,
                t,
            );
            let record = AnswerJson {
                index: q.index,
                choice: input.choice as u32,
                nonce: input.nonce.clone(),
                answer_ms: t,
                accepted_at: now,
                seq: 0,
                correct: Some(scored.correct),
                points: Some(scored.awarded_points),
                result: AnswerResult {
                    question_id: q.id,
                    correct: Some(scored.correct),
                    awarded_points: Some(scored.awarded_points),
                    score: 0,
                    rank: 0,
                    streak: scored.streak.count,
                    version: 0,
                },
            };
            let snapshot = Score {
                question_id: Some(q.id),
                correct: Some(scored.correct),
                awarded_points: scored.awarded_points,
                score: 0,
                rank: 0,
                streak: scored.streak.count,
            };
            let keys = ["meta", "phase", "players", "board", "answers", "counts"]
                .iter()
                .map(|p| self.key(code, p))
                .chain([self.key(code, &format!("score:{user}"))])
                .chain(["fboard", "fplayers"].map(|p| self.key(code, p)))
                .collect::<Vec<_>>();
            let args = vec![
                user.to_owned(),
                q.index.to_string(),
                input.choice.to_string(),
                now.to_string(),
                serde_json::to_string(&record).unwrap_or_default(),
                scored.awarded_points.to_string(),
                scored.streak.count.to_string(),
                scored.streak.last_index.map_or(-1, i64::from).to_string(),
                player.c.to_string(),
                player.x.to_string(),
                opened_at.to_string(),
                serde_json::to_string(&snapshot).unwrap_or_default(),
            ];
            let reply: Value = timed(
                "answer",
                self.scripts
                    .answer
                    .evalsha_with_reload(&self.client, keys, args),
            )
            .await
            .map_err(unavailable)?;
            let items = reply.clone().into_array();
            match status_of(&reply).as_str() {
                "OK" => {
                    self.replicated(code).await;
                    let stored: AnswerJson = decode(&text(&items[1]).unwrap_or_default())?;
                    let answered = items[2].as_i64().unwrap_or(0);
                    let players = items[3].as_i64().unwrap_or(0);
                    return Ok(AnswerOutcome::Accepted {
                        result: stored.result,
                        index: q.index,
                        all_answered: answered >= players,
                    });
                }
                "EXISTING" => {
                    // It may be the one this node wrote just before a replica timed out.
                    self.replicated(code).await;
                    let first: AnswerJson = decode(&text(&items[1]).unwrap_or_default())?;
                    return Ok(answer_outcome(first, &input.nonce));
                }
                "NOTPLAYER" => return Err(LiveError::NotPlayer),
                "NOTOPEN" => return Err(LiveError::NotOpen("the question is not open")),
                _ => continue,
            }
        }
        Err(LiveError::Unavailable(
            "the answer raced with a change; retry".into(),
        ))
    }

    pub(super) async fn write_phase(
        &self,
        code: SessionCode,
        cmd: Command,
        now: Millis,
    ) -> Result<Applied, LiveError> {
        let info = self.info(code).await?;
        let plan = QuizPlan(
            &info.quiz,
            info.auto_advance.then_some(self.auto_advance_ms),
        );
        for _ in 0..5 {
            let (raw, phase) = self.phase(code).await?;
            let (next, steps) = phase.apply(cmd, now, &plan)?;
            if steps.is_empty() {
                return Ok(Applied {
                    phase: next,
                    entries: Vec::new(),
                });
            }
            let mut args = vec![raw, serde_json::to_string(&next).unwrap_or_default()];
            for step in steps {
                match step {
                    Step::Opened { index } => {
                        let q = &info.quiz.questions[index as usize];
                        let payload = opened_event(q, next.closes_at.unwrap_or(now));
                        args.push(EventKind::QuestionOpened.name().into());
                        args.push(serde_json::to_string(&payload).unwrap_or_default());
                    }
                    Step::Closed { index } => {
                        let q = &info.quiz.questions[index as usize];
                        args.push(EventKind::QuestionClosed.name().into());
                        args.push(format!(
                            "{}|{}|{}|{index}",
                            q.id,
                            q.correct_choice,
                            q.choices.len()
                        ));
                    }
                    Step::Finished => {
                        // The real final standings, whatever views showed until now.
                        let board = self.page(code, 0, TOP, true).await?;
                        args.push(EventKind::SessionFinished.name().into());
                        args.push(serde_json::to_string(&board).unwrap_or_default());
                    }
                }
            }
            let keys = [
                "meta", "phase", "log", "counts", "board", "players", "fboard", "fplayers",
            ]
            .map(|p| self.key(code, p));
            let reply: Value = timed(
                "apply",
                self.scripts
                    .apply
                    .evalsha_with_reload(&self.client, keys.to_vec(), args),
            )
            .await
            .map_err(unavailable)?;
            if status_of(&reply) != "OK" {
                continue;
            }
            let items: Vec<String> = reply.into_array().iter().skip(1).filter_map(text).collect();
            let entries = parse_log(info.epoch, &items);
            self.replicated(code).await;
            return Ok(Applied {
                phase: next,
                entries,
            });
        }
        Err(LiveError::Unavailable(
            "the session kept changing; retry".into(),
        ))
    }
}
