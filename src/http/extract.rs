//! Extractors whose rejections are `AppError`s, so a bad body, query or path gets the same
//! problem+json as everything else.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
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

fn json_rejection(rejection: JsonRejection) -> AppError {
    let detail = rejection.body_text();
    match rejection {
        JsonRejection::JsonDataError(_) => AppError::Unprocessable(detail),
        JsonRejection::MissingJsonContentType(_) => {
            AppError::BadRequest("expected a JSON body with Content-Type: application/json".into())
        }
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
            .map_err(|e: QueryRejection| AppError::BadRequest(e.body_text()))
    }
}

/// The `{code}` path segment. A code that cannot exist is simply not found.
pub struct Code(pub SessionCode);

impl<S: Send + Sync> FromRequestParts<S> for Code {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| AppError::BadRequest(e.body_text()))?;
        SessionCode::parse(&raw)
            .map(Code)
            .map_err(|_| AppError::NotFound(format!("no session with code {raw:?}")))
    }
}
