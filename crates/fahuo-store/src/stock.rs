//! Stock levels and the stock ledger, changed only through movements ([`Store::move_stock`],
//! [`Store::transfer_stock`], [`Store::apply_stock_count`]); and the settings of a stock row
//! that move no stock: bin (库位), safety stock, low-stock threshold.
//!
//! Each movement reads its stock row under a write lock (PostgreSQL `FOR UPDATE`; SQLite's
//! `BEGIN IMMEDIATE` already serialises writers), lets the domain decide whether the movement
//! is admissible, then updates the row and appends the ledger entry in the same transaction.
//! So two reservations racing for the last unit cannot both succeed, and the ledger always sums
//! to the row.

use crate::audit::insert_audit;
use crate::{Db, Result, Store, StoreError, from_ms, in_tx, on_db};
use chrono::{DateTime, Utc};
use fahuo_domain::audit::AuditEntry;
use fahuo_domain::stock::{MovementKind, StockLevel, StockMovement, StockTransfer};
use fahuo_domain::{OrderId, SkuId, TenantId, WarehouseId};
use serde::Serialize;

/// One ledger entry as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerEntry {
    pub id: i64,
    pub warehouse_id: WarehouseId,
    pub sku_id: SkuId,
    pub kind: MovementKind,
    pub on_hand_delta: i64,
    pub reserved_delta: i64,
    pub order_id: Option<OrderId>,
    pub note: Option<String>,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// Inside transaction `$tx`: creates the stock row of `$warehouse` × `$sku` if needed and reads
/// it under `$lock` ([`Store::row_lock`]). Evaluates to its [`StockLevel`]. Callers check that
/// the warehouse and SKU are the tenant's.
macro_rules! lock_stock_row {
    ($tx:expr, $lock:expr, $tenant:expr, $warehouse:expr, $sku:expr) => {{
        let tenant: fahuo_domain::TenantId = $tenant;
        let warehouse: fahuo_domain::WarehouseId = $warehouse;
        let sku: fahuo_domain::SkuId = $sku;
        let select = format!(
            "SELECT {} FROM stock WHERE tenant_id = $1 AND warehouse_id = $2 AND sku_id = $3{}",
            $crate::stock::LEVEL_COLUMNS,
            $lock
        );
        // The row almost always exists: read it first, and create it only when it does not.
        let found: Option<$crate::stock::LevelRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(select.clone()))
                .bind(tenant.get())
                .bind(warehouse.get())
                .bind(sku.get())
                .fetch_optional(&mut *$tx)
                .await?;
        let row: $crate::stock::LevelRow = match found {
            Some(row) => row,
            None => {
                sqlx::query(
                    "INSERT INTO stock (tenant_id, warehouse_id, sku_id, on_hand, reserved, safety) \
                     VALUES ($1, $2, $3, 0, 0, 0) ON CONFLICT (warehouse_id, sku_id) DO NOTHING",
                )
                .bind(tenant.get())
                .bind(warehouse.get())
                .bind(sku.get())
                .execute(&mut *$tx)
                .await?;
                sqlx::query_as(sqlx::AssertSqlSafe(select))
                    .bind(tenant.get())
                    .bind(warehouse.get())
                    .bind(sku.get())
                    .fetch_one(&mut *$tx)
                    .await?
            }
        };
        fahuo_domain::stock::StockLevel::from(row)
    }};
}
pub(crate) use lock_stock_row;

/// Whether the warehouse and the SKU are both the tenant's.
macro_rules! owned {
    ($conn:expr, $tenant:expr, $warehouse:expr, $sku:expr) => {{
        let tenant: fahuo_domain::TenantId = $tenant;
        let warehouse: fahuo_domain::WarehouseId = $warehouse;
        let sku: fahuo_domain::SkuId = $sku;
        let owned: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM warehouses WHERE tenant_id = $1 AND id = $2) + \
             (SELECT COUNT(*) FROM skus WHERE tenant_id = $1 AND id = $3)",
        )
        .bind(tenant.get())
        .bind(warehouse.get())
        .bind(sku.get())
        .fetch_one($conn)
        .await?;
        owned == 2
    }};
}
pub(crate) use owned;

