//! Tracking-number files (批量导入单号): reading fahuo's template and the columns of the
//! platforms' batch-shipping templates into typed rows with per-row verdicts.
//!
//! Pure: no database, no clock, never panics whatever the bytes (the fuzz target
//! `import_shipments` calls [`parse_shipment_file`] directly). Verdicts that need the store
//! (unknown order, already shipped, number used by another order in fahuo) are added by
//! [`super`]; the ones decided here need only the file.

use crate::import::columns::normalize_header;
use crate::import::file::{FileFormat, Sheet, SheetRow, read_sheet};
use crate::import::{ImportError, Limits};
use calamine::{DataRef, Reader, Xlsx};
use fahuo_carriers::registry::{self, RegistryError, normalize_name};
use fahuo_carriers::tracking_no::{self, MAX_LEN, MIN_LEN, Seg, TrackingNoError};
use fahuo_carriers::{Carrier, CodeSystem, TrackingNo, Why};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use serde::Serialize;
use std::collections::HashMap;
use std::io::Cursor;

/// How many rows from the top may hold the header row (titles above it are skipped), as for
/// the order import.
const HEADER_SEARCH_ROWS: usize = 10;
/// A cell longer than this is not a value anyone typed (an order number is at most 64
/// characters, a carrier name a few dozen): [`FileVerdict::CellTooLong`].
const MAX_CELL_CHARS: usize = 200;
/// Values kept in rows and verdicts are cut to this many characters.
const KEEP_CHARS: usize = 64;

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

impl ShipmentField {
    const ALL: [ShipmentField; 5] = [
        ShipmentField::OrderNo,
        ShipmentField::Carrier,
        ShipmentField::TrackingNo,
        ShipmentField::Sku,
        ShipmentField::Quantity,
    ];

    /// The header of fahuo's template (the first alias), used in messages.
    pub fn label_zh(self) -> &'static str {
        self.aliases()[0]
    }

    fn label_en(self) -> &'static str {
        match self {
            ShipmentField::OrderNo => "order number",
            ShipmentField::Carrier => "carrier",
            ShipmentField::TrackingNo => "tracking number",
            ShipmentField::Sku => "SKU code",
            ShipmentField::Quantity => "quantity",
        }
    }

    /// Every header that names this field, normalised as by [`header_key`]; the first is
    /// fahuo's template header.
    ///
    /// The platforms' batch-shipping templates were not found in any source
    /// (`reference/platform-apis.md` §5, §7), so these lists are a choice: fahuo's own
    /// headers, the spellings the platforms use in their order exports and API field names
    /// (主订单编号/子订单编号, `delivery_id`, `company_code`, `waybill_id`, ...), and what
    /// merchants write in their own sheets, in Chinese and English. Matching is exact after
    /// normalising, never by substring, so 子订单号 is never read as 订单号 and 商品ID,
    /// 订单状态 or 下单时间 are ignored columns.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            ShipmentField::OrderNo => &[
                "订单号",
                "订单编号",
                "主订单号",
                "主订单编号",
                "父订单号",
                "父订单编号",
                "订单id",
                "主订单id",
                "平台订单号",
                "平台订单编号",
                "平台单号",
                "外部订单号",
                "外部单号",
                "原始单号",
                "原始订单号",
                "网店订单号",
                "线上订单号",
                "orderno",
                "ordernumber",
                "orderid",
                "ordercode",
                "platformorderid",
            ],
            ShipmentField::Carrier => &[
                "快递公司",
                "物流公司",
                "快递公司名称",
                "物流公司名称",
                "快递公司编码",
                "物流公司编码",
                "快递名称",
                "快递",
                "物流",
                "承运商",
                "承运公司",
                "承运商名称",
                "配送公司",
                "发货快递",
                "carrier",
                "carriername",
                "carriercode",
                "courier",
                "express",
                "expresscompany",
                "logisticscompany",
                "shippingcompany",
                "deliverycompany",
                "deliveryid",
                "companycode",
                "expresscompanycode",
            ],
            ShipmentField::TrackingNo => &[
                "快递单号",
                "运单号",
                "物流单号",
                "快递单号码",
                "运单号码",
                "物流单号码",
                "运单编号",
                "快递运单号",
                "物流运单号",
                "面单号",
                "电子面单号",
                "快递号",
                "发货单号",
                "trackingno",
                "trackingnumber",
                "tracking",
                "trackingid",
                "waybillno",
                "waybillnumber",
                "waybill",
                "waybillid",
                "expressno",
                "expressnumber",
                "logisticsno",
            ],
            ShipmentField::Sku => &[
                "商品编码",
                "sku编码",
                "商家编码",
                "规格编码",
                "商家sku编码",
                "货号",
                "子订单号",
                "子订单编号",
                "子订单id",
                "sku",
                "skucode",
                "merchantcode",
                "suborderid",
                "suborderno",
            ],
            ShipmentField::Quantity => &["发货数量", "数量", "发货件数", "quantity", "qty"],
        }
    }
}

/// A header as compared with the aliases: the order import's normalisation, plus dots and
/// `#` dropped ("Order No.", "Tracking #").
fn header_key(header: &str) -> String {
    normalize_header(header).replace(['.', '。', '#'], "")
}

fn field_for(header: &str) -> Option<ShipmentField> {
    let key = header_key(header);
    if key.is_empty() {
        return None;
    }
    ShipmentField::ALL
        .into_iter()
        .find(|f| f.aliases().contains(&key.as_str()))
}

