//! The web client, compiled into the binary so a single file serves everything.

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

const INDEX: &str = include_str!("../../web/index.html");

/// `/` and the client's own routes (`/join/CODE`, `/host/CODE`, `/screen/CODE`).
pub async fn index() -> Response {
    let mut response = Html(INDEX).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
