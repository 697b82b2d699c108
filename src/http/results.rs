//! Finished sessions: `GET …/results` (JSON or CSV) and `GET /api/v1/me/history`.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::auth::AuthUser;
use super::error::{AppError, AppResult, Problem};
use super::extract::{AppQuery, Code};
use super::results_csv;
use crate::domain::{SessionCode, rfc3339};
use crate::live::{LiveError, SessionResults};

#[derive(Debug, Serialize, ToSchema)]
pub struct StandingView {
    pub rank: u32,
    pub user_id: String,
    pub display_name: String,
    pub score: u32,
    /// Questions this player answered correctly.
    pub correct: u32,
    /// Questions this player answered.
    pub answered: u32,
}

/// A question as the session played it: its own id and choice order.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionResultView {
    pub question_id: Uuid,
    /// 0-based.
    pub index: u32,
    pub prompt: String,
    /// In the order this session showed them.
    pub choices: Vec<String>,
    /// 0-based index into `choices`.
    pub correct_choice: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerView {
    pub user_id: String,
    pub display_name: String,
    pub question_id: Uuid,
    pub index: u32,
    pub choice: u32,
    pub correct: bool,
    pub awarded_points: u32,
    /// Milliseconds from the question opening to the server accepting the answer.
    pub answer_ms: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResultsView {
    pub session_id: String,
    pub quiz_title: String,
    pub finished_at: String,
    pub players: u32,
    pub standings: Vec<StandingView>,
    /// Every question the session opened, in order (unopened ones are left out).
    pub questions: Vec<QuestionResultView>,
    pub answers: Vec<AnswerView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResultsParams {
    /// `json` (default) or `csv`: one row per player and opened question, unanswered ones
    /// included, with the words; cells that could start a formula get a leading `'`.
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryItem {
    pub session_id: String,
    pub quiz_title: String,
    pub finished_at: String,
    pub score: u32,
    pub rank: u32,
    pub players: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    pub sessions: Vec<HistoryItem>,
}

async fn find(state: &AppState, code: SessionCode) -> AppResult<SessionResults> {
    if let Some(r) = state.game.store.results(code).await? {
        return Ok(r);
    }
    // Not stored yet: just finished, or still running (409), or unknown (404).
    match state.game.live.results(code).await {
        Ok(r) => Ok(r),
        Err(LiveError::NotFinished) => Err(AppError::Conflict {
            detail: "results exist once the session has finished".into(),
            first_result: None,
        }),
        Err(e) => Err(e.into()),
    }
}

fn view(r: SessionResults) -> ResultsView {
    let mut totals: HashMap<&str, (u32, u32)> = HashMap::new();
    for a in &r.answers {
        let (correct, answered) = totals.entry(a.user_id.as_str()).or_default();
        *correct += u32::from(a.correct);
        *answered += 1;
    }
    let opened = r.last_index.map_or(0, |i| i.saturating_add(1));
    let standings = r
        .standings
        .iter()
        .map(|s| {
            let (correct, answered) = totals.get(s.user_id.as_str()).copied().unwrap_or_default();
            StandingView {
                rank: s.rank,
                user_id: s.user_id.clone(),
                display_name: s.display_name.clone(),
                score: s.score,
                correct,
                answered,
            }
        })
        .collect();
    let mut questions: Vec<QuestionResultView> = r
        .questions
        .iter()
        .filter(|q| q.index < opened)
        .map(|q| QuestionResultView {
            question_id: q.id,
            index: q.index,
            prompt: q.prompt.to_string(),
            choices: q.choice_texts(),
            correct_choice: q.correct_choice,
        })
        .collect();
    questions.sort_by_key(|q| q.index);
    ResultsView {
        session_id: r.code.to_string(),
        quiz_title: r.quiz_title,
        finished_at: rfc3339(r.finished_at),
        players: r.standings.len() as u32,
        standings,
        questions,
        answers: r
            .answers
            .into_iter()
            .map(|a| AnswerView {
                user_id: a.user_id,
                display_name: a.display_name,
                question_id: a.question_id,
                index: a.index,
                choice: a.choice,
                correct: a.correct,
                awarded_points: a.awarded_points,
                answer_ms: a.answer_ms,
            })
            .collect(),
    }
}

/// Results of a finished session, for its host and players.
///
/// Standings with each player's correct and answered counts, the questions the session
/// opened (with its own ids and choice order, and the correct choice), and every answer.
/// `?format=csv` gives a spreadsheet instead: one row per player and opened question,
/// unanswered ones included (empty cells), with columns rank, player, score,
/// question_index, prompt, choice (text), correct_choice (text), correct, points and
/// answer_ms. Any cell beginning with `=`, `+`, `-`, `@`, tab or carriage return gets a
/// leading `'`, so no name or word runs as a formula.
#[utoipa::path(get, path = "/api/v1/sessions/{code}/results", tag = "sessions",
    params(("code" = String, Path, description = "Session code (case-insensitive)"), ResultsParams),
    responses(
        (status = 200, description = "Standings, questions and every answer", body = ResultsView,
            content((ResultsView = "application/json"), (String = "text/csv"))),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither host nor player", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown code", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not finished yet", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn results(
    State(state): State<AppState>,
    user: AuthUser,
    Code(code): Code,
    AppQuery(params): AppQuery<ResultsParams>,
) -> AppResult<Response> {
    let r = find(&state, code).await?;
    let allowed = r.host_id == user.id || r.standings.iter().any(|s| s.user_id == user.id);
    if !allowed {
        return Err(AppError::Forbidden(
            "results are for the host and the players".into(),
        ));
    }
    match params.format.as_deref() {
        Some("csv") => {
            let filename = format!("attachment; filename=\"quizcast-{}.csv\"", r.code);
            let mut response = results_csv::body(r).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            if let Ok(v) = HeaderValue::from_str(&filename) {
                headers.insert(header::CONTENT_DISPOSITION, v);
            }
            Ok(response)
        }
        None | Some("json") => Ok(axum::Json(view(r)).into_response()),
        Some(other) => Err(AppError::BadRequest(format!(
            "format must be json or csv, not {other:?}"
        ))),
    }
}

/// Your finished sessions, newest first.
#[utoipa::path(get, path = "/api/v1/me/history", tag = "sessions",
    responses(
        (status = 200, description = "Finished sessions you played", body = History),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn history(
    State(state): State<AppState>,
    user: AuthUser,
) -> AppResult<axum::Json<History>> {
    let sessions = state
        .game
        .store
        .history(&user.id)
        .await?
        .into_iter()
        .map(|h| HistoryItem {
            session_id: h.code,
            quiz_title: h.quiz_title,
            finished_at: rfc3339(h.finished_at),
            score: h.score,
            rank: h.rank,
            players: h.players,
        })
        .collect();
    Ok(axum::Json(History { sessions }))
}
