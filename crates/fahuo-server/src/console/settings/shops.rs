//! 店铺: each shop with its platform and connection status (authorised, expired, error; the
//! last sync and its error), "sync now", re-connecting a platform shop, adding a shop.

use super::{Choice, Section, SectionLink, choices, enter_section, load, platform_name};
use crate::AppState;
use crate::console::{Chrome, Lang, PageResult, render, shanghai};
use crate::extract::MaybeSession;
use askama::Template;
use axum::extract::State;
use axum::http::Uri;
use fahuo_domain::Platform;
use fahuo_domain::catalog::ShopStatus;

pub struct ShopsText {
    heading: &'static str,
    hint: &'static str,
    name: &'static str,
    platform: &'static str,
    platform_shop_id: &'static str,
    status: &'static str,
    last_sync: &'static str,
    last_error: &'static str,
    pulled: &'static str,
    webhook: &'static str,
    actions: &'static str,
    never: &'static str,
    none: &'static str,
    sync_now: &'static str,
    reconnect: &'static str,
    reconnect_hint: &'static str,
    save_connection: &'static str,
    manual_nothing: &'static str,
    status_connected: &'static str,
    status_pending: &'static str,
    status_expired: &'static str,
    status_disabled: &'static str,
    status_error: &'static str,
    failures: &'static str,
    add_heading: &'static str,
    add_hint: &'static str,
    name_hint: &'static str,
    platform_shop_id_hint: &'static str,
    api_base_url: &'static str,
    api_base_url_hint: &'static str,
    credentials: &'static str,
    credentials_hint: &'static str,
    app_key: &'static str,
    app_secret: &'static str,
    access_token: &'static str,
    refresh_token: &'static str,
    webhook_secret: &'static str,
    auth_code: &'static str,
    secret_hint: &'static str,
    add: &'static str,
}

static ZH: ShopsText = ShopsText {
    heading: "店铺",
    hint: "平台店铺的授权与订单同步状态。授权失效时请重新授权。",
    name: "店铺名",
    platform: "平台",
    platform_shop_id: "平台店铺 ID",
    status: "连接状态",
    last_sync: "上次成功同步",
    last_error: "最近错误",
    pulled: "已拉取订单",
    webhook: "消息推送地址",
    actions: "操作",
    never: "从未",
    none: "还没有店铺",
    sync_now: "立即同步",
    reconnect: "重新授权 / 修改连接",
    reconnect_hint: "填入平台新发的密钥或授权码；保存后立即同步。已保存的密钥不会显示。",
    save_connection: "保存连接",
    manual_nothing: "手工店铺无需同步",
    status_connected: "已授权",
    status_pending: "待首次同步",
    status_expired: "授权失效",
    status_disabled: "已停用",
    status_error: "同步出错",
    failures: "连续失败",
    add_heading: "添加店铺",
    add_hint: "接入微信小店、抖店或小红书店铺；手工店铺用于录入或导入的订单，不需要密钥。",
    name_hint: "在系统里显示的名字",
    platform_shop_id_hint: "平台给店铺的 ID（如 appid、店铺 ID）；手工店铺可填任意标识",
    api_base_url: "接口地址",
    api_base_url_hint: "留空使用平台官方地址",
    credentials: "平台密钥",
    credentials_hint: "从平台开放平台后台复制；手工店铺留空。",
    app_key: "App Key / AppID",
    app_secret: "App Secret",
    access_token: "Access Token",
    refresh_token: "Refresh Token",
    webhook_secret: "消息推送密钥",
    auth_code: "授权码",
    secret_hint: "加密保存，保存后不再显示",
    add: "添加店铺",
};

