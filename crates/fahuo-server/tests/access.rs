//! Who may do what, over real HTTP on SQLite and PostgreSQL: every API route and every console
//! page against every staff role, a page without a session, and another tenant's session.
//!
//! The tables below are the policy: each API route with the permission it needs, each console
//! page with the permission it needs. A route or page added without a line here fails
//! [`every_api_route_refuses_the_roles_without_its_permission`] or
//! [`console_pages_open_for_the_roles_that_may_and_show_the_others_nothing`], so each new one
//! forces a decision. (Another tenant on every API route: `api.rs`,
//! `another_tenant_sees_nothing_on_any_route`.)

mod common;
use common::*;
use fahuo_domain::{Permission, Role};
use std::collections::{BTreeMap, BTreeSet};

both_backends!(
    every_api_route_refuses_the_roles_without_its_permission,
    console_pages_open_for_the_roles_that_may_and_show_the_others_nothing,
    console_pages_without_a_session_send_to_the_login,
    another_tenants_session_sees_nothing_of_this_tenant_on_any_page,
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
