//! From a grid of cells to orders: find the header row, map columns, read each row's cells
//! into values, group rows by order number, and validate each order through the same
//! [`OrderInput::parse`] as the API. Every problem becomes a [`CellError`] on the row and
//! column where the merchant can fix it.
//!
//! Order-level cells (receiver, freight, notes, deadline) may be filled on the first row of an
//! order only, as merged cells leave them; a later row that fills one differently is an error.
//! A row with a blank order number continues the order of the row above (merged order-number
//! cells), with a warning.

use super::columns::{Field, field_for};
use super::file::{FileFormat, Sheet, SheetRow};
use super::{ColumnMapping, ImportError};
use crate::orders::{LineInput, OrderInput, ReceiverInput};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use fahuo_domain::order::NewOrder;
use fahuo_domain::{Fen, ParseError, PlatformOrderId};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// How many rows from the top may hold the header row (titles above it are skipped).
const HEADER_SEARCH_ROWS: usize = 10;

/// A problem with one cell (or one row), in English and Chinese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CellError {
    /// The column's header as written in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<Field>,
    pub message: String,
    pub message_zh: String,
}

/// One data row of the file: ok, or what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowReport {
    /// The row number as Excel shows it.
    pub row: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_no: Option<String>,
    pub ok: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<CellError>,
    /// Not errors, but worth a look (an address fahuo corrected, a merged order-number cell).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<CellError>,
}

/// One order of the file: its rows and, when every row is valid, the validated order.
#[derive(Debug, Clone)]
pub struct ImportOrder {
    pub platform_order_id: String,
    pub rows: Vec<u32>,
    pub order: Option<NewOrder>,
}

/// A parsed file: what was read, every row's verdict and the orders.
#[derive(Debug, Clone)]
pub struct ParsedFile {
    pub shop_id: i64,
    pub format: FileFormat,
    pub encoding: Option<&'static str>,
    pub sheet_name: Option<String>,
    pub header_row: u32,
    pub columns: Vec<ColumnMapping>,
    pub ignored_columns: Vec<String>,
    pub address_parsed: bool,
    pub rows: Vec<RowReport>,
    pub orders: Vec<ImportOrder>,
}

fn err(
    column: Option<&str>,
    field: Option<Field>,
    en: impl Into<String>,
    zh: impl Into<String>,
) -> CellError {
    CellError {
        column: column.map(String::from),
        field,
        message: en.into(),
        message_zh: zh.into(),
    }
}

/// Where each field is read from.
struct Mapping {
    headers: Vec<String>,
    columns: BTreeMap<Field, Vec<usize>>,
}

impl Mapping {
    fn has(&self, f: Field) -> bool {
        self.columns.contains_key(&f)
    }

    /// The first non-blank cell of the field's columns, with its column index.
    fn get<'a>(&self, row: &'a SheetRow, f: Field) -> Option<(&'a str, usize)> {
        self.columns
            .get(&f)?
            .iter()
            .map(|&c| (row.cell(c), c))
            .find(|(v, _)| !v.is_empty())
    }

    fn header(&self, col: usize) -> &str {
        self.headers.get(col).map(|h| h.trim()).unwrap_or("")
    }

    fn header_of(&self, f: Field) -> Option<&str> {
        self.columns.get(&f)?.first().map(|&c| self.header(c))
    }
}

/// How the receiver's address is given.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AddressMode {
    /// Province, city, county and detail in their own columns.
    Split,
    /// One cell with the whole address (maybe with name and phone), split by fahuo-address.
    Parse(Field),
}

const ORDER_FIELDS: [Field; 13] = [
    Field::ReceiverName,
    Field::Phone,
    Field::Province,
    Field::City,
    Field::County,
    Field::Detail,
    Field::FullAddress,
    Field::OrderPaid,
    Field::Freight,
    Field::BuyerNote,
    Field::SellerNote,
    Field::ShipBy,
    Field::PresaleShipAt,
];

fn is_money(f: Field) -> bool {
    matches!(
        f,
        Field::UnitPrice | Field::LinePaid | Field::OrderPaid | Field::Freight
    )
}

