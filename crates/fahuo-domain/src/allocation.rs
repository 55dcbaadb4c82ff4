//! Allocation (分仓): which warehouse ships which items, in how many packages — by distance,
//! availability and cost — and when orders to the same receiver may share a box (合单).
//!
//! Pure: the application passes each warehouse's location, available stock and the estimated
//! shipping cost, and gets back a plan with the reasons, in Chinese, for the order's timeline.

use crate::catalog::GeoPoint;
use crate::deadline::shanghai_day;
use crate::{Fen, OrderId, OrderLineId, ParseError, SkuId, WarehouseId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::cmp::{Ordering, Reverse};
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
        AllocationSettings {
            radius_km: 30.0,
            allow_split: true,
            allow_transfer: true,
            transfer_cost_per_unit: Fen(200),
            merge_across_shops: false,
            merge: true,
        }
    }
}

impl AllocationSettings {
    /// A radius in (0, 5000], a cost that is not negative.
    pub fn validate(self) -> Result<AllocationSettings, ParseError> {
        // Written so that NaN, which compares false with everything, is refused too.
        if !(self.radius_km > 0.0 && self.radius_km <= 5000.0) {
            return Err(ParseError::new(
                "radius_km",
                format!("{} is not between 0 and 5000 km", self.radius_km),
            ));
        }
        if self.transfer_cost_per_unit.get() < 0 {
            return Err(ParseError::new(
                "transfer_cost_per_unit",
                "a cost cannot be negative",
            ));
        }
        Ok(self)
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
    /// SKU units this package takes from its warehouse. A line id not found in `lines` adds
    /// nothing (the caller passes the lines the plan was made for).
    pub fn units(&self, lines: &[AllocLine]) -> BTreeMap<SkuId, i64> {
        let mut units = BTreeMap::new();
        for &(line_id, items) in &self.lines {
            if let Some(line) = lines.iter().find(|l| l.line_id == line_id) {
                let entry = units.entry(line.sku_id).or_insert(0_i64);
                *entry = entry.saturating_add(items.saturating_mul(line.units_per_item));
            }
        }
        units
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
///
/// Readings of the rules above, chosen where they leave room:
/// - A warehouse whose shipping cost is unknown ranks after those whose cost is known (like an
///   unknown distance), and counts as ¥0 in the split/transfer comparison, which the explanation
///   says: with no carrier rates at all, the only known cost is the transfer itself.
/// - A split moves whole items: a bundle of 2 units cannot ship one unit from each of two
///   warehouses. When stock is there in total but no allowed plan can ship it (splitting and
///   transfer both off, or only splitting allowed and the bundles do not divide), the result
///   is `Short` and `missing` is what the best-ranked warehouse lacks — what a transfer to it
///   would have to bring; the explanation says stock exists elsewhere.
/// - A `max_package_g` of 0 or less is treated as no limit (it cannot be a real carrier's).
/// - Lines with no items (quantity 0 or less) need nothing and ship nothing.
pub fn allocate(
    receiver: Option<GeoPoint>,
    lines: &[AllocLine],
    warehouses: &[WarehouseOption],
    settings: &AllocationSettings,
) -> Allocation {
    let needed = units_needed(lines);
    if needed.is_empty() && lines.iter().all(|l| l.quantity <= 0) {
        return Allocation::Planned {
            packages: Vec::new(),
            transfers: Vec::new(),
            explanation: vec!["订单没有需要发货的商品".to_string()],
        };
    }
    let ranked = rank(receiver, warehouses, settings.radius_km);

    // 1. One warehouse that has everything.
    if let Some(best) = ranked.iter().find(|c| c.can_fill(&needed)) {
        let mut explanation = Vec::new();
        if let Some(first) = ranked
            .first()
            .filter(|f| f.warehouse.id != best.warehouse.id)
        {
            explanation.push(format!("首选仓 {} 库存不足", first.warehouse.name));
        }
        explanation.push(format!(
            "{}，库存充足，{}",
            best.describe(),
            best.cost_text()
        ));
        let packages = pack(best.warehouse, lines, &all_items(lines), &mut explanation);
        return Allocation::Planned {
            packages,
            transfers: Vec::new(),
            explanation,
        };
    }

    // Not even all warehouses together: nothing to plan.
    let total_missing: BTreeMap<SkuId, i64> = needed
        .iter()
        .filter_map(|(&sku, &n)| {
            let total = ranked
                .iter()
                .fold(0_i64, |sum, c| sum.saturating_add(c.available(sku)));
            (n > total).then_some((sku, n - total))
        })
        .collect();
    if !total_missing.is_empty() {
        let explanation = total_missing
            .iter()
            .map(|(sku, missing)| {
                format!(
                    "所有仓库合计缺货：SKU {sku} 共需 {} 件，还差 {missing} 件",
                    needed.get(sku).copied().unwrap_or(0)
                )
            })
            .collect();
        return Allocation::Short {
            missing: total_missing,
            explanation,
        };
    }

    // 2. Stock is there in total, spread over warehouses. `ranked` is not empty here: the
    // order needs something, and the warehouses together have it.
    let Some((first, others)) = ranked.split_first() else {
        return Allocation::Short {
            missing: needed,
            explanation: vec!["没有可发货的仓库".to_string()],
        };
    };
    let mut explanation = vec!["没有一个仓库能单独发齐".to_string()];
    let split = settings
        .allow_split
        .then(|| split_plan(&ranked, lines))
        .flatten();
    let transfer = settings
        .allow_transfer
        .then(|| transfer_plan(*first, others, &needed, settings.transfer_cost_per_unit));
    let chosen = match (split, transfer) {
        (Some(split), Some(transfer)) => {
            let split_cost: Fen = split.iter().map(|(c, _)| c.cost()).sum();
            let cheaper_transfer = transfer.cost <= split_cost;
            let why = if cheaper_transfer {
                "调拨更省或持平，买家只收一个包裹"
            } else {
                "拆单更省"
            };
            explanation.push(format!(
                "拆单运费合计 ¥{split_cost}，调拨 {} 件 × ¥{} + {} 运费 ¥{} = ¥{}：{why}",
                transfer.units,
                settings.transfer_cost_per_unit,
                transfer.to.warehouse.name,
                transfer.to.cost(),
                transfer.cost
            ));
            if cheaper_transfer {
                Plan::Transfer(transfer)
            } else {
                Plan::Split(split)
            }
        }
        (Some(split), None) => {
            explanation.push("已关闭调拨，拆单发货".to_string());
            Plan::Split(split)
        }
        (None, Some(transfer)) => {
            explanation.push(if settings.allow_split {
                "组合装不能拆开由多个仓库发出，调拨发货".to_string()
            } else {
                "已关闭拆单，调拨发货".to_string()
            });
            Plan::Transfer(transfer)
        }
        (None, None) => {
            let missing = first.shortfall(&needed);
            explanation.push(if settings.allow_split {
                "已关闭调拨，而组合装不能拆开由多个仓库发出".to_string()
            } else {
                "已关闭拆单和调拨，库存虽分散在多个仓库，但无法发货".to_string()
            });
            explanation.extend(missing.iter().map(|(sku, n)| {
                format!(
                    "首选仓 {} 缺 SKU {sku} {n} 件，其他仓库有货，可调拨后重新分仓",
                    first.warehouse.name
                )
            }));
            return Allocation::Short {
                missing,
                explanation,
            };
        }
    };
    match chosen {
        Plan::Transfer(transfer) => ship_after_transfer(transfer, &ranked, lines, explanation),
        Plan::Split(split) => ship_split(split, lines, explanation),
    }
}

fn ship_after_transfer(
    transfer: TransferPlan<'_>,
    ranked: &[Candidate<'_>],
    lines: &[AllocLine],
    mut explanation: Vec<String>,
) -> Allocation {
    for t in &transfer.transfers {
        let from = ranked
            .iter()
            .find(|c| c.warehouse.id == t.from)
            .map_or("", |c| c.warehouse.name.as_str());
        explanation.push(format!(
            "从 {from} 调拨 SKU {} {} 件到 {}",
            t.sku_id, t.units, transfer.to.warehouse.name
        ));
    }
    explanation.push(format!(
        "{}，调拨后一次发齐，{}",
        transfer.to.describe(),
        transfer.to.cost_text()
    ));
    let packages = pack(
        transfer.to.warehouse,
        lines,
        &all_items(lines),
        &mut explanation,
    );
    Allocation::Planned {
        packages,
        transfers: transfer.transfers,
        explanation,
    }
}

fn ship_split(
    split: Vec<Share<'_>>,
    lines: &[AllocLine],
    mut explanation: Vec<String>,
) -> Allocation {
    let mut packages = Vec::new();
    for (candidate, assigned) in split {
        let items: i64 = assigned.iter().map(|(_, n)| n).sum();
        explanation.push(format!(
            "{}，发 {items} 件，{}",
            candidate.describe(),
            candidate.cost_text()
        ));
        packages.extend(pack(
            candidate.warehouse,
            lines,
            &assigned,
            &mut explanation,
        ));
    }
    Allocation::Planned {
        packages,
        transfers: Vec::new(),
        explanation,
    }
}

/// What one warehouse ships: (line index, items) pairs.
type Share<'a> = (Candidate<'a>, Vec<(usize, i64)>);

/// The plan rule 2 settled on.
enum Plan<'a> {
    Split(Vec<Share<'a>>),
    Transfer(TransferPlan<'a>),
}

/// SKU units the lines need, per SKU.
fn units_needed(lines: &[AllocLine]) -> BTreeMap<SkuId, i64> {
    let mut needed = BTreeMap::new();
    for line in lines.iter().filter(|l| l.quantity > 0) {
        let units = line.quantity.saturating_mul(line.units_per_item.max(0));
        let entry = needed.entry(line.sku_id).or_insert(0_i64);
        *entry = entry.saturating_add(units);
    }
    needed.retain(|_, units| *units > 0);
    needed
}

/// Every line with all its items, by index into the lines.
fn all_items(lines: &[AllocLine]) -> Vec<(usize, i64)> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.quantity > 0)
        .map(|(i, l)| (i, l.quantity))
        .collect()
}

/// A warehouse as the ranking sees it.
#[derive(Debug, Clone, Copy)]
struct Candidate<'a> {
    warehouse: &'a WarehouseOption,
    /// Kilometres to the receiver, when both locations are known.
    distance: Option<f64>,
    within_radius: bool,
}

impl Candidate<'_> {
    /// Units that can be promised; a negative count (over-reserved) promises none.
    fn available(&self, sku: SkuId) -> i64 {
        self.warehouse
            .available
            .get(&sku)
            .copied()
            .unwrap_or(0)
            .max(0)
    }

