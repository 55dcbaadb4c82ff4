//! Reading a stock count file (盘点表) into typed rows, without a database: the header row,
//! which column holds what, and each row's cells as numbers or the reason they are refused.
//!
//! The bytes are read by the order import's [`read_sheet`] (xlsx, or CSV in UTF-8 or GBK), so
//! both imports accept and refuse files alike. Headers are compared after the same
//! normalisation ([`normalize_header`]).

use super::CountVerdict;
use crate::import::columns::normalize_header;
use crate::import::file::{FileFormat, SheetRow, read_sheet};
use crate::import::{ImportError, Limits};
use std::collections::BTreeMap;

/// How many rows from the top may hold the header row (titles above it are skipped).
const HEADER_SEARCH_ROWS: usize = 10;

/// The largest count, safety stock or threshold accepted (far from any overflow).
pub const MAX_UNITS: i64 = 1_000_000_000;

/// The longest bin name, as for `PUT /stock/bin`.
pub const MAX_BIN_CHARS: usize = 32;

/// A column of a stock count file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CountField {
    WarehouseCode,
    SkuCode,
    /// 盘点数量: what was counted.
    Counted,
    /// 在库: the export's on-hand column, read as the count when there is no 盘点数量 column.
    OnHand,
    Safety,
    Threshold,
    Bin,
}

impl CountField {
    const ALL: [CountField; 7] = [
        CountField::WarehouseCode,
        CountField::SkuCode,
        CountField::Counted,
        CountField::OnHand,
        CountField::Safety,
        CountField::Threshold,
        CountField::Bin,
    ];

    /// The header the export writes (the first alias).
    pub fn label_zh(self) -> &'static str {
        self.aliases()[0]
    }

    pub fn label_en(self) -> &'static str {
        match self {
            CountField::WarehouseCode => "warehouse code",
            CountField::SkuCode => "SKU code",
            CountField::Counted => "counted quantity",
            CountField::OnHand => "on hand",
            CountField::Safety => "safety stock",
            CountField::Threshold => "low-stock threshold",
            CountField::Bin => "bin",
        }
    }

    /// Every header naming this field, normalised.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            CountField::WarehouseCode => &["仓库编码", "仓库代码", "warehousecode", "warehouse"],
            CountField::SkuCode => &["商品编码", "商家编码", "sku编码", "skucode", "sku"],
            CountField::Counted => &[
                "盘点数量",
                "实盘数量",
                "盘点数",
                "实盘数",
                "counted",
                "count",
                "countedquantity",
            ],
            CountField::OnHand => &["在库", "在库数量", "onhand"],
            CountField::Safety => &["安全库存", "safety", "safetystock"],
            CountField::Threshold => &["预警阈值", "库存预警", "threshold", "lowstockthreshold"],
            CountField::Bin => &["库位", "货位", "bin", "location"],
        }
    }

    fn for_header(header: &str) -> Option<CountField> {
        let h = normalize_header(header);
        if h.is_empty() {
            return None;
        }
        CountField::ALL
            .into_iter()
            .find(|f| f.aliases().contains(&h.as_str()))
    }
}

/// Why a row is refused before anything is looked up: the verdict, the column (as written in
/// the file) and a message in English and Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    pub verdict: CountVerdict,
    pub column: String,
    pub message: String,
    pub message_zh: String,
}

/// The values a valid row gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountValues {
    pub counted: i64,
    pub safety: Option<i64>,
    pub threshold: Option<i64>,
    pub bin: Option<String>,
}

/// One data row: its codes as written and its values, or the first problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountRow {
    /// The row number as Excel shows it.
    pub row: u32,
    pub warehouse_code: String,
    pub sku_code: String,
    pub values: Result<CountValues, RowProblem>,
}

/// A count file as read.
#[derive(Debug, Clone)]
pub struct CountFile {
    pub format: FileFormat,
    pub encoding: Option<&'static str>,
    pub sheet_name: Option<String>,
    pub header_row: u32,
    /// The header of the column read as the count (盘点数量, or 在库 in an export file).
    pub count_column: String,
    /// Headers that are not read (the export's names, reserved and available columns).
    pub ignored_columns: Vec<String>,
    pub rows: Vec<CountRow>,
}