pub(super) fn parse_sheet(
    sheet: Sheet,
    shop_id: i64,
    now: DateTime<Utc>,
    max_rows: usize,
) -> Result<ParsedFile, ImportError> {
    let (header_index, mapping) = find_header(&sheet)?;
    let mode = address_mode(&mapping)?;
    let header_row = sheet.rows[header_index].number;
    let data = &sheet.rows[header_index + 1..];
    if data.is_empty() {
        return Err(ImportError::HeaderOnly);
    }
    if data.len() > max_rows {
        return Err(ImportError::TooManyRows { max_rows });
    }
    let mut columns = Vec::new();
    let mut ignored_columns = Vec::new();
    for (i, h) in mapping.headers.iter().enumerate() {
        if h.trim().is_empty() {
            continue;
        }
        match mapping.columns.iter().find(|(_, cols)| cols.contains(&i)) {
            Some((f, _)) => columns.push(ColumnMapping {
                header: h.trim().to_string(),
                field: *f,
            }),
            None => ignored_columns.push(h.trim().to_string()),
        }
    }

    // Read every row; group by order number, keeping the file's order.
    let mut reports: Vec<RowReport> = Vec::with_capacity(data.len());
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    let mut group_of: HashMap<String, usize> = HashMap::new();
    let mut lines: Vec<Option<LineInput>> = Vec::with_capacity(data.len());
    let mut previous_order: Option<String> = None;
    for row in data {
        let mut report = RowReport {
            row: row.number,
            order_no: None,
            ok: true,
            errors: Vec::new(),
            warnings: Vec::new(),
        };
        let order_no = match mapping.get(row, Field::OrderNo) {
            Some((v, _)) => Some(v.to_string()),
            None => match &previous_order {
                Some(prev) => {
                    report.warnings.push(err(
                        mapping.header_of(Field::OrderNo),
                        Some(Field::OrderNo),
                        format!(
                            "no order number: taken as a line of order {prev} in the row above"
                        ),
                        format!("订单号为空，已视为上一行订单 {prev} 的商品"),
                    ));
                    Some(prev.clone())
                }
                None => {
                    report.errors.push(err(
                        mapping.header_of(Field::OrderNo),
                        Some(Field::OrderNo),
                        "the order number is missing",
                        "订单号不能为空",
                    ));
                    None
                }
            },
        };
        lines.push(read_line(&mapping, row, &mut report.errors));
        if let Some(no) = &order_no {
            let g = *group_of.entry(no.clone()).or_insert_with(|| {
                groups.push((no.clone(), Vec::new()));
                groups.len() - 1
            });
            groups[g].1.push(reports.len());
        }
        report.order_no = order_no.clone();
        previous_order = order_no;
        reports.push(report);
    }

    let mut orders = Vec::with_capacity(groups.len());
    for (order_no, members) in groups {
        let order = build_order(
            &mapping,
            mode,
            data,
            &order_no,
            &members,
            &lines,
            &mut reports,
            shop_id,
            now,
        );
        orders.push(ImportOrder {
            platform_order_id: order_no,
            rows: members.iter().map(|&i| data[i].number).collect(),
            order,
        });
    }
    for r in &mut reports {
        r.errors.dedup();
        r.ok = r.errors.is_empty();
    }
    // An order is imported only if all of its rows are valid.
    for o in &mut orders {
        if reports.iter().any(|r| !r.ok && o.rows.contains(&r.row)) {
            o.order = None;
        }
    }
    Ok(ParsedFile {
        shop_id,
        format: sheet.format,
        encoding: sheet.encoding,
        sheet_name: sheet.sheet_name,
        header_row,
        columns,
        ignored_columns,
        address_parsed: matches!(mode, AddressMode::Parse(_)),
        rows: reports,
        orders,
    })
}

