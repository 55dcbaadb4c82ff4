//! Hostile filter values over real HTTP, on SQLite and PostgreSQL: every query parameter of
//! every API list and every console list page, given SQL-injection payloads, LIKE wildcards,
//! NUL, invalid UTF-8, a 60 KB string, huge and negative numbers and impossible dates. Each is
//! answered with a 4xx or a correct result, never a 5xx, never with another tenant's data; and
//! the database is unchanged afterwards.
//!
//! The tables [`API`] and [`CONSOLE`] name each route's query parameters as its handler's query
//! type declares them (`ApiQuery<…>` in `src/api`, `Query<…>` in `src/console`); a filter added
//! to a handler belongs in them.

mod common;
use common::*;

both_backends!(hostile_filters_get_a_4xx_or_a_correct_answer_on_every_api_list_and_console_page);

/// The order list's filters, in the API and on the console's order page alike.
const ORDER_FILTERS: &[&str] = &[
    "tab",
    "state",
    "shop_id",
    "platform",
    "carrier",
    "warehouse_id",
    "tag",
    "risk",
    "q",
    "platform_order_id",
    "waybill",
    "phone",
    "name",
    "created_from",
    "created_to",
    "sort",
    "after",
    "limit",
];

/// API routes with query parameters, and their parameters. `{order}` is the merchant's order;
/// `{job}` a print job that does not exist (the query is read before the job is looked up).
const API: &[(&str, &[&str])] = &[
    ("/api/v1/orders", ORDER_FILTERS),
    ("/api/v1/orders", &["ship_by_before"]),
    (
        "/api/v1/orders/export",
        &["format", "ids", "state", "shop_id"],
    ),
    ("/api/v1/orders/at-risk", &["within_hours"]),
    ("/api/v1/orders/{order}/carrier-choice", &["warehouse_id"]),
    ("/api/v1/alerts/deadlines", &["since"]),
    ("/api/v1/review/queue", &["stage"]),
    ("/api/v1/settings/review", &["shop_id"]),
    ("/api/v1/stockouts", &["sku_id"]),
    ("/api/v1/stock", &["sku_id"]),
    ("/api/v1/stock/ledger", &["warehouse_id", "sku_id"]),
    (
        "/api/v1/after-sales",
        &["status", "kind", "order_id", "before", "limit"],
    ),
    (
        "/api/v1/parcels",
        &["state", "tracking_no", "open", "before", "limit"],
    ),
    ("/api/v1/radar", &["kind", "cleared", "limit"]),
    ("/api/v1/notifications", &["order_id"]),
    ("/api/v1/reports", &["from", "to"]),
    ("/api/v1/reports/xlsx", &["from", "to"]),
    (
        "/api/v1/shipments",
        &["state", "order_id", "import_id", "before", "limit"],
    ),
    ("/api/v1/print-jobs", &["limit"]),
    (
        "/api/v1/print-jobs/{job}/labels",
        &["format", "dpi", "offset_x_mm", "offset_y_mm"],
    ),
    ("/api/v1/print-jobs/{job}/pick-list", &["format"]),
    (
        "/api/v1/audit",
        &[
            "entity_type",
            "entity_id",
            "user_id",
            "action",
            "from",
            "until",
            "before",
            "limit",
        ],
    ),
    ("/api/v1/jobs", &["state", "after", "limit"]),
];

/// Console list pages and their query parameters.
const CONSOLE: &[(&str, &[&str])] = &[
    ("/orders", ORDER_FILTERS),
    ("/orders/count", &["q", "state", "shop_id", "created_from"]),
    ("/after-sales", &["status", "kind", "order", "before"]),
    (
        "/tracking",
        &["state", "carrier", "tracking_no", "alert", "before"],
    ),
    (
        "/audit",
        &[
            "user_id",
            "action",
            "entity_type",
            "entity_id",
            "from",
            "to",
            "before",
        ],
    ),
    ("/reports", &["from", "to"]),
    ("/printing", &["orders"]),
    ("/exceptions", &["kind"]),
    ("/settings/skus", &["warehouse"]),
    ("/settings/rules", &["warehouse"]),
];

/// The OpenAPI document (what schemathesis and API clients generate requests from) names each
/// filter above as a query parameter, and no parameter as a path parameter that the path lacks.
#[test]
fn the_openapi_document_lists_every_filter_as_a_query_parameter() {
    let doc: Value = serde_json::from_str(fahuo_server::openapi_json()).unwrap();
    for (path, params) in API {
        let template = path.replace("{order}", "{id}").replace("{job}", "{id}");
        let documented: Vec<(&str, &str)> = doc["paths"][&template]["get"]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{template} is documented with parameters"))
            .iter()
            .map(|p| (p["name"].as_str().unwrap(), p["in"].as_str().unwrap()))
            .collect();
        for param in *params {
            assert!(
                documented.contains(&(param, "query")),
                "{template}: {param} in {documented:?}"
            );
        }
    }
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, op) in operations.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                if p["in"] == "path" {
                    assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: path parameter {name}"
                    );
                }
            }
        }
    }
}

