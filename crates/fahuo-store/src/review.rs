//! Review's storage: the merchant's settings (review, allocation, deadlines), the blacklist,
//! line mappings and merge keys, the holds review owns, the stage queues, deadline alerts and
//! delivery negotiations.
//!
//! Review decides in the domain; [`Store::apply_review`] stores the decision in one
//! transaction: holds that no longer fire are released, new ones added, and the order held or
//! approved accordingly.

use crate::allocation::stock_follows_order;
use crate::audit::insert_audit;
use crate::orders::apply_order_event;
use crate::stock::apply_stock_movement;
use crate::{Result, Store, StoreError, from_ms, in_tx, ms, on_db, opt_from_ms};
use chrono::{DateTime, Utc};
use fahuo_domain::audit::{ActorRef, AuditEntry};
use fahuo_domain::{HoldId, OrderEvent, OrderId, OrderLineId, OrderState, ShopId, SkuId, TenantId};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::collections::HashSet;

/// The kinds of settings a tenant keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsKind {
    Review,
    Allocation,
    Deadline,
    Shipping,
    Radar,
    Notify,
}

impl SettingsKind {
    fn as_str(self) -> &'static str {
        match self {
            SettingsKind::Review => "review",
            SettingsKind::Allocation => "allocation",
            SettingsKind::Deadline => "deadline",
            SettingsKind::Shipping => "shipping",
            SettingsKind::Radar => "radar",
            SettingsKind::Notify => "notify",
        }
    }
}

/// A hold review wants on an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldSpec {
    pub code: String,
    pub message: String,
    /// The same in English ("" when there is none: a message a person typed).
    pub message_en: String,
    pub stage: i64,
}

/// One entry of the blacklist, as listed (the phone only masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlacklistEntry {
    pub id: i64,
    pub phone_masked: String,
    pub reason: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// An order waiting in a review stage's queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueuedOrder {
    pub order_id: OrderId,
    pub platform_order_id: String,
    pub shop_id: ShopId,
    pub ship_by: Option<DateTime<Utc>>,
    /// The open holds of the stage: (hold, reason code, message).
    pub holds: Vec<(HoldId, String, String)>,
}

/// A held order with all its open holds, for the exceptions queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldOrder {
    pub order_id: OrderId,
    pub shop_id: ShopId,
    pub platform: fahuo_domain::Platform,
    pub platform_order_id: String,
    pub ship_by: Option<DateTime<Utc>>,
    /// The receiver as stored masked (张*, 138****5678).
    pub receiver_name_masked: String,
    pub receiver_phone_masked: String,
    pub holds: Vec<OpenHold>,
}

/// An open hold of a [`HeldOrder`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenHold {
    pub id: HoldId,
    pub reason_code: String,
    pub message: String,
    /// The message in English, "" for a hold put by hand or stored before English messages.
    pub message_en: String,
    pub stage: i64,
    pub created_at: DateTime<Utc>,
}

/// An order before shipping whose deadline is near, for alerts and the at-risk queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DueOrder {
    pub order_id: OrderId,
    pub shop_id: ShopId,
    pub platform_order_id: String,
    pub state: OrderState,
    pub ship_by: DateTime<Utc>,
    /// Thresholds (hours) already alerted for this deadline.
    pub alerted: Vec<i64>,
}

/// A deadline alert as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeadlineAlert {
    pub order_id: OrderId,
    pub platform_order_id: String,
    pub ship_by: DateTime<Utc>,
    pub threshold_hours: i64,
    pub at: DateTime<Utc>,
}

impl Store {
    // ------------------------------------------------------------------ settings

