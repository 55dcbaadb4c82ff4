//! 设置 pages over real HTTP, on SQLite and PostgreSQL: each section shows the tenant's
//! current data to its owner (and never another tenant's), a role without the section's
//! permission gets 403 and none of the data, saved secrets never come back in the HTML, a
//! save through the API call the form makes shows on the next render, and English renders.

mod common;
use common::*;

use fahuo_domain::catalog::ShopStatus;
use fahuo_domain::{ShopId, TenantId};

const SECTIONS: [&str; 7] = [
    "shops",
    "carriers",
    "rules",
    "warehouses",
    "skus",
    "suppliers",
    "templates",
];

/// Merchant A with, besides the usual fixture, a WeChat shop and a carrier account (both
/// with secrets) and a blacklist entry; merchant B with data of its own, named so that any
/// leak into A's pages shows.
struct World {
    s: Server,
    app: App,
    a: Merchant,
    a_wechat_shop: i64,
    a_tenant: TenantId,
    b_warehouse: i64,
}

const SHOP_SECRET: &str = "SHOP-SECRET-a2f9";
const SHOP_TOKEN: &str = "ACCESS-TOKEN-77c1";
const CARRIER_SECRET: &str = "CARRIER-SECRET-5be0";
const CARRIER_ACCOUNT_SECRET: &str = "MONTHLY-PASS-19ad";

async fn post(s: &Server, token: &str, path: &str, body: Value) -> Value {
    let (status, out) = call(
        &client(),
        Method::POST,
        format!("{}{path}", s.base),
        Some(token),
        Some(body),
    )
    .await;
    assert!(status.is_success(), "{path}: {status} {out}");
    out
}

async fn world(db: TestDb) -> World {
    let (s, app) = start(db).await;
    let a = merchant(&s, &app, "商家A", "alice").await;
    let b = merchant(&s, &app, "商家B", "bob").await;
    let shop = post(
        &s,
        &a.token,
        "/api/v1/shops",
        json!({"platform": "wechat", "name": "甲方微信店", "platform_shop_id": "wx-a-1",
               "api_base_url": "http://127.0.0.1:9",
               "credentials": {"app_key": "wx-key-a", "app_secret": SHOP_SECRET, "access_token": SHOP_TOKEN}}),
    )
    .await;
    let a_tenant = TenantId(shop["tenant_id"].as_i64().unwrap());
    post(
        &s,
        &a.token,
        "/api/v1/carrier-accounts",
        json!({"name": "甲方中通账号", "service": "kdniao", "carrier": "ZTO", "base_url": "http://127.0.0.1:9/kdniao",
               "sender_name": "甲方发货组", "sender_phone": "13900001111", "quota": 100, "low_balance_threshold": 200,
               "credentials": {"api_key": "EB-A", "api_secret": CARRIER_SECRET, "account": "ZTO-A", "account_secret": CARRIER_ACCOUNT_SECRET}}),
    )
    .await;
    post(
        &s,
        &a.token,
        "/api/v1/blacklist",
        json!({"phone": "13700002222", "reason": "甲方多次拒收"}),
    )
    .await;
    // B's own things.
    post(
        &s,
        &b.token,
        "/api/v1/shops",
        json!({"platform": "manual", "name": "乙方门店", "platform_shop_id": "b-store"}),
    )
    .await;
    let wh = post(&s, &b.token, "/api/v1/warehouses", json!({"code": "BJ09", "name": "北京乙仓", "province": "北京市", "city": "北京市", "county": "朝阳区", "address": "乙方路9号"})).await;
    post(
        &s,
        &b.token,
        "/api/v1/skus",
        json!({"code": "BSKU9", "name": "乙方商品", "weight_g": 100}),
    )
    .await;
    post(
        &s,
        &b.token,
        "/api/v1/suppliers",
        json!({"name": "乙方供应商", "contact": "乙方联系人"}),
    )
    .await;
    post(
        &s,
        &b.token,
        "/api/v1/carrier-accounts",
        json!({"name": "乙方圆通账号", "service": "kdniao", "carrier": "YTO", "base_url": "http://127.0.0.1:9/kdniao",
               "sender_name": "乙方发货", "sender_phone": "13900003333", "credentials": {"api_key": "EB-B", "api_secret": "b-secret"}}),
    )
    .await;
    post(
        &s,
        &b.token,
        "/api/v1/blacklist",
        json!({"phone": "13700004444", "reason": "乙方拒收"}),
    )
    .await;
    World {
        a_wechat_shop: shop["id"].as_i64().unwrap(),
        a_tenant,
        b_warehouse: wh["id"].as_i64().unwrap(),
        s,
        app,
        a,
    }
}

