//! The HTTP API over real HTTP, on SQLite and PostgreSQL: authentication, CSRF, tenant and
//! role scoping on every route, the error shape, and the console pages.

mod common;
use common::*;

both_backends!(
    every_route_is_listed_and_requires_authentication,
    another_tenant_sees_nothing_on_any_route,
    roles_are_enforced_over_http,
    cookie_sessions_need_the_csrf_token,
    errors_have_one_shape,
    logins_are_rate_limited,
    health_metrics_and_openapi_are_served,
    metrics_show_every_queue_and_the_runners_counts,
    stock_is_transferred_alerted_exported_and_counted_over_http,
    addresses_are_parsed_one_or_many,
    the_console_logs_in_and_lists_orders_masked,
    orders_are_imported_from_a_file_over_http,
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
            .replace("lines/{id}", "lines/{line_id}")
            .replace("photos/{id}", "photos/{n}")
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
        let reaches_a = [
            a.order,
            a.shop,
            a.warehouse,
            a.sku,
            a.token_id,
            a.shipment,
            a.supplier,
            a.after_sale,
        ]
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
    // Stock: B can neither move nor configure A's rows, and sees none of them.
    let (status, _) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/stock/movements", s.base),
        Some(&a.token),
        Some(
            json!({"warehouse_id": a.warehouse, "sku_id": a.sku, "kind": "inbound", "quantity": 37}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/stock/transfers",
            json!({"from_warehouse_id": a.warehouse, "to_warehouse_id": b.warehouse, "sku_id": a.sku, "units": 1}),
        ),
        (
            Method::POST,
            "/api/v1/stock/transfers",
            json!({"from_warehouse_id": b.warehouse, "to_warehouse_id": a.warehouse, "sku_id": b.sku, "units": 1}),
        ),
        (
            Method::PUT,
            "/api/v1/stock/threshold",
            json!({"warehouse_id": a.warehouse, "sku_id": a.sku, "threshold": 100}),
        ),
        (
            Method::PUT,
            "/api/v1/stock/safety",
            json!({"warehouse_id": a.warehouse, "sku_id": a.sku, "safety": 30}),
        ),
    ] {
        let (status, body) = call(
            &c,
            method,
            format!("{}{path}", s.base),
            Some(&b.token),
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (_, a_stock) = call(
        &c,
        Method::GET,
        format!("{}/api/v1/stock", s.base),
        Some(&a.token),
        None,
    )
    .await;
    let a_row = a_stock
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["warehouse_id"] == a.warehouse && r["sku_id"] == a.sku)
        .unwrap();
    assert_eq!(
        (a_row["on_hand"].as_i64(), a_row["safety"].as_i64()),
        (Some(37), Some(0)),
        "B's inbound, threshold and safety did not land on A's row"
    );
    let (status, _) = call(
        &c,
        Method::PUT,
        format!("{}/api/v1/stock/threshold", s.base),
        Some(&a.token),
        Some(json!({"warehouse_id": a.warehouse, "sku_id": a.sku, "threshold": 100})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, alerts) = call(
        &c,
        Method::GET,
        format!("{}/api/v1/stock/alerts", s.base),
        Some(&b.token),
        None,
    )
    .await;
    assert!(
        alerts
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["warehouse_id"] != a.warehouse),
        "{alerts}"
    );
    // B's export holds none of A's 37 units.
    let export = c
        .get(format!("{}/api/v1/stock/export", s.base))
        .bearer_auth(&b.token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::Cursor::new(export.to_vec())).unwrap();
    let range = wb.worksheet_range("库存").unwrap();
    assert!(
        range
            .rows()
            .skip(1)
            .all(|r| r[6] != calamine::Data::Float(37.0)),
        "B's export shows A's stock"
    );
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
            req = with_body(req, b);
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
        // Parsing an address and exporting the orders one may see (masked) are reads: every
        // role may do them.
        .filter(|(method, path, _)| {
            *method != Method::GET
                && !path.contains("/address/")
                && !path.ends_with("/orders/export")
                && !path.ends_with("/after-sales/scan")
        })
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

async fn metrics_show_every_queue_and_the_runners_counts(db: TestDb) {
    use chrono::Duration;
    use fahuo_app::jobs::{JobError, JobRunner};
    use fahuo_store::jobs::NewJob;
    let (s, app) = start(db).await;
    // One process records both backends' runs: kinds named per backend keep them apart.
    let kind = |k: &str| format!("test.{k}.{:?}", app.store().backend()).to_lowercase();
    let (ok, poison, later) = (kind("ok"), kind("poison"), kind("later"));
    let runner = JobRunner::new(app.clone(), "metrics-test")
        .register(&ok, |_, _| Box::pin(async { Ok(()) }))
        .register(&poison, |_, _| {
            Box::pin(async { Err(JobError::Permanent("refused".into())) })
        })
        .register(&later, |_, _| Box::pin(async { Ok(()) }));
    let now = app.now();
    for (k, at) in [
        (&ok, now),
        (&poison, now),
        (&later, now + Duration::hours(1)),
    ] {
        let job = NewJob::new(k, json!({}), at);
        app.store().enqueue(&job, now).await.unwrap();
    }
    assert_eq!(
        runner.run_once().await.unwrap(),
        3,
        "the two due jobs ran, and the runner's own maintenance job"
    );

    let metrics = client()
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |series: String| -> Option<f64> {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series.as_str())?.trim().parse().ok())
    };
    for (series, expected) in [
        (format!("fahuo_job_attempts_total{{kind=\"{ok}\"}}"), 1.0),
        (
            format!("fahuo_job_attempts_total{{kind=\"{poison}\"}}"),
            1.0,
        ),
        (
            format!("fahuo_job_failures_total{{kind=\"{poison}\",outcome=\"dead\"}}"),
            1.0,
        ),
        (
            format!("fahuo_job_duration_seconds_count{{kind=\"{ok}\"}}"),
            1.0,
        ),
        (
            format!("fahuo_queue_jobs{{kind=\"{poison}\",state=\"dead\"}}"),
            1.0,
        ),
        (
            format!("fahuo_queue_jobs{{kind=\"{later}\",state=\"scheduled\"}}"),
            1.0,
        ),
        (
            format!("fahuo_queue_jobs{{kind=\"{later}\",state=\"ready\"}}"),
            0.0,
        ),
    ] {
        assert_eq!(
            value(series.clone()),
            Some(expected),
            "{series} in\n{metrics}"
        );
    }
    assert_eq!(
        value(format!("fahuo_job_failures_total{{kind=\"{ok}\",")),
        None,
        "a job that succeeded counts no failure"
    );
    assert!(
        !metrics.contains(&format!("fahuo_queue_jobs{{kind=\"{ok}\"")),
        "a kind with only finished jobs has no queue"
    );
}

