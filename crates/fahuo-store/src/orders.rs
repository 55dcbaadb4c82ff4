//! Orders, their lines and holds. One order per (tenant, shop, platform order id), however
//! often it is synced or pushed; receivers are encrypted, with masked copies and a keyed hash
//! of the phone's last four digits kept beside them for lists and search.

use crate::allocation::stock_follows_order;
use crate::audit::insert_audit;
use crate::stock::apply_stock_movement;
use crate::{Page, Result, Store, StoreError, from_ms, in_tx, ms, on_db, opt_from_ms};
use chrono::{DateTime, Utc};
use fahuo_domain::audit::{ActorRef, AuditEntry};
use fahuo_domain::fulfilment::Hold;
use fahuo_domain::order::{MaskedReceiver, NewOrder, Order, OrderLine, Receiver};
use fahuo_domain::{
    Fen, HoldId, OrderEvent, OrderId, OrderLineId, OrderState, Platform, PlatformOrderId, ShopId,
    SkuCode, SkuId, TenantId,
};
use serde::Serialize;
use serde_json::json;

/// Inserts the lines of `$order` for order `$id` on `$conn`.
macro_rules! insert_lines {
    ($conn:expr, $tenant:expr, $id:expr, $order:expr) => {
        for (n, line) in $order.lines.iter().enumerate() {
            sqlx::query(
                "INSERT INTO order_lines (tenant_id, order_id, line_no, platform_line_id, \
                 platform_sku_id, sku_code, title, quantity, unit_price_fen, paid_fen) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind($tenant.get())
            .bind($id)
            .bind(n as i64 + 1)
            .bind(line.platform_line_id.as_deref())
            .bind(line.platform_sku_id.as_deref())
            .bind(line.sku_code.as_ref().map(|c| c.as_str()))
            .bind(&line.title)
            .bind(line.quantity)
            .bind(line.unit_price.get())
            .bind(line.paid.get())
            .execute($conn)
            .await?;
        }
    };
}

/// Moves order `$id` by `$event` inside transaction `$tx`: reads its state, lets the domain's
/// transition table decide, and writes the new state only if nobody changed the order since
/// (optimistic version check, `Stale` otherwise). Evaluates to `(from, to)`.
macro_rules! apply_order_event {
    ($tx:expr, $tenant:expr, $id:expr, $event:expr, $now:expr) => {{
        let (state, version): (String, i64) =
            sqlx::query_as("SELECT state, version FROM orders WHERE tenant_id = $1 AND id = $2")
                .bind($tenant.get())
                .bind($id.get())
                .fetch_one(&mut *$tx)
                .await?;
        let from = OrderState::parse(&state)?;
        let to = from.apply($event).map_err(StoreError::Illegal)?;
        let done = sqlx::query(
            "UPDATE orders SET state = $1, version = version + 1, updated_at = $2 \
             WHERE tenant_id = $3 AND id = $4 AND version = $5",
        )
        .bind(to.as_str())
        .bind(ms($now))
        .bind($tenant.get())
        .bind($id.get())
        .bind(version)
        .execute(&mut *$tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Stale("order"));
        }
        (from, to)
    }};
}
pub(crate) use apply_order_event;

/// What an intake of an order did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "order_id", rename_all = "snake_case")]
pub enum Upsert {
    Created(OrderId),
    Updated(OrderId),
    /// A duplicate or an older version than the one stored: nothing changed.
    Unchanged(OrderId),
}

impl Upsert {
    pub fn order_id(self) -> OrderId {
        match self {
            Upsert::Created(id) | Upsert::Updated(id) | Upsert::Unchanged(id) => id,
        }
    }
}

