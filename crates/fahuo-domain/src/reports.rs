//! Reports (报表): pickup rate, transit times, exception and return rates, shipping and packaging
//! cost, error types and on-time shipping, computed from one fact row per parcel.
//!
//! Pure and exact: the store gathers [`ParcelFact`]s for a period; everything here is integer
//! arithmetic on them (rates in basis points, times in minutes), so a fixture's figures can be
//! computed by hand and compared exactly.
//!
//! # Definitions
//!
//! **Parcels and packages.** A fact is one package × order. A merged parcel (合单: one package,
//! several orders) therefore arrives as several facts with the same `package_id`. What happens
//! to the physical parcel (printing, pickup, delivery, exceptions, returns, cost) is counted
//! once per package: its facts are merged, SKUs and orders united, `had_exception` and
//! `returned` or-ed, and the other fields taken from the fact with the smallest `order_id`.
//! What belongs to an order (its platform deadline, its errors) is counted once per fact.
//! [`Report::parcels`] is the number of distinct packages.
//!
//! **Rates** are in basis points (10000 = 100%): `count × 10000 / total` rounded half up
//! (2/3 → 6667, 1/3 → 3333, 1/16 = 625, 1/32000 = 0.3125 → 0, 1/20000 = 0.5 → 1). A rate whose
//! total is 0 is `None` (in the [`RateRow`] tables the row is simply absent).
//!
//! **24-hour pickup rate** ([`PickupRow`]): of the packages printed at least 24 hours before
//! `now` (younger ones cannot have failed yet), the share picked up at most 24 hours after
//! printing (exactly 24 h counts; a pickup stamped before the print, i.e. a reprint, counts as
//! within). One row per carrier present in the facts, plus `"*"` for all carriers, always
//! present.
//!
//! **Transit** ([`TransitRow`]): packages with both `picked_up_at` and `delivered_at`, minutes
//! from pickup to delivery (whole minutes, seconds dropped), grouped by (carrier, [`distance`],
//! [`weight_band`]). A package in a return state (拒签, 退回中, 已退签) is left out: a signature
//! on it is the sender's, not the buyer's; so is one delivered before it was picked up
//! (inconsistent scans). Per group: the floor of the mean, the lower median (element
//! `(n − 1) / 2` of the sorted times) and the nearest-rank 90th percentile (element
//! `⌈0.9 n⌉ − 1`).
//!
//! **Distance**: same city when the origin and destination provinces and cities are equal,
//! same province when the provinces are, else inter-province (names compared exactly; the
//! store gives official names).
//!
//! **Weight bands**: ≤ 1000 g, ≤ 3000 g, ≤ 5000 g, ≤ 10000 g, above; no weight, or a weight of
//! 0 g or less (nothing weighed), is `Unknown`.
//!
//! **Exception and return rates** ([`RateRow`]): per carrier, per SKU and per destination
//! province, the packages with `had_exception` (resp. `returned`) out of all packages with that
//! key. A package with several SKUs counts once for each distinct SKU; one without SKUs is in
//! no SKU row. Rows exist only for keys with at least one package.
//!
//! **Cost** ([`CostSummary`], [`CarrierCost`]): a package is costed when it has a shipping or
//! a packaging cost. Shipping and packaging are summed over costed packages (a missing part
//! counts 0); `orders` is the number of distinct orders in costed packages, and the cost per
//! order is the floor of (shipping + packaging) / orders, so a merged parcel's price is shared
//! by its orders. The packaging share is packaging / (shipping + packaging), as a rate. Per
//! carrier: packages with a shipping cost, their shipping sum and its floor per package.
//!
//! **Errors** ([`ErrorTrendRow`]): every (kind, day) the store attributed to a fact counts once;
//! one row per (day, kind) with a count above 0, sorted by day then kind. Nothing is derived
//! here (a late shipment is an error only when the store says so), so nothing is counted twice.
//!
//! **On-time shipping** ([`OnTimeRow`]): facts with both `shipped_at` and `ship_by`; on time
//! when `shipped_at ≤ ship_by`. One row per platform present in the facts plus `"*"`, always
//! present.
//!
//! Every table is sorted by its key; `"*"` sorts before every carrier code and platform name.

use crate::tracking::TrackState;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A mistake the reports count, by where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// 地址问题: held for an incomplete or doubtful address, or returned as undeliverable.
    Address,
    /// 错发漏发: wrong or missing items caught at the pack station.
    WrongItem,
    /// 单号错误: a write-back refused, in conflict, or a number changed afterwards.
    WrongNumber,
    /// 超时发货: shipped after the platform's deadline.
    LateShipment,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 4] = [
        ErrorKind::Address,
        ErrorKind::WrongItem,
        ErrorKind::WrongNumber,
        ErrorKind::LateShipment,
    ];

    /// The serde name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Address => "address",
            ErrorKind::WrongItem => "wrong_item",
            ErrorKind::WrongNumber => "wrong_number",
            ErrorKind::LateShipment => "late_shipment",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            ErrorKind::Address => "地址问题",
            ErrorKind::WrongItem => "错发漏发",
            ErrorKind::WrongNumber => "单号错误",
            ErrorKind::LateShipment => "超时发货",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            ErrorKind::Address => "Address problems",
            ErrorKind::WrongItem => "Wrong or missing items",
            ErrorKind::WrongNumber => "Wrong tracking numbers",
            ErrorKind::LateShipment => "Late shipments",
        }
    }
}

