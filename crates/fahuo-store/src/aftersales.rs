//! After-sales' storage (售后): after-sales as synced or created, their history, the merchant's
//! pending decisions (the outbox rows of `aftersale.decide`), inspections with their photos and
//! restocks, return labels and pickups, carrier claims (理赔), reships (补发) and the settings.
//!
//! A synced picture is stored only if it is newer and not behind the stored one
//! ([`sync_replaces`]), so duplicate and out-of-order pushes change nothing. A decision and its
//! job are written in one transaction; an inspection, its photos and its `return` stock
//! movements too, so a restock cannot happen without its inspection or twice.

use crate::audit::insert_audit;
use crate::enqueue_job;
use crate::jobs::NewJob;
use crate::stock::{apply_stock_movement, ensure_owned};
use crate::{Result, Store, StoreError, from_ms, in_tx, ms, on_db, opt_from_ms};
use chrono::{DateTime, Utc};
use fahuo_domain::aftersale::{
    AfterSaleAction, AfterSaleKind, AfterSaleLine, AfterSaleStatus, ClaimState, InspectionVerdict,
    next_status, sync_replaces,
};
use fahuo_domain::audit::{ActorRef, AuditEntry};
use fahuo_domain::stock::{MovementKind, StockMovement};
use fahuo_domain::{
    AfterSaleId, CarrierAccountId, OrderId, OrderLineId, ShopId, SkuId, TenantId, WarehouseId,
};
use serde::Serialize;
use serde_json::json;

/// The job that sends a merchant's decision to the platform (`{"after_sale_id"}`).
pub const DECIDE_JOB: &str = "aftersale.decide";

/// A return label issued for the buyer (退货面单), on one of the merchant's carrier accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReturnLabel {
    pub account_id: CarrierAccountId,
    pub carrier: String,
    pub tracking_no: String,
}

/// A courier pickup booked at the buyer's (上门取件).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pickup {
    pub tracking_account_id: i64,
    pub carrier: String,
    /// fahuo's key for the booking (the service answers a repeat with the same booking).
    pub order_code: String,
    pub booking_id: Option<String>,
    pub tracking_no: Option<String>,
    /// `booked` or `cancelled`.
    pub state: String,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

/// An after-sale as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AfterSale {
    pub id: AfterSaleId,
    pub shop_id: ShopId,
    pub order_id: Option<OrderId>,
    /// `None` for fahuo's own (reship, claim, intercept).
    pub platform_after_sale_id: Option<String>,
    pub platform_order_id: Option<String>,
    pub kind: AfterSaleKind,
    pub status: AfterSaleStatus,
    pub platform_status: Option<String>,
    pub reason: Option<String>,
    pub refund_fen: Option<i64>,
    pub lines: Vec<AfterSaleLine>,
    /// The buyer's return parcel as the platform reports it.
    pub return_carrier: Option<String>,
    pub return_tracking_no: Option<String>,
    pub platform_created_at: Option<DateTime<Utc>>,
    pub platform_updated_at: Option<DateTime<Utc>>,
    /// A decision queued for the platform and not answered yet.
    pub pending_action: Option<AfterSaleAction>,
    pub pending_reason: Option<String>,
    /// Who proposed a refund above the threshold (waiting for an owner or admin).
    pub proposed_by: Option<String>,
    pub proposed_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The platform's refusal of the last decision.
    pub last_error: Option<String>,
    pub label: Option<ReturnLabel>,
    pub pickup: Option<Pickup>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One entry of an after-sale's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AfterSaleEvent {
    pub action: String,
    pub from_status: Option<AfterSaleStatus>,
    pub to_status: AfterSaleStatus,
    pub note: Option<String>,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// An after-sale as read from the platform, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedAfterSale {
    pub shop_id: ShopId,
    pub order_id: Option<OrderId>,
    pub platform_after_sale_id: String,
    pub platform_order_id: String,
    pub kind: AfterSaleKind,
    pub status: AfterSaleStatus,
    pub platform_status: String,
    pub reason: Option<String>,
    pub refund_fen: Option<i64>,
    pub lines: Vec<AfterSaleLine>,
    pub return_parcel: Option<(String, String)>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// What storing a synced after-sale did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synced {
    Created(AfterSaleId),
    Updated(AfterSaleId),
    /// A duplicate, older or behind picture: nothing changed.
    Unchanged(AfterSaleId),
}

impl Synced {
    pub fn id(self) -> AfterSaleId {
        match self {
            Synced::Created(id) | Synced::Updated(id) | Synced::Unchanged(id) => id,
        }
    }
}

/// Which after-sales to list.
#[derive(Debug, Clone, Default)]
pub struct AfterSaleFilter {
    pub status: Option<AfterSaleStatus>,
    pub kind: Option<AfterSaleKind>,
    pub order_id: Option<OrderId>,
    /// Only those with an id below (paging, newest first).
    pub before: Option<i64>,
    pub limit: i64,
    /// Only those of these shops (a sub-account's scope); `None` = every shop.
    pub shops: Option<Vec<ShopId>>,
}

/// A warehouse's inspection of a returned parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInspection {
    pub warehouse_id: WarehouseId,
    pub verdict: InspectionVerdict,
    pub note: Option<String>,
    /// (order line, units received).
    pub lines: Vec<(OrderLineId, i64)>,
    /// (content type as sniffed, bytes), already checked.
    pub photos: Vec<(&'static str, Vec<u8>)>,
}