/// A row of the order list: no decryption needed, the receiver is already masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderSummary {
    pub id: OrderId,
    pub shop_id: ShopId,
    pub platform: Platform,
    pub platform_order_id: String,
    pub state: OrderState,
    pub platform_status: String,
    pub paid_total: Fen,
    pub receiver: MaskedReceiver,
    pub ship_by: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which orders to list. Every field narrows the result; `after` pages (newest first).
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub state: Option<OrderState>,
    pub shop_id: Option<ShopId>,
    pub platform: Option<Platform>,
    pub platform_order_id: Option<String>,
    /// Last four digits of the receiver's phone.
    pub phone_last_four: Option<String>,
    /// Orders whose ship-by deadline is before this instant.
    pub ship_by_before: Option<DateTime<Utc>>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    /// Orders with an id below this one (the previous page's `next_cursor`).
    pub after: Option<i64>,
    pub limit: i64,
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: i64,
    shop_id: i64,
    platform: String,
    platform_order_id: String,
    state: String,
    platform_status: String,
    paid_total_fen: i64,
    receiver_name_masked: String,
    receiver_phone_masked: String,
    receiver_province: String,
    receiver_city: String,
    receiver_county: String,
    ship_by: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<SummaryRow> for OrderSummary {
    type Error = StoreError;
    fn try_from(r: SummaryRow) -> Result<OrderSummary> {
        Ok(OrderSummary {
            id: OrderId(r.id),
            shop_id: ShopId(r.shop_id),
            platform: Platform::parse(&r.platform)?,
            platform_order_id: r.platform_order_id,
            state: OrderState::parse(&r.state)?,
            platform_status: r.platform_status,
            paid_total: Fen(r.paid_total_fen),
            receiver: MaskedReceiver {
                name: r.receiver_name_masked,
                phone: r.receiver_phone_masked,
                province: r.receiver_province,
                city: r.receiver_city,
                county: r.receiver_county,
                detail: "****".into(),
            },
            ship_by: opt_from_ms(r.ship_by),
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
        })
    }
}

const SUMMARY_COLUMNS: &str = "id, shop_id, platform, platform_order_id, state, platform_status, \
    paid_total_fen, receiver_name_masked, receiver_phone_masked, receiver_province, receiver_city, \
    receiver_county, ship_by, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct OrderRow {
    #[sqlx(flatten)]
    summary: SummaryRow,
    tenant_id: i64,
    freight_fen: i64,
    buyer_note: Option<String>,
    seller_note: Option<String>,
    paid_at: Option<i64>,
    presale_ship_at: Option<i64>,
    platform_updated_at: Option<i64>,
    receiver_enc: Vec<u8>,
    version: i64,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    id: i64,
    platform_line_id: Option<String>,
    platform_sku_id: Option<String>,
    sku_code: Option<String>,
    sku_id: Option<i64>,
    title: String,
    quantity: i64,
    unit_price_fen: i64,
    paid_fen: i64,
}

/// The snapshot of an order kept in audit entries: no clear PII.
fn audit_snapshot(o: &NewOrder) -> serde_json::Value {
    json!({
        "platform_order_id": o.platform_order_id.as_str(),
        "platform_status": o.platform_status,
        "paid_total_fen": o.paid_total.get(),
        "seller_note": o.seller_note,
        "receiver": o.receiver.masked(),
        "lines": o.lines.len(),
    })
}

