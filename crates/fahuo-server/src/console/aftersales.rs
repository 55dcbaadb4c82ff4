//! 售后: the after-sales with tabs by status and kind and a search by order number, and one
//! after-sale's detail (reason, amounts, return parcel, inspection photos, history) with the
//! actions its status allows the role, as `data-api` forms.

use super::{Chrome, Lang, PageId, PageResult, enter, not_found, render, shanghai};
use crate::AppState;
use crate::extract::MaybeSession;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::routing::get;
use fahuo_app::AppError;
use fahuo_app::aftersales::AfterSaleQuery;
use fahuo_app::queues::AfterSaleStep;
use fahuo_domain::aftersale::{AfterSaleKind, AfterSaleStatus, ClaimState, InspectionVerdict};
use fahuo_domain::{AfterSaleId, Permission};
use fahuo_store::aftersales::AfterSale;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/after-sales", get(list_page))
        .route("/after-sales/{id}", get(detail_page))
}

/// After-sales per page.
const PAGE: i64 = 50;

pub struct AfterSalesText {
    pub all: &'static str,
    pub status_label: &'static str,
    pub kind_label: &'static str,
    /// In the order of [`AfterSaleStatus::ALL`].
    pub statuses: [&'static str; 8],
    /// In the order of [`AfterSaleKind::ALL`].
    pub kinds: [&'static str; 6],
    pub search_order: &'static str,
    pub col_id: &'static str,
    pub col_kind: &'static str,
    pub col_status: &'static str,
    pub col_order: &'static str,
    pub col_reason: &'static str,
    pub col_amount: &'static str,
    pub col_return: &'static str,
    pub col_created: &'static str,
    pub empty: &'static str,
    pub pending: &'static str,
    pub proposed: &'static str,
    pub back: &'static str,
    pub reason: &'static str,
    pub refund: &'static str,
    pub platform_status: &'static str,
    pub lines: &'static str,
    pub line_qty: &'static str,
    pub return_parcel: &'static str,
    pub return_label: &'static str,
    pub pickup: &'static str,
    pub none_yet: &'static str,
    pub inspection: &'static str,
    pub verdicts: [&'static str; 3],
    pub photo: &'static str,
    pub claim: &'static str,
    pub claimed: &'static str,
    pub settled: &'static str,
    pub claim_states: [&'static str; 3],
    pub reship: &'static str,
    pub reship_order: &'static str,
    pub history: &'static str,
    pub col_when: &'static str,
    pub col_action: &'static str,
    pub col_who: &'static str,
    pub col_note: &'static str,
    pub actions: &'static str,
    pub no_actions: &'static str,
    pub second_approval: &'static str,
    pub waiting_second: &'static str,
    pub last_error: &'static str,
    pub approve: &'static str,
    pub approve_second: &'static str,
    pub propose: &'static str,
    pub reject: &'static str,
    pub reject_reason: &'static str,
    pub confirm_received: &'static str,
    pub issue_label: &'static str,
    pub cancel_label: &'static str,
    pub carrier_account: &'static str,
    pub warehouse: &'static str,
    pub book_pickup: &'static str,
    pub cancel_pickup: &'static str,
    pub tracking_account: &'static str,
    pub carrier: &'static str,
    pub pickup_from: &'static str,
    pub pickup_to: &'static str,
    pub inspect: &'static str,
    pub verdict: &'static str,
    pub note: &'static str,
    pub photos: &'static str,
    pub settle: &'static str,
    pub settle_state: &'static str,
    pub settled_yuan: &'static str,
    pub intercepted: &'static str,
    pub not_intercepted: &'static str,
}

static ZH: AfterSalesText = AfterSalesText {
    all: "全部",
    status_label: "状态",
    kind_label: "类型",
    statuses: [
        "待处理",
        "待买家退货",
        "买家已退货",
        "已收货",
        "退款中",
        "已完成",
        "已拒绝",
        "已关闭",
    ],
    kinds: ["仅退款", "退货退款", "换货", "补发", "拦截", "理赔"],
    search_order: "订单号",
    col_id: "售后单",
    col_kind: "类型",
    col_status: "状态",
    col_order: "订单",
    col_reason: "原因",
    col_amount: "金额",
    col_return: "退货单号",
    col_created: "创建时间",
    empty: "没有售后单",
    pending: "处理中，等待平台回复",
    proposed: "待二次审批",
    back: "← 返回售后列表",
    reason: "买家原因",
    refund: "退款金额",
    platform_status: "平台状态",
    lines: "商品",
    line_qty: "数量",
    return_parcel: "退货包裹",
    return_label: "退货面单",
    pickup: "上门取件",
    none_yet: "暂无",
    inspection: "验货",
    verdicts: ["可二次销售", "破损", "货不对板"],
    photo: "验货照片",
    claim: "理赔",
    claimed: "索赔金额",
    settled: "赔付金额",
    claim_states: ["处理中", "已赔付", "已拒赔"],
    reship: "补发",
    reship_order: "补发订单",
    history: "处理记录",
    col_when: "时间",
    col_action: "动作",
    col_who: "操作人",
    col_note: "备注",
    actions: "处理",
    no_actions: "当前状态下你没有可执行的操作。",
    second_approval: "退款金额超过审批阈值，需要主账号或管理员二次审批。",
    waiting_second: "已提交审批，等待主账号或管理员同意。",
    last_error: "平台拒绝了上次操作",
    approve: "同意",
    approve_second: "同意（二次审批）",
    propose: "提交二次审批",
    reject: "拒绝",
    reject_reason: "拒绝理由（买家可见）",
    confirm_received: "确认收货并退款",
    issue_label: "生成退货面单",
    cancel_label: "作废退货面单",
    carrier_account: "面单账号",
    warehouse: "退回仓库",
    book_pickup: "预约上门取件",
    cancel_pickup: "取消上门取件",
    tracking_account: "快递鸟账号",
    carrier: "快递公司",
    pickup_from: "取件开始",
    pickup_to: "取件结束",
    inspect: "提交验货",
    verdict: "验货结论",
    note: "备注",
    photos: "照片（最多 9 张）",
    settle: "登记理赔结果",
    settle_state: "结果",
    settled_yuan: "赔付金额（元）",
    intercepted: "已拦截成功",
    not_intercepted: "拦截失败",
};

static EN: AfterSalesText = AfterSalesText {
    all: "All",
    status_label: "Status",
    kind_label: "Kind",
    statuses: [
        "Requested",
        "Awaiting return",
        "Return shipped",
        "Return received",
        "Refunding",
        "Completed",
        "Rejected",
        "Closed",
    ],
    kinds: [
        "Refund only",
        "Return & refund",
        "Exchange",
        "Reship",
        "Intercept",
        "Claim",
    ],
    search_order: "Order number",
    col_id: "After-sale",
    col_kind: "Kind",
    col_status: "Status",
    col_order: "Order",
    col_reason: "Reason",
    col_amount: "Amount",
    col_return: "Return number",
    col_created: "Created",
    empty: "No after-sales",
    pending: "Sent; waiting for the platform",
    proposed: "Awaiting second approval",
    back: "← Back to after-sales",
    reason: "Buyer's reason",
    refund: "Refund",
    platform_status: "Platform status",
    lines: "Items",
    line_qty: "Qty",
    return_parcel: "Return parcel",
    return_label: "Return label",
    pickup: "Courier pickup",
    none_yet: "None yet",
    inspection: "Inspection",
    verdicts: ["Resellable", "Damaged", "Not as sent"],
    photo: "Inspection photo",
    claim: "Claim",
    claimed: "Claimed",
    settled: "Paid",
    claim_states: ["Open", "Paid", "Refused"],
    reship: "Reship",
    reship_order: "Reship order",
    history: "History",
    col_when: "When",
    col_action: "Action",
    col_who: "By",
    col_note: "Note",
    actions: "Actions",
    no_actions: "Nothing you can do at this status.",
    second_approval: "The refund is above the approval threshold: an owner or admin must approve it.",
    waiting_second: "Proposed; waiting for an owner or admin.",
    last_error: "The platform refused the last decision",
    approve: "Approve",
    approve_second: "Approve (second approval)",
    propose: "Propose for approval",
    reject: "Reject",
    reject_reason: "Reason (the buyer sees it)",
    confirm_received: "Confirm received and refund",
    issue_label: "Issue return label",
    cancel_label: "Cancel return label",
    carrier_account: "Waybill account",
    warehouse: "Return to warehouse",
    book_pickup: "Book courier pickup",
    cancel_pickup: "Cancel pickup",
    tracking_account: "kdniao account",
    carrier: "Carrier",
    pickup_from: "Pickup from",
    pickup_to: "Pickup until",
    inspect: "Record inspection",
    verdict: "Verdict",
    note: "Note",
    photos: "Photos (up to 9)",
    settle: "Record claim outcome",
    settle_state: "Outcome",
    settled_yuan: "Amount paid (yuan)",
    intercepted: "Intercepted",
    not_intercepted: "Interception failed",
};

impl AfterSalesText {
    fn status(&self, s: AfterSaleStatus) -> &'static str {
        AfterSaleStatus::ALL
            .iter()
            .position(|x| *x == s)
            .map(|i| self.statuses[i])
            .unwrap_or("")
    }

    fn kind(&self, k: AfterSaleKind) -> &'static str {
        AfterSaleKind::ALL
            .iter()
            .position(|x| *x == k)
            .map(|i| self.kinds[i])
            .unwrap_or("")
    }

    fn verdict(&self, v: InspectionVerdict) -> &'static str {
        match v {
            InspectionVerdict::Resell => self.verdicts[0],
            InspectionVerdict::Damaged => self.verdicts[1],
            InspectionVerdict::Mismatch => self.verdicts[2],
        }
    }

    fn claim_state(&self, s: ClaimState) -> &'static str {
        match s {
            ClaimState::Open => self.claim_states[0],
            ClaimState::Settled => self.claim_states[1],
            ClaimState::Rejected => self.claim_states[2],
        }
    }
}