/// The header row is the first of the top rows that names at least two known columns.
fn find_header(sheet: &Sheet) -> Result<(usize, Mapping), ImportError> {
    for (i, row) in sheet.rows.iter().take(HEADER_SEARCH_ROWS).enumerate() {
        let mut columns: BTreeMap<Field, Vec<usize>> = BTreeMap::new();
        for (c, h) in row.cells.iter().enumerate() {
            if let Some(f) = field_for(h) {
                columns.entry(f).or_default().push(c);
            }
        }
        if columns.len() >= 2 {
            return Ok((
                i,
                Mapping {
                    headers: row.cells.clone(),
                    columns,
                },
            ));
        }
    }
    let (missing, missing_en) =
        required_labels(&[Field::OrderNo, Field::Title, Field::Quantity], true, true);
    Err(ImportError::MissingColumns {
        missing,
        missing_en,
        no_header: true,
    })
}

fn required_labels(fields: &[Field], address: bool, receiver: bool) -> (Vec<String>, Vec<String>) {
    let mut zh: Vec<String> = fields.iter().map(|f| f.label_zh().to_string()).collect();
    let mut en: Vec<String> = fields.iter().map(|f| f.label_en().to_string()).collect();
    if receiver {
        for f in [Field::ReceiverName, Field::Phone] {
            zh.push(f.label_zh().into());
            en.push(f.label_en().into());
        }
    }
    if address {
        zh.push("收货地址（或 省、市、区(县)、详细地址）".into());
        en.push("full address (or province, city, county and detail)".into());
    }
    (zh, en)
}

fn address_mode(m: &Mapping) -> Result<AddressMode, ImportError> {
    let mut missing: Vec<Field> = [Field::OrderNo, Field::Title, Field::Quantity]
        .into_iter()
        .filter(|f| !m.has(*f))
        .collect();
    let mode = if m.has(Field::Province) {
        if !m.has(Field::Detail) && !m.has(Field::FullAddress) {
            missing.push(Field::Detail);
        }
        Some(AddressMode::Split)
    } else if m.has(Field::FullAddress) {
        Some(AddressMode::Parse(Field::FullAddress))
    } else if m.has(Field::Detail) {
        Some(AddressMode::Parse(Field::Detail))
    } else {
        None
    };
    if mode == Some(AddressMode::Split) {
        missing.extend(
            [Field::ReceiverName, Field::Phone]
                .into_iter()
                .filter(|f| !m.has(*f)),
        );
    }
    match mode {
        Some(mode) if missing.is_empty() => Ok(mode),
        _ => {
            let (missing, missing_en) = required_labels(&missing, mode.is_none(), false);
            Err(ImportError::MissingColumns {
                missing,
                missing_en,
                no_header: false,
            })
        }
    }
}

/// Full-width digits and punctuation as typed with a Chinese input method, made ASCII.
fn ascii_digits(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '．' | '。' => '.',
            '，' => ',',
            _ => c,
        })
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// A yuan amount as merchants type it ("12.5", "¥12.50", "1,299.00", "12元") → exact fen.
fn parse_money(cell: &str) -> Result<Fen, ParseError> {
    let s = ascii_digits(cell);
    let s = s.strip_suffix('元').unwrap_or(&s);
    Fen::parse_yuan(s)
}

fn parse_quantity(cell: &str) -> Option<i64> {
    let s = ascii_digits(cell);
    let s = s.trim_end_matches(['件', '个', '份', '套', '只']);
    let s = match s.split_once('.') {
        Some((whole, frac)) if frac.chars().all(|c| c == '0') => whole,
        Some(_) => return None,
        None => s,
    };
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A time as typed or as an xlsx date cell reads; naive times are Beijing time. A date alone
/// means the end of that day (a deadline "2026-11-20" is met on the 20th).
fn parse_time(cell: &str) -> Option<DateTime<Utc>> {
    let s = cell.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let beijing = FixedOffset::east_opt(8 * 3600)?;
    let s = s
        .replace(['年', '月'], "-")
        .replace('日', " ")
        .replace('/', "-");
    let s = s.trim();
    let naive = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .map(|d| d.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default()))
        })?;
    beijing
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// Excel turns long numbers into "6.92100000000000E+18" and loses digits.
fn scientific(s: &str) -> bool {
    let upper = s.to_ascii_uppercase();
    match upper.split_once('E') {
        Some((mantissa, exp)) => {
            !mantissa.is_empty()
                && mantissa.chars().all(|c| c.is_ascii_digit() || c == '.')
                && exp
                    .trim_start_matches('+')
                    .chars()
                    .all(|c| c.is_ascii_digit())
                && !exp.trim_start_matches('+').is_empty()
        }
        None => false,
    }
}