/// Reads a stock count file. Whole-file problems (unreadable, no header, a required column
/// missing, no data rows, too many rows) are errors; everything else is a row's verdict.
pub fn parse_count_file(bytes: &[u8], limits: &Limits) -> Result<CountFile, ImportError> {
    let sheet = read_sheet(bytes, limits)?;
    let (header_index, columns) = find_header(&sheet.rows)?;
    let header = &sheet.rows[header_index];
    let count_field = if columns.contains_key(&CountField::Counted) {
        CountField::Counted
    } else {
        CountField::OnHand
    };
    let data = &sheet.rows[header_index + 1..];
    if data.is_empty() {
        return Err(ImportError::HeaderOnly);
    }
    if data.len() > limits.max_rows {
        return Err(ImportError::TooManyRows {
            max_rows: limits.max_rows,
        });
    }
    let read = |f: CountField| {
        if f == CountField::OnHand && count_field == CountField::Counted {
            // With both, the count is the 盘点数量 column; 在库 is only what the export said.
            return None;
        }
        columns.get(&f).copied()
    };
    let ignored_columns = header
        .cells
        .iter()
        .enumerate()
        .filter(|(i, h)| {
            !h.trim().is_empty() && !CountField::ALL.into_iter().any(|f| read(f) == Some(*i))
        })
        .map(|(_, h)| h.trim().to_string())
        .collect();
    let header_text = |f: CountField| {
        read(f)
            .map(|c| header.cell(c).to_string())
            .unwrap_or_else(|| f.label_zh().to_string())
    };
    let rows = data
        .iter()
        .map(|row| {
            let cell = |f: CountField| read(f).map(|c| row.cell(c)).unwrap_or("");
            CountRow {
                row: row.number,
                warehouse_code: cell(CountField::WarehouseCode).to_string(),
                sku_code: cell(CountField::SkuCode).to_string(),
                values: read_values(row, &read, &header_text, count_field),
            }
        })
        .collect();
    Ok(CountFile {
        format: sheet.format,
        encoding: sheet.encoding,
        sheet_name: sheet.sheet_name,
        header_row: header.number,
        count_column: header_text(count_field),
        ignored_columns,
        rows,
    })
}

/// The header row is the first of the top rows naming at least two known columns; it must
/// name the warehouse code, the SKU code and the count (or 在库).
fn find_header(rows: &[SheetRow]) -> Result<(usize, BTreeMap<CountField, usize>), ImportError> {
    let required = [CountField::WarehouseCode, CountField::SkuCode];
    for (i, row) in rows.iter().take(HEADER_SEARCH_ROWS).enumerate() {
        let mut columns = BTreeMap::new();
        for (c, h) in row.cells.iter().enumerate() {
            if let Some(f) = CountField::for_header(h) {
                // The first column of a name wins, as a person reading left to right expects.
                columns.entry(f).or_insert(c);
            }
        }
        if columns.len() < 2 {
            continue;
        }
        let mut missing: Vec<CountField> = required
            .into_iter()
            .filter(|f| !columns.contains_key(f))
            .collect();
        if !columns.contains_key(&CountField::Counted) && !columns.contains_key(&CountField::OnHand)
        {
            missing.push(CountField::Counted);
        }
        if missing.is_empty() {
            return Ok((i, columns));
        }
        return Err(missing_columns(&missing, false));
    }
    Err(missing_columns(
        &[
            CountField::WarehouseCode,
            CountField::SkuCode,
            CountField::Counted,
        ],
        true,
    ))
}

fn missing_columns(fields: &[CountField], no_header: bool) -> ImportError {
    ImportError::MissingColumns {
        missing: fields.iter().map(|f| f.label_zh().to_string()).collect(),
        missing_en: fields.iter().map(|f| f.label_en().to_string()).collect(),
        no_header,
    }
}

