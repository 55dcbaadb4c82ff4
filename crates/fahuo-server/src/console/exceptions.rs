//! 异常: the exceptions queue (held orders, deadline risk, tracking alerts), most urgent first,
//! with the actions that fit each row as `data-api` forms.

use super::{Chrome, Lang, PageId, PageResult, enter, render, shanghai};
use crate::AppState;
use crate::extract::MaybeSession;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::routing::get;
use fahuo_app::queues::{ExceptionItem, ExceptionKind};
use fahuo_domain::Permission;
use fahuo_domain::radar::SuggestedAction;
use fahuo_domain::review::ReasonCode;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/exceptions", get(exceptions_page))
}

pub struct ExceptionsText {
    pub all: &'static str,
    /// In the order of [`ExceptionKind::ALL`].
    pub kinds: [&'static str; 8],
    /// In the order of [`ReasonCode::ALL`].
    pub reasons: [&'static str; 10],
    pub col_urgency: &'static str,
    pub col_kind: &'static str,
    pub col_order: &'static str,
    pub col_what: &'static str,
    pub col_since: &'static str,
    pub col_actions: &'static str,
    pub deadline: &'static str,
    pub overdue: &'static str,
    pub release: &'static str,
    pub release_all: &'static str,
    pub refresh: &'static str,
    pub intercept: &'static str,
    pub intercept_reason: &'static str,
    pub intercept_default: &'static str,
    pub reship: &'static str,
    pub reship_reason: &'static str,
    pub reship_default: &'static str,
    pub draft: &'static str,
    pub draft_label: &'static str,
    pub contact_carrier: &'static str,
    pub refund: &'static str,
    pub claim: &'static str,
    pub empty: &'static str,
    pub empty_kind: &'static str,
    pub open_order: &'static str,
    pub open_parcel: &'static str,
    pub filter_label: &'static str,
}

static ZH: ExceptionsText = ExceptionsText {
    all: "全部",
    kinds: [
        "待处理挂起",
        "发货超时风险",
        "超时未揽收",
        "物流停滞",
        "疑难件",
        "拒签",
        "退回中",
        "买家称未收到",
    ],
    reasons: [
        "地址不完整",
        "地址存疑",
        "缺货",
        "退款/售后中",
        "买家留言",
        "卖家备注旗标",
        "价格异常",
        "预售未到期",
        "风险收件人（黑名单）",
        "商品未匹配",
    ],
    col_urgency: "紧急度",
    col_kind: "类型",
    col_order: "订单",
    col_what: "情况",
    col_since: "开始于",
    col_actions: "处理",
    deadline: "发货截止",
    overdue: "已超时",
    release: "放行",
    release_all: "全部放行",
    refresh: "刷新物流",
    intercept: "拦截",
    intercept_reason: "拦截原因",
    intercept_default: "退款拦截",
    reship: "补发",
    reship_reason: "补发原因",
    reship_default: "物流异常补发",
    draft: "联系买家话术",
    draft_label: "话术（可复制）",
    contact_carrier: "联系快递网点催件",
    refund: "可考虑退款",
    claim: "可向快递理赔",
    empty: "队列已清空：现在没有需要人工处理的异常。",
    empty_kind: "这一类没有待处理的异常。",
    open_order: "查看订单",
    open_parcel: "物流详情",
    filter_label: "异常类型",
};

static EN: ExceptionsText = ExceptionsText {
    all: "All",
    kinds: [
        "Held",
        "Ship-by at risk",
        "Not picked up",
        "Stalled",
        "Problem parcel",
        "Refused",
        "Returning",
        "Buyer says not received",
    ],
    reasons: [
        "Address incomplete",
        "Address doubtful",
        "Out of stock",
        "Refund / after-sale open",
        "Buyer note",
        "Seller note flag",
        "Price anomaly",
        "Presale not due",
        "Risky receiver (blacklist)",
        "Unmapped SKU",
    ],
    col_urgency: "Urgency",
    col_kind: "Kind",
    col_order: "Order",
    col_what: "What",
    col_since: "Since",
    col_actions: "Actions",
    deadline: "Ship by",
    overdue: "Overdue",
    release: "Release",
    release_all: "Release all",
    refresh: "Refresh tracking",
    intercept: "Intercept",
    intercept_reason: "Reason for interception",
    intercept_default: "Refund interception",
    reship: "Reship",
    reship_reason: "Reason for reshipping",
    reship_default: "Reship after tracking problem",
    draft: "Message to the buyer",
    draft_label: "Draft (copy it)",
    contact_carrier: "Ask the carrier's outlet to act",
    refund: "Consider a refund",
    claim: "Claim from the carrier",
    empty: "The queue is clear: nothing needs a person right now.",
    empty_kind: "Nothing of this kind to handle.",
    open_order: "Open order",
    open_parcel: "Tracking",
    filter_label: "Exception kind",
};

impl ExceptionsText {
    fn kind(&self, k: ExceptionKind) -> &'static str {
        ExceptionKind::ALL
            .iter()
            .position(|x| *x == k)
            .map(|i| self.kinds[i])
            .unwrap_or("")
    }

    fn reason(&self, code: &str) -> String {
        match ReasonCode::parse(code) {
            Ok(c) => ReasonCode::ALL
                .iter()
                .position(|x| *x == c)
                .map(|i| self.reasons[i].to_string())
                .unwrap_or_else(|| code.to_string()),
            Err(_) => code.to_string(),
        }
    }
}

struct Tab {
    kind: &'static str,
    label: &'static str,
    count: usize,
    active: bool,
}

struct HoldRow {
    id: i64,
    label: String,
    message: String,
    releasable: bool,
}

struct Row {
    kind: &'static str,
    kind_label: &'static str,
    urgency: i64,
    order_id: Option<i64>,
    order_number: String,
    receiver: String,
    ship_by: Option<String>,
    ship_by_text: String,
    overdue: bool,
    holds: Vec<HoldRow>,
    /// Ids of the holds the actor may release, comma separated (empty: none).
    releasable: String,
    releasable_count: usize,
    parcel_id: Option<i64>,
    parcel: String,
    summary: String,
    since: String,
    hints: Vec<&'static str>,
    draft: Option<String>,
    can_refresh: bool,
    can_intercept: bool,
    /// The order's lines as the reship API takes them (JSON), when a reship fits.
    reship_lines: Option<String>,
}

#[derive(Template)]
#[template(path = "exceptions.html")]
struct ExceptionsPage {
    chrome: Chrome,
    t: &'static ExceptionsText,
    tabs: Vec<Tab>,
    total: usize,
    filtered: bool,
    rows: Vec<Row>,
    error: Option<&'static str>,
}

#[derive(Deserialize)]
struct ExceptionsQuery {
    kind: Option<String>,
}

async fn exceptions_page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
    Query(q): Query<ExceptionsQuery>,
) -> PageResult {
    let (actor, chrome) = enter(session, lang, PageId::Exceptions, &uri)?;
    let t = lang.pick(&ZH, &EN);
    let kind = q.kind.as_deref().and_then(ExceptionKind::parse);
    let mut page = ExceptionsPage {
        t,
        tabs: Vec::new(),
        total: 0,
        filtered: kind.is_some(),
        rows: Vec::new(),
        error: None,
        chrome,
    };
    let queue = match s.app.exceptions(&actor, kind).await {
        Ok(queue) => queue,
        Err(e) => {
            tracing::error!(error = %e, "exceptions queue failed");
            page.error = Some(page.chrome.c.load_failed);
            return Ok(render(page));
        }
    };
    page.total = queue.total;
    page.tabs = queue
        .counts
        .iter()
        .map(|(k, n)| Tab {
            kind: k.as_str(),
            label: t.kind(*k),
            count: *n,
            active: Some(*k) == kind,
        })
        .collect();
    let may_edit = actor.role.allows(Permission::EditOrders);
    let may_after_sale = actor.role.allows(Permission::HandleAfterSales);
    let now = s.app.now();
    for item in queue.items {
        let reship_lines = match item.order_id {
            Some(order)
                if may_after_sale
                    && item
                        .actions
                        .iter()
                        .any(|a| matches!(a, SuggestedAction::Reship)) =>
            {
                s.app.order(&actor, order).await.ok().map(|o| {
                    serde_json::Value::Array(
                        o.lines
                            .iter()
                            .map(|l| {
                                serde_json::json!({"order_line_id": l.id, "quantity": l.quantity})
                            })
                            .collect(),
                    )
                    .to_string()
                })
            }
            _ => None,
        };
        page.rows.push(row(
            t,
            lang,
            now,
            item,
            may_edit,
            may_after_sale,
            reship_lines,
        ));
    }
    Ok(render(page))
}