fn yuan(fen: i64) -> String {
    format!("¥{}", fahuo_domain::Fen(fen))
}

struct Tab {
    href: String,
    label: &'static str,
    active: bool,
}

struct Row {
    id: i64,
    kind: &'static str,
    kind_label: &'static str,
    status: &'static str,
    status_label: &'static str,
    order_id: Option<i64>,
    order_number: String,
    reason: String,
    amount: String,
    return_no: String,
    created: String,
    pending: bool,
    proposed: bool,
}

fn row(t: &'static AfterSalesText, a: &AfterSale) -> Row {
    Row {
        id: a.id.get(),
        kind: a.kind.as_str(),
        kind_label: t.kind(a.kind),
        status: a.status.as_str(),
        status_label: t.status(a.status),
        order_id: a.order_id.map(|o| o.get()),
        order_number: a.platform_order_id.clone().unwrap_or_default(),
        reason: a.reason.clone().unwrap_or_default(),
        amount: a.refund_fen.map(yuan).unwrap_or_default(),
        return_no: a
            .return_tracking_no
            .clone()
            .or_else(|| a.label.as_ref().map(|l| l.tracking_no.clone()))
            .unwrap_or_default(),
        created: shanghai(a.created_at),
        pending: a.pending_action.is_some(),
        proposed: a.proposed_by.is_some() && a.pending_action.is_none() && !a.status.is_final(),
    }
}