/// The line of a row; cell errors go to `errors`.
fn read_line(m: &Mapping, row: &SheetRow, errors: &mut Vec<CellError>) -> Option<LineInput> {
    let mut ok = true;
    let title = m.get(row, Field::Title).map(|(v, _)| v.to_string());
    if title.is_none() {
        errors.push(err(
            m.header_of(Field::Title),
            Some(Field::Title),
            "the product name is missing",
            "商品名称不能为空",
        ));
        ok = false;
    }
    let quantity = match m.get(row, Field::Quantity) {
        None => {
            errors.push(err(
                m.header_of(Field::Quantity),
                Some(Field::Quantity),
                "the quantity is missing",
                "数量不能为空",
            ));
            None
        }
        Some((v, c)) => {
            let q = parse_quantity(v).filter(|q| *q >= 1);
            if q.is_none() {
                errors.push(err(
                    Some(m.header(c)),
                    Some(Field::Quantity),
                    format!("not a whole number of at least 1: {v:?}"),
                    format!("数量须为大于 0 的整数：{v}"),
                ));
            }
            q
        }
    };
    let mut money = |f: Field| -> Option<Fen> {
        let (v, c) = m.get(row, f)?;
        match parse_money(v) {
            Ok(fen) => Some(fen),
            Err(_) => {
                errors.push(err(
                    Some(m.header(c)),
                    Some(f),
                    format!("not an amount in yuan with at most two decimals: {v:?}"),
                    format!("金额格式不正确（以元为单位，最多两位小数，如 12.50）：{v}"),
                ));
                ok = false;
                None
            }
        }
    };
    let unit_price = money(Field::UnitPrice);
    let paid = money(Field::LinePaid);
    let (title, quantity) = (title?, quantity?);
    if !ok {
        return None;
    }
    let title = match m.get(row, Field::Spec) {
        Some((spec, _)) => format!("{title} {spec}"),
        None => title,
    };
    // Without a unit price, a paid amount that divides evenly gives it; otherwise it is 0.
    let unit_price_fen = unit_price.map(Fen::get).unwrap_or_else(|| {
        paid.map(Fen::get)
            .filter(|p| p % quantity == 0)
            .map(|p| p / quantity)
            .unwrap_or(0)
    });
    Some(LineInput {
        sku_code: m.get(row, Field::SkuCode).map(|(v, _)| v.to_string()),
        title,
        quantity,
        unit_price_fen,
        paid_fen: paid.map(Fen::get),
    })
}

/// An order-level value: the first row that fills it, and where.
struct Source {
    value: String,
    row: usize,
    col: usize,
}

