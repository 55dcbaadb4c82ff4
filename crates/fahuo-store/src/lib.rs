//! fahuo's storage: one API over SQLite and PostgreSQL. All SQL in fahuo lives in this crate.
//!
//! [`Store`] wraps a [`Db`], an enum of the two concrete sqlx pools. SQL is written once in a
//! portable dialect (`$1` placeholders, BIGINT everywhere, times as epoch milliseconds, money as
//! fen) and the [`on_db!`] / [`in_tx!`] macros compile each body once per backend. Where the
//! dialects really differ (row locks, `SKIP LOCKED`) the code matches on the variant.
//!
//! Write transactions on SQLite start with `BEGIN IMMEDIATE`: a deferred transaction that later
//! upgrades to a write fails with SQLITE_BUSY without waiting for the busy timeout.
//!
//! Every method that touches tenant data takes a [`TenantId`](fahuo_domain::TenantId) and
//! scopes its SQL by it; there is no unscoped read of tenant data outside `accounts` (login
//! must find a user before it knows the tenant).

pub mod accounts;
pub mod aftersales;
pub mod allocation;
pub mod audit;
pub mod backup;
pub mod bench_seed;
pub mod catalog;
mod error;
pub mod intake;
pub mod jobs;
pub mod orders;
pub mod pii;
pub mod pipeline;
pub mod radar;
pub mod reports;
pub mod review;
pub mod shipment_imports;
pub mod shipping;
pub mod stock;
pub mod suppliers;
pub mod testing;
pub mod tracking;
pub mod waybills;