#[derive(Template)]
#[template(path = "aftersales.html")]
struct ListPage {
    chrome: Chrome,
    t: &'static AfterSalesText,
    status_tabs: Vec<Tab>,
    kind_tabs: Vec<Tab>,
    status: String,
    kind: String,
    order: String,
    rows: Vec<Row>,
    error: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize, Default)]
struct ListQuery {
    status: Option<String>,
    kind: Option<String>,
    order: Option<String>,
    before: Option<i64>,
}

fn list_href(status: &str, kind: &str, order: &str) -> String {
    let mut parts = Vec::new();
    for (k, v) in [("status", status), ("kind", kind), ("order", order)] {
        if !v.is_empty() {
            parts.push(format!("{k}={}", super::tracking::urlencode(v)));
        }
    }
    if parts.is_empty() {
        "/after-sales".into()
    } else {
        format!("/after-sales?{}", parts.join("&"))
    }
}

async fn list_page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let (actor, chrome) = enter(session, lang, PageId::AfterSales, &uri)?;
    let t = lang.pick(&ZH, &EN);
    let status = q
        .status
        .as_deref()
        .and_then(|s| AfterSaleStatus::parse(s).ok())
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    let kind = q
        .kind
        .as_deref()
        .and_then(|k| AfterSaleKind::parse(k).ok())
        .map(|k| k.as_str().to_string())
        .unwrap_or_default();
    let order = q.order.as_deref().map(str::trim).unwrap_or("").to_string();
    let mut status_tabs = vec![Tab {
        href: list_href("", &kind, &order),
        label: t.all,
        active: status.is_empty(),
    }];
    status_tabs.extend(
        AfterSaleStatus::ALL
            .iter()
            .zip(t.statuses)
            .map(|(st, label)| Tab {
                href: list_href(st.as_str(), &kind, &order),
                label,
                active: status == st.as_str(),
            }),
    );
    let mut kind_tabs = vec![Tab {
        href: list_href(&status, "", &order),
        label: t.all,
        active: kind.is_empty(),
    }];
    kind_tabs.extend(
        AfterSaleKind::ALL
            .iter()
            .zip(t.kinds)
            .map(|(k, label)| Tab {
                href: list_href(&status, k.as_str(), &order),
                label,
                active: kind == k.as_str(),
            }),
    );
    let query = AfterSaleQuery {
        status: (!status.is_empty()).then(|| status.clone()),
        kind: (!kind.is_empty()).then(|| kind.clone()),
        order_id: None,
        before: q.before,
        limit: Some(PAGE),
    };
    let mut page = ListPage {
        t,
        status_tabs,
        kind_tabs,
        rows: Vec::new(),
        error: None,
        next: None,
        chrome,
        status,
        kind,
        order,
    };
    let number = (!page.order.is_empty()).then_some(page.order.as_str());
    match s.app.named_after_sales(&actor, &query, number).await {
        Ok(list) => {
            if number.is_none()
                && list.len() as i64 == PAGE
                && let Some(last) = list.last()
            {
                let base = list_href(&page.status, &page.kind, "");
                let sep = if base.contains('?') { '&' } else { '?' };
                page.next = Some(format!("{base}{sep}before={}", last.id.get()));
            }
            page.rows = list.iter().map(|a| row(t, a)).collect();
        }
        Err(AppError::Invalid(e)) => page.error = Some(e.to_string()),
        Err(e) => {
            tracing::error!(error = %e, "after-sale list failed");
            page.error = Some(page.chrome.c.load_failed.to_string());
        }
    }
    Ok(render(page))
}

