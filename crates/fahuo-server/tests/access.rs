//! Who may do what, over real HTTP on SQLite and PostgreSQL: every API route and every console
//! page against every staff role, a page without a session, and another tenant's session.
//!
//! The tables below are the policy: each API route with the permission it needs, each console
//! page with the permission it needs. A route or page added without a line here fails
//! [`every_api_route_refuses_the_roles_without_its_permission`] or
//! [`console_pages_open_for_the_roles_that_may_and_show_the_others_nothing`], so each new one
//! forces a decision. (Another tenant on every API route: `api.rs`,
//! `another_tenant_sees_nothing_on_any_route`.) The same goes for a sub-account's scope
//! (数据范围): [`SCOPE`] says what each route is to a sub-account limited to one shop and one
//! warehouse, and [`a_sub_account_reaches_nothing_of_another_shop_or_warehouse_on_any_route`]
//! holds every route to it.

mod common;
use common::*;
use fahuo_domain::{Permission, Role};
use std::collections::{BTreeMap, BTreeSet};

both_backends!(
    every_api_route_refuses_the_roles_without_its_permission,
    console_pages_open_for_the_roles_that_may_and_show_the_others_nothing,
    console_pages_without_a_session_send_to_the_login,
    another_tenants_session_sees_nothing_of_this_tenant_on_any_page,
    a_sub_account_reaches_nothing_of_another_shop_or_warehouse_on_any_route,
    a_sub_account_sees_nothing_of_another_shop_or_warehouse_on_any_page,
);

/// The staff roles a sub-account can have (the owner may do everything; its own tests cover it).
const ROLES: [Role; 6] = [
    Role::Admin,
    Role::Service,
    Role::Warehouse,
    Role::Logistics,
    Role::Finance,
    Role::Viewer,
];

/// What a route needs of the user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Every signed-in user, whatever the role (about oneself, or pure computation).
    SignedIn,
    Perm(Permission),
}

impl Need {
    fn allows(self, role: Role) -> bool {
        match self {
            Need::SignedIn => true,
            Need::Perm(p) => role.allows(p),
        }
    }
}

use Need::SignedIn;
use Permission::*;
const fn p(permission: Permission) -> Need {
    Need::Perm(permission)
}

/// Every API route (as the OpenAPI document names it) and what it needs. Reads of orders and
/// what surrounds them need `ViewOrders` (every role has it today); changes need the permission
/// of the work they are.
const API: &[(&str, Need)] = &[
    ("GET /api/v1/me", SignedIn),
    ("POST /api/v1/address/parse", p(ViewOrders)),
    // Orders.
    ("GET /api/v1/orders", p(ViewOrders)),
    ("POST /api/v1/orders", p(EditOrders)),
    ("GET /api/v1/order-counts", p(ViewOrders)),
    ("GET /api/v1/orders/{id}", p(ViewOrders)),
    (
        "POST /api/v1/orders/{id}/reveal-receiver",
        p(RevealReceiver),
    ),
    ("POST /api/v1/orders/{id}/approve", p(ReviewOrders)),
    ("POST /api/v1/orders/{id}/hold", p(ReviewOrders)),
    ("POST /api/v1/orders/{id}/cancel", p(EditOrders)),
    ("POST /api/v1/orders/import", p(EditOrders)),
    ("GET /api/v1/orders/import/template.xlsx", p(EditOrders)),
    // Masked unless `unmasked` is asked for, which needs RevealReceiver (not exercised here).
    ("POST /api/v1/orders/export", p(ViewOrders)),
    ("GET /api/v1/orders/export", p(ViewOrders)),
    ("POST /api/v1/orders/bulk", p(ReviewOrders)),
    // Review.
    ("GET /api/v1/review/queue", p(ReviewOrders)),
    ("POST /api/v1/orders/{id}/review", p(ReviewOrders)),
    ("POST /api/v1/orders/{id}/release", p(ReviewOrders)),
    ("PUT /api/v1/orders/{id}/receiver", p(EditOrders)),
    ("PUT /api/v1/orders/{id}/lines/{line_id}", p(EditOrders)),
    ("PUT /api/v1/orders/{id}/warehouse", p(PrintAndShip)),
    ("POST /api/v1/orders/{id}/unmerge", p(PrintAndShip)),
    ("GET /api/v1/orders/{id}/timeline", p(ViewOrders)),
    ("GET /api/v1/blacklist", p(ReviewOrders)),
    ("POST /api/v1/blacklist", p(ReviewOrders)),
    ("DELETE /api/v1/blacklist/{id}", p(ReviewOrders)),
    ("GET /api/v1/settings/review", p(ViewOrders)),
    ("PUT /api/v1/settings/review", p(ManageShops)),
    ("GET /api/v1/settings/allocation", p(ViewOrders)),
    ("PUT /api/v1/settings/allocation", p(ManageStock)),
    // Deadlines and stock-outs.
    ("GET /api/v1/orders/at-risk", p(ViewOrders)),
    ("GET /api/v1/alerts/deadlines", p(ViewOrders)),
    ("GET /api/v1/settings/deadlines", p(ViewOrders)),
    ("PUT /api/v1/settings/deadlines", p(ManageShops)),
    ("GET /api/v1/stockouts", p(ViewOrders)),
    ("PUT /api/v1/stockouts/expected", p(ManageStock)),
    ("POST /api/v1/orders/{id}/negotiate-delivery", p(EditOrders)),
    // Shops, warehouses, SKUs.
    ("GET /api/v1/shops", p(ViewOrders)),
    ("POST /api/v1/shops", p(ManageShops)),
    ("GET /api/v1/shops/{shop_id}/sync", p(ViewOrders)),
    ("POST /api/v1/shops/{shop_id}/sync", p(EditOrders)),
    ("PUT /api/v1/shops/{shop_id}/connection", p(ManageShops)),
    ("PUT /api/v1/shops/{shop_id}/sku-mappings", p(ManageCatalog)),
    ("PUT /api/v1/shops/{shop_id}/label-settings", p(ManageShops)),
    ("GET /api/v1/warehouses", p(ViewOrders)),
    ("POST /api/v1/warehouses", p(ManageCatalog)),
    ("GET /api/v1/skus", p(ViewOrders)),
    ("POST /api/v1/skus", p(ManageCatalog)),
    ("PUT /api/v1/skus/{id}/tags", p(ManageCatalog)),
    // Stock.
    ("GET /api/v1/stock", p(ViewOrders)),
    ("POST /api/v1/stock/movements", p(ManageStock)),
    ("GET /api/v1/stock/ledger", p(ManageStock)),
    ("POST /api/v1/stock/transfers", p(ManageStock)),
    ("PUT /api/v1/stock/threshold", p(ManageStock)),
    ("PUT /api/v1/stock/safety", p(ManageStock)),
    ("PUT /api/v1/stock/bin", p(ManageStock)),
    ("GET /api/v1/stock/alerts", p(ViewOrders)),
    ("GET /api/v1/stock/export", p(ViewOrders)),
    ("POST /api/v1/stock/import", p(ManageStock)),
    // Users, tokens, audit, jobs.
    ("GET /api/v1/users", p(ManageUsers)),
    ("POST /api/v1/users", p(ManageUsers)),
    ("PATCH /api/v1/users/{id}", p(ManageUsers)),
    ("GET /api/v1/invites", p(ManageUsers)),
    ("POST /api/v1/invites", p(ManageUsers)),
    ("DELETE /api/v1/invites/{id}", p(ManageUsers)),
    ("GET /api/v1/tokens", p(ManageUsers)),
    ("POST /api/v1/tokens", p(ManageUsers)),
    ("DELETE /api/v1/tokens/{id}", p(ManageUsers)),
    ("GET /api/v1/audit", p(ViewAudit)),
    ("GET /api/v1/jobs", p(ManageJobs)),
    ("POST /api/v1/jobs/{id}/retry", p(ManageJobs)),
    // Carriers and printing.
    ("GET /api/v1/carrier-accounts", p(ViewOrders)),
    ("POST /api/v1/carrier-accounts", p(ManageShops)),
    (
        "POST /api/v1/carrier-accounts/{id}/balance",
        p(PrintAndShip),
    ),
    ("POST /api/v1/orders/{id}/allocate", p(PrintAndShip)),
    ("POST /api/v1/print-jobs", p(PrintAndShip)),
    ("GET /api/v1/print-jobs", p(PrintAndShip)),
    ("POST /api/v1/print-jobs/{id}/reprint", p(PrintAndShip)),
    ("GET /api/v1/print-jobs/{id}", p(PrintAndShip)),
    ("GET /api/v1/print-jobs/{id}/labels", p(PrintAndShip)),
    ("GET /api/v1/print-jobs/{id}/pick-list", p(PrintAndShip)),
    ("GET /api/v1/warehouses/{id}/carrier-rules", p(ViewOrders)),
    ("PUT /api/v1/warehouses/{id}/carrier-rules", p(ManageShops)),
    (
        "POST /api/v1/warehouses/{id}/carrier-rules/what-if",
        p(ViewReports),
    ),
    ("GET /api/v1/orders/{id}/carrier-choice", p(ViewOrders)),
    // Shipping and packing.
    ("GET /api/v1/settings/shipping", p(ViewOrders)),
    ("PUT /api/v1/settings/shipping", p(ManageShops)),
    ("PUT /api/v1/settings/carrier-codes", p(ManageShops)),
    ("POST /api/v1/orders/{id}/shipments", p(PrintAndShip)),
    ("POST /api/v1/packages/ship", p(PrintAndShip)),
    ("GET /api/v1/shipments", p(ViewOrders)),
    ("GET /api/v1/shipments/{id}", p(ViewOrders)),
    ("POST /api/v1/shipments/{id}/retry", p(PrintAndShip)),
    ("POST /api/v1/shipments/{id}/change", p(PrintAndShip)),
    ("GET /api/v1/shipments/{id}/changes", p(ViewOrders)),
    ("POST /api/v1/pack/open", p(PrintAndShip)),
    ("POST /api/v1/packages/{id}/pack/scan", p(PrintAndShip)),
    ("POST /api/v1/packages/{id}/pack/reset", p(PrintAndShip)),
    ("POST /api/v1/packages/{id}/pack/close", p(PrintAndShip)),
    ("POST /api/v1/packages/{id}/weight", p(PrintAndShip)),
    ("POST /api/v1/shipment-imports", p(PrintAndShip)),
    ("GET /api/v1/shipment-imports/template", p(PrintAndShip)),
    ("POST /api/v1/shipment-imports/{id}/apply", p(PrintAndShip)),
    ("GET /api/v1/shipment-imports/{id}", p(ViewOrders)),
    ("GET /api/v1/shipment-imports/{id}/result", p(ViewOrders)),
    // After-sales.
    ("GET /api/v1/after-sales", p(ViewOrders)),
    ("GET /api/v1/after-sales/{id}", p(ViewOrders)),
    ("POST /api/v1/after-sales/{id}/approve", p(HandleAfterSales)),
    ("POST /api/v1/after-sales/{id}/reject", p(HandleAfterSales)),
    (
        "POST /api/v1/after-sales/{id}/confirm-received",
        p(HandleAfterSales),
    ),
    (
        "POST /api/v1/after-sales/{id}/return-label",
        p(HandleAfterSales),
    ),
    (
        "DELETE /api/v1/after-sales/{id}/return-label",
        p(HandleAfterSales),
    ),
    ("POST /api/v1/after-sales/{id}/pickup", p(HandleAfterSales)),
    (
        "DELETE /api/v1/after-sales/{id}/pickup",
        p(HandleAfterSales),
    ),
    // The warehouse scans a returned parcel to find its after-sale, then inspects it.
    ("POST /api/v1/after-sales/scan", p(ViewOrders)),
    ("POST /api/v1/after-sales/{id}/inspection", p(ManageStock)),
    ("GET /api/v1/after-sales/{id}/photos/{n}", p(ViewOrders)),
    ("POST /api/v1/after-sales/claims", p(HandleAfterSales)),
    ("POST /api/v1/after-sales/{id}/settle", p(HandleAfterSales)),
    (
        "POST /api/v1/after-sales/{id}/intercept-result",
        p(HandleAfterSales),
    ),
    ("POST /api/v1/orders/{id}/reships", p(HandleAfterSales)),
    ("GET /api/v1/settings/after-sales", p(ViewOrders)),
    ("PUT /api/v1/settings/after-sales", p(ApproveRefunds)),
    // Dropship suppliers. The purchase order carries the receivers in clear.
    ("GET /api/v1/suppliers", p(ViewOrders)),
    ("POST /api/v1/suppliers", p(ManageCatalog)),
    ("GET /api/v1/suppliers/{id}", p(ViewOrders)),
    ("PATCH /api/v1/suppliers/{id}", p(ManageCatalog)),
    ("PUT /api/v1/suppliers/{id}/skus", p(ManageCatalog)),
    ("GET /api/v1/suppliers/{id}/lines", p(ViewOrders)),
    (
        "POST /api/v1/suppliers/{id}/purchase-order",
        p(RevealReceiver),
    ),
    ("POST /api/v1/suppliers/{id}/link", p(ManageCatalog)),
    ("POST /api/v1/suppliers/{id}/link/rotate", p(ManageCatalog)),
    ("GET /api/v1/orders/{id}/dropship", p(ViewOrders)),
    ("POST /api/v1/orders/{id}/dropship", p(EditOrders)),
    ("POST /api/v1/orders/{id}/dropship/unassign", p(EditOrders)),
    ("GET /api/v1/dropship/late", p(ViewOrders)),
    // Tracking, radar, notices, reports.
    ("GET /api/v1/tracking-accounts", p(ManageShops)),
    ("POST /api/v1/tracking-accounts", p(ManageShops)),
    ("PUT /api/v1/tracking-accounts/{id}/enabled", p(ManageShops)),
    ("GET /api/v1/parcels", p(ViewOrders)),
    ("GET /api/v1/parcels/{id}", p(ViewOrders)),
    ("POST /api/v1/parcels/{id}/refresh", p(EditOrders)),
    ("POST /api/v1/parcels/{id}/dispute", p(EditOrders)),
    ("POST /api/v1/parcels/{id}/intercept", p(HandleAfterSales)),
    ("GET /api/v1/orders/{id}/tracking", p(ViewOrders)),
    ("GET /api/v1/radar", p(ViewOrders)),
    ("GET /api/v1/settings/radar", p(ViewOrders)),
    ("PUT /api/v1/settings/radar", p(ManageShops)),
    ("GET /api/v1/settings/notifications", p(ViewOrders)),
    ("PUT /api/v1/settings/notifications", p(ManageShops)),
    ("GET /api/v1/notifications", p(ViewOrders)),
    ("GET /api/v1/reports", p(ViewReports)),
    ("GET /api/v1/reports/xlsx", p(ViewReports)),
];

