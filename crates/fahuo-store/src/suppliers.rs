//! Dropshipping's storage (代发): suppliers, the SKUs each ships, the order lines assigned to
//! them, the supplier's write-backs and the key material of their no-login links.
//!
//! A line a supplier ships is a `dropship_lines` row; it is open until the supplier's number
//! becomes a shipment (`shipment_id`). The shipment and the marking of its lines are one
//! transaction, so a line is never shipped twice by a double submit or a crash in between.

use crate::audit::insert_audit;
use crate::shipping::{Created, NewShipment, insert_shipment};
use crate::{Result, Store, StoreError, from_ms, in_tx, ms, on_db, opt_from_ms};
use chrono::{DateTime, Utc};
use fahuo_domain::audit::{ActorRef, AuditEntry};
use fahuo_domain::{OrderId, OrderLineId, OrderState, ShipmentId, SkuId, SupplierId, TenantId};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

/// Order states in which a supplier may see and ship its lines: reviewed and cleared, not yet
/// told to the platform. A held order (refund pending, address wrong ...) disappears from the
/// supplier's page until it is cleared.
pub const SHIPPABLE_STATES: [&str; 5] = [
    "approved",
    "allocated",
    "waybill_issued",
    "printed",
    "packed",
];

const SHIPPABLE_SQL: &str = "('approved', 'allocated', 'waybill_issued', 'printed', 'packed')";

/// A dropship supplier (代发供应商) as the merchant manages it. The link secret is never here.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Supplier {
    pub id: SupplierId,
    pub name: String,
    pub contact: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    /// The merchant SKUs this supplier ships: order lines of them are assigned at review.
    pub sku_ids: Vec<SkuId>,
}

/// One order line assigned to a supplier.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DropshipLine {
    pub order_line_id: OrderLineId,
    pub order_id: OrderId,
    pub supplier_id: SupplierId,
    /// Who assigned it: `review` for the SKU rule, else the person.
    pub assigned_by: String,
    pub assigned_at: DateTime<Utc>,
    /// The supplier's write-back, once it entered a number.
    pub shipment_id: Option<ShipmentId>,
}

/// An assigned line not yet shipped, with what the supplier needs to know about its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenLine {
    pub supplier_id: SupplierId,
    pub supplier_name: String,
    pub order_id: OrderId,
    pub platform_order_id: String,
    pub order_state: OrderState,
    pub ship_by: Option<DateTime<Utc>>,
    pub order_line_id: OrderLineId,
    /// The merchant SKU's code, else the listing's 商家编码.
    pub sku_code: Option<String>,
    /// The merchant SKU's name, else the listing's title.
    pub title: String,
    pub quantity: i64,
    pub assigned_at: DateTime<Utc>,
}

/// Which open lines to read.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenLineFilter {
    pub supplier: Option<SupplierId>,
    pub order: Option<OrderId>,
    pub limit: i64,
}

type SupplierRow = (i64, String, Option<String>, bool, i64);

impl Store {
    // ------------------------------------------------------------------ suppliers

    pub async fn create_supplier(
        &self,
        tenant: TenantId,
        name: &str,
        contact: Option<&str>,
        link_secret: &str,
        audit: &AuditEntry,
    ) -> Result<SupplierId> {
        let id = in_tx!(&self.db, tx => {
            let id: i64 = sqlx::query_scalar(
                    "INSERT INTO suppliers (tenant_id, name, contact, link_secret, active, created_at) \
                     VALUES ($1, $2, $3, $4, TRUE, $5) RETURNING id")
                .bind(tenant.get()).bind(name).bind(contact).bind(link_secret).bind(ms(audit.at))
                .fetch_one(&mut *tx).await
                .map_err(|e| match StoreError::from(e) {
                    StoreError::Conflict(_) => StoreError::Conflict(format!("a supplier named {name:?} exists")),
                    other => other,
                })?;
            let mut entry = audit.clone();
            entry.entity_id = Some(id);
            entry.after = Some(json!({ "name": name, "contact": contact }));
            insert_audit!(&mut *tx, &entry);
            id
        });
        Ok(SupplierId(id))
    }

