//! Tracking-number files (批量导入单号): reading fahuo's template and the columns of the
//! platforms' batch-shipping templates into typed rows with per-row verdicts.
//!
//! Pure: no database, no clock, never panics whatever the bytes (the fuzz target
//! `import_shipments` calls [`parse_shipment_file`] directly). Verdicts that need the store
//! (unknown order, already shipped, number used by another order in fahuo) are added by
//! [`super`]; the ones decided here need only the file.

use crate::import::file::FileFormat;
use crate::import::{ImportError, Limits};
use fahuo_carriers::{Carrier, TrackingNo};
use serde::Serialize;

/// A column of a tracking-number file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ShipmentField {
    /// 订单号 / 订单编号 / 主订单编号 / 订单ID ... (required)
    OrderNo,
    /// 快递公司 / 物流公司 / 快递 ... (required): a name, alias or any platform's code.
    Carrier,
    /// 快递单号 / 运单号 / 物流单号 ... (required)
    TrackingNo,
    /// 商品编码 / SKU编码 / 子订单号 ... (optional): ship only this line of the order.
    Sku,
    /// 发货数量 / 数量 (optional, with `Sku`): ship only this many units of the line.
    Quantity,
}

/// Whose template the header row looks like (for the report; every template is read the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TemplateKind {
    Fahuo,
    Wechat,
    Douyin,
    Xiaohongshu,
    /// Recognised columns, but not exactly any known template.
    Other,
}

/// What is wrong with a row, decided from the file alone. Serialised with a stable `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum FileVerdict {
    MissingOrderNo,
    /// The order number cell was turned into a number by Excel ("1.23457E+18", a float) and its
    /// digits are lost.
    OrderNoMangled {
        text: String,
    },
    MissingCarrier,
    CarrierUnknown {
        text: String,
    },
    /// The name matches several carriers (e.g. a group name); codes of the candidates.
    CarrierAmbiguous {
        text: String,
        candidates: Vec<String>,
    },
    MissingTrackingNo,
    /// Not a valid number for this carrier (format or check digit); `why` is the rule's reason.
    TrackingInvalid {
        text: String,
        why: String,
    },
    /// The same order, carrier and number as an earlier row of the file.
    DuplicateRow {
        first_row: u32,
    },
    /// The same number as an earlier row of another order in the file.
    ReusedInFile {
        other_order_no: String,
        other_row: u32,
    },
    BadQuantity {
        text: String,
    },
    /// A cell longer than any real value (the cell is not echoed back).
    CellTooLong {
        field: ShipmentField,
        chars: usize,
    },
}

impl FileVerdict {
    /// The message for the merchant, in Chinese.
    pub fn message_zh(&self) -> String {
        todo!()
    }
}

/// One data row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShipmentRow {
    /// The row number as Excel shows it.
    pub row: u32,
    /// As written, trimmed (cut to 64 chars if longer).
    pub order_no: String,
    pub carrier_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub carrier: Option<Carrier>,
    pub tracking_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub tracking_no: Option<TrackingNo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    /// Empty when the file alone finds nothing wrong.
    pub verdicts: Vec<FileVerdict>,
}

/// A parsed tracking-number file.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShipmentFile {
    pub format: FileFormat,
    pub encoding: Option<&'static str>,
    pub sheet_name: Option<String>,
    pub header_row: u32,
    pub template: TemplateKind,
    /// (header as written, field) for each recognised column.
    pub columns: Vec<(String, ShipmentField)>,
    pub ignored_columns: Vec<String>,
    pub rows: Vec<ShipmentRow>,
}

/// Limits for tracking-number files: bigger than order imports (a day of a large merchant).
pub fn shipment_limits() -> Limits {
    Limits {
        max_rows: 50_000,
        ..Limits::default()
    }
}

/// Reads a tracking-number file. File-level problems (unreadable, no header with the three
/// required columns, too big) are an [`ImportError`]; everything else is a row verdict.
pub fn parse_shipment_file(bytes: &[u8], limits: &Limits) -> Result<ShipmentFile, ImportError> {
    let _ = (bytes, limits);
    todo!()
}

/// fahuo's own template (发货单号导入模板.xlsx): headers, one example row, text-formatted columns,
/// and a sheet of carrier names fahuo recognises.
pub fn shipment_template_xlsx() -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    todo!()
}

/// One row of the result file written after an import is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResultRow {
    pub row: u32,
    pub order_no: String,
    pub carrier: String,
    pub tracking_no: String,
    /// A stable code: `shipped`, `already_shipped`, `conflict`, `refused`, `invalid`, `pending`, ...
    pub outcome: String,
    pub message_zh: String,
}

/// The result file (导入结果.xlsx): the rows of the import with their outcome, order and
/// tracking numbers as text.
pub fn result_xlsx(rows: &[ResultRow]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let _ = rows;
    todo!()
}
