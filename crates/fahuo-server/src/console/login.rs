//! Signing in and out of the console (plain forms: they work before any script has loaded).

use super::{Lang, render};
use crate::AppState;
use crate::api_auth::session_cookie;
use crate::extract::{MaybeSession, client_addr, same_secret};
use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use fahuo_app::AppError;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
}

/// The login page, coming back to `path_and_query` afterwards.
pub fn redirect_to_login(path_and_query: &str) -> Response {
    let next = percent_encode(path_and_query);
    Redirect::to(&format!("/login?next={next}")).into_response()
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Only a path on this site: never `//evil.example` or `https://…` (an open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.into(),
        _ => "/orders".into(),
    }
}

struct LoginText {
    title: &'static str,
    tagline: &'static str,
    username: &'static str,
    password: &'static str,
    submit: &'static str,
    bad_credentials: &'static str,
    too_many: &'static str,
    failed: &'static str,
    other_language: &'static str,
    other_language_code: &'static str,
}

static ZH: LoginText = LoginText {
    title: "登录",
    tagline: "打单发货 · 微信小店 · 抖店 · 小红书",
    username: "用户名",
    password: "密码",
    submit: "登录",
    bad_credentials: "用户名或密码错误",
    too_many: "登录失败次数过多，请 15 分钟后再试",
    failed: "服务器内部错误，请稍后重试",
    other_language: "English",
    other_language_code: "en",
};

static EN: LoginText = LoginText {
    title: "Log in",
    tagline: "Orders to parcels · WeChat Shop · Douyin · Xiaohongshu",
    username: "Username",
    password: "Password",
    submit: "Log in",
    bad_credentials: "Wrong username or password",
    too_many: "Too many failed attempts; try again in 15 minutes",
    failed: "Something went wrong on the server; please try again",
    other_language: "中文",
    other_language_code: "zh",
};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    lang: Lang,
    t: &'static LoginText,
    error: Option<&'static str>,
    username: String,
    next: String,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(lang: Lang, Query(q): Query<NextQuery>) -> Response {
    render(LoginPage {
        lang,
        t: lang.pick(&ZH, &EN),
        error: None,
        username: String::new(),
        next: safe_next(q.next.as_deref()),
    })
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// A cross-site page must not be able to act through a victim's browser: log the victim into
/// an attacker's account, or create accounts.
pub(super) fn same_origin(headers: &HeaderMap) -> bool {
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
    lang: Lang,
    parts: Parts,
    Form(form): Form<LoginForm>,
) -> Response {
    if !same_origin(&parts.headers) {
        return (StatusCode::FORBIDDEN, "跨站请求已拒绝").into_response();
    }
    let t = lang.pick(&ZH, &EN);
    let next = safe_next(form.next.as_deref());
    match s
        .app
        .login(&form.username, &form.password, &client_addr(&parts))
        .await
    {
        Ok(session) => start_session(&s, &session, &next),
        Err(e) => {
            let (status, message) = match e {
                AppError::TooManyAttempts { .. } => (StatusCode::TOO_MANY_REQUESTS, t.too_many),
                AppError::BadCredentials => (StatusCode::UNAUTHORIZED, t.bad_credentials),
                other => {
                    tracing::error!(error = %other, "login failed");
                    (StatusCode::INTERNAL_SERVER_ERROR, t.failed)
                }
            };
            let page = LoginPage {
                lang,
                t,
                error: Some(message),
                username: form.username,
                next,
            };
            (status, render(page)).into_response()
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

/// Sets the session's cookie and goes on to `next` (a path of this site).
pub(super) fn start_session(
    s: &AppState,
    session: &fahuo_app::auth::LoginSession,
    next: &str,
) -> Response {
    let max_age = (session.expires_at - s.app.now()).num_seconds();
    let cookie = session_cookie(&session.token, max_age, s.http.secure_cookies);
    ([(header::SET_COOKIE, cookie)], Redirect::to(next)).into_response()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_login_only_paths_on_this_site_are_followed() {
        assert_eq!(safe_next(Some("/orders/5?x=1")), "/orders/5?x=1");
        assert_eq!(safe_next(Some("//evil.example/")), "/orders");
        assert_eq!(safe_next(Some("https://evil.example/")), "/orders");
        assert_eq!(safe_next(Some("/\\evil.example")), "/orders");
        assert_eq!(safe_next(None), "/orders");
        assert_eq!(
            percent_encode("/orders?state=new&x=中"),
            "/orders%3Fstate%3Dnew%26x%3D%E4%B8%AD"
        );
    }
}
