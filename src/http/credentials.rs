//! Where a request's credential is looked for. The first one present decides; a bad one is
//! 401, never a fall-through to the next.
//!
//! - `AuthUser`, every `/api/v1` route: `Authorization: Bearer`, then the `quiz_token`
//!   cookie. A state-changing request (anything but GET, HEAD, OPTIONS, TRACE) that the
//!   cookie authenticates must come from this server's own origin: `Origin`, or without
//!   it `Sec-Fetch-Site: same-origin`; else 403. Browsers attach cookies to requests that
//!   other sites' pages make, never an `Authorization` header, so bearer requests are safe.
//! - `StreamUser`, the two event routes: the same, then `?access_token=` and `?ticket=`
//!   (EventSource cannot set headers). Query credentials are ignored everywhere else, so a
//!   token in a URL opens no other door; the request log never records query strings.
//!   The cookie is refused here too when the browser says another origin's page asked
//!   (such a page could not read the stream, but would hold one of the user's slots).

use axum::extract::{FromRef, FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{Method, header};

use super::AppState;
use super::auth::COOKIE;
use super::error::AppError;
use super::origin::{Provenance, provenance};
use crate::domain::SessionCode;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: String,
    pub name: String,
    /// When the credential expires (Unix seconds).
    pub expires_at: u64,
    /// A big-screen link's token: it only reads this session (`confine`).
    pub watch: Option<String>,
}

/// A big-screen link's token reads its own session (and asks for its stream tickets); any
/// other route, or any change, is refused, so a link on a projector cannot run the game.
fn confine(user: AuthUser, parts: &Parts) -> Result<AuthUser, AppError> {
    let Some(sid) = &user.watch else {
        return Ok(user);
    };
    let rest = parts
        .uri
        .path()
        .strip_prefix("/api/v1/sessions/")
        .unwrap_or("");
    let (code, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let ours = SessionCode::parse(code).is_ok_and(|c| c.as_str() == sid);
    let reads = parts.method == Method::GET || parts.method == Method::HEAD;
    if ours && (reads || (parts.method == Method::POST && tail == "ticket")) {
        Ok(user)
    } else {
        Err(AppError::Forbidden(
            "a big-screen link only watches its own session".into(),
        ))
    }
}

enum Found {
    Bearer(String),
    Cookie(String),
}

fn cookie_token(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

fn header_or_cookie(parts: &Parts) -> Result<Option<Found>, AppError> {
    if let Some(h) = parts.headers.get(header::AUTHORIZATION) {
        let h = h.to_str().unwrap_or_default();
        return match h.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => {
                Ok(Some(Found::Bearer(t.trim().to_owned())))
            }
            _ => Err(AppError::Unauthorized(
                "Authorization must be `Bearer <token>`".into(),
            )),
        };
    }
    Ok(cookie_token(parts).map(Found::Cookie))
}

fn cross_origin_cookie() -> AppError {
    AppError::Forbidden(
        "a request authenticated by the quiz_token cookie that changes something must come \
         from this server's own pages (Origin, or Sec-Fetch-Site: same-origin); other \
         clients send Authorization: Bearer"
            .into(),
    )
}

/// Checks a bearer or cookie credential; the cookie only from our own origin when the
/// request changes something.
fn check(found: Found, parts: &Parts, state: &AppState) -> Result<AuthUser, AppError> {
    match found {
        Found::Bearer(token) => state.auth.verify(&token),
        Found::Cookie(token) => {
            if !parts.method.is_safe() && provenance(parts, state) != Provenance::SameOrigin {
                return Err(cross_origin_cookie());
            }
            state.auth.verify(&token)
        }
    }
}

impl<S> FromRequestParts<S> for AuthUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        match header_or_cookie(parts)? {
            Some(found) => check(found, parts, &state).and_then(|u| confine(u, parts)),
            None => Err(AppError::Unauthorized(
                "a token is required (Authorization: Bearer, or the quiz_token cookie)".into(),
            )),
        }
    }
}

/// The caller of an event route (`GET …/events`, `GET …/events/poll`).
pub struct StreamUser(pub AuthUser);

enum QueryCredential {
    Token(String),
    Ticket(String),
}

fn query_credential(parts: &Parts) -> Option<QueryCredential> {
    let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(parts.uri.query()?).ok()?;
    let find = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    find("access_token")
        .map(QueryCredential::Token)
        .or_else(|| find("ticket").map(QueryCredential::Ticket))
}

impl<S> FromRequestParts<S> for StreamUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        if let Some(found) = header_or_cookie(parts)? {
            if matches!(found, Found::Cookie(_))
                && provenance(parts, &app) == Provenance::CrossOrigin
            {
                return Err(AppError::Forbidden(
                    "an event stream authenticated by the quiz_token cookie must be opened by \
                     this server's own pages"
                        .into(),
                ));
            }
            return check(found, parts, &app)
                .and_then(|u| confine(u, parts))
                .map(StreamUser);
        }
        match query_credential(parts) {
            Some(QueryCredential::Token(token)) => app
                .auth
                .verify(&token)
                .and_then(|u| confine(u, parts))
                .map(StreamUser),
            Some(QueryCredential::Ticket(ticket)) => {
                let params = RawPathParams::from_request_parts(parts, state)
                    .await
                    .map_err(|_| AppError::Unauthorized("invalid ticket: no session".into()))?;
                let code = params
                    .iter()
                    .find(|(k, _)| *k == "code")
                    .map(|(_, v)| v.to_owned())
                    .unwrap_or_default();
                app.auth.verify_ticket(&ticket, &code).map(StreamUser)
            }
            None => Err(AppError::Unauthorized(
                "a credential is required (Authorization: Bearer, the quiz_token cookie, \
                 ?ticket= or ?access_token=)"
                    .into(),
            )),
        }
    }
}