/// Routes that end the fixture's life (a decided after-sale, a cancelled order, the revoked
/// token): the allowed roles try them after every other route, in this order, so that the other
/// routes meet the fixtures as they were made.
const LAST: &[&str] = &[
    "POST /api/v1/after-sales/{id}/approve",
    "POST /api/v1/after-sales/{id}/reject",
    "POST /api/v1/after-sales/{id}/settle",
    "POST /api/v1/orders/{id}/cancel",
    "DELETE /api/v1/tokens/{id}",
];

/// Requests that need more than their route does: (method, path, body, label, need).
fn variants() -> Vec<(Method, String, Value, &'static str, Need)> {
    vec![(
        Method::POST,
        "/api/v1/orders/export".into(),
        json!({"format": "csv", "unmask": true}),
        "POST /api/v1/orders/export, receivers in clear",
        p(RevealReceiver),
    )]
}

/// `GET /api/v1/orders/5/approve?x=1` → `GET /api/v1/orders/{id}/approve`, as the OpenAPI
/// document names it.
fn route_name(method: &Method, path: &str) -> String {
    let path = path.split('?').next().unwrap();
    let templated = path
        .split('/')
        .map(|seg| {
            if !seg.is_empty() && seg.chars().all(|c| c.is_ascii_digit()) {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
        .replace("shops/{id}", "shops/{shop_id}")
        .replace("lines/{id}", "lines/{line_id}")
        .replace("photos/{id}", "photos/{n}");
    format!("{method} {templated}")
}

fn documented_routes() -> BTreeSet<String> {
    let doc: Value = serde_json::from_str(fahuo_server::openapi_json()).unwrap();
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        // Logging in and out is what one does without (or about) a session.
        .filter(|r| !r.ends_with("/auth/login") && !r.ends_with("/auth/logout"))
        .collect()
}

/// The receivers of the fixture's orders (and of those the routes make) in clear: only roles
/// with `RevealReceiver` may see them, through the audited reveal.
const RECEIVERS_IN_CLEAR: &[&str] = &[
    "张三",
    "13812345678",
    "文三路",
    "王五",
    "13900000000",
    "文一路",
    "赵六",
    "科技园",
    "欧阳娜娜",
    "13712349876",
    "丹桂路",
];

/// A staff member of the merchant, logged into the console.
struct Staff {
    role: Role,
    client: Client,
    csrf: String,
}

async fn staff(s: &Server, m: &Merchant) -> Vec<Staff> {
    let mut all = Vec::new();
    for role in ROLES {
        let name = format!("{}-1", role.as_str());
        let (client, csrf) = sub_account(s, m, &name, role.as_str()).await;
        all.push(Staff { role, client, csrf });
    }
    all
}

/// Sends a request as `who` (its session cookie, and its CSRF token on unsafe methods).
async fn send(
    s: &Server,
    who: &Staff,
    method: &Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = who
        .client
        .request(method.clone(), format!("{}{path}", s.base));
    if !matches!(*method, Method::GET | Method::HEAD) {
        req = req.header("x-csrf-token", &who.csrf);
    }
    if let Some(b) = body {
        req = with_body(req, b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let bytes = resp.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, body)
}

/// A refusal says which permission is missing and nothing else: no data of the tenant.
fn forbidden_body(needed: Permission) -> Value {
    json!({"error": {
        "code": "forbidden",
        "message": format!("your role may not {needed:?}"),
        "message_zh": "当前角色无权执行此操作",
    }})
}

async fn every_api_route_refuses_the_roles_without_its_permission(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "商家A", "alice").await;
    let staff = staff(&s, &m).await;

    // The table is complete and has no stale lines: a new route forces a decision here.
    let table: BTreeMap<String, Need> = API.iter().map(|(r, n)| (r.to_string(), *n)).collect();
    assert_eq!(table.len(), API.len(), "a route is listed twice");
    let documented = documented_routes();
    let listed: BTreeSet<String> = table.keys().cloned().collect();
    let undecided: Vec<_> = documented.difference(&listed).collect();
    assert!(
        undecided.is_empty(),
        "routes without a line in API (what permission do they need?): {undecided:?}"
    );
    let stale: Vec<_> = listed.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "API lists routes that are gone: {stale:?}"
    );
    for r in LAST {
        assert!(table.contains_key(*r), "LAST names an unknown route {r}");
    }

    // Every line is exercised: `routes` has a request (with a body valid for the owner) for each.
    let mut requests: Vec<(String, Method, String, Option<Value>)> = routes(&m)
        .into_iter()
        .map(|(method, path, body)| (route_name(&method, &path), method, path, body))
        .collect();
    let exercised: BTreeSet<String> = requests.iter().map(|r| r.0.clone()).collect();
    let untried: Vec<_> = listed.difference(&exercised).collect();
    assert!(
        untried.is_empty(),
        "routes(&m) has no request for {untried:?}"
    );
    requests.sort_by_key(|(name, ..)| LAST.iter().position(|l| l == name));
    let mut requests: Vec<(String, Need, Method, String, Option<Value>)> = requests
        .into_iter()
        .map(|(name, method, path, body)| (name.clone(), table[&name], method, path, body))
        .collect();
    for (method, path, body, label, need) in variants() {
        assert!(table.contains_key(&route_name(&method, &path)), "{label}");
        requests.insert(0, (label.to_string(), need, method, path, Some(body)));
    }

    // What the merchant's books look like, through its owner's token.
    let owner = client();
    let snapshot = || async {
        let mut books = Vec::new();
        for path in [
            "/api/v1/audit?limit=500".to_string(),
            "/api/v1/orders?limit=500".to_string(),
            format!("/api/v1/orders/{}", m.order),
            format!("/api/v1/after-sales/{}", m.after_sale),
            format!("/api/v1/shipments/{}", m.shipment),
            "/api/v1/stock".to_string(),
            "/api/v1/users".to_string(),
            "/api/v1/tokens".to_string(),
        ] {
            let (status, body) = call(
                &owner,
                Method::GET,
                format!("{}{path}", s.base),
                Some(&m.token),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            let mut body = body;
            // Using the token to look is a use of it (recorded at most once a minute).
            if let Some(tokens) = body.as_array_mut() {
                for t in tokens {
                    t.as_object_mut().map(|t| t.remove("last_used_at"));
                }
            }
            books.push(body);
        }
        books
    };

    // First every refusal, on the fixtures as they were made: 403 with only the missing
    // permission in the body, and nothing changed.
    let before = snapshot().await;
    let mut refused = 0;
    let mut wrong = Vec::new();
    for (name, need, method, path, body) in &requests {
        let Need::Perm(needed) = *need else {
            continue;
        };
        for who in staff.iter().filter(|w| !w.role.allows(needed)) {
            let (status, answer) = send(&s, who, method, path, body.clone()).await;
            if (status, &answer) != (StatusCode::FORBIDDEN, &forbidden_body(needed)) {
                wrong.push(format!(
                    "{:?} may not {name} ({path}), which needs {needed:?}: {status} {answer}",
                    who.role
                ));
            }
            refused += 1;
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(
        refused > 200,
        "only {refused} refusals: is the table right?"
    );
    assert_eq!(
        snapshot().await,
        before,
        "a refused request changed the merchant's books"
    );

    // Then every role that may: never 401/403 (the request reaches the use-case; what it says
    // then, e.g. 404 for the routes' made-up ids or 409 for a state, is its own tests' matter),
    // and no server error but the fixtures' unreachable carrier and tracking services (502).
    for (name, need, method, path, body) in &requests {
        let need = *need;
        for who in staff.iter().filter(|w| need.allows(w.role)) {
            let (status, answer) = send(&s, who, method, path, body.clone()).await;
            let upstream = status == StatusCode::BAD_GATEWAY
                && answer["error"]["code"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("upstream"));
            if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
                || (status.is_server_error() && !upstream)
            {
                wrong.push(format!(
                    "{:?} may {name} ({path}): {status} {answer}",
                    who.role
                ));
            }
            // Receivers are masked for every role that may not reveal them (parsing an address
            // only gives back what one sent).
            let clear = leaked(&answer.to_string(), RECEIVERS_IN_CLEAR);
            if !who.role.allows(RevealReceiver)
                && name != "POST /api/v1/address/parse"
                && !clear.is_empty()
            {
                wrong.push(format!(
                    "{:?} may not reveal receivers, yet {name} ({path}) shows {clear:?}",
                    who.role
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Console pages.

/// The navigation as `PAGES` in `src/console/mod.rs` lists it, in order: each role's navigation
/// must be exactly the entries its role allows (which also checks this copy against `PAGES`).
const NAV: [(&str, Permission); 11] = [
    ("/orders", ViewOrders),
    ("/exceptions", ViewOrders),
    ("/printing", PrintAndShip),
    ("/pack", PrintAndShip),
    ("/imports", EditOrders),
    ("/tracking", ViewOrders),
    ("/after-sales", HandleAfterSales),
    ("/reports", ViewReports),
    ("/settings", ManageShops),
    ("/accounts", ManageUsers),
    ("/audit", ViewAudit),
];

/// Navigation pages not built in this tree yet: each answers 404 until it is, and then this
/// test fails until it moves into [`pages`].
const NOT_BUILT: &[&str] = &[];

/// A console page: where it is (with this merchant's ids), what it needs, and data of the
/// merchant it shows those who may open it (which the others must not see).
struct Page {
    path: String,
    needs: Permission,
    shows: &'static [&'static str],
}

fn page_(path: impl Into<String>, needs: Permission, shows: &'static [&'static str]) -> Page {
    Page {
        path: path.into(),
        needs,
        shows,
    }
}

/// Every console page, one line each (detail pages with the merchant's own ids, e.g.
/// `page_(format!("/orders/{}", m.marked_order), ViewOrders, &[MARKED_ORDER])`; the fixture's
/// other rows are in `m.m`).
fn pages(m: &Marked) -> Vec<Page> {
    vec![
        page_("/orders", ViewOrders, &[MARKED_ORDER]),
        page_(
            format!("/orders/{}", m.marked_order),
            ViewOrders,
            &[MARKED_ORDER],
        ),
        page_("/exceptions", ViewOrders, &[]),
        page_("/printing", PrintAndShip, &[]),
        page_("/pack", PrintAndShip, &[]),
        page_("/imports", EditOrders, &[]),
        page_("/tracking", ViewOrders, &[]),
        page_(format!("/tracking/{}", m.m.parcel), ViewOrders, &[]),
        page_("/after-sales", HandleAfterSales, &[]),
        page_(
            format!("/after-sales/{}", m.m.after_sale),
            HandleAfterSales,
            &[],
        ),
        page_("/reports", ViewReports, &[]),
        page_("/settings", ManageShops, &[]),
        page_("/settings/shops", ManageShops, &[]),
        page_("/settings/carriers", ManageShops, &[]),
        page_("/settings/rules", ManageShops, &[]),
        page_("/settings/warehouses", ManageShops, &[]),
        page_("/settings/skus", ManageShops, &[]),
        page_("/settings/suppliers", ManageShops, &["景德镇窑厂"]),
        page_("/settings/templates", ManageShops, &[]),
        page_("/accounts", ManageUsers, &[]),
        page_("/audit", ViewAudit, &[]),
    ]
}

/// The fixture merchant plus data only it has (another merchant's fixture has the same shop,
/// SKU and receiver names), to look for in pages that must not show it.
struct Marked {
    m: Merchant,
    /// An order of its own with a receiver no other fixture has (for the order detail page).
    marked_order: i64,
}

const MARKED_ORDER: &str = "AUTHZ-A-7731";

/// Data only the marked merchant has, in clear and masked.
const ONLY_A: &[&str] = &[
    MARKED_ORDER,
    "欧阳娜娜",
    "欧*",
    "13712349876",
    "137****9876",
    "丹桂路",
    "青花瓷碗",
    "景德镇窑厂",
];

/// The fixture's data every merchant made by `merchant` has.
const FIXTURE_DATA: &[&str] = &[
    "文三路",
    "13812345678",
    "138****5678",
    "张*",
    "马克杯",
    "杭州仓",
    "义乌杯厂",
    "王经理",
    "SF13856287",
];

async fn marked(s: &Server, app: &App, name: &str, owner: &str) -> Marked {
    let m = merchant(s, app, name, owner).await;
    let c = client();
    let t = Some(m.token.as_str());
    let api = |path: &str| format!("{}/api/v1{path}", s.base);
    let (status, body) = call(&c, Method::POST, api("/orders"), t, Some(json!({
        "shop_id": m.shop,
        "platform_order_id": MARKED_ORDER,
        "receiver": {"name": "欧阳娜娜", "phone": "13712349876", "province": "浙江省", "city": "杭州市", "county": "拱墅区", "detail": "丹桂路77号"},
        "lines": [{"sku_code": "BOWL", "title": "青花瓷碗", "quantity": 2, "unit_price_fen": 8800}]
    }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let marked_order = body["order"]["id"].as_i64().unwrap();
    let (status, body) = call(
        &c,
        Method::POST,
        api("/suppliers"),
        t,
        Some(json!({"name": "景德镇窑厂", "contact": "陈师傅"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    Marked { m, marked_order }
}

fn leaked<'a>(html: &str, data: &[&'a str]) -> Vec<&'a str> {
    data.iter().copied().filter(|d| html.contains(d)).collect()
}

/// The links of the layout's navigation (the header's `<nav>`), in order; `None` on a
/// full-screen page (the pack station), which has none.
fn nav_links(html: &str) -> Option<Vec<String>> {
    let Some(start) = html.find("<header class=\"top\">") else {
        assert!(
            html.contains("<body class=\"bare\">"),
            "a page with the layout's header"
        );
        return None;
    };
    let nav = &html[start..];
    let nav = &nav[nav.find("<nav").expect("a navigation")..];
    let nav = &nav[..nav.find("</nav>").unwrap()];
    Some(
        nav.split("href=\"")
            .skip(1)
            .map(|rest| rest[..rest.find('"').unwrap()].to_string())
            .collect(),
    )
}

fn nav_of(role: Role) -> Vec<String> {
    NAV.iter()
        .filter(|(_, needs)| role.allows(*needs))
        .map(|(path, _)| path.to_string())
        .collect()
}

async fn console_pages_open_for_the_roles_that_may_and_show_the_others_nothing(db: TestDb) {
    let (s, app) = start(db).await;
    let a = marked(&s, &app, "商家A", "alice").await;
    let pages = pages(&a);

    // The page table and the navigation agree, and an entry waits in NOT_BUILT only while
    // its page does not exist.
    let owner = client();
    login(&owner, &s, "alice", "owner-password").await;
    for (path, needs) in NAV {
        let listed = pages.iter().find(|p| p.path == path);
        match listed {
            Some(p) => {
                assert!(!NOT_BUILT.contains(&path), "{path} is built and listed");
                assert_eq!(
                    p.needs, needs,
                    "{path}: the page and the navigation disagree"
                );
            }
            None => {
                assert!(
                    NOT_BUILT.contains(&path),
                    "{path} is in the navigation but not in pages()"
                );
                let (status, _) = page(&owner, &s, path).await;
                assert_eq!(
                    status,
                    StatusCode::NOT_FOUND,
                    "{path} is built now: move it from NOT_BUILT into pages()"
                );
            }
        }
    }

    // The owner sees every page, with its data, and the whole navigation.
    for p in &pages {
        let (status, html) = page(&owner, &s, &p.path).await;
        assert_eq!(status, StatusCode::OK, "the owner opens {}", p.path);
        // Pages show receivers masked to everyone; the clear value comes from the audited API.
        let clear = leaked(&html, RECEIVERS_IN_CLEAR);
        assert!(clear.is_empty(), "{} shows {clear:?}", p.path);
        let missing: Vec<_> = p.shows.iter().filter(|d| !html.contains(**d)).collect();
        assert!(missing.is_empty(), "{} does not show {missing:?}", p.path);
        if let Some(nav) = nav_links(&html) {
            assert_eq!(nav, nav_of(Role::Owner), "{}", p.path);
        }
    }

    let mut tenant_data: Vec<&str> = ONLY_A.to_vec();
    tenant_data.extend(FIXTURE_DATA);
    let staff = staff(&s, &a.m).await;
    for who in &staff {
        for p in &pages {
            let (status, html) = page(&who.client, &s, &p.path).await;
            if who.role.allows(p.needs) {
                assert_eq!(status, StatusCode::OK, "{:?} opens {}", who.role, p.path);
                let clear = leaked(&html, RECEIVERS_IN_CLEAR);
                assert!(clear.is_empty(), "{:?} on {}: {clear:?}", who.role, p.path);
                let missing: Vec<_> = p.shows.iter().filter(|d| !html.contains(**d)).collect();
                assert!(
                    missing.is_empty(),
                    "{:?} on {}: missing {missing:?}",
                    who.role,
                    p.path
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{:?} may not open {}",
                    who.role,
                    p.path
                );
                let leaks = leaked(&html, &tenant_data);
                assert!(
                    leaks.is_empty(),
                    "{:?} refused {} yet shown {leaks:?}",
                    who.role,
                    p.path
                );
            }
            // Allowed or not, the navigation offers exactly the pages the role may open.
            if let Some(nav) = nav_links(&html) {
                assert_eq!(
                    nav,
                    nav_of(who.role),
                    "{:?}'s navigation on {}",
                    who.role,
                    p.path
                );
            }
        }
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

async fn console_pages_without_a_session_send_to_the_login(db: TestDb) {
    let (s, app) = start(db).await;
    let a = marked(&s, &app, "商家A", "alice").await;
    let mut tenant_data: Vec<&str> = ONLY_A.to_vec();
    tenant_data.extend(FIXTURE_DATA);
    let anonymous = client();
    for p in pages(&a) {
        for path in [p.path.clone(), format!("{}?from=2026-01-01&to=x", p.path)] {
            let resp = anonymous
                .get(format!("{}{path}", s.base))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{path}");
            let location = resp.headers()["location"].to_str().unwrap().to_string();
            let next = location
                .strip_prefix("/login?next=")
                .unwrap_or_else(|| panic!("{path} sends to {location}"));
            assert!(
                !next.contains(['?', '&', '=']),
                "{location}: next is encoded"
            );
            assert_eq!(
                percent_decode(next),
                path,
                "back to the page after logging in"
            );
            let html = resp.text().await.unwrap();
            assert!(leaked(&html, &tenant_data).is_empty(), "{path}: {html}");
        }
    }
    // A forged or expired session cookie is no session.
    let forged = client();
    for p in pages(&a) {
        let resp = forged
            .get(format!("{}{}", s.base, p.path))
            .header("cookie", "fahuo_session=forged")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", p.path);
    }
}

async fn another_tenants_session_sees_nothing_of_this_tenant_on_any_page(db: TestDb) {
    let (s, app) = start(db).await;
    let a = marked(&s, &app, "商家A", "alice").await;
    let b = merchant(&s, &app, "商家B", "bob").await;
    let mut sessions = vec![("B's owner", {
        let c = client();
        login(&c, &s, "bob", "owner-password").await;
        c
    })];
    for who in staff(&s, &b).await {
        sessions.push((who.role.as_str(), who.client));
    }
    // A's own owner sees the marked data, so its absence below means something.
    let owner = client();
    login(&owner, &s, "alice", "owner-password").await;
    let (_, html) = page(&owner, &s, "/orders").await;
    assert!(html.contains(MARKED_ORDER));
    for (who, c) in &sessions {
        for p in pages(&a) {
            let (status, html) = page(c, &s, &p.path).await;
            // A page of one of A's rows is "not found" for B; a list page shows B's own rows.
            let of_a_row = p
                .path
                .split(['/', '?', '='])
                .any(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_ascii_digit()));
            if of_a_row {
                assert!(
                    matches!(status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
                    "{who} on A's {}: {status}",
                    p.path
                );
            } else {
                assert!(
                    matches!(status, StatusCode::OK | StatusCode::FORBIDDEN),
                    "{who} on {}: {status}",
                    p.path
                );
            }
            let leaks = leaked(&html, ONLY_A);
            assert!(leaks.is_empty(), "{who} on {} sees A's {leaks:?}", p.path);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scope (数据范围): a sub-account limited to some shops and warehouses.

/// What a route is to a sub-account limited to some shops and warehouses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Addresses one object of a shop or a warehouse (an order, a print job, a package, a
    /// parcel, an after-sale, a shipment, a shop's settings, a warehouse's stock): one of
    /// another shop or warehouse answers 404 (or 403) with none of its data.
    One,
    /// Lists, searches or acts on a selection: the other shop's and warehouse's rows are not
    /// in the answer, and nothing of theirs changes.
    Many,
    /// A file of rows: a row naming another shop's order is refused on its own (`out_of_scope`).
    EachRow,
    /// Not bound to a shop or a warehouse (oneself, the tenant's settings, SKUs, suppliers,
    /// the shared carrier accounts): the answer still shows nothing of the other shop.
    Tenant,
    /// Only owners and admins may use it, and they always see every shop and warehouse.
    Managers,
}
use Reach::*;

/// Every API route and what it is to a scoped sub-account; a route without a line fails
/// [`a_sub_account_reaches_nothing_of_another_shop_or_warehouse_on_any_route`].
const SCOPE: &[(&str, Reach)] = &[
    ("GET /api/v1/me", Tenant),
    ("POST /api/v1/address/parse", Tenant),
    // Orders.
    ("GET /api/v1/orders", Many),
    ("POST /api/v1/orders", One),
    // Counts per state only: no row, no data.
    ("GET /api/v1/order-counts", Many),
    ("GET /api/v1/orders/{id}", One),
    ("POST /api/v1/orders/{id}/reveal-receiver", One),
    ("POST /api/v1/orders/{id}/approve", One),
    ("POST /api/v1/orders/{id}/hold", One),
    ("POST /api/v1/orders/{id}/cancel", One),
    ("POST /api/v1/orders/import", One),
    ("GET /api/v1/orders/import/template.xlsx", Tenant),
    ("POST /api/v1/orders/export", Many),
    ("GET /api/v1/orders/export", One),
    ("POST /api/v1/orders/bulk", Many),
    // Review.
    ("GET /api/v1/review/queue", Many),
    ("POST /api/v1/orders/{id}/review", One),
    ("POST /api/v1/orders/{id}/release", One),
    ("PUT /api/v1/orders/{id}/receiver", One),
    ("PUT /api/v1/orders/{id}/lines/{line_id}", One),
    ("PUT /api/v1/orders/{id}/warehouse", One),
    ("POST /api/v1/orders/{id}/unmerge", One),
    ("GET /api/v1/orders/{id}/timeline", One),
    ("GET /api/v1/blacklist", Tenant),
    ("POST /api/v1/blacklist", Tenant),
    ("DELETE /api/v1/blacklist/{id}", Tenant),
    ("GET /api/v1/settings/review", One),
    ("PUT /api/v1/settings/review", Managers),
    ("GET /api/v1/settings/allocation", Tenant),
    ("PUT /api/v1/settings/allocation", Tenant),
    // Deadlines and stock-outs.
    ("GET /api/v1/orders/at-risk", Many),
    ("GET /api/v1/alerts/deadlines", Many),
    ("GET /api/v1/settings/deadlines", Tenant),
    ("PUT /api/v1/settings/deadlines", Managers),
    ("GET /api/v1/stockouts", Many),
    ("PUT /api/v1/stockouts/expected", Tenant),
    ("POST /api/v1/orders/{id}/negotiate-delivery", One),
    // Shops, warehouses, SKUs.
    ("GET /api/v1/shops", Many),
    ("POST /api/v1/shops", Managers),
    ("GET /api/v1/shops/{shop_id}/sync", One),
    ("POST /api/v1/shops/{shop_id}/sync", One),
    ("PUT /api/v1/shops/{shop_id}/connection", Managers),
    ("PUT /api/v1/shops/{shop_id}/sku-mappings", Managers),
    ("PUT /api/v1/shops/{shop_id}/label-settings", Managers),
    ("GET /api/v1/warehouses", Many),
    ("POST /api/v1/warehouses", Managers),
    ("GET /api/v1/skus", Tenant),
    ("POST /api/v1/skus", Managers),
    ("PUT /api/v1/skus/{id}/tags", Managers),
    // Stock.
    ("GET /api/v1/stock", Many),
    ("POST /api/v1/stock/movements", One),
    ("GET /api/v1/stock/ledger", One),
    ("POST /api/v1/stock/transfers", One),
    ("PUT /api/v1/stock/threshold", One),
    ("PUT /api/v1/stock/safety", One),
    ("PUT /api/v1/stock/bin", One),
    ("GET /api/v1/stock/alerts", Many),
    ("GET /api/v1/stock/export", Many),
    ("POST /api/v1/stock/import", EachRow),
    // Users, tokens, audit, jobs.
    ("GET /api/v1/users", Managers),
    ("POST /api/v1/users", Managers),
    ("PATCH /api/v1/users/{id}", Managers),
    ("GET /api/v1/invites", Managers),
    ("POST /api/v1/invites", Managers),
    ("DELETE /api/v1/invites/{id}", Managers),
    ("GET /api/v1/tokens", Managers),
    ("POST /api/v1/tokens", Managers),
    ("DELETE /api/v1/tokens/{id}", Managers),
    ("GET /api/v1/audit", Many),
    ("GET /api/v1/jobs", Managers),
    ("POST /api/v1/jobs/{id}/retry", Managers),
    // Carriers and printing.
    ("GET /api/v1/carrier-accounts", Many),
    ("POST /api/v1/carrier-accounts", Managers),
    // The fixture's accounts are shared by every shop.
    ("POST /api/v1/carrier-accounts/{id}/balance", Tenant),
    ("POST /api/v1/orders/{id}/allocate", One),
    // Each order is refused on its own (a failure line), as in a bulk print.
    ("POST /api/v1/print-jobs", Many),
    ("GET /api/v1/print-jobs", Many),
    ("POST /api/v1/print-jobs/{id}/reprint", One),
    ("GET /api/v1/print-jobs/{id}", One),
    ("GET /api/v1/print-jobs/{id}/labels", One),
    ("GET /api/v1/print-jobs/{id}/pick-list", One),
    ("GET /api/v1/warehouses/{id}/carrier-rules", One),
    ("PUT /api/v1/warehouses/{id}/carrier-rules", Managers),
    ("POST /api/v1/warehouses/{id}/carrier-rules/what-if", One),
    ("GET /api/v1/orders/{id}/carrier-choice", One),
    // Shipping and packing.
    ("GET /api/v1/settings/shipping", Tenant),
    ("PUT /api/v1/settings/shipping", Managers),
    ("PUT /api/v1/settings/carrier-codes", Managers),
    ("POST /api/v1/orders/{id}/shipments", One),
    ("POST /api/v1/packages/ship", One),
    ("GET /api/v1/shipments", Many),
    ("GET /api/v1/shipments/{id}", One),
    ("POST /api/v1/shipments/{id}/retry", One),
    ("POST /api/v1/shipments/{id}/change", One),
    ("GET /api/v1/shipments/{id}/changes", One),
    ("POST /api/v1/pack/open", One),
    ("POST /api/v1/packages/{id}/pack/scan", One),
    ("POST /api/v1/packages/{id}/pack/reset", One),
    ("POST /api/v1/packages/{id}/pack/close", One),
    ("POST /api/v1/packages/{id}/weight", One),
    ("POST /api/v1/shipment-imports", EachRow),
    ("GET /api/v1/shipment-imports/template", Tenant),
    ("POST /api/v1/shipment-imports/{id}/apply", One),
    ("GET /api/v1/shipment-imports/{id}", One),
    ("GET /api/v1/shipment-imports/{id}/result", One),
    // After-sales.
    ("GET /api/v1/after-sales", Many),
    ("GET /api/v1/after-sales/{id}", One),
    ("POST /api/v1/after-sales/{id}/approve", One),
    ("POST /api/v1/after-sales/{id}/reject", One),
    ("POST /api/v1/after-sales/{id}/confirm-received", One),
    ("POST /api/v1/after-sales/{id}/return-label", One),
    ("DELETE /api/v1/after-sales/{id}/return-label", One),
    ("POST /api/v1/after-sales/{id}/pickup", One),
    ("DELETE /api/v1/after-sales/{id}/pickup", One),
    ("POST /api/v1/after-sales/scan", One),
    ("POST /api/v1/after-sales/{id}/inspection", One),
    ("GET /api/v1/after-sales/{id}/photos/{n}", One),
    ("POST /api/v1/after-sales/claims", One),
    ("POST /api/v1/after-sales/{id}/settle", One),
    ("POST /api/v1/after-sales/{id}/intercept-result", One),
    ("POST /api/v1/orders/{id}/reships", One),
    ("GET /api/v1/settings/after-sales", Tenant),
    ("PUT /api/v1/settings/after-sales", Managers),
    // Dropship suppliers: the suppliers are the tenant's, their lines are orders'.
    ("GET /api/v1/suppliers", Tenant),
    ("POST /api/v1/suppliers", Managers),
    ("GET /api/v1/suppliers/{id}", Tenant),
    ("PATCH /api/v1/suppliers/{id}", Managers),
    ("PUT /api/v1/suppliers/{id}/skus", Managers),
    ("GET /api/v1/suppliers/{id}/lines", Many),
    ("POST /api/v1/suppliers/{id}/purchase-order", Many),
    ("POST /api/v1/suppliers/{id}/link", Managers),
    ("POST /api/v1/suppliers/{id}/link/rotate", Managers),
    ("GET /api/v1/orders/{id}/dropship", One),
    ("POST /api/v1/orders/{id}/dropship", One),
    ("POST /api/v1/orders/{id}/dropship/unassign", One),
    ("GET /api/v1/dropship/late", Many),
    // Tracking, radar, notices, reports.
    ("GET /api/v1/tracking-accounts", Managers),
    ("POST /api/v1/tracking-accounts", Managers),
    ("PUT /api/v1/tracking-accounts/{id}/enabled", Managers),
    ("GET /api/v1/parcels", Many),
    ("GET /api/v1/parcels/{id}", One),
    ("POST /api/v1/parcels/{id}/refresh", One),
    ("POST /api/v1/parcels/{id}/dispute", One),
    ("POST /api/v1/parcels/{id}/intercept", One),
    ("GET /api/v1/orders/{id}/tracking", One),
    ("GET /api/v1/radar", Many),
    ("GET /api/v1/settings/radar", Tenant),
    ("PUT /api/v1/settings/radar", Managers),
    ("GET /api/v1/settings/notifications", Tenant),
    ("PUT /api/v1/settings/notifications", Managers),
    ("GET /api/v1/notifications", One),
    ("GET /api/v1/reports", Many),
    ("GET /api/v1/reports/xlsx", Many),
];

/// The roles a sub-account's scope narrows (owners and admins always see everything).
const SCOPED_ROLES: [Role; 5] = [
    Role::Service,
    Role::Warehouse,
    Role::Logistics,
    Role::Finance,
    Role::Viewer,
];

/// The second shop's and warehouse's data, in clear and masked: a scoped sub-account of the
/// first shop and warehouse must never be shown any of it.
const ONLY_B: &[&str] = &[
    "SCOPE-B-1",
    "SCOPE-B-2",
    "SCOPE-B-3",
    "慕容复",
    "慕*",
    "13755554444",
    "137****4444",
    "燕子坞",
    "慕容店",
    "苏州仓",
];

/// The merchant's second shop (慕容店) and warehouse (苏州仓) with objects of their own, and
/// the first shop's merchant fixture with these ids in its place (for [`routes`]).
struct OtherShop {
    /// B's order (printed from 苏州仓), B's shipped order's write-back, its claim and parcel;
    /// the tenant's SKU, supplier, tokens and tracking account as in the fixture.
    ids: Merchant,
    /// The print job of B's order and its package (from 苏州仓), with its number.
    print_job: i64,
    package: i64,
    waybill: String,
    /// A tracking-number import of B's shipped order, made by the owner.
    shipment_import: i64,
    /// The numbers B's parcels carry (data of B too).
    numbers: Vec<String>,
    _sim: fahuo_sim::SimHandle,
}

async fn other_shop(s: &Server, app: &App, m: &Merchant) -> OtherShop {
    let c = client();
    let t = Some(m.token.as_str());
    let api = |path: &str| format!("{}/api/v1{path}", s.base);
    let ok = |what: &str, status: StatusCode, body: &Value| {
        assert!(status.is_success(), "{what}: {status} {body}");
    };
    let (status, shop) = call(
        &c,
        Method::POST,
        api("/shops"),
        t,
        Some(json!({"platform": "manual", "name": "慕容店", "platform_shop_id": "murong"})),
    )
    .await;
    ok("shop", status, &shop);
    let shop = shop["id"].as_i64().unwrap();
    let (status, warehouse) = call(&c, Method::POST, api("/warehouses"), t, Some(json!({"code": "SZ01", "name": "苏州仓", "province": "江苏省", "city": "苏州市", "county": "吴中区", "address": "木渎镇1号"}))).await;
    ok("warehouse", status, &warehouse);
    let warehouse = warehouse["id"].as_i64().unwrap();
    let (status, moved) = call(
        &c,
        Method::POST,
        api("/stock/movements"),
        t,
        Some(
            json!({"warehouse_id": warehouse, "sku_id": m.sku, "kind": "inbound", "quantity": 20}),
        ),
    )
    .await;
    ok("stock", status, &moved);
    // A 中通 account at the emulated 快递鸟, shared by both shops.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = fahuo_sim::start(fahuo_sim::SimConfig::new(7, 0), listener).unwrap();
    let info = sim.info();
    let kd = info
        .kdniao
        .accounts
        .iter()
        .find(|x| x.shipper_code == "ZTO")
        .unwrap();
    let (status, account) = call(&c, Method::POST, api("/carrier-accounts"), t, Some(json!({
        "name": "中通 快递鸟", "service": "kdniao", "carrier": "ZTO",
        "base_url": info.kdniao_base_url, "sender_name": "发货组", "sender_phone": "13900001111",
        "credentials": {"api_key": info.kdniao.ebusiness_id, "api_secret": info.kdniao.app_key,
            "account": kd.customer_name, "account_secret": kd.customer_pwd}
    }))).await;
    ok("carrier account", status, &account);
    let order = |number: &str| {
        let mut body = order_body(shop, number);
        body["receiver"] = json!({"name": "慕容复", "phone": "13755554444", "province": "江苏省", "city": "苏州市", "county": "吴中区", "detail": "燕子坞参合庄1号"});
        body
    };
    // B1: approved, allocated to 苏州仓, printed.
    let (status, b1) = call(
        &c,
        Method::POST,
        api("/orders"),
        t,
        Some(order("SCOPE-B-1")),
    )
    .await;
    ok("order B1", status, &b1);
    let b1 = b1["order"]["id"].as_i64().unwrap();
    let (status, body) = call(
        &c,
        Method::POST,
        api(&format!("/orders/{b1}/approve")),
        t,
        None,
    )
    .await;
    ok("approve B1", status, &body);
    let (status, body) = call(
        &c,
        Method::POST,
        api(&format!("/orders/{b1}/allocate")),
        t,
        Some(json!({"warehouse_id": warehouse})),
    )
    .await;
    ok("allocate B1", status, &body);
    let (status, printed) = call(
        &c,
        Method::POST,
        api("/print-jobs"),
        t,
        Some(json!({"order_ids": [b1]})),
    )
    .await;
    ok("print B1", status, &printed);
    let label = &printed["job"]["labels"][0];
    let (print_job, package) = (
        printed["job"]["id"].as_i64().expect("a print job"),
        label["package_id"].as_i64().unwrap(),
    );
    let waybill = label["tracking_no"].as_str().unwrap().to_string();
    // B3: held for a person (in the review queue).
    let (status, b3) = call(
        &c,
        Method::POST,
        api("/orders"),
        t,
        Some(order("SCOPE-B-3")),
    )
    .await;
    ok("order B3", status, &b3);
    let b3 = b3["order"]["id"].as_i64().unwrap();
    let (status, body) = call(
        &c,
        Method::POST,
        api(&format!("/orders/{b3}/hold")),
        t,
        Some(json!({"reason_code": "manual", "message": "核对地址"})),
    )
    .await;
    ok("hold B3", status, &body);
    // B2: approved, shipped by hand, claimed against the carrier, its parcel followed.
    let (status, b2) = call(
        &c,
        Method::POST,
        api("/orders"),
        t,
        Some(order("SCOPE-B-2")),
    )
    .await;
    ok("order B2", status, &b2);
    let b2 = b2["order"]["id"].as_i64().unwrap();
    let (status, body) = call(
        &c,
        Method::POST,
        api(&format!("/orders/{b2}/approve")),
        t,
        None,
    )
    .await;
    ok("approve B2", status, &body);
    let number = format!("SF{:013}", 1_385_628_900_000i64 + b2);
    let (status, shipment) = call(
        &c,
        Method::POST,
        api(&format!("/orders/{b2}/shipments")),
        t,
        Some(json!({"carrier": "顺丰", "tracking_no": number})),
    )
    .await;
    ok("ship B2", status, &shipment);
    let (status, claim) = call(&c, Method::POST, api("/after-sales/claims"), t, Some(json!({"tracking_no": number, "carrier": "SF", "order_id": b2, "claimed_fen": 3900, "note": "破损"}))).await;
    ok("claim B2", status, &claim);
    let (status, import) = call(
        &c,
        Method::POST,
        api("/shipment-imports?file_name=b.csv"),
        t,
        Some(Value::String(format!(
            "订单号,快递公司,快递单号\nSCOPE-B-2,顺丰,SF{:013}\n",
            1_385_628_950_000i64 + b2
        ))),
    )
    .await;
    ok("shipment import", status, &import);
    // The manual shop's write-back is accepted at once; its parcel is then followed.
    let runner =
        fahuo_app::shipping::register(fahuo_app::jobs::JobRunner::new(app.clone(), "fixture"));
    while runner.run_once().await.unwrap() > 0 {}
    app.store().open_parcels(app.now()).await.unwrap();
    let (status, parcels) = call(
        &c,
        Method::GET,
        api(&format!("/parcels?tracking_no={number}")),
        t,
        None,
    )
    .await;
    ok("parcels", status, &parcels);
    let parcel = parcels[0]["id"]
        .as_i64()
        .expect("a parcel of B2's write-back");
    OtherShop {
        ids: Merchant {
            token: m.token.clone(),
            shop,
            warehouse,
            sku: m.sku,
            order: b1,
            token_id: m.token_id,
            shipment: shipment["id"].as_i64().unwrap(),
            supplier: m.supplier,
            after_sale: claim["after_sale"]["id"].as_i64().unwrap(),
            tracking_account: m.tracking_account,
            parcel,
        },
        print_job,
        package,
        numbers: vec![waybill.clone(), number],
        waybill,
        shipment_import: import["import"]["id"].as_i64().expect("an import id"),
        _sim: sim,
    }
}

/// The requests of [`routes`] aimed at the other shop's objects, with its real print job,
/// package, waybill and import where the fixture's routes name made-up ones.
fn routes_at(b: &OtherShop, scope_warehouse: i64) -> Vec<(Method, String, Option<Value>)> {
    let (job, pkg) = (b.print_job, b.package);
    routes(&b.ids)
        .into_iter()
        .map(|(method, path, body)| {
            let name = route_name(&method, &path);
            let path = match name.as_str() {
                "POST /api/v1/print-jobs/{id}/reprint" => {
                    format!("/api/v1/print-jobs/{job}/reprint")
                }
                "GET /api/v1/print-jobs/{id}" => format!("/api/v1/print-jobs/{job}"),
                "GET /api/v1/print-jobs/{id}/labels" => {
                    format!("/api/v1/print-jobs/{job}/labels?format=zpl")
                }
                "GET /api/v1/print-jobs/{id}/pick-list" => {
                    format!("/api/v1/print-jobs/{job}/pick-list?format=xlsx")
                }
                "POST /api/v1/packages/{id}/pack/scan" => {
                    format!("/api/v1/packages/{pkg}/pack/scan")
                }
                "POST /api/v1/packages/{id}/pack/reset" => {
                    format!("/api/v1/packages/{pkg}/pack/reset")
                }
                "POST /api/v1/packages/{id}/pack/close" => {
                    format!("/api/v1/packages/{pkg}/pack/close")
                }
                "POST /api/v1/packages/{id}/weight" => format!("/api/v1/packages/{pkg}/weight"),
                "POST /api/v1/shipment-imports/{id}/apply" => {
                    format!("/api/v1/shipment-imports/{}/apply", b.shipment_import)
                }
                "GET /api/v1/shipment-imports/{id}" => {
                    format!("/api/v1/shipment-imports/{}", b.shipment_import)
                }
                "GET /api/v1/shipment-imports/{id}/result" => {
                    format!("/api/v1/shipment-imports/{}/result", b.shipment_import)
                }
                _ => path,
            };
            let body = match name.as_str() {
                "POST /api/v1/packages/ship" => Some(json!({"package_ids": [pkg]})),
                "POST /api/v1/pack/open" => Some(json!({"code": b.waybill})),
                "POST /api/v1/shipment-imports" => Some(Value::String(
                    "订单号,快递公司,快递单号\nSCOPE-B-2,顺丰,SF1385628999999\n".into(),
                )),
                // Into 苏州仓 (from the scope's own 杭州仓).
                "POST /api/v1/stock/transfers" => Some(
                    json!({"from_warehouse_id": scope_warehouse, "to_warehouse_id": b.ids.warehouse, "sku_id": b.ids.sku, "units": 1}),
                ),
                "POST /api/v1/stock/import" => Some(Value::String(
                    "仓库编码,商品编码,盘点数量\nSZ01,MUG,4\n".into(),
                )),
                _ => body,
            };
            (method, path, body)
        })
        .collect()
}

/// Lists in which the owner finds the other shop's rows (so their absence for a scoped
/// sub-account is the scope's doing).
const LISTS_B_IS_IN: &[&str] = &[
    "GET /api/v1/orders",
    "GET /api/v1/review/queue",
    "GET /api/v1/shops",
    "GET /api/v1/warehouses",
    "GET /api/v1/stock",
    "GET /api/v1/audit",
    "GET /api/v1/print-jobs",
    "GET /api/v1/shipments",
    "GET /api/v1/after-sales",
    "GET /api/v1/parcels",
];

/// Whether a JSON answer holds a row of the other shop or warehouse (an object whose
/// `shop_id` or `warehouse_id` is theirs, or their print job's summary, which names neither),
/// whatever text it carries.
fn row_of(v: &Value, b: &OtherShop) -> bool {
    match v {
        Value::Object(o) => {
            o.get("shop_id").and_then(Value::as_i64) == Some(b.ids.shop)
                || o.get("warehouse_id").and_then(Value::as_i64) == Some(b.ids.warehouse)
                || (o.contains_key("label_size")
                    && o.get("id").and_then(Value::as_i64) == Some(b.print_job))
                || o.values().any(|x| row_of(x, b))
        }
        Value::Array(a) => a.iter().any(|x| row_of(x, b)),
        _ => false,
    }
}

/// GET routes of one object whose fixture has none for the other shop either (no photo was
/// taken): the owner's 404 there is the route's, not the scope's.
const NOTHING_TO_SHOW: &[&str] = &["GET /api/v1/after-sales/{id}/photos/{n}"];

async fn a_sub_account_reaches_nothing_of_another_shop_or_warehouse_on_any_route(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "商家A", "alice").await;
    let b = other_shop(&s, &app, &m).await;

    // The table is complete, has no stale lines, and a route only managers may use is one no
    // scoped role may.
    let table: BTreeMap<String, Reach> = SCOPE.iter().map(|(r, x)| (r.to_string(), *x)).collect();
    assert_eq!(table.len(), SCOPE.len(), "a route is listed twice in SCOPE");
    let documented = documented_routes();
    let listed: BTreeSet<String> = table.keys().cloned().collect();
    let undecided: Vec<_> = documented.difference(&listed).collect();
    assert!(
        undecided.is_empty(),
        "routes without a line in SCOPE (what are they to a scoped sub-account?): {undecided:?}"
    );
    let stale: Vec<_> = listed.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "SCOPE lists routes that are gone: {stale:?}"
    );
    let needs: BTreeMap<&str, Need> = API.iter().copied().collect();
    for (route, reach) in SCOPE {
        let scoped_may = SCOPED_ROLES.iter().any(|r| needs[route].allows(*r));
        assert_eq!(
            *reach == Managers,
            !scoped_may,
            "{route}: Managers is for the routes no scoped role may use"
        );
    }

    let scoped = scoped_staff(&s, &m).await;

    let mut leak_data: Vec<&str> = ONLY_B.to_vec();
    leak_data.extend(b.numbers.iter().map(String::as_str));
    let requests: Vec<(String, Method, String, Option<Value>)> = routes_at(&b, m.warehouse)
        .into_iter()
        .map(|(method, path, body)| (route_name(&method, &path), method, path, body))
        .collect();
    let exercised: BTreeSet<String> = requests.iter().map(|r| r.0.clone()).collect();
    let untried: Vec<_> = listed.difference(&exercised).collect();
    assert!(
        untried.is_empty(),
        "routes_at has no request for {untried:?}"
    );

    // The owner reaches B's objects (a 409 about their state is fine): a 404 below is the
    // scope's, not a missing fixture.
    let owner = client();
    for (name, method, path, body) in &requests {
        if table[name] != One || *method != Method::GET || NOTHING_TO_SHOW.contains(&name.as_str())
        {
            continue;
        }
        let (status, answer) = call(
            &owner,
            method.clone(),
            format!("{}{path}", s.base),
            Some(&m.token),
            body.clone(),
        )
        .await;
        assert!(
            !matches!(status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
            "the owner reaches {name} ({path}): {status} {answer}"
        );
    }
    for (name, method, path, body) in &requests {
        if !LISTS_B_IS_IN.contains(&name.as_str()) {
            continue;
        }
        assert_eq!(table[name], Many, "{name}");
        // The fixture's own request, unfiltered (the print-job list as the owner has it).
        let path = path.split('?').next().unwrap();
        let (status, answer) = call(
            &owner,
            method.clone(),
            format!("{}{path}", s.base),
            Some(&m.token),
            body.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{name}: {answer}");
        let found = leaked(&answer.to_string(), &leak_data);
        assert!(
            !found.is_empty() || row_of(&answer, &b),
            "the owner's {name} shows none of B's rows: {answer}"
        );
    }
    let snapshot = || async {
        let mut books = Vec::new();
        for path in [
            format!("/api/v1/orders/{}", b.ids.order),
            format!("/api/v1/orders/{}/timeline", b.ids.order),
            format!("/api/v1/after-sales/{}", b.ids.after_sale),
            format!("/api/v1/shipments/{}", b.ids.shipment),
            format!("/api/v1/print-jobs/{}", b.print_job),
            format!("/api/v1/shipment-imports/{}", b.shipment_import),
            "/api/v1/shipments?limit=500".to_string(),
            "/api/v1/stock".to_string(),
            "/api/v1/print-jobs".to_string(),
        ] {
            let (status, body) = call(
                &owner,
                Method::GET,
                format!("{}{path}", s.base),
                Some(&m.token),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            books.push(body);
        }
        books
    };
    let before = snapshot().await;

    let mut wrong = Vec::new();
    let mut refused = 0;
    for (name, method, path, body) in &requests {
        let reach = table[name];
        for who in scoped
            .iter()
            .filter(|w| needs[name.as_str()].allows(w.role))
        {
            let (status, answer) = send(&s, who, method, path, body.clone()).await;
            let text = answer.to_string();
            // What the request itself says (a file naming B's order) may come back.
            let sent = body.as_ref().map(Value::to_string).unwrap_or_default() + path;
            let leaks: Vec<&str> = leaked(&text, &leak_data)
                .into_iter()
                .filter(|d| !sent.contains(d))
                .collect();
            let upstream = status == StatusCode::BAD_GATEWAY
                && answer["error"]["code"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("upstream"));
            let problem = match reach {
                One if !matches!(status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN) => {
                    Some(format!("answers {status}, not 404"))
                }
                // Another warehouse's code is refused like an unknown one.
                EachRow
                    if !(status.is_success()
                        && ["out_of_scope", "unknown_warehouse"]
                            .iter()
                            .any(|c| text.contains(c))) =>
                {
                    Some(format!("does not refuse the row: {status}"))
                }
                _ if status.is_server_error() && !upstream => Some(format!("fails: {status}")),
                _ if !leaks.is_empty() => Some(format!("shows {leaks:?}")),
                _ if row_of(&answer, &b) => Some("holds a row of B's shop or warehouse".into()),
                _ => None,
            };
            if reach == One {
                refused += 1;
            }
            if let Some(problem) = problem {
                wrong.push(format!(
                    "{:?} ({reach:?}) {name} ({path}): {problem} {answer}",
                    who.role
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(
        refused > 150,
        "only {refused} refusals: is the table right?"
    );
    assert_eq!(
        snapshot().await,
        before,
        "a scoped sub-account changed the other shop's books"
    );

    // Within the scope the same sub-accounts do reach their own shop's order: the refusals
    // above are about the scope, not the role.
    for who in &scoped {
        let (status, answer) = send(
            &s,
            who,
            &Method::GET,
            &format!("/api/v1/orders/{}", m.order),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{:?}: {answer}", who.role);
    }

    // Figures are rows too: the report counts B's shipped parcel for the owner and not for a
    // scoped sub-account that may read reports.
    let parcels = |answer: &Value| answer["parcels"].as_i64().unwrap_or(-1);
    let (status, whole) = call(
        &owner,
        Method::GET,
        format!("{}/api/v1/reports", s.base),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{whole}");
    let readers: Vec<&Staff> = scoped
        .iter()
        .filter(|w| needs["GET /api/v1/reports"].allows(w.role))
        .collect();
    assert!(!readers.is_empty(), "a scoped role reads reports");
    for who in readers {
        let (status, answer) = send(&s, who, &Method::GET, "/api/v1/reports", None).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert!(
            parcels(&answer) < parcels(&whole),
            "{:?}'s report counts B's parcel: {answer} (owner: {whole})",
            who.role
        );
    }
}

/// A sub-account of each scoped role, limited to the fixture's shop and warehouse, logged in.
async fn scoped_staff(s: &Server, m: &Merchant) -> Vec<Staff> {
    let mut scoped = Vec::new();
    for role in SCOPED_ROLES {
        let c = client();
        let name = format!("{}-a", role.as_str());
        let (status, body) = call(
            &c,
            Method::POST,
            format!("{}/api/v1/users", s.base),
            Some(&m.token),
            Some(json!({
                "username": name, "role": role.as_str(), "password": "member-password",
                "scope": {"shops": [m.shop], "warehouses": [m.warehouse]}
            })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let csrf = login(&c, s, &name, "member-password").await;
        scoped.push(Staff {
            role,
            client: c,
            csrf,
        });
    }
    scoped
}

/// The same ids (the fixture's values are plain numbers and a token).
fn copy_of(m: &Merchant) -> Merchant {
    Merchant {
        token: m.token.clone(),
        shop: m.shop,
        warehouse: m.warehouse,
        sku: m.sku,
        order: m.order,
        token_id: m.token_id,
        shipment: m.shipment,
        supplier: m.supplier,
        after_sale: m.after_sale,
        tracking_account: m.tracking_account,
        parcel: m.parcel,
    }
}

async fn a_sub_account_sees_nothing_of_another_shop_or_warehouse_on_any_page(db: TestDb) {
    let (s, app) = start(db).await;
    let a = marked(&s, &app, "商家A", "alice").await;
    let b = other_shop(&s, &app, &a.m).await;
    let scoped = scoped_staff(&s, &a.m).await;
    let mut leak_data: Vec<&str> = ONLY_B.to_vec();
    leak_data.extend(b.numbers.iter().map(String::as_str));
    // Every page, detail pages at B's order, parcel and after-sale; B's print job; searches
    // for B's order number and numbers.
    let b_marked = Marked {
        m: copy_of(&b.ids),
        marked_order: b.ids.order,
    };
    let mut pages = pages(&b_marked);
    pages.push(page_(
        format!("/printing/{}", b.print_job),
        PrintAndShip,
        &[],
    ));
    pages.push(page_(
        "/orders?q=SCOPE-B-1",
        ViewOrders,
        &["SCOPE-B-1", "慕*"],
    ));
    pages.push(page_(format!("/orders?q={}", b.waybill), ViewOrders, &[]));
    pages.push(page_(
        format!("/tracking?q={}", b.numbers[1]),
        ViewOrders,
        &[],
    ));
    pages.push(page_(
        "/after-sales?order=SCOPE-B-2",
        HandleAfterSales,
        &["SCOPE-B-2"],
    ));
    let detail = |path: &str| {
        path.split(['/', '?'])
            .any(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_ascii_digit()))
    };

    // The owner opens B's detail pages: a 404 below is the scope's.
    let owner = client();
    login(&owner, &s, "alice", "owner-password").await;
    for p in pages.iter().filter(|p| detail(&p.path)) {
        let (status, _) = page(&owner, &s, &p.path).await;
        assert_eq!(status, StatusCode::OK, "the owner opens {}", p.path);
    }
    // ... and finds them by their numbers: their absence below is the scope's.
    for p in pages.iter().filter(|p| p.path.contains("SCOPE-B")) {
        let (_, html) = page(&owner, &s, &p.path).await;
        let missing: Vec<_> = p.shows.iter().filter(|d| !html.contains(**d)).collect();
        assert!(
            missing.is_empty(),
            "the owner's {} lacks {missing:?}",
            p.path
        );
    }
    let mut wrong = Vec::new();
    for who in &scoped {
        for p in pages.iter().filter(|p| who.role.allows(p.needs)) {
            let (status, html) = page(&who.client, &s, &p.path).await;
            let leaks: Vec<&str> = leaked(&html, &leak_data)
                .into_iter()
                .filter(|d| !p.path.contains(d))
                .collect();
            let expected = if detail(&p.path) {
                matches!(status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN)
            } else {
                status == StatusCode::OK
            };
            if !expected || !leaks.is_empty() {
                wrong.push(format!(
                    "{:?} on {}: {status}, shows {leaks:?}",
                    who.role, p.path
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
