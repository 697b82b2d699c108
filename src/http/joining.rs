//! Getting players in: the session's join link as a QR code for the big screen, and where
//! this server can be reached (a server on loopback is out of reach of every phone).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::{AppError, AppResult, Problem};
use super::extract::Code;
use super::origin::LinkBase;
use super::sessions::{CODE_PARAM, join_url};

/// The join link as an SVG QR code: error correction M (reads from a projector across a
/// room), black on white with the standard quiet zone, at least 256 px.
pub fn qr_svg(text: &str) -> Result<String, AppError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("encoding a QR code: {e}")))?;
    Ok(code
        .render::<svg::Color>()
        .min_dimensions(256, 256)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// A QR code of the session's `join_url` (`image/svg+xml`), for the host view and the big
/// screen. No token needed. Unknown codes count against the caller's lookups (by client
/// address when anonymous).
#[utoipa::path(get, path = "/api/v1/sessions/{code}/qr.svg", tag = "sessions",
    params(("code" = String, Path, description = CODE_PARAM)),
    responses(
        (status = 200, description = "The QR code", content_type = "image/svg+xml", body = String),
        (status = 404, description = "Unknown code", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many unknown session codes looked up; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn qr(
    State(state): State<AppState>,
    LinkBase(base): LinkBase,
    Code(code): Code,
) -> AppResult<Response> {
    state.game.live.clock(code).await?;
    let svg = qr_svg(&join_url(&base, code))?;
    let mut response = svg.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    // A code's join link never changes while the server's address stays the same.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    // Opened on its own, an SVG is a document: it may run nothing and load nothing.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// Where this server can be reached.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServerInfo {
    /// The base of every `join_url` and `host_url`.
    pub public_url: String,
    /// The server listens on a loopback address only: no other machine (no phone) can reach
    /// it. Start it with `--addr 0.0.0.0:8080` (and `PUBLIC_URL` set to an address phones
    /// can open) to fix it.
    pub loopback_only: bool,
    /// This machine's address on the local network with the server's port, when one can be
    /// found (`null` otherwise), e.g. `http://192.168.1.20:8080`.
    pub lan_url: Option<String>,
}

/// Where this server can be reached, so the host view can say how players get in. No token
/// needed.
#[utoipa::path(get, path = "/api/v1/server", tag = "operations",
    responses((status = 200, description = "Addresses", body = ServerInfo)))]
pub async fn server(State(state): State<AppState>, LinkBase(base): LinkBase) -> Response {
    let listen = state.config.addr;
    let info = ServerInfo {
        public_url: base,
        loopback_only: listen.ip().is_loopback(),
        lan_url: lan_ip(listen.ip())
            .map(|ip| format!("http://{}", SocketAddr::new(ip, listen.port()))),
    };
    let mut response = axum::Json(info).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// This machine's address on the local network: the one the server listens on when it is a
/// specific one; else the source address the system would use towards the outside world.
/// Connecting a UDP socket only looks up a route: nothing is sent.
fn lan_ip(listen: IpAddr) -> Option<IpAddr> {
    if !listen.is_loopback() && !listen.is_unspecified() {
        return Some(listen);
    }
    let probe = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    // A documentation address (RFC 5737): any non-local one picks the default route.
    probe.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    let ip = probe.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_specific_listen_address_is_the_lan_address() {
        let ip: IpAddr = "192.168.1.20".parse().unwrap();
        assert_eq!(lan_ip(ip), Some(ip));
        // Whatever the machine has, a found address is never loopback.
        assert!(lan_ip(Ipv4Addr::LOCALHOST.into()).is_none_or(|ip| !ip.is_loopback()));
    }

    #[test]
    fn the_qr_code_is_an_svg_image() {
        let svg = qr_svg("http://127.0.0.1:8080/join/K7P2QX").unwrap();
        assert!(svg.contains("<svg") && svg.ends_with("</svg>"), "{svg}");
    }
}
