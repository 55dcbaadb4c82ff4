//! 快递账号: the e-waybill accounts with what is left on each (余额), a refresh button, the
//! low-balance warning, and binding a new account. Credentials are never shown back.

use super::{Choice, Section, SectionLink, carrier_name, choices, enter_section, load};
use crate::AppState;
use crate::console::{Chrome, Lang, PageResult, render, shanghai};
use crate::extract::MaybeSession;
use askama::Template;
use axum::extract::State;
use axum::http::Uri;
use fahuo_domain::Platform;
use fahuo_domain::fulfilment::WaybillService;

pub struct CarriersText {
    heading: &'static str,
    hint: &'static str,
    name: &'static str,
    service: &'static str,
    carrier: &'static str,
    priority: &'static str,
    sender: &'static str,
    remaining: &'static str,
    checked: &'static str,
    status: &'static str,
    actions: &'static str,
    unknown: &'static str,
    low: &'static str,
    low_banner: &'static str,
    enabled: &'static str,
    disabled: &'static str,
    refresh: &'static str,
    none: &'static str,
    used: &'static str,
    bind_heading: &'static str,
    bind_hint: &'static str,
    name_hint: &'static str,
    service_hint: &'static str,
    carrier_hint: &'static str,
    base_url: &'static str,
    base_url_hint: &'static str,
    shop: &'static str,
    shop_hint: &'static str,
    no_shop: &'static str,
    priority_hint: &'static str,
    sender_name: &'static str,
    sender_phone: &'static str,
    sender_hint: &'static str,
    quota: &'static str,
    quota_hint: &'static str,
    threshold: &'static str,
    threshold_hint: &'static str,
    credentials: &'static str,
    credentials_hint: &'static str,
    api_key: &'static str,
    api_secret: &'static str,
    account: &'static str,
    account_secret: &'static str,
    site: &'static str,
    secret_hint: &'static str,
    bind: &'static str,
}

static ZH: CarriersText = CarriersText {
    heading: "快递账号",
    hint: "取电子面单号用的账号。余额不足时打单会失败，请及时充值。",
    name: "账号名",
    service: "面单服务",
    carrier: "快递公司",
    priority: "优先级",
    sender: "寄件人",
    remaining: "剩余单号（余额）",
    checked: "余额更新于",
    status: "状态",
    actions: "操作",
    unknown: "未知",
    low: "余额不足",
    low_banner: "以下账号余额不足，请充值：",
    enabled: "启用",
    disabled: "停用",
    refresh: "刷新余额",
    none: "还没有快递账号",
    used: "已用",
    bind_heading: "绑定快递账号",
    bind_hint: "绑定快递100、快递鸟或微信小店电子面单账号。",
    name_hint: "便于区分的名字，如「中通-杭州网点」",
    service_hint: "单号从哪个服务取",
    carrier_hint: "快递公司编码，如 ZTO、YTO、STO、YUNDA、SF、JD",
    base_url: "接口地址",
    base_url_hint: "留空使用官方地址；微信小店电子面单不用填",
    shop: "微信小店",
    shop_hint: "仅微信小店电子面单：用哪个已授权的微信小店取号",
    no_shop: "（不适用）",
    priority_hint: "同一快递有多个账号时，数字小的先用，失败时自动换下一个",
    sender_name: "寄件人姓名",
    sender_phone: "寄件人电话",
    sender_hint: "打印在每张面单上",
    quota: "已购单号数",
    quota_hint: "不报告余额的服务（快递100、快递鸟）填购买的单号数，用于计算剩余",
    threshold: "余额预警线",
    threshold_hint: "剩余单号少于此数时提醒",
    credentials: "账号密钥",
    credentials_hint: "从面单服务后台复制。加密保存，保存后不再显示。",
    api_key: "API Key / 客户编号",
    api_secret: "API Secret / 授权密钥",
    account: "月结账号 / 电子面单账号",
    account_secret: "月结密码",
    site: "网点编码",
    secret_hint: "保存后不再显示",
    bind: "绑定账号",
};

