//! Stock levels and the stock ledger, changed only through [`Store::move_stock`]; and where
//! each SKU sits in a warehouse (bins, 库位), which moves no stock.
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
use fahuo_domain::stock::{MovementKind, StockLevel, StockMovement};
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
        sqlx::query(
            "INSERT INTO stock (tenant_id, warehouse_id, sku_id, on_hand, reserved, safety) \
             VALUES ($1, $2, $3, 0, 0, 0) ON CONFLICT (warehouse_id, sku_id) DO NOTHING",
        )
        .bind(tenant.get())
        .bind(movement.warehouse_id.get())
        .bind(movement.sku_id.get())
        .execute(&mut *$tx)
        .await?;
        let select = format!(
            "SELECT {} FROM stock WHERE tenant_id = $1 AND warehouse_id = $2 AND sku_id = $3{}",
            $crate::stock::LEVEL_COLUMNS,
            $lock
        );
        let row: $crate::stock::LevelRow = sqlx::query_as(sqlx::AssertSqlSafe(select))
            .bind(tenant.get())
            .bind(movement.warehouse_id.get())
            .bind(movement.sku_id.get())
            .fetch_one(&mut *$tx)
            .await?;
        let level = fahuo_domain::stock::StockLevel::from(row);
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
            let job = $crate::jobs::NewJob::new(
                $crate::stock::STOCK_ARRIVED_JOB,
                serde_json::json!({ "sku_id": movement.sku_id }),
                $now,
            )
            .for_tenant(tenant);
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
            // The warehouse and SKU must be the tenant's own.
            let owned: i64 = sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM warehouses WHERE tenant_id = $1 AND id = $2) + \
                 (SELECT COUNT(*) FROM skus WHERE tenant_id = $1 AND id = $3)")
                .bind(tenant.get()).bind(movement.warehouse_id.get()).bind(movement.sku_id.get())
                .fetch_one(&mut *tx).await?;
            if owned != 2 {
                return Err(StoreError::NotFound);
            }
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

    /// Sets the safety stock (安全库存) of a row, creating the row if needed.
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
