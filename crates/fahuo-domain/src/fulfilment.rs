//! What happens after review: holds, packages, waybills, shipments (write-backs) and
//! tracking events.

use crate::{
    CarrierAccountId, CarrierCode, Grams, HoldId, OrderId, OrderLineId, PackageId, PrintJobId,
    ShipmentId, ShopId, TrackingNo, WarehouseId, WaybillId,
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
    /// The same in English for a review rule's hold; "" for one put by hand (its message is
    /// what a person typed) or stored before holds had English messages.
    pub message_en: String,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ShipmentState {
    /// Queued in the outbox, not yet accepted.
    Pending,
    /// The platform accepted it (or already had exactly this parcel).
    Succeeded,
    /// The platform says the order already shipped with another number.
    Conflict,
    /// The platform refused it, or it cannot be sent (no carrier code, shop not authorised).
    Failed,
}

impl ShipmentState {
    pub fn as_str(self) -> &'static str {
        match self {
            ShipmentState::Pending => "pending",
            ShipmentState::Succeeded => "succeeded",
            ShipmentState::Conflict => "conflict",
            ShipmentState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, crate::ParseError> {
        [
            ShipmentState::Pending,
            ShipmentState::Succeeded,
            ShipmentState::Conflict,
            ShipmentState::Failed,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
        .ok_or_else(|| crate::ParseError::new("state", format!("unknown shipment state {s:?}")))
    }
}

/// The write-back of carrier + number to the platform (发货): exactly once per order and parcel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Shipment {
    pub id: ShipmentId,
    pub order_id: OrderId,
    pub package_id: Option<PackageId>,
    /// fahuo's canonical carrier code (WeChat's `delivery_id` table).
    pub carrier_code: String,
    pub tracking_no: String,
    /// (order line, units) in this parcel; empty means every unit the order still owed.
    pub items: Vec<(OrderLineId, i64)>,
    pub source: crate::shipping::ShipmentSource,
    pub state: ShipmentState,
    pub attempts: i64,
    /// The platform's own error code, when it refused.
    pub error_code: Option<String>,
    pub last_error: Option<String>,
    /// For a conflict: the (carrier code, number) pairs the platform has instead.
    pub conflict: Vec<(String, String)>,
    /// Number changes the platform accepted.
    pub changes: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// The service a carrier account issues waybill numbers through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WaybillService {
    /// 快递100 e-waybill, for carrier-site accounts.
    Kuaidi100,
    /// 快递鸟 e-waybill, for carrier-site accounts.
    Kdniao,
    /// 微信小店电子面单, through a connected WeChat shop.
    WechatEwaybill,
}

impl WaybillService {
    pub const ALL: [WaybillService; 3] = [
        WaybillService::Kuaidi100,
        WaybillService::Kdniao,
        WaybillService::WechatEwaybill,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WaybillService::Kuaidi100 => "kuaidi100",
            WaybillService::Kdniao => "kdniao",
            WaybillService::WechatEwaybill => "wechat_ewaybill",
        }
    }

    pub fn parse(s: &str) -> Result<WaybillService, crate::ParseError> {
        WaybillService::ALL
            .into_iter()
            .find(|v| v.as_str() == s.trim())
            .ok_or_else(|| {
                crate::ParseError::new(
                    "service",
                    "must be one of kuaidi100, kdniao, wechat_ewaybill",
                )
            })
    }

    /// Whether the service answers a balance query. For the others fahuo counts the balance
    /// down from the quota the merchant enters.
    pub fn reports_balance(self) -> bool {
        self == WaybillService::WechatEwaybill
    }
}

impl std::fmt::Display for WaybillService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A carrier account (快递账号) bound by the merchant. Credentials are stored apart, encrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CarrierAccount {
    pub id: CarrierAccountId,
    pub name: String,
    pub service: WaybillService,
    pub carrier: CarrierCode,
    pub base_url: String,
    /// WeChat e-waybill: the shop whose token issues the numbers.
    pub shop_id: Option<ShopId>,
    /// Lower is asked first among the accounts of one carrier; the next takes over on failure.
    pub priority: i64,
    /// The sender (发件人) on labels; the address is the shipping warehouse's.
    pub sender_name: String,
    pub sender_phone: String,
    /// Numbers bought, for services that report no balance.
    pub quota: Option<i64>,
    /// What the service last said was left, and when.
    pub reported_balance: Option<i64>,
    pub balance_checked_at: Option<DateTime<Utc>>,
    /// Numbers issued on this account and not recycled.
    pub used: i64,
    pub low_balance_threshold: i64,
    pub latency_budget_ms: i64,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}

impl CarrierAccount {
    /// Numbers left: the service's own figure when it reports one, else the quota less what
    /// fahuo used. `None` when neither is known.
    pub fn remaining(&self) -> Option<i64> {
        if self.service.reports_balance() {
            self.reported_balance
        } else {
            self.quota.map(|q| (q - self.used).max(0))
        }
    }

    /// Whether the merchant should top up soon.
    pub fn low_balance(&self) -> bool {
        self.remaining()
            .is_some_and(|r| r < self.low_balance_threshold)
    }
}

/// What the merchant enters to bind an account (credentials travel separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCarrierAccount {
    pub name: String,
    pub service: WaybillService,
    pub carrier: CarrierCode,
    pub base_url: String,
    pub shop_id: Option<ShopId>,
    pub priority: i64,
    pub sender_name: String,
    pub sender_phone: String,
    pub quota: Option<i64>,
    pub low_balance_threshold: i64,
    pub latency_budget_ms: i64,
}

/// One label of a print job: which package, which number, and how many times it was printed
/// before (0 for the first print).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrintedLabel {
    pub package_id: PackageId,
    pub tracking_no: String,
    pub reprint: i64,
}

/// A print (打印记录): its id is the receipt; the labels are in page order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrintJob {
    pub id: PrintJobId,
    pub label_size: String,
    pub labels: Vec<PrintedLabel>,
    /// Labels in this job that had been printed before.
    pub reprints: i64,
    pub reason: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}