pub use error::StoreError;
pub use pii::Keyring;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The two backends. Cloning is cheap (pools are reference-counted).
#[derive(Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Which backend a [`Db`] is, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `$body` with `$pool` bound to the concrete pool of either backend.
#[macro_export]
#[doc(hidden)]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::Db::Sqlite($pool) => $body,
            $crate::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` inside a write transaction bound to `$tx` (SQLite: `BEGIN IMMEDIATE`) and
/// commits it when the body finishes; an early `?` return rolls it back.
#[macro_export]
#[doc(hidden)]
macro_rules! in_tx {
    ($db:expr, $tx:ident => $body:expr) => {
        match $db {
            $crate::Db::Sqlite(pool) => {
                #[allow(unused_mut)]
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::Db::Postgres(pool) => {
                #[allow(unused_mut)]
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

/// Prepared statements kept per connection. The order list and its counts build one
/// statement per combination of filters (so that each database plans exactly that
/// combination), and the console, the API and the jobs have some 450 more between them: with
/// sqlx's default of 100, a cycle of requests over more statements than that misses the
/// least-recently-used cache every time and prepares each statement again (SQLite: parse and
/// plan in this process; PostgreSQL: an extra round trip).
const STATEMENT_CACHE: usize = 500;

/// How PostgreSQL plans the order list's statements, on the list's own connections: one
/// generic plan per statement, kept. Under the default (`auto`) it planned each execution of
/// each list statement again (0.2 ms each, a quarter of the database's time for the list
/// under load), because with tenants of very different sizes a generic plan's estimates never
/// look as good as a custom plan's; the list's statements are one per filter combination and
/// read one index range in order, which a generic plan does as well (the list's machine CPU
/// per request −20 %). The rest of fahuo keeps `auto`: the pipeline was 7 % slower with
/// generic plans everywhere. See BENCHMARKS.md, "Order list under load", sixth session.
const LIST_PLANS: (&str, &str) = ("plan_cache_mode", "force_generic_plan");

/// The order list's pool on PostgreSQL (connections opened on demand): enough for the two cores
/// the list's queries can keep busy, on top of the main pool's 16.
const LIST_CONNECTIONS: u32 = 4;

/// The storage API. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Store {
    db: Db,
    /// The order list's and its counts' connections: on PostgreSQL a small pool of its own,
    /// see [`LIST_PLANS`]; on SQLite the same pool as `db`.
    lists: Db,
    pii: Arc<Keyring>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish()
    }
}

impl Store {
    /// Connects to `sqlite://path` (created if missing) or `postgres://...`, without migrating.
    pub async fn connect(database_url: &str, pii: Keyring) -> Result<Store> {
        let (db, lists) = if database_url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(database_url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .statement_cache_capacity(STATEMENT_CACHE);
            // A SQLite connection is a handle in this process, not a socket that can hang up:
            // sqlx's ping before each acquire only costs a round trip to the connection's
            // thread for every statement run on the pool (it pings again on release).
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .test_before_acquire(false)
                .connect_with(options)
                .await?;
            let db = Db::Sqlite(pool);
            (db.clone(), db)
        } else if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
            let mut options = PgConnectOptions::from_str(database_url)?;
            // A URL that sets its own (`?statement-cache-capacity=N`) keeps it.
            if !database_url.contains("statement-cache-capacity=") {
                options = options.statement_cache_capacity(STATEMENT_CACHE);
            }
            let lists = PgPoolOptions::new()
                .max_connections(LIST_CONNECTIONS)
                .acquire_timeout(Duration::from_secs(10))
                .connect_lazy_with(options.clone().options([LIST_PLANS]));
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            (Db::Postgres(pool), Db::Postgres(lists))
        } else {
            return Err(StoreError::Config(format!(
                "unsupported database URL {:?}: use sqlite://PATH or postgres://...",
                redact_url(database_url)
            )));
        };
        Ok(Store {
            db,
            lists,
            pii: Arc::new(pii),
        })
    }

    /// Connects and applies the embedded migrations of the backend.
    pub async fn open(database_url: &str, pii: Keyring) -> Result<Store> {
        let store = Store::connect(database_url, pii).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations (embedded in the binary, one folder per backend), then the
    /// data fixes that need the PII key and so cannot be SQL migrations.
    pub async fn migrate(&self) -> Result<()> {
        match &self.db {
            Db::Sqlite(pool) => backup::SQLITE_MIGRATIONS.run(pool).await?,
            Db::Postgres(pool) => backup::POSTGRES_MIGRATIONS.run(pool).await?,
        }
        self.backfill_receiver_name_hashes().await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// The raw pools, for the schema-parity test and operational commands only.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The order list's pools (see [`LIST_PLANS`]), for tests.
    pub fn list_db(&self) -> &Db {
        &self.lists
    }

    /// A cheap round trip, for `/healthz`.
    pub async fn ping(&self) -> Result<()> {
        on_db!(&self.db, pool => { sqlx::query("SELECT 1").execute(pool).await?; });
        Ok(())
    }

    pub async fn close(&self) {
        on_db!(&self.db, pool => pool.close().await);
        on_db!(&self.lists, pool => pool.close().await)
    }
}

/// Hides the password of a database URL for logs and errors.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// Times are stored as milliseconds since the epoch, identical on both backends.
pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v).single().unwrap_or_default()
}

pub(crate) fn opt_from_ms(v: Option<i64>) -> Option<DateTime<Utc>> {
    v.map(from_ms)
}

/// A page of results with the cursor for the next one.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass back as `after` to get the next page; `None` on the last page.
    pub next_cursor: Option<i64>,
}

