//! The HTTP API over real HTTP, on SQLite and PostgreSQL: authentication, CSRF, tenant and
//! role scoping on every route, the error shape, and the console pages.

use fahuo_app::{App, Settings, SystemClock};
use fahuo_store::both_backends;
use fahuo_store::testing::TestDb;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;

struct Server {
    base: String,
    _db: TestDb,
}

async fn start(db: TestDb) -> (Server, App) {
    let app = App::new(db.store.clone(), Arc::new(SystemClock), Settings::default());
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
struct Merchant {
    token: String,
    shop: i64,
    warehouse: i64,
    sku: i64,
    order: i64,
    token_id: i64,
}

fn client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn call(
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
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn merchant(s: &Server, app: &App, name: &str, owner: &str) -> Merchant {
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
    Merchant {
        token,
        shop: shop["id"].as_i64().unwrap(),
        warehouse: warehouse["id"].as_i64().unwrap(),
        sku: sku["id"].as_i64().unwrap(),
        order: order["order"]["id"].as_i64().unwrap(),
        token_id: created["token"]["id"].as_i64().unwrap(),
    }
}

fn order_body(shop: i64, number: &str) -> Value {
    json!({
        "shop_id": shop,
        "platform_order_id": number,
        "receiver": {"name": "张三", "phone": "13812345678", "province": "浙江省", "city": "杭州市", "county": "西湖区", "detail": "文三路90号"},
        "lines": [{"sku_code": "MUG", "title": "马克杯", "quantity": 1, "unit_price_fen": 3900}]
    })
}

/// Every documented route, with a body that would be valid for the route's owner.
fn routes(m: &Merchant) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, "/api/v1/me".into(), None),
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
        (Method::GET, "/api/v1/shops".into(), None),
        (
            Method::POST,
            "/api/v1/shops".into(),
            Some(json!({"platform": "manual", "name": "批发", "platform_shop_id": "wholesale"})),
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
        (Method::GET, "/api/v1/users".into(), None),
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(json!({"username": "new-staff", "role": "viewer", "password": "staff-password"})),
        ),
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
    ]
}

both_backends!(
    every_route_is_listed_and_requires_authentication,
    another_tenant_sees_nothing_on_any_route,
    roles_are_enforced_over_http,
    cookie_sessions_need_the_csrf_token,
    errors_have_one_shape,
    logins_are_rate_limited,
    health_metrics_and_openapi_are_served,
    addresses_are_parsed_one_or_many,
    the_console_logs_in_and_lists_orders_masked,
);

