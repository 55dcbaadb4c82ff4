//! The report export (报表.xlsx): one sheet per table of a [`Report`], with Chinese headers,
//! rates as percentages, money in 元 and times in hours, all as numbers a merchant can sort,
//! sum and chart in Excel.
//!
//! Values stay exact: a rate cell holds `bp / 10000` shown as `0.00%`, a money cell
//! `fen / 100` shown as `0.00`, a time `minutes / 60` shown as `0.0` hours. A figure that does
//! not exist (a rate of nothing, the cost per order without orders) is an empty cell, not 0,
//! so that Excel's averages skip it.

use crate::batch::export::is_formula_like;
use crate::shipping::carrier_name_zh;
use chrono::{Datelike, NaiveDate};
use fahuo_domain::Platform;
use fahuo_domain::reports::{ALL_KEY, ErrorKind, RateRow, Report};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
use std::collections::BTreeMap;

/// The sheets, in order.
pub const SHEETS: [&str; 12] = [
    "概览",
    "揽收率",
    "时效",
    "异常率-快递",
    "异常率-商品",
    "异常率-省份",
    "退货率-快递",
    "退货率-商品",
    "退货率-省份",
    "运费-快递",
    "差错趋势",
    "准时发货率",
];

/// What the overall rows ("*") are called.
const ALL_ZH: &str = "全部";

/// A cell of a report table.
enum Cell {
    /// Text for people (names, labels).
    Text(String),
    /// A code whose characters must stay as typed (SKU codes such as "00123"): text format.
    Code(String),
    Int(i64),
    /// Basis points → percentage.
    Rate(Option<i64>),
    /// Fen → 元.
    Money(Option<i64>),
    /// Minutes → hours.
    Hours(i64),
    Date(NaiveDate),
}

struct Table {
    name: &'static str,
    headers: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
}

fn carrier(code: &str) -> Cell {
    Cell::Text(if code == ALL_KEY {
        ALL_ZH.into()
    } else {
        carrier_name_zh(code)
    })
}

fn platform(name: &str) -> Cell {
    Cell::Text(if name == ALL_KEY {
        ALL_ZH.into()
    } else {
        Platform::parse(name).map_or_else(|_| name.to_string(), |p| p.label_zh().to_string())
    })
}

fn overview(report: &Report, period_label: &str) -> Table {
    let c = &report.cost;
    let rows = vec![
        vec![
            Cell::Text("统计周期".into()),
            Cell::Text(period_label.into()),
        ],
        vec![Cell::Text("包裹数".into()), Cell::Int(report.parcels)],
        vec![Cell::Text("计费订单数".into()), Cell::Int(c.orders)],
        vec![
            Cell::Text("运费合计(元)".into()),
            Cell::Money(Some(c.shipping_fen)),
        ],
        vec![
            Cell::Text("包材合计(元)".into()),
            Cell::Money(Some(c.packaging_fen)),
        ],
        vec![
            Cell::Text("单均成本(元)".into()),
            Cell::Money(c.per_order_fen),
        ],
        vec![
            Cell::Text("包材成本占比".into()),
            Cell::Rate(c.packaging_share_bp),
        ],
    ];
    Table {
        name: SHEETS[0],
        headers: vec!["项目", "数值"],
        rows,
    }
}

/// A rate table: `key_header` names the key column, `what` the counted event (异常, 退货).
fn rate_table(
    name: &'static str,
    key_header: &'static str,
    what: [&'static str; 2],
    rows: &[RateRow],
    key: fn(&str) -> Cell,
) -> Table {
    Table {
        name,
        headers: vec![key_header, "包裹数", what[0], what[1]],
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    key(&r.key),
                    Cell::Int(r.total),
                    Cell::Int(r.count),
                    Cell::Rate(Some(r.rate_bp)),
                ]
            })
            .collect(),
    }
}