    /// The tenant's settings of a kind for a shop: the shop's own if it has them, else the
    /// tenant's, else `None` (the caller's defaults apply).
    pub async fn settings<T: DeserializeOwned>(
        &self,
        tenant: TenantId,
        shop: Option<ShopId>,
        kind: SettingsKind,
    ) -> Result<Option<T>> {
        let shop = shop.map(|s| s.get()).unwrap_or(0);
        let value: Option<String> = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT value_json FROM tenant_settings WHERE tenant_id = $1 AND kind = $2 \
                 AND shop_id IN (0, $3) ORDER BY shop_id DESC LIMIT 1")
            .bind(tenant.get()).bind(kind.as_str()).bind(shop)
            .fetch_optional(pool).await?);
        value
            .map(|v| serde_json::from_str(&v).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }

    /// Replaces the tenant's (or one shop's) settings of a kind; `None` removes them. Audited.
    pub async fn set_settings<T: Serialize>(
        &self,
        tenant: TenantId,
        shop: Option<ShopId>,
        kind: SettingsKind,
        value: Option<&T>,
        audit: &AuditEntry,
    ) -> Result<()> {
        let json = value
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        in_tx!(&self.db, tx => {
            if let Some(shop) = shop {
                let _: i64 = sqlx::query_scalar("SELECT id FROM shops WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.get()).bind(shop.get()).fetch_one(&mut *tx).await?;
            }
            let shop_id = shop.map(|s| s.get()).unwrap_or(0);
            sqlx::query("DELETE FROM tenant_settings WHERE tenant_id = $1 AND shop_id = $2 AND kind = $3")
                .bind(tenant.get()).bind(shop_id).bind(kind.as_str()).execute(&mut *tx).await?;
            if let Some(json) = &json {
                sqlx::query("INSERT INTO tenant_settings (tenant_id, shop_id, kind, value_json, updated_at) \
                     VALUES ($1, $2, $3, $4, $5)")
                    .bind(tenant.get()).bind(shop_id).bind(kind.as_str()).bind(json).bind(ms(audit.at))
                    .execute(&mut *tx).await?;
            }
            let mut entry = audit.clone();
            entry.after = json.as_deref().and_then(|j| serde_json::from_str(j).ok());
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    // ------------------------------------------------------------------ blacklist

    /// Adds a phone number to the blacklist (kept as a keyed hash and a masked copy).
    pub async fn add_to_blacklist(
        &self,
        tenant: TenantId,
        phone: &fahuo_domain::Phone,
        reason: &str,
        audit: &AuditEntry,
    ) -> Result<i64> {
        let hash = self.pii.lookup_hash("blacklist_phone", phone.as_str());
        let id = in_tx!(&self.db, tx => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO blacklist (tenant_id, phone_hash, phone_masked, reason, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
                .bind(tenant.get()).bind(&hash).bind(phone.masked()).bind(reason)
                .bind(audit.actor.name()).bind(ms(audit.at))
                .fetch_one(&mut *tx).await?;
            let mut entry = audit.clone();
            entry.entity_id = Some(id);
            entry.after = Some(json!({ "phone": phone.masked(), "reason": reason }));
            insert_audit!(&mut *tx, &entry);
            id
        });
        Ok(id)
    }

    pub async fn remove_from_blacklist(
        &self,
        tenant: TenantId,
        id: i64,
        audit: &AuditEntry,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let done = sqlx::query("DELETE FROM blacklist WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(id).execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            let mut entry = audit.clone();
            entry.entity_id = Some(id);
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    pub async fn blacklist(&self, tenant: TenantId) -> Result<Vec<BlacklistEntry>> {
        let rows: Vec<(i64, String, String, String, i64)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT id, phone_masked, reason, created_by, created_at FROM blacklist \
                 WHERE tenant_id = $1 ORDER BY id")
            .bind(tenant.get()).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(
                |(id, phone_masked, reason, created_by, at)| BlacklistEntry {
                    id,
                    phone_masked,
                    reason,
                    created_by,
                    created_at: from_ms(at),
                },
            )
            .collect())
    }

    /// Why this phone is blacklisted, if it is.
    pub async fn blacklisted(
        &self,
        tenant: TenantId,
        phone: &fahuo_domain::Phone,
    ) -> Result<Option<String>> {
        let hash = self.pii.lookup_hash("blacklist_phone", phone.as_str());
        Ok(on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT reason FROM blacklist WHERE tenant_id = $1 AND phone_hash = $2")
            .bind(tenant.get()).bind(&hash).fetch_optional(pool).await?))
    }

    // ------------------------------------------------------------------ review

    /// Records which merchant SKU each line maps to (with units per item; `None` unmaps) and
    /// the receiver's merge key (stored as a keyed hash of `merge_basis`).
    pub async fn record_review_facts(
        &self,
        tenant: TenantId,
        order: OrderId,
        mappings: &[(OrderLineId, Option<(SkuId, i64)>)],
        merge_basis: &str,
    ) -> Result<()> {
        let merge_key = self.pii.lookup_hash("merge", merge_basis);
        in_tx!(&self.db, tx => {
            sqlx::query("UPDATE orders SET merge_key = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(&merge_key).bind(tenant.get()).bind(order.get()).execute(&mut *tx).await?;
            for (line, mapping) in mappings {
                sqlx::query(
                    "UPDATE order_lines SET sku_id = $1, units_per_item = $2 \
                     WHERE tenant_id = $3 AND order_id = $4 AND id = $5")
                    .bind(mapping.map(|(s, _)| s.get())).bind(mapping.map(|(_, u)| u))
                    .bind(tenant.get()).bind(order.get()).bind(line.get())
                    .execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// The order's merge key, once review recorded it.
    pub async fn merge_key(&self, tenant: TenantId, order: OrderId) -> Result<Option<String>> {
        Ok(on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT merge_key FROM orders WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.get()).bind(order.get()).fetch_one(pool).await?))
    }

    /// The order's state and stored merge key together (for intake: did a synced address
    /// change move the receiver of an order already in the warehouse flow?).
    pub async fn state_and_merge_key(
        &self,
        tenant: TenantId,
        order: OrderId,
    ) -> Result<(OrderState, Option<String>)> {
        let (state, key): (String, Option<String>) = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT state, merge_key FROM orders WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.get()).bind(order.get()).fetch_one(pool).await?);
        Ok((OrderState::parse(&state)?, key))
    }

    /// The merge key a receiver reduced to `merge_basis` has (as [`Store::record_review_facts`]
    /// stores it).
    pub fn merge_key_of(&self, merge_basis: &str) -> String {
        self.pii.lookup_hash("merge", merge_basis)
    }

    /// Units per item of each mapped line.
    pub async fn line_units(
        &self,
        tenant: TenantId,
        order: OrderId,
    ) -> Result<std::collections::HashMap<OrderLineId, i64>> {
        let rows: Vec<(i64, i64)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT id, units_per_item FROM order_lines WHERE tenant_id = $1 AND order_id = $2 \
                 AND units_per_item IS NOT NULL")
            .bind(tenant.get()).bind(order.get()).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|(l, u)| (OrderLineId(l), u)).collect())
    }

    /// Reason codes a person released on this order (review does not raise them again).
    pub async fn overridden_codes(
        &self,
        tenant: TenantId,
        order: OrderId,
    ) -> Result<HashSet<String>> {
        let rows: Vec<String> = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT DISTINCT reason_code FROM holds WHERE tenant_id = $1 AND order_id = $2 \
                 AND released_by_person")
            .bind(tenant.get()).bind(order.get()).fetch_all(pool).await?);
        Ok(rows.into_iter().collect())
    }

    /// Stores review's decision: open holds with a code in `managed` that are not among
    /// `wanted` are released; wanted holds not open yet are added (an open one keeps its date
    /// and takes the new stage and message); then the order is held if any hold is open, or
    /// approved if none is. Returns the order's state after. One transaction, audited.
    pub async fn apply_review(
        &self,
        tenant: TenantId,
        order: OrderId,
        managed: &[&str],
        wanted: &[HoldSpec],
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<OrderState> {
        let lock = self.row_lock();
        let state = in_tx!(&self.db, tx => {
            let state: String = sqlx::query_scalar("SELECT state FROM orders WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(order.get()).fetch_one(&mut *tx).await?;
            let state = OrderState::parse(&state)?;
            let open: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, reason_code FROM holds WHERE tenant_id = $1 AND order_id = $2 AND released_at IS NULL")
                .bind(tenant.get()).bind(order.get()).fetch_all(&mut *tx).await?;
            let mut still_open = 0usize;
            let mut released = Vec::new();
            for (id, code) in &open {
                match wanted.iter().find(|w| &w.code == code) {
                    Some(w) => {
                        still_open += 1;
                        sqlx::query("UPDATE holds SET stage = $1, message = $2, message_en = $3 WHERE id = $4")
                            .bind(w.stage).bind(&w.message).bind(&w.message_en).bind(id)
                            .execute(&mut *tx).await?;
                    }
                    None if managed.contains(&code.as_str()) => {
                        sqlx::query("UPDATE holds SET released_at = $1, released_by = $2 WHERE id = $3")
                            .bind(ms(now)).bind(actor.name()).bind(id).execute(&mut *tx).await?;
                        released.push(code.clone());
                    }
                    None => still_open += 1,
                }
            }
            let mut added = Vec::new();
            for w in wanted.iter().filter(|w| !open.iter().any(|(_, c)| c == &w.code)) {
                sqlx::query(
                    "INSERT INTO holds (tenant_id, order_id, reason_code, message, message_en, created_at, stage) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(tenant.get()).bind(order.get()).bind(&w.code).bind(&w.message)
                    .bind(&w.message_en).bind(ms(now)).bind(w.stage)
                    .execute(&mut *tx).await?;
                added.push(w.code.clone());
                still_open += 1;
            }
            let event = match (still_open > 0, state) {
                (true, OrderState::New | OrderState::Approved | OrderState::Allocated) => Some(OrderEvent::Hold),
                (false, OrderState::New | OrderState::OnHold) => Some(OrderEvent::Approve),
                _ => None,
            };
            let to = match event {
                Some(event) => {
                    let (from, to) = apply_order_event!(tx, tenant, order, event, now);
                    stock_follows_order!(tx, lock, tenant, order, from, to, actor.name(), now);
                    to
                }
                None => state,
            };
            if event.is_some() || !added.is_empty() || !released.is_empty() {
                let entry = AuditEntry {
                    tenant_id: tenant,
                    actor: actor.clone(),
                    action: "order.review".into(),
                    entity_type: "order".into(),
                    entity_id: Some(order.get()),
                    before: Some(json!({ "state": state })),
                    after: Some(json!({ "state": to, "held": added, "released": released,
                        "findings": wanted.iter().map(|w| &w.message).collect::<Vec<_>>() })),
                    at: now,
                };
                insert_audit!(&mut *tx, &entry);
            }
            to
        });
        Ok(state)
    }

    /// A person releases open holds of an order: the given ones, or all of one stage. The
    /// codes count as overridden for this order from now on. Returns how many were released;
    /// the caller re-reviews the order.
    pub async fn release_holds(
        &self,
        tenant: TenantId,
        order: OrderId,
        holds: Option<&[HoldId]>,
        stage: Option<i64>,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let released = in_tx!(&self.db, tx => {
            let open: Vec<(i64, String, i64)> = sqlx::query_as(
                "SELECT id, reason_code, stage FROM holds WHERE tenant_id = $1 AND order_id = $2 \
                 AND released_at IS NULL ORDER BY id")
                .bind(tenant.get()).bind(order.get()).fetch_all(&mut *tx).await?;
            let chosen: Vec<&(i64, String, i64)> = open.iter()
                .filter(|(id, _, s)| holds.is_none_or(|h| h.contains(&HoldId(*id))) && stage.is_none_or(|st| st == *s))
                .collect();
            if let Some(h) = holds && h.iter().any(|id| !open.iter().any(|(o, _, _)| *o == id.get())) {
                return Err(StoreError::Conflict("a hold is not open on this order".into()));
            }
            for (id, _, _) in &chosen {
                sqlx::query("UPDATE holds SET released_at = $1, released_by = $2, released_by_person = TRUE \
                     WHERE id = $3")
                    .bind(ms(now)).bind(actor.name()).bind(id).execute(&mut *tx).await?;
            }
            let entry = AuditEntry {
                tenant_id: tenant,
                actor: actor.clone(),
                action: "order.release_holds".into(),
                entity_type: "order".into(),
                entity_id: Some(order.get()),
                before: None,
                after: Some(json!({ "released": chosen.iter().map(|(_, c, _)| c).collect::<Vec<_>>() })),
                at: now,
            };
            insert_audit!(&mut *tx, &entry);
            chosen.len()
        });
        Ok(released)
    }

    /// Open holds per order with their stage: (hold, code, stage).
    pub async fn open_holds(
        &self,
        tenant: TenantId,
        order: OrderId,
    ) -> Result<Vec<(HoldId, String, i64)>> {
        let rows: Vec<(i64, String, i64)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT id, reason_code, stage FROM holds WHERE tenant_id = $1 AND order_id = $2 \
                 AND released_at IS NULL ORDER BY id")
            .bind(tenant.get()).bind(order.get()).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(id, c, s)| (HoldId(id), c, s))
            .collect())
    }

    /// Orders of a review stage's queue: held orders whose earliest open stage is `stage`,
    /// most urgent deadline first; only of `shops` (a sub-account's scope) unless `None`.
    pub async fn review_queue(
        &self,
        tenant: TenantId,
        stage: i64,
        limit: i64,
        shops: Option<&[ShopId]>,
    ) -> Result<Vec<QueuedOrder>> {
        type Row = (i64, String, i64, Option<i64>, i64, String, String);
        let sql = format!(
            "SELECT o.id, o.platform_order_id, o.shop_id, o.ship_by, h.id, h.reason_code, h.message \
             FROM orders o JOIN holds h ON h.order_id = o.id AND h.released_at IS NULL AND h.stage = $2 \
             WHERE o.tenant_id = $1 AND o.state = 'on_hold' \
             AND o.id IN (SELECT o2.id FROM orders o2 WHERE o2.tenant_id = $1 AND o2.state = 'on_hold' \
               AND ($4 IS NULL OR o2.shop_id IN ({})) \
               AND (SELECT MIN(h2.stage) FROM holds h2 WHERE h2.order_id = o2.id AND h2.released_at IS NULL) = $2 \
               ORDER BY o2.ship_by IS NULL, o2.ship_by, o2.id LIMIT $3) \
             ORDER BY o.ship_by IS NULL, o.ship_by, o.id, h.id",
            crate::ids_in(&self.db, 4)
        );
        let rows: Vec<Row> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(tenant.get()).bind(stage).bind(limit.clamp(1, 500))
            .bind(crate::scope_ids(shops, ShopId::get))
            .fetch_all(pool).await?);
        let mut queue: Vec<QueuedOrder> = Vec::new();
        for (id, platform_order_id, shop, ship_by, hold, code, message) in rows {
            if queue.last().is_none_or(|q| q.order_id.get() != id) {
                queue.push(QueuedOrder {
                    order_id: OrderId(id),
                    platform_order_id,
                    shop_id: ShopId(shop),
                    ship_by: opt_from_ms(ship_by),
                    holds: Vec::new(),
                });
            }
            if let Some(q) = queue.last_mut() {
                q.holds.push((HoldId(hold), code, message));
            }
        }
        Ok(queue)
    }

    /// New orders waiting for review, oldest first (all tenants: the review job's batch).
    pub async fn orders_to_review(&self, limit: i64) -> Result<Vec<(TenantId, OrderId)>> {
        let rows: Vec<(i64, i64)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT tenant_id, id FROM orders WHERE state = 'new' ORDER BY id LIMIT $1")
            .bind(limit).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(t, o)| (TenantId(t), OrderId(o)))
            .collect())
    }

