//! 规则: which review rules hold orders, allocation, carrier choice rules per warehouse (with
//! the what-if preview), deadline alerts, and the blacklist.

use super::{Choice, Section, SectionLink, base_json, choices, enter_section, load, yuan};
use crate::AppState;
use crate::console::{Chrome, Lang, PageResult, render, shanghai};
use crate::extract::MaybeSession;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::Uri;
use fahuo_domain::WarehouseId;
use fahuo_domain::review::ReasonCode;
use serde::Deserialize;

pub struct RulesText {
    heading: &'static str,
    hint: &'static str,
    review_heading: &'static str,
    review_hint: &'static str,
    doubtful: &'static str,
    doubtful_hint: &'static str,
    flags: &'static str,
    flags_hint: &'static str,
    min_price: &'static str,
    min_price_hint: &'static str,
    below_cost: &'static str,
    below_cost_hint: &'static str,
    stages_note: &'static str,
    save: &'static str,
    allocation_heading: &'static str,
    allocation_hint: &'static str,
    radius: &'static str,
    radius_hint: &'static str,
    split: &'static str,
    split_hint: &'static str,
    transfer: &'static str,
    transfer_hint: &'static str,
    transfer_cost: &'static str,
    transfer_cost_hint: &'static str,
    merge: &'static str,
    merge_hint: &'static str,
    merge_across: &'static str,
    merge_across_hint: &'static str,
    deadline_heading: &'static str,
    alert_hours: &'static str,
    alert_hours_hint: &'static str,
    carrier_heading: &'static str,
    carrier_hint: &'static str,
    warehouse: &'static str,
    show: &'static str,
    no_warehouse: &'static str,
    rules_json: &'static str,
    rules_json_hint: &'static str,
    no_rules: &'static str,
    what_if: &'static str,
    what_if_hint: &'static str,
    blacklist_heading: &'static str,
    blacklist_hint: &'static str,
    phone: &'static str,
    reason: &'static str,
    added_by: &'static str,
    added_at: &'static str,
    remove: &'static str,
    remove_confirm: &'static str,
    blacklist_none: &'static str,
    phone_hint: &'static str,
    reason_hint: &'static str,
    add: &'static str,
}

static ZH: RulesText = RulesText {
    heading: "规则",
    hint: "决定订单何时拦截、从哪个仓发、用哪家快递、何时预警。",
    review_heading: "审单规则",
    review_hint: "勾选的规则命中时，订单会被拦截等待处理；未勾选的规则不再拦截。",
    doubtful: "拦截存疑地址",
    doubtful_hint: "地址解析有纠正或不确定时也拦截（不完整的地址总会拦截）",
    flags: "卖家备注关键词",
    flags_hint: "卖家备注含这些词时拦截，用逗号分隔",
    min_price: "低价拦截（%）",
    min_price_hint: "实付低于标价的这个百分比时拦截；留空则只检查低于成本",
    below_cost: "低于成本拦截",
    below_cost_hint: "实付低于商品成本时拦截",
    stages_note: "分级审核的阶段设置保持不变。",
    save: "保存",
    allocation_heading: "分仓规则",
    allocation_hint: "订单从哪个仓库发货。",
    radius: "就近范围（公里）",
    radius_hint: "优先选择离收件地在此距离内的仓库",
    split: "允许拆单发货",
    split_hint: "没有一个仓能发全部商品时，从多个仓分别发",
    transfer: "允许调拨",
    transfer_hint: "把库存调到一个仓，合并发出",
    transfer_cost: "每件调拨成本（元）",
    transfer_cost_hint: "用于比较拆单与调拨哪个更省",
    merge: "合并订单",
    merge_hint: "同一收件人的订单合并成一个包裹",
    merge_across: "跨店铺合并",
    merge_across_hint: "不同店铺、同一收件人的订单也合并",
    deadline_heading: "发货时限预警",
    alert_hours: "提前预警（小时）",
    alert_hours_hint: "距发货截止还剩这些小时数时提醒，如 24, 6, 1",
    carrier_heading: "选快递规则",
    carrier_hint: "每个仓库的运价表与选择规则（JSON）。保存前可先试算：按新规则重算已发包裹的运费。",
    warehouse: "仓库",
    show: "查看",
    no_warehouse: "还没有仓库",
    rules_json: "规则（JSON）",
    rules_json_hint: "包括 tables（运价表）、rules（规则）、goal（目标）",
    no_rules: "该仓库还没有选快递规则",
    what_if: "试算",
    what_if_hint: "不保存，只显示按这套规则已发包裹的运费变化",
    blacklist_heading: "黑名单",
    blacklist_hint: "这些收件人的订单会被拦截为「风险收件人」。",
    phone: "手机号",
    reason: "原因",
    added_by: "添加人",
    added_at: "添加时间",
    remove: "移除",
    remove_confirm: "从黑名单移除？",
    blacklist_none: "黑名单为空",
    phone_hint: "收件人手机号（只保存加密摘要和打码号码）",
    reason_hint: "如：多次拒收",
    add: "加入黑名单",
};