fn tables(report: &Report, period_label: &str) -> Vec<Table> {
    let exc = ["异常数", "异常率"];
    let ret = ["退货数", "退货率"];
    let sku = |s: &str| Cell::Code(s.to_string());
    let province = |s: &str| Cell::Text(s.to_string());
    vec![
        overview(report, period_label),
        Table {
            name: SHEETS[1],
            headers: vec!["快递公司", "满24小时的已打印包裹", "24小时内揽收", "揽收率"],
            rows: report
                .pickup
                .iter()
                .map(|r| {
                    vec![
                        carrier(&r.carrier),
                        Cell::Int(r.printed),
                        Cell::Int(r.picked_up_24h),
                        Cell::Rate(r.rate_bp),
                    ]
                })
                .collect(),
        },
        Table {
            name: SHEETS[2],
            headers: vec![
                "快递公司",
                "距离",
                "重量段",
                "签收件数",
                "平均(小时)",
                "中位数(小时)",
                "90%分位(小时)",
            ],
            rows: report
                .transit
                .iter()
                .map(|r| {
                    vec![
                        carrier(&r.carrier),
                        Cell::Text(r.distance.label_zh().into()),
                        Cell::Text(r.band.label_zh().into()),
                        Cell::Int(r.delivered),
                        Cell::Hours(r.mean_minutes),
                        Cell::Hours(r.median_minutes),
                        Cell::Hours(r.p90_minutes),
                    ]
                })
                .collect(),
        },
        rate_table(
            SHEETS[3],
            "快递公司",
            exc,
            &report.exceptions_by_carrier,
            carrier,
        ),
        rate_table(SHEETS[4], "商品编码", exc, &report.exceptions_by_sku, sku),
        rate_table(
            SHEETS[5],
            "收件省份",
            exc,
            &report.exceptions_by_province,
            province,
        ),
        rate_table(
            SHEETS[6],
            "快递公司",
            ret,
            &report.returns_by_carrier,
            carrier,
        ),
        rate_table(SHEETS[7], "商品编码", ret, &report.returns_by_sku, sku),
        rate_table(
            SHEETS[8],
            "收件省份",
            ret,
            &report.returns_by_province,
            province,
        ),
        Table {
            name: SHEETS[9],
            headers: vec!["快递公司", "包裹数", "运费合计(元)", "单件运费(元)"],
            rows: report
                .cost_by_carrier
                .iter()
                .map(|r| {
                    vec![
                        carrier(&r.carrier),
                        Cell::Int(r.parcels),
                        Cell::Money(Some(r.shipping_fen)),
                        Cell::Money(Some(r.per_parcel_fen)),
                    ]
                })
                .collect(),
        },
        error_trend(report),
        Table {
            name: SHEETS[11],
            headers: vec!["平台", "有时限的已发货", "按时发货", "准时发货率"],
            rows: report
                .on_time
                .iter()
                .map(|r| {
                    vec![
                        platform(&r.platform),
                        Cell::Int(r.shipped),
                        Cell::Int(r.on_time),
                        Cell::Rate(r.rate_bp),
                    ]
                })
                .collect(),
        },
    ]
}

/// One row per day, one column per error kind (the shape Excel charts a trend from), and the
/// day's total.
fn error_trend(report: &Report) -> Table {
    let mut days: BTreeMap<NaiveDate, [i64; ErrorKind::ALL.len()]> = BTreeMap::new();
    for row in &report.errors {
        let i = ErrorKind::ALL
            .iter()
            .position(|k| *k == row.kind)
            .unwrap_or(0);
        days.entry(row.day).or_default()[i] += row.count;
    }
    let mut headers = vec!["日期"];
    headers.extend(ErrorKind::ALL.map(ErrorKind::label_zh));
    headers.push("合计");
    Table {
        name: SHEETS[10],
        headers,
        rows: days
            .into_iter()
            .map(|(day, counts)| {
                let mut row = vec![Cell::Date(day)];
                row.extend(counts.map(Cell::Int));
                row.push(Cell::Int(counts.iter().sum()));
                row
            })
            .collect(),
    }
}

