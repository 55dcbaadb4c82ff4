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
use fahuo_domain::{
    ApiTokenId, Name, Role, Scope, ShopId, TenantId, UserId, Username, WarehouseId,
};
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
    /// The user's shops and warehouses.
    pub scope: Scope,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// A live API token as looked up by its hash: the token, its user and the user's scope.
#[derive(Debug, Clone)]
pub struct TokenOwner {
    pub token: ApiToken,
    pub user: User,
    pub scope: Scope,
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
        self.create_scoped_user(new, &Scope::all(), audit).await
    }

    /// Creates a user limited to `scope`; a taken username is `Conflict`.
    pub async fn create_scoped_user(
        &self,
        new: &NewUser,
        scope: &Scope,
        audit: &AuditEntry,
    ) -> Result<User> {
        let now = audit.at;
        let (shops, warehouses) = scope_columns(scope);
        let id: i64 = in_tx!(&self.db, tx => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO users (tenant_id, username, display_name, role, password_hash, \
                 disabled, created_at, scope_shops, scope_warehouses) \
                 VALUES ($1, $2, $3, $4, $5, FALSE, $6, $7, $8) RETURNING id")
                .bind(new.tenant_id.get())
                .bind(new.username.as_str())
                .bind(&new.display_name)
                .bind(new.role.as_str())
                .bind(&new.password_hash)
                .bind(ms(now))
                .bind(&shops)
                .bind(&warehouses)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| username_taken(e, &new.username))?;
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
             u.created_at, u.scope_shops, u.scope_warehouses, s.csrf_token, s.expires_at \
             FROM sessions s \
             JOIN users u ON u.id = s.user_id AND u.tenant_id = s.tenant_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = FALSE";
        let row: Option<SessionRow> = on_db!(&self.db, pool => sqlx::query_as(sql)
            .bind(token_hash)
            .bind(ms(now))
            .fetch_optional(pool)
            .await?);
        row.map(|r| {
            Ok(Session {
                scope: scope_from(r.scope_shops.as_deref(), r.scope_warehouses.as_deref())?,
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
    /// The live token with this hash, with its user and the user's scope, in one query (it
    /// runs on every API request): a revoked token or a disabled user finds nothing.
    pub async fn api_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<TokenOwner>> {
        let sql = "SELECT t.id AS t_id, t.tenant_id AS t_tenant_id, t.user_id AS t_user_id, \
             t.name AS t_name, t.prefix AS t_prefix, t.created_at AS t_created_at, \
             t.last_used_at AS t_last_used_at, t.revoked_at AS t_revoked_at, \
             u.id, u.tenant_id, u.username, u.display_name, u.role, u.disabled, u.created_at, \
             u.scope_shops, u.scope_warehouses \
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
        Ok(Some(TokenOwner {
            scope: scope_from(row.scope_shops.as_deref(), row.scope_warehouses.as_deref())?,
            token: row.token.into(),
            user: row.user.try_into()?,
        }))
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
    scope_shops: Option<String>,
    scope_warehouses: Option<String>,
    csrf_token: String,
    expires_at: i64,
}

#[derive(sqlx::FromRow)]
struct TokenUserRow {
    #[sqlx(flatten)]
    user: UserRow,
    scope_shops: Option<String>,
    scope_warehouses: Option<String>,
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

// ---- Sub-accounts: scopes, changes, last login, invitations ----

/// A scope as its two columns: JSON arrays of ids, `NULL` for "all".
fn scope_columns(scope: &Scope) -> (Option<String>, Option<String>) {
    let shops = scope
        .shops
        .as_ref()
        .map(|ids| serde_json::to_string(&ids.iter().map(|i| i.get()).collect::<Vec<_>>()));
    let warehouses = scope
        .warehouses
        .as_ref()
        .map(|ids| serde_json::to_string(&ids.iter().map(|i| i.get()).collect::<Vec<_>>()));
    (
        shops.transpose().unwrap_or_default(),
        warehouses.transpose().unwrap_or_default(),
    )
}

fn scope_from(shops: Option<&str>, warehouses: Option<&str>) -> Result<Scope> {
    let ids = |s: Option<&str>| -> Result<Option<Vec<i64>>> {
        s.map(|s| {
            serde_json::from_str::<Vec<i64>>(s)
                .map_err(|e| StoreError::Corrupt(format!("user scope: {e}")))
        })
        .transpose()
    };
    Ok(Scope {
        shops: ids(shops)?.map(|v| v.into_iter().map(ShopId).collect()),
        warehouses: ids(warehouses)?.map(|v| v.into_iter().map(WarehouseId).collect()),
    })
}

fn username_taken(e: sqlx::Error, username: &Username) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict(format!("username {username} is taken")),
        other => other,
    }
}

/// A staff account as the accounts page shows it: the user, its scope and its last login.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserAccount {
    #[serde(flatten)]
    pub user: User,
    pub scope: Scope,
    pub last_login_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    #[sqlx(flatten)]
    user: UserRow,
    scope_shops: Option<String>,
    scope_warehouses: Option<String>,
    last_login_at: Option<i64>,
}

impl TryFrom<AccountRow> for UserAccount {
    type Error = StoreError;
    fn try_from(r: AccountRow) -> Result<UserAccount> {
        Ok(UserAccount {
            scope: scope_from(r.scope_shops.as_deref(), r.scope_warehouses.as_deref())?,
            last_login_at: opt_from_ms(r.last_login_at),
            user: r.user.try_into()?,
        })
    }
}

const ACCOUNT_COLUMNS: &str = "id, tenant_id, username, display_name, role, disabled, created_at, \
    scope_shops, scope_warehouses, last_login_at";

/// The new state of a user after a change (every field is the value to store).
#[derive(Debug, Clone)]
pub struct UserUpdate {
    pub display_name: String,
    pub role: Role,
    pub scope: Scope,
    pub disabled: bool,
}

/// An invitation (邀请) to create an account with a role and a scope, through a one-time link.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invite {
    pub id: i64,
    pub tenant_id: TenantId,
    pub role: Role,
    pub scope: Scope,
    pub note: String,
    /// Who created it.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub used_by: Option<UserId>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct InviteRow {
    id: i64,
    tenant_id: i64,
    role: String,
    scope_shops: Option<String>,
    scope_warehouses: Option<String>,
    note: String,
    created_by: String,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
    used_by: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<InviteRow> for Invite {
    type Error = StoreError;
    fn try_from(r: InviteRow) -> Result<Invite> {
        Ok(Invite {
            id: r.id,
            tenant_id: TenantId(r.tenant_id),
            role: Role::parse(&r.role)?,
            scope: scope_from(r.scope_shops.as_deref(), r.scope_warehouses.as_deref())?,
            note: r.note,
            created_by: r.created_by,
            created_at: from_ms(r.created_at),
            expires_at: from_ms(r.expires_at),
            used_at: opt_from_ms(r.used_at),
            used_by: r.used_by.map(UserId),
            revoked_at: opt_from_ms(r.revoked_at),
        })
    }
}

const INVITE_COLUMNS: &str = "id, tenant_id, role, scope_shops, scope_warehouses, note, \
    created_by, created_at, expires_at, used_at, used_by, revoked_at";

/// An invitation to store; the token is already hashed by the caller.
#[derive(Debug, Clone)]
pub struct NewInvite {
    pub tenant_id: TenantId,
    pub token_hash: String,
    pub role: Role,
    pub scope: Scope,
    pub note: String,
    pub created_by: String,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// The tenant's users with their scopes and last logins, oldest account first.
    pub async fn user_accounts(&self, tenant: TenantId) -> Result<Vec<UserAccount>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY id");
        let rows: Vec<AccountRow> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get())
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// One of the tenant's users with its scope; another tenant's id is `NotFound`.
    pub async fn user_account(&self, tenant: TenantId, id: UserId) -> Result<UserAccount> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2");
        let row: AccountRow = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get())
            .bind(id.get())
            .fetch_one(pool)
            .await?);
        row.try_into()
    }

    /// Remembers a successful login.
    pub async fn record_login(&self, user: &User, now: DateTime<Utc>) -> Result<()> {
        on_db!(&self.db, pool => sqlx::query(
                "UPDATE users SET last_login_at = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(ms(now))
            .bind(user.tenant_id.get())
            .bind(user.id.get())
            .execute(pool)
            .await?.rows_affected());
        Ok(())
    }

    /// Changes a user's name, role, scope or status, with its audit entry. Disabling ends the
    /// user's sessions and revokes its API tokens in the same transaction.
    pub async fn update_user(
        &self,
        tenant: TenantId,
        id: UserId,
        update: &UserUpdate,
        audit: &AuditEntry,
    ) -> Result<UserAccount> {
        let (shops, warehouses) = scope_columns(&update.scope);
        in_tx!(&self.db, tx => {
            let done = sqlx::query(
                "UPDATE users SET display_name = $1, role = $2, scope_shops = $3, \
                 scope_warehouses = $4, disabled = $5 WHERE tenant_id = $6 AND id = $7")
                .bind(&update.display_name)
                .bind(update.role.as_str())
                .bind(&shops)
                .bind(&warehouses)
                .bind(update.disabled)
                .bind(tenant.get())
                .bind(id.get())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            if update.disabled {
                sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2")
                    .bind(tenant.get())
                    .bind(id.get())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $1 \
                     WHERE tenant_id = $2 AND user_id = $3 AND revoked_at IS NULL")
                    .bind(ms(audit.at))
                    .bind(tenant.get())
                    .bind(id.get())
                    .execute(&mut *tx)
                    .await?;
            }
            insert_audit!(&mut *tx, audit);
        });
        self.user_account(tenant, id).await
    }

    pub async fn create_invite(&self, new: &NewInvite, audit: &AuditEntry) -> Result<Invite> {
        let now = audit.at;
        let (shops, warehouses) = scope_columns(&new.scope);
        let id: i64 = in_tx!(&self.db, tx => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO invites (tenant_id, token_hash, role, scope_shops, scope_warehouses, \
                 note, created_by, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id")
                .bind(new.tenant_id.get())
                .bind(&new.token_hash)
                .bind(new.role.as_str())
                .bind(&shops)
                .bind(&warehouses)
                .bind(&new.note)
                .bind(&new.created_by)
                .bind(ms(now))
                .bind(ms(new.expires_at))
                .fetch_one(&mut *tx)
                .await?;
            let mut entry = audit.clone();
            entry.entity_id = Some(id);
            insert_audit!(&mut *tx, &entry);
            id
        });
        Ok(Invite {
            id,
            tenant_id: new.tenant_id,
            role: new.role,
            scope: new.scope.clone(),
            note: new.note.clone(),
            created_by: new.created_by.clone(),
            created_at: now,
            expires_at: new.expires_at,
            used_at: None,
            used_by: None,
            revoked_at: None,
        })
    }

    /// The tenant's invitations still open at `now` (neither used, revoked nor expired).
    pub async fn pending_invites(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Invite>> {
        let sql = format!(
            "SELECT {INVITE_COLUMNS} FROM invites WHERE tenant_id = $1 AND used_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $2 ORDER BY id DESC"
        );
        let rows: Vec<InviteRow> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get())
            .bind(ms(now))
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// The invitation behind a link, in whatever state it is. Unscoped by design: the link's
    /// token is what identifies the tenant.
    pub async fn invite_by_token(&self, token_hash: &str) -> Result<Option<Invite>> {
        let sql = format!("SELECT {INVITE_COLUMNS} FROM invites WHERE token_hash = $1");
        let row: Option<InviteRow> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .fetch_optional(pool)
            .await?);
        row.map(TryInto::try_into).transpose()
    }

    /// Revokes an open invitation; a used, revoked or unknown one (or another tenant's) is
    /// `NotFound`.
    pub async fn revoke_invite(&self, tenant: TenantId, id: i64, audit: &AuditEntry) -> Result<()> {
        in_tx!(&self.db, tx => {
            let done = sqlx::query(
                "UPDATE invites SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 \
                 AND used_at IS NULL AND revoked_at IS NULL")
                .bind(ms(audit.at))
                .bind(tenant.get())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            insert_audit!(&mut *tx, audit);
        });
        Ok(())
    }

    /// Creates the invitee's account with the invitation's role and scope and uses the
    /// invitation up, in one transaction: of two people opening the same link, one gets the
    /// account and the other `Conflict`.
    pub async fn accept_invite(
        &self,
        invite: &Invite,
        new: &NewUser,
        audit: &AuditEntry,
    ) -> Result<User> {
        let now = audit.at;
        let (shops, warehouses) = scope_columns(&invite.scope);
        let id: i64 = in_tx!(&self.db, tx => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO users (tenant_id, username, display_name, role, password_hash, \
                 disabled, created_at, scope_shops, scope_warehouses) \
                 VALUES ($1, $2, $3, $4, $5, FALSE, $6, $7, $8) RETURNING id")
                .bind(invite.tenant_id.get())
                .bind(new.username.as_str())
                .bind(&new.display_name)
                .bind(invite.role.as_str())
                .bind(&new.password_hash)
                .bind(ms(now))
                .bind(&shops)
                .bind(&warehouses)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| username_taken(e, &new.username))?;
            let done = sqlx::query(
                "UPDATE invites SET used_at = $1, used_by = $2 WHERE id = $3 AND tenant_id = $4 \
                 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1")
                .bind(ms(now))
                .bind(id)
                .bind(invite.id)
                .bind(invite.tenant_id.get())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Conflict("this invitation can no longer be used".into()));
            }
            let mut entry = audit.clone();
            entry.entity_id = Some(id);
            insert_audit!(&mut *tx, &entry);
            id
        });
        Ok(User {
            id: UserId(id),
            tenant_id: invite.tenant_id,
            username: new.username.clone(),
            display_name: new.display_name.clone(),
            role: invite.role,
            disabled: false,
            created_at: now,
        })
    }
}
