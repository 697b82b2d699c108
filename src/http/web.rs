//! The web client, compiled into the binary so a single file serves everything offline.
//! `/` and the client's own routes (`/join`, `/join/CODE`, `/host/CODE`, `/screen/CODE`) all get the
//! page; its scripts and styles come from `/assets/{name}`.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

use super::error::AppError;

const INDEX: &str = include_str!("../../web/index.html");

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Embedded assets: (name, content type, body). ES modules import each other by name.
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", CSS, include_str!("../../web/app.css")),
    ("app.js", JS, include_str!("../../web/app.js")),
    ("api.js", JS, include_str!("../../web/api.js")),
    ("dom.js", JS, include_str!("../../web/dom.js")),
    ("i18n.js", JS, include_str!("../../web/i18n.js")),
    ("banner.js", JS, include_str!("../../web/banner.js")),
    ("live.js", JS, include_str!("../../web/live.js")),
    ("tabs.js", JS, include_str!("../../web/tabs.js")),
    ("transport.js", JS, include_str!("../../web/transport.js")),
    ("session.js", JS, include_str!("../../web/session.js")),
    ("home.js", JS, include_str!("../../web/home.js")),
    ("player.js", JS, include_str!("../../web/player.js")),
    ("host.js", JS, include_str!("../../web/host.js")),
    ("screen.js", JS, include_str!("../../web/screen.js")),
];

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
