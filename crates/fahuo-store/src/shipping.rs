//! Shipping's storage: shipments (the outbox rows of write-backs), number changes, the
//! merchant's carrier-code table, pack verification and weights.
//!
//! A shipment row and its `shipment.send` job are written in one transaction, and the row is
//! unique per (order, number) and per (package, order): however often a trigger, an import or a
//! supplier asks, a parcel is written back once. The platform's acceptance moves the package
//! to shipped and, once every owed unit of the order is in an accepted parcel, the order too
//! (which deducts its reserved stock).

use crate::allocation::stock_follows_order;
use crate::audit::insert_audit;
use crate::enqueue_job;
use crate::jobs::NewJob;
use crate::orders::apply_order_event;
use crate::stock::apply_stock_movement;
use crate::{Result, Store, StoreError, from_ms, in_tx, ms, on_db, opt_from_ms};
use chrono::{DateTime, Utc};
use fahuo_domain::audit::{ActorRef, AuditEntry};
use fahuo_domain::fulfilment::{Shipment, ShipmentState};
use fahuo_domain::shipping::{ShipmentSource, fully_shipped};
use fahuo_domain::{
    OrderEvent, OrderId, OrderLineId, OrderState, PackageId, Platform, ShipmentChangeId,
    ShipmentId, ShipmentImportId, ShopId, SupplierId, TenantId, WarehouseId,
};
use serde_json::json;

/// The job that sends one shipment to its platform.
pub const SHIP_JOB: &str = "shipment.send";
/// The job that asks a platform to change a shipped number.
pub const CHANGE_JOB: &str = "shipment.change";

/// A write-back to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewShipment {
    pub order_id: OrderId,
    pub package_id: Option<PackageId>,
    pub carrier_code: String,
    pub tracking_no: String,
    /// Empty = every unit the order still owes.
    pub items: Vec<(OrderLineId, i64)>,
    pub source: ShipmentSource,
    pub import_id: Option<ShipmentImportId>,
    pub supplier_id: Option<SupplierId>,
}

/// What [`Store::create_shipments`] did with one [`NewShipment`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// A new shipment, queued.
    New(ShipmentId),
    /// The order already had this number (or this package a shipment): nothing new.
    Existing(ShipmentId),
}

impl Created {
    pub fn id(self) -> ShipmentId {
        match self {
            Created::New(id) | Created::Existing(id) => id,
        }
    }
}

/// Everything the outbox needs to send a shipment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentToSend {
    pub shipment: Shipment,
    pub tenant_id: TenantId,
    pub shop_id: ShopId,
    pub platform: Platform,
    pub platform_order_id: String,
    pub order_state: OrderState,
    /// (line, platform line id, platform SKU id, units) of the parcel; every line of the order
    /// with its full quantity when the shipment's items are empty.
    pub lines: Vec<(OrderLineId, Option<String>, Option<String>, i64)>,
    /// Every line of the order with its quantity.
    pub order_lines: Vec<(OrderLineId, i64)>,
    /// Accepted parcels of the order, this one excluded.
    pub other_parcels: usize,
}

/// Which shipments to list.
#[derive(Debug, Clone, Default)]
pub struct ShipmentFilter {
    pub state: Option<ShipmentState>,
    pub order_id: Option<OrderId>,
    pub import_id: Option<ShipmentImportId>,
    /// Shipments with an id below this one (paging, newest first).
    pub before: Option<i64>,
    pub limit: i64,
    /// Only shipments of orders of these shops (a sub-account's scope); `None` = all.
    pub shops: Option<Vec<ShopId>>,
}

/// A shipment found by its number (the "number reused" checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberUse {
    pub tracking_no: String,
    pub order_id: OrderId,
    pub state: ShipmentState,
    /// The order's receiver key: orders that share it may share one parcel (合单).
    pub merge_key: Option<String>,
}

/// An order found by the platform's order number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRef {
    pub platform_order_id: String,
    pub id: OrderId,
    pub shop_id: ShopId,
    pub state: OrderState,
    /// Same person, same address (set at review); `None` before the first review.
    pub merge_key: Option<String>,
}

/// A change of a shipped number, as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShipmentChange {
    pub id: ShipmentChangeId,
    pub shipment_id: ShipmentId,
    pub old_carrier_code: String,
    pub old_tracking_no: String,
    pub new_carrier_code: String,
    pub new_tracking_no: String,
    pub reason: String,
    /// `pending`, `done` or `refused`.
    pub state: String,
    pub error: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
}

/// A package's pack verification, as stored between scans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackProgress {
    pub scanned_json: String,
    pub refused: i64,
    pub finished: bool,
}

const SHIPMENT_COLUMNS: &str = "id, order_id, package_id, carrier_code, tracking_no, items_json, \
     source, state, attempts, error_code, last_error, conflict_json, changes, created_by, \
     created_at, updated_at, confirmed_at";

#[derive(sqlx::FromRow)]
struct ShipmentRow {
    id: i64,
    order_id: i64,
    package_id: Option<i64>,
    carrier_code: String,
    tracking_no: String,
    items_json: String,
    source: String,
    state: String,
    attempts: i64,
    error_code: Option<String>,
    last_error: Option<String>,
    conflict_json: Option<String>,
    changes: i64,
    created_by: String,
    created_at: i64,
    updated_at: i64,
    confirmed_at: Option<i64>,
}