/// One parcel (package × order) of the period, with what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParcelFact {
    pub package_id: i64,
    pub order_id: i64,
    /// "wechat" | "douyin" | "xiaohongshu"
    pub platform: String,
    /// fahuo's carrier code (e.g. "ZTO").
    pub carrier: String,
    /// Official province and city names of the shipping warehouse and of the receiver.
    pub origin_province: String,
    pub origin_city: String,
    pub dest_province: String,
    pub dest_city: String,
    /// Weighed, else expected, else unknown.
    pub weight_g: Option<i64>,
    /// The carrier's price for this parcel (quoted at allocation).
    pub shipping_cost_fen: Option<i64>,
    pub packaging_cost_fen: Option<i64>,
    /// Merchant SKU codes in the parcel.
    pub skus: Vec<String>,
    pub printed_at: Option<DateTime<Utc>>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub ship_by: Option<DateTime<Utc>>,
    pub picked_up_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub state: Option<TrackState>,
    /// A radar alert was raised for it (any kind).
    pub had_exception: bool,
    /// Refused, returning or returned, or a return after-sale.
    pub returned: bool,
    /// Mistakes attributed to it, each with the day it happened.
    pub errors: Vec<(ErrorKind, NaiveDate)>,
}

/// Weight bands of the transit-time table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WeightBand {
    /// ≤ 1 kg
    UpTo1Kg,
    /// 1–3 kg
    UpTo3Kg,
    /// 3–5 kg
    UpTo5Kg,
    /// 5–10 kg
    UpTo10Kg,
    /// > 10 kg
    Over10Kg,
    Unknown,
}

impl WeightBand {
    pub const ALL: [WeightBand; 6] = [
        WeightBand::UpTo1Kg,
        WeightBand::UpTo3Kg,
        WeightBand::UpTo5Kg,
        WeightBand::UpTo10Kg,
        WeightBand::Over10Kg,
        WeightBand::Unknown,
    ];

    pub fn label_zh(self) -> &'static str {
        match self {
            WeightBand::UpTo1Kg => "1kg及以下",
            WeightBand::UpTo3Kg => "1-3kg",
            WeightBand::UpTo5Kg => "3-5kg",
            WeightBand::UpTo10Kg => "5-10kg",
            WeightBand::Over10Kg => "10kg以上",
            WeightBand::Unknown => "重量未知",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            WeightBand::UpTo1Kg => "up to 1kg",
            WeightBand::UpTo3Kg => "1-3kg",
            WeightBand::UpTo5Kg => "3-5kg",
            WeightBand::UpTo10Kg => "5-10kg",
            WeightBand::Over10Kg => "over 10kg",
            WeightBand::Unknown => "weight unknown",
        }
    }
}

/// Same city, same province, or between provinces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Distance {
    SameCity,
    SameProvince,
    InterProvince,
}

impl Distance {
    pub const ALL: [Distance; 3] = [
        Distance::SameCity,
        Distance::SameProvince,
        Distance::InterProvince,
    ];

    pub fn label_zh(self) -> &'static str {
        match self {
            Distance::SameCity => "同城",
            Distance::SameProvince => "省内",
            Distance::InterProvince => "跨省",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Distance::SameCity => "same city",
            Distance::SameProvince => "same province",
            Distance::InterProvince => "between provinces",
        }
    }
}

/// The whole report for a period; every table is sorted by its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    pub parcels: i64,
    pub pickup: Vec<PickupRow>,
    pub transit: Vec<TransitRow>,
    pub exceptions_by_carrier: Vec<RateRow>,
    pub exceptions_by_sku: Vec<RateRow>,
    pub exceptions_by_province: Vec<RateRow>,
    pub returns_by_carrier: Vec<RateRow>,
    pub returns_by_sku: Vec<RateRow>,
    pub returns_by_province: Vec<RateRow>,
    pub cost: CostSummary,
    pub cost_by_carrier: Vec<CarrierCost>,
    pub errors: Vec<ErrorTrendRow>,
    pub on_time: Vec<OnTimeRow>,
}

/// 24-hour pickup rate, per carrier and overall (carrier "*").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PickupRow {
    pub carrier: String,
    /// Printed at least 24 hours before the report's `now`.
    pub printed: i64,
    /// Of those, picked up within 24 hours of printing.
    pub picked_up_24h: i64,
    /// picked_up_24h / printed in basis points (10000 = 100%); None when nothing was printed.
    pub rate_bp: Option<i64>,
}

/// Pickup-to-delivery time of delivered parcels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransitRow {
    pub carrier: String,
    pub distance: Distance,
    pub band: WeightBand,
    pub delivered: i64,
    /// Floor of the mean, in minutes.
    pub mean_minutes: i64,
    /// The lower median, in minutes.
    pub median_minutes: i64,
    /// Nearest-rank 90th percentile, in minutes.
    pub p90_minutes: i64,
}

/// A count out of a total, for one key (carrier code, SKU code or province name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RateRow {
    pub key: String,
    pub total: i64,
    pub count: i64,
    pub rate_bp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CostSummary {
    /// Orders with at least one costed parcel.
    pub orders: i64,
    pub shipping_fen: i64,
    pub packaging_fen: i64,
    /// Floor of (shipping + packaging) / orders.
    pub per_order_fen: Option<i64>,
    /// packaging / (shipping + packaging), basis points.
    pub packaging_share_bp: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CarrierCost {
    pub carrier: String,
    pub parcels: i64,
    pub shipping_fen: i64,
    /// Floor of shipping / parcels.
    pub per_parcel_fen: i64,
}

/// Errors of one kind on one day (Asia/Shanghai), for the trend chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorTrendRow {
    pub day: NaiveDate,
    pub kind: ErrorKind,
    pub count: i64,
}

/// Shipped before the platform's deadline, per platform and overall ("*").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OnTimeRow {
    pub platform: String,
    /// Shipped parcels with a deadline.
    pub shipped: i64,
    pub on_time: i64,
    pub rate_bp: Option<i64>,
}