#[allow(clippy::too_many_arguments)]
fn build_order(
    m: &Mapping,
    mode: AddressMode,
    data: &[SheetRow],
    order_no: &str,
    members: &[usize],
    lines: &[Option<LineInput>],
    reports: &mut [RowReport],
    shop_id: i64,
    now: DateTime<Utc>,
) -> Option<NewOrder> {
    let first = members[0];
    // Merge order-level cells; a later row may leave them blank but not contradict them.
    let mut merged: BTreeMap<Field, Source> = BTreeMap::new();
    for &i in members {
        for f in ORDER_FIELDS {
            let Some((v, col)) = m.get(&data[i], f) else {
                continue;
            };
            match merged.get(&f) {
                None => {
                    merged.insert(
                        f,
                        Source {
                            value: v.to_string(),
                            row: i,
                            col,
                        },
                    );
                }
                Some(s) if same_value(f, &s.value, v) => {}
                Some(s) => {
                    let other = data[s.row].number;
                    reports[i].errors.push(err(
                        Some(m.header(col)),
                        Some(f),
                        format!(
                            "order {order_no}: the {} differs from row {other} of the same order",
                            f.label_en()
                        ),
                        format!(
                            "同一订单 {order_no} 的{}与第 {other} 行不一致",
                            f.label_zh()
                        ),
                    ));
                }
            }
        }
    }
    let at = |f: Field| merged.get(&f);
    let mut order_errors: Vec<(usize, CellError)> = Vec::new();
    let mut fail = |s: &Source, f: Field, en: String, zh: String| {
        order_errors.push((s.row, err(Some(m.header(s.col)), Some(f), en, zh)));
    };

    let mut money = |f: Field| -> Option<i64> {
        let s = at(f)?;
        match parse_money(&s.value) {
            Ok(fen) => Some(fen.get()),
            Err(_) => {
                fail(
                    s,
                    f,
                    format!(
                        "not an amount in yuan with at most two decimals: {:?}",
                        s.value
                    ),
                    format!(
                        "金额格式不正确（以元为单位，最多两位小数，如 12.50）：{}",
                        s.value
                    ),
                );
                None
            }
        }
    };
    let freight = money(Field::Freight);
    let order_paid = money(Field::OrderPaid);
    let mut time = |f: Field| -> Option<DateTime<Utc>> {
        let s = at(f)?;
        let t = parse_time(&s.value);
        if t.is_none() {
            fail(
                s,
                f,
                format!("not a date and time: {:?} (e.g. 2026-11-20 18:00)", s.value),
                format!("时间格式不正确：{}（例如 2026-11-20 18:00）", s.value),
            );
        }
        t
    };
    let ship_by = time(Field::ShipBy);
    let presale_ship_at = time(Field::PresaleShipAt);
    let text = |f: Field| at(f).map(|s| s.value.clone());

    if scientific(order_no) {
        reports[first].errors.push(err(
            m.header_of(Field::OrderNo),
            Some(Field::OrderNo),
            "the order number was shown by Excel in scientific notation and lost digits; format the column as text",
            "订单号被 Excel 显示为科学计数法，数字已丢失；请把该列设为“文本”格式后重新填写",
        ));
    } else if let Err(e) = PlatformOrderId::parse(order_no) {
        let (en, zh) = parse_error_text(&e);
        reports[first].errors.push(err(
            m.header_of(Field::OrderNo),
            Some(Field::OrderNo),
            en,
            zh,
        ));
    }

    // The receiver, and which cell each of its parts came from (for error messages).
    let mut warnings: Vec<(usize, CellError)> = Vec::new();
    let receiver = match mode {
        AddressMode::Split => Some(ReceiverInput {
            name: text(Field::ReceiverName).unwrap_or_default(),
            phone: text(Field::Phone).unwrap_or_default(),
            province: text(Field::Province).unwrap_or_default(),
            city: text(Field::City).unwrap_or_default(),
            county: text(Field::County).unwrap_or_default(),
            detail: text(Field::Detail)
                .or_else(|| text(Field::FullAddress))
                .unwrap_or_default(),
        }),
        AddressMode::Parse(f) => {
            match at(f) {
                None => {
                    reports[first].errors.push(err(
                        m.header_of(f),
                        Some(f),
                        "the address is missing",
                        "收货地址不能为空",
                    ));
                    None
                }
                Some(s) => {
                    let p = fahuo_address::parse(&s.value);
                    let reasons: Vec<String> = p
                        .reasons
                        .iter()
                        .filter(|r| r.severity() != fahuo_address::Severity::Info)
                        .map(|r| format!("{r:?}"))
                        .collect();
                    match p.verdict {
                        fahuo_address::Verdict::Incomplete => {
                            fail(
                                s,
                                f,
                                format!(
                                    "the address could not be split into province, city and county ({})",
                                    reasons.join(", ")
                                ),
                                "无法从收货地址中识别出完整的省、市、区(县)和详细地址，请补全"
                                    .into(),
                            );
                            None
                        }
                        verdict => {
                            if verdict == fahuo_address::Verdict::Review {
                                warnings.push((
                                s.row,
                                err(
                                    Some(m.header(s.col)),
                                    Some(f),
                                    format!("the address was corrected or is ambiguous ({}); check it", reasons.join(", ")),
                                    "收货地址经自动纠正或存在歧义，请核对",
                                ),
                            ));
                            }
                            let name = text(Field::ReceiverName)
                                .or_else(|| p.name.as_deref().map(String::from));
                            let phone =
                                text(Field::Phone).or_else(|| p.phone.as_deref().map(String::from));
                            if name.is_none() {
                                fail(
                                s,
                                Field::ReceiverName,
                                "no receiver name: add a name column or write the name in the address".into(),
                                "缺少收件人姓名：请增加收件人列，或在收货地址中写上姓名".into(),
                            );
                            }
                            if phone.is_none() {
                                fail(
                                s,
                                Field::Phone,
                                "no phone: add a phone column or write the phone in the address".into(),
                                "缺少手机号：请增加手机列，或在收货地址中写上手机号".into(),
                            );
                            }
                            Some(ReceiverInput {
                                name: name.unwrap_or_default(),
                                phone: phone.unwrap_or_default(),
                                province: p.province.unwrap_or_default().to_string(),
                                city: p.city.unwrap_or_default().to_string(),
                                county: p.county.unwrap_or_default().to_string(),
                                detail: format!("{}{}", p.town.as_deref().unwrap_or(""), p.detail),
                            })
                        }
                    }
                }
            }
        }
    };

    // Where a receiver error points: its own column, or the address cell it was parsed from.
    let source_of = |f: Field| -> (usize, Option<&str>) {
        match (at(f), mode) {
            (Some(s), _) => (s.row, Some(m.header(s.col))),
            (None, AddressMode::Parse(af)) => {
                let s = at(af);
                (
                    s.map(|s| s.row).unwrap_or(first),
                    s.map(|s| m.header(s.col)),
                )
            }
            (None, AddressMode::Split) => (first, m.header_of(f)),
        }
    };
    if let Some(r) = &receiver
        && let Err(e) = r.parse()
    {
        let f = error_field(&e, mode);
        let (row, col) = source_of(f);
        let (en, zh) = parse_error_text(&e);
        order_errors.push((row, err(col, Some(f), en, zh)));
    }
    for (row, e) in order_errors.drain(..) {
        reports[row].errors.push(e);
    }
    for (row, w) in warnings {
        reports[row].warnings.push(w);
    }
    // With the order-level part in error, line checks would only repeat it.
    let order_level_failed = members.iter().any(|&i| {
        reports[i]
            .errors
            .iter()
            .any(|e| e.field.is_some_and(|f| !is_line_field(f)))
    });
    let receiver = receiver?;
    let input = |lines: Vec<LineInput>| OrderInput {
        shop_id,
        platform_order_id: order_no.to_string(),
        paid_total_fen: order_paid,
        freight_fen: freight.unwrap_or(0),
        buyer_note: text(Field::BuyerNote),
        seller_note: text(Field::SellerNote),
        ship_by,
        presale_ship_at,
        receiver: receiver.clone(),
        lines,
    };
    if order_level_failed {
        return None;
    }
    // Each line on its own, so that a line's error points at its row.
    for &i in members {
        let Some(line) = &lines[i] else { continue };
        if let Err(e) = input(vec![line.clone()]).parse(now) {
            let f = error_field(&e, mode);
            let (en, zh) = parse_error_text(&e);
            let (row, col) = if is_line_field(f) {
                (i, m.header_of(f))
            } else {
                source_of(f)
            };
            reports[row].errors.push(err(col, Some(f), en, zh));
        }
    }
    if members.iter().any(|&i| !reports[i].errors.is_empty()) {
        return None;
    }
    let all: Vec<LineInput> = members.iter().filter_map(|&i| lines[i].clone()).collect();
    match input(all).parse(now) {
        Ok(order) => Some(order),
        Err(e) => {
            let f = error_field(&e, mode);
            let (en, zh) = parse_error_text(&e);
            reports[first]
                .errors
                .push(err(m.header_of(f), Some(f), en, zh));
            None
        }
    }
}

