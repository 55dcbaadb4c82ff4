//! Tenants, users, console sessions, API tokens and the login throttle.
//!
//! Secrets are never stored in clear: sessions and API tokens are kept as SHA-256 hashes of
//! the bearer value ([`crate::pii::token_hash`]), passwords as Argon2id hashes made by the
//! application layer.

use crate::audit::insert_audit;
use crate::{Result, Store, StoreError, from_ms, in_tx, ms, on_db, opt_from_ms};
use chrono::{DateTime, Utc};
use fahuo_domain::audit::AuditEntry;
use fahuo_domain::catalog::{Tenant, User};
use fahuo_domain::{ApiTokenId, Name, Role, TenantId, UserId, Username};
use serde::Serialize;

#[derive(sqlx::FromRow)]
struct TenantRow {
    id: i64,
    name: String,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    tenant_id: i64,
    username: String,
    display_name: String,
    role: String,
    disabled: bool,
    created_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<User> {
        Ok(User {
            id: UserId(r.id),
            tenant_id: TenantId(r.tenant_id),
            username: Username::parse(&r.username)?,
            display_name: r.display_name,
            role: Role::parse(&r.role)?,
            disabled: r.disabled,
            created_at: from_ms(r.created_at),
        })
    }
}

const USER_COLUMNS: &str = "id, tenant_id, username, display_name, role, disabled, created_at";

/// A user to create; the password is already hashed by the caller.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub tenant_id: TenantId,
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
}

/// A console session as looked up by its cookie.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// An integration's API token (the secret itself is shown once, at creation, and never stored).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiToken {
    pub id: ApiTokenId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub name: String,
    /// The first characters of the token, to recognise it in lists.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct ApiTokenRow {
    id: i64,
    tenant_id: i64,
    user_id: i64,
    name: String,
    prefix: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<ApiTokenRow> for ApiToken {
    fn from(r: ApiTokenRow) -> Self {
        ApiToken {
            id: ApiTokenId(r.id),
            tenant_id: TenantId(r.tenant_id),
            user_id: UserId(r.user_id),
            name: r.name,
            prefix: r.prefix,
            created_at: from_ms(r.created_at),
            last_used_at: opt_from_ms(r.last_used_at),
            revoked_at: opt_from_ms(r.revoked_at),
        }
    }
}

const TOKEN_COLUMNS: &str =
    "id, tenant_id, user_id, name, prefix, created_at, last_used_at, revoked_at";

impl Store {
    pub async fn create_tenant(&self, name: &Name, now: DateTime<Utc>) -> Result<Tenant> {
        let id: i64 = on_db!(&self.db, pool => sqlx::query_scalar(
                "INSERT INTO tenants (name, created_at) VALUES ($1, $2) RETURNING id")
            .bind(name.as_str())
            .bind(ms(now))
            .fetch_one(pool)
            .await?);
        Ok(Tenant {
            id: TenantId(id),
            name: name.clone(),
            created_at: now,
        })
    }

