//! The one error type of the application layer. The HTTP layer maps it to status codes and
//! stable machine codes in one place; the CLI prints it.

use fahuo_domain::{ParseError, Permission};
use fahuo_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Not logged in, bad credentials, unknown or revoked token.
    #[error("authentication required")]
    Unauthenticated,
    #[error("wrong username or password")]
    BadCredentials,
    #[error("too many failed logins; try again in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: i64 },
    #[error("your role may not {0:?}")]
    Forbidden(Permission),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Invalid(#[from] ParseError),
    /// A whole file could not be imported (empty, unreadable, too large, columns missing).
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    IllegalTransition(String),
    #[error("{0}")]
    InsufficientStock(String),
    /// A platform or carrier failed in a way that may pass (5xx, timeout, rate limit).
    #[error("platform unavailable: {0}")]
    Upstream(String),
    /// A platform refused the shop's authorisation: the merchant must re-authorise the shop.
    #[error("platform refused the shop's authorisation: {0}")]
    UpstreamAuth(String),
    /// A platform refused the request itself (invalid argument, business rule, quota).
    #[error("platform refused the request: {0}")]
    UpstreamRefused(String),
    /// Anything else: logged in full, shown to users as a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::Stale(what) => AppError::Conflict(format!(
                "the {what} was changed by someone else; reload and try again"
            )),
            StoreError::Illegal(t) => AppError::IllegalTransition(t.to_string()),
            StoreError::InsufficientStock(m) => AppError::InsufficientStock(m),
            StoreError::Unstorable(_) => AppError::Invalid(ParseError::new(
                "text",
                "text must not contain NUL characters",
            )),
            other => AppError::Internal(other.to_string()),
        }
    }
}
