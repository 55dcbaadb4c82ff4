//! The one place where errors become HTTP: status, a stable machine `code`, a message in
//! English for integrators and one in Chinese for the console. 5xx bodies say nothing about
//! the cause; the cause goes to the log.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fahuo_app::AppError;
use serde::Serialize;

/// The error body of every API response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `unauthenticated`, `bad_credentials`, `too_many_attempts`,
    /// `forbidden`, `csrf`, `not_found`, `invalid_input`, `bad_request`, `conflict`,
    /// `illegal_transition`, `insufficient_stock`, `internal`.
    pub code: &'static str,
    pub message: String,
    pub message_zh: &'static str,
    /// The input field at fault, for `invalid_input`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

/// An error on its way to becoming a response.
#[derive(Debug)]
pub enum ApiError {
    App(AppError),
    BadRequest(String),
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
        &'static str,
        Option<&'static str>,
    ) {
        use AppError as E;
        match self {
            ApiError::BadRequest(m) => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                m.clone(),
                "请求格式有误",
                None,
            ),
            ApiError::Csrf => (
                StatusCode::FORBIDDEN,
                "csrf",
                "missing or wrong CSRF token".into(),
                "页面已过期，请刷新后重试",
                None,
            ),
            ApiError::App(e) => match e {
                E::Unauthenticated => (
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    e.to_string(),
                    "请先登录",
                    None,
                ),
                E::BadCredentials => (
                    StatusCode::UNAUTHORIZED,
                    "bad_credentials",
                    e.to_string(),
                    "用户名或密码错误",
                    None,
                ),
                E::TooManyAttempts { .. } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_attempts",
                    e.to_string(),
                    "登录失败次数过多，请稍后再试",
                    None,
                ),
                E::Forbidden(_) => (
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    e.to_string(),
                    "当前角色无权执行此操作",
                    None,
                ),
                E::NotFound => (
                    StatusCode::NOT_FOUND,
                    "not_found",
                    e.to_string(),
                    "未找到",
                    None,
                ),
                E::Invalid(p) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_input",
                    p.to_string(),
                    "输入有误",
                    Some(p.field),
                ),
                E::Conflict(m) => (
                    StatusCode::CONFLICT,
                    "conflict",
                    m.clone(),
                    "与现有数据冲突",
                    None,
                ),
                E::IllegalTransition(m) => (
                    StatusCode::CONFLICT,
                    "illegal_transition",
                    m.clone(),
                    "订单当前状态不允许此操作",
                    None,
                ),
                E::InsufficientStock(m) => (
                    StatusCode::CONFLICT,
                    "insufficient_stock",
                    m.clone(),
                    "库存不足",
                    None,
                ),
                E::Internal(_) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error".into(),
                    "服务器内部错误，请稍后重试",
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