    pub async fn tenant(&self, id: TenantId) -> Result<Tenant> {
        let row: TenantRow = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT id, name, created_at FROM tenants WHERE id = $1")
            .bind(id.get())
            .fetch_one(pool)
            .await?);
        Ok(Tenant {
            id: TenantId(row.id),
            name: Name::parse(&row.name)?,
            created_at: from_ms(row.created_at),
        })
    }

    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        let rows: Vec<TenantRow> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT id, name, created_at FROM tenants ORDER BY id")
            .fetch_all(pool)
            .await?);
        rows.into_iter()
            .map(|r| {
                Ok(Tenant {
                    id: TenantId(r.id),
                    name: Name::parse(&r.name)?,
                    created_at: from_ms(r.created_at),
                })
            })
            .collect()
    }

    /// Creates a user; a taken username is `Conflict`. The audit entry is written with it.
    pub async fn create_user(&self, new: &NewUser, audit: &AuditEntry) -> Result<User> {
        let now = audit.at;
        let id: i64 = in_tx!(&self.db, tx => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO users (tenant_id, username, display_name, role, password_hash, \
                 disabled, created_at) VALUES ($1, $2, $3, $4, $5, FALSE, $6) RETURNING id")
                .bind(new.tenant_id.get())
                .bind(new.username.as_str())
                .bind(&new.display_name)
                .bind(new.role.as_str())
                .bind(&new.password_hash)
                .bind(ms(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| match StoreError::from(e) {
                    StoreError::Conflict(_) => StoreError::Conflict(format!(
                        "username {} is taken", new.username)),
                    other => other,
                })?;
            let mut entry = audit.clone();
            entry.entity_id = Some(id);
            insert_audit!(&mut *tx, &entry);
            id
        });
        Ok(User {
            id: UserId(id),
            tenant_id: new.tenant_id,
            username: new.username.clone(),
            display_name: new.display_name.clone(),
            role: new.role,
            disabled: false,
            created_at: now,
        })
    }

    /// The user and password hash for a login attempt. Unscoped by design: the username is
    /// what identifies the tenant at login.
    pub async fn user_for_login(&self, username: &Username) -> Result<Option<(User, String)>> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = $1");
        let found: Option<UserRowWithHash> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(username.as_str())
            .fetch_optional(pool)
            .await?);
        found
            .map(|r| Ok((User::try_from(r.user)?, r.password_hash)))
            .transpose()
    }

    pub async fn user(&self, tenant: TenantId, id: UserId) -> Result<User> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2");
        let row: UserRow = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get())
            .bind(id.get())
            .fetch_one(pool)
            .await?);
        row.try_into()
    }

    pub async fn users(&self, tenant: TenantId) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY id");
        let rows: Vec<UserRow> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get())
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub async fn set_password_hash(
        &self,
        tenant: TenantId,
        id: UserId,
        hash: &str,
        audit: &AuditEntry,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(hash)
                .bind(tenant.get())
                .bind(id.get())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            insert_audit!(&mut *tx, audit);
        });
        Ok(())
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        user: &User,
        csrf_token: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        on_db!(&self.db, pool => sqlx::query(
                "INSERT INTO sessions (token_hash, tenant_id, user_id, csrf_token, created_at, \
                 expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $5)")
            .bind(token_hash)
            .bind(user.tenant_id.get())
            .bind(user.id.get())
            .bind(csrf_token)
            .bind(ms(now))
            .bind(ms(expires_at))
            .execute(pool)
            .await?.rows_affected());
        Ok(())
    }

    /// The live session for a cookie, with its (enabled) user; expired sessions are not found.
    pub async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        let sql = "SELECT u.id, u.tenant_id, u.username, u.display_name, u.role, u.disabled, \
             u.created_at, s.csrf_token, s.expires_at FROM sessions s \
             JOIN users u ON u.id = s.user_id AND u.tenant_id = s.tenant_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = FALSE";
        let row: Option<SessionRow> = on_db!(&self.db, pool => sqlx::query_as(sql)
            .bind(token_hash)
            .bind(ms(now))
            .fetch_optional(pool)
            .await?);
        row.map(|r| {
            Ok(Session {
                user: r.user.try_into()?,
                csrf_token: r.csrf_token,
                expires_at: from_ms(r.expires_at),
            })
        })
        .transpose()
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        on_db!(&self.db, pool => sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(pool)
            .await?.rows_affected());
        Ok(())
    }

    /// Removes expired sessions; returns how many.
    pub async fn purge_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        let done = on_db!(&self.db, pool => sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(ms(now))
            .execute(pool)
            .await?
            .rows_affected());
        Ok(done)
    }

    pub async fn create_api_token(
        &self,
        user: &User,
        name: &str,
        token_hash: &str,
        prefix: &str,
        audit: &AuditEntry,
    ) -> Result<ApiToken> {
        let now = audit.at;
        let id: i64 = in_tx!(&self.db, tx => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO api_tokens (tenant_id, user_id, name, token_hash, prefix, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
                .bind(user.tenant_id.get())
                .bind(user.id.get())
                .bind(name)
                .bind(token_hash)
                .bind(prefix)
                .bind(ms(now))
                .fetch_one(&mut *tx)
                .await?;
            let mut entry = audit.clone();
            entry.entity_id = Some(id);
            insert_audit!(&mut *tx, &entry);
            id
        });
        Ok(ApiToken {
            id: ApiTokenId(id),
            tenant_id: user.tenant_id,
            user_id: user.id,
            name: name.to_string(),
            prefix: prefix.to_string(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        })
    }

    /// The live token for a bearer hash, with the (enabled) user it acts as.
    pub async fn api_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(ApiToken, User)>> {
        let sql = "SELECT t.id AS t_id, t.tenant_id AS t_tenant_id, t.user_id AS t_user_id, \
             t.name AS t_name, t.prefix AS t_prefix, t.created_at AS t_created_at, \
             t.last_used_at AS t_last_used_at, t.revoked_at AS t_revoked_at, \
             u.id, u.tenant_id, u.username, u.display_name, u.role, u.disabled, u.created_at \
             FROM api_tokens t JOIN users u ON u.id = t.user_id AND u.tenant_id = t.tenant_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled = FALSE";
        let row: Option<TokenUserRow> = on_db!(&self.db, pool => sqlx::query_as(sql)
            .bind(token_hash)
            .fetch_optional(pool)
            .await?);
        let Some(row) = row else { return Ok(None) };
        // Remember when a token was last used, at most once a minute per token.
        if row.token.last_used_at.is_none_or(|t| ms(now) - t > 60_000) {
            on_db!(&self.db, pool => sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(ms(now))
                .bind(row.token.id)
                .execute(pool)
                .await?.rows_affected());
        }
        Ok(Some((row.token.into(), row.user.try_into()?)))
    }

    pub async fn api_tokens(&self, tenant: TenantId) -> Result<Vec<ApiToken>> {
        let sql =
            format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE tenant_id = $1 ORDER BY id");
        let rows: Vec<ApiTokenRow> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get())
            .fetch_all(pool)
            .await?);
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn revoke_api_token(
        &self,
        tenant: TenantId,
        id: ApiTokenId,
        audit: &AuditEntry,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let done = sqlx::query(
                "UPDATE api_tokens SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 AND revoked_at IS NULL")
                .bind(ms(audit.at))
                .bind(tenant.get())
                .bind(id.get())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            insert_audit!(&mut *tx, audit);
        });
        Ok(())
    }

    /// Failed logins for `key` in the window that is still open at `now`.
    pub async fn login_failures(
        &self,
        key: &str,
        now: DateTime<Utc>,
        window: chrono::Duration,
    ) -> Result<i64> {
        let row: Option<(i64, i64)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT failures, window_started_at FROM login_throttle WHERE throttle_key = $1")
            .bind(key)
            .fetch_optional(pool)
            .await?);
        Ok(match row {
            Some((failures, started)) if ms(now) - started < window.num_milliseconds() => failures,
            _ => 0,
        })
    }

    /// Counts one failed login for `key`, starting a new window if the last one closed.
    pub async fn record_login_failure(
        &self,
        key: &str,
        now: DateTime<Utc>,
        window: chrono::Duration,
    ) -> Result<i64> {
        let window_start = ms(now) - window.num_milliseconds();
        let failures: i64 = in_tx!(&self.db, tx => sqlx::query_scalar(
                "INSERT INTO login_throttle (throttle_key, failures, window_started_at) VALUES ($1, 1, $2) \
                 ON CONFLICT (throttle_key) DO UPDATE SET \
                 failures = CASE WHEN login_throttle.window_started_at <= $3 THEN 1 ELSE login_throttle.failures + 1 END, \
                 window_started_at = CASE WHEN login_throttle.window_started_at <= $3 THEN $2 ELSE login_throttle.window_started_at END \
                 RETURNING failures")
            .bind(key)
            .bind(ms(now))
            .bind(window_start)
            .fetch_one(&mut *tx)
            .await?);
        Ok(failures)
    }

    pub async fn clear_login_failures(&self, key: &str) -> Result<()> {
        on_db!(&self.db, pool => sqlx::query("DELETE FROM login_throttle WHERE throttle_key = $1")
            .bind(key)
            .execute(pool)
            .await?.rows_affected());
        Ok(())
    }
}

