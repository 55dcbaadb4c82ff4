//! 订单: one list across all shops and platforms, with tabs by state, filters, search, bulk
//! selection and bulk actions.

use super::{Chrome, Lang, PageId, PageResult, enter, render, shanghai};
use crate::AppState;
use crate::extract::MaybeSession;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::routing::get;
use fahuo_app::AppError;
use fahuo_app::orders::OrderQuery;
use fahuo_domain::OrderState;

pub fn router() -> Router<AppState> {
    Router::new().route("/orders", get(orders_page))
}

struct Tab {
    state: &'static str,
    label: &'static str,
    count: i64,
    active: bool,
}

struct Row {
    id: i64,
    platform: &'static str,
    platform_order_id: String,
    state: &'static str,
    receiver: String,
    phone: String,
    region: String,
    paid: String,
    ship_by: Option<String>,
    ship_by_text: String,
    created: String,
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    chrome: Chrome,
    tabs: Vec<Tab>,
    rows: Vec<Row>,
    error: Option<String>,
    next: Option<String>,
    query_phone: String,
    query_number: String,
}

/// The tabs of the order list, in the order of the work.
const TABS: [(OrderState, &str); 7] = [
    (OrderState::New, "待审核"),
    (OrderState::OnHold, "异常"),
    (OrderState::Approved, "已审核"),
    (OrderState::WaybillIssued, "待打单"),
    (OrderState::Printed, "待发货"),
    (OrderState::Shipped, "已发货"),
    (OrderState::Cancelled, "已取消"),
];

async fn orders_page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
    Query(query): Query<OrderQuery>,
) -> PageResult {
    let (actor, chrome) = enter(session, lang, PageId::Orders, &uri)?;
    let counts = s.app.order_counts(&actor).await.unwrap_or_default();
    let active = query.state.clone().unwrap_or_default();
    let tabs = TABS
        .iter()
        .map(|(state, label)| Tab {
            state: state.as_str(),
            label,
            count: counts
                .iter()
                .find(|(s, _)| s == state)
                .map(|(_, n)| *n)
                .unwrap_or(0),
            active: active == state.as_str(),
        })
        .collect();
    let (rows, error, next) = match s.app.orders(&actor, &query).await {
        Ok(page) => {
            let rows = page
                .items
                .into_iter()
                .map(|o| Row {
                    id: o.id.get(),
                    platform: o.platform.label_zh(),
                    platform_order_id: o.platform_order_id,
                    state: o.state.label_zh(),
                    receiver: o.receiver.name,
                    phone: o.receiver.phone,
                    region: format!(
                        "{} {} {}",
                        o.receiver.province, o.receiver.city, o.receiver.county
                    ),
                    paid: format!("¥{}", o.paid_total),
                    ship_by: o.ship_by.map(|t| t.to_rfc3339()),
                    ship_by_text: o.ship_by.map(shanghai).unwrap_or_else(|| "—".into()),
                    created: shanghai(o.created_at),
                })
                .collect();
            let next = page.next_cursor.map(|c| {
                let state = query
                    .state
                    .as_deref()
                    .map(|s| format!("&state={s}"))
                    .unwrap_or_default();
                format!("/orders?after={c}{state}")
            });
            (rows, None, next)
        }
        Err(AppError::Invalid(e)) => (Vec::new(), Some(format!("查询条件有误：{e}")), None),
        Err(e) => {
            tracing::error!(error = %e, "order list failed");
            (Vec::new(), Some("订单加载失败，请稍后重试".into()), None)
        }
    };
    Ok(render(OrdersPage {
        chrome,
        tabs,
        rows,
        error,
        next,
        query_phone: query.phone.unwrap_or_default(),
        query_number: query.platform_order_id.unwrap_or_default(),
    }))
}