/// Fails the enclosing function with `NotFound` unless the warehouse and the SKU are both the
/// tenant's (a stock row is keyed by warehouse and SKU only, so this is the tenant check).
macro_rules! ensure_owned {
    ($conn:expr, $tenant:expr, $warehouse:expr, $sku:expr) => {{
        if !$crate::stock::owned!($conn, $tenant, $warehouse, $sku) {
            return Err($crate::StoreError::NotFound);
        }
    }};
}
#[allow(unused_imports)] // for the other stores; this module uses it by name
pub(crate) use ensure_owned;

/// Applies one movement inside transaction `$tx`: creates the stock row if needed, reads it
/// under `$lock` ([`Store::row_lock`]), lets the domain decide, then updates the row and appends
/// the ledger entry; when goods arrive (on hand grows), queues `stock.arrived` so that orders
/// waiting for the SKU are retried. Evaluates to the new level; a movement the domain refuses
/// returns `InsufficientStock` from the enclosing function (rolling the transaction back).
/// Callers check that the warehouse and SKU are the tenant's.
macro_rules! apply_stock_movement {
    ($tx:expr, $lock:expr, $tenant:expr, $movement:expr, $actor:expr, $now:expr) => {{
        let movement: &fahuo_domain::stock::StockMovement = $movement;
        let tenant: fahuo_domain::TenantId = $tenant;
        let level = $crate::stock::lock_stock_row!(
            $tx,
            $lock,
            tenant,
            movement.warehouse_id,
            movement.sku_id
        );
        if !level.admits(movement) {
            return Err($crate::StoreError::InsufficientStock(format!(
                "{:?} of {} for SKU {} in warehouse {}: on hand {}, reserved {}, safety {}",
                movement.kind,
                movement.on_hand_delta.abs().max(movement.reserved_delta.abs()),
                movement.sku_id,
                movement.warehouse_id,
                level.on_hand,
                level.reserved,
                level.safety
            )));
        }
        sqlx::query(
            "UPDATE stock SET on_hand = on_hand + $1, reserved = reserved + $2 \
             WHERE warehouse_id = $3 AND sku_id = $4",
        )
        .bind(movement.on_hand_delta)
        .bind(movement.reserved_delta)
        .bind(movement.warehouse_id.get())
        .bind(movement.sku_id.get())
        .execute(&mut *$tx)
        .await?;
        sqlx::query(
            "INSERT INTO stock_ledger (tenant_id, warehouse_id, sku_id, kind, on_hand_delta, \
             reserved_delta, order_id, note, actor, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(tenant.get())
        .bind(movement.warehouse_id.get())
        .bind(movement.sku_id.get())
        .bind(movement.kind.as_str())
        .bind(movement.on_hand_delta)
        .bind(movement.reserved_delta)
        .bind(movement.order_id.map(|o| o.get()))
        .bind(movement.note.as_deref())
        .bind($actor)
        .bind($crate::ms($now))
        .execute(&mut *$tx)
        .await?;
        if movement.on_hand_delta > 0 {
            // One job per SKU per 10-second slot, run just after the slot ends: a count import
            // or a burst of arrivals retries the waiting orders once, after all of it landed.
            let slot = $crate::ms($now).div_euclid(10_000);
            let job = $crate::jobs::NewJob::new(
                $crate::stock::STOCK_ARRIVED_JOB,
                serde_json::json!({ "sku_id": movement.sku_id }),
                $crate::from_ms((slot + 1) * 10_000 + 1_000),
            )
            .for_tenant(tenant)
            .dedupe(format!("stock.arrived:{}:{}:{slot}", tenant.get(), movement.sku_id.get()));
            $crate::enqueue_job!(&mut *$tx, &job, $now);
        }
        fahuo_domain::stock::StockLevel {
            on_hand: level.on_hand + movement.on_hand_delta,
            reserved: level.reserved + movement.reserved_delta,
            ..level
        }
    }};
}
pub(crate) use apply_stock_movement;

/// The job queued when goods arrive for a SKU; the application retries orders waiting for it.
pub const STOCK_ARRIVED_JOB: &str = "stock.arrived";

#[derive(sqlx::FromRow)]
pub(crate) struct LevelRow {
    warehouse_id: i64,
    sku_id: i64,
    on_hand: i64,
    reserved: i64,
    safety: i64,
}

impl From<LevelRow> for StockLevel {
    fn from(r: LevelRow) -> Self {
        StockLevel {
            warehouse_id: WarehouseId(r.warehouse_id),
            sku_id: SkuId(r.sku_id),
            on_hand: r.on_hand,
            reserved: r.reserved,
            safety: r.safety,
        }
    }
}

/// The ledger's sums for one stock row next to the row itself, for consistency checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerCheck {
    pub warehouse_id: WarehouseId,
    pub sku_id: SkuId,
    pub on_hand: i64,
    pub reserved: i64,
    pub ledger_on_hand: i64,
    pub ledger_reserved: i64,
}

