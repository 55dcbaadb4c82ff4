//! Bulk loading for the order-list benchmark (`fahuo bench order-list`) and its test: orders
//! already somewhere along their life (shipped, printed, held…), written with the columns
//! the real write path ([`Store::upsert_order`] and the steps after it) gives them, but in large
//! multi-row `INSERT`s inside one transaction per call, so a million orders load in minutes.
//!
//! Not for production data: it skips the audit trail, stock reservations and the review's merge
//! key, none of which the order list reads. The receiver is encrypted with the store's key and
//! its masked copies and phone-tail hash are derived exactly as `upsert_order` derives them.

use crate::orders::{OPEN_AFTER_SALE, normalise_receiver_name};
use crate::{Backend, Result, Store, StoreError, in_tx, ms};
use chrono::{DateTime, Utc};
use fahuo_domain::aftersale::{AfterSaleKind, AfterSaleStatus};
use fahuo_domain::order::NewOrder;
use fahuo_domain::{OrderState, SkuId, TenantId, WarehouseId};
use std::collections::HashMap;

/// An order to load, in the state it has reached.
#[derive(Debug, Clone)]
pub struct SeedOrder {
    /// What the platform sent (validated as intake validates it).
    pub order: NewOrder,
    pub state: OrderState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// An open hold (reason code, message), for an order on hold.
    pub hold: Option<(String, String)>,
    /// Its package, for an order allocated or later.
    pub parcel: Option<SeedParcel>,
    /// The SKU each line was mapped to by review (`None`: not mapped yet), one per line.
    pub line_skus: Vec<Option<SkuId>>,
    /// A platform after-sale (refund, return) of the order.
    pub after_sale: Option<SeedAfterSale>,
}

/// A platform after-sale of an order, as after-sale sync stores it.
#[derive(Debug, Clone)]
pub struct SeedAfterSale {
    pub platform_after_sale_id: String,
    pub kind: AfterSaleKind,
    pub status: AfterSaleStatus,
    pub reason: String,
    pub refund_fen: i64,
    pub created_at: DateTime<Utc>,
}

/// The one package of an allocated (or later) order, holding all its lines.
#[derive(Debug, Clone)]
pub struct SeedParcel {
    pub warehouse_id: WarehouseId,
    /// The carrier chosen at allocation (a fahuo carrier code such as `ZTO`).
    pub carrier_code: String,
    /// The e-waybill number, once issued.
    pub tracking_no: Option<String>,
    pub weight_g: i64,
    /// When the platform accepted the shipment (for shipped and later orders).
    pub shipped_at: Option<DateTime<Utc>>,
}

/// The package state that goes with an order state (the allocation, waybill, pack and
/// shipping paths move both together).
fn package_state(order: OrderState) -> &'static str {
    match order {
        OrderState::Allocated => "open",
        OrderState::WaybillIssued | OrderState::Printed => "waybill_issued",
        OrderState::Packed => "packed",
        _ => "shipped",
    }
}

/// `INSERT INTO table (cols) VALUES ($1, …), (…)` for `rows` rows.
fn insert_sql(table: &str, columns: &[&str], rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns.len() {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            sql.push_str(&format!("${n}"));
        }
        sql.push(')');
    }
    sql
}

/// Rows per statement. PostgreSQL takes up to 65,535 bind parameters and is fastest with
/// large statements; on SQLite binding numbered parameters costs more the more a statement
/// has (20,000 orders took 100 s at 30,000 parameters per statement), so statements stay
/// small there.
fn rows_per_statement(backend: Backend, columns: usize) -> usize {
    let budget = match backend {
        Backend::Postgres => 30_000,
        Backend::Sqlite => 500,
    };
    (budget / columns).max(1)
}

