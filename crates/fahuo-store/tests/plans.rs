//! The plans the databases make for statements run on every tracking report: each must start
//! from the parcel's number or the order, never from a range of the whole tenant, on a
//! database that has no statistics yet.
//!
//! fahuo never runs `ANALYZE` on SQLite, and without statistics SQLite takes every indexed
//! equality to narrow a table to about ten rows, so an index matching the tenant and a state
//! looks as good as one matching the tenant and a tracking number. PostgreSQL, on a database
//! that has filled up before autovacuum first analyzed it, makes the same kind of guess from
//! the tables' sizes alone. Such a plan reads every shipment of the tenant per report; it shows
//! only as a run that slows down as orders pile up (a 9 s report in the fahuo-server tracking
//! test; BENCHMARKS.md, "Pipeline", tenth and eleventh sessions). SQLite's plans here do not
//! depend on the rows; PostgreSQL's are made over 5,000 shipments it has no statistics for
//! (on empty tables it guesses one row everywhere and any index looks alike).

use fahuo_store::testing::TestDb;
use fahuo_store::tracking::{ORDER_PARCEL_STATES, PARCEL_ORDERS};
use fahuo_store::{Db, both_backends};

/// 5,000 shipped orders of one tenant, each with its shipment and parcel, written around the
/// foreign keys and triggers (only the plans matter) and never analyzed.
const FILL_WITHOUT_STATISTICS: &str = "\
    ALTER TABLE orders SET (autovacuum_enabled = false); \
    ALTER TABLE shipments SET (autovacuum_enabled = false); \
    ALTER TABLE parcels SET (autovacuum_enabled = false); \
    SET session_replication_role = replica; \
    INSERT INTO orders (id, tenant_id, shop_id, platform, platform_order_id, state, \
        platform_status, paid_total_fen, freight_fen, receiver_enc, receiver_name_masked, \
        receiver_phone_masked, receiver_phone_tail_hash, receiver_province, receiver_city, \
        receiver_county, version, created_at, updated_at) \
        SELECT g, 1, 1, 'wechat', 'P' || g, 'delivered', 'completed', 100, 0, '\\x00', '张*', \
        '138****0000', 'x', '浙江省', '杭州市', '余杭区', 1, 0, 0 FROM generate_series(1, 5000) g; \
    INSERT INTO shipments (tenant_id, order_id, carrier_code, tracking_no, items_json, source, \
        state, created_by, created_at, updated_at) \
        SELECT 1, g, 'ZTO', 'T' || g, '[]', 'fahuo', 'succeeded', 'test', 0, 0 \
        FROM generate_series(1, 5000) g; \
    INSERT INTO parcels (tenant_id, carrier_code, tracking_no, subscription, shipped_at, created_at) \
        SELECT 1, 'ZTO', 'T' || g, 'subscribed', 0, 0 FROM generate_series(1, 5000) g; \
    SET session_replication_role = DEFAULT";

/// The plan of `sql`: SQLite's `EXPLAIN QUERY PLAN` lines, or the generic
/// plan PostgreSQL would keep for it over [`FILL_WITHOUT_STATISTICS`] (`parameters`: the
/// PostgreSQL types of `$1`, `$2`, …).
async fn plan(db: &TestDb, sql: &str, parameters: &[&str]) -> Vec<String> {
    match db.store.db() {
        Db::Sqlite(pool) => {
            let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(
                format!("EXPLAIN QUERY PLAN {sql}"),
            ));
            for _ in parameters {
                query = query.bind(1_i64);
            }
            let rows = query.fetch_all(pool).await.unwrap();
            rows.into_iter().map(|(_, _, _, detail)| detail).collect()
        }
        Db::Postgres(pool) => {
            let mut conn = pool.acquire().await.unwrap();
            sqlx::raw_sql(FILL_WITHOUT_STATISTICS)
                .execute(&mut *conn)
                .await
                .unwrap();
            let setup = format!(
                "SET plan_cache_mode = force_generic_plan; PREPARE planned({}) AS {sql}",
                parameters.join(", ")
            );
            sqlx::raw_sql(sqlx::AssertSqlSafe(setup))
                .execute(&mut *conn)
                .await
                .unwrap();
            let values = vec!["NULL"; parameters.len()].join(", ");
            let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "EXPLAIN EXECUTE planned({values})"
            )))
            .fetch_all(&mut *conn)
            .await
            .unwrap();
            sqlx::raw_sql("DEALLOCATE planned; RESET plan_cache_mode")
                .execute(&mut *conn)
                .await
                .unwrap();
            rows.into_iter()
                .map(|(line,)| line.trim().to_string())
                .collect()
        }
    }
}

/// The index `shipments s` is read by, after checking that it is read by one at all.
fn shipments_index(plan: &[String]) -> String {
    let line = plan
        .iter()
        .find(|l| {
            l.contains("shipments s") || l.starts_with("SEARCH s ") || l.starts_with("SCAN s")
        })
        .unwrap_or_else(|| panic!("no access to shipments in {plan:#?}"));
    let index = line
        .split_once("USING INDEX ")
        .or_else(|| line.split_once("Index Scan using "))
        .or_else(|| line.split_once("Index Only Scan using "))
        .map(|(_, rest)| rest.split(' ').next().unwrap_or_default().to_string());
    index.unwrap_or_else(|| panic!("shipments not read by an index: {plan:#?}"))
}

async fn a_parcels_orders_are_found_by_its_number(db: TestDb) {
    let plan = plan(&db, PARCEL_ORDERS, &["bigint", "text", "text"]).await;
    assert_eq!(shipments_index(&plan), "shipments_tracking", "{plan:#?}");
}

async fn an_orders_parcels_are_found_by_the_order(db: TestDb) {
    let plan = plan(&db, ORDER_PARCEL_STATES, &["bigint", "bigint"]).await;
    assert_eq!(shipments_index(&plan), "shipments_order_state", "{plan:#?}");
}

both_backends!(
    a_parcels_orders_are_found_by_its_number,
    an_orders_parcels_are_found_by_the_order,
);
