//! Test support shared by every crate's tests: a fresh, migrated store on either backend.
//!
//! SQLite tests get a database file in a temporary directory. PostgreSQL tests get their own
//! schema in the database named by `FAHUO_TEST_POSTGRES_URL`, dropped again when the test
//! ends. Without that variable PostgreSQL tests are skipped loudly, unless
//! `FAHUO_REQUIRE_POSTGRES=1` (set by CI), which turns a skip into a failure.
//!
//! Use [`both_backends!`](crate::both_backends) to run one test body on both.

use crate::{Keyring, Store};
use std::str::FromStr;

pub const POSTGRES_URL_VAR: &str = "FAHUO_TEST_POSTGRES_URL";

/// A store for one test, with whatever it needs cleaned up afterwards.
pub struct TestDb {
    pub store: Store,
    /// The database URL the store was opened with (for tests that start other processes).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_schema: Option<(String, String)>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        TestDb::sqlite_at(None).await
    }

    /// A SQLite store migrated up to `version` only (`None`: to the head), as an older
    /// release left it: for upgrade tests.
    pub async fn sqlite_at(version: Option<i64>) -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("fahuo.db").display());
        let store = open_at(&url, version).await;
        TestDb {
            store,
            url,
            _dir: Some(dir),
            pg_schema: None,
        }
    }

    /// `None` (after a loud message) when no PostgreSQL URL is configured.
    pub async fn postgres() -> Option<TestDb> {
        TestDb::postgres_at(None).await
    }

    /// Like [`TestDb::sqlite_at`], on PostgreSQL (`None` when it is not configured).
    pub async fn postgres_at(version: Option<i64>) -> Option<TestDb> {
        let Ok(base) = std::env::var(POSTGRES_URL_VAR) else {
            if std::env::var("FAHUO_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("{POSTGRES_URL_VAR} is not set but FAHUO_REQUIRE_POSTGRES=1");
            }
            eprintln!(
                "\n*** SKIPPED: PostgreSQL variant (set {POSTGRES_URL_VAR}=postgres://... to run it) ***\n"
            );
            return None;
        };
        let schema = format!("t_{}", crate::pii::random_token(8));
        {
            let admin = sqlx::PgPool::connect(&base)
                .await
                .expect("connect to test PostgreSQL");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(&admin)
                .await
                .expect("create test schema");
            admin.close().await;
        }
        let url = with_search_path(&base, &schema);
        let store = open_at(&url, version).await;
        Some(TestDb {
            store,
            url,
            _dir: None,
            pg_schema: Some((base, schema)),
        })
    }
}

async fn open_at(url: &str, version: Option<i64>) -> Store {
    let store = Store::connect(url, Keyring::generate())
        .await
        .expect("connect to the test database");
    match version {
        None => store.migrate().await,
        Some(v) => store.migrate_to(v).await,
    }
    .expect("migrate the test database");
    store
}

/// Adds `options=-c search_path=SCHEMA` to a PostgreSQL URL.
pub fn with_search_path(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((base, schema)) = self.pg_schema.take() else {
            return;
        };
        // Drop runs outside async; clean up on a thread with its own small runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async {
                    if let Ok(opts) = sqlx::postgres::PgConnectOptions::from_str(&base)
                        && let Ok(pool) = sqlx::PgPool::connect_with(opts).await
                    {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP SCHEMA IF EXISTS {schema} CASCADE"
                        )))
                        .execute(&pool)
                        .await;
                        pool.close().await;
                    }
                });
            }
        })
        .join();
    }
}

/// Runs an `async fn(TestDb)` test on SQLite and on PostgreSQL:
/// `both_backends!(my_test);` makes `my_test::sqlite` and `my_test::postgres`.
/// `both_backends!(my_test at 24);` hands it databases migrated only up to version 24, as an
/// earlier release left them: for upgrade tests.
#[macro_export]
macro_rules! both_backends {
    ($name:ident at $version:literal) => {
        $crate::both_backends!(@at $name, Some($version));
    };
    ($($name:ident),+ $(,)?) => {$(
        $crate::both_backends!(@at $name, None);
    )+};
    (@at $name:ident, $version:expr) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::testing::TestDb::sqlite_at($version).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = $crate::testing::TestDb::postgres_at($version).await {
                    super::$name(db).await;
                }
            }
        }
    };
}
