//! From approved order to reserved stock: packages with their reservations (预占), merges into
//! a receiver's open package (合单), unmerge, stock-out registrations (缺货登记), and stock that
//! follows the order (released on cancel, refund, hold or edit; deducted when it ships).
//!
//! A plan is stored in one transaction: the order's state, any transfers, the packages and
//! their lines, and every reservation — each reservation through the same locked stock-row
//! check as any other movement. If one SKU is short by the time the plan is stored (another
//! order took the last unit), nothing of the plan remains and the caller re-plans.

use crate::audit::insert_audit;
use crate::orders::apply_order_event;
use crate::stock::apply_stock_movement;
use crate::{Result, Store, StoreError, from_ms, in_tx, ms, on_db, opt_from_ms};
use chrono::{DateTime, Utc};
use fahuo_domain::audit::AuditEntry;
use fahuo_domain::stock::{MovementKind, StockLevel, StockMovement};
use fahuo_domain::{
    CarrierCode, OrderEvent, OrderId, OrderLineId, OrderState, PackageId, ShopId, SkuId, TenantId,
    WarehouseId,
};
use serde::Serialize;

/// One package of a plan, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagePlan {
    pub warehouse_id: WarehouseId,
    pub carrier: Option<CarrierCode>,
    /// Estimated weight from the SKUs (replaced when the parcel is weighed).
    pub weight_g: i64,
    /// (order line, items).
    pub lines: Vec<(OrderLineId, i64)>,
    /// SKU units to reserve in the warehouse.
    pub units: Vec<(SkuId, i64)>,
    /// Add to this open package (合单) instead of opening a new one.
    pub merge_into: Option<PackageId>,
}

/// Stock to move between warehouses before the plan's reservations (调拨).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferPlan {
    pub from: WarehouseId,
    pub to: WarehouseId,
    pub sku_id: SkuId,
    pub units: i64,
}

/// An open package another order to the same receiver could join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeTarget {
    pub package_id: PackageId,
    pub warehouse_id: WarehouseId,
    pub weight_g: i64,
    /// The orders already in it: (order, shop, presale ship date).
    pub orders: Vec<(OrderId, ShopId, Option<DateTime<Utc>>)>,
}

/// An order waiting for stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stockout {
    pub id: i64,
    pub order_id: OrderId,
    pub sku_id: SkuId,
    pub units_missing: i64,
    pub expected_at: Option<DateTime<Utc>>,
    pub registered_at: DateTime<Utc>,
    pub ship_by: Option<DateTime<Utc>>,
}

/// A held reservation, as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reservation {
    pub package_id: PackageId,
    pub order_id: OrderId,
    pub warehouse_id: WarehouseId,
    pub sku_id: SkuId,
    pub units: i64,
}

