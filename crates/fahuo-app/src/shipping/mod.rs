//! Shipping back to the platforms (发货回传): the merchant's trigger, shipments typed by hand,
//! the exception list of refused write-backs, retries and number changes.
//!
//! Every write-back is a `shipments` row written in the same transaction as its outbox job
//! ([`outbox`] sends it), unique per (order, number) and per (package, order): a double click,
//! a reprint, a crash and restart, an import applied twice — each ends with one shipment.

mod outbox;
pub mod pack;

pub use outbox::register;

use crate::{Actor, App, AppError, Result};
use fahuo_carriers::Carrier;
use fahuo_domain::fulfilment::{Shipment, ShipmentState};
use fahuo_domain::shipping::{ChangeContext, ShipTrigger, ShipmentSource, ShippingSettings};
use fahuo_domain::{
    OrderId, OrderLineId, OrderState, PackageId, ParseError, Permission, Platform, ShipmentId,
    TenantId,
};
use fahuo_store::review::SettingsKind;
use fahuo_store::shipping::{Created, NewShipment, ShipmentChange, ShipmentFilter};
use serde::{Deserialize, Serialize};

/// A number typed by a person for an order (手工发货), all of it or some lines.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManualShipment {
    /// A carrier name, alias or code (顺丰, 中通快递, ZTO, zhongtong ...).
    pub carrier: String,
    pub tracking_no: String,
    /// Ship only these lines (order line id, units); omitted = everything still owed.
    #[serde(default)]
    pub lines: Vec<(OrderLineId, i64)>,
}

/// A shipment as the console and the API show it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShipmentView {
    #[serde(flatten)]
    pub shipment: Shipment,
    pub carrier_name: String,
    /// What the merchant should do, in Chinese, for a refused or conflicting write-back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice_zh: Option<String>,
}

/// Whether two orders may share one parcel: the same receiver key (same person, same address;
/// set at review). Orders not yet reviewed have none and never share.
pub(crate) fn same_parcel(a: &Option<String>, b: &Option<String>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a == b)
}

/// A carrier's Chinese name from its canonical code (the code itself when fahuo does not know it).
pub fn carrier_name_zh(code: &str) -> String {
    Carrier::from_code(code)
        .map(|c| c.name_zh().to_string())
        .unwrap_or_else(|| code.to_string())
}

/// The carrier's English name (SF Express), or the code as given when fahuo does not know it.
pub fn carrier_name_en(code: &str) -> String {
    Carrier::from_code(code)
        .map(|c| c.info().name_en.to_string())
        .unwrap_or_else(|| code.to_string())
}

/// A parsed, checked carrier and number.
pub(crate) fn checked_number(carrier: &str, number: &str) -> Result<(Carrier, String)> {
    let (carrier, _) = fahuo_carriers::registry::resolve(carrier)
        .map_err(|e| ParseError::new("carrier", e.to_string()))?;
    let parsed = fahuo_carriers::TrackingNo::parse(number)
        .map_err(|e| ParseError::new("tracking_no", e.to_string()))?;
    fahuo_carriers::tracking_no::check(carrier, &parsed)
        .map_err(|e| ParseError::new("tracking_no", e.to_string()))?;
    Ok((carrier, parsed.as_str().to_string()))
}

fn view(shipment: Shipment) -> ShipmentView {
    let carrier_name = carrier_name_zh(&shipment.carrier_code);
    let advice_zh = match shipment.state {
        ShipmentState::Conflict => Some(format!(
            "平台上该订单已用其他单号发货（{}）：请核对实物包裹，确认后修改单号或作废本条",
            shipment
                .conflict
                .iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect::<Vec<_>>()
                .join("、")
        )),
        ShipmentState::Failed => Some(format!(
            "平台拒绝发货：{}。处理后点“重试”，或更正快递公司/单号后重试",
            shipment.last_error.as_deref().unwrap_or("未知原因")
        )),
        _ => None,
    };
    ShipmentView {
        shipment,
        carrier_name,
        advice_zh,
    }
}