    fn can_fill(&self, needed: &BTreeMap<SkuId, i64>) -> bool {
        needed.iter().all(|(&sku, &n)| self.available(sku) >= n)
    }

    /// What this warehouse lacks to ship everything alone.
    fn shortfall(&self, needed: &BTreeMap<SkuId, i64>) -> BTreeMap<SkuId, i64> {
        needed
            .iter()
            .filter_map(|(&sku, &n)| {
                let lack = n - self.available(sku);
                (lack > 0).then_some((sku, lack))
            })
            .collect()
    }

    /// The shipping cost for comparing plans: unknown counts as nothing.
    fn cost(&self) -> Fen {
        self.warehouse.shipping_cost.unwrap_or(Fen::ZERO)
    }

    /// "杭州仓 距收件人 12 km" (rounded to the kilometre) or "杭州仓 距离未知".
    fn describe(&self) -> String {
        match self.distance {
            Some(km) => format!("{} 距收件人 {} km", self.warehouse.name, km.round()),
            None => format!("{} 距离未知", self.warehouse.name),
        }
    }

    /// "运费 ¥5.00", or "运费未知（按 ¥0.00 比较）".
    fn cost_text(&self) -> String {
        match self.warehouse.shipping_cost {
            Some(cost) => format!("运费 ¥{cost}"),
            None => "运费未知（按 ¥0.00 比较）".to_string(),
        }
    }