impl Store {
    /// Takes in an order from sync, push, API or import. Idempotent: the same platform order
    /// again is `Unchanged`; a newer version (by the platform's update time) updates the stored
    /// one; an older one is ignored, so out-of-order deliveries are harmless.
    pub async fn upsert_order(
        &self,
        tenant: TenantId,
        order: &NewOrder,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<Upsert> {
        // Two nodes may insert the same new order at once on PostgreSQL; the loser sees a
        // unique violation and retries as an update.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_upsert_order(tenant, order, actor, now).await {
                Err(StoreError::Conflict(_)) if attempt < 3 => continue,
                other => return other,
            }
        }
    }

    async fn try_upsert_order(
        &self,
        tenant: TenantId,
        order: &NewOrder,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<Upsert> {
        let r = &order.receiver;
        let receiver_enc = self.pii.encrypt_json(r);
        let name_masked = fahuo_domain::pii::mask_name(&r.name);
        let phone_masked = r.phone.masked();
        let tail_hash = self.pii.lookup_hash("phone_tail", r.phone.last_four());
        let snapshot = audit_snapshot(order);
        let outcome = in_tx!(&self.db, tx => {
            let platform: Option<String> = sqlx::query_scalar(
                "SELECT platform FROM shops WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(order.shop_id.get())
                .fetch_optional(&mut *tx).await?;
            let Some(platform) = platform else { return Err(StoreError::NotFound) };
            let existing: Option<(i64, String, Option<i64>)> = sqlx::query_as(
                "SELECT id, state, platform_updated_at FROM orders \
                 WHERE tenant_id = $1 AND shop_id = $2 AND platform_order_id = $3")
                .bind(tenant.get()).bind(order.shop_id.get()).bind(order.platform_order_id.as_str())
                .fetch_optional(&mut *tx).await?;
            let incoming = order.platform_updated_at.map(ms);
            let (id, outcome, action) = match existing {
                Some((id, _, Some(stored))) if incoming.is_none_or(|t| t <= stored) => {
                    (id, Upsert::Unchanged(OrderId(id)), None)
                }
                Some((id, state, _)) => {
                    sqlx::query(
                        "UPDATE orders SET platform_status = $1, paid_total_fen = $2, freight_fen = $3, \
                         buyer_note = $4, seller_note = $5, paid_at = $6, ship_by = $7, presale_ship_at = $8, \
                         platform_updated_at = $9, receiver_enc = $10, receiver_name_masked = $11, \
                         receiver_phone_masked = $12, receiver_phone_tail_hash = $13, receiver_province = $14, \
                         receiver_city = $15, receiver_county = $16, version = version + 1, updated_at = $17 \
                         WHERE id = $18")
                        .bind(&order.platform_status).bind(order.paid_total.get()).bind(order.freight.get())
                        .bind(order.buyer_note.as_deref()).bind(order.seller_note.as_deref())
                        .bind(order.paid_at.map(ms)).bind(order.ship_by.map(ms))
                        .bind(order.presale_ship_at.map(ms)).bind(incoming)
                        .bind(&receiver_enc).bind(&name_masked).bind(&phone_masked).bind(&tail_hash)
                        .bind(&r.province).bind(&r.city).bind(&r.county).bind(ms(now)).bind(id)
                        .execute(&mut *tx).await?;
                    // Lines follow the platform only while nothing has been reserved for them.
                    if matches!(OrderState::parse(&state)?, OrderState::New | OrderState::OnHold) {
                        sqlx::query("DELETE FROM order_lines WHERE order_id = $1")
                            .bind(id).execute(&mut *tx).await?;
                        insert_lines!(&mut *tx, tenant, id, order);
                    }
                    (id, Upsert::Updated(OrderId(id)), Some("order.updated"))
                }
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO orders (tenant_id, shop_id, platform, platform_order_id, state, \
                         platform_status, paid_total_fen, freight_fen, buyer_note, seller_note, paid_at, \
                         ship_by, presale_ship_at, platform_updated_at, receiver_enc, receiver_name_masked, \
                         receiver_phone_masked, receiver_phone_tail_hash, receiver_province, receiver_city, \
                         receiver_county, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, \
                         $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, 1, $22, $22) \
                         RETURNING id")
                        .bind(tenant.get()).bind(order.shop_id.get()).bind(&platform)
                        .bind(order.platform_order_id.as_str()).bind(OrderState::New.as_str())
                        .bind(&order.platform_status).bind(order.paid_total.get()).bind(order.freight.get())
                        .bind(order.buyer_note.as_deref()).bind(order.seller_note.as_deref())
                        .bind(order.paid_at.map(ms)).bind(order.ship_by.map(ms))
                        .bind(order.presale_ship_at.map(ms)).bind(incoming)
                        .bind(&receiver_enc).bind(&name_masked).bind(&phone_masked).bind(&tail_hash)
                        .bind(&r.province).bind(&r.city).bind(&r.county).bind(ms(now))
                        .fetch_one(&mut *tx).await?;
                    insert_lines!(&mut *tx, tenant, id, order);
                    (id, Upsert::Created(OrderId(id)), Some("order.created"))
                }
            };
            if let Some(action) = action {
                let entry = AuditEntry {
                    tenant_id: tenant,
                    actor: actor.clone(),
                    action: action.into(),
                    entity_type: "order".into(),
                    entity_id: Some(id),
                    before: None,
                    after: Some(snapshot.clone()),
                    at: now,
                };
                insert_audit!(&mut *tx, &entry);
            }
            outcome
        });
        Ok(outcome)
    }

    /// The fahuo id of a shop's platform order, if fahuo has it.
    pub async fn order_id_by_platform_id(
        &self,
        tenant: TenantId,
        shop: ShopId,
        platform_order_id: &PlatformOrderId,
    ) -> Result<Option<OrderId>> {
        let id: Option<i64> = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT id FROM orders WHERE tenant_id = $1 AND shop_id = $2 AND platform_order_id = $3")
            .bind(tenant.get()).bind(shop.get()).bind(platform_order_id.as_str())
            .fetch_optional(pool).await?);
        Ok(id.map(OrderId))
    }

    /// The whole order with its receiver decrypted. Callers show it masked unless the user
    /// asked to reveal it (an audited action of the application layer).
    pub async fn order(&self, tenant: TenantId, id: OrderId) -> Result<Order> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, tenant_id, freight_fen, buyer_note, seller_note, paid_at, \
             presale_ship_at, platform_updated_at, receiver_enc, version FROM orders \
             WHERE tenant_id = $1 AND id = $2"
        );
        let (row, lines): (OrderRow, Vec<LineRow>) = on_db!(&self.db, pool => {
            let row: OrderRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(tenant.get()).bind(id.get()).fetch_one(pool).await?;
            let lines: Vec<LineRow> = sqlx::query_as(
                "SELECT id, platform_line_id, platform_sku_id, sku_code, sku_id, title, quantity, \
                 unit_price_fen, paid_fen FROM order_lines WHERE tenant_id = $1 AND order_id = $2 \
                 ORDER BY line_no")
                .bind(tenant.get()).bind(id.get()).fetch_all(pool).await?;
            (row, lines)
        });
        let receiver: Receiver = self.pii.decrypt_json(&row.receiver_enc)?;
        let s = OrderSummary::try_from(row.summary)?;
        Ok(Order {
            id: s.id,
            tenant_id: TenantId(row.tenant_id),
            shop_id: s.shop_id,
            platform: s.platform,
            platform_order_id: PlatformOrderId::parse(&s.platform_order_id)?,
            state: s.state,
            platform_status: s.platform_status,
            paid_total: s.paid_total,
            freight: Fen(row.freight_fen),
            buyer_note: row.buyer_note,
            seller_note: row.seller_note,
            paid_at: opt_from_ms(row.paid_at),
            ship_by: s.ship_by,
            presale_ship_at: opt_from_ms(row.presale_ship_at),
            platform_updated_at: opt_from_ms(row.platform_updated_at),
            receiver,
            lines: lines
                .into_iter()
                .map(|l| {
                    Ok(OrderLine {
                        id: OrderLineId(l.id),
                        platform_line_id: l.platform_line_id,
                        platform_sku_id: l.platform_sku_id,
                        sku_code: l.sku_code.as_deref().map(SkuCode::parse).transpose()?,
                        sku_id: l.sku_id.map(SkuId),
                        title: l.title,
                        quantity: l.quantity,
                        unit_price: Fen(l.unit_price_fen),
                        paid: Fen(l.paid_fen),
                    })
                })
                .collect::<Result<_>>()?,
            created_at: s.created_at,
            updated_at: s.updated_at,
            version: row.version,
        })
    }

    /// Which of these platform order numbers the shop already has (an import's duplicates).
    /// Asks in batches, so any number of order numbers is fine.
    pub async fn existing_platform_order_ids(
        &self,
        tenant: TenantId,
        shop: ShopId,
        platform_order_ids: &[String],
    ) -> Result<std::collections::HashSet<String>> {
        const BATCH: usize = 500;
        let mut found = std::collections::HashSet::new();
        for batch in platform_order_ids.chunks(BATCH) {
            let placeholders: Vec<String> =
                (0..batch.len()).map(|i| format!("${}", i + 3)).collect();
            let sql = format!(
                "SELECT platform_order_id FROM orders WHERE tenant_id = $1 AND shop_id = $2 \
                 AND platform_order_id IN ({})",
                placeholders.join(", ")
            );
            let rows: Vec<String> = on_db!(&self.db, pool => {
                let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.get())
                    .bind(shop.get());
                for id in batch {
                    q = q.bind(id.as_str());
                }
                q.fetch_all(pool).await?
            });
            found.extend(rows);
        }
        Ok(found)
    }

    /// The order list, newest first, with masked receivers.
    pub async fn orders(&self, tenant: TenantId, f: &OrderFilter) -> Result<Page<OrderSummary>> {
        let limit = f.limit.clamp(1, 500);
        let tail_hash = f
            .phone_last_four
            .as_deref()
            .map(|tail| self.pii.lookup_hash("phone_tail", tail));
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM orders WHERE tenant_id = $1 \
             AND ($2 IS NULL OR state = $2) AND ($3 IS NULL OR shop_id = $3) \
             AND ($4 IS NULL OR platform = $4) AND ($5 IS NULL OR platform_order_id = $5) \
             AND ($6 IS NULL OR receiver_phone_tail_hash = $6) AND ($7 IS NULL OR ship_by < $7) \
             AND ($8 IS NULL OR created_at >= $8) AND ($9 IS NULL OR created_at < $9) \
             AND ($10 IS NULL OR id < $10) ORDER BY id DESC LIMIT $11"
        );
        let rows: Vec<SummaryRow> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get())
            .bind(f.state.map(|s| s.as_str()))
            .bind(f.shop_id.map(|s| s.get()))
            .bind(f.platform.map(|p| p.as_str()))
            .bind(f.platform_order_id.as_deref())
            .bind(tail_hash.as_deref())
            .bind(f.ship_by_before.map(ms))
            .bind(f.created_from.map(ms))
            .bind(f.created_to.map(ms))
            .bind(f.after)
            .bind(limit + 1)
            .fetch_all(pool)
            .await?);
        let rows: Vec<OrderSummary> = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<_>>()?;
        Ok(Page::from_overfetch(rows, limit, |o| o.id.get()))
    }

    /// Counts of the tenant's orders per state, for the console's tabs.
    pub async fn order_counts(&self, tenant: TenantId) -> Result<Vec<(OrderState, i64)>> {
        let rows: Vec<(String, i64)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT state, COUNT(*) FROM orders WHERE tenant_id = $1 GROUP BY state ORDER BY state")
            .bind(tenant.get()).fetch_all(pool).await?);
        rows.into_iter()
            .map(|(s, n)| Ok((OrderState::parse(&s)?, n)))
            .collect()
    }

    /// Moves an order by `event` along the domain's transition table, atomically with its
    /// audit entry. A concurrent change makes it `Stale`; an event the table refuses is
    /// `Illegal` and changes nothing.
    pub async fn transition_order(
        &self,
        tenant: TenantId,
        id: OrderId,
        event: OrderEvent,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<OrderState> {
        let lock = self.row_lock();
        let next = in_tx!(&self.db, tx => {
            let (from, to) = apply_order_event!(tx, tenant, id, event, now);
            stock_follows_order!(tx, lock, tenant, id, from, to, actor.name(), now);
            let entry = AuditEntry {
                tenant_id: tenant,
                actor: actor.clone(),
                action: format!("order.{}", serde_json::to_value(event).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()),
                entity_type: "order".into(),
                entity_id: Some(id.get()),
                before: Some(json!({ "state": from })),
                after: Some(json!({ "state": to })),
                at: now,
            };
            insert_audit!(&mut *tx, &entry);
            to
        });
        Ok(next)
    }

    /// Puts a hold on an order (and the order on hold, if it is not already).
    pub async fn hold_order(
        &self,
        tenant: TenantId,
        id: OrderId,
        reason_code: &str,
        message: &str,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<HoldId> {
        let lock = self.row_lock();
        let hold_id = in_tx!(&self.db, tx => {
            // Holding a held order keeps it on hold (the table allows it) and adds a reason.
            let (from, to) = apply_order_event!(tx, tenant, id, OrderEvent::Hold, now);
            stock_follows_order!(tx, lock, tenant, id, from, to, actor.name(), now);
            let hold_id: i64 = sqlx::query_scalar(
                "INSERT INTO holds (tenant_id, order_id, reason_code, message, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id")
                .bind(tenant.get()).bind(id.get()).bind(reason_code).bind(message).bind(ms(now))
                .fetch_one(&mut *tx).await?;
            let entry = AuditEntry {
                tenant_id: tenant,
                actor: actor.clone(),
                action: "order.hold".into(),
                entity_type: "order".into(),
                entity_id: Some(id.get()),
                before: Some(json!({ "state": from })),
                after: Some(json!({ "state": OrderState::OnHold, "reason_code": reason_code })),
                at: now,
            };
            insert_audit!(&mut *tx, &entry);
            hold_id
        });
        Ok(HoldId(hold_id))
    }

    /// Releases every open hold of an order and approves it.
    pub async fn release_order(
        &self,
        tenant: TenantId,
        id: OrderId,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<OrderState> {
        let next = in_tx!(&self.db, tx => {
            let (from, to) = apply_order_event!(tx, tenant, id, OrderEvent::Approve, now);
            // A person's release silences these reasons for the order (review does not raise
            // them again); fahuo's own (e.g. shipped elsewhere) does not.
            sqlx::query("UPDATE holds SET released_at = $1, released_by = $2, released_by_person = $5 \
                 WHERE tenant_id = $3 AND order_id = $4 AND released_at IS NULL")
                .bind(ms(now)).bind(actor.name()).bind(tenant.get()).bind(id.get())
                .bind(actor.kind() != "system")
                .execute(&mut *tx).await?;
            let entry = AuditEntry {
                tenant_id: tenant,
                actor: actor.clone(),
                action: "order.release".into(),
                entity_type: "order".into(),
                entity_id: Some(id.get()),
                before: Some(json!({ "state": from })),
                after: Some(json!({ "state": to })),
                at: now,
            };
            insert_audit!(&mut *tx, &entry);
            to
        });
        Ok(next)
    }

    /// Replaces an order's receiver (a person's edit before printing). Audited with the masked
    /// receivers before and after.
    pub async fn edit_receiver(
        &self,
        tenant: TenantId,
        id: OrderId,
        receiver: &Receiver,
        audit: &AuditEntry,
    ) -> Result<()> {
        let enc = self.pii.encrypt_json(receiver);
        let tail_hash = self
            .pii
            .lookup_hash("phone_tail", receiver.phone.last_four());
        let before = self.order(tenant, id).await?.receiver.masked();
        in_tx!(&self.db, tx => {
            let done = sqlx::query(
                "UPDATE orders SET receiver_enc = $1, receiver_name_masked = $2, receiver_phone_masked = $3, \
                 receiver_phone_tail_hash = $4, receiver_province = $5, receiver_city = $6, receiver_county = $7, \
                 version = version + 1, updated_at = $8 WHERE tenant_id = $9 AND id = $10 \
                 AND state IN ('new', 'on_hold', 'approved')")
                .bind(&enc).bind(fahuo_domain::pii::mask_name(&receiver.name)).bind(receiver.phone.masked())
                .bind(&tail_hash).bind(&receiver.province).bind(&receiver.city).bind(&receiver.county)
                .bind(ms(audit.at)).bind(tenant.get()).bind(id.get())
                .execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Conflict("only an order not yet allocated can change its receiver".into()));
            }
            let mut entry = audit.clone();
            entry.before = Some(json!({ "receiver": before }));
            entry.after = Some(json!({ "receiver": receiver.masked() }));
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// Changes what one line ships as (SKU and units per item) and/or its quantity, before
    /// allocation. Audited.
    pub async fn edit_line(
        &self,
        tenant: TenantId,
        id: OrderId,
        line: OrderLineId,
        sku: Option<(SkuId, i64)>,
        quantity: Option<i64>,
        audit: &AuditEntry,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let state: String = sqlx::query_scalar("SELECT state FROM orders WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(id.get()).fetch_one(&mut *tx).await?;
            if !matches!(OrderState::parse(&state)?, OrderState::New | OrderState::OnHold | OrderState::Approved) {
                return Err(StoreError::Conflict("only an order not yet allocated can change its lines".into()));
            }
            if let Some((sku, _)) = sku {
                let _: i64 = sqlx::query_scalar("SELECT id FROM skus WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.get()).bind(sku.get()).fetch_one(&mut *tx).await?;
            }
            let done = sqlx::query(
                "UPDATE order_lines SET sku_id = COALESCE($1, sku_id), units_per_item = COALESCE($2, units_per_item), \
                 quantity = COALESCE($3, quantity) WHERE tenant_id = $4 AND order_id = $5 AND id = $6")
                .bind(sku.map(|(s, _)| s.get())).bind(sku.map(|(_, u)| u)).bind(quantity)
                .bind(tenant.get()).bind(id.get()).bind(line.get())
                .execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            sqlx::query("UPDATE orders SET version = version + 1, updated_at = $1 WHERE id = $2")
                .bind(ms(audit.at)).bind(id.get()).execute(&mut *tx).await?;
            insert_audit!(&mut *tx, audit);
        });
        Ok(())
    }

    /// Holds of an order, open ones first.
    pub async fn holds(&self, tenant: TenantId, order: OrderId) -> Result<Vec<Hold>> {
        type Row = (i64, i64, String, String, i64, Option<i64>);
        let rows: Vec<Row> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT id, order_id, reason_code, message, created_at, released_at FROM holds \
                 WHERE tenant_id = $1 AND order_id = $2 ORDER BY released_at IS NOT NULL, id")
            .bind(tenant.get()).bind(order.get()).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(
                |(id, order_id, reason_code, message, created_at, released_at)| Hold {
                    id: HoldId(id),
                    order_id: OrderId(order_id),
                    reason_code,
                    message,
                    created_at: from_ms(created_at),
                    released_at: opt_from_ms(released_at),
                },
            )
            .collect())
    }
}
