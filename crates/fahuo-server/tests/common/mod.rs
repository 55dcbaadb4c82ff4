//! What the server's test files share: a server on a test database over real HTTP, a client
//! with a cookie jar, a merchant with one of everything, and every API route with a body.
#![allow(dead_code)] // each test binary uses a different part

pub use fahuo_app::{App, Settings, SystemClock};
#[allow(unused_imports)] // the browser tests run on SQLite only
pub use fahuo_store::both_backends;
pub use fahuo_store::testing::TestDb;
pub use reqwest::{Client, Method, StatusCode};
pub use serde_json::{Value, json};
use std::sync::Arc;

pub struct Server {
    pub base: String,
    pub _db: TestDb,
}

pub async fn start(db: TestDb) -> (Server, App) {
    start_with(db, Arc::new(SystemClock), Settings::default()).await
}

/// A server whose application runs on `clock` with `settings`.
pub async fn start_with(
    db: TestDb,
    clock: Arc<dyn fahuo_app::Clock>,
    settings: Settings,
) -> (Server, App) {
    let app = App::new(db.store.clone(), clock, settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(fahuo_server::serve(
        app.clone(),
        Default::default(),
        listener,
        std::future::pending(),
    ));
    (Server { base, _db: db }, app)
}

/// A merchant with an owner, a token, a manual shop, a warehouse, a SKU and one order.
pub struct Merchant {
    pub token: String,
    pub shop: i64,
    pub warehouse: i64,
    pub sku: i64,
    pub order: i64,
    pub token_id: i64,
    /// A write-back of a second, approved order (shipped by hand, still pending).
    pub shipment: i64,
    /// A dropship supplier.
    pub supplier: i64,
    /// A carrier claim (理赔) on the shipped order: an after-sale.
    pub after_sale: i64,
    /// A tracking account (快递100), and the parcel of the shipped order once accepted.
    pub tracking_account: i64,
    pub parcel: i64,
}

pub fn client() -> Client {
    fahuo_platforms::install_tls_provider();
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn call(
    c: &Client,
    method: Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = c.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = with_body(req, b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// `s` percent-encoded whole (every byte but ASCII letters and digits), for a URL path segment
/// or a query value.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A JSON body, or for a JSON string the raw text of a CSV file (the order import takes the
/// file itself as the body; no JSON route takes a bare string).
pub fn with_body(req: reqwest::RequestBuilder, body: Value) -> reqwest::RequestBuilder {
    match body {
        Value::String(csv) => req.header("content-type", "text/csv").body(csv),
        other => req.json(&other),
    }
}

pub async fn merchant(s: &Server, app: &App, name: &str, owner: &str) -> Merchant {
    let tenant = app
        .create_tenant(&fahuo_domain::Name::parse(name).unwrap())
        .await
        .unwrap();
    let cli = fahuo_app::Actor::cli(tenant.id);
    app.add_user(
        &cli,
        fahuo_app::users::UserInput {
            username: fahuo_domain::Username::parse(owner).unwrap(),
            display_name: String::new(),
            role: fahuo_domain::Role::Owner,
            password: fahuo_app::auth::Password::parse("owner-password").unwrap(),
        },
    )
    .await
    .unwrap();
    let c = client();
    let (status, login) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/auth/login", s.base),
        None,
        Some(json!({"username": owner, "password": "owner-password"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let csrf = login["csrf_token"].as_str().unwrap().to_string();
    let created = c
        .post(format!("{}/api/v1/tokens", s.base))
        .header("x-csrf-token", &csrf)
        .json(&json!({"name": "ERP"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let token = created["secret"].as_str().unwrap().to_string();
    let t = Some(token.as_str());
    let (_, shop) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/shops", s.base),
        t,
        Some(json!({"platform": "manual", "name": "线下", "platform_shop_id": "offline"})),
    )
    .await;
    let (_, warehouse) = call(&c, Method::POST, format!("{}/api/v1/warehouses", s.base), t, Some(json!({"code": "HZ01", "name": "杭州仓", "province": "浙江省", "city": "杭州市", "county": "余杭区", "address": "仓前街道1号"}))).await;
    let (_, sku) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/skus", s.base),
        t,
        Some(json!({"code": "MUG", "name": "马克杯", "weight_g": 380})),
    )
    .await;
    let (status, order) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/orders", s.base),
        t,
        Some(order_body(shop["id"].as_i64().unwrap(), "M1")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let (_, shipped) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/orders", s.base),
        t,
        Some(order_body(shop["id"].as_i64().unwrap(), "M2")),
    )
    .await;
    let shipped = shipped["order"]["id"].as_i64().unwrap();
    let (status, body) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/orders/{shipped}/approve", s.base),
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, shipment) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/orders/{shipped}/shipments", s.base),
        t,
        Some(json!({"carrier": "顺丰", "tracking_no": format!("SF{:013}", 1_385_628_716_739i64 + shipped)})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    let (status, supplier) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/suppliers", s.base),
        t,
        Some(json!({"name": "义乌杯厂", "contact": "王经理"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{supplier}");
    let (status, claim) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/after-sales/claims", s.base),
        t,
        Some(json!({"tracking_no": format!("SF{:013}", 1_385_628_716_739i64 + shipped), "carrier": "SF", "order_id": shipped, "claimed_fen": 3900, "note": "破损"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{claim}");
    let (status, account) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/tracking-accounts", s.base),
        t,
        Some(json!({"name": "快递100", "service": "kuaidi100", "base_url": "http://127.0.0.1:9", "customer": "C1", "key": "K1"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{account}");
    // The manual shop's write-back is accepted at once; its parcel is then followed.
    let runner =
        fahuo_app::shipping::register(fahuo_app::jobs::JobRunner::new(app.clone(), "fixture"));
    while runner.run_once().await.unwrap() > 0 {}
    app.store().open_parcels(app.now()).await.unwrap();
    let number = format!("SF{:013}", 1_385_628_716_739i64 + shipped);
    let (status, parcels) = call(
        &c,
        Method::GET,
        format!("{}/api/v1/parcels?tracking_no={number}", s.base),
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{parcels}");
    Merchant {
        tracking_account: account["id"].as_i64().unwrap(),
        parcel: parcels[0]["id"]
            .as_i64()
            .expect("a parcel for the accepted write-back"),
        after_sale: claim["after_sale"]["id"].as_i64().unwrap(),
        supplier: supplier["id"].as_i64().unwrap(),
        shipment: shipment["id"].as_i64().unwrap(),
        token,
        shop: shop["id"].as_i64().unwrap(),
        warehouse: warehouse["id"].as_i64().unwrap(),
        sku: sku["id"].as_i64().unwrap(),
        order: order["order"]["id"].as_i64().unwrap(),
        token_id: created["token"]["id"].as_i64().unwrap(),
    }
}

pub fn order_body(shop: i64, number: &str) -> Value {
    json!({
        "shop_id": shop,
        "platform_order_id": number,
        "receiver": {"name": "张三", "phone": "13812345678", "province": "浙江省", "city": "杭州市", "county": "西湖区", "detail": "文三路90号"},
        "lines": [{"sku_code": "MUG", "title": "马克杯", "quantity": 1, "unit_price_fen": 3900}]
    })
}

/// A one-order import file (its receiver is not A's usual one, so a leak check stays exact).
pub fn import_csv(number: &str) -> String {
    format!(
        "订单号,收件人,手机,省,市,区,详细地址,商品名称,商家编码,数量,单价\n\
         {number},赵六,13900001111,广东省,深圳市,南山区,科技园南区1栋,马克杯,MUG,1,39\n"
    )
}

/// A small carrier rule set: 中通 and 顺丰 priced by weight, cheapest wins.
pub fn rule_set() -> Value {
    json!({
        "name": "默认",
        "tables": [
            {"carrier": "ZTO", "name": "中通", "zones": [{"name": "江浙沪", "provinces": ["31", "32", "33"], "first_g": 1000, "first_fen": 500, "step_g": 1000, "step_fen": 200}]},
            {"carrier": "SF", "name": "顺丰", "zones": [{"name": "江浙沪", "provinces": ["31", "32", "33"], "first_g": 1000, "first_fen": 1200, "step_g": 1000, "step_fen": 500}]}
        ]
    })
}

/// Every documented route, with a body that would be valid for the route's owner.
pub fn routes(m: &Merchant) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, "/api/v1/me".into(), None),
        (
            Method::GET,
            "/api/v1/after-sales?status=requested&kind=claim".into(),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/after-sales/{}", m.after_sale),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/after-sales/{}/approve", m.after_sale),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/after-sales/{}/reject", m.after_sale),
            Some(json!({"reason": "不符合"})),
        ),
        (
            Method::POST,
            format!("/api/v1/after-sales/{}/confirm-received", m.after_sale),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/after-sales/{}/return-label", m.after_sale),
            Some(json!({"carrier_account_id": 999999, "warehouse_id": m.warehouse})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/after-sales/{}/return-label", m.after_sale),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/after-sales/{}/pickup", m.after_sale),
            Some(
                json!({"tracking_account_id": 999999, "carrier": "SF", "warehouse_id": m.warehouse, "start": "2030-01-01T01:00:00Z", "end": "2030-01-01T03:00:00Z"}),
            ),
        ),
        (
            Method::DELETE,
            format!("/api/v1/after-sales/{}/pickup", m.after_sale),
            None,
        ),
        (
            Method::POST,
            "/api/v1/after-sales/scan".into(),
            Some(json!({"code": "SF0000000000000"})),
        ),
        (
            Method::POST,
            format!("/api/v1/after-sales/{}/inspection", m.after_sale),
            Some(
                json!({"warehouse_id": m.warehouse, "verdict": "damaged", "photos": ["iVBORw0KGgoAAAA="]}),
            ),
        ),
        (
            Method::GET,
            format!("/api/v1/after-sales/{}/photos/1", m.after_sale),
            None,
        ),
        (
            Method::POST,
            "/api/v1/after-sales/claims".into(),
            Some(
                json!({"tracking_no": "SF1385628799999", "carrier": "SF", "order_id": m.order, "claimed_fen": 100}),
            ),
        ),
        (
            Method::POST,
            format!("/api/v1/after-sales/{}/settle", m.after_sale),
            Some(json!({"state": "rejected", "note": "快递公司不予理赔"})),
        ),
        (
            Method::POST,
            format!("/api/v1/orders/{}/reships", m.order),
            Some(json!({"lines": [{"order_line_id": 999999, "quantity": 1}], "reason": "补发"})),
        ),
        (Method::GET, "/api/v1/settings/after-sales".into(), None),
        (
            Method::PUT,
            "/api/v1/settings/after-sales".into(),
            Some(json!({"approval_threshold_fen": 50000})),
        ),
        (
            Method::POST,
            "/api/v1/address/parse".into(),
            Some(json!({"address": "赵六 13900001111 广东深圳南山区科技园南区"})),
        ),
        (Method::GET, "/api/v1/orders".into(), None),
        (
            Method::POST,
            "/api/v1/orders".into(),
            Some(order_body(m.shop, "X9")),
        ),
        (
            Method::POST,
            format!("/api/v1/orders/import?shop_id={}&mode=commit", m.shop),
            Some(Value::String(import_csv("IMP-1"))),
        ),
        (
            Method::GET,
            "/api/v1/orders/import/template.xlsx".into(),
            None,
        ),
        (Method::GET, "/api/v1/order-counts".into(), None),
        (Method::GET, format!("/api/v1/orders/{}", m.order), None),
        (
            Method::POST,
            format!("/api/v1/orders/{}/reveal-receiver", m.order),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/orders/{}/approve", m.order),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/orders/{}/hold", m.order),
            Some(json!({"reason_code": "manual", "message": "核对地址"})),
        ),
        (
            Method::POST,
            format!("/api/v1/orders/{}/cancel", m.order),
            None,
        ),
        (
            Method::POST,
            "/api/v1/orders/bulk".into(),
            Some(json!({"action": "approve", "ids": [m.order]})),
        ),
        (
            Method::GET,
            format!("/api/v1/orders/export?ids={}", m.order),
            None,
        ),
        (Method::GET, "/api/v1/print-jobs".into(), None),
        (
            Method::POST,
            "/api/v1/print-jobs/999999/reprint".into(),
            Some(json!({"reason": "卡纸"})),
        ),
        (Method::GET, "/api/v1/shops".into(), None),
        (
            Method::POST,
            "/api/v1/shops".into(),
            Some(json!({"platform": "manual", "name": "批发", "platform_shop_id": "wholesale"})),
        ),
        (Method::GET, format!("/api/v1/shops/{}/sync", m.shop), None),
        (Method::POST, format!("/api/v1/shops/{}/sync", m.shop), None),
        (
            Method::PUT,
            format!("/api/v1/shops/{}/connection", m.shop),
            Some(json!({"credentials": {"app_key": "k", "app_secret": "s"}})),
        ),
        (Method::GET, "/api/v1/warehouses".into(), None),
        (
            Method::POST,
            "/api/v1/warehouses".into(),
            Some(
                json!({"code": "GZ01", "name": "广州仓", "province": "广东省", "city": "广州市", "county": "白云区", "address": "x"}),
            ),
        ),
        (Method::GET, "/api/v1/skus".into(), None),
        (
            Method::POST,
            "/api/v1/skus".into(),
            Some(json!({"code": "TEE", "name": "T恤", "weight_g": 200})),
        ),
        (
            Method::PUT,
            format!("/api/v1/shops/{}/sku-mappings", m.shop),
            Some(json!({"platform_sku_id": "P1", "sku_id": m.sku})),
        ),
        (Method::GET, "/api/v1/stock".into(), None),
        (
            Method::POST,
            "/api/v1/stock/movements".into(),
            Some(
                json!({"warehouse_id": m.warehouse, "sku_id": m.sku, "kind": "inbound", "quantity": 5}),
            ),
        ),
        (
            Method::GET,
            format!(
                "/api/v1/stock/ledger?warehouse_id={}&sku_id={}",
                m.warehouse, m.sku
            ),
            None,
        ),
        // The merchant has one warehouse: the owner's transfer is refused as one to itself,
        // after authentication and the role check (another tenant's is checked on its own).
        (
            Method::POST,
            "/api/v1/stock/transfers".into(),
            Some(
                json!({"from_warehouse_id": m.warehouse, "to_warehouse_id": m.warehouse, "sku_id": m.sku, "units": 1}),
            ),
        ),
        (
            Method::PUT,
            "/api/v1/stock/threshold".into(),
            Some(json!({"warehouse_id": m.warehouse, "sku_id": m.sku, "threshold": 3})),
        ),
        (
            Method::PUT,
            "/api/v1/stock/safety".into(),
            Some(json!({"warehouse_id": m.warehouse, "sku_id": m.sku, "safety": 1})),
        ),
        (Method::GET, "/api/v1/stock/alerts".into(), None),
        (Method::GET, "/api/v1/stock/export".into(), None),
        (
            Method::POST,
            "/api/v1/stock/import?apply=true".into(),
            Some(Value::String(
                "仓库编码,商品编码,盘点数量\nHZ01,MUG,4\n".into(),
            )),
        ),
        (Method::GET, "/api/v1/users".into(), None),
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(json!({"username": "new-staff", "role": "viewer", "password": "staff-password"})),
        ),
        (
            Method::PATCH,
            "/api/v1/users/999999".into(),
            Some(json!({"display_name": "新名字", "disabled": false})),
        ),
        (Method::GET, "/api/v1/invites".into(), None),
        (
            Method::POST,
            "/api/v1/invites".into(),
            Some(
                json!({"role": "viewer", "scope": {"shops": null, "warehouses": [m.warehouse]}, "note": "仓库小王"}),
            ),
        ),
        (Method::DELETE, "/api/v1/invites/999999".into(), None),
        (Method::GET, "/api/v1/tokens".into(), None),
        (
            Method::POST,
            "/api/v1/tokens".into(),
            Some(json!({"name": "script"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/tokens/{}", m.token_id),
            None,
        ),
        (Method::GET, "/api/v1/audit".into(), None),
        (Method::GET, "/api/v1/jobs".into(), None),
        (Method::POST, "/api/v1/jobs/999999/retry".into(), None),
        (Method::GET, "/api/v1/carrier-accounts".into(), None),
        (
            Method::POST,
            "/api/v1/carrier-accounts".into(),
            Some(
                json!({"name": "中通", "service": "kdniao", "carrier": "ZTO", "base_url": "http://127.0.0.1:9/kdniao", "sender_name": "发货组", "sender_phone": "13900001111", "credentials": {"api_key": "EB1", "api_secret": "k"}}),
            ),
        ),
        (
            Method::POST,
            "/api/v1/carrier-accounts/999999/balance".into(),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/orders/{}/allocate", m.order),
            Some(json!({"warehouse_id": m.warehouse})),
        ),
        (
            Method::POST,
            "/api/v1/print-jobs".into(),
            Some(json!({"order_ids": [m.order]})),
        ),
        (Method::GET, "/api/v1/print-jobs/999999".into(), None),
        (
            Method::GET,
            "/api/v1/print-jobs/999999/labels?format=zpl".into(),
            None,
        ),
        (
            Method::GET,
            "/api/v1/print-jobs/999999/pick-list?format=xlsx".into(),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/warehouses/{}/carrier-rules", m.warehouse),
            None,
        ),
        (
            Method::PUT,
            format!("/api/v1/warehouses/{}/carrier-rules", m.warehouse),
            Some(rule_set()),
        ),
        (
            Method::POST,
            format!("/api/v1/warehouses/{}/carrier-rules/what-if", m.warehouse),
            Some(rule_set()),
        ),
        (
            Method::GET,
            format!(
                "/api/v1/orders/{}/carrier-choice?warehouse_id={}",
                m.order, m.warehouse
            ),
            None,
        ),
        (
            Method::PUT,
            format!("/api/v1/shops/{}/label-settings", m.shop),
            Some(json!({"promo": "关注店铺领 5 元券"})),
        ),
        (
            Method::PUT,
            format!("/api/v1/skus/{}/tags", m.sku),
            Some(json!({"tags": ["易碎"]})),
        ),
        (
            Method::PUT,
            "/api/v1/stock/bin".into(),
            Some(json!({"warehouse_id": m.warehouse, "sku_id": m.sku, "bin": "A-03-2"})),
        ),
        (
            Method::GET,
            format!("/api/v1/settings/review?shop_id={}", m.shop),
            None,
        ),
        (
            Method::PUT,
            format!("/api/v1/settings/review?shop_id={}", m.shop),
            Some(json!({"disabled": ["buyer_note"]})),
        ),
        (Method::GET, "/api/v1/settings/allocation".into(), None),
        (
            Method::PUT,
            "/api/v1/settings/allocation".into(),
            Some(json!({"radius_km": 50.0})),
        ),
        (Method::GET, "/api/v1/settings/deadlines".into(), None),
        (
            Method::PUT,
            "/api/v1/settings/deadlines".into(),
            Some(json!({"alert_hours": [12, 2]})),
        ),
        (Method::GET, "/api/v1/blacklist".into(), None),
        (
            Method::POST,
            "/api/v1/blacklist".into(),
            Some(json!({"phone": "13700000000", "reason": "多次拒收"})),
        ),
        (Method::DELETE, "/api/v1/blacklist/999999".into(), None),
        (Method::GET, "/api/v1/review/queue?stage=0".into(), None),
        (
            Method::POST,
            format!("/api/v1/orders/{}/review", m.order),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/orders/{}/release", m.order),
            Some(json!({})),
        ),
        (
            Method::PUT,
            format!("/api/v1/orders/{}/receiver", m.order),
            Some(
                json!({"name": "王五", "phone": "13900000000", "province": "浙江省", "city": "杭州市", "county": "西湖区", "detail": "文一路1号"}),
            ),
        ),
        (
            Method::PUT,
            format!("/api/v1/orders/{}/lines/999999", m.order),
            Some(json!({"quantity": 2})),
        ),
        (
            Method::PUT,
            format!("/api/v1/orders/{}/warehouse", m.order),
            Some(json!({"warehouse_id": m.warehouse})),
        ),
        (
            Method::POST,
            format!("/api/v1/orders/{}/unmerge", m.order),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/orders/{}/timeline", m.order),
            None,
        ),
        (
            Method::GET,
            "/api/v1/orders/at-risk?within_hours=24".into(),
            None,
        ),
        (Method::GET, "/api/v1/alerts/deadlines".into(), None),
        (
            Method::GET,
            format!("/api/v1/stockouts?sku_id={}", m.sku),
            None,
        ),
        (
            Method::PUT,
            "/api/v1/stockouts/expected".into(),
            Some(json!({"sku_id": m.sku, "expected_at": "2026-12-01T00:00:00Z"})),
        ),
        (
            Method::POST,
            format!("/api/v1/orders/{}/negotiate-delivery", m.order),
            Some(json!({"until": "2030-01-01T00:00:00Z"})),
        ),
        (Method::GET, "/api/v1/settings/shipping".into(), None),
        (
            Method::PUT,
            "/api/v1/settings/shipping".into(),
            Some(json!({"trigger": "after_pack"})),
        ),
        (
            Method::PUT,
            "/api/v1/settings/carrier-codes".into(),
            Some(
                json!({"platform": "douyin", "carrier": "中通", "code": "zhongtong", "name": "中通快递"}),
            ),
        ),
        (
            Method::POST,
            format!("/api/v1/orders/{}/shipments", m.order),
            Some(json!({"carrier": "顺丰", "tracking_no": "SF1385628716739"})),
        ),
        (
            Method::POST,
            "/api/v1/packages/ship".into(),
            Some(json!({"package_ids": [999999]})),
        ),
        (Method::GET, "/api/v1/shipments?state=pending".into(), None),
        (
            Method::GET,
            format!("/api/v1/shipments/{}", m.shipment),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/shipments/{}/retry", m.shipment),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/v1/shipments/{}/change", m.shipment),
            Some(json!({"carrier": "SF", "tracking_no": "SF1385628716740", "reason": "贴错面单"})),
        ),
        (
            Method::GET,
            format!("/api/v1/shipments/{}/changes", m.shipment),
            None,
        ),
        (
            Method::POST,
            "/api/v1/pack/open".into(),
            Some(json!({"code": "SF1385628716739"})),
        ),
        (
            Method::POST,
            "/api/v1/packages/999999/pack/scan".into(),
            Some(json!({"code": "6901234567892"})),
        ),
        (
            Method::POST,
            "/api/v1/packages/999999/pack/reset".into(),
            None,
        ),
        (
            Method::POST,
            "/api/v1/packages/999999/pack/close".into(),
            Some(json!({})),
        ),
        (
            Method::POST,
            "/api/v1/packages/999999/weight".into(),
            Some(json!({"weight_g": 500})),
        ),
        (
            Method::POST,
            "/api/v1/shipment-imports?file_name=a.csv".into(),
            Some(Value::String(
                "订单号,快递公司,快递单号\nM1,顺丰,SF1385628716741\n".into(),
            )),
        ),
        (
            Method::GET,
            "/api/v1/shipment-imports/template".into(),
            None,
        ),
        (
            Method::POST,
            "/api/v1/shipment-imports/999999/apply".into(),
            None,
        ),
        (Method::GET, "/api/v1/shipment-imports/999999".into(), None),
        (
            Method::GET,
            "/api/v1/shipment-imports/999999/result".into(),
            None,
        ),
        (
            Method::POST,
            "/api/v1/orders/export".into(),
            Some(json!({"format": "csv"})),
        ),
        (Method::GET, "/api/v1/suppliers".into(), None),
        (
            Method::POST,
            "/api/v1/suppliers".into(),
            Some(json!({"name": "永康壶厂", "contact": "李经理"})),
        ),
        (
            Method::GET,
            format!("/api/v1/suppliers/{}", m.supplier),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/suppliers/{}", m.supplier),
            Some(json!({"contact": "李经理", "active": true})),
        ),
        (
            Method::PUT,
            format!("/api/v1/suppliers/{}/skus", m.supplier),
            Some(json!({"sku_ids": [m.sku]})),
        ),
        (
            Method::GET,
            format!("/api/v1/suppliers/{}/lines", m.supplier),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/suppliers/{}/purchase-order", m.supplier),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/suppliers/{}/link", m.supplier),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/suppliers/{}/link/rotate", m.supplier),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/orders/{}/dropship", m.order),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/orders/{}/dropship", m.order),
            Some(json!({"supplier_id": m.supplier, "line_ids": []})),
        ),
        (
            Method::POST,
            format!("/api/v1/orders/{}/dropship/unassign", m.order),
            Some(json!({"line_ids": []})),
        ),
        (Method::GET, "/api/v1/dropship/late".into(), None),
        (Method::GET, "/api/v1/tracking-accounts".into(), None),
        (
            Method::POST,
            "/api/v1/tracking-accounts".into(),
            Some(
                json!({"name": "快递鸟", "service": "kdniao", "base_url": "http://127.0.0.1:9", "customer": "1", "key": "k"}),
            ),
        ),
        (
            Method::PUT,
            format!("/api/v1/tracking-accounts/{}/enabled", m.tracking_account),
            Some(json!({"enabled": true})),
        ),
        (Method::GET, "/api/v1/parcels".into(), None),
        (Method::GET, format!("/api/v1/parcels/{}", m.parcel), None),
        (
            Method::POST,
            format!("/api/v1/parcels/{}/refresh", m.parcel),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/parcels/{}/dispute", m.parcel),
            Some(json!({"disputed": false})),
        ),
        (
            Method::GET,
            format!("/api/v1/orders/{}/tracking", m.order),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/parcels/{}/intercept", m.parcel),
            Some(json!({"reason": "退款拦截"})),
        ),
        (
            Method::POST,
            format!("/api/v1/after-sales/{}/intercept-result", m.after_sale),
            Some(json!({"intercepted": true})),
        ),
        (Method::GET, "/api/v1/radar".into(), None),
        (Method::GET, "/api/v1/settings/radar".into(), None),
        (
            Method::PUT,
            "/api/v1/settings/radar".into(),
            Some(json!({"pickup_hours": 24, "stale_hours": 48, "deadline_risk_hours": 6})),
        ),
        (Method::GET, "/api/v1/settings/notifications".into(), None),
        (
            Method::PUT,
            "/api/v1/settings/notifications".into(),
            Some(json!({"shipped": false})),
        ),
        (
            Method::GET,
            format!("/api/v1/notifications?order_id={}", m.order),
            None,
        ),
        (
            Method::GET,
            "/api/v1/reports?from=2026-11-01&to=2026-11-30".into(),
            None,
        ),
        (Method::GET, "/api/v1/reports/xlsx".into(), None),
    ]
}

/// Adds a sub-account with `role` to the tenant of `m` (through the API, as its owner would)
/// and returns a client logged into the console as it, with its CSRF token.
pub async fn sub_account(s: &Server, m: &Merchant, username: &str, role: &str) -> (Client, String) {
    let c = client();
    let (status, body) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/users", s.base),
        Some(&m.token),
        Some(json!({"username": username, "role": role, "password": "member-password"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let csrf = login(&c, s, username, "member-password").await;
    (c, csrf)
}

/// Logs `c` in (session cookie) and returns the session's CSRF token.
pub async fn login(c: &Client, s: &Server, username: &str, password: &str) -> String {
    let (status, login) = call(
        c,
        Method::POST,
        format!("{}/api/v1/auth/login", s.base),
        None,
        Some(json!({"username": username, "password": password})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    login["csrf_token"].as_str().unwrap().to_string()
}

/// GET a console page: its status and HTML.
pub async fn page(c: &Client, s: &Server, path: &str) -> (StatusCode, String) {
    let resp = c.get(format!("{}{path}", s.base)).send().await.unwrap();
    let status = resp.status();
    (status, resp.text().await.unwrap())
}

/// A merchant ready to print and ship: an owner (password `owner-password`), warehouse
/// 杭州仓 with 100 mugs (SKU `MUG-350`, barcode 6901234567892), a manual shop, and a ZTO
/// account on the e-waybill emulator (which runs as long as `sim` lives).
pub struct ShippingMerchant {
    pub owner: fahuo_app::Actor,
    pub tenant: fahuo_domain::TenantId,
    pub warehouse: fahuo_domain::WarehouseId,
    pub shop: fahuo_domain::ShopId,
    pub sim: fahuo_sim::SimHandle,
}

pub async fn shipping_merchant(app: &App, tenant_name: &str, owner_name: &str) -> ShippingMerchant {
    use fahuo_app::Actor;
    use fahuo_app::catalog::{ShopInput, SkuInput, StockMovementInput, WarehouseInput};
    use fahuo_app::printing::BindCarrierAccount;
    use fahuo_domain::fulfilment::WaybillService;
    use fahuo_platforms::waybill::WaybillCredentials;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = fahuo_sim::start(fahuo_sim::SimConfig::new(7, 1), listener).unwrap();
    let tenant = app
        .create_tenant(&fahuo_domain::Name::parse(tenant_name).unwrap())
        .await
        .unwrap();
    let owner = Actor::cli(tenant.id);
    app.add_user(
        &owner,
        fahuo_app::users::UserInput {
            username: fahuo_domain::Username::parse(owner_name).unwrap(),
            display_name: String::new(),
            role: fahuo_domain::Role::Owner,
            password: fahuo_app::auth::Password::parse("owner-password").unwrap(),
        },
    )
    .await
    .unwrap();
    let warehouse = app
        .create_warehouse(
            &owner,
            &WarehouseInput {
                code: "HZ01".into(),
                name: "杭州仓".into(),
                province: "浙江省".into(),
                city: "杭州市".into(),
                county: "余杭区".into(),
                address: "文一西路1号".into(),
                lat: None,
                lng: None,
            },
        )
        .await
        .unwrap();
    let mug = app
        .create_sku(
            &owner,
            &SkuInput {
                code: "MUG-350".into(),
                name: "马克杯 350ml".into(),
                barcode: Some("6901234567892".into()),
                weight_g: 380,
                length_mm: 0,
                width_mm: 0,
                height_mm: 0,
                cost_fen: 0,
            },
        )
        .await
        .unwrap();
    app.move_stock(
        &owner,
        &StockMovementInput {
            warehouse_id: warehouse.id.get(),
            sku_id: mug.id.get(),
            kind: "inbound".into(),
            quantity: 100,
            note: None,
        },
    )
    .await
    .unwrap();
    let shop = app
        .create_shop(
            &owner,
            &ShopInput {
                platform: "manual".into(),
                name: "线下".into(),
                platform_shop_id: "offline".into(),
                api_base_url: None,
                credentials: None,
            },
        )
        .await
        .unwrap();
    let info = sim.info();
    let kd = info
        .kdniao
        .accounts
        .iter()
        .find(|a| a.shipper_code == "ZTO")
        .unwrap();
    app.bind_carrier_account(
        &owner,
        BindCarrierAccount {
            name: "中通 快递鸟".into(),
            service: WaybillService::Kdniao,
            carrier: "ZTO".into(),
            base_url: Some(info.kdniao_base_url.clone()),
            shop_id: None,
            priority: 0,
            sender_name: "杭州仓".into(),
            sender_phone: "13900001111".into(),
            quota: None,
            low_balance_threshold: 0,
            latency_budget_ms: 2_000,
            credentials: WaybillCredentials {
                api_key: info.kdniao.ebusiness_id.clone(),
                api_secret: info.kdniao.app_key.clone(),
                account: Some(kd.customer_name.clone()),
                account_secret: Some(kd.customer_pwd.clone()),
                site: None,
            },
        },
    )
    .await
    .unwrap();
    ShippingMerchant {
        owner,
        tenant: tenant.id,
        warehouse: warehouse.id,
        shop: shop.id,
        sim,
    }
}
