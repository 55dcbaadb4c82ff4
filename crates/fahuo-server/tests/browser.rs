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
    let b = ClientBuilder::rustls()
        .expect("rustls connector")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", d.port))
        .await
        .expect("a chromium session");
    // The page itself gets 1280×800, whatever the window's own frame takes.
    let (width, height) = b.get_window_size().await.unwrap();
    let inner = b
        .execute("return [window.innerWidth, window.innerHeight]", vec![])
        .await
        .unwrap();
    let frame = |outer: u64, i: usize| outer.saturating_sub(inner[i].as_u64().unwrap_or(outer));
    b.set_window_size(
        (1280 + frame(width, 0)) as u32,
        (800 + frame(height, 1)) as u32,
    )
    .await
    .unwrap();
    b
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
    wait_for(&b, "nav.tabs a[data-tab='review']")
        .await
        .click()
        .await
        .unwrap();
    let rows = wait_text(&b, "table.orders tbody", "M1").await;
    assert!(!rows.contains("M2"), "{rows}");
    screenshot(&b, "orders-tab-new").await;

    // The search box finds the shipped order by its number from any tab.
    wait_for(&b, "nav.tabs a[data-tab='all']")
        .await
        .click()
        .await
        .unwrap();
    wait_for(&b, "#order-search")
        .await
        .send_keys("M2\u{E007}")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = text_of(&b, "table.orders tbody").await;
        if rows.contains("M2") && !rows.contains("M1") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the search never narrowed to M2: {rows}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    screenshot(&b, "orders-search").await;

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

/// An approved order of `mugs` mugs for the shipping merchant, ready to print.
async fn approved_order(app: &App, m: &ShippingMerchant, number: &str, mugs: i64) -> i64 {
    use fahuo_app::orders::{LineInput, OrderInput, ReceiverInput};
    let (_, order) = app
        .create_manual_order(
            &m.owner,
            &OrderInput {
                shop_id: m.shop.get(),
                platform_order_id: number.into(),
                paid_total_fen: None,
                freight_fen: 0,
                buyer_note: None,
                seller_note: None,
                ship_by: None,
                presale_ship_at: None,
                receiver: ReceiverInput {
                    name: "李四".into(),
                    phone: "13800001234".into(),
                    province: "上海市".into(),
                    city: "上海市".into(),
                    county: "徐汇区".into(),
                    detail: "虹漕路400号".into(),
                },
                lines: vec![LineInput {
                    sku_code: Some("MUG-350".into()),
                    title: "马克杯".into(),
                    quantity: mugs,
                    unit_price_fen: 3900,
                    paid_fen: None,
                }],
            },
        )
        .await
        .unwrap();
    app.approve_order(&m.owner, order.id).await.unwrap();
    app.allocate_order(
        &m.owner,
        order.id,
        m.warehouse,
        Some(fahuo_domain::CarrierCode::parse("ZTO").unwrap()),
    )
    .await
    .unwrap();
    order.id.get()
}

/// Types `text` into the focused scan field and presses Enter, as a barcode scanner does.
async fn scan(b: &Browser, text: &str) {
    let field = wait_for(b, "#scan").await;
    field.send_keys(&format!("{text}\u{E007}")).await.unwrap();
}