/// An inspection as stored (photos by number, without their bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Inspection {
    pub id: i64,
    pub warehouse_id: WarehouseId,
    pub verdict: InspectionVerdict,
    pub note: Option<String>,
    pub lines: Vec<InspectedLine>,
    pub photos: Vec<PhotoMeta>,
    pub inspected_by: String,
    pub inspected_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InspectedLine {
    pub order_line_id: OrderLineId,
    /// The merchant SKU restocked (resell) or written off.
    pub sku_id: Option<SkuId>,
    pub units: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoMeta {
    /// 1-based; `GET /after-sales/{id}/photos/{n}`.
    pub n: i64,
    pub content_type: String,
    pub size: i64,
}

/// A carrier claim to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClaim {
    pub order_id: OrderId,
    pub carrier: String,
    pub tracking_no: String,
    pub claimed_fen: i64,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Claim {
    pub carrier: String,
    pub tracking_no: String,
    pub claimed_fen: i64,
    pub settled_fen: Option<i64>,
    pub state: ClaimState,
    pub note: Option<String>,
    pub settled_at: Option<DateTime<Utc>>,
}

/// A reship (补发) to create: a new order with the chosen lines, linked to the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReship {
    pub original: OrderId,
    pub lines: Vec<(OrderLineId, i64)>,
    pub reason: String,
    /// The after-sale it answers, if any.
    pub reship_of: Option<AfterSaleId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reship {
    pub original_order_id: OrderId,
    pub reship_order_id: OrderId,
    pub reship_of: Option<AfterSaleId>,
    /// (original order line, units).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Vec<i64>>))]
    pub lines: Vec<(OrderLineId, i64)>,
}

const COLUMNS: &str = "id, shop_id, order_id, platform_after_sale_id, platform_order_id, kind, \
    status, platform_status, reason, refund_fen, lines_json, return_carrier, return_tracking_no, \
    platform_created_at, platform_updated_at, pending_action, pending_reason, proposed_by, \
    proposed_at, decided_by, decided_at, last_error, label_account_id, label_carrier, \
    label_tracking_no, pickup_account_id, pickup_carrier, pickup_order_code, pickup_booking_id, \
    pickup_tracking_no, pickup_state, pickup_start, pickup_end, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    shop_id: i64,
    order_id: Option<i64>,
    platform_after_sale_id: Option<String>,
    platform_order_id: Option<String>,
    kind: String,
    status: String,
    platform_status: Option<String>,
    reason: Option<String>,
    refund_fen: Option<i64>,
    lines_json: String,
    return_carrier: Option<String>,
    return_tracking_no: Option<String>,
    platform_created_at: Option<i64>,
    platform_updated_at: Option<i64>,
    pending_action: Option<String>,
    pending_reason: Option<String>,
    proposed_by: Option<String>,
    proposed_at: Option<i64>,
    decided_by: Option<String>,
    decided_at: Option<i64>,
    last_error: Option<String>,
    label_account_id: Option<i64>,
    label_carrier: Option<String>,
    label_tracking_no: Option<String>,
    pickup_account_id: Option<i64>,
    pickup_carrier: Option<String>,
    pickup_order_code: Option<String>,
    pickup_booking_id: Option<String>,
    pickup_tracking_no: Option<String>,
    pickup_state: Option<String>,
    pickup_start: Option<i64>,
    pickup_end: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn from_row(r: Row) -> Result<AfterSale> {
    let label = match (r.label_account_id, r.label_carrier, r.label_tracking_no) {
        (Some(a), Some(c), Some(n)) => Some(ReturnLabel {
            account_id: CarrierAccountId(a),
            carrier: c,
            tracking_no: n,
        }),
        _ => None,
    };
    let pickup = match (r.pickup_account_id, r.pickup_carrier, r.pickup_order_code) {
        (Some(a), Some(c), Some(code)) => Some(Pickup {
            tracking_account_id: a,
            carrier: c,
            order_code: code,
            booking_id: r.pickup_booking_id,
            tracking_no: r.pickup_tracking_no,
            state: r.pickup_state.unwrap_or_default(),
            start: opt_from_ms(r.pickup_start),
            end: opt_from_ms(r.pickup_end),
        }),
        _ => None,
    };
    Ok(AfterSale {
        id: AfterSaleId(r.id),
        shop_id: ShopId(r.shop_id),
        order_id: r.order_id.map(OrderId),
        platform_after_sale_id: r.platform_after_sale_id,
        platform_order_id: r.platform_order_id,
        kind: AfterSaleKind::parse(&r.kind).map_err(corrupt)?,
        status: AfterSaleStatus::parse(&r.status).map_err(corrupt)?,
        platform_status: r.platform_status,
        reason: r.reason,
        refund_fen: r.refund_fen,
        lines: serde_json::from_str(&r.lines_json).map_err(corrupt)?,
        return_carrier: r.return_carrier,
        return_tracking_no: r.return_tracking_no,
        platform_created_at: opt_from_ms(r.platform_created_at),
        platform_updated_at: opt_from_ms(r.platform_updated_at),
        pending_action: r
            .pending_action
            .as_deref()
            .map(AfterSaleAction::parse)
            .transpose()
            .map_err(corrupt)?,
        pending_reason: r.pending_reason,
        proposed_by: r.proposed_by,
        proposed_at: opt_from_ms(r.proposed_at),
        decided_by: r.decided_by,
        decided_at: opt_from_ms(r.decided_at),
        last_error: r.last_error,
        label,
        pickup,
        created_at: from_ms(r.created_at),
        updated_at: from_ms(r.updated_at),
    })
}

fn lines_json(lines: &[AfterSaleLine]) -> String {
    serde_json::to_string(lines).unwrap_or_else(|_| "[]".into())
}

/// Appends one history entry inside `$tx`.
macro_rules! insert_event {
    ($tx:expr, $tenant:expr, $id:expr, $action:expr, $from:expr, $to:expr, $note:expr, $actor:expr, $now:expr) => {{
        let from: Option<AfterSaleStatus> = $from;
        let to: AfterSaleStatus = $to;
        let note: Option<&str> = $note;
        sqlx::query(
            "INSERT INTO after_sale_events (tenant_id, after_sale_id, action, from_status, \
             to_status, note, actor, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind($tenant.get())
        .bind($id)
        .bind($action)
        .bind(from.map(|s| s.as_str()))
        .bind(to.as_str())
        .bind(note)
        .bind($actor)
        .bind(ms($now))
        .execute(&mut *$tx)
        .await?;
    }};
}

/// Reads one after-sale's status and kind inside `$tx` (tenant-scoped; `NotFound` otherwise).
macro_rules! status_of {
    ($tx:expr, $tenant:expr, $id:expr) => {{
        let row: Option<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT kind, status, pending_action, platform_after_sale_id FROM after_sales \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind($tenant.get())
        .bind($id.get())
        .fetch_optional(&mut *$tx)
        .await?;
        let Some((kind, status, pending, platform_id)) = row else {
            return Err(StoreError::NotFound);
        };
        (
            AfterSaleKind::parse(&kind).map_err(corrupt)?,
            AfterSaleStatus::parse(&status).map_err(corrupt)?,
            pending,
            platform_id,
        )
    }};
}

impl Store {
    /// Stores an after-sale read from the platform: created the first time, replaced when the
    /// picture is newer and not behind ([`sync_replaces`]), otherwise left alone. Each change
    /// is a history entry.
    pub async fn upsert_synced_after_sale(
        &self,
        tenant: TenantId,
        a: &SyncedAfterSale,
        now: DateTime<Utc>,
    ) -> Result<Synced> {
        let (carrier, number) = match &a.return_parcel {
            Some((c, n)) => (Some(c.as_str()), Some(n.as_str())),
            None => (None, None),
        };
        let updated = a.updated_at.map(ms);
        let out = in_tx!(&self.db, tx => {
            let shop: Option<i64> = sqlx::query_scalar("SELECT id FROM shops WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(a.shop_id.get()).fetch_optional(&mut *tx).await?;
            if shop.is_none() {
                return Err(StoreError::NotFound);
            }
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO after_sales (tenant_id, shop_id, order_id, platform_after_sale_id, \
                 platform_order_id, kind, status, platform_status, reason, refund_fen, lines_json, \
                 return_carrier, return_tracking_no, platform_created_at, platform_updated_at, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                 $13, $14, $15, $16, $16) ON CONFLICT DO NOTHING RETURNING id")
                .bind(tenant.get()).bind(a.shop_id.get()).bind(a.order_id.map(|o| o.get()))
                .bind(&a.platform_after_sale_id).bind(&a.platform_order_id).bind(a.kind.as_str())
                .bind(a.status.as_str()).bind(&a.platform_status).bind(a.reason.as_deref())
                .bind(a.refund_fen).bind(lines_json(&a.lines)).bind(carrier).bind(number)
                .bind(a.created_at.map(ms)).bind(updated).bind(ms(now))
                .fetch_optional(&mut *tx).await?;
            if let Some(id) = inserted {
                insert_event!(tx, tenant, id, "synced", None, a.status, Some(a.platform_status.as_str()), "sync", now);
                Synced::Created(AfterSaleId(id))
            } else {
                let (id, status, stored_updated, order_id): (i64, String, Option<i64>, Option<i64>) = sqlx::query_as(
                    "SELECT id, status, platform_updated_at, order_id FROM after_sales WHERE tenant_id = $1 \
                     AND shop_id = $2 AND platform_after_sale_id = $3")
                    .bind(tenant.get()).bind(a.shop_id.get()).bind(&a.platform_after_sale_id)
                    .fetch_one(&mut *tx).await?;
                let stored = AfterSaleStatus::parse(&status).map_err(corrupt)?;
                if sync_replaces(stored, stored_updated, a.status, updated) {
                    sqlx::query(
                        "UPDATE after_sales SET status = $1, platform_status = $2, reason = $3, \
                         refund_fen = $4, lines_json = $5, return_carrier = COALESCE($6, return_carrier), \
                         return_tracking_no = COALESCE($7, return_tracking_no), platform_updated_at = $8, \
                         order_id = COALESCE(order_id, $9), updated_at = $10 WHERE id = $11")
                        .bind(a.status.as_str()).bind(&a.platform_status).bind(a.reason.as_deref())
                        .bind(a.refund_fen).bind(lines_json(&a.lines)).bind(carrier).bind(number)
                        .bind(updated.or(stored_updated)).bind(a.order_id.map(|o| o.get()).or(order_id))
                        .bind(ms(now)).bind(id)
                        .execute(&mut *tx).await?;
                    if stored != a.status {
                        insert_event!(tx, tenant, id, "synced", Some(stored), a.status, Some(a.platform_status.as_str()), "sync", now);
                    }
                    Synced::Updated(AfterSaleId(id))
                } else {
                    Synced::Unchanged(AfterSaleId(id))
                }
            }
        });
        Ok(out)
    }

    pub async fn after_sale(&self, tenant: TenantId, id: AfterSaleId) -> Result<AfterSale> {
        let sql = format!("SELECT {COLUMNS} FROM after_sales WHERE tenant_id = $1 AND id = $2");
        let row: Option<Row> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(tenant.get()).bind(id.get()).fetch_optional(pool).await?);
        from_row(row.ok_or(StoreError::NotFound)?)
    }

    /// The after-sale a warehouse scan names: its return number (the buyer's or fahuo's
    /// label, or the pickup's), or the platform's after-sale id.
    pub async fn after_sale_by_code(&self, tenant: TenantId, code: &str) -> Result<AfterSale> {
        let sql = format!(
            "SELECT {COLUMNS} FROM after_sales WHERE tenant_id = $1 AND (return_tracking_no = $2 \
             OR label_tracking_no = $2 OR pickup_tracking_no = $2 OR platform_after_sale_id = $2) \
             ORDER BY id DESC LIMIT 1"
        );
        let row: Option<Row> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(tenant.get()).bind(code.trim()).fetch_optional(pool).await?);
        from_row(row.ok_or(StoreError::NotFound)?)
    }

    /// After-sales, newest first.
    pub async fn after_sales(
        &self,
        tenant: TenantId,
        f: &AfterSaleFilter,
    ) -> Result<Vec<AfterSale>> {
        let shops = crate::ids_in(&self.db, 7);
        let sql = format!(
            "SELECT {COLUMNS} FROM after_sales WHERE tenant_id = $1 AND ($2 IS NULL OR status = $2) \
             AND ($3 IS NULL OR kind = $3) AND ($4 IS NULL OR order_id = $4) \
             AND ($5 IS NULL OR id < $5) AND ($7 IS NULL OR shop_id IN ({shops})) \
             ORDER BY id DESC LIMIT $6"
        );
        let rows: Vec<Row> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(tenant.get())
            .bind(f.status.map(|s| s.as_str()))
            .bind(f.kind.map(|k| k.as_str()))
            .bind(f.order_id.map(|o| o.get()))
            .bind(f.before)
            .bind(f.limit.clamp(1, 500))
            .bind(crate::scope_ids(f.shops.as_deref(), ShopId::get))
            .fetch_all(pool).await?);
        rows.into_iter().map(from_row).collect()
    }

    pub async fn after_sale_events(
        &self,
        tenant: TenantId,
        id: AfterSaleId,
    ) -> Result<Vec<AfterSaleEvent>> {
        type R = (String, Option<String>, String, Option<String>, String, i64);
        let rows: Vec<R> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT action, from_status, to_status, note, actor, at FROM after_sale_events \
                 WHERE tenant_id = $1 AND after_sale_id = $2 ORDER BY id")
            .bind(tenant.get()).bind(id.get()).fetch_all(pool).await?);
        rows.into_iter()
            .map(|(action, from, to, note, actor, at)| {
                Ok(AfterSaleEvent {
                    action,
                    from_status: from
                        .as_deref()
                        .map(AfterSaleStatus::parse)
                        .transpose()
                        .map_err(corrupt)?,
                    to_status: AfterSaleStatus::parse(&to).map_err(corrupt)?,
                    note,
                    actor,
                    at: from_ms(at),
                })
            })
            .collect()
    }

    /// Queues a decision for the platform: records it as pending and enqueues its job in one
    /// transaction. Asking again for the same pending decision is a no-op (a double click);
    /// another decision while one is pending is a conflict.
    pub async fn queue_after_sale_decision(
        &self,
        tenant: TenantId,
        id: AfterSaleId,
        action: AfterSaleAction,
        reason: Option<&str>,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let queued = in_tx!(&self.db, tx => {
            let (kind, status, pending, platform_id) = status_of!(tx, tenant, id);
            match pending.as_deref() {
                Some(p) if p == action.as_str() => false,
                Some(p) => {
                    return Err(StoreError::Conflict(format!(
                        "a {p} decision is still being sent to the platform"
                    )))
                }
                None => {
                    next_status(kind, status, action).map_err(|e| StoreError::Conflict(e.to_string()))?;
                    if platform_id.is_none() {
                        return Err(StoreError::Conflict(
                            "this after-sale is fahuo's own; nothing to tell a platform".into(),
                        ));
                    }
                    sqlx::query("UPDATE after_sales SET pending_action = $1, pending_reason = $2, \
                         last_error = NULL, decided_by = $5, decided_at = NULL, updated_at = $3 WHERE id = $4")
                        .bind(action.as_str()).bind(reason).bind(ms(now)).bind(id.get()).bind(actor.name())
                        .execute(&mut *tx).await?;
                    let job = NewJob::new(DECIDE_JOB, json!({ "after_sale_id": id.get() }), now)
                        .for_tenant(tenant)
                        .dedupe(format!("aftersale:{}:{}:{}", id.get(), action.as_str(), ms(now)))
                        .max_attempts(10);
                    enqueue_job!(&mut *tx, &job, now);
                    insert_event!(tx, tenant, id.get(), format!("{}_queued", action.as_str()), Some(status), status, reason, actor.name(), now);
                    let entry = AuditEntry::about(tenant, actor, &format!("after_sale.{}", action.as_str()),
                        ("after_sale", id.get()), json!({ "reason": reason }), now);
                    insert_audit!(&mut *tx, &entry);
                    true
                }
            }
        });
        Ok(queued)
    }

    /// Records a proposal (a refund above the threshold, waiting for an owner or admin).
    pub async fn propose_after_sale_refund(
        &self,
        tenant: TenantId,
        id: AfterSaleId,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let (kind, status, _, _) = status_of!(tx, tenant, id);
            next_status(kind, status, AfterSaleAction::Approve).map_err(|e| StoreError::Conflict(e.to_string()))?;
            sqlx::query("UPDATE after_sales SET proposed_by = $1, proposed_at = $2, updated_at = $2 \
                 WHERE id = $3 AND proposed_by IS NULL")
                .bind(actor.name()).bind(ms(now)).bind(id.get()).execute(&mut *tx).await?;
            insert_event!(tx, tenant, id.get(), "refund_proposed", Some(status), status, None, actor.name(), now);
        });
        Ok(())
    }

    /// The platform accepted the pending decision (or already had it).
    pub async fn after_sale_decided(
        &self,
        tenant: TenantId,
        id: AfterSaleId,
        actor_name: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let (_, status, pending, _) = status_of!(tx, tenant, id);
            let Some(pending) = pending else { return Ok(()) };
            // decided_by is who queued it; the time is when the platform accepted it.
            sqlx::query("UPDATE after_sales SET pending_action = NULL, decided_by = COALESCE(decided_by, $1), \
                 decided_at = $2, last_error = NULL, updated_at = $2 WHERE id = $3")
                .bind(actor_name).bind(ms(now)).bind(id.get()).execute(&mut *tx).await?;
            insert_event!(tx, tenant, id.get(), format!("{pending}_sent"), Some(status), status, None, actor_name, now);
        });
        Ok(())
    }

    /// The platform refused the pending decision: it is dropped with the reason, for a person.
    pub async fn after_sale_decision_refused(
        &self,
        tenant: TenantId,
        id: AfterSaleId,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let (_, status, pending, _) = status_of!(tx, tenant, id);
            sqlx::query("UPDATE after_sales SET pending_action = NULL, last_error = $1, updated_at = $2 \
                 WHERE id = $3")
                .bind(error).bind(ms(now)).bind(id.get()).execute(&mut *tx).await?;
            insert_event!(tx, tenant, id.get(), format!("{}_refused", pending.unwrap_or_default()), Some(status), status, Some(error), "platform", now);
        });
        Ok(())
    }

    /// Moves an after-sale by fahuo's own action (the transition table decides).
    pub async fn apply_after_sale_action(
        &self,
        tenant: TenantId,
        id: AfterSaleId,
        action: AfterSaleAction,
        note: Option<&str>,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<AfterSaleStatus> {
        let to = in_tx!(&self.db, tx => {
            let (kind, status, _, _) = status_of!(tx, tenant, id);
            let to = next_status(kind, status, action).map_err(|e| StoreError::Conflict(e.to_string()))?;
            sqlx::query("UPDATE after_sales SET status = $1, decided_by = $2, decided_at = $3, updated_at = $3 \
                 WHERE id = $4")
                .bind(to.as_str()).bind(actor.name()).bind(ms(now)).bind(id.get()).execute(&mut *tx).await?;
            insert_event!(tx, tenant, id.get(), action.as_str(), Some(status), to, note, actor.name(), now);
            to
        });
        Ok(to)
    }

    /// Records the inspection of a returned parcel, its photos and, for `resell`, the
    /// `return` stock movements into the warehouse — all in one transaction — and moves the
    /// after-sale to received. A second inspection of the same after-sale is a conflict.
    pub async fn record_inspection(
        &self,
        tenant: TenantId,
        id: AfterSaleId,
        i: &NewInspection,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let lock = self.row_lock();
        let inspection = in_tx!(&self.db, tx => {
            let (kind, status, _, _) = status_of!(tx, tenant, id);
            let to = next_status(kind, status, AfterSaleAction::Receive)
                .map_err(|e| StoreError::Conflict(e.to_string()))?;
            let order: Option<i64> = sqlx::query_scalar("SELECT order_id FROM after_sales WHERE id = $1")
                .bind(id.get()).fetch_one(&mut *tx).await?;
            let Some(order) = order else {
                return Err(StoreError::Conflict("the after-sale has no order".into()));
            };
            let warehouse: Option<i64> = sqlx::query_scalar("SELECT id FROM warehouses WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(i.warehouse_id.get()).fetch_optional(&mut *tx).await?;
            if warehouse.is_none() {
                return Err(StoreError::NotFound);
            }
            let mut lines = Vec::with_capacity(i.lines.len());
            for (line, units) in &i.lines {
                let found: Option<(i64, Option<i64>)> = sqlx::query_as(
                    "SELECT l.quantity, COALESCE(l.sku_id, (SELECT s.id FROM skus s WHERE s.tenant_id = l.tenant_id \
                     AND s.code = l.sku_code)) FROM order_lines l WHERE l.tenant_id = $1 AND l.order_id = $2 AND l.id = $3")
                    .bind(tenant.get()).bind(order).bind(line.get()).fetch_optional(&mut *tx).await?;
                let Some((quantity, sku)) = found else {
                    return Err(StoreError::Conflict(format!("line {line} is not a line of the order")));
                };
                if *units < 1 || *units > quantity {
                    return Err(StoreError::Conflict(format!("line {line}: between 1 and {quantity} units")));
                }
                lines.push(InspectedLine { order_line_id: *line, sku_id: sku.map(SkuId), units: *units });
            }
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO inspections (tenant_id, after_sale_id, warehouse_id, verdict, note, lines_json, \
                 inspected_by, inspected_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT DO NOTHING RETURNING id")
                .bind(tenant.get()).bind(id.get()).bind(i.warehouse_id.get()).bind(i.verdict.as_str())
                .bind(i.note.as_deref()).bind(serde_json::to_string(&lines).map_err(corrupt)?)
                .bind(actor.name()).bind(ms(now))
                .fetch_optional(&mut *tx).await?;
            let Some(inspection) = inserted else {
                return Err(StoreError::Conflict("this return was inspected already".into()));
            };
            for (n, (content_type, bytes)) in i.photos.iter().enumerate() {
                sqlx::query("INSERT INTO inspection_photos (tenant_id, inspection_id, n, content_type, bytes, size) \
                     VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(tenant.get()).bind(inspection).bind(n as i64 + 1).bind(*content_type)
                    .bind(bytes.as_slice()).bind(bytes.len() as i64)
                    .execute(&mut *tx).await?;
            }
            if i.verdict.restocks() {
                for l in &lines {
                    let Some(sku) = l.sku_id else {
                        return Err(StoreError::Conflict(format!(
                            "line {} has no merchant SKU to restock; map it first", l.order_line_id
                        )));
                    };
                    ensure_owned!(&mut *tx, tenant, i.warehouse_id, sku);
                    let movement = StockMovement::new(i.warehouse_id, sku, MovementKind::Return, l.units)
                        .map_err(|e| StoreError::Conflict(e.to_string()))?
                        .for_order(OrderId(order))
                        .with_note(format!("退货入库 售后{}", id.get()));
                    let _ = apply_stock_movement!(tx, lock, tenant, &movement, actor.name(), now);
                }
            }
            sqlx::query("UPDATE after_sales SET status = $1, updated_at = $2 WHERE id = $3")
                .bind(to.as_str()).bind(ms(now)).bind(id.get()).execute(&mut *tx).await?;
            insert_event!(tx, tenant, id.get(), format!("inspected_{}", i.verdict.as_str()), Some(status), to,
                i.note.as_deref(), actor.name(), now);
            let entry = AuditEntry::about(tenant, actor, "after_sale.inspect", ("after_sale", id.get()),
                json!({ "verdict": i.verdict.as_str(), "lines": lines, "photos": i.photos.len() }), now);
            insert_audit!(&mut *tx, &entry);
            inspection
        });
        Ok(inspection)
    }

    pub async fn inspection(
        &self,
        tenant: TenantId,
        id: AfterSaleId,
    ) -> Result<Option<Inspection>> {
        type R = (i64, i64, String, Option<String>, String, String, i64);
        let row: Option<R> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT id, warehouse_id, verdict, note, lines_json, inspected_by, inspected_at \
                 FROM inspections WHERE tenant_id = $1 AND after_sale_id = $2")
            .bind(tenant.get()).bind(id.get()).fetch_optional(pool).await?);
        let Some((iid, warehouse, verdict, note, lines, by, at)) = row else {
            return Ok(None);
        };
        let photos: Vec<(i64, String, i64)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT n, content_type, size FROM inspection_photos WHERE tenant_id = $1 \
                 AND inspection_id = $2 ORDER BY n")
            .bind(tenant.get()).bind(iid).fetch_all(pool).await?);
        Ok(Some(Inspection {
            id: iid,
            warehouse_id: WarehouseId(warehouse),
            verdict: InspectionVerdict::parse(&verdict).map_err(corrupt)?,
            note,
            lines: serde_json::from_str(&lines).map_err(corrupt)?,
            photos: photos
                .into_iter()
                .map(|(n, content_type, size)| PhotoMeta {
                    n,
                    content_type,
                    size,
                })
                .collect(),
            inspected_by: by,
            inspected_at: from_ms(at),
        }))
    }

    /// One inspection photo: (content type, bytes).
    pub async fn inspection_photo(
        &self,
        tenant: TenantId,
        id: AfterSaleId,
        n: i64,
    ) -> Result<(String, Vec<u8>)> {
        let row: Option<(String, Vec<u8>)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT p.content_type, p.bytes FROM inspection_photos p JOIN inspections i \
                 ON i.id = p.inspection_id WHERE p.tenant_id = $1 AND i.after_sale_id = $2 AND p.n = $3")
            .bind(tenant.get()).bind(id.get()).bind(n).fetch_optional(pool).await?);
        row.ok_or(StoreError::NotFound)
    }

    /// Stores (or, with `None`, clears) the return label.
    pub async fn set_return_label(
        &self,
        tenant: TenantId,
        id: AfterSaleId,
        label: Option<&ReturnLabel>,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let (_, status, _, _) = status_of!(tx, tenant, id);
            sqlx::query("UPDATE after_sales SET label_account_id = $1, label_carrier = $2, \
                 label_tracking_no = $3, updated_at = $4 WHERE id = $5")
                .bind(label.map(|l| l.account_id.get())).bind(label.map(|l| l.carrier.as_str()))
                .bind(label.map(|l| l.tracking_no.as_str())).bind(ms(now)).bind(id.get())
                .execute(&mut *tx).await?;
            let (action, note) = match label {
                Some(l) => ("return_label_issued", format!("{} {}", l.carrier, l.tracking_no)),
                None => ("return_label_cancelled", String::new()),
            };
            insert_event!(tx, tenant, id.get(), action, Some(status), status, Some(note.as_str()), actor.name(), now);
        });
        Ok(())
    }

    /// Stores a pickup booking (or its cancellation, with the same row and state `cancelled`).
    pub async fn set_pickup(
        &self,
        tenant: TenantId,
        id: AfterSaleId,
        pickup: &Pickup,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let (_, status, _, _) = status_of!(tx, tenant, id);
            sqlx::query("UPDATE after_sales SET pickup_account_id = $1, pickup_carrier = $2, \
                 pickup_order_code = $3, pickup_booking_id = $4, pickup_tracking_no = $5, pickup_state = $6, \
                 pickup_start = $7, pickup_end = $8, updated_at = $9 WHERE id = $10")
                .bind(pickup.tracking_account_id).bind(&pickup.carrier).bind(&pickup.order_code)
                .bind(pickup.booking_id.as_deref()).bind(pickup.tracking_no.as_deref()).bind(&pickup.state)
                .bind(pickup.start.map(ms)).bind(pickup.end.map(ms)).bind(ms(now)).bind(id.get())
                .execute(&mut *tx).await?;
            insert_event!(tx, tenant, id.get(), format!("pickup_{}", pickup.state), Some(status), status,
                pickup.tracking_no.as_deref(), actor.name(), now);
        });
        Ok(())
    }

    /// Opens a carrier claim (理赔) for a lost or damaged parcel: an after-sale of kind
    /// `claim` and its claim row. One open claim per number.
    pub async fn open_claim(
        &self,
        tenant: TenantId,
        c: &NewClaim,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<AfterSaleId> {
        let id = in_tx!(&self.db, tx => {
            let shop: Option<i64> = sqlx::query_scalar("SELECT shop_id FROM orders WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(c.order_id.get()).fetch_optional(&mut *tx).await?;
            let Some(shop) = shop else { return Err(StoreError::NotFound) };
            let open: Option<i64> = sqlx::query_scalar(
                "SELECT after_sale_id FROM claims WHERE tenant_id = $1 AND tracking_no = $2 AND state = 'open'")
                .bind(tenant.get()).bind(&c.tracking_no).fetch_optional(&mut *tx).await?;
            if open.is_some() {
                return Err(StoreError::Conflict(format!("a claim for {} is open already", c.tracking_no)));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO after_sales (tenant_id, shop_id, order_id, kind, status, reason, refund_fen, \
                 lines_json, created_at, updated_at) VALUES ($1, $2, $3, 'claim', 'requested', $4, NULL, '[]', $5, $5) \
                 RETURNING id")
                .bind(tenant.get()).bind(shop).bind(c.order_id.get()).bind(c.note.as_deref()).bind(ms(now))
                .fetch_one(&mut *tx).await?;
            sqlx::query("INSERT INTO claims (tenant_id, after_sale_id, carrier, tracking_no, claimed_fen, state, note) \
                 VALUES ($1, $2, $3, $4, $5, 'open', $6)")
                .bind(tenant.get()).bind(id).bind(&c.carrier).bind(&c.tracking_no).bind(c.claimed_fen)
                .bind(c.note.as_deref()).execute(&mut *tx).await?;
            let what = format!("{} {} ¥{:.2}", c.carrier, c.tracking_no, c.claimed_fen as f64 / 100.0);
            insert_event!(tx, tenant, id, "claim_opened", None, AfterSaleStatus::Requested,
                Some(what.as_str()), actor.name(), now);
            let entry = AuditEntry::about(tenant, actor, "after_sale.claim", ("after_sale", id),
                json!({ "order": c.order_id, "tracking_no": c.tracking_no, "claimed_fen": c.claimed_fen }), now);
            insert_audit!(&mut *tx, &entry);
            AfterSaleId(id)
        });
        Ok(id)
    }

    /// Records an interception request (拦截) for a parcel: an after-sale of kind `intercept`
    /// whose return number is the parcel's own (it comes back under it, so the warehouse's scan
    /// finds it). One open request per parcel.
    #[allow(clippy::too_many_arguments)]
    pub async fn open_intercept(
        &self,
        tenant: TenantId,
        order: OrderId,
        carrier: &str,
        tracking_no: &str,
        reason: &str,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<AfterSaleId> {
        let id = in_tx!(&self.db, tx => {
            let shop: Option<i64> = sqlx::query_scalar("SELECT shop_id FROM orders WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(order.get()).fetch_optional(&mut *tx).await?;
            let Some(shop) = shop else { return Err(StoreError::NotFound) };
            let open: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM after_sales WHERE tenant_id = $1 AND kind = 'intercept' \
                 AND return_tracking_no = $2 AND status = 'requested'")
                .bind(tenant.get()).bind(tracking_no).fetch_optional(&mut *tx).await?;
            if open.is_some() {
                return Err(StoreError::Conflict(format!("an interception of {tracking_no} is open already")));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO after_sales (tenant_id, shop_id, order_id, kind, status, reason, refund_fen, \
                 lines_json, return_carrier, return_tracking_no, created_at, updated_at) \
                 VALUES ($1, $2, $3, 'intercept', 'requested', $4, NULL, '[]', $5, $6, $7, $7) RETURNING id")
                .bind(tenant.get()).bind(shop).bind(order.get()).bind(reason).bind(carrier)
                .bind(tracking_no).bind(ms(now))
                .fetch_one(&mut *tx).await?;
            let what = format!("{carrier} {tracking_no}");
            insert_event!(tx, tenant, id, "intercept_requested", None, AfterSaleStatus::Requested,
                Some(what.as_str()), actor.name(), now);
            let entry = AuditEntry::about(tenant, actor, "after_sale.intercept", ("after_sale", id),
                json!({ "order": order, "tracking_no": tracking_no, "reason": reason }), now);
            insert_audit!(&mut *tx, &entry);
            AfterSaleId(id)
        });
        Ok(id)
    }

    /// Records the carrier's answer to an interception: stopped (completed; the parcel comes
    /// back) or not (rejected: it was delivered or the carrier refused).
    pub async fn intercept_result(
        &self,
        tenant: TenantId,
        id: AfterSaleId,
        intercepted: bool,
        note: Option<&str>,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let (kind, status, _, _) = status_of!(tx, tenant, id);
            if kind != AfterSaleKind::Intercept {
                return Err(StoreError::Conflict("not an interception".into()));
            }
            let action = if intercepted { AfterSaleAction::Complete } else { AfterSaleAction::Reject };
            let to = next_status(kind, status, action).map_err(|e| StoreError::Conflict(e.to_string()))?;
            sqlx::query("UPDATE after_sales SET status = $1, decided_by = $2, decided_at = $3, updated_at = $3 \
                 WHERE id = $4")
                .bind(to.as_str()).bind(actor.name()).bind(ms(now)).bind(id.get())
                .execute(&mut *tx).await?;
            let action = if intercepted { "intercepted" } else { "intercept_failed" };
            insert_event!(tx, tenant, id.get(), action, Some(status), to, note, actor.name(), now);
        });
        Ok(())
    }

    pub async fn claim(&self, tenant: TenantId, id: AfterSaleId) -> Result<Option<Claim>> {
        type R = (
            String,
            String,
            i64,
            Option<i64>,
            String,
            Option<String>,
            Option<i64>,
        );
        let row: Option<R> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT carrier, tracking_no, claimed_fen, settled_fen, state, note, settled_at FROM claims \
                 WHERE tenant_id = $1 AND after_sale_id = $2")
            .bind(tenant.get()).bind(id.get()).fetch_optional(pool).await?);
        row.map(
            |(carrier, tracking_no, claimed_fen, settled_fen, state, note, at)| {
                Ok(Claim {
                    carrier,
                    tracking_no,
                    claimed_fen,
                    settled_fen,
                    state: ClaimState::parse(&state).map_err(corrupt)?,
                    note,
                    settled_at: opt_from_ms(at),
                })
            },
        )
        .transpose()
    }

    /// Records the carrier's answer to a claim: paid (`Settled`, with the amount) or refused.
    #[allow(clippy::too_many_arguments)] // the claim's answer, its amount and note, and the audit
    pub async fn settle_claim(
        &self,
        tenant: TenantId,
        id: AfterSaleId,
        state: ClaimState,
        settled_fen: Option<i64>,
        note: Option<&str>,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let (kind, status, _, _) = status_of!(tx, tenant, id);
            let action = match state {
                ClaimState::Settled => AfterSaleAction::Complete,
                ClaimState::Rejected => AfterSaleAction::Reject,
                ClaimState::Open => return Err(StoreError::Conflict("a claim is settled or rejected".into())),
            };
            if kind != AfterSaleKind::Claim {
                return Err(StoreError::Conflict("not a claim".into()));
            }
            let to = next_status(kind, status, action).map_err(|e| StoreError::Conflict(e.to_string()))?;
            let done = sqlx::query("UPDATE claims SET state = $1, settled_fen = $2, note = COALESCE($3, note), \
                 settled_at = $4 WHERE tenant_id = $5 AND after_sale_id = $6 AND state = 'open'")
                .bind(state.as_str()).bind(settled_fen).bind(note).bind(ms(now)).bind(tenant.get()).bind(id.get())
                .execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Conflict("the claim is not open".into()));
            }
            sqlx::query("UPDATE after_sales SET status = $1, refund_fen = $2, decided_by = $3, decided_at = $4, \
                 updated_at = $4 WHERE id = $5")
                .bind(to.as_str()).bind(settled_fen).bind(actor.name()).bind(ms(now)).bind(id.get())
                .execute(&mut *tx).await?;
            insert_event!(tx, tenant, id.get(), format!("claim_{}", state.as_str()), Some(status), to, note, actor.name(), now);
        });
        Ok(())
    }

    /// Creates a reship (补发): a new order in the original's shop with platform `manual` (so
    /// its shipment is recorded, not written back to the platform, whose order shipped
    /// already), the original's receiver and the chosen lines (paid 0), numbered
    /// `{original}-R{n}`; and an after-sale of kind `reship` linking both. The new order goes
    /// through review, allocation, waybill, print and ship like any other.
    pub async fn create_reship(
        &self,
        tenant: TenantId,
        r: &NewReship,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<(AfterSaleId, OrderId)> {
        let out = in_tx!(&self.db, tx => {
            let original: Option<(i64, String)> = sqlx::query_as(
                "SELECT shop_id, platform_order_id FROM orders WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(r.original.get()).fetch_optional(&mut *tx).await?;
            let Some((shop, number)) = original else { return Err(StoreError::NotFound) };
            if let Some(of) = r.reship_of {
                let owned: Option<i64> = sqlx::query_scalar("SELECT id FROM after_sales WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.get()).bind(of.get()).fetch_optional(&mut *tx).await?;
                if owned.is_none() {
                    return Err(StoreError::NotFound);
                }
            }
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reships WHERE tenant_id = $1 AND original_order_id = $2")
                .bind(tenant.get()).bind(r.original.get()).fetch_one(&mut *tx).await?;
            let new_number = format!("{number}-R{}", n + 1);
            let order: i64 = sqlx::query_scalar(
                "INSERT INTO orders (tenant_id, shop_id, platform, platform_order_id, state, platform_status, \
                 paid_total_fen, freight_fen, buyer_note, seller_note, paid_at, ship_by, presale_ship_at, \
                 platform_updated_at, receiver_enc, receiver_name_masked, receiver_phone_masked, \
                 receiver_phone_tail_hash, receiver_province, receiver_city, receiver_county, version, \
                 created_at, updated_at) SELECT tenant_id, shop_id, 'manual', $1, 'new', 'reship', 0, 0, NULL, $2, \
                 $3, NULL, NULL, NULL, receiver_enc, receiver_name_masked, receiver_phone_masked, \
                 receiver_phone_tail_hash, receiver_province, receiver_city, receiver_county, 1, $3, $3 \
                 FROM orders WHERE tenant_id = $4 AND id = $5 RETURNING id")
                .bind(&new_number).bind(format!("补发 {number}: {}", r.reason)).bind(ms(now))
                .bind(tenant.get()).bind(r.original.get())
                .fetch_one(&mut *tx).await?;
            for (no, (line, units)) in r.lines.iter().enumerate() {
                let done = sqlx::query(
                    "INSERT INTO order_lines (tenant_id, order_id, line_no, platform_line_id, platform_sku_id, \
                     sku_code, sku_id, title, quantity, unit_price_fen, paid_fen) SELECT tenant_id, $1, $2, \
                     platform_line_id, platform_sku_id, sku_code, sku_id, title, $3, 0, 0 FROM order_lines \
                     WHERE tenant_id = $4 AND order_id = $5 AND id = $6 AND quantity >= $3")
                    .bind(order).bind(no as i64 + 1).bind(*units).bind(tenant.get()).bind(r.original.get())
                    .bind(line.get()).execute(&mut *tx).await?;
                if done.rows_affected() == 0 || *units < 1 {
                    return Err(StoreError::Conflict(format!(
                        "line {line} is not a line of the order with at least {units} units"
                    )));
                }
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO after_sales (tenant_id, shop_id, order_id, platform_order_id, kind, status, reason, \
                 lines_json, created_at, updated_at) VALUES ($1, $2, $3, $4, 'reship', 'completed', $5, $6, $7, $7) \
                 RETURNING id")
                .bind(tenant.get()).bind(shop).bind(r.original.get()).bind(&number).bind(&r.reason)
                .bind(lines_json(&r.lines.iter().map(|(l, q)| AfterSaleLine {
                    order_line_id: Some(*l), platform_line_id: None, platform_sku_id: None, quantity: *q,
                }).collect::<Vec<_>>()))
                .bind(ms(now)).fetch_one(&mut *tx).await?;
            sqlx::query("INSERT INTO reships (tenant_id, after_sale_id, original_order_id, reship_order_id, \
                 reship_of, lines_json) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(tenant.get()).bind(id).bind(r.original.get()).bind(order)
                .bind(r.reship_of.map(|a| a.get()))
                .bind(serde_json::to_string(&r.lines.iter().map(|(l, q)| (l.get(), *q)).collect::<Vec<_>>()).map_err(corrupt)?)
                .execute(&mut *tx).await?;
            insert_event!(tx, tenant, id, "reship_created", None, AfterSaleStatus::Completed,
                Some(new_number.as_str()), actor.name(), now);
            let entry = AuditEntry::about(tenant, actor, "order.created", ("order", order),
                json!({ "reship_of_order": r.original, "after_sale": id, "platform_order_id": new_number }), now);
            insert_audit!(&mut *tx, &entry);
            (AfterSaleId(id), OrderId(order))
        });
        Ok(out)
    }

    pub async fn reship(&self, tenant: TenantId, id: AfterSaleId) -> Result<Option<Reship>> {
        let row: Option<(i64, i64, Option<i64>, String)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT original_order_id, reship_order_id, reship_of, lines_json FROM reships \
                 WHERE tenant_id = $1 AND after_sale_id = $2")
            .bind(tenant.get()).bind(id.get()).fetch_optional(pool).await?);
        row.map(|(o, n, of, lines)| {
            let lines: Vec<(i64, i64)> = serde_json::from_str(&lines).map_err(corrupt)?;
            Ok(Reship {
                original_order_id: OrderId(o),
                reship_order_id: OrderId(n),
                reship_of: of.map(AfterSaleId),
                lines: lines
                    .into_iter()
                    .map(|(l, q)| (OrderLineId(l), q))
                    .collect(),
            })
        })
        .transpose()
    }

    /// The merchant's refund-approval threshold (fen); `None`: no second approval.
    pub async fn refund_approval_threshold(&self, tenant: TenantId) -> Result<Option<i64>> {
        let v: Option<Option<i64>> = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT approval_threshold_fen FROM after_sale_settings WHERE tenant_id = $1")
            .bind(tenant.get()).fetch_optional(pool).await?);
        Ok(v.flatten())
    }

    pub async fn set_refund_approval_threshold(
        &self,
        tenant: TenantId,
        threshold: Option<i64>,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            sqlx::query("INSERT INTO after_sale_settings (tenant_id, approval_threshold_fen, updated_at) \
                 VALUES ($1, $2, $3) ON CONFLICT (tenant_id) DO UPDATE SET \
                 approval_threshold_fen = excluded.approval_threshold_fen, updated_at = excluded.updated_at")
                .bind(tenant.get()).bind(threshold).bind(ms(now)).execute(&mut *tx).await?;
            let entry = AuditEntry::about(tenant, actor, "settings.after_sales", ("tenant", tenant.get()),
                json!({ "approval_threshold_fen": threshold }), now);
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// Where a shop's after-sale window sync stands (platform update time).
    pub async fn after_sale_high_water(
        &self,
        tenant: TenantId,
        shop: ShopId,
    ) -> Result<Option<DateTime<Utc>>> {
        let v: Option<Option<i64>> = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT high_water FROM after_sale_sync WHERE tenant_id = $1 AND shop_id = $2")
            .bind(tenant.get()).bind(shop.get()).fetch_optional(pool).await?);
        Ok(opt_from_ms(v.flatten()))
    }

    /// Records a window sync's progress (`high_water`) or failure (`error`).
    pub async fn record_after_sale_sync(
        &self,
        tenant: TenantId,
        shop: ShopId,
        high_water: Option<DateTime<Utc>>,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_db!(&self.db, pool => { sqlx::query(
                "INSERT INTO after_sale_sync (shop_id, tenant_id, high_water, last_error, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (shop_id) DO UPDATE SET \
                 high_water = COALESCE(excluded.high_water, after_sale_sync.high_water), \
                 last_error = excluded.last_error, updated_at = excluded.updated_at")
            .bind(shop.get()).bind(tenant.get()).bind(high_water.map(ms)).bind(error).bind(ms(now))
            .execute(pool).await?; });
        Ok(())
    }
}
