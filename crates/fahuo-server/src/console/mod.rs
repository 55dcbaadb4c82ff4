//! The merchant console: server-rendered pages (askama templates in `templates/`) with a small
//! hand-written script (`static/`). Chinese first, English available ([`i18n`]).
//!
//! Every page goes through [`enter`]: no session → the login page; a role without the page's
//! permission → 403 with no data. Pages read through the same `App` use-cases as the API (so
//! tenant and scope checks are the same), and their buttons call the JSON API from the script
//! (`data-api` forms, see `static/app.js`) with the session's CSRF token; the few plain forms
//! (login, logout) are checked here.

pub mod accounts;
pub mod aftersales;
pub mod audit_text;
pub mod charts;
pub mod exceptions;
pub mod i18n;
pub mod imports;
pub mod labels;
pub mod login;
pub mod order_detail;
pub mod orders;
pub mod pack;
pub mod printing;
pub mod reports;
pub mod settings;
pub mod tracking;

use crate::AppState;
use crate::extract::MaybeSession;
use askama::Template;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{DateTime, FixedOffset, Utc};
use fahuo_app::Actor;
use fahuo_domain::Permission;
pub use i18n::{CommonText, Lang};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/lang/{code}", get(i18n::switch))
        .route("/static/{file}", get(static_file))
        .merge(login::router())
        .merge(orders::router())
        .merge(order_detail::router())
        .merge(printing::router())
        .merge(pack::router())
        .merge(imports::router())
        .merge(exceptions::router())
        .merge(tracking::router())
        .merge(aftersales::router())
        .merge(reports::router())
        .merge(settings::router())
        .merge(accounts::router())
}

/// The console's pages as the navigation shows them, with the permission each needs. The
/// navigation lists only what the user's role allows, and [`enter`] refuses the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageId {
    Orders,
    Exceptions,
    Printing,
    Pack,
    Imports,
    Tracking,
    AfterSales,
    Reports,
    Settings,
    Accounts,
    Audit,
}

pub struct PageInfo {
    pub id: PageId,
    pub path: &'static str,
    pub permission: Permission,
}

/// In navigation order.
pub const PAGES: [PageInfo; 11] = [
    page(PageId::Orders, "/orders", Permission::ViewOrders),
    page(PageId::Exceptions, "/exceptions", Permission::ViewOrders),
    page(PageId::Printing, "/printing", Permission::PrintAndShip),
    page(PageId::Pack, "/pack", Permission::PrintAndShip),
    page(PageId::Imports, "/imports", Permission::EditOrders),
    page(PageId::Tracking, "/tracking", Permission::ViewOrders),
    page(
        PageId::AfterSales,
        "/after-sales",
        Permission::HandleAfterSales,
    ),
    page(PageId::Reports, "/reports", Permission::ViewReports),
    page(PageId::Settings, "/settings", Permission::ManageShops),
    page(PageId::Accounts, "/accounts", Permission::ManageUsers),
    page(PageId::Audit, "/audit", Permission::ViewAudit),
];

const fn page(id: PageId, path: &'static str, permission: Permission) -> PageInfo {
    PageInfo {
        id,
        path,
        permission,
    }
}

impl PageId {
    pub fn info(self) -> &'static PageInfo {
        PAGES
            .iter()
            .find(|p| p.id == self)
            .expect("every page is listed")
    }

    pub fn label(self, c: &CommonText) -> &'static str {
        match self {
            PageId::Orders => c.nav_orders,
            PageId::Exceptions => c.nav_exceptions,
            PageId::Printing => c.nav_printing,
            PageId::Pack => c.nav_pack,
            PageId::Imports => c.nav_imports,
            PageId::Tracking => c.nav_tracking,
            PageId::AfterSales => c.nav_after_sales,
            PageId::Reports => c.nav_reports,
            PageId::Settings => c.nav_settings,
            PageId::Accounts => c.nav_accounts,
            PageId::Audit => c.nav_audit,
        }
    }
}

pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// What `templates/layout.html` needs around a page's content: every page template has a
/// `chrome: Chrome` field.
pub struct Chrome {
    pub lang: Lang,
    pub c: &'static CommonText,
    pub user: String,
    pub role: &'static str,
    pub csrf: String,
    pub nav: Vec<NavLink>,
    /// Page title (before " · 发货 fahuo").
    pub title: String,
    /// Full-screen pages (the pack station) hide the navigation.
    pub bare: bool,
}