impl<T> Page<T> {
    /// Builds a page from a query that fetched `limit + 1` rows: the extra row only says that
    /// there is a next page, whose cursor is the last kept row's key.
    pub(crate) fn from_overfetch(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> i64) -> Page<T> {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit.max(0) as usize);
        let next_cursor = if more { rows.last().map(&key) } else { None };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

/// A sub-account's scope (数据范围) as a bound parameter: the ids as a JSON array, or `None`
/// for "all" (the query's `$n IS NULL OR ...` then matches everything).
pub(crate) fn scope_ids<I: Copy>(ids: Option<&[I]>, get: impl Fn(I) -> i64) -> Option<String> {
    ids.map(|ids| {
        let ids: Vec<i64> = ids.iter().map(|i| get(*i)).collect();
        serde_json::to_string(&ids).expect("numbers serialise")
    })
}

/// A subquery (`SELECT ...`) of the ids of the JSON array bound as parameter `$n` (see
/// [`scope_ids`]), for `column IN (...)`.
pub(crate) fn ids_in(db: &Db, n: usize) -> String {
    match db {
        Db::Sqlite(_) => format!("SELECT value FROM json_each(${n})"),
        Db::Postgres(_) => {
            format!("SELECT CAST(jsonb_array_elements_text(CAST(${n} AS jsonb)) AS BIGINT)")
        }
    }
}

/// The lengths a list of values for `column IN ($k, …)` is padded to (see [`InList`]). The SQL
/// text of such a condition depends on the list's length, and every length is a statement of
/// its own in each connection's cache (up to [`STATEMENT_CACHE`] of them, parsed and planned
/// again for each new length): lists whose length follows the data (an import's order
/// numbers, a pull's orders, a review's SKUs) would fill the caches with near-copies. Steps of
/// four keep a lookup to six statements at most, for at most four times the values it needs;
/// both databases drop repeated values of an IN list before they look anything up (SQLite
/// keeps the list in a temporary index, PostgreSQL sorts and deduplicates the array keys of an
/// index scan), so the padding costs binding, not lookups.
const IN_LIST_SIZES: [usize; 6] = [1, 4, 16, 64, 256, IN_LIST_MAX];

/// The most values one `IN` list takes; [`InList::chunks`] asks for longer lists in parts.
const IN_LIST_MAX: usize = 500;

/// A list of values bound into `column IN (…)`, padded to the next of [`IN_LIST_SIZES`] by
/// repeating its last value: a repeated value neither adds nor removes a match, for `IN` and
/// `NOT IN` alike, so the padding never changes what the condition finds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InList<'a, T> {
    values: &'a [T],
    len: usize,
}

impl<'a, T> InList<'a, T> {
    /// One list of `values` (not empty: `IN ()` is not SQL). Past [`IN_LIST_MAX`] values it is
    /// not padded, a statement per length again: use [`InList::chunks`] where the list's
    /// length is not bounded by something smaller.
    pub(crate) fn new(values: &'a [T]) -> InList<'a, T> {
        assert!(!values.is_empty(), "an IN list needs at least one value");
        let len = IN_LIST_SIZES
            .into_iter()
            .find(|&size| size >= values.len())
            .unwrap_or(values.len());
        InList { values, len }
    }

    /// `values` in lists of at most [`IN_LIST_MAX`], each padded (none when it is empty).
    pub(crate) fn chunks(values: &'a [T]) -> impl Iterator<Item = InList<'a, T>> {
        values.chunks(IN_LIST_MAX).map(InList::new)
    }

    /// How many values are bound, the padding included.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The placeholders `$first, $first+1, …`, one per bound value.
    pub(crate) fn placeholders(&self, first: usize) -> String {
        (first..first + self.len)
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The values to bind in placeholder order: the list, then its last value repeated.
    pub(crate) fn values(&self) -> impl Iterator<Item = &'a T> + use<'a, T> {
        let last = &self.values[self.values.len() - 1];
        let padding = self.len - self.values.len();
        self.values.iter().chain(std::iter::repeat_n(last, padding))
    }
}

#[cfg(test)]
mod tests {
    use super::InList;

    #[test]
    fn an_in_list_is_padded_to_the_next_size_with_its_last_value() {
        let values: Vec<i64> = (1..=5).collect();
        let list = InList::new(&values);
        assert_eq!(list.len(), 16);
        assert_eq!(
            list.values().copied().collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5]
        );
        assert_eq!(InList::new(&values[..4]).placeholders(3), "$3, $4, $5, $6");
        assert_eq!(InList::new(&values[..1]).len(), 1);
    }

    #[test]
    fn lists_of_any_length_use_a_few_sizes_and_long_ones_come_in_parts() {
        let values: Vec<i64> = (0..1200).collect();
        let sizes: std::collections::BTreeSet<usize> = (1..=values.len())
            .flat_map(|n| InList::chunks(&values[..n]).map(|l| l.len()))
            .collect();
        assert_eq!(
            sizes.into_iter().collect::<Vec<_>>(),
            [1, 4, 16, 64, 256, 500]
        );
        let parts: Vec<Vec<i64>> = InList::chunks(&values)
            .map(|l| l.values().copied().collect())
            .collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[2][..200], values[1000..]);
        assert!(parts[2][200..].iter().all(|&v| v == 1199));
        assert_eq!(InList::chunks(&values[..0]).count(), 0);
    }
}
