//! Order export (导出订单) to xlsx or CSV with the columns the merchant chooses. Order numbers,
//! phone numbers and tracking numbers stay text (Excel must not turn them into 1.23E+18), and
//! the CSV carries a UTF-8 BOM so Excel on Chinese Windows opens it without mojibake.

use serde::{Deserialize, Serialize};

/// A column of the export, in the merchant's chosen order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExportColumn {
    OrderNo,
    Shop,
    Platform,
    State,
    PlatformStatus,
    PaidAt,
    ShipBy,
    ReceiverName,
    ReceiverPhone,
    Province,
    City,
    County,
    Address,
    Items,
    Quantity,
    PaidTotal,
    Freight,
    BuyerNote,
    SellerNote,
    Warehouse,
    Carrier,
    TrackingNo,
    ShippedAt,
}

impl ExportColumn {
    pub const ALL: [ExportColumn; 23] = [
        ExportColumn::OrderNo,
        ExportColumn::Shop,
        ExportColumn::Platform,
        ExportColumn::State,
        ExportColumn::PlatformStatus,
        ExportColumn::PaidAt,
        ExportColumn::ShipBy,
        ExportColumn::ReceiverName,
        ExportColumn::ReceiverPhone,
        ExportColumn::Province,
        ExportColumn::City,
        ExportColumn::County,
        ExportColumn::Address,
        ExportColumn::Items,
        ExportColumn::Quantity,
        ExportColumn::PaidTotal,
        ExportColumn::Freight,
        ExportColumn::BuyerNote,
        ExportColumn::SellerNote,
        ExportColumn::Warehouse,
        ExportColumn::Carrier,
        ExportColumn::TrackingNo,
        ExportColumn::ShippedAt,
    ];

    /// The default selection: what a merchant checks shipping with.
    pub const DEFAULT: [ExportColumn; 10] = [
        ExportColumn::OrderNo,
        ExportColumn::Shop,
        ExportColumn::State,
        ExportColumn::ReceiverName,
        ExportColumn::ReceiverPhone,
        ExportColumn::Province,
        ExportColumn::Items,
        ExportColumn::Quantity,
        ExportColumn::Carrier,
        ExportColumn::TrackingNo,
    ];

    /// The Chinese header (the export is read back by the shipment import, so `OrderNo`,
    /// `Carrier` and `TrackingNo` use headers that import recognises).
    pub fn header_zh(self) -> &'static str {
        todo!()
    }
}

/// One order as exported; values already formatted for people (times in Asia/Shanghai,
/// money in yuan with two decimals, receiver masked unless the caller chose to unmask).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportRow {
    pub order_no: String,
    pub shop: String,
    pub platform: String,
    pub state: String,
    pub platform_status: String,
    pub paid_at: String,
    pub ship_by: String,
    pub receiver_name: String,
    pub receiver_phone: String,
    pub province: String,
    pub city: String,
    pub county: String,
    pub address: String,
    /// "title ×qty; title ×qty"
    pub items: String,
    pub quantity: i64,
    pub paid_total: String,
    pub freight: String,
    pub buyer_note: String,
    pub seller_note: String,
    pub warehouse: String,
    /// Several packages: joined with "; " in package order, matching `tracking_no`.
    pub carrier: String,
    pub tracking_no: String,
    pub shipped_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Xlsx,
    Csv,
}

/// Writes the rows in the chosen columns. Cells that start with `=`, `+`, `-` or `@` are
/// written so that no spreadsheet evaluates them (CSV/formula injection).
pub fn write_orders(
    format: ExportFormat,
    columns: &[ExportColumn],
    rows: &[ExportRow],
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let _ = (format, columns, rows);
    todo!()
}
