//! The console in a real browser: Debian's headless Chromium driven over WebDriver
//! (chromedriver), against a server on a real database. Each test saves screenshots under
//! `target/browser-screenshots/` for a person to look at.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (packages `chromium` and
//! `chromium-driver`; `scripts/test` installs them). The browser runs at 1280×800, the smallest
//! screen the console is made for. These tests run on SQLite only: what they check is the
//! console in the browser, and every storage behaviour under it has its own test on both
//! databases.

mod common;
use common::*;
use fantoccini::{Client as Browser, ClientBuilder, Locator};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A chromedriver process on a free port, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn driver() -> Driver {
    for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        assert!(
            std::path::Path::new(tool).exists(),
            "{tool} is missing: install the Debian packages chromium and chromium-driver (scripts/test does)"
        );
    }
    let port = free_port();
    let child = Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Driver { child, port }
}

/// A fresh headless Chromium (its own profile: no cookies shared between browsers).
async fn browser(d: &Driver) -> Browser {
    fahuo_platforms::install_tls_provider();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,800", "--lang=zh-CN", "--hide-scrollbars",
            ],
            // A merchant's browser asks for Chinese.
            "prefs": {"intl.accept_languages": "zh-CN,zh"},
        }),
    );
    ClientBuilder::rustls()
        .expect("rustls connector")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", d.port))
        .await
        .expect("a chromium session")
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves what the browser shows as `target/browser-screenshots/{name}.png`.
async fn screenshot(b: &Browser, name: &str) {
    let png = b.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

/// Waits (up to 10 s) for an element to appear: pages update from their scripts.
async fn wait_for(b: &Browser, css: &str) -> fantoccini::elements::Element {
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css}: {e}"))
}

async fn text_of(b: &Browser, css: &str) -> String {
    wait_for(b, css).await.text().await.unwrap()
}

/// Logs in through the login form, as a person would.
async fn log_in(b: &Browser, s: &Server, username: &str, password: &str) {
    b.goto(&format!("{}/login", s.base)).await.unwrap();
    wait_for(b, "input[name=username]")
        .await
        .send_keys(username)
        .await
        .unwrap();
    wait_for(b, "input[name=password]")
        .await
        .send_keys(password)
        .await
        .unwrap();
    wait_for(b, "form[action='/login'] button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    wait_path(b, "/orders").await;
}

/// Waits (up to 10 s) until the browser is on `path`.
async fn wait_path(b: &Browser, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = b.current_url().await.unwrap();
        if now.path() == path {
            return;
        }
        assert!(Instant::now() < deadline, "still on {now}, expected {path}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merchant_logs_in_and_filters_the_order_list() {
    let (s, app) = start(TestDb::sqlite().await).await;
    let _m = merchant(&s, &app, "杭州小店", "alice").await;
    let d = driver().await;
    let b = browser(&d).await;

    b.goto(&format!("{}/orders", s.base)).await.unwrap();
    assert!(
        b.current_url().await.unwrap().path() == "/login",
        "a page without a session shows the login form"
    );
    screenshot(&b, "login").await;
    log_in(&b, &s, "alice", "owner-password").await;
    screenshot(&b, "orders").await;
    let nav = text_of(&b, "header.top nav").await;
    for page in ["订单", "异常", "打单", "验货", "报表", "设置", "子账号"] {
        assert!(
            nav.contains(page),
            "the owner's navigation has {page}: {nav}"
        );
    }

    // The 待审核 tab shows the new order and not the shipped one.
    b.find(Locator::Css("nav.tabs a[href='/orders?state=new']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let rows = text_of(&b, "table.orders tbody").await;
    assert!(rows.contains("M1"), "{rows}");
    assert!(!rows.contains("M2"), "{rows}");
    screenshot(&b, "orders-tab-new").await;

    // English on request, remembered.
    b.goto(&format!("{}/lang/en", s.base)).await.unwrap();
    let nav = text_of(&b, "header.top nav").await;
    assert!(nav.contains("Orders") && nav.contains("Reports"), "{nav}");
    screenshot(&b, "orders-english").await;
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sub_account_is_denied_a_page_its_role_may_not_see() {
    let (s, app) = start(TestDb::sqlite().await).await;
    let m = merchant(&s, &app, "杭州小店", "alice").await;
    let (_, _) = sub_account(&s, &m, "cangku1", "warehouse").await;
    let d = driver().await;
    let b = browser(&d).await;
    log_in(&b, &s, "cangku1", "member-password").await;
    let nav = text_of(&b, "header.top nav").await;
    assert!(nav.contains("验货"), "{nav}");
    for hidden in ["报表", "设置", "子账号", "售后"] {
        assert!(
            !nav.contains(hidden),
            "a warehouse role is not shown {hidden}: {nav}"
        );
    }

    b.goto(&format!("{}/reports", s.base)).await.unwrap();
    let body = text_of(&b, "main").await;
    assert!(body.contains("没有权限"), "{body}");
    assert!(
        !body.contains("揽收率"),
        "the denied page shows none of the report: {body}"
    );
    screenshot(&b, "denied-reports-warehouse").await;
    b.close().await.unwrap();
}