/// Takes `$n` fresh ids of `$table` inside transaction `$tx`: from the sequence on
/// PostgreSQL; past the highest id ever used on SQLite (the write lock is held).
macro_rules! reserve_ids {
    ($tx:expr, $backend:expr, $table:literal, $n:expr) => {{
        let n = $n as i64;
        if n == 0 {
            Vec::new()
        } else if $backend == Backend::Postgres {
            sqlx::query_scalar::<_, i64>(concat!(
                "SELECT nextval(pg_get_serial_sequence('",
                $table,
                "', 'id')) FROM generate_series(1, $1)"
            ))
            .bind(n)
            .fetch_all(&mut *$tx)
            .await?
        } else {
            let max: i64 = sqlx::query_scalar(concat!(
                "SELECT MAX(COALESCE((SELECT MAX(id) FROM ",
                $table,
                "), 0), COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '",
                $table,
                "'), 0))"
            ))
            .fetch_one(&mut *$tx)
            .await?;
            (max + 1..=max + n).collect::<Vec<i64>>()
        }
    }};
}

/// One order's row values, derived as `upsert_order` derives them, and the list columns as
/// the triggers of migration 0011 derive them from its package, waybill, shipment and lines.
struct OrderRow {
    id: i64,
    platform: String,
    receiver_enc: Vec<u8>,
    name_masked: String,
    phone_masked: String,
    tail_hash: String,
    name_hash: String,
    carrier: Option<String>,
    warehouse: Option<i64>,
    tags: String,
}

