//! Inventory use-cases beyond single movements: transfers between warehouses (调拨), safety
//! stock and low-stock alerts (低库存预警), and the stock export and count import (库存导出 /
//! 盘点导入).
//!
//! A stock count is read without the database first ([`count`]), then checked against the
//! tenant's warehouses, SKUs and stock. A preview stores nothing. Applying re-decides every
//! row under its row lock in the store (the delta, and "not below what is reserved"), so a
//! reservation made between preview and apply is respected; a refused row changes nothing.

pub mod count;
mod export;

pub use export::EXPORT_HEADERS;

use crate::import::{FileFormat, Limits};
use crate::{Actor, App, AppError, Result};
use count::{CountFile, CountValues, MAX_UNITS, parse_count_file};
use fahuo_domain::stock::StockTransfer;
use fahuo_domain::{ParseError, Permission, SkuId, WarehouseId};
use fahuo_store::StoreError;
use fahuo_store::stock::{CountLine, CountOutcome, StockRow, TransferLevels};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// A transfer as asked for by a person or an ERP.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransferInput {
    pub from_warehouse_id: i64,
    pub to_warehouse_id: i64,
    pub sku_id: i64,
    pub units: i64,
    pub note: Option<String>,
}

impl TransferInput {
    pub fn parse(&self) -> Result<StockTransfer, ParseError> {
        let transfer = StockTransfer::new(
            WarehouseId(self.from_warehouse_id),
            WarehouseId(self.to_warehouse_id),
            SkuId(self.sku_id),
            self.units,
        )?;
        Ok(match clean_note(self.note.as_deref()) {
            Some(note) => transfer.with_note(note),
            None => transfer,
        })
    }
}

fn clean_note(note: Option<&str>) -> Option<String> {
    note.map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(500).collect())
}

/// A setting of one stock row: its low-stock threshold or its safety stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowSetting {
    pub warehouse: WarehouseId,
    pub sku: SkuId,
    pub value: i64,
}

impl RowSetting {
    fn parse(
        warehouse_id: i64,
        sku_id: i64,
        value: i64,
        field: &'static str,
    ) -> Result<RowSetting, ParseError> {
        if !(0..=MAX_UNITS).contains(&value) {
            return Err(ParseError::new(field, format!("between 0 and {MAX_UNITS}")));
        }
        Ok(RowSetting {
            warehouse: WarehouseId(warehouse_id),
            sku: SkuId(sku_id),
            value,
        })
    }
}

/// `PUT /stock/threshold`: 0 switches the row's alert off.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThresholdInput {
    pub warehouse_id: i64,
    pub sku_id: i64,
    /// Alert when available (on hand − reserved − safety) is at or below this; 0 = off.
    pub threshold: i64,
}

impl ThresholdInput {
    pub fn parse(&self) -> Result<RowSetting, ParseError> {
        RowSetting::parse(self.warehouse_id, self.sku_id, self.threshold, "threshold")
    }
}

/// `PUT /stock/safety`: units kept back from sale and from transfers (安全库存).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SafetyInput {
    pub warehouse_id: i64,
    pub sku_id: i64,
    pub safety: i64,
}

impl SafetyInput {
    pub fn parse(&self) -> Result<RowSetting, ParseError> {
        RowSetting::parse(self.warehouse_id, self.sku_id, self.safety, "safety")
    }
}

/// What happens (preview) or happened (apply) to one row of a stock count file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CountVerdict {
    /// Preview: accepted; applying sets on hand to the count (`delta`) and/or the settings.
    Ok,
    /// Accepted, but the row already says this: nothing to do.
    Unchanged,
    /// Apply: done.
    Applied,
    UnknownWarehouse,
    UnknownSku,
    /// A warehouse code, SKU code or count cell is blank.
    MissingValue,
    NotWholeNumber,
    Negative,
    /// Over 1,000,000,000.
    TooLarge,
    /// A bin name over 32 characters.
    InvalidBin,
    /// Fewer units counted than are reserved for orders: refused (the reserved units are
    /// promised); release or ship them first.
    BelowReserved,
    /// The same warehouse and SKU as an earlier row: refused (the first row counts).
    Duplicate,
}