/// What happens to an order's stock when it moves from `$from` to `$to` inside transaction
/// `$tx`: leaving the allocation (hold, cancel, refund, deallocate) releases its held
/// reservations and takes its lines out of open packages that have no waybill yet (a package
/// left empty is cancelled); shipping deducts them. Holds of orders already in the warehouse
/// flow (waybill issued, printed, packed) keep their reservation: the goods may be picked.
macro_rules! stock_follows_order {
    ($tx:expr, $lock:expr, $tenant:expr, $order:expr, $from:expr, $to:expr, $actor:expr, $now:expr) => {{
        let (from, to): (fahuo_domain::OrderState, fahuo_domain::OrderState) = ($from, $to);
        let order: fahuo_domain::OrderId = $order;
        let tenant: fahuo_domain::TenantId = $tenant;
        let leaving = match to {
            fahuo_domain::OrderState::OnHold | fahuo_domain::OrderState::Approved => {
                from == fahuo_domain::OrderState::Allocated
            }
            fahuo_domain::OrderState::Cancelled | fahuo_domain::OrderState::Refunded => {
                from.is_before_shipping()
            }
            _ => false,
        };
        let shipping = to == fahuo_domain::OrderState::Shipped && from.is_before_shipping();
        if leaving || shipping {
            let held: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
                "SELECT id, warehouse_id, sku_id, units FROM reservations \
                 WHERE tenant_id = $1 AND order_id = $2 AND state = 'held' ORDER BY id",
            )
            .bind(tenant.get())
            .bind(order.get())
            .fetch_all(&mut *$tx)
            .await?;
            let (kind, state, note) = if shipping {
                (
                    fahuo_domain::stock::MovementKind::Deduct,
                    "deducted",
                    "发货出库",
                )
            } else {
                (
                    fahuo_domain::stock::MovementKind::Release,
                    "released",
                    "释放预占",
                )
            };
            for (id, warehouse, sku, units) in held {
                let movement = fahuo_domain::stock::StockMovement::new(
                    fahuo_domain::WarehouseId(warehouse),
                    fahuo_domain::SkuId(sku),
                    kind,
                    units,
                )?
                .for_order(order)
                .with_note(note);
                let _level: fahuo_domain::stock::StockLevel =
                    apply_stock_movement!($tx, $lock, tenant, &movement, $actor, $now);
                sqlx::query("UPDATE reservations SET state = $1, closed_at = $2 WHERE id = $3")
                    .bind(state)
                    .bind($crate::ms($now))
                    .bind(id)
                    .execute(&mut *$tx)
                    .await?;
            }
        }
        if leaving {
            // Out of every open package without a number; a package left empty is cancelled.
            let open: Vec<i64> = sqlx::query_scalar(
                "SELECT DISTINCT p.id FROM packages p JOIN package_lines l ON l.package_id = p.id \
                 WHERE p.tenant_id = $1 AND l.order_id = $2 AND p.state = 'open' \
                 AND NOT EXISTS (SELECT 1 FROM waybills w WHERE w.package_id = p.id \
                 AND w.cancelled_at IS NULL)",
            )
            .bind(tenant.get())
            .bind(order.get())
            .fetch_all(&mut *$tx)
            .await?;
            for package in open {
                sqlx::query("DELETE FROM package_lines WHERE package_id = $1 AND order_id = $2")
                    .bind(package)
                    .bind(order.get())
                    .execute(&mut *$tx)
                    .await?;
                sqlx::query(
                    "UPDATE packages SET state = 'cancelled' WHERE id = $1 AND NOT EXISTS \
                     (SELECT 1 FROM package_lines l WHERE l.package_id = $1)",
                )
                .bind(package)
                .execute(&mut *$tx)
                .await?;
            }
        }
        if matches!(
            to,
            fahuo_domain::OrderState::Cancelled | fahuo_domain::OrderState::Refunded
        ) {
            // Nothing to wait for any more.
            sqlx::query(
                "UPDATE stockouts SET resolved_at = $1 WHERE tenant_id = $2 AND order_id = $3 \
                 AND resolved_at IS NULL",
            )
            .bind($crate::ms($now))
            .bind(tenant.get())
            .bind(order.get())
            .execute(&mut *$tx)
            .await?;
        }
    }};
}
pub(crate) use stock_follows_order;

