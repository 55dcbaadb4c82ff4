//! How `fahuo stock import` shows a stock count report: what was read, the counts, then every
//! row with its verdict (row number as in Excel, message in Chinese and English).

use fahuo_app::import::FileFormat;
use fahuo_app::inventory::{CountRowReport, CountVerdict, StockCountReport};
use std::fmt::Write;

/// The report as a table, one line per data row.
pub fn count_table(r: &StockCountReport) -> String {
    let mut out = String::new();
    let s = &r.summary;
    let _ = writeln!(
        out,
        "{}",
        if r.applied {
            "盘点导入 applied"
        } else {
            "预览 preview (nothing stored; add --apply to apply)"
        }
    );
    let _ = writeln!(
        out,
        "file: {}{}{}, header row {}, count column 盘点列: {}",
        match r.format {
            FileFormat::Xlsx => "xlsx",
            FileFormat::Csv => "csv",
        },
        r.encoding.map(|e| format!(" {e}")).unwrap_or_default(),
        r.sheet
            .as_deref()
            .map(|n| format!(" sheet {n}"))
            .unwrap_or_default(),
        r.header_row,
        r.count_column,
    );
    if !r.ignored_columns.is_empty() {
        let _ = writeln!(
            out,
            "ignored columns 忽略的列: {}",
            r.ignored_columns.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "rows 行: {}   {} {} (+{} / -{})   unchanged 无变化: {}   refused 拒绝: {}",
        s.rows,
        if r.applied {
            "applied 已调整:"
        } else {
            "to change 将调整:"
        },
        s.changes,
        s.units_added,
        s.units_removed,
        s.unchanged,
        s.refused,
    );
    let _ = writeln!(
        out,
        "\nrow 行\twarehouse 仓库\tSKU 商品\tcounted 盘点\ton hand 在库\treserved 预占\tdelta 差异\tverdict 结果\tmessage 说明"
    );
    for row in &r.rows {
        let _ = writeln!(out, "{}", row_line(row));
    }
    out
}

fn row_line(row: &CountRowReport) -> String {
    let n = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
    let dash = |s: &str| {
        if s.is_empty() {
            "-".to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{} ({})",
        row.row,
        dash(&row.warehouse_code),
        dash(&row.sku_code),
        n(row.counted),
        n(row.on_hand),
        n(row.reserved),
        row.delta
            .map(|d| format!("{d:+}"))
            .unwrap_or_else(|| "-".into()),
        verdict_code(row.verdict),
        row.message_zh,
        row.message,
    )
}

/// The verdict as the API spells it.
fn verdict_code(v: CountVerdict) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| format!("{v:?}"))
}