#[derive(sqlx::FromRow)]
struct UserRowWithHash {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    user: UserRow,
    csrf_token: String,
    expires_at: i64,
}

#[derive(sqlx::FromRow)]
struct TokenUserRow {
    #[sqlx(flatten)]
    user: UserRow,
    #[sqlx(flatten)]
    token: PrefixedTokenRow,
}

#[derive(sqlx::FromRow)]
struct PrefixedTokenRow {
    #[sqlx(rename = "t_id")]
    id: i64,
    #[sqlx(rename = "t_tenant_id")]
    tenant_id: i64,
    #[sqlx(rename = "t_user_id")]
    user_id: i64,
    #[sqlx(rename = "t_name")]
    name: String,
    #[sqlx(rename = "t_prefix")]
    prefix: String,
    #[sqlx(rename = "t_created_at")]
    created_at: i64,
    #[sqlx(rename = "t_last_used_at")]
    last_used_at: Option<i64>,
    #[sqlx(rename = "t_revoked_at")]
    revoked_at: Option<i64>,
}

impl From<PrefixedTokenRow> for ApiToken {
    fn from(r: PrefixedTokenRow) -> Self {
        ApiTokenRow {
            id: r.id,
            tenant_id: r.tenant_id,
            user_id: r.user_id,
            name: r.name,
            prefix: r.prefix,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
        .into()
    }
}
