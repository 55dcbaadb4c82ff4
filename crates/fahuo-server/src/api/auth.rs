//! Login, logout and "who am I".

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Authed, SESSION_COOKIE, client_addr, cookie};
use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{AppendHeaders, IntoResponse};
use chrono::{DateTime, Utc};
use fahuo_domain::catalog::User;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub user: User,
    /// Send back as `X-CSRF-Token` on every unsafe request made with the session cookie.
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub tenant_id: i64,
    pub name: String,
    pub role: fahuo_domain::Role,
    pub user: Option<User>,
}

/// The session cookie: HttpOnly, SameSite=Strict, Secure when configured.
pub fn session_cookie(value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    ))
    .expect("cookie is ASCII")
}

/// Logs in with a username and password and sets the session cookie.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(s): State<AppState>,
    parts: Parts,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let session = s
        .app
        .login(&req.username, &req.password, &client_addr(&parts))
        .await?;
    let max_age = (session.expires_at - s.app.now()).num_seconds();
    let set = session_cookie(&session.token, max_age, s.http.secure_cookies);
    Ok((
        AppendHeaders([(header::SET_COOKIE, set)]),
        Json(LoginResponse {
            user: session.user,
            csrf_token: session.csrf_token,
            expires_at: session.expires_at,
        }),
    ))
}

/// Ends the cookie session.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(s): State<AppState>,
    _who: Authed,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let (mut parts, _) = axum::http::Request::new(()).into_parts();
    parts.headers = headers;
    if let Some(token) = cookie(&parts, SESSION_COOKIE) {
        s.app.logout(token).await?;
    }
    Ok((
        axum::http::StatusCode::NO_CONTENT,
        AppendHeaders([(
            header::SET_COOKIE,
            session_cookie("", 0, s.http.secure_cookies),
        )]),
    ))
}

/// Who the request acts as.
#[utoipa::path(get, path = "/me", tag = "auth", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(State(s): State<AppState>, Authed(actor): Authed) -> Result<Json<Me>, ApiError> {
    let user = s.app.me(&actor).await?;
    Ok(Json(Me {
        tenant_id: actor.tenant_id.get(),
        name: actor.name,
        role: actor.role,
        user,
    }))
}