impl Store {
    /// Stores an allocation plan for an approved order in one transaction: transfers, then
    /// packages (new, or joined: 合单) with their lines and reservations, and the order moves to
    /// `allocated`. A reservation the stock no longer admits is `InsufficientStock` and leaves
    /// nothing behind; a merge target that got a number or was cancelled meanwhile is `Stale`.
    pub async fn store_allocation(
        &self,
        tenant: TenantId,
        order: OrderId,
        transfers: &[TransferPlan],
        packages: &[PackagePlan],
        audit: &AuditEntry,
    ) -> Result<Vec<PackageId>> {
        if packages.is_empty() {
            return Err(StoreError::Conflict("an allocation needs a package".into()));
        }
        let now = audit.at;
        let actor = audit.actor.name();
        let lock = self.row_lock();
        let ids = in_tx!(&self.db, tx => {
            apply_order_event!(tx, tenant, order, OrderEvent::Allocate, now);
            // Every warehouse and line must be the tenant's and the order's.
            for p in packages {
                let _: i64 = sqlx::query_scalar("SELECT id FROM warehouses WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.get()).bind(p.warehouse_id.get()).fetch_one(&mut *tx).await?;
                for (line, _) in &p.lines {
                    let _: i64 = sqlx::query_scalar(
                        "SELECT id FROM order_lines WHERE tenant_id = $1 AND order_id = $2 AND id = $3")
                        .bind(tenant.get()).bind(order.get()).bind(line.get()).fetch_one(&mut *tx).await?;
                    // A line a supplier ships (assigned since the plan was made) is not packed here.
                    let dropship: Option<i64> = sqlx::query_scalar(
                        "SELECT order_line_id FROM dropship_lines WHERE order_line_id = $1")
                        .bind(line.get()).fetch_optional(&mut *tx).await?;
                    if dropship.is_some() {
                        return Err(StoreError::Stale("order"));
                    }
                }
            }
            // Lock every stock row the plan touches in one global order (warehouse, SKU), so two
            // plans — or a plan and a transfer — that share rows queue up instead of deadlocking.
            let mut rows: Vec<(WarehouseId, SkuId)> = transfers
                .iter()
                .flat_map(|t| [(t.from, t.sku_id), (t.to, t.sku_id)])
                .chain(packages.iter().flat_map(|p| p.units.iter().map(|(s, _)| (p.warehouse_id, *s))))
                .collect();
            rows.sort();
            rows.dedup();
            for (warehouse, sku) in rows {
                crate::stock::ensure_owned!(&mut *tx, tenant, warehouse, sku);
                let _: StockLevel = crate::stock::lock_stock_row!(tx, lock, tenant, warehouse, sku);
            }
            for t in transfers {
                let _: i64 = sqlx::query_scalar("SELECT id FROM warehouses WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.get()).bind(t.from.get()).fetch_one(&mut *tx).await?;
                let note = format!("调拨供订单 {order}");
                let out = StockMovement::new(t.from, t.sku_id, MovementKind::TransferOut, t.units)?
                    .for_order(order).with_note(note.clone());
                let _: StockLevel = apply_stock_movement!(tx, lock, tenant, &out, actor, now);
                let inn = StockMovement::new(t.to, t.sku_id, MovementKind::TransferIn, t.units)?
                    .for_order(order).with_note(note);
                let _: StockLevel = apply_stock_movement!(tx, lock, tenant, &inn, actor, now);
            }
            let mut ids = Vec::with_capacity(packages.len());
            for p in packages {
                let id: i64 = match p.merge_into {
                    Some(target) => {
                        let joined = sqlx::query(
                            "UPDATE packages SET weight_g = COALESCE(weight_g, 0) + $1 \
                             WHERE tenant_id = $2 AND id = $3 AND warehouse_id = $4 AND state = 'open' \
                             AND NOT EXISTS (SELECT 1 FROM waybills w WHERE w.package_id = $3 \
                             AND w.cancelled_at IS NULL)")
                            .bind(p.weight_g).bind(tenant.get()).bind(target.get()).bind(p.warehouse_id.get())
                            .execute(&mut *tx).await?;
                        if joined.rows_affected() == 0 {
                            return Err(StoreError::Stale("package"));
                        }
                        target.get()
                    }
                    None => sqlx::query_scalar(
                        "INSERT INTO packages (tenant_id, warehouse_id, state, weight_g, created_at, carrier_code) \
                         VALUES ($1, $2, 'open', $3, $4, $5) RETURNING id")
                        .bind(tenant.get()).bind(p.warehouse_id.get()).bind(p.weight_g).bind(ms(now))
                        .bind(p.carrier.as_ref().map(CarrierCode::as_str))
                        .fetch_one(&mut *tx).await?,
                };
                for (line, items) in &p.lines {
                    sqlx::query(
                        "INSERT INTO package_lines (package_id, tenant_id, order_id, order_line_id, quantity) \
                         VALUES ($1, $2, $3, $4, $5)")
                        .bind(id).bind(tenant.get()).bind(order.get()).bind(line.get()).bind(items)
                        .execute(&mut *tx).await?;
                }
                for (sku, units) in &p.units {
                    let movement = StockMovement::new(p.warehouse_id, *sku, MovementKind::Reserve, *units)?
                        .for_order(order).with_note(format!("包裹 {id}"));
                    let _: StockLevel = apply_stock_movement!(tx, lock, tenant, &movement, actor, now);
                    sqlx::query(
                        "INSERT INTO reservations (tenant_id, package_id, order_id, warehouse_id, sku_id, \
                         units, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'held', $7)")
                        .bind(tenant.get()).bind(id).bind(order.get()).bind(p.warehouse_id.get())
                        .bind(sku.get()).bind(units).bind(ms(now))
                        .execute(&mut *tx).await?;
                }
                ids.push(PackageId(id));
            }
            sqlx::query("UPDATE stockouts SET resolved_at = $1 WHERE tenant_id = $2 AND order_id = $3 \
                 AND resolved_at IS NULL")
                .bind(ms(now)).bind(tenant.get()).bind(order.get()).execute(&mut *tx).await?;
            let mut entry = audit.clone();
            entry.entity_type = "order".into();
            entry.entity_id = Some(order.get());
            insert_audit!(&mut *tx, &entry);
            ids
        });
        Ok(ids)
    }

    /// Takes an allocated order back to approved (for an edit or a new warehouse): its
    /// reservations are released and it leaves its open packages. Audited.
    pub async fn deallocate_order(
        &self,
        tenant: TenantId,
        order: OrderId,
        audit: &AuditEntry,
    ) -> Result<()> {
        let now = audit.at;
        let actor = audit.actor.name();
        let lock = self.row_lock();
        in_tx!(&self.db, tx => {
            let (from, to) = apply_order_event!(tx, tenant, order, OrderEvent::Deallocate, now);
            stock_follows_order!(tx, lock, tenant, order, from, to, actor, now);
            let mut entry = audit.clone();
            entry.entity_type = "order".into();
            entry.entity_id = Some(order.get());
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// Open packages in `warehouse` without a number that hold orders whose receiver has this
    /// merge key (another order to the same person could join one).
    pub async fn merge_targets(
        &self,
        tenant: TenantId,
        merge_key: &str,
        warehouse: WarehouseId,
        except: OrderId,
    ) -> Result<Vec<MergeTarget>> {
        type Row = (i64, i64, Option<i64>, i64, i64, Option<i64>);
        let rows: Vec<Row> = on_db!(&self.db, pool => sqlx::query_as(
                // From the receiver's other allocated orders (indexed by merge key) to their
                // open packages in this warehouse, then everything in those packages. The
                // CROSS JOIN keeps SQLite to that order (PostgreSQL plans it as any join):
                // without statistics it started from every open package instead, a backlog
                // that grows with the orders waiting to print.
                "SELECT p.id, p.warehouse_id, p.weight_g, o.id, o.shop_id, o.presale_ship_at \
                 FROM orders m CROSS JOIN package_lines ml \
                 JOIN packages p ON p.id = ml.package_id \
                 JOIN package_lines l ON l.package_id = p.id JOIN orders o ON o.id = l.order_id \
                 WHERE ml.order_id = m.id \
                 AND m.tenant_id = $1 AND m.merge_key = $3 AND m.state = 'allocated' AND m.id <> $4 \
                 AND p.warehouse_id = $2 AND p.state = 'open' AND o.state = 'allocated' \
                 AND NOT EXISTS (SELECT 1 FROM waybills w WHERE w.package_id = p.id AND w.cancelled_at IS NULL) \
                 ORDER BY p.id, o.id")
            .bind(tenant.get()).bind(warehouse.get()).bind(merge_key).bind(except.get())
            .fetch_all(pool).await?);
        let mut targets: Vec<MergeTarget> = Vec::new();
        for (package, warehouse, weight, order, shop, presale) in rows {
            let entry = (OrderId(order), ShopId(shop), opt_from_ms(presale));
            match targets.last_mut() {
                Some(t) if t.package_id.get() == package => {
                    if !t.orders.contains(&entry) {
                        t.orders.push(entry)
                    }
                }
                _ => targets.push(MergeTarget {
                    package_id: PackageId(package),
                    warehouse_id: WarehouseId(warehouse),
                    weight_g: weight.unwrap_or(0),
                    orders: vec![entry],
                }),
            }
        }
        Ok(targets)
    }

    /// The order's held reservations.
    pub async fn reservations(&self, tenant: TenantId, order: OrderId) -> Result<Vec<Reservation>> {
        let rows: Vec<(i64, i64, i64, i64, i64)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT package_id, order_id, warehouse_id, sku_id, units FROM reservations \
                 WHERE tenant_id = $1 AND order_id = $2 AND state = 'held' ORDER BY id")
            .bind(tenant.get()).bind(order.get()).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(p, o, w, s, u)| Reservation {
                package_id: PackageId(p),
                order_id: OrderId(o),
                warehouse_id: WarehouseId(w),
                sku_id: SkuId(s),
                units: u,
            })
            .collect())
    }

    /// The package's lines as (order, line, items).
    pub async fn package_lines(
        &self,
        tenant: TenantId,
        package: PackageId,
    ) -> Result<Vec<(OrderId, OrderLineId, i64)>> {
        let rows: Vec<(i64, i64, i64)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT order_id, order_line_id, quantity FROM package_lines \
                 WHERE tenant_id = $1 AND package_id = $2 ORDER BY order_id, order_line_id")
            .bind(tenant.get()).bind(package.get()).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(o, l, q)| (OrderId(o), OrderLineId(l), q))
            .collect())
    }

    // ------------------------------------------------------------------ stock-outs (缺货登记)

    /// Registers an order as waiting for units of a SKU (replacing an open registration of the
    /// same order and SKU).
    pub async fn register_stockout(
        &self,
        tenant: TenantId,
        order: OrderId,
        missing: &[(SkuId, i64)],
        now: DateTime<Utc>,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let _: i64 = sqlx::query_scalar("SELECT id FROM orders WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(order.get()).fetch_one(&mut *tx).await?;
            for (sku, units) in missing {
                let updated = sqlx::query(
                    "UPDATE stockouts SET units_missing = $1 WHERE tenant_id = $2 AND order_id = $3 \
                     AND sku_id = $4 AND resolved_at IS NULL")
                    .bind(units).bind(tenant.get()).bind(order.get()).bind(sku.get())
                    .execute(&mut *tx).await?;
                if updated.rows_affected() == 0 {
                    sqlx::query(
                        "INSERT INTO stockouts (tenant_id, order_id, sku_id, units_missing, registered_at) \
                         VALUES ($1, $2, $3, $4, $5)")
                        .bind(tenant.get()).bind(order.get()).bind(sku.get()).bind(units).bind(ms(now))
                        .execute(&mut *tx).await?;
                }
            }
        });
        Ok(())
    }

