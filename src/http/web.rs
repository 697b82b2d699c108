//! The web client, compiled into the binary so a single file serves everything offline.
//! `/` and the client's own routes (`/join/CODE`, `/host/CODE`, `/screen/CODE`) all get the
//! page; its scripts and styles come from `/assets/{name}`.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

use super::error::AppError;

const INDEX: &str = include_str!("../../web/index.html");

/// Embedded assets: (name, content type, body).
const ASSETS: &[(&str, &str, &str)] = &[];

pub async fn index() -> Response {
    let mut response = Html(INDEX).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

pub async fn asset(Path(name): Path<String>) -> Result<Response, AppError> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(|| AppError::NotFound("no such asset".into()))?;
    let mut response = (*body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}