async fn every_route_is_listed_and_requires_authentication(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "商家A", "alice").await;
    let doc: Value = serde_json::from_str(fahuo_server::openapi_json()).unwrap();
    let documented: std::collections::BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    let template = |p: &str| {
        let p = p.split('?').next().unwrap().to_string();
        p.split('/')
            .map(|seg| {
                if seg.chars().all(|c| c.is_ascii_digit()) && !seg.is_empty() {
                    "{id}".to_string()
                } else {
                    seg.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("/")
            .replace("shops/{id}", "shops/{shop_id}")
    };
    let tested: std::collections::BTreeSet<String> = routes(&m)
        .iter()
        .map(|(method, path, _)| format!("{method} {}", template(path)))
        .collect();
    let missing: Vec<_> = documented
        .iter()
        .filter(|r| {
            !tested.contains(*r) && !r.ends_with("/auth/login") && !r.ends_with("/auth/logout")
        })
        .collect();
    assert!(
        missing.is_empty(),
        "routes without a scoping test: {missing:?}"
    );
    let c = client();
    for (method, path, body) in routes(&m) {
        let (status, body) =
            call(&c, method.clone(), format!("{}{path}", s.base), None, body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "unauthenticated");
    }
    let (status, _) = call(
        &c,
        Method::GET,
        format!("{}/api/v1/orders", s.base),
        Some("fh_forged"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn another_tenant_sees_nothing_on_any_route(db: TestDb) {
    let (s, app) = start(db).await;
    let a = merchant(&s, &app, "商家A", "alice").await;
    let b = merchant(&s, &app, "商家B", "bob").await;
    let c = client();
    for (method, path, body) in routes(&a) {
        let (status, body) = call(
            &c,
            method.clone(),
            format!("{}{path}", s.base),
            Some(&b.token),
            body,
        )
        .await;
        let text = body.to_string();
        // B may create things of its own, but never read or change A's.
        assert!(
            !text.contains("文三路") && !text.contains("13812345678"),
            "{method} {path} leaked A's receiver: {text}"
        );
        let reaches_a = [a.order, a.shop, a.warehouse, a.sku, a.token_id]
            .iter()
            .any(|id| path.contains(&format!("/{id}")) || path.contains(&format!("={id}")));
        if reaches_a && a.order != b.order {
            assert!(
                matches!(
                    status,
                    StatusCode::NOT_FOUND
                        | StatusCode::CREATED
                        | StatusCode::OK
                        | StatusCode::NO_CONTENT
                ),
                "{method} {path}: {status}"
            );
        }
    }
    // Ids are per-database, so A's and B's rows have different ids; check A's rows directly.
    for path in [
        format!("/api/v1/orders/{}", a.order),
        format!("/api/v1/orders/{}/reveal-receiver", a.order),
    ] {
        let method = if path.ends_with("receiver") {
            Method::POST
        } else {
            Method::GET
        };
        let (status, body) = call(
            &c,
            method,
            format!("{}{path}", s.base),
            Some(&b.token),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    for path in [
        format!("/api/v1/orders/{}/approve", a.order),
        format!("/api/v1/orders/{}/cancel", a.order),
        format!("/api/v1/tokens/{}", a.token_id),
    ] {
        let method = if path.contains("tokens") {
            Method::DELETE
        } else {
            Method::POST
        };
        let (status, _) = call(
            &c,
            method,
            format!("{}{path}", s.base),
            Some(&b.token),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = call(
        &c,
        Method::PUT,
        format!("{}/api/v1/shops/{}/sku-mappings", s.base, a.shop),
        Some(&b.token),
        Some(json!({"platform_sku_id": "P", "sku_id": b.sku})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/stock/movements", s.base),
        Some(&b.token),
        Some(
            json!({"warehouse_id": a.warehouse, "sku_id": a.sku, "kind": "inbound", "quantity": 1}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, orders) = call(
        &c,
        Method::GET,
        format!("{}/api/v1/orders", s.base),
        Some(&b.token),
        None,
    )
    .await;
    assert!(
        orders["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["id"] != a.order)
    );
    let (_, audit) = call(
        &c,
        Method::GET,
        format!("{}/api/v1/audit?limit=500", s.base),
        Some(&b.token),
        None,
    )
    .await;
    assert!(
        !audit.to_string().contains("alice"),
        "B's audit log shows nothing of A"
    );
    // A's token still works after all of B's attempts.
    let (status, _) = call(
        &c,
        Method::GET,
        format!("{}/api/v1/orders/{}", s.base, a.order),
        Some(&a.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn roles_are_enforced_over_http(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "商家A", "alice").await;
    let c = client();
    let (status, _) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/users", s.base),
        Some(&m.token),
        Some(json!({"username": "viewer1", "role": "viewer", "password": "viewer-password"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let viewer = client();
    let (_, login) = call(
        &viewer,
        Method::POST,
        format!("{}/api/v1/auth/login", s.base),
        None,
        Some(json!({"username": "viewer1", "password": "viewer-password"})),
    )
    .await;
    let csrf = login["csrf_token"].as_str().unwrap().to_string();
    let send = |method: Method, path: String, body: Option<Value>| {
        let mut req = viewer
            .request(method, format!("{}{path}", s.base))
            .header("x-csrf-token", &csrf);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send()
    };
    assert_eq!(
        send(Method::GET, "/api/v1/orders".into(), None)
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    for (method, path, body) in routes(&m)
        .into_iter()
        // Parsing an address is a read: every role may do it.
        .filter(|(method, path, _)| *method != Method::GET && !path.contains("/address/"))
    {
        let resp = send(method.clone(), path.clone(), body).await.unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::FORBIDDEN,
            "a viewer may not {method} {path}"
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "forbidden");
    }
}

async fn cookie_sessions_need_the_csrf_token(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "商家A", "alice").await;
    let c = client();
    let (_, login) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/auth/login", s.base),
        None,
        Some(json!({"username": "alice", "password": "owner-password"})),
    )
    .await;
    let url = format!("{}/api/v1/orders/{}/approve", s.base, m.order);
    let (status, body) = call(&c, Method::POST, url.clone(), None, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("csrf"))
    );
    let wrong = c
        .post(&url)
        .header("x-csrf-token", "guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let ok = c
        .post(&url)
        .header("x-csrf-token", login["csrf_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let (status, _) = call(
        &c,
        Method::GET,
        format!("{}/api/v1/orders", s.base),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "reads need no CSRF token");
    let out = c
        .post(format!("{}/api/v1/auth/logout", s.base))
        .header("x-csrf-token", login["csrf_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let (status, _) = call(
        &c,
        Method::GET,
        format!("{}/api/v1/orders", s.base),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "logged out");
}

async fn errors_have_one_shape(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "商家A", "alice").await;
    let c = client();
    let t = Some(m.token.as_str());
    let bad_json = c
        .post(format!("{}/api/v1/orders", s.base))
        .bearer_auth(&m.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), StatusCode::BAD_REQUEST);
    let body: Value = bad_json.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");
    let mut invalid = order_body(m.shop, "M2");
    invalid["receiver"]["phone"] = json!("12");
    let (status, body) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/orders", s.base),
        t,
        Some(invalid),
    )
    .await;
    assert_eq!(
        (
            status,
            body["error"]["code"].as_str(),
            body["error"]["field"].as_str()
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid_input"),
            Some("phone")
        )
    );
    assert!(body["error"]["message_zh"].is_string());
    let (status, body) = call(
        &c,
        Method::GET,
        format!("{}/api/v1/orders/abc", s.base),
        t,
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
    let (status, body) = call(
        &c,
        Method::GET,
        format!("{}/api/v1/orders/424242", s.base),
        t,
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, body) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/orders/{}/cancel", s.base, m.order),
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/orders/{}/approve", s.base, m.order),
        t,
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("illegal_transition"))
    );
    let (status, body) = call(
        &c,
        Method::GET,
        format!(
            "{}/api/v1/orders?limit=100000&phone=%27%20OR%201=1--",
            s.base
        ),
        t,
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input"))
    );
    let (status, body) = call(
        &c,
        Method::GET,
        format!(
            "{}/api/v1/orders?platform_order_id=%27%20OR%20%271%27=%271",
            s.base
        ),
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let huge = "x".repeat(9 * 1024 * 1024);
    // The server answers 413 from the Content-Length alone and may close before the client
    // has finished writing; either way the body is refused.
    match c
        .post(format!("{}/api/v1/orders", s.base))
        .bearer_auth(&m.token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
    {
        Ok(resp) => assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
}

async fn logins_are_rate_limited(db: TestDb) {
    let (s, app) = start(db).await;
    merchant(&s, &app, "商家A", "alice").await;
    let c = client();
    for _ in 0..5 {
        let (status, _) = call(
            &c,
            Method::POST,
            format!("{}/api/v1/auth/login", s.base),
            None,
            Some(json!({"username": "alice", "password": "wrong-password"})),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let resp = c
        .post(format!("{}/api/v1/auth/login", s.base))
        .json(&json!({"username": "alice", "password": "owner-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
}

async fn health_metrics_and_openapi_are_served(db: TestDb) {
    let (s, _app) = start(db).await;
    let c = client();
    let (status, body) = call(&c, Method::GET, format!("{}/healthz", s.base), None, None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, doc) = call(
        &c,
        Method::GET,
        format!("{}/api/openapi.json", s.base),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        doc["openapi"].as_str().map(|v| v.starts_with("3.")),
        Some(true)
    );
    assert!(doc["paths"]["/api/v1/orders"]["get"].is_object());
    assert!(doc["components"]["schemas"]["OrderSummary"].is_object());
    let metrics = c
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("fahuo_http_requests_total"), "{metrics}");
    assert!(metrics.contains("fahuo_jobs{state=\"dead\"}"));
}

async fn the_console_logs_in_and_lists_orders_masked(db: TestDb) {
    let (s, app) = start(db).await;
    merchant(&s, &app, "商家A", "alice").await;
    let c = client();
    let page = c.get(format!("{}/orders", s.base)).send().await.unwrap();
    assert_eq!(page.headers()["location"], "/login", "pages need a login");
    let login = c
        .get(format!("{}/login", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains("登录"));
    let bad = c
        .post(format!("{}/login", s.base))
        .form(&[("username", "alice"), ("password", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert!(bad.text().await.unwrap().contains("用户名或密码错误"));
    let forged = c
        .post(format!("{}/login", s.base))
        .header("origin", "https://evil.example")
        .form(&[("username", "alice"), ("password", "owner-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.status(),
        StatusCode::FORBIDDEN,
        "cross-site login forms are refused"
    );
    let ok = c
        .post(format!("{}/login", s.base))
        .form(&[("username", "alice"), ("password", "owner-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let html = c
        .get(format!("{}/orders", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("M1") && html.contains("138****5678") && html.contains("张*"),
        "{html}"
    );
    assert!(
        !html.contains("13812345678") && !html.contains("文三路"),
        "no clear PII in the page"
    );
    let logout = c
        .post(format!("{}/logout", s.base))
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::FORBIDDEN);
    let css = c
        .get(format!("{}/static/app.css", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
}

async fn addresses_are_parsed_one_or_many(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "商家A", "alice").await;
    let c = client();
    let t = Some(m.token.as_str());
    let (status, one) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/address/parse", s.base),
        t,
        Some(json!({"address": "张三 13812345678 浙江杭州西湖区文三路90号"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one[0]["province"], "浙江省");
    assert_eq!(one[0]["city"], "杭州市");
    assert_eq!(one[0]["county"], "西湖区");
    assert_eq!(one[0]["name"], "张三");
    let (_, many) = call(&c, Method::POST, format!("{}/api/v1/address/parse", s.base), t, Some(json!({"addresses": ["柯桥轻纺城老市场11楼", "上海徐汇区虹漕路461号58号楼5楼 李四 021-64581234-8"]}))).await;
    assert_eq!(many.as_array().unwrap().len(), 2);
    assert_eq!(
        many[0]["city"], "绍兴市",
        "missing levels are filled from lower ones"
    );
    assert_eq!(many[1]["county"], "徐汇区");
    let (status, body) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/address/parse", s.base),
        t,
        Some(json!({})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("addresses"))
    );
}
