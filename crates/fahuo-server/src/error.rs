//! The one place where errors become HTTP: status, a stable machine `code`, a message in
//! English for integrators and one in Chinese for the console. 5xx bodies say nothing about
//! the cause; the cause goes to the log.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fahuo_app::AppError;
use serde::Serialize;
use std::borrow::Cow;

/// The error body of every API response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `unauthenticated`, `bad_credentials`, `too_many_attempts`,
    /// `forbidden`, `csrf`, `not_found`, `invalid_input`, `bad_request`, `conflict`,
    /// `illegal_transition`, `insufficient_stock`, `internal`; for a file import also
    /// `empty_file`, `no_data_rows`, `file_too_large`, `too_many_rows`, `unreadable_xlsx`,
    /// `unreadable_file`, `missing_columns`, `unsupported_media_type`.
    pub code: &'static str,
    pub message: String,
    pub message_zh: Cow<'static, str>,
    /// The input field at fault, for `invalid_input`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

/// An error on its way to becoming a response.
#[derive(Debug)]
pub enum ApiError {
    App(AppError),
    BadRequest(String),
    /// A request body of a kind the route does not take (e.g. JSON sent to the file import).
    UnsupportedMediaType(String),
    Csrf,
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError::App(e)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        ApiError::BadRequest(e.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::BadRequest(e.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        ApiError::BadRequest(e.body_text())
    }
}

impl ApiError {
    fn parts(
        &self,
    ) -> (
        StatusCode,
        &'static str,
        String,
        Cow<'static, str>,
        Option<&'static str>,
    ) {
        use AppError as E;
        match self {
            ApiError::BadRequest(m) => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                m.clone(),
                "请求格式有误".into(),
                None,
            ),
            ApiError::UnsupportedMediaType(m) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                m.clone(),
                "请直接上传 xlsx 或 CSV 文件".into(),
                None,
            ),
            ApiError::Csrf => (
                StatusCode::FORBIDDEN,
                "csrf",
                "missing or wrong CSRF token".into(),
                "页面已过期，请刷新后重试".into(),
                None,
            ),
            ApiError::App(e) => match e {
                E::Unauthenticated => (
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    e.to_string(),
                    "请先登录".into(),
                    None,
                ),
                E::BadCredentials => (
                    StatusCode::UNAUTHORIZED,
                    "bad_credentials",
                    e.to_string(),
                    "用户名或密码错误".into(),
                    None,
                ),
                E::TooManyAttempts { .. } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_attempts",
                    e.to_string(),
                    "登录失败次数过多，请稍后再试".into(),
                    None,
                ),
                E::Forbidden(_) => (
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    e.to_string(),
                    "当前角色无权执行此操作".into(),
                    None,
                ),
                E::NotFound => (
                    StatusCode::NOT_FOUND,
                    "not_found",
                    e.to_string(),
                    "未找到".into(),
                    None,
                ),
                E::Invalid(p) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_input",
                    p.to_string(),
                    "输入有误".into(),
                    Some(p.field),
                ),
                E::Conflict(m) => (
                    StatusCode::CONFLICT,
                    "conflict",
                    m.clone(),
                    "与现有数据冲突".into(),
                    None,
                ),
                E::IllegalTransition(m) => (
                    StatusCode::CONFLICT,
                    "illegal_transition",
                    m.clone(),
                    "订单当前状态不允许此操作".into(),
                    None,
                ),
                E::InsufficientStock(m) => (
                    StatusCode::CONFLICT,
                    "insufficient_stock",
                    m.clone(),
                    "库存不足".into(),
                    None,
                ),
                E::Import(i) => (
                    match i {
                        fahuo_app::import::ImportError::TooLarge { .. } => {
                            StatusCode::PAYLOAD_TOO_LARGE
                        }
                        _ => StatusCode::UNPROCESSABLE_ENTITY,
                    },
                    i.code(),
                    i.to_string(),
                    i.message_zh().into(),
                    None,
                ),
                E::Upstream(m) => (
                    StatusCode::BAD_GATEWAY,
                    "upstream_unavailable",
                    m.clone(),
                    "平台暂时不可用，请稍后重试".into(),
                    None,
                ),
                E::UpstreamAuth(m) => (
                    StatusCode::BAD_GATEWAY,
                    "upstream_auth",
                    m.clone(),
                    "平台拒绝了店铺授权，请重新授权店铺".into(),
                    None,
                ),
                E::UpstreamRefused(m) => (
                    StatusCode::BAD_GATEWAY,
                    "upstream_refused",
                    m.clone(),
                    "平台拒绝了此请求".into(),
                    None,
                ),
                E::Internal(_) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error".into(),
                    "服务器内部错误，请稍后重试".into(),
                    None,
                ),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, message_zh, field) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message,
                message_zh,
                field,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::App(AppError::TooManyAttempts { retry_after_secs }) = self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}