/// The headers of fahuo's template, in order.
const TEMPLATE_FIELDS: [ShipmentField; 5] = ShipmentField::ALL;

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
    /// Not a valid number for this carrier (format or check digit); `why` is the rule's reason,
    /// in Chinese for the clerk ("这是顺丰速运的单号，不是中通快递的；请核对快递公司").
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
        match self {
            FileVerdict::MissingOrderNo => "未填写订单号".into(),
            FileVerdict::OrderNoMangled { text } => format!(
                "订单号“{text}”已被 Excel 改成了数字，后几位已经丢失；请把订单号列设为“文本”格式，\
                 再重新粘贴原始订单号"
            ),
            FileVerdict::MissingCarrier => "未填写快递公司".into(),
            FileVerdict::CarrierUnknown { text } => format!(
                "无法识别快递公司“{text}”；请填写快递公司名称或编码，如“顺丰速运”或“SF”\
                 （可识别的名称见模板中的“快递公司”表）"
            ),
            FileVerdict::CarrierAmbiguous { text, candidates } => {
                let names: Vec<&str> = candidates
                    .iter()
                    .map(|c| Carrier::from_code(c).map_or(c.as_str(), |c| c.name_zh()))
                    .collect();
                format!(
                    "快递公司“{text}”可能是以下任一家：{}；请填写全称",
                    names.join("、")
                )
            }
            FileVerdict::MissingTrackingNo => "未填写快递单号".into(),
            FileVerdict::TrackingInvalid { text, why } => {
                format!("快递单号“{text}”有误：{why}")
            }
            FileVerdict::DuplicateRow { first_row } => format!(
                "与第 {first_row} 行重复（订单号、快递公司、快递单号都相同），本行不会再发一次货"
            ),
            FileVerdict::ReusedInFile {
                other_order_no,
                other_row,
            } => format!(
                "这个快递单号在第 {other_row} 行已用于订单 {other_order_no}；\
                 一个单号通常只属于一个订单，请核对是否填错"
            ),
            FileVerdict::BadQuantity { text } => {
                format!("发货数量“{text}”有误：应为大于 0 的整数，并且同一行要填写商品编码")
            }
            FileVerdict::CellTooLong { field, chars } => format!(
                "“{}”单元格内容过长（{chars} 个字符），请检查是否粘贴错了位置",
                field.label_zh()
            ),
        }
    }
}

/// One data row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShipmentRow {
    /// The row number as Excel shows it.
    pub row: u32,
    /// As written, trimmed (cut to 64 chars if longer), without a leading `'` or an Excel
    /// `="..."` wrapper; empty when missing or too long.
    pub order_no: String,
    /// As written, trimmed; `carrier` is what the registry resolved it to.
    pub carrier_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub carrier: Option<Carrier>,
    pub tracking_text: String,
    /// The normalised number whenever it parses, even when it does not fit the carrier (that
    /// is a [`FileVerdict::TrackingInvalid`]); it keys the duplicate and reuse checks.
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
///
/// Cells are read as text exactly as the file holds them: an xlsx formula cell is read as the
/// value Excel cached when the file was saved (nothing is evaluated, and a formula without a
/// cached value reads as whatever the writer stored, usually 0). A blank cell inside a
/// vertically merged range takes the value of the range's first cell, as Excel shows it.
pub fn parse_shipment_file(bytes: &[u8], limits: &Limits) -> Result<ShipmentFile, ImportError> {
    let sheet = read_sheet(bytes, limits)?;
    let (header_index, header) = find_header(&sheet)?;
    let header_row = sheet.rows[header_index].number;
    let data = &sheet.rows[header_index + 1..];
    if data.len() > limits.max_rows {
        return Err(ImportError::TooManyRows {
            max_rows: limits.max_rows,
        });
    }
    let extras = if sheet.format == FileFormat::Xlsx {
        XlsxExtras::read(bytes, sheet.sheet_name.as_deref(), &header, header_row)
    } else {
        XlsxExtras::default()
    };
    let by_number: HashMap<u32, &SheetRow> = if extras.merges.is_empty() {
        HashMap::new()
    } else {
        data.iter().map(|r| (r.number, r)).collect()
    };
    let reader = RowReader {
        header: &header,
        extras: &extras,
        by_number,
    };

    let mut rows = Vec::with_capacity(data.len());
    let mut seen = Seen::default();
    for row in data {
        if let Some(r) = reader.read(row, &mut seen) {
            rows.push(r);
        }
    }
    if rows.is_empty() {
        return Err(ImportError::HeaderOnly);
    }

    let mut columns = Vec::new();
    let mut ignored_columns = Vec::new();
    for (i, h) in sheet.rows[header_index].cells.iter().enumerate() {
        let h = h.trim();
        if h.is_empty() {
            continue;
        }
        match header.field_of(i) {
            Some(f) => columns.push((h.to_string(), f)),
            None => ignored_columns.push(h.to_string()),
        }
    }
    Ok(ShipmentFile {
        format: sheet.format,
        encoding: sheet.encoding,
        sheet_name: sheet.sheet_name.clone(),
        header_row,
        template: template_kind(&sheet.rows[header_index]),
        columns,
        ignored_columns,
        rows,
    })
}

/// Where each field is read from.
#[derive(Debug)]
struct Header {
    /// Columns of each field, in file order (the first non-blank cell wins).
    columns: Vec<(ShipmentField, Vec<usize>)>,
}

