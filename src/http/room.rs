//! Host tools for the room: lock the session to new players, remove a player for good.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::auth::AuthUser;
use super::error::{AppError, AppResult, Problem};
use super::extract::{AppJson, AppQuery, Code};
use super::sessions::{CODE_PARAM, Page};
use crate::domain::SessionCode;
use crate::domain::event::{Roster, SessionState};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionPatch {
    /// `true`: the session takes no new players (those already in may come back).
    /// `false`: anyone may join again.
    pub locked: bool,
}

/// Host: lock the session to new players, or unlock it.
///
/// A locked session answers `403` to anyone who was never in it; players already in (or
/// who left) may come back. `session_state.locked` tells the current setting.
#[utoipa::path(patch, path = "/api/v1/sessions/{code}", tag = "host",
    params(("code" = String, Path, description = CODE_PARAM)),
    request_body = SessionPatch,
    responses(
        (status = 200, description = "New state", body = SessionState),
        (status = 400, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the host", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown code", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Code(code): Code,
    AppJson(patch): AppJson<SessionPatch>,
) -> AppResult<axum::Json<SessionState>> {
    let state = state.game.set_locked(code, &user.id, patch.locked).await?;
    Ok(axum::Json(state))
}

/// Host: the players, best first, with who is online.
///
/// The leaderboard's order and paging (`limit` 1–100, default 100), each player marked
/// `online` while they have a live connection (SSE, or a poll in the last 30 s) on any node.
#[utoipa::path(get, path = "/api/v1/sessions/{code}/players", tag = "host",
    params(("code" = String, Path, description = CODE_PARAM), Page),
    responses(
        (status = 200, description = "A page of players", body = Roster),
        (status = 400, description = "limit or offset out of range", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the host", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown code", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn roster(
    State(state): State<AppState>,
    user: AuthUser,
    Code(code): Code,
    AppQuery(page): AppQuery<Page>,
) -> AppResult<axum::Json<Roster>> {
    let (offset, limit) = page.bounds(100)?;
    let roster = state.game.roster(code, &user.id, offset, limit).await?;
    Ok(axum::Json(roster))
}

/// Host: remove a player for good.
///
/// The player leaves the leaderboard, is listed in the next `presence` event's `left`, and
/// their open event streams end; they cannot join again (`403`), nor open the session's
/// event streams. Removing them again is a no-op (`204`). A removed player is left out of
/// the session's results.
#[utoipa::path(delete, path = "/api/v1/sessions/{code}/players/{user_id}", tag = "host",
    params(
        ("code" = String, Path, description = CODE_PARAM),
        ("user_id" = String, Path, description = "The player's user id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the host", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown code, or no such player in the session", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn remove_player(
    State(state): State<AppState>,
    user: AuthUser,
    Path((raw, player)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let code = SessionCode::parse(&raw)
        .map_err(|_| AppError::NotFound(format!("no session with code {raw:?}")))?;
    state.game.remove_player(code, &user.id, &player).await?;
    Ok(StatusCode::NO_CONTENT)
}
