//! Tokens: issuing and checking guest JWTs (and external ones), and stream tickets: short
//! JWTs for one session's event routes, signed with a key of their own and carrying an
//! audience of their own, so neither kind passes for the other. Where a request's token is
//! looked for is `credentials`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
pub use super::credentials::{AuthUser, StreamUser};
use super::error::{AppError, AppResult, Problem};
use super::extract::AppJson;
use super::origin::{ClientIp, Provenance, over_https, provenance};
use crate::domain::{DisplayName, SessionCode, rfc3339};
use crate::game::now_ms;

pub const COOKIE: &str = "quiz_token";
/// The `aud` of stream tickets; a token carrying it is never accepted as a normal token.
const TICKET_AUDIENCE: &str = "quizcast:stream-ticket";
/// Appended to the secret to make the tickets' own signing key.
const TICKET_KEY_SUFFIX: &[u8] = b"\0quizcast stream ticket key";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    name: Option<String>,
    exp: u64,
    #[serde(default)]
    iat: Option<u64>,
    /// Only read, to refuse tickets: a string or a list of strings.
    #[serde(default, skip_serializing)]
    aud: Option<serde_json::Value>,
    /// `watch`: a big-screen link's token, which only reads the session `sid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
}

/// The `scope` of a big-screen link's token.
const WATCH_SCOPE: &str = "watch";

#[derive(Debug, Serialize, Deserialize)]
struct TicketClaims {
    sub: String,
    name: String,
    exp: u64,
    iat: u64,
    aud: String,
    /// The session code the ticket is for.
    sid: String,
}

pub struct Auth {
    encoding: EncodingKey,
    own: DecodingKey,
    ticket_encoding: EncodingKey,
    ticket_decoding: DecodingKey,
    external: Option<(DecodingKey, Validation)>,
    ttl_secs: u64,
    ticket_ttl_secs: u64,
}

impl Auth {
    pub fn new(
        secret: &[u8],
        external: Option<(DecodingKey, Validation)>,
        ttl_secs: u64,
        ticket_ttl_secs: u64,
    ) -> Self {
        let ticket_key = [secret, TICKET_KEY_SUFFIX].concat();
        Self {
            encoding: EncodingKey::from_secret(secret),
            own: DecodingKey::from_secret(secret),
            ticket_encoding: EncodingKey::from_secret(&ticket_key),
            ticket_decoding: DecodingKey::from_secret(&ticket_key),
            external,
            ttl_secs,
            ticket_ttl_secs,
        }
    }

    /// An external provider's key, from PEM (RSA or Ed25519), checking issuer and audience.
    pub fn external_key(
        pem: &[u8],
        issuer: Option<&str>,
        audience: Option<&str>,
    ) -> anyhow::Result<(DecodingKey, Validation)> {
        let (key, alg) = match DecodingKey::from_rsa_pem(pem) {
            Ok(k) => (k, Algorithm::RS256),
            Err(_) => (DecodingKey::from_ed_pem(pem)?, Algorithm::EdDSA),
        };
        let mut validation = Validation::new(alg);
        if let Some(iss) = issuer {
            validation.set_issuer(&[iss]);
        }
        match audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        Ok((key, validation))
    }