impl Header {
    fn cols(&self, f: ShipmentField) -> &[usize] {
        self.columns
            .iter()
            .find(|(g, _)| *g == f)
            .map_or(&[], |(_, c)| c.as_slice())
    }

    fn has(&self, f: ShipmentField) -> bool {
        !self.cols(f).is_empty()
    }

    fn field_of(&self, col: usize) -> Option<ShipmentField> {
        self.columns
            .iter()
            .find(|(_, c)| c.contains(&col))
            .map(|(f, _)| *f)
    }
}

const REQUIRED: [ShipmentField; 3] = [
    ShipmentField::OrderNo,
    ShipmentField::Carrier,
    ShipmentField::TrackingNo,
];

/// The first of the top rows that names at least two fields is the header row; it must name
/// the three required ones.
fn find_header(sheet: &Sheet) -> Result<(usize, Header), ImportError> {
    for (i, row) in sheet.rows.iter().take(HEADER_SEARCH_ROWS).enumerate() {
        let mut columns: Vec<(ShipmentField, Vec<usize>)> = Vec::new();
        for (c, h) in row.cells.iter().enumerate() {
            if let Some(f) = field_for(h) {
                match columns.iter_mut().find(|(g, _)| *g == f) {
                    Some((_, cols)) => cols.push(c),
                    None => columns.push((f, vec![c])),
                }
            }
        }
        if columns.len() < 2 {
            continue;
        }
        // A quantity means "ship this many units of the line": without a SKU column it would be
        // the order's own quantity column of a merchant's sheet, so it is ignored.
        if !columns.iter().any(|(f, _)| *f == ShipmentField::Sku) {
            columns.retain(|(f, _)| *f != ShipmentField::Quantity);
        }
        let header = Header { columns };
        let missing: Vec<ShipmentField> =
            REQUIRED.into_iter().filter(|f| !header.has(*f)).collect();
        if !missing.is_empty() {
            return Err(missing_columns(&missing, false));
        }
        return Ok((i, header));
    }
    Err(missing_columns(&REQUIRED, true))
}

fn missing_columns(fields: &[ShipmentField], no_header: bool) -> ImportError {
    ImportError::MissingColumns {
        missing: fields.iter().map(|f| f.label_zh().to_string()).collect(),
        missing_en: fields.iter().map(|f| f.label_en().to_string()).collect(),
        no_header,
    }
}

/// `Fahuo` when the header row is exactly fahuo's template (all five columns, or the three
/// required ones), as written by [`shipment_template_xlsx`]. The platforms' own templates are
/// not known (see [`ShipmentField::aliases`]), so everything else is `Other`.
fn template_kind(header: &SheetRow) -> TemplateKind {
    let cells: Vec<&str> = header
        .cells
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .collect();
    let labels: Vec<&str> = TEMPLATE_FIELDS.iter().map(|f| f.label_zh()).collect();
    if cells == labels || cells == labels[..3] {
        TemplateKind::Fahuo
    } else {
        TemplateKind::Other
    }
}

/// What an xlsx says beyond the text of its cells: which order and tracking cells are numbers
/// that lost digits, and the vertically merged ranges of the mapped columns.
#[derive(Debug, Default)]
struct XlsxExtras {
    /// (Excel row number, column) of numeric cells whose digits cannot be the typed ones.
    lossy: std::collections::HashSet<(u32, usize)>,
    /// Per mapped column: merged ranges as (first, last) Excel row numbers, sorted.
    merges: HashMap<usize, Vec<(u32, u32)>>,
}

/// 2^53: every integer below it is exact in an f64, none of the odd ones above it.
const F64_EXACT: f64 = 9_007_199_254_740_992.0;

impl XlsxExtras {
    /// A second, read-only pass over the sheet [`read_sheet`] already read (so its size and
    /// zip-bomb checks have passed). Any error here only loses the extras.
    fn read(bytes: &[u8], sheet_name: Option<&str>, header: &Header, header_row: u32) -> Self {
        let mut extras = XlsxExtras::default();
        let Some(name) = sheet_name else {
            return extras;
        };
        let Ok(mut workbook) = Xlsx::new(Cursor::new(bytes)) else {
            return extras;
        };
        let watched: Vec<usize> = [ShipmentField::OrderNo, ShipmentField::TrackingNo]
            .into_iter()
            .flat_map(|f| header.cols(f).iter().copied())
            .collect();
        let mapped: Vec<usize> = header
            .columns
            .iter()
            .flat_map(|(_, c)| c.iter().copied())
            .collect();
        if let Ok(mut cells) = workbook.worksheet_cells_reader(name) {
            while let Ok(Some(cell)) = cells.next_cell() {
                let (r, c) = cell.get_position();
                if watched.contains(&(c as usize)) && numeric_is_lossy(cell.get_value()) {
                    extras.lossy.insert((r.saturating_add(1), c as usize));
                }
            }
        }
        if let Ok(regions) = workbook.merge_cells_by_sheet_name(name) {
            for d in regions {
                let (first, last) = (d.start.0.saturating_add(1), d.end.0.saturating_add(1));
                let col = d.start.1 as usize;
                // Only ranges that start on a data row: a header merged with the row below
                // is not a value to copy down.
                if last > first && first > header_row && mapped.contains(&col) {
                    extras.merges.entry(col).or_default().push((first, last));
                }
            }
            for ranges in extras.merges.values_mut() {
                ranges.sort_unstable();
            }
        }
        extras
    }

