//! 供应商: dropship suppliers (add, edit, deactivate), the SKUs each ships, and their links
//! (create one to send, rotate to revoke every link sent so far).

use super::{Section, SectionLink, enter_section, load};
use crate::AppState;
use crate::console::{Chrome, Lang, PageResult, render};
use crate::extract::MaybeSession;
use askama::Template;
use axum::extract::State;
use axum::http::Uri;

pub struct SuppliersText {
    heading: &'static str,
    hint: &'static str,
    name: &'static str,
    name_hint: &'static str,
    contact: &'static str,
    contact_hint: &'static str,
    status: &'static str,
    active: &'static str,
    inactive: &'static str,
    active_hint: &'static str,
    skus: &'static str,
    skus_hint: &'static str,
    no_skus: &'static str,
    edit: &'static str,
    save: &'static str,
    save_skus: &'static str,
    link: &'static str,
    link_hint: &'static str,
    create_link: &'static str,
    rotate: &'static str,
    rotate_confirm: &'static str,
    rotate_hint: &'static str,
    none: &'static str,
    add_heading: &'static str,
    add: &'static str,
}

static ZH: SuppliersText = SuppliersText {
    heading: "供应商",
    hint: "代发供应商：审单时把他们负责的商品分给他们发货。",
    name: "供应商名",
    name_hint: "1 到 50 个字，不能重复",
    contact: "联系方式",
    contact_hint: "联系人、电话或微信号，方便你联系",
    status: "状态",
    active: "合作中",
    inactive: "已停用",
    active_hint: "停用后不再分单，链接也失效",
    skus: "负责的商品",
    skus_hint: "这些商品的订单行在审单时分给该供应商",
    no_skus: "无",
    edit: "修改",
    save: "保存",
    save_skus: "保存商品",
    link: "供应商链接",
    link_hint: "发给供应商的免登录链接，用于查看待发订单和回填单号。",
    create_link: "生成链接",
    rotate: "作废所有旧链接",
    rotate_confirm: "作废已发出的所有链接？供应商需要新链接才能继续。",
    rotate_hint: "链接泄露时使用",
    none: "还没有供应商",
    add_heading: "添加供应商",
    add: "添加供应商",
};

static EN: SuppliersText = SuppliersText {
    heading: "Suppliers",
    hint: "Dropship suppliers: at review, order lines of their SKUs are given to them to ship.",
    name: "Supplier",
    name_hint: "1 to 50 characters, unique",
    contact: "Contact",
    contact_hint: "A person, a phone or a WeChat ID to reach them",
    status: "Status",
    active: "Active",
    inactive: "Deactivated",
    active_hint: "A deactivated supplier gets no lines and its links stop working",
    skus: "SKUs shipped",
    skus_hint: "Order lines of these SKUs go to this supplier at review",
    no_skus: "none",
    edit: "Edit",
    save: "Save",
    save_skus: "Save SKUs",
    link: "Supplier link",
    link_hint: "A no-login link for the supplier to see their orders and enter tracking numbers.",
    create_link: "Create link",
    rotate: "Revoke all links",
    rotate_confirm: "Revoke every link sent so far? The supplier will need a new one.",
    rotate_hint: "Use when a link has leaked",
    none: "No suppliers yet",
    add_heading: "Add a supplier",
    add: "Add supplier",
};

struct SkuCheck {
    id: i64,
    label: String,
    checked: bool,
}

struct SupplierRow {
    id: i64,
    name: String,
    contact: String,
    active: bool,
    sku_names: Vec<String>,
    skus: Vec<SkuCheck>,
}

#[derive(Template)]
#[template(path = "settings_suppliers.html")]
struct SuppliersPage {
    chrome: Chrome,
    nav: Vec<SectionLink>,
    t: &'static SuppliersText,
    rows: Vec<SupplierRow>,
}

/// 供应商: suppliers with their SKUs and links, adding one.
pub async fn page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
) -> PageResult {
    let (actor, chrome, nav) = enter_section(session, lang, &uri, Section::Suppliers)?;
    let t = lang.pick(&ZH, &EN);
    let suppliers = load!(s.app.suppliers(&actor).await, chrome);
    let skus = load!(s.app.skus(&actor).await, chrome);
    let rows = suppliers
        .into_iter()
        .map(|sup| SupplierRow {
            id: sup.id.get(),
            name: sup.name.clone(),
            contact: sup.contact.clone().unwrap_or_default(),
            active: sup.active,
            sku_names: skus
                .iter()
                .filter(|k| sup.sku_ids.contains(&k.id))
                .map(|k| format!("{} {}", k.code, k.name))
                .collect(),
            skus: skus
                .iter()
                .map(|k| SkuCheck {
                    id: k.id.get(),
                    label: format!("{} {}", k.code, k.name),
                    checked: sup.sku_ids.contains(&k.id),
                })
                .collect(),
        })
        .collect();
    Ok(render(SuppliersPage {
        chrome,
        nav,
        t,
        rows,
    }))
}
