//! 订单详情: one order's lines, receiver (masked, with an audited "show"), holds, packages,
//! tracking, timeline and audit, with the actions its state allows and the role may do.

use super::{Chrome, Lang, PageId, PageResult, enter, found, labels, not_found, render, shanghai};
use crate::AppState;
use crate::extract::MaybeSession;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::routing::get;
use fahuo_app::AppError;
use fahuo_domain::{OrderId, OrderState, Permission};

pub fn router() -> Router<AppState> {
    Router::new().route("/orders/{id}", get(order_page))
}

pub struct DetailText {
    pub title: &'static str,
    pub back: &'static str,
    pub shop: &'static str,
    pub number: &'static str,
    pub state: &'static str,
    pub deadline: &'static str,
    pub paid: &'static str,
    pub freight: &'static str,
    pub created: &'static str,
    pub buyer_note: &'static str,
    pub seller_note: &'static str,
    pub lines: &'static str,
    pub sku: &'static str,
    pub name: &'static str,
    pub qty: &'static str,
    pub price: &'static str,
    pub line_paid: &'static str,
    pub mapping: &'static str,
    pub unmapped: &'static str,
    pub receiver: &'static str,
    pub receiver_name: &'static str,
    pub phone: &'static str,
    pub address: &'static str,
    pub reveal: &'static str,
    pub reveal_note: &'static str,
    pub holds: &'static str,
    pub hold_reason: &'static str,
    pub hold_since: &'static str,
    pub released: &'static str,
    pub open: &'static str,
    pub packages: &'static str,
    pub package: &'static str,
    pub warehouse: &'static str,
    pub carrier: &'static str,
    pub waybill: &'static str,
    pub package_state: &'static str,
    pub weight: &'static str,
    pub merged_with: &'static str,
    pub no_packages: &'static str,
    pub tracking: &'static str,
    pub no_tracking: &'static str,
    pub timeline: &'static str,
    pub audit: &'static str,
    pub when: &'static str,
    pub who: &'static str,
    pub what: &'static str,
    pub details: &'static str,
    pub actions: &'static str,
    pub approve: &'static str,
    pub hold: &'static str,
    pub hold_placeholder: &'static str,
    pub cancel: &'static str,
    pub cancel_confirm: &'static str,
    pub edit_receiver: &'static str,
    pub province: &'static str,
    pub city: &'static str,
    pub county: &'static str,
    pub detail: &'static str,
    pub choose_warehouse: &'static str,
    pub carrier_optional: &'static str,
    pub unmerge: &'static str,
    pub print: &'static str,
    pub no_actions: &'static str,
}

static ZH: DetailText = DetailText {
    title: "订单详情",
    back: "← 返回订单列表",
    shop: "店铺",
    number: "订单号",
    state: "状态",
    deadline: "发货截止",
    paid: "实付",
    freight: "运费",
    created: "下单时间",
    buyer_note: "买家留言",
    seller_note: "卖家备注",
    lines: "商品",
    sku: "商家编码",
    name: "商品名称",
    qty: "数量",
    price: "单价",
    line_paid: "实付",
    mapping: "对应商品",
    unmapped: "未匹配",
    receiver: "收件人",
    receiver_name: "姓名",
    phone: "手机",
    address: "地址",
    reveal: "显示",
    reveal_note: "查看明文会记入审计日志",
    holds: "挂起原因",
    hold_reason: "原因",
    hold_since: "挂起时间",
    released: "已解除",
    open: "未解除",
    packages: "包裹",
    package: "包裹号",
    warehouse: "仓库",
    carrier: "快递",
    waybill: "运单号",
    package_state: "包裹状态",
    weight: "重量（克）",
    merged_with: "合单订单",
    no_packages: "尚未分配包裹",
    tracking: "物流轨迹",
    no_tracking: "暂无物流信息",
    timeline: "订单时间线",
    audit: "审计记录",
    when: "时间",
    who: "操作人",
    what: "操作",
    details: "说明",
    actions: "操作",
    approve: "审核通过",
    hold: "挂起",
    hold_placeholder: "挂起原因（必填）",
    cancel: "取消订单",
    cancel_confirm: "确定取消这个订单吗？",
    edit_receiver: "修改收件人",
    province: "省",
    city: "市",
    county: "区县",
    detail: "详细地址",
    choose_warehouse: "指定发货仓",
    carrier_optional: "快递编码（可选）",
    unmerge: "取消合单",
    print: "打印面单",
    no_actions: "当前状态下没有可执行的操作",
};

