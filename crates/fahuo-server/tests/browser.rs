//! The console in a real browser: Debian's headless Chromium driven over WebDriver
//! (chromedriver), against a server on a real database. Each test saves screenshots under
//! `target/browser-screenshots/` for a person to look at.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (packages `chromium` and
//! `chromium-driver`; `scripts/test` installs them). The browser runs at 1280×800, the smallest
//! desk screen the console is made for, and one test at 800×1280 (a 10" tablet in portrait at
//! the pack bench). Where a click starts work that a node's jobs finish (syncs, write-backs,
//! platform decisions), the test runs those jobs in the background as `fahuo serve` does.
//! These tests run on SQLite only: what they check is the console in the browser, and every
//! storage behaviour under it has its own test on both databases.

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

/// A fresh headless Chromium (its own profile: no cookies shared between browsers) whose page
/// is 1280×800.
async fn browser(d: &Driver) -> Browser {
    browser_sized(d, 1280, 800).await
}

/// A fresh headless Chromium whose page (not its window) is `width`×`height`.
async fn browser_sized(d: &Driver, page_width: u64, page_height: u64) -> Browser {
    fahuo_platforms::install_tls_provider();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                format!("--window-size={page_width},{page_height}"), "--lang=zh-CN", "--hide-scrollbars",
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
    // The page itself gets its size, whatever the window's own frame takes.
    let (width, height) = b.get_window_size().await.unwrap();
    let inner = b
        .execute("return [window.innerWidth, window.innerHeight]", vec![])
        .await
        .unwrap();
    let frame = |outer: u64, i: usize| outer.saturating_sub(inner[i].as_u64().unwrap_or(outer));
    b.set_window_size(
        (page_width + frame(width, 0)) as u32,
        (page_height + frame(height, 1)) as u32,
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

/// The element's text; found again if the page reloaded under it (forms reload the page).
async fn text_of(b: &Browser, css: &str) -> String {
    for _ in 0..50 {
        if let Ok(text) = wait_for(b, css).await.text().await {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} kept going stale");
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
    confirm(&b).await;

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

async fn click(b: &Browser, css: &str) {
    wait_for(b, css).await.click().await.unwrap();
}

/// Types `text` into a field, replacing what it held.
async fn fill(b: &Browser, css: &str, text: &str) {
    let field = wait_for(b, css).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Clicks a form's submit button and waits for the page to reload (what a saved form does).
async fn submit(b: &Browser, css: &str) {
    b.execute("window.beforeSubmit = true", vec![])
        .await
        .unwrap();
    click(b, css).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let same = b
            .execute("return window.beforeSubmit === true", vec![])
            .await
            .map(|v| v == json!(true))
            .unwrap_or(true);
        if !same && b.find(Locator::Css("main")).await.is_ok() {
            return;
        }
        let error = b
            .execute(
                "var e = document.querySelector('[data-api-error]:not([hidden])'); return e ? e.textContent : ''",
                vec![],
            )
            .await
            .unwrap_or_default();
        assert!(
            error.as_str().unwrap_or_default().is_empty(),
            "{css} was refused: {error}"
        );
        assert!(Instant::now() < deadline, "{css} did not reload the page");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Opens `url` again and again (up to 20 s) until the element's text contains `needle`:
/// for what changes on the server after the click (jobs, reloads).
async fn reload_until(b: &Browser, url: &str, css: &str, needle: &str) -> String {
    reload_until_any(b, url, css, &[needle]).await
}

/// As `reload_until`, for any one of `needles`.
async fn reload_until_any(b: &Browser, url: &str, css: &str, needles: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        b.goto(url).await.unwrap();
        let text = text_of(b, css).await;
        if needles.iter().any(|n| text.contains(n)) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{url}: {css} never said any of {needles:?}: {text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits (up to 10 s) until the element's text no longer equals `before`.
async fn wait_change(b: &Browser, css: &str, before: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = match b.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if !now.is_empty() && now != before {
            return now;
        }
        assert!(Instant::now() < deadline, "{css} still says {before:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Accepts the page's confirmation dialog (up to 10 s).
async fn confirm(b: &Browser) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.accept_alert().await.is_err() {
        assert!(Instant::now() < deadline, "no confirmation asked");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The jobs of a `fahuo serve` node (shop syncs, write-backs, file imports, after-sale decisions) running
/// in the background while the browser clicks; stopped when dropped.
struct Node(tokio::task::JoinHandle<()>);

impl Drop for Node {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn node(app: &App) -> Node {
    use fahuo_app::{aftersales, batch, intake, jobs::JobRunner, shipping};
    let every = chrono::Duration::minutes(10);
    let runner = JobRunner::new(app.clone(), "browser");
    let runner = aftersales::register(
        shipping::register(batch::register(intake::register(runner, every))),
        every,
    );
    Node(tokio::spawn(async move {
        loop {
            let _ = runner.run_once().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tracking_number_file_ships_its_orders() {
    let (s, app) = start(TestDb::sqlite().await).await;
    let m = merchant(&s, &app, "杭州小店", "alice").await;
    let (status, body) = call(
        &client(),
        Method::POST,
        format!("{}/api/v1/orders/{}/approve", s.base, m.order),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let _node = node(&app);
    let d = driver().await;
    let b = browser(&d).await;
    log_in(&b, &s, "alice", "owner-password").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("单号.csv");
    std::fs::write(
        &file,
        "订单编号,物流公司,运单号\r\nM1,顺丰速运,SF1385628800001\r\nNOPE-1,顺丰速运,SF1385628800002\r\n",
    )
    .unwrap();

    b.goto(&format!("{}/imports", s.base)).await.unwrap();
    wait_for(&b, "#shipment-file")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    click(&b, "#shipment-preview-button").await;
    // The preview: M1 is ready, the unknown order is marked with its reason.
    let preview = wait_text(&b, "#shipment-result", "NOPE-1").await;
    assert!(
        preview.contains("M1") && preview.contains("SF1385628800001"),
        "{preview}"
    );
    wait_for(&b, "#shipment-result tr.bad").await;
    screenshot(&b, "shipment-import-preview").await;
    let (_, found) = call(
        &client(),
        Method::GET,
        format!("{}/api/v1/orders/{}", s.base, m.order),
        Some(&m.token),
        None,
    )
    .await;
    assert_ne!(
        found["order"]["state"], "shipped",
        "a preview ships nothing"
    );

    let apply = wait_for(&b, "#shipment-apply-button").await;
    assert!(apply.is_enabled().await.unwrap(), "one row is ready");
    apply.click().await.unwrap();
    // The page follows the import until it is applied, then offers the result file.
    let deadline = Instant::now() + Duration::from_secs(20);
    while wait_for(&b, "#shipment-result")
        .await
        .attr("data-state")
        .await
        .unwrap()
        != Some("applied".into())
    {
        assert!(Instant::now() < deadline, "the import was never applied");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for(&b, "#shipment-result a[href$='/result']").await;
    // Once the platform has the number, the row and the summary say so in Chinese.
    let applied = wait_text(&b, "#shipment-result", "平台已确认").await;
    assert!(!applied.contains("succeeded"), "{applied}");
    screenshot(&b, "shipment-import-applied").await;

    let rows = reload_until(
        &b,
        &format!("{}/orders?q=M1", s.base),
        "table.orders tbody",
        "已发货",
    )
    .await;
    assert!(rows.contains("M1"), "{rows}");
    screenshot(&b, "shipment-import-orders-shipped").await;
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_receiver_is_revealed_on_the_order_page_and_the_reveal_is_audited() {
    let (s, app) = start(TestDb::sqlite().await).await;
    let m = merchant(&s, &app, "杭州小店", "alice").await;
    let d = driver().await;
    let b = browser(&d).await;
    log_in(&b, &s, "alice", "owner-password").await;

    b.goto(&format!("{}/orders/{}", s.base, m.order))
        .await
        .unwrap();
    let masked = text_of(&b, "#receiver [data-field='phone']").await;
    assert!(!masked.contains("13812345678"), "masked at first: {masked}");
    assert!(masked.contains('*'), "{masked}");
    screenshot(&b, "order-receiver-masked").await;
    click(&b, "#reveal-receiver").await;
    let phone = wait_text(&b, "#receiver [data-field='phone']", "13812345678").await;
    assert_eq!(phone, "13812345678");
    assert!(
        text_of(&b, "#receiver [data-field='address']")
            .await
            .contains("文三路90号"),
        "the full address too"
    );
    assert!(
        !wait_for(&b, "#reveal-receiver")
            .await
            .is_displayed()
            .await
            .unwrap(),
        "the button goes once used"
    );
    screenshot(&b, "order-receiver-revealed").await;

    b.goto(&format!("{}/audit", s.base)).await.unwrap();
    let audit = text_of(&b, "#audit-list tbody").await;
    assert!(
        audit.contains("收件人·查看明文"),
        "the reveal is in the audit log: {audit}"
    );
    assert!(audit.contains("alice"), "with who did it: {audit}");
    assert!(
        !audit.contains("13812345678"),
        "the log keeps no phone: {audit}"
    );
    screenshot(&b, "audit-reveal").await;
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invited_warehouse_worker_joins_and_sees_only_the_warehouse_pages() {
    let (s, app) = start(TestDb::sqlite().await).await;
    let m = merchant(&s, &app, "杭州小店", "alice").await;
    let d = driver().await;
    let owner = browser(&d).await;
    log_in(&owner, &s, "alice", "owner-password").await;

    owner.goto(&format!("{}/accounts", s.base)).await.unwrap();
    wait_for(&owner, "#invite-form select[name=role]")
        .await
        .select_by_value("warehouse")
        .await
        .unwrap();
    // Only the 杭州仓 warehouse, not every one.
    let all = wait_for(&owner, "#invite-form input[name='all_warehouses']").await;
    if all.is_selected().await.unwrap() {
        all.click().await.unwrap();
    }
    click(
        &owner,
        &format!(
            "#invite-form input[name='warehouses[]'][value='{}']",
            m.warehouse
        ),
    )
    .await;
    fill(&owner, "#invite-form input[name=note]", "杭州仓打包").await;
    click(&owner, "#invite-form button[type=submit]").await;
    let link = wait_for(&owner, "#invite-link").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let url = loop {
        let v = link.prop("value").await.unwrap().unwrap_or_default();
        if !v.is_empty() {
            break v;
        }
        assert!(Instant::now() < deadline, "no invitation link shown");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(url.starts_with(&format!("{}/invite/", s.base)), "{url}");
    // The pending list shows it without losing the link from the page.
    let pending = wait_text(&owner, "#invites-list tbody", "杭州仓打包").await;
    assert!(pending.contains("仓库"), "{pending}");
    screenshot(&owner, "invite-created").await;

    // A second browser: no cookies of the owner's.
    let invited = browser(&d).await;
    invited.goto(&url).await.unwrap();
    let role = text_of(&invited, "#invite [data-role]").await;
    assert_eq!(role, "仓库");
    fill(&invited, "#accept-form input[name=username]", "cangku2").await;
    fill(&invited, "#accept-form input[name=display_name]", "小王").await;
    fill(
        &invited,
        "#accept-form input[name=password]",
        "packing-pass-1",
    )
    .await;
    fill(
        &invited,
        "#accept-form input[name=password_again]",
        "packing-pass-1",
    )
    .await;
    screenshot(&invited, "invite-form").await;
    click(&invited, "#accept-form button[type=submit]").await;
    // Accepted: logged in at once, in the console.
    let nav = text_of(&invited, "header.top nav").await;
    assert!(nav.contains("验货") && nav.contains("打单"), "{nav}");
    for hidden in ["报表", "设置", "子账号", "售后"] {
        assert!(
            !nav.contains(hidden),
            "a warehouse role is not shown {hidden}: {nav}"
        );
    }
    screenshot(&invited, "invite-logged-in").await;

    // The owner's list shows the invitation used and the new account.
    owner.goto(&format!("{}/accounts", s.base)).await.unwrap();
    assert!(text_of(&owner, "main").await.contains("cangku2"));
    assert!(
        !text_of(&owner, "#invites-list")
            .await
            .contains("杭州仓打包"),
        "a used invitation is no longer pending"
    );
    invited.close().await.unwrap();
    owner.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn each_settings_section_saves_through_its_form() {
    let (s, app) = start(TestDb::sqlite().await).await;
    let m = shipping_merchant(&app, "杭州小店", "alice").await;
    let info = m.sim.info();
    let _node = node(&app);
    let d = driver().await;
    let b = browser(&d).await;
    log_in(&b, &s, "alice", "owner-password").await;

    // 店铺: a WeChat shop is connected through the form, then synced from its row.
    b.goto(&format!("{}/settings/shops", s.base)).await.unwrap();
    let form = "#settings-form-shops";
    wait_for(&b, &format!("{form} select[name=platform]"))
        .await
        .select_by_value("wechat")
        .await
        .unwrap();
    fill(&b, &format!("{form} input[name=name]"), "微信小店").await;
    fill(
        &b,
        &format!("{form} input[name=platform_shop_id]"),
        &info.wechat.appid,
    )
    .await;
    fill(
        &b,
        &format!("{form} input[name=api_base_url]"),
        &info.wechat_base_url,
    )
    .await;
    fill(
        &b,
        &format!("{form} input[name='credentials.app_key']"),
        &info.wechat.appid,
    )
    .await;
    fill(
        &b,
        &format!("{form} input[name='credentials.app_secret']"),
        &info.wechat.secret,
    )
    .await;
    submit(&b, &format!("{form} button[type=submit]")).await;
    let shops = wait_text(&b, "#shops-list", "微信小店").await;
    assert!(shops.contains(&info.wechat.appid), "{shops}");
    submit(&b, "#shops-list form[id^='shop-sync-'] button").await;
    // The sync runs as a job: the row turns 已授权 with the orders it pulled.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let row = b
            .execute(
                "var r = document.querySelector(\"#shops-list tr:has(form[id^='shop-sync-'])\");
                 return [Number(r.querySelector('td.num').textContent), r.querySelector('[data-status]').dataset.status]",
                vec![],
            )
            .await
            .unwrap();
        if row[0].as_i64().unwrap_or(0) > 0 && row[1] == "ok" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sync never finished: {}",
            text_of(&b, "#shops-list").await
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        b.refresh().await.unwrap();
    }
    screenshot(&b, "settings-shops-synced").await;

    // 面单账号: a second ZTO account bound through the form.
    b.goto(&format!("{}/settings/carriers", s.base))
        .await
        .unwrap();
    let form = "#settings-form-carriers";
    fill(&b, &format!("{form} input[name=name]"), "中通 备用").await;
    wait_for(&b, &format!("{form} select[name=service]"))
        .await
        .select_by_value("kdniao")
        .await
        .unwrap();
    fill(&b, &format!("{form} input[name=carrier]"), "ZTO").await;
    fill(
        &b,
        &format!("{form} input[name=base_url]"),
        &info.kdniao_base_url,
    )
    .await;
    fill(&b, &format!("{form} input[name=sender_name]"), "杭州仓").await;
    fill(
        &b,
        &format!("{form} input[name=sender_phone]"),
        "13900001111",
    )
    .await;
    let kd = info
        .kdniao
        .accounts
        .iter()
        .find(|a| a.shipper_code == "ZTO")
        .unwrap();
    fill(
        &b,
        &format!("{form} input[name='credentials.api_key']"),
        &info.kdniao.ebusiness_id,
    )
    .await;
    fill(
        &b,
        &format!("{form} input[name='credentials.api_secret']"),
        &info.kdniao.app_key,
    )
    .await;
    fill(
        &b,
        &format!("{form} input[name='credentials.account']"),
        &kd.customer_name,
    )
    .await;
    fill(
        &b,
        &format!("{form} input[name='credentials.account_secret']"),
        &kd.customer_pwd,
    )
    .await;
    submit(&b, &format!("{form} button[type=submit]")).await;
    // The page reloaded from the server: the new account is in the list.
    wait_text(&b, "#carriers-list", "中通 备用").await;
    b.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
    screenshot(&b, "settings-carriers-bound").await;

    // 规则: a seller-note flag saved; the warehouse's carrier rules tried (what-if), then saved.
    b.goto(&format!("{}/settings/rules", s.base)).await.unwrap();
    fill(
        &b,
        "#settings-form-rules input[name=seller_note_flags]",
        "勿发, 等通知",
    )
    .await;
    submit(&b, "#settings-form-rules button[type=submit]").await;
    let rules = serde_json::to_string_pretty(&rule_set()).unwrap();
    let textarea = "#settings-form-carrier-rules textarea[name=rules]";
    wait_for(&b, textarea).await;
    b.execute(
        "document.querySelector(arguments[0]).value = arguments[1]",
        vec![json!(textarea), json!(rules)],
    )
    .await
    .unwrap();
    click(&b, "#carrier-what-if").await;
    let what_if = wait_text(&b, "#what-if-result", "¥").await;
    assert!(what_if.contains("比较"), "{what_if}");
    b.execute(
        "document.getElementById('what-if-result').scrollIntoView({block: 'center'})",
        vec![],
    )
    .await
    .unwrap();
    screenshot(&b, "settings-rules-what-if").await;
    submit(&b, "#settings-form-carrier-rules button[type=submit]").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        b.goto(&format!("{}/settings/rules", s.base)).await.unwrap();
        let flags = wait_for(&b, "#settings-form-rules input[name=seller_note_flags]")
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default();
        let saved = wait_for(&b, textarea)
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default();
        if flags.contains("等通知") && saved.contains("\"SF\"") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "rules not saved: {flags:?} {saved}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    screenshot(&b, "settings-rules-saved").await;

    // 仓库: a second warehouse.
    b.goto(&format!("{}/settings/warehouses", s.base))
        .await
        .unwrap();
    let form = "#settings-form-warehouses";
    fill(&b, &format!("{form} input[name=code]"), "GZ01").await;
    fill(&b, &format!("{form} input[name=name]"), "广州仓").await;
    fill(&b, &format!("{form} input[name=province]"), "广东省").await;
    fill(&b, &format!("{form} input[name=city]"), "广州市").await;
    fill(&b, &format!("{form} input[name=county]"), "白云区").await;
    fill(&b, &format!("{form} input[name=address]"), "太和镇1号").await;
    submit(&b, &format!("{form} button[type=submit]")).await;
    let list = wait_text(&b, "#warehouses-list", "广州仓").await;
    assert!(list.contains("GZ01"), "{list}");
    b.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
    screenshot(&b, "settings-warehouses-created").await;

    // 商品: the mug's tags, and a platform SKU mapped to it.
    b.goto(&format!("{}/settings/skus", s.base)).await.unwrap();
    let tags = "form[id^='sku-tags-'] input[name=tags]";
    fill(&b, tags, "易碎, 热销").await;
    submit(&b, "form[id^='sku-tags-'] button[type=submit]").await;
    let form = "#settings-form-sku-mappings";
    fill(
        &b,
        &format!("{form} input[name=platform_sku_id]"),
        "WX-SKU-350",
    )
    .await;
    submit(&b, &format!("{form} button[type=submit]")).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        b.goto(&format!("{}/settings/skus", s.base)).await.unwrap();
        let saved = wait_for(&b, tags)
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default();
        let mappings = text_of(&b, "#sku-mappings-list").await;
        if saved == "易碎, 热销" && mappings.contains("WX-SKU-350") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "SKU settings not saved: {saved:?} {mappings}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    screenshot(&b, "settings-skus-saved").await;

    // 供应商: a supplier added, then its link for the supplier's page.
    b.goto(&format!("{}/settings/suppliers", s.base))
        .await
        .unwrap();
    fill(&b, "#settings-form-suppliers input[name=name]", "义乌杯厂").await;
    fill(&b, "#settings-form-suppliers input[name=contact]", "王经理").await;
    submit(&b, "#settings-form-suppliers button[type=submit]").await;
    wait_text(&b, "#suppliers-list", "义乌杯厂").await;
    // Its row's editor: the mug is the supplier's to ship.
    click(&b, "#suppliers-list details summary").await;
    click(&b, "form[id^='supplier-skus-'] input[name='sku_ids[]']").await;
    submit(&b, "form[id^='supplier-skus-'] button[type=submit]").await;
    let row = text_of(&b, "#suppliers-list tr[data-supplier-id]").await;
    assert!(row.contains("马克杯"), "the supplier's SKUs show: {row}");
    click(&b, "#suppliers-list details summary").await;
    click(&b, "form[id^='supplier-link-'] button[type=submit]").await;
    let link = wait_text(&b, "form[id^='supplier-link-'] output", "/supplier/").await;
    screenshot(&b, "settings-suppliers-link").await;
    b.goto(&link).await.unwrap();
    assert!(
        text_of(&b, "body").await.contains("义乌杯厂"),
        "the link opens the supplier's page"
    );

    // 模板: the shipped notice's text.
    b.goto(&format!("{}/settings/templates", s.base))
        .await
        .unwrap();
    let text = "#settings-form-templates textarea[name=shipped_template]";
    fill(&b, text, "您的订单 {order_no} 已由{carrier}发出").await;
    submit(&b, "#settings-form-templates button[type=submit]").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        b.goto(&format!("{}/settings/templates", s.base))
            .await
            .unwrap();
        let saved = wait_for(&b, text)
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default();
        if saved.contains("已由{carrier}发出") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the template was not saved: {saved:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    screenshot(&b, "settings-templates-saved").await;
    b.close().await.unwrap();
}

/// Asserts the page is no wider than the window (no sideways scrolling on a tablet); when it
/// is, names the outermost elements that stick out.
async fn assert_fits(b: &Browser, what: &str) {
    let v = b
        .execute(
            r##"var w = window.innerWidth, out = [];
            document.querySelectorAll("body *").forEach(function (el) {
              var r = el.getBoundingClientRect();
              if (r.right > w + 0.5 && !(el.parentElement && el.parentElement.getBoundingClientRect().right > w + 0.5)) {
                out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "") + " → " + Math.round(r.right));
              }
            });
            return [document.documentElement.scrollWidth, w, out.slice(0, 8)]"##,
            vec![],
        )
        .await
        .unwrap();
    let (scroll, inner) = (v[0].as_i64().unwrap(), v[1].as_i64().unwrap());
    assert!(
        scroll <= inner,
        "{what} is {scroll}px wide in an {inner}px window: {}",
        v[2]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_fits_a_ten_inch_tablet_in_portrait() {
    let (s, app) = start(TestDb::sqlite().await).await;
    let m = shipping_merchant(&app, "杭州小店", "alice").await;
    let first = approved_order(&app, &m, "TAB-1", 2).await;
    approved_order(&app, &m, "TAB-2", 1).await;
    let printed = app
        .print_labels(
            &m.owner,
            &fahuo_app::printing::PrintRequest {
                order_ids: vec![fahuo_domain::OrderId(first)],
                size: None,
                reason: None,
            },
            None,
        )
        .await
        .unwrap();
    let _ = printed;
    let label = app
        .order_packages(&m.owner, fahuo_domain::OrderId(first))
        .await
        .unwrap()
        .into_iter()
        .find_map(|p| p.tracking_no)
        .expect("a label number");
    let d = driver().await;
    let b = browser_sized(&d, 800, 1280).await;
    b.goto(&format!("{}/login", s.base)).await.unwrap();
    let size = b
        .execute("return [window.innerWidth, window.innerHeight]", vec![])
        .await
        .unwrap();
    assert_eq!(size, json!([800, 1280]), "the page is 800×1280");
    log_in(&b, &s, "alice", "owner-password").await;

    for path in ["/orders", "/printing", "/after-sales", "/settings", "/pack"] {
        b.goto(&format!("{}{path}", s.base)).await.unwrap();
        wait_for(&b, "main").await;
        assert_fits(&b, path).await;
        screenshot(&b, &format!("tablet{}", path.replace('/', "-"))).await;
    }
    b.goto(&format!("{}/orders", s.base)).await.unwrap();
    wait_for(&b, "table.orders tbody tr[data-order-id]").await;
    screenshot(&b, "tablet-orders").await;

    // The station with a parcel open, one mug of two scanned.
    b.goto(&format!("{}/pack", s.base)).await.unwrap();
    scan(&b, &label).await;
    wait_for(&b, "#pack-items tr[data-sku-code='MUG-350']").await;
    scan(&b, "6901234567892").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_fits(&b, "the open parcel").await;
    screenshot(&b, "tablet-pack").await;
    b.close().await.unwrap();
}

/// A small real PNG (`width`×`height`, one colour), as a phone's photo would be a real image.
fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    // Rows of filter byte 0 then RGB pixels, in one stored (uncompressed) zlib block.
    let row: Vec<u8> = std::iter::once(0)
        .chain(rgb.iter().copied().cycle().take(3 * width as usize))
        .collect();
    let raw = row.repeat(height as usize);
    assert!(raw.len() < 65_535, "one stored block");
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + x as u32) % 65_521;
        b = (b + a) % 65_521;
    }
    let mut zlib = vec![0x78, 0x01, 0x01];
    zlib.extend_from_slice(&(raw.len() as u16).to_le_bytes());
    zlib.extend_from_slice(&(!(raw.len() as u16)).to_le_bytes());
    zlib.extend_from_slice(&raw);
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A kdniao courier-pickup double (booking 1001, cancel 1004): the carrier's side of a
/// return pickup, which the emulator does not play.
async fn pickup_double() -> String {
    async fn handle(axum::extract::Form(f): axum::extract::Form<Vec<(String, String)>>) -> String {
        let get = |k: &str| {
            f.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let data: Value = serde_json::from_str(&get("RequestData")).unwrap_or_default();
        let code = data["OrderCode"].as_str().unwrap_or_default().to_string();
        match get("RequestType").as_str() {
            "1001" => json!({
                "Success": true, "ResultCode": "100",
                "Order": {"OrderCode": code, "KDNOrderCode": format!("KDN{code}"), "LogisticCode": "73100000000001"}
            })
            .to_string(),
            "1004" => json!({"Success": true, "ResultCode": "100"}).to_string(),
            other => json!({"Success": false, "Reason": format!("type {other}")}).to_string(),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new().route("/api/OOrderService", axum::routing::post(handle));
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

/// A merchant selling on the WeChat Shop emulator: its synced single-line orders approved,
/// stock for them in 杭州仓, and a kdniao tracking account that books pickups.
struct AfterSalesShop {
    m: ShippingMerchant,
    /// The WeChat Shop emulator with a day of orders (the merchant's own runs the waybills).
    sim: fahuo_sim::SimHandle,
    wechat: fahuo_domain::ShopId,
    orders: Vec<fahuo_domain::OrderId>,
}

async fn after_sales_shop(app: &App) -> AfterSalesShop {
    use fahuo_app::catalog::{CredentialsInput, ShopInput, SkuInput, StockMovementInput};
    let m = shipping_merchant(app, "杭州小店", "alice").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = fahuo_sim::start(fahuo_sim::SimConfig::new(57, 14), listener).unwrap();
    let info = sim.info();
    let shop = app
        .create_shop(
            &m.owner,
            &ShopInput {
                platform: "wechat".into(),
                name: "微信小店".into(),
                platform_shop_id: info.wechat.appid.clone(),
                api_base_url: Some(info.wechat_base_url.clone()),
                credentials: Some(CredentialsInput {
                    app_key: info.wechat.appid.clone(),
                    app_secret: info.wechat.secret.clone(),
                    ..Default::default()
                }),
            },
        )
        .await
        .unwrap();
    app.sync_shop(m.tenant, shop.id).await.unwrap();
    let listed = app
        .store()
        .orders(
            m.tenant,
            &fahuo_store::orders::OrderFilter {
                shop_id: Some(shop.id),
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut codes = std::collections::BTreeSet::new();
    let mut orders = Vec::new();
    for o in listed.items {
        let shippable = sim.order(&o.platform_order_id).unwrap().shippable();
        let full = app.store().order(m.tenant, o.id).await.unwrap();
        if shippable
            && o.state == fahuo_domain::OrderState::New
            && full.lines.len() == 1
            && let Some(code) = full.lines[0].sku_code.clone()
        {
            codes.insert(code.as_str().to_string());
            orders.push(o.id);
        }
    }
    for code in &codes {
        let sku = app
            .create_sku(
                &m.owner,
                &SkuInput {
                    code: code.clone(),
                    name: code.clone(),
                    barcode: None,
                    weight_g: 300,
                    length_mm: 0,
                    width_mm: 0,
                    height_mm: 0,
                    cost_fen: 0,
                },
            )
            .await
            .unwrap();
        app.move_stock(
            &m.owner,
            &StockMovementInput {
                warehouse_id: m.warehouse.get(),
                sku_id: sku.id.get(),
                kind: "inbound".into(),
                quantity: 100,
                note: None,
            },
        )
        .await
        .unwrap();
    }
    for id in &orders {
        app.approve_order(&m.owner, *id).await.unwrap();
    }
    assert!(orders.len() >= 2, "the emulator has single-line orders");
    app.create_tracking_account(
        &m.owner,
        fahuo_app::tracking::TrackingAccountInput {
            name: "快递鸟".into(),
            service: "kdniao".into(),
            base_url: pickup_double().await,
            customer: "EB100".into(),
            key: "secret".into(),
            poll_hours: None,
        },
    )
    .await
    .unwrap();
    AfterSalesShop {
        m,
        sim,
        wechat: shop.id,
        orders,
    }
}

impl AfterSalesShop {
    async fn number(&self, app: &App, id: fahuo_domain::OrderId) -> String {
        let o = app.store().order(self.m.tenant, id).await.unwrap();
        o.platform_order_id.as_str().to_string()
    }

    /// The buyer asks on the platform (the emulator's control hook); fahuo reads it in.
    async fn buyer_asks(
        &self,
        app: &App,
        order: fahuo_domain::OrderId,
        kind: fahuo_sim::aftersale::Kind,
    ) -> (String, i64) {
        let platform_id = self
            .sim
            .open_after_sale(&self.number(app, order).await, kind)
            .expect("the emulator opens the after-sale");
        let id = app
            .sync_after_sale(self.m.tenant, self.wechat, &platform_id)
            .await
            .unwrap()
            .id();
        (platform_id, id.get())
    }
}

const STATUS: &str = "#after-sale h1";

#[tokio::test(flavor = "multi_thread")]
async fn a_return_is_approved_picked_up_and_inspected_with_a_photo_and_a_refund_is_rejected() {
    use fahuo_sim::aftersale::Kind;
    let (s, app) = start(TestDb::sqlite().await).await;
    let w = after_sales_shop(&app).await;
    let shipped = w.orders[0];
    app.ship_order_manually(
        &w.m.owner,
        shipped,
        &fahuo_app::shipping::ManualShipment {
            carrier: "顺丰".into(),
            tracking_no: "SF1385628790001".into(),
            lines: Vec::new(),
        },
    )
    .await
    .unwrap();
    // The write-back reaches the platform before the buyer asks for a return.
    let runner =
        fahuo_app::shipping::register(fahuo_app::jobs::JobRunner::new(app.clone(), "fixture"));
    while runner.run_once().await.unwrap() > 0 {}
    let _node = node(&app);
    let (pid, ret) = w.buyer_asks(&app, shipped, Kind::ReturnRefund).await;
    let d = driver().await;
    let b = browser(&d).await;
    log_in(&b, &s, "alice", "owner-password").await;

    // The list: the request, waiting for the merchant.
    b.goto(&format!("{}/after-sales", s.base)).await.unwrap();
    wait_for(&b, &format!("[data-after-sale-id='{ret}']")).await;
    screenshot(&b, "after-sales-list").await;

    // The return: approved, then (once the platform has it) waiting for the buyer's parcel.
    let page = format!("{}/after-sales/{ret}", s.base);
    b.goto(&page).await.unwrap();
    let before = text_of(&b, STATUS).await;
    assert!(before.contains("待处理"), "{before}");
    screenshot(&b, "after-sale-requested").await;
    submit(&b, "#after-sale-actions [data-action='approve']").await;
    // The decision goes to the platform as a job; the status follows once it has it.
    reload_until(&b, &page, STATUS, "待买家退货").await;

    // A courier pickup from the buyer in a two-hour slot tomorrow.
    wait_for(&b, "#after-sale-actions [data-action='pickup']").await;
    let slot = |hours: i64| {
        (chrono::Local::now() + chrono::Duration::hours(hours))
            .format("%Y-%m-%dT%H:00")
            .to_string()
    };
    for (name, hours) in [("start", 26), ("end", 28)] {
        b.execute(
            "document.querySelector(arguments[0]).value = arguments[1]",
            vec![
                json!(format!("#after-sale-actions input[name={name}]")),
                json!(slot(hours)),
            ],
        )
        .await
        .unwrap();
    }
    let pickup_before = text_of(&b, "main").await;
    assert!(!pickup_before.contains("KDN"), "{pickup_before}");
    submit(&b, "#after-sale-actions [data-action='pickup']").await;
    wait_for(&b, "#after-sale-actions [data-action='cancel-pickup']").await;
    let booked = text_of(&b, "main").await;
    assert!(
        booked.contains("已预约"),
        "the pickup shows booked, in Chinese: {booked}"
    );
    screenshot(&b, "after-sale-pickup-booked").await;

    // The buyer ships it back; the platform reports the return parcel.
    w.sim.advance_clock(31 * 3600);
    app.sync_after_sale(w.m.tenant, w.wechat, &pid)
        .await
        .unwrap();
    let before = reload_until(&b, &page, STATUS, "买家已退货").await;

    // The warehouse inspects it with a photo from the phone.
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("退货.png");
    std::fs::write(&photo, png(64, 48, [200, 40, 40])).unwrap();
    wait_for(&b, "#after-sale-actions select[name=verdict]")
        .await
        .select_by_value("resell")
        .await
        .unwrap();
    fill(&b, "#after-sale-actions input[name=note]", "包装完好").await;
    wait_for(&b, "#after-sale-actions input[type=file][data-photos]")
        .await
        .send_keys(photo.to_str().unwrap())
        .await
        .unwrap();
    wait_for(&b, "#after-sale-actions input[type=hidden][data-photo]").await;
    submit(&b, "#after-sale-actions [data-action='inspect']").await;
    let after = wait_change(&b, STATUS, &before).await;
    assert!(
        after.contains("已收货") || after.contains("已完成"),
        "{after}"
    );
    let img = wait_for(&b, "#inspection .photos img").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while b
        .execute("return arguments[0].naturalWidth", vec![json!(img)])
        .await
        .unwrap()
        != json!(64)
    {
        assert!(Instant::now() < deadline, "the photo does not show");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(text_of(&b, "#inspection").await.contains("包装完好"));
    screenshot(&b, "after-sale-inspected").await;
    reload_until(&b, &page, STATUS, "已完成").await;

    // A refund asked before shipping (after the clock moved, so the buyer has not withdrawn
    // it): rejected with a reason, and the platform takes the rejection.
    let (refund_pid, refund) = w.buyer_asks(&app, w.orders[1], Kind::RefundOnly).await;
    let page = format!("{}/after-sales/{refund}", s.base);
    b.goto(&page).await.unwrap();
    assert!(text_of(&b, STATUS).await.contains("待处理"));
    fill(&b, "#after-sale-actions input[name=reason]", "已与买家协商").await;
    submit(&b, "#after-sale-actions [data-action='reject']").await;
    // Rejected, and closed once the platform has the answer.
    reload_until_any(&b, &page, STATUS, &["已拒绝", "已关闭"]).await;
    assert!(
        text_of(&b, "#after-sale-history")
            .await
            .contains("已与买家协商")
    );
    let history = text_of(&b, "#after-sale-history").await;
    assert!(
        history.contains("拒绝·已提交平台") && !history.contains("reject_"),
        "the history in Chinese: {history}"
    );
    assert!(
        b.find(Locator::Css("#after-sale .error")).await.is_err(),
        "the platform took the rejection: {}",
        text_of(&b, "#after-sale").await
    );
    let rejected = w
        .sim
        .after_sales(Some(fahuo_sim::Platform::Wechat))
        .decisions
        .into_iter()
        .filter(|d| {
            d.after_sale_id == refund_pid
                && d.action == fahuo_sim::aftersale::Action::Reject
                && d.outcome == fahuo_sim::aftersale::DecisionOutcome::Accepted
        })
        .count();
    assert_eq!(
        rejected, 1,
        "the merchant's rejection reached the platform once"
    );
    screenshot(&b, "after-sale-rejected").await;
    b.close().await.unwrap();
}