fn shipment_from_row(r: ShipmentRow) -> Result<Shipment> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("shipment {}: {e}", r.id));
    let items: Vec<(i64, i64)> = serde_json::from_str(&r.items_json).map_err(corrupt)?;
    let conflict: Vec<(String, String)> = match &r.conflict_json {
        Some(j) => serde_json::from_str(j).map_err(corrupt)?,
        None => Vec::new(),
    };
    Ok(Shipment {
        id: ShipmentId(r.id),
        order_id: OrderId(r.order_id),
        package_id: r.package_id.map(PackageId),
        carrier_code: r.carrier_code,
        tracking_no: r.tracking_no,
        items: items
            .into_iter()
            .map(|(l, u)| (OrderLineId(l), u))
            .collect(),
        source: ShipmentSource::parse(&r.source).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        state: ShipmentState::parse(&r.state).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        attempts: r.attempts,
        error_code: r.error_code,
        last_error: r.last_error,
        conflict,
        changes: r.changes,
        created_by: r.created_by,
        created_at: from_ms(r.created_at),
        updated_at: from_ms(r.updated_at),
        confirmed_at: opt_from_ms(r.confirmed_at),
    })
}

pub(crate) fn items_json(items: &[(OrderLineId, i64)]) -> String {
    let raw: Vec<(i64, i64)> = items.iter().map(|(l, u)| (l.get(), *u)).collect();
    serde_json::to_string(&raw).unwrap_or_else(|_| "[]".into())
}

/// Inserts one shipment and its job inside `$tx` unless the order already has this number or
/// the package already has a shipment for this order. Evaluates to [`Created`].
macro_rules! insert_shipment {
    ($tx:expr, $tenant:expr, $s:expr, $actor:expr, $now:expr) => {{
        let s: &$crate::shipping::NewShipment = $s;
        let tenant: fahuo_domain::TenantId = $tenant;
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO shipments (tenant_id, order_id, package_id, carrier_code, tracking_no, \
             items_json, source, state, import_id, supplier_id, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10, $11, $11) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(tenant.get())
        .bind(s.order_id.get())
        .bind(s.package_id.map(|p| p.get()))
        .bind(&s.carrier_code)
        .bind(&s.tracking_no)
        .bind($crate::shipping::items_json(&s.items))
        .bind(s.source.as_str())
        .bind(s.import_id.map(|i| i.get()))
        .bind(s.supplier_id.map(|i| i.get()))
        .bind($actor)
        .bind($crate::ms($now))
        .fetch_optional(&mut *$tx)
        .await?;
        match inserted {
            Some(id) => {
                let job = $crate::jobs::NewJob::new(
                    $crate::shipping::SHIP_JOB,
                    serde_json::json!({ "shipment_id": id }),
                    $now,
                )
                    .for_tenant(tenant)
                    .dedupe(format!("shipment:{id}"))
                    .max_attempts(12);
                $crate::enqueue_job!(&mut *$tx, &job, $now);
                $crate::shipping::Created::New(fahuo_domain::ShipmentId(id))
            }
            None => {
                let existing: i64 = sqlx::query_scalar(
                    "SELECT id FROM shipments WHERE tenant_id = $1 AND order_id = $2 \
                     AND (tracking_no = $3 OR (package_id IS NOT NULL AND package_id = $4)) \
                     ORDER BY id LIMIT 1",
                )
                .bind(tenant.get())
                .bind(s.order_id.get())
                .bind(&s.tracking_no)
                .bind(s.package_id.map(|p| p.get()))
                .fetch_one(&mut *$tx)
                .await?;
                $crate::shipping::Created::Existing(fahuo_domain::ShipmentId(existing))
            }
        }
    }};
}
pub(crate) use insert_shipment;

impl Store {
    /// Creates write-backs and queues them, all in one transaction. Each order must belong to
    /// the tenant; one that is not is `NotFound` and nothing is written.
    pub async fn create_shipments(
        &self,
        tenant: TenantId,
        shipments: &[NewShipment],
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<Vec<Created>> {
        let out = in_tx!(&self.db, tx => {
            let mut out = Vec::with_capacity(shipments.len());
            for s in shipments {
                let owned: Option<i64> = sqlx::query_scalar(
                        "SELECT id FROM orders WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.get()).bind(s.order_id.get()).fetch_optional(&mut *tx).await?;
                if owned.is_none() {
                    return Err(StoreError::NotFound);
                }
                let created = insert_shipment!(tx, tenant, s, actor.name(), now);
                if let Created::New(id) = created {
                    let mut entry = AuditEntry::about(
                        tenant,
                        actor,
                        "shipment.queued",
                        ("order", s.order_id.get()),
                        json!({
                            "shipment": id.get(), "carrier": s.carrier_code,
                            "tracking_no": s.tracking_no, "source": s.source.as_str(),
                        }),
                        now,
                    );
                    if s.source == ShipmentSource::Waybill {
                        // One entry per print is enough; waybill write-backs are many.
                        entry.action = "shipment.queued_by_trigger".into();
                    }
                    insert_audit!(&mut *tx, &entry);
                }
                out.push(created);
            }
            out
        });
        Ok(out)
    }

    pub async fn shipment(&self, tenant: TenantId, id: ShipmentId) -> Result<Shipment> {
        let sql =
            format!("SELECT {SHIPMENT_COLUMNS} FROM shipments WHERE tenant_id = $1 AND id = $2");
        let row: ShipmentRow = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(tenant.get()).bind(id.get()).fetch_one(pool).await?);
        shipment_from_row(row)
    }

    /// Shipments, newest first.
    pub async fn shipments(&self, tenant: TenantId, f: &ShipmentFilter) -> Result<Vec<Shipment>> {
        let shops = crate::ids_in(&self.db, 7);
        let sql = format!(
            "SELECT {SHIPMENT_COLUMNS} FROM shipments WHERE tenant_id = $1 \
             AND ($2 IS NULL OR state = $2) AND ($3 IS NULL OR order_id = $3) \
             AND ($4 IS NULL OR import_id = $4) AND ($5 IS NULL OR id < $5) \
             AND ($7 IS NULL OR order_id IN (SELECT id FROM orders WHERE tenant_id = $1 \
               AND shop_id IN ({shops}))) \
             ORDER BY id DESC LIMIT $6"
        );
        let rows: Vec<ShipmentRow> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(tenant.get())
            .bind(f.state.map(|s| s.as_str()))
            .bind(f.order_id.map(|o| o.get()))
            .bind(f.import_id.map(|i| i.get()))
            .bind(f.before)
            .bind(f.limit.clamp(1, 1000))
            .bind(crate::scope_ids(f.shops.as_deref(), ShopId::get))
            .fetch_all(pool).await?);
        rows.into_iter().map(shipment_from_row).collect()
    }