/// The key of the overall row in [`PickupRow`] and [`OnTimeRow`] tables.
pub const ALL_KEY: &str = "*";

/// How long after printing a pickup still counts, and how old a print must be to be judged.
pub const PICKUP_WINDOW: Duration = Duration::hours(24);

/// `count / total` in basis points, rounded half up; `None` when `total` is 0 (or negative).
pub fn rate_bp(count: i64, total: i64) -> Option<i64> {
    // (2·count·10000 + total) / (2·total) = ⌊count·10000/total + ½⌋ for non-negative values.
    (total > 0).then(|| (2 * count * 10_000 + total) / (2 * total))
}

pub fn weight_band(weight_g: Option<i64>) -> WeightBand {
    match weight_g {
        // A scale reads 0 when nothing was weighed: that is no weight, not a light parcel.
        None | Some(i64::MIN..=0) => WeightBand::Unknown,
        Some(1..=1000) => WeightBand::UpTo1Kg,
        Some(1001..=3000) => WeightBand::UpTo3Kg,
        Some(3001..=5000) => WeightBand::UpTo5Kg,
        Some(5001..=10_000) => WeightBand::UpTo10Kg,
        Some(_) => WeightBand::Over10Kg,
    }
}

pub fn distance(f: &ParcelFact) -> Distance {
    if f.origin_province != f.dest_province {
        Distance::InterProvince
    } else if f.origin_city == f.dest_city {
        Distance::SameCity
    } else {
        Distance::SameProvince
    }
}

/// One physical package: its facts merged (see the module's definitions).
struct Package<'a> {
    /// The fact with the smallest order id: carrier, route, weight, cost and scan times.
    first: &'a ParcelFact,
    orders: BTreeSet<i64>,
    skus: BTreeSet<&'a str>,
    had_exception: bool,
    returned: bool,
}

fn packages(facts: &[ParcelFact]) -> Vec<Package<'_>> {
    let mut by_id: BTreeMap<i64, Package<'_>> = BTreeMap::new();
    for f in facts {
        let p = by_id.entry(f.package_id).or_insert_with(|| Package {
            first: f,
            orders: BTreeSet::new(),
            skus: BTreeSet::new(),
            had_exception: false,
            returned: false,
        });
        if f.order_id < p.first.order_id {
            p.first = f;
        }
        p.orders.insert(f.order_id);
        p.skus.extend(f.skus.iter().map(String::as_str));
        p.had_exception |= f.had_exception;
        p.returned |= f.returned;
    }
    by_id.into_values().collect()
}

/// Builds the report from the period's facts; `now` bounds the 24-hour pickup window.
pub fn build(facts: &[ParcelFact], now: DateTime<Utc>) -> Report {
    let packages = packages(facts);
    Report {
        parcels: packages.len() as i64,
        pickup: pickup(&packages, now),
        transit: transit(&packages),
        exceptions_by_carrier: rates(&packages, by_carrier, |p| p.had_exception),
        exceptions_by_sku: rates(&packages, by_sku, |p| p.had_exception),
        exceptions_by_province: rates(&packages, by_province, |p| p.had_exception),
        returns_by_carrier: rates(&packages, by_carrier, |p| p.returned),
        returns_by_sku: rates(&packages, by_sku, |p| p.returned),
        returns_by_province: rates(&packages, by_province, |p| p.returned),
        cost: cost(&packages),
        cost_by_carrier: cost_by_carrier(&packages),
        errors: errors(facts),
        on_time: on_time(facts),
    }
}

fn pickup(packages: &[Package<'_>], now: DateTime<Utc>) -> Vec<PickupRow> {
    // (printed, picked up within 24 h) per carrier; the overall row is there even when empty.
    let mut counts: BTreeMap<&str, (i64, i64)> = BTreeMap::from([(ALL_KEY, (0, 0))]);
    for p in packages {
        let f = p.first;
        let judged = f
            .printed_at
            .filter(|printed| *printed <= now - PICKUP_WINDOW);
        let in_time = judged.is_some_and(|printed| {
            f.picked_up_at
                .is_some_and(|picked| picked <= printed + PICKUP_WINDOW)
        });
        for key in [ALL_KEY, f.carrier.as_str()] {
            let c = counts.entry(key).or_default();
            c.0 += i64::from(judged.is_some());
            c.1 += i64::from(in_time);
        }
    }
    counts
        .into_iter()
        .map(|(carrier, (printed, picked_up_24h))| PickupRow {
            carrier: carrier.to_string(),
            printed,
            picked_up_24h,
            rate_bp: rate_bp(picked_up_24h, printed),
        })
        .collect()
}

fn transit(packages: &[Package<'_>]) -> Vec<TransitRow> {
    let mut groups: BTreeMap<(&str, Distance, WeightBand), Vec<i64>> = BTreeMap::new();
    for p in packages {
        let f = p.first;
        if matches!(
            f.state,
            Some(TrackState::Refused | TrackState::Returning | TrackState::Returned)
        ) {
            continue;
        }
        let (Some(picked), Some(delivered)) = (f.picked_up_at, f.delivered_at) else {
            continue;
        };
        if delivered < picked {
            continue;
        }
        let key = (f.carrier.as_str(), distance(f), weight_band(f.weight_g));
        groups
            .entry(key)
            .or_default()
            .push((delivered - picked).num_minutes());
    }
    groups
        .into_iter()
        .map(|((carrier, distance, band), mut minutes)| {
            minutes.sort_unstable();
            // Groups are never empty: a key exists only once a time was pushed.
            let n = minutes.len();
            let sum: i64 = minutes.iter().sum();
            TransitRow {
                carrier: carrier.to_string(),
                distance,
                band,
                delivered: n as i64,
                mean_minutes: sum.div_euclid(n as i64),
                median_minutes: minutes[(n - 1) / 2],
                p90_minutes: minutes[(9 * n).div_ceil(10) - 1],
            }
        })
        .collect()
}

fn by_carrier<'a>(p: &Package<'a>) -> Vec<&'a str> {
    vec![p.first.carrier.as_str()]
}

