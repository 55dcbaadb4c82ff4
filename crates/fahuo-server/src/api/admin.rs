//! Users, API tokens, the audit log and the job queue's dead letter.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use fahuo_app::AppError;
use fahuo_app::auth::Password;
use fahuo_app::users::{UserChange, UserInput};
use fahuo_domain::catalog::User;
use fahuo_domain::{ApiTokenId, JobId, Role, Scope, UserId, Username};
use fahuo_store::Page;
use fahuo_store::accounts::{ApiToken, Invite, UserAccount};
use fahuo_store::audit::{AuditFilter, AuditRecord};
use fahuo_store::jobs::Job;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The tenant's staff (子账号) with their roles, scopes, status and last login.
#[utoipa::path(get, path = "/users", tag = "admin", responses((status = 200, body = Vec<UserAccount>), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<UserAccount>>, ApiError> {
    Ok(Json(s.app.user_accounts(&actor).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UserRequest {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    /// `owner`, `admin`, `service`, `warehouse`, `logistics`, `finance` or `viewer`.
    pub role: String,
    pub password: String,
    /// The shops and warehouses the account works on (`null` lists, or no scope, mean all).
    /// Owners and admins always have all. Only the owner may create admins.
    #[serde(default)]
    pub scope: Option<Scope>,
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
    let scope = req.scope.unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(s.app.add_scoped_user(&actor, input, scope).await?),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UserPatch {
    pub display_name: Option<String>,
    /// A new role. Only the owner gives or takes the admin role; the owner's own role never
    /// changes; nobody raises their own role.
    pub role: Option<String>,
    /// A new scope (`null` lists mean all).
    pub scope: Option<Scope>,
    /// `true` disables the account and ends its sessions and API tokens at once; the owner
    /// cannot be disabled.
    pub disabled: Option<bool>,
}

/// Changes a staff account's display name, role, scope or status.
#[utoipa::path(patch, path = "/users/{id}", tag = "admin", params(("id" = i64, Path)), request_body = UserPatch,
    responses((status = 200, body = UserAccount), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_user(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<UserPatch>,
) -> Result<Json<UserAccount>, ApiError> {
    let change = UserChange {
        display_name: req.display_name,
        role: req
            .role
            .as_deref()
            .map(Role::parse)
            .transpose()
            .map_err(AppError::from)?,
        scope: req.scope,
        disabled: req.disabled,
    };
    Ok(Json(s.app.update_user(&actor, UserId(id), change).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InviteRequest {
    /// The role the new account gets (not `owner`; `admin` only from the owner).
    pub role: String,
    /// The shops and warehouses it works on (`null` lists, or no scope, mean all).
    #[serde(default)]
    pub scope: Option<Scope>,
    /// For whom, e.g. "仓库小王".
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedInvite {
    pub invite: Invite,
    /// Shown once: the invitee opens this path on the console to create the account.
    pub path: String,
}

/// Invites a sub-account: a one-time link, valid for 7 days, that creates an account with
/// the given role and scope.
#[utoipa::path(post, path = "/invites", tag = "admin", request_body = InviteRequest,
    responses((status = 201, body = CreatedInvite), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_invite(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<InviteRequest>,
) -> Result<(StatusCode, Json<CreatedInvite>), ApiError> {
    let role = Role::parse(&req.role).map_err(AppError::from)?;
    let created = s
        .app
        .create_invite(&actor, role, req.scope.unwrap_or_default(), &req.note)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedInvite {
            invite: created.invite,
            path: format!("/invite/{}", created.token),
        }),
    ))
}

/// The invitations not yet used, revoked or expired.
#[utoipa::path(get, path = "/invites", tag = "admin", responses((status = 200, body = Vec<Invite>), (status = 403, body = ErrorBody)))]
pub async fn list_invites(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<Invite>>, ApiError> {
    Ok(Json(s.app.pending_invites(&actor).await?))
}

/// Revokes an invitation: its link stops working.
#[utoipa::path(delete, path = "/invites/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_invite(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    s.app.revoke_invite(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
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
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// e.g. `order`, `user`, `shop`.
    pub entity_type: Option<String>,
    pub entity_id: Option<i64>,
    /// Entries by this user (in person, not through an API token).
    pub user_id: Option<i64>,
    /// An action (`order.approve`) or a family of them (`order`).
    pub action: Option<String>,
    /// Entries at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Entries before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// The `next_cursor` of the previous page.
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

/// The audit log (审计日志), newest first.
#[utoipa::path(get, path = "/audit", tag = "admin", params(AuditQuery), responses((status = 200, body = Page<AuditRecord>), (status = 403, body = ErrorBody)))]
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
        user_id: q.user_id,
        action: q.action.filter(|a| !a.trim().is_empty()),
        from: q.from,
        until: q.until,
    };
    Ok(Json(s.app.audit_log(&actor, &filter).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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