    fn is_lossy(&self, row: u32, col: usize) -> bool {
        self.lossy.contains(&(row, col))
    }

    /// The first row of the merged range that covers (row, col) below its first row.
    fn merged_from(&self, row: u32, col: usize) -> Option<u32> {
        let ranges = self.merges.get(&col)?;
        let i = ranges.partition_point(|(first, _)| *first < row);
        let (first, last) = *ranges.get(i.checked_sub(1)?)?;
        (row <= last).then_some(first)
    }
}

/// Whether a numeric cell in an order or tracking column cannot hold the digits that were
/// typed. Excel keeps 15 significant digits: a whole number below 10^15 is exact; a 16-digit
/// one is exact only below 2^53 and when it does not end in 0 (Excel would have zeroed the
/// 16th digit); anything larger, a fraction, or a date was changed by the spreadsheet.
fn numeric_is_lossy(value: &DataRef<'_>) -> bool {
    let f = match value {
        DataRef::Int(i) => return *i < 0,
        DataRef::Float(f) => *f,
        DataRef::DateTime(_) | DataRef::DateTimeIso(_) | DataRef::DurationIso(_) => return true,
        _ => return false,
    };
    if !f.is_finite() || f < 0.0 || f.fract() != 0.0 {
        return true;
    }
    if f < 1e15 {
        return false;
    }
    f >= F64_EXACT || (f as u64).is_multiple_of(10)
}

/// Reads data rows into [`ShipmentRow`]s.
struct RowReader<'a> {
    header: &'a Header,
    extras: &'a XlsxExtras,
    /// Data rows by Excel row number (only when there are merged ranges).
    by_number: HashMap<u32, &'a SheetRow>,
}

/// A cell's text and where it came from.
struct Cell<'a> {
    text: &'a str,
    row: u32,
    col: usize,
}

/// A field's cell of a row.
enum Got<'a> {
    Blank,
    /// Longer than [`MAX_CELL_CHARS`]: the verdict is given, nothing else is said of the cell.
    TooLong,
    Value(String, Cell<'a>),
}

/// What earlier rows of the file used, for duplicates and reused numbers.
#[derive(Default)]
struct Seen {
    /// (order, carrier, number, sku) → first row.
    rows: HashMap<(String, String, String, Option<String>), u32>,
    /// number → its first (order, row) and the first row with another order.
    numbers: HashMap<String, NumberUse>,
}

struct NumberUse {
    first: (String, u32),
    other: Option<(String, u32)>,
}

impl<'a> RowReader<'a> {
    /// The first non-blank cell of the field's columns, or the first cell of a merged range
    /// covering one of them.
    fn cell(&self, row: &'a SheetRow, f: ShipmentField) -> Option<Cell<'a>> {
        let cols = self.header.cols(f);
        let own = cols.iter().find_map(|&c| {
            let text = row.cell(c);
            (!text.is_empty()).then_some(Cell {
                text,
                row: row.number,
                col: c,
            })
        });
        own.or_else(|| {
            cols.iter().find_map(|&c| {
                let first = self.extras.merged_from(row.number, c)?;
                let text = self.by_number.get(&first)?.cell(c);
                (!text.is_empty()).then_some(Cell {
                    text,
                    row: first,
                    col: c,
                })
            })
        })
    }

    fn read(&self, row: &'a SheetRow, seen: &mut Seen) -> Option<ShipmentRow> {
        // A row whose own mapped cells are all blank (a note in another column, the tail of a
        // merged range) ships nothing.
        if self
            .header
            .columns
            .iter()
            .flat_map(|(_, c)| c)
            .all(|&c| row.cell(c).is_empty())
        {
            return None;
        }
        let mut out = ShipmentRow {
            row: row.number,
            order_no: String::new(),
            carrier_text: String::new(),
            carrier: None,
            tracking_text: String::new(),
            tracking_no: None,
            sku: None,
            quantity: None,
            verdicts: Vec::new(),
        };
        let v = &mut out.verdicts;

        match self.text(row, ShipmentField::OrderNo, v) {
            Got::Blank => v.push(FileVerdict::MissingOrderNo),
            Got::TooLong => {}
            Got::Value(text, cell) => {
                if self.extras.is_lossy(cell.row, cell.col) || looks_mangled(&text) {
                    v.push(FileVerdict::OrderNoMangled { text: text.clone() });
                }
                out.order_no = text;
            }
        }

        match self.text(row, ShipmentField::Carrier, v) {
            Got::Blank => v.push(FileVerdict::MissingCarrier),
            Got::TooLong => {}
            Got::Value(text, _) => {
                // The registry folds full-width letters in names but not in codes ("ＳＦ").
                let folded: String = text.chars().map(tracking_no::fold_width).collect();
                match carrier_of(&text, registry::resolve(&folded)) {
                    Ok(c) => out.carrier = Some(c),
                    Err(verdict) => v.push(verdict),
                }
                out.carrier_text = text;
            }
        }

        match self.text(row, ShipmentField::TrackingNo, v) {
            Got::Blank => v.push(FileVerdict::MissingTrackingNo),
            Got::TooLong => {}
            Got::Value(text, cell) => {
                if self.extras.is_lossy(cell.row, cell.col) {
                    v.push(FileVerdict::TrackingInvalid {
                        text: text.clone(),
                        why: "单元格被 Excel 存成了数字，长单号的后几位已经丢失；\
                              请把快递单号列设为“文本”格式后重新填写"
                            .into(),
                    });
                } else {
                    match TrackingNo::parse(&text) {
                        Err(e) => v.push(FileVerdict::TrackingInvalid {
                            text: text.clone(),
                            why: malformed_zh(&e),
                        }),
                        Ok(n) => {
                            if let Some(c) = out.carrier
                                && let Err(why) = tracking_no::check(c, &n)
                            {
                                v.push(FileVerdict::TrackingInvalid {
                                    text: text.clone(),
                                    why: why_zh(&why),
                                });
                            }
                            out.tracking_no = Some(n);
                        }
                    }
                }
                out.tracking_text = text;
            }
        }

        if let Got::Value(text, _) = self.text(row, ShipmentField::Sku, v) {
            out.sku = Some(text);
        }
        if let Got::Value(text, _) = self.text(row, ShipmentField::Quantity, v) {
            match parse_quantity(&text) {
                Some(q) if out.sku.is_some() => out.quantity = Some(q),
                _ => v.push(FileVerdict::BadQuantity { text }),
            }
        }

        self.check_repeats(&mut out, seen);
        Some(out)
    }

    /// The field's cell as a value: unwrapped, cut to [`KEEP_CHARS`]; too long ones get a
    /// [`FileVerdict::CellTooLong`] here.
    fn text(
        &self,
        row: &'a SheetRow,
        f: ShipmentField,
        verdicts: &mut Vec<FileVerdict>,
    ) -> Got<'a> {
        let Some(cell) = self.cell(row, f) else {
            return Got::Blank;
        };
        let chars = cell.text.chars().count();
        if chars > MAX_CELL_CHARS {
            verdicts.push(FileVerdict::CellTooLong { field: f, chars });
            return Got::TooLong;
        }
        let text = unwrap_text(cell.text);
        if text.is_empty() {
            return Got::Blank;
        }
        Got::Value(cut(text), cell)
    }

