//! What happens after review: holds, packages, waybills, shipments (write-backs) and
//! tracking events.

use crate::{
    CarrierCode, Grams, HoldId, OrderId, PackageId, ShipmentId, TrackingNo, WarehouseId, WaybillId,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why an order may not proceed (挂起原因). The code is stable and machine-readable; review
/// rules add their own codes as they come, so it is a string rather than a closed enum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hold {
    pub id: HoldId,
    pub order_id: OrderId,
    /// e.g. `address_incomplete`, `out_of_stock`, `refund_pending`, `manual`.
    pub reason_code: String,
    /// A sentence a person can act on, in Chinese.
    pub message: String,
    pub created_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageState {
    Open,
    WaybillIssued,
    Printed,
    Packed,
    Shipped,
    Cancelled,
}

/// What leaves in one box. An order may become several packages (split) and several orders
/// may share one (merge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub id: PackageId,
    pub warehouse_id: WarehouseId,
    pub state: PackageState,
    pub weight: Option<Grams>,
    pub lines: Vec<PackageLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageLine {
    pub order_id: OrderId,
    pub order_line_id: crate::OrderLineId,
    pub quantity: i64,
}

/// An electronic waybill (电子面单): at most one live waybill per package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waybill {
    pub id: WaybillId,
    pub package_id: PackageId,
    pub carrier: CarrierCode,
    pub tracking_no: TrackingNo,
    /// 大头笔 / 三段码.
    pub sort_code: Option<String>,
    /// 集包地.
    pub hub: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentState {
    Pending,
    Succeeded,
    /// The platform says it already shipped with another number.
    Conflict,
    Failed,
}

/// The write-back of carrier + number to the platform (发货), exactly once per package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub id: ShipmentId,
    pub order_id: OrderId,
    pub package_id: Option<PackageId>,
    pub carrier: CarrierCode,
    pub tracking_no: TrackingNo,
    pub state: ShipmentState,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// The normalised tracking states every carrier's codes map onto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackingState {
    /// 揽收
    PickedUp,
    /// 在途
    InTransit,
    /// 派件
    OutForDelivery,
    /// 签收
    Delivered,
    /// 疑难
    Problem,
    /// 退回
    Returning,
    /// 拒签
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingEvent {
    pub carrier: CarrierCode,
    pub tracking_no: TrackingNo,
    pub state: TrackingState,
    /// Carrier-specific detail (e.g. "locker", "signed by proxy").
    pub sub_state: Option<String>,
    pub description: String,
    pub location: Option<String>,
    pub occurred_at: DateTime<Utc>,
}
