//! Tracking-number imports (批量导入单号): the previewed file's rows with their verdicts, and
//! the apply that turns valid rows into shipments, 500 rows per transaction.
//!
//! A row's `outcome` is written in the same transaction as its shipment, so an apply that dies
//! half-way continues from the first row without one, and a row is never applied twice.

use crate::audit::insert_audit;
use crate::enqueue_job;
use crate::jobs::NewJob;
use crate::shipping::{Created, NewShipment};
use crate::{Result, Store, StoreError, from_ms, in_tx, ms, on_db, opt_from_ms};
use chrono::{DateTime, Utc};
use fahuo_domain::audit::{ActorRef, AuditEntry};
use fahuo_domain::shipping::ShipmentSource;
use fahuo_domain::{OrderId, OrderLineId, ShipmentId, ShipmentImportId, TenantId};
use serde::Serialize;
use serde_json::json;

/// The job that applies an import in chunks.
pub const IMPORT_JOB: &str = "shipment_import.apply";
/// Rows per transaction (and at most what a platform's batch ship takes at once).
pub const CHUNK_ROWS: i64 = 500;

/// One row as previewed: what it will do when applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportRow {
    pub row: u32,
    pub order_no: String,
    pub order_id: Option<OrderId>,
    pub carrier_code: Option<String>,
    pub tracking_no: Option<String>,
    pub sku: Option<String>,
    pub quantity: Option<i64>,
    /// The lines of the order this row ships, resolved at preview from `sku`/`quantity`;
    /// empty = every unit still owed.
    #[serde(skip)]
    pub items: Vec<(OrderLineId, i64)>,
    /// `None` when the row will be applied; else why not (a stable code).
    pub verdict_code: Option<String>,
    pub verdict_message: Option<String>,
}

/// A row with what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppliedRow {
    #[serde(flatten)]
    pub row: ImportRow,
    /// `queued` (a shipment exists), `skipped` (the row had a verdict), or none yet.
    pub outcome: Option<String>,
    pub shipment_id: Option<ShipmentId>,
    /// The shipment's state and error, once queued.
    pub shipment_state: Option<String>,
    pub shipment_error: Option<String>,
}

/// An import as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShipmentImport {
    pub id: ShipmentImportId,
    pub file_name: String,
    pub format: String,
    pub row_count: i64,
    /// `previewed`, `applying` or `applied`.
    pub state: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub applied_at: Option<DateTime<Utc>>,
    /// Rows not yet applied (or skipped).
    pub rows_left: i64,
}