    /// The ranking of rule 1: within the radius first, then cheaper (known before unknown),
    /// then nearer (known before unknown), then the lower id.
    fn rank_cmp(&self, other: &Candidate<'_>) -> Ordering {
        let cost_key = |c: &Candidate<'_>| {
            let cost = c.warehouse.shipping_cost;
            (cost.is_none(), cost)
        };
        let by_distance = match (self.distance, other.distance) {
            (Some(a), Some(b)) => a.total_cmp(&b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        other
            .within_radius
            .cmp(&self.within_radius)
            .then_with(|| cost_key(self).cmp(&cost_key(other)))
            .then(by_distance)
            .then_with(|| self.warehouse.id.cmp(&other.warehouse.id))
    }
}

/// The warehouses, best first.
fn rank(
    receiver: Option<GeoPoint>,
    warehouses: &[WarehouseOption],
    radius_km: f64,
) -> Vec<Candidate<'_>> {
    let mut ranked: Vec<Candidate<'_>> = warehouses
        .iter()
        .map(|warehouse| {
            let distance = match (receiver, warehouse.location) {
                // Coordinates out of range give NaN: as good as unknown.
                (Some(r), Some(w)) => Some(w.distance_km(r)).filter(|d| d.is_finite()),
                _ => None,
            };
            Candidate {
                warehouse,
                distance,
                within_radius: distance.is_some_and(|d| d <= radius_km),
            }
        })
        .collect();
    ranked.sort_by(|a, b| a.rank_cmp(b));
    ranked
}

