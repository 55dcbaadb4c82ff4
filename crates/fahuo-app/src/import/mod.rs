//! Order import from spreadsheets (导入订单): orders from other channels (other marketplaces,
//! offline sales, WeChat groups) that merchants keep in Excel or CSV.
//!
//! The file has one row per order line; rows sharing an order number form one order. The work
//! is split in two:
//!
//! * [`parse_file`] is pure (no database, no clock of its own, never panics): bytes → rows
//!   ([`file`]) → columns by header ([`columns`]) → typed orders and per-row errors ([`rows`]).
//!   Validation goes through [`OrderInput::parse`](crate::orders::OrderInput::parse), the same
//!   path as a manual order typed into the API, so an import cannot accept what the API refuses.
//!   The fuzz target `import_csv` calls it directly.
//! * [`App::preview_import`] and [`App::commit_import`] add what needs the store: the shop
//!   must be a manual shop of the actor's tenant, orders already in fahuo are reported as
//!   duplicates (`already_imported`) and never written again, and a commit stores each valid
//!   order on its own (all or nothing per order) with the usual `order.created` audit entry.

pub mod columns;
pub mod file;
mod rows;
mod template;

pub use columns::Field;
pub use file::FileFormat;
pub use rows::{CellError, ImportOrder, ParsedFile, RowReport};
pub use template::template_xlsx;

use crate::{Actor, App, AppError, Result};
use chrono::{DateTime, Utc};
use fahuo_domain::order::MaskedReceiver;
use fahuo_domain::{Fen, OrderId, Permission, ShopId};
use fahuo_store::orders::Upsert;
use serde::Serialize;
use std::collections::HashSet;

/// How big a file may be. The defaults suit a browser upload and a day of offline orders.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_rows: usize,
    /// What an xlsx may declare it unzips to (zip-bomb guard).
    pub max_unzipped_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 10 * 1024 * 1024,
            max_rows: 20_000,
            max_unzipped_bytes: 200 * 1024 * 1024,
        }
    }
}

/// Why a whole file cannot be imported. Row-level problems are [`CellError`]s instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("the file is empty")]
    Empty,
    #[error("the file has a header row but no data rows")]
    HeaderOnly,
    #[error("the file is larger than {max_bytes} bytes")]
    TooLarge { max_bytes: usize },
    #[error("the file has more than {max_rows} data rows; split it into several files")]
    TooManyRows { max_rows: usize },
    #[error("not a readable xlsx file ({0})")]
    BadXlsx(String),
    #[error("legacy .xls files are not supported; save the file as .xlsx or CSV")]
    LegacyXls,
    #[error("not a spreadsheet: neither an xlsx file nor text in UTF-8, UTF-16 or GBK/GB18030")]
    NotText,
    #[error("unreadable CSV ({0})")]
    BadText(String),
    #[error("required columns missing: {}{}", missing_en.join(", "), if *no_header { " (no header row recognised: is the file comma-separated, with the headers in the first row?)" } else { "" })]
    MissingColumns {
        /// The missing columns by the template's Chinese header, e.g. "订单号".
        missing: Vec<String>,
        missing_en: Vec<String>,
        /// No row of the first ten looked like a header row at all.
        no_header: bool,
    },
}

impl ImportError {
    /// A stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::Empty => "empty_file",
            ImportError::HeaderOnly => "no_data_rows",
            ImportError::TooLarge { .. } => "file_too_large",
            ImportError::TooManyRows { .. } => "too_many_rows",
            ImportError::BadXlsx(_) | ImportError::LegacyXls => "unreadable_xlsx",
            ImportError::NotText | ImportError::BadText(_) => "unreadable_file",
            ImportError::MissingColumns { .. } => "missing_columns",
        }
    }

    /// The message for the merchant, in Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            ImportError::Empty => "文件是空的".into(),
            ImportError::HeaderOnly => "文件只有表头，没有数据行".into(),
            ImportError::TooLarge { max_bytes } => {
                format!("文件过大，最大 {} MB", max_bytes / (1024 * 1024))
            }
            ImportError::TooManyRows { max_rows } => {
                format!("文件超过 {max_rows} 行，请拆分成多个文件导入")
            }
            ImportError::BadXlsx(_) => "无法读取该 xlsx 文件（文件可能已损坏或不完整）".into(),
            ImportError::LegacyXls => "不支持旧版 .xls 文件，请另存为 .xlsx 或 CSV 后导入".into(),
            ImportError::NotText => {
                "无法识别的文件：请上传 xlsx 文件，或 UTF-8 / GBK 编码的 CSV 文件".into()
            }
            ImportError::BadText(_) => "CSV 文件格式有误，无法读取".into(),
            ImportError::MissingColumns {
                missing, no_header, ..
            } => {
                let mut m = format!("缺少必填列：{}", missing.join("、"));
                if *no_header {
                    m.push_str("（未找到表头：请确认第一行是表头，且文件以逗号分隔）");
                }
                m
            }
        }
    }
}

