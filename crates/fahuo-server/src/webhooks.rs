//! `/webhooks/{key}`: where the platforms push order events. Outside the API's session and
//! CSRF checks by nature; a push is trusted only once the application has verified its
//! signature with the shop's own secrets.

use crate::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fahuo_app::intake::WebhookRequest;

/// Pushes are small; a larger body is refused before it is read.
const MAX_PUSH_BYTES: usize = 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/{key}", get(receive).post(receive))
        .route(
            "/webhooks/tracking/{token}",
            axum::routing::post(receive_tracking),
        )
}

/// A tracking service's push (kuaidi100, kdniao): verified with the account's secrets and
/// answered exactly as the service requires.
async fn receive_tracking(
    State(s): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if body.len() > MAX_PUSH_BYTES {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    match s
        .app
        .receive_tracking_push(&token, content_type, &body)
        .await
    {
        Ok(answer) => (
            StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK),
            [(header::CONTENT_TYPE, answer.content_type)],
            answer.body,
        )
            .into_response(),
        Err(fahuo_app::AppError::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            // Not stored: the service delivers it again later.
            tracing::warn!(error = %e, "tracking push not processed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

async fn receive(
    State(s): State<AppState>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if body.len() > MAX_PUSH_BYTES {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let request = WebhookRequest {
        path: uri.path(),
        query: query.as_deref().unwrap_or(""),
        headers: &headers,
        body: &body,
    };
    let answer = s.app.receive_webhook(&key, &request).await;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    (
        status,
        [(header::CONTENT_TYPE, answer.content_type)],
        answer.body,
    )
        .into_response()
}