impl LedgerCheck {
    pub fn consistent(&self) -> bool {
        self.on_hand == self.ledger_on_hand && self.reserved == self.ledger_reserved
    }
}

pub(crate) const LEVEL_COLUMNS: &str = "warehouse_id, sku_id, on_hand, reserved, safety";

impl Store {
    /// Applies one movement atomically and returns the new level. A movement the domain does
    /// not admit (e.g. reserving more than is available) is `InsufficientStock` and changes
    /// nothing.
    pub async fn move_stock(
        &self,
        tenant: TenantId,
        movement: &StockMovement,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<StockLevel> {
        let lock = self.row_lock();
        let level: StockLevel = in_tx!(&self.db, tx => {
            ensure_owned!(&mut *tx, tenant, movement.warehouse_id, movement.sku_id);
            apply_stock_movement!(tx, lock, tenant, movement, actor, now)
        });
        Ok(level)
    }

    /// `" FOR UPDATE"` on PostgreSQL, nothing on SQLite (whose `BEGIN IMMEDIATE` already
    /// serialises writers): appended to the stock row's SELECT in [`apply_stock_movement`].
    pub(crate) fn row_lock(&self) -> &'static str {
        match self.db {
            Db::Sqlite(_) => "",
            Db::Postgres(_) => " FOR UPDATE",
        }
    }

