//! Extractors whose rejections are `AppError`s, so a bad body, query or path gets the same
//! problem+json as everything else.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::AppError;
use crate::domain::SessionCode;

/// `Json<T>` with problem+json rejections: unparseable → 400, wrong shape → 422, too big → 413.
pub struct AppJson<T>(pub T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(AppJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// The longest detail taken from a parser's message. serde quotes the offending value or
/// field name, which may be most of the body.
pub const MAX_DETAIL_CHARS: usize = 300;

/// `detail` cut to `MAX_DETAIL_CHARS` characters (marked with `…`).
pub fn bounded(detail: String) -> String {
    match detail.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((end, _)) => format!("{}…", &detail[..end]),
        None => detail,
    }
}

/// Whether the headers say the body is JSON (`application/json` or `application/…+json`),
/// as the `Json` extractor requires.
fn has_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// `400` unless the headers say the body is JSON, as `AppJson` answers.
pub fn require_json(headers: &HeaderMap) -> Result<(), AppError> {
    if has_json_content_type(headers) {
        Ok(())
    } else {
        Err(missing_json_content_type())
    }
}

/// Parses a JSON body already read, with the rejections of `AppJson`.
pub fn json_from_bytes<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    axum::Json::<T>::from_bytes(body)
        .map(|axum::Json(v)| v)
        .map_err(json_rejection)
}

fn missing_json_content_type() -> AppError {
    AppError::BadRequest("expected a JSON body with Content-Type: application/json".into())
}

fn json_rejection(rejection: JsonRejection) -> AppError {
    let detail = bounded(rejection.body_text());
    match rejection {
        JsonRejection::JsonDataError(_) => AppError::Unprocessable(detail),
        JsonRejection::MissingJsonContentType(_) => missing_json_content_type(),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            AppError::PayloadTooLarge("the request body is too large".into())
        }
        _ => AppError::BadRequest(detail),
    }
}

/// Query strings with problem+json rejections (400).
pub struct AppQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for AppQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| AppQuery(q.0))
            .map_err(|e: QueryRejection| AppError::BadRequest(bounded(e.body_text())))
    }
}

/// The `{code}` path segment. A code that cannot exist is simply not found.
pub struct Code(pub SessionCode);

impl<S: Send + Sync> FromRequestParts<S> for Code {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| AppError::BadRequest(bounded(e.body_text())))?;
        SessionCode::parse(&raw)
            .map(Code)
            .map_err(|_| AppError::NotFound(bounded(format!("no session with code {raw:?}"))))
    }
}