impl App {
    pub async fn shipping_settings(&self, tenant: TenantId) -> Result<ShippingSettings> {
        Ok(self
            .store()
            .settings(tenant, None, SettingsKind::Shipping)
            .await?
            .unwrap_or_default())
    }

    pub async fn set_shipping_settings(
        &self,
        actor: &Actor,
        settings: &ShippingSettings,
    ) -> Result<ShippingSettings> {
        actor.require(Permission::ManageShops)?;
        settings.validate()?;
        let mut audit = actor.audit("settings.shipping", "tenant", self.now());
        audit.entity_id = Some(actor.tenant_id.get());
        audit.after = serde_json::to_value(settings).ok();
        self.store()
            .set_settings(
                actor.tenant_id,
                None,
                SettingsKind::Shipping,
                Some(settings),
                &audit,
            )
            .await?;
        Ok(settings.clone())
    }

    /// Queues the write-back of packages whose trigger step just happened (`step`): each
    /// order in each package gets its shipment unless it already has one. Packages without a
    /// live waybill are skipped (nothing to tell the platform).
    pub(crate) async fn ship_packages_after(
        &self,
        tenant: TenantId,
        step: ShipTrigger,
        packages: &[PackageId],
    ) -> Result<usize> {
        let settings = self.shipping_settings(tenant).await?;
        if settings.trigger != step || packages.is_empty() {
            return Ok(0);
        }
        self.ship_packages(tenant, packages).await
    }

    /// Queues the write-back of `packages` whatever the trigger (the sweep, a person's
    /// "ship now"). Returns how many shipments were new.
    pub(crate) async fn ship_packages(
        &self,
        tenant: TenantId,
        packages: &[PackageId],
    ) -> Result<usize> {
        let mut new = Vec::new();
        for &package in packages {
            let Some((carrier, number, state, lines)) =
                self.store().package_for_shipping(tenant, package).await?
            else {
                continue;
            };
            if matches!(state.as_str(), "open" | "cancelled" | "shipped") {
                continue;
            }
            let mut orders: Vec<OrderId> = lines.iter().map(|l| l.0).collect();
            orders.dedup();
            for order in orders {
                new.push(NewShipment {
                    order_id: order,
                    package_id: Some(package),
                    carrier_code: carrier.clone(),
                    tracking_no: number.clone(),
                    items: lines
                        .iter()
                        .filter(|l| l.0 == order)
                        .map(|l| (l.1, l.2))
                        .collect(),
                    source: ShipmentSource::Waybill,
                    import_id: None,
                    supplier_id: None,
                });
            }
        }
        let actor = Actor::system(tenant, "shipping");
        let created = self
            .store()
            .create_shipments(tenant, &new, &actor.audit_ref(), self.now())
            .await?;
        Ok(created
            .iter()
            .filter(|c| matches!(c, Created::New(_)))
            .count())
    }

    /// "Ship now" for packages, whatever the trigger (a person decides).
    pub async fn ship_packages_now(&self, actor: &Actor, packages: &[PackageId]) -> Result<usize> {
        actor.require(Permission::PrintAndShip)?;
        if packages.is_empty() || packages.len() > 2_000 {
            return Err(ParseError::new("package_ids", "1 to 2000 packages").into());
        }
        for &p in packages {
            // Scoping: every package must be the actor's tenant's, of a warehouse and of
            // shops of the actor's scope.
            let (warehouse, shops) = self.store().package_scope(actor.tenant_id, p).await?;
            actor.check_warehouse(warehouse)?;
            shops.into_iter().try_for_each(|s| actor.check_shop(s))?;
        }
        self.ship_packages(actor.tenant_id, packages).await
    }