/// A column of the file and what fahuo read from it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ColumnMapping {
    /// The header as written in the file.
    pub header: String,
    pub field: Field,
}

/// What happens (preview) or happened (commit) to one order of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Valid and new: a commit creates it.
    New,
    /// Created by this commit.
    Created,
    /// The shop already has an order with this number: nothing is written.
    AlreadyImported,
    /// One of its rows has an error: not imported.
    Invalid,
    /// Valid, but not imported because the commit asked for a clean file and this one is not.
    Skipped,
}

/// One order of the file as it would be (or was) created.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderPreview {
    pub platform_order_id: String,
    /// The rows of the file (Excel numbering) this order was read from.
    pub rows: Vec<u32>,
    pub status: OrderStatus,
    /// Set once created (or for an order already in fahuo).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
    /// Masked, as everywhere else; the region is in clear so the address split can be checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver: Option<MaskedReceiver>,
    pub lines: usize,
    pub quantity: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paid_total_fen: Option<Fen>,
}

/// The counts a merchant reads first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportSummary {
    /// Data rows (header and blank rows not counted).
    pub rows: usize,
    pub rows_ok: usize,
    pub rows_failed: usize,
    /// Distinct order numbers.
    pub orders: usize,
    /// Orders that are valid and new (a preview) or were created (a commit).
    pub ok: usize,
    /// Orders with at least one row in error.
    pub failed: usize,
    /// Orders whose number the shop already has (`already_imported`).
    pub duplicates: usize,
    /// Orders created by this request (0 for a preview).
    pub created: usize,
}

/// The answer to a preview or a commit.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    /// `preview` or `commit`.
    pub mode: &'static str,
    /// False for a preview, and for a commit refused because the file is not clean.
    pub committed: bool,
    pub shop_id: ShopId,
    pub format: FileFormat,
    /// The detected text encoding of a CSV file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<&'static str>,
    /// The worksheet read (the first) of an xlsx file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// The row holding the headers (Excel numbering).
    pub header_row: u32,
    pub columns: Vec<ColumnMapping>,
    /// Headers fahuo does not read; their cells are ignored.
    pub ignored_columns: Vec<String>,
    /// Whether addresses were split by fahuo's address parser (a full-address column).
    pub address_parsed: bool,
    pub summary: ImportSummary,
    /// Every data row: ok, or its errors.
    pub rows: Vec<RowReport>,
    pub orders: Vec<OrderPreview>,
}

/// Parses a whole file into orders and per-row errors, without a database. `shop_id` is put
/// into each order as given; `now` is the orders' paid/updated time and the reference for
/// date-only cells.
pub fn parse_file(
    bytes: &[u8],
    shop_id: i64,
    now: DateTime<Utc>,
    limits: &Limits,
) -> Result<ParsedFile, ImportError> {
    let sheet = file::read_sheet(bytes, limits)?;
    rows::parse_sheet(sheet, shop_id, now, limits.max_rows)
}

impl App {
    /// A dry run: what an import of this file into this shop would do. Stores nothing.
    pub async fn preview_import(
        &self,
        actor: &Actor,
        shop_id: i64,
        bytes: &[u8],
    ) -> Result<ImportReport> {
        let (parsed, existing) = self.prepare_import(actor, shop_id, bytes).await?;
        Ok(report("preview", parsed, &existing))
    }