static EN: ShopsText = ShopsText {
    heading: "Shops",
    hint: "Authorisation and order sync of each platform shop. Re-authorise when it has expired.",
    name: "Shop name",
    platform: "Platform",
    platform_shop_id: "Platform shop ID",
    status: "Connection",
    last_sync: "Last successful sync",
    last_error: "Last error",
    pulled: "Orders pulled",
    webhook: "Push URL path",
    actions: "Actions",
    never: "never",
    none: "No shops yet",
    sync_now: "Sync now",
    reconnect: "Re-authorise / change connection",
    reconnect_hint: "Enter the new keys or authorisation code from the platform; the shop syncs after saving. Saved keys are never shown.",
    save_connection: "Save connection",
    manual_nothing: "Manual shops do not sync",
    status_connected: "Authorised",
    status_pending: "Waiting for first sync",
    status_expired: "Authorisation expired",
    status_disabled: "Disabled",
    status_error: "Sync error",
    failures: "failures in a row",
    add_heading: "Add a shop",
    add_hint: "Connect a WeChat Shop, Douyin or Xiaohongshu shop; a manual shop holds entered or imported orders and needs no keys.",
    name_hint: "The name shown in fahuo",
    platform_shop_id_hint: "The platform's ID of the shop (its appid or shop ID); any label for a manual shop",
    api_base_url: "API address",
    api_base_url_hint: "Leave empty for the platform's official address",
    credentials: "Platform keys",
    credentials_hint: "Copy them from the platform's developer console; leave empty for a manual shop.",
    app_key: "App Key / AppID",
    app_secret: "App Secret",
    access_token: "Access Token",
    refresh_token: "Refresh Token",
    webhook_secret: "Push verification secret",
    auth_code: "Authorisation code",
    secret_hint: "Stored encrypted and never shown again",
    add: "Add shop",
};

struct ShopRow {
    id: i64,
    name: String,
    platform: &'static str,
    platform_shop_id: String,
    manual: bool,
    status: &'static str,
    /// `ok`, `pending`, `expired`, `error` or `off`: the status badge's class.
    status_class: &'static str,
    sync_error: bool,
    last_success: Option<String>,
    last_error: Option<String>,
    failures: i64,
    pulled: i64,
    webhook: String,
    api_base_url: String,
}

#[derive(Template)]
#[template(path = "settings_shops.html")]
struct ShopsPage {
    chrome: Chrome,
    nav: Vec<SectionLink>,
    t: &'static ShopsText,
    rows: Vec<ShopRow>,
    platforms: Vec<Choice>,
}

/// 店铺: each shop with its connection status and sync progress, sync now, re-connect, add.
pub async fn page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
) -> PageResult {
    let (actor, chrome, nav) = enter_section(session, lang, &uri, Section::Shops)?;
    let t = lang.pick(&ZH, &EN);
    let shops = load!(s.app.shops(&actor).await, chrome);
    let mut rows = Vec::new();
    for shop in shops.into_iter() {
        let sync = load!(s.app.shop_sync(&actor, shop.id).await, chrome);
        let state = sync.state;
        let manual = shop.platform == Platform::Manual;
        let sync_error = state.last_error.is_some() && state.consecutive_failures > 0;
        let (status, status_class) = match shop.status {
            ShopStatus::AuthFailed => (t.status_expired, "expired"),
            ShopStatus::Disabled => (t.status_disabled, "off"),
            _ if sync_error => (t.status_error, "error"),
            ShopStatus::Connected => (t.status_connected, "ok"),
            ShopStatus::Pending if manual => (t.status_connected, "ok"),
            ShopStatus::Pending => (t.status_pending, "pending"),
        };
        rows.push(ShopRow {
            id: shop.id.get(),
            name: shop.name.to_string(),
            platform: platform_name(shop.platform, lang),
            platform_shop_id: shop.platform_shop_id.clone(),
            manual,
            status,
            status_class,
            sync_error,
            last_success: state.last_success_at.map(shanghai),
            last_error: state.last_error,
            failures: state.consecutive_failures,
            pulled: state.orders_pulled,
            webhook: sync.webhook_path,
            api_base_url: shop.api_base_url.unwrap_or_default(),
        });
    }
    let platforms = choices(
        Platform::ALL
            .into_iter()
            .map(|p| (p.as_str().to_string(), platform_name(p, lang).to_string())),
        Platform::Wechat.as_str(),
    );
    Ok(render(ShopsPage {
        chrome,
        nav,
        t,
        rows,
        platforms,
    }))
}
