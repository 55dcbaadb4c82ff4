//! The printing pages (打单) and the bulk actions that need a carrier account (print, ship,
//! choose carrier, merge), against the e-waybill emulator, on SQLite and PostgreSQL: the job
//! list, the job page with its label and pick-list PDFs (checked by `qpdf --check`), reprint
//! with a reason (same numbers, audited), 403 for a role without printing, 404 for another
//! tenant, English.

mod common;
use common::*;

struct Printing {
    s: Server,
    a: Merchant,
    b: Merchant,
    _sim: fahuo_sim::SimHandle,
}

/// A and B, A with stock of its mug and a 中通 account at the emulated 快递鸟.
async fn setup(db: TestDb) -> Printing {
    let (s, app) = start(db).await;
    let a = merchant(&s, &app, "商家A", "alice").await;
    let b = merchant(&s, &app, "商家B", "bob").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = fahuo_sim::start(fahuo_sim::SimConfig::new(7, 0), listener).unwrap();
    let info = sim.info();
    let kd = info
        .kdniao
        .accounts
        .iter()
        .find(|x| x.shipper_code == "ZTO")
        .unwrap();
    let t = Some(a.token.as_str());
    let (status, account) = call(
        &client(),
        Method::POST,
        format!("{}/api/v1/carrier-accounts", s.base),
        t,
        Some(json!({
            "name": "中通 快递鸟", "service": "kdniao", "carrier": "ZTO",
            "base_url": info.kdniao_base_url, "sender_name": "杭州仓发货组",
            "sender_phone": "13900001111", "quota": 10000,
            "credentials": {"api_key": info.kdniao.ebusiness_id, "api_secret": info.kdniao.app_key,
                "account": kd.customer_name, "account_secret": kd.customer_pwd}
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{account}");
    let (status, moved) = call(
        &client(),
        Method::POST,
        format!("{}/api/v1/stock/movements", s.base),
        t,
        Some(json!({"warehouse_id": a.warehouse, "sku_id": a.sku, "kind": "inbound", "quantity": 100})),
    )
    .await;
    assert!(status.is_success(), "{moved}");
    Printing { s, a, b, _sim: sim }
}

async fn new_order(p: &Printing, number: &str, name: &str, phone: &str) -> i64 {
    let mut body = order_body(p.a.shop, number);
    body["receiver"]["name"] = json!(name);
    body["receiver"]["phone"] = json!(phone);
    let (status, created) = call(
        &client(),
        Method::POST,
        format!("{}/api/v1/orders", p.s.base),
        Some(&p.a.token),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["order"]["id"].as_i64().unwrap()
}

async fn bulk(p: &Printing, token: &str, body: Value) -> Value {
    let (status, out) = call(
        &client(),
        Method::POST,
        format!("{}/api/v1/orders/bulk", p.s.base),
        Some(token),
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}: {out}");
    out
}

/// The owner's console client.
async fn alice(p: &Printing) -> (Client, String) {
    let c = client();
    let csrf = login(&c, &p.s, "alice", "owner-password").await;
    (c, csrf)
}

async fn bytes(c: &Client, p: &Printing, path: &str) -> (StatusCode, String, Vec<u8>) {
    let resp = c.get(format!("{}{path}", p.s.base)).send().await.unwrap();
    let status = resp.status();
    let kind = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, resp.bytes().await.unwrap().to_vec())
}

fn qpdf_check(pdf: &[u8], name: &str) {
    assert!(pdf.starts_with(b"%PDF-"), "{name} is not a PDF");
    // The SQLite and PostgreSQL variants run at once in this process and check files of the
    // same names: each check gets its own file, or one removes the other's before qpdf reads it.
    static CHECKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CHECKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("fahuo-{}-{n}-{name}.pdf", std::process::id()));
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("qpdf")
        .arg("--check")
        .arg(&path)
        .output()
        .expect("qpdf is needed by this test: apt-get install -y qpdf");
    std::fs::remove_file(&path).ok();
    assert!(
        out.status.success(),
        "qpdf --check {name}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn tracking_numbers(p: &Printing, job: i64) -> Vec<(i64, String, i64)> {
    let (status, job) = call(
        &client(),
        Method::GET,
        format!("{}/api/v1/print-jobs/{job}", p.s.base),
        Some(&p.a.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{job}");
    job["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["package_id"].as_i64().unwrap(),
                l["tracking_no"].as_str().unwrap().to_string(),
                l["reprint"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn bulk_merge_carrier_print_and_ship_go_through_their_use_cases(db: TestDb) {
    let p = setup(db).await;
    let t = p.a.token.clone();
    let one = new_order(&p, "MERGE-1", "王五", "13600000001").await;
    let two = new_order(&p, "MERGE-2", "王五", "13600000001").await;
    let alone = new_order(&p, "ALONE-3", "赵七", "13600000003").await;
    let out = bulk(
        &p,
        &t,
        json!({"action": "approve", "ids": [one, two, alone]}),
    )
    .await;
    assert_eq!(out["done"], json!([one, two, alone]));

    // Merge: the two to 王五 share one package; 赵七 has nobody to merge with.
    let out = bulk(&p, &t, json!({"action": "merge", "ids": [one, two, alone]})).await;
    assert_eq!(out["done"], json!([one, two]), "{out}");
    assert_eq!(out["failed"][0]["order_id"], alone);
    assert_eq!(out["failed"][0]["code"], "conflict");
    let (c, _) = alice(&p).await;
    let (_, html) = page(&c, &p.s, &format!("/orders/{one}")).await;
    assert!(
        html.contains(&format!("<a href=\"/orders/{two}\">")),
        "{html}"
    );
    assert!(html.contains(&format!("/api/v1/orders/{one}/unmerge")));
    // Merging again changes nothing and says it is done.
    let out = bulk(&p, &t, json!({"action": "merge", "ids": [one, two]})).await;
    assert_eq!(out["done"], json!([one, two]), "{out}");

    // Choose carrier: 赵七's order ships with 中通 from the only warehouse.
    let out = bulk(
        &p,
        &t,
        json!({"action": "choose_carrier", "ids": [alone], "carrier": "ZTO"}),
    )
    .await;
    assert_eq!(out["done"], json!([alone]), "{out}");
    let (_, html) = page(&c, &p.s, &format!("/orders/{alone}")).await;
    assert!(html.contains("中通"), "{html}");
    let (status, _) = call(
        &client(),
        Method::POST,
        format!("{}/api/v1/orders/bulk", p.s.base),
        Some(&t),
        Some(json!({"action": "choose_carrier", "ids": [alone]})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a carrier is needed"
    );

    // Ship before printing: no number yet.
    let out = bulk(&p, &t, json!({"action": "ship", "ids": [alone]})).await;
    assert_eq!(out["failed"][0]["code"], "illegal_transition", "{out}");

    // Print: one job for the printable orders; the fixture's unreviewed order fails alone.
    let out = bulk(
        &p,
        &t,
        json!({"action": "print", "ids": [one, alone, p.a.order]}),
    )
    .await;
    assert_eq!(out["done"], json!([one, alone]), "{out}");
    assert_eq!(out["failed"][0]["order_id"], p.a.order);
    assert_eq!(out["failed"][0]["code"], "not_printed");
    let job = out["print_job_id"].as_i64().expect("a print job");
    let labels = tracking_numbers(&p, job).await;
    assert_eq!(
        labels.len(),
        2,
        "one package for the merged pair, one for 赵七"
    );
    let (_, html) = page(&c, &p.s, &format!("/orders/{two}")).await;
    assert!(
        html.contains(&labels[0].1),
        "the merged order shows its number"
    );

    // Ship: the printed order's package goes to the platform.
    let out = bulk(&p, &t, json!({"action": "ship", "ids": [alone]})).await;
    assert_eq!(out["done"], json!([alone]), "{out}");
    let (_, shipments) = call(
        &client(),
        Method::GET,
        format!("{}/api/v1/shipments?order_id={alone}", p.s.base),
        Some(&t),
        None,
    )
    .await;
    assert!(shipments.to_string().contains(&labels[1].1), "{shipments}");

    // Another tenant's ids are not found and nothing of A's is printed for B.
    let out = bulk(&p, &p.b.token, json!({"action": "print", "ids": [two]})).await;
    assert_eq!(out["failed"][0]["code"], "not_found", "{out}");
    assert_eq!(out["print_job_id"], Value::Null);
    let out = bulk(
        &p,
        &p.b.token,
        json!({"action": "merge", "ids": [one, two]}),
    )
    .await;
    assert_eq!(out["done"], json!([]), "{out}");
}

async fn the_printing_pages_preview_print_download_and_reprint(db: TestDb) {
    let p = setup(db).await;
    let t = p.a.token.clone();
    let one = new_order(&p, "PRINT-1", "王五", "13600000001").await;
    let two = new_order(&p, "PRINT-2", "赵七", "13600000003").await;
    bulk(&p, &t, json!({"action": "approve", "ids": [one, two]})).await;
    let (c, csrf) = alice(&p).await;

    // The list page offers to print given orders (prefilled from the order list).
    let (status, html) = page(&c, &p.s, &format!("/printing?orders={one},{two}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!(">{one},{two}</textarea>")), "{html}");
    assert!(html.contains("data-api=\"/api/v1/orders/bulk\""));
    assert!(html.contains("还没有打印任务"));
    let out = bulk(&p, &t, json!({"action": "print", "ids": [one, two]})).await;
    let job = out["print_job_id"].as_i64().unwrap();
    let labels = tracking_numbers(&p, job).await;
    assert_eq!(labels.len(), 2);

    let (_, html) = page(&c, &p.s, "/printing").await;
    assert!(
        html.contains(&format!("href=\"/printing/{job}\"")),
        "{html}"
    );
    assert!(html.contains(&format!("P{job}")));

    // The job page: previews, print, download, reprint, and the numbers printed.
    let (status, html) = page(&c, &p.s, &format!("/printing/{job}")).await;
    assert_eq!(status, StatusCode::OK);
    let labels_url = format!("/api/v1/print-jobs/{job}/labels");
    for hook in [
        format!("<iframe id=\"print-preview\" src=\"{labels_url}\""),
        "id=\"print-button\"".to_string(),
        format!("id=\"download-pdf\" class=\"button\" href=\"{labels_url}\""),
        "id=\"reprint-reason\"".to_string(),
        "id=\"reprint-button\"".to_string(),
        format!("data-src=\"/api/v1/print-jobs/{job}/pick-list\""),
        format!("data-api=\"/api/v1/print-jobs/{job}/reprint\""),
        "/static/printing.js".to_string(),
        labels[0].1.clone(),
        labels[1].1.clone(),
        "首次打印".to_string(),
    ] {
        assert!(html.contains(&hook), "missing {hook}");
    }
    let (status, script) = page(&c, &p.s, "/static/printing.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(script.contains("contentWindow.print()"));
    // What the page links to are real PDFs, for the session that views the page.
    let (status, kind, pdf) = bytes(&c, &p, &labels_url).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "application/pdf"));
    qpdf_check(&pdf, &format!("labels-{job}"));
    let (status, kind, pdf) = bytes(&c, &p, &format!("/api/v1/print-jobs/{job}/pick-list")).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "application/pdf"));
    qpdf_check(&pdf, &format!("pick-list-{job}"));

    // Reprint: a reason is required; then a new job with the same numbers, marked reprints.
    let reprint = |reason: Value| {
        c.post(format!("{}/api/v1/print-jobs/{job}/reprint", p.s.base))
            .header("x-csrf-token", &csrf)
            .json(&json!({ "reason": reason }))
            .send()
    };
    let resp = reprint(json!("  ")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = reprint(json!("面单卡纸")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let again: Value = resp.json().await.unwrap();
    let again_id = again["id"].as_i64().unwrap();
    assert_ne!(again_id, job);
    let reprinted = tracking_numbers(&p, again_id).await;
    assert_eq!(
        reprinted
            .iter()
            .map(|(p, n, _)| (*p, n.clone()))
            .collect::<Vec<_>>(),
        labels
            .iter()
            .map(|(p, n, _)| (*p, n.clone()))
            .collect::<Vec<_>>(),
        "the same packages and numbers, in the same order"
    );
    assert!(reprinted.iter().all(|(_, _, r)| *r == 1), "{reprinted:?}");
    let (_, audit) = call(
        &client(),
        Method::GET,
        format!(
            "{}/api/v1/audit?entity_type=print_job&entity_id={again_id}",
            p.s.base
        ),
        Some(&t),
        None,
    )
    .await;
    let entry = &audit["items"][0];
    assert_eq!(entry["action"], "labels.reprint", "{audit}");
    assert_eq!(entry["actor"]["name"], "alice");
    assert_eq!(entry["after"]["reason"], "面单卡纸");
    let (_, html) = page(&c, &p.s, &format!("/printing/{again_id}")).await;
    assert!(html.contains("面单卡纸") && html.contains(&labels[0].1));
    let (status, _, pdf) = bytes(&c, &p, &format!("/api/v1/print-jobs/{again_id}/labels")).await;
    assert_eq!(status, StatusCode::OK);
    qpdf_check(&pdf, &format!("reprint-{again_id}"));

    // A warehouse account prints too; a viewer is refused the pages and sees no numbers.
    let (wh, _) = sub_account(&p.s, &p.a, "wh1", "warehouse").await;
    let (status, html) = page(&wh, &p.s, &format!("/printing/{job}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&labels[0].1));
    let (viewer, _) = sub_account(&p.s, &p.a, "look", "viewer").await;
    for path in ["/printing".to_string(), format!("/printing/{job}")] {
        let (status, html) = page(&viewer, &p.s, &path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(!html.contains(&labels[0].1) && !html.contains(&format!("P{job}")));
    }

    // Another tenant: 404 with none of the data, and no reprint of A's job.
    let bob = client();
    let bob_csrf = login(&bob, &p.s, "bob", "owner-password").await;
    for path in [
        format!("/printing/{job}"),
        "/printing/99999999".into(),
        "/printing/x".into(),
    ] {
        let (status, html) = page(&bob, &p.s, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!html.contains(&labels[0].1));
    }
    let (_, html) = page(&bob, &p.s, "/printing").await;
    assert!(!html.contains(&format!("href=\"/printing/{job}\"")));
    let resp = bob
        .post(format!("{}/api/v1/print-jobs/{job}/reprint", p.s.base))
        .header("x-csrf-token", &bob_csrf)
        .json(&json!({"reason": "试试"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(tracking_numbers(&p, job).await, labels, "A's job unchanged");

    // English (the language switch remembers it in a cookie).
    c.get(format!("{}/lang/en", p.s.base)).send().await.unwrap();
    let resp = c
        .get(format!("{}/printing/{job}", p.s.base))
        .send()
        .await
        .unwrap();
    let html = resp.text().await.unwrap();
    for expected in [
        "Label preview",
        "Download PDF",
        "Why reprint (required)",
        "Pick list",
    ] {
        assert!(html.contains(expected), "missing {expected}");
    }
    let resp = c
        .get(format!("{}/printing", p.s.base))
        .send()
        .await
        .unwrap();
    assert!(resp.text().await.unwrap().contains("Recent print jobs"));
}

both_backends!(
    bulk_merge_carrier_print_and_ship_go_through_their_use_cases,
    the_printing_pages_preview_print_download_and_reprint,
);