    fn check_repeats(&self, out: &mut ShipmentRow, seen: &mut Seen) {
        let Some(number) = &out.tracking_no else {
            return;
        };
        if out.order_no.is_empty() {
            return;
        }
        let carrier = match out.carrier {
            Some(c) => c.code().to_string(),
            None => normalize_name(&out.carrier_text),
        };
        let key = (
            out.order_no.clone(),
            carrier,
            number.as_str().to_string(),
            out.sku.clone(),
        );
        if let Some(first_row) = seen.rows.get(&key) {
            out.verdicts.push(FileVerdict::DuplicateRow {
                first_row: *first_row,
            });
            return;
        }
        seen.rows.insert(key, out.row);
        match seen.numbers.get_mut(number.as_str()) {
            None => {
                seen.numbers.insert(
                    number.as_str().to_string(),
                    NumberUse {
                        first: (out.order_no.clone(), out.row),
                        other: None,
                    },
                );
            }
            Some(used) => {
                let earlier = if used.first.0 != out.order_no {
                    Some(used.first.clone())
                } else {
                    used.other.clone()
                };
                if let Some((other_order_no, other_row)) = earlier {
                    out.verdicts.push(FileVerdict::ReusedInFile {
                        other_order_no,
                        other_row,
                    });
                }
                if used.other.is_none() && used.first.0 != out.order_no {
                    used.other = Some((out.order_no.clone(), out.row));
                }
            }
        }
    }
}

/// The carrier a cell names, or why not. Any stage of [`registry::resolve`] is accepted,
/// including a loose name ("韵达快递有限公司"): the preview shows the carrier read.
fn carrier_of(
    text: &str,
    resolved: Result<(Carrier, registry::MatchKind), RegistryError>,
) -> Result<Carrier, FileVerdict> {
    match resolved {
        Ok((c, _)) => Ok(c),
        Err(RegistryError::Ambiguous { carriers, .. }) => Err(FileVerdict::CarrierAmbiguous {
            text: text.to_string(),
            candidates: carriers.iter().map(|c| c.code().to_string()).collect(),
        }),
        Err(RegistryError::Unknown(_) | RegistryError::Empty) => Err(FileVerdict::CarrierUnknown {
            text: text.to_string(),
        }),
    }
}

/// A cell as a value: trimmed, with the wrappers people and exporters use to keep a number
/// as text removed: a leading apostrophe (`'6917...`) or Excel's `="6917..."`. The wrapper
/// is only taken off, never evaluated.
fn unwrap_text(cell: &str) -> &str {
    let t = cell.trim();
    let t = match t.strip_prefix("=\"").and_then(|r| r.strip_suffix('"')) {
        Some(inner) if !inner.contains('"') => inner,
        _ => t,
    };
    let t = t.strip_prefix('\'').unwrap_or(t);
    t.trim()
}

fn cut(text: &str) -> String {
    text.chars().take(KEEP_CHARS).collect()
}

