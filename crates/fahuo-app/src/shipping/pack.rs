//! The pack station (验货台): scan the label or the order barcode, then every item; close the
//! parcel when all are in, with its weight when the station has a scale.
//!
//! The scan counts live in the store between scans, so a reload, a second station or a crash
//! continues where the packer stopped. Closing a parcel fires the write-back when the
//! merchant's trigger is "after pack" (or "after weighing" and a weight was taken).

use crate::{Actor, App, AppError, Result};
use fahuo_domain::pack::{Missing, PackCheck, PackItem, ScanOutcome, WeightOff, check_weight};
use fahuo_domain::shipping::ShipTrigger;
use fahuo_domain::{PackageId, ParseError, Permission, SkuId};
use serde::Serialize;
use std::collections::BTreeMap;

/// A parcel on the pack station.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PackStation {
    pub package_id: PackageId,
    /// `printed` while packing, `packed` once closed.
    pub package_state: String,
    pub items: Vec<PackLine>,
    pub remaining: i64,
    /// Grams the parcel should weigh (items + packaging), when every SKU has a weight.
    pub expected_weight_g: Option<i64>,
    /// Refused scans so far (wrong or extra items).
    pub refused_scans: i64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PackLine {
    pub sku_code: String,
    pub barcode: Option<String>,
    pub title: String,
    pub expected: i64,
    pub scanned: i64,
}

/// The answer to one item scan.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScanReply {
    pub outcome: ScanOutcome,
    /// False: sound the error tone; the count did not change.
    pub accepted: bool,
    pub message_zh: String,
    pub station: PackStation,
}

/// Why a parcel may not be closed.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum CloseRefusal {
    /// 少货: items still to scan.
    MissingItems { missing: Vec<Missing> },
    /// The scale disagrees with the items.
    WeightOff { weight: WeightOff },
    /// The trigger is "after weighing" and no weight was given.
    WeightRequired,
}

impl CloseRefusal {
    pub fn message_zh(&self) -> String {
        match self {
            CloseRefusal::MissingItems { missing } => format!(
                "少货！还差：{}",
                missing
                    .iter()
                    .map(|m| format!("{} ×{}", m.title, m.units))
                    .collect::<Vec<_>>()
                    .join("，")
            ),
            CloseRefusal::WeightOff { weight } => weight.message_zh(),
            CloseRefusal::WeightRequired => "称重后发货：请先称重再封箱".to_string(),
        }
    }
}

/// The answer to "close this parcel".
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CloseReply {
    pub packed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<CloseRefusal>,
    pub message_zh: String,
    /// Write-backs queued by this close (the merchant's trigger).
    pub shipments_queued: usize,
    pub station: PackStation,
}

const MAX_CODE_CHARS: usize = 64;

fn code_arg(field: &'static str, code: &str) -> Result<String> {
    let code = code.trim();
    if code.is_empty() || code.chars().count() > MAX_CODE_CHARS {
        return Err(ParseError::new(field, "1 to 64 characters").into());
    }
    Ok(code.to_string())
}

