//! The HTTP transport: the router, its layers and one module per resource. Handlers are
//! thin: parse, call the game service, shape the reply. Every error is problem+json.

pub mod answers;
pub mod auth;
mod catchup;
pub mod cidr;
mod conn_h1;
mod credentials;
pub mod error;
pub mod extract;
mod headers;
pub mod joining;
pub mod limits;
pub mod lookups;
mod offload;
pub mod openapi;
pub mod ops;
pub mod origin;
pub mod poll;
pub mod proxy;
pub mod quizzes;
mod request_head;
pub mod results;
mod results_csv;
mod rewind;
pub mod room;
pub mod screen_link;
pub mod serve;
pub mod sessions;
pub mod socket;
pub mod sse;
mod stream_out;
pub mod tickets;
pub mod tls;
mod web;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::Config;
use crate::game::Game;
use error::{AppError, PROBLEM_JSON};

#[derive(Clone)]
pub struct AppState {
    pub game: Arc<Game>,
    pub auth: Arc<auth::Auth>,
    pub limits: Arc<limits::Limits>,
    pub config: Arc<Config>,
    /// `PUBLIC_URL`: base of `join_url` and `host_url`, and this server's origin.
    pub public_url: Option<Arc<str>>,
    /// `http://<bind address>`: links' base only for requests that name no host.
    pub bind_url: Arc<str>,
    pub metrics: PrometheusHandle,
}

/// The API routes with their OpenAPI description.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(auth::guest))
        .routes(routes!(quizzes::create, quizzes::list))
        .routes(routes!(quizzes::import))
        .routes(routes!(quizzes::get))
        .routes(routes!(sessions::create))
        .routes(routes!(sessions::get, room::update))
        .routes(routes!(sessions::join))
        .routes(routes!(sessions::leave))
        .routes(routes!(sessions::start))
        .routes(routes!(sessions::next))
        .routes(routes!(sessions::end))
        .routes(routes!(sessions::leaderboard))
        .routes(routes!(tickets::ticket))
        .routes(routes!(screen_link::screen_link))
        .routes(routes!(room::roster))
        .routes(routes!(room::remove_player))
        .routes(routes!(joining::qr))
        .routes(routes!(joining::server))
        .routes(routes!(answers::answer))
        .routes(routes!(results::results))
        .routes(routes!(results::history))
        .routes(routes!(sse::events))
        .routes(routes!(poll::poll))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
}

/// The generated OpenAPI document.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut doc = api().into_openapi();
    lookups::Documented.modify(&mut doc);
    doc
}

pub fn router(state: AppState) -> Router {
    let (api, mut doc) = api().split_for_parts();
    lookups::Documented.modify(&mut doc);
    // After routing, so it knows which routes name a session code.
    let api = api.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        lookups::guard,
    ));
    let request_id = HeaderName::from_static("x-request-id");
    api.route("/", get(web::index))
        .route("/join", get(web::index))
        .route("/join/{code}", get(web::index))
        .route("/host/{code}", get(web::index))
        .route("/screen/{code}", get(web::index))
        .route("/assets/{name}", get(web::asset))
        .merge(
            SwaggerUi::new("/docs")
                .url("/openapi.json", doc)
                // The online validator badge would be an image from another site.
                .config(utoipa_swagger_ui::Config::from("/openapi.json").validator_url("none")),
        )
        .fallback(|| async { AppError::NotFound("no such resource".into()) })
        .layer(axum::middleware::map_response(problem_for_bare_errors))
        .layer(axum::middleware::from_fn(headers::security_headers))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            // The span has the path but never the query string: it may hold a token.
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// Turns error responses that layers or the router produce without a body (405, 413, …)
/// into problem+json, so clients see one error format everywhere.
async fn problem_for_bare_errors(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if (status.is_client_error() || status.is_server_error()) && !is_problem {
        let mut problem = AppError::from_status(status).into_response();
        if let Some(allow) = response.headers().get(header::ALLOW) {
            problem.headers_mut().insert(header::ALLOW, allow.clone());
        }
        return problem;
    }
    response
}