fn read_values(
    row: &SheetRow,
    read: &dyn Fn(CountField) -> Option<usize>,
    header_text: &dyn Fn(CountField) -> String,
    count_field: CountField,
) -> Result<CountValues, RowProblem> {
    let cell = |f: CountField| read(f).map(|c| row.cell(c)).unwrap_or("");
    for f in [CountField::WarehouseCode, CountField::SkuCode, count_field] {
        if cell(f).is_empty() {
            let column = header_text(f);
            return Err(RowProblem {
                verdict: CountVerdict::MissingValue,
                message: format!("{} is blank: the row is left as it is", f.label_en()),
                message_zh: format!("{column}为空，该行不处理"),
                column,
            });
        }
    }
    let number = |f: CountField| -> Result<Option<i64>, RowProblem> {
        let text = cell(f);
        if text.is_empty() {
            return Ok(None);
        }
        parse_whole(text).map(Some).map_err(|verdict| {
            let column = header_text(f);
            let (message, message_zh) = match verdict {
                CountVerdict::Negative => (
                    format!("{} cannot be negative ({text})", f.label_en()),
                    format!("{column}不能为负数（{text}）"),
                ),
                CountVerdict::TooLarge => (
                    format!("{} is over {MAX_UNITS} ({text})", f.label_en()),
                    format!("{column}超过 {MAX_UNITS}（{text}）"),
                ),
                _ => (
                    format!("{} must be a whole number, not {text:?}", f.label_en()),
                    format!("{column}必须是整数，“{text}”不是"),
                ),
            };
            RowProblem {
                verdict,
                column,
                message,
                message_zh,
            }
        })
    };
    let counted = number(count_field)?.unwrap_or_default();
    let safety = number(CountField::Safety)?;
    let threshold = number(CountField::Threshold)?;
    let bin = match cell(CountField::Bin) {
        "" => None,
        b if b.chars().count() > MAX_BIN_CHARS => {
            let column = header_text(CountField::Bin);
            return Err(RowProblem {
                verdict: CountVerdict::InvalidBin,
                message: format!("the bin is longer than {MAX_BIN_CHARS} characters"),
                message_zh: format!("{column}超过 {MAX_BIN_CHARS} 个字符"),
                column,
            });
        }
        b => Some(b.to_string()),
    };
    Ok(CountValues {
        counted,
        safety,
        threshold,
        bin,
    })
}