impl CountVerdict {
    /// Whether the row is (or would be) applied or left as it rightly is.
    pub fn accepted(self) -> bool {
        matches!(
            self,
            CountVerdict::Ok | CountVerdict::Unchanged | CountVerdict::Applied
        )
    }
}

/// One row of a stock count file and its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CountRowReport {
    /// The row number as Excel shows it.
    pub row: u32,
    pub warehouse_code: String,
    pub sku_code: String,
    pub verdict: CountVerdict,
    /// The count read from the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counted: Option<i64>,
    /// On hand before: now (preview) or under the row lock (apply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_hand: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved: Option<i64>,
    /// Counted − on hand: what the `Adjust` entry moves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<i64>,
    /// Settings the row sets (only those given in the file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low_stock_threshold: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bin: Option<String>,
    /// The column at fault, as written in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub message: String,
    pub message_zh: String,
}

/// The counts a merchant reads first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CountSummary {
    /// Data rows (header and blank rows not counted).
    pub rows: usize,
    /// Rows that change something: `ok` in a preview, `applied` after applying.
    pub changes: usize,
    pub unchanged: usize,
    pub refused: usize,
    /// Units added and removed by the changes (preview: would be).
    pub units_added: i64,
    pub units_removed: i64,
}

/// The answer to a stock count preview or apply.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockCountReport {
    /// `preview` or `apply`.
    pub mode: &'static str,
    pub applied: bool,
    pub format: FileFormat,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// The row holding the headers (Excel numbering).
    pub header_row: u32,
    /// The column read as the count: 盘点数量, or 在库 in an export file.
    pub count_column: String,
    /// Headers fahuo does not read.
    pub ignored_columns: Vec<String>,
    pub summary: CountSummary,
    pub rows: Vec<CountRowReport>,
}

/// The note on the `Adjust` entries a count writes.
const COUNT_NOTE: &str = "盘点导入 stock count import";

