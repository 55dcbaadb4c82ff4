//! The pack station (验货台) over real HTTP, on SQLite and PostgreSQL: the page renders its
//! hooks for roles that may ship and is refused (403, no station) to the others; the API
//! calls its script makes — open by label, a right item, a wrong item, an extra item, close
//! while items are missing, a weight off, reset, close with the weight — work with the
//! session cookie and the CSRF header exactly as `static/pack.js` sends them; a parcel of a
//! warehouse outside a sub-account's scope does not open; another tenant's parcel is a 404.

mod common;
use common::*;

use fahuo_app::Actor;
use fahuo_app::catalog::WarehouseInput;
use fahuo_app::orders::{LineInput, OrderInput, ReceiverInput};
use fahuo_app::printing::PrintRequest;
use fahuo_domain::{CarrierCode, PackageId, Scope, WarehouseId};

/// A merchant whose order of two mugs is printed and waiting at the pack station.
struct Station {
    owner: Actor,
    warehouse: WarehouseId,
    package: PackageId,
    /// The label's number: what the packer scans first.
    label: String,
    _sim: fahuo_sim::SimHandle,
}

async fn printed_parcel(app: &App, tenant_name: &str, owner_name: &str) -> Station {
    let ShippingMerchant {
        owner,
        tenant,
        warehouse,
        shop,
        sim,
    } = shipping_merchant(app, tenant_name, owner_name).await;
    let (_, order) = app
        .create_manual_order(
            &owner,
            &OrderInput {
                shop_id: shop.get(),
                platform_order_id: "PACK-1".into(),
                paid_total_fen: None,
                freight_fen: 0,
                buyer_note: None,
                seller_note: None,
                ship_by: None,
                presale_ship_at: None,
                receiver: ReceiverInput {
                    name: "收件人".into(),
                    phone: "13800001234".into(),
                    province: "上海市".into(),
                    city: "上海市".into(),
                    county: "徐汇区".into(),
                    detail: "虹漕路400号".into(),
                },
                lines: vec![LineInput {
                    sku_code: Some("MUG-350".into()),
                    title: "马克杯".into(),
                    quantity: 2,
                    unit_price_fen: 3900,
                    paid_fen: None,
                }],
            },
        )
        .await
        .unwrap();
    app.approve_order(&owner, order.id).await.unwrap();
    let package = app
        .allocate_order(
            &owner,
            order.id,
            warehouse,
            Some(CarrierCode::parse("ZTO").unwrap()),
        )
        .await
        .unwrap()[0];
    let printed = app
        .print_labels(
            &owner,
            &PrintRequest {
                order_ids: vec![order.id],
                size: None,
                reason: None,
            },
            None,
        )
        .await
        .unwrap();
    assert!(printed.failures.is_empty(), "{:?}", printed.failures);
    let label = app
        .store()
        .package_for_shipping(tenant, package)
        .await
        .unwrap()
        .expect("a live waybill")
        .1;
    Station {
        owner,
        warehouse,
        package,
        label,
        _sim: sim,
    }
}

/// A console login with a role, as the owner would add it.
async fn member(
    s: &Server,
    app: &App,
    st: &Station,
    username: &str,
    role: &str,
) -> (Client, String) {
    app.add_user(
        &st.owner,
        fahuo_app::users::UserInput {
            username: fahuo_domain::Username::parse(username).unwrap(),
            display_name: String::new(),
            role: fahuo_domain::Role::parse(role).unwrap(),
            password: fahuo_app::auth::Password::parse("member-password").unwrap(),
        },
    )
    .await
    .unwrap();
    let c = client();
    let csrf = login(&c, s, username, "member-password").await;
    (c, csrf)
}