/// Waits (up to 10 s) until the element's text contains `needle`.
async fn wait_text(b: &Browser, css: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = text_of(b, css).await;
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{css} never said {needle:?}: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_are_bulk_printed_from_the_list_and_packed_at_the_station() {
    let (s, app) = start(TestDb::sqlite().await).await;
    let m = shipping_merchant(&app, "杭州小店", "alice").await;
    let first = approved_order(&app, &m, "BULK-1", 2).await;
    let second = approved_order(&app, &m, "BULK-2", 1).await;
    let d = driver().await;
    let b = browser(&d).await;
    log_in(&b, &s, "alice", "owner-password").await;

    // 待打单: both orders; select the page, print.
    b.goto(&format!("{}/orders?tab=print", s.base))
        .await
        .unwrap();
    for id in [first, second] {
        wait_for(&b, &format!("tr[data-order-id='{id}']")).await;
    }
    wait_for(&b, "#select-page").await.click().await.unwrap();
    assert_eq!(text_of(&b, "#selected-count").await, "2");
    screenshot(&b, "orders-selected-for-print").await;
    wait_for(&b, "[data-bulk-action='print']")
        .await
        .click()
        .await
        .unwrap();
    // The script asks before acting on a selection.
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.accept_alert().await.is_err() {
        assert!(Instant::now() < deadline, "no confirmation before printing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The print job's page: the labels PDF in the preview, print and download buttons.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !b
        .current_url()
        .await
        .unwrap()
        .path()
        .starts_with("/printing/")
    {
        assert!(
            Instant::now() < deadline,
            "no print job page after printing"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let job: i64 = b.current_url().await.unwrap().path()["/printing/".len()..]
        .parse()
        .unwrap();
    let job = app
        .print_job(&m.owner, fahuo_domain::PrintJobId(job))
        .await
        .unwrap();
    assert_eq!(
        job.labels.len(),
        1,
        "two orders merged into one parcel print one label"
    );
    let preview = wait_for(&b, "#print-preview").await;
    let src = preview.attr("src").await.unwrap().unwrap();
    assert!(src.contains("/labels"), "{src}");
    // The frame may show the PDF: the labels answer lets this site frame them.
    let framed = b
        .execute(
            "return fetch(arguments[0]).then(r => r.headers.get('x-frame-options'))",
            vec![json!(src)],
        )
        .await
        .unwrap();
    assert_eq!(framed, json!("SAMEORIGIN"));
    wait_for(&b, "#print-button").await;
    wait_for(&b, "#download-pdf").await;
    let numbers = text_of(&b, "main").await;
    tokio::time::sleep(Duration::from_millis(500)).await; // let the PDF viewer draw
    screenshot(&b, "print-job").await;

    // The parcel at the pack station: its label, then each mug (by barcode), then the weight;
    // a wrong item in between turns the screen red.
    let label = app
        .order_packages(&m.owner, fahuo_domain::OrderId(first))
        .await
        .unwrap()
        .into_iter()
        .find_map(|p| p.tracking_no)
        .expect("the first order's label number");
    assert!(numbers.contains(&label), "the job page lists {label}");
    b.goto(&format!("{}/pack", s.base)).await.unwrap();
    scan(&b, &label).await;
    wait_for(&b, "#pack-items tr[data-sku-code='MUG-350']").await;
    scan(&b, "6900000000000").await;
    let status = wait_for(&b, "#pack-status").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !status
        .attr("class")
        .await
        .unwrap()
        .unwrap_or_default()
        .contains("error")
    {
        assert!(Instant::now() < deadline, "a wrong item is not refused");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    screenshot(&b, "pack-wrong-item").await;
    // The two orders went to one receiver: fahuo merged them into one parcel of three mugs.
    for _ in 0..3 {
        scan(&b, "6901234567892").await;
    }
    let weight = wait_for(&b, "#weight").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.active_element().await.unwrap().attr("id").await.unwrap() != Some("weight".into()) {
        assert!(
            Instant::now() < deadline,
            "the weight field takes the focus once every item is scanned"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    weight.send_keys("1145\u{E007}").await.unwrap();
    wait_for(&b, "#pack-next").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !status
        .attr("class")
        .await
        .unwrap()
        .unwrap_or_default()
        .contains("ok")
    {
        assert!(Instant::now() < deadline, "the parcel does not close");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    screenshot(&b, "pack-closed").await;
    let packed = app
        .order_packages(&m.owner, fahuo_domain::OrderId(first))
        .await
        .unwrap();
    assert!(
        packed.iter().all(|p| p.state == "packed"),
        "the parcel is packed: {packed:?}"
    );
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_file_is_previewed_then_applied() {
    let (s, app) = start(TestDb::sqlite().await).await;
    let m = merchant(&s, &app, "杭州小店", "alice").await;
    let d = driver().await;
    let b = browser(&d).await;
    log_in(&b, &s, "alice", "owner-password").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("订单.csv");
    std::fs::write(&file, import_csv("IMP-77")).unwrap();

    b.goto(&format!("{}/imports", s.base)).await.unwrap();
    wait_for(&b, "#order-file")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    wait_for(&b, "#order-preview-button")
        .await
        .click()
        .await
        .unwrap();
    wait_text(&b, "#order-result", "IMP-77").await;
    screenshot(&b, "import-preview").await;
    let (_, found) = call(
        &client(),
        Method::GET,
        format!("{}/api/v1/orders?q=IMP-77", s.base),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(found["items"], json!([]), "a preview creates nothing");

    let apply = wait_for(&b, "#order-apply-button").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !apply.is_enabled().await.unwrap() {
        assert!(
            Instant::now() < deadline,
            "apply stays disabled after a good preview"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    apply.click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        b.goto(&format!("{}/orders?q=IMP-77", s.base))
            .await
            .unwrap();
        if text_of(&b, "main").await.contains("IMP-77") {
            break;
        }
        assert!(Instant::now() < deadline, "the applied file made no order");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    screenshot(&b, "import-applied").await;
    b.close().await.unwrap();
}