struct LineRow {
    line: String,
    quantity: i64,
}

struct EventRow {
    at: String,
    action: String,
    action_label: String,
    from: &'static str,
    to: &'static str,
    note: String,
    actor: String,
}

struct Opt {
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "aftersale.html")]
struct DetailPage {
    chrome: Chrome,
    t: &'static AfterSalesText,
    a: Row,
    platform_status: String,
    lines: Vec<LineRow>,
    return_parcel: String,
    label: String,
    pickup: String,
    inspection: Option<(String, String, String)>,
    photos: Vec<i64>,
    claim: Option<(String, String, String, String)>,
    reship_order: Option<i64>,
    events: Vec<EventRow>,
    last_error: String,
    steps: Vec<&'static str>,
    needs_second_approval: bool,
    waiting_second: bool,
    warehouses: Vec<Opt>,
    carrier_accounts: Vec<Opt>,
    tracking_accounts: Vec<Opt>,
    carriers: Vec<Opt>,
}

impl DetailPage {
    fn has(&self, step: &str) -> bool {
        self.steps.contains(&step)
    }
}

fn step_name(s: AfterSaleStep) -> &'static str {
    match s {
        AfterSaleStep::Approve => "approve",
        AfterSaleStep::Propose => "propose",
        AfterSaleStep::Reject => "reject",
        AfterSaleStep::ConfirmReceived => "confirm-received",
        AfterSaleStep::ReturnLabel => "return-label",
        AfterSaleStep::CancelReturnLabel => "cancel-return-label",
        AfterSaleStep::BookPickup => "pickup",
        AfterSaleStep::CancelPickup => "cancel-pickup",
        AfterSaleStep::Inspect => "inspect",
        AfterSaleStep::SettleClaim => "settle",
        AfterSaleStep::InterceptResult => "intercept-result",
    }
}

