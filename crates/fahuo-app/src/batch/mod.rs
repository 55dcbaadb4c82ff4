//! Batch files: tracking-number imports (preview, then apply in chunks, resumable) and order
//! exports. Reading and writing the files is pure ([`file`], [`export`]); this module adds
//! what needs the store.
//!
//! An import is previewed first: every row gets a verdict from the file alone (carrier not
//! recognised, number invalid for the carrier, duplicate row, number reused in the file) and
//! from the store (unknown order, not reviewed, already shipped, number used by another
//! order). The preview is stored and applies nothing. Applying turns the valid rows into
//! shipments 500 rows per transaction (a job, so a crash resumes where it stopped); the
//! shipments then go to the platforms through the outbox like any other write-back, and the
//! result file says what became of each row.

pub mod export;
pub mod file;

use crate::jobs::{JobError, JobRunner};
use crate::shipping::{carrier_name_zh, same_parcel};
use crate::{Actor, App, AppError, Result};
use chrono::Utc;
use export::{ExportColumn, ExportFormat, ExportRow};
use fahuo_domain::fulfilment::ShipmentState;
use fahuo_domain::{
    OrderId, OrderLineId, OrderState, ParseError, Permission, ShipmentImportId, ShopId,
};
use fahuo_store::orders::OrderFilter;
use fahuo_store::shipment_imports::{
    AppliedRow, CHUNK_ROWS, IMPORT_JOB, ImportRow, ShipmentImport,
};
use fahuo_store::shipping::{NumberUse, OrderRef, ShipmentFilter};
use file::{ResultRow, ShipmentFile};
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// What a preview shows: the file as read, every row's verdict, and the counts.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportPreview {
    pub import: ShipmentImport,
    pub format: String,
    pub encoding: Option<&'static str>,
    pub template: file::TemplateKind,
    pub columns: Vec<(String, file::ShipmentField)>,
    pub ignored_columns: Vec<String>,
    /// Rows that will become shipments when applied.
    pub ready: usize,
    /// Rows that will be skipped, by verdict code.
    pub refused: BTreeMap<String, usize>,
    pub rows: Vec<ImportRow>,
}

/// An import's progress and every row's outcome.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportStatus {
    pub import: ShipmentImport,
    /// Rows by outcome: `ready` (not applied yet), `skipped`, and for queued rows their
    /// shipment's state (`pending`, `succeeded`, `conflict`, `failed`).
    pub counts: BTreeMap<String, usize>,
    pub rows: Vec<AppliedRow>,
}

/// Which orders to export and how.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExportRequest {
    pub format: ExportFormat,
    /// Columns in order; empty = [`ExportColumn::DEFAULT`].
    #[serde(default)]
    pub columns: Vec<ExportColumn>,
    pub state: Option<OrderState>,
    pub shop_id: Option<i64>,
    /// Only these orders (a bulk selection), at most 20,000.
    #[serde(default)]
    pub order_ids: Vec<OrderId>,
    /// Receiver name, phone and address in clear (needs the reveal right; audited).
    #[serde(default)]
    pub unmask: bool,
}

/// Rows an export may hold (one sheet, and what one request may decrypt).
pub const MAX_EXPORT_ROWS: usize = 20_000;

fn verdict(code: &str, message: String) -> (Option<String>, Option<String>) {
    (Some(code.to_string()), Some(message))
}

