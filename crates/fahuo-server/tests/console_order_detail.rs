//! The order page (订单详情) and the order list's bulk actions (批量操作), on SQLite and
//! PostgreSQL: what the page shows its owner (masked), the audited reveal, the actions by
//! state and role, 404 for another tenant; and the bulk API per action, with its filter, cap,
//! permission and tenant checks. Bulk printing, shipping, carrier and merge are in
//! `console_printing.rs` (they need a carrier account).

mod common;
use common::*;

/// A session POST/PUT with the CSRF token, as the console's script sends it.
async fn send(
    c: &Client,
    s: &Server,
    csrf: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = c
        .request(method, format!("{}{path}", s.base))
        .header("x-csrf-token", csrf);
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

/// A new order of A's (manual shop) with its own number and receiver; returns its id.
async fn new_order(s: &Server, m: &Merchant, number: &str, name: &str, phone: &str) -> i64 {
    let mut body = order_body(m.shop, number);
    body["receiver"]["name"] = json!(name);
    body["receiver"]["phone"] = json!(phone);
    body["receiver"]["detail"] = json!("莫干山路1188号");
    body["ship_by"] = json!("2030-01-01T10:00:00Z");
    body["buyer_note"] = json!("请用纸箱");
    let (status, created) = call(
        &client(),
        Method::POST,
        format!("{}/api/v1/orders", s.base),
        Some(&m.token),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["order"]["id"].as_i64().unwrap()
}

async fn order_state(s: &Server, m: &Merchant, id: i64) -> String {
    let (status, order) = call(
        &client(),
        Method::GET,
        format!("{}/api/v1/orders/{id}", s.base),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    order["state"].as_str().unwrap().to_string()
}

async fn bulk(s: &Server, token: &str, body: Value) -> (StatusCode, Value) {
    call(
        &client(),
        Method::POST,
        format!("{}/api/v1/orders/bulk", s.base),
        Some(token),
        Some(body),
    )
    .await
}

async fn the_order_page_shows_the_order_masked_with_the_actions_its_state_allows(db: TestDb) {
    let (s, app) = start(db).await;
    let a = merchant(&s, &app, "商家A", "alice").await;
    let id = new_order(&s, &a, "DETAIL-1", "欧阳娜娜", "13755554321").await;
    let c = client();
    login(&c, &s, "alice", "owner-password").await;

    let (status, html) = page(&c, &s, &format!("/orders/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    for expected in [
        "DETAIL-1",
        "手工单",
        "线下",
        "待审核",
        "data-deadline=\"2030-01-01T10:00:00+00:00\"",
        "¥39.00",
        "马克杯",
        "MUG",
        "请用纸箱",
        "137****4321",
        "浙江省 杭州市 西湖区",
        "id=\"reveal-receiver\"",
        "/api/v1/orders/{id}/reveal-receiver",
        // New: it may be approved, held, cancelled, its receiver edited.
        "data-api=\"/api/v1/orders/{id}/approve\"",
        "data-api=\"/api/v1/orders/{id}/hold\"",
        "data-api=\"/api/v1/orders/{id}/cancel\"",
        "data-api=\"/api/v1/orders/{id}/receiver\"",
        "/static/order_detail.js",
    ] {
        let expected = expected.replace("{id}", &id.to_string());
        assert!(html.contains(&expected), "missing {expected}");
    }
    // The receiver is masked: neither the full name, the phone nor the street is on the page.
    for secret in ["欧阳娜娜", "13755554321", "莫干山路1188号"] {
        assert!(!html.contains(secret), "{secret} on the page");
    }
    // Not allocated: nothing to print from a new order, no warehouse to choose yet.
    assert!(!html.contains("id=\"print-form\""));
    assert!(!html.contains("/warehouse\""));

    // The script is served, and the reveal is audited and shown on the page's audit list.
    let (status, script) = page(&c, &s, "/static/order_detail.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(script.contains("reveal-receiver"));
    let csrf = login(&c, &s, "alice", "owner-password").await;
    let (status, clear) = send(
        &c,
        &s,
        &csrf,
        Method::POST,
        &format!("/api/v1/orders/{id}/reveal-receiver"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{clear}");
    assert_eq!(clear["name"], "欧阳娜娜");
    assert_eq!(clear["phone"], "13755554321");
    let (_, audit) = call(
        &client(),
        Method::GET,
        format!("{}/api/v1/audit?entity_type=order&entity_id={id}", s.base),
        Some(&a.token),
        None,
    )
    .await;
    let reveals: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "receiver.reveal")
        .collect();
    assert_eq!(reveals.len(), 1, "{audit}");
    assert_eq!(reveals[0]["actor"]["name"], "alice");
    let (_, html) = page(&c, &s, &format!("/orders/{id}")).await;
    assert!(html.contains("data-action=\"receiver.reveal\""), "{html}");
    assert!(
        !html.contains("13755554321"),
        "the page itself stays masked"
    );

    // Held with a reason: the hold is listed with its message, and it may be approved.
    let (status, body) = send(
        &c,
        &s,
        &csrf,
        Method::POST,
        &format!("/api/v1/orders/{id}/hold"),
        Some(json!({"reason_code": "manual", "message": "买家要求改地址，等回复"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, html) = page(&c, &s, &format!("/orders/{id}")).await;
    assert!(html.contains("买家要求改地址，等回复"));
    assert!(html.contains("挂起原因"));
    assert!(html.contains(&format!("data-api=\"/api/v1/orders/{id}/approve\"")));

    // Cancelled: nothing is left to do.
    send(
        &c,
        &s,
        &csrf,
        Method::POST,
        &format!("/api/v1/orders/{id}/cancel"),
        None,
    )
    .await;
    let (_, html) = page(&c, &s, &format!("/orders/{id}")).await;
    assert!(html.contains("已取消"));
    assert!(html.contains("当前状态下没有可执行的操作"));
    assert!(!html.contains("data-api=\"/api/v1/orders/"));
}

async fn a_viewer_sees_the_order_without_actions_or_the_reveal(db: TestDb) {
    let (s, app) = start(db).await;
    let a = merchant(&s, &app, "商家A", "alice").await;
    let id = new_order(&s, &a, "DETAIL-2", "欧阳娜娜", "13755554321").await;
    let (viewer, viewer_csrf) = sub_account(&s, &a, "look", "viewer").await;
    let (status, html) = page(&viewer, &s, &format!("/orders/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("DETAIL-2") && html.contains("137****4321"));
    assert!(!html.contains("reveal-receiver"));
    assert!(!html.contains("data-api="), "a viewer has no buttons");
    assert!(!html.contains("13755554321"));
    // The reveal itself is refused to a viewer.
    let (status, out) = send(
        &viewer,
        &s,
        &viewer_csrf,
        Method::POST,
        &format!("/api/v1/orders/{id}/reveal-receiver"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(out["error"]["code"], "forbidden");
}

async fn another_tenants_order_or_a_missing_one_is_not_found(db: TestDb) {
    let (s, app) = start(db).await;
    let a = merchant(&s, &app, "商家A", "alice").await;
    let _b = merchant(&s, &app, "商家B", "bob").await;
    let id = new_order(&s, &a, "A-ONLY-77", "欧阳娜娜", "13755554321").await;
    let bob = client();
    login(&bob, &s, "bob", "owner-password").await;
    for path in [
        format!("/orders/{id}"),
        "/orders/99999999".to_string(),
        "/orders/abc".to_string(),
    ] {
        let (status, html) = page(&bob, &s, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(html.contains("找不到") || html.contains("不存在"), "{html}");
        for leaked in ["A-ONLY-77", "137****4321", "欧阳", "马克杯"] {
            assert!(!html.contains(leaked), "{path} leaked {leaked}");
        }
    }
    // Not logged in: the login page, no data.
    let (status, html) = page(&client(), &s, &format!("/orders/{id}")).await;
    assert!(status.is_redirection(), "{status}");
    assert!(!html.contains("A-ONLY-77"));
}

async fn the_order_page_renders_in_english(db: TestDb) {
    let (s, app) = start(db).await;
    let a = merchant(&s, &app, "商家A", "alice").await;
    let c = client();
    login(&c, &s, "alice", "owner-password").await;
    // The language switch remembers English in a cookie.
    c.get(format!("{}/lang/en", s.base)).send().await.unwrap();
    let resp = c
        .get(format!("{}/orders/{}", s.base, a.order))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    for expected in [
        "lang=\"en\"",
        "Order number",
        "To review",
        "Manual",
        "Receiver",
        ">Show<",
        "Approve",
        "Timeline",
    ] {
        assert!(html.contains(expected), "missing {expected}");
    }
    assert!(!html.contains("审核通过"));
}

async fn bulk_review_approve_hold_cancel_and_supplier_report_each_order(db: TestDb) {
    let (s, app) = start(db).await;
    let a = merchant(&s, &app, "商家A", "alice").await;
    let one = new_order(&s, &a, "BULK-1", "李雷", "13700000001").await;
    let two = new_order(&s, &a, "BULK-2", "韩梅梅", "13700000002").await;

    // Review: both new orders are reviewed (held or allocated, whatever review decides).
    let (status, out) = bulk(&s, &a.token, json!({"action": "review", "ids": [one, two]})).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["done"], json!([one, two]));
    assert_eq!(out["failed"], json!([]));
    assert_eq!(out["print_job_id"], Value::Null);

    // Hold needs a reason; with one, every chosen order is held with it.
    let (status, out) = bulk(&s, &a.token, json!({"action": "hold", "ids": [one]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{out}");
    assert_eq!(out["error"]["field"], "reason");
    let (status, out) = bulk(
        &s,
        &a.token,
        json!({"action": "hold", "ids": [one, two], "reason": "等买家确认颜色"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["done"], json!([one, two]));
    assert_eq!(order_state(&s, &a, one).await, "on_hold");

    // Approve releases the holds; an unknown id fails on its own, the others go through.
    let (status, out) = bulk(
        &s,
        &a.token,
        json!({"action": "approve", "ids": [one, 99999999, two]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["done"], json!([one, two]));
    assert_eq!(out["failed"][0]["order_id"], 99999999);
    assert_eq!(out["failed"][0]["code"], "not_found");
    assert_ne!(order_state(&s, &a, one).await, "on_hold");

    // Assign every line to the supplier (代发).
    let (status, out) = bulk(
        &s,
        &a.token,
        json!({"action": "assign_supplier", "ids": [two], "supplier_id": a.supplier}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["done"], json!([two]));
    let (_, lines) = call(
        &client(),
        Method::GET,
        format!("{}/api/v1/orders/{two}/dropship", s.base),
        Some(&a.token),
        None,
    )
    .await;
    assert_eq!(lines.as_array().map(Vec::len), Some(1), "{lines}");

    // Cancel: the first cancels; the already shipped fixture order fails with its reason.
    let (_, shipped) = call(
        &client(),
        Method::GET,
        format!("{}/api/v1/orders?platform_order_id=M2", s.base),
        Some(&a.token),
        None,
    )
    .await;
    let shipped = shipped["items"][0]["id"].as_i64().unwrap();
    let (status, out) = bulk(
        &s,
        &a.token,
        json!({"action": "cancel", "ids": [one, shipped]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["done"], json!([one]));
    assert_eq!(out["failed"][0]["order_id"], shipped);
    assert_eq!(out["failed"][0]["code"], "illegal_transition");
    assert!(!out["failed"][0]["message"].as_str().unwrap().is_empty());
    assert_eq!(order_state(&s, &a, one).await, "cancelled");
}

async fn a_bulk_filter_is_resolved_like_the_order_list_and_capped(db: TestDb) {
    let (s, app) = start(db).await;
    let a = merchant(&s, &app, "商家A", "alice").await;
    let one = new_order(&s, &a, "FILTER-1", "李雷", "13700000001").await;
    let _two = new_order(&s, &a, "FILTER-2", "韩梅梅", "13700000002").await;

    // By phone's last four: only the first.
    let (status, out) = bulk(
        &s,
        &a.token,
        json!({"action": "hold", "filter": {"phone": "0001"}, "reason": "核对"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["done"], json!([one]));
    // By state: every new order (the fixture's M1 and FILTER-2), none of the held one.
    let (status, out) = bulk(
        &s,
        &a.token,
        json!({"action": "hold", "filter": {"state": "new"}, "reason": "核对"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["done"].as_array().unwrap().len(), 2, "{out}");
    assert!(!out["done"].as_array().unwrap().contains(&json!(one)));

    // A filter that matches nothing, both ids and filter, neither, a bad filter: refused.
    for body in [
        json!({"action": "approve", "filter": {"platform_order_id": "NOPE"}}),
        json!({"action": "approve", "ids": [one], "filter": {}}),
        json!({"action": "approve"}),
        json!({"action": "approve", "ids": []}),
        json!({"action": "approve", "filter": {"phone": "12"}}),
    ] {
        let (status, out) = bulk(&s, &a.token, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {out}");
    }
    // More than 5,000 orders at once: refused as a whole, with a clear message.
    let ids: Vec<i64> = (1..=5_001).collect();
    let (status, out) = bulk(&s, &a.token, json!({"action": "approve", "ids": ids})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{out}");
    assert!(out["error"]["message"].as_str().unwrap().contains("5000"));
    // An unknown action is a bad request.
    let (status, _) = bulk(&s, &a.token, json!({"action": "explode", "ids": [one]})).await;
    assert!(status.is_client_error());
}

async fn a_role_without_the_right_is_refused_the_whole_bulk_action(db: TestDb) {
    let (s, app) = start(db).await;
    let a = merchant(&s, &app, "商家A", "alice").await;
    let one = new_order(&s, &a, "ROLE-1", "李雷", "13700000001").await;
    let (viewer, viewer_csrf) = sub_account(&s, &a, "look", "viewer").await;
    let (warehouse, warehouse_csrf) = sub_account(&s, &a, "wh2", "warehouse").await;
    let (service, service_csrf) = sub_account(&s, &a, "cs1", "service").await;
    for (c, csrf, action) in [
        (&viewer, &viewer_csrf, "approve"),
        (&viewer, &viewer_csrf, "print"),
        (&warehouse, &warehouse_csrf, "cancel"),
        (&warehouse, &warehouse_csrf, "review"),
        (&warehouse, &warehouse_csrf, "assign_supplier"),
        (&service, &service_csrf, "ship"),
        (&service, &service_csrf, "merge"),
        (&service, &service_csrf, "choose_carrier"),
    ] {
        let (status, out) = send(
            c,
            &s,
            csrf,
            Method::POST,
            "/api/v1/orders/bulk",
            Some(json!({"action": action, "ids": [one], "reason": "x", "carrier": "SF", "supplier_id": a.supplier})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{action}: {out}");
        assert_eq!(out["error"]["code"], "forbidden");
    }
    assert_eq!(order_state(&s, &a, one).await, "new", "untouched");
    // The service role may hold.
    let (status, out) = send(
        &service,
        &s,
        &service_csrf,
        Method::POST,
        "/api/v1/orders/bulk",
        Some(json!({"action": "hold", "ids": [one], "reason": "核对"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["done"], json!([one]));
}

async fn another_tenants_ids_fail_as_not_found_and_are_untouched(db: TestDb) {
    let (s, app) = start(db).await;
    let a = merchant(&s, &app, "商家A", "alice").await;
    let b = merchant(&s, &app, "商家B", "bob").await;
    let theirs = new_order(&s, &a, "A-BULK", "李雷", "13700000001").await;
    for body in [
        json!({"action": "approve", "ids": [theirs, b.order]}),
        json!({"action": "hold", "ids": [theirs, b.order], "reason": "x"}),
        json!({"action": "cancel", "ids": [theirs, b.order]}),
    ] {
        let (status, out) = bulk(&s, &b.token, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        assert_eq!(out["failed"].as_array().unwrap().len(), 1, "{out}");
        assert_eq!(out["failed"][0]["order_id"], theirs);
        assert_eq!(out["failed"][0]["code"], "not_found");
        assert_eq!(out["done"], json!([b.order]));
        assert!(!out.to_string().contains("A-BULK") && !out.to_string().contains("李"));
    }
    assert_eq!(order_state(&s, &a, theirs).await, "new");
    // A filter only ever finds the caller's own orders.
    let (status, out) = bulk(
        &s,
        &b.token,
        json!({"action": "hold", "filter": {"platform_order_id": "A-BULK"}, "reason": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{out}");
    assert_eq!(order_state(&s, &a, theirs).await, "new");
}

async fn the_export_link_takes_ids(db: TestDb) {
    let (s, app) = start(db).await;
    let a = merchant(&s, &app, "商家A", "alice").await;
    let one = new_order(&s, &a, "EXP-1", "李雷", "13700000001").await;
    let _two = new_order(&s, &a, "EXP-2", "韩梅梅", "13700000002").await;
    let resp = client()
        .get(format!(
            "{}/api/v1/orders/export?format=csv&ids={one}",
            s.base
        ))
        .bearer_auth(&a.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let csv = resp.text().await.unwrap();
    assert!(csv.contains("EXP-1") && !csv.contains("EXP-2"), "{csv}");
    assert!(!csv.contains("13700000001"), "masked: {csv}");
    let (status, _) = call(
        &client(),
        Method::GET,
        format!("{}/api/v1/orders/export?ids=1,x", s.base),
        Some(&a.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Another tenant's id exports nothing of A's.
    let b = merchant(&s, &app, "商家B", "bob").await;
    let resp = client()
        .get(format!(
            "{}/api/v1/orders/export?format=csv&ids={one}",
            s.base
        ))
        .bearer_auth(&b.token)
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    assert!(!text.contains("EXP-1"), "{text}");
}

both_backends!(
    the_order_page_shows_the_order_masked_with_the_actions_its_state_allows,
    a_viewer_sees_the_order_without_actions_or_the_reveal,
    another_tenants_order_or_a_missing_one_is_not_found,
    the_order_page_renders_in_english,
    bulk_review_approve_hold_cancel_and_supplier_report_each_order,
    a_bulk_filter_is_resolved_like_the_order_list_and_capped,
    a_role_without_the_right_is_refused_the_whole_bulk_action,
    another_tenants_ids_fail_as_not_found_and_are_untouched,
    the_export_link_takes_ids,
);