async fn the_console_logs_in_and_lists_orders_masked(db: TestDb) {
    let (s, app) = start(db).await;
    merchant(&s, &app, "商家A", "alice").await;
    let c = client();
    let page = c.get(format!("{}/orders", s.base)).send().await.unwrap();
    assert_eq!(
        page.headers()["location"],
        "/login?next=/orders",
        "pages need a login"
    );
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
    // The reports page draws its charts on the server: inline SVG, no script needed.
    let reports = c
        .get(format!("{}/reports?from=2026-01-01&to=2026-12-31", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(reports.status(), StatusCode::OK);
    let html = reports.text().await.unwrap();
    assert!(
        html.contains("24 小时揽收率") && html.contains("<svg"),
        "{html}"
    );
    let bad = c
        .get(format!("{}/reports?from=2026-12-31&to=2026-01-01", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(bad.contains("日期有误"), "{bad}");
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

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn orders_are_imported_from_a_file_over_http(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "商家A", "alice").await;
    let c = client();
    let url = |query: &str| format!("{}/api/v1/orders/import?shop_id={}{query}", s.base, m.shop);
    let post = |url: String, content_type: Option<&'static str>, body: Vec<u8>| {
        let mut req = c.post(url).bearer_auth(&m.token).body(body);
        if let Some(t) = content_type {
            req = req.header("content-type", t);
        }
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status();
            (status, resp.json::<Value>().await.unwrap())
        }
    };

    // A real xlsx: two orders, one of two lines; previewed with and without a content type.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let rows = [
        [
            "订单号",
            "收件人",
            "手机",
            "省",
            "市",
            "区",
            "详细地址",
            "商品名称",
            "数量",
            "单价",
        ],
        [
            "X-1",
            "赵六",
            "13900001111",
            "广东省",
            "深圳市",
            "南山区",
            "科技园1栋",
            "马克杯",
            "1",
            "39",
        ],
        ["X-1", "", "", "", "", "", "", "帆布包", "2", "19.9"],
        [
            "X-2",
            "钱七",
            "13900002222",
            "广东省",
            "深圳市",
            "福田区",
            "华强北2号",
            "围巾",
            "1",
            "59",
        ],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (col, cell) in row.iter().enumerate() {
            if !cell.is_empty() {
                ws.write_string(r as u32, col as u16, *cell).unwrap();
            }
        }
    }
    let file = wb.save_to_buffer().unwrap();
    for content_type in [Some(XLSX), None, Some("application/octet-stream")] {
        let (status, report) = post(url("&mode=preview"), content_type, file.clone()).await;
        assert_eq!(status, StatusCode::OK, "{content_type:?}: {report}");
        assert_eq!(report["format"], "xlsx");
        assert_eq!(report["committed"], false);
        assert_eq!(report["summary"]["orders"], 2);
        assert_eq!(report["summary"]["ok"], 2);
        assert_eq!(report["orders"][0]["rows"], json!([2, 3]));
        assert_eq!(
            report["orders"][0]["receiver"]["phone"], "139****1111",
            "masked"
        );
    }
    let orders_now = |c: Client| {
        let base = s.base.clone();
        let token = m.token.clone();
        async move {
            let (_, list) = call(
                &c,
                Method::GET,
                format!("{base}/api/v1/orders?limit=500"),
                Some(&token),
                None,
            )
            .await;
            list["items"].as_array().unwrap().len()
        }
    };
    assert_eq!(
        orders_now(c.clone()).await,
        2,
        "a preview stores nothing (M1 and M2 only)"
    );

    let (status, report) = post(url("&mode=commit"), Some(XLSX), file.clone()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (
            report["committed"].as_bool(),
            report["summary"]["created"].as_i64()
        ),
        (Some(true), Some(2))
    );
    assert_eq!(report["orders"][0]["status"], "created");
    let id = report["orders"][0]["order_id"].as_i64().unwrap();
    let (_, order) = call(
        &c,
        Method::GET,
        format!("{}/api/v1/orders/{id}", s.base),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(order["lines"].as_array().unwrap().len(), 2);
    assert_eq!(order["lines"][1]["unit_price"], 1990);
    assert_eq!(order["paid_total_fen"], 3900 + 2 * 1990);
    let (_, report) = post(url("&mode=commit"), Some(XLSX), file.clone()).await;
    assert_eq!(
        (
            report["summary"]["created"].as_i64(),
            report["summary"]["duplicates"].as_i64()
        ),
        (Some(0), Some(2))
    );
    assert_eq!(report["orders"][1]["status"], "already_imported");
    assert_eq!(orders_now(c.clone()).await, 4);

    // GBK CSV with a bad row: refused as a whole with only_if_clean, else the good order goes in.
    let (gbk, _, _) = encoding_rs::GBK.encode(
        "订单号,收件人,手机,省,市,区,详细地址,商品名称,数量\r\n\
         G-1,孙八,13900003333,浙江省,杭州市,西湖区,文三路1号,马克杯,1\r\n\
         G-2,周九,1234,浙江省,杭州市,西湖区,文三路2号,马克杯,1\r\n",
    );
    let (status, report) = post(
        url("&mode=commit&only_if_clean=true"),
        Some("text/csv"),
        gbk.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            report["committed"].as_bool(),
            report["summary"]["created"].as_i64()
        ),
        (Some(false), Some(0))
    );
    assert_eq!(report["encoding"], "gb18030");
    let bad = &report["rows"][1];
    assert_eq!(
        (bad["row"].as_i64(), bad["ok"].as_bool()),
        (Some(3), Some(false))
    );
    assert_eq!(bad["errors"][0]["column"], "手机");
    assert!(
        bad["errors"][0]["message_zh"]
            .as_str()
            .unwrap()
            .contains("手机号")
    );
    assert_eq!(orders_now(c.clone()).await, 4);
    let (_, report) = post(url("&mode=commit"), Some("text/csv"), gbk.to_vec()).await;
    assert_eq!(report["summary"]["created"], 1);
    assert_eq!(report["summary"]["failed"], 1);

    // A file that cannot be imported at all is one error in the API's error shape.
    let (status, body) = post(url(""), Some("text/csv"), Vec::new()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("empty_file"))
    );
    assert_eq!(body["error"]["message_zh"], "文件是空的");
    let (status, body) = post(url(""), Some("text/csv"), "订单号,收件人\nA,张三\n".into()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("missing_columns"))
    );
    assert!(
        body["error"]["message_zh"]
            .as_str()
            .unwrap()
            .contains("数量"),
        "{body}"
    );
    let (status, body) = post(url(""), Some("application/json"), b"{}".to_vec()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_media_type")
        )
    );
    // The server refuses from the Content-Length alone and may close before the client has
    // finished writing (a broken pipe here); when the answer arrives, it says why.
    let oversized = c
        .post(url(""))
        .bearer_auth(&m.token)
        .header("content-type", "text/csv")
        .body(vec![b'a'; 10 * 1024 * 1024 + 1])
        .send()
        .await;
    match oversized {
        Ok(resp) => {
            let status = resp.status();
            let body: Value = resp.json().await.unwrap();
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (StatusCode::PAYLOAD_TOO_LARGE, Some("file_too_large"))
            );
        }
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    let (status, body) = post(
        format!("{}/api/v1/orders/import", s.base),
        Some("text/csv"),
        b"x".to_vec(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );

    // The template is a real xlsx with fahuo's headers.
    let resp = c
        .get(format!("{}/api/v1/orders/import/template.xlsx", s.base))
        .bearer_auth(&m.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], XLSX);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let bytes = resp.bytes().await.unwrap().to_vec();
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::Cursor::new(bytes.clone())).unwrap();
    let sheet = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&sheet).unwrap();
    let headers: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(&headers[..3], ["订单号", "收件人", "手机"]);
    assert!(headers.contains(&"商品名称".to_string()) && headers.contains(&"数量".to_string()));
    // ... and importing it as it is previews its example order cleanly.
    let (status, report) = post(url(""), None, bytes).await;
    assert_eq!(
        (status, report["summary"]["ok"].as_i64()),
        (StatusCode::OK, Some(1)),
        "{report}"
    );

    let doc: Value = serde_json::from_str(fahuo_server::openapi_json()).unwrap();
    assert!(
        doc["paths"]["/api/v1/orders/import"]["post"]["requestBody"]["content"]["text/csv"]
            .is_object()
    );
    assert!(doc["components"]["schemas"]["ImportReport"].is_object());
}