/// Writes the report as an xlsx workbook, `period_label` (e.g. "2025-06-01 至 2025-06-30")
/// on the overview sheet. Text from merchants (SKU codes, the label) that a spreadsheet could
/// evaluate gets Excel's quote prefix.
pub fn report_xlsx(report: &Report, period_label: &str) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    for table in tables(report, period_label) {
        write_table(workbook.add_worksheet(), &table)?;
    }
    workbook.save_to_buffer()
}

struct Formats {
    bold: Format,
    plain: Format,
    text: Format,
    percent: Format,
    money: Format,
    hours: Format,
    date: Format,
}

impl Formats {
    fn new() -> Formats {
        Formats {
            bold: Format::new().set_bold(),
            plain: Format::new(),
            text: Format::new().set_num_format("@"),
            percent: Format::new().set_num_format("0.00%"),
            money: Format::new().set_num_format("0.00"),
            hours: Format::new().set_num_format("0.0"),
            date: Format::new().set_num_format("yyyy-mm-dd"),
        }
    }
}

fn write_table(sheet: &mut Worksheet, table: &Table) -> Result<(), XlsxError> {
    let f = Formats::new();
    sheet.set_name(table.name)?;
    for (c, header) in table.headers.iter().enumerate() {
        let c = u16::try_from(c).map_err(|_| XlsxError::RowColumnLimitError)?;
        sheet.write_string_with_format(0, c, *header, &f.bold)?;
        // Chinese characters are about two columns wide.
        let width = header.chars().count().max(6) * 2 + 2;
        sheet.set_column_width(c, width as f64)?;
    }
    for (i, row) in table.rows.iter().enumerate() {
        let r = u32::try_from(i + 1).map_err(|_| XlsxError::RowColumnLimitError)?;
        for (c, cell) in row.iter().enumerate() {
            let c = u16::try_from(c).map_err(|_| XlsxError::RowColumnLimitError)?;
            match cell {
                Cell::Text(t) => write_text(sheet, r, c, t, &f.plain)?,
                Cell::Code(t) => write_text(sheet, r, c, t, &f.text)?,
                Cell::Int(n) => {
                    sheet.write_number(r, c, *n as f64)?;
                }
                Cell::Rate(Some(bp)) => {
                    sheet.write_number_with_format(r, c, *bp as f64 / 10_000.0, &f.percent)?;
                }
                Cell::Money(Some(fen)) => {
                    sheet.write_number_with_format(r, c, *fen as f64 / 100.0, &f.money)?;
                }
                Cell::Rate(None) | Cell::Money(None) => {}
                Cell::Hours(minutes) => {
                    sheet.write_number_with_format(r, c, *minutes as f64 / 60.0, &f.hours)?;
                }
                Cell::Date(day) => {
                    let date = ExcelDateTime::from_ymd(
                        u16::try_from(day.year())
                            .map_err(|_| XlsxError::DateTimeRangeError(day.to_string()))?,
                        day.month() as u8,
                        day.day() as u8,
                    )?;
                    sheet.write_datetime_with_format(r, c, date, &f.date)?;
                }
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

fn write_text(
    sheet: &mut Worksheet,
    r: u32,
    c: u16,
    t: &str,
    base: &Format,
) -> Result<(), XlsxError> {
    if t.is_empty() {
        return Ok(());
    }
    if is_formula_like(t) {
        sheet.write_string_with_format(r, c, t, &base.clone().set_quote_prefix())?;
    } else {
        sheet.write_string_with_format(r, c, t, base)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, DataType, Reader, Xlsx};
    use fahuo_domain::reports::{
        CarrierCost, CostSummary, Distance, ErrorTrendRow, OnTimeRow, PickupRow, TransitRow,
        WeightBand,
    };
    use std::io::Cursor;

    fn report() -> Report {
        let day = |d| NaiveDate::from_ymd_opt(2025, 6, d).unwrap();
        let rate = |key: &str, total, count, rate_bp| RateRow {
            key: key.into(),
            total,
            count,
            rate_bp,
        };
        Report {
            parcels: 11,
            pickup: vec![
                PickupRow {
                    carrier: "*".into(),
                    printed: 9,
                    picked_up_24h: 7,
                    rate_bp: Some(7778),
                },
                PickupRow {
                    carrier: "ZTO".into(),
                    printed: 0,
                    picked_up_24h: 0,
                    rate_bp: None,
                },
            ],
            transit: vec![TransitRow {
                carrier: "YTO".into(),
                distance: Distance::InterProvince,
                band: WeightBand::UpTo3Kg,
                delivered: 3,
                mean_minutes: 1560,
                median_minutes: 1440,
                p90_minutes: 2170,
            }],
            exceptions_by_carrier: vec![rate("SF", 3, 1, 3333)],
            exceptions_by_sku: vec![rate("00123", 5, 3, 6000), rate("=HYPERLINK(1)", 1, 0, 0)],
            exceptions_by_province: vec![rate("江苏省", 4, 1, 2500)],
            returns_by_carrier: vec![],
            returns_by_sku: vec![],
            returns_by_province: vec![],
            cost: CostSummary {
                orders: 12,
                shipping_fen: 6800,
                packaging_fen: 1140,
                per_order_fen: Some(661),
                packaging_share_bp: Some(1436),
            },
            cost_by_carrier: vec![CarrierCost {
                carrier: "YTO".into(),
                parcels: 4,
                shipping_fen: 3300,
                per_parcel_fen: 825,
            }],
            errors: vec![
                ErrorTrendRow {
                    day: day(8),
                    kind: ErrorKind::LateShipment,
                    count: 3,
                },
                ErrorTrendRow {
                    day: day(9),
                    kind: ErrorKind::Address,
                    count: 1,
                },
                ErrorTrendRow {
                    day: day(9),
                    kind: ErrorKind::WrongItem,
                    count: 2,
                },
            ],
            on_time: vec![
                OnTimeRow {
                    platform: "*".into(),
                    shipped: 10,
                    on_time: 7,
                    rate_bp: Some(7000),
                },
                OnTimeRow {
                    platform: "douyin".into(),
                    shipped: 5,
                    on_time: 4,
                    rate_bp: Some(8000),
                },
            ],
        }
    }

    fn read(bytes: Vec<u8>) -> Xlsx<Cursor<Vec<u8>>> {
        Xlsx::new(Cursor::new(bytes)).expect("a readable workbook")
    }

    fn cell(book: &mut Xlsx<Cursor<Vec<u8>>>, sheet: &str, r: u32, c: u32) -> Data {
        let range = book.worksheet_range(sheet).expect(sheet);
        range.get_value((r, c)).cloned().unwrap_or(Data::Empty)
    }

    fn text(s: &str) -> Data {
        Data::String(s.into())
    }

    fn close(d: Data, want: f64) {
        match d {
            Data::Float(f) => assert!((f - want).abs() < 1e-9, "{f} != {want}"),
            Data::Int(i) => assert_eq!(i as f64, want),
            other => panic!("{other:?} is not {want}"),
        }
    }

    #[test]
    fn sheets_headers_and_values() {
        let bytes = report_xlsx(&report(), "2025-06-08 至 2025-06-10").unwrap();
        let mut book = read(bytes);
        assert_eq!(book.sheet_names(), SHEETS.map(String::from).to_vec());

        // Overview: label, counts, money in 元, share as a fraction.
        assert_eq!(cell(&mut book, "概览", 0, 0), text("项目"));
        assert_eq!(
            cell(&mut book, "概览", 1, 1),
            text("2025-06-08 至 2025-06-10")
        );
        close(cell(&mut book, "概览", 2, 1), 11.0);
        close(cell(&mut book, "概览", 4, 1), 68.0); // 6800 fen
        close(cell(&mut book, "概览", 6, 1), 6.61); // 661 fen
        close(cell(&mut book, "概览", 7, 1), 0.1436); // 1436 bp

        // Pickup: "*" is 全部, carriers by name, no rate → empty cell.
        assert_eq!(cell(&mut book, "揽收率", 0, 3), text("揽收率"));
        assert_eq!(cell(&mut book, "揽收率", 1, 0), text("全部"));
        close(cell(&mut book, "揽收率", 1, 3), 0.7778);
        assert_eq!(
            cell(&mut book, "揽收率", 2, 0),
            text(&carrier_name_zh("ZTO"))
        );
        assert_eq!(cell(&mut book, "揽收率", 2, 3), Data::Empty);

        // Transit in hours: 1560 min = 26 h, 2170 min = 36.1666… h (shown 36.2).
        assert_eq!(cell(&mut book, "时效", 0, 4), text("平均(小时)"));
        assert_eq!(cell(&mut book, "时效", 1, 1), text("跨省"));
        assert_eq!(cell(&mut book, "时效", 1, 2), text("1-3kg"));
        close(cell(&mut book, "时效", 1, 4), 26.0);
        close(cell(&mut book, "时效", 1, 6), 2170.0 / 60.0);

        // SKU codes stay text; a formula-like code is a string, never a formula.
        assert_eq!(cell(&mut book, "异常率-商品", 0, 0), text("商品编码"));
        assert_eq!(cell(&mut book, "异常率-商品", 1, 0), text("00123"));
        close(cell(&mut book, "异常率-商品", 1, 3), 0.6);
        assert_eq!(cell(&mut book, "异常率-商品", 2, 0), text("=HYPERLINK(1)"));
        assert_eq!(cell(&mut book, "异常率-省份", 1, 0), text("江苏省"));
        // An empty table keeps its headers.
        assert_eq!(cell(&mut book, "退货率-快递", 0, 3), text("退货率"));
        assert_eq!(cell(&mut book, "退货率-快递", 1, 0), Data::Empty);

        close(cell(&mut book, "运费-快递", 1, 3), 8.25);

        // Error trend: one row per day, one column per kind, then the total.
        let headers: Vec<Data> = (0..6).map(|c| cell(&mut book, "差错趋势", 0, c)).collect();
        let want = [
            "日期",
            "地址问题",
            "错发漏发",
            "单号错误",
            "超时发货",
            "合计",
        ];
        assert_eq!(headers, want.map(text).to_vec());
        let d = cell(&mut book, "差错趋势", 1, 0);
        assert_eq!(
            d.as_date(),
            NaiveDate::from_ymd_opt(2025, 6, 8),
            "a date cell: {d:?}"
        );
        close(cell(&mut book, "差错趋势", 1, 4), 3.0);
        close(cell(&mut book, "差错趋势", 2, 1), 1.0);
        close(cell(&mut book, "差错趋势", 2, 2), 2.0);
        close(cell(&mut book, "差错趋势", 2, 5), 3.0);

        assert_eq!(cell(&mut book, "准时发货率", 2, 0), text("抖店"));
        close(cell(&mut book, "准时发货率", 2, 3), 0.8);
    }

    #[test]
    fn empty_report() {
        let empty = fahuo_domain::reports::build(&[], chrono::Utc::now());
        let mut book = read(report_xlsx(&empty, "").unwrap());
        assert_eq!(book.sheet_names().len(), SHEETS.len());
        // No cost per order without orders: an empty cell, not 0.
        assert_eq!(cell(&mut book, "概览", 6, 1), Data::Empty);
        assert_eq!(cell(&mut book, "准时发货率", 1, 0), text("全部"));
    }
}