    /// Records when a SKU's missing stock is expected (purchase ETA) on its open registrations.
    pub async fn set_stockout_expected(
        &self,
        tenant: TenantId,
        sku: SkuId,
        expected_at: Option<DateTime<Utc>>,
    ) -> Result<u64> {
        let done = on_db!(&self.db, pool => sqlx::query(
                "UPDATE stockouts SET expected_at = $1 WHERE tenant_id = $2 AND sku_id = $3 \
                 AND resolved_at IS NULL")
            .bind(expected_at.map(ms)).bind(tenant.get()).bind(sku.get())
            .execute(pool).await?.rows_affected());
        Ok(done)
    }

    /// Open registrations, for one SKU or all, oldest deadline first (orders without a
    /// deadline last, then by registration).
    pub async fn open_stockouts(
        &self,
        tenant: TenantId,
        sku: Option<SkuId>,
        limit: i64,
    ) -> Result<Vec<Stockout>> {
        type Row = (i64, i64, i64, i64, Option<i64>, i64, Option<i64>);
        let rows: Vec<Row> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT s.id, s.order_id, s.sku_id, s.units_missing, s.expected_at, s.registered_at, o.ship_by \
                 FROM stockouts s JOIN orders o ON o.id = s.order_id \
                 WHERE s.tenant_id = $1 AND ($2 IS NULL OR s.sku_id = $2) AND s.resolved_at IS NULL \
                 ORDER BY o.ship_by IS NULL, o.ship_by, s.registered_at, s.id LIMIT $3")
            .bind(tenant.get()).bind(sku.map(|s| s.get())).bind(limit.clamp(1, 10_000))
            .fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(id, o, s, u, e, r, ship_by)| Stockout {
                id,
                order_id: OrderId(o),
                sku_id: SkuId(s),
                units_missing: u,
                expected_at: opt_from_ms(e),
                registered_at: from_ms(r),
                ship_by: opt_from_ms(ship_by),
            })
            .collect())
    }

    /// Available units per SKU and warehouse for these SKUs (on hand − reserved − safety).
    pub async fn stock_of_skus(&self, tenant: TenantId, skus: &[SkuId]) -> Result<Vec<StockLevel>> {
        if skus.is_empty() {
            return Ok(Vec::new());
        }
        // Each SKU once: a SKU asked in two parts would come back twice.
        let mut skus = skus.to_vec();
        skus.sort();
        skus.dedup();
        let mut rows: Vec<crate::stock::LevelRow> = Vec::new();
        for list in crate::InList::chunks(&skus) {
            let sql = format!(
                "SELECT {} FROM stock WHERE tenant_id = $1 AND sku_id IN ({}) ORDER BY warehouse_id, sku_id",
                crate::stock::LEVEL_COLUMNS,
                list.placeholders(2)
            );
            let part: Vec<crate::stock::LevelRow> = on_db!(&self.db, pool => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.get());
                for s in list.values() {
                    q = q.bind(s.get());
                }
                q.fetch_all(pool).await?
            });
            rows.extend(part);
        }
        let mut levels: Vec<StockLevel> = rows.into_iter().map(Into::into).collect();
        // The parts are each in order, not one after the other.
        levels.sort_by_key(|l| (l.warehouse_id, l.sku_id));
        Ok(levels)
    }
}