fn is_line_field(f: Field) -> bool {
    matches!(
        f,
        Field::Title
            | Field::Spec
            | Field::SkuCode
            | Field::Quantity
            | Field::UnitPrice
            | Field::LinePaid
    )
}

fn same_value(f: Field, a: &str, b: &str) -> bool {
    if is_money(f)
        && let (Ok(x), Ok(y)) = (parse_money(a), parse_money(b))
    {
        return x == y;
    }
    let squash = |s: &str| s.split_whitespace().collect::<String>();
    squash(a) == squash(b)
}

/// The column a domain [`ParseError`] is about.
fn error_field(e: &ParseError, mode: AddressMode) -> Field {
    let address = match mode {
        AddressMode::Split => None,
        AddressMode::Parse(f) => Some(f),
    };
    match e.field {
        "platform_order_id" => Field::OrderNo,
        "receiver.name" => Field::ReceiverName,
        "phone" | "receiver.phone" => Field::Phone,
        "receiver.province" => address.unwrap_or(Field::Province),
        "receiver.detail" => address.unwrap_or(Field::Detail),
        "sku_code" => Field::SkuCode,
        "lines.quantity" => Field::Quantity,
        "lines.title" => Field::Title,
        "lines.paid" => Field::LinePaid,
        "paid_total" | "amount" => Field::OrderPaid,
        _ => Field::OrderNo,
    }
}

