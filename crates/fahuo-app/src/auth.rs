//! Logging in and out, console sessions, API tokens, and password hashing (Argon2id).
//!
//! Failed logins are counted in the database per username and per client address, so the
//! limit holds across every node; a locked username answers "too many attempts" without
//! checking the password at all.

use crate::{Actor, App, AppError, Result, Via};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::{DateTime, Duration, Utc};
use fahuo_domain::catalog::User;
use fahuo_domain::{ApiTokenId, ParseError, Permission, Role, Scope, Username};
use fahuo_store::accounts::ApiToken;
use fahuo_store::pii::{random_token, token_hash};

/// A password as typed, checked for length only (long passphrases welcome). `Debug` hides it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(input: &str) -> std::result::Result<Password, ParseError> {
        let n = input.chars().count();
        if n < 8 {
            return Err(ParseError::new("password", "at least 8 characters"));
        }
        if n > 256 {
            return Err(ParseError::new("password", "at most 256 characters"));
        }
        Ok(Password(input.to_string()))
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Hashes a password with Argon2id off the async threads (it takes tens of milliseconds on
/// purpose).
pub async fn hash_password(password: &Password) -> Result<String> {
    let pw = password.0.clone();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(pw.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(format!("password hashing: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
}

async fn verify_password(password: &str, hash: &str) -> bool {
    let (pw, hash) = (password.to_string(), hash.to_string());
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(pw.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password, verified against when the username does not exist so that
/// an unknown user takes as long as a wrong password.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// What a successful login hands to the browser.
#[derive(Debug, Clone)]
pub struct LoginSession {
    /// The session cookie's value. Only its hash is stored.
    pub token: String,
    pub csrf_token: String,
    pub user: User,
    pub expires_at: DateTime<Utc>,
}

/// A new API token: `secret` is shown once and never stored.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub token: ApiToken,
    pub secret: String,
}

/// The actor for a user: its role, and its scope unless it is an owner or an admin (who
/// always see every shop and warehouse).
fn actor_for(user: &User, scope: Scope, via: Via) -> Actor {
    let scope = match user.role {
        Role::Owner | Role::Admin => Scope::all(),
        _ => scope,
    };
    Actor {
        tenant_id: user.tenant_id,
        user_id: Some(user.id),
        name: user.username.to_string(),
        role: user.role,
        scope,
        via,
    }
}

impl App {
    /// Checks a username and password and opens a console session.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: &str,
    ) -> Result<LoginSession> {
        let now = self.now();
        let s = self.settings();
        let window = Duration::minutes(s.login_window_minutes);
        let store = self.store();
        let user_key = format!("user:{}", username.trim().to_lowercase());
        let client_key = format!("client:{client}");
        if store.login_failures(&user_key, now, window).await? >= s.login_max_failures
            || store.login_failures(&client_key, now, window).await? >= s.login_max_failures_per_ip
        {
            return Err(AppError::TooManyAttempts {
                retry_after_secs: window.num_seconds(),
            });
        }
        let found = match Username::parse(username) {
            Ok(name) => store.user_for_login(&name).await?,
            Err(_) => None,
        };
        let verified = match &found {
            Some((user, hash)) if !user.disabled => verify_password(password, hash).await,
            _ => {
                let dummy = match DUMMY_HASH.get() {
                    Some(h) => h.clone(),
                    None => {
                        let h = hash_password(&Password(random_token(16))).await?;
                        DUMMY_HASH.get_or_init(|| h).clone()
                    }
                };
                verify_password(password, &dummy).await;
                false
            }
        };
        let Some((user, _)) = found.filter(|_| verified) else {
            store.record_login_failure(&user_key, now, window).await?;
            store.record_login_failure(&client_key, now, window).await?;
            tracing::info!(client, "login failed");
            return Err(AppError::BadCredentials);
        };
        store.clear_login_failures(&user_key).await?;
        let token = random_token(32);
        let csrf_token = random_token(24);
        let expires_at = now + Duration::hours(s.session_hours);
        store
            .create_session(&token_hash(&token), &user, &csrf_token, now, expires_at)
            .await?;
        store.record_login(&user, now).await?;
        let actor = actor_for(&user, Scope::all(), Via::Session);
        let mut entry = actor.audit("auth.login", "user", now);
        entry.entity_id = Some(user.id.get());
        store.append_audit(&entry).await?;
        tracing::info!(
            user_id = user.id.get(),
            tenant_id = user.tenant_id.get(),
            "login"
        );
        Ok(LoginSession {
            token,
            csrf_token,
            user,
            expires_at,
        })
    }

    pub async fn logout(&self, session_token: &str) -> Result<()> {
        self.store()
            .delete_session(&token_hash(session_token))
            .await?;
        Ok(())
    }

    /// The actor behind a session cookie, and the session's CSRF token.
    pub async fn session_actor(&self, session_token: &str) -> Result<(Actor, String)> {
        let session = self
            .store()
            .session(&token_hash(session_token), self.now())
            .await?
            .ok_or(AppError::Unauthenticated)?;
        Ok((
            actor_for(&session.user, session.scope, Via::Session),
            session.csrf_token,
        ))
    }

    /// The actor behind an API token (`Authorization: Bearer fh_...`): one query.
    pub async fn token_actor(&self, secret: &str) -> Result<Actor> {
        let owner = self
            .store()
            .api_token(&token_hash(secret), self.now())
            .await?
            .ok_or(AppError::Unauthenticated)?;
        Ok(actor_for(
            &owner.user,
            owner.scope,
            Via::Token(owner.token.id),
        ))
    }

    /// Creates an API token acting as the asking user, for an ERP or a script.
    pub async fn create_api_token(&self, actor: &Actor, name: &str) -> Result<NewApiToken> {
        actor.require(Permission::ManageUsers)?;
        let name = fahuo_domain::Name::parse(name)?;
        let user_id = actor.user_id.ok_or(AppError::Conflict(
            "API tokens belong to a user; log in as one to create them".into(),
        ))?;
        let user = self.store().user(actor.tenant_id, user_id).await?;
        let secret = format!("fh_{}", random_token(24));
        let prefix: String = secret.chars().take(10).collect();
        let audit = actor.audit("api_token.create", "api_token", self.now());
        let token = self
            .store()
            .create_api_token(&user, name.as_str(), &token_hash(&secret), &prefix, &audit)
            .await?;
        Ok(NewApiToken { token, secret })
    }

    pub async fn api_tokens(&self, actor: &Actor) -> Result<Vec<ApiToken>> {
        actor.require(Permission::ManageUsers)?;
        Ok(self.store().api_tokens(actor.tenant_id).await?)
    }

    pub async fn revoke_api_token(&self, actor: &Actor, id: ApiTokenId) -> Result<()> {
        actor.require(Permission::ManageUsers)?;
        let mut audit = actor.audit("api_token.revoke", "api_token", self.now());
        audit.entity_id = Some(id.get());
        Ok(self
            .store()
            .revoke_api_token(actor.tenant_id, id, &audit)
            .await?)
    }
}
