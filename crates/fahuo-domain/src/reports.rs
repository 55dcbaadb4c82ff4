//! Reports (报表): pickup rate, transit times, exception and return rates, shipping and packaging
//! cost, error types and on-time shipping, computed from one fact row per parcel.
//!
//! Pure and exact: the store gathers [`ParcelFact`]s for a period; everything here is integer
//! arithmetic on them (rates in basis points, times in minutes), so a fixture's figures can be
//! computed by hand and compared exactly.
#![allow(unused_variables, dead_code)] // skeleton: removed when the bodies are written

use crate::tracking::TrackState;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

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

/// Same city, same province, or between provinces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Distance {
    SameCity,
    SameProvince,
    InterProvince,
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

pub fn weight_band(weight_g: Option<i64>) -> WeightBand {
    todo!()
}

pub fn distance(f: &ParcelFact) -> Distance {
    todo!()
}

/// Builds the report from the period's facts; `now` bounds the 24-hour pickup window.
pub fn build(facts: &[ParcelFact], now: DateTime<Utc>) -> Report {
    todo!()
}
