//! Operations on whole databases: online SQLite backups, checking a backup file before it
//! replaces a database, and the schema versions this binary knows (for restores and upgrades).
//!
//! A backup is `VACUUM INTO`: SQLite writes a compact copy of one consistent snapshot (one read
//! transaction) while other connections go on writing, so `fahuo backup` needs no downtime.
//! PostgreSQL has pg_dump for this; fahuo does not wrap it.

use crate::{Db, Result, Store, StoreError};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::path::Path;

/// The SQLite migrations compiled into this binary.
pub static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
/// The PostgreSQL migrations compiled into this binary.
pub static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// What a checked backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    /// The newest migration applied to it.
    pub schema_version: i64,
    pub tenants: i64,
    pub orders: i64,
}

/// Why a file is not a backup this binary can restore.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path} is not a SQLite database ({why})")]
    NotSqlite { path: String, why: String },
    #[error("{path} is damaged: integrity_check says {report}")]
    Damaged { path: String, report: String },
    #[error("{path} is not a fahuo database (it has no migrations table)")]
    NotFahuo { path: String },
    #[error(
        "{path} has schema version {found}, newer than this fahuo knows ({known}): \
         restore it with the fahuo release that wrote it"
    )]
    Newer {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("{path} applied migration {version} differently from this fahuo (checksum differs)")]
    Foreign { path: String, version: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Writes a consistent copy of this SQLite database to `to` (which must not exist) while
    /// the database stays in use. PostgreSQL answers `Config`: use pg_dump.
    pub async fn backup_into(&self, to: &Path) -> Result<()> {
        match &self.db {
            Db::Sqlite(pool) => {
                sqlx::query("VACUUM INTO $1")
                    .bind(to.to_string_lossy().into_owned())
                    .execute(pool)
                    .await?;
                Ok(())
            }
            Db::Postgres(_) => Err(StoreError::Config(
                "online backup is for SQLite; back PostgreSQL up with pg_dump".into(),
            )),
        }
    }

    /// The newest migration applied to this database (0 for an empty one).
    pub async fn schema_version(&self) -> Result<i64> {
        let v: Option<i64> = crate::on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool).await?);
        Ok(v.unwrap_or(0))
    }

    /// Applies the embedded migrations up to and including `version` only: for upgrade tests,
    /// which need a database as an older release left it.
    pub async fn migrate_to(&self, version: i64) -> Result<()> {
        match &self.db {
            Db::Sqlite(pool) => SQLITE_MIGRATIONS.run_to(version, pool).await?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run_to(version, pool).await?,
        }
        Ok(())
    }
}

/// The newest migration this binary has for SQLite.
pub fn sqlite_head_version() -> i64 {
    SQLITE_MIGRATIONS
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

/// Checks that `path` is a whole fahuo SQLite database this binary can open: SQLite's
/// `integrity_check` passes, it has fahuo's migrations table, and every migration it applied is
/// one of ours with the same checksum (none newer). Opens the file read-only.
pub async fn check_sqlite_backup(path: &Path) -> Result<BackupInfo, BackupError> {
    let shown = path.display().to_string();
    let not_sqlite = |e: sqlx::Error| BackupError::NotSqlite {
        path: shown.clone(),
        why: e.to_string(),
    };
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .map_err(not_sqlite)?;
    let report: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .map_err(not_sqlite)?;
    if report != ["ok"] {
        return Err(BackupError::Damaged {
            path: shown,
            report: report.join("; "),
        });
    }
    let has_table: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(&mut conn)
    .await
    .map_err(StoreError::from)?;
    if has_table.is_none() {
        return Err(BackupError::NotFahuo { path: shown });
    }
    let applied: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations WHERE success")
            .fetch_all(&mut conn)
            .await
            .map_err(StoreError::from)?;
    let known = sqlite_head_version();
    let mut schema_version = 0;
    for (version, checksum) in applied {
        match SQLITE_MIGRATIONS.iter().find(|m| m.version == version) {
            None if version > known => {
                return Err(BackupError::Newer {
                    path: shown,
                    found: version,
                    known,
                });
            }
            Some(m) if *m.checksum == *checksum => {}
            _ => {
                return Err(BackupError::Foreign {
                    path: shown,
                    version,
                });
            }
        }
        schema_version = schema_version.max(version);
    }
    if schema_version == 0 {
        return Err(BackupError::NotFahuo { path: shown });
    }
    let count = |table: &'static str| {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
    };
    let tenants = count("tenants")
        .fetch_one(&mut conn)
        .await
        .map_err(StoreError::from)?;
    let orders = count("orders")
        .fetch_one(&mut conn)
        .await
        .map_err(StoreError::from)?;
    conn.close().await.map_err(StoreError::from)?;
    Ok(BackupInfo {
        schema_version,
        tenants,
        orders,
    })
}
