//! Allocation (分仓): which warehouse ships which items, in how many packages — by distance,
//! availability and cost — and when orders to the same receiver may share a box (合单).
//!
//! Pure: the application passes each warehouse's location, available stock and the estimated
//! shipping cost, and gets back a plan with the reasons, in Chinese, for the order's timeline.

use crate::catalog::GeoPoint;
use crate::{Fen, OrderId, OrderLineId, ParseError, SkuId, WarehouseId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The merchant's allocation preferences; every field has a working default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AllocationSettings {
    /// Warehouses within this distance of the receiver's county are preferred (default 30 km).
    pub radius_km: f64,
    /// Ship from several warehouses when none can fill the order alone (default true).
    pub allow_split: bool,
    /// Move stock between warehouses so that one can ship it all (default true).
    pub allow_transfer: bool,
    /// What moving one unit between warehouses costs (default 200 fen).
    pub transfer_cost_per_unit: Fen,
    /// Merge orders of different shops to the same receiver (default false).
    pub merge_across_shops: bool,
    /// Merge at all (default true).
    pub merge: bool,
}

impl Default for AllocationSettings {
    fn default() -> Self {
        todo!()
    }
}

impl AllocationSettings {
    /// A radius in (0, 5000], a cost that is not negative.
    pub fn validate(self) -> Result<AllocationSettings, ParseError> {
        todo!()
    }
}

/// One order line to allocate, mapped to its merchant SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocLine {
    pub order_id: OrderId,
    pub line_id: OrderLineId,
    pub sku_id: SkuId,
    /// Items bought.
    pub quantity: i64,
    /// SKU units per item (bundles).
    pub units_per_item: i64,
    /// Weight of one item (units_per_item × the SKU's weight), grams.
    pub item_weight_g: i64,
}

/// A warehouse the order could ship from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarehouseOption {
    pub id: WarehouseId,
    pub name: String,
    pub location: Option<GeoPoint>,
    /// Available units per SKU (on hand − reserved − safety); a SKU not listed has none.
    pub available: BTreeMap<SkuId, i64>,
    /// Estimated cost of shipping the whole order from here (the carrier rate), if known.
    pub shipping_cost: Option<Fen>,
    /// Most grams one package from here may weigh (the chosen carrier's limit), if any.
    pub max_package_g: Option<i64>,
}

/// One box the plan ships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlannedPackage {
    pub warehouse_id: WarehouseId,
    /// (line, items) — a line may be spread over several packages.
    pub lines: Vec<(OrderLineId, i64)>,
    pub weight_g: i64,
}

impl PlannedPackage {
    /// SKU units this package takes from its warehouse.
    pub fn units(&self, lines: &[AllocLine]) -> BTreeMap<SkuId, i64> {
        let _ = lines;
        todo!()
    }
}

/// Stock moved between warehouses so that the destination can ship it (调拨).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transfer {
    pub from: WarehouseId,
    pub to: WarehouseId,
    pub sku_id: SkuId,
    pub units: i64,
}

/// The decision for one order (or a merged group).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Allocation {
    /// Ship these packages (after these transfers, if any).
    Planned {
        packages: Vec<PlannedPackage>,
        transfers: Vec<Transfer>,
        /// Why, one sentence per step, in Chinese (e.g. "杭州仓 距收件人 12 km，库存充足，运费 ¥5.00").
        explanation: Vec<String>,
    },
    /// Not even all warehouses together have enough (or splitting/transfer is off).
    Short {
        /// Units missing per SKU, over all warehouses.
        missing: BTreeMap<SkuId, i64>,
        explanation: Vec<String>,
    },
}

/// Chooses where the lines ship from.
///
/// 1. A warehouse that can fill everything wins; among those, one within `radius_km` of the
///    receiver beats one outside; then the lower shipping cost; then the shorter distance; then
///    the lower id. A warehouse without a location, or a receiver without one, counts as
///    outside the radius with unknown distance (ranked after known distances).
/// 2. Otherwise, if allowed, split (nearest-first greedy over the ranked warehouses, filling
///    as much as each can) and transfer (to the best-ranked warehouse, from the others,
///    `transfer_cost_per_unit` each) are both costed — split: the sum of the shipping costs of
///    the warehouses used; transfer: units moved × unit cost + the destination's shipping cost —
///    and the cheaper wins (a tie goes to transfer, one box for the buyer).
/// 3. Then each warehouse's items are packed into boxes no heavier than its `max_package_g`
///    (first-fit decreasing by item weight; an item heavier than the limit goes alone, said so
///    in the explanation).
pub fn allocate(
    receiver: Option<GeoPoint>,
    lines: &[AllocLine],
    warehouses: &[WarehouseOption],
    settings: &AllocationSettings,
) -> Allocation {
    let _ = (receiver, lines, warehouses, settings);
    todo!()
}

/// What decides whether two orders may share a box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeCandidate {
    pub order_id: OrderId,
    pub shop_id: crate::ShopId,
    /// [`merge_basis`] of the receiver, as stored (the store keeps a keyed hash of it).
    pub receiver_key: String,
    pub warehouse_id: WarehouseId,
    pub presale_ship_at: Option<DateTime<Utc>>,
}

/// Why two orders may not merge, in Chinese; `None` when they may.
pub fn merge_refusal(
    a: &MergeCandidate,
    b: &MergeCandidate,
    settings: &AllocationSettings,
) -> Option<String> {
    let _ = (a, b, settings);
    todo!()
}

/// The receiver reduced to what makes "the same receiver at the same address": name, phone
/// and address with whitespace and punctuation removed, full-width folded to half-width and
/// letters lower-cased. Different spellings of one address produce the same basis; different
/// addresses never do.
pub fn merge_basis(receiver: &crate::order::Receiver) -> String {
    let _ = receiver;
    todo!()
}