impl Store {
    /// Stores a previewed file. Nothing is shipped.
    pub async fn create_shipment_import(
        &self,
        tenant: TenantId,
        file_name: &str,
        format: &str,
        rows: &[ImportRow],
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<ShipmentImportId> {
        let id = in_tx!(&self.db, tx => {
            let id: i64 = sqlx::query_scalar(
                    "INSERT INTO shipment_imports (tenant_id, file_name, format, row_count, state, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, 'previewed', $5, $6) RETURNING id")
                .bind(tenant.get()).bind(file_name).bind(format).bind(rows.len() as i64)
                .bind(actor.name()).bind(ms(now)).fetch_one(&mut *tx).await?;
            for r in rows {
                let items = serde_json::to_string(
                    &r.items.iter().map(|(l, u)| (l.get(), *u)).collect::<Vec<_>>(),
                ).unwrap_or_else(|_| "[]".into());
                sqlx::query(
                    "INSERT INTO shipment_import_rows (import_id, row_no, tenant_id, order_no, order_id, \
                     carrier_code, tracking_no, sku, quantity, verdict_code, verdict_message, items_json) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
                    .bind(id).bind(i64::from(r.row)).bind(tenant.get()).bind(&r.order_no)
                    .bind(r.order_id.map(|o| o.get())).bind(&r.carrier_code).bind(&r.tracking_no)
                    .bind(&r.sku).bind(r.quantity).bind(&r.verdict_code).bind(&r.verdict_message)
                    .bind(items)
                    .execute(&mut *tx).await?;
            }
            id
        });
        Ok(ShipmentImportId(id))
    }

    pub async fn shipment_import(
        &self,
        tenant: TenantId,
        id: ShipmentImportId,
    ) -> Result<ShipmentImport> {
        let (file_name, format, row_count, state, created_by, created_at, applied_at): (
            String,
            String,
            i64,
            String,
            String,
            i64,
            Option<i64>,
        ) = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT file_name, format, row_count, state, created_by, created_at, applied_at \
                 FROM shipment_imports WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.get()).bind(id.get()).fetch_one(pool).await?);
        let rows_left: i64 = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT COUNT(*) FROM shipment_import_rows WHERE import_id = $1 AND outcome IS NULL")
            .bind(id.get()).fetch_one(pool).await?);
        Ok(ShipmentImport {
            id,
            file_name,
            format,
            row_count,
            state,
            created_by,
            created_at: from_ms(created_at),
            applied_at: opt_from_ms(applied_at),
            rows_left,
        })
    }

    /// The import's rows in file order, with their shipments' states.
    pub async fn shipment_import_rows(
        &self,
        tenant: TenantId,
        id: ShipmentImportId,
    ) -> Result<Vec<AppliedRow>> {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(
            i64,
            String,
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<String>,
            Option<String>,
        )> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT r.row_no, r.order_no, r.order_id, r.carrier_code, r.tracking_no, r.sku, r.quantity, \
                 r.verdict_code, r.verdict_message, r.outcome, r.shipment_id, s.state, s.last_error \
                 FROM shipment_import_rows r LEFT JOIN shipments s ON s.id = r.shipment_id \
                 WHERE r.tenant_id = $1 AND r.import_id = $2 ORDER BY r.row_no")
            .bind(tenant.get()).bind(id.get()).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|r| AppliedRow {
                row: ImportRow {
                    row: r.0 as u32,
                    order_no: r.1,
                    order_id: r.2.map(OrderId),
                    carrier_code: r.3,
                    tracking_no: r.4,
                    sku: r.5,
                    quantity: r.6,
                    items: Vec::new(),
                    verdict_code: r.7,
                    verdict_message: r.8,
                },
                outcome: r.9,
                shipment_id: r.10.map(ShipmentId),
                shipment_state: r.11,
                shipment_error: r.12,
            })
            .collect())
    }

    /// Marks the import as applying and queues the job that applies it (once, however often
    /// asked). Returns false when it was already applying or applied.
    pub async fn start_shipment_import(
        &self,
        tenant: TenantId,
        id: ShipmentImportId,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let started = in_tx!(&self.db, tx => {
            let done = sqlx::query(
                    "UPDATE shipment_imports SET state = 'applying' WHERE tenant_id = $1 AND id = $2 AND state = 'previewed'")
                .bind(tenant.get()).bind(id.get()).execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                let exists: Option<i64> = sqlx::query_scalar(
                        "SELECT id FROM shipment_imports WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.get()).bind(id.get()).fetch_optional(&mut *tx).await?;
                if exists.is_none() {
                    return Err(StoreError::NotFound);
                }
                false
            } else {
                let job = NewJob::new(IMPORT_JOB, json!({ "import_id": id.get() }), now)
                    .for_tenant(tenant)
                    .dedupe(format!("shipment_import:{}", id.get()))
                    .max_attempts(20);
                enqueue_job!(&mut *tx, &job, now);
                let entry = AuditEntry::about(
                    tenant,
                    actor,
                    "shipment_import.apply",
                    ("shipment_import", id.get()),
                    json!({ "state": "applying" }),
                    now,
                );
                insert_audit!(&mut *tx, &entry);
                true
            }
        });
        Ok(started)
    }

    /// Applies the next `limit` unapplied rows in one transaction: a shipment (and its outbox
    /// job) per valid row, `skipped` for the others. Returns (rows applied now, rows left);
    /// the import is `applied` once none are left.
    pub async fn apply_shipment_import_chunk(
        &self,
        tenant: TenantId,
        id: ShipmentImportId,
        limit: i64,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<(usize, i64)> {
        let out = in_tx!(&self.db, tx => {
            let state: String = sqlx::query_scalar(
                    "SELECT state FROM shipment_imports WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(id.get()).fetch_one(&mut *tx).await?;
            if state == "previewed" {
                return Err(StoreError::Conflict("the import has not been started".into()));
            }
            #[allow(clippy::type_complexity)]
            let rows: Vec<(i64, Option<i64>, Option<String>, Option<String>, Option<String>, String)> = sqlx::query_as(
                    "SELECT row_no, order_id, carrier_code, tracking_no, verdict_code, items_json \
                     FROM shipment_import_rows WHERE import_id = $1 AND outcome IS NULL \
                     ORDER BY row_no LIMIT $2")
                .bind(id.get()).bind(limit.clamp(1, CHUNK_ROWS)).fetch_all(&mut *tx).await?;
            let applied = rows.len();
            for (row_no, order, carrier, number, verdict, items) in rows {
                let (outcome, shipment) = match (verdict, order, carrier, number) {
                    (None, Some(order), Some(carrier), Some(number)) => {
                        let items: Vec<(i64, i64)> = serde_json::from_str(&items)
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                        let s = NewShipment {
                            order_id: OrderId(order),
                            package_id: None,
                            carrier_code: carrier,
                            tracking_no: number,
                            items: items.into_iter().map(|(l, u)| (OrderLineId(l), u)).collect(),
                            source: ShipmentSource::Import,
                            import_id: Some(id),
                            supplier_id: None,
                        };
                        let created: Created = crate::shipping::insert_shipment!(tx, tenant, &s, actor.name(), now);
                        ("queued", Some(created.id().get()))
                    }
                    _ => ("skipped", None),
                };
                sqlx::query(
                    "UPDATE shipment_import_rows SET outcome = $1, shipment_id = $2 WHERE import_id = $3 AND row_no = $4")
                    .bind(outcome).bind(shipment).bind(id.get()).bind(row_no).execute(&mut *tx).await?;
            }
            let left: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM shipment_import_rows WHERE import_id = $1 AND outcome IS NULL")
                .bind(id.get()).fetch_one(&mut *tx).await?;
            if left == 0 && state != "applied" {
                sqlx::query("UPDATE shipment_imports SET state = 'applied', applied_at = $1 WHERE id = $2")
                    .bind(ms(now)).bind(id.get()).execute(&mut *tx).await?;
            }
            (applied, left)
        });
        Ok(out)
    }
}
