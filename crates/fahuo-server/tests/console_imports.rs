//! The imports page (导入) over real HTTP, on SQLite and PostgreSQL: it renders for roles that
//! edit orders (the tracking-number section only for roles that may ship) and is refused
//! (403, no form) to the others; the calls its script makes — the file itself as the body,
//! with the session cookie and the CSRF header — preview then apply an order file and a
//! tracking-number file; a file that cannot be read gives the API's clear message and
//! nothing is created; another tenant cannot import into the merchant's shop.

mod common;
use common::*;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// An upload as `imports.js` makes it: the file as the body with its content type, the
/// session cookie and the CSRF header.
async fn upload(
    c: &Client,
    s: &Server,
    csrf: &str,
    url: &str,
    content_type: &str,
    file: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    let resp = c
        .post(format!("{}{url}", s.base))
        .header("X-CSRF-Token", csrf)
        .header("Content-Type", content_type)
        .body(file)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A call as `fahuo.api` makes it (no body).
async fn api(c: &Client, s: &Server, csrf: &str, method: Method, url: &str) -> (StatusCode, Value) {
    let resp = c
        .request(method, format!("{}{url}", s.base))
        .header("X-CSRF-Token", csrf)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The merchant's order numbers, as its integration sees them.
async fn order_numbers(s: &Server, m: &Merchant) -> Vec<String> {
    let (status, list) = call(
        &client(),
        Method::GET,
        format!("{}/api/v1/orders?limit=100", s.base),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["platform_order_id"].as_str().unwrap().to_string())
        .collect()
}

fn sf(n: u64) -> String {
    format!("SF{:013}", 1_385_628_800_000u64 + n)
}

both_backends!(
    the_page_renders_for_roles_that_edit_orders_and_refuses_the_others,
    an_order_file_is_previewed_then_applied_and_a_bad_file_creates_nothing,
    a_tracking_file_is_previewed_applied_and_reported_row_by_row
);

async fn the_page_renders_for_roles_that_edit_orders_and_refuses_the_others(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "商家A", "alice").await;
    let owner = client();
    login(&owner, &s, "alice", "owner-password").await;
    let (status, html) = page(&owner, &s, "/imports").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    for hook in [
        "id=\"order-file\"",
        "id=\"order-shop\"",
        "id=\"order-preview-button\"",
        "id=\"order-apply-button\"",
        "id=\"order-result\"",
        "id=\"shipment-file\"",
        "id=\"shipment-preview-button\"",
        "id=\"shipment-apply-button\"",
        "id=\"shipment-result\"",
        "/static/imports.js",
        "/api/v1/orders/import/template.xlsx",
        "/api/v1/shipment-imports/template",
        "导入订单",
    ] {
        assert!(html.contains(hook), "{hook} missing from the imports page");
    }
    assert!(
        html.contains(&format!("<option value=\"{}\">线下</option>", m.shop)),
        "the manual shop to import into"
    );
    let (status, js) = page(&owner, &s, "/static/imports.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(js.contains("X-CSRF-Token") && js.contains("mode="));

    // Customer service edits orders but does not ship: orders only.
    let (cs, _) = sub_account(&s, &m, "cs1", "service").await;
    let (status, html) = page(&cs, &s, "/imports").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"order-file\""));
    assert!(
        !html.contains("id=\"shipment-file\""),
        "no tracking-number import for a role that may not ship"
    );
    for (name, role) in [("wh1", "warehouse"), ("vw1", "viewer"), ("fn1", "finance")] {
        let (c, _) = sub_account(&s, &m, name, role).await;
        let (status, html) = page(&c, &s, "/imports").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
        assert!(!html.contains("order-file"), "{role}: no form");
        assert!(!html.contains("线下"), "{role}: no shop");
    }

    // Another tenant sees its own shops only.
    let other = merchant(&s, &app, "商家B", "bob").await;
    let bob = client();
    login(&bob, &s, "bob", "owner-password").await;
    let (status, html) = page(&bob, &s, "/imports").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("value=\"{}\"", other.shop)));
    assert!(!html.contains(&format!("value=\"{}\"", m.shop)));

    // English.
    // English, chosen with the language link (a cookie).
    let (status, _) = page(&owner, &s, "/lang/en").await;
    assert!(status.is_redirection(), "{status}");
    let (status, html) = page(&owner, &s, "/imports").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Import orders") && html.contains("Import tracking numbers"));
    assert!(html.contains("Duplicate (already imported)"));
    assert!(!html.contains("导入订单"));
}

