//! `/api/v1/sessions`: create, read, join, leave, host controls and the leaderboard.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::auth::AuthUser;
use super::error::{AppError, AppResult, Problem};
use super::extract::{AppJson, AppQuery, Code};
use super::origin::LinkBase;
use crate::domain::DisplayName;
use crate::domain::SessionCode;
use crate::domain::event::{Leaderboard, SessionState};
use crate::domain::feedback::Feedback;
use crate::domain::session::Command;
use crate::game::Settings;

pub const MAX_PLAYERS_LIMIT: u32 = 100_000;

fn default_max_players() -> u32 {
    1000
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    pub quiz_id: Uuid,
    /// Open the next question 5 s after each reveal, and finish 5 s after the last.
    #[serde(default)]
    pub auto_advance: bool,
    /// 1–100000, default 1000.
    #[serde(default = "default_max_players")]
    #[schema(default = 1000)]
    pub max_players: u32,
    /// `instant` (default): each answer's reply and `score` event say at once whether it was
    /// right, and the leaderboard moves as answers come in. `at_reveal`: nobody learns whether
    /// an answer was right, and the leaderboard does not move, until the question closes; the
    /// answer reply then has `correct: null`, `awarded_points: null` and the score, rank and
    /// streak as of the last reveal, and the question's `score` and `leaderboard` events
    /// follow its `question_closed`.
    #[serde(default)]
    pub feedback: Feedback,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionCreated {
    /// The join code.
    #[schema(example = "K7P2QX")]
    pub session_id: String,
    /// The players' page: `PUBLIC_URL` as the base when set, else the host and scheme the
    /// request was sent to (as a trusted proxy forwarded them, or the `Host` header).
    pub join_url: String,
    /// The host's page, on the same base.
    pub host_url: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// 1–100, default 10.
    pub limit: Option<i64>,
    /// Default 0.
    pub offset: Option<i64>,
}

impl Page {
    /// `(offset, limit)`, checked: limit 1–100, offset at least 0.
    pub fn bounds(&self, default_limit: i64) -> Result<(usize, usize), AppError> {
        let limit = self.limit.unwrap_or(default_limit);
        let offset = self.offset.unwrap_or(0);
        if !(1..=100).contains(&limit) || offset < 0 {
            return Err(AppError::BadRequest(
                "limit must be 1–100 and offset at least 0".into(),
            ));
        }
        Ok((offset as usize, limit as usize))
    }
}

/// Start a live session of a quiz. The caller becomes its host.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions",
    request_body = CreateSession,
    responses(
        (status = 201, description = "Created", body = SessionCreated),
        (status = 400, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such quiz", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    LinkBase(base): LinkBase,
    AppJson(req): AppJson<CreateSession>,
) -> AppResult<(StatusCode, axum::Json<SessionCreated>)> {
    if !(1..=MAX_PLAYERS_LIMIT).contains(&req.max_players) {
        return Err(AppError::Unprocessable(format!(
            "max_players must be 1–{MAX_PLAYERS_LIMIT}"
        )));
    }
    let quiz = state
        .game
        .store
        .quiz(req.quiz_id)
        .await?
        .ok_or_else(|| AppError::NotFound("no quiz with that id".into()))?;
    let code = state
        .game
        .create_session(
            quiz,
            user.id,
            Settings {
                auto_advance: req.auto_advance,
                max_players: req.max_players,
                feedback: req.feedback,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(SessionCreated {
            session_id: code.to_string(),
            join_url: join_url(&base, code),
            host_url: format!("{base}/host/{code}"),
        }),
    ))
}

/// Where a player joins the session: the web client's join page with the code filled in.
/// `base` is where the client reaches this server (`LinkBase`).
pub fn join_url(base: &str, code: SessionCode) -> String {
    format!("{base}/join/{code}")
}

pub(super) const CODE_PARAM: &str = "Session code (case-insensitive)";

/// The session's current state (plain HTTP snapshot).
#[utoipa::path(get, path = "/api/v1/sessions/{code}", tag = "sessions",
    params(("code" = String, Path, description = CODE_PARAM)),
    responses(
        (status = 200, description = "Current state", body = SessionState),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown code", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    Code(code): Code,
) -> AppResult<axum::Json<SessionState>> {
    Ok(axum::Json(state.game.state(code, Some(&user.id)).await?.0))
}

/// Join as a player (idempotent). The display name is the token's `name`.
///
/// A locked session (`PATCH …/{code}` `{ "locked": true }`) takes no new players, while
/// players already in, or who left, may come back; a player the host removed cannot join
/// again. Both are `403`.
#[utoipa::path(post, path = "/api/v1/sessions/{code}/join", tag = "sessions",
    params(("code" = String, Path, description = CODE_PARAM)),
    responses(
        (status = 200, description = "Joined", body = SessionState),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The session is full or locked, the host removed the caller, or the caller is its host", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown code", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The session has finished", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn join(
    State(state): State<AppState>,
    user: AuthUser,
    Code(code): Code,
) -> AppResult<axum::Json<SessionState>> {
    let name =
        DisplayName::parse(&user.name).map_err(|e| AppError::Unprocessable(e.to_string()))?;
    Ok(axum::Json(state.game.join(code, &user.id, &name).await?))
}

/// Leave the session. The score is kept; joining again restores it.
#[utoipa::path(post, path = "/api/v1/sessions/{code}/leave", tag = "sessions",
    params(("code" = String, Path, description = CODE_PARAM)),
    responses(
        (status = 204, description = "Left (or was not a player)"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown code", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn leave(
    State(state): State<AppState>,
    user: AuthUser,
    Code(code): Code,
) -> AppResult<StatusCode> {
    state.game.leave(code, &user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn host(
    state: AppState,
    user: AuthUser,
    code: Code,
    cmd: Command,
) -> AppResult<axum::Json<SessionState>> {
    Ok(axum::Json(state.game.host(code.0, &user.id, cmd).await?))
}

/// Host: open the first question.
#[utoipa::path(post, path = "/api/v1/sessions/{code}/start", tag = "host",
    params(("code" = String, Path, description = CODE_PARAM)),
    responses(
        (status = 200, description = "New state", body = SessionState),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the host", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown code", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already started or finished", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn start(
    State(state): State<AppState>,
    user: AuthUser,
    code: Code,
) -> AppResult<axum::Json<SessionState>> {
    host(state, user, code, Command::Start).await
}

/// Host: close the open question (reveal); or open the next; after the last, finish.
#[utoipa::path(post, path = "/api/v1/sessions/{code}/next", tag = "host",
    params(("code" = String, Path, description = CODE_PARAM)),
    responses(
        (status = 200, description = "New state", body = SessionState),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the host", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown code", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Finished", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn next(
    State(state): State<AppState>,
    user: AuthUser,
    code: Code,
) -> AppResult<axum::Json<SessionState>> {
    host(state, user, code, Command::Next).await
}

/// Host: finish now (an open question closes first).
#[utoipa::path(post, path = "/api/v1/sessions/{code}/end", tag = "host",
    params(("code" = String, Path, description = CODE_PARAM)),
    responses(
        (status = 200, description = "New state", body = SessionState),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the host", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown code", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already finished", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn end(
    State(state): State<AppState>,
    user: AuthUser,
    code: Code,
) -> AppResult<axum::Json<SessionState>> {
    host(state, user, code, Command::End).await
}

/// The leaderboard: every player, score descending, ties by who reached the score first.
#[utoipa::path(get, path = "/api/v1/sessions/{code}/leaderboard", tag = "sessions",
    params(("code" = String, Path, description = CODE_PARAM), Page),
    responses(
        (status = 200, description = "A page of the leaderboard", body = Leaderboard),
        (status = 400, description = "limit or offset out of range", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown code", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn leaderboard(
    State(state): State<AppState>,
    _user: AuthUser,
    Code(code): Code,
    AppQuery(page): AppQuery<Page>,
) -> AppResult<axum::Json<Leaderboard>> {
    let (offset, limit) = page.bounds(10)?;
    let board = state.game.live.leaderboard(code, offset, limit).await?;
    Ok(axum::Json(board))
}