static EN: CarriersText = CarriersText {
    heading: "Carrier accounts",
    hint: "Accounts that issue e-waybill numbers. Printing fails when one runs out, so top up in time.",
    name: "Account",
    service: "Waybill service",
    carrier: "Carrier",
    priority: "Priority",
    sender: "Sender",
    remaining: "Numbers left (balance)",
    checked: "Balance checked",
    status: "Status",
    actions: "Actions",
    unknown: "unknown",
    low: "Low balance",
    low_banner: "These accounts are running low; top them up:",
    enabled: "Enabled",
    disabled: "Disabled",
    refresh: "Refresh balance",
    none: "No carrier accounts yet",
    used: "used",
    bind_heading: "Bind a carrier account",
    bind_hint: "Bind a kuaidi100, kdniao or WeChat Shop e-waybill account.",
    name_hint: "A name to tell it apart, e.g. \"ZTO Hangzhou\"",
    service_hint: "Where the numbers come from",
    carrier_hint: "The carrier's code, e.g. ZTO, YTO, STO, YUNDA, SF, JD",
    base_url: "API address",
    base_url_hint: "Leave empty for the official address; not used for WeChat e-waybill",
    shop: "WeChat shop",
    shop_hint: "WeChat e-waybill only: the authorised WeChat shop that issues the numbers",
    no_shop: "(not used)",
    priority_hint: "With several accounts of one carrier, the lowest number is used first; the next takes over on failure",
    sender_name: "Sender name",
    sender_phone: "Sender phone",
    sender_hint: "Printed on every label",
    quota: "Numbers bought",
    quota_hint: "For services that report no balance (kuaidi100, kdniao): the numbers bought, to count what is left",
    threshold: "Low-balance warning",
    threshold_hint: "Warn when fewer numbers than this are left",
    credentials: "Account keys",
    credentials_hint: "Copy them from the waybill service. Stored encrypted and never shown again.",
    api_key: "API key / customer code",
    api_secret: "API secret",
    account: "Carrier account",
    account_secret: "Carrier account password",
    site: "Branch code",
    secret_hint: "Never shown after saving",
    bind: "Bind account",
};

struct AccountRow {
    id: i64,
    name: String,
    service: &'static str,
    carrier: String,
    priority: i64,
    sender: String,
    remaining: Option<i64>,
    used: i64,
    checked: Option<String>,
    low: bool,
    enabled: bool,
    /// The service reports a balance that can be refreshed.
    refreshable: bool,
}

#[derive(Template)]
#[template(path = "settings_carriers.html")]
struct CarriersPage {
    chrome: Chrome,
    nav: Vec<SectionLink>,
    t: &'static CarriersText,
    rows: Vec<AccountRow>,
    low: Vec<String>,
    services: Vec<Choice>,
    shops: Vec<Choice>,
}

fn service_name(s: WaybillService, lang: Lang) -> &'static str {
    match (s, lang) {
        (WaybillService::Kuaidi100, Lang::Zh) => "快递100",
        (WaybillService::Kuaidi100, Lang::En) => "kuaidi100",
        (WaybillService::Kdniao, Lang::Zh) => "快递鸟",
        (WaybillService::Kdniao, Lang::En) => "kdniao",
        (WaybillService::WechatEwaybill, Lang::Zh) => "微信小店电子面单",
        (WaybillService::WechatEwaybill, Lang::En) => "WeChat Shop e-waybill",
    }
}

fn service_code(s: WaybillService) -> &'static str {
    match s {
        WaybillService::Kuaidi100 => "kuaidi100",
        WaybillService::Kdniao => "kdniao",
        WaybillService::WechatEwaybill => "wechat_ewaybill",
    }
}

/// 快递账号: accounts with balances and warnings, refresh, bind.
pub async fn page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
) -> PageResult {
    let (actor, chrome, nav) = enter_section(session, lang, &uri, Section::Carriers)?;
    let t = lang.pick(&ZH, &EN);
    let accounts = load!(s.app.carrier_accounts(&actor).await, chrome);
    let shops = load!(s.app.shops(&actor).await, chrome);
    let rows: Vec<AccountRow> = accounts
        .into_iter()
        .map(|v| AccountRow {
            id: v.account.id.get(),
            name: v.account.name.clone(),
            service: service_name(v.account.service, lang),
            carrier: carrier_name(v.account.carrier.as_str(), lang),
            priority: v.account.priority,
            sender: v.account.sender_name.clone(),
            remaining: v.remaining,
            used: v.account.used,
            checked: v.account.balance_checked_at.map(shanghai),
            low: v.low_balance,
            enabled: v.account.enabled,
            refreshable: v.account.service.reports_balance(),
        })
        .collect();
    let low = rows
        .iter()
        .filter(|r| r.low)
        .map(|r| r.name.clone())
        .collect();
    let services = choices(
        [
            WaybillService::Kuaidi100,
            WaybillService::Kdniao,
            WaybillService::WechatEwaybill,
        ]
        .into_iter()
        .map(|s| {
            (
                service_code(s).to_string(),
                service_name(s, lang).to_string(),
            )
        }),
        "kuaidi100",
    );
    let shops = choices(
        shops
            .into_iter()
            .filter(|s| s.platform == Platform::Wechat)
            .map(|s| (s.id.get().to_string(), s.name.to_string())),
        None::<&str>,
    );
    Ok(render(CarriersPage {
        chrome,
        nav,
        t,
        rows,
        low,
        services,
        shops,
    }))
}
