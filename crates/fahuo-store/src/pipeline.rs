//! What the end-to-end run (`fahuo demo --headless`, `fahuo bench pipeline`) reads back to
//! compare fahuo's database with the emulators' ledgers: every order's state, every waybill
//! with its package's orders, every shipment and every parcel of one tenant, each in one query.
//! Plain reads with no business rule in them; the comparison lives with the driver.

use crate::{Result, Store, on_db};
use fahuo_domain::TenantId;

/// One order: the platform's number and fahuo's internal state.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrderFact {
    pub platform_order_id: String,
    pub state: String,
}

/// One waybill number fahuo holds, with the platform order numbers of its package.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WaybillFact {
    pub package_id: i64,
    pub tracking_no: String,
    pub cancelled: bool,
    pub platform_order_id: String,
}

/// One shipment (write-back) of an order.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ShipmentFact {
    pub platform_order_id: String,
    pub carrier_code: String,
    pub tracking_no: String,
    pub state: String,
}

/// One tracked parcel and its last known state (`None`: no event yet).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ParcelFact {
    pub tracking_no: String,
    pub state: Option<String>,
    pub events: i64,
}

/// Everything the end-to-end comparison needs of one tenant.
#[derive(Debug, Clone, Default)]
pub struct PipelineFacts {
    pub orders: Vec<OrderFact>,
    /// One row per (waybill, order of its package).
    pub waybills: Vec<WaybillFact>,
    pub shipments: Vec<ShipmentFact>,
    pub parcels: Vec<ParcelFact>,
    /// Labels printed (print job items, reprints included).
    pub labels_printed: i64,
}

impl Store {
    /// Reads the tenant's orders, waybills, shipments and parcels for the end-to-end check.
    pub async fn pipeline_facts(&self, tenant: TenantId) -> Result<PipelineFacts> {
        let t = tenant.get();
        let orders: Vec<OrderFact> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT platform_order_id, state FROM orders WHERE tenant_id = $1 ORDER BY id")
            .bind(t).fetch_all(pool).await?);
        let waybills: Vec<WaybillFact> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT DISTINCT w.package_id, w.tracking_no, w.cancelled_at IS NOT NULL AS cancelled, \
                        o.platform_order_id \
                 FROM waybills w \
                 JOIN package_lines pl ON pl.package_id = w.package_id AND pl.tenant_id = w.tenant_id \
                 JOIN orders o ON o.id = pl.order_id AND o.tenant_id = w.tenant_id \
                 WHERE w.tenant_id = $1 ORDER BY w.package_id")
            .bind(t).fetch_all(pool).await?);
        let shipments: Vec<ShipmentFact> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT o.platform_order_id, s.carrier_code, s.tracking_no, s.state \
                 FROM shipments s JOIN orders o ON o.id = s.order_id AND o.tenant_id = s.tenant_id \
                 WHERE s.tenant_id = $1 ORDER BY s.id")
            .bind(t).fetch_all(pool).await?);
        let parcels: Vec<ParcelFact> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT p.tracking_no, p.state, \
                        (SELECT COUNT(*) FROM tracking_events e \
                         WHERE e.parcel_id = p.id AND e.tenant_id = p.tenant_id) AS events \
                 FROM parcels p WHERE p.tenant_id = $1 ORDER BY p.id")
            .bind(t).fetch_all(pool).await?);
        let labels_printed: i64 = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT COUNT(*) FROM print_job_items WHERE tenant_id = $1")
            .bind(t).fetch_one(pool).await?);
        Ok(PipelineFacts {
            labels_printed,
            orders,
            waybills,
            shipments,
            parcels,
        })
    }

    /// Every parcel's number and last known state (`None`: no event yet): what a driver
    /// waiting for the parcels to arrive polls, without the rest of [`Self::pipeline_facts`].
    pub async fn parcel_states(&self, tenant: TenantId) -> Result<Vec<(String, Option<String>)>> {
        Ok(on_db!(&self.db, pool => sqlx::query_as(
                "SELECT tracking_no, state FROM parcels WHERE tenant_id = $1")
            .bind(tenant.get()).fetch_all(pool).await?))
    }
}
