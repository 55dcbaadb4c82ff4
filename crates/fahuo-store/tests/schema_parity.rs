//! The SQLite and PostgreSQL migrations must describe the same tables and columns.

use fahuo_store::testing::TestDb;
use fahuo_store::{Db, Store};
use std::collections::BTreeSet;

async fn columns(store: &Store) -> BTreeSet<(String, String, bool)> {
    let rows: Vec<(String, String, bool)> = match store.db() {
        Db::Sqlite(pool) => sqlx::query_as(
            // table_xinfo: generated columns too (table_info leaves them out).
            "SELECT m.name, p.name, p.\"notnull\" = 1 OR p.pk > 0 FROM sqlite_master m \
             JOIN pragma_table_xinfo(m.name) p WHERE m.type = 'table' AND p.hidden <> 1 \
             AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
        Db::Postgres(pool) => sqlx::query_as(
            "SELECT table_name::text, column_name::text, is_nullable = 'NO' FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%'",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
    };
    rows.into_iter().collect()
}

#[tokio::test]
async fn both_backends_have_the_same_tables_columns_and_nullability() {
    let sqlite = TestDb::sqlite().await;
    let Some(postgres) = TestDb::postgres().await else {
        return;
    };
    let (s, p) = (columns(&sqlite.store).await, columns(&postgres.store).await);
    let only_sqlite: Vec<_> = s.difference(&p).collect();
    let only_postgres: Vec<_> = p.difference(&s).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "schemas drifted:\n only in SQLite: {only_sqlite:?}\n only in PostgreSQL: {only_postgres:?}"
    );
    assert!(
        s.len() > 100,
        "the comparison saw the tables ({} columns)",
        s.len()
    );
}