/// Rule 2's split: over the ranked warehouses, each takes as many whole items of each line as
/// its stock allows. `None` when items remain (bundles that no single warehouse can make up).
fn split_plan<'a>(ranked: &[Candidate<'a>], lines: &[AllocLine]) -> Option<Vec<Share<'a>>> {
    let mut remaining: Vec<i64> = lines.iter().map(|l| l.quantity.max(0)).collect();
    let mut plan = Vec::new();
    for candidate in ranked {
        let mut left: BTreeMap<SkuId, i64> = BTreeMap::new();
        let mut taken = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if remaining[i] == 0 {
                continue;
            }
            let stock = left
                .entry(line.sku_id)
                .or_insert_with(|| candidate.available(line.sku_id));
            let fits = if line.units_per_item <= 0 {
                remaining[i]
            } else {
                *stock / line.units_per_item
            };
            let items = remaining[i].min(fits);
            if items > 0 {
                *stock -= items.saturating_mul(line.units_per_item.max(0));
                remaining[i] -= items;
                taken.push((i, items));
            }
        }
        if !taken.is_empty() {
            plan.push((*candidate, taken));
        }
    }
    remaining.iter().all(|r| *r == 0).then_some(plan)
}

/// Rule 2's transfer: everything the best-ranked warehouse lacks comes from the others, in
/// rank order.
struct TransferPlan<'a> {
    to: Candidate<'a>,
    transfers: Vec<Transfer>,
    units: i64,
    /// Units moved × unit cost + the destination's shipping cost.
    cost: Fen,
}

fn transfer_plan<'a>(
    to: Candidate<'a>,
    others: &[Candidate<'a>],
    needed: &BTreeMap<SkuId, i64>,
    unit_cost: Fen,
) -> TransferPlan<'a> {
    let mut transfers = Vec::new();
    for (sku, lack) in to.shortfall(needed) {
        let mut lack = lack;
        for from in others {
            if lack == 0 {
                break;
            }
            let units = from.available(sku).min(lack);
            if units > 0 {
                transfers.push(Transfer {
                    from: from.warehouse.id,
                    to: to.warehouse.id,
                    sku_id: sku,
                    units,
                });
                lack -= units;
            }
        }
    }
    let units = transfers.iter().map(|t| t.units).sum::<i64>();
    let cost = Fen(units
        .saturating_mul(unit_cost.get())
        .saturating_add(to.cost().get()));
    TransferPlan {
        to,
        transfers,
        units,
        cost,
    }
}