    /// Sets the safety stock (安全库存) of a row, creating the row if needed. `NotFound` unless
    /// the warehouse and SKU are the tenant's.
    pub async fn set_safety_stock(
        &self,
        tenant: TenantId,
        warehouse: WarehouseId,
        sku: SkuId,
        safety: i64,
    ) -> Result<()> {
        if safety < 0 {
            return Err(StoreError::Conflict(
                "safety stock cannot be negative".into(),
            ));
        }
        in_tx!(&self.db, tx => {
            // Without this check another tenant could create the row of this warehouse and SKU
            // under its own id, after which the owner's movements would no longer find it.
            ensure_owned!(&mut *tx, tenant, warehouse, sku);
            sqlx::query(
                "INSERT INTO stock (tenant_id, warehouse_id, sku_id, on_hand, reserved, safety) \
                 VALUES ($1, $2, $3, 0, 0, $4) ON CONFLICT (warehouse_id, sku_id) DO UPDATE SET safety = $4 \
                 WHERE stock.tenant_id = $1")
                .bind(tenant.get()).bind(warehouse.get()).bind(sku.get()).bind(safety)
                .execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Stock rows of the tenant, optionally for one SKU.
    pub async fn stock_levels(
        &self,
        tenant: TenantId,
        sku: Option<SkuId>,
    ) -> Result<Vec<StockLevel>> {
        let sql = format!(
            "SELECT {LEVEL_COLUMNS} FROM stock WHERE tenant_id = $1 AND ($2 IS NULL OR sku_id = $2) \
             ORDER BY warehouse_id, sku_id"
        );
        let rows: Vec<LevelRow> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get()).bind(sku.map(|s| s.get())).fetch_all(pool).await?);
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The ledger of one stock row, oldest first.
    pub async fn stock_ledger(
        &self,
        tenant: TenantId,
        warehouse: WarehouseId,
        sku: SkuId,
    ) -> Result<Vec<LedgerEntry>> {
        type Row = (
            i64,
            i64,
            i64,
            String,
            i64,
            i64,
            Option<i64>,
            Option<String>,
            String,
            i64,
        );
        let rows: Vec<Row> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT id, warehouse_id, sku_id, kind, on_hand_delta, reserved_delta, order_id, note, \
                 actor, at FROM stock_ledger WHERE tenant_id = $1 AND warehouse_id = $2 AND sku_id = $3 \
                 ORDER BY id")
            .bind(tenant.get()).bind(warehouse.get()).bind(sku.get()).fetch_all(pool).await?);
        rows.into_iter()
            .map(|(id, w, s, kind, dh, dr, order, note, actor, at)| {
                Ok(LedgerEntry {
                    id,
                    warehouse_id: WarehouseId(w),
                    sku_id: SkuId(s),
                    kind: MovementKind::parse(&kind)?,
                    on_hand_delta: dh,
                    reserved_delta: dr,
                    order_id: order.map(OrderId),
                    note,
                    actor,
                    at: from_ms(at),
                })
            })
            .collect()
    }

    /// Every stock row of the tenant with the sums of its ledger: the "ledger sums to stock"
    /// invariant, checkable at any time.
    pub async fn check_stock_ledger(&self, tenant: TenantId) -> Result<Vec<LedgerCheck>> {
        type Row = (i64, i64, i64, i64, i64, i64);
        let rows: Vec<Row> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT s.warehouse_id, s.sku_id, s.on_hand, s.reserved, \
                 CAST(COALESCE(SUM(l.on_hand_delta), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(l.reserved_delta), 0) AS BIGINT) \
                 FROM stock s LEFT JOIN stock_ledger l ON l.warehouse_id = s.warehouse_id \
                 AND l.sku_id = s.sku_id WHERE s.tenant_id = $1 \
                 GROUP BY s.warehouse_id, s.sku_id, s.on_hand, s.reserved ORDER BY s.warehouse_id, s.sku_id")
            .bind(tenant.get()).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(w, s, on_hand, reserved, lo, lr)| LedgerCheck {
                warehouse_id: WarehouseId(w),
                sku_id: SkuId(s),
                on_hand,
                reserved,
                ledger_on_hand: lo,
                ledger_reserved: lr,
            })
            .collect())
    }

    /// Records where a SKU sits in a warehouse (库位); `None` clears it. Audited.
    pub async fn set_stock_bin(
        &self,
        tenant: TenantId,
        warehouse: WarehouseId,
        sku: SkuId,
        bin: Option<&str>,
        audit: &AuditEntry,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            // Both must be the tenant's (the stock row is keyed by warehouse and SKU only).
            let _: i64 = sqlx::query_scalar("SELECT id FROM warehouses WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(warehouse.get()).fetch_one(&mut *tx).await?;
            let _: i64 = sqlx::query_scalar("SELECT id FROM skus WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(sku.get()).fetch_one(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO stock (tenant_id, warehouse_id, sku_id, on_hand, reserved, safety, bin) \
                 VALUES ($1, $2, $3, 0, 0, 0, $4) ON CONFLICT (warehouse_id, sku_id) \
                 DO UPDATE SET bin = excluded.bin")
                .bind(tenant.get()).bind(warehouse.get()).bind(sku.get()).bind(bin)
                .execute(&mut *tx).await?;
            let mut entry = audit.clone();
            entry.entity_id = Some(sku.get());
            entry.after = Some(serde_json::json!({"warehouse_id": warehouse, "bin": bin}));
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// The bins of a warehouse's SKUs that have one.
    pub async fn stock_bins(
        &self,
        tenant: TenantId,
        warehouse: WarehouseId,
    ) -> Result<std::collections::HashMap<SkuId, String>> {
        let rows: Vec<(i64, String)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT sku_id, bin FROM stock WHERE tenant_id = $1 AND warehouse_id = $2 \
                 AND bin IS NOT NULL AND bin <> ''")
            .bind(tenant.get()).bind(warehouse.get()).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|(id, bin)| (SkuId(id), bin)).collect())
    }
}