static EN: RulesText = RulesText {
    heading: "Rules",
    hint: "When orders are held, which warehouse ships, which carrier, and when to warn.",
    review_heading: "Review rules",
    review_hint: "A ticked rule holds the order for a look when it fires; an unticked rule no longer holds.",
    doubtful: "Hold doubtful addresses",
    doubtful_hint: "Also hold when the address parser corrected or doubted something (incomplete addresses are always held)",
    flags: "Seller note flag words",
    flags_hint: "Hold when the seller's note contains one of these words; separate with commas",
    min_price: "Low price hold (%)",
    min_price_hint: "Hold when paid below this share of the list price; empty: only the below-cost check",
    below_cost: "Hold below cost",
    below_cost_hint: "Hold when paid below the SKU's cost",
    stages_note: "The review stages stay as they are.",
    save: "Save",
    allocation_heading: "Allocation",
    allocation_hint: "Which warehouse an order ships from.",
    radius: "Nearby radius (km)",
    radius_hint: "Prefer warehouses within this distance of the receiver",
    split: "Allow split shipments",
    split_hint: "Ship from several warehouses when none has everything",
    transfer: "Allow transfers",
    transfer_hint: "Move stock to one warehouse so it ships together",
    transfer_cost: "Transfer cost per unit (yuan)",
    transfer_cost_hint: "To compare splitting with transferring",
    merge: "Merge orders",
    merge_hint: "Orders to the same receiver go in one parcel",
    merge_across: "Merge across shops",
    merge_across_hint: "Also merge orders of different shops to the same receiver",
    deadline_heading: "Deadline alerts",
    alert_hours: "Alert hours before",
    alert_hours_hint: "Warn when this many hours are left before the ship-by time, e.g. 24, 6, 1",
    carrier_heading: "Carrier choice rules",
    carrier_hint: "Each warehouse's rate tables and choice rules (JSON). Try them first: the what-if reprices the parcels already sent.",
    warehouse: "Warehouse",
    show: "Show",
    no_warehouse: "No warehouses yet",
    rules_json: "Rules (JSON)",
    rules_json_hint: "tables (rate tables), rules, goal",
    no_rules: "This warehouse has no carrier rules yet",
    what_if: "What if",
    what_if_hint: "Does not save: shows how the cost of sent parcels would change",
    blacklist_heading: "Blacklist",
    blacklist_hint: "Orders to these receivers are held as \"risky receiver\".",
    phone: "Phone",
    reason: "Reason",
    added_by: "Added by",
    added_at: "Added",
    remove: "Remove",
    remove_confirm: "Remove from the blacklist?",
    blacklist_none: "The blacklist is empty",
    phone_hint: "The receiver's phone (kept only as a keyed hash and a masked copy)",
    reason_hint: "e.g. refused delivery twice",
    add: "Add to blacklist",
};

/// A review rule's name and what it holds, in the page's language.
fn rule_text(code: ReasonCode, lang: Lang) -> (&'static str, &'static str) {
    use ReasonCode::*;
    match lang {
        Lang::Zh => (
            code.label_zh(),
            match code {
                AddressIncomplete => "省市区或详细地址缺失",
                AddressDoubtful => "地址被纠正或无法确定",
                OutOfStock => "没有仓库有足够库存",
                RefundPending => "买家申请了退款或售后",
                BuyerNote => "买家有留言，先由客服查看",
                SellerNoteFlag => "卖家备注含关键词",
                PriceAnomaly => "实付低于成本或低于标价比例",
                PresaleNotDue => "预售订单未到发货日",
                RiskyReceiver => "收件人在黑名单上",
                UnmappedSku => "平台商品未对应到商品",
            },
        ),
        Lang::En => match code {
            AddressIncomplete => ("Incomplete address", "A level or the detail is missing"),
            AddressDoubtful => (
                "Doubtful address",
                "The parser corrected or could not decide",
            ),
            OutOfStock => ("Out of stock", "No warehouse has enough stock"),
            RefundPending => (
                "Refund pending",
                "The buyer asked for a refund or after-sale",
            ),
            BuyerNote => (
                "Buyer note",
                "The buyer wrote a note; service reads it first",
            ),
            SellerNoteFlag => ("Seller note flag", "The seller's note has a flag word"),
            PriceAnomaly => (
                "Price anomaly",
                "Paid below cost or below the list price share",
            ),
            PresaleNotDue => ("Presale not due", "A presale order before its ship date"),
            RiskyReceiver => ("Risky receiver", "The receiver is on the blacklist"),
            UnmappedSku => ("Unmapped SKU", "A platform SKU maps to no merchant SKU"),
        },
    }
}