fn by_sku<'a>(p: &Package<'a>) -> Vec<&'a str> {
    p.skus.iter().copied().collect()
}

fn by_province<'a>(p: &Package<'a>) -> Vec<&'a str> {
    vec![p.first.dest_province.as_str()]
}

fn rates<'a>(
    packages: &[Package<'a>],
    keys: fn(&Package<'a>) -> Vec<&'a str>,
    flag: fn(&Package<'a>) -> bool,
) -> Vec<RateRow> {
    let mut counts: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for p in packages {
        let flagged = flag(p);
        for key in keys(p) {
            let c = counts.entry(key).or_default();
            c.0 += 1;
            c.1 += i64::from(flagged);
        }
    }
    counts
        .into_iter()
        .map(|(key, (total, count))| RateRow {
            key: key.to_string(),
            total,
            count,
            // Every row has a package, so the total is at least 1.
            rate_bp: rate_bp(count, total).unwrap_or(0),
        })
        .collect()
}

fn cost(packages: &[Package<'_>]) -> CostSummary {
    let mut orders = BTreeSet::new();
    let (mut shipping_fen, mut packaging_fen) = (0, 0);
    for p in packages {
        let f = p.first;
        if f.shipping_cost_fen.is_none() && f.packaging_cost_fen.is_none() {
            continue;
        }
        shipping_fen += f.shipping_cost_fen.unwrap_or(0);
        packaging_fen += f.packaging_cost_fen.unwrap_or(0);
        orders.extend(p.orders.iter().copied());
    }
    let orders = orders.len() as i64;
    let total = shipping_fen + packaging_fen;
    CostSummary {
        orders,
        shipping_fen,
        packaging_fen,
        per_order_fen: (orders > 0).then(|| total.div_euclid(orders)),
        packaging_share_bp: rate_bp(packaging_fen, total),
    }
}

fn cost_by_carrier(packages: &[Package<'_>]) -> Vec<CarrierCost> {
    let mut sums: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for p in packages {
        if let Some(fen) = p.first.shipping_cost_fen {
            let s = sums.entry(p.first.carrier.as_str()).or_default();
            s.0 += 1;
            s.1 += fen;
        }
    }
    sums.into_iter()
        .map(|(carrier, (parcels, shipping_fen))| CarrierCost {
            carrier: carrier.to_string(),
            parcels,
            shipping_fen,
            // A row exists only with a costed package, so parcels ≥ 1.
            per_parcel_fen: shipping_fen.div_euclid(parcels),
        })
        .collect()
}

fn errors(facts: &[ParcelFact]) -> Vec<ErrorTrendRow> {
    let mut counts: BTreeMap<(NaiveDate, ErrorKind), i64> = BTreeMap::new();
    for (kind, day) in facts.iter().flat_map(|f| &f.errors) {
        *counts.entry((*day, *kind)).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((day, kind), count)| ErrorTrendRow { day, kind, count })
        .collect()
}

fn on_time(facts: &[ParcelFact]) -> Vec<OnTimeRow> {
    let mut counts: BTreeMap<&str, (i64, i64)> = BTreeMap::from([(ALL_KEY, (0, 0))]);
    for f in facts {
        let judged = f.shipped_at.zip(f.ship_by);
        let in_time = judged.is_some_and(|(shipped, by)| shipped <= by);
        for key in [ALL_KEY, f.platform.as_str()] {
            let c = counts.entry(key).or_default();
            c.0 += i64::from(judged.is_some());
            c.1 += i64::from(in_time);
        }
    }
    counts
        .into_iter()
        .map(|(platform, (shipped, on_time))| OnTimeRow {
            platform: platform.to_string(),
            shipped,
            on_time,
            rate_bp: rate_bp(on_time, shipped),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// 2025-06-`day` `h`:`m` UTC.
    fn at(day: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, day, h, m, 0).unwrap()
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, d).unwrap()
    }

    /// A parcel from the Hangzhou warehouse with nothing happened yet.
    fn fact(package_id: i64, order_id: i64, platform: &str, carrier: &str) -> ParcelFact {
        ParcelFact {
            package_id,
            order_id,
            platform: platform.into(),
            carrier: carrier.into(),
            origin_province: "浙江省".into(),
            origin_city: "杭州市".into(),
            dest_province: "浙江省".into(),
            dest_city: "杭州市".into(),
            weight_g: None,
            shipping_cost_fen: None,
            packaging_cost_fen: None,
            skus: vec![],
            printed_at: None,
            shipped_at: None,
            ship_by: None,
            picked_up_at: None,
            delivered_at: None,
            state: None,
            had_exception: false,
            returned: false,
            errors: vec![],
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn set(
        mut f: ParcelFact,
        dest: (&str, &str),
        weight_g: Option<i64>,
        cost: (Option<i64>, Option<i64>),
        skus: &[&str],
        printed: Option<DateTime<Utc>>,
        picked: Option<DateTime<Utc>>,
        delivered: Option<DateTime<Utc>>,
        shipped: Option<DateTime<Utc>>,
        ship_by: Option<DateTime<Utc>>,
    ) -> ParcelFact {
        f.dest_province = dest.0.into();
        f.dest_city = dest.1.into();
        f.weight_g = weight_g;
        (f.shipping_cost_fen, f.packaging_cost_fen) = cost;
        f.skus = skus.iter().map(|s| s.to_string()).collect();
        f.printed_at = printed;
        f.picked_up_at = picked;
        f.delivered_at = delivered;
        f.shipped_at = shipped;
        f.ship_by = ship_by;
        f.state = Some(match (picked, delivered) {
            (_, Some(_)) => TrackState::Delivered,
            (Some(_), None) => TrackState::InTransit,
            (None, None) => TrackState::AwaitingPickup,
        });
        f
    }

    const HZ: (&str, &str) = ("浙江省", "杭州市");
    const NB: (&str, &str) = ("浙江省", "宁波市");
    const WZ: (&str, &str) = ("浙江省", "温州市");
    const NJ: (&str, &str) = ("江苏省", "南京市");
    const SZ: (&str, &str) = ("江苏省", "苏州市");
    const GZ: (&str, &str) = ("广东省", "广州市");
    const SH: (&str, &str) = ("上海市", "上海市");

    /// 12 facts, 11 packages (package 10 is a merged parcel of orders 10 and 11), all from
    /// 浙江省杭州市. `now` is 2025-06-10 12:00 UTC, so "printed ≥ 24 h ago" means printed at
    /// or before 06-09 12:00.
    #[rustfmt::skip] // a table: one parcel per call, its fields in columns
    fn fixture() -> Vec<ParcelFact> {
        let t = |d, h, m| Some(at(d, h, m));
        // set(fact(package, order, platform, carrier), destination, weight, (shipping,
        //     packaging), SKUs, printed, picked up, delivered, shipped, ship by)
        let mut v = vec![
            // 1: ZTO same city 800 g; printed 08 10:00, picked 10 h later, delivered after 12 h.
            set(fact(1, 1, "wechat", "ZTO"), HZ, Some(800), (Some(300), Some(50)), &["A"],
                t(8, 10, 0), t(8, 20, 0), t(9, 8, 0), t(8, 11, 0), t(9, 0, 0)),
            // 2: ZTO same city 1000 g (edge of ≤1 kg); picked exactly 24 h after printing;
            // 8 h transit; shipped after its deadline.
            set(fact(2, 2, "wechat", "ZTO"), HZ, Some(1000), (Some(300), Some(50)), &["A", "B"],
                t(8, 12, 0), t(9, 12, 0), t(9, 20, 0), t(8, 13, 0), t(8, 12, 0)),
            // 3: ZTO same province 2500 g; picked 25 h after printing; 24 h transit.
            set(fact(3, 3, "douyin", "ZTO"), NB, Some(2500), (Some(400), Some(80)), &["B"],
                t(8, 9, 0), t(9, 10, 0), t(10, 10, 0), t(8, 9, 30), t(9, 9, 0)),
            // 4: ZTO to Nanjing, no weight, printed 11 h before now (too young to judge).
            set(fact(4, 4, "douyin", "ZTO"), NJ, None, (Some(500), None), &["C"],
                t(10, 1, 0), None, None, t(10, 2, 0), t(11, 0, 0)),
            // 5: YTO to Nanjing 3000 g (edge of 1–3 kg); picked after 10 h; 36 h transit.
            set(fact(5, 5, "wechat", "YTO"), NJ, Some(3000), (Some(600), Some(100)), &["A"],
                t(8, 8, 0), t(8, 18, 0), t(10, 6, 0), t(8, 9, 0), t(8, 23, 59)),
            // 6: YTO to Suzhou 2000 g; picked after 12 h; 24 h transit; no deadline.
            set(fact(6, 6, "wechat", "YTO"), SZ, Some(2000), (Some(600), Some(100)), &["C"],
                t(8, 8, 0), t(8, 20, 0), t(9, 20, 0), t(8, 9, 0), None),
            // 7: YTO to Nanjing 2900 g; picked after 11 h; 18 h transit; shipped late; returned
            // later through an after-sale (still 已签收).
            set(fact(7, 7, "xiaohongshu", "YTO"), NJ, Some(2900), (Some(600), Some(100)), &["B"],
                t(8, 8, 0), t(8, 19, 0), t(9, 13, 0), t(8, 10, 0), t(8, 9, 0)),
            // 8: YTO to Guangzhou 12 kg; never picked up.
            set(fact(8, 8, "xiaohongshu", "YTO"), GZ, Some(12_000), (Some(1500), Some(300)), &["D"],
                t(8, 8, 0), None, None, t(8, 8, 30), t(9, 0, 0)),
            // 9: SF to Shanghai 500 g; picked after 2 h; refused and signed back at the sender
            // (its delivered_at is the sender's signature: no transit time).
            set(fact(9, 9, "douyin", "SF"), SH, Some(500), (Some(1200), Some(100)), &["A"],
                t(8, 14, 0), t(8, 16, 0), t(10, 9, 0), t(8, 15, 0), t(9, 0, 0)),
            // 10 + 11: one SF package for two orders (合单), same city 5000 g (edge of 3–5 kg);
            // picked after 2 h; 10 h transit. Order 10 shipped exactly at its deadline, order
            // 11 after its own.
            set(fact(10, 10, "douyin", "SF"), HZ, Some(5000), (Some(800), Some(200)), &["A"],
                t(8, 10, 0), t(8, 12, 0), t(8, 22, 0), t(8, 11, 0), t(8, 11, 0)),
            set(fact(10, 11, "douyin", "SF"), HZ, Some(5000), (Some(800), Some(200)), &["D"],
                t(8, 10, 0), t(8, 12, 0), t(8, 22, 0), t(8, 11, 0), t(8, 10, 0)),
            // 12: SF to Wenzhou 7 kg, not printed nor shipped; only a packaging cost; no SKUs.
            set(fact(12, 12, "wechat", "SF"), WZ, Some(7000), (None, Some(60)), &[],
                None, None, None, None, t(11, 0, 0)),
        ];
        v[1].had_exception = true; // package 2 (ZTO, 浙江省, A+B)
        v[4].had_exception = true; // package 5 (YTO, 江苏省, A)
        v[7].had_exception = true; // package 8 (YTO, 广东省, D)
        v[8].had_exception = true; // package 9 (SF, 上海市, A)
        v[6].returned = true; // package 7 (YTO, 江苏省, B)
        v[8].returned = true; // package 9 (SF, 上海市, A)
        v[8].state = Some(TrackState::Returned);
        v[1].errors = vec![(ErrorKind::LateShipment, day(8))];
        v[3].errors = vec![(ErrorKind::Address, day(10))];
        v[6].errors = vec![(ErrorKind::LateShipment, day(8)), (ErrorKind::WrongItem, day(9))];
        v[8].errors = vec![(ErrorKind::Address, day(9))];
        v[10].errors = vec![(ErrorKind::LateShipment, day(8))];
        v[11].errors = vec![(ErrorKind::WrongNumber, day(10))];
        v
    }

    fn report() -> Report {
        build(&fixture(), at(10, 12, 0))
    }

    fn rate(key: &str, total: i64, count: i64, rate_bp: i64) -> RateRow {
        RateRow {
            key: key.into(),
            total,
            count,
            rate_bp,
        }
    }

    #[test]
    fn fixture_parcels() {
        // 12 facts; package 10 holds orders 10 and 11 → 11 packages.
        assert_eq!(report().parcels, 11);
    }

    #[test]
    fn fixture_pickup() {
        let row = |carrier: &str, printed, picked_up_24h, rate_bp| PickupRow {
            carrier: carrier.into(),
            printed,
            picked_up_24h,
            rate_bp,
        };
        assert_eq!(
            report().pickup,
            vec![
                // 3 + 4 + 2 printed, 2 + 3 + 2 in time: 7/9 = 7777.8 → 7778
                row("*", 9, 7, Some(7778)),
                // SF: 9 (2 h), 10 (2 h); 12 never printed → 2/2 = 10000
                row("SF", 2, 2, Some(10_000)),
                // YTO: 5 (10 h), 6 (12 h), 7 (11 h) in time, 8 never picked → 3/4 = 7500
                row("YTO", 4, 3, Some(7500)),
                // ZTO: 1 (10 h) and 2 (exactly 24 h) in time, 3 (25 h) late; 4 printed 11 h
                // before now is not judged → 2/3 = 6666.7 → 6667
                row("ZTO", 3, 2, Some(6667)),
            ]
        );
    }

    #[test]
    fn fixture_transit() {
        use Distance::*;
        use WeightBand::*;
        let row = |carrier: &str, distance, band, delivered, mean, median, p90| TransitRow {
            carrier: carrier.into(),
            distance,
            band,
            delivered,
            mean_minutes: mean,
            median_minutes: median,
            p90_minutes: p90,
        };
        assert_eq!(
            report().transit,
            vec![
                // package 10 (once, though two orders): 08 12:00 → 08 22:00 = 600 min.
                // Package 9 is 已退签: left out.
                row("SF", SameCity, UpTo5Kg, 1, 600, 600, 600),
                // 5: 08 18:00 → 10 06:00 = 2160; 6: 08 20:00 → 09 20:00 = 1440;
                // 7: 08 19:00 → 09 13:00 = 1080. Sorted 1080, 1440, 2160:
                // mean 4680/3 = 1560, median [1] = 1440, p90 rank ⌈2.7⌉ = 3 → 2160
                row("YTO", InterProvince, UpTo3Kg, 3, 1560, 1440, 2160),
                // 1: 08 20:00 → 09 08:00 = 720; 2: 09 12:00 → 09 20:00 = 480. Sorted 480, 720:
                // mean 1200/2 = 600, lower median [0] = 480, p90 rank ⌈1.8⌉ = 2 → 720
                row("ZTO", SameCity, UpTo1Kg, 2, 600, 480, 720),
                // 3: 09 10:00 → 10 10:00 = 1440
                row("ZTO", SameProvince, UpTo3Kg, 1, 1440, 1440, 1440),
            ]
        );
    }

    #[test]
    fn fixture_exception_rates() {
        let r = report();
        assert_eq!(
            r.exceptions_by_carrier,
            vec![
                // SF: 9, 10, 12; exception on 9 → 1/3 = 3333.3 → 3333
                rate("SF", 3, 1, 3333),
                // YTO: 5, 6, 7, 8; exceptions on 5 and 8 → 2/4 = 5000
                rate("YTO", 4, 2, 5000),
                // ZTO: 1, 2, 3, 4; exception on 2 → 1/4 = 2500
                rate("ZTO", 4, 1, 2500),
            ]
        );
        assert_eq!(
            r.exceptions_by_sku,
            vec![
                // A in 1, 2, 5, 9, 10; exceptions 2, 5, 9 → 3/5 = 6000
                rate("A", 5, 3, 6000),
                // B in 2, 3, 7; exception 2 → 1/3 → 3333
                rate("B", 3, 1, 3333),
                // C in 4, 6 → 0/2
                rate("C", 2, 0, 0),
                // D in 8 and 10 (order 11's part of the merged parcel); exception 8 → 1/2
                rate("D", 2, 1, 5000),
            ]
        );
        assert_eq!(
            r.exceptions_by_province,
            vec![
                // Sorted by code point: 上 < 广 < 江 < 浙.
                // 上海市: 9 → 1/1
                rate("上海市", 1, 1, 10_000),
                // 广东省: 8 → 1/1
                rate("广东省", 1, 1, 10_000),
                // 江苏省: 4, 5, 6, 7; exception 5 → 1/4
                rate("江苏省", 4, 1, 2500),
                // 浙江省: 1, 2, 3, 10, 12; exception 2 → 1/5
                rate("浙江省", 5, 1, 2000),
            ]
        );
    }

    #[test]
    fn fixture_return_rates() {
        // Returned: 7 (YTO, B, 江苏省) and 9 (SF, A, 上海市).
        let r = report();
        assert_eq!(
            r.returns_by_carrier,
            vec![
                rate("SF", 3, 1, 3333),  // 1/3 → 3333
                rate("YTO", 4, 1, 2500), // 1/4
                rate("ZTO", 4, 0, 0),
            ]
        );
        assert_eq!(
            r.returns_by_sku,
            vec![
                rate("A", 5, 1, 2000), // 9 of 1, 2, 5, 9, 10
                rate("B", 3, 1, 3333), // 7 of 2, 3, 7
                rate("C", 2, 0, 0),
                rate("D", 2, 0, 0),
            ]
        );
        assert_eq!(
            r.returns_by_province,
            vec![
                rate("上海市", 1, 1, 10_000),
                rate("广东省", 1, 0, 0),
                rate("江苏省", 4, 1, 2500),
                rate("浙江省", 5, 0, 0),
            ]
        );
    }

    #[test]
    fn fixture_cost() {
        let r = report();
        assert_eq!(
            r.cost,
            CostSummary {
                // Every package is costed (12 by its packaging alone); package 10 brings
                // orders 10 and 11 → orders 1..=12 = 12.
                orders: 12,
                // 300+300+400+500 + 600+600+600+1500 + 1200+800 (package 10 once) = 6800
                shipping_fen: 6800,
                // 50+50+80+0 + 100+100+100+300 + 100+200 + 60 = 1140
                packaging_fen: 1140,
                // (6800 + 1140) / 12 = 7940 / 12 = 661.67 → 661
                per_order_fen: Some(661),
                // 1140 / 7940 = 0.143577 → 1435.77 bp → 1436
                packaging_share_bp: Some(1436),
            }
        );
        let row = |carrier: &str, parcels, shipping_fen, per_parcel_fen| CarrierCost {
            carrier: carrier.into(),
            parcels,
            shipping_fen,
            per_parcel_fen,
        };
        assert_eq!(
            r.cost_by_carrier,
            vec![
                // SF: 9 (1200) + 10 (800, once); 12 has no shipping cost → 2000/2 = 1000
                row("SF", 2, 2000, 1000),
                // YTO: 600+600+600+1500 = 3300 / 4 = 825
                row("YTO", 4, 3300, 825),
                // ZTO: 300+300+400+500 = 1500 / 4 = 375
                row("ZTO", 4, 1500, 375),
            ]
        );
    }

    #[test]
    fn fixture_errors() {
        let row = |d, kind, count| ErrorTrendRow {
            day: day(d),
            kind,
            count,
        };
        assert_eq!(
            report().errors,
            vec![
                // 06-08: late shipments of facts 2, 7 and 11 → 3
                row(8, ErrorKind::LateShipment, 3),
                // 06-09: fact 9's address, fact 7's wrong item
                row(9, ErrorKind::Address, 1),
                row(9, ErrorKind::WrongItem, 1),
                // 06-10: fact 4's address, fact 12's wrong number
                row(10, ErrorKind::Address, 1),
                row(10, ErrorKind::WrongNumber, 1),
            ]
        );
    }

    #[test]
    fn fixture_on_time() {
        let row = |platform: &str, shipped, on_time, rate_bp| OnTimeRow {
            platform: platform.into(),
            shipped,
            on_time,
            rate_bp,
        };
        assert_eq!(
            report().on_time,
            vec![
                // 5 + 3 + 2 = 10 judged, 4 + 2 + 1 = 7 on time → 7000
                row("*", 10, 7, Some(7000)),
                // douyin: 3, 4, 9, 10 (exactly at the deadline) on time, 11 late → 4/5 = 8000
                row("douyin", 5, 4, Some(8000)),
                // wechat: 1, 5 on time, 2 late; 6 has no deadline, 12 is not shipped
                // → 2/3 = 6666.7 → 6667
                row("wechat", 3, 2, Some(6667)),
                // xiaohongshu: 8 on time, 7 late → 1/2 = 5000
                row("xiaohongshu", 2, 1, Some(5000)),
            ]
        );
    }

    #[test]
    fn empty_input() {
        let r = build(&[], at(10, 12, 0));
        assert_eq!(r.parcels, 0);
        assert_eq!(
            r.pickup,
            vec![PickupRow {
                carrier: "*".into(),
                printed: 0,
                picked_up_24h: 0,
                rate_bp: None,
            }]
        );
        assert_eq!(
            r.on_time,
            vec![OnTimeRow {
                platform: "*".into(),
                shipped: 0,
                on_time: 0,
                rate_bp: None,
            }]
        );
        assert!(r.transit.is_empty());
        assert!(r.exceptions_by_carrier.is_empty() && r.exceptions_by_sku.is_empty());
        assert!(r.exceptions_by_province.is_empty() && r.returns_by_carrier.is_empty());
        assert!(r.returns_by_sku.is_empty() && r.returns_by_province.is_empty());
        assert!(r.cost_by_carrier.is_empty() && r.errors.is_empty());
        assert_eq!(
            r.cost,
            CostSummary {
                orders: 0,
                shipping_fen: 0,
                packaging_fen: 0,
                per_order_fen: None,
                packaging_share_bp: None,
            }
        );
    }

    #[test]
    fn zero_costs_have_orders_but_no_share() {
        let mut f = fact(1, 1, "wechat", "ZTO");
        f.shipping_cost_fen = Some(0);
        let r = build(&[f], at(10, 12, 0));
        assert_eq!(r.cost.orders, 1);
        assert_eq!(r.cost.per_order_fen, Some(0));
        // 0 / 0: no share rather than a division by zero.
        assert_eq!(r.cost.packaging_share_bp, None);
        assert_eq!(r.cost_by_carrier[0].per_parcel_fen, 0);
    }

    #[test]
    fn all_weights_unknown() {
        let facts: Vec<_> = (1..=3)
            .map(|i| {
                let mut f = fact(i, i, "wechat", "ZTO");
                f.weight_g = if i == 3 { Some(0) } else { None };
                f.picked_up_at = Some(at(8, 10, 0));
                f.delivered_at = Some(at(8, 10, 0) + Duration::minutes(60 * i));
                f
            })
            .collect();
        let r = build(&facts, at(10, 12, 0));
        // 60, 120, 180 min: mean 360/3 = 120, median [1] = 120, p90 rank 3 → 180
        assert_eq!(
            r.transit,
            vec![TransitRow {
                carrier: "ZTO".into(),
                distance: Distance::SameCity,
                band: WeightBand::Unknown,
                delivered: 3,
                mean_minutes: 120,
                median_minutes: 120,
                p90_minutes: 180,
            }]
        );
    }

    #[test]
    fn median_ties_and_floors() {
        // 10, 10, 25, 25 min, plus 30 s on the last (seconds are dropped).
        let facts: Vec<_> = [600, 600, 1500, 1530]
            .into_iter()
            .enumerate()
            .map(|(i, secs)| {
                let mut f = fact(i as i64, i as i64, "wechat", "ZTO");
                f.weight_g = Some(900);
                f.picked_up_at = Some(at(8, 0, 0));
                f.delivered_at = Some(at(8, 0, 0) + Duration::seconds(secs));
                f
            })
            .collect();
        let t = &build(&facts, at(10, 12, 0)).transit[0];
        // Sorted 10, 10, 25, 25: mean 70/4 = 17.5 → 17; lower median [1] = 10;
        // p90 rank ⌈3.6⌉ = 4 → 25
        assert_eq!((t.delivered, t.mean_minutes), (4, 17));
        assert_eq!((t.median_minutes, t.p90_minutes), (10, 25));
    }

    #[test]
    fn p90_nearest_rank() {
        // 1..=10 min: rank ⌈9⌉ = 9 → 9; 1..=11: rank ⌈9.9⌉ = 10 → 10
        for (n, want) in [(10, 9), (11, 10), (1, 1), (2, 2)] {
            let facts: Vec<_> = (1..=n)
                .map(|i| {
                    let mut f = fact(i, i, "wechat", "ZTO");
                    f.picked_up_at = Some(at(8, 0, 0));
                    f.delivered_at = Some(at(8, 0, 0) + Duration::minutes(i));
                    f
                })
                .collect();
            assert_eq!(
                build(&facts, at(10, 12, 0)).transit[0].p90_minutes,
                want,
                "n={n}"
            );
        }
    }

    #[test]
    fn inconsistent_scans_are_left_out() {
        let mut f = fact(1, 1, "wechat", "ZTO");
        f.picked_up_at = Some(at(9, 0, 0));
        f.delivered_at = Some(at(8, 0, 0));
        assert!(build(&[f], at(10, 12, 0)).transit.is_empty());
    }

    #[test]
    fn rounding_is_half_up() {
        assert_eq!(rate_bp(1, 20_000), Some(1)); // 0.5 bp → 1
        assert_eq!(rate_bp(1, 32_000), Some(0)); // 0.3125 bp → 0
        assert_eq!(rate_bp(1, 3), Some(3333));
        assert_eq!(rate_bp(2, 3), Some(6667));
        assert_eq!(rate_bp(1, 8), Some(1250));
        assert_eq!(rate_bp(3, 3), Some(10_000));
        assert_eq!(rate_bp(0, 0), None);
    }

    #[test]
    fn weight_band_edges() {
        use WeightBand::*;
        let cases = [
            (None, Unknown),
            (Some(-5), Unknown),
            (Some(0), Unknown),
            (Some(1), UpTo1Kg),
            (Some(1000), UpTo1Kg),
            (Some(1001), UpTo3Kg),
            (Some(3000), UpTo3Kg),
            (Some(3001), UpTo5Kg),
            (Some(5000), UpTo5Kg),
            (Some(5001), UpTo10Kg),
            (Some(10_000), UpTo10Kg),
            (Some(10_001), Over10Kg),
        ];
        for (w, band) in cases {
            assert_eq!(weight_band(w), band, "{w:?}");
        }
    }

    #[test]
    fn distances() {
        let mut f = fact(1, 1, "wechat", "ZTO");
        assert_eq!(distance(&f), Distance::SameCity);
        f.dest_city = "宁波市".into();
        assert_eq!(distance(&f), Distance::SameProvince);
        // Same city name in another province is still inter-province.
        f.dest_province = "江苏省".into();
        f.dest_city = "杭州市".into();
        assert_eq!(distance(&f), Distance::InterProvince);
    }

    #[test]
    fn duplicate_skus_in_a_parcel_count_once() {
        let mut f = fact(1, 1, "wechat", "ZTO");
        f.skus = vec!["A".into(), "A".into(), "B".into()];
        f.had_exception = true;
        let r = build(&[f], at(10, 12, 0));
        assert_eq!(
            r.exceptions_by_sku,
            vec![rate("A", 1, 1, 10_000), rate("B", 1, 1, 10_000)]
        );
    }
}