    /// Imports the valid, new orders of the file, each on its own (all or nothing per order).
    /// With `only_if_clean`, nothing is stored unless every row is valid. Orders the shop
    /// already has are left as they are and reported `already_imported`, so importing the
    /// same file again creates nothing.
    pub async fn commit_import(
        &self,
        actor: &Actor,
        shop_id: i64,
        bytes: &[u8],
        only_if_clean: bool,
    ) -> Result<ImportReport> {
        let (parsed, existing) = self.prepare_import(actor, shop_id, bytes).await?;
        let now = self.now();
        let mut report = report("commit", parsed.clone(), &existing);
        let clean = report.summary.rows_failed == 0;
        if only_if_clean && !clean {
            for o in &mut report.orders {
                if o.status == OrderStatus::New {
                    o.status = OrderStatus::Skipped;
                }
            }
            report.summary.ok = 0;
            return Ok(report);
        }
        report.committed = true;
        let mut created = 0;
        for (preview, order) in report.orders.iter_mut().zip(&parsed.orders) {
            if preview.status != OrderStatus::New {
                continue;
            }
            let Some(new_order) = &order.order else {
                continue;
            };
            let outcome = self
                .store()
                .upsert_order(actor.tenant_id, new_order, &actor.audit_ref(), now)
                .await?;
            preview.order_id = Some(outcome.order_id());
            preview.status = match outcome {
                Upsert::Created(_) => {
                    created += 1;
                    OrderStatus::Created
                }
                // Imported by someone else between the check and now.
                Upsert::Updated(_) | Upsert::Unchanged(_) => OrderStatus::AlreadyImported,
            };
        }
        report.summary.created = created;
        report.summary.ok = created;
        report.summary.duplicates = report
            .orders
            .iter()
            .filter(|o| o.status == OrderStatus::AlreadyImported)
            .count();
        let mut audit = actor.audit("order.import", "shop", now);
        audit.entity_id = Some(shop_id);
        audit.after = Some(serde_json::json!({
            "format": report.format,
            "rows": report.summary.rows,
            "orders": report.summary.orders,
            "created": report.summary.created,
            "duplicates": report.summary.duplicates,
            "failed": report.summary.failed,
        }));
        self.store().append_audit(&audit).await?;
        Ok(report)
    }

    /// The import template: the headers fahuo reads best and one example row.
    pub fn import_template(&self, actor: &Actor) -> Result<Vec<u8>> {
        actor.require(Permission::EditOrders)?;
        template_xlsx().map_err(|e| AppError::Internal(format!("import template: {e}")))
    }

    async fn prepare_import(
        &self,
        actor: &Actor,
        shop_id: i64,
        bytes: &[u8],
    ) -> Result<(ParsedFile, HashSet<String>)> {
        actor.require(Permission::EditOrders)?;
        self.manual_shop(actor, ShopId(shop_id)).await?;
        let parsed = parse_file(bytes, shop_id, self.now(), &Limits::default())?;
        let numbers: Vec<String> = parsed
            .orders
            .iter()
            .map(|o| o.platform_order_id.clone())
            .collect();
        let existing = self
            .store()
            .existing_platform_order_ids(actor.tenant_id, ShopId(shop_id), &numbers)
            .await?;
        Ok((parsed, existing))
    }
}

fn report(mode: &'static str, parsed: ParsedFile, existing: &HashSet<String>) -> ImportReport {
    let orders: Vec<OrderPreview> = parsed
        .orders
        .iter()
        .map(|o| {
            let status = if o.order.is_none() {
                OrderStatus::Invalid
            } else if existing.contains(&o.platform_order_id) {
                OrderStatus::AlreadyImported
            } else {
                OrderStatus::New
            };
            OrderPreview {
                platform_order_id: o.platform_order_id.clone(),
                rows: o.rows.clone(),
                status,
                order_id: None,
                receiver: o.order.as_ref().map(|n| n.receiver.masked()),
                lines: o.rows.len(),
                quantity: o
                    .order
                    .as_ref()
                    .map(|n| n.lines.iter().map(|l| l.quantity).sum())
                    .unwrap_or(0),
                paid_total_fen: o.order.as_ref().map(|n| n.paid_total),
            }
        })
        .collect();
    let rows_failed = parsed.rows.iter().filter(|r| !r.ok).count();
    let count = |s: OrderStatus| orders.iter().filter(|o| o.status == s).count();
    let summary = ImportSummary {
        rows: parsed.rows.len(),
        rows_ok: parsed.rows.len() - rows_failed,
        rows_failed,
        orders: orders.len(),
        ok: count(OrderStatus::New),
        failed: count(OrderStatus::Invalid),
        duplicates: count(OrderStatus::AlreadyImported),
        created: 0,
    };
    ImportReport {
        mode,
        committed: false,
        shop_id: ShopId(parsed.shop_id),
        format: parsed.format,
        encoding: parsed.encoding,
        sheet: parsed.sheet_name,
        header_row: parsed.header_row,
        columns: parsed.columns,
        ignored_columns: parsed.ignored_columns,
        address_parsed: parsed.address_parsed,
        summary,
        rows: parsed.rows,
        orders,
    }
}
