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

    // 2. Stock is there in total, spread over warehouses. `ranked` is empty here only for
    // lines that need no stock (0 units per item) and no warehouse at all to ship them from.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ShopId;
    use crate::order::Receiver;
    use chrono::TimeZone;
    use proptest::prelude::*;

    const RECEIVER: GeoPoint = GeoPoint {
        lat: 30.0,
        lng: 120.0,
    };

    /// A point `km` due north of the receiver (a degree of latitude is 6371·π/180 km).
    fn at_km(km: f64) -> GeoPoint {
        GeoPoint {
            lat: RECEIVER.lat + km / (6371.0 * std::f64::consts::PI / 180.0),
            lng: RECEIVER.lng,
        }
    }

    const NAMES: [&str; 5] = ["", "杭州仓", "上海仓", "宁波仓", "苏州仓"];

    /// Warehouse `id` (named from [`NAMES`]) `km` from the receiver, shipping for `cost` fen,
    /// with (sku, units) in stock.
    fn wh(id: i64, km: Option<f64>, cost: Option<i64>, stock: &[(i64, i64)]) -> WarehouseOption {
        WarehouseOption {
            id: WarehouseId(id),
            name: NAMES[id as usize].to_string(),
            location: km.map(at_km),
            available: stock.iter().map(|&(s, n)| (SkuId(s), n)).collect(),
            shipping_cost: cost.map(Fen),
            max_package_g: None,
        }
    }

    fn line(id: i64, sku: i64, quantity: i64) -> AllocLine {
        AllocLine {
            order_id: OrderId(1),
            line_id: OrderLineId(id),
            sku_id: SkuId(sku),
            quantity,
            units_per_item: 1,
            item_weight_g: 500,
        }
    }

    fn bundle(id: i64, sku: i64, quantity: i64, units_per_item: i64) -> AllocLine {
        AllocLine {
            units_per_item,
            ..line(id, sku, quantity)
        }
    }

    /// (warehouse, lines) per package, for comparing plans.
    fn shipped(packages: &[PlannedPackage]) -> Vec<(i64, Vec<(i64, i64)>)> {
        packages
            .iter()
            .map(|p| {
                let lines = p.lines.iter().map(|(l, n)| (l.get(), *n)).collect();
                (p.warehouse_id.get(), lines)
            })
            .collect()
    }

    #[test]
    fn the_best_warehouse_that_can_fill_the_order_ships_it() {
        // (name, receiver, warehouses, the one that ships); the order is 2 × SKU 1.
        let cases: Vec<(&str, Option<GeoPoint>, Vec<WarehouseOption>, i64)> = vec![
            (
                "only one can fill: far beats empty",
                Some(RECEIVER),
                vec![
                    wh(1, Some(5.0), Some(500), &[(1, 1)]),
                    wh(2, Some(800.0), Some(900), &[(1, 2)]),
                ],
                2,
            ),
            (
                "within the radius beats outside, even dearer",
                Some(RECEIVER),
                vec![
                    wh(1, Some(50.0), Some(500), &[(1, 5)]),
                    wh(2, Some(10.0), Some(800), &[(1, 5)]),
                ],
                2,
            ),
            (
                "both within: the cheaper, though farther",
                Some(RECEIVER),
                vec![
                    wh(1, Some(5.0), Some(800), &[(1, 5)]),
                    wh(2, Some(25.0), Some(500), &[(1, 5)]),
                ],
                2,
            ),
            (
                "both outside: the cheaper, though farther",
                Some(RECEIVER),
                vec![
                    wh(1, Some(100.0), Some(800), &[(1, 5)]),
                    wh(2, Some(400.0), Some(500), &[(1, 5)]),
                ],
                2,
            ),
            (
                "same cost: the nearer",
                Some(RECEIVER),
                vec![
                    wh(1, Some(20.0), Some(500), &[(1, 5)]),
                    wh(2, Some(10.0), Some(500), &[(1, 5)]),
                ],
                2,
            ),
            (
                "same cost and distance: the lower id",
                Some(RECEIVER),
                vec![
                    wh(2, Some(10.0), Some(500), &[(1, 5)]),
                    wh(1, Some(10.0), Some(500), &[(1, 5)]),
                ],
                1,
            ),
            (
                "a warehouse without a location ranks after a known distance",
                Some(RECEIVER),
                vec![
                    wh(1, None, Some(500), &[(1, 5)]),
                    wh(2, Some(900.0), Some(500), &[(1, 5)]),
                ],
                2,
            ),
            (
                "a warehouse without a location is outside the radius",
                Some(RECEIVER),
                vec![
                    wh(1, None, Some(100), &[(1, 5)]),
                    wh(2, Some(20.0), Some(900), &[(1, 5)]),
                ],
                2,
            ),
            (
                "a receiver without a location: cost, then id",
                None,
                vec![
                    wh(1, Some(1.0), Some(600), &[(1, 5)]),
                    wh(3, Some(900.0), Some(500), &[(1, 5)]),
                    wh(2, Some(800.0), Some(500), &[(1, 5)]),
                ],
                2,
            ),
            (
                "a known cost beats an unknown one",
                Some(RECEIVER),
                vec![
                    wh(1, Some(5.0), None, &[(1, 5)]),
                    wh(2, Some(20.0), Some(900), &[(1, 5)]),
                ],
                2,
            ),
            (
                "over-reserved stock counts as none",
                Some(RECEIVER),
                vec![
                    wh(1, Some(5.0), Some(500), &[(1, -5)]),
                    wh(2, Some(900.0), Some(900), &[(1, 2)]),
                ],
                2,
            ),
        ];
        let lines = [line(1, 1, 2)];
        for (name, receiver, warehouses, ships_from) in cases {
            let got = allocate(
                receiver,
                &lines,
                &warehouses,
                &AllocationSettings::default(),
            );
            let Allocation::Planned {
                packages,
                transfers,
                explanation,
            } = got
            else {
                panic!("{name}: {got:?}");
            };
            assert_eq!(
                shipped(&packages),
                vec![(ships_from, vec![(1, 2)])],
                "{name}"
            );
            assert!(transfers.is_empty(), "{name}");
            let ship_name = NAMES[ships_from as usize];
            assert!(
                explanation.iter().any(|e| e.starts_with(ship_name)),
                "{name}: {explanation:?}"
            );
        }
    }

    #[test]
    fn explanations_name_the_warehouse_distance_and_cost() {
        type Tweak = fn(&mut WarehouseOption);
        // (name, change to 杭州仓 12.4 km away at ¥5.00, its sentence)
        let cases: &[(&str, Tweak, &str)] = &[
            (
                "known",
                |_| {},
                "杭州仓 距收件人 12 km，库存充足，运费 ¥5.00",
            ),
            (
                "distance rounded",
                |w| w.location = Some(at_km(12.6)),
                "杭州仓 距收件人 13 km，库存充足，运费 ¥5.00",
            ),
            (
                "unknown",
                |w| {
                    w.location = None;
                    w.shipping_cost = None;
                },
                "杭州仓 距离未知，库存充足，运费未知（按 ¥0.00 比较）",
            ),
        ];
        for &(name, tweak, sentence) in cases {
            let mut w = wh(1, Some(12.4), Some(500), &[(1, 5)]);
            tweak(&mut w);
            let got = allocate(Some(RECEIVER), &[line(1, 1, 1)], &[w], &Default::default());
            let Allocation::Planned { explanation, .. } = got else {
                panic!("{name}: {got:?}");
            };
            assert_eq!(explanation, vec![sentence.to_string()], "{name}");
        }
        // A better-ranked warehouse passed over is named.
        let warehouses = [
            wh(1, Some(3.0), Some(500), &[]),
            wh(2, Some(60.0), Some(700), &[(1, 5)]),
        ];
        let got = allocate(
            Some(RECEIVER),
            &[line(1, 1, 1)],
            &warehouses,
            &Default::default(),
        );
        let Allocation::Planned { explanation, .. } = got else {
            panic!("{got:?}");
        };
        assert_eq!(
            explanation,
            vec![
                "首选仓 杭州仓 库存不足".to_string(),
                "上海仓 距收件人 60 km，库存充足，运费 ¥7.00".to_string(),
            ]
        );
    }

    /// What a plan should come to.
    #[derive(Debug)]
    enum Expect {
        /// (warehouse, [(line, items)]) per package.
        Split(Vec<(i64, Vec<(i64, i64)>)>),
        /// Everything from `to`, after (from, sku, units) transfers.
        Transfer {
            to: i64,
            moves: Vec<(i64, i64, i64)>,
        },
        /// (sku, missing units).
        Short(Vec<(i64, i64)>),
    }

    struct PlanCase {
        name: &'static str,
        lines: Vec<AllocLine>,
        warehouses: Vec<WarehouseOption>,
        settings: AllocationSettings,
        expect: Expect,
        /// A sentence of the explanation contains this.
        says: &'static str,
    }

    /// 杭州仓 5 km away at ¥5.00 with 3 of SKU 1; 上海仓 50 km away at ¥6.00 with 2.
    fn two_warehouses() -> Vec<WarehouseOption> {
        vec![
            wh(1, Some(5.0), Some(500), &[(1, 3)]),
            wh(2, Some(50.0), Some(600), &[(1, 2)]),
        ]
    }

    fn settings(f: impl FnOnce(&mut AllocationSettings)) -> AllocationSettings {
        let mut s = AllocationSettings::default();
        f(&mut s);
        s
    }

    #[test]
    fn split_and_transfer_are_costed_and_the_cheaper_wins() {
        use Expect::*;
        let cases = vec![
            PlanCase {
                name: "transfer is cheaper: 1 × ¥2 + ¥5 against ¥5 + ¥6",
                lines: vec![line(1, 1, 4)],
                warehouses: two_warehouses(),
                settings: settings(|_| {}),
                expect: Transfer {
                    to: 1,
                    moves: vec![(2, 1, 1)],
                },
                says: "拆单运费合计 ¥11.00，调拨 1 件 × ¥2.00 + 杭州仓 运费 ¥5.00 = ¥7.00",
            },
            PlanCase {
                name: "a tie goes to transfer: one box for the buyer",
                lines: vec![line(1, 1, 4)],
                warehouses: two_warehouses(),
                settings: settings(|s| s.transfer_cost_per_unit = Fen(600)),
                expect: Transfer {
                    to: 1,
                    moves: vec![(2, 1, 1)],
                },
                says: "调拨更省或持平，买家只收一个包裹",
            },
            PlanCase {
                name: "split is cheaper by a fen",
                lines: vec![line(1, 1, 4)],
                warehouses: two_warehouses(),
                settings: settings(|s| s.transfer_cost_per_unit = Fen(601)),
                expect: Split(vec![(1, vec![(1, 3)]), (2, vec![(1, 1)])]),
                says: "拆单更省",
            },
            PlanCase {
                name: "transfer off: split",
                lines: vec![line(1, 1, 4)],
                warehouses: two_warehouses(),
                settings: settings(|s| s.allow_transfer = false),
                expect: Split(vec![(1, vec![(1, 3)]), (2, vec![(1, 1)])]),
                says: "已关闭调拨，拆单发货",
            },
            PlanCase {
                name: "split off: transfer, however dear",
                lines: vec![line(1, 1, 4)],
                warehouses: two_warehouses(),
                settings: settings(|s| {
                    s.allow_split = false;
                    s.transfer_cost_per_unit = Fen(100_000);
                }),
                expect: Transfer {
                    to: 1,
                    moves: vec![(2, 1, 1)],
                },
                says: "已关闭拆单，调拨发货",
            },
            PlanCase {
                name: "split and transfer off: short by what the first warehouse lacks",
                lines: vec![line(1, 1, 4)],
                warehouses: two_warehouses(),
                settings: settings(|s| {
                    s.allow_split = false;
                    s.allow_transfer = false;
                }),
                expect: Short(vec![(1, 1)]),
                says: "首选仓 杭州仓 缺 SKU 1 1 件",
            },
            PlanCase {
                name: "short over all warehouses, whatever is allowed",
                lines: vec![line(1, 1, 9)],
                warehouses: two_warehouses(),
                settings: settings(|_| {}),
                expect: Short(vec![(1, 4)]),
                says: "所有仓库合计缺货：SKU 1 共需 9 件，还差 4 件",
            },
            PlanCase {
                name: "short counts every SKU, the missing one in full",
                lines: vec![line(1, 1, 6), line(2, 2, 2)],
                warehouses: two_warehouses(),
                settings: settings(|_| {}),
                expect: Short(vec![(1, 1), (2, 2)]),
                says: "SKU 2 共需 2 件，还差 2 件",
            },
            PlanCase {
                name: "no warehouse at all",
                lines: vec![line(1, 1, 1)],
                warehouses: vec![],
                settings: settings(|_| {}),
                expect: Short(vec![(1, 1)]),
                says: "还差 1 件",
            },
            PlanCase {
                name: "a bundle is not halved between warehouses: transfer",
                lines: vec![bundle(1, 1, 1, 2)],
                warehouses: vec![
                    wh(1, Some(5.0), Some(500), &[(1, 1)]),
                    wh(2, Some(50.0), Some(600), &[(1, 1)]),
                ],
                settings: settings(|_| {}),
                expect: Transfer {
                    to: 1,
                    moves: vec![(2, 1, 1)],
                },
                says: "组合装不能拆开由多个仓库发出，调拨发货",
            },
            PlanCase {
                name: "a bundle, transfer off: short although the stock exists",
                lines: vec![bundle(1, 1, 1, 2)],
                warehouses: vec![
                    wh(1, Some(5.0), Some(500), &[(1, 1)]),
                    wh(2, Some(50.0), Some(600), &[(1, 1)]),
                ],
                settings: settings(|s| s.allow_transfer = false),
                expect: Short(vec![(1, 1)]),
                says: "已关闭调拨，而组合装不能拆开由多个仓库发出",
            },
            PlanCase {
                name: "split by SKU, each warehouse shipping whole lines",
                lines: vec![line(1, 1, 2), line(2, 2, 2)],
                warehouses: vec![
                    wh(1, Some(5.0), Some(500), &[(1, 2)]),
                    wh(2, Some(50.0), Some(600), &[(2, 2)]),
                ],
                settings: settings(|s| s.transfer_cost_per_unit = Fen(1000)),
                expect: Split(vec![(1, vec![(1, 2)]), (2, vec![(2, 2)])]),
                says: "上海仓 距收件人 50 km，发 2 件，运费 ¥6.00",
            },
            PlanCase {
                name: "transfer goes to the best-ranked warehouse even if it has nothing",
                lines: vec![line(1, 1, 4)],
                warehouses: vec![
                    wh(1, Some(5.0), Some(500), &[]),
                    wh(2, Some(50.0), Some(600), &[(1, 3)]),
                    wh(3, Some(200.0), Some(700), &[(1, 2)]),
                ],
                // 4 × ¥2 + ¥5 = ¥13 = ¥6 + ¥7: a tie.
                settings: settings(|_| {}),
                expect: Transfer {
                    to: 1,
                    moves: vec![(2, 1, 3), (3, 1, 1)],
                },
                says: "从 上海仓 调拨 SKU 1 3 件到 杭州仓",
            },
            PlanCase {
                name: "unknown shipping costs count as nothing: free split beats paid transfer",
                lines: vec![line(1, 1, 4)],
                warehouses: vec![
                    wh(1, Some(5.0), None, &[(1, 3)]),
                    wh(2, Some(50.0), None, &[(1, 2)]),
                ],
                settings: settings(|_| {}),
                expect: Split(vec![(1, vec![(1, 3)]), (2, vec![(1, 1)])]),
                says: "运费未知（按 ¥0.00 比较）",
            },
        ];
        for case in cases {
            let got = allocate(
                Some(RECEIVER),
                &case.lines,
                &case.warehouses,
                &case.settings,
            );
            let explanation = match (&case.expect, &got) {
                (
                    Expect::Split(expected),
                    Allocation::Planned {
                        packages,
                        transfers,
                        explanation,
                    },
                ) => {
                    assert_eq!(&shipped(packages), expected, "{}", case.name);
                    assert!(transfers.is_empty(), "{}", case.name);
                    explanation
                }
                (
                    Expect::Transfer { to, moves },
                    Allocation::Planned {
                        packages,
                        transfers,
                        explanation,
                    },
                ) => {
                    let all: Vec<(i64, i64)> = case
                        .lines
                        .iter()
                        .map(|l| (l.line_id.get(), l.quantity))
                        .collect();
                    assert_eq!(shipped(packages), vec![(*to, all)], "{}", case.name);
                    let got_moves: Vec<(i64, i64, i64)> = transfers
                        .iter()
                        .map(|t| {
                            assert_eq!(t.to.get(), *to, "{}", case.name);
                            (t.from.get(), t.sku_id.get(), t.units)
                        })
                        .collect();
                    assert_eq!(&got_moves, moves, "{}", case.name);
                    explanation
                }
                (
                    Expect::Short(expected),
                    Allocation::Short {
                        missing,
                        explanation,
                    },
                ) => {
                    let missing: Vec<(i64, i64)> =
                        missing.iter().map(|(s, n)| (s.get(), *n)).collect();
                    assert_eq!(&missing, expected, "{}", case.name);
                    explanation
                }
                (expected, got) => panic!("{}: expected {expected:?}, got {got:?}", case.name),
            };
            assert!(
                explanation.iter().any(|e| e.contains(case.says)),
                "{}: no sentence says {:?} in {explanation:#?}",
                case.name,
                case.says
            );
        }
    }

    #[test]
    fn items_are_packed_heaviest_first_into_the_first_box_with_room() {
        struct PackCase {
            name: &'static str,
            limit: Option<i64>,
            /// (line, items, grams per item)
            lines: &'static [(i64, i64, i64)],
            /// [(line, items)] per box.
            boxes: &'static [&'static [(i64, i64)]],
            weights: &'static [i64],
            says: Option<&'static str>,
        }
        let cases = [
            PackCase {
                name: "no limit: one box",
                limit: None,
                lines: &[(1, 3, 400), (2, 1, 700)],
                boxes: &[&[(1, 3), (2, 1)]],
                weights: &[1900],
                says: None,
            },
            PackCase {
                name: "a line spread over two boxes keeps its items",
                limit: Some(1000),
                lines: &[(1, 3, 400)],
                boxes: &[&[(1, 2)], &[(1, 1)]],
                weights: &[800, 400],
                says: Some("杭州仓 单包不超过 1000 g，分 2 个包裹发出"),
            },
            PackCase {
                name: "heaviest first, the lighter fill the gap",
                limit: Some(1000),
                lines: &[(1, 3, 300), (2, 1, 700)],
                boxes: &[&[(2, 1), (1, 1)], &[(1, 2)]],
                weights: &[1000, 600],
                says: None,
            },
            PackCase {
                name: "first fit goes back to an earlier box with room",
                limit: Some(1000),
                lines: &[(1, 1, 600), (2, 1, 600), (3, 2, 300)],
                boxes: &[&[(1, 1), (3, 1)], &[(2, 1), (3, 1)]],
                weights: &[900, 900],
                says: None,
            },
            PackCase {
                name: "exactly the limit fits in one box",
                limit: Some(1000),
                lines: &[(1, 2, 500)],
                boxes: &[&[(1, 2)]],
                weights: &[1000],
                says: None,
            },
            PackCase {
                name: "an item heavier than the limit goes alone, each of them",
                limit: Some(1000),
                lines: &[(1, 2, 1500), (2, 1, 200)],
                boxes: &[&[(1, 1)], &[(1, 1)], &[(2, 1)]],
                weights: &[1500, 1500, 200],
                says: Some("SKU 1 单件 1500 g，超过 杭州仓 单包上限 1000 g，每件单独成包"),
            },
            PackCase {
                name: "weightless items never need another box",
                limit: Some(1000),
                lines: &[(1, 5, 0), (2, 1, 1000)],
                boxes: &[&[(2, 1), (1, 5)]],
                weights: &[1000],
                says: None,
            },
            PackCase {
                name: "a limit of 0 g is no limit",
                limit: Some(0),
                lines: &[(1, 3, 400)],
                boxes: &[&[(1, 3)]],
                weights: &[1200],
                says: None,
            },
        ];
        for case in cases {
            let lines: Vec<AllocLine> = case
                .lines
                .iter()
                .map(|&(id, items, grams)| AllocLine {
                    item_weight_g: grams,
                    ..line(id, 1, items)
                })
                .collect();
            let mut w = wh(1, Some(5.0), Some(500), &[(1, 100)]);
            w.max_package_g = case.limit;
            let got = allocate(Some(RECEIVER), &lines, &[w], &Default::default());
            let Allocation::Planned {
                packages,
                explanation,
                ..
            } = got
            else {
                panic!("{}: {got:?}", case.name);
            };
            let boxes: Vec<Vec<(i64, i64)>> =
                shipped(&packages).into_iter().map(|(_, l)| l).collect();
            let expected: Vec<Vec<(i64, i64)>> = case.boxes.iter().map(|b| b.to_vec()).collect();
            assert_eq!(boxes, expected, "{}", case.name);
            let weights: Vec<i64> = packages.iter().map(|p| p.weight_g).collect();
            assert_eq!(weights, case.weights, "{}", case.name);
            for l in &lines {
                let items: i64 = boxes
                    .iter()
                    .flatten()
                    .filter(|(id, _)| *id == l.line_id.get())
                    .map(|(_, n)| n)
                    .sum();
                assert_eq!(items, l.quantity, "{}: line {}", case.name, l.line_id);
            }
            if let Some(says) = case.says {
                assert!(
                    explanation.iter().any(|e| e == says),
                    "{}: {explanation:#?}",
                    case.name
                );
            }
        }
    }

    #[test]
    fn a_package_takes_units_per_item_times_items_per_sku() {
        let lines = [line(1, 1, 5), bundle(2, 1, 5, 2), bundle(3, 2, 5, 3)];
        /// (line, items) or (SKU, units).
        type Pairs = &'static [(i64, i64)];
        // (name, package lines, units per SKU)
        let cases: &[(&str, Pairs, Pairs)] = &[
            ("one line", &[(1, 2)], &[(1, 2)]),
            ("a bundle", &[(2, 2)], &[(1, 4)]),
            ("two lines of one SKU add up", &[(1, 1), (2, 1)], &[(1, 3)]),
            ("two SKUs", &[(1, 1), (3, 2)], &[(1, 1), (2, 6)]),
            ("a line not in the plan adds nothing", &[(9, 5)], &[]),
        ];
        for &(name, package_lines, units) in cases {
            let package = PlannedPackage {
                warehouse_id: WarehouseId(1),
                lines: package_lines
                    .iter()
                    .map(|&(l, n)| (OrderLineId(l), n))
                    .collect(),
                weight_g: 0,
            };
            let expected: BTreeMap<SkuId, i64> =
                units.iter().map(|&(s, n)| (SkuId(s), n)).collect();
            assert_eq!(package.units(&lines), expected, "{name}");
        }
    }

    #[test]
    fn an_order_with_nothing_to_ship_plans_no_box() {
        let got = allocate(
            Some(RECEIVER),
            &[line(1, 1, 0)],
            &two_warehouses(),
            &Default::default(),
        );
        assert!(
            matches!(&got, Allocation::Planned { packages, transfers, .. } if packages.is_empty() && transfers.is_empty()),
            "{got:?}"
        );
    }

    #[test]
    fn allocation_settings_are_checked() {
        type Tweak = fn(&mut AllocationSettings);
        // (name, change to the defaults, refused field or None when accepted)
        let cases: &[(&str, Tweak, Option<&str>)] = &[
            ("defaults", |_| {}, None),
            ("half a kilometre", |s| s.radius_km = 0.5, None),
            ("the whole country", |s| s.radius_km = 5000.0, None),
            (
                "free transfers",
                |s| s.transfer_cost_per_unit = Fen(0),
                None,
            ),
            ("zero radius", |s| s.radius_km = 0.0, Some("radius_km")),
            ("negative radius", |s| s.radius_km = -1.0, Some("radius_km")),
            (
                "beyond 5000 km",
                |s| s.radius_km = 5000.1,
                Some("radius_km"),
            ),
            ("NaN", |s| s.radius_km = f64::NAN, Some("radius_km")),
            (
                "infinite",
                |s| s.radius_km = f64::INFINITY,
                Some("radius_km"),
            ),
            (
                "negative transfer cost",
                |s| s.transfer_cost_per_unit = Fen(-1),
                Some("transfer_cost_per_unit"),
            ),
        ];
        for &(name, tweak, refused) in cases {
            let mut s = AllocationSettings::default();
            tweak(&mut s);
            let got = s.validate().map_err(|e| e.field);
            match refused {
                None => assert!(got.is_ok(), "{name}: {got:?}"),
                Some(field) => assert_eq!(got.err(), Some(field), "{name}"),
            }
        }
    }

    #[test]
    fn allocation_defaults_work_without_configuration() {
        let d = AllocationSettings::default();
        assert_eq!(d.radius_km, 30.0);
        assert!(d.allow_split && d.allow_transfer && d.merge && !d.merge_across_shops);
        assert_eq!(d.transfer_cost_per_unit, Fen(200));
        let from_empty: AllocationSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(from_empty, d);
        assert!(serde_json::from_str::<AllocationSettings>(r#"{"radius":1}"#).is_err());
    }

    type ReceiverFields = [&'static str; 6];

    const BASE: ReceiverFields = [
        "张三",
        "13812345678",
        "浙江省",
        "杭州市",
        "西湖区",
        "文三路90号3幢",
    ];

    fn receiver(f: ReceiverFields) -> Receiver {
        Receiver::parse(f[0], f[1], f[2], f[3], f[4], f[5]).unwrap()
    }

    #[test]
    fn the_same_receiver_spelt_differently_has_one_merge_basis() {
        // (name, a, b, same basis)
        let cases: &[(&str, ReceiverFields, ReceiverFields, bool)] = &[
            ("identical", BASE, BASE, true),
            (
                "extra spaces",
                BASE,
                [
                    "张 三",
                    "13812345678",
                    "浙江省",
                    "杭州市",
                    "西湖区",
                    " 文三路 90 号 3 幢",
                ],
                true,
            ),
            (
                "full-width digits",
                BASE,
                [
                    "张三",
                    "１３８１２３４５６７８",
                    "浙江省",
                    "杭州市",
                    "西湖区",
                    "文三路９０号３幢",
                ],
                true,
            ),
            (
                "punctuation",
                [
                    "张三",
                    "13812345678",
                    "浙江省",
                    "杭州市",
                    "西湖区",
                    "文三路90号，3幢。",
                ],
                [
                    "张三",
                    "13812345678",
                    "浙江省",
                    "杭州市",
                    "西湖区",
                    "文三路90号-3幢",
                ],
                true,
            ),
            (
                "full-width and upper-case letters",
                [
                    "张三",
                    "13812345678",
                    "浙江省",
                    "杭州市",
                    "西湖区",
                    "文三路90号A座",
                ],
                [
                    "张三",
                    "13812345678",
                    "浙江省",
                    "杭州市",
                    "西湖区",
                    "文三路９０号ａ座",
                ],
                true,
            ),
            (
                "phone with country code and spaces",
                BASE,
                [
                    "张三",
                    "+86 138 1234 5678",
                    "浙江省",
                    "杭州市",
                    "西湖区",
                    "文三路90号3幢",
                ],
                true,
            ),
            (
                "county typed into the detail",
                BASE,
                [
                    "张三",
                    "13812345678",
                    "浙江省",
                    "杭州市",
                    "",
                    "西湖区文三路90号3幢",
                ],
                true,
            ),
            (
                "another house number",
                BASE,
                [
                    "张三",
                    "13812345678",
                    "浙江省",
                    "杭州市",
                    "西湖区",
                    "文三路91号3幢",
                ],
                false,
            ),
            (
                "another phone",
                BASE,
                [
                    "张三",
                    "13812345679",
                    "浙江省",
                    "杭州市",
                    "西湖区",
                    "文三路90号3幢",
                ],
                false,
            ),
            (
                "another name",
                BASE,
                [
                    "张四",
                    "13812345678",
                    "浙江省",
                    "杭州市",
                    "西湖区",
                    "文三路90号3幢",
                ],
                false,
            ),
            (
                "text does not slide from the name into the address",
                [
                    "张三浙",
                    "13812345678",
                    "江省",
                    "杭州市",
                    "西湖区",
                    "文三路90号3幢",
                ],
                BASE,
                false,
            ),
        ];
        for &(name, a, b, same) in cases {
            let (a, b) = (merge_basis(&receiver(a)), merge_basis(&receiver(b)));
            assert_eq!(a == b, same, "{name}: {a} / {b}");
        }
    }

    fn candidate() -> MergeCandidate {
        MergeCandidate {
            order_id: OrderId(1),
            shop_id: ShopId(1),
            receiver_key: "张三|13812345678|浙江省杭州市西湖区文三路90号3幢".into(),
            warehouse_id: WarehouseId(1),
            presale_ship_at: None,
        }
    }

    #[test]
    fn orders_merge_only_to_one_receiver_from_one_warehouse_on_one_day() {
        type Tweak = fn(&mut AllocationSettings, &mut MergeCandidate, &mut MergeCandidate);
        // (name, change to the defaults and to the second order, refusal contains, or None)
        let cases: &[(&str, Tweak, Option<&str>)] = &[
            ("same receiver, warehouse and shop", |_, _, _| {}, None),
            (
                "merging switched off",
                |s, _, _| s.merge = false,
                Some("已关闭合单"),
            ),
            (
                "another receiver",
                |_, _, b| b.receiver_key = "李四|13900000000|浙江省杭州市".into(),
                Some("收件人或收货地址不同"),
            ),
            (
                "another warehouse",
                |_, _, b| b.warehouse_id = WarehouseId(2),
                Some("发货仓库不同（仓库 1 与仓库 2）"),
            ),
            (
                "another shop",
                |_, _, b| b.shop_id = ShopId(2),
                Some("来自不同店铺"),
            ),
            (
                "another shop, merging across shops allowed",
                |s, _, b| {
                    s.merge_across_shops = true;
                    b.shop_id = ShopId(2);
                },
                None,
            ),
            (
                "presale on the same China day, hours apart",
                // 01:00 and 23:00 on 2025-06-20 in Shanghai.
                |_, a, b| {
                    a.presale_ship_at = Some(Utc.with_ymd_and_hms(2025, 6, 19, 17, 0, 0).unwrap());
                    b.presale_ship_at = Some(Utc.with_ymd_and_hms(2025, 6, 20, 15, 0, 0).unwrap());
                },
                None,
            ),
            (
                "presale on one UTC day but two China days",
                // 23:00 on the 19th and 01:00 on the 20th in Shanghai.
                |_, a, b| {
                    a.presale_ship_at = Some(Utc.with_ymd_and_hms(2025, 6, 19, 15, 0, 0).unwrap());
                    b.presale_ship_at = Some(Utc.with_ymd_and_hms(2025, 6, 19, 17, 0, 0).unwrap());
                },
                Some("发货日期不同（预售 2025-06-19 与 预售 2025-06-20）"),
            ),
            (
                "presale with stocked goods",
                |_, a, _| {
                    a.presale_ship_at = Some(Utc.with_ymd_and_hms(2025, 6, 19, 15, 0, 0).unwrap())
                },
                Some("发货日期不同（预售 2025-06-19 与 现货）"),
            ),
        ];
        for &(name, tweak, refused) in cases {
            let mut settings = AllocationSettings::default();
            let (mut a, mut b) = (
                candidate(),
                MergeCandidate {
                    order_id: OrderId(2),
                    ..candidate()
                },
            );
            tweak(&mut settings, &mut a, &mut b);
            let got = merge_refusal(&a, &b, &settings);
            match refused {
                None => assert_eq!(got, None, "{name}"),
                Some(why) => assert!(
                    got.as_deref().is_some_and(|g| g.contains(why)),
                    "{name}: {got:?}"
                ),
            }
            assert_eq!(
                merge_refusal(&b, &a, &settings).is_some(),
                got.is_some(),
                "{name}: symmetric"
            );
        }
    }

    fn arb_lines() -> impl Strategy<Value = Vec<AllocLine>> {
        proptest::collection::vec((1..=3_i64, 1..=6_i64, 1..=3_i64, 0..=1500_i64), 1..=4).prop_map(
            |lines| {
                lines
                    .into_iter()
                    .zip(1..)
                    .map(|((sku, quantity, units_per_item, grams), id)| AllocLine {
                        units_per_item,
                        item_weight_g: grams,
                        ..line(id, sku, quantity)
                    })
                    .collect()
            },
        )
    }

    fn arb_warehouses() -> impl Strategy<Value = Vec<WarehouseOption>> {
        let one = (
            proptest::option::of(0.0..300.0_f64),
            proptest::option::of(0..2000_i64),
            proptest::collection::vec(-2..=12_i64, 3),
            proptest::option::of(0..=3000_i64),
        );
        proptest::collection::vec(one, 0..=4).prop_map(|all| {
            all.into_iter()
                .zip(1..)
                .map(|((km, cost, stock, limit), id)| WarehouseOption {
                    max_package_g: limit,
                    ..wh(id, km, cost, &[(1, stock[0]), (2, stock[1]), (3, stock[2])])
                })
                .collect()
        })
    }

    fn arb_settings() -> impl Strategy<Value = AllocationSettings> {
        (any::<bool>(), any::<bool>(), 0..=1000_i64, 1.0..100.0_f64).prop_map(
            |(allow_split, allow_transfer, cost, radius_km)| AllocationSettings {
                allow_split,
                allow_transfer,
                transfer_cost_per_unit: Fen(cost),
                radius_km,
                ..AllocationSettings::default()
            },
        )
    }

    proptest! {
        /// Whatever the stock and settings: a plan ships each line exactly, asks no warehouse
        /// for more than it has once transfers arrive, moves only what a source has, and
        /// keeps boxes under the limit but for a lone heavy item; a shortage is exact.
        #[test]
        fn plans_ship_exactly_what_exists(
            lines in arb_lines(),
            warehouses in arb_warehouses(),
            settings in arb_settings(),
            receiver in proptest::option::of(Just(RECEIVER)),
        ) {
            let has = |w: WarehouseId, sku: SkuId| {
                warehouses.iter().find(|o| o.id == w).and_then(|o| o.available.get(&sku)).copied().unwrap_or(0).max(0)
            };
            let needed = units_needed(&lines);
            let total_short: BTreeMap<SkuId, i64> = needed.iter().filter_map(|(&sku, &n)| {
                let total: i64 = warehouses.iter().map(|w| has(w.id, sku)).sum();
                (n > total).then_some((sku, n - total))
            }).collect();
            match allocate(receiver, &lines, &warehouses, &settings) {
                Allocation::Planned { packages, transfers, .. } => {
                    prop_assert!(total_short.is_empty());
                    for l in &lines {
                        let items: i64 = packages.iter().flat_map(|p| &p.lines).filter(|(id, _)| *id == l.line_id).map(|(_, n)| n).sum();
                        prop_assert_eq!(items, l.quantity, "line {}", l.line_id);
                    }
                    let mut moved_in: BTreeMap<(WarehouseId, SkuId), i64> = BTreeMap::new();
                    let mut moved_out: BTreeMap<(WarehouseId, SkuId), i64> = BTreeMap::new();
                    for t in &transfers {
                        prop_assert!(t.units > 0 && t.from != t.to, "{:?}", t);
                        *moved_in.entry((t.to, t.sku_id)).or_default() += t.units;
                        *moved_out.entry((t.from, t.sku_id)).or_default() += t.units;
                    }
                    for (&(w, sku), &units) in &moved_out {
                        prop_assert!(units <= has(w, sku), "{} moves {} of SKU {} it does not have", w, units, sku);
                    }
                    let mut asked: BTreeMap<(WarehouseId, SkuId), i64> = BTreeMap::new();
                    for p in &packages {
                        for (sku, units) in p.units(&lines) {
                            *asked.entry((p.warehouse_id, sku)).or_default() += units;
                        }
                        let weight: i64 = p.lines.iter().map(|(id, n)| {
                            lines.iter().find(|l| l.line_id == *id).map_or(0, |l| l.item_weight_g * n)
                        }).sum();
                        prop_assert_eq!(p.weight_g, weight);
                        let limit = warehouses.iter().find(|w| w.id == p.warehouse_id).and_then(|w| w.max_package_g).filter(|g| *g > 0);
                        if let Some(limit) = limit && p.weight_g > limit {
                            prop_assert_eq!(&p.lines.iter().map(|(_, n)| *n).collect::<Vec<_>>(), &vec![1], "only a lone heavy item may exceed the limit");
                        }
                    }
                    for (&(w, sku), &units) in &asked {
                        let after = has(w, sku) + moved_in.get(&(w, sku)).copied().unwrap_or(0) - moved_out.get(&(w, sku)).copied().unwrap_or(0);
                        prop_assert!(units <= after, "{} ships {} of SKU {} but has {}", w, units, sku, after);
                    }
                }
                Allocation::Short { missing, .. } => {
                    prop_assert!(!missing.is_empty() && missing.values().all(|n| *n > 0), "{:?}", missing);
                    if total_short.is_empty() {
                        prop_assert!(!settings.allow_transfer, "with transfers on, stock that exists is always reached");
                    } else {
                        prop_assert_eq!(missing, total_short);
                    }
                }
            }
        }
    }
}