    /// Approved orders waiting for allocation, oldest first (all tenants).
    /// Approved orders with at least one line of the merchant's own to allocate (an order a
    /// supplier ships whole waits in `approved` for the supplier's number, not for stock).
    pub async fn orders_to_allocate(&self, limit: i64) -> Result<Vec<(TenantId, OrderId)>> {
        let rows: Vec<(i64, i64)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT tenant_id, id FROM orders o WHERE state = 'approved' \
                 AND EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id \
                   AND NOT EXISTS (SELECT 1 FROM dropship_lines d WHERE d.order_line_id = l.id)) \
                 ORDER BY id LIMIT $1")
            .bind(limit).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(t, o)| (TenantId(t), OrderId(o)))
            .collect())
    }

    // ------------------------------------------------------------------ deadlines

    /// Orders not yet shipped whose deadline is before `before`, most urgent first, with the
    /// alerts already sent for their current deadline. `tenant: None` reads every tenant's (the
    /// alert job).
    pub async fn orders_due(
        &self,
        tenant: Option<TenantId>,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(TenantId, DueOrder)>> {
        type Row = (i64, i64, i64, String, String, i64, Option<String>);
        let rows: Vec<Row> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT o.tenant_id, o.id, o.shop_id, o.platform_order_id, o.state, o.ship_by, \
                 (SELECT STRING_AGG(CAST(a.threshold_hours AS TEXT), ',') FROM deadline_alerts a \
                   WHERE a.order_id = o.id AND a.ship_by = o.ship_by) \
                 FROM orders o WHERE ($1 IS NULL OR o.tenant_id = $1) AND o.ship_by IS NOT NULL \
                 AND o.ship_by < $2 AND o.state IN ('new', 'on_hold', 'approved', 'allocated', \
                 'waybill_issued', 'printed', 'packed') ORDER BY o.ship_by, o.id LIMIT $3")
            .bind(tenant.map(|t| t.get())).bind(ms(before)).bind(limit.clamp(1, 100_000))
            .fetch_all(pool).await?);
        rows.into_iter()
            .map(|(t, id, shop, pid, state, ship_by, alerted)| {
                Ok((
                    TenantId(t),
                    DueOrder {
                        order_id: OrderId(id),
                        shop_id: ShopId(shop),
                        platform_order_id: pid,
                        state: OrderState::parse(&state)?,
                        ship_by: from_ms(ship_by),
                        alerted: alerted
                            .unwrap_or_default()
                            .split(',')
                            .filter_map(|h| h.parse().ok())
                            .collect(),
                    },
                ))
            })
            .collect()
    }

    /// Records that an order was alerted at a threshold for this deadline; false if it was
    /// already (another node got there first).
    pub async fn record_deadline_alert(
        &self,
        tenant: TenantId,
        order: OrderId,
        ship_by: DateTime<Utc>,
        threshold_hours: i64,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = on_db!(&self.db, pool => sqlx::query(
                "INSERT INTO deadline_alerts (tenant_id, order_id, ship_by, threshold_hours, at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING")
            .bind(tenant.get()).bind(order.get()).bind(ms(ship_by)).bind(threshold_hours).bind(ms(now))
            .execute(pool).await?.rows_affected());
        Ok(done == 1)
    }

    /// The tenant's deadline alerts since `since`, newest first.
    pub async fn deadline_alerts(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<DeadlineAlert>> {
        let rows: Vec<(i64, String, i64, i64, i64)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT a.order_id, o.platform_order_id, a.ship_by, a.threshold_hours, a.at \
                 FROM deadline_alerts a JOIN orders o ON o.id = a.order_id \
                 WHERE a.tenant_id = $1 AND a.at >= $2 ORDER BY a.at DESC, a.order_id LIMIT $3")
            .bind(tenant.get()).bind(ms(since)).bind(limit.clamp(1, 1000)).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(o, pid, ship_by, h, at)| DeadlineAlert {
                order_id: OrderId(o),
                platform_order_id: pid,
                ship_by: from_ms(ship_by),
                threshold_hours: h,
                at: from_ms(at),
            })
            .collect())
    }

    // ------------------------------------------------------------------ negotiations

    /// Records a delivery negotiation filed with the platform (or refused by it); audited.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_negotiation(
        &self,
        tenant: TenantId,
        order: OrderId,
        predict_at: DateTime<Utc>,
        reason: i64,
        remark: Option<&str>,
        outcome: &str,
        audit: &AuditEntry,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            sqlx::query(
                "INSERT INTO delivery_negotiations (tenant_id, order_id, predict_at, reason, remark, \
                 outcome, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(tenant.get()).bind(order.get()).bind(ms(predict_at)).bind(reason).bind(remark)
                .bind(outcome).bind(audit.actor.name()).bind(ms(audit.at))
                .execute(&mut *tx).await?;
            let mut entry = audit.clone();
            entry.entity_type = "order".into();
            entry.entity_id = Some(order.get());
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// Negotiations the platform accepted for an order.
    pub async fn negotiations_used(&self, tenant: TenantId, order: OrderId) -> Result<u32> {
        let n: i64 = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT COUNT(*) FROM delivery_negotiations WHERE tenant_id = $1 AND order_id = $2 \
                 AND outcome = 'accepted'")
            .bind(tenant.get()).bind(order.get()).fetch_one(pool).await?);
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Held orders (every open hold of each), nearest deadline first, at most `limit` orders.
    pub async fn held_orders(&self, tenant: TenantId, limit: i64) -> Result<Vec<HeldOrder>> {
        type Row = (
            i64,
            i64,
            String,
            String,
            Option<i64>,
            String,
            String,
            i64,
            String,
            String,
            String,
            i64,
            i64,
        );
        let rows: Vec<Row> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT o.id, o.shop_id, o.platform, o.platform_order_id, o.ship_by, \
                 o.receiver_name_masked, o.receiver_phone_masked, h.id, h.reason_code, h.message, h.message_en, h.stage, h.created_at \
                 FROM orders o JOIN holds h ON h.order_id = o.id AND h.released_at IS NULL \
                 WHERE o.tenant_id = $1 AND o.state = 'on_hold' \
                 AND o.id IN (SELECT o2.id FROM orders o2 WHERE o2.tenant_id = $1 AND o2.state = 'on_hold' \
                   ORDER BY o2.ship_by IS NULL, o2.ship_by, o2.id LIMIT $2) \
                 ORDER BY o.ship_by IS NULL, o.ship_by, o.id, h.id")
            .bind(tenant.get()).bind(limit.clamp(1, 1000)).fetch_all(pool).await?);
        let mut out: Vec<HeldOrder> = Vec::new();
        for (
            id,
            shop,
            platform,
            number,
            ship_by,
            name,
            phone,
            hold,
            code,
            message,
            message_en,
            stage,
            at,
        ) in rows
        {
            if out.last().is_none_or(|o| o.order_id.get() != id) {
                out.push(HeldOrder {
                    order_id: OrderId(id),
                    shop_id: ShopId(shop),
                    platform: fahuo_domain::Platform::parse(&platform)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    platform_order_id: number,
                    ship_by: opt_from_ms(ship_by),
                    receiver_name_masked: name,
                    receiver_phone_masked: phone,
                    holds: Vec::new(),
                });
            }
            if let Some(o) = out.last_mut() {
                o.holds.push(OpenHold {
                    id: HoldId(hold),
                    reason_code: code,
                    message,
                    message_en,
                    stage,
                    created_at: from_ms(at),
                });
            }
        }
        Ok(out)
    }
}
