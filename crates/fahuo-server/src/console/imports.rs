//! 导入: order and shipment imports with the preview → apply flow.
//!
//! The page is a shell: `static/imports.js` sends the chosen file itself as the body to the
//! import API (`POST /api/v1/orders/import?shop_id&mode=preview|commit`,
//! `POST /api/v1/shipment-imports`, `POST /api/v1/shipment-imports/{id}/apply`,
//! `GET /api/v1/shipment-imports/{id}`) and shows the answers. Its texts come from here.

use super::{Chrome, Lang, PageId, PageResult, enter, render};
use crate::AppState;
use crate::extract::MaybeSession;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::routing::get;
use fahuo_domain::{Permission, Platform};

pub fn router() -> Router<AppState> {
    Router::new().route("/imports", get(imports_page))
}

/// Every text of the imports page, the script's included (`{n}` and `{m}` are filled in).
pub struct ImportsText {
    pub title: &'static str,
    pub orders_heading: &'static str,
    pub orders_intro: &'static str,
    pub shop: &'static str,
    pub no_manual_shop: &'static str,
    pub file: &'static str,
    pub template: &'static str,
    pub preview: &'static str,
    pub apply: &'static str,
    pub shipments_heading: &'static str,
    pub shipments_intro: &'static str,
    // The script's texts.
    pub choose_file: &'static str,
    pub working: &'static str,
    pub order_summary: &'static str,
    pub order_created: &'static str,
    pub order_nothing: &'static str,
    pub rows_in_error: &'static str,
    pub orders_in_file: &'static str,
    pub col_row: &'static str,
    pub col_order: &'static str,
    pub col_errors: &'static str,
    pub col_status: &'static str,
    pub col_receiver: &'static str,
    pub col_quantity: &'static str,
    pub col_carrier: &'static str,
    pub col_tracking: &'static str,
    pub col_verdict: &'static str,
    pub col_outcome: &'static str,
    pub status_new: &'static str,
    pub status_created: &'static str,
    pub status_already_imported: &'static str,
    pub status_invalid: &'static str,
    pub status_skipped: &'static str,
    pub shipment_summary: &'static str,
    pub shipment_applying: &'static str,
    pub shipment_applied: &'static str,
    pub shipment_nothing: &'static str,
    pub result_file: &'static str,
    pub row_ready: &'static str,
    pub row_skipped: &'static str,
    pub row_queued: &'static str,
}

static ZH: ImportsText = ImportsText {
    title: "导入",
    orders_heading: "导入订单",
    orders_intro: "上传 xlsx 或 CSV 文件（UTF-8 或 GBK），先预览，确认无误后再导入。已导入过的订单不会重复创建。",
    shop: "店铺（手工店铺）",
    no_manual_shop: "还没有手工店铺：请先在设置里添加一个平台为“手工”的店铺。",
    file: "文件",
    template: "下载模板",
    preview: "预览",
    apply: "确认导入",
    shipments_heading: "批量导入快递单号",
    shipments_intro: "上传填好快递单号的表格（fahuo 模板，或平台批量发货模板的列），先预览每一行，再确认发货。",
    choose_file: "请先选择文件",
    working: "处理中……",
    order_summary: "共 {n} 行：{m}",
    order_created: "已导入 {n} 个订单",
    order_nothing: "没有可导入的新订单",
    rows_in_error: "有错误的行",
    orders_in_file: "文件中的订单",
    col_row: "行",
    col_order: "订单号",
    col_errors: "问题",
    col_status: "状态",
    col_receiver: "收件人",
    col_quantity: "件数",
    col_carrier: "快递",
    col_tracking: "快递单号",
    col_verdict: "预览结果",
    col_outcome: "导入结果",
    status_new: "将导入",
    status_created: "已导入",
    status_already_imported: "重复（已导入过）",
    status_invalid: "有错误，不导入",
    status_skipped: "未导入",
    shipment_summary: "共 {n} 行，可发货 {m} 行",
    shipment_applying: "正在发货：还剩 {n} 行",
    shipment_applied: "导入完成：{n}",
    shipment_nothing: "没有可发货的行",
    result_file: "下载导入结果",
    row_ready: "可发货",
    row_skipped: "跳过",
    row_queued: "已提交发货",
};

static EN: ImportsText = ImportsText {
    title: "Imports",
    orders_heading: "Import orders",
    orders_intro: "Upload an xlsx or CSV file (UTF-8 or GBK), preview it, then import. Orders already imported are not created twice.",
    shop: "Shop (manual)",
    no_manual_shop: "No manual shop yet: add a shop of platform “manual” in Settings first.",
    file: "File",
    template: "Download template",
    preview: "Preview",
    apply: "Import",
    shipments_heading: "Import tracking numbers",
    shipments_intro: "Upload a sheet with the tracking numbers filled in (fahuo's template, or the columns of a platform's batch template), preview every row, then ship.",
    choose_file: "Choose a file first",
    working: "Working…",
    order_summary: "{n} rows: {m}",
    order_created: "Orders imported: {n}",
    order_nothing: "No new order to import",
    rows_in_error: "Rows with errors",
    orders_in_file: "Orders in the file",
    col_row: "Row",
    col_order: "Order number",
    col_errors: "Problem",
    col_status: "Status",
    col_receiver: "Receiver",
    col_quantity: "Units",
    col_carrier: "Carrier",
    col_tracking: "Tracking number",
    col_verdict: "Preview",
    col_outcome: "Outcome",
    status_new: "Will be imported",
    status_created: "Imported",
    status_already_imported: "Duplicate (already imported)",
    status_invalid: "Has errors, not imported",
    status_skipped: "Not imported",
    shipment_summary: "{n} rows, {m} ready to ship",
    shipment_applying: "Shipping: {n} rows left",
    shipment_applied: "Import done: {n}",
    shipment_nothing: "No row to ship",
    result_file: "Download the result",
    row_ready: "Ready",
    row_skipped: "Skipped",
    row_queued: "Shipment queued",
};

struct ShopOption {
    id: i64,
    name: String,
}

#[derive(Template)]
#[template(path = "imports.html")]
struct ImportsPage {
    chrome: Chrome,
    t: &'static ImportsText,
    shops: Vec<ShopOption>,
    /// The tracking-number section, for roles that may ship.
    shipments: bool,
}

/// 导入: orders (EditOrders) and, for roles that may ship, tracking numbers.
async fn imports_page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
) -> PageResult {
    let (actor, mut chrome) = enter(session, lang, PageId::Imports, &uri)?;
    let t = lang.pick(&ZH, &EN);
    chrome.title = t.title.to_string();
    // Orders are imported into manual shops only (the API refuses others); App::shops gives
    // only the sub-account's shops.
    let shops = match s.app.shops(&actor).await {
        Ok(shops) => shops
            .into_iter()
            .filter(|shop| shop.platform == Platform::Manual)
            .map(|shop| ShopOption {
                id: shop.id.get(),
                name: shop.name.to_string(),
            })
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "shop list failed");
            Vec::new()
        }
    };
    Ok(render(ImportsPage {
        chrome,
        t,
        shops,
        shipments: actor.role.allows(Permission::PrintAndShip),
    }))
}
