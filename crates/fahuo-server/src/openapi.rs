//! The OpenAPI document, built from the handlers' annotations and served from the binary.

use axum::http::header;
use axum::response::IntoResponse;
use std::sync::OnceLock;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "fahuo API",
        description = "打单发货 for 微信小店, 抖店 and 小红书: orders, review, stock, waybills, shipping, tracking.\n\n\
            Authenticate with `Authorization: Bearer <API token>` (create one under /tokens), or with the \
            console's session cookie plus `X-CSRF-Token` on unsafe methods. Errors share one shape: \
            `{\"error\": {\"code\", \"message\", \"message_zh\", \"field\"}}`. Money is integer fen, weight \
            integer grams, times RFC 3339 UTC."
    ),
    modifiers(&Security),
    security(("bearer" = []), ("session" = []))
)]
struct Base;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::extract::SESSION_COOKIE,
            ))),
        );
    }
}

pub fn base() -> utoipa::openapi::OpenApi {
    Base::openapi()
}

/// The full document as JSON (also used by tests and `fahuo openapi`).
pub fn openapi_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let (_, doc) = crate::api::router().split_for_parts();
        doc.to_pretty_json()
            .expect("the OpenAPI document serialises")
    })
}

pub async fn serve_openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json())
}
