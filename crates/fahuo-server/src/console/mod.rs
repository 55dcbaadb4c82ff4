//! The merchant console: server-rendered pages (askama templates in `templates/`) with a small
//! hand-written script. Chinese first. Pages read the session cookie; forms carry the
//! session's CSRF token and are checked here.

pub mod charts;

use crate::AppState;
use crate::api_auth::session_cookie;
use crate::extract::{MaybeSession, client_addr, same_secret};
use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{DateTime, FixedOffset, Utc};
use fahuo_app::AppError;
use fahuo_app::orders::OrderQuery;
use fahuo_domain::OrderState;
use serde::Deserialize;

const APP_CSS: &str = include_str!("../../static/app.css");
const APP_JS: &str = include_str!("../../static/app.js");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", axum::routing::post(logout))
        .route("/orders", get(orders_page))
        .route("/reports", get(reports_page))
        .route(
            "/static/app.css",
            get(|| async { static_asset("text/css; charset=utf-8", APP_CSS) }),
        )
        .route(
            "/static/app.js",
            get(|| async { static_asset("text/javascript; charset=utf-8", APP_JS) }),
        )
}

fn static_asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// China has one time zone and no daylight saving.
fn shanghai(t: DateTime<Utc>) -> String {
    let cst = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    t.with_timezone(&cst).format("%m-%d %H:%M").to_string()
}

fn render(t: impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "页面渲染失败").into_response()
        }
    }
}