/// A stock row with the names a person reads it by: the stock export and the low-stock alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockRow {
    pub warehouse_id: WarehouseId,
    pub warehouse_code: String,
    pub warehouse_name: String,
    pub sku_id: SkuId,
    pub sku_code: String,
    pub sku_name: String,
    pub barcode: Option<String>,
    pub bin: Option<String>,
    pub on_hand: i64,
    pub reserved: i64,
    pub safety: i64,
    /// On hand − reserved − safety: what can still be promised.
    pub available: i64,
    /// 预警阈值: listed as an alert when available ≤ threshold; 0 = off.
    pub low_stock_threshold: i64,
}

type StockRowTuple = (
    i64,
    String,
    String,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
    i64,
    i64,
);

const STOCK_ROW_SELECT: &str = "SELECT s.warehouse_id, w.code, w.name, s.sku_id, k.code, k.name, \
    k.barcode, s.bin, s.on_hand, s.reserved, s.safety, s.low_stock_threshold FROM stock s \
    JOIN warehouses w ON w.id = s.warehouse_id AND w.tenant_id = s.tenant_id \
    JOIN skus k ON k.id = s.sku_id AND k.tenant_id = s.tenant_id WHERE s.tenant_id = $1";

impl From<StockRowTuple> for StockRow {
    fn from(
        (w, wcode, wname, k, kcode, kname, barcode, bin, on_hand, reserved, safety, threshold): StockRowTuple,
    ) -> Self {
        StockRow {
            warehouse_id: WarehouseId(w),
            warehouse_code: wcode,
            warehouse_name: wname,
            sku_id: SkuId(k),
            sku_code: kcode,
            sku_name: kname,
            barcode,
            bin: bin.filter(|b| !b.is_empty()),
            on_hand,
            reserved,
            safety,
            available: on_hand - reserved - safety,
            low_stock_threshold: threshold,
        }
    }
}

/// Both ends of a transfer after it was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransferLevels {
    pub from: StockLevel,
    pub to: StockLevel,
}

/// One counted row of a stock count (盘点), already resolved to ids: set on hand to `counted`
/// and, where given, the row's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountLine {
    pub warehouse_id: WarehouseId,
    pub sku_id: SkuId,
    pub counted: i64,
    pub safety: Option<i64>,
    pub low_stock_threshold: Option<i64>,
    pub bin: Option<String>,
}

/// What applying one [`CountLine`] did, decided under the row lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountOutcome {
    /// On hand moved by `delta` (an `Adjust` entry; none when 0) and/or a setting changed.
    Applied {
        on_hand_before: i64,
        delta: i64,
        reserved: i64,
    },
    /// The row already says what was counted.
    Unchanged { on_hand: i64, reserved: i64 },
    /// Refused, nothing changed: fewer units were counted than are promised to orders.
    BelowReserved { on_hand: i64, reserved: i64 },
    /// Refused, nothing changed: the warehouse or the SKU is not the tenant's.
    NotFound,
}

/// Rows of a stock count applied per transaction: a big count does not hold the write lock
/// (all of it, on SQLite) for long, and a failure loses at most one chunk's work.
pub const COUNT_CHUNK: usize = 500;