struct RuleRow {
    code: &'static str,
    label: &'static str,
    hint: &'static str,
    on: bool,
}

struct BlacklistRow {
    id: i64,
    phone: String,
    reason: String,
    by: String,
    at: String,
}

#[derive(Template)]
#[template(path = "settings_rules.html")]
struct RulesPage {
    chrome: Chrome,
    nav: Vec<SectionLink>,
    t: &'static RulesText,
    review_base: String,
    rules: Vec<RuleRow>,
    /// The codes the checkboxes stand for (the rest of `disabled` is kept as it is).
    rule_codes: String,
    hold_doubtful_address: bool,
    flags: String,
    min_price_percent: String,
    hold_below_cost: bool,
    allocation_base: String,
    radius_km: String,
    allow_split: bool,
    allow_transfer: bool,
    transfer_cost: String,
    merge: bool,
    merge_across_shops: bool,
    alert_hours: String,
    warehouses: Vec<Choice>,
    warehouse: Option<i64>,
    carrier_rules: String,
    has_carrier_rules: bool,
    blacklist: Vec<BlacklistRow>,
}

#[derive(Deserialize)]
pub struct RulesQuery {
    warehouse: Option<i64>,
}

/// 规则: review, allocation, carrier choice, deadlines, blacklist.
pub async fn page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
    Query(q): Query<RulesQuery>,
) -> PageResult {
    let (actor, chrome, nav) = enter_section(session, lang, &uri, Section::Rules)?;
    let t = lang.pick(&ZH, &EN);
    let review = load!(s.app.review_settings(&actor, None).await, chrome);
    let allocation = load!(s.app.allocation_settings(&actor).await, chrome);
    let deadlines = load!(s.app.deadline_settings(&actor).await, chrome);
    let blacklist = load!(s.app.blacklist(&actor).await, chrome);
    let warehouses: Vec<_> = load!(s.app.warehouses(&actor).await, chrome)
        .into_iter()
        .collect();
    // The warehouse asked for (only among the tenant's, so another's id shows nothing), else
    // the first.
    let warehouse = match q.warehouse {
        Some(id) => match warehouses.iter().find(|w| w.id.get() == id) {
            Some(w) => Some(w.id),
            None => return Err(crate::console::not_found(chrome).into()),
        },
        None => warehouses.first().map(|w| w.id),
    };
    let carrier_rules = match warehouse {
        Some(w) => load!(s.app.carrier_rules(&actor, w).await, chrome),
        None => None,
    };
    let managed: Vec<ReasonCode> = ReasonCode::ALL
        .into_iter()
        .filter(|c| *c != ReasonCode::RefundPending)
        .collect();
    let rules = managed
        .iter()
        .map(|&code| {
            let (label, hint) = rule_text(code, lang);
            RuleRow {
                code: code.as_str(),
                label,
                hint,
                on: !review.disabled.contains(&code),
            }
        })
        .collect();
    let rule_codes = managed
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let page = RulesPage {
        chrome,
        nav,
        t,
        review_base: base_json(&review),
        rules,
        rule_codes,
        hold_doubtful_address: review.hold_doubtful_address,
        flags: review.seller_note_flags.join(", "),
        min_price_percent: review
            .min_price_percent
            .map(|p| p.to_string())
            .unwrap_or_default(),
        hold_below_cost: review.hold_below_cost,
        allocation_base: base_json(&allocation),
        radius_km: allocation.radius_km.to_string(),
        allow_split: allocation.allow_split,
        allow_transfer: allocation.allow_transfer,
        transfer_cost: yuan(allocation.transfer_cost_per_unit.0),
        merge: allocation.merge,
        merge_across_shops: allocation.merge_across_shops,
        alert_hours: deadlines
            .alert_hours
            .iter()
            .map(|h| h.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        warehouses: choices(
            warehouses
                .iter()
                .map(|w| (w.id.get().to_string(), format!("{} {}", w.code, w.name))),
            warehouse
                .map(|w: WarehouseId| w.get().to_string())
                .as_deref(),
        ),
        warehouse: warehouse.map(|w| w.get()),
        has_carrier_rules: carrier_rules.is_some(),
        carrier_rules: carrier_rules
            .map(|r| serde_json::to_string_pretty(&r).unwrap_or_default())
            .unwrap_or_default(),
        blacklist: blacklist
            .into_iter()
            .map(|b| BlacklistRow {
                id: b.id,
                phone: b.phone_masked,
                reason: b.reason,
                by: b.created_by,
                at: shanghai(b.created_at),
            })
            .collect(),
    };
    Ok(render(page))
}