static EN: DetailText = DetailText {
    title: "Order",
    back: "← Back to orders",
    shop: "Shop",
    number: "Order number",
    state: "State",
    deadline: "Ship by",
    paid: "Paid",
    freight: "Freight",
    created: "Placed",
    buyer_note: "Buyer note",
    seller_note: "Seller note",
    lines: "Items",
    sku: "SKU",
    name: "Name",
    qty: "Qty",
    price: "Unit price",
    line_paid: "Paid",
    mapping: "Ships as",
    unmapped: "Unmapped",
    receiver: "Receiver",
    receiver_name: "Name",
    phone: "Phone",
    address: "Address",
    reveal: "Show",
    reveal_note: "Showing the receiver in clear is recorded in the audit log",
    holds: "Holds",
    hold_reason: "Reason",
    hold_since: "Since",
    released: "Released",
    open: "Open",
    packages: "Packages",
    package: "Package",
    warehouse: "Warehouse",
    carrier: "Carrier",
    waybill: "Waybill number",
    package_state: "Package state",
    weight: "Weight (g)",
    merged_with: "Merged with",
    no_packages: "No package yet",
    tracking: "Tracking",
    no_tracking: "No tracking yet",
    timeline: "Timeline",
    audit: "Audit log",
    when: "When",
    who: "Who",
    what: "Action",
    details: "Details",
    actions: "Actions",
    approve: "Approve",
    hold: "Hold",
    hold_placeholder: "Why (required)",
    cancel: "Cancel order",
    cancel_confirm: "Cancel this order?",
    edit_receiver: "Edit receiver",
    province: "Province",
    city: "City",
    county: "County",
    detail: "Street address",
    choose_warehouse: "Ship from warehouse",
    carrier_optional: "Carrier code (optional)",
    unmerge: "Unmerge",
    print: "Print label",
    no_actions: "Nothing to do in this state",
};

struct LineRow {
    sku: String,
    title: String,
    qty: i64,
    price: String,
    paid: String,
    mapping: Option<String>,
}

struct HoldRow {
    code: String,
    label: String,
    message: String,
    since: String,
    released: Option<String>,
}

struct PackageRow {
    id: i64,
    warehouse: String,
    carrier: String,
    tracking_no: String,
    state: String,
    weight: String,
    merged_with: Vec<i64>,
}

struct EventRow {
    at: String,
    text: String,
    location: String,
}

struct ParcelBlock {
    carrier: String,
    tracking_no: String,
    state: String,
    events: Vec<EventRow>,
}

struct AuditRow {
    at: String,
    who: String,
    action: String,
    action_label: String,
    details: String,
}

struct WarehouseOption {
    id: i64,
    name: String,
}

#[derive(Template)]
#[template(path = "order_detail.html")]
struct DetailPage {
    chrome: Chrome,
    t: &'static DetailText,
    id: i64,
    platform: &'static str,
    shop: String,
    number: String,
    state: &'static str,
    state_code: &'static str,
    ship_by: Option<String>,
    ship_by_text: String,
    paid: String,
    freight: String,
    created: String,
    buyer_note: Option<String>,
    seller_note: Option<String>,
    receiver_name: String,
    receiver_phone: String,
    receiver_address: String,
    can_reveal: bool,
    lines: Vec<LineRow>,
    holds: Vec<HoldRow>,
    packages: Vec<PackageRow>,
    parcels: Vec<ParcelBlock>,
    timeline: Vec<AuditRow>,
    show_audit: bool,
    can_approve: bool,
    can_hold: bool,
    can_cancel: bool,
    can_edit_receiver: bool,
    can_choose_warehouse: bool,
    can_unmerge: bool,
    can_print: bool,
    warehouses: Vec<WarehouseOption>,
}

impl DetailPage {
    fn any_action(&self) -> bool {
        self.can_approve
            || self.can_hold
            || self.can_cancel
            || self.can_edit_receiver
            || self.can_choose_warehouse
            || self.can_unmerge
            || self.can_print
    }
}

