//! The OpenAPI document, generated from the handlers' annotations. `openapi/openapi.json`
//! is a committed copy that a test keeps identical.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::sse::Heartbeat;
use crate::domain::event::{
    AnswerCounts, AnswerResult, Leaderboard, LeaderboardEntry, Member, Presence, QuestionClosed,
    QuestionOpened, QuestionView, Score, SessionState, You,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "quizcast",
        description = "Real-time vocabulary quiz server. A host starts a live session of a quiz; \
players join it by its code, answer over HTTP, and follow the session over Server-Sent Events \
(`GET /api/v1/sessions/{code}/events`) or long-poll (`…/events/poll`). Event payloads are the \
schemas `SessionState`, `QuestionOpened`, `QuestionClosed`, `Leaderboard` (for `leaderboard` and \
`session_finished`), `Presence`, `Score`, for the host only `AnswerCounts` (`answers`), and on \
every event stream idle for 15 s `Heartbeat` (`heartbeat`). Errors are `application/problem+json` (`Problem`).\n\n\
Scoring: `t` = ms from the question opening to the server accepting the answer; a correct answer \
earns `100 + round(50 * (20000 - min(t, 20000)) / 20000) + min(100, 10 * streak)` (round half away \
from zero), a wrong one 0; `streak` counts the correct answers in a row immediately before. \
Leaderboard order: score descending, then who reached it first; `rank` = 1 + the number of players \
with a strictly higher score.",
        license(name = "MIT")
    ),
    components(schemas(
        SessionState, QuestionView, You, AnswerCounts, QuestionOpened, QuestionClosed, Leaderboard,
        LeaderboardEntry, Presence, Member, Score, AnswerResult, Heartbeat
    )),
    modifiers(&Security),
    tags(
        (name = "auth", description = "Tokens"),
        (name = "quizzes", description = "Question banks"),
        (name = "sessions", description = "Live runs of a quiz"),
        (name = "host", description = "Driving a session (host only)"),
        (name = "answers", description = "Answering"),
        (name = "events", description = "Live events: SSE and long-poll"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "quiz_token",
                "Set by guest login. A request it authenticates that changes something \
                 (POST, PUT, PATCH, DELETE) must come from this server's own origin \
                 (`Origin`, else `Sec-Fetch-Site: same-origin`), else `403`.",
            ))),
        );
        components.add_security_scheme(
            "access_token",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "access_token",
                "A token in the URL: the two event routes only, ignored elsewhere.",
            ))),
        );
        components.add_security_scheme(
            "ticket",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "ticket",
                "A stream ticket (`POST /api/v1/sessions/{code}/ticket`): that session's two \
                 event routes only, 15 minutes.",
            ))),
        );
    }
}
