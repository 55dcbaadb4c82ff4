//! The one error type of the storage layer. Database facts are translated here, at the edge:
//! callers see `NotFound`, `Conflict` or `InsufficientStock`, never a raw sqlx error to match on.

use fahuo_domain::ParseError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was hit (duplicate username, SKU code, ...). The text names it.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The row changed since it was read (optimistic concurrency); re-read and retry.
    #[error("the {0} was changed by someone else; reload and try again")]
    Stale(&'static str),
    /// The order state machine refused the event.
    #[error(transparent)]
    Illegal(#[from] fahuo_domain::order_state::IllegalTransition),
    #[error("not enough stock: {0}")]
    InsufficientStock(String),
    /// A stored value no longer parses into its domain type.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("encryption: {0}")]
    Crypto(String),
    #[error("configuration: {0}")]
    Config(String),
    /// A value the database cannot hold as given: PostgreSQL refuses NUL characters in text
    /// (SQLite stores them). The caller's input is at fault, not the database.
    #[error("the database cannot store this text: {0}")]
    Unstorable(String),
    #[error("database: {0}")]
    Database(sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.constraint().unwrap_or("unique").to_string())
            }
            // 22021 character_not_in_repertoire (NUL in UTF-8 text), 22P05 untranslatable_character.
            sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("22021" | "22P05")) =>
            {
                StoreError::Unstorable(db.message().to_string())
            }
            _ => StoreError::Database(e),
        }
    }
}

impl From<ParseError> for StoreError {
    fn from(e: ParseError) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

impl StoreError {
    /// Errors worth retrying as they are (lock contention, lost connections).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database(e) => {
                matches!(
                    e,
                    sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed
                ) || matches!(e, sqlx::Error::Database(db) if db.message().contains("locked"))
            }
            StoreError::Stale(_) => true,
            _ => false,
        }
    }
}