impl Chrome {
    fn new(actor: &Actor, csrf: String, lang: Lang, current: PageId) -> Chrome {
        let c = CommonText::of(lang);
        Chrome {
            lang,
            c,
            user: actor.name.clone(),
            role: c.role(actor.role),
            csrf,
            nav: PAGES
                .iter()
                .filter(|p| actor.role.allows(p.permission))
                .map(|p| NavLink {
                    href: p.path,
                    label: p.id.label(c),
                    current: p.id == current,
                })
                .collect(),
            title: current.label(c).to_string(),
            bare: false,
        }
    }
}

/// A page's answer when it does not render: the login page, 403 or 404. Handlers return
/// [`PageResult`] and use `?` on [`enter`].
pub struct Refusal(Box<Response>);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        *self.0
    }
}

impl From<Response> for Refusal {
    fn from(r: Response) -> Refusal {
        Refusal(Box::new(r))
    }
}

pub type PageResult = Result<Response, Refusal>;

/// The gate of every page: the signed-in actor and the page chrome, or the response to send
/// instead (the login page, or 403 without any data). `uri` is the page's own, to come back
/// to after logging in.
pub fn enter(
    session: MaybeSession,
    lang: Lang,
    page: PageId,
    uri: &axum::http::Uri,
) -> Result<(Actor, Chrome), Refusal> {
    let Some((actor, csrf, _)) = session.0 else {
        let back = uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/orders");
        return Err(login::redirect_to_login(back).into());
    };
    let chrome = Chrome::new(&actor, csrf, lang, page);
    if !actor.role.allows(page.info().permission) {
        return Err(denied(chrome).into());
    }
    Ok((actor, chrome))
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    chrome: Chrome,
    heading: &'static str,
    body: &'static str,
}

fn message_page(
    status: StatusCode,
    heading: &'static str,
    body: &'static str,
    mut chrome: Chrome,
) -> Response {
    chrome.title = heading.to_string();
    (
        status,
        render(MessagePage {
            chrome,
            heading,
            body,
        }),
    )
        .into_response()
}

/// 404 inside the console: for ids of another tenant or outside the user's scope, the same
/// page as for ids that do not exist.
#[allow(dead_code)] // skeleton: the pages being built use it
pub fn not_found(chrome: Chrome) -> Response {
    let (h, b) = (chrome.c.not_found_title, chrome.c.not_found_body);
    message_page(StatusCode::NOT_FOUND, h, b, chrome)
}

/// A detail page's record, or the page for its absence: 404 for an id that is not found
/// (another tenant's, or outside the user's scope, look the same), 403 for a role without the
/// right, and for anything else the error logged and the same page with status 500.
pub fn found<T>(
    r: Result<T, fahuo_app::AppError>,
    chrome: Chrome,
    what: &str,
) -> Result<(T, Chrome), Refusal> {
    match r {
        Ok(v) => Ok((v, chrome)),
        Err(fahuo_app::AppError::NotFound) => Err(not_found(chrome).into()),
        Err(fahuo_app::AppError::Forbidden(_)) => Err(denied(chrome).into()),
        Err(e) => {
            tracing::error!(error = %e, "{what} page failed");
            let mut r = not_found(chrome);
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            Err(r.into())
        }
    }
}

/// 403 inside the console, e.g. for a section of a page the role may not use.
pub fn denied(chrome: Chrome) -> Response {
    let (h, b) = (chrome.c.denied_title, chrome.c.denied_body);
    message_page(StatusCode::FORBIDDEN, h, b, chrome)
}

pub fn render(t: impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "页面渲染失败").into_response()
        }
    }
}

/// The console's scripts and stylesheet, compiled into the binary: `app.js` on every page,
/// a page's own script only on that page.
const STATIC: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../static/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/app.js"),
    ),
    (
        "aftersales.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/aftersales.js"),
    ),
    (
        "orders.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/orders.js"),
    ),
    (
        "order_detail.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/order_detail.js"),
    ),
    (
        "printing.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/printing.js"),
    ),
    (
        "pack.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/pack.js"),
    ),
    (
        "settings.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/settings.js"),
    ),
    (
        "imports.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/imports.js"),
    ),
    (
        "accounts.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/accounts.js"),
    ),
];

async fn static_file(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    match STATIC.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=300"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "404").into_response(),
    }
}

/// China has one time zone and no daylight saving.
pub fn shanghai(t: DateTime<Utc>) -> String {
    let cst = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    t.with_timezone(&cst).format("%m-%d %H:%M").to_string()
}

async fn home(MaybeSession(session): MaybeSession) -> Redirect {
    match session {
        Some(_) => Redirect::to("/orders"),
        None => Redirect::to("/login"),
    }
}
