//! Unknown session codes. A request whose `{code}` names no session (its route answers
//! `404`) counts against the caller's lookups, 30 a minute by default and over all nodes;
//! past that, every `{code}` route answers the caller `429` until a lookup frees up, so a
//! refusal never tells a guessed code from a real one and codes cannot be brute-forced.
//! Cheap: no lookup of its own; only the route's answer counts. The count is shared by all
//! nodes (Redis); the refusal window is remembered by the node that refused, and another
//! node starts refusing at the caller's next unknown code there.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa::Modify;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, ResponseBuilder};

use super::AppState;
use super::auth::AuthUser;
use super::error::PROBLEM_JSON;

const LIMITED: &str = "too many unknown session codes looked up (30 a minute per user by default)";

fn names_a_code(req: &Request) -> bool {
    req.extensions()
        .get::<MatchedPath>()
        .is_some_and(|p| p.as_str().contains("{code}"))
}

/// Route middleware (`route_layer`, so the matched path is known).
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !names_a_code(&req) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    // Anonymous callers (a route that needs no token: the QR code) count by address; badly
    // authenticated ones go on to get their 401 from the route.
    let user = AuthUser::from_request_parts(&mut parts, &state).await.ok();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let req = Request::from_parts(parts, body);
    let key = match (user, peer) {
        (Some(user), _) => user.id,
        (None, Some(ip)) => format!("addr:{ip}"),
        (None, None) => return next.run(req).await,
    };
    if let Err(e) = state.limits.check_guessing(&key) {
        return e.into_response();
    }
    let response = next.run(req).await;
    if response.status() == StatusCode::NOT_FOUND
        && let Err(e) = state.limits.count_unknown_code(&key).await
    {
        return e.into_response();
    }
    response
}

/// Documents the `429` on every `{code}` route.
pub struct Documented;

impl Modify for Documented {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.contains("{code}") {
                continue;
            }
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for op in operations.into_iter().flatten() {
                document(op);
            }
        }
    }
}

fn document(op: &mut Operation) {
    if op.security.is_none() {
        return;
    }
    match op.responses.responses.get_mut("429") {
        Some(RefOr::T(r)) => {
            r.description = format!("{}, or {LIMITED}", r.description);
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            let problem = Content::new(Some(Ref::from_schema_name("Problem")));
            let response = ResponseBuilder::new()
                .description(format!("Rate limited: {LIMITED}; see Retry-After"))
                .content(PROBLEM_JSON, problem)
                .build();
            op.responses
                .responses
                .insert("429".into(), RefOr::T(response));
        }
    }
}
