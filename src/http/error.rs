//! One error type for every handler, rendered as `application/problem+json`. One table maps
//! variants to status, type and title; internal details go to the log, never to clients.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::game::GameError;
use crate::live::LiveError;
use crate::store::StoreError;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// RFC 9457 problem details.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URN naming the kind of problem, e.g. `urn:quizcast:problem:not-found`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// On `409` for a second answer: the reply the first answer got.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_result: Option<crate::domain::event::AnswerResult>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{detail}")]
    Conflict {
        detail: String,
        first_result: Option<crate::domain::event::AnswerResult>,
    },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{detail}")]
    TooManyRequests {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use AppError::*;
        match self {
            BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            Conflict { .. } => (StatusCode::CONFLICT, "conflict", "Conflict"),
            PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
            ),
            UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            Unprocessable(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "Unprocessable content",
            ),
            TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
            ),
            Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
            ),
        }
    }

    /// A problem response for a bare status (unknown routes, layers' own rejections).
    pub fn from_status(status: StatusCode) -> Self {
        let reason = status.canonical_reason().unwrap_or("error").to_owned();
        match status.as_u16() {
            400 => AppError::BadRequest(reason),
            401 => AppError::Unauthorized(reason),
            403 => AppError::Forbidden(reason),
            404 => AppError::NotFound("no such resource".into()),
            405 => AppError::MethodNotAllowed("this method is not allowed here".into()),
            413 => AppError::PayloadTooLarge("the request body is too large".into()),
            415 => AppError::UnsupportedMediaType(reason),
            422 => AppError::Unprocessable(reason),
            429 => AppError::TooManyRequests {
                detail: reason,
                retry_after_secs: 1,
            },
            503 | 504 | 408 => AppError::Unavailable(reason),
            _ => AppError::Internal(anyhow::anyhow!("unexpected status {status}")),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.parts();
        let detail = match &self {
            AppError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                "an internal error occurred".to_owned()
            }
            other => other.to_string(),
        };
        metrics::counter!("quizcast_rejections_total", "status" => status.as_str().to_owned())
            .increment(1);
        let (first_result, retry_after) = match self {
            AppError::Conflict { first_result, .. } => (first_result, None),
            AppError::TooManyRequests {
                retry_after_secs, ..
            } => (None, Some(retry_after_secs)),
            _ => (None, None),
        };
        let body = Problem {
            kind: format!("urn:quizcast:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            first_result,
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

impl From<LiveError> for AppError {
    fn from(e: LiveError) -> Self {
        match e {
            LiveError::NotFound => AppError::NotFound(e.to_string()),
            LiveError::Finished | LiveError::NotFinished | LiveError::Phase(_) => {
                AppError::Conflict {
                    detail: e.to_string(),
                    first_result: None,
                }
            }
            LiveError::Full | LiveError::NotPlayer | LiveError::Locked | LiveError::Removed => {
                AppError::Forbidden(e.to_string())
            }
            LiveError::NoSuchPlayer => AppError::NotFound(e.to_string()),
            LiveError::NotOpen(_) | LiveError::InvalidChoice => {
                AppError::Unprocessable(e.to_string())
            }
            LiveError::CodeTaken => AppError::Internal(anyhow::anyhow!(e)),
            LiveError::Unavailable(_) => AppError::Unavailable(e.to_string()),
        }
    }
}

impl From<GameError> for AppError {
    fn from(e: GameError) -> Self {
        match e {
            GameError::Live(l) => l.into(),
            GameError::NotHost
            | GameError::NotAuthor
            | GameError::HostCannotPlay
            | GameError::Quota { .. } => AppError::Forbidden(e.to_string()),
            GameError::NoCode => AppError::Unavailable(e.to_string()),
            GameError::Store(s) => s.into(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_),
            ) => AppError::Unavailable("the database is unavailable; retry shortly".into()),
            other => AppError::Internal(anyhow::anyhow!(other)),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