async fn detail_page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
    Path(id): Path<String>,
) -> PageResult {
    let (actor, chrome) = enter(session, lang, PageId::AfterSales, &uri)?;
    let t = lang.pick(&ZH, &EN);
    let Ok(id) = id.parse::<i64>() else {
        return Ok(not_found(chrome));
    };
    let (d, mut chrome) = super::found(
        s.app.named_after_sale(&actor, AfterSaleId(id)).await,
        chrome,
        "after-sale",
    )?;
    let options = match s.app.after_sale_options(&actor, &d).await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "after-sale options failed");
            return Ok(not_found(chrome));
        }
    };
    let steps: Vec<&'static str> = options.steps.iter().map(|s| step_name(*s)).collect();
    let a = &d.after_sale;
    chrome.title = format!("{} #{}", t.kind(a.kind), a.id.get());
    let needs_warehouses = steps
        .iter()
        .any(|s| matches!(*s, "return-label" | "pickup" | "inspect"));
    let warehouses = if needs_warehouses {
        s.app
            .warehouses(&actor)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|w| Opt {
                value: w.id.get().to_string(),
                label: w.name.to_string(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let carrier_accounts = if steps.contains(&"return-label") {
        s.app
            .carrier_accounts(&actor)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|c| Opt {
                value: c.account.id.get().to_string(),
                label: format!(
                    "{} · {}",
                    c.account.name,
                    super::labels::carrier(c.account.carrier.as_str(), lang)
                ),
            })
            .collect()
    } else {
        Vec::new()
    };
    // Booking a pickup needs a kdniao account; listing accounts is for those who manage them.
    let tracking_accounts: Vec<Opt> = if steps.contains(&"pickup") {
        s.app
            .tracking_accounts(&actor)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|a| a.account.service == "kdniao" && a.account.enabled)
            .map(|a| Opt {
                value: a.account.id.to_string(),
                label: a.account.name,
            })
            .collect()
    } else {
        Vec::new()
    };
    let carriers = fahuo_app::queues::carrier_choices()
        .into_iter()
        .map(|(code, name)| Opt {
            value: code.to_string(),
            label: name.to_string(),
        })
        .collect();
    let return_parcel = match (&a.return_carrier, &a.return_tracking_no) {
        (Some(c), Some(n)) => format!("{} {n}", super::labels::carrier(c, lang)),
        (None, Some(n)) => n.clone(),
        _ => String::new(),
    };
    let label = a
        .label
        .as_ref()
        .map(|l| {
            format!(
                "{} {}",
                super::labels::carrier(&l.carrier, lang),
                l.tracking_no
            )
        })
        .unwrap_or_default();
    let pickup = a
        .pickup
        .as_ref()
        .map(|p| {
            let window = match (p.start, p.end) {
                (Some(s), Some(e)) => format!(" {}–{}", shanghai(s), shanghai(e)),
                _ => String::new(),
            };
            format!(
                "{} {}{window}",
                super::labels::carrier(&p.carrier, lang),
                pickup_state(lang, &p.state)
            )
        })
        .unwrap_or_default();
    let inspection = d.inspection.as_ref().map(|i| {
        (
            t.verdict(i.verdict).to_string(),
            i.note.clone().unwrap_or_default(),
            format!("{} · {}", i.inspected_by, shanghai(i.inspected_at)),
        )
    });
    let photos = d
        .inspection
        .as_ref()
        .map(|i| i.photos.iter().map(|p| p.n).collect())
        .unwrap_or_default();
    let claim = d.claim.as_ref().map(|c| {
        (
            t.claim_state(c.state).to_string(),
            yuan(c.claimed_fen),
            c.settled_fen.map(yuan).unwrap_or_default(),
            format!(
                "{} {}",
                super::labels::carrier(&c.carrier, lang),
                c.tracking_no
            ),
        )
    });
    let events = d
        .events
        .iter()
        .rev()
        .map(|e| EventRow {
            at: shanghai(e.at),
            action: e.action.clone(),
            action_label: super::labels::after_sale_event(&e.action, lang),
            from: e.from_status.map(|s| t.status(s)).unwrap_or(""),
            to: t.status(e.to_status),
            note: e.note.clone().unwrap_or_default(),
            actor: e.actor.clone(),
        })
        .collect();
    // Each line by the order line's title (and merchant code) it was matched to; a line the
    // platform's ids match to none keeps the platform's SKU or line id.
    let order_lines = match a.order_id {
        Some(order) => s
            .app
            .order(&actor, order)
            .await
            .map(|o| o.lines)
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let lines = a
        .lines
        .iter()
        .map(|l| LineRow {
            line: l
                .order_line_id
                .and_then(|id| order_lines.iter().find(|o| o.id == id))
                .map(|o| match &o.sku_code {
                    Some(code) => format!("{} · {code}", o.title),
                    None => o.title.clone(),
                })
                .or_else(|| l.platform_sku_id.clone())
                .or_else(|| l.platform_line_id.clone())
                .unwrap_or_default(),
            quantity: l.quantity,
        })
        .collect();
    let platform = s
        .app
        .shops(&actor)
        .await
        .unwrap_or_default()
        .into_iter()
        .find(|shop| shop.id == a.shop_id)
        .map(|shop| shop.platform);
    let platform_status = match (platform, a.platform_status.as_deref()) {
        (Some(platform), Some(code)) => {
            super::labels::platform_after_sale_status(platform, code, lang)
        }
        (None, Some(code)) => code.to_string(),
        (_, None) => String::new(),
    };
    let waiting_second = options.needs_second_approval
        && a.proposed_by.is_some()
        && a.pending_action.is_none()
        && !a.status.is_final();
    Ok(render(DetailPage {
        t,
        platform_status,
        lines,
        return_parcel,
        label,
        pickup,
        inspection,
        photos,
        claim,
        reship_order: d.reship.as_ref().map(|r| r.reship_order_id.get()),
        events,
        last_error: a.last_error.clone().unwrap_or_default(),
        needs_second_approval: options.needs_second_approval && !a.status.is_final(),
        waiting_second: waiting_second && !actor.role.allows(Permission::ApproveRefunds),
        steps,
        warehouses,
        carrier_accounts,
        tracking_accounts,
        carriers,
        a: row(t, a),
        chrome,
    }))
}

/// A return pickup's state in the page's language (the store keeps `booked` / `cancelled`).
fn pickup_state(lang: Lang, state: &str) -> &str {
    match state {
        "booked" => lang.pick("已预约", "booked"),
        "cancelled" => lang.pick("已取消", "cancelled"),
        other => other,
    }
}