    /// How many shipments are in each state (the exception counts of the console).
    pub async fn shipment_counts(&self, tenant: TenantId) -> Result<Vec<(ShipmentState, i64)>> {
        let rows: Vec<(String, i64)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT state, COUNT(*) FROM shipments WHERE tenant_id = $1 GROUP BY state ORDER BY state")
            .bind(tenant.get()).fetch_all(pool).await?);
        rows.into_iter()
            .map(|(s, n)| {
                Ok((
                    ShipmentState::parse(&s).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    n,
                ))
            })
            .collect()
    }

    /// The shipment with what the outbox needs to send it (a read: the answer is written in
    /// one transaction by [`Store::shipment_succeeded`] or [`Store::shipment_refused`]).
    pub async fn shipment_to_send(
        &self,
        tenant: TenantId,
        id: ShipmentId,
    ) -> Result<ShipmentToSend> {
        let shipment = self.shipment(tenant, id).await?;
        let (shop, platform, platform_order_id, state): (i64, String, String, String) = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT shop_id, platform, platform_order_id, state FROM orders WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.get()).bind(shipment.order_id.get()).fetch_one(pool).await?);
        let all: Vec<(i64, Option<String>, Option<String>, i64)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT id, platform_line_id, platform_sku_id, quantity FROM order_lines \
                 WHERE tenant_id = $1 AND order_id = $2 ORDER BY line_no")
            .bind(tenant.get()).bind(shipment.order_id.get()).fetch_all(pool).await?);
        let order_lines = all
            .iter()
            .map(|(l, _, _, q)| (OrderLineId(*l), *q))
            .collect();
        let lines = if shipment.items.is_empty() {
            all.into_iter()
                .map(|(l, pl, ps, q)| (OrderLineId(l), pl, ps, q))
                .collect()
        } else {
            shipment
                .items
                .iter()
                .filter_map(|(line, units)| {
                    all.iter()
                        .find(|(l, ..)| *l == line.get())
                        .map(|(l, pl, ps, _)| (OrderLineId(*l), pl.clone(), ps.clone(), *units))
                })
                .collect()
        };
        let other_parcels: i64 = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT COUNT(*) FROM shipments WHERE tenant_id = $1 AND order_id = $2 \
                 AND state = 'succeeded' AND id <> $3")
            .bind(tenant.get()).bind(shipment.order_id.get()).bind(id.get()).fetch_one(pool).await?);
        Ok(ShipmentToSend {
            shipment,
            tenant_id: tenant,
            shop_id: ShopId(shop),
            platform: Platform::parse(&platform).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            platform_order_id,
            order_state: OrderState::parse(&state)?,
            lines,
            order_lines,
            other_parcels: other_parcels as usize,
        })
    }

    /// The platform accepted the shipment (or already had it): the shipment succeeds, its
    /// package ships once all of the package's shipments did, and the order ships once every
    /// unit it owes is in an accepted parcel. Returns the order's state afterwards. A second
    /// call changes nothing.
    pub async fn shipment_succeeded(
        &self,
        tenant: TenantId,
        id: ShipmentId,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<OrderState> {
        let lock = self.row_lock();
        let state = in_tx!(&self.db, tx => {
            let (order, package, state): (i64, Option<i64>, String) = sqlx::query_as(
                    "SELECT order_id, package_id, state FROM shipments WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(id.get()).fetch_one(&mut *tx).await?;
            let order = OrderId(order);
            if state != "succeeded" {
                sqlx::query(
                    "UPDATE shipments SET state = 'succeeded', attempts = attempts + 1, error_code = NULL, \
                     last_error = NULL, conflict_json = NULL, confirmed_at = $1, updated_at = $1, \
                     parcel_opened = FALSE WHERE id = $2")
                    .bind(ms(now)).bind(id.get()).execute(&mut *tx).await?;
                if let Some(package) = package {
                    let open: i64 = sqlx::query_scalar(
                            "SELECT COUNT(*) FROM shipments WHERE package_id = $1 AND state <> 'succeeded'")
                        .bind(package).fetch_one(&mut *tx).await?;
                    if open == 0 {
                        sqlx::query("UPDATE packages SET state = 'shipped' WHERE tenant_id = $1 AND id = $2")
                            .bind(tenant.get()).bind(package).execute(&mut *tx).await?;
                    }
                }
                let entry = AuditEntry::about(
                    tenant,
                    actor,
                    "shipment.succeeded",
                    ("order", order.get()),
                    json!({ "shipment": id.get() }),
                    now,
                );
                insert_audit!(&mut *tx, &entry);
            }
            let current: String = sqlx::query_scalar(
                    "SELECT state FROM orders WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(order.get()).fetch_one(&mut *tx).await?;
            let mut current = OrderState::parse(&current)?;
            if current.is_before_shipping() {
                let owed: Vec<(i64, i64)> = sqlx::query_as(
                        "SELECT id, quantity FROM order_lines WHERE tenant_id = $1 AND order_id = $2")
                    .bind(tenant.get()).bind(order.get()).fetch_all(&mut *tx).await?;
                let accepted: Vec<String> = sqlx::query_scalar(
                        "SELECT items_json FROM shipments WHERE tenant_id = $1 AND order_id = $2 \
                         AND state = 'succeeded'")
                    .bind(tenant.get()).bind(order.get()).fetch_all(&mut *tx).await?;
                let mut shipped: Vec<(i64, i64)> = Vec::new();
                for items in accepted {
                    let items: Vec<(i64, i64)> = serde_json::from_str(&items)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    if items.is_empty() {
                        shipped.extend(owed.iter().copied());
                    } else {
                        shipped.extend(items);
                    }
                }
                if fully_shipped(&owed, &shipped) {
                    if matches!(current, OrderState::New | OrderState::OnHold) {
                        // The parcel left (a number typed, imported or a supplier's) while
                        // fahuo still held the order: the platform is told, and the holds
                        // are settled by the shipment, as when it ships from elsewhere.
                        apply_order_event!(tx, tenant, order, OrderEvent::Approve, now);
                        sqlx::query(
                            "UPDATE holds SET released_at = $1, released_by = 'shipped' \
                             WHERE tenant_id = $2 AND order_id = $3 AND released_at IS NULL")
                            .bind(ms(now)).bind(tenant.get()).bind(order.get())
                            .execute(&mut *tx).await?;
                    }
                    let (from, to) = apply_order_event!(tx, tenant, order, OrderEvent::Ship, now);
                    stock_follows_order!(tx, lock, tenant, order, from, to, actor.name(), now);
                    current = to;
                }
            }
            current
        });
        Ok(state)
    }

    /// The platform refused the shipment (`Failed`) or has other numbers (`Conflict`): the
    /// reason is stored for the exception queue; the order stays where it was.
    #[allow(clippy::too_many_arguments)]
    pub async fn shipment_refused(
        &self,
        tenant: TenantId,
        id: ShipmentId,
        state: ShipmentState,
        error_code: Option<&str>,
        message: &str,
        conflict: &[(String, String)],
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let conflict_json =
            (!conflict.is_empty()).then(|| serde_json::to_string(conflict).unwrap_or_default());
        in_tx!(&self.db, tx => {
            let order: i64 = sqlx::query_scalar(
                    "UPDATE shipments SET state = $1, attempts = attempts + 1, error_code = $2, last_error = $3, \
                     conflict_json = $4, updated_at = $5 WHERE tenant_id = $6 AND id = $7 AND state <> 'succeeded' \
                     RETURNING order_id")
                .bind(state.as_str()).bind(error_code).bind(message).bind(&conflict_json)
                .bind(ms(now)).bind(tenant.get()).bind(id.get())
                .fetch_one(&mut *tx).await?;
            let entry = AuditEntry::about(
                tenant,
                actor,
                &format!("shipment.{}", state.as_str()),
                ("order", order),
                json!({ "shipment": id.get(), "code": error_code, "error": message, "platform_has": conflict }),
                now,
            );
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// Sends a refused or conflicting shipment again, optionally with a corrected carrier and
    /// number (the row keeps its identity, so the parcel is still written back once).
    pub async fn retry_shipment(
        &self,
        tenant: TenantId,
        id: ShipmentId,
        corrected: Option<(&str, &str)>,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let (order, state, carrier, number): (i64, String, String, String) = sqlx::query_as(
                    "SELECT order_id, state, carrier_code, tracking_no FROM shipments WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(id.get()).fetch_one(&mut *tx).await?;
            if state == "succeeded" || state == "pending" {
                return Err(StoreError::Conflict(format!("shipment {id} is {state}: nothing to retry")));
            }
            let (new_carrier, new_number) = corrected.unwrap_or((carrier.as_str(), number.as_str()));
            let changed = sqlx::query(
                    "UPDATE shipments SET state = 'pending', carrier_code = $1, tracking_no = $2, \
                     error_code = NULL, last_error = NULL, conflict_json = NULL, updated_at = $3 \
                     WHERE tenant_id = $4 AND id = $5")
                .bind(new_carrier).bind(new_number).bind(ms(now)).bind(tenant.get()).bind(id.get())
                .execute(&mut *tx).await;
            if let Err(e) = changed {
                return Err(match StoreError::from(e) {
                    StoreError::Conflict(_) => StoreError::Conflict(format!("order already has a shipment with number {new_number}")),
                    other => other,
                });
            }
            // A new dedupe key per retry: the first job is done or dead.
            let job = NewJob::new(SHIP_JOB, json!({ "shipment_id": id.get() }), now)
                .for_tenant(tenant)
                .dedupe(format!("shipment:{}:retry:{}", id.get(), ms(now)))
                .max_attempts(12);
            enqueue_job!(&mut *tx, &job, now);
            let entry = AuditEntry::about(
                tenant,
                actor,
                "shipment.retried",
                ("order", order),
                json!({ "carrier": new_carrier, "tracking_no": new_number }),
                now,
            )
                .before(json!({ "carrier": carrier, "tracking_no": number, "state": state }));
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// Shipments of these numbers in the tenant (any order), for "number reused" checks.
    pub async fn shipments_with_numbers(
        &self,
        tenant: TenantId,
        numbers: &[String],
    ) -> Result<Vec<NumberUse>> {
        let mut out = Vec::new();
        for chunk in numbers.chunks(500) {
            let list = serde_json::to_string(chunk).unwrap_or_else(|_| "[]".into());
            let rows: Vec<(String, i64, String, Option<String>)> =
                match &self.db {
                    crate::Db::Sqlite(pool) => sqlx::query_as(
                        "SELECT s.tracking_no, s.order_id, s.state, o.merge_key FROM shipments s \
                     JOIN orders o ON o.id = s.order_id WHERE s.tenant_id = $1 \
                     AND s.tracking_no IN (SELECT value FROM json_each($2))",
                    )
                    .bind(tenant.get())
                    .bind(&list)
                    .fetch_all(pool)
                    .await?,
                    crate::Db::Postgres(pool) => sqlx::query_as(
                        "SELECT s.tracking_no, s.order_id, s.state, o.merge_key FROM shipments s \
                     JOIN orders o ON o.id = s.order_id WHERE s.tenant_id = $1 \
                     AND s.tracking_no IN (SELECT jsonb_array_elements_text($2::jsonb))",
                    )
                    .bind(tenant.get())
                    .bind(&list)
                    .fetch_all(pool)
                    .await?,
                };
            for (tracking_no, order, state, merge_key) in rows {
                out.push(NumberUse {
                    tracking_no,
                    order_id: OrderId(order),
                    state: ShipmentState::parse(&state)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    merge_key,
                });
            }
        }
        Ok(out)
    }

    /// Orders by the platform's order number, in any of the tenant's shops.
    pub async fn orders_by_platform_ids(
        &self,
        tenant: TenantId,
        ids: &[String],
    ) -> Result<Vec<OrderRef>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            let list = serde_json::to_string(chunk).unwrap_or_else(|_| "[]".into());
            let rows: Vec<(String, i64, i64, String, Option<String>)> = match &self.db {
                crate::Db::Sqlite(pool) => sqlx::query_as(
                    "SELECT platform_order_id, id, shop_id, state, merge_key FROM orders \
                     WHERE tenant_id = $1 AND platform_order_id IN (SELECT value FROM json_each($2))",
                )
                .bind(tenant.get())
                .bind(&list)
                .fetch_all(pool)
                .await?,
                crate::Db::Postgres(pool) => sqlx::query_as(
                    "SELECT platform_order_id, id, shop_id, state, merge_key FROM orders \
                     WHERE tenant_id = $1 AND platform_order_id IN (SELECT jsonb_array_elements_text($2::jsonb))",
                )
                .bind(tenant.get())
                .bind(&list)
                .fetch_all(pool)
                .await?,
            };
            for (platform_order_id, id, shop, state, merge_key) in rows {
                out.push(OrderRef {
                    platform_order_id,
                    id: OrderId(id),
                    shop_id: ShopId(shop),
                    state: OrderState::parse(&state)?,
                    merge_key,
                });
            }
        }
        Ok(out)
    }

    // ------------------------------------------------------------------ number changes

    /// Records a change to ask of the platform and queues it (one transaction).
    #[allow(clippy::too_many_arguments)]
    pub async fn request_shipment_change(
        &self,
        tenant: TenantId,
        id: ShipmentId,
        new_carrier: &str,
        new_number: &str,
        reason: &str,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<ShipmentChangeId> {
        let change = in_tx!(&self.db, tx => {
            let (order, state, carrier, number): (i64, String, String, String) = sqlx::query_as(
                    "SELECT order_id, state, carrier_code, tracking_no FROM shipments WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(id.get()).fetch_one(&mut *tx).await?;
            if state != "succeeded" {
                return Err(StoreError::Conflict(format!("shipment {id} is {state}: only a shipped number can be changed")));
            }
            let pending: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM shipment_changes WHERE shipment_id = $1 AND state = 'pending'")
                .bind(id.get()).fetch_one(&mut *tx).await?;
            if pending > 0 {
                return Err(StoreError::Conflict("a change of this number is already waiting for the platform".into()));
            }
            let change: i64 = sqlx::query_scalar(
                    "INSERT INTO shipment_changes (tenant_id, shipment_id, old_carrier_code, old_tracking_no, \
                     new_carrier_code, new_tracking_no, reason, state, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9) RETURNING id")
                .bind(tenant.get()).bind(id.get()).bind(&carrier).bind(&number)
                .bind(new_carrier).bind(new_number).bind(reason).bind(actor.name()).bind(ms(now))
                .fetch_one(&mut *tx).await?;
            let job = NewJob::new(CHANGE_JOB, json!({ "change_id": change }), now)
                .for_tenant(tenant)
                .dedupe(format!("shipment_change:{change}"))
                .max_attempts(12);
            enqueue_job!(&mut *tx, &job, now);
            let entry = AuditEntry::about(
                tenant,
                actor,
                "shipment.change_requested",
                ("order", order),
                json!({ "carrier": new_carrier, "tracking_no": new_number, "reason": reason }),
                now,
            )
                .before(json!({ "carrier": carrier, "tracking_no": number }));
            insert_audit!(&mut *tx, &entry);
            ShipmentChangeId(change)
        });
        Ok(change)
    }

    #[allow(clippy::type_complexity)]
    pub async fn shipment_change(
        &self,
        tenant: TenantId,
        id: ShipmentChangeId,
    ) -> Result<ShipmentChange> {
        let r: (
            i64,
            i64,
            String,
            String,
            String,
            String,
            String,
            String,
            Option<String>,
            String,
            i64,
            Option<i64>,
        ) = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT id, shipment_id, old_carrier_code, old_tracking_no, new_carrier_code, new_tracking_no, \
                 reason, state, error, created_by, created_at, done_at FROM shipment_changes \
                 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.get()).bind(id.get()).fetch_one(pool).await?);
        Ok(ShipmentChange {
            id: ShipmentChangeId(r.0),
            shipment_id: ShipmentId(r.1),
            old_carrier_code: r.2,
            old_tracking_no: r.3,
            new_carrier_code: r.4,
            new_tracking_no: r.5,
            reason: r.6,
            state: r.7,
            error: r.8,
            created_by: r.9,
            created_at: from_ms(r.10),
            done_at: opt_from_ms(r.11),
        })
    }

    /// The platform's answer to a change: done (the shipment takes the new number) or refused
    /// (it keeps the old one). A second call changes nothing.
    pub async fn finish_shipment_change(
        &self,
        tenant: TenantId,
        id: ShipmentChangeId,
        refusal: Option<&str>,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let (shipment, state, carrier, number): (i64, String, String, String) = sqlx::query_as(
                    "SELECT shipment_id, state, new_carrier_code, new_tracking_no FROM shipment_changes \
                     WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(id.get()).fetch_one(&mut *tx).await?;
            if state == "pending" {
                let new_state = if refusal.is_some() { "refused" } else { "done" };
                sqlx::query("UPDATE shipment_changes SET state = $1, error = $2, done_at = $3 WHERE id = $4")
                    .bind(new_state).bind(refusal).bind(ms(now)).bind(id.get()).execute(&mut *tx).await?;
                if refusal.is_none() {
                    sqlx::query(
                        "UPDATE shipments SET carrier_code = $1, tracking_no = $2, changes = changes + 1, \
                         updated_at = $3, parcel_opened = FALSE WHERE id = $4")
                        .bind(&carrier).bind(&number).bind(ms(now)).bind(shipment).execute(&mut *tx).await?;
                }
                let order: i64 = sqlx::query_scalar("SELECT order_id FROM shipments WHERE id = $1")
                    .bind(shipment).fetch_one(&mut *tx).await?;
                let entry = AuditEntry::about(
                    tenant,
                    actor,
                    &format!("shipment.change_{new_state}"),
                    ("order", order),
                    json!({ "change": id.get(), "carrier": carrier, "tracking_no": number, "error": refusal }),
                    now,
                );
                insert_audit!(&mut *tx, &entry);
            }
        });
        Ok(())
    }

    /// The changes asked for one shipment, oldest first.
    pub async fn shipment_changes(
        &self,
        tenant: TenantId,
        shipment: ShipmentId,
    ) -> Result<Vec<ShipmentChange>> {
        let ids: Vec<i64> = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT id FROM shipment_changes WHERE tenant_id = $1 AND shipment_id = $2 ORDER BY id")
            .bind(tenant.get()).bind(shipment.get()).fetch_all(pool).await?);
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.shipment_change(tenant, ShipmentChangeId(id)).await?);
        }
        Ok(out)
    }

    /// Changes of any shipment of the order the platform accepted (its limits count per order).
    pub async fn order_number_changes(&self, tenant: TenantId, order: OrderId) -> Result<u32> {
        let n: i64 = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(changes), 0) AS BIGINT) FROM shipments WHERE tenant_id = $1 AND order_id = $2")
            .bind(tenant.get()).bind(order.get()).fetch_one(pool).await?);
        Ok(n as u32)
    }

    // ------------------------------------------------------------------ carrier codes

    /// The merchant's own code for a carrier on a platform: (code, name).
    pub async fn carrier_code_override(
        &self,
        tenant: TenantId,
        platform: Platform,
        carrier_code: &str,
    ) -> Result<Option<(String, String)>> {
        Ok(on_db!(&self.db, pool => sqlx::query_as(
                "SELECT platform_code, platform_name FROM carrier_code_overrides \
                 WHERE tenant_id = $1 AND platform = $2 AND carrier_code = $3")
            .bind(tenant.get()).bind(platform.as_str()).bind(carrier_code)
            .fetch_optional(pool).await?))
    }

    pub async fn set_carrier_code_override(
        &self,
        tenant: TenantId,
        platform: Platform,
        carrier_code: &str,
        platform_code: Option<(&str, &str)>,
        audit: &AuditEntry,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            match platform_code {
                Some((code, name)) => sqlx::query(
                        "INSERT INTO carrier_code_overrides (tenant_id, platform, carrier_code, platform_code, platform_name) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, platform, carrier_code) \
                         DO UPDATE SET platform_code = excluded.platform_code, platform_name = excluded.platform_name")
                    .bind(tenant.get()).bind(platform.as_str()).bind(carrier_code).bind(code).bind(name)
                    .execute(&mut *tx).await?,
                None => sqlx::query(
                        "DELETE FROM carrier_code_overrides WHERE tenant_id = $1 AND platform = $2 AND carrier_code = $3")
                    .bind(tenant.get()).bind(platform.as_str()).bind(carrier_code)
                    .execute(&mut *tx).await?,
            };
            insert_audit!(&mut *tx, audit);
        });
        Ok(())
    }

    // ------------------------------------------------------------------ packages ready to ship

    /// Packages in one of `states` that have a live waybill and no shipment yet, with their
    /// tenant, oldest first: the trigger's safety net after a crash between a print (or pack)
    /// and the queuing of its write-back.
    pub async fn packages_without_shipment(
        &self,
        states: &[&str],
        weighed_only: bool,
        limit: i64,
    ) -> Result<Vec<(TenantId, PackageId)>> {
        // The states as bound values, not a JSON array: with `IN (SELECT value FROM
        // json_each(…))` SQLite read every package in id order instead of the state index.
        let states = crate::InList::new(states);
        let n = states.len();
        let sql = format!(
            "SELECT p.tenant_id, p.id FROM packages p \
             WHERE p.state IN ({}) AND (${weighed} = FALSE OR p.weighed_at IS NOT NULL) \
             AND EXISTS (SELECT 1 FROM waybills w WHERE w.package_id = p.id AND w.cancelled_at IS NULL) \
             AND NOT EXISTS (SELECT 1 FROM shipments s WHERE s.package_id = p.id) \
             ORDER BY p.id LIMIT ${limit}",
            states.placeholders(1),
            weighed = n + 1,
            limit = n + 2,
        );
        let rows: Vec<(i64, i64)> = on_db!(&self.db, pool => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
            for state in states.values() {
                q = q.bind(*state);
            }
            q.bind(weighed_only).bind(limit).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(t, p)| (TenantId(t), PackageId(p)))
            .collect())
    }

    /// What a package's write-back needs: its live waybill (carrier, number) and its lines per
    /// order. `None` when it has no live waybill.
    #[allow(clippy::type_complexity)]
    pub async fn package_for_shipping(
        &self,
        tenant: TenantId,
        package: PackageId,
    ) -> Result<Option<(String, String, String, Vec<(OrderId, OrderLineId, i64)>)>> {
        let waybill: Option<(String, String)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT carrier_code, tracking_no FROM waybills WHERE tenant_id = $1 AND package_id = $2 \
                 AND cancelled_at IS NULL ORDER BY id DESC LIMIT 1")
            .bind(tenant.get()).bind(package.get()).fetch_optional(pool).await?);
        let Some((carrier, number)) = waybill else {
            return Ok(None);
        };
        let state: String = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT state FROM packages WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.get()).bind(package.get()).fetch_one(pool).await?);
        let lines: Vec<(i64, i64, i64)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT order_id, order_line_id, quantity FROM package_lines \
                 WHERE tenant_id = $1 AND package_id = $2 ORDER BY order_id, order_line_id")
            .bind(tenant.get()).bind(package.get()).fetch_all(pool).await?);
        Ok(Some((
            carrier,
            number,
            state,
            lines
                .into_iter()
                .map(|(o, l, q)| (OrderId(o), OrderLineId(l), q))
                .collect(),
        )))
    }

    /// A package's state (`NotFound` for another tenant's).
    pub async fn package_state(&self, tenant: TenantId, package: PackageId) -> Result<String> {
        Ok(on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT state FROM packages WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.get()).bind(package.get()).fetch_one(pool).await?))
    }

    // ------------------------------------------------------------------ pack verification

    pub async fn pack_progress(
        &self,
        tenant: TenantId,
        package: PackageId,
    ) -> Result<Option<PackProgress>> {
        let row: Option<(String, i64, Option<i64>)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT scanned_json, refused, finished_at FROM pack_checks WHERE tenant_id = $1 AND package_id = $2")
            .bind(tenant.get()).bind(package.get()).fetch_optional(pool).await?);
        Ok(row.map(|(scanned_json, refused, finished)| PackProgress {
            scanned_json,
            refused,
            finished: finished.is_some(),
        }))
    }

    /// Stores the scan counts after a scan (`refused` adds one to the refused scans).
    pub async fn save_pack_progress(
        &self,
        tenant: TenantId,
        package: PackageId,
        scanned_json: &str,
        refused: bool,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_db!(&self.db, pool => sqlx::query(
                "INSERT INTO pack_checks (package_id, tenant_id, scanned_json, refused, started_by, started_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (package_id) DO UPDATE SET \
                 scanned_json = excluded.scanned_json, refused = pack_checks.refused + excluded.refused, \
                 updated_at = excluded.updated_at")
            .bind(package.get()).bind(tenant.get()).bind(scanned_json).bind(i64::from(refused))
            .bind(actor.name()).bind(ms(now)).execute(pool).await.map(drop)?);
        Ok(())
    }

    /// Starts the verification over (the packer emptied the box).
    pub async fn reset_pack_progress(&self, tenant: TenantId, package: PackageId) -> Result<()> {
        on_db!(&self.db, pool => sqlx::query(
                "DELETE FROM pack_checks WHERE tenant_id = $1 AND package_id = $2 AND finished_at IS NULL")
            .bind(tenant.get()).bind(package.get()).execute(pool).await.map(drop)?);
        Ok(())
    }

    /// Closes a verified package: packed, with its weight if one was taken; each of its orders
    /// moves to packed once all of the order's packages are.
    pub async fn finish_pack(
        &self,
        tenant: TenantId,
        package: PackageId,
        weight_g: Option<i64>,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let state: String = sqlx::query_scalar("SELECT state FROM packages WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(package.get()).fetch_one(&mut *tx).await?;
            if state != "printed" && state != "packed" {
                return Err(StoreError::Conflict(format!("package {package} is {state}: only a printed package can be packed")));
            }
            sqlx::query(
                "UPDATE packages SET state = 'packed', weight_g = COALESCE($1, weight_g), \
                 weighed_at = CASE WHEN $1 IS NULL THEN weighed_at ELSE $2 END WHERE tenant_id = $3 AND id = $4")
                .bind(weight_g).bind(ms(now)).bind(tenant.get()).bind(package.get()).execute(&mut *tx).await?;
            sqlx::query("UPDATE pack_checks SET finished_at = $1, updated_at = $1 WHERE tenant_id = $2 AND package_id = $3")
                .bind(ms(now)).bind(tenant.get()).bind(package.get()).execute(&mut *tx).await?;
            let orders: Vec<i64> = sqlx::query_scalar(
                    "SELECT DISTINCT order_id FROM package_lines WHERE tenant_id = $1 AND package_id = $2")
                .bind(tenant.get()).bind(package.get()).fetch_all(&mut *tx).await?;
            for order in orders {
                let open: i64 = sqlx::query_scalar(
                        "SELECT COUNT(DISTINCT p.id) FROM packages p JOIN package_lines l ON l.package_id = p.id \
                         WHERE l.order_id = $1 AND p.state IN ('open', 'waybill_issued', 'printed')")
                    .bind(order).fetch_one(&mut *tx).await?;
                let current: String = sqlx::query_scalar("SELECT state FROM orders WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.get()).bind(order).fetch_one(&mut *tx).await?;
                if open == 0 && OrderState::parse(&current)? == OrderState::Printed {
                    let order = OrderId(order);
                    apply_order_event!(tx, tenant, order, OrderEvent::Pack, now);
                }
            }
            let entry = AuditEntry::about(
                tenant,
                actor,
                "package.packed",
                ("package", package.get()),
                json!({ "weight_g": weight_g }),
                now,
            );
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// Records a package's weight (a weighing station after packing).
    pub async fn record_weight(
        &self,
        tenant: TenantId,
        package: PackageId,
        weight_g: i64,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let done = sqlx::query(
                    "UPDATE packages SET weight_g = $1, weighed_at = $2 WHERE tenant_id = $3 AND id = $4 \
                     AND state IN ('waybill_issued', 'printed', 'packed')")
                .bind(weight_g).bind(ms(now)).bind(tenant.get()).bind(package.get()).execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Conflict(format!("package {package} cannot be weighed now")));
            }
            let entry = AuditEntry::about(
                tenant,
                actor,
                "package.weighed",
                ("package", package.get()),
                json!({ "weight_g": weight_g }),
                now,
            );
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// A live waybill's package, by its number (the label's barcode).
    pub async fn package_by_tracking_no(
        &self,
        tenant: TenantId,
        number: &str,
    ) -> Result<Option<PackageId>> {
        let id: Option<i64> = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT package_id FROM waybills WHERE tenant_id = $1 AND tracking_no = $2 \
                 AND cancelled_at IS NULL ORDER BY id DESC LIMIT 1")
            .bind(tenant.get()).bind(number).fetch_optional(pool).await?);
        Ok(id.map(PackageId))
    }

    /// The warehouse a package ships from (`NotFound` for another tenant's), for the
    /// sub-account scope checks.
    pub async fn package_warehouse(
        &self,
        tenant: TenantId,
        package: PackageId,
    ) -> Result<WarehouseId> {
        let id: i64 = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT warehouse_id FROM packages WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.get()).bind(package.get()).fetch_one(pool).await?);
        Ok(WarehouseId(id))
    }

    /// The package's items for pack verification: (SKU, code, barcode, title, units, grams).
    #[allow(clippy::type_complexity)]
    pub async fn package_items(
        &self,
        tenant: TenantId,
        package: PackageId,
    ) -> Result<(
        String,
        Vec<(i64, String, Option<String>, String, i64, Option<i64>)>,
    )> {
        let state: String = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT state FROM packages WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.get()).bind(package.get()).fetch_one(pool).await?);
        let rows: Vec<(i64, String, Option<String>, String, i64, Option<i64>)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT s.id, s.code, s.barcode, s.name, CAST(SUM(l.quantity * COALESCE(ol.units_per_item, 1)) AS BIGINT), s.weight_g \
                 FROM package_lines l JOIN order_lines ol ON ol.id = l.order_line_id \
                 JOIN skus s ON s.id = ol.sku_id \
                 WHERE l.tenant_id = $1 AND l.package_id = $2 \
                 GROUP BY s.id, s.code, s.barcode, s.name, s.weight_g ORDER BY s.code")
            .bind(tenant.get()).bind(package.get()).fetch_all(pool).await?);
        Ok((state, rows))
    }
}
