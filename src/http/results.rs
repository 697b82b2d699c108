//! Finished sessions: `GET …/results` (JSON or CSV) and `GET /api/v1/me/history`.

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
use crate::domain::{SessionCode, rfc3339};
use crate::live::{LiveError, SessionResults};

#[derive(Debug, Serialize, ToSchema)]
pub struct StandingView {
    pub rank: u32,
    pub user_id: String,
    pub display_name: String,
    pub score: u32,
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
    pub answers: Vec<AnswerView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResultsParams {
    /// `json` (default) or `csv` (one row per answer).
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

fn csv_of(r: &SessionResults) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "user_id",
        "display_name",
        "question_id",
        "index",
        "choice",
        "correct",
        "awarded_points",
        "answer_ms",
    ])?;
    for a in &r.answers {
        w.write_record([
            a.user_id.clone(),
            a.display_name.clone(),
            a.question_id.to_string(),
            a.index.to_string(),
            a.choice.to_string(),
            a.correct.to_string(),
            a.awarded_points.to_string(),
            a.answer_ms.to_string(),
        ])?;
    }
    Ok(w.into_inner()?)
}

/// Results of a finished session, for its host and players.
#[utoipa::path(get, path = "/api/v1/sessions/{code}/results", tag = "sessions",
    params(("code" = String, Path, description = "Session code (case-insensitive)"), ResultsParams),
    responses(
        (status = 200, description = "Standings and every answer", body = ResultsView,
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
            let mut response = csv_of(&r)?.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            if let Ok(v) =
                HeaderValue::from_str(&format!("attachment; filename=\"quizcast-{}.csv\"", r.code))
            {
                headers.insert(header::CONTENT_DISPOSITION, v);
            }
            Ok(response)
        }
        None | Some("json") => Ok(axum::Json(ResultsView {
            session_id: r.code.to_string(),
            quiz_title: r.quiz_title,
            finished_at: rfc3339(r.finished_at),
            players: r.standings.len() as u32,
            standings: r
                .standings
                .into_iter()
                .map(|s| StandingView {
                    rank: s.rank,
                    user_id: s.user_id,
                    display_name: s.display_name,
                    score: s.score,
                })
                .collect(),
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
        })
        .into_response()),
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
