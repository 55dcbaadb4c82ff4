//! fahuo's HTTP face: the JSON API under `/api/v1` (documented at `/api/openapi.json`), the
//! merchant console, `/healthz` and `/metrics`.
//!
//! Handlers only translate HTTP to use-case calls and back: they parse input into the app
//! layer's input types, call one `App` method with the authenticated [`Actor`](fahuo_app::Actor),
//! and map the result. Errors become HTTP in one place, [`error::ApiError`].

mod api;
pub(crate) use api::auth as api_auth;
mod console;
pub mod error;
mod extract;
mod metrics;
mod openapi;
mod supplier_page;
mod webhooks;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use fahuo_app::App;
use std::net::SocketAddr;
use std::time::Duration;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use openapi::openapi_json;

/// How the HTTP layer behaves, beyond the application's settings.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct HttpSettings {
    /// Mark cookies `Secure` (set when served over HTTPS, e.g. behind a TLS proxy).
    pub secure_cookies: bool,
    /// Largest accepted request body (the order import has its own limit for files).
    pub max_body_bytes: usize,
    pub request_timeout_seconds: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            secure_cookies: false,
            max_body_bytes: 8 * 1024 * 1024,
            request_timeout_seconds: 60,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub http: std::sync::Arc<HttpSettings>,
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole router: API, console, health and metrics, with the common layers.
pub fn router(app: App, http: HttpSettings) -> Router {
    let _ = metrics::handle();
    let state = AppState {
        app,
        http: std::sync::Arc::new(http.clone()),
    };
    let (api, _doc) = api::router_with_limit(http.max_body_bytes).split_for_parts();
    let pages = Router::new()
        .merge(console::router())
        .merge(metrics::router())
        .merge(webhooks::router())
        .merge(supplier_page::router())
        .route(
            "/api/openapi.json",
            axum::routing::get(openapi::serve_openapi),
        )
        .layer(RequestBodyLimitLayer::new(http.max_body_bytes));
    Router::new()
        .merge(api)
        .merge(pages)
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
                // The path only: query strings may carry search terms.
                tracing::info_span!("http", method = %req.method(), path = %loggable_path(req.uri().path()), request_id = %id, tenant = tracing::field::Empty, user = tracing::field::Empty)
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(http.request_timeout_seconds),
        ))
        .with_state(state)
}

/// Serves the router on `listener` until `shutdown` resolves.
pub async fn serve(
    app: App,
    http: HttpSettings,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = router(app, http).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}

/// A request path as logs may show it: a supplier link's token is a credential, so it is cut.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/supplier/") {
        Some(rest) => {
            let action = rest.split_once('/').map(|(_, a)| a).unwrap_or("");
            std::borrow::Cow::Owned(format!("/supplier/***/{action}"))
        }
        None => std::borrow::Cow::Borrowed(path),
    }
}

#[cfg(test)]
mod log_tests {
    #[test]
    fn supplier_tokens_never_reach_the_logs() {
        assert_eq!(
            super::loggable_path("/supplier/1.2.99.abcdef/ship"),
            "/supplier/***/ship"
        );
        assert_eq!(
            super::loggable_path("/supplier/1.2.99.abcdef"),
            "/supplier/***/"
        );
        assert_eq!(super::loggable_path("/api/v1/orders"), "/api/v1/orders");
    }
}