/// A call as `pack.js` makes it (through `fahuo.api`): the session cookie, the CSRF header,
/// and a JSON body when there is one.
async fn script(
    c: &Client,
    s: &Server,
    csrf: &str,
    url: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = c
        .post(format!("{}{url}", s.base))
        .header("X-CSRF-Token", csrf);
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn scanned(station: &Value, sku: &str) -> i64 {
    station["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["sku_code"] == sku)
        .unwrap_or_else(|| panic!("{sku} in {station}"))["scanned"]
        .as_i64()
        .unwrap()
}

both_backends!(
    the_station_renders_its_hooks_for_roles_that_ship_and_refuses_the_others,
    a_parcel_is_opened_scanned_weighed_and_closed_through_the_scripts_calls,
    a_parcel_outside_the_sub_accounts_warehouses_or_tenant_does_not_open
);

async fn the_station_renders_its_hooks_for_roles_that_ship_and_refuses_the_others(db: TestDb) {
    let (s, app) = start(db).await;
    let st = printed_parcel(&app, "验货商家", "boss").await;
    let owner = client();
    login(&owner, &s, "boss", "owner-password").await;
    let (status, html) = page(&owner, &s, "/pack").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    for hook in [
        "id=\"scan\"",
        "id=\"pack-items\"",
        "id=\"pack-status\"",
        "id=\"weight\"",
        "id=\"pack-close\"",
        "id=\"pack-next\"",
        "id=\"pack-reset\"",
        "/static/pack.js",
        "验货台",
        "href=\"/orders\"",
        "href=\"/lang/en\"",
    ] {
        assert!(html.contains(hook), "{hook} missing from the pack page");
    }
    assert!(
        !html.contains("class=\"top\""),
        "full screen: no navigation bar"
    );
    let (status, js) = page(&owner, &s, "/static/pack.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(js.contains("/api/v1/pack/open") && js.contains("AudioContext"));

    for (name, role, allowed) in [
        ("wh1", "warehouse", true),
        ("lg1", "logistics", true),
        ("ad1", "admin", true),
        ("vw1", "viewer", false),
        ("fn1", "finance", false),
        ("cs1", "service", false),
    ] {
        let (c, _) = member(&s, &app, &st, name, role).await;
        let (status, html) = page(&c, &s, "/pack").await;
        if allowed {
            assert_eq!(status, StatusCode::OK, "{role}");
            assert!(html.contains("id=\"scan\""), "{role}");
        } else {
            assert_eq!(status, StatusCode::FORBIDDEN, "{role} may not pack");
            assert!(!html.contains("id=\"scan\""), "{role}: no station");
            assert!(!html.contains("/static/pack.js"), "{role}: no script");
        }
    }

    // Not logged in: the login page, then back here.
    let (status, _) = page(&client(), &s, "/pack").await;
    assert!(status.is_redirection(), "{status}");

    // English.
    // English, chosen with the language link (a cookie).
    let (status, _) = page(&owner, &s, "/lang/en").await;
    assert!(status.is_redirection(), "{status}");
    let (status, html) = page(&owner, &s, "/pack").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Pack station") && html.contains("Scan a shipping label"));
    assert!(
        html.contains("Wrong item!"),
        "the script's texts come in English"
    );
    assert!(!html.contains("验货台"));
    let _ = st.package;
}

async fn a_parcel_is_opened_scanned_weighed_and_closed_through_the_scripts_calls(db: TestDb) {
    let (s, app) = start(db).await;
    let st = printed_parcel(&app, "验货商家", "boss").await;
    let (c, csrf) = member(&s, &app, &st, "packer", "warehouse").await;
    let id = st.package.get();

    // Without the CSRF header the session may not act.
    let resp = c
        .post(format!("{}/api/v1/pack/open", s.base))
        .json(&json!({"code": st.label}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let (status, opened) = script(
        &c,
        &s,
        &csrf,
        "/api/v1/pack/open",
        Some(json!({"code": st.label})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{opened}");
    assert_eq!(opened["package_id"], id);
    assert_eq!(opened["package_state"], "printed");
    assert_eq!(opened["remaining"], 2);
    assert_eq!(opened["items"][0]["sku_code"], "MUG-350");
    assert_eq!(opened["items"][0]["title"], "马克杯 350ml");
    assert_eq!(opened["items"][0]["expected"], 2);

    // An unknown label: a clear refusal the page shows in red.
    let (status, unknown) = script(
        &c,
        &s,
        &csrf,
        "/api/v1/pack/open",
        Some(json!({"code": "NO-SUCH-LABEL"})),
    )
    .await;
    assert!(status.is_client_error(), "{status}");
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .contains("NO-SUCH-LABEL"),
        "{unknown}"
    );

    let scan = format!("/api/v1/packages/{id}/pack/scan");
    let (status, right) =
        script(&c, &s, &csrf, &scan, Some(json!({"code": "6901234567892"}))).await;
    assert_eq!(status, StatusCode::OK, "{right}");
    assert_eq!(right["accepted"], true);
    assert_eq!(right["outcome"]["result"], "counted");
    assert_eq!(scanned(&right["station"], "MUG-350"), 1);

    let (status, wrong) =
        script(&c, &s, &csrf, &scan, Some(json!({"code": "6900000000000"}))).await;
    assert_eq!(status, StatusCode::OK, "{wrong}");
    assert_eq!(wrong["accepted"], false, "a wrong item is refused");
    assert_eq!(wrong["outcome"]["result"], "wrong_item");
    assert_eq!(wrong["outcome"]["code"], "6900000000000");
    assert!(wrong["message_zh"].as_str().unwrap().contains("错货"));
    assert_eq!(
        scanned(&wrong["station"], "MUG-350"),
        1,
        "the count did not change"
    );

    let close = format!("/api/v1/packages/{id}/pack/close");
    let (status, early) = script(&c, &s, &csrf, &close, Some(json!({"weight_g": null}))).await;
    assert_eq!(status, StatusCode::OK, "{early}");
    assert_eq!(early["packed"], false);
    assert_eq!(early["refusal"]["refusal"], "missing_items");
    assert_eq!(early["refusal"]["missing"][0]["units"], 1);

    // Reset (no body), then both items by their SKU code and barcode.
    let (status, reset) = script(
        &c,
        &s,
        &csrf,
        &format!("/api/v1/packages/{id}/pack/reset"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reset}");
    assert_eq!(reset["remaining"], 2);
    let (_, one) = script(&c, &s, &csrf, &scan, Some(json!({"code": "MUG-350"}))).await;
    assert_eq!(one["accepted"], true, "{one}");
    let (_, two) = script(&c, &s, &csrf, &scan, Some(json!({"code": "6901234567892"}))).await;
    assert_eq!(two["outcome"]["result"], "complete", "{two}");
    assert_eq!(two["station"]["remaining"], 0);
    let (_, extra) = script(&c, &s, &csrf, &scan, Some(json!({"code": "6901234567892"}))).await;
    assert_eq!(extra["accepted"], false);
    assert_eq!(extra["outcome"]["result"], "extra", "{extra}");

    // The scale: a weight far off is refused with the expected weight; the right one closes.
    let (status, heavy) = script(&c, &s, &csrf, &close, Some(json!({"weight_g": 1500}))).await;
    assert_eq!(status, StatusCode::OK, "{heavy}");
    assert_eq!(heavy["packed"], false);
    assert_eq!(heavy["refusal"]["refusal"], "weight_off");
    let expected = heavy["refusal"]["weight"]["expected_g"].as_i64().unwrap();
    let (status, bad) = script(&c, &s, &csrf, &close, Some(json!({"weight_g": 0}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (status, closed) = script(&c, &s, &csrf, &close, Some(json!({"weight_g": expected}))).await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["packed"], true, "{closed}");
    assert_eq!(closed["station"]["package_state"], "packed");

    // The next scan of the same label shows it packed; a weighing station may weigh it again.
    let (_, again) = script(
        &c,
        &s,
        &csrf,
        "/api/v1/pack/open",
        Some(json!({"code": st.label})),
    )
    .await;
    assert_eq!(again["package_state"], "packed", "{again}");
    let (status, weighed) = script(
        &c,
        &s,
        &csrf,
        &format!("/api/v1/packages/{id}/weight"),
        Some(json!({"weight_g": expected})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{weighed}");
    assert!(weighed["refusal"].is_null(), "{weighed}");
    // A packed parcel takes no more item scans.
    let (status, _) = script(&c, &s, &csrf, &scan, Some(json!({"code": "MUG-350"}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

async fn a_parcel_outside_the_sub_accounts_warehouses_or_tenant_does_not_open(db: TestDb) {
    let (s, app) = start(db).await;
    let st = printed_parcel(&app, "验货商家", "boss").await;
    let other = app
        .create_warehouse(
            &st.owner,
            &WarehouseInput {
                code: "SZ01".into(),
                name: "深圳仓".into(),
                province: "广东省".into(),
                city: "深圳市".into(),
                county: "南山区".into(),
                address: "科技园1号".into(),
                lat: None,
                lng: None,
            },
        )
        .await
        .unwrap();
    // A warehouse sub-account limited to 深圳仓 (sessions carry no scope yet, so the
    // use-cases are called as such an actor would call them).
    let scoped = Actor {
        user_id: None,
        name: "sz-packer".into(),
        role: fahuo_domain::Role::Warehouse,
        scope: Scope {
            shops: None,
            warehouses: Some(vec![other.id]),
        },
        ..st.owner.clone()
    };
    let err = app.pack_open(&scoped, &st.label).await.unwrap_err();
    assert!(
        matches!(err, fahuo_app::AppError::NotFound),
        "out of scope is not found: {err:?}"
    );
    let by_order = app.pack_open(&scoped, "PACK-1").await.unwrap_err();
    assert!(
        !matches!(by_order, fahuo_app::AppError::Forbidden(_)),
        "by order number it is not found either: {by_order:?}"
    );
    for result in [
        app.pack_scan(&scoped, st.package, "MUG-350").await.err(),
        app.pack_reset(&scoped, st.package).await.err(),
        app.pack_close(&scoped, st.package, Some(770)).await.err(),
        app.weigh_package(&scoped, st.package, 770).await.err(),
    ] {
        assert!(
            matches!(result, Some(fahuo_app::AppError::NotFound)),
            "{result:?}"
        );
    }
    // Nothing was counted.
    let station = app.pack_open(&st.owner, &st.label).await.unwrap();
    assert_eq!(station.remaining, 2);
    // Its own warehouse opens.
    let in_scope = Actor {
        scope: Scope {
            shops: None,
            warehouses: Some(vec![st.warehouse]),
        },
        ..scoped.clone()
    };
    assert_eq!(
        app.pack_open(&in_scope, &st.label)
            .await
            .unwrap()
            .package_id,
        st.package
    );

    // Another tenant's packer: its label and its parcel id are not found, over HTTP.
    let theirs = app
        .create_tenant(&fahuo_domain::Name::parse("别家").unwrap())
        .await
        .unwrap();
    app.add_user(
        &Actor::cli(theirs.id),
        fahuo_app::users::UserInput {
            username: fahuo_domain::Username::parse("other-boss").unwrap(),
            display_name: String::new(),
            role: fahuo_domain::Role::Owner,
            password: fahuo_app::auth::Password::parse("owner-password").unwrap(),
        },
    )
    .await
    .unwrap();
    let c = client();
    let csrf = login(&c, &s, "other-boss", "owner-password").await;
    let (status, body) = script(
        &c,
        &s,
        &csrf,
        "/api/v1/pack/open",
        Some(json!({"code": st.label})),
    )
    .await;
    assert!(status.is_client_error(), "{status}");
    assert!(!body.to_string().contains("MUG-350"), "{body}");
    let (status, body) = script(
        &c,
        &s,
        &csrf,
        &format!("/api/v1/packages/{}/pack/scan", st.package.get()),
        Some(json!({"code": "MUG-350"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = script(
        &c,
        &s,
        &csrf,
        &format!("/api/v1/packages/{}/pack/close", st.package.get()),
        Some(json!({"weight_g": 770})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.pack_open(&st.owner, &st.label)
            .await
            .unwrap()
            .package_state,
        "printed"
    );
}
