//! Order export (导出订单) to xlsx or CSV with the columns the merchant chooses. Order numbers,
//! phone numbers and tracking numbers stay text (Excel must not turn them into 1.23E+18), and
//! the CSV carries a UTF-8 BOM so Excel on Chinese Windows opens it without mojibake.

use rust_xlsxwriter::{Format, Workbook, XlsxError};
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
        match self {
            ExportColumn::OrderNo => "订单号",
            ExportColumn::Shop => "店铺",
            ExportColumn::Platform => "平台",
            ExportColumn::State => "状态",
            ExportColumn::PlatformStatus => "平台状态",
            ExportColumn::PaidAt => "付款时间",
            ExportColumn::ShipBy => "最晚发货时间",
            ExportColumn::ReceiverName => "收件人",
            ExportColumn::ReceiverPhone => "手机",
            ExportColumn::Province => "省",
            ExportColumn::City => "市",
            ExportColumn::County => "区(县)",
            ExportColumn::Address => "详细地址",
            ExportColumn::Items => "商品",
            // Not "数量": the shipment import reads 数量 as "ship this many units of the
            // line", and an exported order's total must not come back as that.
            ExportColumn::Quantity => "件数",
            ExportColumn::PaidTotal => "实付金额",
            ExportColumn::Freight => "运费",
            ExportColumn::BuyerNote => "买家留言",
            ExportColumn::SellerNote => "卖家备注",
            ExportColumn::Warehouse => "仓库",
            ExportColumn::Carrier => "快递公司",
            ExportColumn::TrackingNo => "快递单号",
            ExportColumn::ShippedAt => "发货时间",
        }
    }

    /// Columns whose digits must stay exactly as they are (text format in xlsx).
    fn is_number_text(self) -> bool {
        matches!(
            self,
            ExportColumn::OrderNo | ExportColumn::ReceiverPhone | ExportColumn::TrackingNo
        )
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
///
/// * xlsx: bold, frozen header row; every value a string cell except the quantity (a number);
///   order, phone and tracking columns carry the text format `@` so a clerk's edits stay text;
///   a formula-like string gets Excel's quote prefix (it is a string cell anyway, and the
///   prefix keeps it one when the cell is edited).
/// * CSV: UTF-8 with a BOM, CRLF, fields quoted when needed. Excel reads every digit string of
///   a CSV as a number (11+ digits shown as 1.23E+18 and cut to 15 digits, leading zeros
///   dropped), so such a value is written after a tab character ("\t6917…"): Excel and
///   LibreOffice then keep it as text, and the shipment import (like most readers) trims it.
///   A formula-like value is written after an apostrophe (`'=cmd|...`), which Excel shows and
///   never evaluates; plain numbers such as "-12.50" are left as they are.
pub fn write_orders(
    format: ExportFormat,
    columns: &[ExportColumn],
    rows: &[ExportRow],
) -> Result<Vec<u8>, XlsxError> {
    match format {
        ExportFormat::Xlsx => write_xlsx(columns, rows),
        ExportFormat::Csv => Ok(write_csv(columns, rows)),
    }
}

/// A cell's value.
enum Value<'a> {
    Text(&'a str),
    Number(i64),
}

fn value(row: &ExportRow, column: ExportColumn) -> Value<'_> {
    use ExportColumn as C;
    Value::Text(match column {
        C::OrderNo => &row.order_no,
        C::Shop => &row.shop,
        C::Platform => &row.platform,
        C::State => &row.state,
        C::PlatformStatus => &row.platform_status,
        C::PaidAt => &row.paid_at,
        C::ShipBy => &row.ship_by,
        C::ReceiverName => &row.receiver_name,
        C::ReceiverPhone => &row.receiver_phone,
        C::Province => &row.province,
        C::City => &row.city,
        C::County => &row.county,
        C::Address => &row.address,
        C::Items => &row.items,
        C::Quantity => return Value::Number(row.quantity),
        C::PaidTotal => &row.paid_total,
        C::Freight => &row.freight,
        C::BuyerNote => &row.buyer_note,
        C::SellerNote => &row.seller_note,
        C::Warehouse => &row.warehouse,
        C::Carrier => &row.carrier,
        C::TrackingNo => &row.tracking_no,
        C::ShippedAt => &row.shipped_at,
    })
}