impl Store {
    /// Loads `orders` into `tenant` in one transaction. Every order's shop must be the
    /// tenant's. Returns the new orders' ids, in the order given.
    pub async fn seed_orders(&self, tenant: TenantId, orders: &[SeedOrder]) -> Result<Vec<i64>> {
        let backend = self.backend();
        let shops: Vec<(i64, String)> = crate::on_db!(&self.db, pool => sqlx::query_as(
                "SELECT id, platform FROM shops WHERE tenant_id = $1")
            .bind(tenant.get()).fetch_all(pool).await?);
        let shops: HashMap<i64, String> = shops.into_iter().collect();
        let sku_tags: Vec<(i64, String)> = crate::on_db!(&self.db, pool => sqlx::query_as(
                "SELECT id, tags FROM skus WHERE tenant_id = $1 AND tags <> ''")
            .bind(tenant.get()).fetch_all(pool).await?);
        let sku_tags: HashMap<i64, String> = sku_tags.into_iter().collect();
        let line_count: usize = orders.iter().map(|o| o.order.lines.len()).sum();
        let parcels = orders.iter().filter(|o| o.parcel.is_some()).count();
        let ids = in_tx!(&self.db, tx => {
            if backend == Backend::Postgres {
                // The list columns are written with the orders below, as the row triggers
                // would leave them; firing the triggers would rewrite each order up to four
                // more times (and skip nothing else: the rows are consistent by construction).
                sqlx::query("SET LOCAL session_replication_role = replica").execute(&mut *tx).await?;
            }
            let order_ids = reserve_ids!(tx, backend, "orders", orders.len());
            let line_ids = reserve_ids!(tx, backend, "order_lines", line_count);
            let package_ids = reserve_ids!(tx, backend, "packages", parcels);
            let mut rows = Vec::with_capacity(orders.len());
            for (o, id) in orders.iter().zip(&order_ids) {
                let platform = shops.get(&o.order.shop_id.get()).ok_or(StoreError::NotFound)?;
                let r = &o.order.receiver;
                rows.push(OrderRow {
                    id: *id,
                    platform: platform.clone(),
                    receiver_enc: self.pii.encrypt_json(r),
                    name_masked: fahuo_domain::pii::mask_name(&r.name),
                    phone_masked: r.phone.masked(),
                    tail_hash: self.pii.lookup_hash("phone_tail", r.phone.last_four()),
                    name_hash: self.pii.lookup_hash("receiver_name", &normalise_receiver_name(&r.name)),
                    carrier: o.parcel.as_ref().map(|p| p.carrier_code.clone()),
                    warehouse: o.parcel.as_ref().map(|p| p.warehouse_id.get()),
                    tags: {
                        let tags: Vec<&str> = o.line_skus.iter().flatten()
                            .filter_map(|s| sku_tags.get(&s.get()).map(String::as_str))
                            .collect();
                        if tags.is_empty() { String::new() } else { format!(",{},", tags.join(",")) }
                    },
                });
            }

            const ORDER_COLUMNS: [&str; 29] = [
                "id", "tenant_id", "shop_id", "platform", "platform_order_id", "state",
                "platform_status", "paid_total_fen", "freight_fen", "buyer_note", "seller_note",
                "paid_at", "ship_by", "presale_ship_at", "platform_updated_at", "receiver_enc",
                "receiver_name_masked", "receiver_phone_masked", "receiver_phone_tail_hash",
                "receiver_province", "receiver_city", "receiver_county", "version", "created_at",
                "receiver_name_hash", "list_carrier", "list_warehouse_id", "list_tags",
                "list_after_sale",
            ];
            let per = rows_per_statement(backend, ORDER_COLUMNS.len() + 1);
            for (batch, rows) in orders.chunks(per).zip(rows.chunks(per)) {
                let mut columns = ORDER_COLUMNS.to_vec();
                columns.push("updated_at");
                let sql = insert_sql("orders", &columns, batch.len());
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (o, row) in batch.iter().zip(rows) {
                    let n = &o.order;
                    let r = &n.receiver;
                    // An order that moved on was changed once per step; the version says so.
                    let version = 1 + o.state as i64;
                    q = q.bind(row.id).bind(tenant.get()).bind(n.shop_id.get()).bind(&row.platform)
                        .bind(n.platform_order_id.as_str()).bind(o.state.as_str())
                        .bind(&n.platform_status).bind(n.paid_total.get()).bind(n.freight.get())
                        .bind(n.buyer_note.as_deref()).bind(n.seller_note.as_deref())
                        .bind(n.paid_at.map(ms)).bind(n.ship_by.map(ms))
                        .bind(n.presale_ship_at.map(ms)).bind(n.platform_updated_at.map(ms))
                        .bind(&row.receiver_enc).bind(&row.name_masked).bind(&row.phone_masked)
                        .bind(&row.tail_hash).bind(&r.province).bind(&r.city).bind(&r.county)
                        .bind(version).bind(ms(o.created_at)).bind(&row.name_hash)
                        .bind(row.carrier.as_deref()).bind(row.warehouse).bind(&row.tags)
                        .bind(i16::from(o.after_sale.as_ref().is_some_and(|a| !a.status.is_final())))
                        .bind(ms(o.updated_at));
                }
                q.execute(&mut *tx).await?;
            }

            // Lines, then each allocated order's package holding all of them.
            struct Line<'a> { id: i64, order_id: i64, no: i64, sku: Option<i64>, line: &'a fahuo_domain::order::NewOrderLine }
            let mut lines = Vec::with_capacity(line_count);
            let mut next_line = line_ids.iter();
            for (o, order_id) in orders.iter().zip(&order_ids) {
                for (i, line) in o.order.lines.iter().enumerate() {
                    let id = *next_line.next().ok_or(StoreError::NotFound)?;
                    let sku = o.line_skus.get(i).copied().flatten().map(|s| s.get());
                    lines.push(Line { id, order_id: *order_id, no: i as i64 + 1, sku, line });
                }
            }
            let line_columns = ["id", "tenant_id", "order_id", "line_no", "platform_line_id",
                "platform_sku_id", "sku_code", "sku_id", "title", "quantity", "unit_price_fen", "paid_fen"];
            for batch in lines.chunks(rows_per_statement(backend, line_columns.len())) {
                let sql = insert_sql("order_lines", &line_columns, batch.len());
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for l in batch {
                    q = q.bind(l.id).bind(tenant.get()).bind(l.order_id).bind(l.no)
                        .bind(l.line.platform_line_id.as_deref()).bind(l.line.platform_sku_id.as_deref())
                        .bind(l.line.sku_code.as_ref().map(|c| c.as_str())).bind(l.sku).bind(&l.line.title)
                        .bind(l.line.quantity).bind(l.line.unit_price.get()).bind(l.line.paid.get());
                }
                q.execute(&mut *tx).await?;
            }

            struct Pkg<'a> { id: i64, order_id: i64, order: &'a SeedOrder, parcel: &'a SeedParcel }
            let mut packages = Vec::with_capacity(parcels);
            let mut next_package = package_ids.iter();
            for (o, order_id) in orders.iter().zip(&order_ids) {
                if let Some(parcel) = &o.parcel {
                    let id = *next_package.next().ok_or(StoreError::NotFound)?;
                    packages.push(Pkg { id, order_id: *order_id, order: o, parcel });
                }
            }
            let package_columns = ["id", "tenant_id", "warehouse_id", "state", "weight_g", "created_at",
                "carrier_code", "print_count"];
            for batch in packages.chunks(rows_per_statement(backend, package_columns.len())) {
                let sql = insert_sql("packages", &package_columns, batch.len());
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for p in batch {
                    let printed = p.order.state >= OrderState::Printed
                        && !matches!(p.order.state, OrderState::Cancelled | OrderState::Refunded);
                    q = q.bind(p.id).bind(tenant.get()).bind(p.parcel.warehouse_id.get())
                        .bind(package_state(p.order.state)).bind(p.parcel.weight_g)
                        .bind(ms(p.order.created_at)).bind(&p.parcel.carrier_code)
                        .bind(i64::from(printed));
                }
                q.execute(&mut *tx).await?;
            }
            let mut package_lines = Vec::new();
            let mut line_iter = lines.iter().peekable();
            for p in &packages {
                while line_iter.peek().is_some_and(|l| l.order_id < p.order_id) {
                    line_iter.next();
                }
                while let Some(l) = line_iter.next_if(|l| l.order_id == p.order_id) {
                    package_lines.push((p.id, p.order_id, l.id, l.line.quantity));
                }
            }
            let pl_columns = ["package_id", "tenant_id", "order_id", "order_line_id", "quantity"];
            for batch in package_lines.chunks(rows_per_statement(backend, pl_columns.len())) {
                let sql = insert_sql("package_lines", &pl_columns, batch.len());
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (package, order, line, quantity) in batch {
                    q = q.bind(*package).bind(tenant.get()).bind(*order).bind(*line).bind(*quantity);
                }
                q.execute(&mut *tx).await?;
            }

            // The e-waybill of each package that has a number, and the shipment told to the
            // platform for each order that shipped.
            let numbered: Vec<(&Pkg, &str)> = packages.iter()
                .filter_map(|p| p.parcel.tracking_no.as_deref().map(|n| (p, n)))
                .collect();
            let waybill_columns = ["tenant_id", "package_id", "carrier_code", "tracking_no", "issued_at",
                "request_key"];
            for batch in numbered.chunks(rows_per_statement(backend, waybill_columns.len())) {
                let sql = insert_sql("waybills", &waybill_columns, batch.len());
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (p, number) in batch {
                    q = q.bind(tenant.get()).bind(p.id).bind(&p.parcel.carrier_code).bind(*number)
                        .bind(ms(p.order.created_at)).bind(format!("seed-{}", p.id));
                }
                q.execute(&mut *tx).await?;
            }
            let shipped: Vec<(&Pkg, &str, DateTime<Utc>)> = numbered.iter()
                .filter_map(|(p, n)| p.parcel.shipped_at.map(|at| (*p, *n, at)))
                .collect();
            let shipment_columns = ["tenant_id", "order_id", "package_id", "carrier_code", "tracking_no",
                "items_json", "source", "state", "attempts", "created_by", "created_at", "updated_at",
                "confirmed_at"];
            for batch in shipped.chunks(rows_per_statement(backend, shipment_columns.len())) {
                let sql = insert_sql("shipments", &shipment_columns, batch.len());
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (p, number, at) in batch {
                    q = q.bind(tenant.get()).bind(p.order_id).bind(p.id).bind(&p.parcel.carrier_code)
                        .bind(*number).bind("[]").bind("waybill").bind("succeeded").bind(1i64)
                        .bind("system").bind(ms(*at)).bind(ms(*at)).bind(ms(*at));
                }
                q.execute(&mut *tx).await?;
            }

            let held: Vec<(i64, &SeedOrder, &(String, String))> = orders.iter().zip(&order_ids)
                .filter_map(|(o, id)| o.hold.as_ref().map(|h| (*id, o, h)))
                .collect();
            let hold_columns = ["tenant_id", "order_id", "reason_code", "message", "created_at"];
            for batch in held.chunks(rows_per_statement(backend, hold_columns.len())) {
                let sql = insert_sql("holds", &hold_columns, batch.len());
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (id, o, (code, message)) in batch {
                    q = q.bind(tenant.get()).bind(*id).bind(code).bind(message).bind(ms(o.updated_at));
                }
                q.execute(&mut *tx).await?;
            }
            let after_sales: Vec<(i64, &SeedOrder, &SeedAfterSale)> = orders.iter().zip(&order_ids)
                .filter_map(|(o, id)| o.after_sale.as_ref().map(|a| (*id, o, a)))
                .collect();
            let as_columns = ["tenant_id", "shop_id", "order_id", "platform_after_sale_id",
                "platform_order_id", "kind", "status", "platform_status", "reason", "refund_fen",
                "lines_json", "platform_created_at", "platform_updated_at", "created_at", "updated_at"];
            for batch in after_sales.chunks(rows_per_statement(backend, as_columns.len())) {
                let sql = insert_sql("after_sales", &as_columns, batch.len());
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (id, o, a) in batch {
                    let at = ms(a.created_at);
                    q = q.bind(tenant.get()).bind(o.order.shop_id.get()).bind(*id)
                        .bind(&a.platform_after_sale_id).bind(o.order.platform_order_id.as_str())
                        .bind(a.kind.as_str()).bind(a.status.as_str()).bind(a.status.as_str())
                        .bind(&a.reason).bind(a.refund_fen).bind("[]").bind(at).bind(at).bind(at).bind(at);
                }
                q.execute(&mut *tx).await?;
            }
            order_ids
        });
        Ok(ids)
    }

    /// Prints, parcels and carriers' scans for the tenant's numbered packages, as printing,
    /// shipping and tracking store them, in multi-row `INSERT`s in one transaction: `labels`
    /// print-job items (500 per job, first print), `parcels` parcels for the first numbered
    /// packages (delivered), and `events` tracking events spread evenly over those parcels.
    /// With [`Store::seed_orders`] it is the raw reference of `fahuo bench pipeline`: the rows
    /// the end-to-end run stores, without the work that decides them.
    pub async fn seed_prints_and_tracking(
        &self,
        tenant: TenantId,
        labels: usize,
        parcels: usize,
        events: usize,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let backend = self.backend();
        let numbered: Vec<(i64, String, String)> = crate::on_db!(&self.db, pool => sqlx::query_as(
                "SELECT package_id, carrier_code, tracking_no FROM waybills \
                 WHERE tenant_id = $1 AND cancelled_at IS NULL ORDER BY id")
            .bind(tenant.get()).fetch_all(pool).await?);
        if labels > numbered.len() || parcels > numbered.len() || (events > 0 && parcels == 0) {
            return Err(StoreError::Conflict(format!(
                "{labels} labels and {parcels} parcels asked for {} numbered packages",
                numbered.len()
            )));
        }
        const PER_JOB: usize = 500;
        let at = ms(at);
        in_tx!(&self.db, tx => {
            let job_ids = reserve_ids!(tx, backend, "print_jobs", labels.div_ceil(PER_JOB));
            let job_columns = ["id", "tenant_id", "label_size", "label_count", "reprints",
                "created_by", "created_at"];
            let items: Vec<usize> = (0..labels).collect();
            for (job, chunk) in job_ids.iter().zip(items.chunks(PER_JOB)) {
                sqlx::query(sqlx::AssertSqlSafe(insert_sql("print_jobs", &job_columns, 1)))
                    .bind(*job).bind(tenant.get()).bind("76x130").bind(chunk.len() as i64)
                    .bind(0i64).bind("system").bind(at)
                    .execute(&mut *tx).await?;
            }
            let item_columns = ["job_id", "tenant_id", "seq", "package_id", "tracking_no", "reprint"];
            let per = rows_per_statement(backend, item_columns.len());
            for batch in items.chunks(per) {
                let sql = insert_sql("print_job_items", &item_columns, batch.len());
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for &i in batch {
                    let (package, _, number) = &numbered[i];
                    q = q.bind(job_ids[i / PER_JOB]).bind(tenant.get()).bind((i % PER_JOB) as i64 + 1)
                        .bind(*package).bind(number).bind(0i64);
                }
                q.execute(&mut *tx).await?;
            }

            let parcel_ids = reserve_ids!(tx, backend, "parcels", parcels);
            let parcel_columns = ["id", "tenant_id", "carrier_code", "tracking_no", "package_id",
                "subscription", "state", "printed_at", "shipped_at", "first_scan_at", "last_event_at",
                "delivered_at", "ended_at", "created_at"];
            let rows: Vec<(&i64, &(i64, String, String))> = parcel_ids.iter().zip(&numbered).collect();
            for batch in rows.chunks(rows_per_statement(backend, parcel_columns.len())) {
                let sql = insert_sql("parcels", &parcel_columns, batch.len());
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (id, (package, carrier, number)) in batch {
                    q = q.bind(**id).bind(tenant.get()).bind(carrier).bind(number).bind(*package)
                        .bind("subscribed").bind("delivered").bind(at).bind(at).bind(at).bind(at)
                        .bind(at).bind(at).bind(at);
                }
                q.execute(&mut *tx).await?;
            }
            let event_columns = ["tenant_id", "parcel_id", "event_key", "occurred_at", "state",
                "description", "location", "received_at"];
            let all: Vec<usize> = (0..events).collect();
            for batch in all.chunks(rows_per_statement(backend, event_columns.len())) {
                let sql = insert_sql("tracking_events", &event_columns, batch.len());
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for &e in batch {
                    // Round robin over the parcels: the n-th scan of each parcel.
                    let parcel = parcel_ids[e % parcels];
                    let scan = (e / parcels) as i64;
                    q = q.bind(tenant.get()).bind(parcel).bind(format!("scan-{scan}"))
                        .bind(at + scan * 3_600_000).bind("in_transit")
                        .bind("快件已到达【杭州转运中心】，正发往下一站").bind("杭州市").bind(at);
                }
                q.execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// How many of the tenant's orders have list columns (carrier, warehouse, tags, open
    /// after-sale) other than what their packages, shipments, lines and after-sales give, by
    /// the rules of the triggers of migrations 0011 and 0013. 0 after a faithful load.
    pub async fn seed_list_mismatches(&self, tenant: TenantId) -> Result<i64> {
        let sql = format!(
            "SELECT COUNT(*) FROM orders o WHERE o.tenant_id = $1 AND ( \
               o.list_after_sale <> CASE WHEN EXISTS (SELECT 1 FROM after_sales a \
                 WHERE a.order_id = o.id AND a.status IN ({OPEN_AFTER_SALE})) THEN 1 ELSE 0 END OR \
               COALESCE(o.list_warehouse_id, -1) <> COALESCE((SELECT MAX(p.warehouse_id) \
                 FROM package_lines pl JOIN packages p ON p.id = pl.package_id WHERE pl.order_id = o.id), -1) \
               OR COALESCE(o.list_carrier, '') <> COALESCE( \
                 (SELECT MAX(s.carrier_code) FROM shipments s WHERE s.order_id = o.id), \
                 (SELECT MAX(w.carrier_code) FROM package_lines pl JOIN waybills w ON w.package_id = pl.package_id \
                  WHERE pl.order_id = o.id), \
                 (SELECT MAX(p.carrier_code) FROM package_lines pl JOIN packages p ON p.id = pl.package_id \
                  WHERE pl.order_id = o.id), '') \
               OR LENGTH(o.list_tags) <> COALESCE((SELECT SUM(LENGTH(s.tags) + 1) + 1 \
                 FROM order_lines l JOIN skus s ON s.id = l.sku_id WHERE l.order_id = o.id AND s.tags <> ''), 0))"
        );
        let n: i64 = crate::on_db!(&self.db, pool => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get()).fetch_one(pool).await?);
        Ok(n)
    }

    /// After a bulk load, brings the database to where months of normal writes and the
    /// background maintenance would have it: planner statistics (`ANALYZE`) and, on
    /// PostgreSQL, the visibility map that index-only scans need (`VACUUM`).
    pub async fn analyze(&self) -> Result<()> {
        match &self.db {
            crate::Db::Sqlite(pool) => {
                sqlx::query("ANALYZE").execute(pool).await?;
            }
            crate::Db::Postgres(pool) => {
                sqlx::query(
                    "VACUUM ANALYZE orders, order_lines, packages, package_lines, waybills, \
                     shipments, holds, after_sales",
                )
                .execute(pool)
                .await?;
            }
        }
        Ok(())
    }
}
