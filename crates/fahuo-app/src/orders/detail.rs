//! What the order page shows besides the order itself: its packages.

use crate::{Actor, App, Result};
use fahuo_domain::{OrderId, PackageId, Permission, WarehouseId};
use serde::Serialize;

/// One package of an order: where it ships from, its carrier and number, and the other
/// orders merged into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderPackage {
    pub id: PackageId,
    pub warehouse_id: WarehouseId,
    /// The carrier code (`SF`), once chosen.
    pub carrier: Option<String>,
    pub tracking_no: Option<String>,
    /// `open`, `waybill_issued`, `printed`, `packed`, `shipped`, ...
    pub state: String,
    pub weight_g: Option<i64>,
    /// Other orders in the same package (合单).
    pub merged_with: Vec<OrderId>,
}

impl App {
    /// The packages of an order (cancelled ones left out), oldest first.
    pub async fn order_packages(&self, actor: &Actor, id: OrderId) -> Result<Vec<OrderPackage>> {
        actor.require(Permission::ViewOrders)?;
        self.order_in_scope(actor, id).await?;
        let tenant = actor.tenant_id;
        let mut out = Vec::new();
        for p in self.store().packages_of_order(tenant, id).await? {
            let info = self.store().package_for_waybill(tenant, p).await?;
            let waybill = info.waybill.as_ref();
            out.push(OrderPackage {
                id: p,
                warehouse_id: info.warehouse_id,
                carrier: waybill
                    .map(|w| w.carrier.as_str().to_string())
                    .or_else(|| info.carrier.as_ref().map(|c| c.as_str().to_string())),
                tracking_no: waybill.map(|w| w.tracking_no.as_str().to_string()),
                state: self.store().package_state(tenant, p).await?,
                weight_g: info.weight_g,
                merged_with: info.orders.iter().copied().filter(|o| *o != id).collect(),
            });
        }
        Ok(out)
    }
}