/// Hostile values, already percent-encoded for the query string.
fn payloads() -> Vec<(&'static str, String)> {
    let enc = percent_encode;
    vec![
        ("quote", enc("' OR 1=1 --")),
        ("quote, numeric context", enc("1 OR 1=1")),
        ("union", enc("x' UNION SELECT name, 1 FROM tenants --")),
        ("stacked", enc("1; DROP TABLE orders; --")),
        ("double quote", enc("\" OR \"\"=\"")),
        ("percent", enc("%")),
        ("underscore", enc("_")),
        ("backslash", enc("\\")),
        ("NUL", "a%00b".into()),
        ("invalid UTF-8", "%FF%FE%C3".into()),
        ("empty", String::new()),
        // The longest URI a client can send (the `http` crate stops at 64 KiB).
        ("60 KB", "x".repeat(60_000)),
        ("huge number", "99999999999999999999999999".into()),
        ("i64 max", i64::MAX.to_string()),
        ("i64 min", enc(&i64::MIN.to_string())),
        ("negative", enc("-1")),
        ("float", "1e308".into()),
        ("bad date", "2026-13-45".into()),
        ("bad RFC 3339", enc("2026-02-30T25:61:00+99:00")),
        ("year 0", enc("0000-01-01T00:00:00Z")),
    ]
}

/// What only the other tenant has: none of it may appear in an answer to this tenant.
const OTHER_TENANT_MARKERS: [&str; 3] = ["OTHER-SECRET-7731", "外租户甲", "13700007731"];

async fn hostile_filters_get_a_4xx_or_a_correct_answer_on_every_api_list_and_console_page(
    db: TestDb,
) {
    let (s, app) = start(db).await;
    let a = merchant(&s, &app, "本商家", "owner").await;
    let b = merchant(&s, &app, "外租户甲", "other").await;
    let c = client();
    let (status, body) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/orders", s.base),
        Some(&b.token),
        Some(json!({
            "shop_id": b.shop,
            "platform_order_id": "OTHER-SECRET-7731",
            "receiver": {"name": "外租户甲", "phone": "13700007731", "province": "浙江省", "city": "杭州市", "county": "西湖区", "detail": "文三路1号"},
            "lines": [{"sku_code": "MUG", "title": "马克杯", "quantity": 1, "unit_price_fen": 3900}]
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    login(&c, &s, "owner", "owner-password").await;
    let before = snapshot(&s, &a, &b).await;
    let payloads = payloads();
    let mut checked = 0;
    let mut failures = Vec::new();

    // The API, with A's token.
    for (path, params) in API {
        let path = path
            .replace("{order}", &a.order.to_string())
            .replace("{job}", "999999");
        for param in *params {
            for (what, value) in &payloads {
                let url = format!("{}{path}?{param}={value}", s.base);
                let resp = c.get(&url).bearer_auth(&a.token).send().await;
                failures.extend(check(resp, &format!("GET {path} {param}={what}")).await);
                checked += 1;
            }
        }
    }

    // The console, with A's owner's session (opened before the snapshot: it is a change).
    for (path, params) in CONSOLE {
        for param in *params {
            for (what, value) in &payloads {
                let url = format!("{}{path}?{param}={value}", s.base);
                let resp = c.get(&url).send().await;
                failures.extend(check(resp, &format!("GET {path} {param}={what}")).await);
                checked += 1;
            }
        }
    }
    assert!(checked > 1_000, "{checked}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Nothing was changed, for either tenant.
    let after = snapshot(&s, &a, &b).await;
    for ((path, was), (_, is)) in before.iter().zip(&after) {
        assert_eq!(is, was, "{path} changed");
    }
}

/// A 4xx, or a success without another tenant's data; never a 5xx.
async fn check(resp: reqwest::Result<reqwest::Response>, what: &str) -> Option<String> {
    let resp = match resp {
        Ok(r) => r,
        Err(e) => return Some(format!("{what}: no answer ({})", e.without_url())),
    };
    let status = resp.status();
    let bytes = resp.bytes().await.unwrap();
    let text = String::from_utf8_lossy(&bytes);
    if !(status.is_success() || status.is_client_error() || status.is_redirection()) {
        let start: String = text.chars().take(300).collect();
        return Some(format!("{what}: {status} {start}"));
    }
    OTHER_TENANT_MARKERS
        .iter()
        .find(|m| text.contains(*m))
        .map(|m| format!("{what}: the other tenant's {m}"))
}

/// Each tenant's orders, after-sales, shipments and audit trail as the API lists them.
async fn snapshot(s: &Server, a: &Merchant, b: &Merchant) -> Vec<(&'static str, Value)> {
    let c = client();
    let mut out = Vec::new();
    for m in [a, b] {
        for path in [
            "/api/v1/orders?limit=200",
            "/api/v1/after-sales",
            "/api/v1/shipments",
            "/api/v1/parcels",
            "/api/v1/shops",
            "/api/v1/skus",
            "/api/v1/users",
            "/api/v1/audit?limit=200",
        ] {
            let (status, body) = call(
                &c,
                Method::GET,
                format!("{}{path}", s.base),
                Some(&m.token),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            out.push((path, without_exports(body)));
        }
    }
    out
}

/// An audit page without its export entries: reading an export is audited on purpose (it
/// carries receivers' data), and the export routes are among those probed.
fn without_exports(mut page: Value) -> Value {
    if let Some(items) = page.get_mut("items").and_then(Value::as_array_mut) {
        items.retain(|e| !e["action"].as_str().is_some_and(|a| a.ends_with(".export")));
    }
    page
}
