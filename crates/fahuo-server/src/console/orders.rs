//! 订单: one list across all shops and platforms, with tabs by state (and counts), filters,
//! one search box, deadline or created-time sorting with keyset paging, bulk selection across
//! pages and the bulk action bar (its script is static/orders.js; the actions are the bulk
//! API's). Receivers are masked; only the shops of a sub-account's scope appear.

use super::{Chrome, Lang, PageId, PageResult, enter, render, shanghai};
use crate::AppState;
use crate::extract::MaybeSession;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use fahuo_app::AppError;
use fahuo_app::orders::OrderQuery;
use fahuo_domain::{OrderState, Platform};
use fahuo_store::orders::{ListSort, ListTab, OrderSummary, TabCount};
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders", get(orders_page))
        .route("/orders/count", get(matching_count))
}

/// Tab counts stop here ("9999+"): each count reads at most this many index entries.
const TAB_CAP: i64 = 9_999;
/// "Select all N matching" counts up to this many (what one bulk request or export may hold).
const MATCH_CAP: i64 = 20_000;

struct OrdersText {
    title: &'static str,
    tabs: [&'static str; 8],
    search_label: &'static str,
    search_hint: &'static str,
    shop: &'static str,
    platform: &'static str,
    carrier: &'static str,
    warehouse: &'static str,
    tag: &'static str,
    risk: &'static str,
    risk_overdue: &'static str,
    risk_6h: &'static str,
    risk_24h: &'static str,
    created_from: &'static str,
    created_to: &'static str,
    sort: &'static str,
    sort_deadline: &'static str,
    sort_created: &'static str,
    any: &'static str,
    apply: &'static str,
    reset: &'static str,
    selected: &'static str,
    select_page: &'static str,
    select_row: &'static str,
    select_all_matching: &'static str,
    clear_selection: &'static str,
    bulk_actions: &'static str,
    act_approve: &'static str,
    act_merge: &'static str,
    act_carrier: &'static str,
    act_print: &'static str,
    act_ship: &'static str,
    act_export: &'static str,
    act_supplier: &'static str,
    choose_carrier: &'static str,
    choose_supplier: &'static str,
    col_number: &'static str,
    col_shop: &'static str,
    col_state: &'static str,
    col_receiver: &'static str,
    col_region: &'static str,
    col_carrier: &'static str,
    col_paid: &'static str,
    col_deadline: &'static str,
    col_created: &'static str,
    empty: &'static str,
    first_page: &'static str,
    next_page: &'static str,
    bad_query: &'static str,
    load_failed: &'static str,
    keys: &'static str,
    partial: &'static str,
    search_on: &'static str,
}

static ZH: OrdersText = OrdersText {
    title: "订单",
    tabs: [
        "全部",
        "待审核",
        "待打单",
        "待发货",
        "已发货",
        "异常",
        "售后",
        "已取消",
    ],
    search_label: "搜索",
    search_hint: "订单号 / 快递单号 / 手机尾号 / 收件人姓名",
    shop: "店铺",
    platform: "平台",
    carrier: "快递",
    warehouse: "仓库",
    tag: "标签",
    risk: "发货时效",
    risk_overdue: "已超时",
    risk_6h: "6小时内到期",
    risk_24h: "24小时内到期",
    created_from: "下单起",
    created_to: "下单止",
    sort: "排序",
    sort_deadline: "发货截止（最早在前）",
    sort_created: "下单时间（最新在前）",
    any: "全部",
    apply: "筛选",
    reset: "清除",
    selected: "已选",
    select_page: "选择本页",
    select_row: "选择订单",
    select_all_matching: "选择全部符合条件的订单",
    clear_selection: "取消选择",
    bulk_actions: "批量操作",
    act_approve: "审核",
    act_merge: "合并",
    act_carrier: "选快递",
    act_print: "打单",
    act_ship: "发货",
    act_export: "导出",
    act_supplier: "分配供应商",
    choose_carrier: "快递公司",
    choose_supplier: "供应商",
    col_number: "订单号",
    col_shop: "店铺",
    col_state: "状态",
    col_receiver: "收件人",
    col_region: "地区",
    col_carrier: "快递",
    col_paid: "实付",
    col_deadline: "发货截止",
    col_created: "下单时间",
    empty: "没有符合条件的订单",
    first_page: "← 第一页",
    next_page: "下一页 →",
    bad_query: "查询条件有误：",
    load_failed: "订单加载失败，请稍后重试",
    keys: "快捷键：/ 搜索，j/k 上下，x 选择，Enter 打开",
    partial: "这些筛选条件较少见：本次只查看了一部分订单。",
    search_on: "继续查找 →",
};

static EN: OrdersText = OrdersText {
    title: "Orders",
    tabs: [
        "All",
        "To review",
        "To print",
        "To ship",
        "Shipped",
        "Exceptions",
        "After-sales",
        "Cancelled",
    ],
    search_label: "Search",
    search_hint: "Order no. / waybill no. / phone last 4 / receiver name",
    shop: "Shop",
    platform: "Platform",
    carrier: "Carrier",
    warehouse: "Warehouse",
    tag: "Tag",
    risk: "Deadline",
    risk_overdue: "Overdue",
    risk_6h: "Due within 6 h",
    risk_24h: "Due within 24 h",
    created_from: "Created from",
    created_to: "Created to",
    sort: "Sort",
    sort_deadline: "Ship-by deadline (soonest first)",
    sort_created: "Created (newest first)",
    any: "All",
    apply: "Filter",
    reset: "Clear",
    selected: "Selected",
    select_page: "Select this page",
    select_row: "Select order",
    select_all_matching: "Select all matching orders",
    clear_selection: "Clear selection",
    bulk_actions: "Bulk actions",
    act_approve: "Approve",
    act_merge: "Merge",
    act_carrier: "Set carrier",
    act_print: "Print",
    act_ship: "Ship",
    act_export: "Export",
    act_supplier: "Assign supplier",
    choose_carrier: "Carrier",
    choose_supplier: "Supplier",
    col_number: "Order no.",
    col_shop: "Shop",
    col_state: "State",
    col_receiver: "Receiver",
    col_region: "Region",
    col_carrier: "Carrier",
    col_paid: "Paid",
    col_deadline: "Ship by",
    col_created: "Created",
    empty: "No orders match",
    first_page: "← First page",
    next_page: "Next page →",
    bad_query: "Check the filters: ",
    load_failed: "The orders could not be loaded; try again shortly",
    keys: "Keys: / search, j/k move, x select, Enter open",
    partial: "These filters match few orders: only part of the orders was searched this time.",
    search_on: "Search on →",
};

struct Tab {
    key: &'static str,
    label: &'static str,
    count: String,
    href: String,
    active: bool,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

struct Row {
    id: i64,
    number: String,
    shop: String,
    platform: &'static str,
    state: &'static str,
    state_key: &'static str,
    receiver: String,
    phone: String,
    region: String,
    carrier: String,
    tags: String,
    paid: String,
    /// RFC 3339, for the live countdown; only while the order still has to ship.
    deadline: Option<String>,
    deadline_text: String,
    created: String,
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    chrome: Chrome,
    t: &'static OrdersText,
    tabs: Vec<Tab>,
    tab: &'static str,
    rows: Vec<Row>,
    error: Option<String>,
    first: Option<String>,
    next: Option<String>,
    /// The page stopped early (a rare filter combination): `next` searches on.
    partial: bool,
    q: String,
    shops: Vec<Choice>,
    platforms: Vec<Choice>,
    carriers: Vec<Choice>,
    bulk_carriers: Vec<Choice>,
    warehouses: Vec<Choice>,
    tags: Vec<Choice>,
    suppliers: Vec<Choice>,
    risks: Vec<Choice>,
    sorts: Vec<Choice>,
    created_from: String,
    created_to: String,
    /// The filter as a query string (no tab, cursor or sort), for the bulk API and export.
    filter_qs: String,
}

fn choice(value: impl ToString, label: impl ToString, current: &Option<String>) -> Choice {
    let value = value.to_string();
    Choice {
        selected: current.as_deref() == Some(value.as_str()),
        value,
        label: label.to_string(),
    }
}

/// `key=value&…` of the non-empty pairs, URL-encoded.
fn query_string(pairs: &[(&str, Option<String>)]) -> String {
    pairs
        .iter()
        .filter_map(|(k, v)| {
            v.as_deref()
                .filter(|v| !v.trim().is_empty())
                .map(|v| format!("{k}={}", urlencoding(v)))
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn urlencoding(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The filter fields of a query (what the tabs keep and the bulk API gets).
fn filter_pairs(q: &OrderQuery) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("q", q.q.clone()),
        ("shop_id", q.shop_id.map(|v| v.to_string())),
        ("platform", q.platform.clone()),
        ("carrier", q.carrier.clone()),
        ("warehouse_id", q.warehouse_id.map(|v| v.to_string())),
        ("tag", q.tag.clone()),
        ("risk", q.risk.clone()),
        ("created_from", q.created_from.clone()),
        ("created_to", q.created_to.clone()),
    ]
}

fn tab_count(c: &TabCount) -> String {
    if c.more {
        format!("{}+", c.count)
    } else {
        c.count.to_string()
    }
}

fn row(lang: Lang, o: OrderSummary, shops: &HashMap<i64, String>) -> Row {
    let open = o.state.is_before_shipping() && o.state != OrderState::Cancelled;
    let deadline = o.ship_by.filter(|_| open);
    Row {
        id: o.id.get(),
        number: o.platform_order_id,
        shop: shops
            .get(&o.shop_id.get())
            .cloned()
            .unwrap_or_else(|| o.shop_id.to_string()),
        platform: super::labels::platform(o.platform, lang),
        state: super::labels::order_state(o.state, lang),
        state_key: o.state.as_str(),
        receiver: o.receiver.name,
        phone: o.receiver.phone,
        region: format!(
            "{} {} {}",
            o.receiver.province, o.receiver.city, o.receiver.county
        )
        .trim()
        .to_string(),
        carrier: o
            .carrier
            .as_deref()
            .map(|c| super::labels::carrier(c, lang))
            .unwrap_or_default(),
        tags: o.tags.join(" "),
        paid: format!("¥{}", o.paid_total),
        deadline: deadline.map(|t| t.to_rfc3339()),
        deadline_text: deadline.map(shanghai).unwrap_or_else(|| "—".into()),
        created: shanghai(o.created_at),
    }
}

async fn orders_page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
    Query(mut query): Query<OrderQuery>,
) -> PageResult {
    let (actor, mut chrome) = enter(session, lang, PageId::Orders, &uri)?;
    let t = lang.pick(&ZH, &EN);
    chrome.title = t.title.to_string();
    let tab = query
        .tab
        .as_deref()
        .and_then(|x| ListTab::parse(x).ok())
        .unwrap_or(ListTab::All);
    query.tab = Some(tab.as_str().to_string());
    let sort = query.sort().unwrap_or(ListSort::Created);
    let filter = filter_pairs(&query);
    let filter_qs = query_string(&filter);

    let mut error = None;
    let counts = match s.app.order_tab_counts(&actor, &query, TAB_CAP).await {
        Ok(c) => c,
        Err(AppError::Invalid(_)) => Vec::new(),
        Err(e) => {
            tracing::error!(error = %e, "order tab counts failed");
            Vec::new()
        }
    };
    let tabs = ListTab::ALL
        .iter()
        .zip(t.tabs)
        .map(|(tb, label)| {
            let mut pairs = vec![("tab", Some(tb.as_str().to_string()))];
            pairs.extend(filter.iter().cloned());
            Tab {
                key: tb.as_str(),
                label,
                count: counts
                    .iter()
                    .find(|c| c.tab == *tb)
                    .map(tab_count)
                    .unwrap_or_default(),
                href: format!("/orders?{}", query_string(&pairs)),
                active: *tb == tab,
            }
        })
        .collect();

    let shops = s.app.shops(&actor).await.unwrap_or_default();
    let shop_names: HashMap<i64, String> = shops
        .iter()
        .map(|sh| (sh.id.get(), sh.name.to_string()))
        .collect();
    let mut partial = false;
    let (rows, next) = match s.app.orders(&actor, &query).await {
        Ok(page) => {
            let rows: Vec<Row> = page
                .items
                .into_iter()
                .map(|o| row(lang, o, &shop_names))
                .collect();
            partial = page.partial;
            let next = page.next_cursor.map(|c| {
                let mut pairs = vec![("tab", Some(tab.as_str().to_string()))];
                pairs.extend(filter.iter().cloned());
                pairs.push(("sort", query.sort.clone()));
                pairs.push(("after", Some(c)));
                format!("/orders?{}", query_string(&pairs))
            });
            (rows, next)
        }
        Err(AppError::Invalid(e)) => {
            error = Some(format!("{}{e}", t.bad_query));
            (Vec::new(), None)
        }
        Err(e) => {
            tracing::error!(error = %e, "order list failed");
            error = Some(t.load_failed.to_string());
            (Vec::new(), None)
        }
    };
    let first = query.after.as_ref().filter(|a| !a.is_empty()).map(|_| {
        let mut pairs = vec![("tab", Some(tab.as_str().to_string()))];
        pairs.extend(filter.iter().cloned());
        pairs.push(("sort", query.sort.clone()));
        format!("/orders?{}", query_string(&pairs))
    });

    let (carrier_codes, tag_names) = s.app.order_list_choices(&actor).await.unwrap_or_default();
    let warehouses = s.app.warehouses(&actor).await.unwrap_or_default();
    let suppliers = s.app.suppliers(&actor).await.unwrap_or_default();
    let shop_id = query.shop_id.map(|v| v.to_string());
    let warehouse_id = query.warehouse_id.map(|v| v.to_string());
    let sort_value = Some(
        match sort {
            ListSort::Deadline => "deadline",
            _ => "created",
        }
        .to_string(),
    );
    let page = OrdersPage {
        t,
        tab: tab.as_str(),
        tabs,
        rows,
        error,
        first,
        next,
        partial,
        q: query.q.clone().unwrap_or_default(),
        shops: shops
            .iter()
            .map(|sh| choice(sh.id.get(), &sh.name, &shop_id))
            .collect(),
        platforms: Platform::ALL
            .iter()
            .map(|p| {
                choice(
                    p.as_str(),
                    super::labels::platform(*p, lang),
                    &query.platform,
                )
            })
            .collect(),
        carriers: carrier_codes
            .iter()
            .map(|c| choice(c, super::labels::carrier(c, lang), &query.carrier))
            .collect(),
        bulk_carriers: carrier_codes
            .iter()
            .map(|c| choice(c, super::labels::carrier(c, lang), &None))
            .collect(),
        warehouses: warehouses
            .iter()
            .map(|w| choice(w.id.get(), &w.name, &warehouse_id))
            .collect(),
        tags: tag_names
            .iter()
            .map(|tg| choice(tg, tg, &query.tag))
            .collect(),
        suppliers: suppliers
            .iter()
            .filter(|sp| sp.active)
            .map(|sp| choice(sp.id.get(), &sp.name, &None))
            .collect(),
        risks: [
            ("overdue", t.risk_overdue),
            ("6h", t.risk_6h),
            ("24h", t.risk_24h),
        ]
        .iter()
        .map(|(v, l)| choice(v, l, &query.risk))
        .collect(),
        sorts: [("deadline", t.sort_deadline), ("created", t.sort_created)]
            .iter()
            .map(|(v, l)| choice(v, l, &sort_value))
            .collect(),
        created_from: query.created_from.clone().unwrap_or_default(),
        created_to: query.created_to.clone().unwrap_or_default(),
        filter_qs,
        chrome,
    };
    Ok(render(page))
}

/// `{"count": n, "more": bool}`: how many orders the query matches (for "select all N
/// matching"), counted only when asked, up to [`MATCH_CAP`].
async fn matching_count(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
    Query(query): Query<OrderQuery>,
) -> PageResult {
    let (actor, _) = enter(session, lang, PageId::Orders, &uri)?;
    Ok(
        match s.app.order_match_count(&actor, &query, MATCH_CAP).await {
            Ok((count, more)) => {
                Json(serde_json::json!({ "count": count, "more": more })).into_response()
            }
            Err(e) => {
                let status = match e {
                    AppError::Invalid(_) => axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    _ => axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                };
                (
                    status,
                    Json(serde_json::json!({ "error": { "message": e.to_string() } })),
                )
                    .into_response()
            }
        },
    )
}
