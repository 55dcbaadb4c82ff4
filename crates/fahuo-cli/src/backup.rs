//! `fahuo backup` and `fahuo restore` for SQLite, and the database lock that lets a restore
//! know the database is not in use. PostgreSQL is backed up with pg_dump; [`postgres_advice`]
//! prints the commands.
//!
//! Every fahuo process that opens a SQLite database holds a shared lock on `<db>.lock` for as
//! long as it runs; a restore takes the exclusive lock without waiting, so it refuses to swap
//! the file under a running `fahuo serve` (which would keep writing to the replaced file).

use anyhow::{Context, Result, bail};
use fahuo_store::Store;
use fahuo_store::backup::{BackupInfo, check_sqlite_backup};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The file path of a `sqlite://PATH[?options]` URL; `None` for other databases.
pub fn sqlite_path(database_url: &str) -> Option<PathBuf> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    Some(PathBuf::from(path))
}

fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn open_lock(db: &Path) -> Result<File> {
    let path = lock_path(db);
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))
}

/// The result of a lock attempt as an error that says why (`busy` when someone else holds it).
fn take_lock(attempt: Result<(), std::fs::TryLockError>, db: &Path, busy: &str) -> Result<()> {
    match attempt {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => bail!("{} {busy}", db.display()),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", db.display()))
        }
    }
}

/// Holds a shared lock on the SQLite database at `database_url` until the process exits
/// (nothing for PostgreSQL). Every command that opens the database calls this first.
pub fn hold_shared_lock(database_url: &str) -> Result<()> {
    static HELD: OnceLock<File> = OnceLock::new();
    let Some(db) = sqlite_path(database_url) else {
        return Ok(());
    };
    if HELD.get().is_some() {
        return Ok(());
    }
    let file = open_lock(&db)?;
    take_lock(
        file.try_lock_shared(),
        &db,
        "is being restored; try again when `fahuo restore` has finished",
    )?;
    let _ = HELD.set(file);
    Ok(())
}

/// What PostgreSQL users run instead (the URL is shown without its password).
pub fn postgres_advice(shown_url: &str, file: &Path) -> String {
    let file = file.display();
    format!(
        "fahuo backup and restore are for SQLite. Use PostgreSQL's own tools:\n\
         \n  backup (consistent while fahuo runs):\n    \
         pg_dump --format=custom --no-owner --file={file} '{shown_url}'\n\
         \n  restore (stop every fahuo node first; into an empty database of the same or an \
         older fahuo release, then start fahuo to run newer migrations):\n    \
         pg_restore --clean --if-exists --no-owner --exit-on-error --dbname='{shown_url}' {file}\n\
         \nKeep the PII key file (pii.key) with the backup: receivers are encrypted with it."
    )
}

/// Writes a consistent copy of the running SQLite database to `to`, checks it, and returns
/// what it holds. The copy is written under a temporary name first, so `to` only ever names
/// a complete, checked backup.
pub async fn backup(store: &Store, to: &Path) -> Result<BackupInfo> {
    if to.exists() {
        bail!("{} exists already; choose a new file name", to.display());
    }
    let partial = with_suffix(to, ".partial");
    let _ = std::fs::remove_file(&partial);
    store
        .backup_into(&partial)
        .await
        .with_context(|| format!("cannot write the backup to {}", partial.display()))?;
    let info = match check_sqlite_backup(&partial).await {
        Ok(info) => info,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e.into());
        }
    };
    std::fs::rename(&partial, to)
        .with_context(|| format!("cannot rename the backup to {}", to.display()))?;
    Ok(info)
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    pub info: BackupInfo,
    /// Where the database that was replaced now is (`None` if there was none).
    pub previous: Option<PathBuf>,
}

/// Replaces the SQLite database at `db` with the backup `from`: refuses while any fahuo
/// process has the database open, and refuses a file that is damaged, not fahuo's, or from a
/// newer release, leaving the database untouched. The replaced database is kept beside it
/// (`<db>.before-restore-<time>`, with its WAL) until the operator deletes it.
pub async fn restore(
    from: &Path,
    db: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Restored> {
    if !from.is_file() {
        bail!("{} is not a file", from.display());
    }
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let lock = open_lock(db)?;
    take_lock(
        lock.try_lock(),
        db,
        "is in use by a running fahuo (serve, demo or another command); stop it first",
    )?;
    // Check the copy that will be installed, not only the source.
    let incoming = with_suffix(db, ".restoring");
    std::fs::copy(from, &incoming)
        .with_context(|| format!("cannot copy {} to {}", from.display(), incoming.display()))?;
    let info = match check_sqlite_backup(&incoming).await {
        Ok(info) => info,
        Err(e) => {
            let _ = std::fs::remove_file(&incoming);
            return Err(anyhow::Error::new(e).context(format!(
                "{} was not restored; {} is unchanged",
                from.display(),
                db.display()
            )));
        }
    };
    let previous = if db.exists() {
        let aside = with_suffix(
            db,
            &format!(".before-restore-{}", now.format("%Y%m%dT%H%M%SZ")),
        );
        for side in ["", "-wal", "-shm"] {
            let (src, dst) = (with_suffix(db, side), with_suffix(&aside, side));
            if src.exists() {
                std::fs::rename(&src, &dst).with_context(|| {
                    format!("cannot move {} to {}", src.display(), dst.display())
                })?;
            }
        }
        Some(aside)
    } else {
        None
    };
    std::fs::rename(&incoming, db)
        .with_context(|| format!("cannot move {} to {}", incoming.display(), db.display()))?;
    drop(lock);
    Ok(Restored { info, previous })
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
