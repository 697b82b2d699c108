//! `/api/v1/quizzes`: create (JSON or a word list), list, read.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::auth::AuthUser;
use super::error::{AppError, AppResult, Problem};
use super::extract::{AppQuery, json_from_bytes, require_json};
use super::offload::cpu_bound;
use crate::domain::import::{self, Delimiter};
use crate::domain::quiz::{Quiz, QuizDraft};

#[derive(Debug, Serialize, ToSchema)]
pub struct QuizCreated {
    pub quiz_id: Uuid,
    pub title: String,
    pub question_count: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuizListItem {
    pub quiz_id: Uuid,
    pub title: String,
    pub question_count: u32,
    /// The built-in demo quiz.
    pub demo: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuizList {
    pub quizzes: Vec<QuizListItem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionDetail {
    pub question_id: Uuid,
    pub index: u32,
    pub prompt: String,
    pub choices: Vec<String>,
    pub time_limit_ms: u32,
    /// Only shown to the quiz's author.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct_choice: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuizDetail {
    pub quiz_id: Uuid,
    pub title: String,
    pub demo: bool,
    pub questions: Vec<QuestionDetail>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Title of the new quiz (default "Imported word list").
    pub title: Option<String>,
    /// Choices per question, 2–6 (default 4).
    pub choices: Option<usize>,
}

async fn save(state: &AppState, quiz: Quiz) -> AppResult<(StatusCode, axum::Json<QuizCreated>)> {
    state.game.save_quiz(&quiz).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(QuizCreated {
            quiz_id: quiz.id,
            title: quiz.title.clone(),
            question_count: quiz.question_count(),
        }),
    ))
}

fn invalid(e: impl std::fmt::Display) -> AppError {
    AppError::Unprocessable(e.to_string())
}

/// A create request's work before the database: parse the JSON body and check the quiz.
/// Linear in the body; the error names at most 20 problems.
pub fn parse_quiz(body: &[u8], author: &str) -> AppResult<Quiz> {
    json_from_bytes::<QuizDraft>(body)?
        .validate(Some(author.to_owned()))
        .map_err(invalid)
}

/// An import request's work before the database: read the word list (at most 200 rows),
/// build the questions and check them.
pub fn parse_word_list(
    body: &[u8],
    delimiter: Delimiter,
    title: Option<&str>,
    choices: usize,
    author: &str,
) -> AppResult<Quiz> {
    import::check_choices(choices).map_err(invalid)?;
    let text = std::str::from_utf8(body)
        .map_err(|_| AppError::BadRequest("the word list is not valid UTF-8".into()))?;
    let pairs = import::parse_pairs(text, delimiter).map_err(invalid)?;
    import::build_quiz(&pairs, title, choices, &mut rand::rng())
        .map_err(invalid)?
        .validate(Some(author.to_owned()))
        .map_err(invalid)
}

/// Create a quiz.
///
/// 1–200 questions; 2–6 distinct non-empty choices; `correct_choice` in range;
/// `time_limit_ms` 5000–120000 (default 20000); strings at most 500 characters. Counts and
/// sizes are checked before anything else, so every body is answered in time linear in its
/// size; a `422` names at most 20 problems (then "and more").
#[utoipa::path(post, path = "/api/v1/quizzes", tag = "quizzes",
    request_body = QuizDraft,
    responses(
        (status = 201, description = "Created", body = QuizCreated),
        (status = 400, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid content (at most 20 problems named)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<(StatusCode, axum::Json<QuizCreated>)> {
    require_json(&headers)?;
    let quiz = cpu_bound(body.len(), move || parse_quiz(&body, &user.id)).await??;
    save(&state, quiz).await
}

/// Create a quiz from a word list.
///
/// The body is `word,meaning` lines (`text/csv`) or `word<TAB>meaning` lines
/// (`text/tab-separated-values`). Each word becomes a question whose wrong choices are
/// other words' meanings. Needs at least `choices` pairs with distinct meanings; more than
/// 200 rows is a `422` at once (reading stops at row 201).
#[utoipa::path(post, path = "/api/v1/quizzes/import", tag = "quizzes",
    params(ImportParams),
    request_body(content = String, content_type = "text/csv", description = "`word,meaning` lines"),
    responses(
        (status = 201, description = "Created", body = QuizCreated),
        (status = 400, description = "Body is not UTF-8 text", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not text/csv or text/tab-separated-values", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`choices` out of range, bad lines, more than 200 rows or too few pairs", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn import(
    State(state): State<AppState>,
    user: AuthUser,
    AppQuery(params): AppQuery<ImportParams>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<(StatusCode, axum::Json<QuizCreated>)> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let delimiter = if content_type.starts_with("text/csv") {
        Delimiter::Comma
    } else if content_type.starts_with("text/tab-separated-values") {
        Delimiter::Tab
    } else {
        return Err(AppError::UnsupportedMediaType(
            "send text/csv or text/tab-separated-values".into(),
        ));
    };
    let choices = params.choices.unwrap_or(import::DEFAULT_CHOICES);
    import::check_choices(choices).map_err(invalid)?;
    let quiz = cpu_bound(body.len(), move || {
        parse_word_list(&body, delimiter, params.title.as_deref(), choices, &user.id)
    })
    .await??;
    save(&state, quiz).await
}

/// List your quizzes and the demo quiz.
#[utoipa::path(get, path = "/api/v1/quizzes", tag = "quizzes",
    responses(
        (status = 200, description = "The caller's quizzes and the demo quiz", body = QuizList),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
) -> AppResult<axum::Json<QuizList>> {
    let quizzes = state
        .game
        .store
        .quizzes_for(&user.id)
        .await?
        .into_iter()
        .map(|q| QuizListItem {
            quiz_id: q.quiz_id,
            title: q.title,
            question_count: q.question_count,
            demo: q.demo,
        })
        .collect();
    Ok(axum::Json(QuizList { quizzes }))
}

/// Read a quiz. Only its author sees `correct_choice`.
#[utoipa::path(get, path = "/api/v1/quizzes/{quiz_id}", tag = "quizzes",
    params(("quiz_id" = Uuid, Path, description = "Quiz id")),
    responses(
        (status = 200, description = "The quiz", body = QuizDetail),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such quiz", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    Path(quiz_id): Path<String>,
) -> AppResult<axum::Json<QuizDetail>> {
    let not_found = || AppError::NotFound("no quiz with that id".into());
    let id = Uuid::parse_str(&quiz_id).map_err(|_| not_found())?;
    let quiz = state.game.store.quiz(id).await?.ok_or_else(not_found)?;
    let author = quiz.author_id.as_deref() == Some(user.id.as_str());
    Ok(axum::Json(QuizDetail {
        quiz_id: quiz.id,
        title: quiz.title.clone(),
        demo: quiz.demo,
        questions: quiz
            .questions
            .iter()
            .map(|q| QuestionDetail {
                question_id: q.id,
                index: q.index,
                prompt: q.prompt.to_string(),
                choices: q.choice_texts(),
                time_limit_ms: q.time_limit_ms,
                correct_choice: author.then_some(q.correct_choice),
            })
            .collect(),
    }))
}
