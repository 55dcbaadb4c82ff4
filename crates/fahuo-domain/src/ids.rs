//! Typed row ids, so that an order id can never be passed where a shop id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = i64))]
        pub struct $name(pub i64);

        impl $name {
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// A merchant (商家). Every other row belongs to exactly one tenant.
    TenantId,
    /// A staff account (子账号).
    UserId,
    /// One store on one platform (店铺).
    ShopId,
    /// A warehouse (仓库).
    WarehouseId,
    /// The merchant's own SKU (商品).
    SkuId,
    /// A platform SKU mapped to a merchant SKU (平台商品).
    ShopSkuId,
    /// An order as fahuo knows it (订单).
    OrderId,
    /// One line of an order (子订单).
    OrderLineId,
    /// What leaves in one box (包裹).
    PackageId,
    /// An electronic waybill issued for a package (电子面单).
    WaybillId,
    /// A write-back of carrier and number to the platform (发货).
    ShipmentId,
    /// A reason an order may not proceed (挂起).
    HoldId,
    /// A row of the job queue.
    JobId,
    /// An API token for an integration.
    ApiTokenId,
    /// An entry of the audit log.
    AuditId,
    /// A carrier account on an e-waybill service (电子面单账号).
    CarrierAccountId,
    /// A dropship supplier (代发供应商).
    SupplierId,
    /// An uploaded tracking-number file (批量导入单号).
    ShipmentImportId,
    /// A change of a shipped number asked of a platform (修改单号).
    ShipmentChangeId,
    /// One request for a waybill number, under its request key.
    WaybillRequestId,
    /// A print of labels, with its receipt (打印记录).
    PrintJobId,
    /// An after-sale (售后单): a platform's refund/return/exchange, or fahuo's own reship or claim.
    AfterSaleId,
);
