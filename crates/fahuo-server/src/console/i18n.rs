//! The console's languages: 简体中文 first, English available. Each page module keeps its own
//! text as a struct with one `static` per language, so a missing translation fails to compile;
//! what every page shares (navigation, buttons, messages) lives here.

use crate::AppState;
use crate::extract::cookie;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};

pub const LANG_COOKIE: &str = "fahuo_lang";

/// The language a page is rendered in: the `fahuo_lang` cookie, else Chinese unless the
/// browser asks for English first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `lang` attribute of the page.
    pub fn html(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// Picks one of two texts: `lang.pick(&ZH, &EN)`.
    pub fn pick<T: ?Sized>(self, zh: &'static T, en: &'static T) -> &'static T {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    fn from_accept_language(headers: &HeaderMap) -> Lang {
        let first = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if first.starts_with("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }
}

impl FromRequestParts<AppState> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Lang, Self::Rejection> {
        Ok(cookie(parts, LANG_COOKIE)
            .and_then(Lang::parse)
            .unwrap_or_else(|| Lang::from_accept_language(&parts.headers)))
    }
}

/// `GET /lang/{zh|en}`: remembers the choice for a year and goes back to the page it came
/// from (a path on this site only; anything else goes to the order list).
pub async fn switch(Path(code): Path<String>, headers: HeaderMap) -> Response {
    let Some(lang) = Lang::parse(&code) else {
        return Redirect::to("/orders").into_response();
    };
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| {
            let host = headers.get(header::HOST)?.to_str().ok()?;
            let rest = r.split("://").nth(1)?.strip_prefix(host)?;
            rest.starts_with('/').then(|| rest.to_string())
        })
        .unwrap_or_else(|| "/orders".into());
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        lang.code()
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response()
}

/// What every console page shows around its content.
#[allow(dead_code)] // skeleton: the pages being built use it
pub struct CommonText {
    pub product: &'static str,
    pub logout: &'static str,
    pub other_language: &'static str,
    pub other_language_code: &'static str,
    pub nav_orders: &'static str,
    pub nav_exceptions: &'static str,
    pub nav_printing: &'static str,
    pub nav_pack: &'static str,
    pub nav_imports: &'static str,
    pub nav_tracking: &'static str,
    pub nav_after_sales: &'static str,
    pub nav_reports: &'static str,
    pub nav_settings: &'static str,
    pub nav_accounts: &'static str,
    pub nav_audit: &'static str,
    pub denied_title: &'static str,
    pub denied_body: &'static str,
    pub not_found_title: &'static str,
    pub not_found_body: &'static str,
    pub load_failed: &'static str,
    pub save: &'static str,
    pub cancel: &'static str,
    pub search: &'static str,
    pub next_page: &'static str,
    pub none: &'static str,
    pub role_owner: &'static str,
    pub role_admin: &'static str,
    pub role_service: &'static str,
    pub role_warehouse: &'static str,
    pub role_logistics: &'static str,
    pub role_finance: &'static str,
    pub role_viewer: &'static str,
}

pub static ZH: CommonText = CommonText {
    product: "发货 fahuo",
    logout: "退出",
    other_language: "English",
    other_language_code: "en",
    nav_orders: "订单",
    nav_exceptions: "异常",
    nav_printing: "打单",
    nav_pack: "验货",
    nav_imports: "导入",
    nav_tracking: "物流",
    nav_after_sales: "售后",
    nav_reports: "报表",
    nav_settings: "设置",
    nav_accounts: "子账号",
    nav_audit: "操作日志",
    denied_title: "没有权限",
    denied_body: "你的角色不能查看这个页面。如需开通，请联系主账号。",
    not_found_title: "找不到",
    not_found_body: "这条记录不存在，或不属于你能查看的范围。",
    load_failed: "加载失败，请稍后重试",
    save: "保存",
    cancel: "取消",
    search: "查询",
    next_page: "下一页 →",
    none: "—",
    role_owner: "主账号",
    role_admin: "管理员",
    role_service: "客服",
    role_warehouse: "仓库",
    role_logistics: "物流",
    role_finance: "财务",
    role_viewer: "只读",
};

pub static EN: CommonText = CommonText {
    product: "fahuo",
    logout: "Log out",
    other_language: "中文",
    other_language_code: "zh",
    nav_orders: "Orders",
    nav_exceptions: "Exceptions",
    nav_printing: "Printing",
    nav_pack: "Pack station",
    nav_imports: "Imports",
    nav_tracking: "Tracking",
    nav_after_sales: "After-sales",
    nav_reports: "Reports",
    nav_settings: "Settings",
    nav_accounts: "Accounts",
    nav_audit: "Audit log",
    denied_title: "Not allowed",
    denied_body: "Your role may not see this page. Ask the account owner for access.",
    not_found_title: "Not found",
    not_found_body: "This record does not exist, or is outside what you may see.",
    load_failed: "Could not load; please try again",
    save: "Save",
    cancel: "Cancel",
    search: "Search",
    next_page: "Next page →",
    none: "—",
    role_owner: "Owner",
    role_admin: "Admin",
    role_service: "Customer service",
    role_warehouse: "Warehouse",
    role_logistics: "Logistics",
    role_finance: "Finance",
    role_viewer: "Viewer",
};

impl CommonText {
    pub fn of(lang: Lang) -> &'static CommonText {
        lang.pick(&ZH, &EN)
    }

    pub fn role(&self, role: fahuo_domain::Role) -> &'static str {
        use fahuo_domain::Role::*;
        match role {
            Owner => self.role_owner,
            Admin => self.role_admin,
            Service => self.role_service,
            Warehouse => self.role_warehouse,
            Logistics => self.role_logistics,
            Finance => self.role_finance,
            Viewer => self.role_viewer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_is_chosen_only_when_the_browser_puts_it_first() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::from_accept_language(&h), Lang::Zh);
        h.insert(header::ACCEPT_LANGUAGE, "en-US,en;q=0.9".parse().unwrap());
        assert_eq!(Lang::from_accept_language(&h), Lang::En);
        h.insert(
            header::ACCEPT_LANGUAGE,
            "zh-CN,zh;q=0.9,en;q=0.8".parse().unwrap(),
        );
        assert_eq!(Lang::from_accept_language(&h), Lang::Zh);
    }
}
