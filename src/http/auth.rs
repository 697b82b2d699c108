//! Tokens: issuing guest JWTs and checking every request's token, looked for in the
//! `Authorization` header, then the `quiz_token` cookie, then the `access_token` query
//! parameter. The first one present decides; a bad one is 401, never a fall-through.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::error::{AppError, AppResult, Problem};
use super::extract::AppJson;
use crate::domain::{DisplayName, rfc3339};
use crate::game::now_ms;

pub const COOKIE: &str = "quiz_token";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    name: Option<String>,
    exp: u64,
    #[serde(default)]
    iat: Option<u64>,
}

pub struct Auth {
    encoding: EncodingKey,
    own: DecodingKey,
    external: Option<(DecodingKey, Validation)>,
    ttl_secs: u64,
}

impl Auth {
    pub fn new(secret: &[u8], external: Option<(DecodingKey, Validation)>, ttl_secs: u64) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            own: DecodingKey::from_secret(secret),
            external,
            ttl_secs,
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
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, claims.exp))
    }

    fn verify(&self, token: &str) -> Result<AuthUser, AppError> {
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
        })
    }
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: String,
    pub name: String,
}

fn cookie_token(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

fn query_token(parts: &Parts) -> Option<String> {
    let query = parts.uri.query()?;
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v)
}

impl<S> FromRequestParts<S> for AuthUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = if let Some(h) = parts.headers.get(header::AUTHORIZATION) {
            let h = h.to_str().unwrap_or_default();
            match h.split_once(' ') {
                Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim().to_owned(),
                _ => {
                    return Err(AppError::Unauthorized(
                        "Authorization must be `Bearer <token>`".into(),
                    ));
                }
            }
        } else if let Some(t) = cookie_token(parts) {
            t
        } else if let Some(t) = query_token(parts) {
            t
        } else {
            return Err(AppError::Unauthorized(
                "a token is required (Authorization: Bearer, cookie quiz_token, or access_token)"
                    .into(),
            ));
        };
        state.auth.verify(&token)
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

/// Sign in as a guest.
///
/// Returns a token and also sets it as the `quiz_token` cookie (HttpOnly, SameSite=Lax).
/// Limited per client address (default 20 per minute), over all nodes together.
#[utoipa::path(post, path = "/api/v1/auth/guest", tag = "auth",
    request_body = GuestRequest,
    responses(
        (status = 201, description = "Signed in", body = GuestResponse),
        (status = 400, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Guest login is disabled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid display name (empty, too long, or with control, format or separator characters)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many logins from this address", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn guest(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    AppJson(req): AppJson<GuestRequest>,
) -> AppResult<Response> {
    if !state.config.guest_login {
        return Err(AppError::Forbidden(
            "guest login is disabled on this server".into(),
        ));
    }
    state.limits.check_guest(peer.ip()).await?;
    let name = DisplayName::parse(&req.display_name)
        .map_err(|e| AppError::Unprocessable(e.to_string()))?;
    let user_id = uuid::Uuid::now_v7().to_string();
    state
        .game
        .store
        .save_user(&user_id, name.as_str(), now_ms())
        .await?;
    let (token, exp) = state.auth.issue(&user_id, name.as_str())?;
    let cookie = format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
        state.config.token_ttl_secs
    );
    let body = GuestResponse {
        token,
        user_id,
        display_name: name.into_string(),
        expires_at: rfc3339(exp as i64 * 1000),
    };
    let mut response = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

pub type SharedAuth = Arc<Auth>;