async fn home(MaybeSession(session): MaybeSession) -> Redirect {
    match session {
        Some(_) => Redirect::to("/orders"),
        None => Redirect::to("/login"),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    error: Option<String>,
    username: String,
}

async fn login_page() -> Response {
    render(LoginPage {
        error: None,
        username: String::new(),
    })
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

/// A cross-site page must not be able to log a victim into an attacker's account.
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match (
        headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()),
        host,
    ) {
        (Some(origin), Some(host)) => origin.split("://").nth(1) == Some(host),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

async fn login_submit(
    State(s): State<AppState>,
    parts: Parts,
    Form(form): Form<LoginForm>,
) -> Response {
    if !same_origin(&parts.headers) {
        return (StatusCode::FORBIDDEN, "跨站请求已拒绝").into_response();
    }
    match s
        .app
        .login(&form.username, &form.password, &client_addr(&parts))
        .await
    {
        Ok(session) => {
            let max_age = (session.expires_at - s.app.now()).num_seconds();
            let cookie = session_cookie(&session.token, max_age, s.http.secure_cookies);
            ([(header::SET_COOKIE, cookie)], Redirect::to("/orders")).into_response()
        }
        Err(e) => {
            let (status, message) = match e {
                AppError::TooManyAttempts { .. } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "登录失败次数过多，请 15 分钟后再试",
                ),
                AppError::BadCredentials => (StatusCode::UNAUTHORIZED, "用户名或密码错误"),
                other => {
                    tracing::error!(error = %other, "login failed");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "服务器内部错误，请稍后重试",
                    )
                }
            };
            let page = LoginPage {
                error: Some(message.into()),
                username: form.username,
            };
            (status, render(page)).into_response()
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(s): State<AppState>,
    MaybeSession(session): MaybeSession,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some((_, csrf, token)) = session {
        if !same_secret(&form.csrf, &csrf) {
            return (StatusCode::FORBIDDEN, "页面已过期，请刷新后重试").into_response();
        }
        if let Err(e) = s.app.logout(&token).await {
            tracing::error!(error = %e, "logout failed");
        }
    }
    (
        [(
            header::SET_COOKIE,
            session_cookie("", 0, s.http.secure_cookies),
        )],
        Redirect::to("/login"),
    )
        .into_response()
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
    user: String,
    csrf: String,
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
    MaybeSession(session): MaybeSession,
    Query(query): Query<OrderQuery>,
) -> Response {
    let Some((actor, csrf, _)) = session else {
        return Redirect::to("/login").into_response();
    };
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
    render(OrdersPage {
        user: actor.name,
        csrf,
        tabs,
        rows,
        error,
        next,
        query_phone: query.phone.unwrap_or_default(),
        query_number: query.platform_order_id.unwrap_or_default(),
    })
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    user: String,
    csrf: String,
    from: String,
    to: String,
    error: Option<String>,
    parcels: i64,
    /// Inline SVG from [`charts`], already escaped there.
    charts: Vec<String>,
}

#[derive(Deserialize)]
struct ReportForm {
    from: Option<String>,
    to: Option<String>,
}

/// 报表: the period's figures as charts rendered here (no script), with the xlsx download.
async fn reports_page(
    State(s): State<AppState>,
    MaybeSession(session): MaybeSession,
    Query(q): Query<ReportForm>,
) -> Response {
    use fahuo_app::reports::Period;
    let Some((actor, csrf, _)) = session else {
        return Redirect::to("/login").into_response();
    };
    let default = Period::last_days(s.app.now(), 30);
    let period = match (q.from.as_deref(), q.to.as_deref()) {
        (Some(f), Some(t)) if !f.is_empty() && !t.is_empty() => Period::parse(f, t),
        _ => Ok(default),
    };
    let mut page = ReportsPage {
        user: actor.name.clone(),
        csrf,
        from: default.from.to_string(),
        to: default.to.to_string(),
        error: None,
        parcels: 0,
        charts: Vec::new(),
    };
    let period = match period {
        Ok(p) => p,
        Err(e) => {
            page.error = Some(format!("日期有误：{e}"));
            return render(page);
        }
    };
    page.from = period.from.to_string();
    page.to = period.to.to_string();
    match s.app.report(&actor, period).await {
        Ok(r) => {
            let name = |code: &str| {
                if code == fahuo_domain::reports::ALL_KEY {
                    "全部".to_string()
                } else {
                    fahuo_app::shipping::carrier_name_zh(code)
                }
            };
            page.parcels = r.parcels;
            let pickup: Vec<(String, Option<i64>)> = r
                .pickup
                .iter()
                .map(|p| (name(&p.carrier), p.rate_bp))
                .collect();
            let transit: Vec<(String, f64)> = r
                .transit
                .iter()
                .map(|t| {
                    (
                        format!(
                            "{} {} {}",
                            name(&t.carrier),
                            t.distance.label_zh(),
                            t.band.label_zh()
                        ),
                        t.mean_minutes as f64 / 60.0,
                    )
                })
                .collect();
            let exceptions: Vec<(String, Option<i64>)> = r
                .exceptions_by_carrier
                .iter()
                .map(|x| (name(&x.key), Some(x.rate_bp)))
                .collect();
            let returns: Vec<(String, Option<i64>)> = r
                .returns_by_province
                .iter()
                .map(|x| (x.key.clone(), Some(x.rate_bp)))
                .collect();
            let cost: Vec<(String, f64)> = r
                .cost_by_carrier
                .iter()
                .map(|c| (name(&c.carrier), c.per_parcel_fen as f64 / 100.0))
                .collect();
            let on_time: Vec<(String, Option<i64>)> = r
                .on_time
                .iter()
                .map(|o| {
                    let label = fahuo_domain::Platform::parse(&o.platform)
                        .map(|p| p.label_zh().to_string())
                        .unwrap_or_else(|_| name(&o.platform));
                    (label, o.rate_bp)
                })
                .collect();
            page.charts = vec![
                charts::rate_bars("24 小时揽收率", &pickup),
                charts::bar_chart("平均时效（揽收到签收）", &transit, "小时"),
                charts::rate_bars("异常率（按快递）", &exceptions),
                charts::rate_bars("退货率（按省份）", &returns),
                charts::bar_chart("单均运费（按快递）", &cost, "元"),
                charts::rate_bars("准时发货率", &on_time),
                charts::line_chart("差错趋势", &charts::error_series(&r.errors)),
            ];
        }
        Err(AppError::Forbidden(_)) => page.error = Some("你的角色不能查看报表".into()),
        Err(e) => {
            tracing::error!(error = %e, "report failed");
            page.error = Some("报表加载失败，请稍后重试".into());
        }
    }
    render(page)
}
