//! `POST …/screen`: a link that opens the big screen on another device (a classroom PC
//! driving the projector) with what the host's own screen shows, answer counts included,
//! without handing that device the power to run the game.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::auth::AuthUser;
use super::error::{AppResult, Problem};
use super::extract::Code;
use super::origin::LinkBase;
use super::sessions::CODE_PARAM;
use crate::domain::rfc3339;

#[derive(Debug, Serialize, ToSchema)]
pub struct ScreenLink {
    /// The web client's big screen for this session, its credential in the URL fragment
    /// (`#watch=…`, which browsers never send to a server).
    pub url: String,
    /// A token that stands for the host but only reads this session: `GET` on
    /// `/api/v1/sessions/{code}` and below, and `POST …/ticket`. Anything else is `403`.
    pub token: String,
    /// RFC 3339 UTC: never later than the token the link was asked with.
    pub expires_at: String,
}

/// Host: a big-screen link for another device.
///
/// The link's token watches this session as the host does (the host-only `answers`
/// counts included) and can do nothing else: any change, or any other route, is `403`.
#[utoipa::path(post, path = "/api/v1/sessions/{code}/screen", tag = "host",
    params(("code" = String, Path, description = CODE_PARAM)),
    responses(
        (status = 201, description = "A link", body = ScreenLink,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the host", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown code", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn screen_link(
    State(state): State<AppState>,
    user: AuthUser,
    LinkBase(base): LinkBase,
    Code(code): Code,
) -> AppResult<(StatusCode, axum::Json<ScreenLink>)> {
    state.game.check_host(code, &user.id).await?;
    let (token, exp) = state.auth.issue_watch(&user, code)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ScreenLink {
            url: format!("{base}/screen/{code}#watch={token}"),
            token,
            expires_at: rfc3339(exp as i64 * 1000),
        }),
    ))
}
