//! Extractors: who is asking ([`Authed`]), and JSON/query/path input whose rejections use the
//! API's error shape.
//!
//! Authentication: `Authorization: Bearer fh_...` (API tokens, no CSRF needed: a browser
//! never sends it on its own), or the `fahuo_session` cookie, in which case every unsafe
//! method must carry the session's CSRF token in `X-CSRF-Token` (the console's forms carry it
//! as a field and are checked by their handlers).

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, header};
use fahuo_app::{Actor, AppError};
use std::net::SocketAddr;
use subtle::ConstantTimeEq;

pub const SESSION_COOKIE: &str = "fahuo_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The authenticated actor of an API request.
pub struct Authed(pub Actor);

/// The session behind the request's cookie, if any (console pages).
pub struct MaybeSession(pub Option<(Actor, String, String)>);

pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The client's address, for the login throttle.
pub fn client_addr(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Adds who is asking to the request's `http` span, so every log line of the request names
/// the tenant and user (ids only: names are not logged).
fn note_actor(actor: &Actor) {
    let span = tracing::Span::current();
    span.record("tenant", actor.tenant_id.get());
    if let Some(user) = actor.user_id {
        span.record("user", user.get());
    }
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let token = auth
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or(ApiError::App(AppError::Unauthenticated))?;
            let actor = state.app.token_actor(token.trim()).await?;
            note_actor(&actor);
            return Ok(Authed(actor));
        }
        let session =
            cookie(parts, SESSION_COOKIE).ok_or(ApiError::App(AppError::Unauthenticated))?;
        let (actor, csrf) = state.app.session_actor(session).await?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !same_secret(sent, &csrf) {
                return Err(ApiError::Csrf);
            }
        }
        note_actor(&actor);
        Ok(Authed(actor))
    }
}

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(token) = cookie(parts, SESSION_COOKIE) else {
            return Ok(MaybeSession(None));
        };
        Ok(MaybeSession(state.app.session_actor(token).await.ok().map(
            |(actor, csrf)| {
                note_actor(&actor);
                (actor, csrf, token.to_string())
            },
        )))
    }
}

/// `Json<T>` with the API's error shape on bad input.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `Query<T>` with the API's error shape on bad input.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `Path<T>` with the API's error shape on bad input.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);