/// A short reading of an audit entry's detail: allocation's explanation, a hold's message,
/// else the recorded fields.
async fn order_page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
    Path(id): Path<String>,
) -> PageResult {
    let (actor, chrome) = enter(session, lang, PageId::Orders, &uri)?;
    let t = lang.pick(&ZH, &EN);
    let Ok(id) = id.parse::<i64>().map(OrderId) else {
        return Ok(not_found(chrome));
    };
    // Outside the actor's shops, the order is not found (App::order).
    let (order, chrome) = found(s.app.order(&actor, id).await, chrome, "order")?;
    let loaded = async {
        let shops = s.app.shops(&actor).await?;
        let skus = s.app.skus(&actor).await?;
        let warehouses = s.app.warehouses(&actor).await?;
        let packages = s.app.order_packages(&actor, id).await?;
        let parcels = s.app.order_tracking(&actor, id).await?;
        let timeline = s.app.order_timeline(&actor, id).await?;
        Ok::<_, AppError>((shops, skus, warehouses, packages, parcels, timeline))
    }
    .await;
    let ((shops, skus, warehouses, packages, parcels, timeline), mut chrome) =
        found(loaded, chrome, "order")?;
    let role = actor.role;
    let state = order.state;
    let warehouse_name = |w: fahuo_domain::WarehouseId| {
        warehouses
            .iter()
            .find(|x| x.id == w)
            .map(|x| x.name.as_str().to_string())
            .unwrap_or_else(|| w.to_string())
    };
    let carrier_name = |code: &str| labels::carrier(code, lang);
    let merged = packages.iter().any(|p| !p.merged_with.is_empty());
    let printable = matches!(
        state,
        OrderState::Approved
            | OrderState::Allocated
            | OrderState::WaybillIssued
            | OrderState::Printed
            | OrderState::Packed
    );
    let r = &order.receiver;
    chrome.title = format!("{} {}", t.title, order.platform_order_id);
    let page = DetailPage {
        t,
        id: id.get(),
        platform: labels::platform(order.platform, lang),
        shop: shops
            .iter()
            .find(|x| x.id == order.shop_id)
            .map(|x| x.name.as_str().to_string())
            .unwrap_or_default(),
        number: order.platform_order_id.clone(),
        state: labels::order_state(state, lang),
        state_code: state.as_str(),
        ship_by: order.ship_by.map(|d| d.to_rfc3339()),
        ship_by_text: order.ship_by.map(shanghai).unwrap_or_else(|| "—".into()),
        paid: format!("¥{}", order.paid_total_fen),
        freight: format!("¥{}", order.freight_fen),
        created: shanghai(order.created_at),
        buyer_note: order.buyer_note.clone(),
        seller_note: order.seller_note.clone(),
        receiver_name: r.name.clone(),
        receiver_phone: r.phone.clone(),
        receiver_address: format!("{} {} {} {}", r.province, r.city, r.county, r.detail),
        can_reveal: role.allows(Permission::RevealReceiver),
        lines: order
            .lines
            .iter()
            .map(|l| LineRow {
                sku: l
                    .sku_code
                    .as_ref()
                    .map(|c| c.as_str().to_string())
                    .unwrap_or_default(),
                title: l.title.clone(),
                qty: l.quantity,
                price: format!("¥{}", l.unit_price),
                paid: format!("¥{}", l.paid),
                mapping: l.sku_id.map(|sid| {
                    skus.iter()
                        .find(|k| k.id == sid)
                        .map(|k| format!("{} {}", k.code.as_str(), k.name.as_str()))
                        .unwrap_or_else(|| sid.to_string())
                }),
            })
            .collect(),
        holds: order
            .holds
            .iter()
            .map(|h| HoldRow {
                code: h.reason_code.clone(),
                label: labels::hold_reason(&h.reason_code, lang),
                message: labels::hold_message(&h.reason_code, &h.message, &h.message_en, lang),
                since: shanghai(h.created_at),
                released: h.released_at.map(shanghai),
            })
            .collect(),
        packages: packages
            .iter()
            .map(|p| PackageRow {
                id: p.id.get(),
                warehouse: warehouse_name(p.warehouse_id),
                carrier: p.carrier.as_deref().map(carrier_name).unwrap_or_default(),
                tracking_no: p.tracking_no.clone().unwrap_or_default(),
                state: labels::package_state(&p.state, lang),
                weight: p.weight_g.map(|w| w.to_string()).unwrap_or_default(),
                merged_with: p.merged_with.iter().map(|o| o.get()).collect(),
            })
            .collect(),
        parcels: parcels
            .iter()
            .map(|p| ParcelBlock {
                carrier: carrier_name(&p.parcel.carrier_code),
                tracking_no: p.parcel.tracking_no.clone(),
                state: p
                    .parcel
                    .state
                    .map(|s| super::tracking::state_label(s, lang).to_string())
                    .unwrap_or_default(),
                events: p
                    .events
                    .iter()
                    .rev()
                    .map(|e| EventRow {
                        at: shanghai(e.at),
                        text: e.text.clone(),
                        location: e.location.clone().unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect(),
        timeline: timeline
            .iter()
            .map(|a| AuditRow {
                at: shanghai(a.entry.at),
                who: a.entry.actor.name().to_string(),
                action: a.entry.action.clone(),
                action_label: labels::audit_action(&a.entry.action, lang),
                details: super::audit_text::details(a.entry.after.as_ref(), lang),
            })
            .collect(),
        show_audit: role.allows(Permission::ViewAudit),
        can_approve: role.allows(Permission::ReviewOrders)
            && matches!(state, OrderState::New | OrderState::OnHold),
        can_hold: role.allows(Permission::ReviewOrders)
            && matches!(
                state,
                OrderState::New | OrderState::OnHold | OrderState::Approved | OrderState::Allocated
            ),
        can_cancel: role.allows(Permission::EditOrders) && state.is_before_shipping(),
        can_edit_receiver: role.allows(Permission::EditOrders)
            && matches!(
                state,
                OrderState::New | OrderState::OnHold | OrderState::Approved | OrderState::Allocated
            ),
        can_choose_warehouse: role.allows(Permission::PrintAndShip)
            && matches!(state, OrderState::Approved | OrderState::Allocated),
        can_unmerge: role.allows(Permission::PrintAndShip)
            && merged
            && matches!(state, OrderState::Approved | OrderState::Allocated),
        can_print: role.allows(Permission::PrintAndShip) && printable,
        warehouses: warehouses
            .iter()
            .map(|w| WarehouseOption {
                id: w.id.get(),
                name: w.name.as_str().to_string(),
            })
            .collect(),
        chrome,
    };
    Ok(render(page))
}
