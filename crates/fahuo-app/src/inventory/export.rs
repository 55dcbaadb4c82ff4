//! The stock export (库存导出.xlsx): one row per stock row, in the columns a stock count reads
//! back, plus a sheet saying how to count with it. Codes, barcodes and bins are written as text
//! (and their columns formatted as text) so that Excel keeps "00123" and 13-digit barcodes
//! exact when the file is edited and imported again.

use super::count::CountField;
use fahuo_store::stock::StockRow;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// The export's headers, in order.
pub const EXPORT_HEADERS: [&str; 11] = [
    "仓库编码",
    "仓库名称",
    "商品编码",
    "商品名称",
    "条码",
    "库位",
    "在库",
    "预占",
    "安全库存",
    "可用",
    "预警阈值",
];

pub fn stock_xlsx(rows: &[StockRow]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let sheet = workbook.add_worksheet();
    sheet.set_name("库存")?;
    for (c, h) in EXPORT_HEADERS.iter().enumerate() {
        let c = c as u16;
        sheet.write_string_with_format(0, c, *h, &bold)?;
        sheet.set_column_width(c, if c == 1 || c == 3 { 20 } else { 12 })?;
        if matches!(c, 0 | 2 | 4 | 5) {
            sheet.set_column_format(c, &text)?;
        }
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        let texts = [
            (0, Some(row.warehouse_code.as_str())),
            (1, Some(row.warehouse_name.as_str())),
            (2, Some(row.sku_code.as_str())),
            (3, Some(row.sku_name.as_str())),
            (4, row.barcode.as_deref()),
            (5, row.bin.as_deref()),
        ];
        for (c, value) in texts {
            if let Some(v) = value {
                sheet.write_string_with_format(r, c, v, &text)?;
            }
        }
        let numbers = [
            row.on_hand,
            row.reserved,
            row.safety,
            row.available,
            row.low_stock_threshold,
        ];
        for (i, n) in numbers.into_iter().enumerate() {
            sheet.write_number(r, 6 + i as u16, n as f64)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;

    let help = workbook.add_worksheet();
    help.set_name("说明")?;
    let notes = [
        "可用 = 在库 - 预占 - 安全库存；可用小于等于预警阈值（大于 0）时列入低库存预警。".to_string(),
        format!(
            "盘点：在本表末尾加一列“{}”填写实盘数量后导入；没有该列时，导入把“{}”列当作盘点数量。",
            CountField::Counted.label_zh(),
            CountField::OnHand.label_zh()
        ),
        "导入时读取：仓库编码、商品编码、盘点数量（或在库），以及可选的安全库存、预警阈值、库位；其他列忽略。"
            .into(),
        "盘点数量不能小于预占（已被订单占用的数量）；这样的行不会导入。".into(),
        "先预览，确认每行结果后再导入；导入时按当时的库存重新计算差异。".into(),
    ];
    help.set_column_width(0, 100)?;
    for (r, note) in notes.iter().enumerate() {
        help.write_string(r as u32, 0, note)?;
    }
    workbook.save_to_buffer()
}