    /// The tenant's suppliers, by name.
    pub async fn suppliers(&self, tenant: TenantId) -> Result<Vec<Supplier>> {
        let rows: Vec<SupplierRow> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT id, name, contact, active, created_at FROM suppliers WHERE tenant_id = $1 ORDER BY name, id")
            .bind(tenant.get()).fetch_all(pool).await?);
        let skus: Vec<(i64, i64)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT supplier_id, sku_id FROM supplier_skus WHERE tenant_id = $1 ORDER BY sku_id")
            .bind(tenant.get()).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(id, name, contact, active, created_at)| Supplier {
                id: SupplierId(id),
                name,
                contact,
                active,
                created_at: from_ms(created_at),
                sku_ids: skus
                    .iter()
                    .filter(|(s, _)| *s == id)
                    .map(|(_, k)| SkuId(*k))
                    .collect(),
            })
            .collect())
    }

    /// One supplier (`NotFound` for another tenant's).
    pub async fn supplier(&self, tenant: TenantId, id: SupplierId) -> Result<Supplier> {
        let (id, name, contact, active, created_at): SupplierRow = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT id, name, contact, active, created_at FROM suppliers WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.get()).bind(id.get()).fetch_one(pool).await?);
        let skus: Vec<i64> = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT sku_id FROM supplier_skus WHERE tenant_id = $1 AND supplier_id = $2 ORDER BY sku_id")
            .bind(tenant.get()).bind(id).fetch_all(pool).await?);
        Ok(Supplier {
            id: SupplierId(id),
            name,
            contact,
            active,
            created_at: from_ms(created_at),
            sku_ids: skus.into_iter().map(SkuId).collect(),
        })
    }

    /// Renames, changes the contact or (de)activates a supplier. An inactive supplier gets no
    /// new lines from its SKUs and its links stop working; lines already assigned stay.
    pub async fn update_supplier(
        &self,
        tenant: TenantId,
        id: SupplierId,
        name: &str,
        contact: Option<&str>,
        active: bool,
        audit: &AuditEntry,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let done = sqlx::query(
                    "UPDATE suppliers SET name = $1, contact = $2, active = $3 WHERE tenant_id = $4 AND id = $5")
                .bind(name).bind(contact).bind(active).bind(tenant.get()).bind(id.get())
                .execute(&mut *tx).await
                .map_err(|e| match StoreError::from(e) {
                    StoreError::Conflict(_) => StoreError::Conflict(format!("a supplier named {name:?} exists")),
                    other => other,
                })?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            let mut entry = audit.clone();
            entry.entity_id = Some(id.get());
            entry.after = Some(json!({ "name": name, "contact": contact, "active": active }));
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// The secret every link of the supplier is signed with, its name and whether it is active.
    /// `None` for an unknown supplier (or another tenant's).
    pub async fn supplier_link_secret(
        &self,
        tenant: TenantId,
        id: SupplierId,
    ) -> Result<Option<(String, String, bool)>> {
        Ok(on_db!(&self.db, pool => sqlx::query_as(
                "SELECT link_secret, name, active FROM suppliers WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.get()).bind(id.get()).fetch_optional(pool).await?))
    }

    /// Replaces the link secret: every link handed out so far stops working.
    pub async fn set_supplier_link_secret(
        &self,
        tenant: TenantId,
        id: SupplierId,
        secret: &str,
        audit: &AuditEntry,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let done = sqlx::query("UPDATE suppliers SET link_secret = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(secret).bind(tenant.get()).bind(id.get()).execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            let mut entry = audit.clone();
            entry.entity_id = Some(id.get());
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// HMAC-SHA256 of `message` under a key derived from the installation's secret (the PII
    /// keyring's hash key, in its own namespace) and the supplier's `link_secret`.
    pub fn supplier_link_tag(&self, link_secret: &str, message: &str) -> Vec<u8> {
        self.link_mac(link_secret, message)
            .finalize()
            .into_bytes()
            .to_vec()
    }

    /// Whether `tag` is [`Store::supplier_link_tag`] of the message, compared in constant time.
    pub fn supplier_link_tag_matches(&self, link_secret: &str, message: &str, tag: &[u8]) -> bool {
        self.link_mac(link_secret, message)
            .verify_slice(tag)
            .is_ok()
    }

    fn link_mac(&self, link_secret: &str, message: &str) -> Hmac<Sha256> {
        let key = self.pii.lookup_hash("supplier_link", link_secret);
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()).expect("any key length");
        mac.update(message.as_bytes());
        mac
    }

    /// Sets the SKUs a supplier ships (replacing its list). A SKU has at most one supplier: one
    /// already another supplier's is refused, naming it. Every SKU must be the tenant's.
    pub async fn set_supplier_skus(
        &self,
        tenant: TenantId,
        id: SupplierId,
        skus: &[SkuId],
        audit: &AuditEntry,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let _: i64 = sqlx::query_scalar("SELECT id FROM suppliers WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(id.get()).fetch_one(&mut *tx).await?;
            for sku in skus {
                let code: String = sqlx::query_scalar("SELECT code FROM skus WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.get()).bind(sku.get()).fetch_one(&mut *tx).await?;
                let other: Option<String> = sqlx::query_scalar(
                        "SELECT s.name FROM supplier_skus k JOIN suppliers s ON s.id = k.supplier_id \
                         WHERE k.tenant_id = $1 AND k.sku_id = $2 AND k.supplier_id <> $3")
                    .bind(tenant.get()).bind(sku.get()).bind(id.get()).fetch_optional(&mut *tx).await?;
                if let Some(other) = other {
                    return Err(StoreError::Conflict(format!(
                        "SKU {code} is already shipped by supplier {other:?}; remove it there first")));
                }
            }
            sqlx::query("DELETE FROM supplier_skus WHERE tenant_id = $1 AND supplier_id = $2")
                .bind(tenant.get()).bind(id.get()).execute(&mut *tx).await?;
            for sku in skus {
                sqlx::query(
                    "INSERT INTO supplier_skus (tenant_id, sku_id, supplier_id) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING")
                    .bind(tenant.get()).bind(sku.get()).bind(id.get()).execute(&mut *tx).await?;
            }
            let mut entry = audit.clone();
            entry.entity_id = Some(id.get());
            entry.after = Some(json!({ "sku_ids": skus }));
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    // ------------------------------------------------------------------ assignment

    /// The rule (按商品指派): each of `lines` (line, its merchant SKU) whose SKU an active
    /// supplier ships, and which is assigned to nobody yet, is assigned to that supplier. A
    /// line already in a fahuo package is left to the merchant. Returns every dropship line
    /// of the order afterwards.
    pub async fn assign_dropship_by_rule(
        &self,
        tenant: TenantId,
        order: OrderId,
        lines: &[(OrderLineId, SkuId)],
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<Vec<DropshipLine>> {
        let rules: Vec<(i64, i64)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT k.sku_id, k.supplier_id FROM supplier_skus k JOIN suppliers s ON s.id = k.supplier_id \
                 WHERE k.tenant_id = $1 AND s.active = TRUE")
            .bind(tenant.get()).fetch_all(pool).await?);
        let wanted: Vec<(OrderLineId, i64)> = lines
            .iter()
            .filter_map(|(line, sku)| {
                rules
                    .iter()
                    .find(|(k, _)| *k == sku.get())
                    .map(|(_, s)| (*line, *s))
            })
            .collect();
        if !wanted.is_empty() {
            in_tx!(&self.db, tx => {
                let mut assigned = Vec::new();
                for (line, supplier) in &wanted {
                    let inserted = sqlx::query(
                            "INSERT INTO dropship_lines (order_line_id, tenant_id, order_id, supplier_id, assigned_by, assigned_at) \
                             SELECT l.id, l.tenant_id, l.order_id, $1, $2, $3 FROM order_lines l \
                             WHERE l.tenant_id = $4 AND l.order_id = $5 AND l.id = $6 \
                             AND NOT EXISTS (SELECT 1 FROM package_lines pl JOIN packages p ON p.id = pl.package_id \
                                 WHERE pl.order_line_id = l.id AND p.state <> 'cancelled') \
                             AND NOT EXISTS (SELECT 1 FROM dropship_kept x WHERE x.order_line_id = l.id) \
                             ON CONFLICT DO NOTHING")
                        .bind(supplier).bind(actor.name()).bind(ms(now))
                        .bind(tenant.get()).bind(order.get()).bind(line.get())
                        .execute(&mut *tx).await?;
                    if inserted.rows_affected() > 0 {
                        assigned.push(json!({ "line_id": line, "supplier_id": supplier }));
                    }
                }
                if !assigned.is_empty() {
                    let entry = AuditEntry {
                        tenant_id: tenant,
                        actor: actor.clone(),
                        action: "dropship.assign".into(),
                        entity_type: "order".into(),
                        entity_id: Some(order.get()),
                        before: None,
                        after: Some(json!({ "lines": assigned, "by": "sku_rule" })),
                        at: now,
                    };
                    insert_audit!(&mut *tx, &entry);
                }
            });
        }
        self.dropship_lines(tenant, order).await
    }

    /// The order's lines assigned to suppliers.
    pub async fn dropship_lines(
        &self,
        tenant: TenantId,
        order: OrderId,
    ) -> Result<Vec<DropshipLine>> {
        type Row = (i64, i64, i64, String, i64, Option<i64>);
        let rows: Vec<Row> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT order_line_id, order_id, supplier_id, assigned_by, assigned_at, shipment_id \
                 FROM dropship_lines WHERE tenant_id = $1 AND order_id = $2 ORDER BY order_line_id")
            .bind(tenant.get()).bind(order.get()).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(l, o, s, by, at, sh)| DropshipLine {
                order_line_id: OrderLineId(l),
                order_id: OrderId(o),
                supplier_id: SupplierId(s),
                assigned_by: by,
                assigned_at: from_ms(at),
                shipment_id: sh.map(ShipmentId),
            })
            .collect())
    }

    /// A person assigns lines of an order to a supplier (or moves them to another one).
    /// Refused when the order has shipped or left the workflow, when a line is in a fahuo
    /// package (the merchant ships it) or already has the supplier's number.
    pub async fn assign_dropship(
        &self,
        tenant: TenantId,
        order: OrderId,
        supplier: SupplierId,
        lines: &[OrderLineId],
        audit: &AuditEntry,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let state: String = sqlx::query_scalar("SELECT state FROM orders WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(order.get()).fetch_one(&mut *tx).await?;
            let state = OrderState::parse(&state)?;
            if !state.is_before_shipping() {
                return Err(StoreError::Conflict(format!(
                    "order is {}: only an order not yet shipped can be given to a supplier", state.as_str())));
            }
            let active: bool = sqlx::query_scalar("SELECT active FROM suppliers WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(supplier.get()).fetch_one(&mut *tx).await?;
            if !active {
                return Err(StoreError::Conflict("the supplier is deactivated".into()));
            }
            for line in lines {
                let _: i64 = sqlx::query_scalar("SELECT id FROM order_lines WHERE tenant_id = $1 AND order_id = $2 AND id = $3")
                    .bind(tenant.get()).bind(order.get()).bind(line.get()).fetch_one(&mut *tx).await?;
                let packaged: Option<i64> = sqlx::query_scalar(
                        "SELECT pl.package_id FROM package_lines pl JOIN packages p ON p.id = pl.package_id \
                         WHERE pl.tenant_id = $1 AND pl.order_line_id = $2 AND p.state <> 'cancelled' LIMIT 1")
                    .bind(tenant.get()).bind(line.get()).fetch_optional(&mut *tx).await?;
                if let Some(p) = packaged {
                    return Err(StoreError::Conflict(format!(
                        "line {line} is in package {p}: the merchant ships it; deallocate the order first")));
                }
                let shipped: Option<Option<i64>> = sqlx::query_scalar(
                        "SELECT shipment_id FROM dropship_lines WHERE tenant_id = $1 AND order_line_id = $2")
                    .bind(tenant.get()).bind(line.get()).fetch_optional(&mut *tx).await?;
                if let Some(Some(s)) = shipped {
                    return Err(StoreError::Conflict(format!(
                        "line {line} already has the supplier's number (shipment {s})")));
                }
                sqlx::query(
                    "INSERT INTO dropship_lines (order_line_id, tenant_id, order_id, supplier_id, assigned_by, assigned_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (order_line_id) DO UPDATE SET \
                     supplier_id = excluded.supplier_id, assigned_by = excluded.assigned_by, \
                     assigned_at = excluded.assigned_at")
                    .bind(line.get()).bind(tenant.get()).bind(order.get()).bind(supplier.get())
                    .bind(audit.actor.name()).bind(ms(audit.at))
                    .execute(&mut *tx).await?;
                sqlx::query("DELETE FROM dropship_kept WHERE tenant_id = $1 AND order_line_id = $2")
                    .bind(tenant.get()).bind(line.get()).execute(&mut *tx).await?;
            }
            let mut entry = audit.clone();
            entry.entity_id = Some(order.get());
            entry.after = Some(json!({ "lines": lines, "supplier_id": supplier, "by": "hand" }));
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// A person takes lines back from their supplier (the merchant ships them again; the SKU
    /// rule will not assign them again). Refused for a line that already has the supplier's
    /// number.
    pub async fn unassign_dropship(
        &self,
        tenant: TenantId,
        order: OrderId,
        lines: &[OrderLineId],
        audit: &AuditEntry,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            for line in lines {
                let row: Option<Option<i64>> = sqlx::query_scalar(
                        "SELECT shipment_id FROM dropship_lines WHERE tenant_id = $1 AND order_id = $2 AND order_line_id = $3")
                    .bind(tenant.get()).bind(order.get()).bind(line.get()).fetch_optional(&mut *tx).await?;
                match row {
                    None => return Err(StoreError::Conflict(format!("line {line} is not assigned to a supplier"))),
                    Some(Some(s)) => return Err(StoreError::Conflict(format!(
                        "line {line} already has the supplier's number (shipment {s})"))),
                    Some(None) => {}
                }
                sqlx::query("DELETE FROM dropship_lines WHERE tenant_id = $1 AND order_line_id = $2")
                    .bind(tenant.get()).bind(line.get()).execute(&mut *tx).await?;
                // The merchant ships it now: the SKU rule must not give it back at the next review.
                sqlx::query(
                    "INSERT INTO dropship_kept (order_line_id, tenant_id, kept_by, kept_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (order_line_id) DO NOTHING")
                    .bind(line.get()).bind(tenant.get()).bind(audit.actor.name()).bind(ms(audit.at))
                    .execute(&mut *tx).await?;
            }
            let mut entry = audit.clone();
            entry.entity_id = Some(order.get());
            entry.after = Some(json!({ "lines": lines }));
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// Assigned lines without a number whose order may ship, oldest assignment first.
    pub async fn open_dropship_lines(
        &self,
        tenant: TenantId,
        f: OpenLineFilter,
    ) -> Result<Vec<OpenLine>> {
        type Row = (
            i64,
            String,
            i64,
            String,
            String,
            Option<i64>,
            i64,
            Option<String>,
            String,
            i64,
            i64,
        );
        let sql = format!(
            "SELECT d.supplier_id, s.name, o.id, o.platform_order_id, o.state, o.ship_by, l.id, \
             COALESCE(k.code, l.sku_code), COALESCE(k.name, l.title), l.quantity, d.assigned_at \
             FROM dropship_lines d JOIN suppliers s ON s.id = d.supplier_id \
             JOIN orders o ON o.id = d.order_id JOIN order_lines l ON l.id = d.order_line_id \
             LEFT JOIN skus k ON k.id = l.sku_id \
             WHERE d.tenant_id = $1 AND d.shipment_id IS NULL AND o.state IN {SHIPPABLE_SQL} \
             AND ($2 IS NULL OR d.supplier_id = $2) AND ($3 IS NULL OR d.order_id = $3) \
             ORDER BY d.assigned_at, o.id, l.line_no LIMIT $4"
        );
        let rows: Vec<Row> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(tenant.get())
            .bind(f.supplier.map(|s| s.get()))
            .bind(f.order.map(|o| o.get()))
            .bind(f.limit.clamp(1, 10_000))
            .fetch_all(pool).await?);
        rows.into_iter()
            .map(|r| {
                Ok(OpenLine {
                    supplier_id: SupplierId(r.0),
                    supplier_name: r.1,
                    order_id: OrderId(r.2),
                    platform_order_id: r.3,
                    order_state: OrderState::parse(&r.4)?,
                    ship_by: opt_from_ms(r.5),
                    order_line_id: OrderLineId(r.6),
                    sku_code: r.7,
                    title: r.8,
                    quantity: r.9,
                    assigned_at: from_ms(r.10),
                })
            })
            .collect()
    }

    /// A supplier's number for its lines of one order: the shipment (and its outbox job) and
    /// the marking of the lines, in one transaction. The order must still be shippable and
    /// every line of `shipment.items` open and the supplier's; else nothing is written. The
    /// same number entered again gives the existing shipment.
    pub async fn record_supplier_shipment(
        &self,
        tenant: TenantId,
        supplier: SupplierId,
        shipment: &NewShipment,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<Created> {
        let created = in_tx!(&self.db, tx => {
            let state: String = sqlx::query_scalar("SELECT state FROM orders WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(shipment.order_id.get()).fetch_one(&mut *tx).await?;
            if !SHIPPABLE_STATES.contains(&state.as_str()) {
                return Err(StoreError::Conflict(format!("order is {state}: it cannot be shipped now")));
            }
            let created = insert_shipment!(tx, tenant, shipment, actor.name(), now);
            let mut marked = 0;
            for (line, _) in &shipment.items {
                marked += sqlx::query(
                        "UPDATE dropship_lines SET shipment_id = $1 WHERE tenant_id = $2 AND order_id = $3 \
                         AND supplier_id = $4 AND order_line_id = $5 AND shipment_id IS NULL")
                    .bind(created.id().get()).bind(tenant.get()).bind(shipment.order_id.get())
                    .bind(supplier.get()).bind(line.get())
                    .execute(&mut *tx).await?.rows_affected();
            }
            if let Created::New(id) = created {
                if marked as usize != shipment.items.len() || shipment.items.is_empty() {
                    return Err(StoreError::Conflict(
                        "the order's lines changed meanwhile (shipped or taken back); reload".into()));
                }
                let entry = AuditEntry {
                    tenant_id: tenant,
                    actor: actor.clone(),
                    action: "shipment.queued".into(),
                    entity_type: "order".into(),
                    entity_id: Some(shipment.order_id.get()),
                    before: None,
                    after: Some(json!({
                        "shipment": id.get(), "carrier": shipment.carrier_code,
                        "tracking_no": shipment.tracking_no, "source": shipment.source.as_str(),
                        "supplier_id": supplier,
                    })),
                    at: now,
                };
                insert_audit!(&mut *tx, &entry);
            }
            created
        });
        Ok(created)
    }
}