async fn an_order_file_is_previewed_then_applied_and_a_bad_file_creates_nothing(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "商家A", "alice").await;
    let c = client();
    let csrf = login(&c, &s, "alice", "owner-password").await;
    let before = order_numbers(&s, &m).await;
    let preview = format!("/api/v1/orders/import?shop_id={}&mode=preview", m.shop);
    let commit = format!("/api/v1/orders/import?shop_id={}&mode=commit", m.shop);

    // A file of three orders: a new one, one the shop already has (M1), one with a bad phone.
    let file = format!(
        "{}M1,赵六,13900001111,广东省,深圳市,南山区,科技园南区1栋,马克杯,MUG,1,39\n\
         IMP-BAD,钱七,12345,广东省,深圳市,南山区,科技园南区2栋,马克杯,MUG,1,39\n",
        import_csv("IMP-1")
    );
    let (status, report) = upload(&c, &s, &csrf, &preview, "text/csv", file.clone()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["committed"], false);
    assert_eq!(report["summary"]["ok"], 1, "{report}");
    assert_eq!(report["summary"]["duplicates"], 1);
    assert_eq!(report["summary"]["failed"], 1);
    let bad = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ok"] == false)
        .expect("the row in error");
    assert_eq!(bad["order_no"], "IMP-BAD");
    assert!(!bad["errors"][0]["message_zh"].as_str().unwrap().is_empty());
    let statuses: Vec<(&str, &str)> = report["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["platform_order_id"].as_str().unwrap(),
                o["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(statuses.contains(&("IMP-1", "new")), "{statuses:?}");
    assert!(statuses.contains(&("M1", "already_imported")));
    assert!(statuses.contains(&("IMP-BAD", "invalid")));
    let imp = report["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["platform_order_id"] == "IMP-1")
        .unwrap();
    assert_eq!(imp["receiver"]["name"], "赵*", "receivers are masked");
    assert!(!report.to_string().contains("13900001111"));
    assert_eq!(
        order_numbers(&s, &m).await,
        before,
        "a preview creates nothing"
    );

    // Apply: the same file again, mode=commit.
    let (status, applied) = upload(&c, &s, &csrf, &commit, "text/csv", file.clone()).await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["committed"], true);
    assert_eq!(applied["summary"]["created"], 1);
    let after = order_numbers(&s, &m).await;
    assert!(after.contains(&"IMP-1".to_string()));
    assert!(!after.contains(&"IMP-BAD".to_string()));
    assert_eq!(after.len(), before.len() + 1);
    // Twice: nothing new.
    let (_, again) = upload(&c, &s, &csrf, &commit, "text/csv", file).await;
    assert_eq!(again["summary"]["created"], 0);

    // Files that cannot be read: the API's clear message, nothing created.
    let count = order_numbers(&s, &m).await.len();
    let no_columns = "名字,电话\n张三,13800001111\n".to_string();
    let (status, err) = upload(&c, &s, &csrf, &commit, "text/csv", no_columns).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["code"], "missing_columns");
    assert!(
        err["error"]["message_zh"]
            .as_str()
            .unwrap()
            .contains("缺少必填列"),
        "{err}"
    );
    let broken = b"PK\x03\x04 this is not really a workbook".to_vec();
    let (status, err) = upload(&c, &s, &csrf, &commit, XLSX, broken).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert!(!err["error"]["message_zh"].as_str().unwrap().is_empty());
    let (status, err) = upload(&c, &s, &csrf, &commit, "text/csv", Vec::new()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["code"], "empty_file");
    assert_eq!(order_numbers(&s, &m).await.len(), count, "nothing created");

    // Without the CSRF header the session may not import.
    let resp = c
        .post(format!("{}{commit}", s.base))
        .header("Content-Type", "text/csv")
        .body(import_csv("IMP-NOCSRF"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // Another tenant cannot import into this shop, nor see its orders.
    merchant(&s, &app, "商家B", "bob").await;
    let bob = client();
    let bob_csrf = login(&bob, &s, "bob", "owner-password").await;
    let (status, body) = upload(
        &bob,
        &s,
        &bob_csrf,
        &preview,
        "text/csv",
        import_csv("IMP-X"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(!body.to_string().contains("M1"));
    assert_eq!(order_numbers(&s, &m).await.len(), count);

    // A role that may not edit orders may not import through the API either.
    let (viewer, viewer_csrf) = sub_account(&s, &m, "vw1", "viewer").await;
    let (status, _) = upload(
        &viewer,
        &s,
        &viewer_csrf,
        &commit,
        "text/csv",
        import_csv("IMP-V"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(order_numbers(&s, &m).await.len(), count);
}

async fn a_tracking_file_is_previewed_applied_and_reported_row_by_row(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "商家A", "alice").await;
    let c = client();
    let csrf = login(&c, &s, "alice", "owner-password").await;
    let (status, body) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/orders/{}/approve", s.base, m.order),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A file the API cannot read: its message, and no import stored.
    let (status, err) = upload(
        &c,
        &s,
        &csrf,
        "/api/v1/shipment-imports?file_name=bad.xlsx",
        XLSX,
        b"PK\x03\x04 broken".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert!(!err["error"]["message_zh"].as_str().unwrap().is_empty());

    let file = format!(
        "订单编号,物流公司,运单号\r\nM1,顺丰速运,{}\r\nNOPE-1,顺丰速运,{}\r\n",
        sf(1),
        sf(2)
    );
    let (status, preview) = upload(
        &c,
        &s,
        &csrf,
        "/api/v1/shipment-imports?file_name=%E5%8D%95%E5%8F%B7.csv",
        "text/csv",
        file,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["ready"], 1, "{preview}");
    assert_eq!(preview["import"]["file_name"], "单号.csv");
    assert_eq!(preview["import"]["state"], "previewed");
    let rows = preview["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows[0]["verdict_code"].is_null(), "{}", rows[0]);
    assert_eq!(rows[1]["verdict_code"], "unknown_order");
    assert!(!rows[1]["verdict_message"].as_str().unwrap().is_empty());
    let id = preview["import"]["id"].as_i64().unwrap();

    // Another tenant cannot see or apply it.
    merchant(&s, &app, "商家B", "bob").await;
    let bob = client();
    let bob_csrf = login(&bob, &s, "bob", "owner-password").await;
    let (status, _) = api(
        &bob,
        &s,
        &bob_csrf,
        Method::POST,
        &format!("/api/v1/shipment-imports/{id}/apply"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = api(
        &bob,
        &s,
        &bob_csrf,
        Method::GET,
        &format!("/api/v1/shipment-imports/{id}"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.to_string().contains(&sf(1)));

    let (status, applying) = api(
        &c,
        &s,
        &csrf,
        Method::POST,
        &format!("/api/v1/shipment-imports/{id}/apply"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{applying}");
    // The apply runs as jobs, as a node runs them; the page polls the status meanwhile.
    let runner = fahuo_app::shipping::register(fahuo_app::batch::register(
        fahuo_app::jobs::JobRunner::new(app.clone(), "test"),
    ));
    let mut status_body = Value::Null;
    for _ in 0..50 {
        while runner.run_once().await.unwrap() > 0 {}
        let (status, body) = api(
            &c,
            &s,
            &csrf,
            Method::GET,
            &format!("/api/v1/shipment-imports/{id}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        status_body = body;
        if status_body["import"]["state"] == "applied" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status_body["import"]["state"], "applied", "{status_body}");
    let rows = status_body["rows"].as_array().unwrap();
    assert_eq!(rows[0]["order_no"], "M1");
    assert_eq!(rows[0]["outcome"], "queued", "{status_body}");
    assert!(rows[0]["shipment_id"].as_i64().is_some());
    assert_eq!(rows[1]["outcome"], "skipped");
    // The result file for download.
    let resp = c
        .get(format!("{}/api/v1/shipment-imports/{id}/result", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], XLSX);

    // A role that may not ship may not import numbers.
    let (cs, cs_csrf) = sub_account(&s, &m, "cs1", "service").await;
    let (status, _) = upload(
        &cs,
        &s,
        &cs_csrf,
        "/api/v1/shipment-imports?file_name=a.csv",
        "text/csv",
        format!("订单编号,物流公司,运单号\r\nM1,顺丰速运,{}\r\n", sf(3)),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