    /// A number typed by a person (the parcel went with a label from elsewhere): checked
    /// against the carrier's rules first, then queued like any other write-back. An order fahuo
    /// has not cleared (new, or held) may be shipped this way: the parcel has left, so the
    /// platform must hear it, and the platform refuses what it will not take (a pending
    /// refund) with its own reason in the exception list.
    pub async fn ship_order_manually(
        &self,
        actor: &Actor,
        order_id: OrderId,
        input: &ManualShipment,
    ) -> Result<ShipmentView> {
        actor.require(Permission::PrintAndShip)?;
        self.order_in_scope(actor, order_id).await?;
        let (carrier, number) = checked_number(&input.carrier, &input.tracking_no)?;
        let order = self.store().order(actor.tenant_id, order_id).await?;
        if !order.state.is_before_shipping() && order.state != OrderState::Shipped {
            return Err(AppError::Conflict(format!(
                "订单状态为 {}，不能发货",
                order.state.as_str()
            )));
        }
        for (line, units) in &input.lines {
            let Some(l) = order.lines.iter().find(|l| l.id == *line) else {
                return Err(
                    ParseError::new("lines", format!("line {line} is not on this order")).into(),
                );
            };
            if *units < 1 || *units > l.quantity {
                return Err(ParseError::new(
                    "lines",
                    format!("line {line}: 1 to {} units", l.quantity),
                )
                .into());
            }
        }
        self.refuse_reused_number(actor.tenant_id, order_id, &number)
            .await?;
        let created = self
            .store()
            .create_shipments(
                actor.tenant_id,
                &[NewShipment {
                    order_id,
                    package_id: None,
                    carrier_code: carrier.code().to_string(),
                    tracking_no: number,
                    items: input.lines.clone(),
                    source: ShipmentSource::Manual,
                    import_id: None,
                    supplier_id: None,
                }],
                &actor.audit_ref(),
                self.now(),
            )
            .await?;
        self.shipment(actor, created[0].id()).await
    }

    /// A number another order already shipped with is a typing or scanning slip (one parcel
    /// cannot go to two buyers), caught before any buyer sees it — unless both orders go to
    /// the same person at the same address (a merged parcel, 合单).
    pub(crate) async fn refuse_reused_number(
        &self,
        tenant: TenantId,
        order: OrderId,
        number: &str,
    ) -> Result<()> {
        let used = self
            .store()
            .shipments_with_numbers(tenant, &[number.to_string()])
            .await?;
        let ours = self.store().merge_key(tenant, order).await?;
        if let Some(other) = used
            .iter()
            .find(|u| u.order_id != order && !same_parcel(&ours, &u.merge_key))
        {
            let other = other.order_id;
            return Err(AppError::Conflict(format!(
                "单号 {number} 已用于另一个订单（{other}），一个包裹不能发给两个买家"
            )));
        }
        Ok(())
    }

    pub async fn shipment(&self, actor: &Actor, id: ShipmentId) -> Result<ShipmentView> {
        actor.require(Permission::ViewOrders)?;
        Ok(view(self.shipment_in_scope(actor, id).await?))
    }

    /// The shipment, or `NotFound` unless it is the actor's tenant's and of an order of a
    /// shop of the actor's scope.
    async fn shipment_in_scope(&self, actor: &Actor, id: ShipmentId) -> Result<Shipment> {
        let shipment = self.store().shipment(actor.tenant_id, id).await?;
        self.order_in_scope(actor, shipment.order_id).await?;
        Ok(shipment)
    }