impl App {
    /// Reads a tracking-number file and says what applying it would do. Stores the preview
    /// (so it can be applied as previewed); ships nothing.
    pub async fn preview_shipment_import(
        &self,
        actor: &Actor,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<ImportPreview> {
        actor.require(Permission::PrintAndShip)?;
        let file_name: String = file_name.trim().chars().take(200).collect();
        let parsed = file::parse_shipment_file(bytes, &file::shipment_limits())?;
        let rows = self.judge_rows(actor, &parsed).await?;
        let id = self
            .store()
            .create_shipment_import(
                actor.tenant_id,
                if file_name.is_empty() {
                    "upload"
                } else {
                    &file_name
                },
                match parsed.format {
                    crate::import::FileFormat::Xlsx => "xlsx",
                    crate::import::FileFormat::Csv => "csv",
                },
                &rows,
                &actor.audit_ref(),
                self.now(),
            )
            .await?;
        let mut refused = BTreeMap::new();
        for r in &rows {
            if let Some(code) = &r.verdict_code {
                *refused.entry(code.clone()).or_insert(0) += 1;
            }
        }
        Ok(ImportPreview {
            import: self.store().shipment_import(actor.tenant_id, id).await?,
            format: format!("{:?}", parsed.format).to_lowercase(),
            encoding: parsed.encoding,
            template: parsed.template,
            columns: parsed.columns,
            ignored_columns: parsed.ignored_columns,
            ready: rows.iter().filter(|r| r.verdict_code.is_none()).count(),
            refused,
            rows,
        })
    }

    /// Each row's verdict: the file's own first, then what the store knows.
    async fn judge_rows(&self, actor: &Actor, parsed: &ShipmentFile) -> Result<Vec<ImportRow>> {
        let tenant = actor.tenant_id;
        let order_nos: Vec<String> = parsed
            .rows
            .iter()
            .filter(|r| !r.order_no.is_empty())
            .map(|r| r.order_no.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut orders: HashMap<String, Vec<OrderRef>> = HashMap::new();
        // Numbers only of shops outside the actor's scope: refused, and said so.
        let mut outside: HashSet<String> = HashSet::new();
        for o in self
            .store()
            .orders_by_platform_ids(tenant, &order_nos)
            .await?
        {
            if !actor.scope.allows_shop(o.shop_id) {
                outside.insert(o.platform_order_id);
                continue;
            }
            orders
                .entry(o.platform_order_id.clone())
                .or_default()
                .push(o);
        }
        let numbers: Vec<String> = parsed
            .rows
            .iter()
            .filter_map(|r| r.tracking_no.as_ref().map(|n| n.as_str().to_string()))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut used: HashMap<String, Vec<NumberUse>> = HashMap::new();
        for u in self
            .store()
            .shipments_with_numbers(tenant, &numbers)
            .await?
        {
            used.entry(u.tracking_no.clone()).or_default().push(u);
        }
        // The receiver key of an order number that names one order.
        let merge_key_of = |order_no: &str| match orders.get(order_no).map(Vec::as_slice) {
            Some([one]) => one.merge_key.clone(),
            _ => None,
        };
        // An order listed twice with different numbers and no SKU would ship whole twice.
        let mut whole_rows: HashMap<&str, u32> = HashMap::new();
        let mut out = Vec::with_capacity(parsed.rows.len());
        for r in &parsed.rows {
            let number = r.tracking_no.as_ref().map(|n| n.as_str().to_string());
            let mut row = ImportRow {
                row: r.row,
                order_no: r.order_no.clone(),
                order_id: None,
                carrier_code: r.carrier.map(|c| c.code().to_string()),
                tracking_no: number.clone(),
                sku: r.sku.clone(),
                quantity: r.quantity.map(i64::from),
                items: Vec::new(),
                verdict_code: None,
                verdict_message: None,
            };
            // One number for two orders to the same person and address is a merged parcel
            // (合单), not a slip.
            let first = r.verdicts.iter().find(|v| match v {
                file::FileVerdict::ReusedInFile { other_order_no, .. } => {
                    !same_parcel(&merge_key_of(&r.order_no), &merge_key_of(other_order_no))
                }
                _ => true,
            });
            let (code, message) = if let Some(v) = first {
                let code = serde_json::to_value(v)
                    .ok()
                    .and_then(|j| j.get("code").and_then(|c| c.as_str()).map(str::to_string))
                    .unwrap_or_else(|| "invalid".into());
                (Some(code), Some(v.message_zh()))
            } else {
                match orders.get(&r.order_no).map(Vec::as_slice) {
                    None | Some([]) if outside.contains(&r.order_no) => verdict(
                        "out_of_scope",
                        format!(
                            "订单 {} 属于你的数据范围以外的店铺，不能由你导入",
                            r.order_no
                        ),
                    ),
                    None | Some([]) => {
                        verdict("unknown_order", format!("找不到订单 {}", r.order_no))
                    }
                    Some([_, _, ..]) => verdict(
                        "ambiguous_order",
                        format!("订单号 {} 在多个店铺中都有，请分店铺导入", r.order_no),
                    ),
                    Some([found]) => {
                        let (order, state) = (&found.id, &found.state);
                        row.order_id = Some(*order);
                        let number = number.clone().unwrap_or_default();
                        let same = used
                            .get(&number)
                            .map(|v| v.iter().any(|u| u.order_id == *order))
                            .unwrap_or(false);
                        let other = used
                            .get(&number)
                            .and_then(|v| {
                                v.iter().find(|u| {
                                    u.order_id != *order
                                        && !same_parcel(&found.merge_key, &u.merge_key)
                                })
                            })
                            .map(|u| u.order_id);
                        if same {
                            verdict(
                                "already_shipped",
                                "该订单已用此单号发货（或正在发货），无需重复导入".into(),
                            )
                        } else if let Some(other) = other {
                            verdict(
                                "number_reused",
                                format!(
                                    "单号 {number} 已用于另一个订单（{other}），一个包裹不能发给两个买家"
                                ),
                            )
                        } else {
                            match state {
                                OrderState::Cancelled | OrderState::Refunded => {
                                    verdict("order_closed", "订单已取消或已退款，不能发货".into())
                                }
                                s if !s.is_before_shipping() => verdict(
                                    "already_shipped",
                                    "订单已发货（用的是其他单号）：如需更正请使用“修改单号”".into(),
                                ),
                                _ => match self.import_items(tenant, *order, r).await? {
                                    Ok(items) => {
                                        row.items = items;
                                        if row.items.is_empty() {
                                            match whole_rows.get(r.order_no.as_str()) {
                                                Some(first) => verdict(
                                                    "order_repeated",
                                                    format!(
                                                        "订单在第 {first} 行已导入过整单：多包裹请用商品编码列分别填写"
                                                    ),
                                                ),
                                                None => {
                                                    whole_rows.insert(&r.order_no, r.row);
                                                    (None, None)
                                                }
                                            }
                                        } else {
                                            (None, None)
                                        }
                                    }
                                    Err((code, message)) => verdict(code, message),
                                },
                            }
                        }
                    }
                }
            };
            row.verdict_code = code;
            row.verdict_message = message;
            out.push(row);
        }
        Ok(out)
    }

    /// The lines a row ships when it names a SKU (partial shipment); empty = whole order.
    async fn import_items(
        &self,
        tenant: fahuo_domain::TenantId,
        order: OrderId,
        r: &file::ShipmentRow,
    ) -> Result<Result<Vec<(OrderLineId, i64)>, (&'static str, String)>> {
        let Some(sku) = &r.sku else {
            return Ok(Ok(Vec::new()));
        };
        let order = self.store().order(tenant, order).await?;
        let line = order.lines.iter().find(|l| {
            l.sku_code.as_ref().map(|c| c.as_str()) == Some(sku.as_str())
                || l.platform_sku_id.as_deref() == Some(sku.as_str())
                || l.platform_line_id.as_deref() == Some(sku.as_str())
        });
        let Some(line) = line else {
            return Ok(Err((
                "sku_not_on_order",
                format!("订单中没有商品编码 {sku}"),
            )));
        };
        let units = r.quantity.map(i64::from).unwrap_or(line.quantity);
        if units < 1 || units > line.quantity {
            return Ok(Err((
                "bad_quantity",
                format!("发货数量 {units} 超出该商品的购买数量 {}", line.quantity),
            )));
        }
        Ok(Ok(vec![(line.id, units)]))
    }

    /// Starts applying a previewed import (a job applies it, 500 rows per transaction).
    /// Applying twice does nothing the second time.
    pub async fn apply_shipment_import(
        &self,
        actor: &Actor,
        id: ShipmentImportId,
    ) -> Result<ShipmentImport> {
        actor.require(Permission::PrintAndShip)?;
        self.shipment_import_in_scope(actor, id).await?;
        self.store()
            .start_shipment_import(actor.tenant_id, id, &actor.audit_ref(), self.now())
            .await?;
        Ok(self.store().shipment_import(actor.tenant_id, id).await?)
    }

    /// Applies the next chunk of an import now (the job's step, and the CLI's progress bar).
    /// Returns (rows applied now, rows left).
    pub async fn apply_shipment_import_chunk(
        &self,
        actor: &Actor,
        id: ShipmentImportId,
    ) -> Result<(usize, i64)> {
        actor.require(Permission::PrintAndShip)?;
        self.shipment_import_in_scope(actor, id).await?;
        Ok(self
            .store()
            .apply_shipment_import_chunk(
                actor.tenant_id,
                id,
                CHUNK_ROWS,
                &actor.audit_ref(),
                self.now(),
            )
            .await?)
    }

    pub async fn shipment_import_status(
        &self,
        actor: &Actor,
        id: ShipmentImportId,
    ) -> Result<ImportStatus> {
        actor.require(Permission::ViewOrders)?;
        let import = self.store().shipment_import(actor.tenant_id, id).await?;
        let rows = self.shipment_import_in_scope(actor, id).await?;
        let mut counts = BTreeMap::new();
        for r in &rows {
            let key = match (&r.outcome, &r.shipment_state) {
                (None, _) => "ready".to_string(),
                (Some(_), Some(state)) => state.clone(),
                (Some(o), None) => o.clone(),
            };
            *counts.entry(key).or_insert(0) += 1;
        }
        Ok(ImportStatus {
            import,
            counts,
            rows,
        })
    }

    /// The import's rows, or `NotFound` unless every order it names is of a shop of the
    /// actor's scope (an import someone else made for other shops is not the actor's).
    async fn shipment_import_in_scope(
        &self,
        actor: &Actor,
        id: ShipmentImportId,
    ) -> Result<Vec<AppliedRow>> {
        let rows = self
            .store()
            .shipment_import_rows(actor.tenant_id, id)
            .await?;
        if actor.scope.shops.is_some() {
            let orders: HashSet<OrderId> = rows.iter().filter_map(|r| r.row.order_id).collect();
            for order in orders {
                self.order_in_scope(actor, order).await?;
            }
        }
        Ok(rows)
    }

    /// The result file (导入结果.xlsx): each row with what became of it.
    pub async fn shipment_import_result(
        &self,
        actor: &Actor,
        id: ShipmentImportId,
    ) -> Result<Vec<u8>> {
        let status = self.shipment_import_status(actor, id).await?;
        let rows: Vec<ResultRow> = status
            .rows
            .iter()
            .map(|r| {
                let (outcome, message) = match (&r.row.verdict_code, &r.shipment_state) {
                    (Some(code), _) => (
                        code.clone(),
                        r.row.verdict_message.clone().unwrap_or_default(),
                    ),
                    (None, Some(state)) => (
                        state.clone(),
                        match state.as_str() {
                            "succeeded" => "平台已发货".to_string(),
                            "pending" => "等待平台确认".to_string(),
                            _ => r.shipment_error.clone().unwrap_or_default(),
                        },
                    ),
                    (None, None) => ("ready".into(), "尚未导入".into()),
                };
                ResultRow {
                    row: r.row.row,
                    order_no: r.row.order_no.clone(),
                    carrier: r
                        .row
                        .carrier_code
                        .as_deref()
                        .map(carrier_name_zh)
                        .unwrap_or_default(),
                    tracking_no: r.row.tracking_no.clone().unwrap_or_default(),
                    outcome,
                    message_zh: message,
                }
            })
            .collect();
        file::result_xlsx(&rows).map_err(|e| AppError::Internal(format!("result file: {e}")))
    }

    /// fahuo's tracking-number template.
    pub fn shipment_import_template(&self, actor: &Actor) -> Result<Vec<u8>> {
        actor.require(Permission::PrintAndShip)?;
        file::shipment_template_xlsx().map_err(|e| AppError::Internal(format!("template: {e}")))
    }

    /// Orders as xlsx or CSV in the chosen columns. Receivers are masked unless `unmask` is
    /// asked by a user who may reveal them (the export is then audited with its size).
    pub async fn export_orders(&self, actor: &Actor, req: &ExportRequest) -> Result<Vec<u8>> {
        actor.require(Permission::ViewOrders)?;
        if req.unmask {
            actor.require(Permission::RevealReceiver)?;
        }
        if req.order_ids.len() > MAX_EXPORT_ROWS {
            return Err(ParseError::new("order_ids", "at most 20000 orders").into());
        }
        let tenant = actor.tenant_id;
        let ids: Vec<OrderId> = if req.order_ids.is_empty() {
            let mut ids = Vec::new();
            let mut after = None;
            loop {
                let page = self
                    .store()
                    .orders(
                        tenant,
                        &OrderFilter {
                            state: req.state,
                            shop_id: req.shop_id.map(ShopId),
                            shops: actor.scope.shops.clone(),
                            after,
                            limit: 500,
                            ..Default::default()
                        },
                    )
                    .await?;
                ids.extend(page.items.iter().map(|o| o.id));
                if ids.len() > MAX_EXPORT_ROWS {
                    return Err(AppError::Conflict(format!(
                        "超过 {MAX_EXPORT_ROWS} 个订单：请缩小筛选范围后分批导出"
                    )));
                }
                match page.next_cursor {
                    Some(c) => after = Some(c),
                    None => break,
                }
            }
            ids
        } else {
            // A chosen order outside the actor's scope is one that does not exist.
            for id in &req.order_ids {
                self.order_in_scope(actor, *id).await?;
            }
            req.order_ids.clone()
        };
        let shops: HashMap<ShopId, String> = self
            .store()
            .shops(tenant)
            .await?
            .into_iter()
            .map(|s| (s.id, s.name.as_str().to_string()))
            .collect();
        let when = |t: Option<chrono::DateTime<Utc>>| {
            t.map(|t| {
                t.with_timezone(&fahuo_domain::deadline::SHANGHAI)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default()
        };
        let mut rows = Vec::with_capacity(ids.len());
        for id in &ids {
            let order = self.store().order(tenant, *id).await?;
            let shipments = self
                .store()
                .shipments(
                    tenant,
                    &ShipmentFilter {
                        order_id: Some(order.id),
                        limit: 50,
                        ..Default::default()
                    },
                )
                .await?;
            let mut shipped: Vec<_> = shipments
                .iter()
                .filter(|s| s.state == ShipmentState::Succeeded)
                .collect();
            shipped.sort_by_key(|s| s.id);
            let (name, phone, detail) = if req.unmask {
                (
                    order.receiver.name.clone(),
                    order.receiver.phone.as_str().to_string(),
                    order.receiver.detail.clone(),
                )
            } else {
                let m = order.receiver.masked();
                (m.name, m.phone, m.detail)
            };
            rows.push(ExportRow {
                order_no: order.platform_order_id.as_str().to_string(),
                shop: shops.get(&order.shop_id).cloned().unwrap_or_default(),
                platform: order.platform.label_zh().to_string(),
                state: order.state.as_str().to_string(),
                platform_status: order.platform_status.clone(),
                paid_at: when(order.paid_at),
                ship_by: when(order.ship_by),
                receiver_name: name,
                receiver_phone: phone,
                province: order.receiver.province.clone(),
                city: order.receiver.city.clone(),
                county: order.receiver.county.clone(),
                address: detail,
                items: order
                    .lines
                    .iter()
                    .map(|l| format!("{} ×{}", l.title, l.quantity))
                    .collect::<Vec<_>>()
                    .join("; "),
                quantity: order.lines.iter().map(|l| l.quantity).sum(),
                paid_total: order.paid_total.to_string(),
                freight: order.freight.to_string(),
                buyer_note: order.buyer_note.clone().unwrap_or_default(),
                seller_note: order.seller_note.clone().unwrap_or_default(),
                warehouse: String::new(),
                carrier: shipped
                    .iter()
                    .map(|s| carrier_name_zh(&s.carrier_code))
                    .collect::<Vec<_>>()
                    .join("; "),
                tracking_no: shipped
                    .iter()
                    .map(|s| s.tracking_no.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
                shipped_at: when(shipped.iter().filter_map(|s| s.confirmed_at).max()),
            });
        }
        let columns = if req.columns.is_empty() {
            ExportColumn::DEFAULT.to_vec()
        } else {
            req.columns.clone()
        };
        let bytes = export::write_orders(req.format, &columns, &rows)
            .map_err(|e| AppError::Internal(format!("export: {e}")))?;
        let mut audit = actor.audit("orders.export", "tenant", self.now());
        audit.entity_id = Some(tenant.get());
        audit.after = Some(serde_json::json!({
            "orders": rows.len(), "unmasked": req.unmask, "format": req.format,
        }));
        self.store().append_audit(&audit).await?;
        Ok(bytes)
    }
}

/// Registers the import job: it applies an import chunk by chunk until no row is left.
pub fn register(runner: JobRunner) -> JobRunner {
    runner.register(IMPORT_JOB, |app, job| {
        async move {
            let tenant = job
                .tenant_id
                .ok_or_else(|| JobError::Permanent("job has no tenant".into()))?;
            let id = job
                .payload
                .get("import_id")
                .and_then(serde_json::Value::as_i64)
                .map(ShipmentImportId)
                .ok_or_else(|| JobError::Permanent("payload has no import_id".into()))?;
            let actor = Actor::system(tenant, "import");
            loop {
                let (_, left) = app
                    .apply_shipment_import_chunk(&actor, id)
                    .await
                    .map_err(|e| JobError::Retry(e.to_string()))?;
                if left == 0 {
                    return Ok(());
                }
            }
        }
        .boxed()
    })
}