/// Whether a spreadsheet could evaluate the text as a formula or command (OWASP's CSV
/// injection list: `=`, `+`, `-`, `@`, and a tab or carriage return before them).
pub(crate) fn is_formula_like(value: &str) -> bool {
    value.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// "-12.50", "-3": evaluated as what they are.
fn is_plain_number(value: &str) -> bool {
    let v = value.strip_prefix('-').unwrap_or(value);
    let (int, frac) = v.split_once('.').unwrap_or((v, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(int) && digits(frac)
}

/// Whether Excel would change this text when it opens a CSV: a digit string that it would
/// show in scientific notation or cut to 15 digits (11 and more: phone, order and tracking
/// numbers), one with a leading zero, or digits around an E ("12E45" reads as 1.2E46).
fn needs_text_guard(value: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(value) {
        return value.len() >= 11 || (value.len() >= 2 && value.starts_with('0'));
    }
    value
        .split_once(['e', 'E'])
        .is_some_and(|(a, b)| digits(a) && digits(b.strip_prefix(['+', '-']).unwrap_or(b)))
}

fn csv_text(value: &str) -> String {
    if is_formula_like(value) && !is_plain_number(value) {
        format!("'{value}")
    } else if needs_text_guard(value) {
        format!("\t{value}")
    } else {
        value.to_string()
    }
}

fn write_csv(columns: &[ExportColumn], rows: &[ExportRow]) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(&mut out);
        // Writing to a Vec cannot fail; a record of the same length each time.
        let _ = w.write_record(columns.iter().map(|c| c.header_zh()));
        for row in rows {
            let record = columns.iter().map(|c| match value(row, *c) {
                Value::Text(t) => csv_text(t),
                Value::Number(n) => n.to_string(),
            });
            let _ = w.write_record(record);
        }
        let _ = w.flush();
    }
    out
}

fn write_xlsx(columns: &[ExportColumn], rows: &[ExportRow]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let plain = Format::new();
    let text = Format::new().set_num_format("@");
    let sheet = workbook.add_worksheet();
    sheet.set_name("订单")?;
    for (c, column) in columns.iter().enumerate() {
        let c = u16::try_from(c).map_err(|_| XlsxError::RowColumnLimitError)?;
        sheet.write_string_with_format(0, c, column.header_zh(), &bold)?;
        let width = match column {
            ExportColumn::OrderNo | ExportColumn::TrackingNo => 24,
            ExportColumn::Address | ExportColumn::Items => 40,
            ExportColumn::PaidAt | ExportColumn::ShipBy | ExportColumn::ShippedAt => 20,
            _ => 12,
        };
        sheet.set_column_width(c, width)?;
        if column.is_number_text() {
            sheet.set_column_format(c, &text)?;
        }
    }
    for (i, row) in rows.iter().enumerate() {
        let r = u32::try_from(i + 1).map_err(|_| XlsxError::RowColumnLimitError)?;
        for (c, column) in columns.iter().enumerate() {
            let c = c as u16;
            match value(row, *column) {
                Value::Number(n) => {
                    sheet.write_number(r, c, n as f64)?;
                }
                Value::Text("") => {}
                Value::Text(t) => {
                    let base = if column.is_number_text() {
                        &text
                    } else {
                        &plain
                    };
                    if is_formula_like(t) {
                        sheet.write_string_with_format(
                            r,
                            c,
                            t,
                            &base.clone().set_quote_prefix(),
                        )?;
                    } else {
                        sheet.write_string_with_format(r, c, t, base)?;
                    }
                }
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    workbook.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells() {
        assert_eq!(csv_text("3705115058471208928"), "\t3705115058471208928");
        assert_eq!(csv_text("13812345678"), "\t13812345678");
        assert_eq!(csv_text("0571"), "\t0571");
        assert_eq!(csv_text("12E45"), "\t12E45");
        assert_eq!(csv_text("1234567"), "1234567");
        assert_eq!(csv_text("SF1385628716739"), "SF1385628716739");
        assert_eq!(csv_text("=1+1"), "'=1+1");
        assert_eq!(csv_text("+8613812345678"), "'+8613812345678");
        assert_eq!(csv_text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_text("\t=1"), "'\t=1");
        assert_eq!(csv_text("-12.50"), "-12.50");
        assert_eq!(csv_text("-"), "'-");
        assert_eq!(csv_text("张三"), "张三");
    }

    #[test]
    fn every_column_has_a_distinct_header() {
        let mut seen = std::collections::HashSet::new();
        for c in ExportColumn::ALL {
            assert!(seen.insert(c.header_zh()), "{c:?}");
        }
    }
}