/// A domain error in English (as the domain wrote it) and in Chinese.
fn parse_error_text(e: &ParseError) -> (String, String) {
    let zh = match e.field {
        "platform_order_id" => "订单号只能包含字母、数字和 - _ . / # +，最长 64 位",
        "receiver.name" => "收件人姓名须为 1 到 50 个字",
        "phone" | "receiver.phone" => "手机号格式不正确（11 位手机号，或带区号的座机号）",
        "receiver.province" => "缺少省份",
        "receiver.detail" => "详细地址须为 1 到 300 个字",
        "sku_code" => "商家编码只能包含字母、数字和 - _ . / # +，最长 64 位",
        "lines.quantity" => "数量须在 1 到 100000 之间",
        "lines.title" => "商品名称不能为空",
        "lines.paid" | "paid_total" | "amount" => "金额不能为负数",
        "lines" => "一个订单最多 500 行商品",
        _ => "输入有误",
    };
    (e.to_string(), zh.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_read_exactly_as_typed() {
        assert_eq!(parse_money("12.5"), Ok(Fen(1250)));
        assert_eq!(parse_money("¥12.50"), Ok(Fen(1250)));
        assert_eq!(parse_money("1,299.00"), Ok(Fen(129900)));
        assert_eq!(parse_money("￥３９元"), Ok(Fen(3900)));
        assert!(parse_money("12.345").is_err());
        assert!(parse_money("十二").is_err());
    }

    #[test]
    fn quantities_are_whole_numbers() {
        assert_eq!(parse_quantity("2"), Some(2));
        assert_eq!(parse_quantity("2.0"), Some(2));
        assert_eq!(parse_quantity("３件"), Some(3));
        assert_eq!(parse_quantity("1.5"), None);
        assert_eq!(parse_quantity("-1"), None);
        assert_eq!(parse_quantity("两"), None);
    }

    #[test]
    fn times_are_beijing_time() {
        let t = parse_time("2026-11-20 18:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-20T10:00:00+00:00");
        assert_eq!(parse_time("2026/11/20 18:00:00"), Some(t));
        assert_eq!(parse_time("2026年11月20日 18:00"), Some(t));
        assert_eq!(
            parse_time("2026-11-20").unwrap().to_rfc3339(),
            "2026-11-20T15:59:59+00:00"
        );
        assert_eq!(parse_time("下周"), None);
    }

    #[test]
    fn scientific_notation_is_recognised() {
        assert!(scientific("6.921E+18"));
        assert!(scientific("6.92100000000000E+18"));
        assert!(!scientific("E1234"));
        assert!(!scientific("6921000000001"));
    }
}