/// A whole number of units as people type it: "12", "12.0" (what Excel shows for 12 in a
/// number cell), "１２" (full-width), "1,200", "12件". Fractions, words ("十") and anything
/// else are `NotWholeNumber`; below zero is `Negative`; over [`MAX_UNITS`] is `TooLarge`.
pub fn parse_whole(cell: &str) -> Result<i64, CountVerdict> {
    let s: String = cell
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '．' => '.',
            '，' => ',',
            '－' => '-',
            '＋' => '+',
            _ => c,
        })
        .filter(|c| !c.is_whitespace())
        .collect();
    let s = s.trim_end_matches(['件', '个', '只', '套', '箱', '份']);
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let s = match s.split_once('.') {
        Some((whole, frac)) if !frac.is_empty() && frac.bytes().all(|b| b == b'0') => whole,
        Some(_) => return Err(CountVerdict::NotWholeNumber),
        None => s,
    };
    let digits = if s.contains(',') {
        // Thousands separators only where they belong: 1,200 yes, 12,00 no.
        let groups: Vec<&str> = s.split(',').collect();
        let well_formed =
            (1..=3).contains(&groups[0].len()) && groups[1..].iter().all(|g| g.len() == 3);
        if !well_formed {
            return Err(CountVerdict::NotWholeNumber);
        }
        groups.concat()
    } else {
        s.to_string()
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CountVerdict::NotWholeNumber);
    }
    let value: i64 = match digits.trim_start_matches('0') {
        "" => 0,
        d if d.len() > 10 => {
            return Err(if negative {
                CountVerdict::Negative
            } else {
                CountVerdict::TooLarge
            });
        }
        d => d.parse().map_err(|_| CountVerdict::NotWholeNumber)?,
    };
    if negative && value != 0 {
        return Err(CountVerdict::Negative);
    }
    if value > MAX_UNITS {
        return Err(CountVerdict::TooLarge);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_are_read_as_people_type_them() {
        for (text, n) in [
            ("12", 12),
            ("12.0", 12),
            (" 12.00 ", 12),
            ("１２", 12),
            ("1,200", 1200),
            ("12件", 12),
            ("+3", 3),
            ("-0", 0),
            ("0", 0),
            ("007", 7),
            ("1000000000", MAX_UNITS),
        ] {
            assert_eq!(parse_whole(text), Ok(n), "{text}");
        }
        for (text, verdict) in [
            ("12.5", CountVerdict::NotWholeNumber),
            ("12.", CountVerdict::NotWholeNumber),
            ("十", CountVerdict::NotWholeNumber),
            ("1e3", CountVerdict::NotWholeNumber),
            ("12,00", CountVerdict::NotWholeNumber),
            ("#DIV/0!", CountVerdict::NotWholeNumber),
            ("-", CountVerdict::NotWholeNumber),
            ("-3", CountVerdict::Negative),
            ("－3", CountVerdict::Negative),
            ("-3.5", CountVerdict::NotWholeNumber),
            ("1000000001", CountVerdict::TooLarge),
            ("99999999999999999999999", CountVerdict::TooLarge),
        ] {
            assert_eq!(parse_whole(text), Err(verdict), "{text}");
        }
    }

    #[test]
    fn the_export_file_reads_as_a_count_by_its_on_hand_column() {
        let csv = "仓库编码,仓库名称,商品编码,商品名称,条码,库位,在库,预占,安全库存,可用,预警阈值\n\
                   HZ01,杭州仓,MUG,马克杯,,A-1,12,2,1,9,3\n";
        let file = parse_count_file(csv.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(file.count_column, "在库");
        assert_eq!(
            file.ignored_columns,
            ["仓库名称", "商品名称", "条码", "预占", "可用"]
        );
        assert_eq!(
            file.rows[0].values,
            Ok(CountValues {
                counted: 12,
                safety: Some(1),
                threshold: Some(3),
                bin: Some("A-1".into())
            })
        );
        // With a 盘点数量 column as well, that is the count and 在库 is not read.
        let csv = "仓库编码,商品编码,在库,盘点数量\nHZ01,MUG,12,10\nHZ01,TEE,5,\n";
        let file = parse_count_file(csv.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(file.count_column, "盘点数量");
        assert_eq!(file.ignored_columns, ["在库"]);
        assert_eq!(file.rows[0].values.as_ref().unwrap().counted, 10);
        let blank = file.rows[1].values.as_ref().unwrap_err();
        assert_eq!(
            (blank.verdict, blank.column.as_str()),
            (CountVerdict::MissingValue, "盘点数量")
        );
    }

    #[test]
    fn headers_are_found_below_a_title_and_required_columns_named() {
        let csv = "2026年11月盘点表\n仓库编码*,商品编码（必填）,盘点数量\nHZ01,MUG,3\n";
        let file = parse_count_file(csv.as_bytes(), &Limits::default()).unwrap();
        assert_eq!((file.header_row, file.rows[0].row), (2, 3));
        let err = parse_count_file("仓库编码,盘点数量\nHZ01,3\n".as_bytes(), &Limits::default())
            .unwrap_err();
        assert_eq!(
            err,
            ImportError::MissingColumns {
                missing: vec!["商品编码".into()],
                missing_en: vec!["SKU code".into()],
                no_header: false
            }
        );
        let err = parse_count_file("a,b\n1,2\n".as_bytes(), &Limits::default()).unwrap_err();
        assert!(matches!(
            err,
            ImportError::MissingColumns {
                no_header: true,
                ..
            }
        ));
    }
}