    pub fn issue(&self, user_id: &str, name: &str) -> anyhow::Result<(String, u64)> {
        let now = (now_ms() / 1000) as u64;
        let claims = Claims {
            sub: user_id.to_owned(),
            name: Some(name.to_owned()),
            exp: now + self.ttl_secs,
            iat: Some(now),
            aud: None,
            scope: None,
            sid: None,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, claims.exp))
    }

    /// A token that stands for `host` but only reads `code` (a big-screen link), valid as
    /// long as the token it was asked with.
    pub fn issue_watch(&self, host: &AuthUser, code: SessionCode) -> anyhow::Result<(String, u64)> {
        let now = (now_ms() / 1000) as u64;
        let claims = Claims {
            sub: host.id.clone(),
            name: Some(host.name.clone()),
            exp: host.expires_at.min(now + self.ttl_secs),
            iat: Some(now),
            aud: None,
            scope: Some(WATCH_SCOPE.to_owned()),
            sid: Some(code.to_string()),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, claims.exp))
    }

    /// A ticket for `user` on `code`'s event routes, valid for the ticket lifetime (15
    /// minutes by default) but never past the token it was asked with.
    pub fn issue_ticket(
        &self,
        user: &AuthUser,
        code: SessionCode,
    ) -> anyhow::Result<(String, u64)> {
        let now = (now_ms() / 1000) as u64;
        let claims = TicketClaims {
            sub: user.id.clone(),
            name: user.name.clone(),
            exp: (now + self.ticket_ttl_secs).min(user.expires_at),
            iat: now,
            aud: TICKET_AUDIENCE.to_owned(),
            sid: code.to_string(),
        };
        let ticket = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.ticket_encoding,
        )?;
        Ok((ticket, claims.exp))
    }

    /// A ticket's user, if the ticket is ours, unexpired and for `code`.
    pub fn verify_ticket(&self, ticket: &str, code: &str) -> Result<AuthUser, AppError> {
        let bad = |why: &str| AppError::Unauthorized(format!("invalid ticket: {why}"));
        let mut v = Validation::new(Algorithm::HS256);
        v.set_audience(&[TICKET_AUDIENCE]);
        v.set_required_spec_claims(&["exp", "aud", "sub"]);
        // We issue tickets and they live minutes: no grace past `exp`.
        v.leeway = 0;
        let claims = jsonwebtoken::decode::<TicketClaims>(ticket, &self.ticket_decoding, &v)
            .map_err(|e| bad(&e.to_string()))?
            .claims;
        match SessionCode::parse(code) {
            Ok(c) if c.as_str() == claims.sid => {}
            _ => return Err(bad("it is for another session")),
        }
        Ok(AuthUser {
            id: claims.sub,
            name: claims.name,
            expires_at: claims.exp,
            watch: None,
        })
    }

    pub(super) fn verify(&self, token: &str) -> Result<AuthUser, AppError> {
        let bad = |why: &str| AppError::Unauthorized(format!("invalid token: {why}"));
        let header = jsonwebtoken::decode_header(token).map_err(|_| bad("malformed"))?;
        let data = match header.alg {
            Algorithm::HS256 => {
                let mut v = Validation::new(Algorithm::HS256);
                v.validate_aud = false;
                jsonwebtoken::decode::<Claims>(token, &self.own, &v)
            }
            alg => match &self.external {
                Some((key, v)) if v.algorithms.contains(&alg) => {
                    jsonwebtoken::decode::<Claims>(token, key, v)
                }
                _ => return Err(bad("unsupported algorithm")),
            },
        }
        .map_err(|e| bad(&e.to_string()))?;
        let claims = data.claims;
        if claims.sub.is_empty() || claims.sub.len() > 128 {
            return Err(bad("subject"));
        }
        let is_ticket = match &claims.aud {
            Some(serde_json::Value::String(a)) => a == TICKET_AUDIENCE,
            Some(serde_json::Value::Array(list)) => list.iter().any(|a| a == TICKET_AUDIENCE),
            _ => false,
        };
        if is_ticket {
            return Err(bad("a stream ticket is not a token"));
        }
        // Only our own keys issue watch tokens; an external provider's scopes mean nothing here.
        let watch = match (header.alg, claims.scope.as_deref(), claims.sid) {
            (_, None, _) => None,
            (Algorithm::HS256, Some(WATCH_SCOPE), Some(sid)) => Some(sid),
            (Algorithm::HS256, Some(_), _) => return Err(bad("unknown scope")),
            _ => None,
        };
        let name = claims
            .name
            .as_deref()
            .and_then(|n| DisplayName::parse(n).ok())
            .map_or_else(
                || claims.sub.chars().take(32).collect(),
                |n| n.into_string(),
            );
        Ok(AuthUser {
            id: claims.sub,
            name,
            expires_at: claims.exp,
            watch,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct GuestRequest {
    /// 1–32 characters after trimming and NFC normalisation. Control, format (bidi
    /// overrides and isolates, zero-width characters, BOM, soft hyphen) and line/paragraph
    /// separator characters are refused (`422`).
    #[schema(example = "Ana")]
    pub display_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GuestResponse {
    /// HS256 JWT: `sub` = user id, `name` = display name, `exp` set.
    pub token: String,
    pub user_id: String,
    pub display_name: String,
    pub expires_at: String,
}

/// How the guest endpoint's cookie is set for this request.
pub struct CookiePolicy {
    /// Not when another origin's page asked: that page must not sign the visitor in (into
    /// an identity it chose) on this server.
    set: bool,
    secure: bool,
}

impl axum::extract::FromRequestParts<AppState> for CookiePolicy {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        Ok(CookiePolicy {
            set: provenance(parts, state) != Provenance::CrossOrigin,
            secure: over_https(parts, state),
        })
    }
}

/// Sign in as a guest.
///
/// Returns a token and also sets it as the `quiz_token` cookie (HttpOnly, SameSite=Lax, and
/// Secure when the server is reached over HTTPS: an https `PUBLIC_URL` or a trusted proxy
/// forwarding `https`). When a page of another origin sends the request (its `Origin`, or
/// `Sec-Fetch-Site`, says so) the token is returned but no cookie is set, so no other site
/// can sign a visitor in under an identity of its choosing. No credential is needed or read.
/// Limited per client address (default 20 per minute): the TCP peer, or for a peer in
/// `--trusted-proxies` the client address it forwarded; over all nodes together.
#[utoipa::path(post, path = "/api/v1/auth/guest", tag = "auth",
    request_body = GuestRequest,
    responses(
        (status = 201, description = "Signed in", body = GuestResponse,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Guest login is disabled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid display name (empty, too long, or with control, format or separator characters)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many logins from this address", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn guest(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    cookie: CookiePolicy,
    AppJson(req): AppJson<GuestRequest>,
) -> AppResult<Response> {
    if !state.config.guest_login {
        return Err(AppError::Forbidden(
            "guest login is disabled on this server".into(),
        ));
    }
    state.limits.check_guest(client).await?;
    let name = DisplayName::parse(&req.display_name)
        .map_err(|e| AppError::Unprocessable(e.to_string()))?;
    let user_id = uuid::Uuid::now_v7().to_string();
    state
        .game
        .store
        .save_user(&user_id, name.as_str(), now_ms())
        .await?;
    let (token, exp) = state.auth.issue(&user_id, name.as_str())?;
    let set_cookie = format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        state.config.token_ttl_secs,
        if cookie.secure { "; Secure" } else { "" }
    );
    let body = GuestResponse {
        token,
        user_id,
        display_name: name.into_string(),
        expires_at: rfc3339(exp as i64 * 1000),
    };
    let mut response = (StatusCode::CREATED, axum::Json(body)).into_response();
    if cookie.set
        && let Ok(v) = HeaderValue::from_str(&set_cookie)
    {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

pub type SharedAuth = Arc<Auth>;