impl App {
    /// Moves units of a SKU from one of the tenant's warehouses to another, both halves in
    /// one transaction. Refused (changing nothing) when the source's available stock — on
    /// hand − reserved − safety — is short.
    pub async fn transfer_stock(
        &self,
        actor: &Actor,
        input: &TransferInput,
    ) -> Result<TransferLevels> {
        actor.require(Permission::ManageStock)?;
        let transfer = input.parse()?;
        actor.check_warehouse(transfer.from)?;
        actor.check_warehouse(transfer.to)?;
        let audit = actor.audit("stock.transfer", "sku", self.now());
        match self
            .store()
            .transfer_stock(actor.tenant_id, &transfer, &actor.name, &audit, self.now())
            .await
        {
            Ok(levels) => Ok(levels),
            Err(StoreError::InsufficientStock(_)) => {
                let source = self
                    .store()
                    .stock_levels(actor.tenant_id, Some(transfer.sku_id))
                    .await?
                    .into_iter()
                    .find(|l| l.warehouse_id == transfer.from);
                let (on_hand, reserved, safety) = source
                    .map(|l| (l.on_hand, l.reserved, l.safety))
                    .unwrap_or_default();
                Err(AppError::InsufficientStock(format!(
                    "cannot transfer {} units: the source warehouse has {} available \
                     (on hand {on_hand} − reserved {reserved} − safety {safety})",
                    transfer.units,
                    (on_hand - reserved - safety).max(0),
                )))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Sets a row's low-stock threshold (预警阈值); 0 switches its alert off.
    pub async fn set_low_stock_threshold(
        &self,
        actor: &Actor,
        input: &ThresholdInput,
    ) -> Result<()> {
        actor.require(Permission::ManageStock)?;
        let s = input.parse()?;
        actor.check_warehouse(s.warehouse)?;
        let audit = actor.audit("stock.threshold", "sku", self.now());
        Ok(self
            .store()
            .set_low_stock_threshold(actor.tenant_id, s.warehouse, s.sku, s.value, &audit)
            .await?)
    }

    /// Sets a row's safety stock (安全库存): units neither reserved for orders nor transferred.
    pub async fn set_safety_stock(&self, actor: &Actor, input: &SafetyInput) -> Result<()> {
        actor.require(Permission::ManageStock)?;
        let s = input.parse()?;
        actor.check_warehouse(s.warehouse)?;
        self.store()
            .set_safety_stock(actor.tenant_id, s.warehouse, s.sku, s.value)
            .await?;
        let mut audit = actor.audit("stock.safety", "sku", self.now());
        audit.entity_id = Some(s.sku.get());
        audit.after = Some(serde_json::json!({ "warehouse_id": s.warehouse, "safety": s.value }));
        self.store().append_audit(&audit).await?;
        Ok(())
    }

    /// The rows whose available stock is at or below their threshold, furthest below first.
    pub async fn low_stock_alerts(&self, actor: &Actor) -> Result<Vec<StockRow>> {
        actor.require(Permission::ViewOrders)?;
        let mut rows = self.store().low_stock_alerts(actor.tenant_id).await?;
        rows.retain(|r| actor.scope.allows_warehouse(r.warehouse_id));
        Ok(rows)
    }

    /// Every stock row of the tenant as an xlsx file (库存导出), readable back as a count.
    pub async fn export_stock(&self, actor: &Actor) -> Result<Vec<u8>> {
        actor.require(Permission::ViewOrders)?;
        let mut rows = self.store().stock_rows(actor.tenant_id).await?;
        rows.retain(|r| actor.scope.allows_warehouse(r.warehouse_id));
        export::stock_xlsx(&rows).map_err(|e| AppError::Internal(format!("stock export: {e}")))
    }

    /// Reads a stock count file (xlsx or CSV) and says what applying it does to each row
    /// (`apply = false`, stores nothing), or applies it (`apply = true`): each accepted row
    /// becomes an `Adjust` to the counted number, decided under its row lock.
    pub async fn import_stock_count(
        &self,
        actor: &Actor,
        bytes: &[u8],
        apply: bool,
    ) -> Result<StockCountReport> {
        actor.require(Permission::ManageStock)?;
        let file = parse_count_file(bytes, &Limits::default())?;
        let tenant = actor.tenant_id;
        let warehouses: HashMap<String, WarehouseId> = self
            .store()
            .warehouses(tenant)
            .await?
            .into_iter()
            // A scoped user's file may only count its own warehouses; others read as unknown.
            .filter(|w| actor.scope.allows_warehouse(w.id))
            .map(|w| (w.code.as_str().to_string(), w.id))
            .collect();
        let skus: HashMap<String, SkuId> = self
            .store()
            .skus(tenant)
            .await?
            .into_iter()
            .map(|s| (s.code.as_str().to_string(), s.id))
            .collect();
        let current: HashMap<(WarehouseId, SkuId), StockRow> = self
            .store()
            .stock_rows(tenant)
            .await?
            .into_iter()
            .map(|r| ((r.warehouse_id, r.sku_id), r))
            .collect();
        let mut rows = check_rows(&file, &warehouses, &skus);
        for (report, ids) in &mut rows {
            if let Some((key, values)) = ids {
                preview_row(report, values, current.get(key));
            }
        }
        let mut applied = false;
        if apply {
            let todo: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].1.is_some()).collect();
            let lines: Vec<CountLine> = todo
                .iter()
                .filter_map(|&i| rows[i].1.as_ref())
                .map(|((w, s), v)| CountLine {
                    warehouse_id: *w,
                    sku_id: *s,
                    counted: v.counted,
                    safety: v.safety,
                    low_stock_threshold: v.threshold,
                    bin: v.bin.clone(),
                })
                .collect();
            let outcomes = self
                .store()
                .apply_stock_count(tenant, &lines, COUNT_NOTE, &actor.name, self.now())
                .await?;
            for (&i, outcome) in todo.iter().zip(outcomes) {
                record_outcome(&mut rows[i].0, outcome);
            }
            applied = true;
        }
        let rows: Vec<CountRowReport> = rows.into_iter().map(|(r, _)| r).collect();
        let summary = summarise(&rows);
        if apply {
            let mut audit = actor.audit("stock.count_import", "stock", self.now());
            audit.after = Some(serde_json::json!({
                "rows": summary.rows,
                "applied": summary.changes,
                "unchanged": summary.unchanged,
                "refused": summary.refused,
                "units_added": summary.units_added,
                "units_removed": summary.units_removed,
            }));
            self.store().append_audit(&audit).await?;
        }
        Ok(StockCountReport {
            mode: if apply { "apply" } else { "preview" },
            applied,
            format: file.format,
            encoding: file.encoding,
            sheet: file.sheet_name,
            header_row: file.header_row,
            count_column: file.count_column,
            ignored_columns: file.ignored_columns,
            summary,
            rows,
        })
    }
}

/// A row with its resolved ids and values while it is still accepted.
type CheckedRow = (CountRowReport, Option<((WarehouseId, SkuId), CountValues)>);

/// The checks that need the tenant's codes but not its stock: problems read from the cells,
/// unknown codes, and a warehouse and SKU seen in an earlier row.
fn check_rows(
    file: &CountFile,
    warehouses: &HashMap<String, WarehouseId>,
    skus: &HashMap<String, SkuId>,
) -> Vec<CheckedRow> {
    let mut first_row: HashMap<(&str, &str), u32> = HashMap::new();
    let mut seen: HashSet<(WarehouseId, SkuId)> = HashSet::new();
    file.rows
        .iter()
        .map(|row| {
            let mut report = CountRowReport {
                row: row.row,
                warehouse_code: row.warehouse_code.clone(),
                sku_code: row.sku_code.clone(),
                verdict: CountVerdict::Ok,
                counted: None,
                on_hand: None,
                reserved: None,
                delta: None,
                safety: None,
                low_stock_threshold: None,
                bin: None,
                column: None,
                message: String::new(),
                message_zh: String::new(),
            };
            let mut refuse = |verdict, column: &str, en: String, zh: String| {
                report.verdict = verdict;
                report.column = Some(column.to_string());
                report.message = en;
                report.message_zh = zh;
            };
            // A later row with the same codes is refused whatever the first row's fate: which
            // of two counts is right is for a person to say.
            let key = (row.warehouse_code.as_str(), row.sku_code.as_str());
            let earlier = if key.0.is_empty() || key.1.is_empty() {
                None
            } else {
                let first = *first_row.entry(key).or_insert(row.row);
                (first != row.row).then_some(first)
            };
            let values = match &row.values {
                Err(p) => {
                    refuse(
                        p.verdict,
                        &p.column,
                        p.message.clone(),
                        p.message_zh.clone(),
                    );
                    return (report, None);
                }
                Ok(v) => v,
            };
            report.counted = Some(values.counted);
            report.safety = values.safety;
            report.low_stock_threshold = values.threshold;
            report.bin = values.bin.clone();
            if let Some(first) = earlier {
                refuse(
                    CountVerdict::Duplicate,
                    "商品编码",
                    format!("the same warehouse and SKU as row {first}: only the first row counts"),
                    format!("与第 {first} 行的仓库和商品重复，仅第一行生效"),
                );
                return (report, None);
            }
            let Some(&warehouse) = warehouses.get(&row.warehouse_code) else {
                refuse(
                    CountVerdict::UnknownWarehouse,
                    "仓库编码",
                    format!("no warehouse has the code {}", row.warehouse_code),
                    format!("仓库编码 {} 不存在", row.warehouse_code),
                );
                return (report, None);
            };
            let Some(&sku) = skus.get(&row.sku_code) else {
                refuse(
                    CountVerdict::UnknownSku,
                    "商品编码",
                    format!("no SKU has the code {}", row.sku_code),
                    format!("商品编码 {} 不存在", row.sku_code),
                );
                return (report, None);
            };
            // Codes are exact, so one (warehouse, SKU) has one pair of codes; this only guards.
            if !seen.insert((warehouse, sku)) {
                refuse(
                    CountVerdict::Duplicate,
                    "商品编码",
                    "the same warehouse and SKU as an earlier row".into(),
                    "与前面的行仓库和商品重复".into(),
                );
                return (report, None);
            }
            (report, Some(((warehouse, sku), values.clone())))
        })
        .collect()
}

/// What applying an accepted row would do now.
fn preview_row(report: &mut CountRowReport, values: &CountValues, current: Option<&StockRow>) {
    let (on_hand, reserved) = current.map(|r| (r.on_hand, r.reserved)).unwrap_or_default();
    report.on_hand = Some(on_hand);
    report.reserved = Some(reserved);
    if values.counted < reserved {
        below_reserved(report, values.counted, reserved);
        return;
    }
    let delta = values.counted - on_hand;
    report.delta = Some(delta);
    let settings_change = match current {
        Some(r) => {
            values.safety.is_some_and(|v| v != r.safety)
                || values.threshold.is_some_and(|v| v != r.low_stock_threshold)
                || values
                    .bin
                    .as_ref()
                    .is_some_and(|b| Some(b) != r.bin.as_ref())
        }
        None => {
            values.safety.is_some_and(|v| v != 0)
                || values.threshold.is_some_and(|v| v != 0)
                || values.bin.is_some()
        }
    };
    if delta == 0 && !settings_change {
        unchanged(report, on_hand);
    } else {
        report.verdict = CountVerdict::Ok;
        (report.message, report.message_zh) = change_messages(on_hand, delta, false);
    }
}

fn record_outcome(report: &mut CountRowReport, outcome: CountOutcome) {
    report.column = None;
    match outcome {
        CountOutcome::Applied {
            on_hand_before,
            delta,
            reserved,
        } => {
            report.verdict = CountVerdict::Applied;
            report.on_hand = Some(on_hand_before);
            report.reserved = Some(reserved);
            report.delta = Some(delta);
            (report.message, report.message_zh) = change_messages(on_hand_before, delta, true);
        }
        CountOutcome::Unchanged { on_hand, reserved } => {
            report.on_hand = Some(on_hand);
            report.reserved = Some(reserved);
            report.delta = Some(0);
            unchanged(report, on_hand);
        }
        CountOutcome::BelowReserved { on_hand, reserved } => {
            report.on_hand = Some(on_hand);
            report.reserved = Some(reserved);
            report.delta = None;
            below_reserved(report, report.counted.unwrap_or_default(), reserved);
        }
        CountOutcome::NotFound => {
            report.verdict = CountVerdict::UnknownWarehouse;
            report.delta = None;
            report.message = "the warehouse or SKU is no longer there".into();
            report.message_zh = "仓库或商品已不存在".into();
        }
    }
}

fn unchanged(report: &mut CountRowReport, on_hand: i64) {
    report.verdict = CountVerdict::Unchanged;
    report.message = format!("already {on_hand} on hand: nothing to change");
    report.message_zh = format!("与系统库存一致（{on_hand}），无需调整");
}

fn below_reserved(report: &mut CountRowReport, counted: i64, reserved: i64) {
    report.verdict = CountVerdict::BelowReserved;
    report.delta = None;
    report.column = Some("盘点数量".into());
    report.message = format!(
        "counted {counted}, but {reserved} are reserved for orders: release or ship those first"
    );
    report.message_zh =
        format!("盘点数量 {counted} 小于预占 {reserved}（已被订单占用），请先处理相关订单");
}

/// The message of a row that changes something; a delta of 0 means only its settings do.
fn change_messages(on_hand: i64, delta: i64, done: bool) -> (String, String) {
    let to = on_hand + delta;
    match (delta, done) {
        (0, false) => (
            "on hand stays; the settings change".into(),
            "在库不变，更新安全库存/预警阈值/库位".into(),
        ),
        (0, true) => (
            "on hand stayed; the settings changed".into(),
            "在库不变，已更新安全库存/预警阈值/库位".into(),
        ),
        (_, false) => (
            format!("on hand {on_hand} → {to} ({delta:+})"),
            format!("在库将由 {on_hand} 调整为 {to}（{delta:+}）"),
        ),
        (_, true) => (
            format!("on hand {on_hand} → {to} ({delta:+})"),
            format!("在库已由 {on_hand} 调整为 {to}（{delta:+}）"),
        ),
    }
}

fn summarise(rows: &[CountRowReport]) -> CountSummary {
    let mut s = CountSummary {
        rows: rows.len(),
        ..Default::default()
    };
    for r in rows {
        match r.verdict {
            CountVerdict::Ok | CountVerdict::Applied => {
                s.changes += 1;
                let delta = r.delta.unwrap_or_default();
                if delta > 0 {
                    s.units_added += delta;
                } else {
                    s.units_removed -= delta;
                }
            }
            CountVerdict::Unchanged => s.unchanged += 1,
            _ => s.refused += 1,
        }
    }
    s
}
