//! 验货: the full-screen pack station for the warehouse tablet or PC (scan, check each item,
//! green/red feedback, weight, next).
//!
//! The page is a shell: `static/pack.js` drives the flow through the pack API
//! (`/api/v1/pack/open`, `/api/v1/packages/{id}/pack/scan|reset|close`,
//! `/api/v1/packages/{id}/weight`), where the permission, tenant and warehouse scope are
//! checked. The script's messages come from the text below (data attributes), so both
//! languages are complete here.

use super::{Chrome, Lang, PageId, PageResult, enter, render};
use crate::AppState;
use crate::extract::MaybeSession;
use askama::Template;
use axum::Router;
use axum::http::Uri;
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new().route("/pack", get(pack_page))
}

/// Every text of the pack station, the script's included. In the script's texts `{code}`,
/// `{title}`, `{n}`, `{m}`, `{g}` are filled in.
pub struct PackText {
    pub title: &'static str,
    pub back: &'static str,
    pub scan_label: &'static str,
    pub scan_placeholder: &'static str,
    pub idle: &'static str,
    pub package: &'static str,
    pub col_sku: &'static str,
    pub col_title: &'static str,
    pub col_expected: &'static str,
    pub col_scanned: &'static str,
    pub weight_label: &'static str,
    pub expected_weight: &'static str,
    pub close: &'static str,
    pub reset: &'static str,
    pub next: &'static str,
    pub recent: &'static str,
    pub recent_empty: &'static str,
    pub col_time: &'static str,
    pub col_code: &'static str,
    pub col_result: &'static str,
    pub col_weight: &'static str,
    // The script's messages.
    pub opening: &'static str,
    pub opened: &'static str,
    pub already_packed: &'static str,
    pub counted: &'static str,
    pub complete: &'static str,
    pub wrong: &'static str,
    pub extra: &'static str,
    pub missing: &'static str,
    pub weight_off: &'static str,
    pub weight_required: &'static str,
    pub packed: &'static str,
    pub packed_shipped: &'static str,
    pub weighed: &'static str,
    pub reset_done: &'static str,
    pub bad_weight: &'static str,
    pub result_packed: &'static str,
    pub result_weighed: &'static str,
}

static ZH: PackText = PackText {
    title: "验货台",
    back: "← 返回订单",
    scan_label: "扫描",
    scan_placeholder: "扫描面单号或商品条码",
    idle: "请扫描快递面单（或订单号）开始验货",
    package: "包裹",
    col_sku: "商品编码",
    col_title: "商品",
    col_expected: "应发",
    col_scanned: "已扫",
    weight_label: "重量（克）",
    expected_weight: "预计重量",
    close: "封箱",
    reset: "重新扫描",
    next: "下一单",
    recent: "本次验过的包裹",
    recent_empty: "还没有验过的包裹",
    col_time: "时间",
    col_code: "面单号",
    col_result: "结果",
    col_weight: "重量",
    opening: "正在打开……",
    opened: "请逐件扫描商品，还差 {n} 件",
    already_packed: "该包裹已验货封箱；可以重新称重，或扫描下一个面单",
    counted: "{title} {n}/{m}，还差 {g} 件",
    complete: "全部商品已扫描：请称重（或直接按回车）封箱",
    wrong: "错货！条码 {code} 不是这个包裹的商品，请拿出",
    extra: "多货！{title} 只需要 {n} 件，请拿出多余的",
    missing: "少货！还差：{title}",
    weight_off: "重量异常：称重 {n} g，应为约 {m} g（允许 ±{g} g），请核对包裹内容",
    weight_required: "称重后发货：请先称重再封箱",
    packed: "验货通过，已封箱。请扫描下一个面单",
    packed_shipped: "验货通过，已封箱，已通知平台发货。请扫描下一个面单",
    weighed: "已称重 {n} g。请扫描下一个面单",
    reset_done: "已清空扫描记录，请重新逐件扫描",
    bad_weight: "重量请填 1 到 1000000 之间的整数（克）",
    result_packed: "已封箱",
    result_weighed: "已称重",
};

static EN: PackText = PackText {
    title: "Pack station",
    back: "← Back to orders",
    scan_label: "Scan",
    scan_placeholder: "Scan a label or an item barcode",
    idle: "Scan a shipping label (or an order number) to start",
    package: "Parcel",
    col_sku: "SKU code",
    col_title: "Item",
    col_expected: "Expected",
    col_scanned: "Scanned",
    weight_label: "Weight (g)",
    expected_weight: "Expected weight",
    close: "Close parcel",
    reset: "Scan again",
    next: "Next parcel",
    recent: "Parcels packed in this session",
    recent_empty: "No parcel packed yet",
    col_time: "Time",
    col_code: "Label",
    col_result: "Result",
    col_weight: "Weight",
    opening: "Opening…",
    opened: "Scan each item: {n} to go",
    already_packed: "This parcel is already packed; weigh it again or scan the next label",
    counted: "{title} {n}/{m}, {g} to go",
    complete: "All items scanned: weigh the parcel (or press Enter) to close it",
    wrong: "Wrong item! Barcode {code} is not in this parcel: take it out",
    extra: "Extra item! {title} needs only {n}: take the extra out",
    missing: "Items missing: {title}",
    weight_off: "Weight off: {n} g weighed, about {m} g expected (±{g} g allowed); check the parcel",
    weight_required: "This shop ships after weighing: weigh the parcel before closing it",
    packed: "Checked and closed. Scan the next label",
    packed_shipped: "Checked and closed; the platform is told it shipped. Scan the next label",
    weighed: "Weighed {n} g. Scan the next label",
    reset_done: "Scans cleared: scan each item again",
    bad_weight: "Enter the weight in grams, a whole number from 1 to 1000000",
    result_packed: "Packed",
    result_weighed: "Weighed",
};

#[derive(Template)]
#[template(path = "pack.html")]
struct PackPage {
    chrome: Chrome,
    t: &'static PackText,
}

/// 验货台: full screen, no navigation; the script does the rest.
async fn pack_page(session: MaybeSession, lang: Lang, uri: Uri) -> PageResult {
    let (_actor, mut chrome) = enter(session, lang, PageId::Pack, &uri)?;
    chrome.bare = true;
    let t = lang.pick(&ZH, &EN);
    chrome.title = t.title.to_string();
    Ok(render(PackPage { chrome, t }))
}