impl Store {
    /// Moves units between two of the tenant's warehouses: the `TransferOut` and the
    /// `TransferIn` are committed together, with the audit entry, or not at all. Refused with
    /// `InsufficientStock` when the source's available stock (on hand − reserved − safety) is
    /// short; `NotFound` unless both warehouses and the SKU are the tenant's.
    pub async fn transfer_stock(
        &self,
        tenant: TenantId,
        transfer: &StockTransfer,
        actor: &str,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<TransferLevels> {
        let lock = self.row_lock();
        let [out, into] = transfer.movements();
        // Rows are locked in warehouse order, so that two transfers in opposite directions
        // wait for each other instead of deadlocking (PostgreSQL).
        let out_first = out.warehouse_id < into.warehouse_id;
        let (first, second) = if out_first {
            (&out, &into)
        } else {
            (&into, &out)
        };
        let levels = in_tx!(&self.db, tx => {
            ensure_owned!(&mut *tx, tenant, transfer.from, transfer.sku_id);
            ensure_owned!(&mut *tx, tenant, transfer.to, transfer.sku_id);
            let a = apply_stock_movement!(tx, lock, tenant, first, actor, now);
            let b = apply_stock_movement!(tx, lock, tenant, second, actor, now);
            let levels = if out_first {
                TransferLevels { from: a, to: b }
            } else {
                TransferLevels { from: b, to: a }
            };
            let mut entry = audit.clone();
            entry.entity_id = Some(transfer.sku_id.get());
            entry.after = Some(serde_json::json!({
                "from_warehouse_id": transfer.from,
                "to_warehouse_id": transfer.to,
                "units": transfer.units,
                "note": transfer.note,
                "from_on_hand": levels.from.on_hand,
                "to_on_hand": levels.to.on_hand,
            }));
            insert_audit!(&mut *tx, &entry);
            levels
        });
        Ok(levels)
    }

    /// Sets the low-stock threshold (预警阈值) of a row, creating the row if needed; 0 switches
    /// the alert off. Audited. `NotFound` unless the warehouse and SKU are the tenant's.
    pub async fn set_low_stock_threshold(
        &self,
        tenant: TenantId,
        warehouse: WarehouseId,
        sku: SkuId,
        threshold: i64,
        audit: &AuditEntry,
    ) -> Result<()> {
        if threshold < 0 {
            return Err(StoreError::Conflict(
                "a low-stock threshold cannot be negative".into(),
            ));
        }
        in_tx!(&self.db, tx => {
            ensure_owned!(&mut *tx, tenant, warehouse, sku);
            sqlx::query(
                "INSERT INTO stock (tenant_id, warehouse_id, sku_id, on_hand, reserved, safety, \
                 low_stock_threshold) VALUES ($1, $2, $3, 0, 0, 0, $4) ON CONFLICT (warehouse_id, sku_id) \
                 DO UPDATE SET low_stock_threshold = excluded.low_stock_threshold")
                .bind(tenant.get()).bind(warehouse.get()).bind(sku.get()).bind(threshold)
                .execute(&mut *tx).await?;
            let mut entry = audit.clone();
            entry.entity_id = Some(sku.get());
            entry.after = Some(serde_json::json!({"warehouse_id": warehouse, "low_stock_threshold": threshold}));
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// Every stock row of the tenant with warehouse and SKU names, by warehouse code then SKU
    /// code (sorted here, so both backends agree whatever their collation).
    pub async fn stock_rows(&self, tenant: TenantId) -> Result<Vec<StockRow>> {
        let rows: Vec<StockRowTuple> = on_db!(&self.db, pool => sqlx::query_as(STOCK_ROW_SELECT)
            .bind(tenant.get()).fetch_all(pool).await?);
        let mut rows: Vec<StockRow> = rows.into_iter().map(StockRow::from).collect();
        rows.sort_by(|a, b| {
            (&a.warehouse_code, &a.sku_code).cmp(&(&b.warehouse_code, &b.sku_code))
        });
        Ok(rows)
    }

    /// The rows whose available stock is at or below their threshold (threshold > 0), the
    /// furthest below first.
    pub async fn low_stock_alerts(&self, tenant: TenantId) -> Result<Vec<StockRow>> {
        let sql = format!(
            "{STOCK_ROW_SELECT} AND s.low_stock_threshold > 0 \
             AND s.on_hand - s.reserved - s.safety <= s.low_stock_threshold"
        );
        let rows: Vec<StockRowTuple> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get()).fetch_all(pool).await?);
        let mut rows: Vec<StockRow> = rows.into_iter().map(StockRow::from).collect();
        rows.sort_by(|a, b| {
            (
                a.available - a.low_stock_threshold,
                &a.warehouse_code,
                &a.sku_code,
            )
                .cmp(&(
                    b.available - b.low_stock_threshold,
                    &b.warehouse_code,
                    &b.sku_code,
                ))
        });
        Ok(rows)
    }

    /// Applies a stock count (盘点): each line sets on hand to the counted number with an
    /// `Adjust` entry (noted `note`) and updates the settings it gives. The delta is computed
    /// under the row lock, so a movement since the count was previewed is respected; a line
    /// counting fewer units than are reserved is refused and changes nothing. Lines are applied
    /// [`COUNT_CHUNK`] to a transaction; the outcomes come back in the lines' order.
    pub async fn apply_stock_count(
        &self,
        tenant: TenantId,
        lines: &[CountLine],
        note: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<CountOutcome>> {
        let lock = self.row_lock();
        let mut outcomes = Vec::with_capacity(lines.len());
        for chunk in lines.chunks(COUNT_CHUNK) {
            let done: Vec<CountOutcome> = in_tx!(&self.db, tx => {
                let mut done = Vec::with_capacity(chunk.len());
                for line in chunk {
                    if line.counted < 0
                        || line.safety.is_some_and(|v| v < 0)
                        || line.low_stock_threshold.is_some_and(|v| v < 0)
                    {
                        return Err(StoreError::Conflict("stock counts and settings cannot be negative".into()));
                    }
                    if !owned!(&mut *tx, tenant, line.warehouse_id, line.sku_id) {
                        done.push(CountOutcome::NotFound);
                        continue;
                    }
                    let level = lock_stock_row!(tx, lock, tenant, line.warehouse_id, line.sku_id);
                    if line.counted < level.reserved {
                        done.push(CountOutcome::BelowReserved { on_hand: level.on_hand, reserved: level.reserved });
                        continue;
                    }
                    let (threshold, bin): (i64, Option<String>) = sqlx::query_as(
                        "SELECT low_stock_threshold, bin FROM stock WHERE warehouse_id = $1 AND sku_id = $2")
                        .bind(line.warehouse_id.get()).bind(line.sku_id.get())
                        .fetch_one(&mut *tx).await?;
                    let settings_change = line.safety.is_some_and(|v| v != level.safety)
                        || line.low_stock_threshold.is_some_and(|v| v != threshold)
                        || line.bin.as_ref().is_some_and(|b| Some(b) != bin.as_ref());
                    let delta = line.counted - level.on_hand;
                    if delta != 0 {
                        let movement = StockMovement::new(line.warehouse_id, line.sku_id, MovementKind::Adjust, delta)?
                            .with_note(note);
                        apply_stock_movement!(tx, lock, tenant, &movement, actor, now);
                    }
                    if settings_change {
                        sqlx::query(
                            "UPDATE stock SET safety = COALESCE($1, safety), \
                             low_stock_threshold = COALESCE($2, low_stock_threshold), bin = COALESCE($3, bin) \
                             WHERE warehouse_id = $4 AND sku_id = $5")
                            .bind(line.safety).bind(line.low_stock_threshold).bind(line.bin.as_deref())
                            .bind(line.warehouse_id.get()).bind(line.sku_id.get())
                            .execute(&mut *tx).await?;
                    }
                    done.push(if delta != 0 || settings_change {
                        CountOutcome::Applied { on_hand_before: level.on_hand, delta, reserved: level.reserved }
                    } else {
                        CountOutcome::Unchanged { on_hand: level.on_hand, reserved: level.reserved }
                    });
                }
                done
            });
            outcomes.extend(done);
        }
        Ok(outcomes)
    }
}