/// An order number as a spreadsheet leaves it after turning it into a number: scientific
/// notation ("6.91712E+18", "6.917123456789012e18") or a float ("6917123456789.0").
fn looks_mangled(text: &str) -> bool {
    let t = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let number = match mantissa.split_once('.') {
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    if !number {
        return false;
    }
    match exponent {
        Some(e) => digits(e.strip_prefix(['+', '-']).unwrap_or(e)),
        // Without an exponent only a float with a zero fraction ("123.0") is a mangled
        // integer; "123.45" may be someone's order number.
        None => mantissa
            .split_once('.')
            .is_some_and(|(_, frac)| frac.bytes().all(|b| b == b'0')),
    }
}

fn parse_quantity(text: &str) -> Option<u32> {
    let t: String = text
        .chars()
        .map(tracking_no::fold_width)
        .filter(|c| !c.is_whitespace())
        .collect();
    let t = t.strip_suffix(".0").unwrap_or(&t);
    let t = t.strip_suffix(['件', '个']).unwrap_or(t);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<u32>().ok().filter(|q| *q > 0 && *q <= 100_000)
}

fn malformed_zh(e: &TrackingNoError) -> String {
    match e {
        TrackingNoError::Empty => "单号为空".into(),
        TrackingNoError::BadChar { ch, .. } => {
            format!("含有字符“{ch}”，单号只能由字母和数字组成")
        }
        TrackingNoError::TooShort { len } => {
            format!("只有 {len} 位，太短（至少 {MIN_LEN} 位）")
        }
        TrackingNoError::TooLong { len } => format!("有 {len} 位，太长（最多 {MAX_LEN} 位）"),
    }
}

/// The reason, in words a warehouse clerk reads.
fn why_zh(why: &Why) -> String {
    match why {
        Why::Malformed(e) => malformed_zh(e),
        Why::LooksLike {
            carrier, detected, ..
        } => format!(
            "这是{}的单号，不是{}的；请核对快递公司",
            detected.name_zh(),
            carrier.name_zh()
        ),
        Why::CheckDigit {
            expected, found, ..
        } => format!("校验位应为 {expected}，实为 {found}，可能输错了一位"),
        Why::NoFormatMatches { carrier, other, .. } => {
            let shapes: Vec<String> = tracking_no::rules_for(*carrier)
                .take(3)
                .map(|r| pattern_zh(r.pattern.0))
                .collect();
            let mut m = format!(
                "不符合{}的单号格式（应为 {}）",
                carrier.name_zh(),
                shapes.join(" 或 ")
            );
            if !other.is_empty() {
                let names: Vec<&str> = other.iter().take(3).map(|c| c.name_zh()).collect();
                m.push_str(&format!("，像是{}的单号", names.join("或")));
            }
            m
        }
    }
}

/// A number format in words: "SF+13位数字".
fn pattern_zh(segs: &[Seg]) -> String {
    let count = |a: u8, b: u8, what: &str| {
        if a == b {
            format!("{a}位{what}")
        } else {
            format!("{a}至{b}位{what}")
        }
    };
    segs.iter()
        .map(|s| match s {
            Seg::Lit(l) => (*l).to_string(),
            Seg::OneOf(ls) => ls.join("/"),
            Seg::Class { chars, .. } => {
                let cs: Vec<String> = chars.chars().map(String::from).collect();
                cs.join("/")
            }
            Seg::Digits(a, b) => count(*a, *b, "数字"),
            Seg::Upper(a, b) => count(*a, *b, "字母"),
            Seg::Alnum(a, b) => count(*a, *b, "字母或数字"),
        })
        .collect::<Vec<_>>()
        .join("+")
}

/// fahuo's own template (发货单号导入模板.xlsx): headers, one example row, text-formatted columns,
/// and a sheet of carrier names fahuo recognises.
pub fn shipment_template_xlsx() -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let sheet = workbook.add_worksheet();
    sheet.set_name("发货单号")?;
    for (c, f) in TEMPLATE_FIELDS.iter().enumerate() {
        let c = c as u16;
        sheet.write_string_with_format(0, c, f.label_zh(), &bold)?;
        sheet.set_column_width(c, if c < 3 { 24 } else { 14 })?;
        // Text columns: what a clerk types or pastes (as values) stays text, so a 19-digit
        // order number keeps its digits and a tracking number its leading zeros.
        if matches!(
            f,
            ShipmentField::OrderNo | ShipmentField::TrackingNo | ShipmentField::Sku
        ) {
            sheet.set_column_format(c, &text)?;
        }
    }
    sheet.write_string_with_format(1, 0, EXAMPLE_ORDER_NO, &text)?;
    sheet.write_string(1, 1, Carrier::Sf.name_zh())?;
    sheet.write_string_with_format(1, 2, EXAMPLE_TRACKING_NO, &text)?;
    sheet.set_freeze_panes(1, 0)?;

    let carriers = workbook.add_worksheet();
    carriers.set_name("快递公司")?;
    let systems = [
        (CodeSystem::Wechat, "微信小店编码"),
        (CodeSystem::Douyin, "抖店编码"),
        (CodeSystem::Xiaohongshu, "小红书编码"),
        (CodeSystem::Kuaidi100, "快递100编码"),
        (CodeSystem::Kdniao, "快递鸟编码"),
    ];
    let mut headers = vec!["快递公司", "编码", "其他写法"];
    headers.extend(systems.iter().map(|(_, h)| *h));
    for (c, h) in headers.iter().enumerate() {
        carriers.write_string_with_format(0, c as u16, *h, &bold)?;
        carriers.set_column_width(c as u16, if c == 2 { 40 } else { 14 })?;
    }
    for (r, carrier) in Carrier::ALL.into_iter().enumerate() {
        let r = r as u32 + 1;
        let info = carrier.info();
        let mut others: Vec<&str> = vec![info.name_en];
        others.extend(info.aliases.iter().copied());
        carriers.write_string(r, 0, info.name_zh)?;
        carriers.write_string(r, 1, info.code)?;
        carriers.write_string(r, 2, others.join("、"))?;
        for (i, (system, _)) in systems.iter().enumerate() {
            if let Some(code) = carrier.code_in(*system).code() {
                carriers.write_string(r, 3 + i as u16, code)?;
            }
        }
    }
    carriers.set_freeze_panes(1, 0)?;

    let help = workbook.add_worksheet();
    help.set_name("说明")?;
    let notes = [
        "每行填写一个包裹：订单号、快递公司、快递单号必填。",
        "快递公司可填名称或编码（如“顺丰速运”“顺丰”“SF”“shunfeng”），可识别的写法见“快递公司”表。",
        "一个订单分多个包裹发货时，每个包裹填一行，订单号相同。",
        "只发订单中的部分商品时，填写商品编码（或子订单号），可再填发货数量；否则留空。",
        "订单号和快递单号列已设为文本格式，请不要改成数字格式，以免 Excel 把长数字改成科学计数法。",
        "示例行导入前请删除。",
    ];
    help.set_column_width(0, 100)?;
    for (r, note) in notes.iter().enumerate() {
        help.write_string(r as u32, 0, *note)?;
    }
    workbook.save_to_buffer()
}

