//! `POST /api/v1/sessions/{code}/answers`: one answer per player per question, scored by
//! the server; a retry with the same nonce gets the same reply.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::auth::AuthUser;
use super::error::{AppError, AppResult, Problem};
use super::extract::{AppJson, Code};
use crate::domain::event::AnswerResult;
use crate::live::{AnswerInput, AnswerOutcome};

pub const MAX_NONCE_CHARS: usize = 64;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    pub question_id: Uuid,
    /// 0-based index into the question's choices.
    pub choice: i64,
    /// Optional idempotency key (at most 64 characters): the same nonce gets the same reply.
    #[schema(example = "c0ffee-1")]
    pub nonce: Option<String>,
}

/// Answer the open question.
///
/// Counts once. The same `nonce` again returns the same `200` (even after the question
/// closed); any other second answer to the question is `409` with `first_result`.
/// Limited per player (default 5 per second, burst 10), over all nodes together.
#[utoipa::path(post, path = "/api/v1/sessions/{code}/answers", tag = "answers",
    params(("code" = String, Path, description = "Session code (case-insensitive)")),
    request_body = AnswerRequest,
    responses(
        (status = 200, description = "Scored", body = AnswerResult),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a player of this session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown session", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already answered; `first_result` holds the first reply", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Question not open, or choice out of range", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited (see Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not stored in time; retry with the same nonce", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn answer(
    State(state): State<AppState>,
    user: AuthUser,
    Code(code): Code,
    AppJson(req): AppJson<AnswerRequest>,
) -> AppResult<axum::Json<AnswerResult>> {
    if req
        .nonce
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NONCE_CHARS)
    {
        return Err(AppError::Unprocessable(format!(
            "nonce must be at most {MAX_NONCE_CHARS} characters"
        )));
    }
    state.limits.check_answer(&user.id).await?;
    let input = AnswerInput {
        user_id: user.id,
        question_id: req.question_id,
        choice: req.choice,
        nonce: req.nonce,
    };
    match state.game.answer(code, input).await? {
        AnswerOutcome::Accepted { result, .. } | AnswerOutcome::Replayed(result) => {
            Ok(axum::Json(result))
        }
        AnswerOutcome::Conflict(first) => Err(AppError::Conflict {
            detail: "this question was already answered".into(),
            first_result: Some(first),
        }),
    }
}