    /// Shipments, newest first; `state=failed` and `state=conflict` are the exception list.
    pub async fn shipments(
        &self,
        actor: &Actor,
        filter: &ShipmentFilter,
    ) -> Result<Vec<ShipmentView>> {
        actor.require(Permission::ViewOrders)?;
        let filter = ShipmentFilter {
            shops: actor.scope.shops.clone(),
            ..filter.clone()
        };
        Ok(self
            .store()
            .shipments(actor.tenant_id, &filter)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    /// Sends a refused or conflicting write-back again, optionally with a corrected carrier
    /// and number (checked like a new one).
    pub async fn retry_shipment(
        &self,
        actor: &Actor,
        id: ShipmentId,
        corrected: Option<(&str, &str)>,
    ) -> Result<ShipmentView> {
        actor.require(Permission::PrintAndShip)?;
        let shipment = self.shipment_in_scope(actor, id).await?;
        let corrected = match corrected {
            Some((carrier, number)) => {
                let (carrier, number) = checked_number(carrier, number)?;
                self.refuse_reused_number(actor.tenant_id, shipment.order_id, &number)
                    .await?;
                Some((carrier.code().to_string(), number))
            }
            None => None,
        };
        self.store()
            .retry_shipment(
                actor.tenant_id,
                id,
                corrected.as_ref().map(|(c, n)| (c.as_str(), n.as_str())),
                &actor.audit_ref(),
                self.now(),
            )
            .await?;
        self.shipment(actor, id).await
    }

    /// Asks the platform to change a shipped number (修改物流信息), within its limits: the
    /// change is checked here first, queued, and its outcome kept whatever the platform says.
    pub async fn change_shipment_number(
        &self,
        actor: &Actor,
        id: ShipmentId,
        carrier: &str,
        number: &str,
        reason: &str,
    ) -> Result<ShipmentChange> {
        actor.require(Permission::PrintAndShip)?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(ParseError::new("reason", "1 to 200 characters").into());
        }
        let (carrier, number) = checked_number(carrier, number)?;
        let shipment = self.shipment_in_scope(actor, id).await?;
        if shipment.carrier_code == carrier.code() && shipment.tracking_no == number {
            return Err(ParseError::new("tracking_no", "the same carrier and number").into());
        }
        let order = self
            .store()
            .order(actor.tenant_id, shipment.order_id)
            .await?;
        let parcels = self
            .store()
            .shipments(
                actor.tenant_id,
                &ShipmentFilter {
                    state: Some(ShipmentState::Succeeded),
                    order_id: Some(order.id),
                    limit: 100,
                    ..Default::default()
                },
            )
            .await?
            .len();
        let changes_so_far = self
            .store()
            .order_number_changes(actor.tenant_id, order.id)
            .await?;
        if let Some(why) = fahuo_domain::shipping::change_refusal(ChangeContext {
            platform: order.platform,
            order_state: order.state,
            changes_so_far,
            parcels,
        }) {
            return Err(AppError::Conflict(why));
        }
        self.refuse_reused_number(actor.tenant_id, order.id, &number)
            .await?;
        let change = self
            .store()
            .request_shipment_change(
                actor.tenant_id,
                id,
                carrier.code(),
                &number,
                reason,
                &actor.audit_ref(),
                self.now(),
            )
            .await?;
        Ok(self
            .store()
            .shipment_change(actor.tenant_id, change)
            .await?)
    }

    pub async fn shipment_changes(
        &self,
        actor: &Actor,
        id: ShipmentId,
    ) -> Result<Vec<ShipmentChange>> {
        actor.require(Permission::ViewOrders)?;
        self.shipment_in_scope(actor, id).await?;
        Ok(self.store().shipment_changes(actor.tenant_id, id).await?)
    }

    /// The merchant's own code for a carrier on a platform, where fahuo's table has none
    /// (or the platform changed it); `None` removes it.
    pub async fn set_carrier_code(
        &self,
        actor: &Actor,
        platform: Platform,
        carrier: &str,
        platform_code: Option<(&str, &str)>,
    ) -> Result<()> {
        actor.require(Permission::ManageShops)?;
        let (carrier, _) = fahuo_carriers::registry::resolve(carrier)
            .map_err(|e| ParseError::new("carrier", e.to_string()))?;
        if platform == Platform::Manual {
            return Err(ParseError::new("platform", "manual shops have no carrier codes").into());
        }
        if let Some((code, name)) = platform_code
            && (code.trim().is_empty() || code.len() > 64 || name.len() > 64)
        {
            return Err(ParseError::new("platform_code", "1 to 64 characters").into());
        }
        let mut audit = actor.audit("settings.carrier_code", "tenant", self.now());
        audit.entity_id = Some(actor.tenant_id.get());
        audit.after = Some(serde_json::json!({
            "platform": platform.as_str(), "carrier": carrier.code(), "code": platform_code.map(|c| c.0),
        }));
        self.store()
            .set_carrier_code_override(
                actor.tenant_id,
                platform,
                carrier.code(),
                platform_code.map(|(c, n)| (c.trim(), n.trim())),
                &audit,
            )
            .await?;
        Ok(())
    }
}