/// The template's example row (a made-up order number; a valid SF number).
const EXAMPLE_ORDER_NO: &str = "3705115058471208928";
const EXAMPLE_TRACKING_NO: &str = "SF1385628716739";

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
pub fn result_xlsx(rows: &[ResultRow]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let sheet = workbook.add_worksheet();
    sheet.set_name("导入结果")?;
    let headers = ["行号", "订单号", "快递公司", "快递单号", "结果", "说明"];
    let widths = [8, 24, 14, 24, 12, 60];
    for (c, (h, w)) in headers.iter().zip(widths).enumerate() {
        let c = c as u16;
        sheet.write_string_with_format(0, c, *h, &bold)?;
        sheet.set_column_width(c, w)?;
    }
    sheet.set_column_format(1, &text)?;
    sheet.set_column_format(3, &text)?;
    for (i, row) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        sheet.write_number(r, 0, f64::from(row.row))?;
        write_text(sheet, r, 1, &row.order_no, &text)?;
        write_text(sheet, r, 2, &row.carrier, &Format::new())?;
        write_text(sheet, r, 3, &row.tracking_no, &text)?;
        write_text(sheet, r, 4, outcome_zh(&row.outcome), &Format::new())?;
        write_text(sheet, r, 5, &row.message_zh, &Format::new())?;
    }
    sheet.set_freeze_panes(1, 0)?;
    if !rows.is_empty() {
        sheet.autofilter(0, 0, rows.len() as u32, 5)?;
    }
    workbook.save_to_buffer()
}

/// The outcome in Chinese for the 结果 column; a code this list does not know is written as is.
fn outcome_zh(code: &str) -> &str {
    match code {
        "shipped" => "已发货",
        "already_shipped" => "此前已发货",
        "conflict" => "冲突",
        "refused" => "平台拒绝",
        "invalid" => "有误",
        "pending" => "待处理",
        "skipped" => "已跳过",
        "unknown_order" => "订单不存在",
        other => other,
    }
}

