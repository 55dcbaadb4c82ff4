//! Users, API tokens, the audit log and the job queue's dead letter.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fahuo_app::auth::Password;
use fahuo_app::users::UserInput;
use fahuo_domain::catalog::User;
use fahuo_domain::{ApiTokenId, JobId, Role, Username};
use fahuo_store::Page;
use fahuo_store::accounts::ApiToken;
use fahuo_store::audit::{AuditFilter, AuditRecord};
use fahuo_store::jobs::Job;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[utoipa::path(get, path = "/users", tag = "admin", responses((status = 200, body = Vec<User>), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<User>>, ApiError> {
    Ok(Json(s.app.users(&actor).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UserRequest {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    /// `owner`, `admin`, `service`, `warehouse`, `logistics`, `finance` or `viewer`.
    pub role: String,
    pub password: String,
}

/// Adds a staff account (子账号) to the tenant.
#[utoipa::path(post, path = "/users", tag = "admin", request_body = UserRequest,
    responses((status = 201, body = User), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<UserRequest>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let input = UserInput {
        username: Username::parse(&req.username).map_err(fahuo_app::AppError::from)?,
        display_name: req.display_name,
        role: Role::parse(&req.role).map_err(fahuo_app::AppError::from)?,
        password: Password::parse(&req.password).map_err(fahuo_app::AppError::from)?,
    };
    Ok((
        StatusCode::CREATED,
        Json(s.app.add_user(&actor, input).await?),
    ))
}

#[utoipa::path(get, path = "/tokens", tag = "admin", responses((status = 200, body = Vec<ApiToken>)))]
pub async fn list_tokens(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    Ok(Json(s.app.api_tokens(&actor).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// What the token is for, e.g. "ERP 对接".
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub token: ApiToken,
    /// Shown once: send as `Authorization: Bearer <secret>`.
    pub secret: String,
}

/// Creates an API token acting as the calling user.
#[utoipa::path(post, path = "/tokens", tag = "admin", request_body = TokenRequest,
    responses((status = 201, body = CreatedToken), (status = 403, body = ErrorBody)))]
pub async fn create_token(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let created = s.app.create_api_token(&actor, &req.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: created.token,
            secret: created.secret,
        }),
    ))
}

#[utoipa::path(delete, path = "/tokens/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    s.app.revoke_api_token(&actor, ApiTokenId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditQuery {
    /// e.g. `order`, `user`, `shop`.
    pub entity_type: Option<String>,
    pub entity_id: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

/// The audit log (审计日志), newest first.
#[utoipa::path(get, path = "/audit", tag = "admin", params(AuditQuery), responses((status = 200, body = Page<AuditRecord>)))]
pub async fn audit_log(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Page<AuditRecord>>, ApiError> {
    let filter = AuditFilter {
        entity_type: q.entity_type,
        entity_id: q.entity_id,
        before_id: q.before,
        limit: q.limit.unwrap_or(50),
    };
    Ok(Json(s.app.audit_log(&actor, &filter).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct JobQuery {
    /// `queued`, `running`, `done` or `dead` (default: `dead`, the dead letter).
    pub state: Option<String>,
    pub after: Option<i64>,
    pub limit: Option<i64>,
}

/// The tenant's background jobs, by default the dead letter with each job's last error.
#[utoipa::path(get, path = "/jobs", tag = "admin", params(JobQuery), responses((status = 200, body = Page<Job>), (status = 422, body = ErrorBody)))]
pub async fn list_jobs(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<JobQuery>,
) -> Result<Json<Page<Job>>, ApiError> {
    Ok(Json(
        s.app
            .jobs(
                &actor,
                q.state.as_deref().unwrap_or("dead"),
                q.after,
                q.limit.unwrap_or(50),
            )
            .await?,
    ))
}

/// Puts a dead job back in the queue.
#[utoipa::path(post, path = "/jobs/{id}/retry", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn retry_job(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    s.app.retry_job(&actor, JobId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