/// Rule 3: one warehouse's items into boxes no heavier than its limit, first-fit decreasing.
///
/// Items of one line weigh the same, so they are placed in runs: a run fills the first box
/// with room as far as it goes, then the next — exactly what placing them one by one would
/// do, without looping over every item of a 10 000-item line.
fn pack(
    warehouse: &WarehouseOption,
    lines: &[AllocLine],
    assigned: &[(usize, i64)],
    explanation: &mut Vec<String>,
) -> Vec<PlannedPackage> {
    let weight = |i: usize| lines[i].item_weight_g.max(0);
    let Some(limit) = warehouse.max_package_g.filter(|g| *g > 0) else {
        return vec![PlannedPackage {
            warehouse_id: warehouse.id,
            lines: assigned
                .iter()
                .map(|&(i, items)| (lines[i].line_id, items))
                .collect(),
            weight_g: assigned.iter().fold(0_i64, |sum, &(i, items)| {
                sum.saturating_add(weight(i).saturating_mul(items))
            }),
        }];
    };
    let mut order = assigned.to_vec();
    // Stable: lines of equal weight keep their order.
    order.sort_by_key(|&(i, _)| Reverse(weight(i)));
    // (package, accepts more items): an over-limit item's box takes nothing else.
    let mut boxes: Vec<(PlannedPackage, bool)> = Vec::new();
    let new_box = |line_id: OrderLineId, items: i64, w: i64| PlannedPackage {
        warehouse_id: warehouse.id,
        lines: vec![(line_id, items)],
        weight_g: w.saturating_mul(items),
    };
    for (i, items) in order {
        let (line_id, w) = (lines[i].line_id, weight(i));
        if w > limit {
            explanation.push(format!(
                "SKU {} 单件 {w} g，超过 {} 单包上限 {limit} g，每件单独成包",
                lines[i].sku_id, warehouse.name
            ));
            boxes.extend((0..items).map(|_| (new_box(line_id, 1, w), false)));
            continue;
        }
        let mut left = items;
        for (package, _) in boxes.iter_mut().filter(|(_, open)| *open) {
            if left == 0 {
                break;
            }
            let fits = if w == 0 {
                left
            } else {
                (limit - package.weight_g) / w
            };
            let put = left.min(fits);
            if put > 0 {
                add_items(package, line_id, put, w);
                left -= put;
            }
        }
        while left > 0 {
            // 1 ≤ limit / w here, since 0 < w ≤ limit.
            let put = if w == 0 { left } else { left.min(limit / w) };
            boxes.push((new_box(line_id, put, w), true));
            left -= put;
        }
    }
    if boxes.len() > 1 {
        explanation.push(format!(
            "{} 单包不超过 {limit} g，分 {} 个包裹发出",
            warehouse.name,
            boxes.len()
        ));
    }
    boxes.into_iter().map(|(package, _)| package).collect()
}

fn add_items(package: &mut PlannedPackage, line_id: OrderLineId, items: i64, w: i64) {
    match package.lines.iter_mut().find(|(id, _)| *id == line_id) {
        Some((_, n)) => *n += items,
        None => package.lines.push((line_id, items)),
    }
    package.weight_g = package.weight_g.saturating_add(w.saturating_mul(items));
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
    if !settings.merge {
        return Some("已关闭合单".to_string());
    }
    if a.receiver_key != b.receiver_key {
        return Some("收件人或收货地址不同，不能合单".to_string());
    }
    if a.warehouse_id != b.warehouse_id {
        return Some(format!(
            "发货仓库不同（仓库 {} 与仓库 {}），不能合单",
            a.warehouse_id, b.warehouse_id
        ));
    }
    if a.shop_id != b.shop_id && !settings.merge_across_shops {
        return Some("来自不同店铺，未开启跨店合单；可在分仓设置中开启".to_string());
    }
    // Presale goods ship on their day: two orders merge only if they leave on the same
    // calendar day in China, and a presale order never waits in one box with a stocked one.
    let day = |c: &MergeCandidate| c.presale_ship_at.map(shanghai_day);
    if day(a) != day(b) {
        let show = |c: &MergeCandidate| match day(c) {
            Some(d) => format!("预售 {d}"),
            None => "现货".to_string(),
        };
        return Some(format!(
            "发货日期不同（{} 与 {}），不能合单",
            show(a),
            show(b)
        ));
    }
    None
}

/// The receiver reduced to what makes "the same receiver at the same address": name, phone
/// and address with whitespace and punctuation removed, full-width folded to half-width and
/// letters lower-cased. Different spellings of one address produce the same basis; different
/// addresses never do.
///
/// The address levels are joined before normalising: "西湖区" typed into the detail instead of
/// the county field is still the same address. Name, phone and address are kept apart by `|`
/// (which normalising removes from the parts), so text cannot slide from one into the next.
pub fn merge_basis(receiver: &crate::order::Receiver) -> String {
    let address = [
        receiver.province.as_str(),
        receiver.city.as_str(),
        receiver.county.as_str(),
        receiver.detail.as_str(),
    ]
    .concat();
    [
        normalise(&receiver.name),
        normalise(receiver.phone.as_str()),
        normalise(&address),
    ]
    .join("|")
}

/// Letters and digits only, full-width folded to half-width (`９０号` → `90号`, `Ａ座` →
/// `a座`), lower case. CJK characters are letters and stay.
fn normalise(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            // The full-width forms block mirrors ASCII 0x21..=0x7E at a fixed distance.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}