/// Writes a string cell; one that a spreadsheet could take for a formula (`=`, `+`, `-`, `@`)
/// gets Excel's quote prefix, so it stays text even when a clerk edits the cell.
fn write_text(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    value: &str,
    format: &Format,
) -> Result<(), XlsxError> {
    if value.is_empty() {
        return Ok(());
    }
    if super::export::is_formula_like(value) {
        sheet.write_string_with_format(row, col, value, &format.clone().set_quote_prefix())?;
    } else {
        sheet.write_string_with_format(row, col, value, format)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::export::ExportColumn;

    #[test]
    fn aliases_are_unique_and_normalised() {
        let mut seen = HashMap::new();
        for f in ShipmentField::ALL {
            for a in f.aliases() {
                assert_eq!(header_key(a), *a, "alias {a} is normalised");
                assert!(seen.insert(*a, f).is_none(), "alias {a} names one field");
            }
        }
    }

    #[test]
    fn headers_match_as_written_and_look_alikes_do_not() {
        for (h, f) in [
            ("订单号", ShipmentField::OrderNo),
            ("主订单编号", ShipmentField::OrderNo),
            ("订单ID", ShipmentField::OrderNo),
            ("Order No.", ShipmentField::OrderNo),
            ("父订单号*", ShipmentField::OrderNo),
            ("订单号（必填）", ShipmentField::OrderNo),
            ("物流公司", ShipmentField::Carrier),
            ("快递公司名称", ShipmentField::Carrier),
            ("Express Company", ShipmentField::Carrier),
            ("承运商", ShipmentField::Carrier),
            ("运单号", ShipmentField::TrackingNo),
            ("快递单号码", ShipmentField::TrackingNo),
            ("Tracking Number", ShipmentField::TrackingNo),
            ("Waybill No", ShipmentField::TrackingNo),
            ("Tracking #", ShipmentField::TrackingNo),
            ("SKU编码", ShipmentField::Sku),
            ("子订单号", ShipmentField::Sku),
            ("子订单编号", ShipmentField::Sku),
            ("数量", ShipmentField::Quantity),
        ] {
            assert_eq!(field_for(h), Some(f), "{h}");
        }
        for h in [
            "商品ID",
            "商品id",
            "订单状态",
            "下单时间",
            "单号",
            "子订单状态",
            "",
        ] {
            assert_eq!(field_for(h), None, "{h}");
        }
    }

    /// The export's headers read back: the three shipment columns as themselves, nothing else
    /// as a shipment field (an exported quantity must not become a ship-this-many).
    #[test]
    fn export_headers_read_back_as_the_right_fields() {
        for c in ExportColumn::ALL {
            let expected = match c {
                ExportColumn::OrderNo => Some(ShipmentField::OrderNo),
                ExportColumn::Carrier => Some(ShipmentField::Carrier),
                ExportColumn::TrackingNo => Some(ShipmentField::TrackingNo),
                _ => None,
            };
            assert_eq!(field_for(c.header_zh()), expected, "{c:?}");
        }
    }

    #[test]
    fn mangled_order_numbers_are_recognised() {
        for t in [
            "6.91728E+18",
            "6.91728e18",
            "1.23457E+18",
            "3705115058471210000.0",
            "12.0",
        ] {
            assert!(looks_mangled(t), "{t}");
        }
        for t in [
            "3705115058471208928",
            "12.5",
            "P2026-01",
            "E123",
            "6E",
            "ABC.0",
            "",
        ] {
            assert!(!looks_mangled(t), "{t}");
        }
    }

    #[test]
    fn numeric_cells_are_trusted_only_when_exact() {
        let f = |v: f64| numeric_is_lossy(&DataRef::Float(v));
        assert!(!f(1234567.0));
        assert!(!f(999_999_999_999_999.0));
        assert!(
            !f(1_234_567_890_123_457.0),
            "16 digits below 2^53, not Excel-cut"
        );
        assert!(
            f(1_234_567_890_123_450.0),
            "16 digits ending in 0: maybe cut by Excel"
        );
        assert!(f(3.70511505847121e18));
        assert!(f(12.5));
        assert!(f(-3.0));
        assert!(!numeric_is_lossy(&DataRef::String("3.7E+18".into())));
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("2"), Some(2));
        assert_eq!(parse_quantity("２"), Some(2));
        assert_eq!(parse_quantity("3件"), Some(3));
        assert_eq!(parse_quantity("4.0"), Some(4));
        for bad in ["0", "-1", "2.5", "abc", "999999999999"] {
            assert_eq!(parse_quantity(bad), None, "{bad}");
        }
    }

    #[test]
    fn wrappers_are_taken_off_not_evaluated() {
        assert_eq!(
            unwrap_text("=\"3705115058471208928\""),
            "3705115058471208928"
        );
        assert_eq!(unwrap_text(" '3705115058471208928 "), "3705115058471208928");
        assert_eq!(unwrap_text("\t6917"), "6917");
        assert_eq!(unwrap_text("=1+1"), "=1+1");
    }

    /// No carrier name or code in today's registry is ambiguous, so this verdict cannot come
    /// from a file yet; the mapping is checked with the registry's own error.
    #[test]
    fn an_ambiguous_carrier_lists_its_candidates() {
        let err = RegistryError::Ambiguous {
            input: "邮政".into(),
            carriers: vec![Carrier::Ems, Carrier::Yzpy],
        };
        let v = carrier_of("邮政", Err(err)).unwrap_err();
        assert_eq!(
            v,
            FileVerdict::CarrierAmbiguous {
                text: "邮政".into(),
                candidates: vec!["EMS".into(), "YZPY".into()],
            }
        );
        let m = v.message_zh();
        assert!(
            m.contains("中国邮政EMS") && m.contains("邮政快递包裹"),
            "{m}"
        );
    }

    #[test]
    fn messages_are_sentences_without_the_row() {
        let all = [
            FileVerdict::MissingOrderNo,
            FileVerdict::OrderNoMangled {
                text: "6.91728E+18".into(),
            },
            FileVerdict::MissingCarrier,
            FileVerdict::CarrierUnknown {
                text: "火星快递".into(),
            },
            FileVerdict::CarrierAmbiguous {
                text: "x".into(),
                candidates: vec!["SF".into()],
            },
            FileVerdict::MissingTrackingNo,
            FileVerdict::TrackingInvalid {
                text: "123".into(),
                why: "太短".into(),
            },
            FileVerdict::DuplicateRow { first_row: 2 },
            FileVerdict::ReusedInFile {
                other_order_no: "A1".into(),
                other_row: 3,
            },
            FileVerdict::BadQuantity { text: "0".into() },
            FileVerdict::CellTooLong {
                field: ShipmentField::TrackingNo,
                chars: 5000,
            },
        ];
        for v in all {
            let m = v.message_zh();
            assert!(!m.is_empty() && !m.starts_with('第'), "{v:?}: {m}");
        }
    }

    #[test]
    fn reasons_are_in_chinese() {
        let why = |c: Carrier, n: &str| why_zh(&fahuo_carriers::validate(c, n).unwrap_err());
        assert_eq!(
            why(Carrier::Zto, "SF1385628716739"),
            "这是顺丰速运的单号，不是中通快递的；请核对快递公司"
        );
        assert!(why(Carrier::Ems, "EB472918367CN").contains("校验位应为 8"));
        let m = why(Carrier::Sf, "123456789");
        assert!(m.contains("SF+13位数字"), "{m}");
    }
}
