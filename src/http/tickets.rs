//! `POST …/ticket`: a short-lived credential for one session's event routes, so that
//! browsers (whose EventSource cannot set headers) keep long-lived tokens out of URLs and
//! so out of proxy and server logs.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::auth::AuthUser;
use super::error::{AppResult, Problem};
use super::extract::Code;
use crate::domain::rfc3339;

#[derive(Debug, Serialize, ToSchema)]
pub struct StreamTicket {
    /// Pass as `?ticket=` to `GET …/events` or `GET …/events/poll` of this session.
    pub ticket: String,
    /// RFC 3339 UTC. A stream opened before then stays open; reconnecting after it needs
    /// a new ticket.
    pub expires_at: String,
}

/// Get a stream ticket.
///
/// A ticket stands for the caller on this session's two event routes only (`GET …/events`
/// and `GET …/events/poll`, as `?ticket=`), for 15 minutes and never longer than the token
/// it was asked with. It is not a token: any other route refuses it (`401`), and a ticket
/// for another session, expired or altered is `401` on the event routes too. Use one
/// instead of `?access_token=` wherever a credential must go in a URL.
#[utoipa::path(post, path = "/api/v1/sessions/{code}/ticket", tag = "events",
    params(("code" = String, Path, description = "Session code (case-insensitive)")),
    responses(
        (status = 201, description = "A ticket", body = StreamTicket,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Cookie-authenticated request from another origin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown code", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn ticket(
    State(state): State<AppState>,
    user: AuthUser,
    Code(code): Code,
) -> AppResult<(StatusCode, axum::Json<StreamTicket>)> {
    state.game.live.clock(code).await?;
    let (ticket, exp) = state.auth.issue_ticket(&user, code)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(StreamTicket {
            ticket,
            expires_at: rfc3339(exp as i64 * 1000),
        }),
    ))
}