/// What no page of A may ever show: B's names and anybody's secrets.
const NEVER_IN_A: [&str; 12] = [
    "乙方门店",
    "北京乙仓",
    "BSKU9",
    "乙方商品",
    "乙方供应商",
    "乙方联系人",
    "乙方圆通账号",
    "乙方拒收",
    SHOP_SECRET,
    SHOP_TOKEN,
    CARRIER_SECRET,
    CARRIER_ACCOUNT_SECRET,
];

fn assert_clean(path: &str, html: &str) {
    for bad in NEVER_IN_A {
        assert!(!html.contains(bad), "{path} shows {bad:?}");
    }
}

async fn owner(w: &World) -> (Client, String) {
    let c = client();
    let csrf = login(&c, &w.s, "alice", "owner-password").await;
    (c, csrf)
}

async fn each_section_shows_the_owner_its_tenants_current_data(db: TestDb) {
    let w = world(db).await;
    let (c, _) = owner(&w).await;

    let (status, hub) = page(&c, &w.s, "/settings").await;
    assert_eq!(status, StatusCode::OK);
    for section in SECTIONS {
        assert!(
            hub.contains(&format!("href=\"/settings/{section}\"")),
            "hub lists {section}"
        );
    }
    assert!(
        hub.contains("href=\"/accounts\""),
        "users and roles are on /accounts"
    );

    let expect: [(&str, &[&str]); 7] = [
        (
            "shops",
            &[
                "线下",
                "甲方微信店",
                "wx-a-1",
                "微信小店",
                "待首次同步",
                "立即同步",
                "/webhooks/",
            ],
        ),
        (
            "carriers",
            &[
                "甲方中通账号",
                "快递鸟",
                "中通",
                "甲方发货组",
                "余额不足",
                "刷新余额",
            ],
        ),
        (
            "rules",
            &[
                "地址不完整",
                "HZ01 杭州仓",
                "137****2222",
                "甲方多次拒收",
                "暂停",
                "24, 6, 1",
            ],
        ),
        (
            "warehouses",
            &["HZ01", "杭州仓", "浙江省杭州市余杭区仓前街道1号"],
        ),
        ("skus", &["MUG", "马克杯", "380", "平台商品对应"]),
        ("suppliers", &["义乌杯厂", "王经理", "生成链接"]),
        (
            "templates",
            &["线下", "甲方微信店", "已发货通知", "打单即发货", "物流预警"],
        ),
    ];
    for (section, needles) in expect {
        let path = format!("/settings/{section}");
        let (status, html) = page(&c, &w.s, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            html.contains(&format!("id=\"settings-form-{section}\"")),
            "{path} has its main form"
        );
        assert!(
            html.contains(&format!("id=\"{section}-list\"")),
            "{path} has its list"
        );
        assert!(
            html.contains("/static/settings.js"),
            "{path} loads its script"
        );
        for needle in needles {
            assert!(html.contains(needle), "{path} shows {needle:?}");
        }
        assert_clean(&path, &html);
        // The receiver phone on the blacklist is only ever shown masked.
        assert!(
            !html.contains("13700002222"),
            "{path} shows a phone unmasked"
        );
    }
    // The settings script is served from the binary.
    let (status, js) = page(&c, &w.s, "/static/settings.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(js.contains("api:before"));
}

async fn a_shop_shows_an_expired_authorisation_and_its_last_sync_error(db: TestDb) {
    let w = world(db).await;
    let store = w.app.store();
    let shop = ShopId(w.a_wechat_shop);
    store
        .record_sync_failure(w.a_tenant, shop, "40001 invalid credential", w.app.now())
        .await
        .unwrap();
    let (c, _) = owner(&w).await;
    let (_, html) = page(&c, &w.s, "/settings/shops").await;
    assert!(html.contains("同步出错"), "a failing sync is an error");
    assert!(html.contains("40001 invalid credential"));
    store
        .set_shop_status(w.a_tenant, shop, ShopStatus::AuthFailed)
        .await
        .unwrap();
    let (_, html) = page(&c, &w.s, "/settings/shops").await;
    assert!(
        html.contains("授权失效"),
        "a refused authorisation is expired"
    );
    assert!(html.contains("重新授权"));
    assert_clean("/settings/shops", &html);
}

async fn roles_without_a_sections_permission_get_403_and_none_of_its_data(db: TestDb) {
    let w = world(db).await;
    for role in ["warehouse", "service", "logistics", "finance", "viewer"] {
        let (c, _) = sub_account(&w.s, &w.a, &format!("u-{role}"), role).await;
        for path in std::iter::once("/settings".to_string())
            .chain(SECTIONS.iter().map(|s| format!("/settings/{s}")))
        {
            let (status, html) = page(&c, &w.s, &path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{role} {path}");
            for data in [
                "甲方中通账号",
                "甲方微信店",
                "杭州仓",
                "马克杯",
                "义乌杯厂",
                "137****2222",
                "甲方多次拒收",
            ] {
                assert!(!html.contains(data), "{role} {path} shows {data:?}");
            }
            assert_clean(&path, &html);
        }
    }
    // Nobody signed in: the login page, no data.
    let anonymous = client();
    let (status, html) = page(&anonymous, &w.s, "/settings/carriers").await;
    assert!(status.is_redirection(), "{status}");
    assert!(!html.contains("甲方中通账号"));
}

async fn another_tenants_warehouse_is_not_found_on_the_rules_page(db: TestDb) {
    let w = world(db).await;
    let (c, _) = owner(&w).await;
    for path in [
        format!("/settings/rules?warehouse={}", w.b_warehouse),
        format!("/settings/skus?warehouse={}", w.b_warehouse),
    ] {
        let (status, html) = page(&c, &w.s, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_clean(&path, &html);
    }
    // B sees its own warehouse there, and none of A's data.
    let cb = client();
    login(&cb, &w.s, "bob", "owner-password").await;
    let (status, html) = page(
        &cb,
        &w.s,
        &format!("/settings/rules?warehouse={}", w.b_warehouse),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("BJ09 北京乙仓"));
    assert!(!html.contains("甲方多次拒收") && !html.contains("甲方中通账号"));
}

/// A PUT/POST as the page's form sends it: the session cookie and the CSRF header.
async fn save(c: &Client, s: &Server, csrf: &str, method: Method, path: &str, body: Value) {
    let resp = c
        .request(method, format!("{}{path}", s.base))
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    assert!(
        status.is_success(),
        "{path}: {status} {}",
        resp.text().await.unwrap()
    );
}

async fn a_save_through_the_forms_api_call_shows_on_the_next_render(db: TestDb) {
    let w = world(db).await;
    let (c, csrf) = owner(&w).await;
    let (s, a) = (&w.s, &w.a);

    // 规则: the review form sends the current settings with its fields laid over them.
    let (_, current) = call(
        &c,
        Method::GET,
        format!("{}/api/v1/settings/review", s.base),
        Some(&a.token),
        None,
    )
    .await;
    let mut review = current.clone();
    review["disabled"] = json!(["buyer_note"]);
    review["seller_note_flags"] = json!(["勿发", "等通知"]);
    review["min_price_percent"] = Value::Null;
    save(&c, s, &csrf, Method::PUT, "/api/v1/settings/review", review).await;
    save(
        &c,
        s,
        &csrf,
        Method::PUT,
        "/api/v1/settings/deadlines",
        json!({"alert_hours": [12, 2]}),
    )
    .await;
    let (_, allocation) = call(
        &c,
        Method::GET,
        format!("{}/api/v1/settings/allocation", s.base),
        Some(&a.token),
        None,
    )
    .await;
    let mut allocation = allocation.clone();
    allocation["radius_km"] = json!(55);
    allocation["transfer_cost_per_unit"] = json!(350);
    save(
        &c,
        s,
        &csrf,
        Method::PUT,
        "/api/v1/settings/allocation",
        allocation,
    )
    .await;
    save(
        &c,
        s,
        &csrf,
        Method::PUT,
        &format!("/api/v1/warehouses/{}/carrier-rules", a.warehouse),
        rule_set(),
    )
    .await;
    let (_, html) = page(&c, s, "/settings/rules").await;
    assert!(
        html.contains(r#"value="buyer_note">"#),
        "买家留言 is off now"
    );
    assert!(
        html.contains(r#"value="address_incomplete" checked>"#),
        "the others stay on"
    );
    assert!(html.contains("勿发, 等通知"));
    assert!(html.contains(r#"name="min_price_percent" type="number" min="0" max="100" data-type="number" data-null-if-empty value="""#));
    assert!(html.contains("12, 2"));
    assert!(html.contains(r#"value="55""#) && html.contains(r#"value="3.50""#));
    assert!(
        html.contains("&quot;ZTO&quot;") || html.contains("&#34;ZTO&#34;"),
        "the carrier rules show"
    );

    // 模板: radar, notices, after-sales, shipping, label promo.
    save(
        &c,
        s,
        &csrf,
        Method::PUT,
        "/api/v1/settings/radar",
        json!({"pickup_hours": 30, "stale_hours": 50, "deadline_risk_hours": 7}),
    )
    .await;
    save(&c, s, &csrf, Method::PUT, "/api/v1/settings/notifications", json!({"shipped": true, "delayed": false, "exception": true, "shipped_template": "您的订单 {order_no} 已由{carrier}发出", "delayed_template": null, "exception_template": null})).await;
    save(
        &c,
        s,
        &csrf,
        Method::PUT,
        "/api/v1/settings/after-sales",
        json!({"approval_threshold_fen": 12345}),
    )
    .await;
    save(&c, s, &csrf, Method::PUT, "/api/v1/settings/shipping", json!({"trigger": "after_weigh", "weight_tolerance_percent": 8, "weight_tolerance_grams": 40, "packaging_grams": 60, "packaging_fen": 150, "supplier_hours": 36, "supplier_link_days": 5})).await;
    save(
        &c,
        s,
        &csrf,
        Method::PUT,
        &format!("/api/v1/shops/{}/label-settings", a.shop),
        json!({"promo": "关注店铺领券"}),
    )
    .await;
    let (_, html) = page(&c, s, "/settings/templates").await;
    for needle in [
        r#"name="pickup_hours" type="number" min="1" data-type="number" value="30""#,
        r#"value="50""#,
        r#"value="7""#,
        "您的订单 {order_no} 已由{carrier}发出",
        r#"value="123.45""#,
        r#"<option value="after_weigh" selected>"#,
        r#"value="1.50""#,
        r#"value="36""#,
        r#"value="关注店铺领券""#,
    ] {
        assert!(html.contains(needle), "templates shows {needle:?}");
    }
    assert!(
        html.contains(r#"<input type="checkbox" name="delayed" data-type="bool"> "#),
        "delay notices are off"
    );

    // 商品: a new SKU, its tags, a mapping, a bin.
    post(
        s,
        &a.token,
        "/api/v1/skus",
        json!({"code": "PLATE", "name": "餐盘", "weight_g": 500, "cost_fen": 1200}),
    )
    .await;
    save(
        &c,
        s,
        &csrf,
        Method::PUT,
        &format!("/api/v1/skus/{}/tags", a.sku),
        json!({"tags": ["易碎"]}),
    )
    .await;
    save(
        &c,
        s,
        &csrf,
        Method::PUT,
        &format!("/api/v1/shops/{}/sku-mappings", a.shop),
        json!({"platform_sku_id": "PLAT-SKU-88", "sku_id": a.sku, "quantity": 2}),
    )
    .await;
    save(
        &c,
        s,
        &csrf,
        Method::PUT,
        "/api/v1/stock/bin",
        json!({"warehouse_id": a.warehouse, "sku_id": a.sku, "bin": "A-03-2"}),
    )
    .await;
    let (_, html) = page(&c, s, "/settings/skus").await;
    // The tag typed 易碎 is stored as `fragile` and shown by its Chinese name.
    for needle in [
        "PLATE",
        "餐盘",
        "12.00",
        "value=\"易碎\"",
        "PLAT-SKU-88",
        "A-03-2",
    ] {
        assert!(html.contains(needle), "skus shows {needle:?}");
    }

    // 仓库, 供应商, 店铺, 快递账号.
    post(s, &a.token, "/api/v1/warehouses", json!({"code": "SH02", "name": "上海仓", "province": "上海市", "city": "上海市", "county": "浦东新区", "address": "川沙路2号"})).await;
    let (_, html) = page(&c, s, "/settings/warehouses").await;
    assert!(html.contains("SH02") && html.contains("上海仓"));
    save(
        &c,
        s,
        &csrf,
        Method::PUT,
        &format!("/api/v1/suppliers/{}/skus", a.supplier),
        json!({"sku_ids": [a.sku]}),
    )
    .await;
    save(
        &c,
        s,
        &csrf,
        Method::PATCH,
        &format!("/api/v1/suppliers/{}", a.supplier),
        json!({"name": "义乌杯厂", "contact": "李经理", "active": false}),
    )
    .await;
    let (_, html) = page(&c, s, "/settings/suppliers").await;
    assert!(html.contains("李经理") && html.contains("已停用") && html.contains("MUG 马克杯"));
    save(
        &c,
        s,
        &csrf,
        Method::POST,
        "/api/v1/shops",
        json!({"platform": "manual", "name": "新手工店", "platform_shop_id": "manual-2"}),
    )
    .await;
    let (_, html) = page(&c, s, "/settings/shops").await;
    assert!(html.contains("新手工店"));
    save(&c, s, &csrf, Method::POST, "/api/v1/carrier-accounts", json!({"name": "甲方韵达", "service": "kdniao", "carrier": "YUNDA", "base_url": "http://127.0.0.1:9/kdniao", "sender_name": "甲方发货组", "sender_phone": "13900001111", "quota": 5000, "credentials": {"api_key": "EB-A2", "api_secret": "another-secret-3c"}})).await;
    let (_, html) = page(&c, s, "/settings/carriers").await;
    assert!(html.contains("甲方韵达") && html.contains("5000"));
    assert!(!html.contains("another-secret-3c"));
    for section in SECTIONS {
        let path = format!("/settings/{section}");
        let (_, html) = page(&c, s, &path).await;
        assert_clean(&path, &html);
    }
}

async fn the_settings_pages_render_in_english(db: TestDb) {
    let w = world(db).await;
    let (c, _) = owner(&w).await;
    // The language switch sets the `fahuo_lang` cookie on this client (next to its session).
    let (status, _) = page(&c, &w.s, "/lang/en").await;
    assert!(status.is_redirection(), "{status}");
    let (_, hub) = page(&c, &w.s, "/settings").await;
    assert!(hub.contains("<html lang=\"en\">"));
    assert!(hub.contains("Carrier accounts") && hub.contains("Users and roles"));
    assert!(!hub.contains("快递账号"), "no Chinese section names");
    let expect = [
        ("shops", "Add a shop"),
        ("carriers", "Bind a carrier account"),
        ("rules", "Review rules"),
        ("warehouses", "Add a warehouse"),
        ("skus", "Platform SKU mappings"),
        ("suppliers", "Add a supplier"),
        ("templates", "Buyer notices"),
    ];
    for (section, heading) in expect {
        let path = format!("/settings/{section}");
        let (status, html) = page(&c, &w.s, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains(heading), "{path} in English: {heading:?}");
        assert_clean(&path, &html);
    }
    let (_, carriers) = page(&c, &w.s, "/settings/carriers").await;
    assert!(carriers.contains("Low balance") && !carriers.contains("余额不足"));
}

both_backends!(
    each_section_shows_the_owner_its_tenants_current_data,
    a_shop_shows_an_expired_authorisation_and_its_last_sync_error,
    roles_without_a_sections_permission_get_403_and_none_of_its_data,
    another_tenants_warehouse_is_not_found_on_the_rules_page,
    a_save_through_the_forms_api_call_shows_on_the_next_render,
    the_settings_pages_render_in_english
);