async fn stock_is_transferred_alerted_exported_and_counted_over_http(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "商家A", "alice").await;
    let c = client();
    let t = Some(m.token.as_str());
    let api = |path: &str| format!("{}/api/v1{path}", s.base);
    let (_, gz) = call(&c, Method::POST, api("/warehouses"), t, Some(json!({"code": "GZ01", "name": "广州仓", "province": "广东省", "city": "广州市", "county": "白云区", "address": "x"}))).await;
    let gz = gz["id"].as_i64().unwrap();
    let (status, _) = call(
        &c,
        Method::POST,
        api("/stock/movements"),
        t,
        Some(json!({"warehouse_id": m.warehouse, "sku_id": m.sku, "kind": "inbound", "quantity": 10})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let transfer = |units: i64| json!({"from_warehouse_id": m.warehouse, "to_warehouse_id": gz, "sku_id": m.sku, "units": units, "note": "补货"});
    let (status, body) = call(
        &c,
        Method::POST,
        api("/stock/transfers"),
        t,
        Some(transfer(4)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["from"]["on_hand"].as_i64(),
            body["to"]["on_hand"].as_i64()
        ),
        (Some(6), Some(4))
    );
    let (status, body) = call(
        &c,
        Method::POST,
        api("/stock/transfers"),
        t,
        Some(transfer(7)),
    )
    .await;
    assert_eq!(
        (
            status,
            body["error"]["code"].as_str(),
            body["error"]["message_zh"].as_str()
        ),
        (
            StatusCode::CONFLICT,
            Some("insufficient_stock"),
            Some("库存不足")
        )
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("6 available"),
        "{body}"
    );
    let (status, body) = call(&c, Method::POST, api("/stock/transfers"), t, Some(json!({"from_warehouse_id": m.warehouse, "to_warehouse_id": gz, "sku_id": m.sku, "units": -1}))).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("units"))
    );

    let (status, _) = call(
        &c,
        Method::PUT,
        api("/stock/threshold"),
        t,
        Some(json!({"warehouse_id": m.warehouse, "sku_id": m.sku, "threshold": 5})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, alerts) = call(&c, Method::GET, api("/stock/alerts"), t, None).await;
    assert_eq!(alerts.as_array().unwrap().len(), 0, "6 available > 5");
    let (status, _) = call(
        &c,
        Method::PUT,
        api("/stock/safety"),
        t,
        Some(json!({"warehouse_id": m.warehouse, "sku_id": m.sku, "safety": 2})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, alerts) = call(&c, Method::GET, api("/stock/alerts"), t, None).await;
    assert_eq!(alerts[0]["warehouse_code"], "HZ01");
    assert_eq!(alerts[0]["sku_code"], "MUG");
    assert_eq!(
        (
            alerts[0]["available"].as_i64(),
            alerts[0]["low_stock_threshold"].as_i64()
        ),
        (Some(4), Some(5))
    );

    let export = c
        .get(api("/stock/export"))
        .bearer_auth(&m.token)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), StatusCode::OK);
    assert!(
        export.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    let export = export.bytes().await.unwrap().to_vec();
    assert!(export.starts_with(b"PK"));

    let post = |query: &'static str, content_type: &'static str, body: Vec<u8>| {
        let req = c
            .post(api(&format!("/stock/import{query}")))
            .bearer_auth(&m.token)
            .header("content-type", content_type)
            .body(body);
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status();
            (status, resp.json::<Value>().await.unwrap())
        }
    };
    // The export comes back unchanged; a count changes what it says.
    let (status, report) = post(
        "",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        export,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (
            report["mode"].as_str(),
            report["summary"]["unchanged"].as_i64()
        ),
        (Some("preview"), Some(2))
    );
    let count = "仓库编码,商品编码,盘点数量\nHZ01,MUG,9\nGZ01,MUG,2.5\n"
        .as_bytes()
        .to_vec();
    let (_, report) = post("?apply=false", "text/csv", count.clone()).await;
    assert_eq!(report["rows"][0]["verdict"], "ok");
    assert_eq!(report["rows"][0]["delta"], 3);
    assert_eq!(report["rows"][1]["verdict"], "not_whole_number");
    assert_eq!(report["applied"], false);
    let (_, report) = post("?apply=true", "text/csv", count).await;
    assert_eq!(
        (
            report["rows"][0]["verdict"].as_str(),
            report["applied"].as_bool()
        ),
        (Some("applied"), Some(true))
    );
    let (_, stock) = call(&c, Method::GET, api("/stock"), t, None).await;
    let hz = stock
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["warehouse_id"] == m.warehouse)
        .unwrap();
    assert_eq!(hz["on_hand"], 9);

    // Files that are not counts: one error each, in the API's shape.
    let (status, body) = post("", "text/csv", Vec::new()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("empty_file"))
    );
    let (status, body) = post(
        "",
        "text/csv",
        "仓库编码,商品编码\nHZ01,MUG\n".as_bytes().to_vec(),
    )
    .await;
    assert_eq!(body["error"]["code"], "missing_columns", "{status}");
    assert!(
        body["error"]["message_zh"]
            .as_str()
            .unwrap()
            .contains("盘点数量")
    );
    let (status, body) = post("", "application/json", b"{}".to_vec()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_media_type")
        )
    );
}