impl App {
    /// The first scan: a label (waybill number) or an order number. An order with several
    /// parcels still to pack is refused with a request to scan the label instead.
    pub async fn pack_open(&self, actor: &Actor, code: &str) -> Result<PackStation> {
        actor.require(Permission::PrintAndShip)?;
        let code = code_arg("code", code)?;
        let tenant = actor.tenant_id;
        let normalized = fahuo_domain::pack::normalize_code(&code);
        let package = match self
            .store()
            .package_by_tracking_no(tenant, &normalized)
            .await?
        {
            Some(p) => p,
            None => {
                let orders = self
                    .store()
                    .orders_by_platform_ids(tenant, std::slice::from_ref(&code))
                    .await?;
                let mut candidates = Vec::new();
                for order in orders {
                    for p in self.store().packages_of_order(tenant, order.id).await? {
                        if !self.package_in_scope(actor, p).await? {
                            continue;
                        }
                        let state = self.store().package_state(tenant, p).await?;
                        if state == "printed" || state == "waybill_issued" {
                            candidates.push(p);
                        }
                    }
                }
                match candidates.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(AppError::Conflict(format!(
                            "找不到 {code} 对应的待验货包裹：请扫描快递面单上的单号"
                        )));
                    }
                    _ => {
                        return Err(AppError::Conflict(format!(
                            "订单 {code} 有 {} 个包裹，请扫描要验的那个包裹的面单",
                            candidates.len()
                        )));
                    }
                }
            }
        };
        // A parcel of a warehouse outside a sub-account's scope is answered like one that
        // does not exist.
        if !self.package_in_scope(actor, package).await? {
            return Err(AppError::NotFound);
        }
        let station = self.pack_station(tenant, package).await?.1;
        match station.package_state.as_str() {
            "printed" | "packed" => Ok(station),
            "waybill_issued" => Err(AppError::Conflict(
                "面单还没有打印：先打印面单再验货".into(),
            )),
            other => Err(AppError::Conflict(format!("包裹状态为 {other}，不能验货"))),
        }
    }

    /// Whether the package ships from a warehouse the actor may work in (`NotFound` for
    /// another tenant's package).
    async fn package_in_scope(&self, actor: &Actor, package: PackageId) -> Result<bool> {
        let warehouse = self
            .store()
            .package_warehouse(actor.tenant_id, package)
            .await?;
        Ok(actor.scope.allows_warehouse(warehouse))
    }

    /// `NotFound` unless the package is the actor's tenant's and in its warehouse scope.
    async fn require_package_in_scope(&self, actor: &Actor, package: PackageId) -> Result<()> {
        if self.package_in_scope(actor, package).await? {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    async fn pack_station(
        &self,
        tenant: fahuo_domain::TenantId,
        package: PackageId,
    ) -> Result<(PackCheck, PackStation)> {
        let (state, rows) = self.store().package_items(tenant, package).await?;
        let items: Vec<PackItem> = rows
            .into_iter()
            .map(|(sku, code, barcode, title, units, grams)| PackItem {
                sku_id: SkuId(sku),
                sku_code: code,
                barcode,
                title,
                units,
                weight_g: grams.filter(|g| *g > 0),
            })
            .collect();
        let mut check = PackCheck::new(items);
        let mut refused = 0;
        if let Some(progress) = self.store().pack_progress(tenant, package).await? {
            let scanned: BTreeMap<SkuId, i64> = serde_json::from_str(&progress.scanned_json)
                .map_err(|e| AppError::Internal(format!("pack progress: {e}")))?;
            check.scanned = scanned;
            refused = progress.refused;
        }
        let settings = self.shipping_settings(tenant).await?;
        let station = PackStation {
            package_id: package,
            package_state: state,
            items: check
                .items
                .iter()
                .map(|i| PackLine {
                    sku_code: i.sku_code.clone(),
                    barcode: i.barcode.clone(),
                    title: i.title.clone(),
                    expected: i.units,
                    scanned: check.scanned.get(&i.sku_id).copied().unwrap_or(0),
                })
                .collect(),
            remaining: check.remaining(),
            expected_weight_g: check.expected_weight(settings.packaging_grams),
            refused_scans: refused,
        };
        Ok((check, station))
    }

    /// One item scan. A wrong or extra item is refused (the count is unchanged) with a
    /// message for the packer; the refusal is counted for the error report.
    pub async fn pack_scan(
        &self,
        actor: &Actor,
        package: PackageId,
        code: &str,
    ) -> Result<ScanReply> {
        actor.require(Permission::PrintAndShip)?;
        let code = code_arg("code", code)?;
        self.require_package_in_scope(actor, package).await?;
        let tenant = actor.tenant_id;
        let (mut check, station) = self.pack_station(tenant, package).await?;
        if station.package_state != "printed" {
            return Err(AppError::Conflict(format!(
                "包裹状态为 {}，不能扫描商品",
                station.package_state
            )));
        }
        let outcome = check.scan(&code);
        let accepted = outcome.accepted();
        let scanned =
            serde_json::to_string(&check.scanned).map_err(|e| AppError::Internal(e.to_string()))?;
        self.store()
            .save_pack_progress(
                tenant,
                package,
                &scanned,
                !accepted,
                &actor.audit_ref(),
                self.now(),
            )
            .await?;
        let (_, station) = self.pack_station(tenant, package).await?;
        Ok(ScanReply {
            message_zh: outcome.message_zh(),
            accepted,
            outcome,
            station,
        })
    }

    /// Empties the scan counts (the box was unpacked).
    pub async fn pack_reset(&self, actor: &Actor, package: PackageId) -> Result<PackStation> {
        actor.require(Permission::PrintAndShip)?;
        self.require_package_in_scope(actor, package).await?;
        self.store()
            .reset_pack_progress(actor.tenant_id, package)
            .await?;
        Ok(self.pack_station(actor.tenant_id, package).await?.1)
    }

    /// Closes the parcel: refused while items are missing, when the weight is outside the
    /// tolerance, or when the trigger needs a weight and none was given. A closed parcel is
    /// packed; the write-back follows if the merchant ships after packing or weighing.
    pub async fn pack_close(
        &self,
        actor: &Actor,
        package: PackageId,
        weight_g: Option<i64>,
    ) -> Result<CloseReply> {
        actor.require(Permission::PrintAndShip)?;
        if let Some(w) = weight_g
            && !(1..=1_000_000).contains(&w)
        {
            return Err(ParseError::new("weight_g", "1 to 1000000 grams").into());
        }
        self.require_package_in_scope(actor, package).await?;
        let tenant = actor.tenant_id;
        let settings = self.shipping_settings(tenant).await?;
        let (check, station) = self.pack_station(tenant, package).await?;
        if station.package_state == "packed" {
            return Ok(CloseReply {
                packed: true,
                refusal: None,
                message_zh: "包裹已验货封箱".into(),
                shipments_queued: 0,
                station,
            });
        }
        let missing = check.missing();
        let refusal = if !missing.is_empty() {
            Some(CloseRefusal::MissingItems { missing })
        } else if settings.trigger == ShipTrigger::AfterWeigh && weight_g.is_none() {
            Some(CloseRefusal::WeightRequired)
        } else {
            match (weight_g, station.expected_weight_g) {
                (Some(actual), Some(expected)) => check_weight(
                    expected,
                    actual,
                    settings.weight_tolerance_percent,
                    settings.weight_tolerance_grams,
                )
                .err()
                .map(|weight| CloseRefusal::WeightOff { weight }),
                _ => None,
            }
        };
        if let Some(refusal) = refusal {
            return Ok(CloseReply {
                packed: false,
                message_zh: refusal.message_zh(),
                refusal: Some(refusal),
                shipments_queued: 0,
                station,
            });
        }
        self.store()
            .finish_pack(tenant, package, weight_g, &actor.audit_ref(), self.now())
            .await?;
        let mut queued = self
            .ship_packages_after(tenant, ShipTrigger::AfterPack, &[package])
            .await?;
        if weight_g.is_some() {
            queued += self
                .ship_packages_after(tenant, ShipTrigger::AfterWeigh, &[package])
                .await?;
        }
        let (_, station) = self.pack_station(tenant, package).await?;
        Ok(CloseReply {
            packed: true,
            refusal: None,
            message_zh: if queued > 0 {
                "验货通过，已封箱，已通知平台发货".into()
            } else {
                "验货通过，已封箱".into()
            },
            shipments_queued: queued,
            station,
        })
    }

    /// A weighing station after packing: records the weight (checked against the expected
    /// weight) and fires the write-back when the merchant ships after weighing.
    pub async fn weigh_package(
        &self,
        actor: &Actor,
        package: PackageId,
        weight_g: i64,
    ) -> Result<CloseReply> {
        actor.require(Permission::PrintAndShip)?;
        if !(1..=1_000_000).contains(&weight_g) {
            return Err(ParseError::new("weight_g", "1 to 1000000 grams").into());
        }
        self.require_package_in_scope(actor, package).await?;
        let tenant = actor.tenant_id;
        let settings = self.shipping_settings(tenant).await?;
        let (_, station) = self.pack_station(tenant, package).await?;
        if let Some(expected) = station.expected_weight_g
            && let Err(weight) = check_weight(
                expected,
                weight_g,
                settings.weight_tolerance_percent,
                settings.weight_tolerance_grams,
            )
        {
            let refusal = CloseRefusal::WeightOff { weight };
            return Ok(CloseReply {
                packed: station.package_state == "packed",
                message_zh: refusal.message_zh(),
                refusal: Some(refusal),
                shipments_queued: 0,
                station,
            });
        }
        self.store()
            .record_weight(tenant, package, weight_g, &actor.audit_ref(), self.now())
            .await?;
        let queued = self
            .ship_packages_after(tenant, ShipTrigger::AfterWeigh, &[package])
            .await?;
        let (_, station) = self.pack_station(tenant, package).await?;
        Ok(CloseReply {
            packed: station.package_state == "packed",
            refusal: None,
            message_zh: format!("已称重 {weight_g} g"),
            shipments_queued: queued,
            station,
        })
    }
}
