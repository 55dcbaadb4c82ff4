//! 设置: a hub listing the sections the user's role may use, and one page per section — shops
//! and their connection status, carrier accounts and balances, rules, warehouses, SKUs and
//! mappings, suppliers, and templates. Users, roles and invites are on `/accounts`.
//!
//! Every section page passes the console's gate (`PageId::Settings`) and then checks its own
//! permission ([`Section::permission`]); the use-cases it reads through check again. Forms post
//! JSON to the existing API (`data-api`, with `static/settings.js` shaping nested and list
//! fields); they show the current values, and never a saved secret.

mod carriers;
mod catalog;
mod rules;
mod shops;
mod suppliers;
mod templates;

use super::{Chrome, Lang, PageId, PageResult, Refusal, denied, enter, not_found, render};
use crate::AppState;
use crate::extract::MaybeSession;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use fahuo_app::{Actor, AppError};
use fahuo_domain::{Permission, Platform};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(hub))
        .route("/settings/shops", get(shops::page))
        .route("/settings/carriers", get(carriers::page))
        .route("/settings/rules", get(rules::page))
        .route("/settings/warehouses", get(catalog::warehouses_page))
        .route("/settings/skus", get(catalog::skus_page))
        .route("/settings/suppliers", get(suppliers::page))
        .route("/settings/templates", get(templates::page))
}

/// The settings sections, in the hub's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Shops,
    Carriers,
    Rules,
    Warehouses,
    Skus,
    Suppliers,
    Templates,
}

impl Section {
    pub const ALL: [Section; 7] = [
        Section::Shops,
        Section::Carriers,
        Section::Rules,
        Section::Warehouses,
        Section::Skus,
        Section::Suppliers,
        Section::Templates,
    ];

    /// The last part of the section's path, and of its hooks (`settings-form-<slug>`).
    pub fn slug(self) -> &'static str {
        match self {
            Section::Shops => "shops",
            Section::Carriers => "carriers",
            Section::Rules => "rules",
            Section::Warehouses => "warehouses",
            Section::Skus => "skus",
            Section::Suppliers => "suppliers",
            Section::Templates => "templates",
        }
    }

    /// What the role needs to use the section: the permission of the section's main writes.
    pub fn permission(self) -> Permission {
        match self {
            Section::Shops | Section::Carriers | Section::Rules | Section::Templates => {
                Permission::ManageShops
            }
            Section::Warehouses | Section::Skus | Section::Suppliers => Permission::ManageCatalog,
        }
    }

    fn text(self, t: &HubText) -> (&'static str, &'static str) {
        match self {
            Section::Shops => t.shops,
            Section::Carriers => t.carriers,
            Section::Rules => t.rules,
            Section::Warehouses => t.warehouses,
            Section::Skus => t.skus,
            Section::Suppliers => t.suppliers,
            Section::Templates => t.templates,
        }
    }
}

/// The hub's text: each section's name and one line saying what is in it.
pub struct HubText {
    title: &'static str,
    intro: &'static str,
    shops: (&'static str, &'static str),
    carriers: (&'static str, &'static str),
    rules: (&'static str, &'static str),
    warehouses: (&'static str, &'static str),
    skus: (&'static str, &'static str),
    suppliers: (&'static str, &'static str),
    templates: (&'static str, &'static str),
    accounts: (&'static str, &'static str),
    none: &'static str,
}

static HUB_ZH: HubText = HubText {
    title: "设置",
    intro: "选择要修改的设置。",
    shops: (
        "店铺",
        "店铺授权与同步状态、立即同步、接入平台店铺、添加手工店铺",
    ),
    carriers: ("快递账号", "电子面单账号、余额与预警、绑定新账号"),
    rules: (
        "规则",
        "审单规则、分仓规则、选快递规则、发货时限预警、黑名单",
    ),
    warehouses: ("仓库", "仓库列表与发货地址、添加仓库"),
    skus: ("商品", "商品（SKU）、平台商品对应、商品标签、库位"),
    suppliers: ("供应商", "代发供应商、负责的商品、供应商链接"),
    templates: ("模板", "面单内容、买家通知、物流预警阈值、售后与发货设置"),
    accounts: ("账号与角色", "子账号、角色与数据范围（在账号页）"),
    none: "你的角色没有可用的设置。",
};

static HUB_EN: HubText = HubText {
    title: "Settings",
    intro: "Choose what to change.",
    shops: (
        "Shops",
        "Authorisation and sync status, sync now, connect a platform shop, add a manual shop",
    ),
    carriers: (
        "Carrier accounts",
        "E-waybill accounts, balances and warnings, bind an account",
    ),
    rules: (
        "Rules",
        "Review rules, allocation, carrier choice, deadline alerts, blacklist",
    ),
    warehouses: (
        "Warehouses",
        "Warehouses and their addresses, add a warehouse",
    ),
    skus: (
        "Products",
        "SKUs, platform SKU mappings, SKU tags, stock bins",
    ),
    suppliers: (
        "Suppliers",
        "Dropship suppliers, the SKUs they ship, supplier links",
    ),
    templates: (
        "Templates",
        "Label content, buyer notices, tracking alert thresholds, after-sales and shipping",
    ),
    accounts: (
        "Users and roles",
        "Sub-accounts, roles and data scope (on the accounts page)",
    ),
    none: "Your role has no settings to change.",
};