fn row(
    t: &'static ExceptionsText,
    lang: Lang,
    now: chrono::DateTime<chrono::Utc>,
    item: ExceptionItem,
    may_edit: bool,
    may_after_sale: bool,
    reship_lines: Option<String>,
) -> Row {
    let releasable: Vec<String> = item
        .holds
        .iter()
        .filter(|h| h.releasable)
        .map(|h| h.id.to_string())
        .collect();
    let mut hints = Vec::new();
    let mut draft = None;
    let mut intercept = false;
    for a in &item.actions {
        match a {
            SuggestedAction::ContactCarrier => hints.push(t.contact_carrier),
            SuggestedAction::Refund => hints.push(t.refund),
            SuggestedAction::Claim => hints.push(t.claim),
            SuggestedAction::Intercept => intercept = true,
            SuggestedAction::Reship => {}
            SuggestedAction::MessageBuyer { draft: d } => draft = Some(d.clone()),
        }
    }
    // A held order's summary, when it has one, is its ship-by deadline's.
    let alert_kind = match item.kind {
        ExceptionKind::Alert(k) => Some(k),
        ExceptionKind::Hold => {
            (!item.summary.is_empty()).then_some(fahuo_domain::radar::AlertKind::DeadlineAtRisk)
        }
    };
    let receiver = match (&item.receiver_name, &item.receiver_phone) {
        (Some(n), Some(p)) => format!("{n} {p}"),
        _ => String::new(),
    };
    let parcel = match (&item.carrier_code, &item.tracking_no) {
        (Some(c), Some(n)) => format!("{} {n}", super::labels::carrier(c, lang)),
        (None, Some(n)) => n.clone(),
        _ => String::new(),
    };
    Row {
        kind: item.kind.as_str(),
        kind_label: t.kind(item.kind),
        urgency: item.urgency,
        order_id: item.order_id.map(|o| o.get()),
        order_number: item.platform_order_id.unwrap_or_default(),
        receiver,
        ship_by: item.ship_by.map(|t| t.to_rfc3339()),
        ship_by_text: item.ship_by.map(shanghai).unwrap_or_default(),
        overdue: item.overdue,
        holds: item
            .holds
            .iter()
            .map(|h| HoldRow {
                id: h.id,
                label: t.reason(&h.reason_code),
                message: super::labels::hold_message(
                    &h.reason_code,
                    &h.message,
                    &h.message_en,
                    lang,
                ),
                releasable: h.releasable,
            })
            .collect(),
        releasable_count: releasable.len(),
        releasable: releasable.join(","),
        parcel_id: item.parcel_id.map(|p| p.get()),
        parcel: parcel.clone(),
        summary: match alert_kind {
            Some(kind) => super::labels::alert_summary(
                &item.summary,
                kind,
                &parcel,
                item.since,
                item.ship_by,
                now,
                lang,
            ),
            None => item.summary,
        },
        since: shanghai(item.since),
        hints,
        draft,
        can_refresh: may_edit && item.parcel_id.is_some(),
        can_intercept: may_after_sale && intercept && item.parcel_id.is_some(),
        reship_lines: reship_lines.filter(|_| item.order_id.is_some()),
    }
}