fn hub_text(lang: Lang) -> &'static HubText {
    lang.pick(&HUB_ZH, &HUB_EN)
}

/// A link in the hub or in a section page's section navigation.
pub struct SectionLink {
    href: String,
    label: &'static str,
    hint: &'static str,
    current: bool,
}

/// The sections the actor's role may use (and `/accounts` when it may manage users).
fn section_links(actor: &Actor, lang: Lang, current: Option<Section>) -> Vec<SectionLink> {
    let t = hub_text(lang);
    let mut links: Vec<SectionLink> = Section::ALL
        .into_iter()
        .filter(|s| actor.role.allows(s.permission()))
        .map(|s| {
            let (label, hint) = s.text(t);
            SectionLink {
                href: format!("/settings/{}", s.slug()),
                label,
                hint,
                current: Some(s) == current,
            }
        })
        .collect();
    if actor.role.allows(PageId::Accounts.info().permission) {
        links.push(SectionLink {
            href: PageId::Accounts.info().path.to_string(),
            label: t.accounts.0,
            hint: t.accounts.1,
            current: false,
        });
    }
    links
}

#[derive(Template)]
#[template(path = "settings_hub.html")]
struct HubPage {
    chrome: Chrome,
    t: &'static HubText,
    links: Vec<SectionLink>,
}

/// 设置: the sections the user's role may use.
async fn hub(State(_): State<AppState>, session: MaybeSession, lang: Lang, uri: Uri) -> PageResult {
    let (actor, chrome) = enter(session, lang, PageId::Settings, &uri)?;
    let t = hub_text(lang);
    Ok(render(HubPage {
        chrome,
        t,
        links: section_links(&actor, lang, None),
    }))
}

/// The gate of a section page: the console's gate for 设置, then the section's own
/// permission (403 without any data). The title names the section.
fn enter_section(
    session: MaybeSession,
    lang: Lang,
    uri: &Uri,
    section: Section,
) -> Result<(Actor, Chrome, Vec<SectionLink>), Refusal> {
    let (actor, mut chrome) = enter(session, lang, PageId::Settings, uri)?;
    if !actor.role.allows(section.permission()) {
        return Err(denied(chrome).into());
    }
    let (label, _) = section.text(hub_text(lang));
    chrome.title = format!("{label} · {}", chrome.title);
    let nav = section_links(&actor, lang, Some(section));
    Ok((actor, chrome, nav))
}

/// A use-case's refusal while reading a page: 403 and 404 as the console shows them, anything
/// else logged and answered with a plain 500 (no detail).
fn failure(chrome: Chrome, e: AppError) -> Refusal {
    match e {
        AppError::Forbidden(_) => denied(chrome).into(),
        AppError::NotFound => not_found(chrome).into(),
        e => {
            tracing::error!(error = %e, "settings page failed");
            let body = if chrome.lang == Lang::En {
                "The page could not be loaded; please try again."
            } else {
                "页面加载失败，请稍后重试。"
            };
            (StatusCode::INTERNAL_SERVER_ERROR, body)
                .into_response()
                .into()
        }
    }
}

/// `load!(expr, chrome)`: the use-case's value, or the page's refusal for its error.
macro_rules! load {
    ($e:expr, $chrome:ident) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Err($crate::console::settings::failure($chrome, e)),
        }
    };
}
pub(crate) use load;

fn platform_name(p: Platform, lang: Lang) -> &'static str {
    super::labels::platform(p, lang)
}

fn carrier_name(code: &str, lang: Lang) -> String {
    super::labels::carrier(code, lang)
}

/// Fen as yuan with two decimals for a form field, e.g. `12.50`.
fn yuan(fen: i64) -> String {
    fahuo_domain::Fen(fen).to_string()
}

/// An option of a `<select>`.
pub struct Choice {
    value: String,
    label: String,
    selected: bool,
}

fn choices<'a>(
    items: impl IntoIterator<Item = (String, String)>,
    selected: impl Into<Option<&'a str>>,
) -> Vec<Choice> {
    let selected = selected.into();
    items
        .into_iter()
        .map(|(value, label)| Choice {
            selected: Some(value.as_str()) == selected,
            value,
            label,
        })
        .collect()
}

/// JSON for a form's `data-base` (the current settings the form's fields overlay).
fn base_json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "{}".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_has_two_decimals_and_a_sign() {
        assert_eq!(yuan(1250), "12.50");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(-100), "-1.00");
    }

    #[test]
    fn every_section_needs_a_permission_an_owner_has_and_a_viewer_lacks() {
        for s in Section::ALL {
            assert!(fahuo_domain::Role::Owner.allows(s.permission()), "{s:?}");
            assert!(!fahuo_domain::Role::Viewer.allows(s.permission()), "{s:?}");
        }
    }
}
